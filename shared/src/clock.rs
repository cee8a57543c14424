//! Clock synchronisation from `Ping`/`Pong`: round-trip time, jitter, and the server's tick.

use crate::tick::Tick;

/// Weight of a new round-trip sample in the smoothed average (as TCP's RTT estimator).
const RTT_GAIN: f64 = 0.125;
/// Weight of a new deviation sample in the jitter estimate.
const JITTER_GAIN: f64 = 0.25;

#[derive(Debug, Clone, Default)]
pub struct Clock {
    rtt_ms: Option<f64>,
    jitter_ms: f64,
    /// (local time in ms, server tick at that time) from the latest pong.
    anchor: Option<(f64, Tick)>,
    last_sample_ms: Option<f64>,
}

impl Clock {
    /// A pong for a ping sent at `sent_ms` arrived at `now_ms`; the server was at `server_tick`.
    pub fn on_pong(&mut self, sent_ms: f64, now_ms: f64, server_tick: Tick) {
        let sample = (now_ms - sent_ms).max(0.0);
        match self.rtt_ms {
            None => self.rtt_ms = Some(sample),
            Some(rtt) => {
                self.jitter_ms += JITTER_GAIN * ((sample - rtt).abs() - self.jitter_ms);
                self.rtt_ms = Some(rtt + RTT_GAIN * (sample - rtt));
            }
        }
        self.last_sample_ms = Some(sample);
        // The server stamped the tick about half a round trip ago.
        self.anchor = Some((now_ms - sample / 2.0, server_tick));
    }

    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    /// The server's (fractional) tick now, estimated from the latest pong.
    pub fn server_tick(&self, now_ms: f64, tick_hz: u16) -> Option<f64> {
        let (at_ms, tick) = self.anchor?;
        Some(f64::from(tick.0) + (now_ms - at_ms) * f64::from(tick_hz) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_link_has_its_rtt_and_no_jitter() {
        let mut clock = Clock::default();
        for i in 0..20 {
            let sent = f64::from(i) * 1000.0;
            clock.on_pong(sent, sent + 150.0, Tick(i * 30));
        }
        assert!((clock.rtt_ms().expect("rtt") - 150.0).abs() < 1e-9, "rtt 150 ms");
        assert!(clock.jitter_ms() < 1e-9, "no jitter");
        let tick = clock.server_tick(19_000.0 + 150.0, 30).expect("tick");
        assert!(
            (tick - (570.0 + 75.0 * 30.0 / 1000.0)).abs() < 1e-6,
            "the server is half a trip ahead: {tick}"
        );
    }

    #[test]
    fn jitter_tracks_varying_round_trips() {
        let mut clock = Clock::default();
        for i in 0..200 {
            let sent = f64::from(i) * 100.0;
            let rtt = if i % 2 == 0 { 130.0 } else { 170.0 };
            clock.on_pong(sent, sent + rtt, Tick(i as u32));
        }
        let rtt = clock.rtt_ms().expect("rtt");
        assert!((rtt - 150.0).abs() < 5.0, "average near 150 ms: {rtt}");
        assert!(
            clock.jitter_ms() > 10.0 && clock.jitter_ms() < 30.0,
            "jitter near 20 ms: {}",
            clock.jitter_ms()
        );
    }
}
