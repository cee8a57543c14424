//! The cluster row of `cargo xtask bench`: three release server processes sharing one private
//! `redis-server` (all servers pinned to core 0 when pinning, the bots to core 1), and 900 bots
//! quick-playing through the first process's lobby, so they land in rooms on all three. It
//! reports the bots' join latency (quick play asked → `Welcome`, which includes the Redis
//! round trips and, for a seat elsewhere, the join ticket's second hop), and per join the
//! processes' round trips to Redis and the commands Redis ran (a Lua script's inner commands
//! count there), with the heartbeats' own rates measured while idle and taken out.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procs::{PORT, ServerProcess, pinned, wait_for_port};

const PROCESSES: u16 = 3;
pub(crate) const PER_PROCESS: usize = 300;
const REDIS_PORT: u16 = PORT + 9;
/// Long enough to see several heartbeats of every process.
const IDLE: Duration = Duration::from_secs(4);

/// Runs the row and returns the bots' report with `redis_ops_per_join`,
/// `redis_round_trips_per_join` and `redis_idle_ops_per_s` added.
pub(crate) fn run(duration: f64, pin: bool) -> anyhow::Result<String> {
    let count = usize::from(PROCESSES) * PER_PROCESS;
    println!("\n== cluster: {PROCESSES} processes, {count} bots quick-playing through the first");
    let redis = Command::new("redis-server")
        .args(["--port", &REDIS_PORT.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "no", "--loglevel", "warning"])
        .stdout(Stdio::null())
        .spawn()
        .context("starting redis-server (Debian's redis-server package)")?;
    let _redis = ServerProcess(redis);
    wait_for_port(REDIS_PORT)?;
    let data = std::env::temp_dir().join(format!("skirmish-bench-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut servers = Vec::new();
    for index in 1..=PROCESSES {
        let port = PORT + index;
        let mut server = pinned(pin, "0", "target/release/skirmish-server");
        server
            .args(["--bind", &format!("127.0.0.1:{port}"), "--map", "assets/maps/open.json"])
            .arg("--data-dir")
            .arg(data.join(index.to_string()))
            .args(["--redis-url", &format!("redis://127.0.0.1:{REDIS_PORT}/")])
            .args(["--session-secret", "bench", "--process-id", &format!("bench-{index}")])
            .args(["--max-connections", "2000", "--max-connections-per-ip", "2000"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        servers.push(ServerProcess(server.spawn().context("starting a server")?));
        wait_for_port(port)?;
    }
    let idle_start = (Instant::now(), commands()?, round_trips());
    std::thread::sleep(IDLE);
    let idle_secs = idle_start.0.elapsed().as_secs_f64();
    let idle_rate = (commands()? - idle_start.1) as f64 / idle_secs;
    let idle_trips = (round_trips() - idle_start.2) as f64 / idle_secs;

    let mut bots = pinned(pin, "1", "target/release/bots");
    bots.args(["--url", &format!("ws://127.0.0.1:{}/ws", PORT + 1), "--count", &count.to_string()])
        .args(["--duration", &duration.to_string(), "--ramp", "150", "--behavior", "wander"])
        .arg("--quick-play")
        .stderr(Stdio::inherit());
    println!("$ {}", crate::cmd::describe(&bots));
    let start = (Instant::now(), commands()?, round_trips());
    let output = bots.output().context("running the bots")?;
    let elapsed = start.0.elapsed().as_secs_f64();
    let used = (commands()? - start.1) as f64 - idle_rate * elapsed;
    let trips = (round_trips() - start.2) as f64 - idle_trips * elapsed;
    drop(servers);
    let line =
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_string();
    let mut report: serde_json::Value = serde_json::from_str(&line)
        .with_context(|| format!("the bots printed no report (exit {}): {line}", output.status))?;
    let joins =
        report["connected"].as_f64().unwrap_or(0.0) + report["rejoins"].as_f64().unwrap_or(0.0);
    if joins == 0.0 {
        bail!("no bot joined: {line}");
    }
    report["redis_ops_per_join"] = (used.max(0.0) / joins).into();
    report["redis_round_trips_per_join"] = (trips.max(0.0) / joins).into();
    report["redis_idle_ops_per_s"] = idle_rate.into();
    let _ = std::fs::remove_dir_all(&data);
    Ok(report.to_string())
}

/// Round trips to Redis of all three processes (`skirmish_cluster_redis_calls_total`).
fn round_trips() -> u64 {
    (1..=PROCESSES)
        .filter_map(|index| {
            let mut stream = TcpStream::connect(("127.0.0.1", PORT + index)).ok()?;
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            stream.write_all(request).ok()?;
            let mut text = String::new();
            stream.read_to_string(&mut text).ok()?;
            text.lines()
                .find_map(|line| line.strip_prefix("skirmish_cluster_redis_calls_total "))
                .and_then(|value| value.trim().parse::<u64>().ok())
        })
        .sum()
}

/// Redis's `total_commands_processed`, commands inside Lua scripts included (our own `INFO`
/// counts too: one per call).
fn commands() -> anyhow::Result<u64> {
    let mut stream = TcpStream::connect(("127.0.0.1", REDIS_PORT)).context("reaching redis")?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"INFO stats\r\n")?;
    let mut text = String::new();
    let mut buffer = [0u8; 8192];
    while !text.contains("total_commands_processed:") || !text.ends_with("\r\n") {
        let read = stream.read(&mut buffer).context("reading INFO")?;
        if read == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    text.lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|value| value.trim().parse().ok())
        .context("INFO stats has total_commands_processed")
}
