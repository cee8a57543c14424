//! Hitscan lasers: a ray from the shooter stopped by walls, map bounds and the first ship hit.

use glam::Vec2;

use super::{
    LASER_DAMAGE, LASER_RANGE, MAX_REWIND_SECS, PLAYER_RADIUS, World, fire_cooldown_ticks,
    wants_fire,
};
use crate::ids::PlayerId;
use crate::map::{Map, Wall};
use crate::protocol::{GameEvent, MapPoint};
use crate::tick::{Tick, ticks_for_secs};

/// Where a shot ended and whom it hit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShotResult {
    pub end: Vec2,
    pub hit: Option<PlayerId>,
}

/// Traces a laser from `origin` along the unit vector `dir` against the map and the `targets`
/// (id and centre of each ship that can be hit). Ties go to the lower id: targets must come in
/// id order.
pub fn trace_shot(
    map: &Map,
    origin: Vec2,
    dir: Vec2,
    targets: impl Iterator<Item = (PlayerId, Vec2)>,
) -> ShotResult {
    trace_among(map, origin, dir, targets, |_| true)
}

/// [`trace_shot`] against the `targets` that `can_hit`, asked only of those the ray meets
/// before anything nearer (the geometry is a few multiplications; the question may be a
/// lookup).
fn trace_among(
    map: &Map,
    origin: Vec2,
    dir: Vec2,
    targets: impl Iterator<Item = (PlayerId, Vec2)>,
    can_hit: impl Fn(PlayerId) -> bool,
) -> ShotResult {
    let mut reach = bounds_exit(map, origin, dir).min(LASER_RANGE);
    for wall in &map.walls {
        if let Some(t) = ray_box(origin, dir, wall) {
            reach = reach.min(t);
        }
    }
    let mut hit = None;
    for (id, center) in targets {
        if let Some(t) = ray_circle(origin, dir, center, PLAYER_RADIUS)
            && t < reach
            && can_hit(id)
        {
            reach = t;
            hit = Some(id);
        }
    }
    ShotResult { end: origin + dir * reach, hit }
}

/// Every alive player holding fire, off cooldown, shoots, in id order.
pub(super) fn fire(world: &mut World, events: &mut Vec<GameEvent>) {
    let cooldown = fire_cooldown_ticks(world.tick_hz);
    let respawn_delay = ticks_for_secs(super::RESPAWN_SECS, world.tick_hz);
    let shooters: Vec<PlayerId> = world
        .players
        .values()
        .filter(|p| p.alive() && wants_fire(&p.last_input) && world.tick >= p.next_fire)
        .map(|p| p.id)
        .collect();
    for shooter_id in shooters {
        let shooter = &world.players[&shooter_id];
        if !shooter.alive() {
            continue; // Killed earlier this tick by a lower id.
        }
        let (origin, dir) = (shooter.pos, shooter.aim);
        let shot = match rewound(world, shooter.last_input.view_tick) {
            // Lag compensation: the targets where the shooter saw them (if still alive).
            Some(past) => {
                let alive = |id: PlayerId| {
                    id != shooter_id && world.players.get(&id).is_some_and(|p| p.alive())
                };
                trace_among(&world.map, origin, dir, past.iter().copied(), alive)
            }
            None => {
                let targets = world
                    .players
                    .values()
                    .filter(|p| p.id != shooter_id && p.alive())
                    .map(|p| (p.id, p.pos));
                trace_shot(&world.map, origin, dir, targets)
            }
        };
        let tick = world.tick;
        if let Some(shooter) = world.players.get_mut(&shooter_id) {
            shooter.next_fire = tick.plus(cooldown);
        }
        events.push(GameEvent::Shot {
            shooter: shooter_id,
            from: MapPoint::from_world(origin),
            to: MapPoint::from_world(shot.end),
            hit: shot.hit,
        });
        let Some(victim_id) = shot.hit else { continue };
        let Some(victim) = world.players.get_mut(&victim_id) else { continue };
        victim.health = victim.health.saturating_sub(LASER_DAMAGE);
        if victim.health > 0 {
            continue;
        }
        victim.respawn_at = Some(tick.plus(respawn_delay));
        victim.deaths += 1;
        if let Some(shooter) = world.players.get_mut(&shooter_id) {
            shooter.score += 1;
        }
        events.push(GameEvent::Killed { killer: shooter_id, victim: victim_id });
    }
}

/// The recorded positions at the tick the shooter was looking at, clamped to
/// [`MAX_REWIND_SECS`] in the past; `None` means "now" (or nothing recorded that far back).
fn rewound(world: &World, view_tick: Tick) -> Option<&Vec<(PlayerId, Vec2)>> {
    let max_rewind = ticks_for_secs(MAX_REWIND_SECS, world.tick_hz);
    let oldest = Tick(world.tick.0.saturating_sub(max_rewind));
    let at = view_tick.max(oldest);
    if at >= world.tick {
        return None;
    }
    world.history.iter().find(|(tick, _)| *tick == at).map(|(_, positions)| positions)
}

/// Distance along the ray to the map's edge.
fn bounds_exit(map: &Map, origin: Vec2, dir: Vec2) -> f32 {
    let axis = |o: f32, d: f32, size: f32| {
        if d > 0.0 {
            (size - o) / d
        } else if d < 0.0 {
            -o / d
        } else {
            f32::INFINITY
        }
    };
    axis(origin.x, dir.x, map.width).min(axis(origin.y, dir.y, map.height)).max(0.0)
}

/// Slab test: distance along the ray to where it enters the box, if it does ahead of the origin.
fn ray_box(origin: Vec2, dir: Vec2, wall: &Wall) -> Option<f32> {
    let inv = dir.recip();
    let t1 = (wall.min - origin) * inv;
    let t2 = (wall.max - origin) * inv;
    let t_near = t1.min(t2).max_element();
    let t_far = t1.max(t2).min_element();
    if t_far < 0.0 || t_near > t_far || t_near.is_nan() {
        return None;
    }
    Some(t_near.max(0.0))
}

/// Distance along the ray to the circle's near edge, if the ray meets it ahead of the origin.
fn ray_circle(origin: Vec2, dir: Vec2, center: Vec2, radius: f32) -> Option<f32> {
    let to_center = center - origin;
    let along = to_center.dot(dir);
    let miss_sq = to_center.length_squared() - along * along;
    let radius_sq = radius * radius;
    if miss_sq > radius_sq {
        return None;
    }
    let half_chord = (radius_sq - miss_sq).sqrt();
    let t = along - half_chord;
    if t >= 0.0 {
        Some(t)
    } else if along + half_chord >= 0.0 {
        Some(0.0)
    } else {
        None
    }
}
