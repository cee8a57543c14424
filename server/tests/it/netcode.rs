//! Interest management and delta snapshots, end to end over real sockets.

use std::time::Duration;

use glam::Vec2;
use tokio::time::Instant;

use bots::client::Incoming;
use shared::protocol::{GameEvent, InputCmd, ServerMsg, buttons};

use crate::harness::{TestServer, WAIT, test_config};

#[tokio::test]
async fn far_players_are_not_sent_and_their_shots_stay_local() {
    let mut config = test_config();
    config.view_radius = 900.0;
    let server = TestServer::start_with(config).await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (ada_id, bob_id) = (ada.welcome.player_id, bob.welcome.player_id);
    // The second player spawns at the corner farthest from the first (about 2000 units away).
    let seen = bob
        .recv_until(WAIT, |m| {
            m.snapshot().filter(|s| s.players.iter().any(|p| p.id == bob_id)).cloned()
        })
        .await;
    let seen = seen.expect("Bob's snapshot");
    assert!(
        seen.players.iter().all(|p| p.id != ada_id),
        "Bob is not sent Ada, who is out of view: {:?}",
        seen.players
    );

    for _ in 0..3 {
        ada.send_input(InputCmd { aim_x: 1, buttons: buttons::FIRE, ..InputCmd::default() })
            .await
            .expect("fire");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let ada_saw_her_shot = ada.recv_until(WAIT, |m| match m.message()? {
        ServerMsg::Events { events, .. } => events
            .iter()
            .any(|e| matches!(e, GameEvent::Shot { shooter, .. } if *shooter == ada_id))
            .then_some(()),
        _ => None,
    });
    ada_saw_her_shot.await.expect("the shooter hears her own shot");
    let bob_heard = tokio::time::timeout(Duration::from_millis(800), async {
        loop {
            match bob.recv().await {
                Ok(Incoming::Message(ServerMsg::Events { events, .. }))
                    if events.iter().any(|e| matches!(e, GameEvent::Shot { .. })) =>
                {
                    return true;
                }
                Ok(Incoming::Closed { .. }) | Err(_) => return false,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(bob_heard.is_err(), "far away, Bob gets no shot events");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn snapshots_are_deltas_that_cost_little_when_nothing_changes() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    let _bob = server.join("Bob").await;
    // Wait until both are in Ada's view, then measure a second of idle snapshots.
    ada.recv_until(WAIT, |m| m.snapshot().filter(|s| s.players.len() == 2).map(|_| ()))
        .await
        .expect("both in view");
    let before = ada.rx_bytes;
    let mut count = 0;
    while count < 30 {
        if let Incoming::Snapshot(s) = ada.recv().await.expect("recv") {
            assert_eq!(s.players.len(), 2, "decoded snapshots still hold both players");
            count += 1;
        }
    }
    let per_snapshot = (ada.rx_bytes - before) as f64 / 30.0;
    println!("idle snapshots: {per_snapshot:.1} bytes each");
    assert!(
        per_snapshot < 16.0,
        "unchanged players cost (almost) nothing: {per_snapshot} bytes per snapshot"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn full_snapshot_mode_sends_keyframes_of_everyone() {
    let mut config = test_config();
    config.full_snapshots = true;
    config.view_radius = 900.0;
    let server = TestServer::start_with(config).await;
    let mut ada = server.join("Ada").await;
    let _bob = server.join("Bob").await;
    let snapshot =
        ada.recv_until(WAIT, |m| m.snapshot().filter(|s| s.players.len() == 2).cloned()).await;
    assert_eq!(
        snapshot.expect("a snapshot with both").players.len(),
        2,
        "full mode ignores the view radius"
    );
    server.shutdown().await.expect("clean shutdown");
}

/// 150 ms round trip with 20 ms of jitter on both players' links.
async fn conditioned_pair(
    server: &TestServer,
) -> (bots::client::BotClient, bots::client::BotClient, Vec<crate::conditioner::Conditioner>) {
    let mut links = Vec::new();
    let mut players = Vec::new();
    for (seed, name) in [(1, "Ada"), (2, "Bob")] {
        let link = crate::conditioner::Conditioner::start(
            server.addr,
            Duration::from_millis(75),
            Duration::from_millis(20),
            seed,
        )
        .await;
        let url = format!("ws://{}/ws", link.addr);
        players.push(
            bots::client::BotClient::connect(&url, name, WAIT)
                .await
                .expect("joins through the conditioner"),
        );
        links.push(link);
    }
    let bob = players.pop().expect("bob");
    let ada = players.pop().expect("ada");
    (ada, bob, links)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prediction_and_interpolation_hold_at_150ms_rtt_with_jitter() {
    let server = TestServer::start().await;
    let (mut ada, mut bob, _links) = conditioned_pair(&server).await;
    let ada_id = ada.welcome.player_id;
    ada.recv_until(WAIT, |m| m.snapshot().map(|_| ())).await.expect("Ada's first snapshot");
    bob.recv_until(WAIT, |m| {
        m.snapshot().filter(|s| s.players.iter().any(|p| p.id == ada_id)).map(|_| ())
    })
    .await
    .expect("Bob sees Ada");

    // Ada runs a course (steady runs, turns, into walls) for 4 s, one input per tick, reading
    // her snapshots as they come; Bob draws her at 60 frames a second.
    let watcher = tokio::spawn(async move {
        let mut frames = tokio::time::interval(Duration::from_millis(16));
        let mut drawn = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            tokio::select! {
                _ = frames.tick() => {
                    let delay = bob.buffer.delay_ms(bob.welcome.send_hz);
                    if let Some(p) = bob.buffer.sample(bob.now_ms(), delay).iter().find(|p| p.id == ada_id) {
                        drawn.push(p.pos);
                    }
                }
                read = bob.recv() => { read.expect("Bob keeps receiving"); }
            }
        }
        (drawn, bob.buffer.jitter_ms())
    });
    let start_x = ada.predictor.position().expect("Ada is placed").x;
    let direction: i8 = if start_x < 800.0 { 127 } else { -127 };
    let mut pace = tokio::time::interval(Duration::from_millis(1000 / 30));
    let course = |i: u32| -> (i8, i8) {
        match i {
            0..45 => (direction, 0),
            45..60 => (0, 127),
            60..80 => (-direction, -127),
            _ => (direction, 40),
        }
    };
    let mut sent = 0u32;
    while sent < 120 {
        tokio::select! {
            _ = pace.tick() => {
                let (move_x, move_y) = course(sent);
                ada.send_input(InputCmd { move_x, move_y, ..InputCmd::default() }).await.expect("input");
                sent += 1;
            }
            read = ada.recv() => { read.expect("Ada keeps receiving"); }
        }
    }
    // Stand still and let every input be acknowledged.
    let last = ada
        .recv_until(Duration::from_secs(3), |m| {
            m.snapshot()
                .filter(|s| s.ack_input >= 120)
                .and_then(|s| s.players.iter().find(|p| p.id == ada_id).copied())
        })
        .await
        .expect("every input acknowledged");
    let predicted = ada.predictor.position().expect("placed");
    let server_pos = Vec2::new(
        shared::protocol::dequantize_pos(last.x),
        shared::protocol::dequantize_pos(last.y),
    );
    println!(
        "after reconciliation: predicted {predicted}, server {server_pos}; corrections {} (largest {:.2} units)",
        ada.corrections, ada.max_correction
    );
    assert!(
        predicted.distance(server_pos) < 0.5,
        "the prediction matches the server: {predicted} vs {server_pos}"
    );
    assert!(
        ada.max_correction <= 14.0,
        "corrections stay within two ticks of movement: {}",
        ada.max_correction
    );

    let (drawn, jitter) = watcher.await.expect("watcher");
    let steady = drawn.len().min(2 * 60);
    let backward = drawn[..steady]
        .windows(2)
        .filter(|w| (w[1].x - w[0].x) * f32::from(direction) < -0.01)
        .count();
    println!(
        "Bob drew {} frames of Ada (measured jitter {jitter:.1} ms); backward steps in the straight run: {backward}",
        drawn.len()
    );
    assert!(drawn.len() > 200, "Bob drew Ada on most frames");
    assert_eq!(backward, 0, "remote motion never steps backward on a steady run");
    server.shutdown().await.expect("clean shutdown");
}
