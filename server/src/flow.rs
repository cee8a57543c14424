//! Snapshot flow control: whether a member's downstream is congested, so that its snapshots
//! should wait in the latest-wins slot instead of queueing behind the congestion.
//!
//! TCP never loses a frame: on a congested path written frames pile up in buffers and arrive
//! late, in order. The client acknowledges the newest snapshot it has in every input message,
//! so the server knows how much is in flight. A path normally holds one round trip of it; more
//! than the configured window beyond that means frames are queueing. The round trip used is
//! the smallest one measured with the server's own WebSocket pings (each carries its send time,
//! which the pong echoes), so queueing delay does not raise the bar it is judged by.
//!
//! Only a client that sends inputs is judged: without inputs its acknowledgements cannot move,
//! and holding its snapshots would freeze it.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

/// Flow control only judges a client whose inputs (which carry its acks) arrived this recently.
const EVIDENCE: Duration = Duration::from_secs(1);
/// Round trips above this are not believed (a client could echo any pong payload).
const MAX_BASE_RTT: Duration = Duration::from_secs(2);

pub(crate) struct FlowControl {
    window_ticks: u32,
    tick_hz: u16,
    epoch: Instant,
    inputs_seen: u32,
    last_input: Option<Instant>,
    base_rtt: Option<Duration>,
}

impl FlowControl {
    /// `window_ticks` 0 turns flow control off.
    pub(crate) fn new(window_ticks: u32, tick_hz: u16, now: Instant) -> FlowControl {
        FlowControl {
            window_ticks,
            tick_hz,
            epoch: now,
            inputs_seen: 0,
            last_input: None,
            base_rtt: None,
        }
    }

    /// Notes how many input messages the link has received so far.
    pub(crate) fn observe_inputs(&mut self, count: u32, now: Instant) {
        if count != self.inputs_seen {
            self.inputs_seen = count;
            self.last_input = Some(now);
        }
    }

    /// The payload of a ping sent at `now`: its send time, for the pong to bring back.
    pub(crate) fn ping_payload(&self, now: Instant) -> Bytes {
        let micros = now.saturating_duration_since(self.epoch).as_micros() as u64;
        Bytes::copy_from_slice(&micros.to_be_bytes())
    }

    /// A pong arrived at `now`: one round-trip sample, if its payload is one of our pings.
    pub(crate) fn on_pong(&mut self, payload: &[u8], now: Instant) {
        let Ok(bytes) = <[u8; 8]>::try_from(payload) else { return };
        let sent = self.epoch + Duration::from_micros(u64::from_be_bytes(bytes));
        let Some(rtt) = now.checked_duration_since(sent) else { return };
        let rtt = rtt.min(MAX_BASE_RTT);
        self.base_rtt = Some(self.base_rtt.map_or(rtt, |base| base.min(rtt)));
    }

    /// Whether the client is sending inputs (one arrived within the last second): only then
    /// can its acknowledgements move, and only then is it judged on them.
    pub(crate) fn playing(&self, now: Instant) -> bool {
        self.last_input.is_some_and(|at| now.saturating_duration_since(at) < EVIDENCE)
    }

    /// Whether snapshots should wait, with `in_flight` ticks written but not acknowledged.
    pub(crate) fn congested(&self, in_flight: u32, now: Instant) -> bool {
        let talking = self.playing(now);
        let round_trip = self
            .base_rtt
            .map_or(0, |rtt| (rtt.as_secs_f64() * f64::from(self.tick_hz)).ceil() as u32);
        self.window_ticks > 0 && talking && in_flight > self.window_ticks + round_trip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talking(now: Instant) -> FlowControl {
        let mut flow = FlowControl::new(15, 30, now);
        flow.observe_inputs(1, now);
        flow
    }

    #[test]
    fn more_than_the_window_in_flight_is_congestion() {
        let now = Instant::now();
        let flow = talking(now);
        assert!(!flow.congested(15, now), "the window itself is fine");
        assert!(flow.congested(16, now), "beyond it, snapshots wait");
    }

    #[test]
    fn only_a_client_sending_inputs_is_judged() {
        let now = Instant::now();
        let silent = FlowControl::new(15, 30, now);
        assert!(!silent.congested(100, now), "no inputs: acknowledgements cannot move");
        let flow = talking(now);
        assert!(!flow.congested(100, now + EVIDENCE), "inputs stopped a second ago");
        let off = FlowControl::new(0, 30, now);
        assert!(!off.congested(1000, now), "window 0 turns it off");
    }

    #[test]
    fn a_long_round_trip_raises_the_bar_and_queueing_does_not() {
        let now = Instant::now();
        let mut flow = talking(now);
        let ping = flow.ping_payload(now);
        flow.on_pong(&ping, now + Duration::from_millis(300));
        assert!(!flow.congested(24, now), "15 ticks of window plus 9 of round trip");
        assert!(flow.congested(25, now));
        let later = now + Duration::from_secs(5);
        let ping = flow.ping_payload(later);
        flow.on_pong(&ping, later + Duration::from_millis(900));
        assert!(flow.congested(25, now), "a slower sample (queueing) does not raise it");
    }

    #[test]
    fn foreign_pong_payloads_are_ignored_or_capped() {
        let now = Instant::now();
        let mut flow = talking(now);
        flow.on_pong(b"hello", now);
        flow.on_pong(&u64::MAX.to_be_bytes(), now);
        assert!(flow.congested(16, now), "no round trip learnt from junk");
        flow.on_pong(&0u64.to_be_bytes(), now + Duration::from_secs(60));
        assert!(!flow.congested(75, now), "a claimed minute counts as 2 s (60 ticks)");
        assert!(flow.congested(76, now));
    }
}
