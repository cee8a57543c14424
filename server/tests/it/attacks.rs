//! Many hostile or broken clients at once while good clients play, with figures printed.

use std::time::Duration;

use bots::client::{BotClient, open};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use std::net::SocketAddr;

use crate::harness::{ProcessServer, http_get, metric};

/// The server's resident memory in bytes, from `/metrics`.
async fn rss(addr: SocketAddr) -> f64 {
    metric(addr, "process_resident_memory_bytes").await
}

/// Counts snapshots `player` receives in `window`.
async fn snapshots_in(player: &mut BotClient, window: Duration) -> u32 {
    let mut count = 0;
    let _ = tokio::time::timeout(window, async {
        loop {
            if player.recv().await.expect("a good client keeps receiving").snapshot().is_some() {
                count += 1;
            }
        }
    })
    .await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_floods_do_not_hurt_good_players() {
    let server = ProcessServer::start(&["--max-players", "300"]);
    let mut good = Vec::new();
    for i in 0..5 {
        good.push(server.join(&format!("good{i}")).await);
    }
    let before = rss(server.addr).await;
    let url = server.ws_url();
    // 50 connections, each sending random garbage frames until the server closes it.
    let attackers: Vec<_> = (0..50u32)
        .map(|seed| {
            let url = url.clone();
            tokio::spawn(async move {
                let Ok(mut socket) = open(&url).await else { return 0 };
                let mut state = seed.wrapping_mul(2_654_435_761).max(1);
                let mut sent = 0;
                for _ in 0..200 {
                    let frame: Vec<u8> = (0..(state % 900) as usize)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 17;
                            state ^= state << 5;
                            state as u8
                        })
                        .collect();
                    if socket.send(Message::Binary(frame.into())).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let window = Duration::from_secs(3);
    let counts =
        futures_util::future::join_all(good.iter_mut().map(|player| snapshots_in(player, window)))
            .await;
    let garbage: u32 =
        futures_util::future::join_all(attackers).await.into_iter().map(|r| r.unwrap_or(0)).sum();
    let after = rss(server.addr).await;
    let expected = 30.0 * window.as_secs_f64();
    let worst = counts.iter().copied().min().unwrap_or(0);
    println!(
        "50 garbage senders ({garbage} frames accepted by the socket before each was closed): good clients got {counts:?} snapshots of ~{expected:.0}; RSS {:.1} → {:.1} MB",
        before / 1e6,
        after / 1e6
    );
    assert!(
        f64::from(worst) >= 0.95 * expected - 2.0,
        "every good client keeps >= 95 % of its snapshots: {counts:?}"
    );
    assert!(after - before < 10e6, "RSS grows less than 10 MB: {:.1} MB", (after - before) / 1e6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cost_little_memory() {
    // Idle clients read nothing, so they answer no pings: a long idle time-out keeps them.
    let server = ProcessServer::start(&["--max-players", "300", "--idle-timeout-ms", "60000"]);
    let before = rss(server.addr).await;
    let mut idle = Vec::new();
    for i in 0..200 {
        idle.push(server.join(&format!("idle{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss(server.addr).await;
    let per_connection = (after - before) / 200.0;
    println!(
        "200 joined, idle connections: {:.1} KiB of server memory each",
        per_connection / 1024.0
    );
    assert!(per_connection < 256.0 * 1024.0, "under 256 KiB per connection: {per_connection}");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_are_dropped_and_do_not_slow_the_others() {
    // Default time-outs: this is what a deployed server does.
    let server = ProcessServer::start(&[]);
    let mut reader = server.join("Reader").await;
    // Five clients go silent (no reads, no writes); five keep sending inputs but never read.
    let mut silent = Vec::new();
    for i in 0..5 {
        silent.push(server.join(&format!("silent{i}")).await);
    }
    let mut deaf = Vec::new();
    for i in 0..5 {
        deaf.push(server.join(&format!("deaf{i}")).await);
    }
    let sender = tokio::spawn(async move {
        let mut pace = tokio::time::interval(Duration::from_millis(33));
        for _ in 0..(30 * 6) {
            pace.tick().await;
            for client in &mut deaf {
                let _ = client
                    .send_input(shared::protocol::InputCmd { move_x: 50, ..Default::default() })
                    .await;
            }
        }
    });
    let before = rss(server.addr).await;
    let started = std::time::Instant::now();
    let got = snapshots_in(&mut reader, Duration::from_secs(5)).await;
    let after = rss(server.addr).await;
    let (_, health) = http_get(server.addr, "/healthz", "").await;
    let body = health.split("\r\n\r\n").nth(1).unwrap_or("{}").to_string();
    let json: serde_json::Value = serde_json::from_str(&body).expect("healthz JSON");
    println!(
        "5 silent + 5 deaf clients: after {:?} the server holds {} sockets; the reader got {got} snapshots in 5 s; RSS {:.1} → {:.1} MB",
        started.elapsed(),
        json["connections"],
        before / 1e6,
        after / 1e6
    );
    assert_eq!(
        json["connections"], 1,
        "the non-reading clients were dropped within 5 s, the reader stays"
    );
    assert!(got >= 140, "the reader kept receiving at the tick rate: {got} of ~150");
    assert!(after - before < 5e6, "memory stayed flat");
    sender.abort();
    drop(silent);
}

/// Opens a raw TCP connection, completes the WebSocket handshake by hand (with a session
/// cookie), sends `frame` as raw bytes, and returns the close code of the server's close frame.
async fn raw_frame_close_code(server: &ProcessServer, frame: &[u8]) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let token = bots::http::session_token(&server.ws_url()).await.expect("a session token");
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: skirmish_session={token}\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.expect("handshake");
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.expect("handshake response");
        response.push(byte[0]);
    }
    assert!(
        response.starts_with(b"HTTP/1.1 101"),
        "upgraded: {}",
        String::from_utf8_lossy(&response)
    );
    stream.write_all(frame).await.expect("raw frame");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    // The server's close frame: 0x88, a payload length, then the 2-byte code.
    let at = reply.windows(2).position(|w| w[0] == 0x88 && w[1] >= 2)?;
    Some(u16::from_be_bytes([reply[at + 2], reply[at + 3]]))
}

#[tokio::test]
async fn forged_frame_headers_and_unmasked_frames_are_refused() {
    let server = ProcessServer::start(&[]);
    // A masked binary frame header claiming 2^62 bytes of payload.
    let mut huge = vec![0x82, 0x80 | 127];
    huge.extend_from_slice(&(1u64 << 62).to_be_bytes());
    huge.extend_from_slice(&[1, 2, 3, 4]);
    let code = raw_frame_close_code(&server, &huge).await;
    println!("a frame header claiming 2^62 bytes: closed with {code:?}");
    assert_eq!(code, Some(1009), "refused as too big, without allocating it");
    // A client frame without a mask.
    let code = raw_frame_close_code(&server, &[0x82, 0x03, 1, 2, 3]).await;
    println!("an unmasked client frame: closed with {code:?}");
    assert_eq!(code, Some(1002), "refused as a protocol error");
    let rss = rss(server.addr).await;
    assert!(rss < 64e6, "the server did not allocate the claimed payload: {:.1} MB", rss / 1e6);
}

#[tokio::test]
async fn the_total_connection_cap_refuses_with_503() {
    let server = ProcessServer::start(&["--max-connections", "3"]);
    let mut held = Vec::new();
    for i in 0..3 {
        held.push(server.join(&format!("p{i}")).await);
    }
    let err = BotClient::connect(&server.ws_url(), "late", Duration::from_secs(5))
        .await
        .err()
        .expect("the fourth is refused");
    println!("fourth connection: {err:#}");
    assert!(format!("{err:#}").contains("503"), "refused with 503 before the upgrade: {err:#}");
}
