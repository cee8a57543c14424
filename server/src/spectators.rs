//! A room's spectators: connections that watch without a ship. They hold no seat, take no
//! part in the world, the roster, the scoreboard or the events, and have their own cap
//! (`--max-spectators`). Their ids come from the top of the id space, counting down, so they
//! never meet a player's (players count up from 1) and never appear in anything a room sends.

use std::collections::BTreeMap;
use std::sync::Arc;

use shared::ids::PlayerId;
use shared::view::Viewer;

use crate::close::Close;
use crate::link::Link;

/// Spectator ids are at least this; player ids stay below it.
const FIRST_SPECTATOR_ID: u32 = 1 << 31;

pub(crate) struct Spectator {
    pub(crate) name: String,
    pub(crate) link: Arc<Link>,
    /// What it was sent, as a member's viewer (its visible set is around its camera).
    pub(crate) viewer: Viewer,
}

pub(crate) struct Spectators {
    watching: BTreeMap<PlayerId, Spectator>,
    /// The next id to try, counting down from `u32::MAX`.
    next_id: u32,
    cap: usize,
}

impl Spectators {
    /// At most `cap` spectators at once (0: none).
    pub(crate) fn new(cap: usize) -> Spectators {
        Spectators { watching: BTreeMap::new(), next_id: u32::MAX, cap }
    }

    pub(crate) fn len(&self) -> usize {
        self.watching.len()
    }

    /// Whether another spectator may come in.
    pub(crate) fn has_room(&self) -> bool {
        self.watching.len() < self.cap
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PlayerId, &Spectator)> {
        self.watching.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&PlayerId, &mut Spectator)> {
        self.watching.iter_mut()
    }

    /// Adds a spectator with the link `make_link` builds for its new id; the caller checked
    /// [`Self::has_room`].
    pub(crate) fn add(
        &mut self,
        name: String,
        make_link: impl FnOnce(PlayerId) -> Arc<Link>,
    ) -> (PlayerId, Arc<Link>) {
        let id = loop {
            let id = PlayerId(self.next_id);
            self.next_id = match self.next_id - 1 {
                below if below < FIRST_SPECTATOR_ID => u32::MAX,
                next => next,
            };
            // After two billion spectators ids come round again; one still watching is skipped.
            if !self.watching.contains_key(&id) {
                break id;
            }
        };
        let link = make_link(id);
        self.watching.insert(id, Spectator { name, link: link.clone(), viewer: Viewer::default() });
        (id, link)
    }

    /// The connection of spectator `id` ended: it leaves, if it was watching through `link`.
    pub(crate) fn remove(&mut self, id: PlayerId, link: &Arc<Link>) -> Option<Spectator> {
        let current = self.watching.get(&id).is_some_and(|s| Arc::ptr_eq(&s.link, link));
        if current { self.watching.remove(&id) } else { None }
    }

    /// Closes every spectator's connection (the room is closing); returns how many there were.
    pub(crate) fn close_all(&mut self, close: &Close) -> usize {
        let count = self.watching.len();
        for spectator in std::mem::take(&mut self.watching).into_values() {
            spectator.link.kick(close.clone());
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: PlayerId) -> Arc<Link> {
        Arc::new(Link::for_spectator(id, Arc::default(), 30))
    }

    #[test]
    fn ids_count_down_from_the_top_and_the_cap_holds() {
        let mut spectators = Spectators::new(2);
        let (first, a) = spectators.add("Ada".into(), link);
        assert!(spectators.has_room());
        let (second, _) = spectators.add("Bob".into(), link);
        assert_eq!((first, second), (PlayerId(u32::MAX), PlayerId(u32::MAX - 1)));
        assert!(a.spectator, "a spectator's link");
        assert!(!spectators.has_room(), "two is the cap");
        assert!(spectators.remove(first, &link(first)).is_none(), "another link of that id: no");
        assert_eq!(spectators.remove(first, &a).map(|s| s.name), Some("Ada".into()));
        assert!(spectators.has_room() && spectators.len() == 1);
        assert!(!Spectators::new(0).has_room(), "cap 0: spectating is off");
    }

    #[test]
    fn ids_wrap_within_their_range_and_skip_those_still_watching() {
        let mut spectators = Spectators::new(10);
        spectators.next_id = FIRST_SPECTATOR_ID;
        let (low, _) = spectators.add("Ada".into(), link);
        assert_eq!(low, PlayerId(FIRST_SPECTATOR_ID));
        let (top, _) = spectators.add("Bob".into(), link);
        assert_eq!(top, PlayerId(u32::MAX), "back to the top, never into players' ids");
        spectators.next_id = u32::MAX;
        let (next, _) = spectators.add("Cy".into(), link);
        assert_eq!(next, PlayerId(u32::MAX - 1), "the top is taken: skipped");
    }

    #[test]
    fn a_closing_room_kicks_every_spectator() {
        let mut spectators = Spectators::new(4);
        let (_, a) = spectators.add("Ada".into(), link);
        assert_eq!(spectators.close_all(&Close::restart()), 1);
        assert_eq!(spectators.len(), 0);
        let kicked = tokio_test_block_on(a.kicked());
        assert_eq!(kicked.code, shared::protocol::close::RESTART);
    }

    fn tokio_test_block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(future)
    }
}
