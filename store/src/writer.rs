//! The writer task: the only code that writes. It takes queued records in batches and commits
//! each batch in one transaction, retrying with backoff while the database is away.
//!
//! A batch, once taken, is kept until it commits (or the close deadline passes): a retry
//! writes the same records under the same batch id, so a commit whose acknowledgement was lost
//! is recognised (`write_batches`) instead of counted twice.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::batch::Batch;
use crate::db::{Db, Written};
use crate::key::PlayerKey;
use crate::record::Record;
use crate::stats::Counters;

/// Most records per transaction: large enough that a busy server needs few transactions,
/// small enough that one stays well under a second.
pub(crate) const BATCH_MAX: usize = 256;
/// A batch waits this long after its first record for more to join it (unless it fills or
/// a close is asked for): a busy room's kills commit a few times a second in one transaction
/// each, folded per player, instead of one transaction per kill (at 800 players, 130 kills a
/// second made the database 8.6 % of the server's CPU). Records reach the leaderboard that much
/// later.
const GATHER: Duration = Duration::from_millis(250);
/// The first retry waits this long; each failure doubles it, up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// One write attempt may take this long before it counts as failed (a hung server, a network
/// that drops packets without resetting).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// When every `Store` handle is dropped without `close`, the writer still tries this long.
const DROP_GRACE: Duration = Duration::from_secs(10);
/// Old `write_batches` rows are pruned once every this many batches.
const PRUNE_EVERY: u64 = 256;

pub(crate) struct Writer {
    pub(crate) db: Arc<Db>,
    pub(crate) queue: mpsc::Receiver<Record>,
    pub(crate) counters: Arc<Counters>,
    /// Fires with the close deadline; closed without a value when every `Store` is dropped.
    pub(crate) shutdown: oneshot::Receiver<Instant>,
}

/// A run of failed attempts, for one warning when it starts and one line when it ends.
struct Outage {
    since: Instant,
    attempts: u64,
}

impl Writer {
    /// Runs until the queue is closed and drained, or the close deadline passes; returns how
    /// many accepted records were not written.
    pub(crate) async fn run(mut self) -> u64 {
        // Unique per writer, so writers of several servers sharing one database never collide.
        let id_prefix = PlayerKey::random().to_hex();
        let mut sequence: u64 = 0;
        let mut records: Vec<Record> = Vec::with_capacity(BATCH_MAX);
        let mut batch = Batch::default();
        let mut deadline: Option<Instant> = None;
        let mut outage: Option<Outage> = None;
        let mut backoff = BACKOFF_MIN;
        loop {
            if records.is_empty() {
                let received = match deadline {
                    None => tokio::select! {
                        biased;
                        signal = &mut self.shutdown => {
                            deadline = Some(self.begin_shutdown(signal.ok()));
                            continue;
                        }
                        received = self.queue.recv_many(&mut records, BATCH_MAX) => received,
                    },
                    // Closed: `recv_many` returns what is left, then 0.
                    Some(_) => self.queue.recv_many(&mut records, BATCH_MAX).await,
                };
                if received == 0 {
                    break;
                }
                if deadline.is_none() {
                    self.gather(&mut records, &mut deadline).await;
                }
                sequence += 1;
                batch = Batch::fold(&records);
            }
            if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                break;
            }
            let batch_id = format!("{id_prefix}-{sequence}");
            let prune = sequence.is_multiple_of(PRUNE_EVERY);
            let error = match self.attempt(&batch, &batch_id, prune, &mut deadline).await {
                Ok(written) => {
                    if written == Written::AlreadyApplied {
                        tracing::info!(batch_id, "store: batch had committed before its error");
                    }
                    Counters::add(&self.counters.written, records.len() as u64);
                    records.clear();
                    backoff = BACKOFF_MIN;
                    self.outage_ended(outage.take());
                    continue;
                }
                Err(error) => error,
            };
            self.attempt_failed(&error, &mut outage);
            self.wait_to_retry(&mut deadline, backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        self.give_up(records.len())
    }

    /// Waits up to [`GATHER`] for more records to join `records`, until the batch is full (at
    /// most a queue's worth: what the writer holds stays within twice the queue) or a close is
    /// asked for (which sets `deadline`).
    async fn gather(&mut self, records: &mut Vec<Record>, deadline: &mut Option<Instant>) {
        let until = Instant::now() + GATHER;
        let most = BATCH_MAX.min(self.queue.max_capacity());
        while records.len() < most {
            let room = most - records.len();
            tokio::select! {
                biased;
                signal = &mut self.shutdown => {
                    *deadline = Some(self.begin_shutdown(signal.ok()));
                    return;
                }
                () = tokio::time::sleep_until(until) => return,
                received = self.queue.recv_many(records, room) => {
                    if received == 0 {
                        return;
                    }
                }
            }
        }
    }

    fn outage_ended(&self, outage: Option<Outage>) {
        if let Some(ended) = outage {
            tracing::info!(
                down_for = ?ended.since.elapsed(),
                failed_attempts = ended.attempts,
                pending = self.counters.snapshot().pending,
                "store: writes work again"
            );
        }
    }

    /// Counts a failed attempt: a warning when an outage starts, quieter lines while it lasts.
    fn attempt_failed(&self, error: &str, outage: &mut Option<Outage>) {
        Counters::add(&self.counters.write_errors, 1);
        match outage {
            None => {
                tracing::warn!(
                    %error,
                    pending = self.counters.snapshot().pending,
                    "store: writes failing; keeping the records and retrying"
                );
                *outage = Some(Outage { since: Instant::now(), attempts: 1 });
            }
            Some(outage) => {
                outage.attempts += 1;
                tracing::debug!(%error, attempts = outage.attempts, "store: write retry failed");
            }
        }
    }

    /// Sleeps `backoff` before the next attempt, or until the close deadline; a close asked
    /// for meanwhile sets the deadline.
    async fn wait_to_retry(&mut self, deadline: &mut Option<Instant>, backoff: Duration) {
        match *deadline {
            Some(deadline) => {
                tokio::time::sleep_until(deadline.min(Instant::now() + backoff)).await;
            }
            None => tokio::select! {
                biased;
                signal = &mut self.shutdown => {
                    *deadline = Some(self.begin_shutdown(signal.ok()));
                }
                () = tokio::time::sleep(backoff) => {}
            },
        }
    }

    /// One transaction for `batch`, given up after [`ATTEMPT_TIMEOUT`] or at the close deadline,
    /// including a deadline that `close` sets while the attempt runs.
    async fn attempt(
        &mut self,
        batch: &Batch,
        batch_id: &str,
        prune: bool,
        deadline: &mut Option<Instant>,
    ) -> Result<Written, String> {
        let db = self.db.clone();
        let write = db.write(batch, batch_id, unix_now(), prune);
        tokio::pin!(write);
        let started = Instant::now();
        let mut give_up_at = started + ATTEMPT_TIMEOUT;
        if let Some(deadline) = *deadline {
            give_up_at = give_up_at.min(deadline);
        }
        loop {
            tokio::select! {
                biased;
                written = &mut write => return written.map_err(|error| error.to_string()),
                signal = &mut self.shutdown, if deadline.is_none() => {
                    let close_deadline = self.begin_shutdown(signal.ok());
                    *deadline = Some(close_deadline);
                    give_up_at = give_up_at.min(close_deadline);
                }
                () = tokio::time::sleep_until(give_up_at) => {
                    return Err(format!("write attempt given up after {:?}", started.elapsed()));
                }
            }
        }
    }

    /// Stops the queue taking records and returns the deadline for writing what it holds.
    fn begin_shutdown(&mut self, deadline: Option<Instant>) -> Instant {
        self.queue.close();
        tracing::debug!(pending = self.counters.snapshot().pending, "store: closing");
        deadline.unwrap_or_else(|| Instant::now() + DROP_GRACE)
    }

    /// Counts the records still held (the current batch and the closed queue's rest) as lost.
    fn give_up(mut self, in_batch: usize) -> u64 {
        self.queue.close();
        let mut lost = in_batch as u64;
        while self.queue.try_recv().is_ok() {
            lost += 1;
        }
        if lost > 0 {
            tracing::error!(lost, "store: the database stayed unreachable; records lost");
        }
        Counters::add(&self.counters.lost, lost);
        lost
    }
}

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}
