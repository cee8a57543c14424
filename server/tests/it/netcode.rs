//! Interest management and delta snapshots, end to end over real sockets.

use std::time::Duration;

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
