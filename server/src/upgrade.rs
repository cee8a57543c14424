//! The WebSocket opening handshake (RFC 6455 §4.2) on top of hyper's HTTP upgrade.
//!
//! We validate the request ourselves instead of using axum's extractor so that the stream is a
//! plain tokio-tungstenite `WebSocketStream` built with our explicit [`ws_config`], and so that
//! refusals (bad request, server full) are ordinary HTTP responses sent before any upgrade.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use shared::protocol::MAX_CLIENT_MSG_BYTES;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

pub(crate) type WsStream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Limits for every game socket: client messages are tiny, so the read side is small and strict.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        // A small read buffer (client messages are at most 1 KiB, most under 100 bytes): less
        // memory per idle connection, and less to clear before each read (tungstenite zeroes
        // the chunk it reads into: 3 % of the server at 800 players with 8 KiB, 1 % with 2 KiB,
        // 0.5–0.65 % with 1 KiB). A message of the full 1 KiB takes two reads.
        .read_buffer_size(1024)
        // Frames fed together (a tick's events and snapshot) leave in one write at the flush.
        .write_buffer_size(16 * 1024)
        // Outgoing frames wait here only while a write is in progress; the room never queues
        // behind a slow socket (latest-wins slot), so this caps one frame plus control frames.
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_MSG_BYTES))
        .max_frame_size(Some(MAX_CLIENT_MSG_BYTES))
        .accept_unmasked_frames(false)
}

/// Why a request cannot be upgraded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotWebSocket,
    BadVersion,
    MissingKey,
}

/// Checks the handshake headers and returns the `Sec-WebSocket-Accept` value.
pub(crate) fn accept_key(headers: &HeaderMap) -> Result<String, Refusal> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|part| part.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err(Refusal::NotWebSocket);
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(Refusal::BadVersion);
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or(Refusal::MissingKey)?;
    Ok(derive_accept_key(key.as_bytes()))
}

impl Refusal {
    pub(crate) fn response(&self) -> Response<Body> {
        let (status, text) = match self {
            Refusal::NotWebSocket => {
                (StatusCode::UPGRADE_REQUIRED, "this endpoint speaks WebSocket only")
            }
            Refusal::BadVersion => (StatusCode::UPGRADE_REQUIRED, "WebSocket version 13 required"),
            Refusal::MissingKey => (StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key"),
        };
        let mut response = plain(status, text);
        let headers = response.headers_mut();
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        response
    }
}

pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// The `101 Switching Protocols` answer.
pub(crate) fn switching_protocols(accept: &str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(value) = HeaderValue::from_str(accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

/// Completes the upgrade once hyper has sent the 101, yielding the game socket.
pub(crate) async fn into_websocket(request: Request<Body>) -> Result<WsStream, hyper::Error> {
    let upgraded = hyper::upgrade::on(request).await?;
    Ok(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(ws_config()))
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn accepts_the_rfc_example() {
        let request = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(
            accept_key(&request),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()),
            "RFC 6455 sample key"
        );
    }

    #[test]
    fn refuses_plain_http_old_versions_and_missing_keys() {
        assert_eq!(accept_key(&headers(&[])), Err(Refusal::NotWebSocket));
        let old = headers(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "8"),
        ]);
        assert_eq!(accept_key(&old), Err(Refusal::BadVersion));
        let keyless = headers(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
        ]);
        assert_eq!(accept_key(&keyless), Err(Refusal::MissingKey));
    }
}
