//! The HTTP calls a bot makes (over TLS for `wss://` servers): `POST /api/session` for a
//! session token, the lobby's `POST`s for a seat (`lobby`), and `GET /metrics` for the server's
//! figures. One short request per connection, bounded in size and time, so the bots need no
//! HTTP client library.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest response read.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(10);

/// `ws://host:port/path` or `wss://…` → `host:port`.
pub fn host_of(ws_url: &str) -> anyhow::Result<String> {
    let rest = ws_url
        .strip_prefix("ws://")
        .or_else(|| ws_url.strip_prefix("wss://"))
        .context("the game URL must start with ws:// or wss://")?;
    Ok(rest.split('/').next().unwrap_or(rest).to_string())
}

/// Sends `method path` to `host` over plain TCP (or TLS when `tls`) and returns the whole
/// response (status line, headers, body) if the status is 200.
pub async fn request_on(host: &str, tls: bool, method: &str, path: &str) -> anyhow::Result<String> {
    let text = exchange(host, tls, method, path, "", "").await?;
    if !text.starts_with("HTTP/1.1 200") {
        bail!("{method} {path} answered: {}", text.lines().next().unwrap_or(""));
    }
    Ok(text)
}

/// The status and body of `method path` with extra `headers` (each ending in CRLF) and a JSON
/// `body`.
pub async fn call(
    host: &str,
    tls: bool,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let text = exchange(host, tls, method, path, headers, body).await?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("{method} {path}: no status line"))?;
    Ok((status, text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()))
}

async fn exchange(
    host: &str,
    tls: bool,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> anyhow::Result<String> {
    let exchange = async {
        let kind = if body.is_empty() { "" } else { "Content-Type: application/json\r\n" };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut response = Vec::new();
        if tls {
            let mut stream = crate::tls::connect(host).await?;
            stream.write_all(request.as_bytes()).await?;
            // A server may close without a TLS close_notify; what arrived is still the answer.
            let _ = (&mut stream).take(MAX_RESPONSE).read_to_end(&mut response).await;
        } else {
            let mut stream = tokio::net::TcpStream::connect(host)
                .await
                .with_context(|| format!("connecting to {host}"))?;
            stream.write_all(request.as_bytes()).await?;
            stream.take(MAX_RESPONSE).read_to_end(&mut response).await?;
        }
        anyhow::Ok(String::from_utf8_lossy(&response).to_string())
    };
    tokio::time::timeout(TIME_LIMIT, exchange)
        .await
        .with_context(|| format!("{method} {path} timed out"))?
}

/// [`request_on`] over plain TCP.
pub async fn request(host: &str, method: &str, path: &str) -> anyhow::Result<String> {
    request_on(host, false, method, path).await
}

/// A fresh session token from the server of `ws_url`.
pub async fn session_token(ws_url: &str) -> anyhow::Result<String> {
    let response =
        request_on(&host_of(ws_url)?, ws_url.starts_with("wss://"), "POST", "/api/session").await?;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value =
        serde_json::from_str(body).context("session response is not JSON")?;
    json["token"].as_str().map(str::to_string).context("session response has no token")
}
