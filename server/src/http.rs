//! HTTP routes: `/ws` (the game), `/healthz` and `/api/rooms` (JSON, with the server and
//! protocol versions), `/metrics` (Prometheus), `/favicon.ico`, and the built client for
//! everything else.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::protocol::PROTOCOL_VERSION;
use tower_http::services::ServeDir;

use crate::admission;
use crate::auth;
use crate::state::AppState;
use crate::{session, upgrade};

/// The server's release, reported by `/healthz` and `/api/rooms` beside the protocol version.
const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn router(state: AppState) -> Router {
    let client = ServeDir::new(&state.config.static_dir).not_found_service(get(client_missing));
    Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/api/session", axum::routing::post(new_session))
        .route("/metrics", get(metrics))
        .route("/api/rooms", get(rooms))
        .route("/favicon.ico", get(favicon))
        .fallback_service(client)
        .with_state(state)
}

async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response<Body> {
    let accept = match upgrade::accept_key(request.headers()) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.response(),
    };
    if !admission::origin_allowed(request.headers(), &state.config.allowed_origins) {
        state.metrics.disconnected(crate::metrics::DisconnectReason::Refused);
        tracing::debug!(%peer, origin = ?request.headers().get("origin"), "foreign origin refused");
        return upgrade::plain(StatusCode::FORBIDDEN, "origin not allowed");
    }
    if !state.config.open_access {
        let checked = auth::token_from_cookies(request.headers())
            .ok_or(auth::TokenError::Missing)
            .and_then(|token| state.sessions.verify(token, auth::now_secs()));
        if let Err(err) = checked {
            state.metrics.disconnected(crate::metrics::DisconnectReason::Refused);
            tracing::debug!(%peer, %err, "handshake without a valid session");
            let status = if err == auth::TokenError::Missing {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            return upgrade::plain(status, "a valid session is required: POST /api/session first");
        }
    }
    if state.cancel.is_cancelled() {
        return upgrade::plain(StatusCode::SERVICE_UNAVAILABLE, "server restarting");
    }
    let Ok(permit) = state.connections.clone().try_acquire_owned() else {
        state.metrics.disconnected(crate::metrics::DisconnectReason::Refused);
        return upgrade::plain(StatusCode::SERVICE_UNAVAILABLE, "server full, try again later");
    };
    let Some(ip_slot) = state.per_ip.try_acquire(peer.ip(), state.config.max_connections_per_ip)
    else {
        state.metrics.disconnected(crate::metrics::DisconnectReason::Refused);
        return upgrade::plain(
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from your address",
        );
    };
    let tracker = state.tracker.clone();
    tracker.spawn(async move {
        match upgrade::into_websocket(request).await {
            Ok(socket) => session::run(socket, peer, state, (permit, ip_slot)).await,
            Err(err) => tracing::debug!(%peer, %err, "upgrade failed"),
        }
    });
    upgrade::switching_protocols(&accept)
}

/// Issues a session token: an `HttpOnly` cookie for browsers, and the same token in the body
/// for other clients (which send it back in a `Cookie` header).
async fn new_session(State(state): State<AppState>) -> Response<Body> {
    let ttl = state.config.session_ttl_secs;
    let token = state.sessions.issue(auth::now_secs(), ttl);
    let cookie =
        format!("{}={token}; Path=/; Max-Age={ttl}; HttpOnly; SameSite=Strict", auth::COOKIE);
    let body = serde_json::json!({ "token": token, "expires_in": ttl }).to_string();
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        headers.insert(axum::http::header::SET_COOKIE, value);
    }
    response
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let rooms = state.lobby.populations();
    let players: usize = rooms.iter().map(|(_, n)| n).sum();
    let open = state.config.max_connections - state.connections.available_permits();
    axum::Json(serde_json::json!({
        "status": "ok",
        "version": SERVER_VERSION,
        "protocol": PROTOCOL_VERSION,
        "rooms": rooms.len(),
        "players": players,
        "connections": open,
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = state.lobby.stats();
    let rooms: Vec<_> = stats
        .iter()
        .map(|(name, room)| {
            (name.clone(), room.players.load(std::sync::atomic::Ordering::Relaxed), &room.ticks)
        })
        .collect();
    let body = state.metrics.render(&rooms);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

async fn rooms(State(state): State<AppState>) -> impl IntoResponse {
    let rooms: Vec<_> = state
        .lobby
        .rooms()
        .into_iter()
        .map(|(name, players, tick)| {
            serde_json::json!({ "name": name, "players": players, "max_players": state.config.max_players, "tick": tick })
        })
        .collect();
    axum::Json(serde_json::json!({
        "rooms": rooms,
        "tick_hz": state.config.tick_hz,
        "version": SERVER_VERSION,
        "protocol": PROTOCOL_VERSION,
    }))
}

/// The page's icon, built into the binary: browsers ask for `/favicon.ico` on their own, and it
/// is there whether or not the client has been built into the static directory.
const FAVICON: &[u8] = include_bytes!("../../assets/favicon.ico");

async fn favicon() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/x-icon"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

async fn client_missing() -> Response<Body> {
    upgrade::plain(
        StatusCode::NOT_FOUND,
        "Not found. If you expected the game here, the client is not built: run `cargo xtask run`.",
    )
}
