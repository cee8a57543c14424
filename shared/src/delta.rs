//! Delta encoding of snapshots against a baseline the receiver holds, with dead reckoning.
//!
//! A player whose state equals its baseline state moved forward by its velocity for the ticks
//! in between costs nothing; otherwise only its changed fields travel (a turn since the
//! previous tick costs the new velocity alone: positions are reckoned with it). A changed
//! velocity travels whole, not as its change: a ship's velocity per tick is bounded by its
//! speed, so each component fits a one-byte varint at 30 Hz and above, where a reversal's
//! change (twice the speed) took three. A position off the reckoned one usually is so along
//! the velocities the receiver already knows: the ship turned between two sent ticks (it kept
//! its old velocity for some of them), or a tick passed without its command (it stood still)
//! and a later one caught up. Such a correction travels as one [`Reckon`] byte (how many
//! ticks at the old velocity, how many more or fewer at the new) instead of two coordinates:
//! at 60 Hz sent at 20 Hz they were half of the snapshot bytes. Players absent from the
//! baseline are encoded against an all-zero state, so a keyframe is just a delta against
//! nothing. All arithmetic wraps, so decoding is the exact inverse of encoding and hostile
//! input can never overflow.
//!
//! The client keeps the snapshots it decoded in [`Decoder`] (at most [`HISTORY`]); the server
//! builds its deltas from a room-wide history instead (see [`crate::view`]), with the same
//! rules ([`walk`], [`changes`], [`entering`], [`header`]).

use std::collections::VecDeque;

use crate::ids::PlayerId;
use crate::protocol::{DeltaBase, EntityUpdate, PlayerSnap, Reckon, Snapshot, SnapshotDelta};
use crate::tick::Tick;

/// Snapshots remembered on each side (about a second at 30 Hz).
pub const HISTORY: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeltaError {
    #[error("no held snapshot has a tick ending in byte {0}")]
    MissingBaseline(u8),
    #[error("a delta must be at least one tick newer than its baseline")]
    ZeroAge,
    #[error("updates or removals are not in strictly increasing id order")]
    Unordered,
    #[error("player {0} is removed but was not in the baseline, or removed and updated")]
    BadRemoval(PlayerId),
    #[error("player {0} is reckoned from a baseline that does not hold it")]
    NothingToReckon(PlayerId),
}

/// Encodes `current` against `baseline` (`None`: a keyframe).
pub fn encode(baseline: Option<&Snapshot>, current: &Snapshot) -> SnapshotDelta {
    let base_players = baseline.map_or(&[][..], |b| &b.players[..]);
    let dt = baseline.map_or(0, |b| current.tick.0.wrapping_sub(b.tick.0) as i32);
    let mut base_at = Cursor::new(base_players);
    let (removed, updates) = walk(
        base_players.iter().map(|p| p.id),
        current.players.iter().map(|p| (p.id, p)),
        |id, now, kept| {
            if kept { changes(base_at.seek(id)?, dt, now) } else { Some(entering(now)) }
        },
    );
    SnapshotDelta {
        base: header(baseline.map(|b| (b.tick, b.ack_input)), current.tick, current.ack_input),
        pickups: current.pickups,
        removed,
        updates,
    }
}

/// The removals and updates that turn a snapshot of the players `base` (ids, sorted) into one of
/// `current` ((id, anything the caller needs), sorted by id). `update(id, item, kept)` gives the
/// changes of a player in both (`kept`), or the full state of a new one (which must be `Some`);
/// it is called in increasing id order.
pub(crate) fn walk<C>(
    base: impl Iterator<Item = PlayerId>,
    current: impl Iterator<Item = (PlayerId, C)>,
    mut update: impl FnMut(PlayerId, C, bool) -> Option<EntityUpdate>,
) -> (Vec<PlayerId>, Vec<EntityUpdate>) {
    let (mut base, mut current) = (base.peekable(), current.peekable());
    let (mut removed, mut updates) = (Vec::new(), Vec::new());
    loop {
        let next = current.peek().map(|(id, _)| *id);
        match (base.peek().copied(), next) {
            (Some(b), Some(c)) if b < c => {
                removed.push(b);
                base.next();
            }
            (Some(b), None) => {
                removed.push(b);
                base.next();
            }
            (b, Some(c)) => {
                let kept = b == Some(c);
                if kept {
                    base.next();
                }
                let (id, item) = current.next().expect("peeked");
                updates.extend(update(id, item, kept));
            }
            (None, None) => break,
        }
    }
    (removed, updates)
}

/// The header of a delta of (`tick`, `ack_input`) against a baseline with those figures.
pub(crate) fn header(baseline: Option<(Tick, u32)>, tick: Tick, ack_input: u32) -> DeltaBase {
    match baseline {
        None => DeltaBase::Keyframe { tick, ack_input },
        Some((base_tick, base_ack)) => DeltaBase::Delta {
            baseline_low: base_tick.0 as u8,
            age: tick.0.wrapping_sub(base_tick.0),
            ack_advance: ack_input.wrapping_sub(base_ack),
        },
    }
}

/// The changes of a player from `base`, dead-reckoned `dt` ticks on at its new velocity, to
/// `now`.
pub(crate) fn changes(base: &PlayerSnap, dt: i32, now: &PlayerSnap) -> Option<EntityUpdate> {
    let mut update = diff(&advance(base, (now.vx, now.vy), dt), now)?;
    if let Some(error) = update.pos.filter(|_| update.alive.is_none()) {
        update.reckon = reckoning(error, (base.vx, base.vy), (now.vx, now.vy), dt);
        if update.reckon.is_some() {
            update.pos = None;
        }
    }
    Some(update)
}

/// The [`Reckon`] that corrects a position reckoned at `velocity` by `error`, when there is
/// one: the ship kept its baseline velocity `before` for `turned` ticks (of the `dt` since the
/// baseline) and moved `steps` ticks more or fewer than `dt` at the new one. Solved, not
/// searched (the send path asks it for every corrected player of every member): `error = d ×
/// turned + velocity × steps` with `d = before − velocity` is two equations in two unknowns.
fn reckoning(
    error: (i32, i32),
    before: (i32, i32),
    velocity: (i32, i32),
    dt: i32,
) -> Option<Reckon> {
    let wide = |(x, y): (i32, i32)| (i64::from(x), i64::from(y));
    let (e, v) = (wide(error), wide(velocity));
    let d = (wide(before).0 - v.0, wide(before).1 - v.1);
    let most_turned = i64::from(dt.clamp(0, i32::from(Reckon::MAX_TURNED)));
    let fits = |turned: i64, steps: i64| {
        let reckon = Reckon {
            turned: u8::try_from(turned).ok().filter(|t| i64::from(*t) <= most_turned)?,
            steps: i8::try_from(steps).ok().filter(|s| Reckon::STEPS.contains(s))?,
        };
        let exact = reckon.offset(before, velocity) == error && (turned, steps) != (0, 0);
        exact.then_some(reckon)
    };
    // `steps` from `rest = velocity × steps`, when `velocity` makes it exact.
    let along_velocity = |rest: (i64, i64)| match v {
        (0, 0) => (rest == (0, 0)).then_some(0),
        (vx, 0) => (rest.1 == 0 && rest.0 % vx == 0).then(|| rest.0 / vx),
        (vx, vy) => (rest.1 % vy == 0).then(|| rest.1 / vy).filter(|m| rest.0 == vx * m),
    };
    let det = d.0 * v.1 - d.1 * v.0;
    if det != 0 {
        let (turned, steps) = (e.0 * v.1 - e.1 * v.0, d.0 * e.1 - d.1 * e.0);
        if turned % det != 0 || steps % det != 0 {
            return None;
        }
        return fits(turned / det, steps / det);
    }
    // The velocities are parallel (or one is zero): at most sixteen turns to try.
    (0..=if d == (0, 0) { 0 } else { most_turned }).find_map(|turned| {
        let steps = along_velocity((e.0 - d.0 * turned, e.1 - d.1 * turned))?;
        fits(turned, steps)
    })
}

/// A player new to the receiver: every field (its id even if all else is zero).
pub(crate) fn entering(now: &PlayerSnap) -> EntityUpdate {
    diff(&blank(now.id), now).unwrap_or(EntityUpdate { id: now.id, ..EntityUpdate::default() })
}

/// Finds players by increasing id in a list sorted by id, searching only what is left.
pub(crate) struct Cursor<'a> {
    rest: &'a [PlayerSnap],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(players: &'a [PlayerSnap]) -> Cursor<'a> {
        Cursor { rest: players }
    }

    /// The state of `id`, which must not be below an id sought before.
    pub(crate) fn seek(&mut self, id: PlayerId) -> Option<&'a PlayerSnap> {
        let found = self.rest.binary_search_by_key(&id, |p| p.id);
        let (Ok(skip) | Err(skip)) = found;
        self.rest = &self.rest[skip..];
        found.ok().map(|_| &self.rest[0])
    }
}

/// Rebuilds the snapshot `delta` describes from the `baseline` it names (ignored for a
/// keyframe).
pub fn apply(baseline: Option<&Snapshot>, delta: &SnapshotDelta) -> Result<Snapshot, DeltaError> {
    let mut players = Vec::new();
    let (tick, ack_input) = apply_into(baseline, delta, &mut players)?;
    Ok(Snapshot { tick, ack_input, players, pickups: delta.pickups })
}

/// [`apply`] into `players` (cleared first, its allocation reused); returns the tick and the
/// acknowledged input of the rebuilt snapshot.
fn apply_into(
    baseline: Option<&Snapshot>,
    delta: &SnapshotDelta,
    players: &mut Vec<PlayerSnap>,
) -> Result<(Tick, u32), DeltaError> {
    fn increasing(mut ids: impl Iterator<Item = PlayerId>) -> bool {
        let Some(mut previous) = ids.next() else { return true };
        ids.all(|id| std::mem::replace(&mut previous, id) < id)
    }
    if !increasing(delta.updates.iter().map(|u| u.id)) || !increasing(delta.removed.iter().copied())
    {
        return Err(DeltaError::Unordered);
    }
    let (baseline, tick, ack_input, dt) = match (delta.base, baseline) {
        (DeltaBase::Keyframe { tick, ack_input }, _) => (None, tick, ack_input, 0),
        (DeltaBase::Delta { baseline_low, .. }, None) => {
            return Err(DeltaError::MissingBaseline(baseline_low));
        }
        (DeltaBase::Delta { baseline_low, .. }, Some(base))
            if base.tick.0 as u8 != baseline_low =>
        {
            return Err(DeltaError::MissingBaseline(baseline_low));
        }
        (DeltaBase::Delta { age: 0, .. }, Some(_)) => return Err(DeltaError::ZeroAge),
        (DeltaBase::Delta { age, ack_advance, .. }, Some(base)) => (
            Some(base),
            Tick(base.tick.0.wrapping_add(age)),
            base.ack_input.wrapping_add(ack_advance),
            age as i32,
        ),
    };
    let base_players = baseline.map_or(&[][..], |b| &b.players[..]);
    players.clear();
    players.reserve(base_players.len() + delta.updates.len());
    let mut updates = delta.updates.iter().peekable();
    let mut removed = delta.removed.iter().copied().peekable();
    let mut rest = base_players;
    loop {
        // Most players have neither an update nor a removal: up to the next id that has one,
        // they move on by their own velocity, in one tight run.
        let stop = match (updates.peek().map(|u| u.id), removed.peek().copied()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let run = stop.map_or(rest.len(), |stop| {
            rest.iter().position(|p| p.id >= stop).unwrap_or(rest.len())
        });
        players.extend(rest[..run].iter().map(|p| advance(p, (p.vx, p.vy), dt)));
        let Some((base, after)) = rest[run..].split_first() else { break };
        rest = after;
        while let Some(update) = updates.next_if(|u| u.id < base.id) {
            players.push(patch(blank(update.id), unreckoned(update)?));
        }
        if removed.next_if_eq(&base.id).is_some() {
            if updates.peek().is_some_and(|u| u.id == base.id) {
                return Err(DeltaError::BadRemoval(base.id));
            }
            continue;
        }
        let update = updates.next_if(|u| u.id == base.id);
        let before = (base.vx, base.vy);
        let velocity = update.and_then(|u| u.vel).unwrap_or(before);
        let mut player = advance(base, velocity, dt);
        if let Some(reckon) = update.and_then(|u| u.reckon) {
            let (dx, dy) = reckon.offset(before, velocity);
            player.x = player.x.wrapping_add(dx);
            player.y = player.y.wrapping_add(dy);
        }
        players.push(update.map_or(player, |update| patch(player, update)));
    }
    if let Some(id) = removed.next() {
        return Err(DeltaError::BadRemoval(id));
    }
    for update in updates {
        players.push(patch(blank(update.id), unreckoned(update)?));
    }
    Ok((tick, ack_input))
}

/// A player new to the receiver has no baseline to reckon from.
fn unreckoned(update: &EntityUpdate) -> Result<&EntityUpdate, DeltaError> {
    match update.reckon {
        Some(_) => Err(DeltaError::NothingToReckon(update.id)),
        None => Ok(update),
    }
}

fn blank(id: PlayerId) -> PlayerSnap {
    PlayerSnap { id, ..PlayerSnap::default() }
}

/// Dead reckoning: the baseline state moved on at `velocity` (the newest one the receiver
/// knows: a velocity change is applied before moving) for `dt` ticks. A ship that turned since
/// the previous tick needs no position correction: it moved by exactly its new velocity.
fn advance(player: &PlayerSnap, velocity: (i32, i32), dt: i32) -> PlayerSnap {
    PlayerSnap {
        x: player.x.wrapping_add(velocity.0.wrapping_mul(dt)),
        y: player.y.wrapping_add(velocity.1.wrapping_mul(dt)),
        ..*player
    }
}

/// The fields of `actual` that differ from `predicted`; `None` when nothing does.
fn diff(predicted: &PlayerSnap, actual: &PlayerSnap) -> Option<EntityUpdate> {
    fn changed<T: PartialEq>(from: T, to: T) -> Option<T> {
        (from != to).then_some(to)
    }
    let pos = (actual.x.wrapping_sub(predicted.x), actual.y.wrapping_sub(predicted.y));
    let vel = (actual.vx, actual.vy);
    let update = EntityUpdate {
        id: actual.id,
        pos: (pos != (0, 0)).then_some(pos),
        reckon: None,
        vel: (vel != (predicted.vx, predicted.vy)).then_some(vel),
        aim: changed(predicted.aim, actual.aim),
        health: changed(predicted.health, actual.health),
        alive: changed(predicted.alive, actual.alive),
        score: changed(predicted.score, actual.score),
        deaths: changed(predicted.deaths, actual.deaths),
    };
    (update != EntityUpdate { id: actual.id, ..EntityUpdate::default() }).then_some(update)
}

fn patch(mut player: PlayerSnap, update: &EntityUpdate) -> PlayerSnap {
    if let Some((dx, dy)) = update.pos {
        player.x = player.x.wrapping_add(dx);
        player.y = player.y.wrapping_add(dy);
    }
    if let Some((vx, vy)) = update.vel {
        (player.vx, player.vy) = (vx, vy);
    }
    player.aim = update.aim.unwrap_or(player.aim);
    player.health = update.health.unwrap_or(player.health);
    player.alive = update.alive.unwrap_or(player.alive);
    player.score = update.score.unwrap_or(player.score);
    player.deaths = update.deaths.unwrap_or(player.deaths);
    player
}

/// Client side: the decoded snapshots a delta may name as its baseline.
#[derive(Debug, Default)]
pub struct Decoder {
    decoded: VecDeque<Snapshot>,
    /// A dropped snapshot's player list, reused by the next decode.
    spare: Vec<PlayerSnap>,
}

impl Decoder {
    pub fn decode(&mut self, delta: &SnapshotDelta) -> Result<Snapshot, DeltaError> {
        self.decode_ref(delta).cloned()
    }

    /// Decodes `delta` and keeps the result as a possible baseline; returns it without a copy.
    pub fn decode_ref(&mut self, delta: &SnapshotDelta) -> Result<&Snapshot, DeltaError> {
        let baseline = match delta.base {
            DeltaBase::Keyframe { .. } => None,
            // The newest match: after a long gap two held ticks may share their low byte, and
            // the server only ever names the newest snapshot the client holds.
            DeltaBase::Delta { baseline_low, .. } => Some(
                self.decoded
                    .iter()
                    .rposition(|s| s.tick.0 as u8 == baseline_low)
                    .ok_or(DeltaError::MissingBaseline(baseline_low))?,
            ),
        };
        let mut players = std::mem::take(&mut self.spare);
        let (tick, ack_input) =
            apply_into(baseline.map(|index| &self.decoded[index]), delta, &mut players)?;
        // The server only ever names this baseline or a newer one from now on; a dropped
        // snapshot's allocation is kept for the next decode.
        let index = baseline.unwrap_or(0);
        let stale = index + usize::from(self.decoded.len() - index == HISTORY);
        for dropped in self.decoded.drain(..stale) {
            self.spare = dropped.players;
        }
        self.decoded.push_back(Snapshot { tick, ack_input, players, pickups: delta.pickups });
        Ok(self.decoded.back().expect("just pushed"))
    }

    /// The newest decoded snapshot.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.decoded.back()
    }

    /// Forget everything (a new connection starts with a keyframe).
    pub fn reset(&mut self) {
        self.decoded.clear();
    }
}

#[cfg(test)]
mod tests;
