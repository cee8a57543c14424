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

/// The server repeated the newest command for ticks whose own commands had not reached it (its
/// pacing), and acknowledged them: where that left the ship is no correction when the owner
/// kept steering the same way, and is one when the owner had turned.
#[test]
fn an_acknowledgement_past_the_newest_command_is_held_against_its_repeats() {
    let map = arena();
    let dt = 1.0 / f32::from(HZ);
    let start = Vec2::new(400.0, 400.0);
    let east = InputCmd { move_x: 127, ..InputCmd::default() };
    for (turned, expect_error) in [(false, false), (true, true)] {
        let mut predictor = Predictor::new();
        predictor.reconcile(&map, start, true, 0, dt);
        for seq in 1..=3 {
            predictor.predict(&map, InputCmd { seq, ..east }, dt);
        }
        let at_three = predictor.position().expect("placed");
        // The server applied 1–3 and repeated 3 for 4 and 5; the owner meant 4 to go north.
        let repeat = |pos| move_player(&map, pos, move_vector(&east), dt);
        let server = repeat(repeat(at_three));
        let error = predictor.reconcile(&map, server, true, 5, dt);
        assert_eq!(error, 0.0, "the repeats are what the prediction expects");
        assert_eq!(predictor.position(), Some(server), "and the ship is where the server has it");
        let north = InputCmd { seq: 6, move_y: -127, ..InputCmd::default() };
        let next = if turned { north } else { InputCmd { seq: 6, ..east } };
        predictor.predict(&map, next, dt);
        let predicted = predictor.position().expect("placed");
        // The server repeats 5 for 6 as well: right unless the owner turned.
        let error = predictor.reconcile(&map, repeat(server), true, 6, dt);
        assert_eq!(error > 0.0, expect_error, "turned {turned}: error {error}");
        assert_eq!(predicted == repeat(server), !expect_error);
    }
}
