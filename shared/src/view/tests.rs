use super::*;
use crate::codec::decode_server;
use crate::delta::Decoder;
use crate::map::Map;
use crate::protocol::{DeltaBase, InputCmd, MapPoint, ScoreEntry};
use crate::sim::{self, TickInputs};

const PLAYERS: u32 = 40;

/// A room of wandering players on the open map, seen through a 700-unit view radius.
struct Room {
    world: World,
    view: ViewBuilder,
    rng: u32,
    headings: Vec<(i8, i8)>,
}

impl Room {
    fn new(radius: f32) -> Room {
        Room::staggered(radius, 1)
    }

    /// A room sending to each member every `stride` ticks, a share of them each tick.
    fn staggered(radius: f32, stride: u32) -> Room {
        let map = Map::from_json(include_str!("../../../assets/maps/open.json")).expect("map");
        let mut world = World::new(map.clone(), 30);
        world.tick = Tick(1_000_000);
        let mut room = Room {
            view: ViewBuilder::new(map.size(), radius, false).with_stride(stride),
            world,
            rng: 0x2545_f491,
            headings: vec![(0, 0); PLAYERS as usize],
        };
        for id in 1..=PLAYERS {
            room.world.add_player(PlayerId(id));
            let (x, y) = (room.next() % 2000 + 1000, room.next() % 2000 + 1000);
            room.world.players.get_mut(&PlayerId(id)).expect("added").pos =
                Vec2::new(x as f32, y as f32);
        }
        room
    }

    fn next(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        self.rng
    }

    /// One tick: some players turn, everyone moves, the frame is prepared.
    fn step(&mut self) {
        for i in 0..self.headings.len() {
            if self.next().is_multiple_of(20) {
                self.headings[i] = ((self.next() % 255) as i8, (self.next() % 255) as i8);
            }
        }
        let inputs: TickInputs = self
            .headings
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                let cmd = InputCmd {
                    move_x: x,
                    move_y: y,
                    aim_x: x.into(),
                    aim_y: y.into(),
                    ..InputCmd::default()
                };
                (PlayerId(i as u32 + 1), cmd)
            })
            .collect();
        sim::step(&mut self.world, &inputs);
        self.view.prepare(&self.world);
    }

    /// What member `id` with `viewer` should decode this tick.
    fn expected(&self, viewer: &Viewer, ack_input: u32) -> Snapshot {
        let players = viewer.visible().iter().map(|id| self.world.players[id].snap()).collect();
        Snapshot { tick: self.world.tick, ack_input, players, pickups: 0 }
    }
}

/// A member's link: which frames reach it.
#[derive(Clone, Copy, Debug)]
enum Delivery {
    Every,
    /// Every third frame is replaced in the latest-wins slot.
    DropEveryThird,
    /// Nothing arrives for 80 ticks (longer than the room's history), then everything.
    LongStall,
}

impl Delivery {
    fn delivers(self, tick: u32) -> bool {
        match self {
            Delivery::Every => true,
            Delivery::DropEveryThird => tick % 3 != 1,
            Delivery::LongStall => !(100..180).contains(&tick),
        }
    }
}

/// Runs 300 ticks; every delivered frame must decode to exactly the member's view and equal
/// the reference encoder's output against the same baseline. Returns (frames, keyframes).
fn members_decode_their_views(radius: f32, delivery: Delivery) -> (u32, u32) {
    members_decode_their_views_each(radius, [delivery; 3], 1)
}

/// [`members_decode_their_views`] with a delivery pattern per member, each member sent a frame
/// every `stride` ticks (on the ticks its id falls on).
fn members_decode_their_views_each(
    radius: f32,
    deliveries: [Delivery; 3],
    stride: u32,
) -> (u32, u32) {
    let mut room = Room::staggered(radius, stride);
    let members = [PlayerId(1), PlayerId(17), PlayerId(40)];
    let mut viewers: Vec<Viewer> = members.iter().map(|_| Viewer::default()).collect();
    let mut decoders: Vec<Decoder> = members.iter().map(|_| Decoder::default()).collect();
    let mut held: Vec<Option<Snapshot>> = vec![None; members.len()];
    let (mut frames, mut keyframes) = (0, 0);
    for t in 0..300 * stride {
        room.step();
        for (m, id) in members.iter().enumerate() {
            if (t + id.0) % stride != 0 {
                continue;
            }
            // The member's own frames are what its link delivers or not.
            let (delivery, nth) = (deliveries[m], t / stride);
            let ack = t * 2;
            let bytes = room.view.snapshot_frame(
                *id,
                &mut viewers[m],
                ack,
                0,
                held[m].as_ref().map(|s| s.tick),
            );
            if !delivery.delivers(nth) {
                continue;
            }
            let Ok(ServerMsg::Snapshot(delta)) = decode_server(&bytes) else {
                panic!("a snapshot")
            };
            let expected = room.expected(&viewers[m], ack);
            let reference = match delta.base {
                DeltaBase::Keyframe { .. } => delta::encode(None, &expected),
                DeltaBase::Delta { .. } => delta::encode(held[m].as_ref(), &expected),
            };
            assert_eq!(delta, reference, "{delivery:?}, member {id}, tick {t}: as the reference");
            let decoded = decoders[m].decode(&delta).expect("decodes against what it holds");
            assert_eq!(decoded, expected, "{delivery:?}, member {id}, tick {t}: its view");
            keyframes += u32::from(matches!(delta.base, DeltaBase::Keyframe { .. }));
            frames += 1;
            held[m] = Some(decoded);
        }
    }
    (frames, keyframes)
}

#[test]
fn members_decode_their_views_on_a_perfect_link() {
    let (frames, keyframes) = members_decode_their_views(700.0, Delivery::Every);
    assert_eq!((frames, keyframes), (900, 3), "one keyframe each, then deltas");
}

#[test]
fn members_decode_their_views_through_dropped_frames() {
    let (frames, keyframes) = members_decode_their_views(700.0, Delivery::DropEveryThird);
    assert_eq!((frames, keyframes), (600, 3), "a dropped frame costs no keyframe");
}

#[test]
fn a_stall_longer_than_the_room_history_falls_back_to_a_keyframe() {
    let (frames, keyframes) = members_decode_their_views(700.0, Delivery::LongStall);
    assert_eq!((frames, keyframes), (660, 6), "one keyframe each after the stall");
}

#[test]
fn without_a_radius_members_with_any_baseline_decode_their_views() {
    // Bodies are shared between members holding the same baseline: with three different
    // delivery patterns, members hold the previous frame, older ones, or none.
    let (frames, keyframes) = members_decode_their_views_each(
        0.0,
        [Delivery::Every, Delivery::DropEveryThird, Delivery::LongStall],
        1,
    );
    assert_eq!((frames, keyframes), (300 + 200 + 220, 4), "one keyframe each, one after the stall");
}

#[test]
fn members_sent_in_turn_decode_their_views() {
    // A room ticking three times per send gives each tick's snapshots to a third of its
    // members; members 1, 17 and 40 fall on three different ticks.
    let every = [Delivery::Every; 3];
    assert_eq!(members_decode_their_views_each(700.0, every, 3), (900, 3), "deltas after one key");
    let mixed = [Delivery::Every, Delivery::DropEveryThird, Delivery::LongStall];
    let expected = (300 + 200 + 220, 4);
    let staggered = members_decode_their_views_each(700.0, mixed, 3);
    assert_eq!(staggered, expected, "a dropped frame costs nothing, a long stall a keyframe");
    let shared = members_decode_their_views_each(0.0, mixed, 3);
    assert_eq!(shared, expected, "the same with bodies shared by baseline");
}

#[test]
fn everyone_sees_everyone_without_a_radius() {
    let mut room = Room::new(0.0);
    room.step();
    let mut viewer = Viewer::default();
    room.view.snapshot_frame(PlayerId(3), &mut viewer, 0, 0, None);
    assert_eq!(viewer.visible().len(), PLAYERS as usize, "radius 0: the whole room");
}

#[test]
fn a_radius_limits_the_view_and_players_come_and_go() {
    let mut room = Room::new(700.0);
    let mut viewer = Viewer::default();
    let mut sizes = Vec::new();
    for _ in 0..300 {
        room.step();
        room.view.snapshot_frame(PlayerId(1), &mut viewer, 0, 0, None);
        sizes.push(viewer.visible().len());
    }
    let (least, most) = (sizes.iter().min().copied(), sizes.iter().max().copied());
    assert!(most < Some(PLAYERS as usize), "never the whole room: {most:?}");
    assert!(least != most, "players enter and leave the view: {least:?}..{most:?}");
}

#[test]
fn the_camera_keeps_its_view_inside_the_map() {
    let map = Vec2::new(4000.0, 1000.0);
    let half = Vec2::new(600.0, 400.0);
    let cases = [
        (Vec2::new(2000.0, 500.0), Vec2::new(2000.0, 500.0), "in the middle: on the ship"),
        (Vec2::new(100.0, 100.0), Vec2::new(600.0, 400.0), "in a corner: pushed inside"),
        (Vec2::new(3990.0, 990.0), Vec2::new(3400.0, 600.0), "the far corner"),
    ];
    for (ship, expected, why) in cases {
        assert_eq!(camera_center(ship, map, half), expected, "{why}");
    }
    let narrow = Vec2::new(4000.0, 500.0);
    assert_eq!(camera_center(Vec2::new(50.0, 50.0), narrow, half).y, 250.0, "centred when small");
}

#[test]
fn a_beam_is_seen_when_it_crosses_the_view_even_with_both_ends_outside() {
    let view = (Vec2::new(0.0, 0.0), Vec2::new(100.0, 100.0));
    let meets = |a: (f32, f32), b: (f32, f32)| {
        segment_meets_box(Vec2::new(a.0, a.1), Vec2::new(b.0, b.1), view)
    };
    assert!(meets((-50.0, 50.0), (150.0, 50.0)), "straight across");
    assert!(meets((50.0, 50.0), (500.0, 500.0)), "starting inside");
    assert!(meets((50.0, -10.0), (50.0, 10.0)), "vertical, ending inside");
    assert!(!meets((-50.0, -50.0), (-10.0, 150.0)), "passing beside");
    assert!(!meets((120.0, -60.0), (160.0, 40.0)), "passing a corner outside");
    assert!(meets((-10.0, 90.0), (10.0, 110.0)), "clipping a corner");
}

#[test]
fn every_screen_the_client_allows_lies_inside_the_sight_the_server_assumes() {
    let map = Vec2::new(4000.0, 3000.0);
    let mut seed = 7u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        f32::from((seed % 10_000) as u16) / 10_000.0
    };
    for _ in 0..10_000 {
        let ship = Vec2::new(next() * map.x, next() * map.y);
        let half = MIN_VIEW_HALF + Vec2::new(next(), next()) * (MAX_VIEW_HALF - MIN_VIEW_HALF);
        // The client's camera follows its own idea of the ship, a little off the server's.
        let followed = ship + (Vec2::new(next(), next()) * 2.0 - 1.0) * SIGHT_MARGIN;
        let center = camera_center(followed, map, half);
        let (min, max) = sight(ship, map, half);
        let (low, high) = (center - half, center + half);
        assert!(
            low.cmpge(min - 1e-3).all() && high.cmple(max + 1e-3).all(),
            "ship {ship}, half {half}: view {low}..{high} outside sight {min}..{max}"
        );
    }
    let (small, _) = sight(Vec2::splat(2000.0), map, Vec2::new(700.0, 400.0));
    let (large, _) = sight(Vec2::splat(2000.0), map, MAX_VIEW_HALF);
    assert!(small.cmpgt(large).all(), "a smaller screen is sent less");
}

#[test]
fn a_spectator_decodes_the_players_around_its_camera_and_never_itself() {
    let mut room = Room::new(700.0);
    let mut viewer = Viewer::default();
    let mut decoder = Decoder::default();
    let mut held: Option<Tick> = None;
    let map = room.world.map.size();
    for t in 0..200u32 {
        room.step();
        // The camera pans from one corner of the players' area to the other.
        let at = Vec2::splat(1000.0 + 10.0 * t as f32);
        let center = look_center(Some(MapPoint::from_world(at)), map);
        let bytes = room.view.snapshot_frame_at(center, &mut viewer, 0, held);
        let Ok(ServerMsg::Snapshot(delta)) = decode_server(&bytes) else { panic!("a snapshot") };
        let decoded = decoder.decode(&delta).expect("decodes against what it holds");
        assert_eq!(decoded, room.expected(&viewer, 0), "tick {t}: the camera's view");
        let radius_sq = (700.0 * crate::interest::HYSTERESIS).powi(2);
        assert!(
            decoded
                .players
                .iter()
                .all(|p| room.world.players[&p.id].pos.distance_squared(center) <= radius_sq),
            "tick {t}: only players near the camera"
        );
        assert!(decoded.players.len() < PLAYERS as usize, "tick {t}: not the whole room");
        held = Some(decoded.tick);
    }
    room.step();
    let far = room.view.snapshot_frame_at(Vec2::new(3990.0, 10.0), &mut viewer, 0, held);
    let Ok(ServerMsg::Snapshot(delta)) = decode_server(&far) else { panic!("a snapshot") };
    assert!(decoder.decode(&delta).expect("decodes").players.is_empty(), "nobody in that corner");
}

#[test]
fn without_a_radius_a_spectator_sees_everyone_and_shares_the_body() {
    let mut room = Room::new(0.0);
    room.step();
    let (mut member, mut spectator) = (Viewer::default(), Viewer::default());
    let ours = room.view.snapshot_frame(PlayerId(3), &mut member, 0, 0, None);
    let theirs = room.view.snapshot_frame_at(Vec2::ZERO, &mut spectator, 0, None);
    assert_eq!(spectator.visible().len(), PLAYERS as usize, "the whole room");
    assert_eq!(ours, theirs, "a keyframe acknowledging nothing: the same bytes");
}

#[test]
fn a_spectator_looks_at_the_map_centre_until_it_says_and_stays_on_the_map() {
    let map = Vec2::new(4000.0, 3000.0);
    assert_eq!(look_center(None, map), Vec2::new(2000.0, 1500.0));
    let far = MapPoint { x: 60_000, y: 10 };
    assert_eq!(look_center(Some(far), map), Vec2::new(4000.0, 10.0), "clamped to the map");
}

#[test]
fn a_spectator_scoreboard_has_the_top_and_no_you() {
    let ranking: Vec<ScoreEntry> = (1..=12)
        .map(|id| ScoreEntry { id: PlayerId(id), score: 20 - id as i32, deaths: 0 })
        .collect();
    let Ok(ServerMsg::Scoreboard(board)) = decode_server(&spectator_scoreboard_frame(&ranking))
    else {
        panic!("a scoreboard")
    };
    assert_eq!(board.top.len(), 10);
    assert_eq!((board.your_rank, board.you, board.players), (0, ScoreEntry::default(), 12));
}

#[test]
fn beams_cross_the_screen_and_lose_their_start_when_the_shooter_is_drawn() {
    let point = |x: u16, y: u16| MapPoint { x, y };
    let lines = [
        ShotLine::new(PlayerId(2), point(50, 50), point(60, 60)),
        ShotLine::new(PlayerId(5), point(500, 500), point(900, 900)),
        ShotLine::new(PlayerId(7), point(150, 50), point(50, 50)),
        ShotLine::new(PlayerId(9), point(300, 50), point(50, 50)),
    ];
    let screen = (Vec2::ZERO, Vec2::splat(200.0));
    let mut beams = Vec::new();
    beams_in_sight(&lines, screen, (None, &[PlayerId(2), PlayerId(9)]), false, &mut beams);
    let starts: Vec<_> = beams.iter().map(|b| (b.shooter.0, b.from.is_some())).collect();
    assert_eq!(starts, [(2, false), (7, true), (9, false)], "5's shot is off screen");
    beams.clear();
    beams_in_sight(&lines, screen, (Some(PlayerId(7)), &[]), false, &mut beams);
    let starts: Vec<_> = beams.iter().map(|b| (b.shooter.0, b.from.is_some())).collect();
    assert_eq!(starts, [(2, true), (7, false), (9, true)], "its own beam starts at its ship");
    beams.clear();
    beams_in_sight(&lines, screen, (None, &[]), true, &mut beams);
    assert!(beams.iter().all(|b| b.from.is_none()), "everyone drawn: no starts");
}

#[test]
fn the_visible_set_keeps_hysteresis_across_joins_and_leaves() {
    // Between joins and leaves the previous set is tested as sample indices, across them as
    // ids: either way the set is the one the rule gives, measured on everyone.
    let radius = 700.0;
    let mut room = Room::new(radius);
    let mut viewer = Viewer::default();
    let mut next_id = PLAYERS + 1;
    let (mut kept_by_margin, mut roster_changes) = (0, 0);
    for t in 0..300 {
        if t % 25 == 12 {
            let gone = PlayerId(2 + t / 25);
            room.world.remove_player(gone);
            room.world.add_player(PlayerId(next_id));
            room.headings.push((3, -2));
            next_id += 1;
            roster_changes += 1;
        }
        room.step();
        let previous = viewer.visible().to_vec();
        room.view.snapshot_frame(PlayerId(1), &mut viewer, 0, 0, None);
        let me = room.world.players[&PlayerId(1)].pos;
        let expected: Vec<PlayerId> = room
            .world
            .players
            .values()
            .filter(|p| {
                let d = p.pos.distance_squared(me);
                d <= radius * radius
                    || (d <= (radius * crate::interest::HYSTERESIS).powi(2)
                        && previous.contains(&p.id))
            })
            .map(|p| p.id)
            .collect();
        kept_by_margin +=
            expected.iter().filter(|id| room.world.players[id].pos.distance(me) > radius).count();
        assert_eq!(viewer.visible(), expected, "tick {t}");
    }
    assert!(roster_changes >= 10 && kept_by_margin > 0, "{roster_changes}, {kept_by_margin}");
}

#[test]
fn a_kill_is_told_to_those_in_it_and_those_who_can_see_it() {
    let sight = sight(Vec2::new(1000.0, 1000.0), Vec2::new(4000.0, 4000.0), MAX_VIEW_HALF);
    let kill = |killer_at: Vec2, victim_at: Vec2| KillLine {
        killer: PlayerId(7),
        victim: PlayerId(8),
        killer_at,
        victim_at,
    };
    let far = Vec2::new(3500.0, 3500.0);
    let near = Vec2::new(1200.0, 900.0);
    let me = Some(PlayerId(1));
    assert!(!kill_in_sight(&kill(far, far), me, sight), "across the map: not told");
    assert!(kill_in_sight(&kill(near, far), me, sight), "the killer on screen");
    assert!(kill_in_sight(&kill(far, near), me, sight), "the victim on screen");
    assert!(kill_in_sight(&kill(far, far), Some(PlayerId(7)), sight), "its own kill");
    assert!(kill_in_sight(&kill(far, far), Some(PlayerId(8)), sight), "its own death");
    assert!(!kill_in_sight(&kill(far, far), None, sight), "a spectator: only what it sees");
    let edge = Vec2::new(sight.1.x - 1.0, sight.0.y + 1.0);
    assert!(kill_in_sight(&kill(far, edge), None, sight), "the screen's edge counts");
}
