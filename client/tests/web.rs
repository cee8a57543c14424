//! Client logic running in headless Chromium (wasm32): the codec, the app model fed real
//! encoded server messages, and the simulation computing the same bits as natively.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p client`
//! (`cargo xtask test` sets this up).
#![cfg(target_arch = "wasm32")]

use client::app::{App, Conn};
use client::determinism::{
    NATIVE_FINGERPRINT, NATIVE_REPLAY_FINGERPRINT, replayed_fingerprint, scripted_fingerprint,
};
use shared::codec::{decode_server, encode_server};
use shared::delta;
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::{
    ClientMsg, PlayerSnap, ResumeToken, RosterEntry, ServerMsg, Snapshot, Welcome,
};
use shared::tick::Tick;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn welcome() -> Vec<u8> {
    let map = Map::from_json(include_str!("../../assets/maps/arena.json")).expect("arena");
    encode_server(&ServerMsg::Welcome(Box::new(Welcome {
        player_id: PlayerId(3),
        tick_hz: 30,
        send_hz: 30,
        server_tick: Tick(10),
        map,
        roster: vec![RosterEntry { id: PlayerId(3), name: "Wasm".into() }],
        resume_token: ResumeToken([5; 16]),
        resume_grace_secs: 20,
        resumed: false,
        spectator: false,
        spectators_chat: false,
    })))
}

fn snapshot(tick: u32, x: i32) -> Snapshot {
    let me = PlayerSnap {
        id: PlayerId(3),
        x,
        y: 1600,
        vx: 107,
        health: 100,
        alive: true,
        ..PlayerSnap::default()
    };
    Snapshot { tick: Tick(tick), ack_input: 0, players: vec![me], pickups: 0b11 }
}

#[wasm_bindgen_test]
fn snapshot_deltas_round_trip_in_the_browser() {
    let first = snapshot(11, 1600);
    let second = snapshot(12, 1707);
    let bytes = encode_server(&ServerMsg::Snapshot(delta::encode(Some(&first), &second)));
    let Ok(ServerMsg::Snapshot(decoded)) = decode_server(&bytes) else {
        panic!("a snapshot decodes")
    };
    assert!(decoded.updates.is_empty(), "constant velocity costs nothing in wasm too");
    assert_eq!(delta::apply(Some(&first), &decoded), Ok(second), "the delta rebuilds the snapshot");
}

#[wasm_bindgen_test]
fn the_app_joins_and_tracks_snapshots_in_the_browser() {
    let mut app = App::new();
    app.join("Wasm", client::app::Target::default());
    app.on_open();
    assert!(matches!(app.take_outgoing().as_slice(), [ClientMsg::Hello(_)]), "Hello first");
    app.on_message(&welcome(), 0.0).expect("welcome");
    assert_eq!(app.conn, Conn::Joined, "joined");
    let key = encode_server(&ServerMsg::Snapshot(delta::encode(None, &snapshot(11, 1600))));
    app.on_message(&key, 5.0).expect("keyframe");
    let next = encode_server(&ServerMsg::Snapshot(delta::encode(
        Some(&snapshot(11, 1600)),
        &snapshot(12, 1707),
    )));
    app.on_message(&next, 38.0).expect("delta");
    assert_eq!(app.latest().map(|s| s.players[0].x), Some(1707), "the delta applied");
    assert!(
        app.ships(100.0).iter().any(|s| s.is_me && s.name == "Wasm"),
        "our ship is drawn with its name"
    );
}

#[wasm_bindgen_test]
fn the_simulation_is_bit_identical_to_native() {
    assert_eq!(
        scripted_fingerprint(),
        NATIVE_FINGERPRINT,
        "wasm32 and native simulate the same bits"
    );
}

#[wasm_bindgen_test]
fn a_recorded_match_replays_to_the_native_world() {
    assert_eq!(
        replayed_fingerprint(),
        NATIVE_REPLAY_FINGERPRINT,
        "the page's replay player in wasm32 ends where the native one does"
    );
}
