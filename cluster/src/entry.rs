//! What a process publishes about itself and its rooms, and the pure rules that choose among
//! them: the room quick play tries first and the process a new room opens on.

use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One server process, as its heartbeat publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Unique in the cluster and stable for the process's life (a host name plus a start
    /// time, say): its rooms and its keys are filed under it.
    pub id: String,
    /// Where browsers reach this process, e.g. `https://eu1.example.com`: another process sends
    /// a player here with a [`JoinTicket`](crate::JoinTicket).
    pub public_url: String,
    /// Players seated in all its rooms at the heartbeat.
    pub players: u32,
    /// Rooms running at the heartbeat.
    pub rooms: u32,
    /// The most players it accepts; quick play and [`least_loaded`](crate::Directory::least_loaded)
    /// pass over a process that has reached it.
    pub capacity: u32,
    /// Shutting down: its rooms play on, but quick play sends nobody there and no new room
    /// opens on it. A room's code still reserves a seat there (a friend's invite link); the
    /// process may refuse it at [`claim`](crate::Directory::claim) time if it must.
    pub draining: bool,
}

/// One room, as its process's heartbeat publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomEntry {
    /// The room's id in the lobby: a random code, or a public room's name (`main`). Unique in
    /// the cluster.
    pub code: String,
    /// The [`ProcessInfo::id`] of the process that runs it.
    pub process: String,
    pub title: String,
    pub map: String,
    /// Seated players at the heartbeat (reservations are counted apart, in Redis).
    pub players: u32,
    pub capacity: u32,
    /// Listed in the lobby and offered by quick play; a private room is reached by its code only.
    pub public: bool,
}

/// A room with its live reservations, as a listing read them in one go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Occupied {
    pub(crate) room: RoomEntry,
    /// Live reservations and claimed seats not yet released.
    pub(crate) reserved: u32,
}

impl Occupied {
    /// Seated players plus held seats: what a new reservation must fit beside.
    pub(crate) fn occupancy(&self) -> u32 {
        self.room.players.saturating_add(self.reserved)
    }

    fn has_free_seat(&self) -> bool {
        self.occupancy() < self.room.capacity
    }
}

/// A process that can take more players: not draining, below its capacity.
fn accepts_players(process: &ProcessInfo) -> bool {
    !process.draining && process.players < process.capacity
}

/// The rooms quick play may offer, in the order to try them: public, with a free seat counting
/// reservations, on a live process that accepts players (a room whose process is missing from
/// `processes` is left out); fullest first, then by code so every process agrees.
pub(crate) fn quick_play_order(rooms: Vec<Occupied>, processes: &[ProcessInfo]) -> Vec<RoomEntry> {
    let open: HashMap<&str, bool> =
        processes.iter().map(|process| (process.id.as_str(), accepts_players(process))).collect();
    let mut candidates: Vec<Occupied> = rooms
        .into_iter()
        .filter(|entry| entry.room.public && entry.has_free_seat())
        .filter(|entry| open.get(entry.room.process.as_str()).copied().unwrap_or(false))
        .collect();
    candidates.sort_by(|a, b| {
        b.occupancy().cmp(&a.occupancy()).then_with(|| a.room.code.cmp(&b.room.code))
    });
    candidates.into_iter().map(|entry| entry.room).collect()
}

/// The process a new room should open on: one that accepts players, with the lowest
/// `players / capacity`; ties go to the larger capacity, then the smaller id.
pub(crate) fn least_loaded(processes: &[ProcessInfo]) -> Option<&ProcessInfo> {
    processes.iter().filter(|process| accepts_players(process)).min_by(|a, b| {
        load_order(a, b)
            .then_with(|| Reverse(a.capacity).cmp(&Reverse(b.capacity)))
            .then_with(|| a.id.cmp(&b.id))
    })
}

/// `a.players / a.capacity` against `b.players / b.capacity`, exactly (no floats). Both
/// capacities are above zero: `accepts_players` needs `players < capacity`.
fn load_order(a: &ProcessInfo, b: &ProcessInfo) -> Ordering {
    let left = u64::from(a.players) * u64::from(b.capacity);
    let right = u64::from(b.players) * u64::from(a.capacity);
    left.cmp(&right)
}

#[cfg(test)]
mod tests;
