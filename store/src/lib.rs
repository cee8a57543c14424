//! Skirmish's persistence: player profiles, career stats and the leaderboard, in SQLite (the
//! default, a file in the data directory, nothing to set up) or PostgreSQL (`postgres://…`).
//!
//! The game calls [`Store::record`] from its tick loop; that call never blocks and never
//! awaits. A single writer task commits the records; the lobby reads with
//! [`Store::leaderboard`] and [`Store::profile`].
//!
//! # Tables
//! Both dialects have the same tables, each created by that dialect's versioned migrations
//! (`migrations/sqlite`, `migrations/postgres`, applied by [`Store::open`]):
//! - `players (key, name, created_at, last_seen)`: one row per [`PlayerKey`] (32 hex chars),
//!   created by the first record that names the player. A player first named by a kill or a
//!   match gets an empty name until a [`Record::Seen`] gives one.
//! - `identities (provider, subject, player_key, created_at)`, unique on `(provider, subject)`:
//!   empty for now. A later OAuth or password login adds rows here that lead to an existing
//!   player, so none of the other tables change.
//! - `career (player_key, kills, deaths, matches, best_streak, seconds_played)`: running
//!   totals; `best_streak` is the maximum over matches, the rest are sums.
//! - `kills (id, at, killer, victim)`, indexed on `at`: the log behind
//!   [`Period::LastDays`] boards.
//! - `write_batches (id, written_at)`: ids of committed writer batches (see below), pruned
//!   after a day.
//!
//! # The writer
//! [`Store::record`] `try_send`s into a bounded queue of `queue_capacity` records; when it is
//! full the record is dropped and counted in [`StoreStats::overflow`]. The writer takes up to
//! 256 queued records, folds them per player and commits them in one transaction. If that
//! fails (database down, locked, slow past 10 s) it keeps the same batch and retries after
//! 200 ms, doubling up to 5 s; meanwhile the queue fills and the game goes on. It logs one
//! warning when writes start failing and one line when they work again. The writer has a
//! connection of its own in both dialects; reads use a separate pool of up to 4, so lobby
//! traffic never delays a write.
//!
//! # Guarantees
//! - A record that `record` accepted (returned `true`) is written exactly once, however long the
//!   database is away, as long as the process lives and closes the store: [`Store::close`]
//!   writes everything accepted, retrying up to its deadline, and returns how many records it
//!   had to give up (0 unless the database stayed away past the deadline).
//! - Exactly once even when a commit succeeds but its acknowledgement is lost (the server dies
//!   during `COMMIT`): each batch carries an id stored in the same transaction, and a retry
//!   that finds its id does nothing.
//! - A batch commits entirely or not at all, so totals and the kill log always agree.
//! - Reads see committed batches only: a record shows up in the leaderboard within
//!   milliseconds normally, later during an outage.
//! - Not guaranteed: records still queued when the process is killed, and records refused
//!   because the queue was full (counted, never silent). SQLite runs with
//!   `synchronous=NORMAL`, so a power loss (not a process crash) may lose the last commits.
//!
//! # Layout
//! - `key`: [`PlayerKey`], its hex form and parsing.
//! - `record`: [`Record`], what the game reports.
//! - `config`: [`StoreConfig`], and which database a url names.
//! - `db`: the pools of both dialects and the statements, written once for both.
//! - `batch`: a batch of records folded per player.
//! - `writer`: the writer task: batches, transactions, retries, close.
//! - `board`: [`Period`], [`LeaderEntry`], [`Profile`] and the ranking rule.
//! - `stats`: [`StoreStats`] counters.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod batch;
mod board;
mod config;
mod db;
mod key;
mod record;
mod stats;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use board::{LeaderEntry, Period, Profile};
pub use config::{DEFAULT_QUEUE_CAPACITY, SQLITE_FILE, StoreConfig};
pub use key::{ParseKeyError, PlayerKey};
pub use record::Record;
pub use stats::StoreStats;

use config::Target;
use db::Db;
use stats::Counters;
use writer::Writer;

/// How long `close` waits for the pool's connections after the writer is done.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The store: a cheap handle, cloned into every task that records or reads.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Db>,
    /// The writer's queue; `record` only ever `try_send`s into it.
    queue: mpsc::Sender<Record>,
    counters: Arc<Counters>,
    /// Set by `close`, so records arriving during the final flush are refused at once.
    closing: AtomicBool,
    /// The writer's close signal and handle, taken by the first `close`; later calls wait for
    /// it to finish on this lock.
    writer: Mutex<Option<(oneshot::Sender<Instant>, JoinHandle<u64>)>>,
}

impl Store {
    /// Connects, runs the versioned migrations of that dialect, starts the writer task
    /// (`tokio::spawn`, so call it inside a Tokio runtime).
    pub async fn open(config: StoreConfig) -> anyhow::Result<Store> {
        anyhow::ensure!(config.queue_capacity > 0, "the store's queue_capacity must be at least 1");
        let target = Target::from_config(&config)?;
        let description = target.describe();
        let db = Db::open(target).await.with_context(|| format!("opening {description}"))?;
        let db = Arc::new(db);
        let counters = Arc::new(Counters::default());
        let (queue, receiver) = mpsc::channel(config.queue_capacity);
        let (signal, shutdown) = oneshot::channel();
        let writer =
            Writer { db: db.clone(), queue: receiver, counters: counters.clone(), shutdown };
        let handle = tokio::spawn(writer.run());
        tracing::info!(database = %description, "store: open");
        let inner = Inner {
            db,
            queue,
            counters,
            closing: AtomicBool::new(false),
            writer: Mutex::new(Some((signal, handle))),
        };
        Ok(Store { inner: Arc::new(inner) })
    }

    /// Queues `record` for the writer. Never blocks and never awaits: `false` (and
    /// [`StoreStats::overflow`] + 1) when the queue is full, `false` ([`StoreStats::rejected`]
    /// + 1) once [`close`](Store::close) has begun.
    pub fn record(&self, record: Record) -> bool {
        let counters = &self.inner.counters;
        if self.inner.closing.load(Ordering::Relaxed) {
            Counters::add(&counters.rejected, 1);
            return false;
        }
        // Counted before the send, so the writer can never report a record written before it
        // was counted accepted (`pending` would wrap); taken back if the send fails.
        Counters::add(&counters.accepted, 1);
        match self.inner.queue.try_send(record) {
            Ok(()) => true,
            Err(failure) => {
                counters.accepted.fetch_sub(1, Ordering::Relaxed);
                let counter = match failure {
                    TrySendError::Full(_) => &counters.overflow,
                    TrySendError::Closed(_) => &counters.rejected,
                };
                Counters::add(counter, 1);
                false
            }
        }
    }

    /// Plain counters since `open`.
    pub fn stats(&self) -> StoreStats {
        self.inner.counters.snapshot()
    }

    /// The best `limit` players of `period` (`now` in unix seconds): kills descending, then
    /// deaths ascending, then name, then key; players with no kill in the period are left out.
    /// [`Period::AllTime`] ranks career totals; [`Period::LastDays`]`(n)` counts logged kills
    /// with `at > now - n * 86400`, and deaths the same way.
    pub async fn leaderboard(
        &self,
        period: Period,
        now: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<LeaderEntry>> {
        let rows = self
            .inner
            .db
            .leaderboard(period.since(now), limit)
            .await
            .with_context(|| format!("reading the {period:?} leaderboard"))?;
        Ok(board::rank(rows))
    }

    /// A player's name and career, or `None` for a key no record has named.
    pub async fn profile(&self, player: PlayerKey) -> anyhow::Result<Option<Profile>> {
        let row = self
            .inner
            .db
            .profile(player.to_hex())
            .await
            .with_context(|| format!("reading the profile of {player}"))?;
        Ok(row.map(Profile::from))
    }

    /// Graceful shutdown: stop accepting, write everything already accepted (retrying while the
    /// database is unreachable, up to `deadline`), then close the pool (waiting at most 2 s
    /// more for it). Returns how many records were lost (0 normally). Calling it again (or from
    /// another clone) waits for the first call and returns the same count.
    pub async fn close(&self, deadline: Duration) -> u64 {
        self.inner.closing.store(true, Ordering::Relaxed);
        let mut writer = self.inner.writer.lock().await;
        if let Some((signal, handle)) = writer.take() {
            // An error means the writer already ended, which `handle` reports.
            let _ = signal.send(Instant::now() + deadline);
            if let Err(error) = handle.await {
                tracing::error!(%error, "store: the writer task failed");
                let pending = self.inner.counters.snapshot().pending;
                Counters::add(&self.inner.counters.lost, pending);
            }
            // A connection still inside a write the deadline cut short (SQLite waiting out its
            // busy time-out) would hold the pool open: don't wait for it for long.
            if tokio::time::timeout(POOL_CLOSE_TIMEOUT, self.inner.db.close()).await.is_err() {
                tracing::warn!("store: a connection was still busy; closing without it");
            }
            tracing::info!(stats = ?self.stats(), "store: closed");
        }
        self.inner.counters.lost.load(Ordering::Relaxed)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.inner.db.backend()
    }
}
