//! One bot's connection: the handshake and the socket around a `shared::netcode::ClientCore`,
//! the same netcode core the browser wraps (input clock, resend window, prediction, decoding,
//! acknowledgements, interpolation), in full or light fidelity.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use shared::codec::{decode_server, encode_client};
use shared::netcode::{ClientCore, Fidelity};
use shared::protocol::{
    ClientMsg, InputCmd, MAX_SERVER_MSG_BYTES, ResumeToken, ServerMsg, Snapshot, Welcome,
};
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
    /// A snapshot, decoded and left in place: read it from `BotClient::core.latest()`
    /// ([`BotClient::receive`] only; saves a copy of every snapshot).
    Decoded,
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
    /// The netcode: commands, prediction, decoding, acknowledgements, interpolation.
    pub core: ClientCore,
    epoch: Instant,
    /// Message bytes received and sent, for reports; received snapshot and event bytes also
    /// on their own.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_snapshot_bytes: u64,
    pub rx_event_bytes: u64,
}

/// The screen a bot declares: half of 1422 × 800 world units.
const BOT_VIEW: ClientMsg = ClientMsg::View { half_width: 711, half_height: 400 };

/// Client-side limits: the server's messages may be large (a `Welcome` carries the map).
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // Small: tungstenite zeroes the chunk it reads into before every read (4 KiB was 3–4 %
        // of the bots' CPU at arena-default 800, 1 KiB is 1–1.5 %), and a send tick's frames
        // fit in one (the same recvfrom count a second either way); a bigger frame (a keyframe,
        // the `Welcome`) takes a few reads.
        .read_buffer_size(1024)
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
        let cookie =
            HeaderValue::from_str(&format!("{}={token}", shared::protocol::SESSION_COOKIE))
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
    /// Connects, sends `Hello` and waits up to `wait` for `Welcome`; full netcode.
    pub async fn connect(url: &str, name: &str, wait: Duration) -> anyhow::Result<BotClient> {
        BotClient::connect_with(url, name, None, wait).await
    }

    /// Connects, resuming the player of `resume` if given (see `Welcome::resumed`); full
    /// netcode.
    pub async fn connect_with(
        url: &str,
        name: &str,
        resume: Option<ResumeToken>,
        wait: Duration,
    ) -> anyhow::Result<BotClient> {
        BotClient::connect_as(url, name, "", resume, wait, Fidelity::Full).await
    }

    /// [`Self::connect_with`] into `room` (empty: the default room) running the netcode at
    /// `fidelity`.
    pub async fn connect_as(
        url: &str,
        name: &str,
        room: &str,
        resume: Option<ResumeToken>,
        wait: Duration,
        fidelity: Fidelity,
    ) -> anyhow::Result<BotClient> {
        let socket = open(url).await?;
        BotClient::handshake(socket, name, room, None, resume, wait, fidelity).await
    }

    /// Takes the seat the lobby reserved (`crate::lobby`), on a socket opened with `token`, at
    /// the seat's process (`url` is the lobby's game socket, used when the seat is there).
    pub async fn connect_seat(
        url: &str,
        token: &str,
        name: &str,
        seat: &crate::lobby::Seat,
        wait: Duration,
        fidelity: Fidelity,
    ) -> anyhow::Result<BotClient> {
        let socket = open_with_token(&seat.game_url(url), Some(token)).await?;
        let (room, ticket) = (&seat.room.id, seat.ticket.as_deref());
        BotClient::handshake(socket, name, room, ticket, None, wait, fidelity).await
    }

    /// Watches `room` (empty: the default room) as spectator `name`: no ship; snapshots are
    /// built around the camera it moves with `ClientMsg::Look`. Light netcode (decoding only).
    pub async fn spectate(
        url: &str,
        name: &str,
        room: &str,
        wait: Duration,
    ) -> anyhow::Result<BotClient> {
        let socket = open(url).await?;
        let hello = shared::netcode::spectate_hello(name, room);
        BotClient::greet(socket, &hello, wait, Fidelity::Light).await
    }

    /// `Hello` on an open socket, then waits up to `wait` for `Welcome`.
    pub async fn handshake(
        socket: Socket,
        name: &str,
        room: &str,
        ticket: Option<&str>,
        resume: Option<ResumeToken>,
        wait: Duration,
        fidelity: Fidelity,
    ) -> anyhow::Result<BotClient> {
        let hello = shared::netcode::hello(name, room, ticket, resume);
        BotClient::greet(socket, &hello, wait, fidelity).await
    }

    /// Sends `hello` (and the bot's screen size) on an open socket, then waits up to `wait`
    /// for `Welcome`.
    pub async fn greet(
        mut socket: Socket,
        hello: &ClientMsg,
        wait: Duration,
        fidelity: Fidelity,
    ) -> anyhow::Result<BotClient> {
        let bytes = encode_client(hello);
        let tx_bytes = bytes.len() as u64;
        socket.send(Message::Binary(bytes.into())).await.context("sending Hello")?;
        // A bot has no screen; it declares a common one (16:9, 800 units tall), so the server
        // sends it the beams a player would see.
        let view = encode_client(&BOT_VIEW);
        let tx_bytes = tx_bytes + view.len() as u64;
        socket.send(Message::Binary(view.into())).await.context("sending the view")?;
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
            core: ClientCore::new(&welcome, fidelity),
            welcome,
            epoch: Instant::now(),
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

    /// The server tick remote players are drawn at now (the interpolation render time).
    pub fn render_tick(&self) -> Option<f64> {
        self.core.render_tick(self.now_ms())
    }

    /// Sends `cmd` now as one command (with the unacknowledged ones before it) and predicts it,
    /// whatever the input clock says; returns its sequence number. Tests and floods use it;
    /// players use [`Self::play`].
    pub async fn send_input(&mut self, cmd: InputCmd) -> anyhow::Result<u32> {
        let seq = self.core.next_seq();
        let message = self.core.input_message([cmd], self.now_ms()).context("one command")?;
        self.send(&message).await?;
        Ok(seq)
    }

    /// Sends `cmd` for every server tick since the last call (the input clock), in one
    /// message; returns the sequence number of the first new command (the one that carries
    /// this input to the server first), if any was due.
    pub async fn play(&mut self, cmd: InputCmd) -> anyhow::Result<Option<u32>> {
        let now = self.now_ms();
        let first = self.core.next_seq();
        let due = self.core.commands_due(now);
        let Some(message) = self.core.input_message((0..due).map(|_| cmd), now) else {
            return Ok(None);
        };
        self.send(&message).await?;
        Ok(Some(first))
    }

    /// The next message, or the close. Snapshots are decoded, reconciled and buffered.
    pub async fn recv(&mut self) -> anyhow::Result<Incoming> {
        Ok(match self.receive().await? {
            Incoming::Decoded => {
                Incoming::Snapshot(self.core.latest().cloned().context("a decoded snapshot")?)
            }
            incoming => incoming,
        })
    }

    /// Like [`Self::recv`], but a snapshot comes back as [`Incoming::Decoded`], without a copy.
    pub async fn receive(&mut self) -> anyhow::Result<Incoming> {
        let (incoming, len) = read(&mut self.socket).await?;
        self.rx_bytes += len as u64;
        match &incoming {
            Incoming::Message(ServerMsg::Snapshot(_)) => self.rx_snapshot_bytes += len as u64,
            Incoming::Message(ServerMsg::Events { .. }) => self.rx_event_bytes += len as u64,
            _ => {}
        }
        let Incoming::Message(ServerMsg::Snapshot(delta)) = incoming else { return Ok(incoming) };
        let now = self.now_ms();
        self.core.on_snapshot(&delta, now).context("decoding a snapshot delta")?;
        Ok(Incoming::Decoded)
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
