//! Heartbeats and listings: what processes see of each other, expiry, Redis going away.

use std::time::{Duration, Instant};

use cluster::{CALL_TIMEOUT, ProcessInfo, ReserveError, RoomEntry};

use crate::fixtures::{
    SEAT_TTL, TTL, private, process, process_ids, publish, room, room_codes, strings,
};
use crate::harness::TestRedis;

/// Two processes publish; each sees both and every room, private ones included; a room left
/// out of the next heartbeat is gone at once, with its reservations.
pub(crate) async fn two_processes_see_each_other_and_a_dropped_room_leaves_at_once() {
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    let process_a = process("a", 3, 100);
    let a_rooms = vec![room("a1", "a", 1, 8), private("a2", "a", 2, 8)];
    publish(&a, &process_a, &a_rooms).await;
    publish(&b, &process("b", 0, 100), &[room("b1", "b", 0, 8)]).await;

    for (name, directory) in [("a", &a), ("b", &b)] {
        assert_eq!(process_ids(directory).await, strings(&["a", "b"]), "{name} sees both");
        assert_eq!(room_codes(directory).await, strings(&["a1", "a2", "b1"]), "{name}'s rooms");
    }
    let listed = b.processes().await.expect("listing");
    assert!(listed.contains(&process_a), "the process as published: {listed:?}");
    assert_eq!(b.room("a2").await.expect("reading"), Some(a_rooms[1].clone()), "a2 as published");
    assert_eq!(b.room("nope").await.expect("reading"), None, "an unknown code");

    // A seat in a1, then a1 closes: the next heartbeat leaves it out.
    b.reserve("a1", "player-1", SEAT_TTL).await.expect("a seat in a1");
    publish(&a, &process_a, &a_rooms[1..]).await;
    assert_eq!(room_codes(&b).await, strings(&["a2", "b1"]), "a1 left at the heartbeat");
    assert_eq!(b.room("a1").await.expect("reading"), None, "a1 cannot be read");
    let refused = b.reserve("a1", "player-2", SEAT_TTL).await;
    assert!(matches!(refused, Err(ReserveError::NoSuchRoom)), "a1 takes nobody: {refused:?}");

    // A heartbeat with no rooms: the process stays, its rooms go; b's are untouched.
    publish(&a, &process_a, &[]).await;
    assert_eq!(room_codes(&a).await, strings(&["b1"]), "only b's room is left");
    assert_eq!(process_ids(&a).await, strings(&["a", "b"]), "a is still listed");

    // The room's `process` field does not matter: publish files rooms under the publisher.
    publish(&a, &process_a, &[room("a3", "someone-else", 0, 8)]).await;
    let a3 = a.room("a3").await.expect("reading").expect("a3 is listed");
    assert_eq!(a3.process, "a", "a3 is filed under its publisher");

    let stats = a.stats();
    assert_eq!((stats.heartbeats_ok, stats.heartbeats_failed), (4, 0), "{stats:?}");
    assert_eq!(b.stats().reservations_granted, 1, "b's one seat: {:?}", b.stats());
    assert_eq!(b.stats().reservations_refused, 1, "b's refusal: {:?}", b.stats());
}

/// A process that stops heartbeating leaves the listings within its ttl, by expiry alone,
/// and quick play stops offering its rooms.
pub(crate) async fn a_silent_process_vanishes_within_its_ttl() {
    const SHORT: Duration = Duration::from_secs(1);
    let redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    publish(&b, &process("steady", 0, 100), &[room("calm", "steady", 1, 8)]).await;
    let published = Instant::now();
    let fading = room("busy", "fading", 6, 8);
    a.publish(&process("fading", 6, 100), std::slice::from_ref(&fading), SHORT)
        .await
        .expect("publishing with a short ttl");

    let offered = b.quick_play("early", SEAT_TTL).await.expect("quick play").expect("a room");
    assert_eq!(offered.0, fading, "before expiry, the fuller room on `fading` comes first");
    b.release(&offered.0.code, &offered.1.ticket).await.expect("giving the seat back");

    tokio::time::sleep(SHORT / 2).await;
    assert_eq!(process_ids(&b).await, strings(&["fading", "steady"]), "alive at half its ttl");
    let gone = loop {
        let processes: Vec<ProcessInfo> = b.processes().await.expect("listing");
        let rooms: Vec<RoomEntry> = b.rooms().await.expect("listing");
        if processes.iter().all(|p| p.id != "fading") && rooms.iter().all(|r| r.code != "busy") {
            break published.elapsed();
        }
        assert!(published.elapsed() < SHORT * 3, "still listed after 3 s: {processes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Expiry is by Redis's clock from the moment the script ran, a little after `published`.
    // The slack covers the 20 ms polling and one listing call on a busy machine.
    assert!(gone <= SHORT + Duration::from_millis(300), "gone after {gone:?}, ttl {SHORT:?}");
    assert_eq!(process_ids(&b).await, strings(&["steady"]), "the live process remains");
    assert_eq!(room_codes(&b).await, strings(&["calm"]), "its room too");
    assert_eq!(b.room("busy").await.expect("reading"), None, "busy cannot be read");

    let offered = b.quick_play("late", SEAT_TTL).await.expect("quick play").expect("a room");
    assert_eq!(offered.0.code, "calm", "after expiry quick play offers the live process's room");
    let refused = b.reserve("busy", "late-2", SEAT_TTL).await;
    assert!(matches!(refused, Err(ReserveError::NoSuchRoom)), "busy is gone: {refused:?}");
}

/// Redis is killed and a new, empty one starts on the same port: calls in between fail fast;
/// afterwards the next heartbeats succeed by themselves and the directory is whole again.
/// Reservations made before are gone.
pub(crate) async fn redis_restart_is_survived_and_outages_fail_fast() {
    let mut redis = TestRedis::start();
    let (a, b) = (redis.directory().await, redis.directory().await);
    let (process_a, process_b) = (process("a", 1, 100), process("b", 0, 100));
    let (a_rooms, b_rooms) = (vec![room("a1", "a", 1, 8)], vec![room("b1", "b", 0, 2)]);
    publish(&a, &process_a, &a_rooms).await;
    publish(&b, &process_b, &b_rooms).await;
    let before = a.reserve("b1", "player", SEAT_TTL).await.expect("a seat before the outage");

    redis.kill();
    let limit = Duration::from_secs(2);
    for attempt in 0..3 {
        let started = Instant::now();
        let published = a.publish(&process_a, &a_rooms, TTL).await;
        let listed = b.rooms().await;
        let reserved = b.reserve("a1", "other", SEAT_TTL).await;
        let claimed = b.claim("b1", &before.ticket).await;
        let elapsed = started.elapsed();
        assert!(published.is_err(), "publish fails while redis is down (attempt {attempt})");
        assert!(listed.is_err(), "rooms() fails while redis is down: {listed:?}");
        assert!(matches!(reserved, Err(ReserveError::Directory(_))), "{reserved:?}");
        assert!(claimed.is_err(), "claim fails while redis is down: {claimed:?}");
        // Four calls, each bounded on its own.
        assert!(elapsed < limit * 4, "four failing calls took {elapsed:?}");
    }
    let started = Instant::now();
    let failed = a.processes().await;
    let elapsed = started.elapsed();
    assert!(failed.is_err() && elapsed < limit, "one failing call took {elapsed:?}");
    assert!(CALL_TIMEOUT < limit, "the documented bound is below the test's");
    let stats = a.stats();
    assert_eq!(stats.heartbeats_failed, 3, "the failed heartbeats are counted: {stats:?}");
    assert!(stats.redis_errors >= 4, "and the redis errors: {stats:?}");

    // Long enough for the reconnect each failed call started to have given up too, so the
    // connection the next call finds is a failed one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.start_again();
    let started = Instant::now();
    a.publish(&process_a, &a_rooms, TTL).await.expect("a's first heartbeat after the restart");
    b.publish(&process_b, &b_rooms, TTL).await.expect("b's first heartbeat after the restart");
    let reconnected = started.elapsed();
    assert!(reconnected < limit, "both heartbeats reconnected in {reconnected:?}");
    for (name, directory) in [("a", &a), ("b", &b)] {
        assert_eq!(process_ids(directory).await, strings(&["a", "b"]), "{name}: processes back");
        assert_eq!(room_codes(directory).await, strings(&["a1", "b1"]), "{name}: rooms back");
    }
    assert!(!b.claim("b1", &before.ticket).await.expect("claiming"), "the old ticket is gone");
    // The new Redis knows nothing of the old seat: b1's two seats are both free.
    b.reserve("b1", "one", SEAT_TTL).await.expect("a first seat");
    b.reserve("b1", "two", SEAT_TTL).await.expect("a second seat");
}
