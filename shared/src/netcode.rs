//! The client half of the netcode, without IO: what the browser's model and the bots both wrap,
//! so "the bots use the browser's netcode" holds by construction.
//!
//! A [`ClientCore`] starts from the server's `Welcome` and owns everything between the socket
//! and the game: the **input clock** (one command per server tick of local time, however often
//! the caller sends), sequence numbers and the resend window (each `Input` message repeats the
//! newest unacknowledged commands), prediction of the local ship, the snapshot decoder with its
//! baselines, the acknowledgement of the newest snapshot, and the interpolation buffer whose
//! render time is the `view_tick` lag compensation rewinds to. A snapshot that acknowledges
//! commands the client has not issued yet (the server repeated the last one for ticks whose
//! own were late) moves its numbering and input clock past them.
//!
//! Light mode (`Fidelity::Light`, for load-generating bots) keeps what the server needs from a
//! client — every snapshot decoded and acknowledged, commands numbered, redundant and paced —
//! and skips what only a screen needs: replaying predictions and buffering for interpolation.

use std::collections::VecDeque;

use glam::Vec2;

use crate::delta::{Decoder, DeltaError};
use crate::interp::SnapshotBuffer;
use crate::map::Map;
use crate::predict::Predictor;
use crate::protocol::{
    ClientMsg, Hello, InputCmd, InputMsg, MAX_INPUTS_PER_MSG, PROTOCOL_VERSION, ResumeToken,
    Snapshot, SnapshotDelta, Welcome, dequantize_pos,
};
use crate::tick::Tick;

/// After a stall (a background tab, a long frame) at most this many ticks of commands are
/// caught up at once; older ones are skipped.
pub const MAX_CATCH_UP_COMMANDS: u32 = MAX_INPUTS_PER_MSG as u32;

/// The first message of every connection: this protocol's version, the player's name, the room
/// (empty: the default one), the seat the lobby reserved, and the resume token of a dropped
/// connection, if any.
pub fn hello(
    name: &str,
    room: &str,
    ticket: Option<&str>,
    resume: Option<ResumeToken>,
) -> ClientMsg {
    ClientMsg::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        name: name.into(),
        room: room.into(),
        ticket: ticket.map(str::to_owned),
        resume,
        spectate: false,
    })
}

/// The `Hello` that watches `room` (an id or code) as spectator `name`, without a ship.
pub fn spectate_hello(name: &str, room: &str) -> ClientMsg {
    ClientMsg::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        name: name.into(),
        room: room.into(),
        ticket: None,
        resume: None,
        spectate: true,
    })
}

/// How much of the netcode a client runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fidelity {
    /// Prediction, reconciliation and interpolation, as a player's screen needs.
    Full,
    /// Decode and acknowledge every snapshot, pace and resend commands; no replays, no buffer.
    Light,
}

pub struct ClientCore {
    pub me: crate::ids::PlayerId,
    pub tick_hz: u16,
    pub send_hz: u16,
    pub map: Map,
    fidelity: Fidelity,
    decoder: Decoder,
    /// The local ship's prediction (Full) and the commands not yet acknowledged (both modes).
    pub predictor: Predictor,
    /// Received snapshots for interpolation (Full only).
    pub buffer: SnapshotBuffer,
    /// Light mode's resend window (Full keeps it in the predictor).
    unacked: VecDeque<InputCmd>,
    next_seq: u32,
    newest_tick: Tick,
    /// Local time up to which commands have been issued (one per tick period).
    input_clock_ms: Option<f64>,
    /// Reconciliations that had to move the prediction, and the largest move.
    pub corrections: u64,
    pub max_correction: f32,
}

impl ClientCore {
    pub fn new(welcome: &Welcome, fidelity: Fidelity) -> ClientCore {
        ClientCore {
            me: welcome.player_id,
            tick_hz: welcome.tick_hz.max(1),
            send_hz: welcome.send_hz.max(1),
            map: welcome.map.clone(),
            fidelity,
            decoder: Decoder::default(),
            predictor: Predictor::new(),
            buffer: SnapshotBuffer::new(welcome.tick_hz),
            unacked: VecDeque::new(),
            next_seq: 1,
            newest_tick: Tick(0),
            input_clock_ms: None,
            corrections: 0,
            max_correction: 0.0,
        }
    }

    /// Seconds per tick.
    pub fn dt(&self) -> f32 {
        1.0 / f32::from(self.tick_hz)
    }

    /// How many commands are due at local time `now_ms`: one per server tick since the last
    /// ones (to the nearest tick), so the server receives exactly one tick of movement per tick
    /// of time whatever the caller's send rate (the first call issues one). After a stall at
    /// most [`MAX_CATCH_UP_COMMANDS`] are due.
    pub fn commands_due(&mut self, now_ms: f64) -> u32 {
        let period = 1000.0 / f64::from(self.tick_hz);
        let clock = self.input_clock_ms.get_or_insert(now_ms - period);
        // Rounded, not floored: a timer firing a millisecond before or after each period still
        // issues one command a time (floored, an early one would issue none and the next two,
        // and the server would see a late command every other message). Commands are at most
        // half a tick early, which only means they wait at the server, never that they are late.
        let mut due = ((now_ms - *clock) / period).round().max(0.0) as u32;
        if due > MAX_CATCH_UP_COMMANDS {
            *clock = now_ms - period * f64::from(MAX_CATCH_UP_COMMANDS);
            due = MAX_CATCH_UP_COMMANDS;
        }
        *clock += period * f64::from(due);
        due
    }

    /// The server tick remote players are drawn at now (interpolation render time); in light
    /// mode, two send intervals behind the newest snapshot, as a screen would draw.
    pub fn render_tick(&self, now_ms: f64) -> Option<f64> {
        match self.fidelity {
            Fidelity::Full => self.buffer.render_tick(now_ms, self.buffer.delay_ms(self.send_hz)),
            Fidelity::Light => (self.newest_tick.0 > 0).then(|| {
                let behind = 2.0 * f64::from(self.tick_hz) / f64::from(self.send_hz);
                (f64::from(self.newest_tick.0) - behind).max(0.0)
            }),
        }
    }

    /// Numbers `commands` (one tick each, oldest first), stamps them with the render tick,
    /// predicts them, and returns the `Input` message to send: them and the newest
    /// unacknowledged ones before them, at most [`MAX_INPUTS_PER_MSG`]. `None` for no commands.
    pub fn input_message(
        &mut self,
        commands: impl IntoIterator<Item = InputCmd>,
        now_ms: f64,
    ) -> Option<ClientMsg> {
        let view_tick =
            Tick(self.render_tick(now_ms).map_or(0, |tick| tick.round().max(0.0) as u32));
        let mut any = false;
        for mut cmd in commands {
            any = true;
            cmd.seq = self.next_seq;
            cmd.view_tick = view_tick;
            self.next_seq = self.next_seq.saturating_add(1);
            match self.fidelity {
                Fidelity::Full => self.predictor.predict(&self.map, cmd, self.dt()),
                Fidelity::Light => {
                    if self.unacked.len() == MAX_INPUTS_PER_MSG {
                        self.unacked.pop_front();
                    }
                    self.unacked.push_back(cmd);
                }
            }
        }
        if !any {
            return None;
        }
        let inputs = match self.fidelity {
            Fidelity::Full => newest(self.predictor.unacked()),
            Fidelity::Light => newest(self.unacked.iter()),
        };
        Some(ClientMsg::Input(InputMsg { ack_tick: self.newest_tick, inputs }))
    }

    /// The sequence number the next command will get.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Decodes a snapshot against its baseline, reconciles the prediction with it and buffers
    /// it for interpolation (Full), and remembers it for the next acknowledgement.
    pub fn on_snapshot(
        &mut self,
        delta: &SnapshotDelta,
        now_ms: f64,
    ) -> Result<&Snapshot, DeltaError> {
        let snapshot = self.decoder.decode_ref(delta)?;
        self.newest_tick = self.newest_tick.max(snapshot.tick);
        let ack = snapshot.ack_input;
        follow_guesses(ack, self.tick_hz, &mut self.next_seq, &mut self.input_clock_ms);
        match self.fidelity {
            Fidelity::Light => {
                while self.unacked.front().is_some_and(|cmd| cmd.seq <= ack) {
                    self.unacked.pop_front();
                }
            }
            Fidelity::Full => {
                if let Some(mine) = snapshot.players.iter().find(|p| p.id == self.me) {
                    let pos = Vec2::new(dequantize_pos(mine.x), dequantize_pos(mine.y));
                    let dt = 1.0 / f32::from(self.tick_hz);
                    let error = self.predictor.reconcile(&self.map, pos, mine.alive, ack, dt);
                    if error > 0.0 {
                        self.corrections += 1;
                        self.max_correction = self.max_correction.max(error);
                    }
                }
                self.buffer.push(now_ms, snapshot.clone());
            }
        }
        Ok(snapshot)
    }

    /// The newest decoded snapshot.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.decoder.latest()
    }
}

/// A snapshot acknowledged commands up to `ack`, some of which this client has not issued yet:
/// the server's pacing stood in for them, repeating the last command, because they were not
/// there on time (see the server's `pacing`). Those ticks are played; the client numbers its
/// next command after them and moves its input clock on by as many ticks (at most a quarter
/// second's worth), so its commands reach the server on time again instead of queueing behind.
fn follow_guesses(ack: u32, tick_hz: u16, next_seq: &mut u32, input_clock_ms: &mut Option<f64>) {
    if ack < *next_seq {
        return;
    }
    let guessed = (ack - *next_seq).saturating_add(1);
    *next_seq = ack.saturating_add(1);
    if let Some(clock) = input_clock_ms.as_mut() {
        let most = (u32::from(tick_hz) / 4).max(MAX_CATCH_UP_COMMANDS);
        *clock += 1000.0 / f64::from(tick_hz) * f64::from(guessed.min(most));
    }
}

/// The last [`MAX_INPUTS_PER_MSG`] of `commands`, oldest first.
fn newest<'a>(
    commands: impl DoubleEndedIterator<Item = &'a InputCmd> + ExactSizeIterator,
) -> Vec<InputCmd> {
    let skip = commands.len().saturating_sub(MAX_INPUTS_PER_MSG);
    commands.skip(skip).copied().collect()
}

#[cfg(test)]
mod tests;
