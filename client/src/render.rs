//! Draws a [`Scene`] on the canvas (the live game, a replay or the kill-cam alike): floor, walls, pickups, lasers, ships with names and
//! health, the minimap, and the touch sticks. The canvas backing store follows
//! `devicePixelRatio`, so the picture stays crisp on high-DPI screens; the world is scaled so
//! about 1200 × 800 units show, through a [`Camera`] that stops at the map's edges.

use std::cell::Cell;
use std::f64::consts::TAU;

use glam::Vec2;
use wasm_bindgen::JsValue;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use shared::map::Map;

use crate::camera::{Camera, Minimap};
use crate::hud::BEAM_MS;
use crate::input::{InputState, STICK_RADIUS};
use crate::scene::{Scene, Ship};

const GRID: f32 = 100.0;
/// How near (CSS pixels) our ship may come to the minimap before it fades.
const MINIMAP_SHIP_MARGIN: f32 = 30.0;

pub(crate) struct Renderer {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    css_width: f64,
    css_height: f64,
    dpr: f64,
    /// The minimap of the last frame, and whether it was faded (for `window.skirmishDebug`).
    last_minimap: Cell<Option<(Minimap, bool)>>,
}

/// A stable colour per player.
fn colour(id: u32, is_me: bool) -> String {
    if is_me {
        return "#ffd447".into();
    }
    format!("hsl({}, 70%, 62%)", (id * 137 + 190) % 360)
}

impl Renderer {
    pub(crate) fn new(canvas: HtmlCanvasElement, ctx: CanvasRenderingContext2d) -> Renderer {
        Renderer {
            canvas,
            ctx,
            css_width: 0.0,
            css_height: 0.0,
            dpr: 1.0,
            last_minimap: Cell::new(None),
        }
    }

    /// Matches the backing store to the canvas's CSS size × device pixels.
    pub(crate) fn resize(&mut self, dpr: f64) {
        let width = f64::from(self.canvas.client_width().max(1));
        let height = f64::from(self.canvas.client_height().max(1));
        if (width, height, dpr) == (self.css_width, self.css_height, self.dpr) {
            return;
        }
        (self.css_width, self.css_height, self.dpr) = (width, height, dpr);
        self.canvas.set_width((width * dpr).round() as u32);
        self.canvas.set_height((height * dpr).round() as u32);
    }

    /// This frame's camera: looking at the scene's focus (our ship, a followed player, a free
    /// camera), stopped at the map's edges.
    pub(crate) fn camera(&self, scene: &Scene<'_>) -> Camera {
        let viewport = Vec2::new(self.css_width as f32, self.css_height as f32);
        Camera::follow(scene.focus, scene.map.size(), viewport)
    }

    pub(crate) fn css_size(&self) -> (f64, f64) {
        (self.css_width, self.css_height)
    }

    /// Where the last frame drew the minimap (canvas CSS pixels), and whether it was faded.
    pub(crate) fn last_minimap(&self) -> Option<(Minimap, bool)> {
        self.last_minimap.get()
    }

    /// Draws `scene` through `camera` (from [`Renderer::camera`]); no scene draws the empty
    /// backdrop.
    pub(crate) fn draw(
        &self,
        scene: Option<(&Scene<'_>, &Camera)>,
        input: &InputState,
        now_ms: f64,
    ) -> Result<(), JsValue> {
        let ctx = &self.ctx;
        ctx.set_transform(self.dpr, 0.0, 0.0, self.dpr, 0.0, 0.0)?;
        ctx.set_fill_style_str("#0b0f17");
        ctx.fill_rect(0.0, 0.0, self.css_width, self.css_height);
        let Some((scene, camera)) = scene else { return Ok(()) };
        let map = scene.map;
        let scale = f64::from(camera.scale);
        ctx.save();
        ctx.translate(self.css_width / 2.0, self.css_height / 2.0)?;
        ctx.scale(scale, scale)?;
        ctx.translate(-f64::from(camera.centre.x), -f64::from(camera.centre.y))?;

        self.draw_floor(map, scale);

        // Health pickups: pulsing green crosses.
        let bits = scene.pickups;
        let pulse = 1.0 + 0.12 * (now_ms / 250.0).sin();
        ctx.set_fill_style_str("#3ddc84");
        for (index, spot) in map.pickups.iter().enumerate() {
            if bits & (1 << index) == 0 {
                continue;
            }
            let (arm, half) = (14.0 * pulse, 5.0 * pulse);
            let (px, py) = (f64::from(spot.x), f64::from(spot.y));
            ctx.fill_rect(px - arm, py - half, 2.0 * arm, 2.0 * half);
            ctx.fill_rect(px - half, py - arm, 2.0 * half, 2.0 * arm);
        }

        self.draw_beams(scene);
        for ship in &scene.ships {
            self.draw_ship(ship)?;
        }
        ctx.restore();
        self.draw_minimap(map, camera, &scene.ships)?;
        self.draw_sticks(input)
    }

    /// The map's floor, its grid and outline, and the walls, in world units (`scale`: screen
    /// pixels per unit, for hairlines).
    fn draw_floor(&self, map: &Map, scale: f64) {
        let ctx = &self.ctx;
        ctx.set_fill_style_str("#141b29");
        ctx.fill_rect(0.0, 0.0, f64::from(map.width), f64::from(map.height));
        ctx.set_stroke_style_str("#1e2840");
        ctx.set_line_width(1.0 / scale);
        ctx.begin_path();
        let mut x = 0.0;
        while x <= map.width {
            ctx.move_to(f64::from(x), 0.0);
            ctx.line_to(f64::from(x), f64::from(map.height));
            x += GRID;
        }
        let mut y = 0.0;
        while y <= map.height {
            ctx.move_to(0.0, f64::from(y));
            ctx.line_to(f64::from(map.width), f64::from(y));
            y += GRID;
        }
        ctx.stroke();
        ctx.set_stroke_style_str("#5b6b8c");
        ctx.set_line_width(4.0);
        ctx.stroke_rect(0.0, 0.0, f64::from(map.width), f64::from(map.height));

        // Walls.
        ctx.set_fill_style_str("#3a4660");
        ctx.set_stroke_style_str("#7d8cb0");
        ctx.set_line_width(2.0);
        for wall in &map.walls {
            let size = wall.max - wall.min;
            ctx.fill_rect(
                f64::from(wall.min.x),
                f64::from(wall.min.y),
                f64::from(size.x),
                f64::from(size.y),
            );
            ctx.stroke_rect(
                f64::from(wall.min.x),
                f64::from(wall.min.y),
                f64::from(size.x),
                f64::from(size.y),
            );
        }
    }

    /// Laser beams, fading out over [`BEAM_MS`], in their shooter's colour (ours yellow).
    fn draw_beams(&self, scene: &Scene<'_>) {
        let ctx = &self.ctx;
        ctx.set_line_width(3.0);
        for beam in &scene.beams {
            let fade = (1.0 - beam.age_ms / BEAM_MS).clamp(0.0, 1.0);
            let is_me = scene.ships.iter().any(|s| s.is_me && s.id == beam.shooter);
            ctx.set_global_alpha(fade);
            ctx.set_stroke_style_str(&colour(beam.shooter.0, is_me));
            ctx.begin_path();
            ctx.move_to(f64::from(beam.from.x), f64::from(beam.from.y));
            ctx.line_to(f64::from(beam.to.x), f64::from(beam.to.y));
            ctx.stroke();
        }
        ctx.set_global_alpha(1.0);
    }

    /// The whole arena small in the bottom-right corner: outline, walls, the part on screen,
    /// and the ships in view as dots (ours larger, on top). Faded while our ship is under it.
    fn draw_minimap(&self, map: &Map, camera: &Camera, ships: &[Ship]) -> Result<(), JsValue> {
        let viewport = Vec2::new(self.css_width as f32, self.css_height as f32);
        let Some(minimap) = Minimap::place(map.size(), viewport) else { return Ok(()) };
        let ship_under = ships
            .iter()
            .any(|s| s.is_me && minimap.covers(camera.to_screen(s.pos), MINIMAP_SHIP_MARGIN));
        self.last_minimap.set(Some((minimap, ship_under)));
        let opacity = if ship_under { 0.3 } else { 1.0 };
        let ctx = &self.ctx;
        let rect = |corner: Vec2, size: Vec2| {
            let at = minimap.to_screen(corner);
            let size = size * minimap.scale;
            (f64::from(at.x), f64::from(at.y), f64::from(size.x), f64::from(size.y))
        };
        let (x, y, width, height) = rect(Vec2::ZERO, map.size());
        ctx.save();
        ctx.begin_path();
        ctx.rect(x, y, width, height);
        ctx.clip();
        ctx.set_global_alpha(0.85 * opacity);
        ctx.set_fill_style_str("#0b0f17");
        ctx.fill_rect(x, y, width, height);
        ctx.set_global_alpha(opacity);
        ctx.set_fill_style_str("#7d8cb0");
        for wall in &map.walls {
            let (wx, wy, ww, wh) = rect(wall.min, wall.max - wall.min);
            ctx.fill_rect(wx, wy, ww.max(1.0), wh.max(1.0));
        }
        let (corner, size) = camera.visible();
        let (vx, vy, vw, vh) = rect(corner, size);
        ctx.set_stroke_style_str("rgba(232, 237, 247, 0.45)");
        ctx.set_line_width(1.0);
        ctx.stroke_rect(vx, vy, vw, vh);
        for ship in ships.iter().filter(|s| !s.is_me).chain(ships.iter().filter(|s| s.is_me)) {
            let at = minimap.to_screen(ship.pos);
            ctx.set_fill_style_str(&colour(ship.id.0, ship.is_me));
            ctx.begin_path();
            ctx.arc(
                f64::from(at.x),
                f64::from(at.y),
                if ship.is_me { 3.5 } else { 2.0 },
                0.0,
                TAU,
            )?;
            ctx.fill();
        }
        ctx.restore();
        ctx.set_global_alpha(opacity);
        ctx.set_stroke_style_str("#5b6b8c");
        ctx.set_line_width(1.5);
        ctx.stroke_rect(x, y, width, height);
        ctx.set_global_alpha(1.0);
        Ok(())
    }

    fn draw_ship(&self, ship: &Ship) -> Result<(), JsValue> {
        let ctx = &self.ctx;
        let radius = f64::from(shared::sim::PLAYER_RADIUS);
        let (x, y) = (f64::from(ship.pos.x), f64::from(ship.pos.y));
        let colour = colour(ship.id.0, ship.is_me);
        ctx.set_fill_style_str(&colour);
        ctx.begin_path();
        ctx.arc(x, y, radius, 0.0, TAU)?;
        ctx.fill();
        // The nose points where the ship aims.
        let aim = if ship.aim.length_squared() > 0.0 { ship.aim.normalize() } else { Vec2::X };
        let tip = ship.pos + aim * (shared::sim::PLAYER_RADIUS + 12.0);
        let side = Vec2::new(-aim.y, aim.x) * 8.0;
        let base = ship.pos + aim * (shared::sim::PLAYER_RADIUS - 2.0);
        ctx.begin_path();
        ctx.move_to(f64::from(tip.x), f64::from(tip.y));
        ctx.line_to(f64::from((base + side).x), f64::from((base + side).y));
        ctx.line_to(f64::from((base - side).x), f64::from((base - side).y));
        ctx.close_path();
        ctx.fill();
        // Health bar and name above.
        let health = f64::from(ship.health) / f64::from(shared::sim::MAX_HEALTH);
        ctx.set_fill_style_str("#00000099");
        ctx.fill_rect(x - 20.0, y - radius - 12.0, 40.0, 5.0);
        ctx.set_fill_style_str(if health > 0.5 {
            "#3ddc84"
        } else if health > 0.25 {
            "#f5b342"
        } else {
            "#ef4d4d"
        });
        ctx.fill_rect(x - 20.0, y - radius - 12.0, 40.0 * health, 5.0);
        ctx.set_font("600 13px system-ui, sans-serif");
        ctx.set_text_align("center");
        ctx.set_fill_style_str("#e8edf7");
        ctx.fill_text(&ship.name, x, y - radius - 18.0)?;
        Ok(())
    }

    fn draw_sticks(&self, input: &InputState) -> Result<(), JsValue> {
        let ctx = &self.ctx;
        for stick in [input.move_stick, input.aim_stick].into_iter().flatten() {
            ctx.set_global_alpha(0.35);
            ctx.set_fill_style_str("#e8edf7");
            ctx.begin_path();
            ctx.arc(
                f64::from(stick.origin.x),
                f64::from(stick.origin.y),
                f64::from(STICK_RADIUS),
                0.0,
                TAU,
            )?;
            ctx.fill();
            ctx.set_global_alpha(0.8);
            let knob = stick.origin + stick.vector() * STICK_RADIUS;
            ctx.begin_path();
            ctx.arc(f64::from(knob.x), f64::from(knob.y), 22.0, 0.0, TAU)?;
            ctx.fill();
        }
        ctx.set_global_alpha(1.0);
        Ok(())
    }
}
