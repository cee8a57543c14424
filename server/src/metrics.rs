//! Operator figures, rendered in the Prometheus text format at `/metrics`.
//!
//! Everything is a relaxed atomic bumped on the path that already does the work, so counting
//! costs a few nanoseconds and never takes a lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the tick-duration histogram buckets, in seconds.
const TICK_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.012, 0.016, 0.025, 0.033, 0.05, 0.1,
    0.25,
];

/// Why a connection ended, as counted in `skirmish_disconnects_total{reason}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DisconnectReason {
    ClientClosed,
    ConnectionLost,
    ProtocolError,
    Policy,
    TooBig,
    Timeout,
    SlowConsumer,
    Refused,
    ServerRestart,
}

impl DisconnectReason {
    const ALL: [DisconnectReason; 9] = [
        DisconnectReason::ClientClosed,
        DisconnectReason::ConnectionLost,
        DisconnectReason::ProtocolError,
        DisconnectReason::Policy,
        DisconnectReason::TooBig,
        DisconnectReason::Timeout,
        DisconnectReason::SlowConsumer,
        DisconnectReason::Refused,
        DisconnectReason::ServerRestart,
    ];

    fn label(self) -> &'static str {
        match self {
            DisconnectReason::ClientClosed => "client_closed",
            DisconnectReason::ConnectionLost => "connection_lost",
            DisconnectReason::ProtocolError => "protocol_error",
            DisconnectReason::Policy => "policy",
            DisconnectReason::TooBig => "too_big",
            DisconnectReason::Timeout => "timeout",
            DisconnectReason::SlowConsumer => "slow_consumer",
            DisconnectReason::Refused => "refused",
            DisconnectReason::ServerRestart => "server_restart",
        }
    }
}

/// Upper bounds of the input-answer histogram buckets, in seconds: fine around the floor of a
/// 60 Hz room sending at 20 Hz (about 67 ms: up to a tick's wait for the step, then up to a send
/// interval's for the snapshot).
const ANSWER_BUCKETS: [f64; 18] = [
    0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.067, 0.075, 0.08, 0.09, 0.1, 0.125, 0.15, 0.2,
    0.3, 0.5, 1.0,
];

/// Buckets a histogram may have at most.
const MAX_BUCKETS: usize = 20;

/// A Prometheus histogram of durations over fixed buckets, plus the longest seen.
pub(crate) struct Histogram {
    bounds: &'static [f64],
    buckets: [AtomicU64; MAX_BUCKETS],
    count: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        assert!(bounds.len() <= MAX_BUCKETS, "at most {MAX_BUCKETS} buckets");
        Histogram {
            bounds,
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(bucket) = self.bounds.iter().position(|bound| seconds <= *bound) {
            add(&self.buckets[bucket], 1);
        }
        let nanos = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        add(&self.count, 1);
        add(&self.sum_ns, nanos);
        self.max_ns.fetch_max(nanos, Ordering::Relaxed);
    }

    /// The `_bucket`, `_sum` and `_count` lines of histogram `name`, with `labels` (`key="v",`
    /// pairs, each followed by a comma) inside every sample's braces.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.buckets) {
            cumulative += load(count);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        let count = load(&self.count);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let bare = labels.trim_end_matches(',');
        let braces = if bare.is_empty() { String::new() } else { format!("{{{bare}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", load(&self.sum_ns) as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Tick durations: all rooms together in [`Metrics`], and each room's own in its stats.
pub(crate) struct TickHistogram(Histogram);

impl Default for TickHistogram {
    fn default() -> TickHistogram {
        TickHistogram(Histogram::new(&TICK_BUCKETS))
    }
}

impl std::ops::Deref for TickHistogram {
    type Target = Histogram;

    fn deref(&self) -> &Histogram {
        &self.0
    }
}

/// How long the server takes to answer an input: from reading the message to writing the
/// first snapshot that acknowledges it (the wait for the next tick and the next send tick, and
/// the fan-out of a send tick's writes; neither the network nor the client).
pub(crate) struct AnswerHistogram(Histogram);

impl Default for AnswerHistogram {
    fn default() -> AnswerHistogram {
        AnswerHistogram(Histogram::new(&ANSWER_BUCKETS))
    }
}

#[derive(Default)]
pub(crate) struct Metrics {
    ticks: TickHistogram,
    answers: AnswerHistogram,
    pub(crate) tick_overruns: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) connections_total: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) snapshots_replaced: AtomicU64,
    pub(crate) inputs_dropped: AtomicU64,
    pub(crate) inputs_trimmed: AtomicU64,
    /// Ticks that repeated a player's last command, its own not having come (see `pacing`).
    pub(crate) inputs_repeated: AtomicU64,
    pub(crate) chat_dropped: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    /// Spectators watching, in all rooms (a gauge).
    pub(crate) spectators: AtomicU64,
    disconnects: [AtomicU64; DisconnectReason::ALL.len()],
}

/// Bumps a counter by `by`.
pub(crate) fn add(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn observe_tick(&self, took: Duration) {
        self.ticks.observe(took);
    }

    /// An input was answered `took` after it arrived (see [`AnswerHistogram`]).
    pub(crate) fn observe_answer(&self, took: Duration) {
        self.answers.0.observe(took);
    }

    pub(crate) fn disconnected(&self, reason: DisconnectReason) {
        let index = DisconnectReason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        add(&self.disconnects[index], 1);
    }

    /// The text exposition format (version 0.0.4); `rooms` are each room's name, players and
    /// tick durations.
    pub(crate) fn render(
        &self,
        rooms: &[(String, usize, &TickHistogram)],
        store: &store::StoreStats,
    ) -> String {
        let mut out = Exposition(String::with_capacity(4096));
        out.head(TICKS.0, "histogram", TICKS.1);
        self.ticks.render(&mut out.0, TICKS.0, "");
        out.head(ROOM_TICKS.0, "histogram", ROOM_TICKS.1);
        for (name, _, ticks) in rooms {
            ticks.render(&mut out.0, ROOM_TICKS.0, &format!("room=\"{name}\","));
        }
        out.head(ANSWERS.0, "histogram", ANSWERS.1);
        self.answers.0.render(&mut out.0, ANSWERS.0, "");
        for (name, kind, help, value) in COUNTERS {
            out.one(name, kind, help, value(self));
        }
        let players: usize = rooms.iter().map(|(_, n, _)| n).sum();
        out.one("skirmish_players", "gauge", "Players in all rooms.", players as f64);
        out.labelled(
            "skirmish_room_players",
            "gauge",
            "Players per room.",
            rooms.iter().map(|(name, n, _)| (format!("room=\"{name}\""), *n as f64)),
        );
        out.one("skirmish_rooms", "gauge", "Rooms running.", rooms.len() as f64);
        out.labelled(
            "skirmish_disconnects_total",
            "counter",
            "Connections ended, by reason.",
            DisconnectReason::ALL.iter().zip(&self.disconnects).map(|(reason, count)| {
                (format!("reason=\"{}\"", reason.label()), load(count) as f64)
            }),
        );
        let process = heap::process::Usage::read();
        let tasks =
            tokio::runtime::Handle::try_current().map_or(0, |rt| rt.metrics().num_alive_tasks());
        let figures: [(&str, &str, &str, f64); 11] = [
            (PROCESS_CPU.0, "counter", PROCESS_CPU.1, process.cpu_seconds),
            (PROCESS_RSS.0, "gauge", PROCESS_RSS.1, process.rss_bytes),
            ("process_open_fds", "gauge", "Open file descriptors.", process.open_fds),
            (HEAP.0, "gauge", HEAP.1, heap::live_bytes() as f64),
            (TASKS.0, "gauge", TASKS.1, tasks as f64),
            (STORE_ACCEPTED.0, "counter", STORE_ACCEPTED.1, store.accepted as f64),
            (STORE_WRITTEN.0, "counter", STORE_WRITTEN.1, store.written as f64),
            (STORE_OVERFLOW.0, "counter", STORE_OVERFLOW.1, store.overflow as f64),
            (STORE_ERRORS.0, "counter", STORE_ERRORS.1, store.write_errors as f64),
            (STORE_LOST.0, "counter", STORE_LOST.1, store.lost as f64),
            (STORE_PENDING.0, "gauge", STORE_PENDING.1, store.pending as f64),
        ];
        for (name, kind, help, value) in figures {
            out.one(name, kind, help, value);
        }
        out.0
    }
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// A metric family's name and help text.
type Named = (&'static str, &'static str);

const TICKS: Named = (
    "skirmish_tick_duration_seconds",
    "Time to run one room tick (step, encode, publish), all rooms.",
);
const ANSWERS: Named = (
    "skirmish_input_answer_seconds",
    "From reading an input to writing the first snapshot that acknowledges it.",
);
const ROOM_TICKS: Named =
    ("skirmish_room_tick_duration_seconds", "Time to run one tick, per room.");
const PROCESS_CPU: Named =
    ("process_cpu_seconds_total", "User and system CPU time of the server process.");
const PROCESS_RSS: Named =
    ("process_resident_memory_bytes", "Resident set size of the server process.");
const HEAP: Named = (
    "skirmish_heap_live_bytes",
    "Heap bytes allocated and not yet freed (0 where the allocator does not count).",
);
const TASKS: Named = ("skirmish_tasks", "Live tokio tasks (sessions, rooms, connections).");
const STORE_ACCEPTED: Named =
    ("skirmish_store_accepted_total", "Records (names, kills, matches) queued for the database.");
const STORE_WRITTEN: Named = ("skirmish_store_written_total", "Records committed to the database.");
const STORE_OVERFLOW: Named = (
    "skirmish_store_overflow_total",
    "Records dropped because the queue was full (database slow or down).",
);
const STORE_ERRORS: Named =
    ("skirmish_store_write_errors_total", "Failed database write attempts (each retried).");
const STORE_LOST: Named =
    ("skirmish_store_lost_total", "Accepted records given up at shutdown (database unreachable).");
const STORE_PENDING: Named = ("skirmish_store_pending", "Records queued and not yet written.");

/// The figures kept by [`Metrics`] itself, one sample each: name, type, help, value.
type Counter = (&'static str, &'static str, &'static str, fn(&Metrics) -> f64);

const COUNTERS: [Counter; 15] = [
    ("skirmish_tick_duration_max_seconds", "gauge", "Longest tick since start.", |m| {
        load(&m.ticks.max_ns) as f64 / 1e9
    }),
    (
        "skirmish_tick_overruns_total",
        "counter",
        "Times a room fell too far behind and reset its schedule.",
        |m| load(&m.tick_overruns) as f64,
    ),
    ("skirmish_connections", "gauge", "Open game sockets.", |m| load(&m.connections) as f64),
    ("skirmish_spectators", "gauge", "Spectators watching, in all rooms (not players).", |m| {
        load(&m.spectators) as f64
    }),
    ("skirmish_connections_total", "counter", "Game sockets accepted since start.", |m| {
        load(&m.connections_total) as f64
    }),
    ("skirmish_bytes_in_total", "counter", "WebSocket payload bytes received.", |m| {
        load(&m.bytes_in) as f64
    }),
    ("skirmish_bytes_out_total", "counter", "WebSocket payload bytes sent.", |m| {
        load(&m.bytes_out) as f64
    }),
    ("skirmish_frames_in_total", "counter", "WebSocket messages received.", |m| {
        load(&m.frames_in) as f64
    }),
    ("skirmish_frames_out_total", "counter", "WebSocket messages sent.", |m| {
        load(&m.frames_out) as f64
    }),
    (
        "skirmish_snapshots_replaced_total",
        "counter",
        "Snapshots overwritten in a slow client's latest-wins slot before being sent.",
        |m| load(&m.snapshots_replaced) as f64,
    ),
    (
        "skirmish_inputs_dropped_total",
        "counter",
        "Input commands dropped from full per-player buffers.",
        |m| load(&m.inputs_dropped) as f64,
    ),
    (
        "skirmish_inputs_trimmed_total",
        "counter",
        "Input commands dropped because they stood queued for half a second (a client sending faster than the tick rate).",
        |m| load(&m.inputs_trimmed) as f64,
    ),
    (
        "skirmish_inputs_repeated_total",
        "counter",
        "Ticks that repeated a player's last command because its own came late (the late one is then dropped).",
        |m| load(&m.inputs_repeated) as f64,
    ),
    (
        "skirmish_chat_dropped_total",
        "counter",
        "Chat lines dropped from full per-player backlogs.",
        |m| load(&m.chat_dropped) as f64,
    ),
    (
        "skirmish_rate_limited_total",
        "counter",
        "Client messages dropped for exceeding a rate limit.",
        |m| load(&m.rate_limited) as f64,
    ),
];

/// The text being written: each family's `# HELP`/`# TYPE` lines, then its samples.
struct Exposition(String);

impl Exposition {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.head(name, kind, help);
        let _ = writeln!(self.0, "{name} {value}");
    }

    /// A family with one sample per label set (`key="value"`, without braces).
    fn labelled(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        samples: impl Iterator<Item = (String, f64)>,
    ) {
        self.head(name, kind, help);
        for (labels, value) in samples {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histogram_counters_and_process_figures() {
        let metrics = Metrics::default();
        metrics.observe_tick(Duration::from_micros(300));
        metrics.observe_tick(Duration::from_millis(3));
        metrics.disconnected(DisconnectReason::Policy);
        add(&metrics.bytes_out, 1234);
        let room = TickHistogram::default();
        room.observe(Duration::from_millis(3));
        let text = metrics.render(&[("main".into(), 3, &room)], &store::StoreStats::default());
        assert!(
            text.contains("skirmish_tick_duration_seconds_bucket{le=\"0.0005\"} 1"),
            "first tick in the 0.5 ms bucket:\n{text}"
        );
        assert!(
            text.contains("skirmish_tick_duration_seconds_bucket{le=\"0.004\"} 2"),
            "cumulative buckets:\n{text}"
        );
        assert!(text.contains("skirmish_tick_duration_seconds_count 2"), "{text}");
        assert!(text.contains("skirmish_tick_duration_max_seconds 0.003"), "{text}");
        assert!(text.contains("skirmish_disconnects_total{reason=\"policy\"} 1"), "{text}");
        assert!(text.contains("skirmish_bytes_out_total 1234"), "{text}");
        assert!(text.contains("skirmish_room_players{room=\"main\"} 3"), "{text}");
        assert!(
            text.contains(
                "skirmish_room_tick_duration_seconds_bucket{room=\"main\",le=\"0.004\"} 1"
            ),
            "per-room ticks:\n{text}"
        );
        assert!(
            text.contains("skirmish_room_tick_duration_seconds_count{room=\"main\"} 1"),
            "{text}"
        );
        let rss = text
            .lines()
            .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
            .expect("rss line");
        assert!(rss.parse::<f64>().expect("number") > 0.0, "RSS is read from /proc");
    }
}
