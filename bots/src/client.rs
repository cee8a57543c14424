//! One bot's connection: the handshake, sending inputs the way the browser does (newest command
//! plus the unacknowledged ones), and reading decoded server messages.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use shared::codec::{decode_server, encode_client};
use shared::protocol::{
    ClientMsg, Hello, InputCmd, InputMsg, MAX_INPUTS_PER_MSG, MAX_SERVER_MSG_BYTES,
    PROTOCOL_VERSION, ServerMsg, Welcome,
};
use shared::tick::Tick;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What arrives from the server.
#[derive(Debug)]
pub enum Incoming {
    Message(ServerMsg),
    /// The server closed the connection (code 1006 when it vanished without a close frame).
    Closed {
        code: u16,
        reason: String,
    },
}

pub struct BotClient {
    socket: Socket,
    pub welcome: Welcome,
    next_seq: u32,
    /// Sent commands the server has not acknowledged yet, oldest first.
    unacked: VecDeque<InputCmd>,
    newest_tick: Tick,
    /// Bytes received and sent, for reports.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Client-side limits: the server's messages may be large (a `Welcome` carries the map).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(MAX_SERVER_MSG_BYTES))
        .max_frame_size(Some(MAX_SERVER_MSG_BYTES))
}

/// Opens a WebSocket without the game handshake (for tests that misbehave on purpose).
pub async fn open(url: &str) -> anyhow::Result<Socket> {
    let (socket, _response) = connect_async_with_config(url, Some(socket_config()), true)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    Ok(socket)
}

impl BotClient {
    /// Connects, sends `Hello` and waits up to `wait` for `Welcome`.
    pub async fn connect(url: &str, name: &str, wait: Duration) -> anyhow::Result<BotClient> {
        let mut socket = open(url).await?;
        let hello = ClientMsg::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.into(),
            room: String::new(),
        });
        let bytes = encode_client(&hello);
        let tx_bytes = bytes.len() as u64;
        socket.send(Message::Binary(bytes.into())).await.context("sending Hello")?;
        let welcome = tokio::time::timeout(wait, async {
            loop {
                match read(&mut socket).await? {
                    (Incoming::Message(ServerMsg::Welcome(welcome)), _) => return Ok(*welcome),
                    (Incoming::Message(_), _) => continue,
                    (Incoming::Closed { code, reason }, _) => {
                        bail!("refused with close {code}: {reason}")
                    }
                }
            }
        })
        .await
        .context("waiting for Welcome")??;
        Ok(BotClient {
            socket,
            welcome,
            next_seq: 1,
            unacked: VecDeque::new(),
            newest_tick: Tick(0),
            rx_bytes: 0,
            tx_bytes,
        })
    }

    pub async fn send(&mut self, message: &ClientMsg) -> anyhow::Result<()> {
        let bytes = encode_client(message);
        self.tx_bytes += bytes.len() as u64;
        self.socket.send(Message::Binary(bytes.into())).await.context("sending")
    }

    /// Sends `cmd` as the next input (its `seq` is assigned here) with the unacknowledged ones
    /// before it. Returns the sequence number.
    pub async fn send_input(&mut self, mut cmd: InputCmd) -> anyhow::Result<u32> {
        cmd.seq = self.next_seq;
        self.next_seq += 1;
        if self.unacked.len() == MAX_INPUTS_PER_MSG {
            self.unacked.pop_front();
        }
        self.unacked.push_back(cmd);
        let message = ClientMsg::Input(InputMsg {
            ack_tick: self.newest_tick,
            inputs: self.unacked.iter().copied().collect(),
        });
        self.send(&message).await?;
        Ok(cmd.seq)
    }

    /// The next message, or the close. Snapshots update the acknowledgement state.
    pub async fn recv(&mut self) -> anyhow::Result<Incoming> {
        let (incoming, len) = read(&mut self.socket).await?;
        self.rx_bytes += len as u64;
        if let Incoming::Message(ServerMsg::Snapshot(snapshot)) = &incoming {
            self.newest_tick = self.newest_tick.max(snapshot.tick);
            let acked = snapshot.ack_input;
            self.unacked.retain(|cmd| cmd.seq > acked);
        }
        Ok(incoming)
    }

    /// Reads until `pick` returns `Some`, failing after `wait`.
    pub async fn recv_until<T>(
        &mut self,
        wait: Duration,
        mut pick: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> anyhow::Result<T> {
        tokio::time::timeout(wait, async {
            loop {
                match self.recv().await? {
                    Incoming::Message(message) => {
                        if let Some(found) = pick(&message) {
                            return Ok(found);
                        }
                    }
                    Incoming::Closed { code, reason } => bail!("closed with {code}: {reason}"),
                }
            }
        })
        .await
        .context("timed out waiting for a message")?
    }

    /// Closes cleanly (1000).
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.socket.close(None).await.context("closing")
    }

    pub fn socket(&mut self) -> &mut Socket {
        &mut self.socket
    }
}

/// Reads the next game message from a raw socket; returns it with its size in bytes.
pub async fn read(socket: &mut Socket) -> anyhow::Result<(Incoming, usize)> {
    loop {
        let Some(frame) = socket.next().await else {
            return Ok((Incoming::Closed { code: 1006, reason: "connection lost".into() }, 0));
        };
        match frame {
            Ok(Message::Binary(bytes)) => {
                let message = decode_server(&bytes).context("decoding a server message")?;
                return Ok((Incoming::Message(message), bytes.len()));
            }
            Ok(Message::Close(frame)) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return Ok((Incoming::Closed { code, reason }, 0));
            }
            Ok(Message::Text(_)) => bail!("server sent a text frame"),
            Ok(_) => continue,
            Err(err) => {
                return Ok((Incoming::Closed { code: 1006, reason: err.to_string() }, 0));
            }
        }
    }
}
