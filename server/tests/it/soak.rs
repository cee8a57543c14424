//! A short soak: bots play against the real server binary in three equal rounds with churn,
//! and after the first, the server must come back to the same memory, descriptors and tasks
//! after each round. The
//! long version is the same with more bots and minutes: `SKIRMISH_SOAK_SECS=600
//! SKIRMISH_SOAK_BOTS=300 cargo test --release -p server --test it soak -- --nocapture`.
//!
//! Why rounds and quiet points rather than samples during play: while players are connected,
//! RSS follows the machine's load (a slow bot process leaves frames queued on the server), so
//! on a busy CI machine samples moved by 10 % with no leak. Once everyone has left and their
//! seats expired, what stays is what the server keeps; a leak per connection or per reconnect
//! shows as the second round's quiet point standing above the first's.

use std::net::SocketAddr;
use std::time::Duration;

use bots::behavior::Behavior;
use bots::run::{RunConfig, run};

use crate::harness::{ProcessServer, http_get, metric_in};

/// What the server holds when nobody plays.
#[derive(Debug, Clone, Copy)]
struct Quiet {
    rss: f64,
    fds: f64,
    tasks: f64,
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Waits until no socket is open and no seat is held, then takes the median of a few samples.
async fn quiet_point(addr: SocketAddr) -> Quiet {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, text) = http_get(addr, "/metrics", "").await;
        let idle = metric_in(&text, "skirmish_players") == 0.0
            && metric_in(&text, "skirmish_connections") == 0.0;
        if idle {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "players and sockets drain after a round");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Let freed pages go back (mimalloc purges after a short delay) and closing tasks finish.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut samples = Vec::new();
    for _ in 0..5 {
        let (_, text) = http_get(addr, "/metrics", "").await;
        let value = |name: &str| metric_in(&text, name);
        samples.push(Quiet {
            rss: value("process_resident_memory_bytes"),
            fds: value("process_open_fds"),
            tasks: value("skirmish_tasks"),
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let median = |field: fn(&Quiet) -> f64| {
        let mut values: Vec<f64> = samples.iter().map(field).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    Quiet { rss: median(|q| q.rss), fds: median(|q| q.fds), tasks: median(|q| q.tasks) }
}

async fn round(url: String, count: usize, secs: u64, seed: u64) -> bots::stats::Report {
    let report = run(RunConfig {
        url,
        count,
        duration: Duration::from_secs(secs),
        ramp_per_s: 200.0,
        behavior: Behavior::Chatty,
        seed,
        input_hz: None,
        churn_per_min: 4.0,
        storm_at: None,
        progress: false,
        scrape_server: true,
        full_netcode: usize::MAX,
        placement: bots::run::Placement::Default,
    })
    .await
    .expect("the soak round completes");
    assert_eq!((report.failed, report.dropped), (0, 0), "nobody failed or was dropped");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_descriptors_come_back_after_each_round_of_play() {
    let secs = env_or("SKIRMISH_SOAK_SECS", 45);
    let count = env_or("SKIRMISH_SOAK_BOTS", 150) as usize;
    let server = ProcessServer::start(&[
        "--max-players",
        "1000",
        "--view-radius",
        "900",
        "--resume-grace-secs",
        "2",
    ]);
    let addr = server.addr;
    // The first round fills the allocator's pools, the room's tables and the database's page
    // cache; the next two, equal ones must leave nothing more behind.
    round(server.ws_url(), count, secs / 3, 10).await;
    quiet_point(addr).await;
    let first = round(server.ws_url(), count, secs / 3, 11).await;
    let warm = quiet_point(addr).await;
    let second = round(server.ws_url(), count, secs / 3, 12).await;
    let end = quiet_point(addr).await;
    let drift = (end.rss - warm.rss) / warm.rss;
    println!(
        "soak: 2 rounds (after one to warm up) of {count} bots for {} s with churn: quiet RSS {:.1} → {:.1} MB ({:+.1} %), open fds {} → {}, tasks {} → {}; delivery {:.3}/{:.3}, reconnects {}/{}",
        secs / 3,
        warm.rss / 1e6,
        end.rss / 1e6,
        drift * 100.0,
        warm.fds,
        end.fds,
        warm.tasks,
        end.tasks,
        first.snapshot_delivery,
        second.snapshot_delivery,
        first.reconnects,
        second.reconnects
    );
    assert!(second.reconnects > 0, "the round had churn to leak from");
    assert!(
        drift < 0.05,
        "quiet RSS stays within 5 % from round to round: {:+.1} %",
        drift * 100.0
    );
    assert!((end.fds - warm.fds).abs() <= 2.0, "descriptors come back: {} → {}", warm.fds, end.fds);
    assert!(
        (end.tasks - warm.tasks).abs() <= 2.0,
        "tasks come back: {} → {}",
        warm.tasks,
        end.tasks
    );
}
