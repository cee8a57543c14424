use glam::Vec2;

use super::*;
use crate::codec::encode_server;
use crate::map::Wall;
use crate::protocol::{ServerMsg, Snapshot};

const HZ: u16 = 30;

fn open_map(walls: Vec<Wall>) -> Map {
    Map {
        id: "test".into(),
        width: 1000.0,
        height: 1000.0,
        walls,
        spawns: vec![Vec2::new(100.0, 500.0), Vec2::new(900.0, 500.0)],
        pickups: vec![Vec2::new(500.0, 900.0)],
    }
}

fn wall(x: f32, y: f32, w: f32, h: f32) -> Wall {
    Wall::from([x, y, w, h])
}

/// A world with players placed at `positions` (ids 1, 2, …), aiming right.
fn world_with(map: Map, positions: &[Vec2]) -> World {
    let mut world = World::new(map, HZ);
    for (i, pos) in positions.iter().enumerate() {
        let id = PlayerId(i as u32 + 1);
        assert!(world.add_player(id), "fresh id {id} is added");
        world.players.get_mut(&id).expect("just added").pos = *pos;
    }
    world
}

fn input(move_x: i8, move_y: i8, aim: (i16, i16), fire: bool) -> InputCmd {
    InputCmd {
        seq: 0,
        move_x,
        move_y,
        aim_x: aim.0,
        aim_y: aim.1,
        buttons: if fire { buttons::FIRE } else { 0 },
        ..InputCmd::default()
    }
}

fn run(world: &mut World, ticks: u32, inputs: &[(u32, InputCmd)]) -> Vec<GameEvent> {
    let inputs: TickInputs = inputs.iter().map(|(id, cmd)| (PlayerId(*id), *cmd)).collect();
    let mut events = Vec::new();
    for _ in 0..ticks {
        events.extend(step(world, &inputs));
    }
    events
}

fn pos(world: &World, id: u32) -> Vec2 {
    world.players[&PlayerId(id)].pos
}

/// Movement cases: (start, input, ticks, walls, expected end, tolerance).
#[test]
fn movement_cases() {
    let per_second = PLAYER_SPEED;
    let cases = [
        (
            "one second right",
            Vec2::new(200.0, 200.0),
            (127, 0),
            HZ as u32,
            vec![],
            Vec2::new(200.0 + per_second, 200.0),
        ),
        (
            "one second up",
            Vec2::new(500.0, 500.0),
            (0, -127),
            HZ as u32,
            vec![],
            Vec2::new(500.0, 500.0 - per_second),
        ),
        ("idle", Vec2::new(500.0, 500.0), (0, 0), HZ as u32, vec![], Vec2::new(500.0, 500.0)),
        (
            "stopped by map edge",
            Vec2::new(950.0, 500.0),
            (127, 0),
            HZ as u32,
            vec![],
            Vec2::new(1000.0 - PLAYER_RADIUS, 500.0),
        ),
        (
            "stopped by wall",
            Vec2::new(300.0, 500.0),
            (127, 0),
            HZ as u32,
            vec![wall(400.0, 400.0, 40.0, 200.0)],
            Vec2::new(400.0 - PLAYER_RADIUS, 500.0),
        ),
        (
            "slides along wall",
            Vec2::new(380.0, 300.0),
            (127, 127),
            HZ as u32,
            vec![wall(400.0, 0.0, 40.0, 1000.0)],
            Vec2::new(400.0 - PLAYER_RADIUS, 300.0 + per_second * std::f32::consts::FRAC_1_SQRT_2),
        ),
    ];
    for (name, start, (mx, my), ticks, walls, expected) in cases {
        let mut world = world_with(open_map(walls), &[start]);
        run(&mut world, ticks, &[(1, input(mx, my, (1, 0), false))]);
        let end = pos(&world, 1);
        assert!(end.distance(expected) < 1.5, "{name}: ended at {end}, expected about {expected}");
    }
}

#[test]
fn diagonal_and_oversized_input_never_exceeds_speed() {
    for (mx, my) in [(127, 127), (-128, -128), (127, -128), (-128, 127)] {
        let mut world = world_with(open_map(vec![]), &[Vec2::new(500.0, 500.0)]);
        let mut last = pos(&world, 1);
        for tick in 0..20 {
            run(&mut world, 1, &[(1, input(mx, my, (1, 0), false))]);
            let now = pos(&world, 1);
            let moved = now.distance(last);
            let limit = PLAYER_SPEED / f32::from(HZ) + 1e-3;
            assert!(moved <= limit, "tick {tick} input ({mx},{my}): moved {moved} > {limit}");
            last = now;
        }
    }
}

#[test]
fn the_position_grid_adds_no_speed_over_many_ticks() {
    for (mx, my) in [(127, 0), (0, -128), (127, 127), (90, -40)] {
        let start = Vec2::new(500.0, 500.0);
        let mut world = world_with(open_map(vec![]), &[start]);
        run(&mut world, 2 * u32::from(HZ), &[(1, input(mx, my, (1, 0), false))]);
        let moved = pos(&world, 1).distance(start);
        let limit = PLAYER_SPEED * 2.0;
        assert!(moved <= limit, "input ({mx},{my}): {moved} units in 2 s > {limit}");
        assert!(moved > limit * 0.98 || (mx, my) == (90, -40), "still full speed: {moved}");
    }
}

#[test]
fn positions_stay_on_the_wire_grid() {
    let mut world =
        world_with(open_map(vec![wall(300.0, 300.0, 50.0, 50.0)]), &[Vec2::new(250.0, 250.0)]);
    for tick in 0..60 {
        run(&mut world, 1, &[(1, input(100, 77, (1, 0), false))]);
        let p = pos(&world, 1) * crate::protocol::POS_SCALE;
        assert_eq!(p, p.round(), "tick {tick}: position {p} is not on the 1/16 grid");
    }
}

#[test]
fn laser_hits_target_in_line() {
    let mut world =
        world_with(open_map(vec![]), &[Vec2::new(200.0, 500.0), Vec2::new(600.0, 500.0)]);
    let events = run(&mut world, 1, &[(1, input(0, 0, (1, 0), true))]);
    let shot = events.iter().find(|e| matches!(e, GameEvent::Shot { .. })).expect("a shot event");
    let GameEvent::Shot { shooter, to, hit, .. } = shot else { unreachable!() };
    assert_eq!((*shooter, *hit), (PlayerId(1), Some(PlayerId(2))), "player 1 hits player 2");
    let end_x = to.to_world().x;
    assert!(
        // Effects carry whole units.
        (end_x - (600.0 - PLAYER_RADIUS)).abs() <= 0.5,
        "laser stops at the target's edge, got {end_x}"
    );
    assert_eq!(world.players[&PlayerId(2)].health, MAX_HEALTH - LASER_DAMAGE, "target lost health");
}

#[test]
fn wall_blocks_laser() {
    let map = open_map(vec![wall(390.0, 400.0, 20.0, 200.0)]);
    let mut world = world_with(map, &[Vec2::new(200.0, 500.0), Vec2::new(600.0, 500.0)]);
    let events = run(&mut world, 1, &[(1, input(0, 0, (1, 0), true))]);
    assert!(
        events.iter().any(|e| matches!(e, GameEvent::Shot { hit: None, .. })),
        "the shot is stopped by the wall: {events:?}"
    );
    assert_eq!(world.players[&PlayerId(2)].health, MAX_HEALTH, "target behind the wall is unhurt");
}

#[test]
fn miss_when_aiming_away() {
    let mut world =
        world_with(open_map(vec![]), &[Vec2::new(200.0, 500.0), Vec2::new(600.0, 500.0)]);
    let events = run(&mut world, 1, &[(1, input(0, 0, (0, 1), true))]);
    assert!(events.iter().any(|e| matches!(e, GameEvent::Shot { hit: None, .. })), "{events:?}");
}

#[test]
fn holding_fire_respects_cooldown() {
    let mut world = world_with(open_map(vec![]), &[Vec2::new(200.0, 500.0)]);
    let ticks = 3 * u32::from(HZ);
    let events = run(&mut world, ticks, &[(1, input(0, 0, (1, 0), true))]);
    let shots = events.iter().filter(|e| matches!(e, GameEvent::Shot { .. })).count() as u32;
    let cooldown = fire_cooldown_ticks(HZ);
    assert_eq!(shots, ticks.div_ceil(cooldown), "one shot per {cooldown} ticks");
}

#[test]
fn kill_scores_then_victim_respawns() {
    let mut world =
        world_with(open_map(vec![]), &[Vec2::new(200.0, 500.0), Vec2::new(600.0, 500.0)]);
    let shots_to_kill = u32::from(MAX_HEALTH.div_ceil(LASER_DAMAGE));
    let ticks = (shots_to_kill - 1) * fire_cooldown_ticks(HZ) + 1;
    let events =
        run(&mut world, ticks, &[(1, input(0, 0, (1, 0), true)), (2, input(0, 0, (0, 0), false))]);
    assert!(
        events.contains(&GameEvent::Killed { killer: PlayerId(1), victim: PlayerId(2) }),
        "kill event after {shots_to_kill} hits: {events:?}"
    );
    let (killer, victim) = (&world.players[&PlayerId(1)], &world.players[&PlayerId(2)]);
    assert_eq!((killer.score, victim.deaths), (1, 1), "score and death counted");
    assert!(!victim.alive(), "victim is dead");

    // Dead players neither move nor get hit; then they come back with full health.
    let dead_pos = pos(&world, 2);
    let respawn_ticks = ticks_for_secs(RESPAWN_SECS, HZ);
    let events = run(
        &mut world,
        respawn_ticks - 1,
        &[(1, input(0, 0, (0, 0), false)), (2, input(127, 0, (0, 0), false))],
    );
    assert_eq!(pos(&world, 2), dead_pos, "a dead player does not move");
    assert!(!events.iter().any(|e| matches!(e, GameEvent::Respawned { .. })), "no early respawn");
    let events = run(&mut world, 1, &[(2, input(0, 0, (0, 0), false))]);
    assert!(
        events.contains(&GameEvent::Respawned { id: PlayerId(2) }),
        "respawn on time: {events:?}"
    );
    let victim = &world.players[&PlayerId(2)];
    assert!(victim.alive() && victim.health == MAX_HEALTH, "back alive at full health");
    assert_eq!(
        victim.pos,
        Vec2::new(900.0, 500.0),
        "respawned at the spawn farthest from the killer"
    );
}

#[test]
fn pickup_heals_and_returns_later() {
    let mut world = world_with(open_map(vec![]), &[Vec2::new(500.0, 880.0)]);
    world.players.get_mut(&PlayerId(1)).expect("player").health = 30;
    let events = run(&mut world, 1, &[(1, input(0, 0, (0, 0), false))]);
    assert!(events.contains(&GameEvent::PickedUp { id: PlayerId(1), pickup: 0 }), "{events:?}");
    assert_eq!(world.players[&PlayerId(1)].health, 30 + PICKUP_HEAL, "healed");
    assert_eq!(world.pickup_bits(), 0, "pickup gone");
    run(&mut world, ticks_for_secs(PICKUP_RESPAWN_SECS, HZ), &[]);
    assert_eq!(world.pickup_bits(), 1, "pickup back after its delay");
}

#[test]
fn full_health_player_leaves_pickup() {
    let mut world = world_with(open_map(vec![]), &[Vec2::new(500.0, 880.0)]);
    run(&mut world, 1, &[]);
    assert_eq!(world.pickup_bits(), 1, "a healthy player does not waste the pickup");
}

#[test]
fn a_tick_without_a_command_stands_still_but_keeps_aim_and_trigger() {
    let mut world =
        world_with(open_map(vec![]), &[Vec2::new(200.0, 500.0), Vec2::new(600.0, 500.0)]);
    run(&mut world, 1, &[(1, input(127, 0, (1, 0), true))]);
    let after_one = pos(&world, 1);
    let step = world.players[&PlayerId(1)].vel;
    let events = run(&mut world, 1, &[]);
    assert_eq!(pos(&world, 1), after_one, "movement is only ever a command's");
    assert_eq!(world.players[&PlayerId(1)].vel, step, "the heading is kept for dead reckoning");
    let later = run(&mut world, fire_cooldown_ticks(HZ), &[]);
    let shots = events.iter().chain(&later).filter(|e| matches!(e, GameEvent::Shot { .. }));
    assert!(shots.count() >= 1, "a held trigger keeps firing without fresh commands");
}

#[test]
fn several_commands_in_one_tick_each_move_one_step() {
    let mut one_by_one = world_with(open_map(vec![]), &[Vec2::new(200.0, 500.0)]);
    let mut at_once = one_by_one.clone();
    let right = input(127, 0, (1, 0), false);
    run(&mut one_by_one, 3, &[(1, right)]);
    let inputs: TickInputs =
        [right, right, right].map(|cmd| (PlayerId(1), cmd)).into_iter().collect();
    step(&mut at_once, &inputs);
    step(&mut at_once, &TickInputs::new());
    step(&mut at_once, &TickInputs::new());
    assert_eq!(
        pos(&at_once, 1),
        pos(&one_by_one, 1),
        "three commands are three steps, whenever applied"
    );
    assert_eq!(at_once.players[&PlayerId(1)].vel, one_by_one.players[&PlayerId(1)].vel);
}

/// A pseudo-random but fixed input script for `players` players over `ticks` ticks.
fn scripted_run(players: u32, ticks: u32) -> Vec<Vec<u8>> {
    let map =
        crate::map::Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena");
    let mut world = World::new(map, HZ);
    for id in 1..=players {
        world.add_player(PlayerId(id));
    }
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut frames = Vec::new();
    for _ in 0..ticks {
        // Everyone wanders at random and aims at the next player, firing half the time.
        let inputs: TickInputs = (1..=players)
            .map(|id| {
                let r = next();
                let target = world.players[&PlayerId(id % players + 1)].pos
                    - world.players[&PlayerId(id)].pos;
                let aim = (target.x as i16, target.y as i16);
                let cmd =
                    input((r & 0xff) as u8 as i8, (r >> 8 & 0xff) as u8 as i8, aim, r >> 31 == 1);
                (PlayerId(id), cmd)
            })
            .collect();
        let events = step(&mut world, &inputs);
        let snapshot = Snapshot {
            tick: world.tick,
            ack_input: 0,
            players: world.players.values().map(Player::snap).collect(),
            pickups: world.pickup_bits(),
        };
        frames.push(encode_server(&ServerMsg::Snapshot(crate::delta::encode(None, &snapshot))));
        frames.push(encode_server(&ServerMsg::Events { beams: vec![], events }));
    }
    frames
}

#[test]
fn same_inputs_give_byte_identical_frames() {
    let first = scripted_run(6, 600);
    let second = scripted_run(6, 600);
    assert_eq!(first.len(), second.len(), "same frame count");
    for (i, (a, b)) in first.iter().zip(&second).enumerate() {
        assert_eq!(a, b, "frame {i} differs between two runs");
    }
    let kills = first.iter().filter(|f| crate::codec::decode_server(f).is_ok_and(|m| matches!(m, ServerMsg::Events { events, .. } if events.iter().any(|e| matches!(e, GameEvent::Killed { .. }))))).count();
    assert!(kills > 0, "the script exercises combat (kills happened)");
}

/// A target crossing the shooter's line of fire, seen by a shooter with a 150 ms delay.
fn crossing_world() -> (World, Tick) {
    let mut world =
        world_with(open_map(vec![]), &[Vec2::new(500.0, 200.0), Vec2::new(400.0, 600.0)]);
    let aim_down = input(0, 0, (0, 1), false);
    let run_right = input(127, 0, (0, 0), false);
    // Step until the target is right under the shooter; that is what the shooter sees.
    let mut seen_at = None;
    for _ in 0..60 {
        run(&mut world, 1, &[(1, aim_down), (2, run_right)]);
        if (pos(&world, 2).x - 500.0).abs() < 4.0 {
            seen_at = Some(world.tick);
            break;
        }
    }
    let seen_at = seen_at.expect("the target crosses x = 500");
    // 150 ms later (at 30 Hz, 5 ticks minus the firing tick) the target has moved on.
    run(&mut world, 4, &[(1, aim_down), (2, run_right)]);
    (world, seen_at)
}

fn fire_seen_at(mut world: World, view_tick: Tick) -> Option<PlayerId> {
    let fire = InputCmd { view_tick, ..input(0, 0, (0, 1), true) };
    let events = run(&mut world, 1, &[(1, fire), (2, input(127, 0, (0, 0), false))]);
    events.iter().find_map(|e| match e {
        GameEvent::Shot { hit, .. } => Some(*hit),
        _ => None,
    })?
}

#[test]
fn lag_compensation_hits_what_the_shooter_saw() {
    let (world, seen_at) = crossing_world();
    let target_now = pos(&world, 2).x + PLAYER_SPEED / f32::from(HZ);
    assert!(
        (target_now - 500.0).abs() > PLAYER_RADIUS,
        "without rewind the target has left the line (x={target_now})"
    );
    assert_eq!(
        fire_seen_at(world.clone(), world.tick.next()),
        None,
        "aiming at the present misses"
    );
    assert_eq!(
        fire_seen_at(world, seen_at),
        Some(PlayerId(2)),
        "aiming at what was seen 150 ms ago hits"
    );
}

#[test]
fn lag_compensation_is_capped() {
    let (world, seen_at) = crossing_world();
    let too_old = Tick(seen_at.0.saturating_sub(20));
    assert_eq!(
        fire_seen_at(world, too_old),
        None,
        "a view older than {MAX_REWIND_SECS} s is clamped, not trusted"
    );
}
