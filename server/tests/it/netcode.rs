//! Interest management and delta snapshots, end to end over real sockets.

use std::time::Duration;

use glam::Vec2;
use tokio::time::Instant;

use bots::client::{BotClient, Incoming};
use shared::protocol::{ClientMsg, GameEvent, InputCmd, ServerMsg, buttons};

use crate::conditioner::{Conditioner, Outage};
use crate::harness::{TestServer, WAIT, metric, repo_root, test_config};

#[tokio::test]
async fn far_players_are_not_sent_and_their_shots_stay_local() {
    let mut config = test_config();
    config.view_radius = 900.0;
    // A map larger than any screen: on the arena every beam is on somebody's screen.
    config.map = repo_root().join("assets/maps/open.json");
    let server = TestServer::start_with(config).await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (ada_id, bob_id) = (ada.welcome.player_id, bob.welcome.player_id);
    // The second player spawns at the spawn farthest from the first (thousands of units away).
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
        ServerMsg::Events { beams, .. } => {
            beams.iter().any(|beam| beam.shooter == ada_id).then_some(())
        }
        _ => None,
    });
    ada_saw_her_shot.await.expect("the shooter hears her own shot");
    let bob_heard = tokio::time::timeout(Duration::from_millis(800), async {
        loop {
            match bob.recv().await {
                Ok(Incoming::Message(ServerMsg::Events { beams, .. })) if !beams.is_empty() => {
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
                    let delay = bob.core.buffer.delay_ms(bob.welcome.send_hz);
                    if let Some(p) = bob.core.buffer.sample(bob.now_ms(), delay).iter().find(|p| p.id == ada_id) {
                        drawn.push(p.pos);
                    }
                }
                read = bob.recv() => { read.expect("Bob keeps receiving"); }
            }
        }
        (drawn, bob.core.buffer.jitter_ms())
    });
    let start_x = ada.core.predictor.position().expect("Ada is placed").x;
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
    let predicted = ada.core.predictor.position().expect("placed");
    let server_pos = Vec2::new(
        shared::protocol::dequantize_pos(last.x),
        shared::protocol::dequantize_pos(last.y),
    );
    println!(
        "after reconciliation: predicted {predicted}, server {server_pos}; corrections {} (largest {:.2} units)",
        ada.core.corrections, ada.core.max_correction
    );
    assert!(
        predicted.distance(server_pos) < 0.5,
        "the prediction matches the server: {predicted} vs {server_pos}"
    );
    assert!(
        ada.core.max_correction <= 14.0,
        "corrections stay within two ticks of movement: {}",
        ada.core.max_correction
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

/// What one client saw through a link whose downstream stalled for 1.5 s mid-game.
struct StallRun {
    /// Snapshot ticks in arrival order.
    ticks: Vec<u32>,
    replaced: f64,
    /// Predicted minus server position once every input is acknowledged.
    prediction_error: f32,
}

impl StallRun {
    fn largest_gap(&self) -> u32 {
        self.ticks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }
}

/// Ada plays through a conditioned link (80 ms round trip) whose server-to-client path stalls
/// for 1.5 s, while Bob plays on a direct one; the server runs with `window_ms` of snapshot
/// flow control.
async fn play_through_a_stall(window_ms: u64) -> StallRun {
    let mut config = test_config();
    config.snapshot_window_ms = window_ms;
    let server = TestServer::start_with(config).await;
    let outage = Outage { after: Duration::from_millis(2500), length: Duration::from_millis(1500) };
    let link = Conditioner::start_with(
        server.addr,
        Duration::from_millis(40),
        Duration::from_millis(10),
        7,
        Some(outage),
    )
    .await;
    let url = format!("ws://{}/ws", link.addr);
    let mut ada = BotClient::connect(&url, "Ada", WAIT).await.expect("Ada joins");
    let mut bob = server.join("Bob").await;
    let ada_id = ada.welcome.player_id;

    let mut ticks = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(1000 / 30));
    let mut sent = 0u32;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        tokio::select! {
            _ = pace.tick() => {
                // Both walk a square, a quarter turn every second.
                let side = [(127, 0), (0, 127), (-127, 0), (0, -127)][(sent / 30 % 4) as usize];
                let cmd = InputCmd { move_x: side.0, move_y: side.1, ..InputCmd::default() };
                ada.send_input(cmd).await.expect("Ada's input");
                bob.send_input(cmd).await.expect("Bob's input");
                sent += 1;
            }
            read = ada.recv() => match read.expect("Ada's snapshots decode through the stall") {
                Incoming::Snapshot(s) => ticks.push(s.tick.0),
                Incoming::Closed { code, reason } => panic!("Ada was dropped: {code} {reason}"),
                Incoming::Message(_) | Incoming::Decoded => {}
            },
            read = bob.recv() => { read.expect("Bob plays on"); }
        }
    }
    let last = ada
        .recv_until(Duration::from_secs(3), |m| {
            m.snapshot()
                .filter(|s| s.ack_input >= sent)
                .and_then(|s| s.players.iter().find(|p| p.id == ada_id).copied())
        })
        .await
        .expect("every input acknowledged after the stall");
    let server_pos = Vec2::new(
        shared::protocol::dequantize_pos(last.x),
        shared::protocol::dequantize_pos(last.y),
    );
    let prediction_error = ada.core.predictor.position().expect("placed").distance(server_pos);
    let replaced = metric(server.addr, "skirmish_snapshots_replaced_total").await;
    server.shutdown().await.expect("clean shutdown");
    StallRun { ticks, replaced, prediction_error }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_link_gets_the_newest_snapshot_not_a_backlog() {
    let (controlled, queued) = tokio::join!(play_through_a_stall(500), play_through_a_stall(0));
    println!(
        "1.5 s downstream stall: with flow control {} snapshots, largest tick gap {}, {} replaced \
         in the slot; without it {} snapshots, largest gap {}, {} replaced",
        controlled.ticks.len(),
        controlled.largest_gap(),
        controlled.replaced,
        queued.ticks.len(),
        queued.largest_gap(),
        queued.replaced,
    );
    // With flow control the server stops writing once half a second is in flight; the frames
    // of the rest of the stall are replaced in the latest-wins slot, and the client jumps to
    // the newest state, decoded against the baseline it holds.
    assert!(
        controlled.largest_gap() >= 20,
        "whole frames skipped, not queued: largest gap {} ticks",
        controlled.largest_gap()
    );
    assert!(controlled.replaced >= 20.0, "replaced frames counted: {}", controlled.replaced);
    // Without it every frame of the stall waits in buffers and arrives late, in order.
    assert!(queued.largest_gap() <= 2, "no flow control, no gap: {}", queued.largest_gap());
    for (run, name) in [(&controlled, "with"), (&queued, "without")] {
        assert!(run.ticks.windows(2).all(|w| w[0] < w[1]), "ticks increase ({name})");
        assert!(
            run.prediction_error < 0.5,
            "prediction reconciles after the stall ({name} flow control): {} units",
            run.prediction_error
        );
    }
}

/// Snapshots and events a client receives within `listen`: the snapshots' ticks and the chat
/// lines.
async fn listen(client: &mut BotClient, listen: Duration) -> (Vec<u32>, Vec<String>) {
    let end = Instant::now() + listen;
    let (mut ticks, mut lines) = (Vec::new(), Vec::new());
    while let Ok(Ok(incoming)) = tokio::time::timeout_at(end, client.recv()).await {
        match incoming {
            Incoming::Snapshot(snapshot) => ticks.push(snapshot.tick.0),
            Incoming::Message(ServerMsg::Events { events, .. }) => {
                lines.extend(events.into_iter().filter_map(|event| match event {
                    GameEvent::Chat { text, .. } => Some(text),
                    _ => None,
                }));
            }
            _ => {}
        }
    }
    (ticks, lines)
}

/// A room that ticks three times per send gives each tick's snapshots to a third of its
/// members (ids modulo 3), so a send's writes are spread over the ticks: every member still
/// gets one snapshot every third tick, and every event once.
#[tokio::test]
async fn a_room_ticking_faster_than_it_sends_sends_its_members_in_turn() {
    let mut config = test_config();
    config.tick_hz = 30;
    config.send_hz = Some(10);
    let server = TestServer::start_with(config).await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    for text in ["one", "two"] {
        ada.send(&ClientMsg::Chat { text: text.into() }).await.expect("Ada chats");
    }
    let mut turns = Vec::new();
    for client in [&mut ada, &mut bob] {
        let id = client.welcome.player_id.0;
        let (ticks, lines) = listen(client, Duration::from_millis(1500)).await;
        assert!(ticks.len() >= 8, "about ten snapshots a second (15 here): {ticks:?}");
        assert!(ticks.iter().all(|t| t % 3 == id % 3), "player {id} on its turn: {ticks:?}");
        assert!(ticks.windows(2).all(|w| w[0] < w[1]), "player {id}: in order: {ticks:?}");
        assert_eq!(lines, ["one", "two"], "player {id}: each line once, in order");
        turns.push(id % 3);
    }
    assert_ne!(turns[0], turns[1], "Ada and Bob are sent on different ticks");
    server.shutdown().await.expect("clean shutdown");
}
