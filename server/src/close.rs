//! Why a connection ends: a WebSocket close code and a short reason the client can show.

use std::borrow::Cow;

use shared::protocol::close;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};

/// A close frame to send. Reasons are cut to the 123 bytes a close frame can carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Close {
    pub(crate) code: u16,
    pub(crate) reason: Cow<'static, str>,
}

impl Close {
    pub(crate) fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Close {
        let mut reason = reason.into();
        if reason.len() > 123 {
            let mut cut = 123;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason = Cow::Owned(reason[..cut].to_string());
        }
        Close { code, reason }
    }

    pub(crate) fn restart() -> Close {
        Close::new(close::RESTART, "server restarting")
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
    fn oversize_maps_to_1009() {
        let err = WsError::Capacity(CapacityError::MessageTooLong { size: 5000, max_size: 1024 });
        assert_eq!(Close::for_ws_error(&err).map(|c| c.code), Some(close::TOO_BIG));
    }
}
