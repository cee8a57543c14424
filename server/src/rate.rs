//! Per-connection rate limits: a token bucket for what is allowed, and a second one that
//! measures sustained excess, so a burst is merely dropped but a flood closes the connection.

use std::time::Duration;

use tokio::time::Instant;

/// A classic token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        TokenBucket { rate, burst, tokens: burst, last: now }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    /// Over the limit: drop it and count it.
    Drop,
    /// Over the limit for too long: close the connection (1008).
    Close,
}

/// The allowance for one kind of message.
#[derive(Debug, Clone)]
pub(crate) struct Limit {
    allowed: TokenBucket,
    /// Drained by dropped messages and refilled at the allowed rate: traffic at up to twice the
    /// allowance never empties it; at three times the allowance it empties after [`SUSTAINED`].
    excess: TokenBucket,
}

/// How long a flood at three times the allowed rate is tolerated before the connection closes.
pub(crate) const SUSTAINED: Duration = Duration::from_secs(5);

impl Limit {
    pub(crate) fn new(per_second: f64, burst: f64, now: Instant) -> Limit {
        let excess_burst = per_second * SUSTAINED.as_secs_f64();
        Limit {
            allowed: TokenBucket::new(per_second, burst, now),
            excess: TokenBucket::new(per_second, excess_burst, now),
        }
    }

    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        if self.allowed.take(now) {
            Verdict::Accept
        } else if self.excess.take(now) {
            Verdict::Drop
        } else {
            Verdict::Close
        }
    }
}

/// The limits of one game connection.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) inputs: Limit,
    pub(crate) chat: Limit,
    pub(crate) pings: Limit,
    /// A spectator's camera moves (`Look`).
    pub(crate) looks: Limit,
}

impl Limits {
    /// Inputs: twice the tick rate (clients send one per tick; redundancy rides inside).
    /// Chat: one line a second, bursts of five. Pings: two a second. Looks: ten a second
    /// (clients send at most five).
    pub(crate) fn new(tick_hz: u16, now: Instant) -> Limits {
        let tick_hz = f64::from(tick_hz);
        Limits {
            inputs: Limit::new(2.0 * tick_hz, tick_hz, now),
            chat: Limit::new(1.0, 5.0, now),
            pings: Limit::new(2.0, 5.0, now),
            looks: Limit::new(10.0, 10.0, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_traffic_within_the_rate_passes() {
        let start = Instant::now();
        let mut limit = Limit::new(60.0, 30.0, start);
        for i in 0..600 {
            let now = start + Duration::from_millis(i * 1000 / 30);
            assert_eq!(limit.check(now), Verdict::Accept, "message {i} at 30/s under a 60/s limit");
        }
    }

    #[test]
    fn a_burst_is_dropped_and_a_flood_is_closed() {
        let start = Instant::now();
        let mut limit = Limit::new(10.0, 5.0, start);
        let verdicts: Vec<Verdict> = (0..20).map(|_| limit.check(start)).collect();
        assert_eq!(
            verdicts.iter().filter(|v| **v == Verdict::Accept).count(),
            5,
            "the burst allowance passes"
        );
        assert!(
            verdicts[5..].iter().all(|v| *v == Verdict::Drop),
            "the rest of an instant burst is dropped"
        );
        // Keep flooding at 100 a second: after the excess allowance runs out, close.
        let mut closed_at = None;
        for i in 1..=1000u64 {
            let now = start + Duration::from_millis(i * 10);
            if limit.check(now) == Verdict::Close {
                closed_at = Some(Duration::from_millis(i * 10));
                break;
            }
        }
        let closed_at = closed_at.expect("a sustained flood is closed");
        assert!(
            closed_at < Duration::from_secs(2),
            "ten times the rate exhausts the excess fast: {closed_at:?}"
        );
    }

    #[test]
    fn twice_the_rate_is_tolerated_for_a_while() {
        let start = Instant::now();
        let mut limit = Limit::new(10.0, 10.0, start);
        let mut accepted = 0;
        let mut outcome = Verdict::Accept;
        for i in 1..=150u64 {
            outcome = limit.check(start + Duration::from_millis(i * 50));
            if outcome == Verdict::Accept {
                accepted += 1;
            }
            if outcome == Verdict::Close {
                break;
            }
        }
        assert_ne!(
            outcome,
            Verdict::Close,
            "7.5 s at exactly twice the rate is still only dropping"
        );
        assert!((75..=90).contains(&accepted), "about the allowed rate gets through: {accepted}");
    }
}
