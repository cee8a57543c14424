//! One bot's connection, with the same netcode as the browser client: the handshake, inputs sent
//! with the unacknowledged ones for redundancy and predicted locally (`shared::predict`),
//! snapshots decoded against their baselines (`shared::delta`) and buffered for interpolation
//! (`shared::interp`), whose render time is the `view_tick` that lag compensation rewinds to.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use glam::Vec2;
use shared::codec::{decode_server, encode_client};
use shared::delta::Decoder;
use shared::interp::SnapshotBuffer;
use shared::predict::Predictor;
use shared::protocol::{
    ClientMsg, Hello, InputCmd, InputMsg, MAX_INPUTS_PER_MSG, MAX_SERVER_MSG_BYTES,
    PROTOCOL_VERSION, ResumeToken, ServerMsg, Snapshot, Welcome, dequantize_pos,
};
use shared::tick::Tick;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::COOKIE;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What arrives from the server.
#[derive(Debug)]
pub enum Incoming {
    /// A snapshot, decoded against its baseline.
    Snapshot(Snapshot),
    /// Any other message (`BotClient::recv` never yields a raw `ServerMsg::Snapshot`).
    Message(ServerMsg),
    /// The server closed the connection (code 1006 when it vanished without a close frame).
    Closed { code: u16, reason: String },
}

impl Incoming {
    pub fn snapshot(&self) -> Option<&Snapshot> {
        match self {
            Incoming::Snapshot(snapshot) => Some(snapshot),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&ServerMsg> {
        match self {
            Incoming::Message(message) => Some(message),
            _ => None,
        }
    }
}

pub struct BotClient {
    socket: Socket,
    pub welcome: Welcome,
    next_seq: u32,
    newest_tick: Tick,
    decoder: Decoder,
    /// The local player's predicted position; also holds the unacknowledged inputs.
    pub predictor: Predictor,
    /// Received snapshots, for interpolation and the render time.
    pub buffer: SnapshotBuffer,
    epoch: Instant,
    /// Reconciliations that had to correct the prediction, and the largest correction.
    pub corrections: u64,
    pub max_correction: f32,
    /// Message bytes received and sent, for reports; received snapshot and event bytes also
    /// on their own.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_snapshot_bytes: u64,
    pub rx_event_bytes: u64,
}

/// Client-side limits: the server's messages may be large (a `Welcome` carries the map).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(MAX_SERVER_MSG_BYTES))
        .max_frame_size(Some(MAX_SERVER_MSG_BYTES))
}

/// Opens a WebSocket (with a fresh session token) without the game handshake; tests that
/// misbehave on purpose use it directly.
pub async fn open(url: &str) -> anyhow::Result<Socket> {
    let token = crate::http::session_token(url).await.context("getting a session token")?;
    open_with_token(url, Some(&token)).await
}

/// Opens a WebSocket presenting `token` (or none) in the session cookie.
pub async fn open_with_token(url: &str, token: Option<&str>) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request().with_context(|| format!("bad URL {url}"))?;
    if let Some(token) = token {
        let cookie = HeaderValue::from_str(&format!("skirmish_session={token}"))
            .context("token is not a header value")?;
        request.headers_mut().insert(COOKIE, cookie);
    }
    let connector =
        url.starts_with("wss://").then(|| Connector::Rustls(crate::tls::client_config()));
    let (socket, _response) =
        connect_async_tls_with_config(request, Some(socket_config()), true, connector)
            .await
            .with_context(|| format!("connecting to {url}"))?;
    Ok(socket)
}

impl BotClient {
    /// Connects, sends `Hello` and waits up to `wait` for `Welcome`.
    pub async fn connect(url: &str, name: &str, wait: Duration) -> anyhow::Result<BotClient> {
        BotClient::connect_with(url, name, None, wait).await
    }

    /// Connects, resuming the player of `resume` if given (see `Welcome::resumed`).
    pub async fn connect_with(
        url: &str,
        name: &str,
        resume: Option<ResumeToken>,
        wait: Duration,
    ) -> anyhow::Result<BotClient> {
        let mut socket = open(url).await?;
        let hello = ClientMsg::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.into(),
            room: String::new(),
            resume,
        });
        let bytes = encode_client(&hello);
        let tx_bytes = bytes.len() as u64;
        socket.send(Message::Binary(bytes.into())).await.context("sending Hello")?;
        let welcome = tokio::time::timeout(wait, async {
            loop {
                match read(&mut socket).await? {
                    (Incoming::Message(ServerMsg::Welcome(welcome)), _) => return Ok(*welcome),
                    (Incoming::Closed { code, reason }, _) => {
                        let closed = crate::refusal::ClosedBeforeWelcome { code, reason };
                        return Err(anyhow::Error::new(closed));
                    }
                    _ => continue,
                }
            }
        })
        .await
        .context("waiting for Welcome")??;
        Ok(BotClient {
            socket,
            buffer: SnapshotBuffer::new(welcome.tick_hz),
            welcome,
            next_seq: 1,
            newest_tick: Tick(0),
            decoder: Decoder::default(),
            predictor: Predictor::new(),
            epoch: Instant::now(),
            corrections: 0,
            max_correction: 0.0,
            rx_bytes: 0,
            rx_snapshot_bytes: 0,
            rx_event_bytes: 0,
            tx_bytes,
        })
    }

    pub async fn send(&mut self, message: &ClientMsg) -> anyhow::Result<()> {
        let bytes = encode_client(message);
        self.tx_bytes += bytes.len() as u64;
        self.socket.send(Message::Binary(bytes.into())).await.context("sending")
    }

    /// Milliseconds since this client connected (its local clock).
    pub fn now_ms(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64() * 1000.0
    }

    fn dt(&self) -> f32 {
        1.0 / f32::from(self.welcome.tick_hz)
    }

    /// The server tick remote players are drawn at now (the interpolation render time).
    pub fn render_tick(&self) -> Option<f64> {
        self.buffer.render_tick(self.now_ms(), self.buffer.delay_ms(self.welcome.send_hz))
    }

    /// Sends `cmd` as the next input (its `seq` and `view_tick` are set here) with the
    /// unacknowledged ones before it, and predicts it locally. Returns the sequence number.
    pub async fn send_input(&mut self, mut cmd: InputCmd) -> anyhow::Result<u32> {
        cmd.seq = self.next_seq;
        cmd.view_tick = Tick(self.render_tick().map_or(0, |tick| tick.round().max(0.0) as u32));
        self.next_seq += 1;
        self.predictor.predict(&self.welcome.map, cmd, self.dt());
        let unacked = self.predictor.unacked();
        let skip = unacked.len().saturating_sub(MAX_INPUTS_PER_MSG);
        let inputs = unacked.skip(skip).copied().collect();
        self.send(&ClientMsg::Input(InputMsg { ack_tick: self.newest_tick, inputs })).await?;
        Ok(cmd.seq)
    }

    /// The next message, or the close. Snapshots are decoded, reconciled and buffered.
    pub async fn recv(&mut self) -> anyhow::Result<Incoming> {
        let (incoming, len) = read(&mut self.socket).await?;
        self.rx_bytes += len as u64;
        match &incoming {
            Incoming::Message(ServerMsg::Snapshot(_)) => self.rx_snapshot_bytes += len as u64,
            Incoming::Message(ServerMsg::Events { .. }) => self.rx_event_bytes += len as u64,
            _ => {}
        }
        let Incoming::Message(ServerMsg::Snapshot(delta)) = incoming else { return Ok(incoming) };
        let snapshot = self.decoder.decode(&delta).context("decoding a snapshot delta")?;
        self.newest_tick = self.newest_tick.max(snapshot.tick);
        if let Some(me) = snapshot.players.iter().find(|p| p.id == self.welcome.player_id) {
            let server_pos = Vec2::new(dequantize_pos(me.x), dequantize_pos(me.y));
            let dt = self.dt();
            let error = self.predictor.reconcile(
                &self.welcome.map,
                server_pos,
                me.alive,
                snapshot.ack_input,
                dt,
            );
            if error > 0.0 {
                self.corrections += 1;
                self.max_correction = self.max_correction.max(error);
            }
        }
        self.buffer.push(self.now_ms(), snapshot.clone());
        Ok(Incoming::Snapshot(snapshot))
    }

    /// Reads until `pick` returns `Some`, failing after `wait`.
    pub async fn recv_until<T>(
        &mut self,
        wait: Duration,
        mut pick: impl FnMut(&Incoming) -> Option<T>,
    ) -> anyhow::Result<T> {
        tokio::time::timeout(wait, async {
            loop {
                match self.recv().await? {
                    Incoming::Closed { code, reason } => bail!("closed with {code}: {reason}"),
                    incoming => {
                        if let Some(found) = pick(&incoming) {
                            return Ok(found);
                        }
                    }
                }
            }
        })
        .await
        .context("timed out waiting for a message")?
    }

    /// Drops the connection with a TCP reset (RST, no close frame), as a crashed network path
    /// or a killed process would.
    pub fn reset(self) {
        match self.socket.get_ref() {
            MaybeTlsStream::Plain(tcp) => {
                let _ = tcp.set_zero_linger();
            }
            MaybeTlsStream::Rustls(tls) => {
                let _ = tls.get_ref().0.set_zero_linger();
            }
            _ => {}
        }
        drop(self);
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
/// Snapshots come back undecoded (`Incoming::Message`); `BotClient::recv` decodes them.
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
            Err(err) => return Ok((Incoming::Closed { code: 1006, reason: err.to_string() }, 0)),
        }
    }
}
