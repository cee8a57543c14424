use shared::codec::encode_server;
use shared::delta;
use shared::protocol::{
    Beam as WireBeam, InputMsg, MAX_INPUTS_PER_MSG, MapPoint, Ray, RosterEntry,
};
use shared::tick::Tick;

use super::*;
use crate::hud::{BEAM_MS, CHAT_LINES, KILLFEED_LINES, KILLFEED_MS};
use shared::protocol::GameEvent;

fn welcome(id: u32, token: u8) -> Vec<u8> {
    let map = Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena");
    encode_server(&ServerMsg::Welcome(Box::new(Welcome {
        player_id: PlayerId(id),
        tick_hz: 30,
        send_hz: 30,
        server_tick: Tick(0),
        map,
        roster: vec![RosterEntry { id: PlayerId(id), name: "Ada".into() }],
        resume_token: ResumeToken([token; 16]),
        resume_grace_secs: 20,
        resumed: false,
        spectator: false,
        spectators_chat: false,
    })))
}

/// A spectator's `Welcome` to a room with Ada in it; `chat`: spectators may chat there.
fn spectator_welcome(chat: bool) -> Vec<u8> {
    let map = Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena");
    encode_server(&ServerMsg::Welcome(Box::new(Welcome {
        player_id: PlayerId(u32::MAX),
        tick_hz: 30,
        send_hz: 30,
        server_tick: Tick(0),
        map,
        roster: vec![RosterEntry { id: PlayerId(1), name: "Ada".into() }],
        resume_token: ResumeToken([7; 16]),
        resume_grace_secs: 20,
        resumed: false,
        spectator: true,
        spectators_chat: chat,
    })))
}

fn joined() -> App {
    let mut app = App::new();
    app.join("Ada", Target::default());
    app.on_open();
    app.on_message(&welcome(1, 1), 0.0).expect("welcome decodes");
    app.take_outgoing();
    app
}

fn snapshot(tick: u32, ack: u32) -> Vec<u8> {
    let me = PlayerSnap {
        id: PlayerId(1),
        x: 1600,
        y: 1600,
        health: 100,
        alive: true,
        ..PlayerSnap::default()
    };
    let snap = Snapshot { tick: Tick(tick), ack_input: ack, players: vec![me], pickups: 0 };
    encode_server(&ServerMsg::Snapshot(delta::encode(None, &snap)))
}

fn inputs(messages: &[ClientMsg]) -> Vec<&InputMsg> {
    messages
        .iter()
        .filter_map(|m| if let ClientMsg::Input(i) = m { Some(i) } else { None })
        .collect()
}

#[test]
fn hello_then_welcome_joins() {
    let mut app = App::new();
    app.join("  Ada ", Target::default());
    assert!(app.wants_socket(0.0), "joining asks for a socket");
    app.on_open();
    let out = app.take_outgoing();
    assert!(
        matches!(&out[..], [ClientMsg::Hello(h)] if h.name == "Ada" && h.resume.is_none()),
        "{out:?}"
    );
    app.on_message(&welcome(1, 1), 0.0).expect("welcome");
    assert_eq!(
        (app.conn.clone(), app.me()),
        (Conn::Joined, Some(PlayerId(1))),
        "joined as player 1"
    );
    assert_eq!(app.name_of(PlayerId(1)), "Ada");
}

#[test]
fn every_connection_first_fetches_a_fresh_token_and_a_failed_fetch_backs_off() {
    let mut app = App::new();
    assert_eq!(app.connect_step(0.0), None, "the lobby needs no socket");
    let target =
        Target { server: Some("ws://10.0.0.2:7777/ws?join=t".into()), ..Target::default() };
    app.join("Ada", target);
    assert_eq!(app.connect_step(0.0), Some(Connect::FetchToken));
    assert_eq!(app.connect_step(5.0), None, "one fetch at a time");
    app.on_token(true, 10.0, 0.0);
    let open = Connect::Open { server: Some("ws://10.0.0.2:7777/ws?join=t".into()) };
    assert_eq!(app.connect_step(10.0), Some(open), "a seat elsewhere opens there");
    app.on_open();
    app.on_message(&welcome(1, 1), 20.0).expect("welcome");
    app.on_close(close::ABNORMAL, "", 100.0, 0.0);
    assert_eq!(app.connect_step(100.0), None, "backing off");
    let retry = 100.0 + BACKOFF_FIRST_MS;
    assert_eq!(app.connect_step(retry), Some(Connect::FetchToken), "tokens are not reused");
    app.on_token(false, retry + 5.0, 0.0);
    assert!(
        matches!(&app.conn, Conn::Reconnecting { reason, attempt: 1, .. } if reason == "cannot reach the server"),
        "{:?}",
        app.conn
    );
    assert_eq!(app.connect_step(retry + 5.0), None, "and backs off again");
    app.on_token(true, retry + 6.0, 0.0);
    assert_eq!(
        app.connect_step(retry + 10_000.0),
        Some(Connect::FetchToken),
        "a stray answer is ignored"
    );
}

#[test]
fn inputs_go_out_at_the_tick_rate_with_unacked_redundancy() {
    let mut app = joined();
    app.on_message(&snapshot(1, 0), 0.0).expect("snapshot");
    let mut sent = Vec::new();
    for frame in 1..=60 {
        app.update(f64::from(frame) * 1000.0 / 60.0, 1000.0 / 60.0, InputCmd::default);
        sent.extend(app.take_outgoing());
    }
    let sent_inputs = inputs(&sent);
    assert!(
        (29..=31).contains(&sent_inputs.len()),
        "about 30 inputs in a second at 60 FPS: {}",
        sent_inputs.len()
    );
    let newest: Vec<u32> =
        sent_inputs.iter().map(|m| m.inputs.last().expect("non-empty").seq).collect();
    assert!(
        newest.windows(2).all(|w| w[1] == w[0] + 1),
        "one new sequence number per message: {newest:?}"
    );
    assert!(
        sent_inputs.iter().all(|m| m.inputs.len() <= MAX_INPUTS_PER_MSG),
        "redundancy is capped"
    );
    assert_eq!(
        sent_inputs.last().expect("some").inputs.len(),
        MAX_INPUTS_PER_MSG,
        "unacked inputs ride along"
    );

    let last = *newest.last().expect("some");
    app.on_message(&snapshot(2, last - 2), 1000.0).expect("ack");
    app.update(1000.0 + 1000.0 / 30.0, 1000.0 / 30.0, InputCmd::default);
    let next = app.take_outgoing();
    let carried: Vec<u32> = inputs(&next)[0].inputs.iter().map(|c| c.seq).collect();
    assert_eq!(carried, vec![last - 1, last, last + 1], "only unacknowledged inputs are repeated");
}

#[test]
fn a_stalled_frame_catches_up_only_a_few_inputs() {
    let mut app = joined();
    app.update(0.0, 16.0, InputCmd::default);
    app.take_outgoing();
    app.update(5000.0, 5000.0, InputCmd::default);
    assert!(inputs(&app.take_outgoing()).len() <= 4, "a 5 s stall does not flood the server");
}

#[test]
fn backoff_grows_and_is_capped() {
    let delays: Vec<f64> = (0..8).map(|attempt| backoff_ms(attempt, 1.0)).collect();
    assert_eq!(delays[..5], [500.0, 1000.0, 2000.0, 4000.0, 8000.0], "doubles from 0.5 s");
    assert!(delays[5..].iter().all(|d| *d == BACKOFF_MAX_MS), "capped at 8 s");
    assert_eq!(backoff_ms(2, 0.0), 1000.0, "jitter spreads down to half");
}

#[test]
fn unclean_closes_reconnect_with_resume_and_refusals_stop() {
    let mut app = joined();
    app.on_close(1006, "", 100.0, 0.0);
    assert!(matches!(app.conn, Conn::Reconnecting { attempt: 0, .. }), "{:?}", app.conn);
    assert!(
        !app.wants_socket(100.0) && app.wants_socket(100.0 + BACKOFF_FIRST_MS),
        "waits out the backoff"
    );
    assert!(app.banner(100.0).is_some_and(|b| b.contains("Reconnecting")), "a banner says so");
    app.on_open();
    let hello = app.take_outgoing();
    assert!(
        matches!(&hello[..], [ClientMsg::Hello(h)] if h.resume == Some(ResumeToken([1; 16]))),
        "resumes with the token"
    );
    app.on_close(1006, "", 200.0, 0.0);
    assert!(
        matches!(app.conn, Conn::Reconnecting { attempt: 1, .. }),
        "the second failure backs off further"
    );

    app.on_close(close::RESTART, "server restarting", 300.0, 0.5);
    assert!(
        matches!(&app.conn, Conn::Reconnecting { reason, .. } if reason == "server restarting"),
        "1012 reconnects"
    );

    let mut lobby_seat = App::new();
    let target = Target { room: "k3m9x2q7wp".into(), via_lobby: true, ..Target::default() };
    lobby_seat.join("Ada", target);
    lobby_seat.on_open();
    lobby_seat.on_message(&welcome(1, 1), 0.0).expect("welcome decodes");
    lobby_seat.on_close(close::RESTART, "server draining: rejoin through the lobby", 10.0, 0.0);
    assert_eq!(lobby_seat.conn, Conn::Idle, "a lobby seat goes back to the lobby on 1012");
    assert!(!lobby_seat.take_rejoin(11.0), "not at once: the server may be restarting");
    assert!(lobby_seat.take_rejoin(10.0 + BACKOFF_FIRST_MS), "then asks the lobby for a seat");
    assert!(!lobby_seat.take_rejoin(10_000.0), "once");
    assert_eq!(lobby_seat.name, "Ada", "under the same name");
    assert!(lobby_seat.notice.is_some(), "saying why");
    // The lobby is unreachable (the only server restarting): ask again later, then give up.
    let mut now = 1000.0;
    for _ in 1..MAX_REJOINS {
        assert!(lobby_seat.rejoin_failed(now, 0.0), "another ask is due");
        assert!(!lobby_seat.take_rejoin(now), "after a back-off");
        now += BACKOFF_MAX_MS;
        assert!(lobby_seat.take_rejoin(now), "then it asks again");
    }
    assert!(!lobby_seat.rejoin_failed(now, 0.0), "the last failure is shown");
    // A seat ends a rejoin.
    lobby_seat.on_close(close::RESTART, "server restarting", now, 0.0);
    lobby_seat.join("Ada", Target { via_lobby: true, ..Target::default() });
    assert!(!lobby_seat.take_rejoin(now + BACKOFF_MAX_MS), "seated: nothing to ask");

    let mut refused = joined();
    refused.on_close(close::PROTOCOL_ERROR, "protocol version 9 not supported", 0.0, 0.0);
    assert!(matches!(refused.conn, Conn::Closed { code: 1002, .. }), "a protocol refusal stops");
}

#[test]
fn a_version_mismatch_asks_for_a_reload() {
    let mut app = joined();
    app.on_close(close::VERSION_MISMATCH, "protocol version 3 not supported", 0.0, 0.5);
    assert!(
        matches!(app.conn, Conn::Closed { code: close::VERSION_MISMATCH, .. }),
        "no reconnecting with an old page: {:?}",
        app.conn
    );
    assert!(!app.wants_socket(60_000.0), "it stays closed");
    assert_eq!(
        app.banner(0.0).as_deref(),
        Some("The server was updated — reload the page."),
        "recognised by its code, not its reason"
    );
    let mut other = joined();
    other.on_close(close::VERSION_MISMATCH, "", 0.0, 0.5);
    assert_eq!(other.banner(0.0), app.banner(0.0), "whatever the reason says");
}

#[test]
fn a_refused_resume_rejoins_as_a_new_player() {
    let mut app = joined();
    app.on_close(1006, "", 0.0, 0.0);
    app.on_open();
    app.take_outgoing();
    app.on_close(
        close::RESUME_REFUSED,
        "resume token not valid (expired or already used)",
        10.0,
        0.0,
    );
    assert!(app.wants_socket(10.0), "retries at once");
    app.on_open();
    let hello = app.take_outgoing();
    assert!(
        matches!(&hello[..], [ClientMsg::Hello(h)] if h.resume.is_none()),
        "without the spent token"
    );
}

#[test]
fn chat_and_killfeed_are_bounded_and_expire() {
    let mut app = joined();
    for i in 0..(CHAT_LINES + 20) {
        let events = vec![GameEvent::Chat { from: PlayerId(1), text: format!("line {i}") }];
        app.on_message(&encode_server(&ServerMsg::Events { beams: vec![], events }), 0.0)
            .expect("chat");
    }
    assert_eq!(app.hud.chat.len(), CHAT_LINES, "chat keeps the last {CHAT_LINES} lines");
    assert_eq!(app.hud.chat.back().map(|l| l.text.as_str()), Some("line 69"), "newest last");
    for _ in 0..8 {
        let events = vec![GameEvent::Killed { killer: PlayerId(1), victim: PlayerId(2) }];
        app.on_message(&encode_server(&ServerMsg::Events { beams: vec![], events }), 0.0)
            .expect("kill");
    }
    assert_eq!(app.hud.killfeed.len(), KILLFEED_LINES, "kill feed is bounded");
    app.update(KILLFEED_MS + 1.0, 16.0, InputCmd::default);
    assert!(app.hud.killfeed.is_empty(), "kill-feed lines expire");
}

#[test]
fn chat_is_sanitised_before_sending() {
    let mut app = joined();
    app.send_chat("   ");
    app.send_chat("hi\u{202E} there");
    let out = app.take_outgoing();
    assert_eq!(
        out,
        vec![ClientMsg::Chat { text: "hi there".into() }],
        "blank lines dropped, controls stripped"
    );
}

#[test]
fn garbage_from_the_server_is_an_error() {
    let mut app = joined();
    assert!(app.on_message(&[0xff, 0xff, 0xff], 0.0).is_err(), "undecodable bytes are reported");
}

#[test]
fn beams_are_counted_and_drawn_briefly_from_the_ship_when_it_is_in_view() {
    let mut app = joined();
    let beams = vec![
        // 100 units along +x, and 20 along +y (a quarter turn).
        WireBeam { shooter: PlayerId(1), from: None, ray: Ray { angle: 0, steps: 25 } },
        WireBeam {
            shooter: PlayerId(9),
            from: Some(MapPoint { x: 5, y: 6 }),
            ray: Ray { angle: Ray::TURN / 4, steps: 5 },
        },
        WireBeam { shooter: PlayerId(9), from: None, ray: Ray::default() },
    ];
    let message = ServerMsg::Events { beams, events: vec![] };
    app.on_message(&encode_server(&message), 0.0).expect("beams");
    assert_eq!((app.hud.shots_seen, app.hud.beams.len()), (3, 3), "counted and kept");
    let me = Ship {
        id: PlayerId(1),
        name: "me".into(),
        pos: Vec2::new(40.0, 50.0),
        aim: Vec2::X,
        health: 100,
        is_me: true,
    };
    let lines = app.hud.beam_lines(|id| (id == me.id).then_some(me.pos), 50.0);
    assert_eq!(
        lines.iter().map(|line| (line.from, line.shooter)).collect::<Vec<_>>(),
        vec![(Vec2::new(40.0, 50.0), PlayerId(1)), (Vec2::new(5.0, 6.0), PlayerId(9))],
        "from the drawn ship, or the given start; a beam of an undrawn ship without a start is skipped"
    );
    assert!(lines[0].to.distance(Vec2::new(140.0, 50.0)) < 0.01, "along its ray from the ship");
    assert!(lines[1].to.distance(Vec2::new(5.0, 26.0)) < 0.01, "and from its start");
    app.update(BEAM_MS + 1.0, 16.0, InputCmd::default);
    assert!(app.hud.beams.is_empty(), "the beam fades out");
}

#[test]
fn the_server_hears_of_the_screen_size_when_it_changes_at_most_twice_a_second() {
    let mut app = joined();
    let views = |app: &mut App| {
        app.take_outgoing()
            .into_iter()
            .filter_map(|m| match m {
                ClientMsg::View { half_width, half_height } => Some((half_width, half_height)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    app.set_view(Vec2::new(600.0, 420.0), 1000.0);
    assert_eq!(views(&mut app), vec![(600, 420)], "told at once");
    app.set_view(Vec2::new(603.0, 421.0), 1100.0);
    assert_eq!(views(&mut app), vec![], "a few units are not worth a message");
    app.set_view(Vec2::new(900.0, 500.0), 1200.0);
    assert_eq!(views(&mut app), vec![], "not twice within half a second");
    app.set_view(Vec2::new(900.0, 500.0), 1600.0);
    assert_eq!(views(&mut app), vec![(900, 500)], "then the new size");
    app.on_close(close::RESTART, "server restarting", 2000.0, 0.0);
    app.on_open();
    let hello_then_view: Vec<bool> =
        app.take_outgoing().iter().map(|m| matches!(m, ClientMsg::View { .. })).collect();
    assert_eq!(hello_then_view, vec![false, true], "a new connection hears it after Hello");
}

fn seat() -> Target {
    Target {
        room: "k3n8q2x7mp".into(),
        ticket: Some("0123456789abcdef0123456789abcdef".into()),
        title: "Secret base".into(),
        map: "corridors".into(),
        invite: Some("/r/k3n8q2x7mp".into()),
        server: None,
        via_lobby: true,
        spectate: false,
    }
}

#[test]
fn the_seat_ticket_goes_in_the_first_hello_only() {
    let mut app = App::new();
    app.join("Ada", seat());
    app.on_open();
    let out = app.take_outgoing();
    let Some(ClientMsg::Hello(hello)) = out.first() else { panic!("Hello first: {out:?}") };
    assert_eq!(
        (hello.room.as_str(), hello.ticket.as_deref()),
        ("k3n8q2x7mp", seat().ticket.as_deref())
    );
    app.on_message(&welcome(1, 1), 0.0).expect("welcome");
    assert_eq!(app.target.ticket, None, "spent");
    app.on_close(1006, "lost", 0.0, 0.0);
    app.on_open();
    let out = app.take_outgoing();
    let Some(ClientMsg::Hello(hello)) = out.first() else { panic!("Hello first: {out:?}") };
    assert!(
        hello.ticket.is_none() && hello.resume.is_some(),
        "a reconnect resumes in the same room"
    );
    assert_eq!(hello.room, "k3n8q2x7mp");
}

#[test]
fn a_lapsed_reservation_goes_back_to_the_lobby_with_a_notice() {
    let mut app = App::new();
    app.join("Ada", seat());
    app.on_open();
    app.on_close(close::RESERVATION_REFUSED, "seat reservation expired", 0.0, 0.0);
    assert_eq!(app.conn, Conn::Idle, "the lobby shows again");
    assert!(app.notice.as_deref().is_some_and(|n| n.contains("pick a room")), "{:?}", app.notice);
    assert!(!app.wants_socket(1e9), "no retry on its own");
}

#[test]
fn leaving_gives_the_seat_up_and_clears_the_room() {
    let mut app = joined();
    app.on_message(&snapshot(1, 0), 0.0).expect("snapshot");
    app.leave();
    assert_eq!(app.conn, Conn::Idle);
    assert!(app.me().is_none() && app.latest().is_none() && app.hud.roster.is_empty());
    app.join("Ada", seat());
    app.on_open();
    let out = app.take_outgoing();
    assert!(
        matches!(&out[..], [ClientMsg::Hello(h), ..] if h.resume.is_none()),
        "a fresh seat: {out:?}"
    );
}

#[test]
fn dying_shows_the_last_seconds_following_the_killer_during_the_respawn_wait() {
    let mut app = joined();
    let joined = ServerMsg::Events {
        beams: vec![],
        events: vec![GameEvent::Joined { id: PlayerId(2), name: "Bob".into() }],
    };
    app.on_message(&encode_server(&joined), 0.0).expect("Bob joins");
    // Five seconds: Bob flies right, 2 units a tick; we stand at (100, 100).
    let bob_x = |tick: u32| 100.0 + 2.0 * tick as f32;
    let mut now = 0.0;
    let mut baseline: Option<Snapshot> = None;
    for tick in 1..=150u32 {
        let players = vec![
            PlayerSnap {
                id: PlayerId(1),
                x: 1600,
                y: 1600,
                health: 100,
                alive: tick < 150,
                ..PlayerSnap::default()
            },
            PlayerSnap {
                id: PlayerId(2),
                x: shared::protocol::quantize_pos(bob_x(tick)),
                y: 1600,
                health: 100,
                alive: true,
                ..PlayerSnap::default()
            },
        ];
        let snap = Snapshot { tick: Tick(tick), ack_input: 0, players, pickups: 0 };
        let message = ServerMsg::Snapshot(delta::encode(baseline.as_ref(), &snap));
        app.on_message(&encode_server(&message), now).expect("snapshot");
        baseline = Some(snap);
        for _ in 0..2 {
            now += 1000.0 / 60.0;
            app.update(now, 1000.0 / 60.0, InputCmd::default);
        }
    }
    let killed = ServerMsg::Events {
        beams: vec![],
        events: vec![GameEvent::Killed { killer: PlayerId(2), victim: PlayerId(1) }],
    };
    app.on_message(&encode_server(&killed), now).expect("the kill");
    let drawn_now = app.ships(now).into_iter().find(|s| s.id == PlayerId(2)).expect("Bob").pos.x;
    let scene = app.scene(now).expect("a scene");
    let bob = scene.ships.iter().find(|s| s.id == PlayerId(2)).expect("Bob in the kill-cam");
    assert!(bob.is_me, "the killer is highlighted");
    assert_eq!(scene.focus, bob.pos, "the camera follows the killer");
    let back = drawn_now - scene.focus.x;
    assert!((170.0..=190.0).contains(&back), "three seconds back (180 units): {back}");
    let banner = app.banner(now).expect("a banner while dead");
    assert!(banner.contains("Destroyed by Bob"), "{banner}");
    let mid = app.scene(now + 1500.0).expect("a scene").focus.x;
    assert!((mid - scene.focus.x - 90.0).abs() < 8.0, "plays at normal speed: {mid}");
    let after = app.scene(now + 3100.0).expect("a scene");
    assert!(
        !after.ships.iter().any(|s| s.is_me && s.id == PlayerId(2)),
        "then the live view again"
    );
}

#[test]
fn a_spectator_says_so_sends_no_commands_follows_and_tells_where_it_looks() {
    let mut app = App::new();
    app.join("Eve", Target { room: "main".into(), spectate: true, ..Target::default() });
    assert!(app.watching());
    app.on_open();
    let hello = app.take_outgoing();
    assert!(
        matches!(&hello[..], [ClientMsg::Hello(h), ..] if h.spectate && h.ticket.is_none() && h.resume.is_none()),
        "{hello:?}"
    );
    app.on_message(&spectator_welcome(false), 0.0).expect("welcome");
    app.on_message(&snapshot(1, 0), 0.0).expect("a snapshot of Ada");
    for frame in 1..=60 {
        let now = f64::from(frame) * 1000.0 / 60.0;
        app.update(now, 1000.0 / 60.0, || InputCmd { move_x: 127, ..InputCmd::default() });
    }
    let out = app.take_outgoing();
    assert!(inputs(&out).is_empty(), "a spectator sends no commands: {out:?}");
    let looks: Vec<MapPoint> = out
        .iter()
        .filter_map(|m| if let ClientMsg::Look { at } = m { Some(*at) } else { None })
        .collect();
    assert!(looks.len() >= 2 && looks.len() <= 6, "looks as the camera pans: {looks:?}");
    assert!(
        looks.last().unwrap().x > looks[0].x + 400,
        "the keys moved the camera right: {looks:?}"
    );
    app.send_chat("hello");
    assert!(app.take_outgoing().is_empty(), "the chat is read-only");
    app.follow_next(1000.0);
    assert_eq!(app.followed(), Some(PlayerId(1)), "Tab follows Ada");
    assert_eq!(app.camera(1000.0), Vec2::new(100.0, 100.0), "the camera is on her");
    assert!(app.score_rows().iter().any(|row| row.is_me && row.name == "Ada"), "highlighted");
    app.on_close(close::ABNORMAL, "", 2000.0, 0.0);
    assert!(matches!(app.conn, Conn::Reconnecting { .. }));
    app.on_open();
    let again = app.take_outgoing();
    assert!(
        matches!(&again[..], [ClientMsg::Hello(h), ..] if h.spectate && h.resume.is_none()),
        "a spectator watches again, never resumes: {again:?}"
    );
}

#[test]
fn a_spectator_chats_only_where_the_room_lets_it_and_its_lines_carry_its_name() {
    for allowed in [false, true] {
        let mut app = App::new();
        app.join("Eve", Target { room: "main".into(), spectate: true, ..Target::default() });
        app.on_open();
        app.on_message(&spectator_welcome(allowed), 0.0).expect("welcome");
        app.take_outgoing();
        assert_eq!(app.may_chat(), allowed);
        app.send_chat("gg");
        let sent = app.take_outgoing().iter().any(|m| matches!(m, ClientMsg::Chat { .. }));
        assert_eq!(sent, allowed, "a spectator's line goes out only where the room allows");
        let line = ServerMsg::Events {
            beams: vec![],
            events: vec![GameEvent::WatcherChat { name: "Eve".into(), text: "gg".into() }],
        };
        app.on_message(&encode_server(&line), 0.0).expect("the line comes back");
        let shown = app.hud.chat.back().map(|l| (l.from.clone(), l.text.clone()));
        assert_eq!(shown, Some(("Eve (watching)".into(), "gg".into())));
    }
}
