//! Bots beyond a server's limits are told which limit refused them and which flag raises it.

use std::time::Duration;

use bots::behavior::Behavior;
use bots::run::{RunConfig, run};
use server::ServerConfig;

use crate::harness::{TestServer, test_config};

/// Runs `bots` idle bots against a server with `config` and returns the flags named in the
/// report's refusal hints, with the hints.
async fn refused_by(config: ServerConfig, bots: usize) -> (usize, Vec<(&'static str, String)>) {
    let server = TestServer::start_with(config).await;
    let report = run(RunConfig {
        url: server.ws_url(),
        count: bots,
        duration: Duration::from_millis(500),
        ramp_per_s: 100.0,
        behavior: Behavior::Idle,
        seed: 5,
        input_hz: Some(5),
        churn_per_min: 0.0,
        storm_at: None,
        progress: false,
        scrape_server: false,
        full_netcode: usize::MAX,
        placement: bots::run::Placement::Default,
        spectators: 0,
    })
    .await
    .expect("the run completes");
    server.shutdown().await.expect("clean shutdown");
    let hints = report.refusals.iter().map(|r| (r.flag, r.hint.clone())).collect();
    (report.failed, hints)
}

#[tokio::test]
async fn refused_bots_name_the_limit_and_its_flag() {
    let mut per_ip = test_config();
    per_ip.max_connections_per_ip = 3;
    let mut total = test_config();
    total.max_connections = 3;
    let mut players = test_config();
    players.max_players = 3;
    for (config, flag) in [
        (per_ip, "--max-connections-per-ip"),
        (total, "--max-connections"),
        (players, "--max-players"),
    ] {
        let (failed, hints) = refused_by(config, 5).await;
        eprintln!("{flag}: {hints:?}");
        assert_eq!(failed, 2, "two of five bots are over the cap of three");
        assert_eq!(hints.len(), 1, "one hint for the run: {hints:?}");
        let (named, hint) = &hints[0];
        assert_eq!(*named, flag, "{hint}");
        assert!(hint.contains(&format!("{flag} 5")), "the flag with a value for all: {hint}");
        assert!(hint.starts_with("2 of 5 bot(s) refused"), "{hint}");
    }
}
