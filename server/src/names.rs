//! Names by interest: which players' names a member's client has been told.
//!
//! A page shows a player's name in four places only: over its ship when it is on screen, in
//! the scoreboard's top rows, in a kill-feed line and in a chat line. In a small room (up to
//! [`shared::view::SMALL_ROOM_PLAYERS`]) every member is told every name, as players join,
//! which is what the `Welcome`'s whole roster and a `Joined` event to everyone did. In a large
//! room that is the whole room's names to everyone who joins and every join to everyone — a
//! cost that grows with the square of the room — so a member is told a name (a
//! `GameEvent::Joined` to it alone) the first time its page needs it, and told that a player
//! left only if it knew the name.
//!
//! [`Told`] is that record for one member, [`Names`] the room's names ready to send: pure
//! bookkeeping, no IO; the room decides what is wanted (see `feed`).

use std::collections::{BTreeMap, VecDeque};

use shared::codec::encode_event;
use shared::ids::PlayerId;
use shared::protocol::GameEvent;
use shared::tick::Tick;

/// Every seated player's name as the `GameEvent::Joined` that tells it, encoded once; a player
/// who left keeps it for a while, since its last chat line or kill may still be on the way.
#[derive(Debug, Default)]
pub(crate) struct Names {
    encoded: BTreeMap<PlayerId, Vec<u8>>,
    /// Players who left, oldest first, with the tick they did.
    gone: VecDeque<(Tick, PlayerId)>,
}

impl Names {
    pub(crate) fn add(&mut self, id: PlayerId, name: &str) {
        self.encoded.insert(id, encode_event(&GameEvent::Joined { id, name: name.to_string() }));
    }

    /// `id` left at `now`: its name goes after [`Names::expire`] is past `now + keep`.
    pub(crate) fn remove(&mut self, id: PlayerId, now: Tick) {
        self.gone.push_back((now, id));
    }

    /// Lets go of the names of players who left more than `keep` ticks before `now`.
    pub(crate) fn expire(&mut self, now: Tick, keep: u32) {
        while let Some(&(at, id)) = self.gone.front() {
            if now.0.saturating_sub(at.0) <= keep {
                break;
            }
            self.gone.pop_front();
            self.encoded.remove(&id);
        }
    }

    /// The encoded `Joined` of `id`.
    pub(crate) fn get(&self, id: PlayerId) -> Option<&[u8]> {
        self.encoded.get(&id).map(Vec::as_slice)
    }
}

/// The names one member's client holds.
#[derive(Debug, Default)]
pub(crate) struct Told {
    /// Sorted, unique.
    ids: Vec<PlayerId>,
    /// The players it saw at the last [`Told::learn`] (sorted): only those that came into view
    /// since are looked up, so a member whose view holds still costs one pass over it.
    last_visible: Vec<PlayerId>,
}

impl Told {
    /// A client that was given the names of `known` (its `Welcome`'s roster).
    pub(crate) fn new(known: impl IntoIterator<Item = PlayerId>) -> Told {
        let mut ids: Vec<PlayerId> = known.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        Told { ids, last_visible: Vec::new() }
    }

    pub(crate) fn knows(&self, id: PlayerId) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// The players among `visible` (sorted ids: the ships its last snapshot showed) and `also`
    /// (any order, repeats allowed) whose names it was not told yet, into `out` (sorted,
    /// unique): from now on it knows them.
    pub(crate) fn learn(
        &mut self,
        visible: &[PlayerId],
        also: &[PlayerId],
        out: &mut Vec<PlayerId>,
    ) {
        out.clear();
        let mut before = self.last_visible.iter().peekable();
        for &id in visible {
            while before.next_if(|&&seen| seen < id).is_some() {}
            if before.next_if_eq(&&id).is_none() && !self.knows(id) {
                out.push(id);
            }
        }
        out.extend(also.iter().copied().filter(|&id| !self.knows(id)));
        self.last_visible.clear();
        self.last_visible.extend_from_slice(visible);
        if out.is_empty() {
            return;
        }
        out.sort_unstable();
        out.dedup();
        self.ids.extend_from_slice(out);
        self.ids.sort_unstable();
    }

    /// `id` left the room: whether this client knew its name (and so is to hear it left).
    pub(crate) fn forget(&mut self, id: PlayerId) -> bool {
        match self.ids.binary_search(&id) {
            Ok(at) => {
                self.ids.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// How many names it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[u32]) -> Vec<PlayerId> {
        raw.iter().copied().map(PlayerId).collect()
    }

    fn learn(told: &mut Told, visible: &[u32], also: &[u32]) -> Vec<u32> {
        let mut out = Vec::new();
        told.learn(&ids(visible), &ids(also), &mut out);
        out.into_iter().map(|id| id.0).collect()
    }

    #[test]
    fn a_name_is_told_once_when_first_wanted() {
        let mut told = Told::new(ids(&[5]));
        assert_eq!(learn(&mut told, &[2, 5, 9], &[]), [2, 9], "its own name it has");
        assert_eq!(learn(&mut told, &[2, 5, 9], &[]), Vec::<u32>::new(), "nothing new");
        assert_eq!(learn(&mut told, &[5, 9], &[7, 7, 2, 30]), [7, 30], "a speaker, the top");
        assert_eq!(learn(&mut told, &[2, 3], &[]), [3], "2 came back into view: known");
        assert_eq!(told.len(), 6);
    }

    #[test]
    fn only_players_that_came_into_view_are_looked_up_yet_none_is_missed() {
        let mut told = Told::new([]);
        // A random walk of views; whatever the path, every player seen is known, once.
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut heard = Vec::new();
        for _ in 0..500 {
            let mut visible: Vec<u32> = (0..next() % 12).map(|_| next() % 60).collect();
            visible.sort_unstable();
            visible.dedup();
            let also: Vec<u32> = (0..next() % 3).map(|_| next() % 60).collect();
            let new = learn(&mut told, &visible, &also);
            heard.extend(new.iter().copied());
            for id in visible.iter().chain(&also) {
                assert!(told.knows(PlayerId(*id)), "{id} is known once wanted");
            }
        }
        let mut unique = heard.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), heard.len(), "no name told twice");
        assert_eq!(told.len(), heard.len());
    }

    #[test]
    fn a_name_outlives_its_player_by_the_time_asked() {
        let mut names = Names::default();
        names.add(PlayerId(3), "Ada");
        let joined = GameEvent::Joined { id: PlayerId(3), name: "Ada".into() };
        assert_eq!(names.get(PlayerId(3)), Some(encode_event(&joined).as_slice()));
        names.remove(PlayerId(3), Tick(10));
        names.expire(Tick(12), 2);
        assert!(names.get(PlayerId(3)).is_some(), "a chat line of hers may still be told");
        names.expire(Tick(13), 2);
        assert!(names.get(PlayerId(3)).is_none(), "then it goes");
        assert!(names.gone.is_empty() && names.encoded.is_empty(), "nothing kept");
    }

    #[test]
    fn a_leaving_player_is_told_only_to_those_who_knew_it() {
        let mut told = Told::new(ids(&[1, 4]));
        assert!(told.forget(PlayerId(4)));
        assert!(!told.forget(PlayerId(4)), "once");
        assert!(!told.forget(PlayerId(8)), "never known");
        assert_eq!(learn(&mut told, &[1], &[]), Vec::<u32>::new());
        assert_eq!(told.len(), 1);
    }
}
