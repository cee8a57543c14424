//! The events of one send tick as each member is told them: one `Events` frame per member at
//! most, holding the beams that cross its screen (`view::beams_in_sight`), the names its page
//! now needs and was not told (`names`), the room-wide events (chat, and every kill in a small
//! room: encoded once and shared), the kills it should hear of in a large room — its own and
//! those on its screen (`view::kill_in_sight`) — and the leaving of players whose names it knew.
//!
//! Spectators are told every name (their follow menu lists every player): joins and leaves reach
//! them all, in order, with the chat.
//!
//! Every event is encoded once per send tick however many members it goes to; a member's frame
//! is its beams and the bytes of its events put together.

use bytes::Bytes;
use glam::Vec2;
use shared::codec::{encode_event, encode_events_frame, join_events_body};
use shared::ids::PlayerId;
use shared::protocol::{Beam, GameEvent};
use shared::sim::World;
use shared::view::{self, KillLine, SMALL_ROOM_PLAYERS, ShotLine};

use crate::names::Told;

/// Events put together: how many, and their encodings one after another.
#[derive(Default)]
struct Encoded {
    count: usize,
    bytes: Vec<u8>,
}

impl Encoded {
    fn push(&mut self, encoded: &[u8]) {
        self.count += 1;
        self.bytes.extend_from_slice(encoded);
    }

    /// A frame of these events alone, if there are any.
    fn frame(&self) -> Option<Bytes> {
        let body = join_events_body(self.count, &[&self.bytes]);
        (self.count > 0).then(|| Bytes::from(encode_events_frame(&[], &body)))
    }
}

/// One send tick's events, ready to be cut into each member's frame.
pub(crate) struct Feed {
    /// The shots' lines, in shooter order.
    lines: Vec<ShotLine>,
    /// In a large room, the kills with their encodings, told per member.
    kills: Vec<(KillLine, Vec<u8>)>,
    /// The events every member is told.
    common: Encoded,
    /// The events every spectator is told: the common ones with the joins and leaves, in order.
    watchers: Encoded,
    /// The players who left, with their `Left` encoded: told to the members who knew them.
    left: Vec<(PlayerId, Vec<u8>)>,
    /// The names every member needs now: the room's (see [`Feed::new`]) and the speakers'.
    wanted: Vec<PlayerId>,
    /// The frame of a member with nothing of its own to be told: the common events alone.
    only_common: Option<Bytes>,
    /// The frame of a spectator with no beam and no kill on its screen.
    only_watchers: Option<Bytes>,
    /// Every shooter is drawn on every screen (no interest management).
    everyone_visible: bool,
    // Kept from one member to the next for their allocations.
    beams: Vec<Beam>,
    own_kills: Vec<usize>,
    also: Vec<PlayerId>,
    new_names: Vec<PlayerId>,
    own_left: Vec<usize>,
}

impl Feed {
    /// The feed of `events` (the room's since the last send tick); `wanted` are the players
    /// whose names every member needs now, whatever it sees: everyone in a small room, the
    /// scoreboard's top when one goes out.
    pub(crate) fn new(
        events: &[GameEvent],
        world: &World,
        everyone_visible: bool,
        mut wanted: Vec<PlayerId>,
    ) -> Feed {
        let whole_feed = world.players.len() <= SMALL_ROOM_PLAYERS;
        let at = |id: &PlayerId| world.players.get(id).map_or(Vec2::NAN, |p| p.pos);
        let (mut lines, mut kills, mut left) = (Vec::new(), Vec::new(), Vec::new());
        let (mut common, mut watchers) = (Encoded::default(), Encoded::default());
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
                // Members are told names by interest (`names`).
                GameEvent::Joined { .. } => watchers.push(&encode_event(event)),
                GameEvent::Left { id } => {
                    let encoded = encode_event(event);
                    watchers.push(&encoded);
                    left.push((*id, encoded));
                }
                _ => {
                    if let GameEvent::Chat { from, .. } = event {
                        wanted.push(*from);
                    }
                    let encoded = encode_event(event);
                    common.push(&encoded);
                    watchers.push(&encoded);
                }
            }
        }
        // Beams travel in shooter order (stable: a shooter's shots stay in order).
        lines.sort_by_key(|line| line.shooter);
        Feed {
            lines,
            kills,
            only_common: common.frame(),
            only_watchers: watchers.frame(),
            common,
            watchers,
            left,
            wanted,
            everyone_visible,
            beams: Vec::new(),
            own_kills: Vec::new(),
            also: Vec::new(),
            new_names: Vec::new(),
            own_left: Vec::new(),
        }
    }

    /// The frame for the member `me`, whose screen can show `sight` (`None`: its ship is not in
    /// the world), whose last snapshot showed the players `visible` (sorted ids) and whose
    /// client holds the names `told` (updated); `name_of` gives a player's `Joined` encoded.
    /// `None` when it has nothing to be told.
    pub(crate) fn member_frame<'n>(
        &mut self,
        me: PlayerId,
        sight: Option<(Vec2, Vec2)>,
        visible: &[PlayerId],
        told: &mut Told,
        name_of: impl Fn(PlayerId) -> Option<&'n [u8]>,
    ) -> Option<Bytes> {
        self.beams_and_kills(Some(me), sight, visible);
        self.also.clear();
        self.also.extend_from_slice(&self.wanted);
        for &index in &self.own_kills {
            let (kill, _) = &self.kills[index];
            self.also.extend([kill.killer, kill.victim]);
        }
        told.learn(visible, &self.also, &mut self.new_names);
        // Learnt first, forgotten after: a player named and gone within one send interval is
        // told both ways, never kept.
        self.own_left.clear();
        let left = &self.left;
        self.own_left.extend((0..left.len()).filter(|&index| told.forget(left[index].0)));
        if self.beams.is_empty()
            && self.own_kills.is_empty()
            && self.new_names.is_empty()
            && self.own_left.is_empty()
        {
            return self.only_common.clone();
        }
        let mut parts: Vec<&[u8]> = self.new_names.iter().filter_map(|&id| name_of(id)).collect();
        parts.push(&self.common.bytes);
        parts.extend(self.own_kills.iter().map(|&index| self.kills[index].1.as_slice()));
        parts.extend(self.own_left.iter().map(|&index| self.left[index].1.as_slice()));
        // The common part holds many events, every other part one.
        let count = parts.len() - 1 + self.common.count;
        let body = join_events_body(count, &parts);
        Some(Bytes::from(encode_events_frame(&self.beams, &body)))
    }

    /// The frame for a spectator whose screen shows `sight` and whose last snapshot showed
    /// `visible`; `None` when it has nothing to be told.
    pub(crate) fn spectator_frame(
        &mut self,
        sight: (Vec2, Vec2),
        visible: &[PlayerId],
    ) -> Option<Bytes> {
        self.beams_and_kills(None, Some(sight), visible);
        if self.beams.is_empty() && self.own_kills.is_empty() {
            return self.only_watchers.clone();
        }
        let mut parts: Vec<&[u8]> = vec![&self.watchers.bytes];
        parts.extend(self.own_kills.iter().map(|&index| self.kills[index].1.as_slice()));
        let body = join_events_body(parts.len() - 1 + self.watchers.count, &parts);
        Some(Bytes::from(encode_events_frame(&self.beams, &body)))
    }

    /// The beams and the kills (in a large room) for `me` (`None`: a spectator), into
    /// `self.beams` and `self.own_kills`.
    fn beams_and_kills(
        &mut self,
        me: Option<PlayerId>,
        sight: Option<(Vec2, Vec2)>,
        visible: &[PlayerId],
    ) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Names;
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

    /// Names `p1` to `p{count}`.
    fn names(count: u32) -> Names {
        let mut names = Names::default();
        for id in 1..=count {
            names.add(PlayerId(id), &format!("p{id}"));
        }
        names
    }

    fn joined(id: u32) -> GameEvent {
        GameEvent::Joined { id: PlayerId(id), name: format!("p{id}") }
    }

    fn events_of(frame: Option<Bytes>) -> (Vec<Beam>, Vec<GameEvent>) {
        match frame.map(|bytes| decode_server(&bytes)) {
            None => (Vec::new(), Vec::new()),
            Some(Ok(ServerMsg::Events { beams, events })) => (beams, events),
            Some(other) => panic!("an events frame, not {other:?}"),
        }
    }

    /// What member `me`, whose client knows `told`, is told.
    fn told_to(
        feed: &mut Feed,
        (me, sight, visible): (u32, Option<(Vec2, Vec2)>, &[PlayerId]),
        told: &mut Told,
        names: &Names,
    ) -> (Vec<Beam>, Vec<GameEvent>) {
        events_of(feed.member_frame(PlayerId(me), sight, visible, told, |id| names.get(id)))
    }

    fn kill(killer: u32, victim: u32) -> GameEvent {
        GameEvent::Killed { killer: PlayerId(killer), victim: PlayerId(victim) }
    }

    fn chat(from: u32) -> GameEvent {
        GameEvent::Chat { from: PlayerId(from), text: "gg".into() }
    }

    fn everyone(count: u32) -> Told {
        Told::new((1..=count).map(PlayerId))
    }

    #[test]
    fn a_large_room_tells_each_member_the_kills_in_it_or_on_its_screen() {
        let mut world = world(40);
        world.players.get_mut(&PlayerId(40)).expect("there").pos = Vec2::new(3900.0, 3900.0);
        world.players.get_mut(&PlayerId(39)).expect("there").pos = Vec2::new(3800.0, 3900.0);
        let names = names(40);
        let events = vec![kill(2, 3), chat(5), kill(39, 40)];
        let mut feed = Feed::new(&events, &world, false, Vec::new());
        let near = view::sight(Vec2::new(100.0, 500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let (_, told) = told_to(&mut feed, (1, Some(near), &[]), &mut everyone(40), &names);
        assert_eq!(told, vec![chat(5), kill(2, 3)], "the near kill, not the far one");
        let (_, told) = told_to(&mut feed, (40, Some(near), &[]), &mut everyone(40), &names);
        assert_eq!(told, vec![chat(5), kill(2, 3), kill(39, 40)], "and its own death");
        let (_, told) = told_to(&mut feed, (39, None, &[]), &mut everyone(40), &names);
        assert_eq!(told, vec![chat(5), kill(39, 40)], "no ship: its own kill only");
        let far = view::sight(Vec2::new(2000.0, 3000.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let (_, told) = events_of(feed.spectator_frame(far, &[]));
        assert_eq!(told, vec![chat(5)], "a spectator looking elsewhere: the chat alone");
    }

    #[test]
    fn a_small_room_tells_everyone_every_kill_and_beams_follow_the_screen() {
        let count = SMALL_ROOM_PLAYERS as u32;
        let (world, names) = (world(count), names(count));
        let shot = GameEvent::Shot {
            shooter: PlayerId(2),
            from: MapPoint { x: 200, y: 500 },
            to: MapPoint { x: 900, y: 500 },
            hit: None,
        };
        let events = vec![kill(30, 31), shot, GameEvent::Respawned { id: PlayerId(4) }];
        let mut feed = Feed::new(&events, &world, false, Vec::new());
        let far = view::sight(Vec2::new(3500.0, 3500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let (beams, told) = told_to(&mut feed, (1, Some(far), &[]), &mut everyone(count), &names);
        assert_eq!((beams.len(), told), (0, vec![kill(30, 31)]), "the whole feed, no beam");
        let near = view::sight(Vec2::new(300.0, 500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let seen = [PlayerId(2)];
        let (beams, _) = told_to(&mut feed, (1, Some(near), &seen), &mut everyone(count), &names);
        let ray = Ray { angle: 0, steps: 175 };
        let drawn = Beam { shooter: PlayerId(2), from: None, ray };
        assert_eq!(beams, vec![drawn], "the beam on screen, from the ship it sees");
        let quiet = vec![GameEvent::Respawned { id: PlayerId(4) }];
        let mut feed = Feed::new(&quiet, &world, false, Vec::new());
        let frame = feed
            .member_frame(PlayerId(1), Some(far), &[], &mut everyone(count), |id| names.get(id));
        assert!(frame.is_none(), "respawns alone tell nothing");
        assert!(feed.spectator_frame(far, &[]).is_none(), "to spectators either");
    }

    #[test]
    fn a_large_room_tells_a_member_the_names_its_page_shows_and_no_other() {
        let mut world = world(40);
        world.players.get_mut(&PlayerId(40)).expect("there").pos = Vec2::new(3900.0, 3900.0);
        world.players.get_mut(&PlayerId(39)).expect("there").pos = Vec2::new(3800.0, 3900.0);
        let names = names(40);
        // 5 speaks, 39 kills 40 far away, the scoreboard's top is 7 (it goes out this tick).
        let events = vec![chat(5), kill(39, 40), joined(40)];
        let mut feed = Feed::new(&events, &world, false, vec![PlayerId(7)]);
        let near = view::sight(Vec2::new(100.0, 500.0), Vec2::splat(4000.0), MAX_VIEW_HALF);
        let mut told = Told::new([PlayerId(1)]);
        let (_, heard) = told_to(&mut feed, (1, Some(near), &[PlayerId(2)]), &mut told, &names);
        let expected = vec![joined(2), joined(5), joined(7), chat(5)];
        assert_eq!(heard, expected, "the ship it sees, the speaker, the top; names first");
        for id in [39, 40, 3] {
            assert!(!told.knows(PlayerId(id)), "{id} is on no part of its page");
        }
        let (_, heard) =
            told_to(&mut feed, (40, None, &[]), &mut Told::new([PlayerId(40)]), &names);
        assert_eq!(heard, vec![joined(5), joined(7), joined(39), chat(5), kill(39, 40)]);
        // The next send tick: nothing new to name, nothing said.
        let mut feed = Feed::new(&[], &world, false, Vec::new());
        let frame = feed
            .member_frame(PlayerId(1), Some(near), &[PlayerId(2)], &mut told, |id| names.get(id));
        assert!(frame.is_none(), "names are told once");
        // Spectators hear every join, in order with the chat.
        let mut feed = Feed::new(&events, &world, false, vec![PlayerId(7)]);
        let (_, heard) = events_of(feed.spectator_frame(near, &[]));
        assert_eq!(heard, vec![chat(5), joined(40)]);
    }

    #[test]
    fn a_leaving_player_is_told_to_those_who_knew_its_name() {
        let world = world(40);
        let names = names(41);
        let left = GameEvent::Left { id: PlayerId(41) };
        let nowhere = None;
        // 41 said something and left within one send interval.
        let events = vec![chat(41), left.clone(), GameEvent::Left { id: PlayerId(9) }];
        let mut feed = Feed::new(&events, &world, false, Vec::new());
        let mut told = Told::new([PlayerId(1)]);
        let (_, heard) = told_to(&mut feed, (1, nowhere, &[]), &mut told, &names);
        assert_eq!(heard, vec![joined(41), chat(41), left.clone()], "named, then gone");
        assert!(!told.knows(PlayerId(41)), "and not kept");
        let mut told = Told::new([PlayerId(2), PlayerId(9)]);
        let (_, heard) = told_to(&mut feed, (2, nowhere, &[]), &mut told, &names);
        let expected = vec![joined(41), chat(41), left, GameEvent::Left { id: PlayerId(9) }];
        assert_eq!(heard, expected, "9's leaving to a member that knew 9");
    }
}
