//! Movement: input to velocity, wall collision (circle against boxes), map bounds, quantization.

use glam::Vec2;

use super::{PLAYER_RADIUS, PLAYER_SPEED};
use crate::map::{Map, Wall};
use crate::protocol::{InputCmd, POS_SCALE};

/// The input's movement direction with its length clamped to 1.
pub fn move_vector(input: &InputCmd) -> Vec2 {
    let raw = Vec2::new(f32::from(input.move_x), f32::from(input.move_y)) / 127.0;
    if raw.length_squared() > 1.0 { raw.normalize() } else { raw }
}

/// Moves a ship from `pos` along `direction` (length <= 1) for `dt` seconds, sliding along
/// walls, kept inside the map, and snapped to the wire's position grid.
pub fn move_player(map: &Map, pos: Vec2, direction: Vec2, dt: f32) -> Vec2 {
    let direction = direction.clamp_length_max(1.0);
    // The step is snapped to the grid toward zero: rounding it would add up to half a grid unit
    // a tick, the same way every tick (0.3 % over the speed limit at full speed).
    let step = (direction * (PLAYER_SPEED * dt) * POS_SCALE).trunc() / POS_SCALE;
    let mut next = pos + step;
    // Two passes settle a ship wedged in a corner between two walls.
    for _ in 0..2 {
        for wall in &map.walls {
            next = push_out_of_wall(next, wall);
        }
    }
    let low = Vec2::splat(PLAYER_RADIUS);
    let high = (map.size() - PLAYER_RADIUS).max(low);
    quantize(next.clamp(low, high))
}

/// Snaps a position to the 1/16-unit grid that snapshots carry.
pub fn quantize(pos: Vec2) -> Vec2 {
    (pos * POS_SCALE).round() / POS_SCALE
}

fn push_out_of_wall(center: Vec2, wall: &Wall) -> Vec2 {
    let closest = center.clamp(wall.min, wall.max);
    let offset = center - closest;
    let dist_sq = offset.length_squared();
    if dist_sq >= PLAYER_RADIUS * PLAYER_RADIUS {
        return center;
    }
    if dist_sq > 0.0 {
        return closest + offset / dist_sq.sqrt() * PLAYER_RADIUS;
    }
    // The centre is inside the box: leave through the nearest face.
    let exits = [
        (center.x - wall.min.x, Vec2::new(wall.min.x - PLAYER_RADIUS, center.y)),
        (wall.max.x - center.x, Vec2::new(wall.max.x + PLAYER_RADIUS, center.y)),
        (center.y - wall.min.y, Vec2::new(center.x, wall.min.y - PLAYER_RADIUS)),
        (wall.max.y - center.y, Vec2::new(center.x, wall.max.y + PLAYER_RADIUS)),
    ];
    let mut best = exits[0];
    for exit in &exits[1..] {
        if exit.0 < best.0 {
            best = *exit;
        }
    }
    best.1
}
