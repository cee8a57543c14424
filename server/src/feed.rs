//! The events of one send tick as each member is told them: one `Events` frame per member at
//! most, holding the beams that cross its screen (`view::beams_in_sight`), the room-wide events
//! (joins, leaves, chat: encoded once and shared) and the kills it should hear of — every kill
//! in a small room, else its own and those on its screen (`view::kill_in_sight`).
//!
//! Every event is encoded once per send tick however many members it goes to; a member's frame
//! is its beams and the bytes of its events put together.

use bytes::Bytes;
use glam::Vec2;
use shared::codec::{encode_event, encode_events_frame, join_events_body};
use shared::ids::PlayerId;
use shared::protocol::{Beam, GameEvent};
use shared::sim::World;
use shared::view::{self, KillLine, ShotLine, WHOLE_KILL_FEED_PLAYERS};

/// One send tick's events, ready to be cut into each member's frame.
pub(crate) struct Feed {
    /// The shots' lines, in shooter order.
    lines: Vec<ShotLine>,
    /// In a large room, the kills with their encodings, told per member.
    kills: Vec<(KillLine, Vec<u8>)>,
    /// How many events everyone is told, and their encodings joined.
    common_count: usize,
    common: Vec<u8>,
    /// The frame of a member with no beams and no kills of its own: just the common events.
    only_common: Option<Bytes>,
    /// Every shooter is drawn on every screen (no interest management).
    everyone_visible: bool,
    beams: Vec<Beam>,
    own_kills: Vec<usize>,
}

impl Feed {
    /// The feed of `events` (the room's since the last send tick), or `None` when there is
    /// nothing to tell anyone.
    pub(crate) fn new(events: &[GameEvent], world: &World, everyone_visible: bool) -> Option<Feed> {
        let whole_feed = world.players.len() <= WHOLE_KILL_FEED_PLAYERS;
        let at = |id: &PlayerId| world.players.get(id).map_or(Vec2::NAN, |p| p.pos);
        let (mut lines, mut kills, mut common) = (Vec::new(), Vec::new(), Vec::new());
        let mut common_count = 0;
        for event in events {
            match event {
                // Not sent: every snapshot shows them (positions, `alive`, the pickup bits).
                GameEvent::Respawned { .. } | GameEvent::PickedUp { .. } => {}
                GameEvent::Shot { shooter, from, to, .. } => {
                    lines.push(ShotLine::new(*shooter, *from, *to));
                }
                GameEvent::Killed { killer, victim } if !whole_feed => {
                    let kill = KillLine {
                        killer: *killer,
                        victim: *victim,
                        killer_at: at(killer),
                        victim_at: at(victim),
                    };
                    kills.push((kill, encode_event(event)));
                }
                _ => {
                    common.extend(encode_event(event));
                    common_count += 1;
                }
            }
        }
        if lines.is_empty() && kills.is_empty() && common_count == 0 {
            return None;
        }
        // Beams travel in shooter order (stable: a shooter's shots stay in order).
        lines.sort_by_key(|line| line.shooter);
        let only_common = (common_count > 0).then(|| {
            Bytes::from(encode_events_frame(&[], &join_events_body(common_count, &common, &[])))
        });
        Some(Feed {
            lines,
            kills,
            common_count,
            common,
            only_common,
            everyone_visible,
            beams: Vec::new(),
            own_kills: Vec::new(),
        })
    }

    /// The frame for a member (`me`; `None`: a spectator) whose screen can show `sight` (`None`:
    /// its ship is not in the world) and who sees the players `visible` (sorted ids); `None`
    /// when it has nothing to be told.
    pub(crate) fn frame_for(
        &mut self,
        me: Option<PlayerId>,
        sight: Option<(Vec2, Vec2)>,
        visible: &[PlayerId],
    ) -> Option<Bytes> {
        self.beams.clear();
        self.own_kills.clear();
        if let Some(sight) = sight {
            let seen = (me, visible);
            view::beams_in_sight(&self.lines, sight, seen, self.everyone_visible, &mut self.beams);
        }
        // Nothing is on the screen of a member without a ship: only its own kills count.
        let nowhere = (Vec2::INFINITY, Vec2::NEG_INFINITY);
        let screen = sight.unwrap_or(nowhere);
        self.own_kills.extend(
            (self.kills.iter().enumerate())
                .filter(|(_, (kill, _))| view::kill_in_sight(kill, me, screen))
                .map(|(index, _)| index),
        );
        if self.beams.is_empty() && self.own_kills.is_empty() {
            return self.only_common.clone();
        }
        let extra: Vec<&[u8]> =
            self.own_kills.iter().map(|&index| self.kills[index].1.as_slice()).collect();
        let body = join_events_body(self.common_count, &self.common, &extra);
        Some(Bytes::from(encode_events_frame(&self.beams, &body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::codec::decode_server;
    use shared::map::Map;
    use shared::protocol::{MapPoint, Ray, ServerMsg};
    use shared::view::MAX_VIEW_HALF;

    /// A world of `count` players in a row along y = 500, 100 units apart from x = 100.
    fn world(count: u32) -> World {
        let map = Map::from_json(include_str!("../../assets/maps/open.json")).expect("map");
        let mut world = World::new(map, 30);
        for id in 1..=count {
            world.add_player(PlayerId(id));
            world.players.get_mut(&PlayerId(id)).expect("added").pos =
                Vec2::new(100.0 * id as f32, 500.0);
        }
        world
    }

    fn events_of(frame: Option<Bytes>) -> (Vec<Beam>, Vec<GameEvent>) {
        match frame.map(|bytes| decode_server(&bytes)) {
            None => (Vec::new(), Vec::new()),
            Some(Ok(ServerMsg::Events { beams, events })) => (beams, events),
            Some(other) => panic!("an events frame, not {other:?}"),
        }
    }

    fn kill(killer: u32, victim: u32) -> GameEvent {
        GameEvent::Killed { killer: PlayerId(killer), victim: PlayerId(victim) }
    }

    #[test]
    fn a_large_room_tells_each_member_the_kills_in_it_or_on_its_screen() {
        let mut world = world(40);
        world.players.get_mut(&PlayerId(40)).expect("there").pos = Vec2::new(3900.0, 3900.0);
        world.players.get_mut(&PlayerId(39)).expect("there").pos = Vec2::new(3800.0, 3900.0);
        let events = vec![
            kill(2, 3),
            GameEvent::Chat { from: PlayerId(5), text: "gg".into() },
            kill(39, 40),
        ];
        let mut feed = Feed::new(&events, &world, false).expect("something to tell");
        let near = view::sight(Vec2::new(100.0, 500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let chat = GameEvent::Chat { from: PlayerId(5), text: "gg".into() };
        let (_, told) = events_of(feed.frame_for(Some(PlayerId(1)), Some(near), &[]));
        assert_eq!(told, vec![chat.clone(), kill(2, 3)], "the near kill, not the far one");
        let (_, told) = events_of(feed.frame_for(Some(PlayerId(40)), Some(near), &[]));
        assert_eq!(told, vec![chat.clone(), kill(2, 3), kill(39, 40)], "and its own death");
        let (_, told) = events_of(feed.frame_for(Some(PlayerId(39)), None, &[]));
        assert_eq!(told, vec![chat.clone(), kill(39, 40)], "no ship: its own kill only");
        let far = view::sight(Vec2::new(2000.0, 3000.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let (_, told) = events_of(feed.frame_for(None, Some(far), &[]));
        assert_eq!(told, vec![chat], "a spectator looking elsewhere: the chat alone");
    }

    #[test]
    fn a_small_room_tells_everyone_every_kill_and_beams_follow_the_screen() {
        let world = world(WHOLE_KILL_FEED_PLAYERS as u32);
        let shot = GameEvent::Shot {
            shooter: PlayerId(2),
            from: MapPoint { x: 200, y: 500 },
            to: MapPoint { x: 900, y: 500 },
            hit: None,
        };
        let events = vec![kill(30, 31), shot, GameEvent::Respawned { id: PlayerId(4) }];
        let mut feed = Feed::new(&events, &world, false).expect("something to tell");
        let far = view::sight(Vec2::new(3500.0, 3500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let (beams, told) = events_of(feed.frame_for(Some(PlayerId(1)), Some(far), &[]));
        assert_eq!((beams.len(), told), (0, vec![kill(30, 31)]), "the whole feed, no beam");
        let near = view::sight(Vec2::new(300.0, 500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let (beams, _) = events_of(feed.frame_for(Some(PlayerId(1)), Some(near), &[PlayerId(2)]));
        let ray = Ray { angle: 0, steps: 175 };
        let drawn = Beam { shooter: PlayerId(2), from: None, ray };
        assert_eq!(beams, vec![drawn], "the beam on screen, from the ship it sees");
        let quiet = vec![GameEvent::Respawned { id: PlayerId(4) }];
        assert!(Feed::new(&quiet, &world, false).is_none(), "respawns alone tell nothing");
    }
}
