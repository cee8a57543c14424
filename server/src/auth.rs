//! Session tokens: `POST /api/session` issues a signed, expiring token (as an `HttpOnly`
//! cookie, and in the JSON body for non-browser clients); the WebSocket handshake must present
//! it in the `Cookie` header, never in the URL, so it cannot end up in access logs.
//!
//! A token is `v1.<expiry unix seconds>.<random nonce>.<HMAC-SHA256 of the rest>`, all hex. The
//! key comes from `--session-secret` (so several servers can share it) or is random per process.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The cookie that carries the token.
pub(crate) const COOKIE: &str = "skirmish_session";

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
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl SessionKeys {
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

    fn mac(&self, body: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        mac
    }

    /// A token valid until `now + ttl_secs`.
    pub(crate) fn issue(&self, now_secs: u64, ttl_secs: u64) -> String {
        let mut nonce = [0u8; 12];
        let _ = getrandom::fill(&mut nonce);
        let body = format!("v1.{}.{}", now_secs + ttl_secs, hex(&nonce));
        let signature = hex(&self.mac(&body).finalize().into_bytes());
        format!("{body}.{signature}")
    }

    pub(crate) fn verify(&self, token: &str, now_secs: u64) -> Result<(), TokenError> {
        let (body, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = body.split('.');
        let (Some("v1"), Some(expiry), Some(_nonce), None) =
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
        Ok(())
    }
}

/// The session token from a request's `Cookie` headers.
pub(crate) fn token_from_cookies(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == COOKIE).then_some(value))
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
        let token = keys.issue(1000, 60);
        assert_eq!(keys.verify(&token, 1000), Ok(()), "fresh token");
        assert_eq!(keys.verify(&token, 1059), Ok(()), "just before expiry");
        assert_eq!(keys.verify(&token, 1060), Err(TokenError::Expired), "at expiry");
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let keys = SessionKeys::new(Some("test secret"));
        let token = keys.issue(1000, 60);
        let other = SessionKeys::new(Some("another secret")).issue(1000, 60);
        assert_eq!(keys.verify(&other, 1000), Err(TokenError::Forged), "signed with another key");
        let longer = token.replacen("v1.1060", "v1.9999", 1);
        assert_eq!(keys.verify(&longer, 1000), Err(TokenError::Forged), "expiry edited");
        for bad in ["", "v1", "v1.1.2", "v2.1.2.ab", "v1.x.y.zz", "v1.1060.aa.not-hex"] {
            assert!(keys.verify(bad, 1000).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; skirmish_session=v1.2.3.4"),
        );
        assert_eq!(token_from_cookies(&headers), Some("v1.2.3.4"));
        assert_eq!(token_from_cookies(&HeaderMap::new()), None);
    }
}
