//! The camera: which part of the map the canvas shows, and the minimap's place in a corner.
//! Pure geometry (no DOM), shared by the renderer and by aiming, so the direction a click fires
//! in is measured on exactly the picture the player sees; tested natively.
//!
//! The camera follows our ship but stops at the map's edges, so no half-screen of void shows
//! beyond a wall; on an axis where the whole map fits on screen, the map is centred instead.

use glam::Vec2;
use shared::view::MAX_VIEW_HALF;

/// World units that fit on screen (the shorter side decides the scale).
pub const VIEW_WIDTH: f32 = 1200.0;
pub const VIEW_HEIGHT: f32 = 800.0;
/// The smallest scale, CSS pixels per world unit (a tiny canvas still shows something).
const MIN_SCALE: f32 = 0.05;
/// The minimap's longer side and its margin from the canvas corner, in CSS pixels.
pub const MINIMAP_SIZE: f32 = 170.0;
pub const MINIMAP_MARGIN: f32 = 12.0;

/// CSS pixels per world unit on a canvas of `viewport` CSS pixels: about 1200 × 800 units
/// show, and never more than `shared::view::MAX_VIEW_HALF` each side of the centre (a very
/// wide or tall canvas zooms in), since the server sends beams for that much.
pub fn scale_for(viewport: Vec2) -> f32 {
    let most = viewport / (2.0 * MAX_VIEW_HALF);
    (viewport.x / VIEW_WIDTH).min(viewport.y / VIEW_HEIGHT).max(most.max_element()).max(MIN_SCALE)
}

/// Where the camera looks to follow `target` on a map of `map_size` units when `view` units are
/// visible: on each axis, `target` held far enough from the edges that the view stays on the
/// map, or the map's middle when the map is smaller than the view on that axis.
pub fn clamp_centre(target: Vec2, map_size: Vec2, view: Vec2) -> Vec2 {
    // The same rule the server assumes when it decides which beams a client could see.
    shared::view::camera_center(target, map_size, view / 2.0)
}

/// One frame's camera: the renderer draws with it and aiming measures with it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// The world point drawn at the canvas centre.
    pub centre: Vec2,
    /// CSS pixels per world unit.
    pub scale: f32,
    /// The canvas size in CSS pixels.
    pub viewport: Vec2,
}

impl Camera {
    /// The camera following `target` on a map of `map_size` on a canvas of `viewport` pixels.
    pub fn follow(target: Vec2, map_size: Vec2, viewport: Vec2) -> Camera {
        let scale = scale_for(viewport);
        let centre = clamp_centre(target, map_size, viewport / scale);
        Camera { centre, scale, viewport }
    }

    /// A world point on the canvas, in CSS pixels from its top-left corner.
    pub fn to_screen(&self, world: Vec2) -> Vec2 {
        (world - self.centre) * self.scale + self.viewport / 2.0
    }

    /// The world point under a canvas position (CSS pixels from its top-left corner).
    pub fn to_world(&self, screen: Vec2) -> Vec2 {
        (screen - self.viewport / 2.0) / self.scale + self.centre
    }

    /// The visible part of the world: its top-left corner and its size, in world units.
    pub fn visible(&self) -> (Vec2, Vec2) {
        let size = self.viewport / self.scale;
        (self.centre - size / 2.0, size)
    }
}

/// The minimap: the whole map drawn small in the canvas's bottom-right corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Minimap {
    /// Its top-left corner on the canvas, CSS pixels.
    pub origin: Vec2,
    /// CSS pixels per world unit.
    pub scale: f32,
    /// Its size on the canvas, CSS pixels.
    pub size: Vec2,
}

impl Minimap {
    /// Places the minimap of a `map_size` map on a canvas of `viewport` CSS pixels: at most
    /// [`MINIMAP_SIZE`] on its longer side and a quarter of the canvas on either side, keeping
    /// the map's proportions. `None` for an empty map.
    pub fn place(map_size: Vec2, viewport: Vec2) -> Option<Minimap> {
        if map_size.x <= 0.0 || map_size.y <= 0.0 {
            return None;
        }
        let fit = Vec2::new(
            MINIMAP_SIZE.min(viewport.x / 4.0).max(1.0),
            MINIMAP_SIZE.min(viewport.y / 4.0).max(1.0),
        );
        let scale = (fit.x / map_size.x).min(fit.y / map_size.y);
        let size = map_size * scale;
        let origin = viewport - size - Vec2::splat(MINIMAP_MARGIN);
        Some(Minimap { origin, scale, size })
    }

    /// A world point on the minimap, in canvas CSS pixels.
    pub fn to_screen(&self, world: Vec2) -> Vec2 {
        self.origin + world * self.scale
    }

    /// Whether the minimap, grown by `margin` CSS pixels, covers the canvas point `at`: in a
    /// corner of the map the camera stops and our ship is drawn in the canvas's corner, under
    /// the minimap, which then fades so the ship shows through.
    pub fn covers(&self, at: Vec2, margin: f32) -> bool {
        let (low, high) = (self.origin - margin, self.origin + self.size + margin);
        at.cmpge(low).all() && at.cmple(high).all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: Vec2 = Vec2::new(4000.0, 3000.0);
    const VIEW: Vec2 = Vec2::new(1200.0, 800.0);

    #[test]
    fn in_the_middle_the_camera_follows_the_ship() {
        let ship = Vec2::new(2000.0, 1500.0);
        assert_eq!(clamp_centre(ship, MAP, VIEW), ship);
    }

    #[test]
    fn near_an_edge_the_camera_stops_at_the_map() {
        assert_eq!(clamp_centre(Vec2::new(50.0, 20.0), MAP, VIEW), Vec2::new(600.0, 400.0));
        assert_eq!(clamp_centre(Vec2::new(3990.0, 2999.0), MAP, VIEW), Vec2::new(3400.0, 2600.0));
        assert_eq!(
            clamp_centre(Vec2::new(-300.0, 1500.0), MAP, VIEW),
            Vec2::new(600.0, 1500.0),
            "even from outside the map"
        );
    }

    #[test]
    fn a_map_smaller_than_the_view_is_centred_on_that_axis() {
        let wide_view = Vec2::new(5000.0, 800.0);
        assert_eq!(clamp_centre(Vec2::new(100.0, 100.0), MAP, wide_view), Vec2::new(2000.0, 400.0));
        let small_map = Vec2::new(1000.0, 600.0);
        assert_eq!(clamp_centre(Vec2::new(10.0, 590.0), small_map, VIEW), Vec2::new(500.0, 300.0));
    }

    #[test]
    fn screen_and_world_round_trip() {
        let camera = Camera::follow(Vec2::new(30.0, 40.0), MAP, Vec2::new(1000.0, 700.0));
        assert!((camera.scale - 0.833_333_3).abs() < 1e-5, "1200 units across 1000 px");
        let (corner, size) = camera.visible();
        assert_eq!(corner, Vec2::ZERO, "clamped into the top-left corner: {camera:?}");
        assert!((size - Vec2::new(1200.0, 840.0)).length() < 1e-3, "{size}");
        for world in [Vec2::ZERO, Vec2::new(30.0, 40.0), Vec2::new(1199.0, 839.0)] {
            let back = camera.to_world(camera.to_screen(world));
            assert!((back - world).length() < 1e-3, "{world} → {back}");
        }
        assert_eq!(camera.to_screen(Vec2::ZERO), Vec2::ZERO, "the map's corner at the canvas's");
    }

    #[test]
    fn aiming_from_where_the_ship_is_drawn_hits_what_is_under_the_pointer() {
        // Near the left edge the ship is drawn left of the canvas centre.
        let ship = Vec2::new(100.0, 1500.0);
        let camera = Camera::follow(ship, MAP, Vec2::new(1200.0, 800.0));
        let drawn = camera.to_screen(ship);
        assert_eq!(drawn, Vec2::new(100.0, 400.0), "not at the centre (600, 400)");
        // A pointer at the canvas centre lies straight to the ship's right in the world.
        let pointer = Vec2::new(600.0, 400.0);
        let aim = pointer - drawn;
        let target = camera.to_world(pointer);
        assert_eq!(aim.normalize(), (target - ship).normalize(), "aim toward the pointed spot");
    }

    #[test]
    fn the_minimap_keeps_the_map_proportions_in_the_corner() {
        let canvas = Vec2::new(1000.0, 700.0);
        let minimap = Minimap::place(MAP, canvas).expect("a minimap");
        assert!((minimap.size.x - MINIMAP_SIZE).abs() < 1e-3, "longer side: {minimap:?}");
        assert!((minimap.size.y - MINIMAP_SIZE * 0.75).abs() < 1e-3, "4:3 kept: {minimap:?}");
        let far_corner = minimap.to_screen(MAP);
        assert_eq!(far_corner, canvas - Vec2::splat(MINIMAP_MARGIN), "bottom-right corner");
        let small = Minimap::place(MAP, Vec2::new(320.0, 480.0)).expect("a minimap");
        assert!(small.size.x <= 80.0 + 1e-3, "at most a quarter of a phone's width: {small:?}");
        assert!(Minimap::place(Vec2::ZERO, canvas).is_none(), "no map, no minimap");
    }

    #[test]
    fn a_ship_in_the_far_corner_is_drawn_under_the_minimap() {
        let canvas = Vec2::new(1000.0, 700.0);
        let ship = MAP - Vec2::splat(100.0);
        let camera = Camera::follow(ship, MAP, canvas);
        let minimap = Minimap::place(MAP, canvas).expect("a minimap");
        assert!(minimap.covers(camera.to_screen(ship), 20.0), "the corner ship is under it");
        let middle = Camera::follow(MAP / 2.0, MAP, canvas);
        assert!(!minimap.covers(middle.to_screen(MAP / 2.0), 20.0), "a ship mid-map is not");
    }
}
