//! The meeting point of one player's session task and its room task.
//!
//! Inbound (session → room): a short buffer of input commands, de-duplicated by sequence
//! number, where the newest win and the oldest beyond [`MAX_PENDING_INPUTS`] are dropped and
//! counted; plus a few pending chat lines. Outbound (room → session): a **latest-wins** snapshot
//! slot that a newer snapshot overwrites, and a bounded queue of reliable event frames. Nothing
//! here can grow without limit, whatever the client does or fails to do.
//!
//! The session records the tick of each snapshot it actually wrote; the room encodes the next
//! snapshot against that one, which the client is known to hold (the socket is reliable), and
//! the newest input each snapshot acknowledges (the session times its answers: `answers`).
//!
//! Both sides hold the locks only for a few pointer moves, never across an `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use shared::ids::PlayerId;
use shared::protocol::{InputCmd, InputMsg, MapPoint, close};
use shared::tick::Tick;
use tokio::sync::Notify;

use crate::close::Close;
use crate::metrics::{Metrics, add};
use crate::pacing::Pacer;

/// Input commands a room keeps per player; beyond this the oldest are dropped. Above the most
/// credit a player can save up (`pacing`), so a burst the pacer may apply is never cut.
pub(crate) const MAX_PENDING_INPUTS: usize = 16;
/// Chat lines waiting for the next tick; more are dropped.
pub(crate) const MAX_PENDING_CHAT: usize = 4;
/// Reliable frames (events, pongs) waiting for the socket. A client this far behind is kicked.
pub(crate) const MAX_QUEUED_FRAMES: usize = 256;

pub(crate) struct Link {
    pub(crate) player_id: PlayerId,
    /// A spectator's link: no ship, so its inputs and chat lines are dropped by the session.
    pub(crate) spectator: bool,
    inbound: Mutex<Inbound>,
    outbound: Mutex<Outbound>,
    wake_writer: Notify,
    /// Set once the room kicked this player (reason in `kick_reason`); the session's waker is
    /// in `kick_waker`. Checking costs an atomic load per wake-up of the session, where a
    /// `CancellationToken` takes a lock (1.8 % of the server at 800 players for two of them).
    kicked: AtomicBool,
    kick_waker: AtomicWaker,
    kick_reason: Mutex<Option<Close>>,
    /// The tick of the last snapshot written to the socket (0: none yet).
    written_tick: AtomicU32,
    /// The newest snapshot tick the client says it has received (from its inputs), and how
    /// many input messages arrived: a client that sends but does not read shows a growing gap.
    client_ack: AtomicU32,
    input_messages: AtomicU32,
    /// Half the width and height of the client's screen in world units (`width << 16 |
    /// height`); 0 until it says.
    view: AtomicU32,
    /// Where a spectator's camera looks (`1 << 32 | x << 16 | y`); 0 until it says.
    look: AtomicU64,
    /// Counts replaced snapshots and dropped inputs and chat lines.
    pub(crate) metrics: Arc<Metrics>,
}

struct Inbound {
    inputs: VecDeque<InputCmd>,
    newest_seq: u32,
    pacer: Pacer,
    chat: VecDeque<String>,
}

#[derive(Default)]
struct Outbound {
    frames: VecDeque<Bytes>,
    snapshot: Option<(Stamp, Bytes)>,
}

/// What a snapshot frame carries that the session must know once it is written: its tick (the
/// client's next baseline) and the newest input it acknowledges (answered inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) tick: Tick,
    pub(crate) ack_input: u32,
}

impl Link {
    /// A link for a player of a room that ticks `tick_hz` times a second.
    pub(crate) fn new(player_id: PlayerId, metrics: Arc<Metrics>, tick_hz: u16) -> Link {
        let inbound = Inbound {
            inputs: VecDeque::with_capacity(MAX_PENDING_INPUTS),
            newest_seq: 0,
            pacer: Pacer::new(tick_hz),
            chat: VecDeque::new(),
        };
        Link {
            player_id,
            spectator: false,
            inbound: Mutex::new(inbound),
            outbound: Mutex::default(),
            wake_writer: Notify::new(),
            kicked: AtomicBool::new(false),
            kick_waker: AtomicWaker::new(),
            kick_reason: Mutex::new(None),
            written_tick: AtomicU32::new(0),
            client_ack: AtomicU32::new(0),
            input_messages: AtomicU32::new(0),
            view: AtomicU32::new(0),
            look: AtomicU64::new(0),
            metrics,
        }
    }

    /// A link for spectator `id` (see [`Link::spectator`]).
    pub(crate) fn for_spectator(id: PlayerId, metrics: Arc<Metrics>, tick_hz: u16) -> Link {
        Link { spectator: true, ..Link::new(id, metrics, tick_hz) }
    }

    // ---- session side ----

    /// Buffers the commands of an input message that are newer than any seen before; returns
    /// the first of them (the command that carries the player's input to the room first: a
    /// client ticking slower than the room sends a tick's worth of copies), if any.
    pub(crate) fn push_inputs(&self, message: &InputMsg) -> Option<u32> {
        self.client_ack.fetch_max(message.ack_tick.0, Ordering::Relaxed);
        self.input_messages.fetch_add(1, Ordering::Relaxed);
        let mut inbound = lock(&self.inbound);
        let mut first_new = None;
        for cmd in &message.inputs {
            if cmd.seq <= inbound.newest_seq {
                continue; // A redundant copy of a command already buffered or applied.
            }
            inbound.newest_seq = cmd.seq;
            first_new.get_or_insert(cmd.seq);
            if inbound.inputs.len() == MAX_PENDING_INPUTS {
                inbound.inputs.pop_front();
                add(&self.metrics.inputs_dropped, 1);
            }
            inbound.inputs.push_back(*cmd);
        }
        first_new
    }

    /// Queues a sanitised chat line; returns `false` if it was dropped.
    pub(crate) fn push_chat(&self, text: String) -> bool {
        let mut inbound = lock(&self.inbound);
        if inbound.chat.len() >= MAX_PENDING_CHAT {
            add(&self.metrics.chat_dropped, 1);
            return false;
        }
        inbound.chat.push_back(text);
        true
    }

    /// Waits for the next frame to write: reliable frames first, then the newest snapshot (with
    /// its stamp) unless `snapshots` is false (flow control holds it in the slot). Cancel-safe:
    /// a frame is only taken when the future completes.
    pub(crate) async fn next_frame(&self, snapshots: bool) -> (Bytes, Option<Stamp>) {
        loop {
            if let Some(frame) = self.take_frame(snapshots) {
                return frame;
            }
            self.wake_writer.notified().await;
        }
    }

    /// The next frame to write if one is ready now (see [`Self::next_frame`]).
    pub(crate) fn take_frame(&self, snapshots: bool) -> Option<(Bytes, Option<Stamp>)> {
        let mut outbound = lock(&self.outbound);
        match outbound.frames.pop_front() {
            Some(frame) => Some((frame, None)),
            None if snapshots => {
                outbound.snapshot.take().map(|(stamp, frame)| (frame, Some(stamp)))
            }
            None => None,
        }
    }

    /// The client's screen shows `half_width` × `half_height` world units each side.
    pub(crate) fn set_view(&self, half_width: u16, half_height: u16) {
        let packed = u32::from(half_width) << 16 | u32::from(half_height);
        self.view.store(packed, Ordering::Relaxed);
    }

    /// Half the client's view in world units, or `None` before it said.
    pub(crate) fn view(&self) -> Option<glam::Vec2> {
        let packed = self.view.load(Ordering::Relaxed);
        (packed != 0)
            .then(|| glam::Vec2::new(f32::from((packed >> 16) as u16), f32::from(packed as u16)))
    }

    /// A spectator's camera now looks at `at`.
    pub(crate) fn set_look(&self, at: MapPoint) {
        let packed = 1 << 32 | u64::from(at.x) << 16 | u64::from(at.y);
        self.look.store(packed, Ordering::Relaxed);
    }

    /// Where a spectator's camera looks, or `None` before it said.
    pub(crate) fn look(&self) -> Option<MapPoint> {
        let packed = self.look.load(Ordering::Relaxed);
        (packed != 0).then_some(MapPoint { x: (packed >> 16) as u16, y: packed as u16 })
    }

    /// Input messages received so far (a client that is playing keeps this moving).
    pub(crate) fn input_messages(&self) -> u32 {
        self.input_messages.load(Ordering::Relaxed)
    }

    /// Ticks between the newest snapshot written and the newest the client acknowledged: how
    /// much is in flight (on the wire or in buffers) on the way to the client.
    pub(crate) fn in_flight(&self) -> u32 {
        let written = self.written_tick.load(Ordering::Relaxed);
        written.saturating_sub(self.client_ack.load(Ordering::Relaxed))
    }

    /// Ticks between `now` and the newest snapshot the client acknowledged (0 until a first
    /// snapshot was written). Unlike [`Self::in_flight`] this keeps growing while flow control
    /// holds snapshots back, so a client that stopped reading is still found.
    pub(crate) fn ack_lag(&self, now: Tick) -> u32 {
        if self.written_tick.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        now.0.saturating_sub(self.client_ack.load(Ordering::Relaxed))
    }

    /// The session wrote the snapshot of `tick` to the socket.
    pub(crate) fn mark_written(&self, tick: Tick) {
        self.written_tick.store(tick.0, Ordering::Relaxed);
    }

    /// Resolves when the room kicked this player; yields the reason.
    /// Only one task (the session) may wait on it, and the future must stay with that task: its
    /// waker is registered on the first poll only (later polls are one atomic load).
    pub(crate) async fn kicked(&self) -> Close {
        let mut registered = false;
        std::future::poll_fn(|cx| {
            if !registered {
                self.kick_waker.register(cx.waker());
                registered = true;
            }
            if self.is_kicked() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
        })
        .await;
        lock(&self.kick_reason).clone().unwrap_or_else(|| Close::new(close::POLICY, "removed"))
    }

    // ---- room side ----

    /// The commands this tick applies for the player, oldest first (see `pacing`); returns the
    /// sequence number of the newest one, if any.
    pub(crate) fn take_tick_inputs(&self, mut apply: impl FnMut(InputCmd)) -> Option<u32> {
        let mut newest = None;
        let mut inbound = lock(&self.inbound);
        let Inbound { inputs, pacer, .. } = &mut *inbound;
        let paced = pacer.tick(inputs, |cmd| {
            newest = Some(cmd.seq);
            apply(cmd);
        });
        drop(inbound);
        if paced.trimmed > 0 {
            add(&self.metrics.inputs_trimmed, paced.trimmed as u64);
        }
        if paced.repeated {
            add(&self.metrics.inputs_repeated, 1);
        }
        newest
    }

    pub(crate) fn take_chat(&self) -> Option<String> {
        lock(&self.inbound).chat.pop_front()
    }

    /// The newest snapshot the client is known to hold (written to its reliable socket).
    pub(crate) fn held_snapshot(&self) -> Option<Tick> {
        Some(self.written_tick.load(Ordering::Relaxed)).filter(|tick| *tick != 0).map(Tick)
    }

    /// Replaces any snapshot the socket has not taken yet.
    pub(crate) fn publish_snapshot(&self, stamp: Stamp, frame: Bytes) {
        if lock(&self.outbound).snapshot.replace((stamp, frame)).is_some() {
            add(&self.metrics.snapshots_replaced, 1);
        }
        self.wake_writer.notify_one();
    }

    /// Queues a reliable frame. A client that lets [`MAX_QUEUED_FRAMES`] pile up is kicked.
    pub(crate) fn send_reliable(&self, frame: Bytes) {
        let mut outbound = lock(&self.outbound);
        if outbound.frames.len() >= MAX_QUEUED_FRAMES {
            drop(outbound);
            self.kick(Close::too_slow("client too slow to receive game events"));
            return;
        }
        outbound.frames.push_back(frame);
        drop(outbound);
        self.wake_writer.notify_one();
    }

    pub(crate) fn kick(&self, reason: Close) {
        lock(&self.kick_reason).get_or_insert(reason);
        self.kicked.store(true, Ordering::Release);
        self.kick_waker.wake();
    }

    /// Whether the room kicked this player.
    pub(crate) fn is_kicked(&self) -> bool {
        self.kicked.load(Ordering::Acquire)
    }
}

/// Locks a mutex; a poisoned lock (a panic elsewhere) still holds consistent plain data here.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
