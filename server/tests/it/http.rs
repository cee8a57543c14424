//! Plain HTTP: health, the static client, refusing non-WebSocket requests on `/ws`.

use crate::harness::{TestServer, http_get};

#[tokio::test]
async fn healthz_reports_players() {
    let server = TestServer::start().await;
    let _ada = server.join("Ada").await;
    let (status, text) = http_get(server.addr, "/healthz", "").await;
    assert_eq!(status, 200, "{text}");
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(json["status"], "ok", "{json}");
    assert_eq!(json["players"], 1, "one player in: {json}");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"), "the server's version: {json}");
    assert_eq!(json["protocol"], shared::protocol::PROTOCOL_VERSION, "the protocol: {json}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn serves_the_built_client_and_404s_the_rest() {
    let server = TestServer::start().await;
    let (status, text) = http_get(server.addr, "/", "").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Skirmish test page"), "index.html is served at /: {text}");
    let (status, _) = http_get(server.addr, "/no-such-file.js", "").await;
    assert_eq!(status, 404, "unknown paths are 404");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn serves_the_favicon_without_a_built_client() {
    // The test's static directory holds only an index.html: the icon comes from the binary.
    let server = TestServer::start().await;
    let (status, text) = http_get(server.addr, "/favicon.ico", "").await;
    assert_eq!(status, 200, "{}", text.lines().next().unwrap_or_default());
    let headers = text.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
    assert!(headers.contains("content-type: image/x-icon"), "an icon: {headers}");
    let icon = std::fs::read(crate::harness::repo_root().join("assets/favicon.ico")).expect("icon");
    assert!(headers.contains(&format!("content-length: {}", icon.len())), "{headers}");
    assert_eq!(&icon[..4], &[0, 0, 1, 0], "assets/favicon.ico is an ICO file");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn plain_get_on_ws_is_refused_without_upgrade() {
    let server = TestServer::start().await;
    let (status, text) = http_get(server.addr, "/ws", "").await;
    assert_eq!(status, 426, "a request without Upgrade gets 426: {text}");
    let headers = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let (status, text) = http_get(server.addr, "/ws", headers).await;
    assert_eq!(status, 426, "an old WebSocket version gets 426: {text}");
    assert!(
        text.to_ascii_lowercase().contains("sec-websocket-version: 13"),
        "the supported version is named: {text}"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn metrics_and_rooms_report_traffic() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    ada.recv_until(crate::harness::WAIT, |m| m.snapshot().map(|_| ())).await.expect("a snapshot");
    let (status, text) = http_get(server.addr, "/metrics", "").await;
    assert_eq!(status, 200, "{text}");
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} present in:\n{text}"))
    };
    assert_eq!(value("skirmish_players"), 1.0, "one player");
    assert_eq!(value("skirmish_connections"), 1.0, "one open socket");
    assert!(value("skirmish_tick_duration_seconds_count") > 0.0, "ticks are timed");
    assert!(value("skirmish_bytes_out_total") > 0.0, "bytes out are counted");
    assert!(value("skirmish_frames_in_total") >= 1.0, "the Hello was counted");
    assert!(value("process_resident_memory_bytes") > 0.0, "RSS is reported");

    let (status, text) = http_get(server.addr, "/api/rooms", "").await;
    assert_eq!(status, 200, "{text}");
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(json["rooms"][0]["id"], "main", "{json}");
    assert_eq!(json["rooms"][0]["players"], 1, "{json}");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"), "{json}");
    assert_eq!(json["protocol"], shared::protocol::PROTOCOL_VERSION, "{json}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_handshake_needs_a_valid_unexpired_session() {
    let mut config = crate::harness::test_config();
    config.session_ttl_secs = 1;
    let server = TestServer::start_with(config).await;
    let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let (status, text) = http_get(server.addr, "/ws", upgrade).await;
    assert_eq!(status, 401, "no session cookie: 401 before any upgrade: {text}");
    let forged =
        format!("{upgrade}Cookie: skirmish_session=v1.9999999999.00.{}\r\n", "ab".repeat(32));
    let (status, _) = http_get(server.addr, "/ws", &forged).await;
    assert_eq!(status, 403, "a forged token: 403");

    let token = bots::http::session_token(&server.ws_url()).await.expect("POST /api/session");
    let with_cookie = format!("{upgrade}Cookie: theme=dark; skirmish_session={token}\r\n");
    let (status, _) = http_get(server.addr, "/ws", &with_cookie).await;
    assert_eq!(status, 101, "a fresh token is upgraded");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = http_get(server.addr, "/ws", &with_cookie).await;
    assert_eq!(status, 403, "an expired token: 403");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn sessions_are_issued_as_http_only_cookies() {
    let server = TestServer::start().await;
    let response =
        bots::http::request(&server.addr.to_string(), "POST", "/api/session").await.expect("200");
    let cookies: Vec<&str> =
        response.lines().filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).collect();
    let session = cookies.iter().find(|c| c.contains("skirmish_session=")).expect("a session");
    assert!(session.contains("skirmish_session=v2."), "{session}");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "not readable by scripts, same-site only: {session}"
    );
    let player = cookies.iter().find(|c| c.contains("skirmish_player=")).expect("a player id");
    assert!(player.contains("HttpOnly") && player.contains("Max-Age=31536000"), "{player}");
    server.shutdown().await.expect("clean shutdown");
}
