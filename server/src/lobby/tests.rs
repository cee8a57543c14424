use std::path::Path;
use std::sync::atomic::AtomicU32;

use super::*;

static STORES: AtomicU32 = AtomicU32::new(0);

async fn lobby_with(adjust: impl FnOnce(&mut ServerConfig)) -> Arc<Lobby> {
    let mut config = ServerConfig::defaults();
    config.max_players = 3;
    config.max_rooms = 4;
    config.room_idle_secs = 1;
    adjust(&mut config);
    let maps_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/maps/arena.json");
    let maps = Maps::load(&maps_dir).expect("maps");
    let n = STORES.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("skirmish-lobby-{}-{n}", std::process::id()));
    let store = Store::open(store::StoreConfig::sqlite_in(dir)).await.expect("store");
    Arc::new(Lobby::new(
        Arc::new(config),
        maps,
        Arc::new(Metrics::default()),
        store,
        CancellationToken::new(),
        TaskTracker::new(),
    ))
}

fn seat(lobby: &Lobby, id: &str, players: usize) {
    lobby.directory().rooms[id].handle.stats.players.store(players, Ordering::Relaxed);
}

#[tokio::test]
async fn quick_play_fills_the_fullest_room_before_opening_another() {
    let lobby = lobby_with(|_| {}).await;
    let first = lobby.quick_play("p1").expect("a room opens");
    assert!(first.room.public, "quick play opens public rooms");
    let second = lobby.quick_play("p2").expect("a seat");
    let third = lobby.quick_play("p3").expect("a seat");
    assert_eq!(second.room.id, first.room.id, "the open room fills first");
    assert_eq!(third.room.id, first.room.id, "three seats, three reservations");
    let fourth = lobby.quick_play("p4").expect("a new room");
    assert_ne!(fourth.room.id, first.room.id, "a full room makes quick play open another");
    assert_ne!(fourth.room.map, first.room.map, "the new room runs the next map");
    // Between two rooms with free seats, the one with more players wins.
    let other = lobby
        .create(
            NewRoom {
                title: "Busy".into(),
                map: "open".into(),
                capacity: 3,
                public: true,
                spectators_chat: false,
            },
            "p5",
        )
        .expect("created");
    seat(&lobby, &other.room.id, 1);
    let pick = lobby.quick_play("p6").expect("a seat");
    assert_eq!(pick.room.id, other.room.id, "1 seated + 1 reserved beats 1 reserved");
}

#[tokio::test]
async fn one_free_seat_goes_to_one_of_many_racing_players() {
    let lobby = lobby_with(|config| config.max_players = 8).await;
    let room = lobby
        .create(
            NewRoom {
                title: "Race".into(),
                map: "arena".into(),
                capacity: 8,
                public: true,
                spectators_chat: false,
            },
            "host",
        )
        .expect("created");
    seat(&lobby, &room.room.id, 6);
    // Host's reservation + 6 seated = 7 of 8: one seat left for 64 players asking at once.
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let lobby = lobby.clone();
            let id = room.room.id.clone();
            std::thread::spawn(move || lobby.join(&id, &format!("racer-{n}")))
        })
        .collect();
    let results: Vec<_> = tasks.into_iter().map(|t| t.join().expect("thread")).collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    let full = results.iter().filter(|r| **r == Err(LobbyError::Full)).count();
    assert_eq!((won, full), (1, 63), "exactly one racer gets the seat");
}

#[tokio::test]
async fn reservations_expire_and_free_their_seat() {
    let lobby = lobby_with(|config| config.max_players = 2).await;
    let room = lobby
        .create(
            NewRoom {
                title: "Duel".into(),
                map: "arena".into(),
                capacity: 2,
                public: false,
                spectators_chat: false,
            },
            "a",
        )
        .expect("created");
    lobby.join(&room.room.id, "b").expect("the second seat");
    assert_eq!(lobby.join(&room.room.id, "c"), Err(LobbyError::Full), "both seats reserved");
    lobby.reap(Instant::now() + RESERVATION_TTL + Duration::from_millis(1));
    lobby.join(&room.room.id, "c").expect("expired reservations free their seats");
    // An expired ticket is refused at the socket.
    let stale = lobby.admit(&room.room.id, Some(&room.ticket), false);
    assert!(matches!(stale, Err(LobbyError::BadTicket)), "the creator's ticket expired");
}

#[tokio::test]
async fn a_player_holds_one_reservation_at_a_time() {
    let lobby = lobby_with(|config| config.max_players = 2).await;
    let room = lobby
        .create(
            NewRoom {
                title: "Duel".into(),
                map: "arena".into(),
                capacity: 2,
                public: true,
                spectators_chat: false,
            },
            "a",
        )
        .expect("created");
    for _ in 0..5 {
        lobby.join(&room.room.id, "b").expect("asking again replaces b's seat");
    }
    assert_eq!(lobby.directory().rooms[&room.room.id].occupancy(Instant::now()), 2);
}

#[tokio::test]
async fn tickets_and_passes_hold_the_seat_until_dropped() {
    let lobby = lobby_with(|config| config.max_players = 2).await;
    let offer = lobby.quick_play("a").expect("a seat");
    let (_, pass) = lobby.admit(&offer.room.id, Some(&offer.ticket), false).expect("admitted");
    assert!(pass.is_some());
    assert!(
        lobby.admit(&offer.room.id, Some("0123456789abcdef0123456789abcdef"), false).is_err(),
        "a made-up ticket"
    );
    assert!(matches!(
        lobby.admit("nosuchroom", Some(&offer.ticket), false),
        Err(LobbyError::BadTicket)
    ));
    let occupancy =
        |lobby: &Lobby| lobby.directory().rooms[&offer.room.id].occupancy(Instant::now());
    assert_eq!(occupancy(&lobby), 1, "held while joining");
    drop(pass);
    assert_eq!(occupancy(&lobby), 0, "released once the room has answered");
}

#[tokio::test]
async fn private_rooms_are_unlisted_and_their_code_stays_out_of_labels() {
    let lobby = lobby_with(|_| {}).await;
    let secret = lobby
        .create(
            NewRoom {
                title: "Secret".into(),
                map: "corridors".into(),
                capacity: 2,
                public: false,
                spectators_chat: false,
            },
            "a",
        )
        .expect("created");
    let open = lobby.quick_play("b").expect("a public room");
    let listed: Vec<_> = lobby.listing().into_iter().map(|room| room.id).collect();
    assert_eq!(listed, std::slice::from_ref(&open.room.id), "only the public room is listed");
    assert_eq!(secret.room.id.len(), CODE_LEN);
    let labels: Vec<_> = lobby.stats().into_iter().map(|(label, _)| label).collect();
    assert!(labels.iter().all(|label| !label.contains(&secret.room.id)), "{labels:?}");
    assert!(labels.iter().any(|label| label.contains(&open.room.id)), "public ids are fine");
    assert_eq!(lobby.join("zzzzzzzzzz", "c"), Err(LobbyError::NoSuchRoom));
    assert_eq!(
        lobby.create(
            NewRoom {
                title: "x".into(),
                map: "moon".into(),
                capacity: 2,
                public: true,
                spectators_chat: false
            },
            "d"
        ),
        Err(LobbyError::UnknownMap("moon".into()))
    );
    assert_eq!(
        lobby.create(
            NewRoom {
                title: "x".into(),
                map: "open".into(),
                capacity: 9,
                public: true,
                spectators_chat: false
            },
            "d"
        ),
        Err(LobbyError::BadCapacity(3))
    );
}

#[tokio::test]
async fn idle_rooms_close_after_the_grace_period_and_stop_their_task() {
    let lobby = lobby_with(|_| {}).await;
    let offer = lobby.quick_play("a").expect("a room");
    let stop = lobby.directory().rooms[&offer.room.id].stop.clone();
    let now = Instant::now();
    assert_eq!(lobby.reap(now), 0, "a reserved seat keeps the room");
    let later = now + RESERVATION_TTL + Duration::from_millis(1);
    assert_eq!(lobby.reap(later), 0, "idle from now on");
    seat(&lobby, &offer.room.id, 1);
    assert_eq!(lobby.reap(later + Duration::from_secs(5)), 0, "a player keeps it open");
    seat(&lobby, &offer.room.id, 0);
    assert_eq!(lobby.reap(later + Duration::from_secs(6)), 0, "idle again: the grace starts over");
    assert_eq!(lobby.reap(later + Duration::from_millis(6_999)), 0, "within the grace");
    assert_eq!(lobby.reap(later + Duration::from_secs(7)), 1, "closed after a second idle");
    assert!(stop.is_cancelled(), "its task is told to stop");
    assert!(lobby.listing().is_empty());
    assert_eq!(lobby.join(&offer.room.id, "b"), Err(LobbyError::NoSuchRoom));
}

#[tokio::test]
async fn walk_ins_start_named_rooms_up_to_the_limit() {
    let lobby = lobby_with(|config| config.max_rooms = 2).await;
    let (_, pass) = lobby.admit("", None, false).expect("the default room");
    assert!(pass.is_some(), "a walk-in holds a seat while it joins");
    lobby.admit("bots-1", None, false).expect("a named room");
    assert!(matches!(lobby.admit("bots-2", None, false), Err(LobbyError::TooManyRooms)));
    let listed: Vec<_> = lobby.listing().into_iter().map(|room| room.id).collect();
    assert!(listed.contains(&DEFAULT_ROOM.to_string()) && listed.contains(&"bots-1".to_string()));
}

#[tokio::test]
async fn a_walk_in_cannot_revive_a_closed_private_room_as_a_public_one() {
    let lobby = lobby_with(|_| {}).await;
    assert!(
        matches!(lobby.admit("k3n8q2x7mp", None, false), Err(LobbyError::NoSuchRoom)),
        "a code-shaped name starts nothing"
    );
    assert!(lobby.listing().is_empty());
}

/// When a walk-in's join is answered, the room counts its seat and its reservation is gone:
/// a batch of joins is never counted twice (seated and reserved), which refused walk-ins to a
/// room with free seats when sessions were slow to wake.
#[tokio::test]
async fn an_answered_join_is_counted_once() {
    let lobby = lobby_with(|_| {}).await;
    let mut seated = Vec::new();
    for name in ["a", "b", "c"] {
        let (room, pass) = lobby.admit("hall", None, false).expect("a free seat is offered");
        assert!(pass.is_some(), "a walk-in holds a reservation while it joins");
        let pass = pass.map(|pass| Box::new(pass) as room::Hold);
        seated.push(room.join(name.into(), None, None, pass).await.expect("seated"));
        let directory = lobby.directory();
        let entry = &directory.rooms["hall"];
        assert_eq!(
            (entry.seated(), entry.seats.len()),
            (seated.len(), 0),
            "seated and no longer reserved once the room has answered"
        );
    }
    assert!(
        matches!(lobby.admit("hall", None, false), Err(LobbyError::Full)),
        "three seats, three players"
    );
}

#[tokio::test]
async fn a_room_opened_for_a_player_sent_here_is_never_seen_without_them() {
    let lobby = lobby_with(|_| {}).await;
    let code = fresh_cluster_code();
    let published = |lobby: &Lobby| {
        let rooms = lobby.all_rooms();
        rooms.iter().find(|room| room.id == code).map(|room| room.players)
    };
    assert_eq!(published(&lobby), None, "no room under the code before its player comes");
    let (room, pass) = lobby.admit_opening(&code).expect("the room opens with the seat");
    assert_eq!(published(&lobby), Some(1), "the cluster counts the player on the way in");
    let joined = room.join("first".into(), None, None, Some(Box::new(pass))).await;
    let _joined = joined.expect("seated");
    assert_eq!(published(&lobby), Some(1), "counted once seated, not twice");
    let (_, _second) = lobby.admit_opening(&code).expect("the same room, a second seat");
    assert_eq!(published(&lobby), Some(2), "a second player on the way in");
    let _third = lobby.admit("other", None, false).expect("a walk-in elsewhere");
    assert_eq!(published(&lobby), Some(2), "each room counts its own");
    let (_, _third) = lobby.admit_opening(&code).expect("the last seat");
    assert!(
        matches!(lobby.admit_opening(&code), Err(LobbyError::Full)),
        "three seats: the fourth player is refused"
    );
}
