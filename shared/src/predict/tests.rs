use std::collections::VecDeque;

use super::*;
use crate::ids::PlayerId;
use crate::sim::{self, TickInputs, World};
use crate::tick::Tick;

const HZ: u16 = 30;

fn arena() -> Map {
    Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena")
}

/// Inputs that steer into walls and around: collisions must replay identically.
fn scripted_input(seq: u32) -> InputCmd {
    let phase = (seq / 25) % 4;
    let (move_x, move_y) = [(127, 0), (0, 127), (-127, -40), (90, -127)][phase as usize];
    InputCmd { seq, move_x, move_y, aim_x: 1, aim_y: 0, buttons: 0, view_tick: Tick(0) }
}

/// Runs a server world and a predicting client joined by a link of `latency` ticks each way.
/// Returns the corrections the client saw.
fn play(latency: usize, ticks: u32) -> (Vec<f32>, Vec2, Vec2) {
    let map = arena();
    let dt = 1.0 / f32::from(HZ);
    let mut world = World::new(map.clone(), HZ);
    let me = PlayerId(1);
    world.add_player(me);
    let mut predictor = Predictor::new();
    let mut to_server: VecDeque<Option<InputCmd>> = VecDeque::from(vec![None; latency]);
    let mut to_client: VecDeque<Option<(Vec2, u32)>> = VecDeque::from(vec![None; latency]);
    let mut last_applied = 0;
    let mut corrections = Vec::new();
    for seq in 1..=ticks {
        let cmd = scripted_input(seq);
        predictor.predict(&map, cmd, dt);
        to_server.push_back(Some(cmd));
        // Server tick: apply the input that arrived this tick.
        let mut inputs = TickInputs::new();
        if let Some(Some(cmd)) = to_server.pop_front() {
            inputs.insert(me, cmd);
            last_applied = cmd.seq;
        }
        sim::step(&mut world, &inputs);
        to_client.push_back(Some((world.players[&me].pos, last_applied)));
        if let Some(Some((pos, ack))) = to_client.pop_front() {
            corrections.push(predictor.reconcile(&map, pos, true, ack, dt));
        }
    }
    let predicted = predictor.position().expect("tracking");
    (corrections, predicted, world.players[&me].pos)
}

#[test]
fn replay_reproduces_the_server_exactly_without_loss() {
    for latency in [0, 2, 5, 9] {
        let (corrections, predicted, _) = play(latency, 300);
        let worst = corrections.iter().copied().fold(0.0, f32::max);
        assert_eq!(
            worst, 0.0,
            "latency {latency} ticks: the prediction was never off (worst {worst})"
        );
        assert!(predicted.is_finite(), "latency {latency}: predicted position is a number");
    }
}

#[test]
fn prediction_runs_ahead_of_the_server_by_the_unacknowledged_inputs() {
    let (_, predicted, server) = play(5, 40);
    assert!(
        predicted.distance(server) > 1.0,
        "with 10 ticks in flight the client is ahead: {predicted} vs {server}"
    );
}

#[test]
fn small_corrections_are_smoothed_and_large_ones_snap() {
    let map = arena();
    let dt = 1.0 / f32::from(HZ);
    let mut predictor = Predictor::new();
    predictor.reconcile(&map, Vec2::new(100.0, 100.0), true, 0, dt);
    // The server says we are 10 units off: drawn position moves there gradually.
    let error = predictor.reconcile(&map, Vec2::new(110.0, 100.0), true, 0, dt);
    assert!((error - 10.0).abs() < 1e-3, "a 10 unit correction is reported: {error}");
    assert!((predictor.draw_pos().x - 100.0).abs() < 1e-3, "first drawn where it was");
    predictor.smooth(0.1);
    let halfway = predictor.draw_pos().x;
    assert!(halfway > 105.0 && halfway < 110.0, "then slides toward the truth: {halfway}");
    for _ in 0..30 {
        predictor.smooth(1.0 / 60.0);
    }
    assert!((predictor.draw_pos().x - 110.0).abs() < 0.05, "and arrives");
    // A respawn far away snaps at once.
    predictor.reconcile(&map, Vec2::new(1400.0, 1000.0), true, 0, dt);
    assert_eq!(predictor.draw_pos(), Vec2::new(1400.0, 1000.0), "a large correction snaps");
}

#[test]
fn acknowledged_inputs_are_forgotten() {
    let map = arena();
    let dt = 1.0 / f32::from(HZ);
    let mut predictor = Predictor::new();
    for seq in 1..=10 {
        predictor.predict(&map, scripted_input(seq), dt);
    }
    predictor.reconcile(&map, Vec2::new(100.0, 100.0), true, 7, dt);
    let left: Vec<u32> = predictor.unacked().map(|cmd| cmd.seq).collect();
    assert_eq!(left, vec![8, 9, 10], "only inputs after the ack remain");
}
