//! Who a request comes from: a lasting anonymous player id and a short session token, both
//! signed.
//!
//! - The **player cookie** (`skirmish_player`, about a year) is `<player key>.<HMAC>`: the first
//!   `POST /api/session` of a browser mints a random key, later ones keep it, so a player's name
//!   and career survive restarts without a password. (A login would map onto the same key
//!   through the store's `identities` table.)
//! - The **session token** (`skirmish_session`, `--session-ttl-secs`) is
//!   `v2.<expiry unix seconds>.<player key>.<HMAC-SHA256 of the rest>`, all hex, issued in an
//!   `HttpOnly` cookie and in the JSON body for non-browser clients; the WebSocket handshake and
//!   the lobby's `POST`s must present it in the `Cookie` header, never in the URL, so it cannot
//!   end up in access logs.
//!
//! The key comes from `--session-secret` (so several servers can share it), or from
//! `<data dir>/session.key`, made on first run, so cookies outlive a restart.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The cookie that carries the session token.
pub(crate) const COOKIE: &str = shared::protocol::SESSION_COOKIE;
/// The cookie that carries the signed player key.
pub(crate) const PLAYER_COOKIE: &str = "skirmish_player";
/// How long the player cookie lasts (browsers cap cookies at 400 days).
pub(crate) const PLAYER_COOKIE_SECS: u64 = 365 * 24 * 3600;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("no session token")]
    Missing,
    #[error("malformed session token")]
    Malformed,
    #[error("session token signature does not match")]
    Forged,
    #[error("session token expired")]
    Expired,
}

pub(crate) struct SessionKeys {
    key: [u8; 32],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl SessionKeys {
    /// Keys from `secret`, else from `<data_dir>/session.key` (written with a fresh random key,
    /// readable by the owner only, when missing).
    pub(crate) fn load_or_create(
        secret: Option<&str>,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<SessionKeys> {
        use anyhow::Context;
        if secret.is_some() {
            return Ok(SessionKeys::new(secret));
        }
        let path = data_dir.join("session.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let key = unhex(text.trim())
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .with_context(|| format!("{} is not 64 hex digits", path.display()))?;
            return Ok(SessionKeys { key });
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let keys = SessionKeys::new(None);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file =
            options.open(&path).with_context(|| format!("creating {}", path.display()))?;
        std::io::Write::write_all(&mut file, hex(&keys.key).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(keys)
    }

    /// Keys derived from `secret`, or random ones.
    pub(crate) fn new(secret: Option<&str>) -> SessionKeys {
        let key = match secret {
            Some(secret) => Sha256::digest(secret.as_bytes()).into(),
            None => {
                let mut key = [0u8; 32];
                // Without an OS random source the key would be predictable: refuse to go on.
                getrandom::fill(&mut key).expect("the OS random source is available");
                key
            }
        };
        SessionKeys { key }
    }

    /// The key that signs the cluster's join tickets: derived from the session key, so every
    /// process sharing `--session-secret` shares it, and a join ticket is never a session token.
    pub(crate) fn join_ticket_key(&self) -> [u8; 32] {
        self.mac("skirmish join tickets v1").finalize().into_bytes().into()
    }

    fn mac(&self, body: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        mac
    }

    /// A token for `player` valid until `now + ttl_secs`.
    pub(crate) fn issue(&self, now_secs: u64, ttl_secs: u64, player: &str) -> String {
        let body = format!("v2.{}.{player}", now_secs + ttl_secs);
        let signature = hex(&self.mac(&body).finalize().into_bytes());
        format!("{body}.{signature}")
    }

    /// The player a valid token was issued to.
    pub(crate) fn verify<'t>(&self, token: &'t str, now_secs: u64) -> Result<&'t str, TokenError> {
        let (body, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = body.split('.');
        let (Some("v2"), Some(expiry), Some(player), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = unhex(signature).ok_or(TokenError::Malformed)?;
        // Constant-time comparison.
        self.mac(body).verify_slice(&signature).map_err(|_| TokenError::Forged)?;
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        if now_secs >= expiry {
            return Err(TokenError::Expired);
        }
        Ok(player)
    }

    /// The player cookie's value for `player`.
    pub(crate) fn sign_player(&self, player: &str) -> String {
        let signature = hex(&self.mac(&format!("p1.{player}")).finalize().into_bytes());
        format!("{player}.{signature}")
    }

    /// The player key of a player cookie, if it is ours and unaltered.
    pub(crate) fn verify_player<'c>(&self, cookie: &'c str) -> Option<&'c str> {
        let (player, signature) = cookie.split_once('.')?;
        let signature = unhex(signature)?;
        self.mac(&format!("p1.{player}")).verify_slice(&signature).ok()?;
        Some(player)
    }
}

/// The session token from a request's `Cookie` headers.
pub(crate) fn token_from_cookies(headers: &axum::http::HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
}

/// The value of the cookie called `wanted`.
pub(crate) fn cookie<'h>(headers: &'h axum::http::HeaderMap, wanted: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == wanted).then_some(value))
}

/// The player a request's session token names, checked.
pub(crate) fn session_player<'h>(
    headers: &'h axum::http::HeaderMap,
    keys: &SessionKeys,
) -> Result<&'h str, TokenError> {
    let token = token_from_cookies(headers).ok_or(TokenError::Missing)?;
    keys.verify(token, now_secs())
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::*;

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = SessionKeys::new(Some("test secret"));
        let token = keys.issue(1000, 60, "ab12");
        assert_eq!(keys.verify(&token, 1000), Ok("ab12"), "fresh token");
        assert_eq!(keys.verify(&token, 1059), Ok("ab12"), "just before expiry");
        assert_eq!(keys.verify(&token, 1060), Err(TokenError::Expired), "at expiry");
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let keys = SessionKeys::new(Some("test secret"));
        let token = keys.issue(1000, 60, "ab12");
        let other = SessionKeys::new(Some("another secret")).issue(1000, 60, "ab12");
        assert_eq!(keys.verify(&other, 1000), Err(TokenError::Forged), "signed with another key");
        let longer = token.replacen("v2.1060", "v2.9999", 1);
        assert_eq!(keys.verify(&longer, 1000), Err(TokenError::Forged), "expiry edited");
        let someone_else = token.replacen(".ab12.", ".ab13.", 1);
        assert_eq!(keys.verify(&someone_else, 1000), Err(TokenError::Forged), "player edited");
        for bad in ["", "v2", "v2.1.2", "v1.1.2.ab", "v2.x.y.zz", "v2.1060.aa.not-hex"] {
            assert!(keys.verify(bad, 1000).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn player_cookies_keep_their_key_and_refuse_edits() {
        let keys = SessionKeys::new(Some("test secret"));
        let cookie = keys.sign_player("00ff");
        assert_eq!(keys.verify_player(&cookie), Some("00ff"));
        assert_eq!(keys.verify_player(&cookie.replacen("00ff", "00fe", 1)), None, "edited key");
        let foreign = SessionKeys::new(Some("other")).sign_player("00ff");
        assert_eq!(keys.verify_player(&foreign), None, "another server's key");
        assert_eq!(keys.verify_player("00ff"), None, "unsigned");
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("skirmish-auth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = SessionKeys::load_or_create(None, &dir).expect("made");
        let again = SessionKeys::load_or_create(None, &dir).expect("read back");
        let cookie = first.sign_player("abcd");
        assert_eq!(again.verify_player(&cookie), Some("abcd"), "the same key after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("session.key")).expect("key file").permissions();
            assert_eq!(mode.mode() & 0o777, 0o600, "only the owner reads the key");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static(
                "theme=dark; skirmish_session=v1.2.3.4; skirmish_player=ab.cd",
            ),
        );
        assert_eq!(token_from_cookies(&headers), Some("v1.2.3.4"));
        assert_eq!(cookie(&headers, PLAYER_COOKIE), Some("ab.cd"));
        assert_eq!(token_from_cookies(&HeaderMap::new()), None);
    }
}
