//! Who may open a game socket, decided before the upgrade: the Origin allow-list (against
//! cross-site WebSocket hijacking) and the per-IP connection cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, header};

/// Whether a handshake's `Origin` may connect. Requests without an Origin (bots, native
/// clients) may; browsers always send one, and it must be the page's own origin (the `Host`
/// it connects to) or listed in `allowed` (`*` allows any).
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/');
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let strip_default_port = |value: &str| {
        value
            .strip_suffix(":80")
            .or_else(|| value.strip_suffix(":443"))
            .unwrap_or(value)
            .to_ascii_lowercase()
    };
    !host.is_empty() && strip_default_port(authority) == strip_default_port(host)
}

/// Open game sockets per client address.
#[derive(Clone, Default)]
pub(crate) struct PerIp {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Holds one of an address's connection slots until dropped.
pub(crate) struct IpSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl PerIp {
    pub(crate) fn try_acquire(&self, ip: IpAddr, limit: usize) -> Option<IpSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(IpSlot { counts: self.counts.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            map.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        map
    }

    #[test]
    fn origins() {
        let dev = vec!["http://127.0.0.1:8080".to_string()];
        let cases = [
            (None, "game.example:7777", true, "no Origin: not a browser"),
            (Some("http://game.example:7777"), "game.example:7777", true, "same origin"),
            (Some("https://game.example"), "game.example:443", true, "default port"),
            (Some("http://127.0.0.1:8080"), "127.0.0.1:7777", true, "listed (trunk serve)"),
            (Some("https://evil.example"), "game.example:7777", false, "foreign site"),
            (
                Some("http://game.example:7777.evil.example"),
                "game.example:7777",
                false,
                "look-alike",
            ),
            (Some("null"), "game.example:7777", false, "opaque origin"),
        ];
        for (origin, host, expected, why) in cases {
            assert_eq!(origin_allowed(&headers(origin, host), &dev), expected, "{why}");
        }
        assert!(
            origin_allowed(&headers(Some("https://evil.example"), "x"), &["*".to_string()]),
            "* allows any"
        );
    }

    #[test]
    fn per_ip_slots_are_capped_and_released() {
        let per_ip = PerIp::default();
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let first = per_ip.try_acquire(ip, 2).expect("first");
        let _second = per_ip.try_acquire(ip, 2).expect("second");
        assert!(per_ip.try_acquire(ip, 2).is_none(), "the third is refused");
        assert!(
            per_ip.try_acquire("10.0.0.1".parse().expect("ip"), 2).is_some(),
            "other addresses are separate"
        );
        drop(first);
        assert!(per_ip.try_acquire(ip, 2).is_some(), "a freed slot can be taken again");
    }
}
