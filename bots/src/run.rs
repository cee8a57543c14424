//! Drives many bots at once: ramps them in, lets them play (with optional churn and a
//! reconnect storm), shows live progress, and folds everything into one [`Report`].

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use shared::ids::PlayerId;
use shared::netcode::Fidelity;
use shared::protocol::{ClientMsg, ResumeToken, ServerMsg, close};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};

use crate::behavior::{Behavior, BotView, Brain, Rng};
use crate::client::{BotClient, Incoming};
use crate::refusal::{self, Refusal};
use crate::scrape::{self, ServerFigures};
use crate::spectator::{self, Watched};
use crate::stats::{LatencyTracker, Report, Spread2, TickSpread, spread2, spread3};

/// One run's settings (the `bots` command's flags).
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub url: String,
    pub count: usize,
    pub duration: Duration,
    /// Joins per second.
    pub ramp_per_s: f64,
    pub behavior: Behavior,
    pub seed: u64,
    /// Inputs per second; defaults to the server's tick rate.
    pub input_hz: Option<u16>,
    /// Each bot leaves and rejoins this many times per minute on average.
    pub churn_per_min: f64,
    /// At this point of the run every bot drops its connection and reconnects at once.
    pub storm_at: Option<Duration>,
    /// Print a live progress line to stderr.
    pub progress: bool,
    /// Also read the server's own figures from `/metrics`.
    pub scrape_server: bool,
    /// How many bots (the first ones) run the full netcode, prediction and interpolation, as
    /// a browser does; the rest run it light (decode and acknowledge every snapshot, paced and
    /// redundant commands), the way load tools use a few observers among many light clients.
    pub full_netcode: usize,
    /// Where the bots play.
    pub placement: Placement,
    /// Spectators that watch the bots' room (the first one when spread; the default room
    /// for quick play), joining after the bots, moving their camera; no inputs.
    pub spectators: usize,
}

/// Where the bots play.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The server's default room.
    Default,
    /// Spread over this many rooms (`room-0`, `room-1`, …), in turn.
    Spread(usize),
    /// All in one room: a name (started on first use) or a private room's code.
    Room(String),
    /// Each bot asks the lobby's matchmaker for a seat (`POST /api/quick-play`) whenever it
    /// joins as a new player, as the page's Quick play button does.
    QuickPlay,
}

/// A seat from the matchmaker, taken: the client, the room it is in and the game socket's
/// address (another process's, in a cluster).
async fn quick_play(
    url: &str,
    name: &str,
    fidelity: Fidelity,
) -> anyhow::Result<(BotClient, String, String)> {
    let token = crate::http::session_token(url).await.context("getting a session token")?;
    let seat = crate::lobby::quick_play(url, &token).await?;
    let client = BotClient::connect_seat(url, &token, name, &seat, CONNECT_WAIT, fidelity).await?;
    Ok((client, seat.room.id.clone(), seat.game_url(url)))
}

/// Figures updated by every bot while it plays, read by the progress line.
#[derive(Default)]
struct Live {
    connected: AtomicUsize,
    snapshots: AtomicU64,
    recent_latency: Mutex<Vec<f32>>,
}

/// Everything one bot measured.
#[derive(Default)]
struct BotResult {
    ever_connected: bool,
    failed: bool,
    dropped: bool,
    reconnects: u64,
    /// Bytes received over whole connections.
    rx: Traffic,
    tx_bytes: u64,
    /// The same over the run's steady part, and the seconds connected in it.
    steady: Traffic,
    steady_secs: f64,
    /// The counters of the connection in play when the steady part began (or when it
    /// connected, if later).
    mark: Option<Mark>,
    snapshots: u64,
    connected_secs: f64,
    expected_hz: f64,
    latencies: Vec<f32>,
    rtts: Vec<f32>,
    /// Runs the full netcode (predicts): its corrections count.
    predicting: bool,
    corrections: u64,
    max_correction: f32,
    resumes: u64,
    resume_failures: u64,
    /// Times the server closed with 1012 and the bot took a new seat through the lobby.
    rejoins: u64,
    /// Milliseconds from asking for a seat to `Welcome`, per join (not resumes).
    joins_ms: Vec<f32>,
    /// The server limit that refused this bot's last failed connection, if one did.
    refusal: Option<Refusal>,
    /// Why this bot's last connection attempt failed, if one did.
    failure: Option<String>,
    /// When this bot last took back its player after the storm.
    resumed_at: Option<Instant>,
}

/// Bytes received: all of them, in snapshots, in event messages.
#[derive(Clone, Copy, Debug, Default)]
struct Traffic {
    rx: u64,
    snapshots: u64,
    events: u64,
}

impl Traffic {
    fn of(client: &BotClient) -> Traffic {
        Traffic {
            rx: client.rx_bytes,
            snapshots: client.rx_snapshot_bytes,
            events: client.rx_event_bytes,
        }
    }

    /// Adds what came between `from` and `to` (counters of one connection).
    fn add_between(&mut self, from: Traffic, to: Traffic) {
        self.rx += to.rx - from.rx;
        self.snapshots += to.snapshots - from.snapshots;
        self.events += to.events - from.events;
    }
}

/// The run's steady part: from the end of the ramp (every bot and spectator joined) to the end.
#[derive(Clone, Copy, Debug)]
struct Window {
    steady: Instant,
    end: Instant,
}

/// A connection's traffic so far at an instant.
#[derive(Clone, Copy, Debug)]
struct Mark {
    at: Instant,
    traffic: Traffic,
}

impl Mark {
    fn now(client: &BotClient) -> Mark {
        Mark { at: Instant::now(), traffic: Traffic::of(client) }
    }
}

/// Why a bot leaves before the end of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leave {
    /// Closes cleanly and joins again as a new player.
    Churn,
    /// Drops the connection and resumes the same player.
    Storm,
}

enum ConnectionEnd {
    Finished,
    Rejoin(Leave),
    /// The server closed with 1012 (restarting or draining).
    Restarted,
    Dropped,
}

const CONNECT_WAIT: Duration = Duration::from_secs(15);

pub async fn run(config: RunConfig) -> anyhow::Result<Report> {
    let host = crate::http::host_of(&config.url)?;
    let config = Arc::new(config);
    let live = Arc::new(Live::default());
    let start = Instant::now();
    let ramp_secs = (config.count + config.spectators) as f64 / config.ramp_per_s.max(0.001);
    let steady = start + Duration::from_secs_f64(ramp_secs);
    let end = steady + config.duration;

    let mut tasks = Vec::with_capacity(config.count);
    for index in 0..config.count {
        let join_at = start + Duration::from_secs_f64(index as f64 / config.ramp_per_s.max(0.001));
        tasks.push(tokio::spawn(play_bot(
            index,
            config.clone(),
            live.clone(),
            start,
            join_at,
            Window { steady, end },
        )));
    }
    let watchers = spawn_spectators(&config, start, end);
    let progress = config
        .progress
        .then(|| tokio::spawn(show_progress(live.clone(), config.count, start, end)));

    // Server figures over the steady part of the run: after the ramp, until the end.
    let mut before = ServerFigures::default();
    if config.scrape_server {
        sleep_until(steady).await;
        before = scrape::scrape(&host).await?;
    }
    let steady_started = Instant::now();
    let bots_cpu_before = heap::process::cpu_seconds();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await?);
    }
    let mut watched = Vec::with_capacity(watchers.len());
    for watcher in watchers {
        watched.push(watcher.await?);
    }
    let steady_secs = steady_started.elapsed().as_secs_f64().max(0.001);
    let bots_cpu_per_s = (heap::process::cpu_seconds() - bots_cpu_before) / steady_secs;
    let after =
        if config.scrape_server { scrape::scrape(&host).await? } else { ServerFigures::default() };
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    let last_resume = results.iter().filter_map(|r| r.resumed_at).max();
    let storm_to_last_resume_ms = match (config.storm_at, last_resume) {
        (Some(at), Some(last)) => last.saturating_duration_since(start + at).as_secs_f64() * 1000.0,
        _ => 0.0,
    };
    let report = report(&config, results, &before, &after, steady_secs);
    // Once for the run, not once per bot: which limit refused them, and the flag to raise it.
    for refused in &report.refusals {
        eprintln!("bots: {}", refused.hint);
    }
    let (spectators, spectator_rx_bytes_per_s, spectator_snapshot_delivery) =
        fold_spectators(&watched);
    Ok(Report {
        bots_cpu_per_s,
        storm_to_last_resume_ms,
        spectators,
        spectator_rx_bytes_per_s,
        spectator_snapshot_delivery,
        ..report
    })
}

/// The spectators' tasks: each joins after the bots (at the ramp's pace) and watches until
/// `end`.
fn spawn_spectators(
    config: &Arc<RunConfig>,
    start: Instant,
    end: Instant,
) -> Vec<tokio::task::JoinHandle<Watched>> {
    let room = match &config.placement {
        Placement::Default | Placement::QuickPlay => String::new(),
        Placement::Spread(_) => "room-0".to_string(),
        Placement::Room(room) => room.clone(),
    };
    (0..config.spectators)
        .map(|index| {
            let at = (config.count + index) as f64 / config.ramp_per_s.max(0.001);
            let join_at = start + Duration::from_secs_f64(at);
            let (url, room) = (config.url.clone(), room.clone());
            tokio::spawn(async move {
                sleep_until(join_at).await;
                spectator::watch(&url, index, &room, CONNECT_WAIT, end).await
            })
        })
        .collect()
}

/// Spectators connected, bytes each received per second, and the fraction of snapshots
/// they received.
fn fold_spectators(watched: &[Watched]) -> (usize, f64, f64) {
    let connected = watched.iter().filter(|w| w.connected).count();
    let secs: f64 = watched.iter().map(|w| w.connected_secs).sum();
    let expected: f64 = watched.iter().map(|w| w.connected_secs * w.expected_hz).sum();
    let snapshots: u64 = watched.iter().map(|w| w.snapshots).sum();
    let rx: u64 = watched.iter().map(|w| w.rx_bytes).sum();
    let per_s = if secs > 0.0 { rx as f64 / secs } else { 0.0 };
    let delivery = if expected > 0.0 { snapshots as f64 / expected } else { 0.0 };
    (connected, per_s, delivery)
}

fn report(
    config: &RunConfig,
    results: Vec<BotResult>,
    before: &ServerFigures,
    after: &ServerFigures,
    steady_secs: f64,
) -> Report {
    let connected_secs: f64 = results.iter().map(|r| r.connected_secs).sum::<f64>().max(0.001);
    let per_client_per_s = |total: u64| total as f64 / connected_secs;
    let steady_connected: f64 = results.iter().map(|r| r.steady_secs).sum::<f64>().max(0.001);
    let per_steady_s = |total: u64| total as f64 / steady_connected;
    let mut latencies: Vec<f32> =
        results.iter().flat_map(|r| r.latencies.iter().copied()).collect();
    let mut rtts: Vec<f32> = results.iter().flat_map(|r| r.rtts.iter().copied()).collect();
    let mut joins: Vec<f32> = results.iter().flat_map(|r| r.joins_ms.iter().copied()).collect();
    let expected_snapshot_hz = results.iter().map(|r| r.expected_hz).fold(0.0, f64::max);
    let snapshots_per_client_per_s = per_client_per_s(results.iter().map(|r| r.snapshots).sum());
    Report {
        bots: config.count,
        behavior: format!("{:?}", config.behavior).to_lowercase(),
        duration_s: config.duration.as_secs_f64(),
        connected: results.iter().filter(|r| r.ever_connected).count(),
        failed: results.iter().filter(|r| r.failed).count(),
        dropped: results.iter().filter(|r| r.dropped).count(),
        reconnects: results.iter().map(|r| r.reconnects).sum(),
        rx_bytes_per_client_per_s: per_client_per_s(results.iter().map(|r| r.rx.rx).sum()),
        tx_bytes_per_client_per_s: per_client_per_s(results.iter().map(|r| r.tx_bytes).sum()),
        rx_snapshot_bytes_per_client_per_s: per_client_per_s(
            results.iter().map(|r| r.rx.snapshots).sum(),
        ),
        rx_event_bytes_per_client_per_s: per_client_per_s(
            results.iter().map(|r| r.rx.events).sum(),
        ),
        steady_rx_bytes_per_client_per_s: per_steady_s(results.iter().map(|r| r.steady.rx).sum()),
        steady_rx_snapshot_bytes_per_client_per_s: per_steady_s(
            results.iter().map(|r| r.steady.snapshots).sum(),
        ),
        steady_rx_event_bytes_per_client_per_s: per_steady_s(
            results.iter().map(|r| r.steady.events).sum(),
        ),
        snapshots_per_client_per_s,
        expected_snapshot_hz,
        snapshot_delivery: if expected_snapshot_hz > 0.0 {
            snapshots_per_client_per_s / expected_snapshot_hz
        } else {
            0.0
        },
        input_latency_ms: spread3(&mut latencies),
        join_ms: spread3(&mut joins),
        rtt_ms: spread2(&mut rtts),
        // Without scraping both figures are empty: every server figure comes out 0.
        server_tick_ms: TickSpread {
            p50: scrape::tick_percentile_ms(before, after, 50.0),
            p99: scrape::tick_percentile_ms(before, after, 99.0),
            max: after.tick_max_seconds * 1000.0,
        },
        server_answer_ms: Spread2 {
            p50: scrape::answer_percentile_ms(before, after, 50.0),
            p99: scrape::answer_percentile_ms(before, after, 99.0),
        },
        server_room_tick_p99_ms: room_tick_p99s(before, after),
        server_cpu_per_s: (after.cpu_seconds - before.cpu_seconds) / steady_secs,
        server_rss_mb: after.rss_bytes / (1024.0 * 1024.0),
        server_players: before.players,
        server_tick_hz: (after.tick_count - before.tick_count) / steady_secs,
        bots_cpu_per_s: 0.0,
        storm_to_last_resume_ms: 0.0,
        // Filled in by `run` from the spectators' own figures.
        spectators: 0,
        spectator_rx_bytes_per_s: 0.0,
        spectator_snapshot_delivery: 0.0,
        prediction_corrections: results.iter().map(|r| r.corrections).sum(),
        prediction_corrections_per_client_s: corrections_per_client_s(&results),
        resumes: results.iter().map(|r| r.resumes).sum(),
        resume_failures: results.iter().map(|r| r.resume_failures).sum(),
        rejoins: results.iter().map(|r| r.rejoins).sum(),
        refusals: refusal::summarize(results.iter().filter_map(|r| r.refusal), config.count),
        first_failure: results.iter().find_map(|r| r.failure.clone()),
        max_prediction_error: results
            .iter()
            .map(|r| f64::from(r.max_correction))
            .fold(0.0, f64::max),
    }
}

/// Each room's tick p99 between two scrapes of the server, by room name.
fn room_tick_p99s(
    before: &ServerFigures,
    after: &ServerFigures,
) -> std::collections::BTreeMap<String, f64> {
    after
        .rooms
        .iter()
        .map(|(name, room)| {
            let earlier = before.rooms.get(name).cloned().unwrap_or_default();
            (name.clone(), scrape::tick_percentile_ms(&earlier, room, 99.0))
        })
        .collect()
}

/// Corrections per second connected of the bots that predict.
fn corrections_per_client_s(results: &[BotResult]) -> f64 {
    let predicting = || results.iter().filter(|r| r.predicting);
    let secs: f64 = predicting().map(|r| r.connected_secs).sum();
    let corrections: u64 = predicting().map(|r| r.corrections).sum();
    if secs > 0.0 { corrections as f64 / secs } else { 0.0 }
}

async fn play_bot(
    index: usize,
    config: Arc<RunConfig>,
    live: Arc<Live>,
    start: Instant,
    join_at: Instant,
    window: Window,
) -> BotResult {
    let end = window.end;
    let mut result = BotResult::default();
    let mut rng = Rng::new(config.seed ^ (index as u64).wrapping_mul(0x9e37_79b9));
    let mut storm_at = config.storm_at.map(|at| start + at);
    let mut resume: Option<(PlayerId, ResumeToken)> = None;
    sleep_until(join_at).await;
    let name = format!("bot{index}");
    let fidelity = if index < config.full_netcode { Fidelity::Full } else { Fidelity::Light };
    result.predicting = fidelity == Fidelity::Full;
    // The room this bot plays in (a quick-play seat names it when granted).
    let mut room = match &config.placement {
        Placement::Default | Placement::QuickPlay => String::new(),
        Placement::Spread(rooms) => format!("room-{}", index % rooms.max(&1)),
        Placement::Room(room) => room.clone(),
    };
    // Where the bot's game socket is: a quick-play seat may be on another process.
    let mut game_url = config.url.clone();
    loop {
        let token = resume.map(|(_, token)| token);
        let asked = Instant::now();
        let connected = match (&config.placement, token) {
            (Placement::QuickPlay, None) => quick_play(&config.url, &name, fidelity).await,
            _ => BotClient::connect_as(&game_url, &name, &room, token, CONNECT_WAIT, fidelity)
                .await
                .map(|client| (client, room.clone(), game_url.clone())),
        };
        let mut client = match connected {
            Ok((client, seated_in, at)) => {
                room = seated_in;
                game_url = at;
                client
            }
            Err(err) => {
                result.refusal = Refusal::classify(&err);
                result.failure = Some(format!("{name}: {err:#}"));
                if result.ever_connected {
                    result.dropped = true;
                } else {
                    result.failed = true;
                }
                return result;
            }
        };
        result.connected(&client, token.is_none().then(|| asked.elapsed()), resume.take());
        let leave = plan_leave(&config, &mut rng, &mut storm_at, end);
        live.connected.fetch_add(1, Ordering::Relaxed);
        let connected_since = Instant::now();
        let ending =
            play_connection(&mut client, &config, &live, &mut rng, &mut result, window, leave)
                .await;
        live.connected.fetch_sub(1, Ordering::Relaxed);
        result.connected_secs += connected_since.elapsed().as_secs_f64();
        result.disconnected(&client);
        match ending {
            ConnectionEnd::Finished | ConnectionEnd::Rejoin(Leave::Churn) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), client.close()).await;
                if matches!(ending, ConnectionEnd::Finished) {
                    return result;
                }
            }
            // The process is draining: a quick-playing bot asks the lobby for a new seat, as
            // the page does.
            ConnectionEnd::Restarted if config.placement == Placement::QuickPlay => {
                result.rejoins += 1;
            }
            ConnectionEnd::Dropped | ConnectionEnd::Restarted => {
                result.dropped = true;
                return result;
            }
            // Reset the TCP connection (no close frame), as a lost network would, and come
            // back with the resume token.
            ConnectionEnd::Rejoin(Leave::Storm) => {
                resume = Some((client.welcome.player_id, client.welcome.resume_token));
                client.reset();
            }
        }
    }
}

/// When this connection leaves early, if it does. Churn: cleanly, after an exponentially
/// distributed stay. Storm: a dropped connection at `storm_at` (kept for a later connection
/// when churn comes first).
fn plan_leave(
    config: &RunConfig,
    rng: &mut Rng,
    storm_at: &mut Option<Instant>,
    end: Instant,
) -> Option<(Instant, Leave)> {
    let churn_at = (config.churn_per_min > 0.0).then(|| {
        let stay = -(1.0 - f64::from(rng.unit())).ln() * 60.0 / config.churn_per_min;
        (Instant::now() + Duration::from_secs_f64(stay), Leave::Churn)
    });
    let storm = storm_at.take_if(|at| *at < end).map(|at| (at, Leave::Storm));
    let leave = match (churn_at, storm) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    if let Some((_, Leave::Churn)) = leave {
        *storm_at = storm.map(|(at, _)| at);
    }
    leave
}

impl BotResult {
    /// Counts a connection made: how long a new seat took (`None` for a resume), and whether
    /// the resume asked for (player id and token) was granted.
    fn connected(
        &mut self,
        client: &BotClient,
        join_took: Option<Duration>,
        resume: Option<(PlayerId, ResumeToken)>,
    ) {
        if let Some(took) = join_took {
            self.joins_ms.push(took.as_secs_f32() * 1000.0);
        }
        if let Some((id, _)) = resume {
            if client.welcome.resumed && client.welcome.player_id == id {
                self.resumes += 1;
                self.resumed_at = Some(Instant::now());
            } else {
                self.resume_failures += 1;
            }
        }
        if self.ever_connected {
            self.reconnects += 1;
        }
        self.ever_connected = true;
    }

    /// Adds a finished connection's traffic and prediction figures.
    fn disconnected(&mut self, client: &BotClient) {
        let now = Traffic::of(client);
        self.rx.add_between(Traffic::default(), now);
        self.tx_bytes += client.tx_bytes;
        if let Some(mark) = self.mark.take() {
            self.steady.add_between(mark.traffic, now);
            self.steady_secs += mark.at.elapsed().as_secs_f64();
        }
        self.corrections += client.core.corrections;
        self.max_correction = self.max_correction.max(client.core.max_correction);
    }
}

async fn play_connection(
    client: &mut BotClient,
    config: &RunConfig,
    live: &Live,
    rng: &mut Rng,
    result: &mut BotResult,
    window: Window,
    leave: Option<(Instant, Leave)>,
) -> ConnectionEnd {
    let end = window.end;
    let me = client.welcome.player_id;
    let input_hz = config.input_hz.unwrap_or(client.welcome.tick_hz).max(1);
    result.expected_hz = f64::from(client.welcome.send_hz);
    let mut brain = Brain::new(config.behavior, rng.next_u64(), input_hz);
    let mut inputs = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(input_hz)));
    inputs.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut pings = tokio::time::interval(Duration::from_secs(1));
    let epoch = Instant::now();
    let now_ms = || epoch.elapsed().as_secs_f64() * 1000.0;
    let mut tracker = LatencyTracker::default();
    let mut view = BotView::default();
    let stop_at = leave.map_or(end, |(at, _)| at.min(end));
    // One timer for the whole connection (a `sleep_until` made inside the loop would register
    // and clear a timer entry on every wake-up: a few per cent of the bots' CPU).
    let stop = sleep_until(stop_at);
    tokio::pin!(stop);
    // The traffic from here on counts in the steady figures.
    let steady = sleep_until(window.steady);
    tokio::pin!(steady);
    if Instant::now() >= window.steady {
        result.mark = Some(Mark::now(client));
    }
    let mut sample_counter = 0u32;
    loop {
        tokio::select! {
            () = &mut stop => {
                return match leave {
                    Some((at, why)) if at < end => ConnectionEnd::Rejoin(why),
                    _ => ConnectionEnd::Finished,
                };
            }
            () = &mut steady, if result.mark.is_none() => {
                result.mark = Some(Mark::now(client));
            }
            _ = inputs.tick() => {
                if config.behavior == Behavior::Chase {
                    view = BotView::of(client.core.latest(), me);
                }
                let cmd = brain.next_input(&view);
                match client.play(cmd).await {
                    Ok(Some(seq)) => tracker.sent(seq, now_ms()),
                    Ok(None) => {}
                    Err(_) => return ConnectionEnd::Dropped,
                }
                if let Some(text) = brain.chat_line()
                    && client.send(&ClientMsg::Chat { text }).await.is_err() {
                        return ConnectionEnd::Dropped;
                    }
            }
            _ = pings.tick() => {
                if client.send(&ClientMsg::Ping { client_time: now_ms() }).await.is_err() {
                    return ConnectionEnd::Dropped;
                }
            }
            incoming = client.receive() => match incoming {
                Ok(Incoming::Decoded) => {
                    result.snapshots += 1;
                    live.snapshots.fetch_add(1, Ordering::Relaxed);
                    let ack = client.core.latest().map_or(0, |s| s.ack_input);
                    let before = result.latencies.len();
                    tracker.acked(ack, now_ms(), &mut result.latencies);
                    if config.progress && result.latencies.len() > before {
                        sample_counter += 1;
                        if sample_counter.is_multiple_of(10) {
                            let mut window = live.recent_latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            window.push(result.latencies[before]);
                        }
                    }
                }
                Ok(Incoming::Message(ServerMsg::Pong { client_time, .. })) => {
                    result.rtts.push((now_ms() - client_time) as f32);
                }
                Ok(Incoming::Message(_) | Incoming::Snapshot(_)) => {}
                Ok(Incoming::Closed { code: close::RESTART, .. }) => return ConnectionEnd::Restarted,
                Ok(Incoming::Closed { .. }) | Err(_) => return ConnectionEnd::Dropped,
            },
        }
    }
}

/// A one-line live view on stderr, redrawn every second.
async fn show_progress(live: Arc<Live>, count: usize, start: Instant, end: Instant) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut last_snapshots = 0;
    loop {
        every.tick().await;
        let snapshots = live.snapshots.load(Ordering::Relaxed);
        let mut window = std::mem::take(
            &mut *live.recent_latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let p99 = spread3(&mut window).p99;
        let left = end.saturating_duration_since(Instant::now()).as_secs();
        eprint!(
            "\r[{:>4}s, {left:>4}s left] connected {:>5}/{count}  snapshots/s {:>8}  input latency p99 {:>6.1} ms   ",
            start.elapsed().as_secs(),
            live.connected.load(Ordering::Relaxed),
            snapshots - last_snapshots,
            p99,
        );
        last_snapshots = snapshots;
    }
}
