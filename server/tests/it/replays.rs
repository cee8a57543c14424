//! Replays against the real server: bots play a public room with churn (joins, leaves,
//! deaths), the room closes when they are gone, and its replay, listed at `/api/replays` and
//! downloaded, plays back to the very world the room had, checked against the live fingerprint
//! at the end of every ten-second chunk.

use std::net::SocketAddr;
use std::time::Duration;

use bots::behavior::Behavior;
use bots::run::{Placement, RunConfig, run};
use shared::replay::{Playback, Replay};

use crate::harness::{TestServer, WAIT, http_get, http_get_bytes, test_config};

/// A GET whose body is bytes (`http_get` reads text).
async fn download(addr: SocketAddr, path: &str) -> Vec<u8> {
    let response = http_get_bytes(addr, path, "").await;
    assert!(response.starts_with(b"HTTP/1.1 200"), "GET {path}: 200");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a header end");
    response[split + 4..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_rooms_replay_plays_back_to_the_live_world() {
    let mut config = test_config();
    config.room_idle_secs = 1;
    let server = TestServer::start_with(config).await;
    let report = run(RunConfig {
        url: server.ws_url(),
        count: 6,
        duration: Duration::from_secs(12),
        ramp_per_s: 6.0,
        behavior: Behavior::Chase,
        seed: 3,
        input_hz: None,
        churn_per_min: 12.0,
        storm_at: None,
        progress: false,
        scrape_server: false,
        full_netcode: 0,
        placement: Placement::Room("recorded".into()),
        spectators: 0,
    })
    .await
    .expect("the bots play");
    assert_eq!((report.failed, report.dropped), (0, 0), "the bots played");
    assert!(report.reconnects > 0, "with churn: players left and joined");

    // The room closes a second after the last bot; its replay is then listed.
    let deadline = tokio::time::Instant::now() + WAIT;
    let id = loop {
        let (_, text) = http_get(server.addr, "/api/replays", "").await;
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let listing: serde_json::Value = serde_json::from_str(body).expect("JSON");
        let found = listing["replays"].as_array().and_then(|replays| {
            replays.iter().find(|r| r["title"] == "recorded").map(|r| r["id"].to_string())
        });
        if let Some(id) = found {
            break id.trim_matches('"').to_string();
        }
        assert!(tokio::time::Instant::now() < deadline, "the replay is listed: {listing}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let bytes = download(server.addr, &format!("/api/replays/{id}")).await;
    let replay = Replay::parse(&bytes).expect("the served file parses");
    let checkpoints = replay.checkpoints.len();
    let joins = replay
        .ticks
        .iter()
        .flat_map(|tick| &tick.changes)
        .filter(|change| matches!(change, shared::replay::Change::Joined { .. }))
        .count();
    let mut playback = Playback::new(replay);
    while playback.step().expect("the replay matches the live room at every checkpoint") {}
    println!(
        "replay {id}: {} bytes, {} ticks, {checkpoints} checkpoints, {joins} joins",
        bytes.len(),
        playback.len()
    );
    assert!(checkpoints >= 2, "several chunks, each checked: {checkpoints}");
    assert!(joins > 6, "first joins and churn's rejoins: {joins}");
    assert!(playback.world().players.is_empty(), "everyone had left when the room closed");
    let (status, _) = http_get(server.addr, "/api/replays/..-etc-passwd", "").await;
    assert_eq!(status, 404, "ids are names, not paths");
    server.shutdown().await.expect("clean shutdown");
}
