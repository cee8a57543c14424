//! A short bot run against a real server: every bot connects, snapshots arrive at the rate,
//! and the JSON report holds sane figures (the long benchmark is `cargo xtask bench`).

use std::time::Duration;

use bots::behavior::Behavior;
use bots::run::{RunConfig, run};

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_play_for_a_few_seconds() {
    let server = TestServer::start().await;
    let config = RunConfig {
        url: server.ws_url(),
        count: 20,
        duration: Duration::from_secs(4),
        ramp_per_s: 40.0,
        behavior: Behavior::Chatty,
        seed: 7,
        input_hz: None,
        churn_per_min: 0.0,
        storm_at: None,
        progress: false,
        scrape_server: true,
        full_netcode: usize::MAX,
        placement: bots::run::Placement::Default,
        spectators: 0,
    };
    let report = run(config).await.expect("the run completes");
    let line = serde_json::to_string(&report).expect("report encodes");
    println!("{line}");
    let json: serde_json::Value = serde_json::from_str(&line).expect("the report line is JSON");
    assert_eq!(json["connected"], 20, "every bot connected");
    assert_eq!(
        (json["failed"].as_u64(), json["dropped"].as_u64()),
        (Some(0), Some(0)),
        "no failures: {json}"
    );
    assert_eq!(json["expected_snapshot_hz"], 30.0, "30 Hz server");
    let delivery = json["snapshot_delivery"].as_f64().expect("number");
    assert!(delivery >= 0.9, "snapshots at >= 90 % of the rate: {delivery}");
    let p50 = json["input_latency_ms"]["p50"].as_f64().expect("number");
    let p99 = json["input_latency_ms"]["p99"].as_f64().expect("number");
    assert!(
        p50 > 0.0 && p50 <= p99 && p99 < 1000.0,
        "input latency is positive and ordered: {p50} <= {p99}"
    );
    assert!(json["rtt_ms"]["p50"].as_f64().expect("number") > 0.0, "pings were answered");
    assert!(
        json["rx_bytes_per_client_per_s"].as_f64().expect("number") > 100.0,
        "snapshots carry bytes"
    );
    let steady = |key: &str| json[key].as_f64().expect("number");
    assert!(
        steady("steady_rx_snapshot_bytes_per_client_per_s") > 100.0
            && steady("steady_rx_bytes_per_client_per_s")
                >= steady("steady_rx_snapshot_bytes_per_client_per_s")
                    + steady("steady_rx_event_bytes_per_client_per_s"),
        "the steady part is counted too, snapshots and events within the whole: {json}"
    );
    // Every bot predicts here: the rate is the count over 20 bots' seconds of play.
    let corrections = json["prediction_corrections"].as_u64().expect("number");
    let per_client_s = steady("prediction_corrections_per_client_s");
    assert!(
        (corrections == 0) == (per_client_s == 0.0) && per_client_s <= corrections as f64 / 20.0,
        "corrections per client-second follow the count: {json}"
    );
    assert!(json["server_rss_mb"].as_f64().expect("number") > 1.0, "server RSS read from /metrics");
    assert!(
        json["server_tick_hz"].as_f64().expect("number") > 25.0,
        "the server ticked at about 30 Hz: {json}"
    );
    server.shutdown().await.expect("clean shutdown");
}
