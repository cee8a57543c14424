//! Reporting to Agones (the server's cargo feature `agones`): a game-server process as an
//! Agones `GameServer`.
//!
//! On Kubernetes with Agones, every game-server pod has an SDK sidecar that owns the
//! `GameServer` record; the game talks to it over local gRPC (the `agones` crate). Agones only
//! counts and allocates a game server it was told is `Ready`, replaces one that stops sending
//! health pings, and removes an `Allocated` one only when the game says `Shutdown`. So
//! [`run`]:
//!
//! 1. connects to the sidecar (`localhost`, port `AGONES_SDK_GRPC_PORT`, default 9357): no
//!    answer within [`CONNECT_TIMEOUT`] is an error, which the caller logs while the game goes
//!    on, so the same binary also runs outside Kubernetes;
//! 2. mirrors the load into the `GameServer`'s Counters `players` (count and capacity) and
//!    `rooms` (count), then marks it `Ready`;
//! 3. pings `Health` every [`HEALTH_INTERVAL`], mirrors every new load, calls `Allocate` when
//!    the first player is seated and `Ready` again when the last one leaves (so Agones never
//!    scales down a server in use, and the fleet's buffer is the idle ones), and logs the
//!    `GameServer`'s state changes (`WatchGameServer`);
//! 4. on `draining`, sets the label `skirmish.draining=true` (Agones stores it as
//!    `agones.dev/sdk-skirmish.draining`), so operators and allocation selectors can skip it;
//! 5. on `done` (the process has drained), calls `Shutdown` and returns.
//!
//! Why Counters: they are the SDK's supported way to publish load (Beta, on by default since
//! Agones 1.41, `Sdk::beta`): numbers with a capacity that Agones shows in the `GameServer`
//! status and that allocation filters and fleet autoscaling can use. Player tracking
//! (`Sdk::alpha`) is Alpha, off by default, and wants one call per player id; labels are only
//! strings. Counters must be declared in the fleet's `GameServer` template
//! (`deploy/agones/fleet.yaml`); an undeclared one, or a count past its capacity, is refused,
//! and that is logged without stopping the health pings.
//!
//! Every call to the sidecar is bounded by [`RPC_TIMEOUT`], so a stuck sidecar cannot hold up
//! the health pings for long.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use agones::Sdk;
use agones::beta::Beta;
use anyhow::{Context, anyhow};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

#[cfg(test)]
mod tests;

/// What the server tells Agones about its load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    pub players: u32,
    pub capacity: u32,
    pub rooms: u32,
}

/// How long the sidecar has to answer at start (the SDK itself would wait 30 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Between health pings; the fleet's `health.periodSeconds` must be longer.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// The longest any one call to the sidecar may take.
const RPC_TIMEOUT: Duration = Duration::from_secs(3);
/// The Counter holding the players (count) and the seats (capacity).
const PLAYERS_COUNTER: &str = "players";
/// The Counter holding the open rooms (its capacity is declared in the fleet).
const ROOMS_COUNTER: &str = "rooms";
/// Set to `true` when the process starts draining.
const DRAINING_LABEL: &str = "skirmish.draining";

/// Connects to the local Agones SDK sidecar (the SDK reads `AGONES_SDK_GRPC_PORT`, default 9357),
/// marks the game server Ready, sends Health pings every 2 s until `done`, mirrors each new
/// `load` value as player count/capacity (the Agones Counters `players` and `rooms`: see the
/// module docs for why), logs when the game server becomes Allocated (`WatchGameServer`), and
/// when `draining` fires sets a label `skirmish.draining=true`; when `done` fires (the process
/// has drained), calls Shutdown and returns.
/// Errors have context; an SDK that cannot be reached within a few seconds is an error (the
/// caller logs it and the game goes on).
pub async fn run(
    load: watch::Receiver<Load>,
    draining: CancellationToken,
    done: CancellationToken,
) -> anyhow::Result<()> {
    run_at(None, load, draining, done).await
}

/// [`run`] against the sidecar at `address`, or the SDK's default (`localhost`, port from
/// `AGONES_SDK_GRPC_PORT`) when `None`.
async fn run_at(
    address: Option<SocketAddr>,
    mut load: watch::Receiver<Load>,
    draining: CancellationToken,
    done: CancellationToken,
) -> anyhow::Result<()> {
    let mut sdk = connect(address).await?;
    let mut beta = sdk.beta().clone();
    let mut counters = Counters::default();
    let current = *load.borrow_and_update();
    counters.mirror(&mut beta, current).await;
    call("marking the game server Ready", sdk.ready()).await?;
    tracing::info!("agones: game server Ready");
    let mut updates = match call("watching the game server", sdk.watch_gameserver()).await {
        Ok(stream) => Some(stream),
        Err(err) => {
            tracing::warn!("agones: {err:#}; allocation will not be logged");
            None
        }
    };
    let mut state = String::new();
    let mut health = sdk.health_check();
    let mut ticker = tokio::time::interval(HEALTH_INTERVAL);
    // After a stall, one ping now and the next a full interval later: a burst says nothing more.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut load_open = true;
    let mut draining_marked = false;
    let mut in_use = false;
    if current.players > 0 {
        in_use = hold(&mut sdk, in_use, true).await;
    }
    loop {
        tokio::select! {
            biased;
            () = done.cancelled() => break,
            () = draining.cancelled(), if !draining_marked => {
                draining_marked = true;
                match call("setting the draining label", sdk.set_label(DRAINING_LABEL, "true")).await {
                    Ok(()) => tracing::info!("agones: label {DRAINING_LABEL}=true set"),
                    Err(err) => tracing::warn!("agones: {err:#}"),
                }
            }
            _ = ticker.tick() => health = ping(&sdk, health),
            changed = load.changed(), if load_open => match changed {
                Ok(()) => {
                    let current = *load.borrow_and_update();
                    counters.mirror(&mut beta, current).await;
                    if !draining.is_cancelled() {
                        in_use = hold(&mut sdk, in_use, current.players > 0).await;
                    }
                }
                // The server dropped its sender: keep pinging with the last load.
                Err(_) => load_open = false,
            },
            message = next_update(&mut updates) => match message {
                Ok(Some(game_server)) => observe(&mut state, &game_server),
                Ok(None) => {
                    tracing::warn!("agones: the game server watch ended");
                    updates = None;
                }
                Err(status) => {
                    tracing::warn!("agones: watching the game server: {status}");
                    updates = None;
                }
            },
        }
    }
    call("asking Agones to shut the game server down", sdk.shutdown()).await?;
    tracing::info!("agones: Shutdown sent");
    Ok(())
}

/// The SDK, once the sidecar answered (`Sdk::new` retries until it does).
async fn connect(address: Option<SocketAddr>) -> anyhow::Result<Sdk> {
    let (sdk, target) = match address {
        None => {
            let port = std::env::var("AGONES_SDK_GRPC_PORT").unwrap_or_else(|_| "9357".into());
            (
                tokio::time::timeout(CONNECT_TIMEOUT, Sdk::new(None, None)).await,
                format!("localhost:{port}"),
            )
        }
        Some(address) => {
            let host = Some(format!("http://{}", address.ip()));
            let connecting = Sdk::new_with_host(host, Some(address.port()), None);
            (tokio::time::timeout(CONNECT_TIMEOUT, connecting).await, address.to_string())
        }
    };
    sdk.map_err(|_| {
        anyhow!("no Agones SDK sidecar answered on {target} within {CONNECT_TIMEOUT:?}")
    })?
    .with_context(|| format!("connecting to the Agones SDK sidecar on {target}"))
}

/// One call to the sidecar, bounded by [`RPC_TIMEOUT`], its error saying `what` failed.
async fn call<T>(
    what: &str,
    rpc: impl Future<Output = agones::errors::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(RPC_TIMEOUT, rpc)
        .await
        .map_err(|_| {
            anyhow!("{what}: the Agones SDK sidecar did not answer within {RPC_TIMEOUT:?}")
        })?
        .context(what.to_string())
}

/// Sends one health ping; a health stream that broke (the sidecar restarted) is opened again.
fn ping(sdk: &Sdk, health: tokio::sync::mpsc::Sender<()>) -> tokio::sync::mpsc::Sender<()> {
    match health.try_send(()) {
        Ok(()) => health,
        Err(TrySendError::Full(())) => {
            tracing::warn!("agones: health pings are not getting through to the sidecar");
            health
        }
        Err(TrySendError::Closed(())) => {
            tracing::warn!("agones: the health stream closed; opening it again");
            let health = sdk.health_check();
            let _ = health.try_send(());
            health
        }
    }
}

/// Keeps the `GameServer`'s state in step with its players: `Allocate` when the first player
/// is seated (a server in use must not be scaled down, and the fleet's buffer counts the
/// `Ready` ones), `Ready` again when the last one leaves (back in the pool). Returns whether it
/// is now held as in use; a refused call is logged and tried again at the next change.
async fn hold(sdk: &mut Sdk, in_use: bool, players: bool) -> bool {
    match (in_use, players) {
        (false, true) => match call("allocating the game server", sdk.allocate()).await {
            Ok(()) => {
                tracing::info!("agones: players seated: game server Allocated");
                true
            }
            Err(err) => {
                tracing::warn!("agones: {err:#}");
                false
            }
        },
        (true, false) => match call("returning the game server to Ready", sdk.ready()).await {
            Ok(()) => {
                tracing::info!("agones: no players: game server Ready again");
                false
            }
            Err(err) => {
                tracing::warn!("agones: {err:#}");
                true
            }
        },
        _ => in_use,
    }
}

/// The next `GameServer` update, or never once the watch is gone.
async fn next_update(
    updates: &mut Option<tonic::Streaming<agones::GameServer>>,
) -> Result<Option<agones::GameServer>, tonic::Status> {
    match updates {
        Some(stream) => stream.message().await,
        None => std::future::pending().await,
    }
}

/// Logs the `GameServer`'s state changes; `Allocated` at info level (players are on the way).
fn observe(state: &mut String, game_server: &agones::GameServer) {
    let Some(status) = &game_server.status else { return };
    if status.state == *state {
        return;
    }
    if status.state == "Allocated" {
        tracing::info!(address = %status.address, "agones: game server Allocated");
    } else {
        tracing::debug!(from = %state, to = %status.state, "agones: game server state");
    }
    state.clone_from(&status.state);
}

/// What the Counters were last set to, so only changes are sent.
#[derive(Default)]
struct Counters {
    /// `None` until a mirror succeeded, and after one failed (then everything is sent again).
    sent: Option<Load>,
    /// Whether a failure was logged as a warning already (later ones go to debug).
    warned: bool,
}

impl Counters {
    /// Sets the `players` and `rooms` Counters to `load`; a failure is logged, not returned,
    /// so a fleet without the Counters declared still gets its health pings.
    async fn mirror(&mut self, beta: &mut Beta, load: Load) {
        let previous = self.sent.take();
        match set_counters(beta, previous, load).await {
            Ok(()) => self.sent = Some(load),
            Err(err) if !self.warned => {
                self.warned = true;
                tracing::warn!(
                    "agones: {err:#} (are the Counters `{PLAYERS_COUNTER}` and `{ROOMS_COUNTER}` declared in the fleet?)"
                );
            }
            Err(err) => tracing::debug!("agones: {err:#}"),
        }
    }
}

/// Sends what changed from `previous` (everything when `None`). Agones refuses a count above
/// the capacity, so the capacity is raised before the count and lowered after it.
async fn set_counters(beta: &mut Beta, previous: Option<Load>, load: Load) -> anyhow::Result<()> {
    let capacity_changed = previous.is_none_or(|sent| sent.capacity != load.capacity);
    let players_changed = previous.is_none_or(|sent| sent.players != load.players);
    let capacity_first = previous.is_none_or(|sent| sent.players <= load.capacity);
    if capacity_changed && capacity_first {
        set_capacity(beta, load.capacity).await?;
    }
    if players_changed {
        let what = "setting the players Counter";
        call(what, beta.set_counter_count(PLAYERS_COUNTER, i64::from(load.players))).await?;
    }
    if capacity_changed && !capacity_first {
        set_capacity(beta, load.capacity).await?;
    }
    if previous.is_none_or(|sent| sent.rooms != load.rooms) {
        let what = "setting the rooms Counter";
        call(what, beta.set_counter_count(ROOMS_COUNTER, i64::from(load.rooms))).await?;
    }
    Ok(())
}

async fn set_capacity(beta: &mut Beta, capacity: u32) -> anyhow::Result<()> {
    let what = "setting the players Counter's capacity";
    call(what, beta.set_counter_capacity(PLAYERS_COUNTER, i64::from(capacity))).await
}
