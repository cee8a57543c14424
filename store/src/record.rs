//! `Record`: what the game tells the store, one fact at a time.

use crate::PlayerKey;

/// One fact for the store to persist. Times are unix seconds from the game's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// The player chose/used this name (upsert profile: name, last_seen = at; created_at on
    /// first sight).
    Seen { player: PlayerKey, name: String, at: i64 },
    /// One kill (unix seconds). Both players' career totals change, and it counts for the
    /// 7-day board.
    Kill { killer: PlayerKey, victim: PlayerKey, at: i64 },
    /// A player's seat in a room ended: one match played, its length and its best kill streak.
    MatchEnded { player: PlayerKey, seconds: u32, best_streak: u32, at: i64 },
}
