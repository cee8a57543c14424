//! Why the server turned bots away, and which of its flags raises that limit.
//!
//! A server refuses a connection it has no room for in one of two places: before the upgrade,
//! with HTTP 429 (too many sockets from one address) or 503 (too many in total), and after
//! `Hello`, with close code 1013 (the room is full, or no room may be started). [`Refusal`]
//! names the limit from either; [`summarize`] folds a run's refusals into one hint per limit,
//! printed once for the whole run instead of once per bot.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use shared::protocol::close;
use tokio_tungstenite::tungstenite::Error as WsError;

/// A server limit that refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    /// HTTP 429: the per-address cap on open game sockets (all bots share one address).
    PerIpCap,
    /// HTTP 503 (not a restart): the cap on open game sockets in total.
    ConnectionCap,
    /// Close 1013 "room is full": the room's seats.
    RoomFull,
    /// Close 1013 "too many rooms": a new room may not be started.
    TooManyRooms,
}

/// The error a bot's connection attempt ends with when the server closes instead of sending
/// `Welcome`; [`Refusal::classify`] finds it in an error chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedBeforeWelcome {
    pub code: u16,
    pub reason: String,
}

impl fmt::Display for ClosedBeforeWelcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused with close {}: {}", self.code, self.reason)
    }
}

impl std::error::Error for ClosedBeforeWelcome {}

impl Refusal {
    /// The limit behind an HTTP answer to the WebSocket handshake, if it is one.
    pub fn from_status(status: u16, body: &str) -> Option<Refusal> {
        match status {
            429 => Some(Refusal::PerIpCap),
            // The server also answers 503 while it shuts down: that is no limit.
            503 if !body.contains("restarting") => Some(Refusal::ConnectionCap),
            _ => None,
        }
    }

    /// The limit behind a close frame received instead of `Welcome`, if it is one.
    pub fn from_close(code: u16, reason: &str) -> Option<Refusal> {
        if code != close::TRY_AGAIN_LATER {
            return None;
        }
        Some(if reason.contains("rooms") { Refusal::TooManyRooms } else { Refusal::RoomFull })
    }

    /// The limit behind a failed connection attempt: an HTTP refusal of the handshake or a
    /// close before `Welcome`, anywhere in the error's chain of causes.
    pub fn classify(err: &anyhow::Error) -> Option<Refusal> {
        err.chain().find_map(|cause| {
            if let Some(WsError::Http(response)) = cause.downcast_ref::<WsError>() {
                let body = response.body().as_deref().unwrap_or_default();
                return Refusal::from_status(
                    response.status().as_u16(),
                    &String::from_utf8_lossy(body),
                );
            }
            cause
                .downcast_ref::<ClosedBeforeWelcome>()
                .and_then(|closed| Refusal::from_close(closed.code, &closed.reason))
        })
    }

    /// The server flag that raises this limit.
    pub fn flag(self) -> &'static str {
        match self {
            Refusal::PerIpCap => "--max-connections-per-ip",
            Refusal::ConnectionCap => "--max-connections",
            Refusal::RoomFull => "--max-players",
            Refusal::TooManyRooms => "--max-rooms",
        }
    }

    /// What refused, as the server reports it.
    pub fn what(self) -> &'static str {
        match self {
            Refusal::PerIpCap => "too many connections from one address (HTTP 429)",
            Refusal::ConnectionCap => "too many connections in total (HTTP 503)",
            Refusal::RoomFull => "the room is full (close 1013)",
            Refusal::TooManyRooms => "too many rooms (close 1013)",
        }
    }

    /// One line for the operator: how many bots this limit refused, and the flag (with a value
    /// that holds every bot of the run) that lets them in.
    pub fn hint(self, refused: usize, bots: usize) -> String {
        let value = match self {
            // Each bot plays in the default room: one more room is never what is missing.
            Refusal::TooManyRooms => "a larger number".to_string(),
            _ => bots.to_string(),
        };
        format!(
            "{refused} of {bots} bot(s) refused: {}; start the server with {} {value} (or more) to let them in",
            self.what(),
            self.flag()
        )
    }
}

/// One limit's share of a run's refusals, as the report carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusalCount {
    /// The server flag that raises the limit.
    pub flag: &'static str,
    /// Bots (or reconnects) it refused.
    pub refused: usize,
    /// The line printed for it.
    pub hint: String,
}

/// Folds the refusals of a run with `bots` bots into one entry per limit, most frequent first.
pub fn summarize(refusals: impl IntoIterator<Item = Refusal>, bots: usize) -> Vec<RefusalCount> {
    let mut counts: BTreeMap<Refusal, usize> = BTreeMap::new();
    for refusal in refusals {
        *counts.entry(refusal).or_default() += 1;
    }
    let mut summary: Vec<RefusalCount> = counts
        .into_iter()
        .map(|(refusal, refused)| RefusalCount {
            flag: refusal.flag(),
            refused,
            hint: refusal.hint(refused, bots),
        })
        .collect();
    summary.sort_by_key(|count| std::cmp::Reverse(count.refused));
    summary
}

#[cfg(test)]
mod tests {
    use anyhow::Context;
    use tokio_tungstenite::tungstenite::http::Response;

    use super::*;

    fn http_error(status: u16, body: &str) -> anyhow::Error {
        let response = Response::builder()
            .status(status)
            .body(Some(body.as_bytes().to_vec()))
            .expect("a response");
        anyhow::Error::new(WsError::Http(Box::new(response))).context("connecting to ws://x/ws")
    }

    #[test]
    fn handshake_statuses_name_their_caps() {
        let cases = [
            (429, "too many connections from your address", Some(Refusal::PerIpCap)),
            (503, "server full, try again later", Some(Refusal::ConnectionCap)),
            (503, "server restarting", None),
            (403, "origin not allowed", None),
            (401, "a valid session is required", None),
        ];
        for (status, body, expected) in cases {
            assert_eq!(Refusal::classify(&http_error(status, body)), expected, "{status} {body}");
        }
    }

    #[test]
    fn closes_before_welcome_name_their_limits() {
        let closed = |code: u16, reason: &str| {
            Err::<(), _>(ClosedBeforeWelcome { code, reason: reason.into() })
                .context("waiting for Welcome")
                .expect_err("an error")
        };
        assert_eq!(Refusal::classify(&closed(1013, "room is full")), Some(Refusal::RoomFull));
        assert_eq!(Refusal::classify(&closed(1013, "too many rooms")), Some(Refusal::TooManyRooms));
        assert_eq!(Refusal::classify(&closed(1008, "bad name")), None, "not a limit");
        assert_eq!(Refusal::classify(&anyhow::anyhow!("connection refused")), None);
    }

    #[test]
    fn each_limit_names_the_flag_that_raises_it() {
        assert_eq!(Refusal::PerIpCap.flag(), "--max-connections-per-ip");
        assert_eq!(Refusal::ConnectionCap.flag(), "--max-connections");
        assert_eq!(Refusal::RoomFull.flag(), "--max-players");
        let hint = Refusal::PerIpCap.hint(168, 200);
        assert!(hint.contains("168 of 200"), "{hint}");
        assert!(
            hint.contains("--max-connections-per-ip 200"),
            "a value that holds every bot: {hint}"
        );
    }

    #[test]
    fn a_run_gets_one_line_per_limit() {
        let refusals = std::iter::repeat_n(Refusal::PerIpCap, 168)
            .chain(std::iter::repeat_n(Refusal::RoomFull, 2));
        let summary = summarize(refusals, 200);
        assert_eq!(summary.len(), 2, "{summary:?}");
        assert_eq!((summary[0].flag, summary[0].refused), ("--max-connections-per-ip", 168));
        assert_eq!((summary[1].flag, summary[1].refused), ("--max-players", 2));
        assert!(summarize([], 10).is_empty(), "no refusal, no hint");
    }
}
