//! Everything the server, the browser client and the bots must agree on, byte for byte.
//!
//! This crate does no IO, reads no clock and uses no OS randomness: time enters as [`tick::Tick`]
//! and a fixed step, so `sim::step` gives the same result on every machine and on wasm32.
//!
//! # Layout
//! - [`ids`]: `PlayerId` newtype.
//! - [`interest`]: the spatial grid and per-client visible sets.
//! - [`tick`]: `Tick` counter and tick-rate helpers.
//! - [`protocol`]: every message on the wire, the protocol version and the size limits.
//! - [`codec`]: encode/decode with limits; the only module that names bincode.
//! - [`delta`]: snapshot delta encoding against a held baseline, with dead reckoning.
//! - [`validate`]: sanitising names, chat and input at the protocol edge.
//! - [`map`]: the arena map format read from `assets/maps/*.json`.
//! - [`sim`]: the world, its rules and the pure, deterministic `step`.
//! - [`interp`]: a snapshot buffer that interpolates remote players between snapshots.
//! - [`predict`]: client-side prediction and reconciliation of the local player.
//! - [`view`]: what each client is told: visible players, delta-encoded; nearby shots; scores.
//! - [`netcode`]: the client half of the netcode (input clock, resend window, prediction,
//!   decoding, acknowledgements, interpolation) that the browser and the bots both wrap.
//! - [`clock`]: round-trip time, jitter and server-tick estimates from ping/pong.
//! - [`replay`]: a match as its inputs (versioned, chunked, LZ4), and playing it back with
//!   keyframes for seeking.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod clock;
pub mod codec;
pub mod delta;
pub mod ids;
pub mod interest;
pub mod interp;
pub mod map;
pub mod netcode;
pub mod predict;
pub mod protocol;
pub mod replay;
pub mod sim;
pub mod tick;
pub mod validate;
pub mod view;
