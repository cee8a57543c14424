//! Spawning and respawning ships at safe points, and health pickups.

use glam::Vec2;

use super::{MAX_HEALTH, PICKUP_HEAL, PICKUP_RADIUS, PICKUP_RESPAWN_SECS, PLAYER_RADIUS, World};
use crate::protocol::GameEvent;
use crate::tick::ticks_for_secs;

/// The spawn point farthest from every living ship (the first such point on ties).
pub(super) fn safest_spawn(world: &World) -> Vec2 {
    let mut best = (f32::NEG_INFINITY, world.map.spawns[0]);
    for spawn in &world.map.spawns {
        let nearest = world
            .players
            .values()
            .filter(|p| p.alive())
            .map(|p| p.pos.distance_squared(*spawn))
            .fold(f32::INFINITY, f32::min);
        if nearest > best.0 {
            best = (nearest, *spawn);
        }
    }
    best.1
}

pub(super) fn respawn_players(world: &mut World, events: &mut Vec<GameEvent>) {
    let tick = world.tick;
    let due: Vec<_> = world
        .players
        .values()
        .filter(|p| p.respawn_at.is_some_and(|at| tick >= at))
        .map(|p| p.id)
        .collect();
    for id in due {
        let pos = safest_spawn(world);
        if let Some(player) = world.players.get_mut(&id) {
            player.pos = pos;
            player.vel = Vec2::ZERO;
            player.health = MAX_HEALTH;
            player.respawn_at = None;
            player.next_fire = tick;
            events.push(GameEvent::Respawned { id });
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
