//! A short soak: a couple of hundred bots play for a while against the real server binary;
//! after warm-up its memory, open descriptors and live tasks must stay flat. The long version is the same
//! with more bots and minutes: `SKIRMISH_SOAK_SECS=600 SKIRMISH_SOAK_BOTS=300 cargo test
//! --release -p server --test it soak -- --nocapture`.

use std::net::SocketAddr;
use std::time::Duration;

use bots::behavior::Behavior;
use bots::run::{RunConfig, run};

use crate::harness::{ProcessServer, http_get, metric_in};

/// (RSS bytes, open file descriptors, live tasks) of the server process.
async fn figures(addr: SocketAddr) -> (f64, f64, f64) {
    let (_, text) = http_get(addr, "/metrics", "").await;
    let value = |name: &str| metric_in(&text, name);
    (value("process_resident_memory_bytes"), value("process_open_fds"), value("skirmish_tasks"))
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_descriptors_stay_flat_under_steady_play() {
    let secs = env_or("SKIRMISH_SOAK_SECS", 40);
    let count = env_or("SKIRMISH_SOAK_BOTS", 150) as usize;
    let server = ProcessServer::start(&["--max-players", "1000", "--view-radius", "900"]);
    let addr = server.addr;
    // Allocator pools settle while churn fills them: judge drift over the last 40 % of the run,
    // comparing the medians of the samples in its first and second halves (a single sample
    // can land on a burst of reconnects; a leak moves the median).
    let warm_up = Duration::from_secs((secs * 3 / 5).max(5));
    let sampler = tokio::spawn(async move {
        tokio::time::sleep(warm_up + Duration::from_secs(2)).await;
        let until = tokio::time::Instant::now()
            + Duration::from_secs(secs).saturating_sub(warm_up + Duration::from_secs(3));
        let mut samples = Vec::new();
        while tokio::time::Instant::now() < until {
            samples.push(figures(addr).await);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        samples.push(figures(addr).await);
        let median = |part: &[(f64, f64, f64)]| {
            let pick = |field: fn(&(f64, f64, f64)) -> f64| {
                let mut values: Vec<f64> = part.iter().map(field).collect();
                values.sort_by(f64::total_cmp);
                values[values.len() / 2]
            };
            (pick(|f| f.0), pick(|f| f.1), pick(|f| f.2))
        };
        let (first, second) = samples.split_at(samples.len() / 2);
        (median(first), median(second))
    });
    let report = run(RunConfig {
        url: server.ws_url(),
        count,
        duration: Duration::from_secs(secs),
        ramp_per_s: 200.0,
        behavior: Behavior::Chatty,
        seed: 11,
        input_hz: None,
        churn_per_min: 2.0,
        storm_at: None,
        progress: false,
        scrape_server: true,
        full_netcode: usize::MAX,
        rooms: 1,
    })
    .await
    .expect("the soak run completes");
    let ((rss_warm, fds_warm, tasks_warm), (rss_end, fds_end, tasks_end)) =
        sampler.await.expect("sampler");
    let drift = (rss_end - rss_warm) / rss_warm;
    println!(
        "soak: {count} bots for {secs} s with churn: RSS {:.1} → {:.1} MB ({:+.1} %), open fds {fds_warm} → {fds_end}, tasks {tasks_warm} → {tasks_end}; delivery {:.3}, reconnects {}",
        rss_warm / 1e6,
        rss_end / 1e6,
        drift * 100.0,
        report.snapshot_delivery,
        report.reconnects
    );
    assert_eq!((report.failed, report.dropped), (0, 0), "nobody failed or was dropped");
    assert!(drift < 0.05, "RSS drifts less than 5 % after warm-up: {:+.1} %", drift * 100.0);
    assert!((fds_end - fds_warm).abs() <= 10.0, "descriptors stay flat: {fds_warm} → {fds_end}");
    assert!((tasks_end - tasks_warm).abs() <= 10.0, "tasks stay flat: {tasks_warm} → {tasks_end}");
}
