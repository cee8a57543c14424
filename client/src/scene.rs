//! What one frame shows, whatever its source: the live game ([`crate::app::App::scene`]), a
//! replay ([`crate::replay::ReplayView::scene`]) or the kill-cam. The renderer draws a
//! `Scene` and nothing else, so every source looks the same and is tested without a canvas.

use glam::Vec2;
use shared::ids::PlayerId;
use shared::map::Map;

/// A ship to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Ship {
    pub id: PlayerId,
    pub name: String,
    pub pos: Vec2,
    pub aim: Vec2,
    pub health: u8,
    /// Drawn highlighted: our own ship, or the player a spectator follows.
    pub is_me: bool,
}

/// A laser beam to draw: start, end, shooter and age in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BeamLine {
    pub from: Vec2,
    pub to: Vec2,
    pub shooter: PlayerId,
    pub age_ms: f64,
}

#[derive(Clone, Debug)]
pub struct Scene<'a> {
    pub map: &'a Map,
    pub ships: Vec<Ship>,
    pub beams: Vec<BeamLine>,
    /// Which health pickups stand (bit per map pickup).
    pub pickups: u64,
    /// Where the camera looks (the renderer stops it at the map's edges).
    pub focus: Vec2,
}

impl Scene<'_> {
    /// Where a drawn ship is (beams without a start leave from it).
    pub fn ship_at(&self, id: PlayerId) -> Option<Vec2> {
        self.ships.iter().find(|ship| ship.id == id).map(|ship| ship.pos)
    }
}
