//! Playing: joining, moving, seeing each other, shooting, chatting, leaving.

use bots::client::Incoming;
use shared::protocol::{ClientMsg, GameEvent, InputCmd, ServerMsg, buttons, dequantize_pos};

use crate::harness::{TestServer, WAIT};

fn x_of(message: &Incoming, id: shared::ids::PlayerId) -> Option<f32> {
    match message {
        Incoming::Snapshot(snap) => {
            snap.players.iter().find(|p| p.id == id).map(|p| dequantize_pos(p.x))
        }
        _ => None,
    }
}

#[tokio::test]
async fn two_players_join_move_see_each_other_and_chat() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (ada_id, bob_id) = (ada.welcome.player_id, bob.welcome.player_id);
    assert_ne!(ada_id, bob_id, "distinct player ids");
    assert_eq!(
        bob.welcome.roster.len(),
        2,
        "Bob's roster lists both players: {:?}",
        bob.welcome.roster
    );
    assert_eq!(bob.welcome.map.id, "arena", "the server sends its map");

    let name = ada.recv_until(WAIT, |m| match m.message()? {
        ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
            GameEvent::Joined { id, name } if *id == bob_id => Some(name.clone()),
            _ => None,
        }),
        _ => None,
    });
    assert_eq!(name.await.expect("Ada hears Bob join"), "Bob");

    let start_x = bob.recv_until(WAIT, |m| x_of(m, ada_id)).await.expect("Bob sees Ada");
    // Ada steers toward the middle for 20 ticks, one input per tick as a real client does
    // (spawn points sit in open corners of the arena).
    let direction: i8 = if start_x < 800.0 { 127 } else { -127 };
    // She reads her snapshots meanwhile, so her inputs acknowledge them (the server holds back
    // snapshots from a client whose acknowledgements fall behind).
    let mut pace = tokio::time::interval(std::time::Duration::from_millis(1000 / 30));
    let mut sent = 0;
    while sent < 20 {
        tokio::select! {
            _ = pace.tick() => {
                ada.send_input(InputCmd { move_x: direction, ..InputCmd::default() })
                    .await
                    .expect("sending input");
                sent += 1;
            }
            read = ada.recv() => { read.expect("Ada reads"); }
        }
    }
    let moved = bob
        .recv_until(WAIT, |m| x_of(m, ada_id).filter(|x| (x - start_x).abs() >= 100.0))
        .await
        .expect("Bob sees Ada move at least 100 units");
    assert!(
        (moved - start_x).signum() == f32::from(direction).signum(),
        "Ada moved the way she steered"
    );

    let ack = ada
        .recv_until(WAIT, |m| match m {
            Incoming::Snapshot(snap) if snap.ack_input >= 20 => Some(snap.ack_input),
            _ => None,
        })
        .await
        .expect("Ada's inputs are acknowledged");
    assert_eq!(ack, 20, "the newest input applied is the last one sent");

    ada.send(&ClientMsg::Chat { text: "  hello <b>Bob</b>\u{202E} ".into() })
        .await
        .expect("sending chat");
    let line = bob
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
                GameEvent::Chat { from, text } if *from == ada_id => Some(text.clone()),
                _ => None,
            }),
            _ => None,
        })
        .await
        .expect("Bob receives Ada's chat line");
    assert_eq!(line, "hello <b>Bob</b>", "chat arrives trimmed and stripped of bidi controls");

    ada.close().await.expect("Ada leaves cleanly");
    let left = bob
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
                GameEvent::Left { id } => Some(*id),
                _ => None,
            }),
            _ => None,
        })
        .await
        .expect("Bob hears Ada leave");
    assert_eq!(left, ada_id, "the leaving player is Ada");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn firing_is_seen_by_others_and_pings_are_answered() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (ada_id, bob_id) = (ada.welcome.player_id, bob.welcome.player_id);
    // Ada aims at Bob: beams go to the screens they cross, and Bob's screen is where Bob is.
    let aim = ada
        .recv_until(WAIT, |m| {
            let players = &m.snapshot()?.players;
            let at = |id| players.iter().find(|p| p.id == id).map(|p| (p.x, p.y));
            let ((ax, ay), (bx, by)) = (at(ada_id)?, at(bob_id)?);
            Some(glam::Vec2::new((bx - ax) as f32, (by - ay) as f32).normalize_or_zero() * 1000.0)
        })
        .await
        .expect("Ada sees Bob");
    let fire = InputCmd {
        aim_x: aim.x as i16,
        aim_y: aim.y as i16,
        buttons: buttons::FIRE,
        ..InputCmd::default()
    };
    ada.send_input(fire).await.expect("fire");
    let shooter = bob
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Events { beams, .. } => beams.first().map(|beam| beam.shooter),
            _ => None,
        })
        .await
        .expect("Bob sees a laser");
    assert_eq!(shooter, ada_id, "the laser is Ada's");

    bob.send(&ClientMsg::Ping { client_time: 1234.5 }).await.expect("ping");
    let echoed = bob
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Pong { client_time, server_tick } => Some((*client_time, server_tick.0)),
            _ => None,
        })
        .await
        .expect("pong");
    assert_eq!(echoed.0, 1234.5, "the pong echoes the client's time");
    assert!(echoed.1 > 0, "the pong carries the server tick");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn snapshots_arrive_at_the_tick_rate() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    let first = ada.recv_until(WAIT, |m| m.snapshot().map(|s| s.tick)).await.expect("snapshot");
    let started = std::time::Instant::now();
    let mut count = 0;
    let last = loop {
        let tick = ada.recv_until(WAIT, |m| m.snapshot().map(|s| s.tick)).await.expect("snapshot");
        count += 1;
        if count == 30 {
            break tick;
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!("30 snapshots in {elapsed:.3} s, ticks {} → {}", first.0, last.0);
    let span = last.0 - first.0;
    assert!(
        (30..=36).contains(&span),
        "30 snapshots cover {span} ticks: about one per tick for a reading client"
    );
    server.shutdown().await.expect("clean shutdown");
}
