//! What each member of a room is told (the pure part of the server's send path): its visible
//! players (interest management), encoded as a delta against the snapshot it holds (one shared
//! body per baseline when everyone sees everyone); which part of the map its screen shows, for
//! the beams and kills it is sent; and the scoreboard summary.
//!
//! Shared work happens once per sending tick in [`ViewBuilder::prepare`]: the room's player
//! states are kept as one sample in a short room-wide history (so a member's baseline is just
//! the tick and ids it was sent, never a copy of states), the spatial grid is filled, and each
//! player's change since the sample the members sent now were last sent is worked out once;
//! for every member holding that sample (nearly all of them, nearly always) those changes *are*
//! its delta entries. A room that ticks faster than it sends may spread its members over the
//! ticks between two sends ([`ViewBuilder::with_stride`]): each tick sends to one share of them,
//! against the sample one send interval back. Per member
//! remain the visible-set query, a merge of two id lists and the encoding, all proportional to
//! what that member sees rather than to the room.
//!
//! Spectators are viewers without a ship: their snapshots are built the same way around the
//! point their camera looks at ([`ViewBuilder::snapshot_frame_at`], [`look_center`]), they see
//! beams around that point, and their scoreboard ranks no one as "you".

use std::collections::VecDeque;
use std::sync::Arc;

use crate::codec::{encode_server, encode_snapshot_body, encode_snapshot_frame};
use crate::delta::{self, Cursor, HISTORY};
use crate::ids::PlayerId;
use crate::interest::{Grid, Seen, index_bits, visible_around, visible_set};
use crate::protocol::{
    Beam, EntityUpdate, MapPoint, PlayerSnap, Ray, ScoreEntry, Scoreboard, ServerMsg, Snapshot,
    SnapshotDelta,
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
    /// The lists of a snapshot that can no longer be a baseline, kept for the next one.
    spare: Option<(Vec<PlayerId>, Vec<u64>)>,
}

impl Viewer {
    /// The players in the newest snapshot built for this member, by id.
    pub fn visible(&self) -> &[PlayerId] {
        self.sent.back().map_or(&[], |sent| &*sent.ids)
    }

    /// The newest snapshot's players for the visible-set query: as bits of sample indices
    /// while the room's roster is the one they were made with, else as ids.
    fn seen(&self, roster: u64) -> Seen<'_> {
        match self.sent.back() {
            Some(sent) if sent.roster == roster => Seen::Bits(&sent.bits),
            Some(sent) => Seen::Ids(&sent.ids),
            None => Seen::Ids(&[]),
        }
    }
}

/// One snapshot sent to a member: the players of the room's sample of `tick` in `ids`, also
/// as bits of their indices in that sample, valid for every sample of the same `roster`.
struct Sent {
    tick: Tick,
    ack_input: u32,
    ids: SentIds,
    roster: u64,
    bits: Vec<u64>,
}

/// The ids of a snapshot sent: the member's own list, or, when it was sent the whole sample
/// (everyone sees everyone), the sample's list, shared by every member sent it (one list per
/// sample instead of a copy per member: 800 ids each at 800 players).
enum SentIds {
    Own(Vec<PlayerId>),
    Whole(Arc<[PlayerId]>),
}

impl std::ops::Deref for SentIds {
    type Target = [PlayerId];

    fn deref(&self) -> &[PlayerId] {
        match self {
            SentIds::Own(ids) => ids,
            SentIds::Whole(ids) => ids,
        }
    }
}

/// The room's player states at one send tick, sorted by id. Every member's snapshot is a
/// selection of these, so a member's baseline is a (tick, ids) pair. Consecutive samples of
/// the same players (no join or leave between them) share a `roster` number, so indices
/// into one are indices into the other.
struct Sample {
    tick: Tick,
    states: Vec<PlayerSnap>,
    roster: u64,
}

/// How a player changed from the previous sample to the newest one.
#[derive(Clone, Copy)]
enum Change {
    New,
    Same,
    Changed(EntityUpdate),
}

/// Per room: the shared part of building every member's snapshot.
pub struct ViewBuilder {
    /// 0 means everyone sees everyone.
    radius: f32,
    full_snapshots: bool,
    grid: Grid,
    /// The visible set being built, as indices into the newest sample.
    visible: Vec<u32>,
    /// Every player's (id, position), in id order; indices match the grid's and the newest
    /// sample's.
    positions: Vec<(PlayerId, Vec2)>,
    /// The last [`ROOM_HISTORY`] send intervals' samples, oldest first.
    samples: VecDeque<Sample>,
    /// Per player of the newest sample, its change since the sample `stride` back: the whole
    /// delta entry of every member whose baseline is that sample, computed once.
    steps: Vec<Change>,
    /// Without interest management, every member holding the whole sample of one baseline tick
    /// (or none: a keyframe) gets the same delta body: encoded once per send tick, by baseline.
    bodies: Vec<(Option<Tick>, Vec<u8>)>,
    /// The roster number of the next sample whose players differ from the one before.
    next_roster: u64,
    /// Samples between a member's two snapshots (1: every member on every prepared tick).
    stride: usize,
    /// The tick of the sample the steps are taken from (`stride` samples back).
    steps_from: Option<Tick>,
    /// The visible set being built, as bits of its indices (with a radius only).
    visible_bits: Vec<u64>,
    /// Without a radius: the ids of the newest sample, which every member is sent.
    whole_ids: Option<Arc<[PlayerId]>>,
}

impl ViewBuilder {
    pub fn new(map_size: Vec2, radius: f32, full_snapshots: bool) -> ViewBuilder {
        let radius = if full_snapshots { 0.0 } else { radius.max(0.0) };
        // Half the radius: the cells a view circle touches cover less area outside it than
        // radius-sized cells (fewer players measured for nothing), and some lie wholly inside it
        // (their players are taken unmeasured); smaller cells cost more in cells visited than
        // they save (measured: 2.2 µs a query at 1,000 players for a half or a third, 2.7 for a
        // quarter).
        let cell = if radius > 0.0 { radius / 2.0 } else { map_size.max_element() };
        ViewBuilder {
            radius,
            full_snapshots,
            grid: Grid::new(map_size, cell),
            visible: Vec::new(),
            positions: Vec::new(),
            samples: VecDeque::with_capacity(ROOM_HISTORY),
            steps: Vec::new(),
            bodies: Vec::new(),
            next_roster: 0,
            visible_bits: Vec::new(),
            stride: 1,
            steps_from: None,
            whole_ids: None,
        }
    }

    /// For a room that prepares every tick and sends to each member every `stride` ticks, a
    /// share of them each tick: the shared steps are taken against the sample `stride` back
    /// (the one those members hold) and the history keeps as much time as unstaggered.
    pub fn with_stride(mut self, stride: u32) -> ViewBuilder {
        self.stride = stride.max(1) as usize;
        self.samples = VecDeque::with_capacity(self.history());
        self
    }

    /// Samples kept: [`ROOM_HISTORY`] send intervals.
    fn history(&self) -> usize {
        ROOM_HISTORY * self.stride
    }

    /// Records the world's players as the sample of this tick, fills the grid and works out
    /// each player's change since the sample `stride` back; once per tick that sends.
    pub fn prepare(&mut self, world: &World) {
        let mut states = if self.samples.len() >= self.history() {
            self.samples.pop_front().map(|f| f.states).unwrap_or_default()
        } else {
            Vec::new()
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
        self.bodies.clear();
        let from = self.samples.len().checked_sub(self.stride).map(|i| &self.samples[i]);
        self.steps_from = from.map(|f| f.tick);
        let dt = from.map_or(0, |f| world.tick.0.wrapping_sub(f.tick.0) as i32);
        let mut before = Cursor::new(from.map_or(&[][..], |f| &f.states[..]));
        self.steps.extend(states.iter().map(|now| match before.seek(now.id) {
            None => Change::New,
            Some(base) => delta::changes(base, dt, now).map_or(Change::Same, Change::Changed),
        }));
        let previous = self.samples.back();
        let same_players = previous.is_some_and(|p| {
            p.states.len() == states.len()
                && p.states.iter().zip(&states).all(|(a, b)| a.id == b.id)
        });
        let roster = match previous {
            Some(previous) if same_players => previous.roster,
            _ => {
                self.next_roster += 1;
                self.next_roster
            }
        };
        self.whole_ids = (self.radius <= 0.0).then(|| states.iter().map(|p| p.id).collect());
        self.samples.push_back(Sample { tick: world.tick, states, roster });
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
        let Some(current) = self.samples.back() else { return Vec::new() };
        if self.full_snapshots {
            return self.keyframe(ack_input, pickups);
        }
        if self.radius > 0.0 {
            match self.positions.binary_search_by_key(&id, |(pid, _)| *pid) {
                Ok(index) => visible_set(
                    &self.grid,
                    &self.positions,
                    index,
                    self.radius,
                    viewer.seen(current.roster),
                    &mut self.visible,
                ),
                Err(_) => self.visible.clear(),
            }
        } else {
            self.visible.clear();
            self.visible.extend(0..current.states.len() as u32);
        }
        self.frame_of_visible(viewer, ack_input, pickups, held)
    }

    /// The encoded snapshot frame of this tick for a spectator whose camera looks at `center`
    /// (see [`look_center`]): the players within the view radius of that point, as a delta
    /// against `held` like a member's. It acknowledges no input.
    pub fn snapshot_frame_at(
        &mut self,
        center: Vec2,
        viewer: &mut Viewer,
        pickups: u64,
        held: Option<Tick>,
    ) -> Vec<u8> {
        let Some(current) = self.samples.back() else { return Vec::new() };
        if self.full_snapshots {
            return self.keyframe(0, pickups);
        }
        if self.radius > 0.0 {
            let around = (self.radius, viewer.seen(current.roster));
            visible_around(&self.grid, &self.positions, center, None, around, &mut self.visible);
        } else {
            self.visible.clear();
            self.visible.extend(0..current.states.len() as u32);
        }
        self.frame_of_visible(viewer, 0, pickups, held)
    }

    /// `--full-snapshots`: every player, in a keyframe.
    fn keyframe(&self, ack_input: u32, pickups: u64) -> Vec<u8> {
        let Some(current) = self.samples.back() else { return Vec::new() };
        let players = current.states.clone();
        let snapshot = Snapshot { tick: current.tick, ack_input, players, pickups };
        encode_server(&ServerMsg::Snapshot(delta::encode(None, &snapshot)))
    }

    /// The frame of the visible set just worked out (`self.visible`), recorded in `viewer`.
    fn frame_of_visible(
        &mut self,
        viewer: &mut Viewer,
        ack_input: u32,
        pickups: u64,
        held: Option<Tick>,
    ) -> Vec<u8> {
        let Some(current) = self.samples.back() else { return Vec::new() };
        let tick = current.tick;
        if self.radius > 0.0 {
            index_bits(&self.visible, current.states.len(), &mut self.visible_bits);
        }
        if let Some(held) = held {
            // Older snapshots can never be a baseline again: the member holds a newer one.
            while viewer.sent.len() > 1 && viewer.sent.front().is_some_and(|s| s.tick < held) {
                if let Some(Sent { ids: SentIds::Own(ids), bits, .. }) = viewer.sent.pop_front() {
                    viewer.spare = Some((ids, bits));
                }
            }
        }
        // Searched from the newest: a baseline is nearly always one of the last few samples
        // (of up to 192 kept when members are sent in turn).
        let baseline =
            held.and_then(|held| viewer.sent.iter().find(|s| s.tick == held)).and_then(|sent| {
                Some((sent, self.samples.iter().rev().find(|f| f.tick == sent.tick)?))
            });
        let head =
            delta::header(baseline.map(|(sent, _)| (sent.tick, sent.ack_input)), tick, ack_input);
        // Everyone sees everyone: a member sent whole samples shares its body with every other
        // member holding the same baseline.
        let shared = self.radius <= 0.0
            && baseline.is_none_or(|(sent, sample)| sent.ids.len() == sample.states.len());
        let key = baseline.map(|(sent, _)| sent.tick);
        let frame = match self.bodies.iter().find(|(k, _)| shared && *k == key) {
            Some((_, body)) => encode_snapshot_frame(&head, body),
            None => {
                let (removed, updates) = self.changes(baseline);
                if shared {
                    let body = encode_snapshot_body(pickups, &removed, &updates);
                    let frame = encode_snapshot_frame(&head, &body);
                    self.bodies.push((key, body));
                    frame
                } else {
                    let delta = SnapshotDelta { base: head, pickups, removed, updates };
                    encode_server(&ServerMsg::Snapshot(delta))
                }
            }
        };
        if viewer.sent.len() == HISTORY
            && let Some(Sent { ids: SentIds::Own(ids), bits, .. }) = viewer.sent.pop_front()
        {
            viewer.spare = Some((ids, bits));
        }
        let (mut ids, mut bits) = viewer.spare.take().unwrap_or_default();
        let ids = match &self.whole_ids {
            Some(whole) if self.visible.len() == whole.len() => {
                viewer.spare = Some((ids, Vec::new()));
                SentIds::Whole(whole.clone())
            }
            _ => {
                ids.clear();
                ids.extend(self.visible.iter().map(|&i| current.states[i as usize].id));
                SentIds::Own(ids)
            }
        };
        std::mem::swap(&mut bits, &mut self.visible_bits);
        let roster = current.roster;
        viewer.sent.push_back(Sent { tick, ack_input, ids, roster, bits });
        frame
    }

    /// The newest sample's visible players as removals and updates against what `baseline`
    /// sent (none: a keyframe).
    fn changes(&self, baseline: Option<(&Sent, &Sample)>) -> (Vec<PlayerId>, Vec<EntityUpdate>) {
        let current = self.samples.back().expect("a frame is prepared");
        let base_ids = baseline.map_or(&[][..], |(sent, _)| &sent.ids[..]);
        let base_states = baseline.map_or(&[][..], |(_, frame)| &frame.states[..]);
        let base_tick = baseline.map(|(sent, _)| sent.tick);
        // The common case: the member holds the sample the steps are from, and they apply.
        let shared_steps = base_tick.is_some() && base_tick == self.steps_from;
        // Commonest of all: it also sees the same players as then (same roster, same bits):
        // nothing removed or entering, and its updates are the shared steps of what it sees.
        let same_players = baseline.is_some_and(|(sent, _)| {
            self.radius > 0.0 && sent.roster == current.roster && sent.bits == self.visible_bits
        });
        if shared_steps && same_players {
            let updates =
                self.visible.iter().filter_map(|&index| match self.steps[index as usize] {
                    Change::Same => None,
                    Change::Changed(update) => Some(update),
                    Change::New => Some(delta::entering(&current.states[index as usize])),
                });
            return (Vec::new(), updates.collect());
        }
        let dt = base_tick.map_or(0, |t| current.tick.0.wrapping_sub(t.0) as i32);
        let mut base_at = Cursor::new(base_states);
        delta::walk(
            base_ids.iter().copied(),
            self.visible.iter().map(|&i| (current.states[i as usize].id, i as usize)),
            |id, index, kept| {
                let now = &current.states[index];
                match self.steps[index] {
                    _ if !kept => Some(delta::entering(now)),
                    Change::Same if shared_steps => None,
                    Change::Changed(update) if shared_steps => Some(update),
                    _ => delta::changes(base_at.seek(id)?, dt, now),
                }
            },
        )
    }
}

/// Half the width and height of the most of the map a client's screen may show: the client
/// zooms in rather than show more (its camera keeps inside these), so the server knows what
/// any member could see.
pub const MAX_VIEW_HALF: Vec2 = Vec2::new(1000.0, 600.0);

/// Where a camera showing `half` extents looks when the ship is at `ship`: at the ship, moved
/// as little as possible to keep the view inside the map; centred on an axis where the map is
/// smaller than the view.
pub fn camera_center(ship: Vec2, map_size: Vec2, half: Vec2) -> Vec2 {
    let axis = |ship: f32, size: f32, half: f32| {
        if size <= 2.0 * half { size / 2.0 } else { ship.clamp(half, size - half) }
    };
    Vec2::new(axis(ship.x, map_size.x, half.x), axis(ship.y, map_size.y, half.y))
}

/// The smallest view a client is taken to show (a smaller declared one counts as this).
pub const MIN_VIEW_HALF: Vec2 = Vec2::new(200.0, 150.0);
/// How far the ship a client's camera follows (its prediction, or the interpolated past) may
/// be from the ship the server knows: the prediction runs ahead by the input latency (about
/// 20 units at top speed and 100 ms) and smoothing adds a little.
pub const SIGHT_MARGIN: f32 = 64.0;

/// The part of the map a member whose ship is at `ship` could have on screen when its screen
/// shows `half` extents each side of its camera (clamped to [`MIN_VIEW_HALF`] ..
/// [`MAX_VIEW_HALF`]): the camera box the client computes, from wherever within
/// [`SIGHT_MARGIN`] of `ship` its camera follows, always lies inside (tested).
pub fn sight(ship: Vec2, map_size: Vec2, half: Vec2) -> (Vec2, Vec2) {
    let half = half.clamp(MIN_VIEW_HALF, MAX_VIEW_HALF);
    let center = camera_center(ship, map_size, half + SIGHT_MARGIN);
    let reach = half + 2.0 * SIGHT_MARGIN;
    (center - reach, center + reach)
}

/// Whether the segment from `a` to `b` crosses the box from `min` to `max` (slab test).
pub fn segment_meets_box(a: Vec2, b: Vec2, (min, max): (Vec2, Vec2)) -> bool {
    let d = b - a;
    let (mut enter, mut leave) = (0.0f32, 1.0f32);
    for (start, delta, low, high) in [(a.x, d.x, min.x, max.x), (a.y, d.y, min.y, max.y)] {
        if delta == 0.0 {
            if start < low || start > high {
                return false;
            }
            continue;
        }
        let (t0, t1) = ((low - start) / delta, (high - start) / delta);
        enter = enter.max(t0.min(t1));
        leave = leave.min(t0.max(t1));
    }
    enter <= leave
}

/// Where a spectator's camera looks: the point it last sent (`ClientMsg::Look`) kept on the
/// map, or the map's centre before it sent one.
pub fn look_center(at: Option<MapPoint>, map_size: Vec2) -> Vec2 {
    at.map_or(map_size / 2.0, |at| at.to_world().clamp(Vec2::ZERO, map_size))
}

/// One shot of a send interval, as every member's beams are picked from it: the shooter, the
/// ends on the wire and in world units (worked out once, not per member).
#[derive(Clone, Copy, Debug)]
pub struct ShotLine {
    pub shooter: PlayerId,
    pub from: MapPoint,
    pub ray: Ray,
    start: Vec2,
    end: Vec2,
}

impl ShotLine {
    pub fn new(shooter: PlayerId, from: MapPoint, to: MapPoint) -> ShotLine {
        let ray = Ray::between(from, to);
        ShotLine { shooter, from, ray, start: from.to_world(), end: to.to_world() }
    }
}

/// The beams of `lines` (sorted by shooter) whose line crosses `sight`, into `out`: without
/// their start when the shooter is drawn on that screen (`me`, in `visible` — sorted ids, the
/// viewer's visible set — or `everyone_visible`), so the client draws it from the ship.
pub fn beams_in_sight(
    lines: &[ShotLine],
    sight: (Vec2, Vec2),
    (me, mut visible): (Option<PlayerId>, &[PlayerId]),
    everyone_visible: bool,
    out: &mut Vec<Beam>,
) {
    for line in lines {
        if !segment_meets_box(line.start, line.end, sight) {
            continue;
        }
        // Shooters come in id order, so the visible set is searched on from where the last
        // search ended.
        let drawn = everyone_visible || Some(line.shooter) == me || {
            visible = &visible[visible.partition_point(|v| *v < line.shooter)..];
            visible.first() == Some(&line.shooter)
        };
        out.push(Beam {
            shooter: line.shooter,
            from: (!drawn).then_some(line.from),
            ray: line.ray,
        });
    }
}

/// Rooms of at most this many players tell everyone of every kill: their kill feed is short
/// enough to read whole. Larger rooms tell each member of the kills it is part of or can see
/// ([`kill_in_sight`]): at 1,000 players a room-wide feed is over a hundred kills a second,
/// unreadable and about 800 bytes a second to every member.
pub const WHOLE_KILL_FEED_PLAYERS: usize = 32;

/// A kill as the send path weighs it: who, and where both ships were when it was sent.
#[derive(Clone, Copy, Debug)]
pub struct KillLine {
    pub killer: PlayerId,
    pub victim: PlayerId,
    pub killer_at: Vec2,
    pub victim_at: Vec2,
}

/// Whether the member `me` (`None`: a spectator) whose screen can show `sight` is told of
/// `kill` in a large room: its own kills and deaths, and those with the killer or the victim on
/// its screen.
pub fn kill_in_sight(kill: &KillLine, me: Option<PlayerId>, (min, max): (Vec2, Vec2)) -> bool {
    let on_screen = |at: Vec2| at.cmpge(min).all() && at.cmple(max).all();
    me.is_some_and(|me| me == kill.killer || me == kill.victim)
        || on_screen(kill.killer_at)
        || on_screen(kill.victim_at)
}

/// The room's ranking, best first (see [`rank`]).
pub fn ranking(world: &World) -> Vec<ScoreEntry> {
    rank(world.players.values().map(|p| ScoreEntry { id: p.id, score: p.score, deaths: p.deaths }))
}

/// `entries` ranked best first: score, then fewer deaths, then lower id. The server's
/// scoreboard and the client's fallback (before a scoreboard arrives) both rank this way.
pub fn rank(entries: impl IntoIterator<Item = ScoreEntry>) -> Vec<ScoreEntry> {
    let mut entries: Vec<ScoreEntry> = entries.into_iter().collect();
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

/// The encoded scoreboard summary for a spectator: the top of `ranking`, with no "you"
/// (`your_rank` 0: the client lists no row of its own).
pub fn spectator_scoreboard_frame(ranking: &[ScoreEntry]) -> Vec<u8> {
    let board = Scoreboard {
        top: ranking.iter().take(SCOREBOARD_TOP).copied().collect(),
        you: ScoreEntry::default(),
        your_rank: 0,
        players: ranking.len() as u32,
    };
    encode_server(&ServerMsg::Scoreboard(board))
}

#[cfg(test)]
mod tests;
