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
    assert_eq!(json["rooms"][0]["name"], "main", "{json}");
    assert_eq!(json["rooms"][0]["players"], 1, "{json}");
    server.shutdown().await.expect("clean shutdown");
}
