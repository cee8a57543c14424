//! One task per game socket: the `Hello` handshake, then a loop that reads client messages into
//! the player's link and writes the link's frames to the socket, until someone closes.
//!
//! Every socket write and the close itself are bounded by the write time-out, so a peer that
//! stops reading costs one parked task for at most that long, never the room's time.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use shared::codec::{decode_client, encode_server};
use shared::protocol::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg, close};
use shared::validate::{check_client_msg, check_room, sanitize_name};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::close::Close;
use crate::http::AppState;
use crate::link::Link;
use crate::room::{JoinError, RoomHandle, current_tick};
use crate::upgrade::WsStream;

/// After sending our close frame, how long we wait for the peer's before dropping the socket.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

pub(crate) async fn run(
    mut socket: WsStream,
    peer: SocketAddr,
    app: AppState,
    _permit: OwnedSemaphorePermit,
) {
    let close = match admit(&mut socket, &app).await {
        Ok((room, joined)) => {
            let id = joined.link.player_id;
            let outcome = play(&mut socket, &app, &room, &joined.link, joined.welcome).await;
            room.leave(id).await;
            tracing::debug!(%peer, player = %id, close = ?outcome, "session ended");
            outcome
        }
        Err(close) => {
            tracing::debug!(%peer, ?close, "connection refused");
            Some(close)
        }
    };
    if let Some(close) = close {
        send_close(&mut socket, close, app.config.write_timeout()).await;
    }
}

/// Reads and checks `Hello`, then takes a seat in the named room.
async fn admit(
    socket: &mut WsStream,
    app: &AppState,
) -> Result<(RoomHandle, crate::room::Joined), Close> {
    let hello = tokio::select! {
        read = timeout(app.config.hello_timeout(), read_hello(socket)) => {
            read.map_err(|_| Close::new(close::POLICY, "no Hello within the time-out"))??
        }
        () = app.cancel.cancelled() => return Err(Close::restart()),
    };
    if hello.protocol_version != PROTOCOL_VERSION {
        return Err(Close::new(
            close::PROTOCOL_ERROR,
            format!(
                "protocol version {} not supported (server speaks {PROTOCOL_VERSION}); reload the page",
                hello.protocol_version
            ),
        ));
    }
    let name = sanitize_name(&hello.name).map_err(|v| Close::new(v.close_code(), v.to_string()))?;
    check_room(&hello.room).map_err(|v| Close::new(v.close_code(), v.to_string()))?;
    let room = app
        .lobby
        .room(&hello.room)
        .map_err(|_| Close::new(close::TRY_AGAIN_LATER, "too many rooms"))?;
    match room.join(name).await {
        Ok(joined) => Ok((room, joined)),
        Err(JoinError::Full) => Err(Close::new(close::TRY_AGAIN_LATER, "room is full")),
        Err(JoinError::Closed) => Err(Close::restart()),
    }
}

async fn read_hello(socket: &mut WsStream) -> Result<Hello, Close> {
    loop {
        let message = match socket.next().await {
            None => return Err(Close::new(close::PROTOCOL_ERROR, "closed before Hello")),
            Some(Err(err)) => {
                return Err(Close::for_ws_error(&err)
                    .unwrap_or_else(|| Close::new(close::PROTOCOL_ERROR, "socket error")));
            }
            Some(Ok(message)) => message,
        };
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

/// The main loop. Returns the close to send, or `None` if the socket is already gone.
async fn play(
    socket: &mut WsStream,
    app: &AppState,
    room: &RoomHandle,
    link: &Link,
    welcome: Bytes,
) -> Option<Close> {
    let write_timeout = app.config.write_timeout();
    if let Err(close) = write(socket, Message::Binary(welcome), write_timeout).await {
        return close;
    }
    let mut ping = tokio::time::interval_at(
        Instant::now() + app.config.ping_interval(),
        app.config.ping_interval(),
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            biased;
            () = app.cancel.cancelled() => return Some(Close::restart()),
            reason = link.kicked() => return Some(reason),
            read = socket.next() => {
                last_heard = Instant::now();
                match read {
                    None => return None,
                    Some(Err(err)) => return Close::for_ws_error(&err),
                    Some(Ok(message)) => {
                        if let Err(outcome) = handle_message(message, link, room) {
                            return outcome;
                        }
                    }
                }
            }
            frame = link.next_frame() => {
                if let Err(close) = write(socket, Message::Binary(frame), write_timeout).await {
                    return close;
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > app.config.idle_timeout() {
                    return Some(Close::new(close::POLICY, "idle time-out"));
                }
                if let Err(close) = write(socket, Message::Ping(Bytes::new()), write_timeout).await {
                    return close;
                }
            }
        }
    }
}

/// Handles one message. `Err(None)`: the peer closed. `Err(Some)`: close with this reason.
fn handle_message(message: Message, link: &Link, room: &RoomHandle) -> Result<(), Option<Close>> {
    let bytes = match message {
        Message::Binary(bytes) => bytes,
        Message::Text(_) => {
            return Err(Some(Close::new(close::UNSUPPORTED_DATA, "binary frames only")));
        }
        Message::Close(_) => return Err(None),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(()),
    };
    let decoded = decode_client(&bytes)
        .map_err(|err| Close::new(close::PROTOCOL_ERROR, format!("undecodable message: {err}")));
    let checked = decoded
        .and_then(|m| check_client_msg(m).map_err(|v| Close::new(v.close_code(), v.to_string())));
    checked.map_err(Some).and_then(|message| {
        match message {
            ClientMsg::Input(input) => link.push_inputs(&input),
            ClientMsg::Chat { text } => {
                if !link.push_chat(text) {
                    tracing::debug!(player = %link.player_id, "chat line dropped: backlog full");
                }
            }
            ClientMsg::Ping { client_time } => {
                let pong = ServerMsg::Pong { client_time, server_tick: current_tick(&room.stats) };
                link.send_reliable(Bytes::from(encode_server(&pong)));
            }
            ClientMsg::Hello(_) => {
                return Err(Some(Close::new(close::PROTOCOL_ERROR, "Hello sent twice")));
            }
        }
        Ok(())
    })
}

/// Sends one message within the time-out. `Err(None)`: the socket is gone or stuck.
async fn write(
    socket: &mut WsStream,
    message: Message,
    limit: Duration,
) -> Result<(), Option<Close>> {
    match timeout(limit, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Close::for_ws_error(&err)),
        Err(_) => {
            tracing::debug!("write timed out: peer is not reading");
            Err(None)
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
    let _ = timeout(CLOSE_LINGER, async { while let Some(Ok(_)) = socket.next().await {} }).await;
}
