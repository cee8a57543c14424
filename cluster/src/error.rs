//! What the directory's calls can fail with.

use std::time::Duration;

/// Redis could not answer: down, unreachable, too slow, or it answered something this crate
/// cannot read. Every call returns one of these within its time limit, never hangs.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    TimedOut(Duration),
}

/// Why a seat was not reserved.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// No live room has that code: it never existed, it closed, or its process stopped
    /// heartbeating.
    #[error("no such room")]
    NoSuchRoom,
    /// Seated players plus live reservations fill the room.
    #[error("room is full")]
    Full,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}
