//! HTTP routes: `/ws` (the game), `/api/session`, the lobby's API (`api`), `/healthz` (JSON,
//! with the server and protocol versions), `/metrics` (Prometheus), `/favicon.ico`, `/r/CODE`
//! (the page, opening straight into that room), and the built client for everything else.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use shared::protocol::PROTOCOL_VERSION;
use tower_http::services::{ServeDir, ServeFile};

/// Largest request body (the lobby's JSON requests are a few dozen bytes).
const MAX_BODY_BYTES: usize = 2048;

use crate::SERVER_VERSION;
use crate::admission;
use crate::api;
use crate::auth;
use crate::state::AppState;
use crate::{session, upgrade};

pub(crate) fn router(state: AppState) -> Router {
    let client = ServeDir::new(&state.config.static_dir).not_found_service(get(client_missing));
    Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/api/session", post(new_session))
        .route("/metrics", get(metrics))
        .route("/api/rooms", get(api::rooms).post(api::create_room))
        .route("/api/quick-play", post(api::quick_play))
        .route("/api/rooms/{code}/join", post(api::join_room))
        .route("/api/leaderboard", get(api::leaderboard))
        .route("/api/me", get(api::me))
        .route("/api/cluster", get(api::cluster))
        .route("/api/replays", get(api::replays))
        .route("/api/replays/{id}", get(api::replay))
        .route("/r/{code}", get(room_page))
        .route("/replay/{id}", get(room_page))
        .route("/favicon.ico", get(favicon))
        .fallback_service(client)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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
    let peer_origin = state.node.as_ref().is_some_and(|node| node.peer_origin(request.headers()));
    if !peer_origin && !admission::origin_allowed(request.headers(), &state.config.allowed_origins)
    {
        state.metrics.disconnected(crate::metrics::DisconnectReason::Refused);
        tracing::debug!(%peer, origin = ?request.headers().get("origin"), "foreign origin refused");
        return upgrade::plain(StatusCode::FORBIDDEN, "origin not allowed");
    }
    // A join ticket from the cluster's lobby (`/ws?join=…`) names the player, signed by a
    // process of the cluster: the page may come from another host, whose cookie is not ours.
    let join = join_ticket(&request, &state);
    let player = match auth::session_player(request.headers(), &state.sessions) {
        Ok(player) => player.parse::<store::PlayerKey>().ok(),
        Err(_) if join.is_some() => {
            join.as_ref().and_then(|join| join.player.parse::<store::PlayerKey>().ok())
        }
        Err(_) if state.config.open_access => None,
        Err(err) => {
            state.metrics.disconnected(crate::metrics::DisconnectReason::Refused);
            tracing::debug!(%peer, %err, "handshake without a valid session");
            let status = if err == auth::TokenError::Missing {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            return upgrade::plain(status, "a valid session is required: POST /api/session first");
        }
    };
    if state.cancel.is_cancelled() {
        return upgrade::plain(StatusCode::SERVICE_UNAVAILABLE, "server restarting");
    }
    let caller = session::Caller { player, join };
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
            Ok(socket) => session::run(socket, peer, caller, state, (permit, ip_slot)).await,
            Err(err) => tracing::debug!(%peer, %err, "upgrade failed"),
        }
    });
    upgrade::switching_protocols(&accept)
}

/// The request's valid join ticket (`?join=`), if the server is part of a cluster. It stays
/// good for the resume grace period after it expires, so that a resume after a dropped
/// connection, which uses the same address, still authenticates; the seat itself is claimed
/// once, while the reservation lives.
fn join_ticket(request: &Request, state: &AppState) -> Option<cluster::JoinTicket> {
    let node = state.node.as_ref()?;
    let query = request.uri().query()?;
    let text = query.split('&').find_map(|pair| pair.strip_prefix("join="))?;
    node.verify_join(text, u64::from(state.config.resume_grace_secs))
}

/// Issues a session token for the request's player (a new one when its player cookie is
/// missing or not ours): an `HttpOnly` cookie for browsers, and the same token in the body for
/// other clients (which send it back in a `Cookie` header). The body also names the player and
/// the name it last played under.
async fn new_session(State(state): State<AppState>, headers: HeaderMap) -> Response<Body> {
    let ttl = state.config.session_ttl_secs;
    let known = auth::cookie(&headers, auth::PLAYER_COOKIE)
        .and_then(|cookie| state.sessions.verify_player(cookie))
        .and_then(|player| player.parse::<store::PlayerKey>().ok());
    let player = known.unwrap_or_else(store::PlayerKey::random);
    let key = player.to_string();
    let token = state.sessions.issue(auth::now_secs(), ttl, &key);
    let name = match state.store.profile(player).await {
        Ok(profile) => profile.map(|p| p.name).filter(|name| !name.is_empty()),
        Err(err) => {
            tracing::warn!("reading a profile: {err:#}");
            None
        }
    };
    let body =
        serde_json::json!({ "token": token, "expires_in": ttl, "player": key, "name": name });
    let mut response = Response::new(Body::from(body.to_string()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let cookies = [
        format!("{}={token}; Path=/; Max-Age={ttl}; HttpOnly; SameSite=Strict", auth::COOKIE),
        format!(
            "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax",
            auth::PLAYER_COOKIE,
            state.sessions.sign_player(&key),
            auth::PLAYER_COOKIE_SECS
        ),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let (rooms, players) = state.lobby.totals();
    let open = state.config.max_connections - state.connections.available_permits();
    axum::Json(serde_json::json!({
        "status": "ok",
        "version": SERVER_VERSION,
        "protocol": PROTOCOL_VERSION,
        "rooms": rooms,
        "players": players,
        "connections": open,
        "process": state.node.as_ref().map(|node| node.id()),
        "draining": state.draining.is_cancelled(),
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
    let mut body = state.metrics.render(&rooms, &state.store.stats());
    crate::node::render_metrics(&mut body, state.node.as_deref(), state.draining.is_cancelled());
    if let Some(replays) = state.lobby.replays() {
        replays.render_metrics(&mut body);
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

/// A room's link: the page itself, which reads the code from its address and asks the lobby
/// for a seat (the code is checked there, so every code gets the same page).
/// The page itself, for the links it makes: a room (`/r/CODE`, `?spectate` to watch it) and a
/// replay (`/replay/ID?t=SECONDS`); the page reads its address to know what to show.
async fn room_page(State(state): State<AppState>, request: Request) -> Response<Body> {
    let page = state.config.static_dir.join("index.html");
    match tower::ServiceExt::oneshot(ServeFile::new(page), request).await {
        Ok(response) if response.status().is_success() => response.map(Body::new),
        _ => client_missing().await,
    }
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
