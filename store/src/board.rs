//! What the lobby reads: the leaderboard and a player's profile, and the ranking rule.

use serde::Serialize;

/// Which kills a leaderboard counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// Career totals.
    AllTime,
    /// Kills (and deaths) with `at > now - days * 86400`; the lobby shows `LastDays(7)`.
    LastDays(u32),
}

/// One line of a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaderEntry {
    /// 1 for the first line, then 2, 3, … (ties are broken, never shared; see [`Store::leaderboard`]).
    ///
    /// [`Store::leaderboard`]: crate::Store::leaderboard
    pub rank: u32,
    /// The player's key in hex.
    pub player: String,
    /// The last name the player was seen with (empty if never seen).
    pub name: String,
    pub kills: u64,
    pub deaths: u64,
}

/// A player's career.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The player's key in hex.
    pub player: String,
    /// The last name the player was seen with (empty if the player only appears in kills or
    /// matches, never in a `Seen`).
    pub name: String,
    pub kills: u64,
    pub deaths: u64,
    pub matches: u64,
    /// The longest kill streak of any one match.
    pub best_streak: u32,
    pub seconds_played: u64,
}

impl Period {
    /// The exclusive lower bound on a kill's `at`, or `None` for career totals.
    pub(crate) fn since(self, now: i64) -> Option<i64> {
        match self {
            Period::AllTime => None,
            Period::LastDays(days) => Some(now.saturating_sub(i64::from(days) * 86_400)),
        }
    }
}

/// A leaderboard line as the database returns it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct BoardRow {
    pub(crate) player: String,
    pub(crate) name: String,
    pub(crate) kills: i64,
    pub(crate) deaths: i64,
}

/// A profile as the database returns it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct ProfileRow {
    pub(crate) player: String,
    pub(crate) name: String,
    pub(crate) kills: i64,
    pub(crate) deaths: i64,
    pub(crate) matches: i64,
    pub(crate) best_streak: i64,
    pub(crate) seconds_played: i64,
}

/// Orders `rows` by the ranking rule and numbers them: kills descending, then deaths
/// ascending, then name (byte order), then key, so equal lines still have one order; players
/// without a kill are left out.
///
/// The SQL sorts and limits by the same rule (names are byte-ordered in both dialects: SQLite's
/// `BINARY`, PostgreSQL's `COLLATE "C"` column); this is the one place the rule is spelled out
/// in Rust, and what the unit tests pin down.
pub(crate) fn rank(mut rows: Vec<BoardRow>) -> Vec<LeaderEntry> {
    rows.retain(|row| row.kills > 0);
    rows.sort_by(|a, b| {
        b.kills
            .cmp(&a.kills)
            .then(a.deaths.cmp(&b.deaths))
            .then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()))
            .then_with(|| a.player.cmp(&b.player))
    });
    rows.into_iter()
        .zip(1..)
        .map(|(row, rank)| LeaderEntry {
            rank,
            player: row.player,
            name: row.name,
            kills: to_count(row.kills),
            deaths: to_count(row.deaths),
        })
        .collect()
}

impl From<ProfileRow> for Profile {
    fn from(row: ProfileRow) -> Profile {
        Profile {
            player: row.player,
            name: row.name,
            kills: to_count(row.kills),
            deaths: to_count(row.deaths),
            matches: to_count(row.matches),
            best_streak: u32::try_from(row.best_streak.max(0)).unwrap_or(u32::MAX),
            seconds_played: to_count(row.seconds_played),
        }
    }
}

/// Database integers are signed; counts never go below zero.
fn to_count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests;
