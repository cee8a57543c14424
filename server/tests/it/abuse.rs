//! Bad input closes only the offending connection, with the right code; the room plays on.

use std::time::Duration;

use bots::client::{BotClient, Incoming, open, read};
use futures_util::SinkExt;
use shared::codec::encode_client;
use shared::protocol::{ClientMsg, Hello, InputCmd, PROTOCOL_VERSION, close};
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
        ticket: None,
        resume: None,
        spectate: false,
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
            close::VERSION_MISMATCH,
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

#[tokio::test]
async fn foreign_origins_and_address_floods_are_refused_before_the_upgrade() {
    let mut config = test_config();
    config.max_connections_per_ip = 3;
    let server = TestServer::start_with(config).await;
    let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let (status, text) = crate::harness::http_get(
        server.addr,
        "/ws",
        &format!("{upgrade}Origin: https://evil.example\r\n"),
    )
    .await;
    assert_eq!(status, 403, "a foreign Origin gets 403 and no upgrade: {text}");
    let token = bots::http::session_token(&server.ws_url()).await.expect("a session token");
    let upgrade = format!("{upgrade}Cookie: skirmish_session={token}\r\n");
    let upgrade = upgrade.as_str();
    let own = format!("{upgrade}Origin: http://{}\r\n", server.addr);
    let (status, _) = crate::harness::http_get(server.addr, "/ws", &own).await;
    assert_eq!(status, 101, "the page's own origin is upgraded");

    let _held: Vec<_> =
        futures_util::future::join_all((0..3).map(|i| server_join(&server, i))).await;
    let (status, text) = crate::harness::http_get(server.addr, "/ws", upgrade).await;
    assert_eq!(status, 429, "a fourth socket from the same address gets 429: {text}");
    server.shutdown().await.expect("clean shutdown");
}

async fn server_join(server: &TestServer, i: usize) -> BotClient {
    server.join(&format!("p{i}")).await
}

#[tokio::test]
async fn input_floods_are_dropped_then_closed_and_speed_stays_capped() {
    let server = TestServer::start().await;
    let mut cheat = server.join("Cheat").await;
    let id = cheat.welcome.player_id;
    let at = |s: &shared::protocol::Snapshot| {
        s.players.iter().find(|p| p.id == id).map(|p| (s.tick.0, p.x))
    };
    let (start_tick, start_x) =
        cheat.recv_until(WAIT, |m| m.snapshot().and_then(at)).await.expect("placed");
    // A burst of 250 inputs, all "full speed right", far above the 60 a second allowed.
    for _ in 0..250 {
        cheat.send_input(InputCmd { move_x: 127, ..InputCmd::default() }).await.expect("burst");
    }
    let (tick, x) = cheat
        .recv_until(WAIT, |m| {
            m.snapshot().and_then(at).filter(|(tick, _)| *tick >= start_tick + 30)
        })
        .await
        .expect("still playing a second later");
    let moved = (x - start_x) as f32 / shared::protocol::POS_SCALE;
    let seconds = (tick - start_tick) as f32 / 30.0;
    let limit = shared::sim::PLAYER_SPEED * seconds + 1.0;
    println!(
        "a burst of 250 inputs moved the ship {moved:.1} units in {seconds:.2} s of game time (limit {limit:.1})"
    );
    assert!(moved > 50.0, "the accepted inputs did move the ship: {moved}");
    assert!(moved <= limit, "never faster than the speed limit: {moved} > {limit}");

    // Keep flooding: the connection is closed for it.
    let mut sent = 0;
    let closed = loop {
        sent += 1;
        if cheat.send_input(InputCmd { move_x: 127, ..InputCmd::default() }).await.is_err()
            || sent > 20_000
        {
            break closed(cheat.socket()).await;
        }
        if sent % 200 == 0
            && let Ok(Some(Ok(Message::Close(frame)))) = tokio::time::timeout(
                Duration::from_millis(1),
                futures_util::StreamExt::next(cheat.socket()),
            )
            .await
        {
            break frame
                .map(|f| (u16::from(f.code), f.reason.to_string()))
                .unwrap_or((1005, String::new()));
        }
    };
    println!("flood closed after {sent} more inputs: {closed:?}");
    assert_eq!(closed.0, close::POLICY, "a sustained flood is closed with 1008: {closed:?}");
    assert!(closed.1.contains("flooding"), "the reason says why: {closed:?}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_at_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = test_config();
    config.header_timeout_ms = 1000;
    let server = TestServer::start_with(config).await;
    let started = std::time::Instant::now();
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("partial headers");
        held.push(stream);
    }
    // While 200 handshakes dangle, a real player still gets in and plays.
    let mut player = server.join("Patient").await;
    player.recv_until(WAIT, |m| m.snapshot().map(|_| ())).await.expect("the game goes on");
    // Trickle one more byte now and then, as slowloris does; the server must not wait forever.
    let closed = futures_util::future::join_all(held.into_iter().map(|mut stream| async move {
        let mut buf = [0u8; 256];
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let _ = stream.write_all(b"a").await;
                match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => return true,
                    _ => {}
                }
            }
        })
        .await
        .unwrap_or(false)
    }))
    .await;
    let elapsed = started.elapsed();
    let count = closed.iter().filter(|c| **c).count();
    println!(
        "{count} of 200 slowloris connections closed within {elapsed:?} (header time-out 1 s)"
    );
    assert_eq!(count, 200, "every dangling handshake is closed");
    assert!(elapsed < Duration::from_secs(8), "closed near the time-out, took {elapsed:?}");
    server.shutdown().await.expect("clean shutdown");
}
