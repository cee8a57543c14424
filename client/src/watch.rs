//! A spectator's camera: free (moved by WASD, the arrows or the move stick) or following one
//! player (Tab cycles, a click on a name picks), and the `Look` messages that tell the server
//! where it looks, so the players it is sent are the ones around the camera; and whether the
//! room lets it chat. Pure state,
//! tested natively.

use glam::Vec2;
use shared::ids::PlayerId;
use shared::protocol::{ClientMsg, MapPoint};

use crate::scene::Ship;

/// Free-camera speed at full deflection, world units per second.
pub const PAN_PER_SEC: f32 = 700.0;
/// The server hears of a camera that moved at least this far…
const LOOK_MIN_MOVE: f32 = 24.0;
/// …at most this often.
const LOOK_EVERY_MS: f64 = 200.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    follow: Option<PlayerId>,
    /// Where the free camera looks.
    free: Vec2,
    map_size: Vec2,
    /// The last `Look` sent: where, and when.
    sent: Option<(Vec2, f64)>,
    /// The room lets spectators chat (its `Welcome` says).
    pub chat: bool,
}

impl Watch {
    /// A spectator's camera over a map of `map_size`, starting at its middle; `chat`: the room
    /// lets spectators chat.
    pub fn new(map_size: Vec2, chat: bool) -> Watch {
        Watch { follow: None, free: map_size / 2.0, map_size, sent: None, chat }
    }

    pub fn followed(&self) -> Option<PlayerId> {
        self.follow
    }

    /// Where the camera looks, given the ships drawn now: the followed one while it is drawn
    /// (a dead player's camera waits where it was), else the free camera.
    pub fn focus(&self, ships: &[Ship]) -> Vec2 {
        self.follow
            .and_then(|id| ships.iter().find(|ship| ship.id == id))
            .map_or(self.free, |ship| ship.pos)
    }

    /// Follows `id`; `None` frees the camera where it looks now.
    pub fn follow(&mut self, id: Option<PlayerId>, ships: &[Ship]) {
        if id.is_none() {
            self.free = self.focus(ships);
        }
        self.follow = id;
    }

    /// Tab: the next drawn player by id after the followed one, then the free camera again.
    pub fn follow_next(&mut self, ships: &[Ship]) {
        let mut ids: Vec<PlayerId> = ships.iter().map(|ship| ship.id).collect();
        ids.sort_unstable();
        let next = match self.follow {
            None => ids.first().copied(),
            Some(now) => ids.into_iter().find(|id| *id > now),
        };
        self.follow(next, ships);
    }

    /// Moves the free camera by `direction` (length up to 1) for `secs`; moving stops following.
    pub fn pan(&mut self, direction: Vec2, secs: f32, ships: &[Ship]) {
        if direction == Vec2::ZERO {
            return;
        }
        if self.follow.is_some() {
            self.follow(None, ships);
        }
        self.free = (self.free + direction * PAN_PER_SEC * secs).clamp(Vec2::ZERO, self.map_size);
    }

    /// The `Look` to send now, if the camera moved far enough since the last one and the last
    /// one is old enough (the first is due at once).
    pub fn look(&mut self, focus: Vec2, now_ms: f64) -> Option<ClientMsg> {
        let due = match self.sent {
            None => true,
            Some((at, when)) => {
                at.distance(focus) >= LOOK_MIN_MOVE && now_ms - when >= LOOK_EVERY_MS
            }
        };
        if !due {
            return None;
        }
        self.sent = Some((focus, now_ms));
        Some(ClientMsg::Look { at: MapPoint::from_world(focus) })
    }

    /// A new connection: the server knows nothing of the camera yet.
    pub fn reconnected(&mut self) {
        self.sent = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ship(id: u32, x: f32, y: f32) -> Ship {
        Ship {
            id: PlayerId(id),
            name: format!("p{id}"),
            pos: Vec2::new(x, y),
            aim: Vec2::X,
            health: 100,
            is_me: false,
        }
    }

    #[test]
    fn tab_cycles_through_the_players_then_frees_the_camera_where_it_was() {
        let ships = [ship(7, 100.0, 100.0), ship(3, 500.0, 400.0)];
        let mut watch = Watch::new(Vec2::new(1600.0, 1200.0), false);
        assert_eq!(watch.focus(&ships), Vec2::new(800.0, 600.0), "the map's middle first");
        watch.follow_next(&ships);
        assert_eq!(
            (watch.followed(), watch.focus(&ships)),
            (Some(PlayerId(3)), Vec2::new(500.0, 400.0))
        );
        watch.follow_next(&ships);
        assert_eq!(watch.followed(), Some(PlayerId(7)));
        watch.follow_next(&ships);
        assert_eq!(watch.followed(), None, "after the last, the free camera");
        assert_eq!(watch.focus(&ships), Vec2::new(100.0, 100.0), "where it looked");
        watch.follow(Some(PlayerId(3)), &ships);
        assert_eq!(
            watch.focus(&[]),
            Vec2::new(100.0, 100.0),
            "a followed ship not drawn: it waits"
        );
    }

    #[test]
    fn panning_frees_the_camera_and_stays_on_the_map() {
        let ships = [ship(3, 500.0, 400.0)];
        let mut watch = Watch::new(Vec2::new(1600.0, 1200.0), false);
        watch.follow(Some(PlayerId(3)), &ships);
        watch.pan(Vec2::X, 0.5, &ships);
        assert_eq!(watch.followed(), None);
        assert_eq!(
            watch.focus(&ships),
            Vec2::new(850.0, 400.0),
            "from the followed ship, 350 right"
        );
        watch.pan(Vec2::X, 10.0, &ships);
        assert_eq!(watch.focus(&ships).x, 1600.0, "stopped at the edge");
    }

    #[test]
    fn looks_are_sent_when_the_camera_moved_at_most_five_times_a_second() {
        let mut watch = Watch::new(Vec2::new(1600.0, 1200.0), false);
        let at = |msg: Option<ClientMsg>| match msg {
            Some(ClientMsg::Look { at }) => Some(at.to_world()),
            _ => None,
        };
        assert_eq!(at(watch.look(Vec2::new(800.0, 600.0), 0.0)), Some(Vec2::new(800.0, 600.0)));
        assert_eq!(watch.look(Vec2::new(810.0, 600.0), 500.0), None, "moved too little");
        assert_eq!(watch.look(Vec2::new(900.0, 600.0), 100.0), None, "too soon");
        assert!(watch.look(Vec2::new(900.0, 600.0), 250.0).is_some());
        watch.reconnected();
        assert!(watch.look(Vec2::new(900.0, 600.0), 260.0).is_some(), "a new socket is told");
    }
}
