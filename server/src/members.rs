//! A room's seats: who holds one, through which link, and the resume tokens that let a player
//! whose connection dropped take their seat back within the grace period.

use std::collections::BTreeMap;
use std::sync::Arc;

use shared::ids::PlayerId;
use shared::protocol::{ResumeToken, RosterEntry};
use shared::tick::Tick;

use crate::link::Link;
use shared::view::Viewer;

pub(crate) struct Member {
    pub(crate) name: String,
    /// `None` while disconnected and waiting for a resume.
    pub(crate) link: Option<Arc<Link>>,
    /// The last input sequence number applied to the simulation.
    pub(crate) last_seq: u32,
    pub(crate) viewer: Viewer,
    resume_token: ResumeToken,
    /// The tick the connection dropped, while the seat is held for a resume.
    disconnected_at: Option<Tick>,
}

/// A seat taken back with a resume token.
pub(crate) struct Resumed {
    pub(crate) id: PlayerId,
    pub(crate) link: Arc<Link>,
    /// The next resume token (the one used is spent).
    pub(crate) token: ResumeToken,
    /// The link still attached when the resume came (to be kicked).
    pub(crate) stale: Option<Arc<Link>>,
}

#[derive(Default)]
pub(crate) struct Members {
    seats: BTreeMap<PlayerId, Member>,
    next_id: u32,
}

/// A fresh random resume token.
pub(crate) fn new_token() -> ResumeToken {
    let mut bytes = [0u8; 16];
    // The OS random source only fails on exotic platforms; a zero token still works once.
    let _ = getrandom::fill(&mut bytes);
    ResumeToken(bytes)
}

impl Members {
    pub(crate) fn len(&self) -> usize {
        self.seats.len()
    }

    pub(crate) fn get(&self, id: &PlayerId) -> Option<&Member> {
        self.seats.get(id)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&PlayerId, &mut Member)> {
        self.seats.iter_mut()
    }

    /// Members with a live connection.
    pub(crate) fn connected(&self) -> impl Iterator<Item = (&PlayerId, &Member, &Arc<Link>)> {
        self.seats.iter().filter_map(|(id, m)| m.link.as_ref().map(|link| (id, m, link)))
    }

    pub(crate) fn roster(&self) -> Vec<RosterEntry> {
        self.seats.iter().map(|(id, m)| RosterEntry { id: *id, name: m.name.clone() }).collect()
    }

    /// Seats a new player with the link `make_link` builds for its id; returns the id, the link
    /// and the resume token.
    pub(crate) fn add(
        &mut self,
        name: String,
        make_link: impl FnOnce(PlayerId) -> Arc<Link>,
    ) -> (PlayerId, Arc<Link>, ResumeToken) {
        self.next_id += 1;
        let id = PlayerId(self.next_id);
        let token = new_token();
        let link = make_link(id);
        let member = Member {
            name,
            link: Some(link.clone()),
            last_seq: 0,
            viewer: Viewer::default(),
            resume_token: token,
            disconnected_at: None,
        };
        self.seats.insert(id, member);
        (id, link, token)
    }

    /// The player holding `token`, handed a new link and a new token (the old one is spent).
    /// A link still attached (the server had not noticed the drop yet) is returned to be kicked.
    pub(crate) fn resume(
        &mut self,
        token: ResumeToken,
        make_link: impl FnOnce(PlayerId) -> Arc<Link>,
    ) -> Option<Resumed> {
        let (id, member) = self.seats.iter_mut().find(|(_, m)| m.resume_token == token)?;
        let link = make_link(*id);
        let fresh = new_token();
        member.resume_token = fresh;
        member.disconnected_at = None;
        // The new connection starts from a keyframe and its own input numbering.
        member.viewer = Viewer::default();
        member.last_seq = 0;
        let stale = member.link.replace(link.clone());
        Some(Resumed { id: *id, link, token: fresh, stale })
    }

    /// The connection of `id` ended. A clean end frees the seat (returns the member); an
    /// unclean one keeps it for a resume. A stale link (already replaced) changes nothing.
    pub(crate) fn disconnect(
        &mut self,
        id: PlayerId,
        link: &Arc<Link>,
        clean: bool,
        now: Tick,
    ) -> Option<Member> {
        let member = self.seats.get_mut(&id)?;
        if !member.link.as_ref().is_some_and(|current| Arc::ptr_eq(current, link)) {
            return None;
        }
        if clean {
            return self.seats.remove(&id);
        }
        member.link = None;
        member.disconnected_at = Some(now);
        None
    }

    /// Removes the seats held longer than `grace_ticks` without a resume.
    pub(crate) fn expire(&mut self, now: Tick, grace_ticks: u32) -> Vec<(PlayerId, Member)> {
        let expired: Vec<PlayerId> = self
            .seats
            .iter()
            .filter(|(_, m)| m.disconnected_at.is_some_and(|at| now.since(at) >= grace_ticks))
            .map(|(id, _)| *id)
            .collect();
        expired.into_iter().filter_map(|id| self.seats.remove(&id).map(|m| (id, m))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: PlayerId) -> Arc<Link> {
        Arc::new(Link::new(id, Arc::default(), 30))
    }

    #[test]
    fn unclean_drop_keeps_the_seat_until_the_grace_period_ends() {
        let mut members = Members::default();
        let (id, first, token) = members.add("Ada".into(), link);
        assert!(members.disconnect(id, &first, false, Tick(10)).is_none(), "the seat is kept");
        assert!(members.expire(Tick(30), 30).is_empty(), "20 ticks into a 30 tick grace: kept");
        let resumed = members.resume(token, link).expect("the token resumes");
        assert_eq!(resumed.id, id, "same player");
        assert!(resumed.stale.is_none(), "no live link to kick");
        assert!(members.resume(token, link).is_none(), "a spent token is refused");
        assert_ne!(resumed.token, token, "a new token is issued");
    }

    #[test]
    fn expired_and_clean_leaves_free_the_seat() {
        let mut members = Members::default();
        let (ada, a, _) = members.add("Ada".into(), link);
        let (bob, b, _) = members.add("Bob".into(), link);
        members.disconnect(ada, &a, false, Tick(0));
        assert_eq!(members.expire(Tick(30), 30).len(), 1, "Ada's seat expires");
        assert!(
            members.disconnect(bob, &b, true, Tick(0)).is_some(),
            "a clean leave frees at once"
        );
        assert_eq!(members.len(), 0, "no seats left");
    }

    #[test]
    fn a_stale_connection_cannot_free_a_resumed_seat() {
        let mut members = Members::default();
        let (id, old, token) = members.add("Ada".into(), link);
        let resumed = members.resume(token, link).expect("resume while the old link lives");
        assert!(
            resumed.stale.is_some_and(|s| Arc::ptr_eq(&s, &old)),
            "the old link is handed back to be kicked"
        );
        assert!(
            members.disconnect(id, &old, true, Tick(5)).is_none(),
            "the old session's leave is ignored"
        );
        assert_eq!(members.len(), 1, "the resumed player keeps the seat");
    }
}
