//! `cargo xtask bench`: how many players one core holds.
//!
//! Builds release binaries, starts the server pinned to core 0 and the bots pinned to core 1
//! (when there are two or more cores), runs the arena workload (DESIGN.md §8: 4000×4000 open
//! map, bots wandering and firing) for each N, then the arena-full workload (60 Hz simulation,
//! 20 Hz snapshots, 20 Hz inputs, every client sent every player) and the full-world mode
//! (arena-default with `--full-snapshots`: no interest management, no delta encoding) at one N,
//! and arena-default spread over 4 rooms of 250 players (beside one room of 250), prints a
//! table with the server's core-microseconds per player-second and the bots per core, writes the JSON lines to `bench-results/`, names the capacity and the limiting
//! side, and prints the bandwidth ratio of the full-world mode to the default one. Last, the
//! cluster row (`cluster_bench`): three processes and Redis, 900 bots through the lobby.
//! The spectators row runs arena-default at N=200 again with 200 spectators beside the
//! players and prints the server's CPU both ways (`--only spectators` runs just that pair).
//! The replays row runs N=200 with the recorder off (`--replay-keep 0`) and prints what the
//! recorder adds per tick and the bytes it writes per player-minute (`--only replays`).
//! The floor rows (`floor_bench`, `--only floor`) run the arena-default and arena-full message
//! patterns with nothing else: what the syscalls and task wake-ups alone cost per client.

use std::io::Write as _;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::cmd::run as sh;
use crate::procs::{PORT, ServerProcess, pinned, wait_for_port};
use crate::report::{field, serde_line};

struct Options {
    counts: Vec<usize>,
    duration: f64,
    full_at: usize,
    /// `--only cluster`, `spectators`, `replays` or `floor`: just that row (with its baseline).
    only: Option<String>,
}

/// What `cargo xtask bench --help` prints.
const USAGE: &str = "\
usage: cargo xtask bench [--counts 100,250,500,1000] [--duration 20] [--full-at 200]
                         [--only cluster|spectators|replays|floor]

  --counts N,N,...  players in the arena-default rows (one room, bots wandering and firing)
  --duration S      seconds of play after the ramp (the bots join at N/5 a second)
  --full-at N       players in the arena-full row (60 Hz, everyone sees everyone) and the
                    full-world row (no interest management, no deltas)
  --only ROW        just the cluster, spectators or replays row, with its baseline, or
                    the floor rows (the message pattern alone: raw TCP, no game)

Release builds; the server runs on core 0 and the bots on core 1. The table goes to stdout,
each row's JSON report to bench-results/.
";

/// The options, or `None` when help was asked for.
fn parse(args: &[String]) -> anyhow::Result<Option<Options>> {
    let mut options =
        Options { counts: vec![100, 250, 500, 1000], duration: 20.0, full_at: 200, only: None };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if ["--help", "-h", "help"].contains(&flag.as_str()) {
            return Ok(None);
        }
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--counts" => {
                options.counts = value
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()
                    .context("--counts: a list like 100,250")?;
            }
            "--duration" => options.duration = value.parse().context("--duration: seconds")?,
            "--full-at" => options.full_at = value.parse().context("--full-at: a player count")?,
            "--only" if ["cluster", "spectators", "replays", "floor"].contains(&value.as_str()) => {
                options.only = Some(value.clone());
            }
            other => bail!(
                "unknown flag {other} {value} (--counts, --duration, --full-at, --only cluster|spectators|replays|floor)"
            ),
        }
    }
    Ok(Some(options))
}

struct Workload {
    name: &'static str,
    server_flags: Vec<String>,
    bot_flags: Vec<String>,
    /// Spectator connections beside the bots.
    spectators: usize,
}

fn arena_default() -> Workload {
    Workload { name: "arena-default", server_flags: vec![], bot_flags: vec![], spectators: 0 }
}

/// Players and spectators in the spectators row.
const SPECTATED: usize = 200;
const SPECTATORS: usize = 200;

/// arena-default with [`SPECTATORS`] spectators watching, their cameras panning over the map.
fn spectated() -> Workload {
    Workload {
        name: "spectators",
        server_flags: vec!["--max-spectators".into(), SPECTATORS.to_string()],
        bot_flags: vec!["--spectators".into(), SPECTATORS.to_string()],
        spectators: SPECTATORS,
    }
}

/// arena-default with the replay recorder off: the baseline for what recording costs.
fn no_replays() -> Workload {
    Workload {
        name: "no-replays",
        server_flags: vec!["--replay-keep".into(), "0".into()],
        bot_flags: vec![],
        spectators: 0,
    }
}

fn arena_full() -> Workload {
    Workload {
        name: "arena-full",
        server_flags: ["--tick-hz", "60", "--send-hz", "20", "--view-radius", "0"]
            .map(String::from)
            .to_vec(),
        bot_flags: ["--input-hz", "20"].map(String::from).to_vec(),
        spectators: 0,
    }
}

/// Rooms in the many-rooms row, and players in each.
const ROOMS: usize = 4;
const PER_ROOM: usize = 250;

/// arena-default in [`ROOMS`] rooms of [`PER_ROOM`] players each: rooms are independent tasks,
/// so the server's CPU should be about that many times one room's and no tick slower.
fn many_rooms() -> Workload {
    Workload {
        name: "4-rooms",
        server_flags: vec![],
        bot_flags: vec!["--rooms".into(), ROOMS.to_string()],
        spectators: 0,
    }
}

fn full_world() -> Workload {
    Workload {
        name: "full-world",
        server_flags: vec!["--full-snapshots".into()],
        bot_flags: vec![],
        spectators: 0,
    }
}

pub(crate) fn bench(args: &[String]) -> anyhow::Result<()> {
    let Some(options) = parse(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    sh(Command::new("cargo").args([
        "build",
        "--release",
        "--locked",
        "-p",
        "server",
        "-p",
        "bots",
    ]))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cores >= 2 && Command::new("taskset").arg("--version").output().is_ok();
    println!(
        "{} cores; {}",
        cores,
        if pin { "server on core 0, bots on core 1" } else { "no pinning" }
    );

    std::fs::create_dir_all("bench-results")?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let results_path = format!("bench-results/bench-{stamp}.jsonl");
    let mut results_file = std::fs::File::create(&results_path)?;
    let mut rows = Vec::new();
    for (name, count) in runs(&options) {
        let workload = match name {
            "arena-full" => arena_full(),
            "full-world" => full_world(),
            "4-rooms" => many_rooms(),
            "spectators" => spectated(),
            "no-replays" => no_replays(),
            _ => arena_default(),
        };
        let report = run_one(&workload, count, options.duration, pin)?;
        writeln!(results_file, "{}", serde_line(name, count, &report))?;
        rows.push((name, count, report));
    }
    if matches!(options.only.as_deref(), Some("spectators" | "replays")) {
        print_table(&rows, options.duration);
        println!("results: {results_path}");
        return Ok(());
    }
    let floors = match options.only.as_deref() {
        None | Some("floor") => {
            let largest = options.counts.iter().copied().max().unwrap_or(options.full_at);
            let patterns = crate::floor_bench::patterns(largest, options.full_at);
            crate::floor_bench::run_rows(patterns, options.duration, pin, &mut results_file)?
        }
        _ => Vec::new(),
    };
    if options.only.as_deref() == Some("floor") {
        crate::floor_bench::print(&floors);
        println!("results: {results_path}");
        return Ok(());
    }
    let cluster = crate::cluster_bench::run(options.duration, pin)?;
    writeln!(results_file, "{}", serde_line("cluster-3x300", 900, &cluster))?;
    rows.push(("cluster-3x300", 900, cluster.clone()));
    print_table(&rows, options.duration);
    crate::floor_bench::print(&floors);
    println!(
        "cluster (3 processes x {}, quick play through one lobby): join p50 {:.1} ms, p99 {:.1} ms; per join {:.1} round trips to Redis, {:.1} commands run there (heartbeats apart: {:.1} commands/s idle); srv cpu is the first process's",
        crate::cluster_bench::PER_PROCESS,
        field(&cluster, "join_ms.p50"),
        field(&cluster, "join_ms.p99"),
        field(&cluster, "redis_round_trips_per_join"),
        field(&cluster, "redis_ops_per_join"),
        field(&cluster, "redis_idle_ops_per_s"),
    );
    println!("results: {results_path}");
    Ok(())
}

/// The rows to run, in order: arena-default at each count (and at the arena-full count, one
/// room's 250 and the spectators' 200 for comparison), then arena-full, full-world, 4 rooms,
/// spectators and no-replays; or just what `--only` asks for.
fn runs(options: &Options) -> Vec<(&'static str, usize)> {
    let mut runs: Vec<(&'static str, usize)> =
        options.counts.iter().map(|n| ("arena-default", *n)).collect();
    if !options.counts.contains(&options.full_at) {
        runs.push(("arena-default", options.full_at));
    }
    runs.push(("arena-full", options.full_at));
    runs.push(("full-world", options.full_at));
    if !options.counts.contains(&PER_ROOM) {
        runs.push(("arena-default", PER_ROOM));
    }
    runs.push(("4-rooms", ROOMS * PER_ROOM));
    if !options.counts.contains(&SPECTATED) && options.full_at != SPECTATED {
        runs.push(("arena-default", SPECTATED));
    }
    runs.push(("spectators", SPECTATED));
    runs.push(("no-replays", SPECTATED));
    match options.only.as_deref() {
        Some("cluster" | "floor") => runs.clear(),
        Some("replays") => runs = vec![("arena-default", SPECTATED), ("no-replays", SPECTATED)],
        Some(_) => runs = vec![("arena-default", SPECTATED), ("spectators", SPECTATED)],
        None => {}
    }
    runs
}

fn run_one(workload: &Workload, count: usize, duration: f64, pin: bool) -> anyhow::Result<String> {
    println!("\n== {} with {count} bots for {duration} s", workload.name);
    let mut server = pinned(pin, "0", "target/release/skirmish-server");
    // Each run's profiles (one per bot connection) go to a throw-away database, not the
    // player's `data/`.
    let data_dir = std::env::temp_dir().join(format!("skirmish-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    server
        .args(["--bind", &format!("127.0.0.1:{PORT}"), "--map", "assets/maps/open.json"])
        .arg("--data-dir")
        .arg(&data_dir)
        .args([
            "--max-players",
            &(count + 16).to_string(),
            "--max-connections",
            &(count + workload.spectators + 64).to_string(),
            "--max-connections-per-ip",
            &(count + workload.spectators + 64).to_string(),
        ])
        .args(&workload.server_flags)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    let mut server = ServerProcess(server.spawn().context("starting the server")?);
    wait_for_port(PORT)?;
    let ramp = (count as f64 / 5.0).max(100.0);
    let mut bots = pinned(pin, "1", "target/release/bots");
    bots.args(["--url", &format!("ws://127.0.0.1:{PORT}/ws"), "--count", &count.to_string()])
        .args([
            "--duration",
            &duration.to_string(),
            "--ramp",
            &ramp.to_string(),
            "--behavior",
            "wander",
        ])
        .args(&workload.bot_flags)
        .stderr(Stdio::inherit());
    println!("$ {}", crate::cmd::describe(&bots));
    let output = bots.output().context("running the bots")?;
    let report =
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_string();
    // Stopping finishes the room's replay: what it wrote is on disk then.
    server.stop();
    if report.is_empty() {
        bail!("the bots printed no report (exit {})", output.status);
    }
    let mut report: serde_json::Value =
        serde_json::from_str(&report).context("the bots' report is not JSON")?;
    report["replay_bytes"] = folder_bytes(&data_dir.join("replays")).into();
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(report.to_string())
}

/// The bytes of the files in `dir` (0 when it does not exist).
fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn print_table(rows: &[(&str, usize, String)], duration: f64) {
    let verdicts = print_rows(rows);
    print_capacity(verdicts);
    print_rooms_against_one(rows);
    print_bandwidth_ratio(rows);
    print_spectators(rows);
    print_recorder(rows, duration);
}

/// What recording replays costs: the tick and the CPU with and without the recorder, and the
/// file's bytes per player-minute of play.
fn print_recorder(rows: &[(&str, usize, String)], duration: f64) {
    let off = rows.iter().find(|(name, ..)| *name == "no-replays");
    let on = off
        .and_then(|(_, n, _)| rows.iter().find(|(name, m, _)| *name == "arena-default" && m == n));
    if let (Some((_, n, off)), Some((_, _, on))) = (off, on) {
        let tick_hz = field(on, "server_tick_hz").max(1.0);
        let per_tick_us = |report: &str| field(report, "server_cpu_per_s") * 1e6 / tick_hz;
        let player_minutes = *n as f64 * duration / 60.0;
        println!(
            "replays: {n} players, recorder on / off: server cpu {:.3} / {:.3} ({:+.1} µs per tick), tick p99 {:.2} / {:.2} ms; {:.0} bytes on disk per player-minute ({} bytes for {player_minutes:.0} player-minutes)",
            field(on, "server_cpu_per_s"),
            field(off, "server_cpu_per_s"),
            per_tick_us(on) - per_tick_us(off),
            field(on, "server_tick_ms.p99"),
            field(off, "server_tick_ms.p99"),
            field(on, "replay_bytes") / player_minutes.max(1e-9),
            field(on, "replay_bytes"),
        );
    }
}

/// What spectators cost: the server's CPU with and without them beside the same players.
fn print_spectators(rows: &[(&str, usize, String)]) {
    let with = rows.iter().find(|(name, ..)| *name == "spectators");
    let without = with
        .and_then(|(_, n, _)| rows.iter().find(|(name, m, _)| *name == "arena-default" && m == n));
    if let (Some((_, n, with)), Some((_, _, without))) = (with, without) {
        let (cpu_with, cpu_without) =
            (field(with, "server_cpu_per_s"), field(without, "server_cpu_per_s"));
        let watching = field(with, "spectators");
        println!(
            "spectators: {watching} watching {n} players: server cpu {cpu_without:.3} without, {cpu_with:.3} with; core-µs per player-second {:.0} without, {:.0} with; per spectator-second {:.0}; each spectator {:.0} B/s, {:.1} % of snapshots delivered; players' delivery {:.1} % with, {:.1} % without",
            cpu_without * 1e6 / *n as f64,
            cpu_with * 1e6 / *n as f64,
            (cpu_with - cpu_without) * 1e6 / watching.max(1.0),
            field(with, "spectator_rx_bytes_per_s"),
            field(with, "spectator_snapshot_delivery") * 100.0,
            field(with, "snapshot_delivery") * 100.0,
            field(without, "snapshot_delivery") * 100.0,
        );
    }
}

/// One arena-default run's verdict: N, why it missed the bar (empty when it met it), and which
/// core was busier.
type Verdict = (usize, String, String);

/// The table itself; returns the arena-default rows' verdicts.
fn print_rows(rows: &[(&str, usize, String)]) -> Vec<Verdict> {
    println!(
        "\n{:<14} {:>6} {:>9} {:>10} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "workload",
        "N",
        "delivery",
        // Bytes per client per second: over the steady part (after the ramp, as every server
        // figure), and over whole connections (the ramp's joins included).
        "rx steady",
        "rx all",
        "lat p50",
        "lat p99",
        // The server's own part: from reading an input to writing its acknowledgement.
        "srv ans99",
        // Prediction corrections per second of a bot that predicts (the full-netcode ones).
        "corr/s",
        "tick p99",
        "srv cpu",
        "rss MB",
        "MB/pl",
        "bot cpu",
        "µs/pl·s",
        "bots/core"
    );
    let mut verdicts = Vec::new();
    for (name, count, report) in rows {
        let delivery = field(report, "snapshot_delivery");
        let p99 = field(report, "input_latency_ms.p99");
        let tick_hz = field(report, "server_tick_hz").max(1.0);
        let rtt = field(report, "rtt_ms.p50");
        let rss = field(report, "server_rss_mb");
        let server_cpu = field(report, "server_cpu_per_s");
        let bots_cpu = field(report, "bots_cpu_per_s");
        println!(
            "{:<14} {:>6} {:>8.1}% {:>10.0} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>8.3} {:>9.2} {:>9.2} {:>8.1} {:>8.3} {:>8.2} {:>8.0} {:>9.0}",
            name,
            count,
            delivery * 100.0,
            field(report, "steady_rx_bytes_per_client_per_s"),
            field(report, "rx_bytes_per_client_per_s"),
            field(report, "input_latency_ms.p50"),
            p99,
            field(report, "server_answer_ms.p99"),
            field(report, "prediction_corrections_per_client_s"),
            field(report, "server_tick_ms.p99"),
            server_cpu,
            rss,
            rss / *count as f64,
            bots_cpu,
            // Server core-microseconds per player-second: the operator's bill per player.
            server_cpu * 1e6 / *count as f64,
            // Bots one core of the load generator runs.
            *count as f64 / bots_cpu.max(1e-9),
        );
        if *name == "arena-default" {
            let bar = 2.0 * 1000.0 / tick_hz + rtt;
            let why = match (delivery >= 0.95, p99 < bar) {
                (true, true) => String::new(),
                (false, _) => format!("snapshots delivered {:.1} % < 95 %", delivery * 100.0),
                (true, false) => format!("input latency p99 {p99:.1} ms >= {bar:.1} ms"),
            };
            let side = if server_cpu >= bots_cpu { "the server's core" } else { "the bots' core" };
            verdicts.push((
                *count,
                why,
                format!("{side} (server cpu {server_cpu:.2}, bots cpu {bots_cpu:.2})"),
            ));
        }
    }
    verdicts
}

/// The largest arena-default N that met the bar, and what stopped the next one.
fn print_capacity(mut verdicts: Vec<Verdict>) {
    verdicts.sort_by_key(|(count, ..)| *count);
    let capacity =
        verdicts.iter().filter(|(_, why, _)| why.is_empty()).map(|(count, ..)| *count).max();
    let limit = verdicts
        .iter()
        .find(|(count, why, _)| !why.is_empty() && capacity.is_none_or(|c| *count > c))
        .map(|(count, why, side)| format!("at N={count}: {why}; busier: {side}"));
    for (count, why, _) in verdicts
        .iter()
        .filter(|(count, why, _)| !why.is_empty() && capacity.is_some_and(|c| *count < c))
    {
        println!("note: N={count} missed the bar below the capacity ({why})");
    }
    let limit = limit.unwrap_or_else(|| "not reached at the largest N tested".into());
    match capacity {
        _ if verdicts.is_empty() => {}
        Some(n) => println!(
            "\ncapacity (arena-default): {n} players hold >= 95 % snapshots and input p99 < 2 ticks + RTT; limit: {limit}"
        ),
        None => println!("\ncapacity (arena-default): no tested N met the bar; limit: {limit}"),
    }
}

/// Several rooms against one: total CPU and each room's tick p99.
fn print_rooms_against_one(rows: &[(&str, usize, String)]) {
    let one_room = rows.iter().find(|(name, n, _)| *name == "arena-default" && *n == PER_ROOM);
    let many = rows.iter().find(|(name, ..)| *name == "4-rooms");
    if let (Some((_, _, one)), Some((_, _, many))) = (one_room, many) {
        let per_room: serde_json::Value = serde_json::from_str::<serde_json::Value>(many)
            .ok()
            .and_then(|report| report.get("server_room_tick_p99_ms").cloned())
            .unwrap_or_default();
        let slowest = per_room
            .as_object()
            .map(|rooms| rooms.values().filter_map(|v| v.as_f64()).fold(0.0, f64::max))
            .unwrap_or(f64::NAN);
        println!(
            "{ROOMS} rooms × {PER_ROOM}: server cpu {:.2} = {:.1}× one room of {PER_ROOM} ({:.2}); slowest room's tick p99 {slowest:.1} ms (one room alone: {:.1} ms); per room: {per_room}",
            field(many, "server_cpu_per_s"),
            field(many, "server_cpu_per_s") / field(one, "server_cpu_per_s").max(1e-9),
            field(one, "server_cpu_per_s"),
            field(one, "server_tick_ms.p99"),
        );
    }
}

/// What interest management and deltas save: the full world's bytes against arena-default's.
fn print_bandwidth_ratio(rows: &[(&str, usize, String)]) {
    let full = rows.iter().find(|(name, ..)| *name == "full-world");
    let default_at_same_n = full
        .and_then(|(_, n, _)| rows.iter().find(|(name, m, _)| *name == "arena-default" && m == n));
    if let (Some((_, n, full)), Some((_, _, default))) = (full, default_at_same_n) {
        let ratio =
            field(full, "rx_bytes_per_client_per_s") / field(default, "rx_bytes_per_client_per_s");
        println!(
            "bandwidth at N={n}: full world (no interest, no delta) / arena-default = {ratio:.1}x"
        );
    }
}
