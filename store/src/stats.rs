//! Counters the game and `/metrics` read: relaxed atomics bumped where the work happens.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of the store's counters since `open`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Records taken into the queue by [`Store::record`](crate::Store::record).
    pub accepted: u64,
    /// Records committed to the database.
    pub written: u64,
    /// Records dropped because the queue was full (the database was slow or down).
    pub overflow: u64,
    /// Failed write attempts (transactions), not records: one outage retried ten times is 10.
    pub write_errors: u64,
    /// Accepted and not yet written.
    pub pending: u64,
    /// Records refused because the store was closing (after [`Store::close`](crate::Store::close)
    /// began).
    pub rejected: u64,
    /// Accepted records given up at close because the database stayed unreachable past the
    /// deadline.
    pub lost: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) overflow: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) lost: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> StoreStats {
        // `written` first: it never passes `accepted`, so reading it first keeps `pending` >= 0
        // however the two race.
        let written = self.written.load(Ordering::Relaxed);
        let accepted = self.accepted.load(Ordering::Relaxed);
        StoreStats {
            accepted,
            written,
            overflow: self.overflow.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            pending: accepted.saturating_sub(written),
            rejected: self.rejected.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }
}
