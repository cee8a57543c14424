use super::*;

fn process(id: &str, players: u32, capacity: u32, draining: bool) -> ProcessInfo {
    ProcessInfo {
        id: id.into(),
        public_url: format!("https://{id}.example.com"),
        players,
        rooms: 1,
        capacity,
        draining,
    }
}

fn room(code: &str, process: &str, players: u32, capacity: u32, public: bool) -> RoomEntry {
    RoomEntry {
        code: code.into(),
        process: process.into(),
        title: code.to_uppercase(),
        map: "arena".into(),
        players,
        capacity,
        public,
    }
}

fn occupied(room: RoomEntry, reserved: u32) -> Occupied {
    Occupied { room, reserved }
}

fn codes(rooms: &[RoomEntry]) -> Vec<&str> {
    rooms.iter().map(|room| room.code.as_str()).collect()
}

#[test]
fn quick_play_tries_the_fullest_open_room_first_counting_reservations() {
    let processes = vec![process("a", 10, 100, false), process("b", 3, 100, false)];
    let rooms = vec![
        occupied(room("r1", "a", 1, 8, true), 0),
        // 2 seated + 3 reserved: fuller than r3's 4 seated.
        occupied(room("r2", "a", 2, 8, true), 3),
        occupied(room("r3", "b", 4, 8, true), 0),
        // Same occupancy as r3: the code breaks the tie.
        occupied(room("r0", "b", 4, 8, true), 0),
    ];
    assert_eq!(
        codes(&quick_play_order(rooms, &processes)),
        vec!["r2", "r0", "r3", "r1"],
        "fullest by players + reservations, ties by code"
    );
}

#[test]
fn quick_play_leaves_out_full_private_draining_saturated_and_orphaned_rooms() {
    let processes = vec![
        process("a", 10, 100, false),
        process("drain", 1, 100, true),
        process("busy", 100, 100, false),
    ];
    let rooms = vec![
        occupied(room("open", "a", 1, 8, true), 0),
        occupied(room("full", "a", 8, 8, true), 0),
        occupied(room("held", "a", 6, 8, true), 2),
        occupied(room("private", "a", 7, 8, false), 0),
        occupied(room("draining", "drain", 7, 8, true), 0),
        occupied(room("saturated", "busy", 7, 8, true), 0),
        occupied(room("orphan", "gone", 7, 8, true), 0),
    ];
    assert_eq!(codes(&quick_play_order(rooms, &processes)), vec!["open"], "only the open room");
}

#[test]
fn least_loaded_picks_the_emptiest_process_that_accepts_players() {
    let processes = vec![
        process("half", 50, 100, false),
        process("tenth", 10, 100, false),
        // Emptier, but draining.
        process("draining", 0, 100, true),
        // 1/5 is fuller than 1/10.
        process("small", 1, 5, false),
        // Full.
        process("full", 20, 20, false),
        // Zero capacity can never accept anyone (and must not divide by zero).
        process("zero", 0, 0, false),
    ];
    assert_eq!(least_loaded(&processes).map(|p| p.id.as_str()), Some("tenth"), "10 % is least");
    let tied = vec![process("b", 1, 10, false), process("a", 10, 100, false)];
    assert_eq!(least_loaded(&tied).map(|p| p.id.as_str()), Some("a"), "a tie: larger capacity");
    let same = vec![process("b", 1, 10, false), process("a", 1, 10, false)];
    assert_eq!(least_loaded(&same).map(|p| p.id.as_str()), Some("a"), "a full tie: the id");
    let none = vec![process("draining", 0, 10, true), process("full", 10, 10, false)];
    assert_eq!(least_loaded(&none), None, "no process accepts players");
}

#[test]
fn entries_round_trip_through_json() {
    let entry = room("r1", "a", 1, 8, true);
    let text = serde_json::to_string(&entry).expect("encode");
    assert_eq!(serde_json::from_str::<RoomEntry>(&text).expect("decode"), entry, "room");
    let info = process("a", 1, 2, true);
    let text = serde_json::to_string(&info).expect("encode");
    assert_eq!(serde_json::from_str::<ProcessInfo>(&text).expect("decode"), info, "process");
}
