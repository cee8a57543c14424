//! Counters for `/metrics`: relaxed atomics bumped where the work happens.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of one [`Directory`](crate::Directory)'s counters (shared by its clones) since
/// `connect`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClusterStats {
    /// [`publish`](crate::Directory::publish) calls that wrote the heartbeat.
    pub heartbeats_ok: u64,
    /// `publish` calls that failed (Redis down, slow or refusing).
    pub heartbeats_failed: u64,
    /// Seats reserved, by [`reserve`](crate::Directory::reserve) or quick play.
    pub reservations_granted: u64,
    /// Reservations refused because the room was full or gone (a quick play that lost a race
    /// and tried the next room counts each refusal).
    pub reservations_refused: u64,
    /// Redis calls that failed or timed out, whatever the method.
    pub redis_errors: u64,
    /// Round trips to Redis (a script is one, whatever it runs inside).
    pub redis_calls: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) heartbeats_ok: AtomicU64,
    pub(crate) heartbeats_failed: AtomicU64,
    pub(crate) reservations_granted: AtomicU64,
    pub(crate) reservations_refused: AtomicU64,
    pub(crate) redis_errors: AtomicU64,
    pub(crate) redis_calls: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ClusterStats {
        ClusterStats {
            heartbeats_ok: self.heartbeats_ok.load(Ordering::Relaxed),
            heartbeats_failed: self.heartbeats_failed.load(Ordering::Relaxed),
            reservations_granted: self.reservations_granted.load(Ordering::Relaxed),
            reservations_refused: self.reservations_refused.load(Ordering::Relaxed),
            redis_errors: self.redis_errors.load(Ordering::Relaxed),
            redis_calls: self.redis_calls.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
