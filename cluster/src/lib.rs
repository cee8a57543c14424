//! Skirmish's cluster directory: the server processes behind one address, their rooms and
//! their free seats, shared through one Redis server (issue 12).
//!
//! Each process calls [`Directory::publish`] about once a second with its [`ProcessInfo`] and
//! every [`RoomEntry`] it runs. Any process can then list them ([`Directory::processes`],
//! [`Directory::rooms`]), reserve a seat in any room ([`Directory::reserve`],
//! [`Directory::quick_play`]) and send the browser to the room's process with a signed
//! [`JoinTicket`]; that process checks the reservation with [`Directory::claim`] when the
//! socket arrives.
//!
//! # Keys
//! Every key starts with the prefix given to [`Directory::connect`] (`skirmish:` say), so
//! several clusters can share one Redis. `<ttl>` is the heartbeat's `ttl`.
//! - `process:<id>`: the process's JSON, expiring `<ttl>` after the heartbeat.
//! - `room:<code>`: the room's JSON, expiring with its process's entry.
//! - `process-rooms:<id>`: a set of the codes the process listed at its last heartbeat, same
//!   expiry: how the next heartbeat knows which rooms closed.
//! - `processes`, `rooms`: sorted sets of ids and codes, scored by expiry (unix ms, the same
//!   instant the entry's key expires at, `PXAT`): the indexes the listings read, so no `KEYS`
//!   or `SCAN`. Each heartbeat prunes entries whose time has passed; readers skip them too,
//!   and skip entries whose key has gone.
//! - `seats:<code>`: the room's reservations, a sorted set of tickets scored by expiry (unix
//!   ms); a claimed ticket becomes `claimed:<ticket>`, scored by the end of its hold
//!   ([`CLAIM_HOLD`]). The key's own TTL outlasts its last member, so an abandoned room's
//!   seats go too.
//! - `holder:<holder>`: `<ticket> <code>` of the holder's live reservation, `PX` its ttl.
//!
//! **Why per-item keys and sorted sets both.** Redis 7.0 has no per-field expiry (`HEXPIRE`
//! is 7.4), so each entry is a key of its own with its own TTL: a process that stops
//! heartbeating (crashed, frozen, cut off) leaves the listings within `ttl` with nobody
//! cleaning up, because its keys expire and readers see nothing. The sorted sets only make
//! listing cheap and bounded; they never decide liveness alone. Nothing depends on keyspace
//! notifications or pub/sub, which lag or lose messages.
//!
//! # Scripts
//! The writes are Lua scripts (`EVALSHA`, loaded again by the client after a Redis restart
//! flushed them). Redis runs a script to its end before any other command, so each is atomic,
//! and each reads the time from Redis (`TIME`), so process clocks never matter:
//! - **publish**: deletes the rooms the process no longer lists (with their seats), writes
//!   the process and every room to expire at `now + ttl`, updates both indexes and prunes
//!   them. One
//!   heartbeat is one round trip (three just after a Redis restart: `EVALSHA` finds no
//!   script, the client loads it and runs it again).
//! - **listing**: reads the live processes and rooms, with each room's count of live
//!   reservations, from one consistent instant.
//! - **reserve**: gives back the holder's previous reservation, drops the room's expired
//!   reservations, refuses when published players + live reservations + claims reach the
//!   capacity, adds the ticket. Two processes racing for the last seat run one after the
//!   other inside Redis, so exactly one wins.
//! - **claim**: turns a live ticket into a claimed seat, once.
//!
//! # Seats, step by step
//! 1. [`reserve`](Directory::reserve) (or [`quick_play`](Directory::quick_play)) holds a seat
//!    for its `ttl` under a 128-bit ticket. One live reservation per holder in the whole
//!    cluster: asking again gives the previous seat back.
//! 2. The room's process calls [`claim`](Directory::claim) when the ticket arrives with the
//!    socket: `true` once, for a live ticket; the seat then stays taken for up to
//!    [`CLAIM_HOLD`], whatever the ticket's ttl.
//! 3. The process releases the claim in the heartbeat that counts the player in the room's
//!    `players` ([`publish_seated`](Directory::publish_seated), one atomic step), or with
//!    [`release`](Directory::release) if the join failed. Released earlier, the seat would
//!    look free until that heartbeat; never released, it frees itself after [`CLAIM_HOLD`].
//!
//! # Failures
//! - **Redis down or unreachable**: every call returns a [`DirectoryError`] within
//!   [`CALL_TIMEOUT`] (connect and response time-outs of 1 s, one reconnect attempt, and a
//!   deadline around the whole call), never blocks, and counts it in
//!   [`ClusterStats::redis_errors`]. A refused connection fails in about 0.1 s; only a host
//!   that drops packets or a Redis that hangs takes the whole limit. `quick_play` makes at
//!   most one listing and 8 reservation calls, each so bounded. The server goes on with its own rooms; the lobby says
//!   the cluster is unavailable.
//! - **Reconnects**: the connection is a `ConnectionManager`, which reconnects by itself after
//!   an error. A call that finds its connection dropped tries once more on the new one, if
//!   that is harmless: all calls but `claim` (a lost `claim` reply could be a seat granted,
//!   so it is only retried when the request was surely never sent).
//! - **Redis restarted empty**: the next heartbeat of every process writes everything again,
//!   so the directory is complete again within one heartbeat period. Reservations made
//!   before the restart are lost: `claim` refuses those tickets and the player asks the
//!   lobby again.
//! - **A process dies**: its entries expire within `ttl`; its rooms' seats expire with them.
//!
//! # Layout
//! - `entry`: [`ProcessInfo`], [`RoomEntry`], and the pure rules for quick play's order and
//!   the least loaded process.
//! - `scripts`: the Lua scripts.
//! - `ticket`: [`JoinTicket`], signed with HMAC-SHA256.
//! - `error`: [`DirectoryError`], [`ReserveError`].
//! - `stats`: [`ClusterStats`] counters.
//! - `hex`: hex text and random tickets.
//! - `testing` (feature `testing`): a private `redis-server` for tests.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod entry;
mod error;
mod hex;
mod scripts;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;
mod ticket;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, RedisResult};

pub use entry::{ProcessInfo, RoomEntry};
pub use error::{DirectoryError, ReserveError};
pub use stats::ClusterStats;
pub use ticket::{JoinTicket, TicketError};

use entry::Occupied;
use scripts::{CLAIM_SCRIPT, LISTING_SCRIPT, PUBLISH_SCRIPT, RESERVE_SCRIPT};
use stats::Counters;

/// The longest any call takes, Redis down or not, before it returns an error.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a claimed seat stays taken if it is never released (the process died between
/// `claim` and `release`, or forgot).
pub const CLAIM_HOLD: Duration = Duration::from_secs(30);
/// The most processes a listing returns.
pub const MAX_PROCESSES: usize = 1_000;
/// The most rooms a listing returns.
pub const MAX_ROOMS: usize = 10_000;
/// How many rooms quick play tries when it keeps losing races, before it says "open a new one".
const QUICK_PLAY_TRIES: usize = 8;
/// Per connection attempt and per response; [`CALL_TIMEOUT`] bounds the whole call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A held seat: the ticket the player's socket must present, and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// 128 random bits, hex.
    pub ticket: String,
    pub expires_in: Duration,
}

/// The cluster directory: a cheap handle (clone it into every task) on one Redis connection
/// that reconnects by itself.
#[derive(Clone)]
pub struct Directory {
    connection: ConnectionManager,
    /// Starts every key, so clusters (or test runs) can share one Redis.
    prefix: Arc<str>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// Whether a call may be sent again after its connection dropped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Running it twice does no harm.
    Idempotent,
    /// Only if the first attempt never reached Redis (the connection was refused).
    IfUnsent,
}

impl Directory {
    /// Connects to `redis_url` (`redis://host:port/db`), waiting at most [`CALL_TIMEOUT`].
    /// Every key starts with `key_prefix`. Call it inside a Tokio runtime.
    pub async fn connect(redis_url: &str, key_prefix: &str) -> anyhow::Result<Directory> {
        use anyhow::Context;
        let client = redis::Client::open(redis_url).context("reading the redis url")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // One quick retry per reconnect; a call that still finds no connection fails, and
            // the next call starts a new reconnect.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let connecting = client.get_connection_manager_with_config(config);
        let connection = tokio::time::timeout(CALL_TIMEOUT, connecting)
            .await
            .map_err(|_| DirectoryError::TimedOut(CALL_TIMEOUT))
            .and_then(|connected| connected.map_err(DirectoryError::from))
            .context("connecting to redis")?;
        tracing::info!(prefix = key_prefix, "cluster: connected to redis");
        Ok(Directory {
            connection,
            prefix: Arc::from(key_prefix),
            counters: Arc::new(Counters::default()),
        })
    }

    /// One heartbeat: writes `process` and all its `rooms` (filed under `process.id`, whatever
    /// their `process` says) to live for `ttl`, and removes the rooms it published before and
    /// not now. One round trip. Call it every `ttl / 5` or so, so a late heartbeat or two
    /// never lets the entries lapse.
    pub async fn publish(
        &self,
        process: &ProcessInfo,
        rooms: &[RoomEntry],
        ttl: Duration,
    ) -> Result<(), DirectoryError> {
        self.publish_seated(process, rooms, ttl, &[]).await
    }

    /// [`publish`](Directory::publish), releasing in the same atomic step the claimed seats
    /// `seated` (`(code, ticket)` pairs) whose players the published `rooms` count: a seat is
    /// held by its claim until the very write that counts its player.
    pub async fn publish_seated(
        &self,
        process: &ProcessInfo,
        rooms: &[RoomEntry],
        ttl: Duration,
        seated: &[(String, String)],
    ) -> Result<(), DirectoryError> {
        let written = async {
            let mut invocation = PUBLISH_SCRIPT.prepare_invoke();
            invocation.arg(&*self.prefix).arg(&process.id).arg(to_json(process)).arg(millis(ttl));
            invocation.arg(seated.len());
            for (code, ticket) in seated {
                invocation.arg(code).arg(ticket);
            }
            for room in rooms {
                let json = if room.process == process.id {
                    to_json(room)
                } else {
                    to_json(&RoomEntry { process: process.id.clone(), ..room.clone() })
                };
                invocation.arg(&room.code).arg(json);
            }
            let invocation = &invocation;
            let _written: i64 = self
                .call(Retry::Idempotent, |mut connection| async move {
                    invocation.invoke_async(&mut connection).await
                })
                .await?;
            Ok::<(), DirectoryError>(())
        };
        let result = written.await;
        let counter = match result {
            Ok(()) => &self.counters.heartbeats_ok,
            Err(_) => &self.counters.heartbeats_failed,
        };
        Counters::bump(counter);
        result
    }

    /// The live processes (at most [`MAX_PROCESSES`]), in no particular order.
    pub async fn processes(&self) -> Result<Vec<ProcessInfo>, DirectoryError> {
        Ok(self.listing(false).await?.0)
    }

    /// The live rooms of all processes (at most [`MAX_ROOMS`]), private ones included, in no
    /// particular order.
    pub async fn rooms(&self) -> Result<Vec<RoomEntry>, DirectoryError> {
        let (_, rooms) = self.listing(true).await?;
        Ok(rooms.into_iter().map(|entry| entry.room).collect())
    }

    /// The live room with `code`.
    pub async fn room(&self, code: &str) -> Result<Option<RoomEntry>, DirectoryError> {
        let key = format!("{}room:{code}", self.prefix);
        let key = &key;
        let text: Option<String> = self
            .call(Retry::Idempotent, |mut connection| async move { connection.get(key).await })
            .await?;
        Ok(text.and_then(|text| from_json(&text)))
    }

    /// Holds a seat in room `code` for `holder` (a player key or an address) for `ttl`,
    /// giving back the holder's previous reservation anywhere in the cluster. Atomic across
    /// processes: published players + live reservations never pass the capacity.
    pub async fn reserve(
        &self,
        code: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Reservation, ReserveError> {
        let ticket = hex::random_ticket();
        let mut invocation = RESERVE_SCRIPT.prepare_invoke();
        invocation
            .arg(&*self.prefix)
            .arg(code)
            .arg(holder)
            .arg(&ticket)
            .arg(millis(ttl))
            .arg(millis(CLAIM_HOLD));
        let invocation = &invocation;
        let outcome: i64 = self
            .call(Retry::Idempotent, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        let refusal = match outcome {
            1 => {
                Counters::bump(&self.counters.reservations_granted);
                return Ok(Reservation { ticket, expires_in: ttl });
            }
            0 => ReserveError::Full,
            _ => ReserveError::NoSuchRoom,
        };
        Counters::bump(&self.counters.reservations_refused);
        Err(refusal)
    }

    /// Checks the ticket a socket presents for room `code`: `true` if it is a live
    /// reservation of that room, and then never again for the same ticket. The seat stays
    /// taken until [`release`](Directory::release), or [`CLAIM_HOLD`] at most.
    pub async fn claim(&self, code: &str, ticket: &str) -> Result<bool, DirectoryError> {
        let mut invocation = CLAIM_SCRIPT.prepare_invoke();
        invocation.arg(&*self.prefix).arg(code).arg(ticket).arg(millis(CLAIM_HOLD));
        let invocation = &invocation;
        let claimed: i64 = self
            .call(Retry::IfUnsent, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        Ok(claimed == 1)
    }

    /// Frees the seat of `ticket` in room `code`, claimed or not. Unknown tickets are ignored.
    pub async fn release(&self, code: &str, ticket: &str) -> Result<(), DirectoryError> {
        let key = format!("{}seats:{code}", self.prefix);
        let members = [ticket.to_string(), scripts::claimed(ticket)];
        let (key, members) = (&key, &members);
        let _removed: i64 =
            self.call(Retry::Idempotent, |mut connection| async move {
                connection.zrem(key, members).await
            })
            .await?;
        Ok(())
    }

    /// A seat for `holder` (held for `ttl`) in the fullest public room with a free seat,
    /// counting reservations, across all processes that accept players (not draining, below
    /// capacity). A room lost to a race is passed over for the next. `Ok(None)`: no room has a
    /// seat, so open a new one, on [`least_loaded`](Directory::least_loaded).
    pub async fn quick_play(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<(RoomEntry, Reservation)>, DirectoryError> {
        let (processes, rooms) = self.listing(true).await?;
        let candidates = entry::quick_play_order(rooms, &processes);
        for room in candidates.into_iter().take(QUICK_PLAY_TRIES) {
            match self.reserve(&room.code, holder, ttl).await {
                Ok(reservation) => return Ok(Some((room, reservation))),
                Err(ReserveError::Full | ReserveError::NoSuchRoom) => continue,
                Err(ReserveError::Directory(error)) => return Err(error),
            }
        }
        Ok(None)
    }

    /// The process a new room should open on: not draining, below capacity, with the fewest
    /// players relative to its capacity. `None` when no process accepts players.
    pub async fn least_loaded(&self) -> Result<Option<ProcessInfo>, DirectoryError> {
        let processes = self.processes().await?;
        Ok(entry::least_loaded(&processes).cloned())
    }

    /// The counters since `connect`, shared by all clones.
    pub fn stats(&self) -> ClusterStats {
        self.counters.snapshot()
    }

    /// The live processes and, if `with_rooms`, the live rooms with their reservations, read
    /// at one instant. Entries that do not parse are skipped (and logged).
    async fn listing(
        &self,
        with_rooms: bool,
    ) -> Result<(Vec<ProcessInfo>, Vec<Occupied>), DirectoryError> {
        let mut invocation = LISTING_SCRIPT.prepare_invoke();
        invocation.arg(&*self.prefix).arg(MAX_PROCESSES).arg(u8::from(with_rooms)).arg(MAX_ROOMS);
        let invocation = &invocation;
        let (processes, rooms, reserved): (Vec<String>, Vec<String>, Vec<u32>) = self
            .call(Retry::Idempotent, |mut connection| async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
        let processes = processes.iter().filter_map(|text| from_json(text)).collect();
        let rooms = rooms
            .iter()
            .zip(reserved)
            .filter_map(|(text, reserved)| Some(Occupied { room: from_json(text)?, reserved }))
            .collect();
        Ok((processes, rooms))
    }

    /// Runs `request` on the connection within [`CALL_TIMEOUT`], once more if the connection
    /// had dropped and `retry` allows, and counts a failure.
    async fn call<T, Request, Reply>(
        &self,
        retry: Retry,
        request: Request,
    ) -> Result<T, DirectoryError>
    where
        Request: Fn(ConnectionManager) -> Reply,
        Reply: Future<Output = RedisResult<T>>,
    {
        let attempts = async {
            Counters::bump(&self.counters.redis_calls);
            match request(self.connection.clone()).await {
                Err(error) if may_retry(retry, &error) => {
                    tracing::debug!(%error, "cluster: redis connection lost; trying again");
                    Counters::bump(&self.counters.redis_calls);
                    request(self.connection.clone()).await
                }
                result => result,
            }
        };
        let result = match tokio::time::timeout(CALL_TIMEOUT, attempts).await {
            Ok(result) => result.map_err(DirectoryError::from),
            Err(_) => Err(DirectoryError::TimedOut(CALL_TIMEOUT)),
        };
        if let Err(error) = &result {
            Counters::bump(&self.counters.redis_errors);
            tracing::debug!(%error, "cluster: redis call failed");
        }
        result
    }
}

fn may_retry(retry: Retry, error: &RedisError) -> bool {
    match retry {
        Retry::Idempotent => error.is_unrecoverable_error() || error.is_io_error(),
        Retry::IfUnsent => error.is_connection_refusal(),
    }
}

/// Milliseconds for `PX`, at least 1 (Redis refuses 0).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain structs always serialize")
}

/// An entry another process wrote; one that does not parse (a newer, incompatible version?)
/// is skipped rather than failing the whole listing.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    match serde_json::from_str(text) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(%error, "cluster: skipping an entry that does not parse");
            None
        }
    }
}
