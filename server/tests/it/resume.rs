//! Continuity: a dropped player takes back its seat with a single-use token; seats expire.

use std::time::Duration;

use bots::behavior::Behavior;
use bots::client::{BotClient, Incoming};
use bots::run::{RunConfig, run};
use shared::protocol::{GameEvent, InputCmd, ServerMsg, close};

use crate::harness::{TestServer, WAIT, http_get, test_config};

#[tokio::test]
async fn a_dropped_player_resumes_once_with_its_token() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    let id = ada.welcome.player_id;
    for _ in 0..10 {
        ada.send_input(InputCmd { move_x: 127, move_y: 127, ..InputCmd::default() })
            .await
            .expect("input");
    }
    let before = ada
        .recv_until(WAIT, |m| {
            m.snapshot()
                .filter(|s| s.ack_input >= 10)
                .and_then(|s| s.players.iter().find(|p| p.id == id).copied())
        })
        .await
        .expect("inputs applied");
    let token = ada.welcome.resume_token;
    drop(ada); // No close frame: as if the network died.

    let mut back =
        BotClient::connect_with(&server.ws_url(), "Ada", Some(token), WAIT).await.expect("resume");
    assert!(back.welcome.resumed, "the Welcome says resumed");
    assert_eq!(back.welcome.player_id, id, "the same player");
    assert_ne!(back.welcome.resume_token, token, "a fresh token replaces the spent one");
    let after = back
        .recv_until(WAIT, |m| {
            m.snapshot().and_then(|s| s.players.iter().find(|p| p.id == id).copied())
        })
        .await;
    let after = after.expect("a snapshot after resuming");
    assert!(
        (after.x - before.x).abs() <= 2 * 107 && (after.y - before.y).abs() <= 2 * 107,
        "position kept: {before:?} → {after:?}"
    );
    assert_eq!(back.welcome.roster.iter().filter(|r| r.id == id).count(), 1, "no duplicate seat");

    let reused = BotClient::connect_with(&server.ws_url(), "Ada", Some(token), WAIT).await;
    let err = reused.err().expect("a spent token is refused");
    assert!(err.to_string().contains(&close::POLICY.to_string()), "refused with 1008: {err}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_seat_is_freed_after_the_grace_period() {
    let mut config = test_config();
    config.resume_grace_secs = 1;
    let server = TestServer::start_with(config).await;
    let ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (id, token) = (ada.welcome.player_id, ada.welcome.resume_token);
    drop(ada);
    let left = bob.recv_until(Duration::from_secs(5), |m| match m.message()? {
        ServerMsg::Events { events, .. } => events.contains(&GameEvent::Left { id }).then_some(()),
        _ => None,
    });
    let started = std::time::Instant::now();
    left.await.expect("Ada is removed once the grace period is over");
    println!("seat freed {:?} after the drop was noticed", started.elapsed());
    let late = BotClient::connect_with(&server.ws_url(), "Ada", Some(token), WAIT).await;
    assert!(late.is_err(), "resuming after the grace period is refused");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_bots_survive_a_reconnect_storm() {
    let mut config = test_config();
    config.max_players = 128;
    let server = TestServer::start_with(config).await;
    let addr = server.addr;
    // Watch the population: a resumed player must never be counted twice.
    let watcher = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..60 {
            let (_, text) = http_get(addr, "/healthz", "").await;
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("{}").to_string();
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            most = most.max(json["players"].as_u64().unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        most
    });
    let report = run(RunConfig {
        url: server.ws_url(),
        count: 100,
        duration: Duration::from_secs(4),
        ramp_per_s: 200.0,
        behavior: Behavior::Wander,
        seed: 3,
        input_hz: None,
        churn_per_min: 0.0,
        storm_at: Some(Duration::from_secs(2)),
        progress: false,
        scrape_server: false,
        full_netcode: usize::MAX,
    })
    .await
    .expect("the run completes");
    println!(
        "storm: {} resumed, {} failed to resume, {} dropped",
        report.resumes, report.resume_failures, report.dropped
    );
    assert!(report.resumes >= 99, "at least 99 of 100 resume the same player: {}", report.resumes);
    assert_eq!((report.failed, report.dropped), (0, 0), "nobody failed or was dropped");
    let most = watcher.await.expect("watcher");
    println!("most players seen at once: {most}");
    assert!(most <= 100, "no duplicate players: at most 100 seats, saw {most}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn connection_drop_is_not_a_leave() {
    let server = TestServer::start().await;
    let ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let id = ada.welcome.player_id;
    drop(ada);
    let quiet = tokio::time::timeout(Duration::from_millis(700), async {
        loop {
            match bob.recv().await {
                Ok(Incoming::Message(ServerMsg::Events { events, .. }))
                    if events.contains(&GameEvent::Left { id }) =>
                {
                    return;
                }
                Ok(Incoming::Closed { .. }) | Err(_) => std::future::pending::<()>().await,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "within the grace period the dropped player stays in the game");
    server.shutdown().await.expect("clean shutdown");
}
