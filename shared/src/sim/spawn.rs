//! Spawning and respawning ships at safe points, and health pickups.

use glam::Vec2;

use super::{MAX_HEALTH, PICKUP_HEAL, PICKUP_RADIUS, PICKUP_RESPAWN_SECS, PLAYER_RADIUS, World};
use crate::protocol::GameEvent;
use crate::tick::ticks_for_secs;

/// The spawn point farthest from every living ship (the first such point on ties).
pub(super) fn safest_spawn(world: &World) -> Vec2 {
    let spawns = &world.map.spawns;
    spawns[safest(&clearances(world, spawns))]
}

/// Per spawn point, the squared distance to the nearest living ship (infinite when none): one
/// pass over the ships for all the points.
fn clearances(world: &World, spawns: &[Vec2]) -> Vec<f32> {
    let mut nearest = vec![f32::INFINITY; spawns.len()];
    for player in world.players.values().filter(|p| p.alive()) {
        for (clearance, spawn) in nearest.iter_mut().zip(spawns) {
            *clearance = clearance.min(player.pos.distance_squared(*spawn));
        }
    }
    nearest
}

/// The index of the largest clearance, the first on ties (0 when all are equal).
fn safest(clearances: &[f32]) -> usize {
    let mut best = (f32::NEG_INFINITY, 0);
    for (index, &clearance) in clearances.iter().enumerate() {
        if clearance > best.0 {
            best = (clearance, index);
        }
    }
    best.1
}

/// Brings back every ship whose respawn time has come, each at the safest point given the
/// living ships and those brought back before it: the clearances are measured once a tick and
/// updated with each ship placed, rather than measured again per ship.
pub(super) fn respawn_players(world: &mut World, events: &mut Vec<GameEvent>) {
    let tick = world.tick;
    let due: Vec<_> = world
        .players
        .values()
        .filter(|p| p.respawn_at.is_some_and(|at| tick >= at))
        .map(|p| p.id)
        .collect();
    if due.is_empty() {
        return;
    }
    let spawns = world.map.spawns.clone();
    let mut clearances = clearances(world, &spawns);
    for id in due {
        let pos = spawns[safest(&clearances)];
        if let Some(player) = world.players.get_mut(&id) {
            player.pos = pos;
            player.vel = Vec2::ZERO;
            player.health = MAX_HEALTH;
            player.respawn_at = None;
            player.next_fire = tick;
            events.push(GameEvent::Respawned { id });
            for (clearance, spawn) in clearances.iter_mut().zip(&spawns) {
                *clearance = clearance.min(pos.distance_squared(*spawn));
            }
        }
    }
}

pub(super) fn take_pickups(world: &mut World, events: &mut Vec<GameEvent>) {
    let reach_sq = (PICKUP_RADIUS + PLAYER_RADIUS) * (PICKUP_RADIUS + PLAYER_RADIUS);
    let back_at = world.tick.plus(ticks_for_secs(PICKUP_RESPAWN_SECS, world.tick_hz));
    for (index, state) in world.pickups.iter_mut().enumerate() {
        if state.is_some() {
            continue;
        }
        let spot = world.map.pickups[index];
        let taker = world.players.values_mut().find(|p| {
            p.alive() && p.health < MAX_HEALTH && p.pos.distance_squared(spot) <= reach_sq
        });
        if let Some(player) = taker {
            player.health = player.health.saturating_add(PICKUP_HEAL).min(MAX_HEALTH);
            *state = Some(back_at);
            events.push(GameEvent::PickedUp { id: player.id, pickup: index as u8 });
        }
    }
}

pub(super) fn restore_pickups(world: &mut World) {
    let tick = world.tick;
    for state in &mut world.pickups {
        if state.is_some_and(|at| tick >= at) {
            *state = None;
        }
    }
}
