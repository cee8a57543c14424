//! What each member of a room is told (the pure part of the server's send path): its visible players (interest management), encoded as a
//! delta against the snapshot it holds; the shots near it; and the scoreboard summary.
//!
//! Shared work happens once per tick in [`ViewBuilder::prepare`] (player states, the spatial
//! grid); per member only the visible-set query, the delta and its encoding remain, all
//! proportional to what that member sees rather than to the room.

use crate::codec::encode_server;
use crate::delta::{self, Baselines};
use crate::ids::PlayerId;
use crate::interest::{Grid, HYSTERESIS, visible_set};
use crate::protocol::{
    GameEvent, PlayerSnap, ScoreEntry, Scoreboard, ServerMsg, Snapshot, dequantize_pos,
};
use crate::sim::{Player, World};
use crate::tick::Tick;
use glam::Vec2;

/// Players listed in the scoreboard summary.
const SCOREBOARD_TOP: usize = 10;

/// Per member: what it was sent, to encode the next snapshot against and to keep the
/// visible set stable at the edge.
#[derive(Default)]
pub struct Viewer {
    baselines: Baselines,
    visible: Vec<PlayerId>,
}

/// Per room: the shared part of building every member's frame.
pub struct ViewBuilder {
    /// 0 means everyone sees everyone.
    radius: f32,
    full_snapshots: bool,
    grid: Grid,
    scratch: Vec<u32>,
    /// Every player's (id, position), in id order; indices match the grid's.
    positions: Vec<(PlayerId, Vec2)>,
    /// Every player's state, in id order.
    states: Vec<PlayerSnap>,
}

impl ViewBuilder {
    pub fn new(map_size: Vec2, radius: f32, full_snapshots: bool) -> ViewBuilder {
        let radius = if full_snapshots { 0.0 } else { radius.max(0.0) };
        let cell = if radius > 0.0 { radius } else { map_size.max_element() };
        ViewBuilder {
            radius,
            full_snapshots,
            grid: Grid::new(map_size, cell),
            scratch: Vec::new(),
            positions: Vec::new(),
            states: Vec::new(),
        }
    }

    /// Collects the world's players and fills the grid; once per send tick.
    pub fn prepare(&mut self, world: &World) {
        self.states.clear();
        self.states.extend(world.players.values().map(Player::snap));
        self.positions.clear();
        self.positions.extend(world.players.values().map(|p| (p.id, p.pos)));
        if self.radius > 0.0 {
            self.grid.clear();
            for (index, (_, pos)) in self.positions.iter().enumerate() {
                self.grid.insert(index as u32, *pos);
            }
        }
    }

    /// The encoded snapshot frame for member `id`.
    pub fn snapshot_frame(
        &mut self,
        id: PlayerId,
        viewer: &mut Viewer,
        tick: Tick,
        ack_input: u32,
        pickups: u64,
        held: Option<Tick>,
    ) -> Vec<u8> {
        let players = if self.radius > 0.0 {
            match self.positions.binary_search_by_key(&id, |(pid, _)| *pid) {
                Ok(index) => {
                    viewer.visible = visible_set(
                        &self.grid,
                        &self.positions,
                        index,
                        self.radius,
                        &viewer.visible,
                        &mut self.scratch,
                    );
                    select(&self.states, &viewer.visible)
                }
                Err(_) => Vec::new(),
            }
        } else {
            self.states.clone()
        };
        let snapshot = Snapshot { tick, ack_input, players, pickups };
        let delta = if self.full_snapshots {
            delta::encode(None, &snapshot)
        } else {
            viewer.baselines.encode(snapshot, held)
        };
        encode_server(&ServerMsg::Snapshot(delta))
    }

    /// Whether an event at `points` concerns a member standing at `viewer`.
    pub fn near(&self, viewer: Vec2, points: [Vec2; 2]) -> bool {
        let reach = self.radius * HYSTERESIS;
        self.radius <= 0.0 || points.iter().any(|p| p.distance_squared(viewer) <= reach * reach)
    }
}

/// The states of `ids` (sorted), from `states` (sorted by id).
fn select(states: &[PlayerSnap], ids: &[PlayerId]) -> Vec<PlayerSnap> {
    let mut out = Vec::with_capacity(ids.len());
    let mut rest = states;
    for id in ids {
        if let Ok(index) = rest.binary_search_by_key(id, |s| s.id) {
            out.push(rest[index]);
            rest = &rest[index + 1..];
        }
    }
    out
}

/// Where a local event happened: shots matter only to those who can see either end.
pub fn event_points(event: &GameEvent) -> Option<[Vec2; 2]> {
    match event {
        GameEvent::Shot { from, to, .. } => Some([
            Vec2::new(dequantize_pos(from.0), dequantize_pos(from.1)),
            Vec2::new(dequantize_pos(to.0), dequantize_pos(to.1)),
        ]),
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
mod tests {
    use super::*;

    #[test]
    fn select_picks_the_visible_states_in_order() {
        let states: Vec<PlayerSnap> =
            (1..=6).map(|id| PlayerSnap { id: PlayerId(id), ..PlayerSnap::default() }).collect();
        let picked = select(&states, &[PlayerId(2), PlayerId(5), PlayerId(9)]);
        assert_eq!(
            picked.iter().map(|s| s.id.0).collect::<Vec<_>>(),
            vec![2, 5],
            "unknown ids are skipped"
        );
    }
}
