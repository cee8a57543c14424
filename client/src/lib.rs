//! The Skirmish browser client: a thin WebAssembly shell around a platform-free model.
//!
//! # Layout
//! - [`app`]: the model: connection state, snapshots, prediction, outgoing messages, and the
//!   [`hud`] it feeds. No DOM; tested natively.
//! - [`camera`]: which part of the map the canvas shows (clamped to the map), the minimap's
//!   place; the same camera draws and aims. Tested natively.
//! - [`hud`]: roster, chat, kill feed, beams, scoreboard, frame rate: what the page shows
//!   around the ships. Tested natively.
//! - [`determinism`]: a scripted simulation fingerprint, compared between native and wasm32.
//! - [`killcam`]: our death's last three seconds again, following the killer, during the
//!   respawn wait. Tested natively.
//! - [`replay`]: a recorded match played in the page (the server's `shared::sim`, in wasm):
//!   speed, pause, seek, follow a player or pan. Tested natively.
//! - [`scene`]: what one frame shows (map, ships, beams, pickups, camera focus), from the
//!   live game, a replay or the kill-cam alike; the renderer draws only this.
//! - [`watch`]: a spectator's camera (free, or following a player) and the `Look`s that
//!   tell the server where it looks. Tested natively.
//! - [`input`]: keyboard, mouse and touch state → one `InputCmd` per tick.
//! - `net` (wasm): the web-sys `WebSocket` in arraybuffer mode, owning its callbacks.
//! - `render` (wasm): draws the app on a `CanvasRenderingContext2d`, crisp on high-DPI screens.
//! - `lobby` (wasm): the lobby screen: rooms, quick play, create, join by code or link,
//!   leaderboard.
//! - `theatre` (wasm): the replay page, `/replay/ID?t=`: download, the replay bar, keys and
//!   drags for the free camera.
//! - `ui` (wasm): the DOM around the canvas: chat, scoreboard, kill feed, HUD, room bar, banner.
//! - `frame_loop` (wasm): `requestAnimationFrame`: socket events → app → socket, render, UI.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod app;
pub mod camera;
pub mod determinism;
pub mod hud;
pub mod input;
pub mod killcam;
pub mod replay;
pub mod scene;
pub mod watch;

#[cfg(target_arch = "wasm32")]
mod frame_loop;
#[cfg(target_arch = "wasm32")]
mod lobby;
#[cfg(target_arch = "wasm32")]
mod net;
#[cfg(target_arch = "wasm32")]
mod render;
#[cfg(target_arch = "wasm32")]
mod theatre;
#[cfg(target_arch = "wasm32")]
mod ui;

/// Entry point, called by the page once the module loads.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() -> Result<(), wasm_bindgen::JsValue> {
    console_error_panic_hook::set_once();
    frame_loop::start()
}
