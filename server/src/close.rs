//! Why a connection ends: a WebSocket close code, a short reason the client can show, and the
//! [`Cause`] the rest of the server acts on (which metric counts it, whether the seat is kept),
//! so rewording a reason never changes behaviour.

use std::borrow::Cow;

use shared::protocol::close;

use crate::metrics::DisconnectReason;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};

/// What the server does about a close: the metric it counts under, and whether the player's
/// seat is held for a resume (the client did nothing wrong, its link did).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    Restart,
    Refused,
    Protocol,
    Policy,
    TooBig,
    /// Silent too long (no Hello, no traffic).
    Timeout,
    /// Not reading what it is sent.
    SlowConsumer,
}

impl Cause {
    /// The close code's usual cause; time-outs and slow consumers are named by their
    /// constructors.
    fn of_code(code: u16) -> Cause {
        match code {
            close::RESTART => Cause::Restart,
            close::TOO_BIG => Cause::TooBig,
            close::TRY_AGAIN_LATER => Cause::Refused,
            close::POLICY | close::RESUME_REFUSED => Cause::Policy,
            _ => Cause::Protocol,
        }
    }

    pub(crate) fn metric(self) -> DisconnectReason {
        match self {
            Cause::Restart => DisconnectReason::ServerRestart,
            Cause::Refused => DisconnectReason::Refused,
            Cause::Protocol => DisconnectReason::ProtocolError,
            Cause::Policy => DisconnectReason::Policy,
            Cause::TooBig => DisconnectReason::TooBig,
            Cause::Timeout => DisconnectReason::Timeout,
            Cause::SlowConsumer => DisconnectReason::SlowConsumer,
        }
    }

    /// Whether the player's seat is kept for a resume.
    pub(crate) fn keeps_seat(self) -> bool {
        matches!(self, Cause::Timeout | Cause::SlowConsumer)
    }
}

/// A close frame to send. Reasons are cut to the 123 bytes a close frame can carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Close {
    pub(crate) code: u16,
    pub(crate) reason: Cow<'static, str>,
    pub(crate) cause: Cause,
}

impl Close {
    /// A close with `code`'s usual cause.
    pub(crate) fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Close {
        Close::with_cause(code, reason, Cause::of_code(code))
    }

    /// A policy close for a client that went silent (its seat is kept).
    pub(crate) fn timeout(reason: impl Into<Cow<'static, str>>) -> Close {
        Close::with_cause(close::POLICY, reason, Cause::Timeout)
    }

    /// A policy close for a client that stopped reading (its seat is kept).
    pub(crate) fn too_slow(reason: impl Into<Cow<'static, str>>) -> Close {
        Close::with_cause(close::POLICY, reason, Cause::SlowConsumer)
    }

    fn with_cause(code: u16, reason: impl Into<Cow<'static, str>>, cause: Cause) -> Close {
        let mut reason = reason.into();
        if reason.len() > 123 {
            let mut cut = 123;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason = Cow::Owned(reason[..cut].to_string());
        }
        Close { code, reason, cause }
    }

    pub(crate) fn restart() -> Close {
        Close::new(close::RESTART, "server restarting")
    }

    /// This process is draining (SIGTERM): join again through the lobby, which sends the
    /// player to another process.
    pub(crate) fn restart_elsewhere() -> Close {
        Close::new(close::RESTART, "server draining: rejoin through the lobby")
    }

    /// What to tell a peer whose stream failed, or `None` when the socket itself is gone.
    pub(crate) fn for_ws_error(err: &WsError) -> Option<Close> {
        match err {
            WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => Some(
                Close::new(close::TOO_BIG, format!("message of {size} bytes exceeds {max_size}")),
            ),
            WsError::Capacity(other) => Some(Close::new(close::TOO_BIG, other.to_string())),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
            WsError::Protocol(other) => Some(Close::new(close::PROTOCOL_ERROR, other.to_string())),
            WsError::Utf8(_) => Some(Close::new(close::PROTOCOL_ERROR, "invalid UTF-8")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let close = Close::new(1008, "é".repeat(100));
        assert!(close.reason.len() <= 123, "reason fits a close frame");
        assert!(close.reason.chars().all(|c| c == 'é'), "no broken character");
    }

    #[test]
    fn the_cause_not_the_wording_decides_metric_and_seat() {
        let cases = [
            (Close::timeout("idle"), DisconnectReason::Timeout, true),
            (Close::timeout("any words at all"), DisconnectReason::Timeout, true),
            (Close::too_slow("not reading"), DisconnectReason::SlowConsumer, true),
            (Close::new(close::POLICY, "time-out, too slow"), DisconnectReason::Policy, false),
            (Close::new(close::RESUME_REFUSED, "spent"), DisconnectReason::Policy, false),
            (Close::restart(), DisconnectReason::ServerRestart, false),
            (Close::new(close::TRY_AGAIN_LATER, "full"), DisconnectReason::Refused, false),
            (Close::new(close::PROTOCOL_ERROR, "bad"), DisconnectReason::ProtocolError, false),
        ];
        for (close, metric, keeps) in cases {
            assert_eq!(
                (close.cause.metric(), close.cause.keeps_seat()),
                (metric, keeps),
                "{close:?}"
            );
        }
    }

    #[test]
    fn oversize_maps_to_1009() {
        let err = WsError::Capacity(CapacityError::MessageTooLong { size: 5000, max_size: 1024 });
        assert_eq!(Close::for_ws_error(&err).map(|c| c.code), Some(close::TOO_BIG));
    }
}
