//! Reservations, claims, quick play and the least loaded process.

use std::time::Duration;

use cluster::{Directory, ReserveError};

use crate::fixtures::{SEAT_TTL, draining, private, process, publish, room};
use crate::harness::TestRedis;

/// `reserve` must refuse: the room is full.
async fn assert_full(directory: &Directory, code: &str, holder: &str, why: &str) {
    let result = directory.reserve(code, holder, SEAT_TTL).await;
    assert!(matches!(result, Err(ReserveError::Full)), "{why}: {result:?}");
}

/// 50 reservations at once, from two processes, for a room with one free seat: exactly one
/// wins, the rest are told the room is full.
pub(crate) async fn one_free_seat_goes_to_exactly_one_of_fifty() {
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    publish(&a, &process("a", 3, 100), &[room("last-seat", "a", 3, 4)]).await;
    let attempts: Vec<_> = (0..50)
        .map(|i| {
            let directory = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                directory.reserve("last-seat", &format!("player-{i}"), SEAT_TTL).await
            })
        })
        .collect();
    let mut granted = Vec::new();
    for attempt in attempts {
        match attempt.await.expect("a reservation task panicked") {
            Ok(reservation) => granted.push(reservation),
            Err(ReserveError::Full) => {}
            Err(other) => panic!("only `Full` may refuse: {other:?}"),
        }
    }
    assert_eq!(granted.len(), 1, "exactly one seat granted: {granted:?}");
    let ticket = &granted[0].ticket;
    assert!(ticket.len() == 32 && ticket.bytes().all(|b| b.is_ascii_hexdigit()), "{ticket}");
    assert_eq!(granted[0].expires_in, SEAT_TTL, "the ttl asked for");
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.reservations_granted + sb.reservations_granted, 1, "{sa:?} {sb:?}");
    assert_eq!(sa.reservations_refused + sb.reservations_refused, 49, "{sa:?} {sb:?}");
    assert_full(&b, "last-seat", "late", "still full afterwards").await;
}

/// A reservation that lapses gives its seat back without anyone releasing it.
pub(crate) async fn an_expired_reservation_frees_its_seat() {
    const SHORT: Duration = Duration::from_millis(300);
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    publish(&a, &process("a", 1, 100), &[room("duo", "a", 1, 2)]).await;
    let first = a.reserve("duo", "first", SHORT).await.expect("the free seat");
    assert_full(&b, "duo", "second", "the seat is held").await;
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    b.reserve("duo", "second", SEAT_TTL).await.expect("the lapsed seat is free again");
    assert!(!a.claim("duo", &first.ticket).await.expect("claiming"), "a lapsed ticket is refused");
}

/// One live reservation per holder across the cluster: asking again, in the same room or
/// another, through either process, gives the previous seat back.
pub(crate) async fn a_holder_has_one_live_reservation_in_the_cluster() {
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    publish(&a, &process("a", 0, 100), &[room("x", "a", 0, 1)]).await;
    publish(&b, &process("b", 0, 100), &[room("y", "b", 0, 1)]).await;

    let first = a.reserve("x", "holder", SEAT_TTL).await.expect("x's only seat");
    let again = b.reserve("x", "holder", SEAT_TTL).await.expect("asking again for the same room");
    assert_ne!(first.ticket, again.ticket, "a new ticket");
    assert!(!a.claim("x", &first.ticket).await.expect("claiming"), "the first ticket was given up");
    assert_full(&a, "x", "other", "x is held by holder's second reservation").await;

    b.reserve("y", "holder", SEAT_TTL).await.expect("a seat in y");
    a.reserve("x", "other", SEAT_TTL).await.expect("x was given back when holder moved to y");
    assert_full(&b, "y", "third", "y is held by holder").await;
}

/// A claimed ticket works once and keeps its seat past the ticket's ttl, even when its holder
/// reserves again, until it is released.
pub(crate) async fn a_claimed_seat_stays_taken_until_released() {
    const SHORT: Duration = Duration::from_millis(300);
    let redis = TestRedis::start();
    let (lobby, target) = (redis.directory().await, redis.directory().await);
    publish(&target, &process("t", 0, 100), &[room("pair", "t", 0, 2), room("far", "t", 0, 8)])
        .await;
    let one = lobby.reserve("pair", "one", SHORT).await.expect("first seat");
    let two = lobby.reserve("pair", "two", SHORT).await.expect("second seat");
    assert_full(&lobby, "pair", "three", "both seats held").await;

    assert!(!target.claim("far", &one.ticket).await.expect("claim"), "wrong room: refused");
    assert!(!target.claim("pair", "00ff").await.expect("claim"), "unknown ticket: refused");
    assert!(target.claim("pair", &one.ticket).await.expect("claim"), "a live ticket is claimed");
    assert!(!target.claim("pair", &one.ticket).await.expect("claim"), "but only once");

    // "one" asking for another seat does not give back a seat already claimed.
    lobby.reserve("far", "one", SEAT_TTL).await.expect("a seat elsewhere");
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    // "two" lapsed; the claimed seat did not.
    assert!(!target.claim("pair", &two.ticket).await.expect("claim"), "two's ticket lapsed");
    lobby.reserve("pair", "three", SEAT_TTL).await.expect("two's lapsed seat");
    assert_full(&lobby, "pair", "four", "the claimed seat and three's").await;

    target.release("pair", &one.ticket).await.expect("releasing the claimed seat");
    lobby.reserve("pair", "four", SEAT_TTL).await.expect("the released seat");
    target.release("pair", "unknown").await.expect("releasing an unknown ticket is harmless");
}

/// The heartbeat that counts a claimed seat's player releases the claim in the same step: the
/// room is full before (one player counted + one claim) and after (two players counted), and
/// the seat was never counted twice in between.
pub(crate) async fn a_heartbeat_counting_a_claimed_seat_releases_it() {
    let redis = TestRedis::start();
    let (lobby, target) = (redis.directory().await, redis.directory().await);
    let t = process("t", 1, 100);
    publish(&target, &t, &[room("pair", "t", 1, 2)]).await;
    let seat = lobby.reserve("pair", "one", SEAT_TTL).await.expect("the last seat");
    assert!(target.claim("pair", &seat.ticket).await.expect("claim"), "claimed");
    assert_full(&lobby, "pair", "two", "one player and one claim").await;
    let seated = [("pair".to_string(), seat.ticket.clone())];
    target
        .publish_seated(&t, &[room("pair", "t", 2, 2)], Duration::from_secs(5), &seated)
        .await
        .expect("a heartbeat counting the player");
    assert_full(&lobby, "pair", "two", "two players counted").await;
    // The claim is gone: with the player left, the seat is free at the next heartbeat.
    publish(&target, &t, &[room("pair", "t", 1, 2)]).await;
    lobby.reserve("pair", "two", SEAT_TTL).await.expect("the seat the player left");
}

/// Quick play offers the fullest public room with a free seat, counting reservations, on any
/// process; never full, private or draining processes' rooms; `None` once all are full.
pub(crate) async fn quick_play_fills_the_fullest_room_and_skips_what_it_must() {
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    let a_rooms = vec![
        room("half", "a", 2, 4),
        room("almost", "a", 3, 4),
        room("full", "a", 2, 2),
        private("secret", "a", 7, 8),
    ];
    publish(&a, &process("a", 14, 100), &a_rooms).await;
    publish(&b, &process("b", 1, 100), &[room("quiet", "b", 1, 4)]).await;
    let leaving = draining("leaving");
    publish(&b, &leaving, &[room("last-game", "leaving", 7, 8)]).await;

    let expected = ["almost", "half", "half", "quiet", "quiet", "quiet"];
    for (turn, code) in expected.iter().enumerate() {
        let directory = if turn % 2 == 0 { &a } else { &b };
        let (room, reservation) = directory
            .quick_play(&format!("player-{turn}"), SEAT_TTL)
            .await
            .expect("quick play")
            .unwrap_or_else(|| panic!("turn {turn}: no room offered, expected {code}"));
        assert_eq!(&room.code, code, "turn {turn}");
        assert_eq!(reservation.expires_in, SEAT_TTL, "turn {turn}");
    }
    let none = a.quick_play("one-too-many", SEAT_TTL).await.expect("quick play");
    assert_eq!(none, None, "every public room on a live, open process is full");
    // The rooms it skipped still had seats: they were skipped by rule, not by luck.
    a.reserve("secret", "by-code", SEAT_TTL).await.expect("a private room takes a code");
    a.reserve("last-game", "by-code-2", SEAT_TTL).await.expect("a draining room takes a code");

    // A holder who quick-plays again gives back the previous seat first.
    publish(&a, &process("a", 14, 100), &[room("fresh", "a", 0, 2)]).await;
    let first = a.quick_play("twice", SEAT_TTL).await.expect("quick play").expect("fresh");
    let second = a.quick_play("twice", SEAT_TTL).await.expect("quick play").expect("fresh");
    assert_eq!((first.0.code.as_str(), second.0.code.as_str()), ("fresh", "fresh"), "same room");
    a.reserve("fresh", "someone-else", SEAT_TTL).await.expect("one of fresh's seats is free");
}

/// New rooms go to the emptiest process relative to its capacity, never a draining or full
/// one.
pub(crate) async fn least_loaded_picks_the_emptiest_process_that_accepts_players() {
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    publish(&a, &process("big", 10, 100), &[]).await;
    publish(&b, &process("small", 5, 10), &[]).await;
    publish(&b, &draining("leaving"), &[]).await;
    let pick = a.least_loaded().await.expect("listing").map(|p| p.id);
    assert_eq!(pick.as_deref(), Some("big"), "10 % beats 50 %; the draining one is empty but out");

    publish(&a, &process("big", 90, 100), &[]).await;
    let pick = b.least_loaded().await.expect("listing").map(|p| p.id);
    assert_eq!(pick.as_deref(), Some("small"), "50 % beats 90 %");

    publish(&a, &process("big", 100, 100), &[]).await;
    publish(&b, &process("small", 10, 10), &[]).await;
    assert_eq!(a.least_loaded().await.expect("listing"), None, "everyone full or draining");
}
