//! Interpolation of remote players between received snapshots.
//!
//! Snapshots arrive at the send rate with network jitter. [`SnapshotBuffer`] maps server ticks
//! onto the local clock (the smallest observed `arrival - tick time`, i.e. the least-delayed
//! snapshot, drifting upward slowly so a lasting change in latency is followed) and draws the
//! world `delay` milliseconds in the past, between the two snapshots around that instant. The
//! delay adapts to the link: about two send intervals plus twice the measured arrival jitter
//! ([`SnapshotBuffer::delay_ms`]). If a snapshot is late, players are extrapolated along their
//! velocity for at most [`MAX_EXTRAPOLATION_TICKS`], then held.

use std::collections::VecDeque;

use glam::Vec2;

use crate::ids::PlayerId;
use crate::protocol::{PlayerSnap, Snapshot, dequantize_angle, dequantize_pos};

/// Snapshots kept; at 30 Hz about a second, far more than any interpolation delay.
const CAPACITY: usize = 32;
/// How fast the clock offset may rise, in milliseconds per snapshot, to follow rising latency.
const OFFSET_RELAX_MS: f64 = 0.25;
/// How far past the newest snapshot players are extrapolated when snapshots are late.
pub const MAX_EXTRAPOLATION_TICKS: f64 = 3.0;
/// Weight of a new lateness sample in the jitter estimate.
const JITTER_GAIN: f64 = 0.1;
/// Moving farther than this between two snapshots is a teleport (respawn), drawn without a slide.
const TELEPORT_DISTANCE: f32 = 150.0;

/// One player as drawn at the render time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawnPlayer {
    pub id: PlayerId,
    pub pos: Vec2,
    pub aim: Vec2,
    pub health: u8,
    pub alive: bool,
}

#[derive(Clone, Debug)]
pub struct SnapshotBuffer {
    ms_per_tick: f64,
    snapshots: VecDeque<Snapshot>,
    /// Local arrival time minus the snapshot's server time, in ms, for the fastest snapshot seen.
    offset_ms: Option<f64>,
    /// Smoothed lateness of arrivals relative to the fastest one, in ms.
    jitter_ms: f64,
}

impl SnapshotBuffer {
    pub fn new(tick_hz: u16) -> SnapshotBuffer {
        SnapshotBuffer {
            ms_per_tick: 1000.0 / f64::from(tick_hz.max(1)),
            snapshots: VecDeque::with_capacity(CAPACITY),
            offset_ms: None,
            jitter_ms: 0.0,
        }
    }

    /// Smoothed arrival jitter in ms.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    /// The interpolation delay for a link sending `send_hz` snapshots a second: two send
    /// intervals plus twice the jitter, so the render time stays between received snapshots.
    pub fn delay_ms(&self, send_hz: u16) -> f64 {
        let interval = 1000.0 / f64::from(send_hz.max(1));
        (2.0 * interval + 2.0 * self.jitter_ms).clamp(interval, 400.0)
    }

    /// Adds a snapshot received at `arrival_ms` (local clock). Stale or duplicate ticks are ignored.
    pub fn push(&mut self, arrival_ms: f64, snapshot: Snapshot) {
        if self.latest().is_some_and(|latest| snapshot.tick <= latest.tick) {
            return;
        }
        let sample = arrival_ms - f64::from(snapshot.tick.0) * self.ms_per_tick;
        let offset = match self.offset_ms {
            Some(offset) => sample.min(offset + OFFSET_RELAX_MS),
            None => sample,
        };
        self.jitter_ms += JITTER_GAIN * ((sample - offset) - self.jitter_ms);
        self.offset_ms = Some(offset);
        if self.snapshots.len() == CAPACITY {
            self.snapshots.pop_front();
        }
        self.snapshots.push_back(snapshot);
    }

    pub fn latest(&self) -> Option<&Snapshot> {
        self.snapshots.back()
    }

    pub fn clear(&mut self) {
        self.snapshots.clear();
        self.offset_ms = None;
    }

    /// The (fractional) server tick to draw at local time `now_ms` with `delay_ms` of buffering.
    pub fn render_tick(&self, now_ms: f64, delay_ms: f64) -> Option<f64> {
        let offset = self.offset_ms?;
        Some((now_ms - offset - delay_ms) / self.ms_per_tick)
    }

    /// Every player of the snapshot after the render time, placed between the two snapshots
    /// around it. Before the oldest or after the newest snapshot, positions hold still.
    pub fn sample(&self, now_ms: f64, delay_ms: f64) -> Vec<DrawnPlayer> {
        let Some(render_tick) = self.render_tick(now_ms, delay_ms) else { return Vec::new() };
        let after_index = self
            .snapshots
            .iter()
            .position(|snap| f64::from(snap.tick.0) >= render_tick)
            .unwrap_or(self.snapshots.len() - 1);
        let after = &self.snapshots[after_index];
        let beyond = render_tick - f64::from(after.tick.0);
        if beyond > 0.0 {
            let ticks = beyond.min(MAX_EXTRAPOLATION_TICKS) as f32;
            return after.players.iter().map(|p| extrapolated(p, ticks)).collect();
        }
        let Some(before) = after_index.checked_sub(1).map(|i| &self.snapshots[i]) else {
            return after.players.iter().map(|p| drawn(p, p, 1.0)).collect();
        };
        let span = f64::from(after.tick.0 - before.tick.0);
        let alpha = ((render_tick - f64::from(before.tick.0)) / span).clamp(0.0, 1.0) as f32;
        after
            .players
            .iter()
            .map(|next| match before.players.iter().find(|p| p.id == next.id) {
                Some(prev) => drawn(prev, next, alpha),
                None => drawn(next, next, 1.0),
            })
            .collect()
    }
}

fn extrapolated(player: &PlayerSnap, ticks: f32) -> DrawnPlayer {
    let mut drawn = drawn(player, player, 1.0);
    if player.alive {
        drawn.pos += Vec2::new(dequantize_pos(player.vx), dequantize_pos(player.vy)) * ticks;
    }
    drawn
}

fn drawn(prev: &PlayerSnap, next: &PlayerSnap, alpha: f32) -> DrawnPlayer {
    let from = Vec2::new(dequantize_pos(prev.x), dequantize_pos(prev.y));
    let to = Vec2::new(dequantize_pos(next.x), dequantize_pos(next.y));
    let teleport = from.distance(to) > TELEPORT_DISTANCE || prev.alive != next.alive;
    let pos = if teleport { to } else { from.lerp(to, alpha) };
    let aim_from = dequantize_angle(prev.aim);
    let aim_to = dequantize_angle(next.aim);
    let aim = aim_from.lerp(aim_to, alpha).try_normalize().unwrap_or(aim_to);
    DrawnPlayer { id: next.id, pos, aim, health: next.health, alive: next.alive }
}

#[cfg(test)]
mod tests;
