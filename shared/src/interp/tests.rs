use super::*;
use crate::protocol::{PlayerSnap, Snapshot, quantize_pos};
use crate::tick::Tick;

const HZ: u16 = 30;
const MS_PER_TICK: f64 = 1000.0 / 30.0;

fn snap(tick: u32, x: f32) -> Snapshot {
    Snapshot {
        tick: Tick(tick),
        ack_input: 0,
        players: vec![PlayerSnap {
            id: PlayerId(1),
            x: quantize_pos(x),
            y: 0,
            vx: 0,
            vy: 0,
            aim: 0,
            health: 100,
            alive: true,
            score: 0,
            deaths: 0,
        }],
        pickups: 0,
    }
}

#[test]
fn draws_between_the_two_snapshots_around_render_time() {
    let mut buffer = SnapshotBuffer::new(HZ);
    for tick in 0..5 {
        buffer.push(1000.0 + f64::from(tick) * MS_PER_TICK, snap(tick, tick as f32 * 10.0));
    }
    // Half a tick after tick 2's arrival, minus one tick of delay: render at tick 1.5.
    let drawn = buffer.sample(1000.0 + 2.5 * MS_PER_TICK, MS_PER_TICK);
    assert!(
        (drawn[0].pos.x - 15.0).abs() < 0.01,
        "halfway between x=10 and x=20, got {}",
        drawn[0].pos.x
    );
}

#[test]
fn motion_never_steps_backward_under_jitter() {
    let mut buffer = SnapshotBuffer::new(HZ);
    let mut last_x = f32::NEG_INFINITY;
    let jitter = [0.0, 12.0, 3.0, 19.0, 7.0, 0.5, 15.0];
    let mut next_snap = 0u32;
    for frame in 0..600 {
        let now = f64::from(frame) * 1000.0 / 60.0;
        while f64::from(next_snap) * MS_PER_TICK + jitter[next_snap as usize % jitter.len()] <= now
        {
            buffer.push(now, snap(next_snap, next_snap as f32 * 5.0));
            next_snap += 1;
        }
        let drawn = buffer.sample(now, 2.0 * MS_PER_TICK + 20.0);
        if let Some(player) = drawn.first() {
            assert!(
                player.pos.x >= last_x,
                "frame {frame}: x went back from {last_x} to {}",
                player.pos.x
            );
            last_x = player.pos.x;
        }
    }
    assert!(last_x > 400.0, "the player moved along, reached x={last_x}");
}

#[test]
fn stale_snapshots_are_ignored_and_teleports_snap() {
    let mut buffer = SnapshotBuffer::new(HZ);
    buffer.push(0.0, snap(10, 0.0));
    buffer.push(1.0, snap(9, 50.0));
    assert_eq!(buffer.latest().map(|s| s.tick), Some(Tick(10)), "older tick dropped");
    buffer.push(MS_PER_TICK, snap(11, 900.0));
    let drawn = buffer.sample(MS_PER_TICK * 0.5, 0.0);
    assert_eq!(drawn[0].pos.x, 900.0, "a jump of 900 units is drawn as a teleport");
}

#[test]
fn late_snapshots_extrapolate_briefly_then_hold() {
    let mut buffer = SnapshotBuffer::new(HZ);
    for tick in 0..3 {
        let mut s = snap(tick, tick as f32 * 10.0);
        s.players[0].vx = quantize_pos(10.0);
        buffer.push(f64::from(tick) * MS_PER_TICK, s);
    }
    let one_tick_late = buffer.sample(3.0 * MS_PER_TICK, 0.0);
    assert!(
        (one_tick_late[0].pos.x - 30.0).abs() < 0.01,
        "one tick past the newest: extrapolated to 30, got {}",
        one_tick_late[0].pos.x
    );
    let far_late = buffer.sample(20.0 * MS_PER_TICK, 0.0);
    assert!(
        (far_late[0].pos.x - 50.0).abs() < 0.01,
        "extrapolation stops after 3 ticks: {}",
        far_late[0].pos.x
    );
}

#[test]
fn delay_adapts_to_jitter() {
    let mut steady = SnapshotBuffer::new(HZ);
    let mut jittery = SnapshotBuffer::new(HZ);
    for tick in 0..200u32 {
        let on_time = f64::from(tick) * MS_PER_TICK;
        steady.push(on_time, snap(tick, 0.0));
        jittery.push(on_time + if tick % 2 == 0 { 0.0 } else { 20.0 }, snap(tick, 0.0));
    }
    let (calm, rough) = (steady.delay_ms(30), jittery.delay_ms(30));
    assert!((calm - 2.0 * MS_PER_TICK).abs() < 1.0, "steady link: two send intervals, got {calm}");
    assert!(rough > calm + 10.0, "jittery link waits longer: {rough} vs {calm}");
}
