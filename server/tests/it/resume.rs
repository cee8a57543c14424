//! Continuity: a dropped player takes back its seat with a single-use token; seats expire.

use std::time::Duration;

use bots::behavior::Behavior;
use bots::client::{BotClient, Incoming};
use bots::run::{RunConfig, run};
use shared::protocol::{GameEvent, InputCmd, ServerMsg, close};

use crate::harness::{TestServer, WAIT, http_get, repo_root, test_config};

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
    assert!(
        err.to_string().contains(&close::RESUME_REFUSED.to_string()),
        "refused with 4002: {err}"
    );
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

/// A thousand bots drop their connections at the same instant and come back at once: the
/// listener's accept backlog (sized from `--max-connections`) holds the burst, so no SYN waits
/// for a retransmission, and every bot takes back its own seat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_bots_survive_a_reconnect_storm() {
    const BOTS: usize = 1000;
    let mut config = test_config();
    config.max_players = BOTS + 24;
    // Idle bots on the open map at the slowest tick rate, each seeing only its spawn point's
    // neighbours: the test is about connections, and stays light enough for a debug build on
    // two cores.
    config.map = repo_root().join("assets/maps/open.json");
    config.view_radius = 300.0;
    config.tick_hz = 10;
    config.send_hz = Some(5);
    // A thousand handshakes on two cores can take a few seconds to be served.
    config.idle_timeout_ms = 10_000;
    config.hello_timeout_ms = 15_000;
    let server = TestServer::start_with(config).await;
    let addr = server.addr;
    let storm_at = Duration::from_secs(6);
    // Watch the population: a resumed player must never be counted twice.
    let watcher = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..40 {
            let (_, text) = http_get(addr, "/healthz", "").await;
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("{}").to_string();
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            most = most.max(json["players"].as_u64().unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        most
    });
    let report = run(RunConfig {
        url: server.ws_url(),
        count: BOTS,
        duration: Duration::from_secs(4),
        ramp_per_s: 250.0,
        behavior: Behavior::Idle,
        seed: 3,
        input_hz: Some(5),
        churn_per_min: 0.0,
        storm_at: Some(storm_at),
        progress: false,
        scrape_server: false,
        // A few observers run the browser's netcode; the rest decode and acknowledge (light).
        full_netcode: 20,
        placement: bots::run::Placement::Default,
        spectators: 0,
    })
    .await
    .expect("the run completes");
    eprintln!(
        "storm of {BOTS}: {} resumed, {} failed to resume, {} dropped; last resume {:.0} ms after the storm",
        report.resumes, report.resume_failures, report.dropped, report.storm_to_last_resume_ms
    );
    assert_eq!((report.failed, report.dropped), (0, 0), "nobody failed or was dropped: {report:?}");
    assert_eq!(report.resumes, BOTS as u64, "every bot resumes its own player");
    assert!(
        report.storm_to_last_resume_ms > 0.0 && report.storm_to_last_resume_ms < 15_000.0,
        "the storm is over within seconds: {} ms",
        report.storm_to_last_resume_ms
    );
    let most = watcher.await.expect("watcher");
    eprintln!("most players seen at once: {most}");
    assert!(most <= BOTS as u64, "no duplicate players: at most {BOTS} seats, saw {most}");
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
