//! The floor rows of `cargo xtask bench`: the bench's message pattern with nothing else (the
//! `floor` binary of the bots crate: raw TCP on loopback, one tokio task per connection, one
//! write and one read per client per send on each side; no WebSocket, no game), pinned as the
//! bench pins the server and the bots. What each end costs per client-second there is the most
//! any server or bots built this way can save on this machine: the bars (server 200 and
//! 250 core-µs per player-second, 4,000 bots per core) are judged against it.

use std::io::Write;
use std::process::Stdio;

use anyhow::{Context, bail};

use crate::procs::{PORT, pinned};
use crate::report::{field, serde_line};

/// One pattern: connections, messages a second each way, bytes of an input message and of a
/// send tick's downstream (the byte bars over the send rate).
pub(crate) struct Pattern {
    pub(crate) name: &'static str,
    pub(crate) count: usize,
    pub(crate) hz: u16,
    pub(crate) up: usize,
    pub(crate) down: usize,
}

/// Arena-default at `count` (30 Hz each way, 3,000 B/s down) and arena-full at `full_at`
/// (20 Hz, 9,000 B/s down, three commands per input message).
pub(crate) fn patterns(count: usize, full_at: usize) -> [Pattern; 2] {
    [
        Pattern { name: "floor-default", count, hz: 30, up: 24, down: 3_000 / 30 },
        Pattern { name: "floor-full", count: full_at, hz: 20, up: 40, down: 9_000 / 20 },
    ]
}

/// A pattern with its serving end's and loading end's reports.
pub(crate) type Floor = (Pattern, String, String);

/// Runs each pattern for `secs`, writing both reports to `results` as JSON lines.
pub(crate) fn run_rows(
    patterns: [Pattern; 2],
    secs: f64,
    pin: bool,
    results: &mut impl Write,
) -> anyhow::Result<Vec<Floor>> {
    let mut floors = Vec::new();
    for pattern in patterns {
        let (served, loaded) = run(&pattern, secs, pin)?;
        writeln!(results, "{}", serde_line(pattern.name, pattern.count, &served))?;
        let load_name = format!("{}-load", pattern.name);
        writeln!(results, "{}", serde_line(&load_name, pattern.count, &loaded))?;
        floors.push((pattern, served, loaded));
    }
    Ok(floors)
}

/// One line per pattern: each end's core-µs per client-second, and the loading end's clients
/// per core.
pub(crate) fn print(floors: &[Floor]) {
    for (pattern, served, loaded) in floors {
        let serving = field(served, "us_per_client_s");
        let loading = field(loaded, "us_per_client_s");
        println!(
            "{} (the message pattern alone: raw TCP, one task per connection, no WebSocket, no game): {} clients at {} Hz, serving end {serving:.0} core-µs per client-second, loading end {loading:.0} ({:.0} clients per core)",
            pattern.name,
            pattern.count,
            pattern.hz,
            1e6 / loading.max(1.0),
        );
    }
}

/// Runs one pattern for `secs`; returns the serving end's and the loading end's reports.
fn run(pattern: &Pattern, secs: f64, pin: bool) -> anyhow::Result<(String, String)> {
    println!(
        "\n== {}: {} connections, {} Hz, {} B up, {} B down",
        pattern.name, pattern.count, pattern.hz, pattern.up, pattern.down
    );
    let addr = format!("127.0.0.1:{PORT}");
    let common = |command: &mut std::process::Command| {
        command.args(["--count", &pattern.count.to_string()]).args([
            "--hz",
            &pattern.hz.to_string(),
            "--secs",
            &secs.to_string(),
        ]);
    };
    let mut serve = pinned(pin, "0", "target/release/floor");
    serve.args(["serve", "--bind", &addr, "--down", &pattern.down.to_string()]);
    common(&mut serve);
    let mut server = serve.stdout(Stdio::piped()).spawn().context("starting floor serve")?;
    // The loading end retries its first connection until the serving end listens.
    let mut load = pinned(pin, "1", "target/release/floor");
    load.args(["load", "--addr", &addr, "--up", &pattern.up.to_string()]);
    common(&mut load);
    let loaded = match load.output() {
        Ok(loaded) if loaded.status.success() => loaded,
        failed => {
            let _ = server.kill();
            let _ = server.wait();
            bail!("floor load failed: {failed:?}");
        }
    };
    // The serving end stops by itself after its window.
    let served = server.wait_with_output().context("waiting for floor serve")?;
    let last = |bytes: &[u8]| String::from_utf8_lossy(bytes).lines().last().map(str::to_owned);
    match (last(&served.stdout), last(&loaded.stdout)) {
        (Some(served), Some(loaded)) => Ok((served, loaded)),
        _ => bail!("the floor printed no report (serve exit {})", served.status),
    }
}
