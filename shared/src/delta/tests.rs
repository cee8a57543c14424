use super::*;
use crate::codec::encode_server;
use crate::protocol::{DeltaBase, ServerMsg};

fn player(id: u32, x: i32, y: i32, vx: i32, vy: i32) -> PlayerSnap {
    PlayerSnap {
        id: PlayerId(id),
        x,
        y,
        vx,
        vy,
        aim: 100,
        health: 100,
        alive: true,
        score: 0,
        deaths: 0,
    }
}

fn snap(tick: u32, players: Vec<PlayerSnap>) -> Snapshot {
    Snapshot { tick: Tick(tick), ack_input: tick, players, pickups: 0b101 }
}

/// A pseudo-random sequence of views: players wander, change speed, die, enter and leave.
fn scripted_views(ticks: u32) -> Vec<Snapshot> {
    let mut state = 0x1234_5678_u32;
    let mut rand = move |n: u32| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state % n
    };
    let mut players: Vec<PlayerSnap> =
        (1..=12).map(|id| player(id, id as i32 * 800, 1600, 0, 0)).collect();
    let mut views = Vec::new();
    for tick in 1..=ticks {
        for p in &mut players {
            if rand(30) == 0 {
                p.vx = rand(200) as i32 - 100;
                p.vy = rand(200) as i32 - 100;
            }
            p.x += p.vx;
            p.y += p.vy;
            if rand(100) == 0 {
                p.health = p.health.saturating_sub(25);
                p.alive = p.health > 0;
            }
            if rand(200) == 0 {
                p.score += 1;
            }
        }
        // Each view shows a window of ids that drifts, so players enter and leave.
        let low = 1 + (tick / 20) % 6;
        let view = players.iter().filter(|p| p.id.0 >= low && p.id.0 < low + 6).copied().collect();
        views.push(snap(tick, view));
    }
    views
}

#[test]
fn round_trips_against_every_baseline_in_the_history() {
    let views = scripted_views(200);
    for (i, current) in views.iter().enumerate() {
        let keyframe = encode(None, current);
        assert_eq!(
            apply(None, &keyframe).as_ref(),
            Ok(current),
            "keyframe at tick {}",
            current.tick.0
        );
        for base in views[i.saturating_sub(HISTORY)..i].iter() {
            let delta = encode(Some(base), current);
            assert_eq!(
                apply(Some(base), &delta).as_ref(),
                Ok(current),
                "tick {} against {}",
                current.tick.0,
                base.tick.0
            );
        }
    }
}

#[test]
fn constant_velocity_and_unchanged_players_cost_nothing() {
    let base = snap(10, vec![player(1, 0, 0, 107, 0), player(2, 500, 500, 0, 0)]);
    let current = snap(13, vec![player(1, 3 * 107, 0, 107, 0), player(2, 500, 500, 0, 0)]);
    let delta = encode(Some(&base), &current);
    assert!(delta.updates.is_empty() && delta.removed.is_empty(), "nothing to send: {delta:?}");
    let turned = snap(11, vec![player(1, 107, 5, 107, 5), player(2, 500, 500, 0, 0)]);
    let delta = encode(Some(&base), &turned);
    assert_eq!(
        delta.updates,
        vec![EntityUpdate { id: PlayerId(1), vel: Some((107, 5)), ..EntityUpdate::default() }],
        "a turn since the baseline costs its new velocity alone"
    );
    let bumped = snap(11, vec![player(1, 100, 0, 107, 0), player(2, 500, 500, 0, 0)]);
    assert_eq!(
        encode(Some(&base), &bumped).updates,
        vec![EntityUpdate { id: PlayerId(1), pos: Some((-7, 0)), ..EntityUpdate::default() }],
        "a position off the reckoned one costs the error alone"
    );
}

#[test]
fn delta_is_much_smaller_than_a_keyframe() {
    let views = scripted_views(100);
    let (mut delta_bytes, mut key_bytes) = (0, 0);
    for pair in views.windows(2) {
        delta_bytes += encode_server(&ServerMsg::Snapshot(encode(Some(&pair[0]), &pair[1]))).len();
        key_bytes += encode_server(&ServerMsg::Snapshot(encode(None, &pair[1]))).len();
    }
    println!("99 frames: {delta_bytes} bytes as deltas, {key_bytes} bytes as keyframes");
    assert!(
        delta_bytes * 3 < key_bytes,
        "deltas ({delta_bytes} B) are under a third of keyframes ({key_bytes} B)"
    );
}

#[test]
fn decoder_refuses_bad_deltas() {
    let mut decoder = Decoder::default();
    let base = snap(5, vec![player(1, 0, 0, 0, 0), player(3, 0, 0, 0, 0)]);
    let key = encode(None, &base);
    decoder.decode(&key).expect("keyframe decodes");

    let after = |baseline_low, age| SnapshotDelta {
        base: DeltaBase::Delta { baseline_low, age, ack_advance: 1 },
        ..SnapshotDelta::default()
    };
    assert_eq!(decoder.decode(&after(4, 2)), Err(DeltaError::MissingBaseline(4)));
    assert_eq!(decoder.decode(&after(5, 0)), Err(DeltaError::ZeroAge), "not newer than its base");
    assert_eq!(
        decoder.decode(&after(5, 1)).map(|s| (s.tick, s.ack_input)),
        Ok((Tick(6), 6)),
        "tick and acknowledgement are rebuilt from the baseline"
    );

    let update = |id| EntityUpdate { id: PlayerId(id), health: Some(1), ..EntityUpdate::default() };
    let unordered = SnapshotDelta {
        base: DeltaBase::Delta { baseline_low: 5, age: 1, ack_advance: 0 },
        updates: vec![update(3), update(1)],
        ..SnapshotDelta::default()
    };
    assert_eq!(decoder.decode(&unordered), Err(DeltaError::Unordered));

    let ghost = SnapshotDelta {
        base: DeltaBase::Delta { baseline_low: 5, age: 1, ack_advance: 0 },
        removed: vec![PlayerId(2)],
        ..SnapshotDelta::default()
    };
    assert_eq!(decoder.decode(&ghost), Err(DeltaError::BadRemoval(PlayerId(2))));

    let both = SnapshotDelta {
        base: DeltaBase::Delta { baseline_low: 5, age: 1, ack_advance: 0 },
        removed: vec![PlayerId(1)],
        updates: vec![update(1)],
        ..SnapshotDelta::default()
    };
    assert_eq!(decoder.decode(&both), Err(DeltaError::BadRemoval(PlayerId(1))));

    let overflow = SnapshotDelta {
        base: DeltaBase::Delta { baseline_low: 5, age: 1, ack_advance: 0 },
        updates: vec![EntityUpdate {
            id: PlayerId(1),
            pos: Some((i32::MAX, i32::MIN)),
            ..EntityUpdate::default()
        }],
        ..SnapshotDelta::default()
    };
    assert!(decoder.decode(&overflow).is_ok(), "extreme values wrap instead of panicking");
}

#[test]
fn a_turn_between_sent_ticks_and_a_tick_without_a_command_cost_one_byte() {
    let base = snap(30, vec![player(1, 0, 0, 53, 0), player(2, 900, 900, 0, 53)]);
    // Three ticks later: ship 1 kept its old velocity for one tick, then turned; ship 2 stood
    // still for one of the three (no command that tick).
    let now = snap(33, vec![player(1, 53, 2 * 53, 0, 53), player(2, 900, 900 + 2 * 53, 0, 53)]);
    let delta = encode(Some(&base), &now);
    assert_eq!(
        delta.updates,
        vec![
            EntityUpdate {
                id: PlayerId(1),
                vel: Some((0, 53)),
                reckon: Some(Reckon { turned: 1, steps: 0 }),
                ..EntityUpdate::default()
            },
            EntityUpdate {
                id: PlayerId(2),
                reckon: Some(Reckon { turned: 0, steps: -1 }),
                ..EntityUpdate::default()
            },
        ],
        "each position is said by its reckoning, not its coordinates"
    );
    assert_eq!(apply(Some(&base), &delta), Ok(now.clone()), "and rebuilt exactly");
    let reckoned = encode_server(&ServerMsg::Snapshot(delta.clone())).len();
    let placed = encode_server(&ServerMsg::Snapshot(encode_placed(&base, &now))).len();
    // Here each coordinate pair is two one-byte varints (60 Hz speeds); at 30 Hz, or two
    // ticks off, a pair takes four to six.
    assert_eq!(reckoned + 2, placed, "a byte each instead of two coordinates");
    // A correction no reckoning makes (a wall, a respawn) still travels as coordinates.
    let bumped = snap(33, vec![player(1, 5, 3 * 53, 0, 53), player(2, 900, 900 + 3 * 53, 0, 53)]);
    let delta = encode(Some(&base), &bumped);
    assert_eq!(delta.updates[0].pos, Some((5, 0)), "{delta:?}");
    assert_eq!(apply(Some(&base), &delta), Ok(bumped));
}

/// `encode` with every position correction as coordinates (what a reckoning saves).
fn encode_placed(base: &Snapshot, now: &Snapshot) -> SnapshotDelta {
    let mut delta = encode(Some(base), now);
    let dt = now.tick.0.wrapping_sub(base.tick.0) as i32;
    for update in &mut delta.updates {
        let (b, n) = (
            base.players.iter().find(|p| p.id == update.id).expect("in the baseline"),
            now.players.iter().find(|p| p.id == update.id).expect("now"),
        );
        if update.reckon.take().is_some() {
            update.pos = Some((n.x - (b.x + n.vx * dt), n.y - (b.y + n.vy * dt)));
        }
    }
    delta
}

#[test]
fn a_reckoning_needs_a_baseline_and_its_byte_round_trips() {
    let delta = SnapshotDelta {
        base: DeltaBase::Keyframe { tick: Tick(5), ack_input: 0 },
        updates: vec![EntityUpdate {
            id: PlayerId(3),
            reckon: Some(Reckon { turned: 1, steps: 0 }),
            ..EntityUpdate::default()
        }],
        ..SnapshotDelta::default()
    };
    assert_eq!(apply(None, &delta), Err(DeltaError::NothingToReckon(PlayerId(3))));
    for byte in 0..=u8::MAX {
        let reckon = Reckon::from_byte(byte);
        assert!(reckon.turned <= Reckon::MAX_TURNED && Reckon::STEPS.contains(&reckon.steps));
        assert_eq!(reckon.to_byte(), byte, "{reckon:?}");
    }
}

#[test]
fn the_reckoning_is_found_whenever_one_exists() {
    let mut state = 0x9e37_79b9_u32;
    let mut rand = move |n: i32| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % (2 * n as u32 + 1)) as i32 - n
    };
    for _ in 0..20_000 {
        let before = (rand(3) * 53, rand(3) * 53);
        let velocity = if rand(2) == 0 { before } else { (rand(3) * 53, rand(3) * 53) };
        let dt = rand(4) + 5;
        let made =
            Reckon { turned: rand(7).unsigned_abs() as u8, steps: rand(8).clamp(-8, 7) as i8 };
        let error =
            if rand(4) == 0 { (rand(200), rand(200)) } else { made.offset(before, velocity) };
        if error == (0, 0) {
            continue; // nothing to correct: asked only of positions off the reckoned one
        }
        let searched = (0..=Reckon::MAX_TURNED.min(dt as u8))
            .flat_map(|turned| Reckon::STEPS.map(move |steps| Reckon { turned, steps }))
            .filter(|r| (r.turned, r.steps) != (0, 0))
            .any(|r| r.offset(before, velocity) == error);
        let solved = reckoning(error, before, velocity, dt);
        assert_eq!(solved.is_some(), searched, "{error:?} {before:?} {velocity:?} {dt}");
        if let Some(reckon) = solved {
            assert_eq!(reckon.offset(before, velocity), error, "an exact correction");
        }
    }
}
