//! `bots`: many headless Skirmish players from one process, for load tests and benchmarks.
//!
//! ```text
//! cargo run --release -p bots -- --url ws://127.0.0.1:7777/ws --count 500 --duration 30 \
//!     --ramp 200 --behavior wander --seed 1
//! ```
//!
//! Shows a progress line on a terminal, prints one JSON report line on stdout at the end, and
//! exits non-zero if any bot failed to connect or was dropped. Bots the server turned away for
//! lack of room are explained once on stderr: which limit refused them, and the server flag that
//! raises it.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use bots::behavior::Behavior;
use bots::run::{Placement, RunConfig, run};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "bots", version, about = "Headless Skirmish players for load tests")]
struct Args {
    /// Game WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:7777/ws")]
    url: String,
    /// Number of bots.
    #[arg(long, default_value_t = 20)]
    count: usize,
    /// Seconds to play after the last bot joined.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Joins per second.
    #[arg(long, default_value_t = 100.0)]
    ramp: f64,
    /// wander, chase, idle or chatty.
    #[arg(long, default_value = "wander")]
    behavior: Behavior,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Inputs per second (default: the server's tick rate).
    #[arg(long)]
    input_hz: Option<u16>,
    /// Average leaves-and-rejoins per bot per minute (0: none).
    #[arg(long, default_value_t = 0.0)]
    churn: f64,
    /// Seconds into the run at which every bot drops its connection and reconnects at once.
    #[arg(long)]
    storm_at: Option<f64>,
    /// A PEM certificate to trust as a root for `wss://` (a self-signed or staging server).
    #[arg(long)]
    ca_cert: Option<std::path::PathBuf>,
    /// Do not read the server's `/metrics`.
    #[arg(long)]
    no_server_metrics: bool,
    /// How many bots run the browser's full netcode (prediction, interpolation); the others
    /// run it light (decode and acknowledge every snapshot, paced and redundant commands).
    #[arg(long, default_value_t = 50)]
    full_netcode: usize,
    /// Spread the bots over this many rooms (`room-0`, `room-1`, …) instead of the default one.
    #[arg(long, default_value_t = 1, conflicts_with_all = ["room", "quick_play"])]
    rooms: usize,
    /// Put every bot in this room: a name (started on first use) or a private room's code.
    #[arg(long, conflicts_with = "quick_play")]
    room: Option<String>,
    /// Each bot asks the lobby's matchmaker for a seat, as the page's Quick play button does.
    #[arg(long)]
    quick_play: bool,
    /// Spectators watching the bots' room besides the bots (no ship, no inputs; each moves
    /// its camera five times a second and decodes every snapshot).
    #[arg(long, default_value_t = 0)]
    spectators: usize,
}

/// mimalloc: many small, short-lived frames per tick (see the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        bots::tls::trust_pem(&pem)?;
    }
    let config = RunConfig {
        url: args.url,
        count: args.count,
        duration: Duration::from_secs_f64(args.duration),
        ramp_per_s: args.ramp,
        behavior: args.behavior,
        seed: args.seed,
        input_hz: args.input_hz,
        churn_per_min: args.churn,
        storm_at: args.storm_at.map(Duration::from_secs_f64),
        progress: std::io::stderr().is_terminal(),
        scrape_server: !args.no_server_metrics,
        full_netcode: args.full_netcode,
        placement: match (args.room, args.quick_play, args.rooms) {
            (Some(room), _, _) => Placement::Room(room),
            (None, true, _) => Placement::QuickPlay,
            (None, false, 0 | 1) => Placement::Default,
            (None, false, rooms) => Placement::Spread(rooms),
        },
        spectators: args.spectators,
    };
    let report = run(config).await?;
    println!("{}", serde_json::to_string(&report).context("encoding the report")?);
    if report.spectators < args.spectators {
        eprintln!("bots: {} of {} spectator(s) connected", report.spectators, args.spectators);
    }
    if report.failed > 0 || report.dropped > 0 || report.resume_failures > 0 {
        if let Some(failure) = &report.first_failure {
            eprintln!("bots: for example {failure}");
        }
        anyhow::bail!(
            "{} bot(s) failed to connect, {} were dropped, {} could not resume",
            report.failed,
            report.dropped,
            report.resume_failures
        );
    }
    Ok(())
}
