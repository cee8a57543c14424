//! The Skirmish game server: one binary that serves the built browser client, the game over
//! WebSocket and an operator's health endpoint.
//!
//! # Layout
//! - [`config`]: `ServerConfig`, from flags and environment.
//! - `http`: the axum router: `/` (static client), `/ws`, `/healthz`, `/metrics`, `/api/rooms`.
//! - `admission`: Origin allow-list and per-IP caps, checked before the upgrade.
//! - `upgrade`: the WebSocket handshake on top of hyper, with our `WebSocketConfig`.
//! - `session`: one task per socket: `Hello`, then reads into the player's link and writes
//!   frames out of it.
//! - `link`: what a session and its room share: the bounded inbound buffer and the
//!   latest-wins outbound slot.
//! - `room`: one fixed-tick task per room: drain inputs, `sim::step`, publish frames.
//! - `members`: a room's seats, resume tokens and the grace period after a drop.
//! - `rate`: token-bucket rate limits per connection.
//! - `lobby`: rooms by name.
//! - `close`: close codes and reasons, and how socket errors map onto them.
//! - `metrics`: counters and the tick histogram behind `/metrics`.

pub mod config;

mod admission;
mod close;
mod http;
mod link;
mod lobby;
mod members;
mod metrics;
mod rate;
mod room;
mod session;
mod upgrade;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::ServerConfig;

/// How long shutdown waits for sessions to send their close frames and rooms to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves until `shutdown` resolves, then closes every client with 1012 and returns.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let map_text = std::fs::read_to_string(&config.map)
        .with_context(|| format!("reading map file {}", config.map.display()))?;
    let map = shared::map::Map::from_json(&map_text)
        .with_context(|| format!("loading map file {}", config.map.display()))?;
    let config = Arc::new(config);
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = Arc::new(metrics::Metrics::default());
    let lobby = Arc::new(lobby::Lobby::new(
        config.clone(),
        map,
        metrics.clone(),
        cancel.clone(),
        tracker.clone(),
    ));
    let app = http::AppState::new(config.clone(), lobby, metrics, cancel.clone(), tracker.clone());

    let stop = cancel.clone();
    let serving = axum::serve(
        listener,
        http::router(app).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            () = shutdown => {}
            () = stop.cancelled() => {}
        }
        tracing::info!("shutting down: closing every connection with 1012");
        stop.cancel();
    });
    let result = serving.await.context("serving HTTP");
    cancel.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
        tracing::warn!("some sessions did not finish closing within {SHUTDOWN_GRACE:?}");
    }
    result
}
