//! The cases, each written once for both dialects (see `main.rs`).

use std::time::{Duration, Instant};

use store::{LeaderEntry, Period, PlayerKey, Profile, Record, Store};

use crate::harness::{TestDb, wait_write_error, wait_written};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const QUEUE: usize = 4096;
const FLUSH: Duration = Duration::from_secs(10);

fn key(n: u8) -> PlayerKey {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xa0;
    bytes[15] = n;
    PlayerKey(bytes)
}

fn seen(n: u8, name: &str, at: i64) -> Record {
    Record::Seen { player: key(n), name: name.to_string(), at }
}

fn kill(killer: u8, victim: u8, at: i64) -> Record {
    Record::Kill { killer: key(killer), victim: key(victim), at }
}

fn match_ended(n: u8, seconds: u32, best_streak: u32) -> Record {
    Record::MatchEnded { player: key(n), seconds, best_streak, at: NOW }
}

fn record_all(store: &Store, records: Vec<Record>) {
    for record in records {
        assert!(store.record(record), "the queue took the record: {:?}", store.stats());
    }
}

/// Records and waits until the writer has committed everything accepted so far.
async fn record_and_flush(store: &Store, records: Vec<Record>) {
    record_all(store, records);
    wait_written(store, store.stats().accepted, FLUSH).await;
}

async fn profile(store: &Store, n: u8) -> Profile {
    store.profile(key(n)).await.expect("reading a profile").expect("the profile exists")
}

/// `(key, name, kills, deaths)` of each line, in order, with ranks checked to be 1, 2, 3, …
fn lines(entries: &[LeaderEntry]) -> Vec<(String, &str, u64, u64)> {
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry.rank as usize, index + 1, "ranks count up from 1: {entries:?}");
    }
    entries
        .iter()
        .map(|entry| (entry.player.clone(), entry.name.as_str(), entry.kills, entry.deaths))
        .collect()
}

fn line(n: u8, name: &str, kills: u64, deaths: u64) -> (String, &str, u64, u64) {
    (key(n).to_string(), name, kills, deaths)
}

/// Career totals and both boards from one history, with kills on both sides of the 7-day
/// window (its bound is exclusive: `at > now - 7 days`).
pub(crate) async fn totals_and_both_boards(db: TestDb) {
    let store = db.open(QUEUE).await;
    let old = NOW - 8 * DAY;
    let edge = NOW - 7 * DAY;
    let mut records = vec![seen(1, "ann", old), seen(2, "bob", old), seen(3, "cy", old)];
    records.extend(vec![seen(4, "dee", old), seen(5, "eve", old)]);
    // Long ago: ann kills bob 5 times, bob kills cy once.
    records.extend((0..5).map(|i| kill(1, 2, old + i)));
    records.push(kill(2, 3, old));
    // Exactly 7 days ago: counts all-time only.
    records.push(kill(3, 1, edge));
    // This week: bob 3 kills (cy, dee, dee), cy 3 kills (ann twice, eve) and one death,
    // dee 1 kill, eve none.
    records.extend(vec![kill(2, 3, NOW - DAY), kill(2, 4, NOW - 10), kill(2, 4, NOW)]);
    records.extend(vec![kill(3, 1, edge + 1), kill(3, 1, NOW - 5), kill(3, 5, NOW)]);
    records.push(kill(4, 5, NOW - 3));
    records.push(match_ended(1, 300, 5));
    record_and_flush(&store, records).await;

    assert_eq!(
        profile(&store, 1).await,
        Profile {
            player: key(1).to_string(),
            name: "ann".into(),
            kills: 5,
            deaths: 3,
            matches: 1,
            best_streak: 5,
            seconds_played: 300,
        },
        "ann's career"
    );
    let bob = profile(&store, 2).await;
    assert_eq!((bob.kills, bob.deaths, bob.matches), (4, 5, 0), "bob's career");
    assert_eq!(store.profile(key(99)).await.expect("reading"), None, "an unknown key");

    let all_time = store.leaderboard(Period::AllTime, NOW, 10).await.expect("all-time board");
    assert_eq!(
        lines(&all_time),
        vec![
            line(1, "ann", 5, 3),
            // bob and cy: 4 kills each; cy died twice, bob five times.
            line(3, "cy", 4, 2),
            line(2, "bob", 4, 5),
            line(4, "dee", 1, 2),
        ],
        "all-time board (eve has no kill and is left out)"
    );
    let week = store.leaderboard(Period::LastDays(7), NOW, 10).await.expect("7-day board");
    assert_eq!(
        lines(&week),
        vec![
            // cy and bob: 3 kills each this week; cy died once (bob, a day ago), bob never.
            line(2, "bob", 3, 0),
            line(3, "cy", 3, 1),
            line(4, "dee", 1, 2),
        ],
        "7-day board: ann's old kills and the kill exactly 7 days ago do not count"
    );
    let top_two = store.leaderboard(Period::LastDays(7), NOW, 2).await.expect("limited board");
    assert_eq!(lines(&top_two), lines(&week)[..2].to_vec(), "the limit keeps the top lines");
    // One day back from 20 s after NOW: kills at NOW - 20 or earlier fall out.
    let later = store.leaderboard(Period::LastDays(1), NOW + DAY - 20, 10).await.expect("board");
    assert_eq!(
        lines(&later),
        vec![line(2, "bob", 2, 0), line(3, "cy", 2, 0), line(4, "dee", 1, 2)],
        "the last 20 s only; bob and cy tie, so the name decides"
    );
    assert_eq!(store.close(FLUSH).await, 0, "nothing lost");
}

/// `best_streak` keeps the best match across separate transactions; the last name wins.
pub(crate) async fn best_streak_is_a_maximum_and_names_update(db: TestDb) {
    let store = db.open(QUEUE).await;
    // Each flush ends a transaction, so the maximum is taken by the database, not the batch.
    for (streak, name) in [(3, "first"), (7, "second"), (2, "third")] {
        record_and_flush(&store, vec![seen(1, name, NOW), match_ended(1, 60, streak)]).await;
    }
    let ann = profile(&store, 1).await;
    assert_eq!(ann.best_streak, 7, "the best of 3, 7 and 2: {ann:?}");
    assert_eq!(ann.matches, 3, "three matches: {ann:?}");
    assert_eq!(ann.seconds_played, 180, "three minutes: {ann:?}");
    assert_eq!(ann.name, "third", "the last name used");
    record_and_flush(&store, vec![kill(1, 2, NOW), seen(1, "fourth", NOW)]).await;
    let board = store.leaderboard(Period::AllTime, NOW, 10).await.expect("board");
    assert_eq!(lines(&board), vec![line(1, "fourth", 1, 0)], "the board shows the new name");
    assert_eq!(store.close(FLUSH).await, 0, "nothing lost");
}

/// Kills and matches of players with no `Seen` create them (empty name); a later `Seen` names
/// them and keeps their totals.
pub(crate) async fn players_never_seen_still_count(db: TestDb) {
    let store = db.open(QUEUE).await;
    record_and_flush(&store, vec![kill(1, 2, NOW), kill(1, 2, NOW), match_ended(3, 90, 4)]).await;
    let killer = profile(&store, 1).await;
    assert_eq!((killer.name.as_str(), killer.kills), ("", 2), "unseen killer: {killer:?}");
    let victim = profile(&store, 2).await;
    assert_eq!((victim.name.as_str(), victim.deaths), ("", 2), "unseen victim: {victim:?}");
    let player = profile(&store, 3).await;
    assert_eq!((player.matches, player.best_streak), (1, 4), "unseen player's match");
    let board = store.leaderboard(Period::LastDays(7), NOW, 10).await.expect("board");
    assert_eq!(lines(&board), vec![line(1, "", 2, 0)], "an unnamed player is ranked");
    record_and_flush(&store, vec![seen(1, "late", NOW + 1)]).await;
    let named = profile(&store, 1).await;
    assert_eq!((named.name.as_str(), named.kills), ("late", 2), "named later, totals kept");
    // A later batch that only names the player as killer and victim keeps the name.
    record_and_flush(&store, vec![kill(1, 2, NOW + 2), kill(2, 1, NOW + 3)]).await;
    let still = profile(&store, 1).await;
    assert_eq!((still.name.as_str(), still.kills, still.deaths), ("late", 3, 1), "{still:?}");
    assert_eq!(store.close(FLUSH).await, 0, "nothing lost");
}

/// Eight threads record at once (as several rooms would); every record lands exactly once.
pub(crate) async fn concurrent_records_all_land(db: TestDb) {
    let store = db.open(QUEUE).await;
    const THREADS: u8 = 8;
    const KILLS_EACH: u64 = 250;
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.record(seen(thread, &format!("t{thread}"), NOW));
                // Each thread's player kills the next thread's player.
                for i in 0..KILLS_EACH {
                    assert!(store.record(kill(thread, (thread + 1) % THREADS, NOW - i as i64)));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a recording thread panicked");
    }
    let total = u64::from(THREADS) * (KILLS_EACH + 1);
    wait_written(&store, total, FLUSH).await;
    for thread in 0..THREADS {
        let player = profile(&store, thread).await;
        assert_eq!((player.kills, player.deaths), (KILLS_EACH, KILLS_EACH), "{player:?}");
    }
    let board = store.leaderboard(Period::LastDays(7), NOW, 100).await.expect("board");
    assert_eq!(board.len(), usize::from(THREADS), "every thread's player is on the board");
    assert!(board.iter().all(|entry| entry.kills == KILLS_EACH), "kill log complete: {board:?}");
    let stats = store.stats();
    assert_eq!((stats.accepted, stats.written, stats.overflow), (total, total, 0), "{stats:?}");
    assert_eq!(store.close(FLUSH).await, 0, "nothing lost");
}

/// With the database away and a queue of 4, `record` keeps returning at once, refuses what
/// does not fit and counts it; what it accepted is written once the database is back.
pub(crate) async fn overflow_is_counted_while_the_database_is_away(mut db: TestDb) {
    let store = db.open(4).await;
    db.interrupt().await;
    let started = Instant::now();
    let accepted = (0..50).filter(|i| store.record(kill(1, 2, NOW - i))).count() as u64;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(200), "50 records took {elapsed:?}: record blocked");
    let stats = store.stats();
    assert_eq!(stats.accepted, accepted, "accepted counts the true returns: {stats:?}");
    assert_eq!(stats.accepted + stats.overflow, 50, "every record accepted or overflowed");
    // The queue (4) plus at most one batch the writer took before it got stuck.
    assert!(accepted <= 8, "only what fits was accepted: {stats:?}");
    assert!(stats.written == 0, "nothing written while the database is away: {stats:?}");
    db.resume().await;
    wait_written(&store, accepted, Duration::from_secs(15)).await;
    let killer = profile(&store, 1).await;
    assert_eq!(killer.kills, accepted, "exactly the accepted kills were written: {killer:?}");
    assert_eq!(store.close(FLUSH).await, 0, "nothing accepted was lost");
}

/// The database goes away in the middle of play (PostgreSQL killed, SQLite locked past its
/// busy time-out) and comes back; the writer retries, and afterwards every total is exact.
pub(crate) async fn database_outage_mid_stream_loses_nothing(mut db: TestDb) {
    let store = db.open(QUEUE).await;
    let round = |from: i64, count: i64| (from..from + count).map(|i| kill(1, 2, NOW - i)).collect();
    record_and_flush(&store, vec![seen(1, "ann", NOW), seen(2, "bob", NOW)]).await;
    record_all(&store, round(0, 200));
    db.interrupt().await;
    record_all(&store, round(200, 300));
    wait_write_error(&store, Duration::from_secs(15)).await;
    record_all(&store, round(500, 50));
    db.resume().await;
    record_all(&store, round(550, 50));
    let lost = store.close(Duration::from_secs(15)).await;
    let stats = store.stats();
    assert_eq!(lost, 0, "nothing lost: {stats:?}");
    assert_eq!((stats.accepted, stats.written, stats.overflow), (602, 602, 0), "{stats:?}");
    assert!(stats.write_errors > 0, "the outage was seen: {stats:?}");
    // A fresh store reads what the old one wrote.
    let store = db.open(QUEUE).await;
    let ann = profile(&store, 1).await;
    let bob = profile(&store, 2).await;
    assert_eq!((ann.kills, bob.deaths), (600, 600), "every kill exactly once");
    let week = store.leaderboard(Period::LastDays(7), NOW, 10).await.expect("board");
    assert_eq!(lines(&week), vec![line(1, "ann", 600, 0)], "the kill log matches the totals");
    store.close(FLUSH).await;
}

/// `close` returns once everything accepted is committed; afterwards `record` refuses.
pub(crate) async fn close_writes_everything_accepted(db: TestDb) {
    let store = db.open(QUEUE).await;
    record_all(&store, (0..1000).map(|i| kill(1, 2, NOW - i)).collect());
    assert_eq!(store.close(FLUSH).await, 0, "nothing lost");
    let stats = store.stats();
    assert_eq!((stats.written, stats.pending), (1000, 0), "all written at close: {stats:?}");
    assert!(!store.record(kill(1, 2, NOW)), "a closed store refuses records");
    assert_eq!(store.stats().rejected, 1, "the refusal is counted");
    assert_eq!(store.close(FLUSH).await, 0, "closing twice is harmless");
    let reopened = db.open(QUEUE).await;
    assert_eq!(profile(&reopened, 1).await.kills, 1000, "the flushed kills are stored");
    reopened.close(FLUSH).await;
}

/// If the database stays away past the deadline, `close` gives up and says how many it lost.
pub(crate) async fn close_reports_what_it_could_not_write(mut db: TestDb) {
    let store = db.open(QUEUE).await;
    db.interrupt().await;
    record_all(&store, (0..10).map(|i| kill(1, 2, NOW - i)).collect());
    // Let the writer get stuck inside an attempt (SQLite's busy wait, PostgreSQL's reconnect):
    // the deadline must cut that attempt short too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let lost = store.close(Duration::from_secs(1)).await;
    let elapsed = started.elapsed();
    assert_eq!(lost, 10, "all ten records reported lost: {:?}", store.stats());
    assert_eq!(store.stats().lost, 10, "and counted");
    // The deadline, plus at most 2 s for the pool to close, plus slack.
    assert!(elapsed < Duration::from_millis(3500), "close kept its deadline: {elapsed:?}");
    db.resume().await;
}

/// Closing and opening again (a server restart) keeps everything; migrations run again
/// without harm. For SQLite that is the file `<data_dir>/skirmish.db`.
pub(crate) async fn data_survives_reopening(db: TestDb) {
    let store = db.open(QUEUE).await;
    record_all(&store, vec![seen(1, "ann", NOW), kill(1, 2, NOW), match_ended(1, 60, 1)]);
    assert_eq!(store.close(FLUSH).await, 0, "nothing lost");
    if db.backend() == "sqlite" {
        let file = db.config(QUEUE).data_dir.join(store::SQLITE_FILE);
        assert!(file.exists(), "the SQLite file is at {}", file.display());
    }
    let store = db.open(QUEUE).await;
    let ann = profile(&store, 1).await;
    assert_eq!((ann.name.as_str(), ann.kills, ann.matches), ("ann", 1, 1), "after reopening");
    record_and_flush(&store, vec![kill(1, 2, NOW + 1)]).await;
    assert_eq!(profile(&store, 1).await.kills, 2, "totals continue from the stored ones");
    store.close(FLUSH).await;
}
