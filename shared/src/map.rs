//! The arena map: size, walls, spawn points and health pickups.
//!
//! Maps are JSON files in `assets/maps/`. The server loads one with [`Map::from_json`] and sends
//! it inside `Welcome`, so the client always collides against exactly the walls the server uses.
//!
//! ```json
//! { "id": "arena", "width": 1600, "height": 1200,
//!   "walls": [[x, y, w, h], ...], "spawns": [[x, y], ...], "pickups": [[x, y], ...] }
//! ```

use glam::Vec2;
use serde::{Deserialize, Serialize};

/// Largest map side, in world units. Keeps quantized positions far inside `i32`.
pub const MAX_MAP_SIDE: f32 = 100_000.0;
/// At most this many pickups (the snapshot carries their state as a 64-bit set).
pub const MAX_PICKUPS: usize = 64;
/// At most this many walls (collision is a linear scan).
pub const MAX_WALLS: usize = 1024;

/// An axis-aligned wall, `[x, y, width, height]` in world units (origin top-left, +y down).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f32; 4]", into = "[f32; 4]")]
pub struct Wall {
    pub min: Vec2,
    pub max: Vec2,
}

impl From<[f32; 4]> for Wall {
    fn from([x, y, w, h]: [f32; 4]) -> Self {
        Wall { min: Vec2::new(x, y), max: Vec2::new(x + w, y + h) }
    }
}

impl From<Wall> for [f32; 4] {
    fn from(wall: Wall) -> Self {
        let size = wall.max - wall.min;
        [wall.min.x, wall.min.y, size.x, size.y]
    }
}

impl Wall {
    pub fn contains(&self, point: Vec2) -> bool {
        point.cmpge(self.min).all() && point.cmple(self.max).all()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    pub id: String,
    pub width: f32,
    pub height: f32,
    #[serde(default)]
    pub walls: Vec<Wall>,
    pub spawns: Vec<Vec2>,
    #[serde(default)]
    pub pickups: Vec<Vec2>,
}

/// Why a map file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("map is not valid JSON for the map format: {0}")]
    Json(#[from] serde_json::Error),
    #[error("map is invalid: {0}")]
    Invalid(String),
}

impl Map {
    /// Parses and checks a map file.
    pub fn from_json(text: &str) -> Result<Map, MapError> {
        let map: Map = serde_json::from_str(text)?;
        map.check().map_err(MapError::Invalid)?;
        Ok(map)
    }

    pub fn size(&self) -> Vec2 {
        Vec2::new(self.width, self.height)
    }

    /// Structural checks, also run on maps received from a server.
    pub fn check(&self) -> Result<(), String> {
        let side_ok = |side: f32| side.is_finite() && (64.0..=MAX_MAP_SIDE).contains(&side);
        if !side_ok(self.width) || !side_ok(self.height) {
            return Err(format!("width and height must be within 64..={MAX_MAP_SIDE}"));
        }
        if self.walls.len() > MAX_WALLS {
            return Err(format!("at most {MAX_WALLS} walls"));
        }
        if self.pickups.len() > MAX_PICKUPS {
            return Err(format!("at most {MAX_PICKUPS} pickups"));
        }
        if self.spawns.is_empty() {
            return Err("at least one spawn point is needed".into());
        }
        for wall in &self.walls {
            let finite = wall.min.is_finite() && wall.max.is_finite();
            if !finite || wall.max.cmple(wall.min).any() {
                return Err(format!(
                    "wall {:?} must have a positive, finite size",
                    <[f32; 4]>::from(*wall)
                ));
            }
        }
        for point in self.spawns.iter().chain(&self.pickups) {
            let inside = point.is_finite()
                && point.cmpge(Vec2::ZERO).all()
                && point.cmple(self.size()).all();
            if !inside {
                return Err(format!("point {point} lies outside the map"));
            }
            if self.walls.iter().any(|wall| wall.contains(*point)) {
                return Err(format!("point {point} lies inside a wall"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shipped_arena() {
        let map =
            Map::from_json(include_str!("../../assets/maps/arena.json")).expect("arena parses");
        assert_eq!(map.id, "arena");
        assert!(map.walls.len() >= 4, "the arena has cover");
        assert!(map.spawns.len() >= 4, "the arena has several spawn points");
    }

    #[test]
    fn parses_the_open_bench_arena() {
        let map =
            Map::from_json(include_str!("../../assets/maps/open.json")).expect("open map parses");
        assert!(map.walls.is_empty(), "the benchmark arena has no walls");
        assert_eq!(map.size(), Vec2::new(4000.0, 4000.0));
    }

    #[test]
    fn parses_the_corridors_map_whose_lanes_connect() {
        let map = Map::from_json(include_str!("../../assets/maps/corridors.json"))
            .expect("corridors parses");
        assert_eq!(map.id, "corridors");
        assert!(map.walls.len() >= 20, "corridors are made of walls");
        // Every horizontal bar leaves a gap: a ship can cross from the top lane to the bottom one.
        let bars: std::collections::BTreeSet<u32> = map
            .walls
            .iter()
            .filter(|w| w.max.x - w.min.x > 200.0)
            .map(|w| w.min.y as u32)
            .collect();
        for y in bars {
            let covered: f32 = map
                .walls
                .iter()
                .filter(|w| w.min.y as u32 == y && w.max.x - w.min.x > 100.0)
                .map(|w| w.max.x - w.min.x)
                .sum();
            assert!(covered < map.width - 100.0, "the bar at y = {y} leaves a gap");
        }
    }

    #[test]
    fn refuses_spawn_inside_wall() {
        let text =
            r#"{"id":"x","width":200,"height":200,"walls":[[0,0,100,100]],"spawns":[[50,50]]}"#;
        let err = Map::from_json(text).expect_err("spawn inside a wall is refused");
        assert!(err.to_string().contains("inside a wall"), "{err}");
    }

    #[test]
    fn refuses_negative_wall_and_missing_spawns() {
        let text =
            r#"{"id":"x","width":200,"height":200,"walls":[[0,0,-5,10]],"spawns":[[150,150]]}"#;
        assert!(Map::from_json(text).is_err(), "a wall with negative width is refused");
        let text = r#"{"id":"x","width":200,"height":200,"spawns":[]}"#;
        assert!(Map::from_json(text).is_err(), "a map without spawns is refused");
        assert!(Map::from_json("{").is_err(), "broken JSON is refused");
    }
}
