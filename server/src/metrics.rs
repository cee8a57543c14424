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

/// Tick durations: all rooms together in [`Metrics`], and each room's own in its stats.
#[derive(Default)]
pub(crate) struct TickHistogram {
    buckets: [AtomicU64; TICK_BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl TickHistogram {
    pub(crate) fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(bucket) = TICK_BUCKETS.iter().position(|bound| seconds <= *bound) {
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
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut cumulative = 0;
        for (bound, count) in TICK_BUCKETS.iter().zip(&self.buckets) {
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

#[derive(Default)]
pub(crate) struct Metrics {
    ticks: TickHistogram,
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
    pub(crate) chat_dropped: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
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
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::with_capacity(4096);
        let one = |value: f64| vec![(String::new(), value)];

        let _ = writeln!(
            out,
            "# HELP skirmish_tick_duration_seconds Time to run one room tick (step, encode, publish), all rooms.\n# TYPE skirmish_tick_duration_seconds histogram"
        );
        self.ticks.render(&mut out, "skirmish_tick_duration_seconds", "");
        let _ = writeln!(
            out,
            "# HELP skirmish_room_tick_duration_seconds Time to run one tick, per room.\n# TYPE skirmish_room_tick_duration_seconds histogram"
        );
        for (name, _, ticks) in rooms {
            let labels = format!("room=\"{name}\",");
            ticks.render(&mut out, "skirmish_room_tick_duration_seconds", &labels);
        }
        let mut put_plain = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        put_plain(
            "skirmish_tick_duration_max_seconds",
            "gauge",
            "Longest tick since start.",
            one(load(&self.ticks.max_ns) as f64 / 1e9),
        );
        put_plain(
            "skirmish_tick_overruns_total",
            "counter",
            "Times a room fell too far behind and reset its schedule.",
            one(load(&self.tick_overruns) as f64),
        );
        let players: usize = rooms.iter().map(|(_, n, _)| n).sum();
        put_plain("skirmish_players", "gauge", "Players in all rooms.", one(players as f64));
        put_plain(
            "skirmish_room_players",
            "gauge",
            "Players per room.",
            rooms.iter().map(|(name, n, _)| (format!("{{room=\"{name}\"}}"), *n as f64)).collect(),
        );
        put_plain("skirmish_rooms", "gauge", "Rooms running.", one(rooms.len() as f64));
        put_plain(
            "skirmish_connections",
            "gauge",
            "Open game sockets.",
            one(load(&self.connections) as f64),
        );
        put_plain(
            "skirmish_connections_total",
            "counter",
            "Game sockets accepted since start.",
            one(load(&self.connections_total) as f64),
        );
        put_plain(
            "skirmish_bytes_in_total",
            "counter",
            "WebSocket payload bytes received.",
            one(load(&self.bytes_in) as f64),
        );
        put_plain(
            "skirmish_bytes_out_total",
            "counter",
            "WebSocket payload bytes sent.",
            one(load(&self.bytes_out) as f64),
        );
        put_plain(
            "skirmish_frames_in_total",
            "counter",
            "WebSocket messages received.",
            one(load(&self.frames_in) as f64),
        );
        put_plain(
            "skirmish_frames_out_total",
            "counter",
            "WebSocket messages sent.",
            one(load(&self.frames_out) as f64),
        );
        put_plain(
            "skirmish_snapshots_replaced_total",
            "counter",
            "Snapshots overwritten in a slow client's latest-wins slot before being sent.",
            one(load(&self.snapshots_replaced) as f64),
        );
        put_plain(
            "skirmish_inputs_dropped_total",
            "counter",
            "Input commands dropped from full per-player buffers.",
            one(load(&self.inputs_dropped) as f64),
        );
        put_plain(
            "skirmish_inputs_trimmed_total",
            "counter",
            "Input commands dropped because they stood queued for half a second (a client sending faster than the tick rate).",
            one(load(&self.inputs_trimmed) as f64),
        );
        put_plain(
            "skirmish_chat_dropped_total",
            "counter",
            "Chat lines dropped from full per-player backlogs.",
            one(load(&self.chat_dropped) as f64),
        );
        put_plain(
            "skirmish_rate_limited_total",
            "counter",
            "Client messages dropped for exceeding a rate limit.",
            one(load(&self.rate_limited) as f64),
        );
        put_plain(
            "skirmish_disconnects_total",
            "counter",
            "Connections ended, by reason.",
            DisconnectReason::ALL
                .iter()
                .zip(&self.disconnects)
                .map(|(reason, count)| {
                    (format!("{{reason=\"{}\"}}", reason.label()), load(count) as f64)
                })
                .collect(),
        );
        let process = ProcessFigures::read();
        put_plain(
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time of the server process.",
            one(process.cpu_seconds),
        );
        put_plain(
            "process_resident_memory_bytes",
            "gauge",
            "Resident set size of the server process.",
            one(process.rss_bytes),
        );
        put_plain("process_open_fds", "gauge", "Open file descriptors.", one(process.open_fds));
        put_plain(
            "skirmish_heap_live_bytes",
            "gauge",
            "Heap bytes allocated and not yet freed (0 where the allocator does not count).",
            one(heap::live_bytes() as f64),
        );
        let tasks =
            tokio::runtime::Handle::try_current().map_or(0, |rt| rt.metrics().num_alive_tasks());
        put_plain(
            "skirmish_tasks",
            "gauge",
            "Live tokio tasks (sessions, rooms, connections).",
            one(tasks as f64),
        );
        let store_counters: [(&str, &str, u64); 5] = [
            (
                "accepted",
                "Records (names, kills, matches) queued for the database.",
                store.accepted,
            ),
            ("written", "Records committed to the database.", store.written),
            (
                "overflow",
                "Records dropped because the queue was full (database slow or down).",
                store.overflow,
            ),
            ("write_errors", "Failed database write attempts (each retried).", store.write_errors),
            ("lost", "Accepted records given up at shutdown (database unreachable).", store.lost),
        ];
        for (name, help, value) in store_counters {
            put_plain(&format!("skirmish_store_{name}_total"), "counter", help, one(value as f64));
        }
        put_plain(
            "skirmish_store_pending",
            "gauge",
            "Records queued and not yet written.",
            one(store.pending as f64),
        );
        out
    }
}

/// CPU time, RSS and open descriptors from `/proc/self` (zeros where `/proc` is absent).
struct ProcessFigures {
    cpu_seconds: f64,
    rss_bytes: f64,
    open_fds: f64,
}

impl ProcessFigures {
    fn read() -> ProcessFigures {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // Linux reports these in clock ticks of 1/100 s on every mainstream configuration.
        let cpu_seconds = (ticks(11) + ticks(12)) / 100.0;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let open_fds =
            std::fs::read_dir("/proc/self/fd").map(|dir| dir.count() as f64).unwrap_or(0.0);
        ProcessFigures { cpu_seconds, rss_bytes: rss_kib * 1024.0, open_fds }
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
