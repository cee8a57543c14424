//! One task per game socket: the `Hello` handshake, then a loop that reads client messages into
//! the player's link and writes the link's frames to the socket, until someone closes.
//!
//! Every socket write and the close itself are bounded by the write time-out, so a peer that
//! stops reading costs one parked task for at most that long, never the room's time.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use shared::codec::{decode_client, encode_server};
use shared::protocol::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg, close};
use shared::validate::{check_client_msg, check_room, check_ticket, sanitize_name};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::answers::Answers;
use crate::close::Close;
use crate::flow::FlowControl;
use crate::link::{Link, Stamp};
use crate::liveness::Liveness;
use crate::lobby::LobbyError;
use crate::metrics::{DisconnectReason, Metrics, add};
use crate::rate::{Limit, Limits, Verdict};
use crate::room::{self, JoinError, Joined, RoomHandle, current_tick};
use crate::state::AppState;
use crate::upgrade::WsStream;

/// After sending our close frame, how long we wait for the peer's before dropping the socket.
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// Most frames, and about the most bytes, one socket write carries.
const BATCH_FRAMES: usize = 16;
const BATCH_BYTES: usize = 64 * 1024;

/// How a session ends.
#[derive(Debug)]
enum Ending {
    /// We close with this code and reason.
    Close(Close),
    /// The peer sent a close frame (tungstenite answers it).
    PeerClosed,
    /// The socket failed or vanished without a close frame.
    Lost,
    /// A write did not finish in time: the peer stopped reading.
    Stalled,
}

impl Ending {
    fn reason(&self) -> DisconnectReason {
        match self {
            Ending::PeerClosed => DisconnectReason::ClientClosed,
            Ending::Lost => DisconnectReason::ConnectionLost,
            Ending::Stalled => DisconnectReason::SlowConsumer,
            Ending::Close(close) => close.cause.metric(),
        }
    }

    /// Whether the player's seat is held for a resume: its link failed, it did not leave.
    fn keeps_seat(&self) -> bool {
        match self {
            Ending::Lost | Ending::Stalled => true,
            Ending::Close(close) => close.cause.keeps_seat(),
            Ending::PeerClosed => false,
        }
    }

    fn from_ws_error(err: &tokio_tungstenite::tungstenite::Error) -> Ending {
        Close::for_ws_error(err).map_or(Ending::Lost, Ending::Close)
    }
}

/// Who opened the socket, as the handshake established it.
pub(crate) struct Caller {
    /// From the session cookie or the join ticket; `None` under `--open-access`.
    pub(crate) player: Option<store::PlayerKey>,
    /// The cluster's join ticket the socket was opened with (`/ws?join=`).
    pub(crate) join: Option<cluster::JoinTicket>,
}

pub(crate) async fn run(
    mut socket: WsStream,
    peer: SocketAddr,
    caller: Caller,
    app: AppState,
    _slots: (OwnedSemaphorePermit, crate::admission::IpSlot),
) {
    add(&app.metrics.connections, 1);
    add(&app.metrics.connections_total, 1);
    let ending = match admit(&mut socket, &app, caller).await {
        Ok((room, joined)) => {
            let id = joined.link.player_id;
            let ending = play(&mut socket, &app, &room, &joined).await;
            let keep_seat = ending.keeps_seat();
            room.leave(id, joined.link.clone(), !keep_seat).await;
            tracing::debug!(%peer, player = %id, ?ending, "session ended");
            ending
        }
        Err(close) => {
            tracing::debug!(%peer, ?close, "connection refused");
            Ending::Close(close)
        }
    };
    app.metrics.disconnected(ending.reason());
    match ending {
        Ending::Close(close) => send_close(&mut socket, close, app.config.write_timeout()).await,
        // tungstenite queued the reply to the peer's close frame: reading on flushes it and
        // finishes the closing handshake cleanly.
        Ending::PeerClosed => drain(&mut socket).await,
        Ending::Lost | Ending::Stalled => {}
    }
    app.metrics.connections.fetch_sub(1, Ordering::Relaxed);
}

/// Reads and checks `Hello`, then takes a seat in the named room.
async fn admit(
    socket: &mut WsStream,
    app: &AppState,
    caller: Caller,
) -> Result<(RoomHandle, Joined), Close> {
    let hello = tokio::select! {
        read = timeout(app.config.hello_timeout(), read_hello(socket, &app.metrics)) => {
            read.map_err(|_| Close::timeout("no Hello within the time-out"))??
        }
        () = app.cancel.cancelled() => return Err(Close::restart()),
    };
    if hello.protocol_version != PROTOCOL_VERSION {
        let version = hello.protocol_version;
        return Err(Close::new(
            close::VERSION_MISMATCH,
            format!(
                "protocol version {version} not supported (server speaks {PROTOCOL_VERSION}); reload the page"
            ),
        ));
    }
    let name = sanitize_name(&hello.name).map_err(|v| Close::new(v.close_code(), v.to_string()))?;
    check_room(&hello.room).map_err(|v| Close::new(v.close_code(), v.to_string()))?;
    if let Some(ticket) = &hello.ticket {
        check_ticket(ticket).map_err(|v| Close::new(v.close_code(), v.to_string()))?;
    }
    if hello.spectate {
        return watch(app, &hello, name).await;
    }
    let resuming = hello.resume.is_some();
    if app.draining.is_cancelled() && !resuming {
        return Err(Close::restart_elsewhere());
    }
    let refused = |err: LobbyError| match err {
        LobbyError::BadTicket => Close::new(close::RESERVATION_REFUSED, err.to_string()),
        LobbyError::NoSuchRoom if resuming => {
            Close::new(close::RESUME_REFUSED, "the room closed: join again")
        }
        other => Close::new(close::TRY_AGAIN_LATER, other.to_string()),
    };
    let clustered = seat_from_cluster(app, &hello, caller.join.as_ref()).await.map_err(refused)?;
    let (room, hold) = match clustered {
        Some(seat) => seat,
        None => {
            let (room, pass) =
                app.lobby.admit(&hello.room, hello.ticket.as_deref(), resuming).map_err(refused)?;
            if pass.is_some() && hello.ticket.is_none() {
                // A walk-in has no reservation in Redis: the cluster counts it once published.
                if let Some(node) = &app.node {
                    node.publish_soon();
                }
            }
            (room, pass.map(|pass| Box::new(pass) as room::Hold))
        }
    };
    // The room lets the reservation or claim go once its count includes the player.
    let joined = room.join(name, hello.resume, caller.player, hold).await;
    match joined {
        Ok(joined) => Ok((room, joined)),
        Err(err @ (JoinError::Full | JoinError::TooManySpectators | JoinError::SpectatingOff)) => {
            Err(Close::new(close::TRY_AGAIN_LATER, err.to_string()))
        }
        Err(JoinError::Closed) => Err(Close::restart()),
        Err(err @ JoinError::BadResume) => Err(Close::new(close::RESUME_REFUSED, err.to_string())),
    }
}

/// A spectator comes to watch the room its `Hello` names (which must run on this process): no
/// seat, so no ticket and no resume; refused while draining, like a new player.
async fn watch(app: &AppState, hello: &Hello, name: String) -> Result<(RoomHandle, Joined), Close> {
    if hello.ticket.is_some() || hello.resume.is_some() {
        return Err(Close::new(
            close::POLICY,
            "a spectator takes no seat: spectate with neither a ticket nor a resume token",
        ));
    }
    if app.draining.is_cancelled() {
        return Err(Close::restart_elsewhere());
    }
    if app.config.max_spectators == 0 {
        return Err(Close::new(close::TRY_AGAIN_LATER, JoinError::SpectatingOff.to_string()));
    }
    let room =
        app.lobby.watch(&hello.room).map_err(|err| Close::new(close::POLICY, err.to_string()))?;
    match room.watch(name).await {
        Ok(joined) => Ok((room, joined)),
        Err(JoinError::Closed) => Err(Close::restart()),
        Err(err) => Err(Close::new(close::TRY_AGAIN_LATER, err.to_string())),
    }
}

/// A seat the cluster gave: the ticket's reservation claimed in Redis, or the first seat of
/// a room another process asked this one to open for quick play (opened with the seat taken).
/// The room comes with what holds its seat until the room has answered. `None` for
/// everything the lobby answers alone.
async fn seat_from_cluster(
    app: &AppState,
    hello: &Hello,
    join: Option<&cluster::JoinTicket>,
) -> Result<Option<(RoomHandle, Option<room::Hold>)>, LobbyError> {
    let Some(node) = app.node.as_deref() else { return Ok(None) };
    if hello.resume.is_some() {
        return Ok(None);
    }
    match (&hello.ticket, join) {
        (None, Some(join)) if join.ticket == crate::node::OPEN_ROOM => {
            if join.room_code != hello.room || !crate::lobby::is_code_shaped(&hello.room) {
                return Ok(None);
            }
            let (room, pass) = app.lobby.admit_opening(&hello.room)?;
            // Published at once (its first player counted), so the next quick play fills it
            // before opening another.
            node.publish_soon();
            Ok(Some((room, Some(Box::new(pass) as room::Hold))))
        }
        (Some(ticket), _) if !app.lobby.holds(&hello.room, ticket) => {
            let claim = node.claim(&hello.room, ticket).await?;
            Ok(Some((app.lobby.claimed(&hello.room)?, Some(Box::new(claim) as room::Hold))))
        }
        _ => Ok(None),
    }
}

async fn read_hello(socket: &mut WsStream, metrics: &Metrics) -> Result<Hello, Close> {
    loop {
        let message = match socket.next().await {
            None => return Err(Close::new(close::PROTOCOL_ERROR, "closed before Hello")),
            Some(Err(err)) => {
                return Err(Close::for_ws_error(&err)
                    .unwrap_or_else(|| Close::new(close::PROTOCOL_ERROR, "socket error")));
            }
            Some(Ok(message)) => message,
        };
        count_in(metrics, &message);
        return match message {
            Message::Binary(bytes) => match decode_client(&bytes) {
                Ok(ClientMsg::Hello(hello)) => Ok(hello),
                Ok(_) => Err(Close::new(close::PROTOCOL_ERROR, "the first message must be Hello")),
                Err(err) => {
                    Err(Close::new(close::PROTOCOL_ERROR, format!("undecodable Hello: {err}")))
                }
            },
            Message::Text(_) => Err(Close::new(close::UNSUPPORTED_DATA, "binary frames only")),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            Message::Close(_) => Err(Close::new(close::NORMAL, "bye")),
        };
    }
}

/// What one session keeps between wake-ups, besides its socket.
struct Play<'a> {
    app: &'a AppState,
    room: &'a RoomHandle,
    link: &'a Link,
    limits: Limits,
    flow: FlowControl,
    liveness: Liveness,
    answers: Answers,
}

/// The main loop: reads into the link, writes out of it, pings, until something ends it. Each
/// wake-up is one of these, in this order of priority:
/// 1. the room kicked this player (with 1012 when the server shuts down);
/// 2. a message from the client (`Play::on_read`);
/// 3. frames to write: reliable ones, then the newest snapshot unless flow control holds it
///    (`write_batch`);
/// 4. the ping interval: liveness judged, then a ping sent (`Play::on_ping`).
async fn play(socket: &mut WsStream, app: &AppState, room: &RoomHandle, joined: &Joined) -> Ending {
    let write_timeout = app.config.write_timeout();
    let metrics = &app.metrics;
    if let Err(ending) =
        write(socket, Message::Binary(joined.welcome.clone()), write_timeout, metrics).await
    {
        return ending;
    }
    let ping_every = app.config.ping_interval();
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let now = Instant::now();
    let config = &app.config;
    let link = &joined.link;
    let mut state = Play {
        app,
        room,
        link,
        limits: Limits::new(config.tick_hz, now),
        flow: FlowControl::new(config.snapshot_window_ticks(), config.tick_hz, now),
        liveness: Liveness::new(config.idle_timeout(), config.tick_hz, now),
        answers: Answers::default(),
    };
    // Made once, not on every wake-up. A shutdown reaches the session through its room, which
    // kicks every member with 1012 as it stops (one cheap flag per wake-up instead of a lock).
    let kicked = link.kicked();
    tokio::pin!(kicked);
    loop {
        // A congested link's snapshots wait in the latest-wins slot until its acks catch up.
        let snapshots = !state.congested(Instant::now());
        let step = tokio::select! {
            biased;
            reason = &mut kicked => Err(Ending::Close(reason)),
            read = socket.next() => state.on_read(read),
            first = link.next_frame(snapshots) => {
                let written = write_batch(socket, link, first, snapshots, write_timeout, metrics);
                written.await.map(|stamp| state.written(stamp))
            }
            _ = ping.tick() => state.on_ping(socket).await,
        };
        if let Err(ending) = step {
            return ending;
        }
    }
}

impl Play<'_> {
    /// Whether flow control holds this client's snapshots now.
    fn congested(&mut self, now: Instant) -> bool {
        self.flow.observe_inputs(self.link.input_messages(), now);
        self.flow.congested(self.link.in_flight(), now)
    }

    /// One read from the socket: a message handled, or how the session ends.
    fn on_read(
        &mut self,
        read: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), Ending> {
        let now = Instant::now();
        self.liveness.heard(now);
        let message = match read {
            None => return Err(Ending::Lost),
            Some(Err(err)) => return Err(Ending::from_ws_error(&err)),
            Some(Ok(message)) => message,
        };
        count_in(&self.app.metrics, &message);
        if let Message::Pong(payload) = &message {
            self.flow.on_pong(payload, now);
        }
        let limits = &mut self.limits;
        let read = handle_message(message, self.link, self.room, limits, &self.app.metrics)?;
        if let Some(first_new) = read {
            self.answers.read(first_new, now);
        }
        Ok(())
    }

    /// A batch was written; with a snapshot in it, the inputs that snapshot answers.
    fn written(&mut self, snapshot: Option<Stamp>) {
        if let Some(stamp) = snapshot {
            self.answers.written(stamp.ack_input, Instant::now(), &self.app.metrics);
        }
    }

    /// The ping interval: a client that went silent, or keeps sending but stopped reading, is
    /// dropped (it may resume); otherwise a ping carrying its send time goes out.
    async fn on_ping(&mut self, socket: &mut WsStream) -> Result<(), Ending> {
        let now = Instant::now();
        let ack_lag = self.link.ack_lag(current_tick(&self.room.stats));
        if let Some(close) = self.liveness.check(now, self.flow.playing(now), ack_lag) {
            return Err(Ending::Close(close));
        }
        let ping = Message::Ping(self.flow.ping_payload(now));
        write(socket, ping, self.app.config.write_timeout(), &self.app.metrics).await
    }
}

fn count_in(metrics: &Metrics, message: &Message) {
    add(&metrics.frames_in, 1);
    add(&metrics.bytes_in, message.len() as u64);
}

/// Handles one message after the handshake; for an input message that brought new commands, the
/// first of them.
fn handle_message(
    message: Message,
    link: &Link,
    room: &RoomHandle,
    limits: &mut Limits,
    metrics: &Metrics,
) -> Result<Option<u32>, Ending> {
    let bytes = match message {
        Message::Binary(bytes) => bytes,
        Message::Text(_) => {
            return Err(Ending::Close(Close::new(close::UNSUPPORTED_DATA, "binary frames only")));
        }
        Message::Close(_) => return Err(Ending::PeerClosed),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(None),
    };
    let message = decode_client(&bytes)
        .map_err(|err| Close::new(close::PROTOCOL_ERROR, format!("undecodable message: {err}")))
        .and_then(|m| check_client_msg(m).map_err(|v| Close::new(v.close_code(), v.to_string())))
        .map_err(Ending::Close)?;
    let now = Instant::now();
    match message {
        ClientMsg::Hello(_) => {
            return Err(Ending::Close(Close::new(close::PROTOCOL_ERROR, "Hello sent twice")));
        }
        // A spectator has no ship: its commands are dropped (still rate limited).
        ClientMsg::Input(input) => {
            if admitted(&mut limits.inputs, now, metrics)? && !link.spectator {
                return Ok(link.push_inputs(&input));
            }
        }
        // A spectator's line goes to the room too, which passes it on only if it lets
        // spectators chat.
        ClientMsg::Chat { text } => {
            if admitted(&mut limits.chat, now, metrics)? && !link.push_chat(text) {
                tracing::debug!(player = %link.player_id, "chat line dropped: backlog full");
            }
        }
        ClientMsg::Ping { client_time } => {
            if admitted(&mut limits.pings, now, metrics)? {
                let pong = ServerMsg::Pong { client_time, server_tick: current_tick(&room.stats) };
                link.send_reliable(Bytes::from(encode_server(&pong)));
            }
        }
        // Players look from their ship: only a spectator's camera moves this way.
        ClientMsg::Look { at } => {
            if admitted(&mut limits.looks, now, metrics)? && link.spectator {
                link.set_look(at);
            }
        }
        // A resize is as rare as a ping; they share a budget.
        ClientMsg::View { half_width, half_height } => {
            if admitted(&mut limits.pings, now, metrics)? {
                link.set_view(half_width, half_height);
            }
        }
    }
    Ok(None)
}

/// Whether a message within its rate `limit` is handled (`false`: dropped and counted); a
/// sustained flood ends the session.
fn admitted(limit: &mut Limit, now: Instant, metrics: &Metrics) -> Result<bool, Ending> {
    match limit.check(now) {
        Verdict::Accept => Ok(true),
        Verdict::Drop => {
            add(&metrics.rate_limited, 1);
            Ok(false)
        }
        Verdict::Close => {
            Err(Ending::Close(Close::new(close::POLICY, "flooding: message rate limit exceeded")))
        }
    }
}

/// Writes `first` and whatever else the link has ready (up to [`BATCH_FRAMES`] frames or
/// [`BATCH_BYTES`]) with one flush, so a tick's events and snapshot cost one socket write;
/// records the newest snapshot written as the client's baseline, and returns its stamp.
async fn write_batch(
    socket: &mut WsStream,
    link: &Link,
    first: (Bytes, Option<Stamp>),
    snapshots: bool,
    limit: Duration,
    metrics: &Metrics,
) -> Result<Option<Stamp>, Ending> {
    let mut batch = vec![first];
    let mut bytes = batch[0].0.len();
    while batch.len() < BATCH_FRAMES && bytes < BATCH_BYTES {
        let Some(next) = link.take_frame(snapshots) else { break };
        bytes += next.0.len();
        batch.push(next);
    }
    let newest_snapshot = batch.iter().filter_map(|(_, stamp)| *stamp).max_by_key(|s| s.tick);
    let messages = batch.into_iter().map(|(frame, _)| Message::Binary(frame)).collect();
    write_all(socket, messages, limit, metrics).await?;
    if let Some(stamp) = newest_snapshot {
        link.mark_written(stamp.tick);
    }
    Ok(newest_snapshot)
}

/// Sends one message within the time-out.
async fn write(
    socket: &mut WsStream,
    message: Message,
    limit: Duration,
    metrics: &Metrics,
) -> Result<(), Ending> {
    write_all(socket, vec![message], limit, metrics).await
}

/// Sends `messages` with one flush, all within the time-out.
async fn write_all(
    socket: &mut WsStream,
    messages: Vec<Message>,
    limit: Duration,
    metrics: &Metrics,
) -> Result<(), Ending> {
    let count = messages.len() as u64;
    let bytes: u64 = messages.iter().map(|m| m.len() as u64).sum();
    let sent = timeout(limit, async {
        for message in messages {
            socket.feed(message).await?;
        }
        socket.flush().await
    });
    match sent.await {
        Ok(Ok(())) => {
            add(&metrics.frames_out, count);
            add(&metrics.bytes_out, bytes);
            Ok(())
        }
        Ok(Err(err)) => Err(Ending::from_ws_error(&err)),
        Err(_) => {
            tracing::debug!("write timed out: peer is not reading");
            Err(Ending::Stalled)
        }
    }
}

/// Sends a close frame and waits briefly for the peer's reply, all bounded in time.
async fn send_close(socket: &mut WsStream, close: Close, limit: Duration) {
    let frame =
        CloseFrame { code: CloseCode::from(close.code), reason: close.reason.into_owned().into() };
    if timeout(limit, socket.close(Some(frame))).await.is_err() {
        return;
    }
    drain(socket).await;
}

/// Reads until the peer's side of the closing handshake is done, for at most [`CLOSE_LINGER`].
async fn drain(socket: &mut WsStream) {
    let _ = timeout(CLOSE_LINGER, async { while let Some(Ok(_)) = socket.next().await {} }).await;
}
