//! The lobby as a bot (or a test) uses it: ask for a seat by quick play, by creating a room, or
//! by a room's code, then present the seat's ticket in `Hello` (`BotClient::connect_seat`).

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::http::{call, host_of};

/// A reserved seat: the room to name in `Hello` and the ticket that holds the seat.
#[derive(Clone, Debug, Deserialize)]
pub struct Seat {
    pub room: RoomInfo,
    /// `None` when the seat is in a room another process of the cluster opens as the socket
    /// arrives (its `ws_url` carries the permission).
    pub ticket: Option<String>,
    /// `/r/CODE`: the page opening straight into the room.
    pub link: String,
    /// The game socket on another process of the cluster, with a signed join ticket; `None`:
    /// the process that answered.
    #[serde(default)]
    pub ws_url: Option<String>,
}

impl Seat {
    /// Where to open the game socket: the seat's process, else `lobby_url` (the game socket of
    /// the process that answered).
    pub fn game_url(&self, lobby_url: &str) -> String {
        self.ws_url.clone().unwrap_or_else(|| lobby_url.to_string())
    }
}

/// A room as the lobby lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct RoomInfo {
    pub id: String,
    pub title: String,
    pub map: String,
    pub players: usize,
    pub capacity: usize,
    pub public: bool,
}

/// What the lobby answered instead of a seat.
#[derive(Debug, thiserror::Error)]
#[error("the lobby answered {status}: {message}")]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

/// A room to create.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NewRoom<'a> {
    pub title: &'a str,
    pub map: &'a str,
    pub capacity: usize,
    pub public: bool,
}

async fn post(ws_url: &str, token: &str, path: &str, body: &str) -> anyhow::Result<Seat> {
    let cookie = format!("Cookie: {}={token}\r\n", shared::protocol::SESSION_COOKIE);
    let (status, text) =
        call(&host_of(ws_url)?, ws_url.starts_with("wss://"), "POST", path, &cookie, body).await?;
    if status != 200 {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|json| json["error"].as_str().map(str::to_string))
            .unwrap_or(text);
        bail!(Refused { status, message });
    }
    serde_json::from_str(&text).with_context(|| format!("POST {path}: not a seat: {text}"))
}

/// A seat in the fullest public room with one free (the lobby opens a room when all are full).
pub async fn quick_play(ws_url: &str, token: &str) -> anyhow::Result<Seat> {
    post(ws_url, token, "/api/quick-play", "").await
}

/// A new room and its creator's seat.
pub async fn create(ws_url: &str, token: &str, room: &NewRoom<'_>) -> anyhow::Result<Seat> {
    let body = serde_json::to_string(room).context("encoding the room")?;
    post(ws_url, token, "/api/rooms", &body).await
}

/// A seat in the room with this code.
pub async fn join(ws_url: &str, token: &str, code: &str) -> anyhow::Result<Seat> {
    // Codes of a cluster's named rooms read `main@<process id>`.
    if !code.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_@.:".contains(&b)) {
        bail!("a room code is letters, digits and -_@.:");
    }
    post(ws_url, token, &format!("/api/rooms/{code}/join"), "").await
}
