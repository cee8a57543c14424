//! Timing and traffic figures: input latency tracking, percentiles, and the final report.

use std::collections::VecDeque;

use serde::Serialize;

/// Measures input latency: from sending input `k` (the first command of a message: the input
/// just sampled) to the first snapshot that acknowledges `k`.
#[derive(Debug, Default)]
pub struct LatencyTracker {
    /// Sent, not yet acknowledged: (seq, send time in ms), oldest first.
    pending: VecDeque<(u32, f64)>,
}

/// Inputs remembered while waiting for their ack; older ones are forgotten (counted as lost).
const MAX_PENDING: usize = 512;

impl LatencyTracker {
    pub fn sent(&mut self, seq: u32, at_ms: f64) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((seq, at_ms));
    }

    /// A snapshot arrived at `at_ms` acknowledging every input up to `ack`: returns the
    /// latencies of the inputs it acknowledges for the first time.
    pub fn acked(&mut self, ack: u32, at_ms: f64, out: &mut Vec<f32>) {
        while let Some(&(seq, sent)) = self.pending.front() {
            if seq > ack {
                break;
            }
            out.push((at_ms - sent) as f32);
            self.pending.pop_front();
        }
    }
}

/// Percentile `p` (0..=100) of `sorted` by nearest rank; 0 for no samples.
pub fn percentile(sorted: &[f32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Spread3 {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Spread2 {
    pub p50: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct TickSpread {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// The one JSON line a run prints (fields from DESIGN.md section 8, plus context).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub bots: usize,
    /// Spectators connected (`--spectators`), besides the bots.
    pub spectators: usize,
    /// Message bytes each spectator received per second.
    pub spectator_rx_bytes_per_s: f64,
    /// Snapshots the spectators received over those the room sent them (its send rate).
    pub spectator_snapshot_delivery: f64,
    pub behavior: String,
    pub duration_s: f64,
    pub connected: usize,
    pub failed: usize,
    pub dropped: usize,
    /// One failed or dropped bot's error (the first by index), so a report says why.
    pub first_failure: Option<String>,
    pub reconnects: u64,
    /// Message payload bytes (WebSocket framing not counted).
    pub rx_bytes_per_client_per_s: f64,
    pub tx_bytes_per_client_per_s: f64,
    /// The part of `rx_bytes_per_client_per_s` in snapshots, and in event messages.
    pub rx_snapshot_bytes_per_client_per_s: f64,
    pub rx_event_bytes_per_client_per_s: f64,
    /// The same three over the steady part of the run (every bot joined, until the end), as
    /// the server's figures are: without the ramp's joins (every player's name told to
    /// everyone already there, once per pair of players), what a full room costs each second.
    pub steady_rx_bytes_per_client_per_s: f64,
    pub steady_rx_snapshot_bytes_per_client_per_s: f64,
    pub steady_rx_event_bytes_per_client_per_s: f64,
    pub snapshots_per_client_per_s: f64,
    pub expected_snapshot_hz: f64,
    /// `snapshots_per_client_per_s / expected_snapshot_hz`.
    pub snapshot_delivery: f64,
    pub input_latency_ms: Spread3,
    /// From asking for a seat (the lobby's quick play, or opening the socket) to `Welcome`,
    /// over every join of the run (first joins, churn and rejoins; resumes not counted).
    pub join_ms: Spread3,
    pub rtt_ms: Spread2,
    pub server_tick_ms: TickSpread,
    /// The server's own answer time (its `skirmish_input_answer_seconds`): from reading an
    /// input to writing the first snapshot that acknowledges it. `input_latency_ms` adds the
    /// network and the time the bots' own process takes to get to each message.
    pub server_answer_ms: Spread2,
    /// Each room's tick p99 over the steady part, by room name.
    pub server_room_tick_p99_ms: std::collections::BTreeMap<String, f64>,
    pub server_cpu_per_s: f64,
    pub server_rss_mb: f64,
    pub server_players: f64,
    pub server_tick_hz: f64,
    /// CPU seconds per second used by this bots process (1.0 = one full core).
    pub bots_cpu_per_s: f64,
    /// Snapshots after which a bot's predicted position had to be corrected, and the largest
    /// correction in world units (0 when prediction always matched the server).
    pub prediction_corrections: u64,
    pub max_prediction_error: f64,
    /// The corrections per second of play of a full-netcode bot (those that predict).
    pub prediction_corrections_per_client_s: f64,
    /// Reconnects after a storm that took back the same player, and those that did not.
    pub resumes: u64,
    pub resume_failures: u64,
    /// Quick-playing bots that the server closed with 1012 (draining) and that took a new seat
    /// through the lobby.
    pub rejoins: u64,
    /// From the reconnect storm to the last bot taking back its player, in milliseconds
    /// (0 without a storm).
    pub storm_to_last_resume_ms: f64,
    /// Connections the server refused for lack of room, one entry per limit with the flag
    /// that raises it (empty when nothing was refused).
    pub refusals: Vec<crate::refusal::RefusalCount>,
}

/// Sorts samples and takes the three usual percentiles.
pub fn spread3(samples: &mut [f32]) -> Spread3 {
    samples.sort_by(f32::total_cmp);
    Spread3 {
        p50: percentile(samples, 50.0),
        p95: percentile(samples, 95.0),
        p99: percentile(samples, 99.0),
    }
}

pub fn spread2(samples: &mut [f32]) -> Spread2 {
    samples.sort_by(f32::total_cmp);
    Spread2 { p50: percentile(samples, 50.0), p99: percentile(samples, 99.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_measured_to_the_first_ack() {
        let mut tracker = LatencyTracker::default();
        let mut out = Vec::new();
        tracker.sent(1, 0.0);
        tracker.sent(2, 33.0);
        tracker.sent(3, 66.0);
        tracker.acked(0, 40.0, &mut out);
        assert!(out.is_empty(), "ack 0 acknowledges nothing");
        tracker.acked(2, 80.0, &mut out);
        assert_eq!(out, vec![80.0, 47.0], "inputs 1 and 2 acked at 80 ms");
        tracker.acked(2, 120.0, &mut out);
        assert_eq!(out.len(), 2, "a repeated ack adds nothing");
        tracker.acked(3, 130.0, &mut out);
        assert_eq!(out.last(), Some(&64.0), "input 3: 130 - 66");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut samples: Vec<f32> = (1..=100).rev().map(|v| v as f32).collect();
        let spread = spread3(&mut samples);
        assert_eq!(spread, Spread3 { p50: 50.0, p95: 95.0, p99: 99.0 }, "1..=100");
        assert_eq!(percentile(&[], 99.0), 0.0, "no samples");
        assert_eq!(percentile(&[7.0], 50.0), 7.0, "one sample");
    }

    #[test]
    fn tracker_memory_is_bounded() {
        let mut tracker = LatencyTracker::default();
        for seq in 0..10_000 {
            tracker.sent(seq, f64::from(seq));
        }
        assert_eq!(tracker.pending.len(), MAX_PENDING, "old unacknowledged inputs are forgotten");
    }
}
