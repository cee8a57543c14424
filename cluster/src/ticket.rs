//! Signed join tickets: how one process sends a browser to a seat on another.
//!
//! The text is `j1.<room>.<ticket>.<player>.<expires>.<mac>`: room, ticket and player in hex
//! (so any text fits and `.` can never be ambiguous), `expires` in decimal unix seconds, and
//! `mac` the hex HMAC-SHA256 of everything before the last `.` under the cluster's shared
//! secret. Checking reads the shape first (garbage is `Malformed`), then compares MACs in
//! constant time, then the expiry.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::hex;

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "j1";
/// Longer texts are refused before any work: far above what real fields make.
const MAX_TEXT: usize = 2048;
/// HMAC-SHA256 output, in bytes.
const MAC_LEN: usize = 32;

/// What a join ticket says: a reservation `ticket` in room `room_code`, made for `player`,
/// good until `expires_at` (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinTicket {
    pub room_code: String,
    pub ticket: String,
    pub player: String,
    pub expires_at: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("malformed join ticket")]
    Malformed,
    #[error("join ticket signature does not match")]
    Forged,
    #[error("join ticket expired")]
    Expired,
}

impl JoinTicket {
    /// The signed text of a ticket (URL-safe: hex digits, digits and dots).
    pub fn sign(
        secret: &[u8],
        room_code: &str,
        ticket: &str,
        player: &str,
        expires_at: u64,
    ) -> String {
        let body = format!(
            "{VERSION}.{}.{}.{}.{expires_at}",
            hex::encode(room_code.as_bytes()),
            hex::encode(ticket.as_bytes()),
            hex::encode(player.as_bytes()),
        );
        let signature = hex::encode(&mac(secret, &body).finalize().into_bytes());
        format!("{body}.{signature}")
    }

    /// The ticket `text` carries, if `secret` signed it and it is still good at `now` (unix
    /// seconds; good while `now < expires_at`).
    pub fn verify(secret: &[u8], text: &str, now: u64) -> Result<JoinTicket, TicketError> {
        if text.len() > MAX_TEXT {
            return Err(TicketError::Malformed);
        }
        let (body, signature) = text.rsplit_once('.').ok_or(TicketError::Malformed)?;
        let mut parts = body.split('.');
        let (Some(VERSION), Some(room), Some(ticket), Some(player), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TicketError::Malformed);
        };
        let signature = hex::decode(signature)
            .filter(|bytes| bytes.len() == MAC_LEN)
            .ok_or(TicketError::Malformed)?;
        let text_field =
            |field: &str| hex::decode(field).and_then(|bytes| String::from_utf8(bytes).ok());
        let ticket = JoinTicket {
            room_code: text_field(room).ok_or(TicketError::Malformed)?,
            ticket: text_field(ticket).ok_or(TicketError::Malformed)?,
            player: text_field(player).ok_or(TicketError::Malformed)?,
            expires_at: expires.parse().map_err(|_| TicketError::Malformed)?,
        };
        // Constant-time comparison.
        mac(secret, body).verify_slice(&signature).map_err(|_| TicketError::Forged)?;
        if now >= ticket.expires_at {
            return Err(TicketError::Expired);
        }
        Ok(ticket)
    }
}

fn mac(secret: &[u8], body: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    mac
}

#[cfg(test)]
mod tests;
