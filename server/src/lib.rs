//! The Skirmish game server: one binary that serves the built browser client, the game over
//! WebSocket and an operator's health endpoint.
//!
//! # Layout
//! - [`config`]: `ServerConfig`, from flags and environment.
//! - `listener`: the accept loop: hyper HTTP/1.1 with a header time-out, connection cap, shutdown.
//! - `tls`: rustls termination for `https://` and `wss://` when a certificate is configured.
//! - `http`: the axum router: `/` (static client), `/r/CODE`, `/ws`, `/healthz`, `/metrics`.
//! - `api`: the lobby's JSON API: rooms, quick play, create, join by code, leaderboard, profile.
//! - `auth`: signed, expiring session tokens (`POST /api/session`, checked at the handshake).
//! - `admission`: Origin allow-list and per-IP caps, checked before the upgrade.
//! - `upgrade`: the WebSocket handshake on top of hyper, with our `WebSocketConfig`.
//! - `state`: what every handler and session can reach (`AppState`).
//! - `session`: one task per socket: `Hello`, then reads into the player's link and writes
//!   frames out of it.
//! - `flow`: snapshot flow control: whether a member's downstream is congested.
//! - `liveness`: whether a client went silent or stopped reading (judged at each ping).
//! - `pacing`: how many of a player's buffered input commands each tick applies (input credit,
//!   standing-queue trim).
//! - `link`: what a session and its room share: the bounded inbound buffer and the
//!   latest-wins outbound slot.
//! - `room`: one fixed-tick task per room: drain inputs, `sim::step`, publish frames.
//! - `career`: what a room records for the leaderboard (names, kills, matches, streaks).
//! - `recording`: public rooms' replays, written by a background task, pruned by count and size.
//! - `members`: a room's seats, resume tokens and the grace period after a drop.
//! - `rate`: token-bucket rate limits per connection.
//! - `lobby`: rooms, seat reservations, quick play, idle rooms closing.
//! - `maps`: the maps rooms can run (every map beside `--map`).
//! - `node`: this process in a cluster (`--redis-url`): heartbeat, cross-process quick play,
//!   join by code and join tickets.
//! - `drain`: SIGTERM: stop taking players, let rooms play on, flush, close with 1012.
//! - `close`: close codes and reasons, and how socket errors map onto them.
//! - `metrics`: counters and the tick histogram behind `/metrics`.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod config;

mod admission;
mod answers;
mod api;
mod auth;
mod career;
mod close;
mod drain;
mod feed;
mod flow;
mod http;
mod link;
mod listener;
mod liveness;
mod lobby;
mod maps;
mod members;
mod metrics;
mod node;
mod pacing;
mod rate;
mod recording;
mod room;
mod session;
mod spectators;
mod state;
mod tls;
mod upgrade;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::ServerConfig;
pub use upgrade::ws_config;

/// This build's version, in `/healthz`, the cluster's directory and every replay's header.
pub(crate) const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Records (names, kills, matches) waiting for the database; beyond this, new ones are
/// dropped and counted rather than block a room.
const STORE_QUEUE: usize = 65_536;

/// How long shutdown waits for sessions to send their close frames and rooms to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The largest accept backlog asked for (Linux's default `net.core.somaxconn` caps it there too).
pub const MAX_BACKLOG: u32 = 4096;
/// The smallest: the operating system's usual default, for servers with a small connection cap
/// (plain HTTP requests and connections still being refused queue there too).
pub const MIN_BACKLOG: u32 = 128;

/// The accept backlog for a server capped at `max_connections` game sockets: enough for all of
/// them to reconnect at once (a reconnect storm) without their SYNs being dropped and retried a
/// second later, within [`MIN_BACKLOG`]..=[`MAX_BACKLOG`].
pub fn backlog_for(max_connections: usize) -> u32 {
    u32::try_from(max_connections).unwrap_or(u32::MAX).clamp(MIN_BACKLOG, MAX_BACKLOG)
}

/// Binds a listening TCP socket on `addr` with an accept queue of `backlog` connections
/// (`TcpListener::bind` always asks for 128), with `SO_REUSEADDR` so a restarted server can take
/// its port back at once. Call it inside a tokio runtime.
pub fn bind(addr: SocketAddr, backlog: u32) -> anyhow::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .with_context(|| format!("creating a socket for {addr}"))?;
    socket.set_reuseaddr(true).context("setting SO_REUSEADDR")?;
    socket.bind(addr).with_context(|| format!("binding {addr}"))?;
    socket.listen(backlog).with_context(|| format!("listening on {addr} (backlog {backlog})"))
}

/// Serves until `shutdown` resolves, drains (see [`run_with`]), closes every client with 1012
/// and returns.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_with(listener, config, shutdown, std::future::pending()).await
}

/// Serves until `drain_signal` resolves; then stops taking new players (and says so in the cluster's
/// directory), lets rooms play on for `--drain-secs` or until they empty, waits for the
/// records already accepted to be written, and closes every client with 1012 so they rejoin
/// through the lobby. `stop` cuts the drain short (a second Ctrl-C).
pub async fn run_with(
    listener: TcpListener,
    config: ServerConfig,
    drain_signal: impl Future<Output = ()> + Send + 'static,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local_addr = listener.local_addr().context("reading the bound address")?;
    let maps = maps::Maps::load(&config.map)?;
    let tls = tls_acceptor(&config)?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{local_addr}"));
    let public_url = public_url.trim_end_matches('/').to_string();
    let config = Arc::new(config);
    let cancel = CancellationToken::new();
    let draining = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = Arc::new(metrics::Metrics::default());
    let store = open_store(&config).await?;
    let replays = start_replays(&config)?;
    let lobby = Arc::new(
        lobby::Lobby::new(
            config.clone(),
            maps,
            metrics.clone(),
            store.clone(),
            cancel.clone(),
            tracker.clone(),
        )
        .with_replays(replays.clone()),
    );
    lobby::spawn_reaper(lobby.clone(), cancel.clone(), &tracker);
    let sessions = Arc::new(auth::SessionKeys::load_or_create(
        config.session_secret.as_deref(),
        &config.data_dir,
    )?);
    let node = match &config.redis_url {
        Some(url) => {
            let node =
                node::Node::connect(&config, url, public_url.clone(), sessions.join_ticket_key())
                    .await
                    .context("joining the cluster")?;
            let node = Arc::new(node);
            node::spawn_heartbeat(node.clone(), lobby.clone(), cancel.clone(), &tracker);
            Some(node)
        }
        None => None,
    };
    let app = state::AppState::new(
        config.clone(),
        lobby.clone(),
        metrics,
        sessions,
        store.clone(),
        node.clone(),
        (draining.clone(), cancel.clone(), tracker.clone()),
    );
    #[cfg(feature = "agones")]
    let agones = spawn_agones(&config, lobby.clone(), draining.clone());
    tokio::spawn(drain::watch(
        drain::Drain { config: config.clone(), lobby, store: store.clone(), node },
        (draining, cancel.clone()),
        drain_signal,
        stop,
    ));
    let max_open = config.max_connections + 256;
    listener::serve(
        listener,
        http::router(app),
        config.header_timeout(),
        max_open,
        tls,
        cancel.clone(),
        tracker.clone(),
    )
    .await;
    cancel.cancel();
    tracker.close();
    finish(&tracker, replays.as_deref(), &store).await;
    #[cfg(feature = "agones")]
    {
        // Drained and written: tell Agones this game server is done.
        let (done, task) = agones;
        done.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
    }
    Ok(())
}

fn tls_acceptor(config: &ServerConfig) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(tls::acceptor(cert, key)?)),
        (None, None) => Ok(None),
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    }
}

/// Profiles and the leaderboard: SQLite in the data directory, or `--database-url`.
async fn open_store(config: &ServerConfig) -> anyhow::Result<store::Store> {
    let store = store::Store::open(store::StoreConfig {
        data_dir: config.data_dir.clone(),
        database_url: config.database_url.clone(),
        queue_capacity: STORE_QUEUE,
    })
    .await
    .context("opening the profile and leaderboard database")?;
    tracing::info!(backend = store.backend(), "profiles and leaderboard stored");
    Ok(store)
}

/// The replay recorder, unless `--replay-keep 0` turned it off.
fn start_replays(config: &ServerConfig) -> anyhow::Result<Option<Arc<recording::Replays>>> {
    if config.replay_keep == 0 {
        return Ok(None);
    }
    let replays = recording::Replays::start(
        config.replay_dir.clone().unwrap_or_else(|| config.data_dir.join("replays")),
        config.replay_keep,
        config.replay_max_mb.saturating_mul(1 << 20),
        config.replay_max_minutes,
        config.tick_hz,
    )?;
    Ok(Some(replays))
}

/// After the listener stopped: waits for sessions and rooms to end, then writes the replays
/// they finished and the records the store accepted, each within [`SHUTDOWN_GRACE`].
async fn finish(tracker: &TaskTracker, replays: Option<&recording::Replays>, store: &store::Store) {
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
        tracing::warn!("some sessions did not finish closing within {SHUTDOWN_GRACE:?}");
    }
    if let Some(replays) = replays {
        replays.close(SHUTDOWN_GRACE).await;
    }
    let lost = store.close(SHUTDOWN_GRACE).await;
    if lost > 0 {
        tracing::warn!(lost, "records not written before shutdown: the database did not answer");
    }
}

/// Reports to the Agones SDK sidecar (`--features agones`): Ready, health, the load every
/// second, draining, and Shutdown once `done` fires. Without a sidecar it logs why and the game
/// goes on.
#[cfg(feature = "agones")]
fn spawn_agones(
    config: &ServerConfig,
    lobby: Arc<lobby::Lobby>,
    draining: CancellationToken,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let capacity =
        u32::try_from(config.max_rooms.saturating_mul(config.max_players)).unwrap_or(u32::MAX);
    let load = move || {
        let (rooms, players) = lobby.totals();
        agones_report::Load {
            players: u32::try_from(players).unwrap_or(u32::MAX),
            capacity,
            rooms: u32::try_from(rooms).unwrap_or(u32::MAX),
        }
    };
    let (sender, receiver) = tokio::sync::watch::channel(load());
    let done = CancellationToken::new();
    let reporting = agones_report::run(receiver, draining, done.clone());
    let stop = done.clone();
    let task = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        tokio::pin!(reporting);
        loop {
            tokio::select! {
                result = &mut reporting => {
                    if let Err(err) = result {
                        tracing::warn!("agones: {err:#}; the game goes on without it");
                    }
                    return;
                }
                _ = every.tick(), if !stop.is_cancelled() => {
                    sender.send_replace(load());
                }
            }
        }
    });
    (done, task)
}
