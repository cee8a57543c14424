//! Whether a client is still there, judged at each server ping (pure logic beside `flow`).
//!
//! A client that sends nothing at all for the idle time-out has gone silent. A client that keeps
//! sending inputs while its snapshot acknowledgements fall as far behind has stopped reading
//! (its socket is full, or its page is frozen): both are dropped, and both keep their seat for a
//! resume, since the link failed rather than the player leaving. Whether a client is sending
//! inputs at all is `flow`'s call (`FlowControl::playing`), so it is judged in one place.

use std::time::Duration;

use tokio::time::Instant;

use crate::close::Close;

pub(crate) struct Liveness {
    last_heard: Instant,
    idle: Duration,
    /// The idle time-out in ticks: how far acknowledgements may lag behind the room.
    max_ack_lag: u32,
}

impl Liveness {
    pub(crate) fn new(idle: Duration, tick_hz: u16, now: Instant) -> Liveness {
        let max_ack_lag = (idle.as_secs_f64() * f64::from(tick_hz)) as u32;
        Liveness { last_heard: now, idle, max_ack_lag }
    }

    /// Something arrived from the client at `now`.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// At a ping: the close for a client that went silent, or that is `playing` (sending
    /// inputs) while its acknowledgements lag `ack_lag` ticks behind the room.
    pub(crate) fn check(&self, now: Instant, playing: bool, ack_lag: u32) -> Option<Close> {
        if now.saturating_duration_since(self.last_heard) > self.idle {
            Some(Close::timeout("idle time-out"))
        } else if playing && ack_lag > self.max_ack_lag {
            Some(Close::too_slow("client too slow: snapshots not acknowledged"))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::Cause;

    #[test]
    fn silent_and_deaf_clients_are_told_apart_and_both_keep_their_seat() {
        let start = Instant::now();
        let mut liveness = Liveness::new(Duration::from_millis(3500), 30, start);
        let later = start + Duration::from_secs(2);
        liveness.heard(later);
        assert_eq!(liveness.check(later, true, 100), None, "talking, acks within 3.5 s of ticks");
        let silent = liveness.check(later + Duration::from_secs(4), false, 0).expect("silent");
        assert_eq!(silent.cause, Cause::Timeout);
        let deaf = liveness.check(later, true, 106).expect("acks 3.5 s behind while sending");
        assert_eq!(deaf.cause, Cause::SlowConsumer);
        assert_eq!(liveness.check(later, false, 10_000), None, "no inputs: its acks cannot move");
        assert!(silent.cause.keeps_seat() && deaf.cause.keeps_seat());
    }
}
