//! Entries the cases publish, and ways to look at listings.

use std::time::Duration;

use cluster::{Directory, ProcessInfo, RoomEntry};

/// A heartbeat's lifetime in cases that do not test expiry.
pub(crate) const TTL: Duration = Duration::from_secs(5);
/// A reservation's lifetime in cases that do not test expiry.
pub(crate) const SEAT_TTL: Duration = Duration::from_secs(10);

pub(crate) fn process(id: &str, players: u32, capacity: u32) -> ProcessInfo {
    ProcessInfo {
        id: id.into(),
        public_url: format!("https://{id}.example.com"),
        players,
        rooms: 0,
        capacity,
        draining: false,
    }
}

pub(crate) fn draining(id: &str) -> ProcessInfo {
    ProcessInfo { draining: true, ..process(id, 0, 100) }
}

pub(crate) fn room(code: &str, process: &str, players: u32, capacity: u32) -> RoomEntry {
    RoomEntry {
        code: code.into(),
        process: process.into(),
        title: format!("Room {code}"),
        map: "arena".into(),
        players,
        capacity,
        public: true,
    }
}

pub(crate) fn private(code: &str, process: &str, players: u32, capacity: u32) -> RoomEntry {
    RoomEntry { public: false, ..room(code, process, players, capacity) }
}

pub(crate) async fn publish(directory: &Directory, process: &ProcessInfo, rooms: &[RoomEntry]) {
    directory.publish(process, rooms, TTL).await.expect("publishing a heartbeat");
}

/// The codes of the live rooms, sorted.
pub(crate) async fn room_codes(directory: &Directory) -> Vec<String> {
    let mut codes: Vec<String> =
        directory.rooms().await.expect("listing rooms").into_iter().map(|r| r.code).collect();
    codes.sort();
    codes
}

/// The ids of the live processes, sorted.
pub(crate) async fn process_ids(directory: &Directory) -> Vec<String> {
    let mut ids: Vec<String> = directory
        .processes()
        .await
        .expect("listing processes")
        .into_iter()
        .map(|process| process.id)
        .collect();
    ids.sort();
    ids
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}
