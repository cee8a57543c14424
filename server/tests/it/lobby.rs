//! The lobby against a real server: quick play fills rooms before opening new ones, private
//! rooms are reached by code only, tickets are checked, the last seat goes to one player, idle
//! rooms close and free what they held, and kills reach the leaderboard.

use std::time::{Duration, Instant};

use bots::client::{BotClient, Incoming};
use bots::lobby::{self, NewRoom, Refused, Seat};
use shared::ids::PlayerId;
use shared::netcode::Fidelity;
use shared::protocol::{GameEvent, InputCmd, ServerMsg, buttons, close};

use crate::harness::{ProcessServer, TempDir, TestServer, WAIT, metric, test_config};

/// `GET path`: status and JSON body.
async fn get_json(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &str,
) -> (u16, serde_json::Value) {
    let (status, text) = crate::harness::http_get(addr, path, headers).await;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(text.clone())))
}

async fn token(url: &str) -> String {
    bots::http::session_token(url).await.expect("a session")
}

async fn take(url: &str, token: &str, name: &str, seat: &Seat) -> BotClient {
    BotClient::connect_seat(url, token, name, seat, WAIT, Fidelity::Light)
        .await
        .unwrap_or_else(|err| panic!("{name} takes the seat: {err:#}"))
}

fn refusal(err: anyhow::Error) -> u16 {
    err.downcast_ref::<Refused>().map_or(0, |refused| refused.status)
}

#[tokio::test]
async fn quick_play_fills_a_room_before_opening_the_next() {
    let mut config = test_config();
    config.max_players = 2;
    let server = TestServer::start_with(config).await;
    let url = server.ws_url();
    let mut seats = Vec::new();
    let mut players = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        let token = token(&url).await;
        let seat = lobby::quick_play(&url, &token).await.expect("a seat");
        players.push(take(&url, &token, name, &seat).await);
        seats.push(seat);
    }
    assert_eq!(seats[0].room.id, seats[1].room.id, "Bob joins Ada's room");
    assert_ne!(seats[2].room.id, seats[0].room.id, "the room is full: Cy gets a new one");
    assert_eq!(players[1].welcome.roster.len(), 2, "Bob's Welcome lists Ada and Bob");
    let (_, json) = get_json(server.addr, "/api/rooms", "").await;
    let listed: Vec<(String, u64)> = json["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| (r["id"].as_str().unwrap_or("").to_string(), r["players"].as_u64().unwrap_or(0)))
        .collect();
    assert!(listed.contains(&(seats[0].room.id.clone(), 2)), "{listed:?}");
    assert!(listed.contains(&(seats[2].room.id.clone(), 1)), "{listed:?}");
    assert_eq!(json["maps"][0], "arena", "the default map first: {json}");
    drop(players);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_private_room_is_reached_by_its_code_and_by_nothing_else() {
    let mut config = test_config();
    config.room_idle_secs = 0;
    let server = TestServer::start_with(config).await;
    let url = server.ws_url();
    let (ada_token, bob_token) = (token(&url).await, token(&url).await);
    let spec = NewRoom { title: "Secret base", map: "corridors", capacity: 4, public: false };
    let seat = lobby::create(&url, &ada_token, &spec).await.expect("created");
    assert_eq!(seat.link, format!("/r/{}", seat.room.id));
    assert!(!seat.room.public && seat.room.map == "corridors");
    let ada = take(&url, &ada_token, "Ada", &seat).await;
    assert_eq!(ada.welcome.map.id, "corridors", "the room runs the map it was made with");
    let (status, page) = crate::harness::http_get(server.addr, &seat.link, "").await;
    assert!(
        status == 200 && page.contains("Skirmish test page"),
        "the link opens the page: {page}"
    );
    let (_, rooms) = get_json(server.addr, "/api/rooms", "").await;
    assert!(!rooms.to_string().contains(&seat.room.id), "a private room is not listed: {rooms}");

    let bob_seat = lobby::join(&url, &bob_token, &seat.room.id).await.expect("the code works");
    let bob = take(&url, &bob_token, "Bob", &bob_seat).await;
    let names: Vec<_> = bob.welcome.roster.iter().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names, ["Ada", "Bob"], "Bob lands in Ada's room");

    // A guessed code and the code of a room that closed get the same answer.
    let guessed = lobby::join(&url, &bob_token, "2222222222").await.expect_err("no such room");
    let closed_code = {
        let gone = lobby::create(&url, &bob_token, &spec).await.expect("created");
        tokio::time::sleep(lobby_expiry()).await;
        gone.room.id
    };
    let closed = lobby::join(&url, &bob_token, &closed_code).await.expect_err("closed");
    let (guessed_body, closed_body) = (guessed.to_string(), closed.to_string());
    assert_eq!((refusal(guessed), refusal(closed)), (404, 404));
    assert_eq!(guessed_body, closed_body, "the same answer, word for word");
    // Both are one map lookup that misses; the times are printed, not asserted (shared machine).
    let mut timings = [Vec::new(), Vec::new()];
    for _ in 0..40 {
        for (which, code) in [(0, "2222222222"), (1, closed_code.as_str())] {
            let started = Instant::now();
            let _ = lobby::join(&url, &bob_token, code).await;
            timings[which].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    for list in &mut timings {
        list.sort_by(f64::total_cmp);
    }
    println!(
        "404 for a guessed code: median {:.3} ms; for a closed room's code: median {:.3} ms",
        timings[0][20], timings[1][20]
    );
    drop((ada, bob));
    server.shutdown().await.expect("clean shutdown");
}

/// How long until an unused reservation has expired and its idle room has been reaped.
fn lobby_expiry() -> Duration {
    Duration::from_secs(11)
}

#[tokio::test]
async fn hello_with_a_made_up_ticket_is_refused_with_4003() {
    let server = TestServer::start().await;
    let url = server.ws_url();
    let token = token(&url).await;
    let seat = lobby::quick_play(&url, &token).await.expect("a seat");
    let forged = Seat { ticket: Some("0123456789abcdef0123456789abcdef".into()), ..seat.clone() };
    let err = BotClient::connect_seat(&url, &token, "Eve", &forged, WAIT, Fidelity::Light)
        .await
        .err()
        .expect("refused");
    let closed = err.downcast_ref::<bots::refusal::ClosedBeforeWelcome>().expect("closed");
    assert_eq!(closed.code, close::RESERVATION_REFUSED, "{}", closed.reason);
    take(&url, &token, "Ada", &seat).await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn players_racing_for_the_last_seat_get_it_once() {
    let server = TestServer::start().await;
    let url = server.ws_url();
    let host = token(&url).await;
    let spec = NewRoom { title: "Duel", map: "arena", capacity: 2, public: true };
    let seat = lobby::create(&url, &host, &spec).await.expect("created");
    let mut racers = Vec::new();
    for _ in 0..40 {
        racers.push(token(&url).await);
    }
    let attempts = racers.iter().map(|token| lobby::join(&url, token, &seat.room.id));
    let results = futures_util::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let full = results.iter().filter(|r| r.as_ref().err().map(refusal_ref) == Some(409)).count();
    assert_eq!((won, full), (1, 39), "one seat, one winner");
    server.shutdown().await.expect("clean shutdown");
}

fn refusal_ref(err: &anyhow::Error) -> u16 {
    err.downcast_ref::<Refused>().map_or(0, |refused| refused.status)
}

/// Plays `hunter` towards `prey`, firing, until the hunter's kill shows in its events.
async fn hunt(hunter: &mut BotClient, prey: PlayerId, within: Duration) {
    let me = hunter.welcome.player_id;
    let deadline = Instant::now() + within;
    let mut aim = glam::Vec2::X;
    while Instant::now() < deadline {
        let incoming = tokio::time::timeout(WAIT, hunter.receive()).await.expect("alive");
        match incoming.expect("reading") {
            Incoming::Decoded => {
                if let Some(snapshot) = hunter.core.latest() {
                    let at = |id| snapshot.players.iter().find(|p| p.id == id);
                    if let (Some(a), Some(b)) = (at(me), at(prey)) {
                        aim = glam::Vec2::new((b.x - a.x) as f32, (b.y - a.y) as f32);
                    }
                }
                let toward = aim.normalize_or_zero();
                let cmd = InputCmd {
                    move_x: (toward.x * 127.0) as i8,
                    move_y: (toward.y * 127.0) as i8,
                    aim_x: aim.x.clamp(-30_000.0, 30_000.0) as i16,
                    aim_y: aim.y.clamp(-30_000.0, 30_000.0) as i16,
                    buttons: buttons::FIRE,
                    ..InputCmd::default()
                };
                hunter.play(cmd).await.expect("playing");
            }
            Incoming::Message(ServerMsg::Events { events, .. }) => {
                let killed = events.iter().any(|e| {
                    matches!(e, GameEvent::Killed { killer, victim } if *killer == me && *victim == prey)
                });
                if killed {
                    return;
                }
            }
            Incoming::Closed { code, reason } => panic!("closed {code}: {reason}"),
            _ => {}
        }
    }
    panic!("no kill within {within:?}");
}

#[tokio::test]
async fn kills_reach_the_leaderboard_and_names_are_remembered() {
    // A small open map: the two players start in range of each other.
    let maps = TempDir(std::env::temp_dir().join(format!("skirmish-duel-{}", std::process::id())));
    std::fs::create_dir_all(&maps.0).expect("map dir");
    let duel = r#"{"id":"duel","width":640,"height":400,"spawns":[[100,200],[540,200]]}"#;
    std::fs::write(maps.0.join("duel.json"), duel).expect("map");
    let mut config = test_config();
    config.map = maps.0.join("duel.json");
    let server = TestServer::start_with(config).await;
    let url = server.ws_url();
    let (ada_token, bob_token) = (token(&url).await, token(&url).await);
    let seat = lobby::quick_play(&url, &ada_token).await.expect("a seat");
    let mut ada = take(&url, &ada_token, "Ada", &seat).await;
    let bob_seat = lobby::quick_play(&url, &bob_token).await.expect("a seat");
    let mut bob = take(&url, &bob_token, "Bob", &bob_seat).await;
    let bob_id = bob.welcome.player_id;
    let bob_reads = tokio::spawn(async move { while bob.receive().await.is_ok() {} });
    hunt(&mut ada, bob_id, Duration::from_secs(20)).await;

    // The writer batches; the board shows the kill within moments.
    let deadline = Instant::now() + WAIT;
    let board = loop {
        let (status, json) = get_json(server.addr, "/api/leaderboard?period=week", "").await;
        assert_eq!(status, 200, "{json}");
        if json["entries"][0]["kills"].as_u64().unwrap_or(0) >= 1 {
            break json;
        }
        assert!(Instant::now() < deadline, "the kill reaches the leaderboard: {json}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(board["entries"][0]["name"], "Ada", "{board}");
    assert_eq!(board["entries"][0]["rank"], 1, "{board}");
    let cookie = format!("Cookie: skirmish_session={bob_token}\r\n");
    let (status, me) = get_json(server.addr, "/api/me", &cookie).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["name"].as_str(), me["deaths"].as_u64()), (Some("Bob"), Some(1)), "{me}");
    let (status, nobody) = get_json(server.addr, "/api/me", "").await;
    assert_eq!((status, &nobody["player"]), (200, &serde_json::Value::Null), "no session: nobody");
    let (status, _) = get_json(server.addr, "/api/leaderboard?period=year", "").await;
    assert_eq!(status, 400, "unknown periods are refused");
    assert!(metric(server.addr, "skirmish_store_written_total").await >= 3.0, "names and the kill");
    assert_eq!(metric(server.addr, "skirmish_store_overflow_total").await, 0.0);
    bob_reads.abort();
    drop(ada);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_thousand_rooms_made_and_left_leave_nothing_behind() {
    let server = ProcessServer::start(&["--room-idle-secs", "0", "--max-rooms", "64"]);
    let url = server.ws_url();
    // One player per lane: a player holds one reservation at a time.
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(token(&url).await);
    }
    let spec = NewRoom { title: "Brief", map: "arena", capacity: 2, public: true };
    let cycle = |n: usize| {
        let (url, token, spec) = (url.clone(), tokens[n % 20].clone(), spec.clone());
        async move {
            let seat = lobby::create(&url, &token, &spec).await.expect("created");
            let player = take(&url, &token, &format!("p{n}"), &seat).await;
            player.close().await.expect("a clean leave frees the seat at once");
        }
    };
    let addr = server.addr;
    let quiet = |label: &'static str| async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        while metric(addr, "skirmish_rooms").await > 0.0 {
            assert!(Instant::now() < deadline, "{label}: idle rooms close");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Quiet {
            heap: metric(addr, "skirmish_heap_live_bytes").await,
            rss: metric(addr, "process_resident_memory_bytes").await,
            tasks: metric(addr, "skirmish_tasks").await,
        }
    };
    // Batches of 20, each started once the idle rooms of the last ones have closed enough to
    // stay under `--max-rooms`.
    let batch = |first: usize| {
        let cycle = &cycle;
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while metric(addr, "skirmish_rooms").await > 40.0 {
                assert!(Instant::now() < deadline, "idle rooms close");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            futures_util::future::join_all((first..first + 20).map(cycle)).await;
        }
    };
    // What one open room holds, to size the bound below: 20 rooms with a player each.
    let before = quiet("before").await;
    let seats = futures_util::future::join_all((0..20).map(|n| {
        let (url, token, spec) = (url.clone(), tokens[n].clone(), spec.clone());
        async move {
            let seat = lobby::create(&url, &token, &spec).await.expect("created");
            take(&url, &token, &format!("open{n}"), &seat).await
        }
    }))
    .await;
    let per_room = (metric(addr, "skirmish_heap_live_bytes").await - before.heap) / 20.0;
    for player in seats {
        player.close().await.expect("left");
    }
    // A quiet point after every hundred rooms. Judged on the live heap, which moves only when
    // something is kept (RSS also follows the allocator's pools and the machine's load: +5.6 %
    // on a busy CI machine with no leak), as a trend: the median of the last three points
    // against the median of the three after warm-up.
    let mut points = Vec::new();
    for hundred in 0..10 {
        for n in 0..5 {
            batch(hundred * 100 + n * 20).await;
        }
        points.push(quiet("after a hundred").await);
    }
    let median = |part: &[Quiet], field: fn(&Quiet) -> f64| {
        let mut values: Vec<f64> = part.iter().map(field).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (early, late) = (&points[1..4], &points[7..10]);
    let heap_growth = median(late, |q| q.heap) - median(early, |q| q.heap);
    let rss_growth = median(late, |q| q.rss) - median(early, |q| q.rss);
    let tasks: Vec<f64> = points.iter().map(|p| p.tasks).collect();
    println!(
        "1000 rooms made and left: an open room holds {:.1} KB of heap; quiet heap {:.2} MB {:+.1} KB over the last 600 rooms ({:+.0} B per room), quiet RSS {:.1} MB {:+.1} MB; heap points {:?} KB, tasks {tasks:?}",
        per_room / 1e3,
        median(early, |q| q.heap) / 1e6,
        heap_growth / 1e3,
        heap_growth / 600.0,
        median(early, |q| q.rss) / 1e6,
        rss_growth / 1e6,
        points.iter().map(|q| (q.heap / 1e3).round()).collect::<Vec<_>>(),
    );
    // One point may catch a task still finishing (a closing room, the test's own request);
    // a leaked task stays in every later point.
    assert_eq!(
        median(late, |q| q.tasks),
        median(early, |q| q.tasks),
        "every room's task ended: {tasks:?}"
    );
    assert!(per_room > 0.0, "the heap figure is counted: {per_room}");
    // Keeping 1 % of each room would be 600 × per_room / 100; allow a quarter of that.
    assert!(
        heap_growth < 1.5 * per_room,
        "the live heap is flat: {:+.1} KB over 600 rooms, an open room holds {:.1} KB",
        heap_growth / 1e3,
        per_room / 1e3
    );
}

/// What the server holds once every room has closed.
struct Quiet {
    heap: f64,
    rss: f64,
    tasks: f64,
}

#[tokio::test]
async fn quick_playing_bots_fill_rooms_in_turn() {
    let mut config = test_config();
    config.max_players = 4;
    let server = TestServer::start_with(config).await;
    let run = tokio::spawn(bots::run::run(bots::run::RunConfig {
        url: server.ws_url(),
        count: 10,
        duration: Duration::from_secs(4),
        ramp_per_s: 20.0,
        behavior: bots::behavior::Behavior::Wander,
        seed: 5,
        input_hz: Some(20),
        churn_per_min: 0.0,
        storm_at: None,
        progress: false,
        scrape_server: false,
        full_netcode: 0,
        placement: bots::run::Placement::QuickPlay,
        spectators: 0,
    }));
    // Ten bots joining one after another into rooms of four: 4, 4 and 2.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, json) = get_json(server.addr, "/api/rooms", "").await;
    let mut players: Vec<u64> = json["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|room| room["players"].as_u64().unwrap_or(0))
        .collect();
    players.sort_unstable();
    assert_eq!(players, [2, 4, 4], "rooms fill before new ones open: {json}");
    let report = run.await.expect("run task").expect("the run completes");
    assert_eq!((report.connected, report.failed, report.dropped), (10, 0, 0));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_private_room_code_never_reaches_the_info_log() {
    let dir = TempDir(std::env::temp_dir().join(format!("skirmish-log-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("log dir");
    let log = dir.0.join("server.log");
    let server = ProcessServer::start_logging(&["--room-idle-secs", "0"], Some(&log));
    let url = server.ws_url();
    let token = token(&url).await;
    let spec = NewRoom { title: "Hidden", map: "arena", capacity: 2, public: false };
    let seat = lobby::create(&url, &token, &spec).await.expect("created");
    let player = take(&url, &token, "Ada", &seat).await;
    let (_, metrics) = crate::harness::http_get(server.addr, "/metrics", "").await;
    assert!(metrics.contains("room=\"private-"), "the room is in /metrics by its label");
    player.close().await.expect("leaves");
    // Opened, joined, left and closed (idle): every line about it is written by now.
    let deadline = Instant::now() + WAIT;
    while metric(server.addr, "skirmish_rooms").await > 0.0 {
        assert!(Instant::now() < deadline, "the room closes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(text.contains("room opened") && text.contains("room closed"), "info lines: {text}");
    assert!(!text.contains(&seat.room.id), "the code is not logged:\n{text}");
    assert!(!metrics.contains(&seat.room.id), "nor in /metrics");
}
