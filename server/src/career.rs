//! What a room tells the store about its players: the name each plays under, every kill, and
//! each seat's match (how long, best kill streak). Pure bookkeeping over the simulation's
//! events; the room hands the records to `store::Store::record`, which never blocks a tick.
//! Players without a key (sockets opened with `--open-access` and no session) are not recorded.

use std::collections::HashMap;

use shared::ids::PlayerId;
use shared::protocol::GameEvent;
use shared::tick::Tick;
use store::{PlayerKey, Record};

struct Career {
    player: PlayerKey,
    seated_at: Tick,
    streak: u32,
    best_streak: u32,
}

/// The careers of one room's seats.
#[derive(Default)]
pub(crate) struct Careers {
    seats: HashMap<PlayerId, Career>,
}

impl Careers {
    /// A new seat: its player is seen under `name`.
    pub(crate) fn seated(
        &mut self,
        id: PlayerId,
        player: Option<PlayerKey>,
        name: &str,
        now: Tick,
        at: i64,
    ) -> Option<Record> {
        let player = player?;
        self.seats.insert(id, Career { player, seated_at: now, streak: 0, best_streak: 0 });
        Some(Record::Seen { player, name: name.to_string(), at })
    }

    /// Kills among this tick's events, with the streaks they make.
    pub(crate) fn kills(&mut self, events: &[GameEvent], at: i64, out: &mut Vec<Record>) {
        for event in events {
            let GameEvent::Killed { killer, victim } = event else { continue };
            if let Some(career) = self.seats.get_mut(victim) {
                career.streak = 0;
            }
            if killer == victim {
                continue;
            }
            let killer_key = self.seats.get_mut(killer).map(|career| {
                career.streak += 1;
                career.best_streak = career.best_streak.max(career.streak);
                career.player
            });
            let victim_key = self.seats.get(victim).map(|career| career.player);
            if let (Some(killer), Some(victim)) = (killer_key, victim_key) {
                out.push(Record::Kill { killer, victim, at });
            }
        }
    }

    /// A seat freed: the match it played.
    pub(crate) fn left(
        &mut self,
        id: PlayerId,
        now: Tick,
        tick_hz: u16,
        at: i64,
    ) -> Option<Record> {
        let career = self.seats.remove(&id)?;
        let ticks = now.0.saturating_sub(career.seated_at.0);
        Some(Record::MatchEnded {
            player: career.player,
            seconds: ticks / u32::from(tick_hz.max(1)),
            best_streak: career.best_streak,
            at,
        })
    }

    /// Every seat's match, when the room stops.
    pub(crate) fn all_left(&mut self, now: Tick, tick_hz: u16, at: i64) -> Vec<Record> {
        let ids: Vec<PlayerId> = self.seats.keys().copied().collect();
        ids.into_iter().filter_map(|id| self.left(id, now, tick_hz, at)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PlayerKey {
        PlayerKey([n; 16])
    }

    fn killed(killer: u32, victim: u32) -> GameEvent {
        GameEvent::Killed { killer: PlayerId(killer), victim: PlayerId(victim) }
    }

    #[test]
    fn kills_between_known_players_are_recorded_with_streaks() {
        let mut careers = Careers::default();
        assert!(careers.seated(PlayerId(1), Some(key(1)), "Ada", Tick(0), 100).is_some());
        assert!(careers.seated(PlayerId(2), Some(key(2)), "Bob", Tick(0), 100).is_some());
        assert!(careers.seated(PlayerId(3), None, "anon", Tick(0), 100).is_none(), "no key");
        let mut out = Vec::new();
        careers.kills(
            &[killed(1, 2), killed(1, 2), killed(1, 3), killed(2, 1), killed(1, 2)],
            7,
            &mut out,
        );
        let kills = out.iter().filter(|r| matches!(r, Record::Kill { .. })).count();
        assert_eq!(kills, 4, "the kill of an anonymous player is not recorded");
        let Some(Record::MatchEnded { best_streak, seconds, .. }) =
            careers.left(PlayerId(1), Tick(600), 60, 200)
        else {
            panic!("Ada's match ends");
        };
        assert_eq!(
            (best_streak, seconds),
            (3, 10),
            "three kills in a row (one of them anonymous), 600 ticks"
        );
        assert!(careers.left(PlayerId(1), Tick(600), 60, 200).is_none(), "ended once");
        assert_eq!(careers.all_left(Tick(60), 60, 200).len(), 1, "Bob is still seated");
    }

    #[test]
    fn a_death_resets_the_streak_and_self_kills_do_not_count() {
        let mut careers = Careers::default();
        careers.seated(PlayerId(1), Some(key(1)), "Ada", Tick(0), 0);
        careers.seated(PlayerId(2), Some(key(2)), "Bob", Tick(0), 0);
        let mut out = Vec::new();
        careers.kills(&[killed(1, 2), killed(2, 1), killed(1, 2), killed(1, 1)], 0, &mut out);
        assert_eq!(out.len(), 3, "a self-kill is no kill");
        let Some(Record::MatchEnded { best_streak, .. }) =
            careers.left(PlayerId(1), Tick(1), 60, 0)
        else {
            panic!("match ends");
        };
        assert_eq!(best_streak, 1, "the streak restarted after Ada died");
    }
}
