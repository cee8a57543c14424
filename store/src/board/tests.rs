use super::*;

fn row(player: &str, name: &str, kills: i64, deaths: i64) -> BoardRow {
    BoardRow { player: player.into(), name: name.into(), kills, deaths }
}

fn order(entries: &[LeaderEntry]) -> Vec<(u32, &str)> {
    entries.iter().map(|entry| (entry.rank, entry.player.as_str())).collect()
}

#[test]
fn kills_descending_then_deaths_ascending_then_name_then_key() {
    let rows = vec![
        row("k1", "zed", 3, 5),
        row("k2", "amy", 5, 9),
        row("k3", "bob", 3, 1),
        row("k4", "Zoe", 3, 5), // upper case sorts before lower case (byte order)
        row("k6", "zed", 3, 5), // same line as k1: the key decides
        row("k5", "nil", 0, 0),
    ];
    let entries = rank(rows);
    assert_eq!(
        order(&entries),
        vec![(1, "k2"), (2, "k3"), (3, "k4"), (4, "k1"), (5, "k6")],
        "ranking order: {entries:?}"
    );
}

#[test]
fn players_without_kills_are_left_out() {
    let entries = rank(vec![row("k1", "a", 0, 4), row("k2", "b", 1, 0)]);
    assert_eq!(order(&entries), vec![(1, "k2")], "zero-kill line dropped");
    assert_eq!((entries[0].kills, entries[0].deaths), (1, 0), "counts carried over");
}

#[test]
fn period_bounds() {
    assert_eq!(Period::AllTime.since(1_000_000), None, "all time has no bound");
    assert_eq!(Period::LastDays(7).since(1_000_000), Some(1_000_000 - 7 * 86_400), "7 days");
    assert_eq!(Period::LastDays(u32::MAX).since(i64::MIN + 5), Some(i64::MIN), "saturates");
}
