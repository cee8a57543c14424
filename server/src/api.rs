//! The lobby's JSON API: the room list, quick play, creating and joining rooms, the
//! leaderboard and the player's own profile. Asking for a seat needs a session (the cookie
//! from `POST /api/session`) unless the server runs with `--open-access`; every answer that
//! grants a seat carries the ticket the game socket's `Hello` must present.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/rooms` | public rooms, maps, limits, versions |
//! | `POST /api/quick-play` | a seat in the fullest public room with one free (a new room if none) |
//! | `POST /api/rooms` `{title, map, capacity, public, spectators_chat?}` | a new room (private ones get a code and a `/r/CODE` link) and a seat in it |
//! | `POST /api/rooms/{code}/join` | a seat in that room; 404 for any code that is not a room |
//! | `GET /api/leaderboard?period=all\|week` | the top players |
//! | `GET /api/me` | the player's name and career (`{"player": null}` before a session) |
//! | `GET /api/cluster` | every process of the cluster, its load and its public rooms |
//! | `GET /api/replays` | the finished replays of public rooms, newest first |
//! | `GET /api/replays/{id}` | one replay file (`shared::replay`'s format) |
//!
//! With a cluster (`--redis-url`) the room list, quick play and join by code cover every
//! process (see `node`); an answer for a room on another process carries `ws_url`, the game
//! socket there with a signed join ticket, which the page follows.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::protocol::PROTOCOL_VERSION;
use shared::validate::sanitize_room_title;

use crate::auth;
use crate::lobby::{LobbyError, NewRoom, Offer};
use crate::state::AppState;

/// Rows on a leaderboard.
const LEADERBOARD_ROWS: u32 = 20;

/// A refusal as JSON: `{"error": "..."}` with its status.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

impl IntoResponse for LobbyError {
    fn into_response(self) -> Response {
        let status = match self {
            LobbyError::NoSuchRoom => StatusCode::NOT_FOUND,
            LobbyError::Full => StatusCode::CONFLICT,
            LobbyError::TooManyRooms | LobbyError::Draining | LobbyError::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            LobbyError::UnknownMap(_) | LobbyError::BadCapacity(_) | LobbyError::BadTicket => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        };
        refuse(status, self.to_string())
    }
}

/// Who is asking: the session's player, or under `--open-access` without one, the address.
fn holder(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<String, auth::TokenError> {
    match auth::session_player(headers, &state.sessions) {
        Ok(player) => Ok(player.to_string()),
        Err(_) if state.config.open_access => Ok(peer.ip().to_string()),
        Err(err) => Err(err),
    }
}

fn no_session(err: auth::TokenError) -> Response {
    refuse(StatusCode::UNAUTHORIZED, format!("{err}: POST /api/session first"))
}

/// An offer as the page reads it, with the link that opens the room and, for a room on
/// another process, the game socket's address there.
fn offered(result: Result<Offer, LobbyError>) -> Response {
    let offer = match result {
        Ok(offer) => offer,
        Err(err) => return err.into_response(),
    };
    let link = format!("/r/{}", offer.room.id);
    let ticket = (!offer.ticket.is_empty()).then_some(offer.ticket);
    Json(serde_json::json!({
        "room": offer.room,
        "ticket": ticket,
        "expires_in": offer.expires_in_secs,
        "link": link,
        "ws_url": offer.ws_url,
    }))
    .into_response()
}

/// Who asks for a seat (the session's player, or the address under `--open-access`), unless
/// they have no session or this process is draining: a draining process alone opens no rooms
/// and seats nobody new (in a cluster, the others do).
fn seat_asker(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<String, Box<Response>> {
    let holder = holder(state, headers, peer).map_err(|err| Box::new(no_session(err)))?;
    if state.draining.is_cancelled() && state.node.is_none() {
        return Err(Box::new(LobbyError::Draining.into_response()));
    }
    Ok(holder)
}

pub(crate) async fn rooms(State(state): State<AppState>) -> impl IntoResponse {
    let cluster = match &state.node {
        Some(node) => node.listing().await,
        None => None,
    };
    let rooms = match cluster {
        Some(rooms) => serde_json::Value::from(rooms),
        None => serde_json::json!(state.lobby.listing()),
    };
    Json(serde_json::json!({
        "rooms": rooms,
        "process": state.node.as_ref().map(|node| node.id()),
        "maps": state.lobby.maps().ids(),
        "max_capacity": state.config.max_players,
        "tick_hz": state.config.tick_hz,
        "version": crate::SERVER_VERSION,
        "protocol": PROTOCOL_VERSION,
    }))
}

pub(crate) async fn quick_play(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let holder = match seat_asker(&state, &headers, peer) {
        Ok(holder) => holder,
        Err(refusal) => return *refusal,
    };
    offered(match &state.node {
        Some(node) => node.quick_play(&state.lobby, &holder, &holder).await,
        None => state.lobby.quick_play(&holder),
    })
}

#[derive(Deserialize)]
pub(crate) struct CreateRoom {
    title: String,
    map: String,
    capacity: usize,
    public: bool,
    /// Spectators may chat (absent: read-only).
    #[serde(default)]
    spectators_chat: bool,
}

pub(crate) async fn create_room(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(request): Json<CreateRoom>,
) -> Response {
    let holder = match seat_asker(&state, &headers, peer) {
        Ok(holder) => holder,
        Err(refusal) => return *refusal,
    };
    let title = match sanitize_room_title(&request.title) {
        Ok(title) => title,
        Err(violation) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, violation.to_string()),
    };
    let spec = NewRoom {
        title,
        map: request.map,
        capacity: request.capacity,
        public: request.public,
        spectators_chat: request.spectators_chat,
    };
    offered(match &state.node {
        Some(node) => node.create(&state.lobby, spec, &holder, &holder).await,
        None => state.lobby.create(spec, &holder),
    })
}

pub(crate) async fn join_room(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let holder = match seat_asker(&state, &headers, peer) {
        Ok(holder) => holder,
        Err(refusal) => return *refusal,
    };
    // Unknown and malformed codes get the same answer as closed rooms: nothing to learn.
    offered(match &state.node {
        Some(node) => node.join(&state.lobby, &code, &holder, &holder).await,
        None => state.lobby.join(&code, &holder),
    })
}

#[derive(Deserialize)]
pub(crate) struct Board {
    period: Option<String>,
}

pub(crate) async fn leaderboard(
    State(state): State<AppState>,
    Query(board): Query<Board>,
) -> Response {
    let (period, name) = match board.period.as_deref() {
        None | Some("all") => (store::Period::AllTime, "all"),
        Some("week") => (store::Period::LastDays(7), "week"),
        Some(other) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("period must be \"all\" or \"week\", not {other:?}"),
            );
        }
    };
    let now = i64::try_from(auth::now_secs()).unwrap_or(i64::MAX);
    match state.store.leaderboard(period, now, LEADERBOARD_ROWS).await {
        Ok(entries) => {
            Json(serde_json::json!({ "period": name, "entries": entries })).into_response()
        }
        Err(err) => {
            tracing::warn!("reading the leaderboard: {err:#}");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "the leaderboard is unavailable right now")
        }
    }
}

/// The player's profile; without a session (a first visit), nobody yet: `{"player": null}`.
pub(crate) async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let player = auth::session_player(&headers, &state.sessions).ok();
    let Some(key) = player.and_then(|player| player.parse::<store::PlayerKey>().ok()) else {
        return Json(serde_json::json!({ "player": null, "name": null })).into_response();
    };
    match state.store.profile(key).await {
        Ok(Some(profile)) => Json(profile).into_response(),
        Ok(None) => {
            Json(serde_json::json!({ "player": key.to_string(), "name": null })).into_response()
        }
        Err(err) => {
            tracing::warn!("reading a profile: {err:#}");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "profiles are unavailable right now")
        }
    }
}

/// Every process of the cluster with its load, and its public rooms; without a cluster, this
/// process alone.
pub(crate) async fn cluster(State(state): State<AppState>) -> Response {
    let Some(node) = &state.node else {
        let (rooms, players) = state.lobby.totals();
        return Json(serde_json::json!({
            "cluster": false,
            "processes": [{ "id": null, "players": players, "rooms": rooms, "draining": state.draining.is_cancelled() }],
            "rooms": state.lobby.listing(),
        }))
        .into_response();
    };
    let directory = node.directory();
    match (directory.processes().await, node.listing().await) {
        (Ok(mut processes), Some(rooms)) => {
            processes.sort_by(|a, b| a.id.cmp(&b.id));
            Json(serde_json::json!({
                "cluster": true,
                "process": node.id(),
                "processes": processes,
                "rooms": rooms,
                "stats": directory.stats(),
            }))
            .into_response()
        }
        _ => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the cluster directory is unavailable right now",
        ),
    }
}

/// The finished replays, newest first: id, title, map, start, size, versions.
pub(crate) async fn replays(State(state): State<AppState>) -> Response {
    let Some(replays) = state.lobby.replays().cloned() else {
        return Json(serde_json::json!({ "replays": [] })).into_response();
    };
    let listed = tokio::task::spawn_blocking(move || {
        let mut listed = Vec::new();
        for (path, size) in crate::recording::finished_replays(replays.dir()).into_iter().rev() {
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
                continue;
            };
            match read_header(&path) {
                Ok(header) => listed.push(serde_json::json!({
                    "id": id, "title": header.title, "map": header.map.id,
                    "started_at": header.started_at, "bytes": size, "tick_hz": header.tick_hz,
                    "server_version": header.server_version, "protocol": header.protocol_version,
                })),
                Err(err) => tracing::debug!(%id, "not listing a replay: {err:#}"),
            }
        }
        listed
    })
    .await
    .unwrap_or_default();
    Json(serde_json::json!({ "replays": listed })).into_response()
}

fn read_header(path: &std::path::Path) -> anyhow::Result<shared::replay::Header> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let limit = shared::replay::MAX_HEADER_BYTES as u64 + 10;
    std::fs::File::open(path)?.take(limit).read_to_end(&mut bytes)?;
    Ok(shared::replay::parse_header(&bytes)?)
}

/// One replay file, by the id `/api/replays` lists (letters, digits and `-` only).
pub(crate) async fn replay(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let valid = shared::replay::is_replay_id(&id);
    let Some(replays) = state.lobby.replays().filter(|_| valid) else {
        return refuse(StatusCode::NOT_FOUND, "no such replay");
    };
    let path = replays.dir().join(format!("{id}.{}", crate::recording::EXTENSION));
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (axum::http::header::CONTENT_TYPE, "application/octet-stream"),
                (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => refuse(StatusCode::NOT_FOUND, "no such replay"),
    }
}
