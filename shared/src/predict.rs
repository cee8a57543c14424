//! Client-side prediction of the local player, and reconciliation with the server.
//!
//! The client moves its own ship the moment an input is sampled, with the same
//! [`crate::sim::move_player`] the server runs. Each snapshot says which input the server applied
//! last and where that left the ship; the predictor restarts from there and replays the inputs
//! the server has not applied yet. With no loss the replay lands exactly where the prediction
//! already was (positions are quantized inside the simulation, so both sides compute the same
//! bits). An acknowledgement past the newest command predicted (the server repeated it for
//! ticks whose commands were late) is held against that command repeated. A real correction is
//! smoothed away over a few frames when small, and snapped when large.

use std::collections::VecDeque;

use glam::Vec2;

use crate::map::Map;
use crate::protocol::InputCmd;
use crate::sim::{move_player, move_vector};

/// Corrections longer than this are snapped instead of smoothed (a respawn, a big desync).
pub const SNAP_DISTANCE: f32 = 64.0;
/// The visual correction shrinks by `e^(-rate × seconds)`: about 90 % in 0.2 s.
pub const SMOOTHING_RATE: f32 = 12.0;
/// Unacknowledged inputs kept; beyond this the oldest are forgotten.
const MAX_PENDING: usize = 256;
/// The most ticks a server repeats a command for (a quarter second at 60 Hz is 15).
const MAX_GUESSED: u32 = 64;

#[derive(Debug, Default, Clone)]
pub struct Predictor {
    pending: VecDeque<InputCmd>,
    /// The newest command predicted (what the server repeats for a tick whose command is late).
    last: Option<InputCmd>,
    /// Where the ship is after every pending input: the exact prediction.
    pos: Vec2,
    /// Added to `pos` when drawing: the part of the last correction not yet smoothed away.
    offset: Vec2,
    alive: bool,
    /// Whether a snapshot has placed the ship yet.
    known: bool,
}

impl Predictor {
    pub fn new() -> Predictor {
        Predictor::default()
    }

    /// Applies a just-sent input locally and remembers it until the server acknowledges it.
    pub fn predict(&mut self, map: &Map, cmd: InputCmd, dt: f32) {
        if self.known && self.alive {
            self.pos = move_player(map, self.pos, move_vector(&cmd), dt);
        }
        self.last = Some(cmd);
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(cmd);
    }

    /// A snapshot placed the ship at `server_pos` after applying input `ack`. Replays the inputs
    /// after `ack` and returns how far the prediction was off (0 when it was right).
    pub fn reconcile(
        &mut self,
        map: &Map,
        server_pos: Vec2,
        alive: bool,
        ack: u32,
        dt: f32,
    ) -> f32 {
        while self.pending.front().is_some_and(|cmd| cmd.seq <= ack) {
            self.pending.pop_front();
        }
        let drawn = self.draw_pos();
        let was_tracking = self.known && self.alive;
        self.known = true;
        self.alive = alive;
        if !alive {
            self.pos = server_pos;
            self.offset = Vec2::ZERO;
            return 0.0;
        }
        let replayed = self
            .pending
            .iter()
            .fold(server_pos, |pos, cmd| move_player(map, pos, move_vector(cmd), dt));
        // Acknowledged past the newest command predicted: the server repeated that command for
        // ticks whose own had not reached it (see the server's `pacing`), so that is what the
        // prediction is held against.
        let expected = match self.last.filter(|last| ack > last.seq) {
            Some(last) => {
                let guessed = (ack - last.seq).min(MAX_GUESSED);
                (0..guessed).fold(self.pos, |pos, _| move_player(map, pos, move_vector(&last), dt))
            }
            None => self.pos,
        };
        let error = replayed.distance(expected);
        self.pos = replayed;
        self.offset = if was_tracking && drawn.distance(replayed) <= SNAP_DISTANCE {
            drawn - replayed
        } else {
            Vec2::ZERO
        };
        if was_tracking { error } else { 0.0 }
    }

    /// Shrinks the visual correction; call once per drawn frame.
    pub fn smooth(&mut self, frame_secs: f32) {
        self.offset *= (-SMOOTHING_RATE * frame_secs.max(0.0)).exp();
        if self.offset.length_squared() < 1e-4 {
            self.offset = Vec2::ZERO;
        }
    }

    /// The exact predicted position.
    pub fn position(&self) -> Option<Vec2> {
        (self.known && self.alive).then_some(self.pos)
    }

    /// Where to draw the ship: the prediction plus the fading correction.
    pub fn draw_pos(&self) -> Vec2 {
        self.pos + self.offset
    }

    /// Inputs sent and not yet acknowledged, oldest first (for input redundancy).
    pub fn unacked(&self) -> impl DoubleEndedIterator<Item = &InputCmd> + ExactSizeIterator {
        self.pending.iter()
    }

    /// Forget everything (a new connection).
    pub fn reset(&mut self) {
        *self = Predictor::default();
    }
}

#[cfg(test)]
mod tests;
