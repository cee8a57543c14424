//! A batch of records folded into one change per player, the shape the writer's single
//! transaction applies.
//!
//! Folding first keeps a batch's statement count at about one per player plus one per kill
//! however many `MatchEnded` or `Seen` records it holds, and the `BTreeMap` makes every
//! transaction touch rows in the same (key) order, so concurrent writers cannot deadlock.

use std::collections::BTreeMap;

use crate::{PlayerKey, Record};

/// The records of one transaction, folded per player.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    /// Every player a record names, even only as a victim: each gets a `players` row.
    pub(crate) players: BTreeMap<PlayerKey, PlayerChange>,
    /// The kill log, in the order the game reported it.
    pub(crate) kills: Vec<KillRow>,
}

/// What one batch changes for one player.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PlayerChange {
    /// The name of the player's last `Seen` in the batch; `None` keeps the stored name (or
    /// stores an empty one for a player never seen before).
    pub(crate) name: Option<String>,
    /// The earliest time in the batch: `created_at` if the player is new.
    pub(crate) first_at: i64,
    /// The latest time in the batch: `last_seen` moves up to it, never down.
    pub(crate) last_at: i64,
    pub(crate) kills: i64,
    pub(crate) deaths: i64,
    pub(crate) matches: i64,
    pub(crate) seconds_played: i64,
    /// The best streak among the batch's matches; the stored value keeps the maximum.
    pub(crate) best_streak: i64,
}

/// One row of the `kills` log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct KillRow {
    pub(crate) at: i64,
    pub(crate) killer: PlayerKey,
    pub(crate) victim: PlayerKey,
}

impl PlayerChange {
    fn new(at: i64) -> PlayerChange {
        PlayerChange {
            name: None,
            first_at: at,
            last_at: at,
            kills: 0,
            deaths: 0,
            matches: 0,
            seconds_played: 0,
            best_streak: 0,
        }
    }

    /// Whether the batch changes the player's career totals (a `Seen` alone does not).
    pub(crate) fn changes_career(&self) -> bool {
        self.kills != 0 || self.deaths != 0 || self.matches != 0 || self.seconds_played != 0
    }
}

impl Batch {
    pub(crate) fn fold(records: &[Record]) -> Batch {
        let mut batch = Batch::default();
        for record in records {
            match record {
                Record::Seen { player, name, at } => {
                    batch.player(*player, *at).name = Some(name.clone());
                }
                Record::Kill { killer, victim, at } => {
                    batch.player(*killer, *at).kills += 1;
                    batch.player(*victim, *at).deaths += 1;
                    batch.kills.push(KillRow { at: *at, killer: *killer, victim: *victim });
                }
                Record::MatchEnded { player, seconds, best_streak, at } => {
                    let change = batch.player(*player, *at);
                    change.matches += 1;
                    change.seconds_played += i64::from(*seconds);
                    change.best_streak = change.best_streak.max(i64::from(*best_streak));
                }
            }
        }
        batch
    }

    fn player(&mut self, key: PlayerKey, at: i64) -> &mut PlayerChange {
        let change = self.players.entry(key).or_insert_with(|| PlayerChange::new(at));
        change.first_at = change.first_at.min(at);
        change.last_at = change.last_at.max(at);
        change
    }
}

#[cfg(test)]
mod tests;
