//! Delta encoding of snapshots against a baseline the receiver holds, with dead reckoning.
//!
//! A player whose state equals its baseline state moved forward by the baseline velocity for
//! the ticks in between costs nothing; otherwise only its changed fields travel. Players absent
//! from the baseline are encoded against an all-zero state, so a keyframe is just a delta
//! against nothing. All arithmetic wraps, so decoding is the exact inverse of encoding and
//! hostile input can never overflow.
//!
//! The server keeps the snapshots it sent per client in [`Baselines`]; the client keeps the ones
//! it decoded in [`Decoder`]. Both hold at most [`HISTORY`] snapshots.

use std::collections::VecDeque;

use crate::ids::PlayerId;
use crate::protocol::{EntityUpdate, FieldUpdate, PlayerSnap, Snapshot, SnapshotDelta};
use crate::tick::Tick;

/// Snapshots remembered on each side (about a second at 30 Hz).
pub const HISTORY: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeltaError {
    #[error("baseline tick {0} is not held")]
    MissingBaseline(u32),
    #[error("baseline tick {baseline} is not before tick {tick}")]
    BaselineNotBefore { baseline: u32, tick: u32 },
    #[error("updates or removals are not in strictly increasing id order")]
    Unordered,
    #[error("player {0} is removed but was not in the baseline, or removed and updated")]
    BadRemoval(PlayerId),
}

/// Encodes `current` against `baseline` (`None`: a keyframe).
pub fn encode(baseline: Option<&Snapshot>, current: &Snapshot) -> SnapshotDelta {
    let base_players = baseline.map_or(&[][..], |b| &b.players[..]);
    let dt = baseline.map_or(0, |b| current.tick.0.wrapping_sub(b.tick.0) as i32);
    let mut removed = Vec::new();
    let mut updates = Vec::new();
    let (mut b, mut c) = (0, 0);
    while b < base_players.len() || c < current.players.len() {
        let base_id = base_players.get(b).map(|p| p.id);
        let cur_id = current.players.get(c).map(|p| p.id);
        match (base_id, cur_id) {
            (Some(bid), Some(cid)) if bid == cid => {
                let fields = diff(&advance(&base_players[b], dt), &current.players[c]);
                if !fields.is_empty() {
                    updates.push(EntityUpdate { id: cid, fields });
                }
                b += 1;
                c += 1;
            }
            (Some(bid), Some(cid)) if bid < cid => {
                removed.push(bid);
                b += 1;
            }
            (Some(bid), None) => {
                removed.push(bid);
                b += 1;
            }
            (_, Some(cid)) => {
                updates
                    .push(EntityUpdate { id: cid, fields: diff(&blank(cid), &current.players[c]) });
                c += 1;
            }
            (None, None) => break,
        }
    }
    SnapshotDelta {
        tick: current.tick,
        baseline: baseline.map(|b| b.tick),
        ack_input: current.ack_input,
        pickups: current.pickups,
        removed,
        updates,
    }
}

/// Rebuilds the snapshot `delta` describes from the `baseline` it names.
pub fn apply(baseline: Option<&Snapshot>, delta: &SnapshotDelta) -> Result<Snapshot, DeltaError> {
    let increasing = |ids: &mut dyn Iterator<Item = PlayerId>| {
        let ids: Vec<_> = ids.collect();
        ids.windows(2).all(|pair| pair[0] < pair[1])
    };
    if !increasing(&mut delta.updates.iter().map(|u| u.id))
        || !increasing(&mut delta.removed.iter().copied())
    {
        return Err(DeltaError::Unordered);
    }
    let base_players = baseline.map_or(&[][..], |b| &b.players[..]);
    let dt = match baseline {
        Some(base) if base.tick >= delta.tick => {
            return Err(DeltaError::BaselineNotBefore {
                baseline: base.tick.0,
                tick: delta.tick.0,
            });
        }
        Some(base) => delta.tick.0.wrapping_sub(base.tick.0) as i32,
        None => 0,
    };
    let mut players = Vec::with_capacity(base_players.len() + delta.updates.len());
    let mut updates = delta.updates.iter().peekable();
    let mut removed = delta.removed.iter().copied().peekable();
    for base in base_players {
        while let Some(update) = updates.next_if(|u| u.id < base.id) {
            players.push(patch(blank(update.id), &update.fields));
        }
        if removed.next_if_eq(&base.id).is_some() {
            if updates.peek().is_some_and(|u| u.id == base.id) {
                return Err(DeltaError::BadRemoval(base.id));
            }
            continue;
        }
        let mut player = advance(base, dt);
        if let Some(update) = updates.next_if(|u| u.id == base.id) {
            player = patch(player, &update.fields);
        }
        players.push(player);
    }
    if let Some(id) = removed.next() {
        return Err(DeltaError::BadRemoval(id));
    }
    players.extend(updates.map(|update| patch(blank(update.id), &update.fields)));
    Ok(Snapshot { tick: delta.tick, ack_input: delta.ack_input, players, pickups: delta.pickups })
}

fn blank(id: PlayerId) -> PlayerSnap {
    PlayerSnap { id, ..PlayerSnap::default() }
}

/// Dead reckoning: the baseline state moved on by its velocity for `dt` ticks.
fn advance(player: &PlayerSnap, dt: i32) -> PlayerSnap {
    PlayerSnap {
        x: player.x.wrapping_add(player.vx.wrapping_mul(dt)),
        y: player.y.wrapping_add(player.vy.wrapping_mul(dt)),
        ..*player
    }
}

fn diff(predicted: &PlayerSnap, actual: &PlayerSnap) -> Vec<FieldUpdate> {
    let mut fields = Vec::new();
    let pos = (actual.x.wrapping_sub(predicted.x), actual.y.wrapping_sub(predicted.y));
    if pos != (0, 0) {
        fields.push(FieldUpdate::Pos(pos.0, pos.1));
    }
    let vel = (actual.vx.wrapping_sub(predicted.vx), actual.vy.wrapping_sub(predicted.vy));
    if vel != (0, 0) {
        fields.push(FieldUpdate::Vel(vel.0, vel.1));
    }
    if actual.aim != predicted.aim {
        fields.push(FieldUpdate::Aim(actual.aim));
    }
    if actual.health != predicted.health {
        fields.push(FieldUpdate::Health(actual.health));
    }
    if actual.alive != predicted.alive {
        fields.push(FieldUpdate::Alive(actual.alive));
    }
    if actual.score != predicted.score {
        fields.push(FieldUpdate::Score(actual.score));
    }
    if actual.deaths != predicted.deaths {
        fields.push(FieldUpdate::Deaths(actual.deaths));
    }
    fields
}

fn patch(mut player: PlayerSnap, fields: &[FieldUpdate]) -> PlayerSnap {
    for field in fields {
        match *field {
            FieldUpdate::Pos(dx, dy) => {
                player.x = player.x.wrapping_add(dx);
                player.y = player.y.wrapping_add(dy);
            }
            FieldUpdate::Vel(dx, dy) => {
                player.vx = player.vx.wrapping_add(dx);
                player.vy = player.vy.wrapping_add(dy);
            }
            FieldUpdate::Aim(aim) => player.aim = aim,
            FieldUpdate::Health(health) => player.health = health,
            FieldUpdate::Alive(alive) => player.alive = alive,
            FieldUpdate::Score(score) => player.score = score,
            FieldUpdate::Deaths(deaths) => player.deaths = deaths,
        }
    }
    player
}

/// Server side, per client: the snapshots sent, to encode the next one against the newest one
/// the client is known to hold.
#[derive(Debug, Default)]
pub struct Baselines {
    sent: VecDeque<Snapshot>,
}

impl Baselines {
    /// Encodes `current` against the snapshot of tick `held` (the last one written to the
    /// client's socket), or as a keyframe if that one is unknown; remembers `current`.
    pub fn encode(&mut self, current: Snapshot, held: Option<Tick>) -> SnapshotDelta {
        if let Some(held) = held {
            // Older snapshots can never be a baseline again: the client holds a newer one.
            while self.sent.front().is_some_and(|s| s.tick < held) {
                self.sent.pop_front();
            }
        }
        let baseline = held.and_then(|tick| self.sent.iter().find(|s| s.tick == tick));
        let delta = encode(baseline, &current);
        if self.sent.len() == HISTORY {
            self.sent.pop_front();
        }
        self.sent.push_back(current);
        delta
    }

    /// Forget everything: the next snapshot is a keyframe.
    pub fn clear(&mut self) {
        self.sent.clear();
    }

    pub fn len(&self) -> usize {
        self.sent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }
}

/// Client side: the decoded snapshots a delta may name as its baseline.
#[derive(Debug, Default)]
pub struct Decoder {
    decoded: VecDeque<Snapshot>,
}

impl Decoder {
    pub fn decode(&mut self, delta: &SnapshotDelta) -> Result<Snapshot, DeltaError> {
        let baseline = match delta.baseline {
            Some(tick) => Some(
                self.decoded
                    .iter()
                    .find(|s| s.tick == tick)
                    .ok_or(DeltaError::MissingBaseline(tick.0))?,
            ),
            None => None,
        };
        let snapshot = apply(baseline, delta)?;
        if let Some(tick) = delta.baseline {
            // The server only ever names this baseline or a newer one from now on.
            while self.decoded.front().is_some_and(|s| s.tick < tick) {
                self.decoded.pop_front();
            }
        }
        if self.decoded.len() == HISTORY {
            self.decoded.pop_front();
        }
        self.decoded.push_back(snapshot.clone());
        Ok(snapshot)
    }

    /// Forget everything (a new connection starts with a keyframe).
    pub fn reset(&mut self) {
        self.decoded.clear();
    }
}

#[cfg(test)]
mod tests;
