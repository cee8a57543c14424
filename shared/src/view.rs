//! What each member of a room is told (the pure part of the server's send path): its visible
//! players (interest management), encoded as a delta against the snapshot it holds; the shots
//! near it; and the scoreboard summary.
//!
//! Shared work happens once per send tick in [`ViewBuilder::prepare`]: the room's player states
//! are kept as one frame in a short room-wide history (so a member's baseline is just the tick
//! and ids it was sent, never a copy of states), the spatial grid is filled, and each player's
//! change since the previous frame is worked out once; for every member holding that frame
//! (nearly all of them, nearly always) those changes *are* its delta entries. Per member
//! remain the visible-set query, a merge of two id lists and the encoding, all proportional to
//! what that member sees rather than to the room.

use std::collections::VecDeque;

use crate::codec::encode_server;
use crate::delta::{self, Cursor, HISTORY};
use crate::ids::PlayerId;
use crate::interest::{Grid, HYSTERESIS, visible_set};
use crate::protocol::{
    EntityUpdate, GameEvent, PlayerSnap, ScoreEntry, Scoreboard, ServerMsg, Snapshot, SnapshotDelta,
};
use crate::sim::{Player, World};
use crate::tick::Tick;
use glam::Vec2;

/// Players listed in the scoreboard summary.
const SCOREBOARD_TOP: usize = 10;

/// Send ticks of room state kept as baselines (about two seconds at 30 Hz). A member whose
/// newest received snapshot is older (a long stall) gets a keyframe.
const ROOM_HISTORY: usize = 2 * HISTORY;

/// Per member: what it was sent (as ids; the states are in the room's history), to encode the
/// next snapshot against; the newest is also its visible set, kept stable at the edge.
#[derive(Default)]
pub struct Viewer {
    sent: VecDeque<Sent>,
}

impl Viewer {
    /// The players in the newest snapshot built for this member, by id.
    pub fn visible(&self) -> &[PlayerId] {
        self.sent.back().map_or(&[], |sent| &sent.ids)
    }
}

/// One snapshot sent to a member: the players of the room's frame of `tick` in `ids`.
struct Sent {
    tick: Tick,
    ack_input: u32,
    ids: Vec<PlayerId>,
}

/// The room's player states at one send tick, sorted by id. Every member's snapshot is a
/// selection of these, so a member's baseline is a (tick, ids) pair.
struct Frame {
    tick: Tick,
    states: Vec<PlayerSnap>,
}

/// How a player changed from the previous frame to the newest one.
#[derive(Clone, Copy)]
enum Step {
    New,
    Same,
    Changed(EntityUpdate),
}

/// Per room: the shared part of building every member's frame.
pub struct ViewBuilder {
    /// 0 means everyone sees everyone.
    radius: f32,
    full_snapshots: bool,
    grid: Grid,
    /// The visible set being built, as indices into the newest frame.
    visible: Vec<u32>,
    /// Every player's (id, position), in id order; indices match the grid's and the newest
    /// frame's.
    positions: Vec<(PlayerId, Vec2)>,
    /// The last [`ROOM_HISTORY`] frames, oldest first.
    frames: VecDeque<Frame>,
    /// Per player of the newest frame, its change since the previous frame: the whole delta
    /// entry of every member whose baseline is the previous frame, computed once.
    steps: Vec<Step>,
}

impl ViewBuilder {
    pub fn new(map_size: Vec2, radius: f32, full_snapshots: bool) -> ViewBuilder {
        let radius = if full_snapshots { 0.0 } else { radius.max(0.0) };
        // Half the radius: a view circle then covers less area outside itself than with
        // radius-sized cells, so fewer candidates are measured.
        let cell = if radius > 0.0 { radius / 2.0 } else { map_size.max_element() };
        ViewBuilder {
            radius,
            full_snapshots,
            grid: Grid::new(map_size, cell),
            visible: Vec::new(),
            positions: Vec::new(),
            frames: VecDeque::with_capacity(ROOM_HISTORY),
            steps: Vec::new(),
        }
    }

    /// Records the world's players as the frame of this tick, fills the grid and works out
    /// each player's change since the previous frame; once per send tick.
    pub fn prepare(&mut self, world: &World) {
        let mut states = match self.frames.len() {
            ROOM_HISTORY => self.frames.pop_front().map(|f| f.states).unwrap_or_default(),
            _ => Vec::new(),
        };
        states.clear();
        states.extend(world.players.values().map(Player::snap));
        self.positions.clear();
        self.positions.extend(world.players.values().map(|p| (p.id, p.pos)));
        if self.radius > 0.0 {
            self.grid.clear();
            for (index, (_, pos)) in self.positions.iter().enumerate() {
                self.grid.insert(index as u32, *pos);
            }
        }
        self.steps.clear();
        let previous = self.frames.back();
        let dt = previous.map_or(0, |p| world.tick.0.wrapping_sub(p.tick.0) as i32);
        let mut before = Cursor::new(previous.map_or(&[][..], |p| &p.states[..]));
        self.steps.extend(states.iter().map(|now| match before.seek(now.id) {
            None => Step::New,
            Some(base) => delta::changes(base, dt, now).map_or(Step::Same, Step::Changed),
        }));
        self.frames.push_back(Frame { tick: world.tick, states });
    }

    /// The encoded snapshot frame of this tick for member `id`, against the snapshot of tick
    /// `held` (the newest it is known to hold) when that is still known, else a keyframe.
    pub fn snapshot_frame(
        &mut self,
        id: PlayerId,
        viewer: &mut Viewer,
        ack_input: u32,
        pickups: u64,
        held: Option<Tick>,
    ) -> Vec<u8> {
        let Some(current) = self.frames.back() else { return Vec::new() };
        let tick = current.tick;
        if self.full_snapshots {
            let snapshot = Snapshot { tick, ack_input, players: current.states.clone(), pickups };
            return encode_server(&ServerMsg::Snapshot(delta::encode(None, &snapshot)));
        }
        if self.radius > 0.0 {
            match self.positions.binary_search_by_key(&id, |(pid, _)| *pid) {
                Ok(index) => visible_set(
                    &self.grid,
                    &self.positions,
                    index,
                    self.radius,
                    viewer.visible(),
                    &mut self.visible,
                ),
                Err(_) => self.visible.clear(),
            }
        } else {
            self.visible.clear();
            self.visible.extend(0..current.states.len() as u32);
        }
        if let Some(held) = held {
            // Older snapshots can never be a baseline again: the member holds a newer one.
            while viewer.sent.len() > 1 && viewer.sent.front().is_some_and(|s| s.tick < held) {
                viewer.sent.pop_front();
            }
        }
        let baseline = held
            .and_then(|held| viewer.sent.iter().find(|s| s.tick == held))
            .and_then(|sent| Some((sent, self.frames.iter().find(|f| f.tick == sent.tick)?)));
        let delta = self.delta(ack_input, pickups, baseline);
        let mut ids = match viewer.sent.len() {
            HISTORY => viewer.sent.pop_front().map(|s| s.ids).unwrap_or_default(),
            _ => Vec::new(),
        };
        ids.clear();
        ids.extend(self.visible.iter().map(|&i| current.states[i as usize].id));
        viewer.sent.push_back(Sent { tick, ack_input, ids });
        encode_server(&ServerMsg::Snapshot(delta))
    }

    /// The newest frame's visible players as a delta against what `baseline` sent (none: a
    /// keyframe).
    fn delta(
        &self,
        ack_input: u32,
        pickups: u64,
        baseline: Option<(&Sent, &Frame)>,
    ) -> SnapshotDelta {
        let current = self.frames.back().expect("a frame is prepared");
        let previous_tick = self.frames.len().checked_sub(2).map(|i| self.frames[i].tick);
        let base_ids = baseline.map_or(&[][..], |(sent, _)| &sent.ids[..]);
        let base_states = baseline.map_or(&[][..], |(_, frame)| &frame.states[..]);
        let base_tick = baseline.map(|(sent, _)| sent.tick);
        // The common case: the member holds the previous frame, and the shared steps apply.
        let shared_steps = base_tick.is_some() && base_tick == previous_tick;
        let dt = base_tick.map_or(0, |t| current.tick.0.wrapping_sub(t.0) as i32);
        let mut base_at = Cursor::new(base_states);
        let (removed, updates) = delta::walk(
            base_ids.iter().copied(),
            self.visible.iter().map(|&i| (current.states[i as usize].id, i as usize)),
            |id, index, kept| {
                let now = &current.states[index];
                match self.steps[index] {
                    _ if !kept => Some(delta::entering(now)),
                    Step::Same if shared_steps => None,
                    Step::Changed(update) if shared_steps => Some(update),
                    _ => delta::changes(base_at.seek(id)?, dt, now),
                }
            },
        );
        SnapshotDelta {
            base: delta::header(
                baseline.map(|(sent, _)| (sent.tick, sent.ack_input)),
                current.tick,
                ack_input,
            ),
            pickups,
            removed,
            updates,
        }
    }

    /// Whether an event at `points` concerns a member standing at `viewer`.
    pub fn near(&self, viewer: Vec2, points: [Vec2; 2]) -> bool {
        let reach = self.radius * HYSTERESIS;
        self.radius <= 0.0 || points.iter().any(|p| p.distance_squared(viewer) <= reach * reach)
    }
}

/// Where a local event happened: shots matter only to those who can see either end.
pub fn event_points(event: &GameEvent) -> Option<[Vec2; 2]> {
    match event {
        GameEvent::Shot { from, to, .. } => Some([from.to_world(), to.to_world()]),
        _ => None,
    }
}

/// The room's ranking, best first: score, then fewer deaths, then lower id.
pub fn ranking(world: &World) -> Vec<ScoreEntry> {
    let mut entries: Vec<ScoreEntry> = world
        .players
        .values()
        .map(|p| ScoreEntry { id: p.id, score: p.score, deaths: p.deaths })
        .collect();
    entries
        .sort_by(|a, b| b.score.cmp(&a.score).then(a.deaths.cmp(&b.deaths)).then(a.id.cmp(&b.id)));
    entries
}

/// The encoded scoreboard summary for the player at `rank` (0-based) in `ranking`.
pub fn scoreboard_frame(ranking: &[ScoreEntry], rank: usize) -> Vec<u8> {
    let board = Scoreboard {
        top: ranking.iter().take(SCOREBOARD_TOP).copied().collect(),
        you: ranking.get(rank).copied().unwrap_or_default(),
        your_rank: rank as u32 + 1,
        players: ranking.len() as u32,
    };
    encode_server(&ServerMsg::Scoreboard(board))
}

#[cfg(test)]
mod tests;
