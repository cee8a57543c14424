//! Bad input closes only the offending connection, with the right code; the room plays on.

use std::time::Duration;

use bots::client::{BotClient, Incoming, open, read};
use futures_util::SinkExt;
use shared::codec::encode_client;
use shared::protocol::{ClientMsg, Hello, PROTOCOL_VERSION, close};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{TestServer, WAIT, test_config};

/// Sends `frames` on a fresh socket and returns the close code and reason the server sent.
async fn close_after(server: &TestServer, frames: Vec<Message>) -> (u16, String) {
    let mut socket = open(&server.ws_url()).await.expect("connect");
    for frame in frames {
        socket.send(frame).await.expect("send");
    }
    closed(&mut socket).await
}

async fn closed(socket: &mut bots::client::Socket) -> (u16, String) {
    tokio::time::timeout(WAIT, async {
        loop {
            match read(socket).await {
                Ok((Incoming::Closed { code, reason }, _)) => return (code, reason),
                Ok(_) => continue,
                Err(err) => return (0, err.to_string()),
            }
        }
    })
    .await
    .expect("the server closes within the bound")
}

fn hello(version: u16, name: &str) -> Message {
    let hello = ClientMsg::Hello(Hello {
        protocol_version: version,
        name: name.into(),
        room: String::new(),
        resume: None,
    });
    Message::Binary(encode_client(&hello).into())
}

/// Keeps reading snapshots for `ticks` ticks; proves the room still runs for this client.
async fn still_playing(client: &mut BotClient) {
    let first = client.recv_until(WAIT, |m| m.snapshot().map(|s| s.tick.0)).await;
    let first = first.expect("snapshots keep coming");
    let later = client.recv_until(WAIT, |m| match m {
        Incoming::Snapshot(s) if s.tick.0 >= first + 10 => Some(s.tick.0),
        _ => None,
    });
    later.await.expect("ten more ticks arrive");
}

#[tokio::test]
async fn bad_handshakes_get_close_codes_with_reasons() {
    let server = TestServer::start().await;
    let mut bystander = server.join("Bystander").await;
    let cases: Vec<(&str, Vec<Message>, u16, &str)> = vec![
        (
            "wrong version",
            vec![hello(PROTOCOL_VERSION + 1, "Eve")],
            close::PROTOCOL_ERROR,
            "protocol version",
        ),
        ("empty name", vec![hello(PROTOCOL_VERSION, " \u{200B} ")], close::POLICY, "name"),
        (
            "input before hello",
            vec![Message::Binary(encode_client(&ClientMsg::Ping { client_time: 0.0 }).into())],
            close::PROTOCOL_ERROR,
            "Hello",
        ),
        (
            "garbage",
            vec![Message::Binary(vec![0xff, 0x00, 0x13].into())],
            close::PROTOCOL_ERROR,
            "undecodable",
        ),
        ("text frame", vec![Message::Text("hello".into())], close::UNSUPPORTED_DATA, "binary"),
        (
            "oversize frame",
            vec![Message::Binary(vec![0u8; 64 * 1024].into())],
            close::TOO_BIG,
            "exceeds",
        ),
    ];
    for (name, frames, code, reason) in cases {
        let (got_code, got_reason) = close_after(&server, frames).await;
        println!("{name}: closed with {got_code} ({got_reason})");
        assert_eq!(got_code, code, "{name}: close code (reason {got_reason:?})");
        assert!(got_reason.contains(reason), "{name}: reason {got_reason:?} mentions {reason:?}");
    }
    still_playing(&mut bystander).await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn malformed_frame_mid_game_closes_only_that_player() {
    let server = TestServer::start().await;
    let mut good = server.join("Good").await;
    let mut bad = server.join("Bad").await;
    bad.socket()
        .send(Message::Binary(vec![1, 0xff, 0xff, 0xff, 0xff, 0x0f].into()))
        .await
        .expect("send garbage");
    let (code, reason) = closed(bad.socket()).await;
    assert_eq!(code, close::PROTOCOL_ERROR, "garbage after joining closes with 1002 ({reason})");
    still_playing(&mut good).await;

    let mut nan = server.join("NaN").await;
    nan.send(&ClientMsg::Ping { client_time: f64::NAN }).await.expect("send NaN ping");
    let (code, reason) = closed(nan.socket()).await;
    assert_eq!(code, close::POLICY, "a NaN timestamp closes with 1008 ({reason})");
    still_playing(&mut good).await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn silent_connection_is_closed_at_the_hello_timeout() {
    let mut config = test_config();
    config.hello_timeout_ms = 300;
    let server = TestServer::start_with(config).await;
    let started = std::time::Instant::now();
    let (code, reason) = close_after(&server, vec![]).await;
    let elapsed = started.elapsed();
    println!("silent connection closed after {elapsed:?} with {code} ({reason})");
    assert_eq!(code, close::POLICY, "no Hello: 1008 ({reason})");
    assert!(elapsed < Duration::from_secs(5), "closed near the 300 ms time-out, took {elapsed:?}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn full_room_refuses_with_try_again_later() {
    let mut config = test_config();
    config.max_players = 2;
    let server = TestServer::start_with(config).await;
    let _a = server.join("A").await;
    let _b = server.join("B").await;
    let err = BotClient::connect(&server.ws_url(), "C", WAIT)
        .await
        .err()
        .expect("a third player is refused");
    assert!(
        err.to_string().contains(&close::TRY_AGAIN_LATER.to_string()),
        "refused with 1013: {err}"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn graceful_shutdown_sends_1012_to_everyone() {
    let server = TestServer::start().await;
    let mut players = vec![server.join("A").await, server.join("B").await, server.join("C").await];
    let shutdown = tokio::spawn(server.shutdown());
    for player in &mut players {
        let (code, reason) = closed(player.socket()).await;
        assert_eq!(code, close::RESTART, "shutdown closes with 1012 ({reason})");
    }
    tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("run returns in time")
        .expect("task")
        .expect("run returns Ok");
}
