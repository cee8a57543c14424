//! Three server processes and one Redis, all on 127.0.0.1 and started by the test: the lobby
//! of one process seats players on all three, a private room's code works from any process,
//! a killed process leaves the directory by expiry, a drained one sends its players through
//! the lobby to the others with its records written, and a Redis restart is survived with
//! rooms ticking on.
//!
//! Needs Debian's `redis-server` (`cargo xtask setup` installs it); without it the cases fail
//! and say so.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bots::behavior::Behavior;
use bots::client::BotClient;
use bots::lobby::{self, NewRoom};
use bots::run::{Placement, RunConfig, run};
use cluster::testing::TestRedis;
use shared::netcode::Fidelity;

use crate::harness::{ProcessServer, TempDir, WAIT, http_get};

/// How long a process's entries outlive its last heartbeat (the server's `node::TTL`).
const TTL: Duration = Duration::from_secs(5);

/// `count` processes named `p0`, `p1`, … in one cluster on `redis`, sharing one SQLite file
/// for profiles and the leaderboard, each with `extra` flags. Started one after the other,
/// each answering `/healthz` (its database migrated) before the next starts.
fn processes(
    redis: &TestRedis,
    data: &Path,
    count: usize,
    extra: &[&str],
    logs: &[Option<&Path>],
) -> Vec<ProcessServer> {
    let prefix = format!("skirmish-it-{}:", std::process::id());
    let database = format!("sqlite://{}", data.join("shared.db").display());
    (0..count)
        .map(|index| {
            let id = format!("p{index}");
            let mut flags = vec![
                "--redis-url",
                redis.url().leak(),
                "--cluster-prefix",
                prefix.clone().leak(),
                "--session-secret",
                "one secret for the whole cluster",
                "--process-id",
                id.leak(),
                "--database-url",
                database.clone().leak(),
            ];
            flags.extend_from_slice(extra);
            let server = ProcessServer::start_logging(&flags, logs.get(index).copied().flatten());
            wait_healthy(server.addr);
            server
        })
        .collect()
}

/// Waits until `/healthz` answers 200: the socket is bound before the process opens its
/// database and joins the cluster, and only then serves requests (the next process must not
/// migrate the shared database at the same time).
fn wait_healthy(addr: SocketAddr) {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + WAIT;
    let healthy = || -> std::io::Result<bool> {
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply.starts_with("HTTP/1.1 200"))
    };
    while !healthy().unwrap_or(false) {
        assert!(std::time::Instant::now() < deadline, "the process at {addr} answers /healthz");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, text) = http_get(addr, path, "").await;
    assert_eq!(status, 200, "GET {path}: {text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|err| panic!("GET {path}: {err}: {body}"))
}

/// The ids of the processes `/api/cluster` lists, sorted.
async fn listed(addr: SocketAddr) -> Vec<String> {
    let cluster = json(addr, "/api/cluster").await;
    let mut ids: Vec<String> = cluster["processes"]
        .as_array()
        .expect("a process list")
        .iter()
        .map(|process| process["id"].as_str().expect("an id").to_string())
        .collect();
    ids.sort();
    ids
}

/// Waits up to `limit` until `/api/cluster` on `addr` lists exactly `ids`.
async fn until_listed(addr: SocketAddr, ids: &[&str], limit: Duration) -> Duration {
    let start = tokio::time::Instant::now();
    loop {
        if listed(addr).await == ids {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{ids:?} listed within {limit:?}: {:?}",
            listed(addr).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn players(addr: SocketAddr) -> u64 {
    json(addr, "/healthz").await["players"].as_u64().expect("a player count")
}

fn bots(url: String, count: usize, secs: u64, ramp_per_s: f64, placement: Placement) -> RunConfig {
    RunConfig {
        url,
        count,
        duration: Duration::from_secs(secs),
        ramp_per_s,
        behavior: Behavior::Wander,
        seed: 7,
        input_hz: None,
        churn_per_min: 0.0,
        storm_at: None,
        progress: false,
        scrape_server: false,
        full_netcode: 0,
        placement,
        spectators: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_play_spreads_over_three_processes_and_a_code_works_from_any() {
    let redis = TestRedis::start();
    let data = TempDir(std::env::temp_dir().join(format!("skirmish-cl-{}-a", std::process::id())));
    std::fs::create_dir_all(&data.0).expect("data dir");
    let servers = processes(&redis, &data.0, 3, &["--max-players", "4"], &[]);
    let lobby_addr = servers[0].addr;
    until_listed(lobby_addr, &["p0", "p1", "p2"], WAIT).await;
    let rooms = json(lobby_addr, "/api/rooms").await;
    assert_eq!(rooms["process"], "p0", "the room list names its process: {rooms}");

    // 12 quick-playing bots through p0 only, joining three a second: each room (4 seats)
    // fills before the next opens, and a new room opens on the least loaded process.
    let lobby_url = servers[0].ws_url();
    let playing = tokio::spawn(run(bots(lobby_url.clone(), 12, 8, 3.0, Placement::QuickPlay)));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let counts = [
        players(servers[0].addr).await,
        players(servers[1].addr).await,
        players(servers[2].addr).await,
    ];
    let listing = json(lobby_addr, "/api/rooms").await;
    println!("cluster: players per process {counts:?}; rooms {listing}");
    assert_eq!(counts.iter().sum::<u64>(), 12, "every bot is seated somewhere: {counts:?}");
    assert!(counts.iter().all(|&n| n > 0), "bots landed on all three processes: {counts:?}");
    let public = listing["rooms"].as_array().expect("rooms");
    assert!(
        public.iter().all(|room| room["players"].as_u64() <= room["capacity"].as_u64()),
        "no room over capacity: {listing}"
    );
    let report = playing.await.expect("the bots' task").expect("the run completes");
    assert_eq!((report.failed, report.dropped), (0, 0), "nobody failed or dropped");

    // A private room on p2, joined by its code through p0's lobby and by its link's page.
    let (at_p2, at_p0) = (servers[2].ws_url(), servers[0].ws_url());
    let alice_token = bots::http::session_token(&at_p2).await.expect("a session on p2");
    let room = NewRoom { title: "Friends", map: "arena", capacity: 4, public: false };
    let seat = lobby::create(&at_p2, &alice_token, &room).await.expect("p2 creates the room");
    assert!(seat.ws_url.is_none(), "the creator plays where she asked");
    let alice =
        BotClient::connect_seat(&at_p2, &alice_token, "alice", &seat, WAIT, Fidelity::Light)
            .await
            .expect("alice takes her seat");
    let bob_token = bots::http::session_token(&at_p0).await.expect("a session on p0");
    let bob_seat =
        lobby::join(&at_p0, &bob_token, &seat.room.id).await.expect("the code works on p0");
    let routed = bob_seat.ws_url.clone().expect("p0 sends bob to p2");
    assert!(
        routed.starts_with(&format!("ws://{}/ws?join=", servers[2].addr)),
        "to p2's socket with a join ticket: {routed}"
    );
    let bob = BotClient::connect_seat(&at_p0, &bob_token, "bob", &bob_seat, WAIT, Fidelity::Light)
        .await
        .expect("bob joins alice's room on p2");
    assert!(
        bob.welcome.roster.iter().any(|entry| entry.name == "alice"),
        "bob is in alice's room: {:?}",
        bob.welcome.roster
    );
    // Bob's connection drops; he resumes at the same address (the join ticket still names him)
    // and finds his seat on p2.
    let token = bob.welcome.resume_token;
    let id = bob.welcome.player_id;
    bob.reset();
    let bob = BotClient::connect_as(
        &routed,
        "bob",
        &bob_seat.room.id,
        Some(token),
        WAIT,
        Fidelity::Light,
    )
    .await
    .expect("bob resumes on p2");
    assert!(bob.welcome.resumed && bob.welcome.player_id == id, "the same player, resumed");
    // The same join ticket cannot seat anyone again: its reservation was claimed.
    let again =
        BotClient::connect_seat(&at_p0, &bob_token, "eve", &bob_seat, WAIT, Fidelity::Light).await;
    assert!(again.is_err(), "a claimed reservation is spent");
    // A forged join ticket is refused at the handshake.
    let forged =
        format!("ws://{}/ws?join=j1.00.00.00.9999999999.{}", servers[2].addr, "ab".repeat(32));
    let forged_seat = lobby::Seat { ws_url: Some(forged), ..bob_seat.clone() };
    let refused =
        BotClient::connect_seat(&at_p0, "", "mallory", &forged_seat, WAIT, Fidelity::Light).await;
    assert!(refused.is_err(), "a forged ticket without a session is refused");
    // One free seat left (alice and bob hold two of three): twenty players racing for it from
    // two processes' lobbies at once; exactly one gets it.
    let small = NewRoom { title: "Three", map: "arena", capacity: 3, public: false };
    let trio = lobby::create(&at_p2, &alice_token, &small).await.expect("a room of three");
    let _alice_again =
        BotClient::connect_seat(&at_p2, &alice_token, "alice", &trio, WAIT, Fidelity::Light)
            .await
            .expect("alice takes her seat");
    let carol_token = bots::http::session_token(&at_p0).await.expect("a session");
    let carol_seat = lobby::join(&at_p0, &carol_token, &trio.room.id).await.expect("a seat");
    let _carol =
        BotClient::connect_seat(&at_p0, &carol_token, "carol", &carol_seat, WAIT, Fidelity::Light)
            .await
            .expect("carol takes hers");
    // Carol's claim is released by the heartbeat that counts her (within a second).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lobbies = [servers[0].ws_url(), servers[1].ws_url()];
    let mut racers = Vec::new();
    for index in 0..20 {
        let url = lobbies[index % 2].clone();
        let code = trio.room.id.clone();
        racers.push(tokio::spawn(async move {
            let token = bots::http::session_token(&url).await.expect("a session");
            lobby::join(&url, &token, &code).await.is_ok()
        }));
    }
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.expect("a racer"));
    }
    assert_eq!(winners, 1, "one last seat, one winner across two processes");
    drop((alice, bob));
}

/// Quick play as fast as players come: rooms opened on another process fill within
/// milliseconds, before any heartbeat, and every seat is counted from the moment its player
/// arrives, so a cluster filling up turns nobody away while a room anywhere has a free seat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_filling_fast_refuses_nobody() {
    let redis = TestRedis::start();
    let data = TempDir(std::env::temp_dir().join(format!("skirmish-cl-{}-c", std::process::id())));
    std::fs::create_dir_all(&data.0).expect("data dir");
    let servers = processes(&redis, &data.0, 2, &["--max-players", "4"], &[]);
    until_listed(servers[0].addr, &["p0", "p1"], WAIT).await;
    // 40 bots in one second through p0's lobby: ten rooms of four, about half of them opened
    // on p1 by the players p0 sends there, each filled well within a heartbeat.
    let report = run(bots(servers[0].ws_url(), 40, 4, 40.0, Placement::QuickPlay))
        .await
        .expect("the run completes");
    println!(
        "cluster: filling fast: {} connected, {} failed, refusals {:?}",
        report.connected, report.failed, report.refusals
    );
    assert!(report.refusals.is_empty(), "no seat refused: {:?}", report.refusals);
    assert_eq!(
        (report.connected, report.failed, report.dropped),
        (40, 0, 0),
        "everyone played: {:?}",
        report.first_failure
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_expires_a_drained_one_sends_players_elsewhere_and_redis_restarts() {
    let mut redis = TestRedis::start();
    let data = TempDir(std::env::temp_dir().join(format!("skirmish-cl-{}-b", std::process::id())));
    std::fs::create_dir_all(&data.0).expect("data dir");
    let drained_log = data.0.join("p1.log");
    let mut servers = processes(
        &redis,
        &data.0,
        3,
        &["--max-players", "3", "--drain-secs", "2", "--resume-grace-secs", "2"],
        &[None, Some(&drained_log), None],
    );
    let lobby_addr = servers[0].addr;
    until_listed(lobby_addr, &["p0", "p1", "p2"], WAIT).await;

    // kill -9: no goodbye; the directory forgets p2 by expiry, and quick play never offers it.
    servers[2].signal("KILL");
    let gone = until_listed(lobby_addr, &["p0", "p1"], TTL + Duration::from_secs(3)).await;
    println!("cluster: a killed process left the directory after {gone:?}");
    let token = bots::http::session_token(&servers[0].ws_url()).await.expect("a session");
    for _ in 0..4 {
        let seat = lobby::quick_play(&servers[0].ws_url(), &token).await.expect("a seat");
        let url = seat.game_url(&servers[0].ws_url());
        assert!(!url.contains(&servers[2].addr.to_string()), "never the dead process: {url}");
    }

    // Bots quick-play through p0 onto p0 and p1; p1 is drained mid-run.
    let playing = tokio::spawn(run(bots(servers[0].ws_url(), 6, 10, 3.0, Placement::QuickPlay)));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let on_p1 = players(servers[1].addr).await;
    assert!(on_p1 > 0, "some bots play on p1 before it drains");
    servers[1].signal("TERM");
    let status = tokio::task::spawn_blocking({
        let mut p1 = servers.remove(1);
        move || (p1.wait_exit(Duration::from_secs(10)), p1)
    })
    .await
    .expect("waiting for p1");
    assert!(status.0.is_some_and(|s| s.success()), "the drained process exits 0: {:?}", status.0);
    let report = playing.await.expect("the bots' task").expect("the run completes");
    println!(
        "cluster: drain: {on_p1} bots on p1, {} rejoined through the lobby; failed {}, dropped {}",
        report.rejoins, report.failed, report.dropped
    );
    assert!(report.rejoins >= on_p1, "every bot of p1 rejoined through the lobby");
    assert_eq!((report.failed, report.dropped), (0, 0), "nobody was lost");
    let log = std::fs::read_to_string(&drained_log).expect("p1's log");
    assert!(log.contains("draining"), "p1 drained:\n{log}");
    let closed =
        log.lines().find(|line| line.contains("store: closed")).expect("p1 closed its store");
    assert!(closed.contains("lost: 0"), "nothing accepted was lost: {closed}");
    until_listed(lobby_addr, &["p0"], TTL + Duration::from_secs(3)).await;

    // Redis restarted empty while a player plays: the room ticks on, and p0 is listed again
    // within a heartbeat or two of Redis coming back.
    let mut player = BotClient::connect_as(
        &servers[0].ws_url(),
        "steady",
        "steady",
        None,
        WAIT,
        Fidelity::Light,
    )
    .await
    .expect("a player joins");
    redis.kill();
    let outage = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut snapshots = 0;
    while tokio::time::Instant::now() < outage {
        if let Ok(Ok(bots::client::Incoming::Decoded)) =
            tokio::time::timeout(Duration::from_millis(200), player.receive()).await
        {
            snapshots += 1;
        }
    }
    assert!(snapshots >= 20, "the room ticked on with Redis down: {snapshots} snapshots in 2 s");
    redis.start_again();
    let back = until_listed(lobby_addr, &["p0"], Duration::from_secs(5)).await;
    println!("cluster: re-registered {back:?} after Redis came back");
    let seat =
        lobby::quick_play(&servers[0].ws_url(), &token).await.expect("quick play works again");
    assert!(seat.ws_url.is_none(), "on the only live process");
}
