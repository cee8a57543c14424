use super::*;

fn key(byte: u8) -> PlayerKey {
    PlayerKey([byte; 16])
}

#[test]
fn folds_totals_per_player_and_keeps_every_kill() {
    let records = [
        Record::Seen { player: key(1), name: "ann".into(), at: 100 },
        Record::Kill { killer: key(1), victim: key(2), at: 101 },
        Record::Kill { killer: key(1), victim: key(2), at: 102 },
        Record::Kill { killer: key(2), victim: key(1), at: 103 },
        Record::MatchEnded { player: key(1), seconds: 60, best_streak: 2, at: 104 },
        Record::MatchEnded { player: key(1), seconds: 30, best_streak: 1, at: 105 },
    ];
    let batch = Batch::fold(&records);
    let ann = &batch.players[&key(1)];
    assert_eq!((ann.kills, ann.deaths, ann.matches), (2, 1, 2), "ann's kills, deaths, matches");
    assert_eq!(ann.seconds_played, 90, "seconds add up");
    assert_eq!(ann.best_streak, 2, "best streak is the maximum, not the sum or the last");
    assert_eq!((ann.first_at, ann.last_at), (100, 105), "ann's time span");
    let bob = &batch.players[&key(2)];
    assert_eq!((bob.kills, bob.deaths, bob.matches), (1, 2, 0), "bob's totals");
    assert_eq!(bob.name, None, "bob was never seen: no name");
    assert_eq!(bob.first_at, 101, "bob first appears as a victim");
    assert_eq!(batch.kills.len(), 3, "every kill is logged");
    assert_eq!(batch.kills[2], KillRow { at: 103, killer: key(2), victim: key(1) }, "log order");
}

#[test]
fn last_seen_name_wins_and_time_span_ignores_order() {
    let records = [
        Record::Seen { player: key(3), name: "first".into(), at: 50 },
        Record::Seen { player: key(3), name: "second".into(), at: 40 },
    ];
    let batch = Batch::fold(&records);
    let change = &batch.players[&key(3)];
    assert_eq!(change.name.as_deref(), Some("second"), "the later record's name wins");
    assert_eq!(
        (change.first_at, change.last_at),
        (40, 50),
        "span from the smallest to the largest"
    );
    assert!(!change.changes_career(), "a Seen alone leaves the career alone");
}
