//! What every request handler and game session can reach: configuration, the lobby, metrics,
//! the connection caps, the session keys, and the shutdown signal. Its own module so that
//! `http` (which starts sessions) and `session` (which uses it) do not import each other.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::PerIp;
use crate::auth::SessionKeys;
use crate::config::ServerConfig;
use crate::lobby::Lobby;
use crate::metrics::Metrics;
use crate::node::Node;

/// What every request handler and session can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) lobby: Arc<Lobby>,
    pub(crate) metrics: Arc<Metrics>,
    /// One permit per open game socket.
    pub(crate) connections: Arc<Semaphore>,
    pub(crate) per_ip: PerIp,
    pub(crate) sessions: Arc<SessionKeys>,
    /// Profiles and the leaderboard.
    pub(crate) store: store::Store,
    /// This process in its cluster (`--redis-url`), if any.
    pub(crate) node: Option<Arc<Node>>,
    /// Fired when draining begins (SIGTERM): no new players, rooms play on.
    pub(crate) draining: CancellationToken,
    /// Fired on shutdown: sessions close with 1012.
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

impl AppState {
    pub(crate) fn new(
        config: Arc<ServerConfig>,
        lobby: Arc<Lobby>,
        metrics: Arc<Metrics>,
        sessions: Arc<SessionKeys>,
        store: store::Store,
        node: Option<Arc<Node>>,
        (draining, cancel, tracker): (CancellationToken, CancellationToken, TaskTracker),
    ) -> AppState {
        let connections = Arc::new(Semaphore::new(config.max_connections));
        AppState {
            config,
            lobby,
            metrics,
            connections,
            per_ip: PerIp::default(),
            sessions,
            store,
            node,
            draining,
            cancel,
            tracker,
        }
    }
}
