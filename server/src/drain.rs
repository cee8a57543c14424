//! Draining a process (SIGTERM, or the first Ctrl-C): the order of a graceful stop.
//!
//! 1. At once: no new players (`Hello`s without a resume token are closed with 1012, the
//!    lobby opens no room here) and, in a cluster, the directory says this process is
//!    draining, so no other process sends players here.
//! 2. Rooms play on until they are empty or `--drain-secs` have passed (a second signal
//!    cuts this short).
//! 3. Records already accepted (kills) are written, so the leaderboard the players see from
//!    their next process is complete.
//! 4. Every client is closed with 1012 ("rejoin through the lobby"); `run` then waits for the
//!    sessions and rooms to finish and writes the matches their leaving recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::ServerConfig;
use crate::lobby::Lobby;
use crate::node::Node;

/// How often the drain looks whether the rooms have emptied.
const POLL: Duration = Duration::from_millis(250);
/// The longest the drain waits for accepted records to be written before closing clients.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// What a drain reads and tells.
pub(crate) struct Drain {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) lobby: Arc<Lobby>,
    pub(crate) store: store::Store,
    pub(crate) node: Option<Arc<Node>>,
}

/// Waits for `signal`, drains, then fires `cancel`; returns early if `cancel` fires first.
pub(crate) async fn watch(
    drain: Drain,
    (draining, cancel): (CancellationToken, CancellationToken),
    signal: impl Future<Output = ()>,
    stop: impl Future<Output = ()>,
) {
    tokio::select! {
        () = signal => {}
        () = cancel.cancelled() => return,
    }
    let players = drain.lobby.totals().1;
    tracing::info!(
        players,
        drain_secs = drain.config.drain_secs,
        "draining: no new players; rooms play on until empty or the drain time is over"
    );
    draining.cancel();
    if let Some(node) = &drain.node {
        node.start_draining();
    }
    let deadline = Instant::now() + drain.config.drain_time();
    tokio::pin!(stop);
    while drain.lobby.totals().1 > 0 && Instant::now() < deadline {
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = &mut stop => {
                tracing::info!("second signal: ending the drain now");
                break;
            }
        }
    }
    let flushed = Instant::now() + FLUSH_WAIT;
    while drain.store.stats().pending > 0 && Instant::now() < flushed {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!("shutting down: closing every connection with 1012");
    cancel.cancel();
}
