//! Spectators: watching a room without a ship, a seat or a voice; snapshots around a camera
//! the spectator moves; their own cap; refusals of spectate `Hello`s that ask for more.

use std::time::Duration;

use bots::client::{BotClient, Incoming};
use bots::refusal::ClosedBeforeWelcome;
use futures_util::SinkExt;
use shared::codec::encode_client;
use shared::ids::PlayerId;
use shared::protocol::{
    ClientMsg, GameEvent, Hello, InputCmd, MapPoint, PROTOCOL_VERSION, ResumeToken, ServerMsg,
    close, dequantize_pos,
};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{ProcessServer, TestServer, WAIT, http_get, metric, test_config};

/// Spectator ids live at the top of the id space.
fn is_spectator_id(id: PlayerId) -> bool {
    id.0 >= 1 << 31
}

fn position(message: &Incoming, id: PlayerId) -> Option<(f32, f32)> {
    let snap = message.snapshot()?;
    snap.players.iter().find(|p| p.id == id).map(|p| (dequantize_pos(p.x), dequantize_pos(p.y)))
}

async fn spectate(server: &TestServer, name: &str, room: &str) -> anyhow::Result<BotClient> {
    BotClient::spectate(&server.ws_url(), name, room, WAIT).await
}

/// The close code and reason of a connection refused before `Welcome`.
fn refusal(result: anyhow::Result<BotClient>) -> (u16, String) {
    let err = result.err().expect("refused");
    let closed = err.downcast_ref::<ClosedBeforeWelcome>().unwrap_or_else(|| panic!("{err:#}"));
    (closed.code, closed.reason.clone())
}

/// Steers `player` with `cmd` for `ticks` ticks, reading its snapshots meanwhile.
async fn steer(player: &mut BotClient, cmd: InputCmd, ticks: u32) {
    let mut pace = tokio::time::interval(Duration::from_millis(1000 / 30));
    let mut sent = 0;
    while sent < ticks {
        tokio::select! {
            _ = pace.tick() => {
                player.send_input(cmd).await.expect("sending input");
                sent += 1;
            }
            read = player.recv() => { read.expect("reading"); }
        }
    }
}

/// One room's entry in `/api/rooms`.
async fn listed_room(server: &TestServer) -> serde_json::Value {
    let (status, text) = http_get(server.addr, "/api/rooms", "").await;
    assert_eq!(status, 200, "{text}");
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let rooms: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let rooms = rooms.get("rooms").cloned().unwrap_or(rooms);
    rooms.as_array().and_then(|rooms| rooms.first().cloned()).expect("one room listed")
}

#[tokio::test]
async fn a_spectator_watches_the_players_without_being_one() {
    let server = TestServer::start().await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (ada_id, bob_id) = (ada.welcome.player_id, bob.welcome.player_id);
    let mut eve = spectate(&server, "Eve", "").await.expect("Eve watches the default room");
    let eve_id = eve.welcome.player_id;
    assert!(eve.welcome.spectator, "Welcome says spectator");
    assert!(!eve.welcome.spectators_chat, "by default a spectator's chat is read-only");
    assert!(is_spectator_id(eve_id), "an id from the spectators' range: {eve_id}");
    let roster: Vec<_> = eve.welcome.roster.iter().map(|r| r.id).collect();
    assert_eq!(roster, [ada_id, bob_id], "the roster is the players");

    // Snapshots with both players, never the spectator.
    let snap = eve
        .recv_until(WAIT, |m| m.snapshot().filter(|s| s.players.len() >= 2).cloned())
        .await
        .expect("Eve sees the players");
    let ids: Vec<_> = snap.players.iter().map(|p| p.id).collect();
    assert_eq!(ids, [ada_id, bob_id], "the players and nobody else");

    // Bob moves; Eve sees it.
    let (start_x, _) = eve.recv_until(WAIT, |m| position(m, bob_id)).await.expect("Bob in view");
    let direction: i8 = if start_x < 800.0 { 127 } else { -127 };
    steer(&mut bob, InputCmd { move_x: direction, ..InputCmd::default() }, 20).await;
    eve.recv_until(WAIT, |m| position(m, bob_id).filter(|(x, _)| (x - start_x).abs() >= 100.0))
        .await
        .expect("Eve sees Bob move");

    // Counted apart: two players, one spectator.
    let room = listed_room(&server).await;
    assert_eq!((room["players"].as_u64(), room["spectators"].as_u64()), (Some(2), Some(1)));
    assert_eq!(metric(server.addr, "skirmish_players").await, 2.0);
    assert_eq!(metric(server.addr, "skirmish_spectators").await, 1.0);

    // Eve's chat line and inputs go nowhere (and do not close her); Ada's line reaches Eve.
    eve.send(&ClientMsg::Chat { text: "spoiler".into() }).await.expect("Eve chats");
    eve.send_input(InputCmd { move_x: 127, ..InputCmd::default() }).await.expect("Eve steers");
    tokio::time::sleep(Duration::from_millis(300)).await;
    ada.send(&ClientMsg::Chat { text: "hello".into() }).await.expect("Ada chats");
    let heard = ada
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
                GameEvent::Chat { from, text } => Some((*from, text.clone())),
                GameEvent::Joined { id, .. } | GameEvent::Left { id } if is_spectator_id(*id) => {
                    panic!("an event about the spectator: {e:?}")
                }
                _ => None,
            }),
            _ => None,
        })
        .await
        .expect("Ada hears a chat line");
    assert_eq!(heard, (ada_id, "hello".to_string()), "the first line is Ada's, not Eve's");
    let seen = eve
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
                GameEvent::Chat { from, .. } => Some(*from),
                _ => None,
            }),
            _ => None,
        })
        .await
        .expect("Eve reads the chat");
    assert_eq!(seen, ada_id, "chat is read-only for a spectator");
    let players_seen = eve.recv_until(WAIT, |m| m.snapshot().map(|s| s.players.len())).await;
    assert_eq!(players_seen.expect("still watching"), 2, "her input moved no ship of hers");
    assert_eq!(listed_room(&server).await["players"].as_u64(), Some(2), "no seat taken");

    // The scoreboard reaches her with no rank of her own.
    let board = eve
        .recv_until(WAIT, |m| match m.message()? {
            ServerMsg::Scoreboard(board) => Some(board.clone()),
            _ => None,
        })
        .await
        .expect("a scoreboard");
    assert_eq!((board.your_rank, board.players, board.top.len()), (0, 2, 2));

    // The server stops: the spectator is closed like the players (1012).
    let closed = async {
        eve.recv_until(WAIT, |m| match m {
            Incoming::Closed { code, .. } => Some(*code),
            _ => None,
        })
        .await
    };
    let (stopped, code) = tokio::join!(server.shutdown(), closed);
    stopped.expect("clean shutdown");
    // `recv_until` fails on a close: its message names the code.
    let message = format!("{:#}", code.expect_err("a close ends the wait"));
    assert!(message.contains("closed with 1012"), "{message}");
}

#[tokio::test]
async fn a_spectators_look_moves_its_view() {
    let mut config = test_config();
    config.view_radius = 300.0;
    let server = TestServer::start_with(config).await;
    let mut ada = server.join("Ada").await;
    let mut bob = server.join("Bob").await;
    let (ada_id, bob_id) = (ada.welcome.player_id, bob.welcome.player_id);
    // Each player sees itself: that is where it spawned (opposite corners, far from the
    // middle of the arena).
    let ada_at = ada.recv_until(WAIT, |m| position(m, ada_id)).await.expect("Ada's ship");
    let bob_at = bob.recv_until(WAIT, |m| position(m, bob_id)).await.expect("Bob's ship");
    let mut eve = spectate(&server, "Eve", "").await.expect("Eve watches");
    for _ in 0..5 {
        let snap = eve.recv_until(WAIT, |m| m.snapshot().cloned()).await.expect("a snapshot");
        assert!(snap.players.is_empty(), "the map's centre: nobody within 300 units");
    }
    for (at, id, other) in [(ada_at, ada_id, bob_id), (bob_at, bob_id, ada_id)] {
        let look = ClientMsg::Look { at: MapPoint { x: at.0 as u16, y: at.1 as u16 } };
        eve.send(&look).await.expect("Eve looks");
        let snap = eve
            .recv_until(WAIT, |m| {
                m.snapshot().filter(|s| s.players.iter().any(|p| p.id == id)).cloned()
            })
            .await
            .expect("the player looked at comes into view");
        assert!(snap.players.iter().all(|p| p.id != other), "the other one is far away");
        assert!(snap.players.iter().all(|p| !is_spectator_id(p.id)), "never the spectator");
    }
    drop((ada, bob, eve));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn where_the_room_lets_spectators_chat_their_lines_reach_everyone_with_their_name() {
    let mut config = test_config();
    config.spectator_chat = true;
    let server = TestServer::start_with(config).await;
    let mut ada = server.join("Ada").await;
    let mut eve = spectate(&server, "Eve", "").await.expect("Eve watches");
    assert!(eve.welcome.spectators_chat, "the Welcome says she may chat");
    assert!(ada.welcome.spectators_chat, "the room's rule, the same in every Welcome");
    eve.send(&ClientMsg::Chat { text: "nice shot".into() }).await.expect("Eve chats");
    let watcher_line = |m: &Incoming| match m.message()? {
        ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
            GameEvent::WatcherChat { name, text } => Some((name.clone(), text.clone())),
            GameEvent::Chat { from, .. } if is_spectator_id(*from) => {
                panic!("a spectator's id in a chat event: {e:?}")
            }
            _ => None,
        }),
        _ => None,
    };
    let heard = ada.recv_until(WAIT, watcher_line).await.expect("Ada hears Eve");
    assert_eq!(heard, ("Eve".to_string(), "nice shot".to_string()));
    let echoed = eve.recv_until(WAIT, watcher_line).await.expect("Eve sees her line");
    assert_eq!(echoed.0, "Eve");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn spectators_have_their_own_cap_and_take_no_seat() {
    let mut config = test_config();
    config.max_spectators = 2;
    config.max_players = 2;
    let server = TestServer::start_with(config).await;
    let _ada = server.join("Ada").await;
    let _one = spectate(&server, "One", "").await.expect("first spectator");
    let _two = spectate(&server, "Two", "main").await.expect("second spectator");
    let (code, reason) = refusal(spectate(&server, "Three", "").await);
    assert_eq!((code, reason.as_str()), (close::TRY_AGAIN_LATER, "too many spectators"));
    let bob = server.join("Bob").await;
    assert!(!bob.welcome.spectator, "a player still gets the last seat");
    assert_eq!(metric(server.addr, "skirmish_spectators").await, 2.0);
    server.shutdown().await.expect("clean shutdown");
}

/// Sends `hello` on a fresh socket and returns the close the server answers with.
async fn refused_hello(server: &TestServer, hello: Hello) -> (u16, String) {
    let mut socket = bots::client::open(&server.ws_url()).await.expect("opening");
    let bytes = encode_client(&ClientMsg::Hello(hello.clone()));
    socket.send(Message::Binary(bytes.into())).await.expect("sending Hello");
    loop {
        match bots::client::read(&mut socket).await.expect("reading") {
            (Incoming::Closed { code, reason }, _) => return (code, reason),
            (Incoming::Message(ServerMsg::Welcome(_)), _) => panic!("welcomed: {hello:?}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn spectate_hellos_asking_for_a_seat_or_a_missing_room_are_refused() {
    let server = TestServer::start().await;
    let spectate = |room: &str| Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "Eve".into(),
        room: room.into(),
        ticket: None,
        resume: None,
        spectate: true,
    };
    let (code, reason) = refused_hello(&server, spectate("")).await;
    assert_eq!((code, reason.as_str()), (close::POLICY, "no such room"), "not opened by watching");
    let _ada = server.join("Ada").await;
    let ticket = Hello { ticket: Some("0123456789abcdef0123456789abcdef".into()), ..spectate("") };
    let (code, reason) = refused_hello(&server, ticket).await;
    assert_eq!(code, close::POLICY, "{reason}");
    assert!(reason.contains("ticket"), "{reason}");
    let resume = Hello { resume: Some(ResumeToken([7; 16])), ..spectate("") };
    let (code, reason) = refused_hello(&server, resume).await;
    assert_eq!(code, close::POLICY, "{reason}");
    assert!(reason.contains("resume"), "{reason}");
    let (code, reason) = refused_hello(&server, spectate("abcdefghjk")).await;
    assert_eq!((code, reason.as_str()), (close::POLICY, "no such room"), "an unknown code");
    let watched = spectate_ok(&server).await;
    assert!(watched, "a plain spectate Hello for the running room is welcome");
    server.shutdown().await.expect("clean shutdown");

    let mut off = test_config();
    off.max_spectators = 0;
    let server = TestServer::start_with(off).await;
    let _ada = server.join("Ada").await;
    let (code, reason) = refusal(BotClient::spectate(&server.ws_url(), "Eve", "", WAIT).await);
    assert_eq!((code, reason.as_str()), (close::TRY_AGAIN_LATER, "spectating is off"));
    server.shutdown().await.expect("clean shutdown");
}

async fn spectate_ok(server: &TestServer) -> bool {
    spectate(server, "Eve", "").await.is_ok_and(|eve| eve.welcome.spectator)
}

#[tokio::test]
async fn a_draining_server_turns_new_spectators_away_and_closes_the_others_with_1012() {
    let server = ProcessServer::start(&["--drain-secs", "3"]);
    let mut ada = server.join("Ada").await;
    let mut eve = BotClient::spectate(&server.ws_url(), "Eve", "", WAIT).await.expect("Eve");
    // Ada keeps reading (and so answering pings) through the drain.
    let ada = tokio::spawn(async move {
        while let Ok(incoming) = ada.recv().await {
            if matches!(incoming, Incoming::Closed { .. }) {
                break;
            }
        }
    });
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, reason) = refusal(BotClient::spectate(&server.ws_url(), "Fay", "", WAIT).await);
    assert_eq!(code, close::RESTART, "no new spectator while draining: {reason}");
    let ended = eve.recv_until(Duration::from_secs(10), |_| None::<()>).await;
    let message = format!("{:#}", ended.expect_err("the drain ends with a close"));
    assert!(message.contains("closed with 1012"), "{message}");
    ada.await.expect("Ada's reader");
}
