//! A deterministic scripted match, recorded the way a room records one: players join early and
//! now and then, leave now and then, chase, aim and fire (so there are hits, deaths and
//! respawns). Tests of the format, the page's replay player and the determinism check use it.

use glam::Vec2;

use super::{Change, Header, Recorder, TickRecord, apply, encode_chunk, encode_header};
use crate::ids::PlayerId;
use crate::map::Map;
use crate::protocol::{InputCmd, PROTOCOL_VERSION};
use crate::sim::{TickInputs, World};
use crate::tick::Tick;

/// A tiny deterministic generator for the scripted match.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f32 {
        (self.next() % 2001) as f32 / 1000.0 - 1.0
    }
}

/// A room's match, run live and recorded as the room does: players come and go, move, aim and
/// fire (so there are hits, deaths and respawns). Returns the file and the live world at every
/// tick.
pub fn scripted_match(map: Map, ticks: u32) -> (Vec<u8>, Vec<World>) {
    let header = Header {
        protocol_version: PROTOCOL_VERSION,
        server_version: "test".into(),
        title: "Scripted".into(),
        map,
        tick_hz: 30,
        first_tick: Tick(0),
        started_at: 0,
    };
    let mut file = encode_header(&header);
    let mut world = World::new(header.map.clone(), header.tick_hz);
    let mut recorder = Recorder::new(world.tick);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seated: Vec<PlayerId> = Vec::new();
    let mut next_id = 1;
    let mut lives = Vec::new();
    let mut inputs = TickInputs::new();
    for tick in 0..ticks {
        let mut record = TickRecord::default();
        // Joins early and now and then; a leave every so often.
        if seated.len() < 6 && (tick < 10 || rng.next().is_multiple_of(40)) {
            let id = PlayerId(next_id);
            next_id += 1;
            seated.push(id);
            record.changes.push(Change::Joined { id, name: format!("p{}", id.0) });
        }
        if seated.len() > 3 && rng.next().is_multiple_of(90) {
            let id = seated.remove((rng.next() % seated.len() as u64) as usize);
            record.changes.push(Change::Left { id });
        }
        for id in &seated {
            if rng.next().is_multiple_of(5) {
                continue; // a late command: the player stands still this tick
            }
            // Chase and aim at someone else (so there are hits, deaths and respawns), with
            // some wandering.
            let me = world.players.get(id).map_or(Vec2::ZERO, |p| p.pos);
            let target = world.players.values().find(|p| p.id != *id).map_or(me, |p| p.pos);
            let toward = target - me;
            let wander = Vec2::new(rng.unit(), rng.unit());
            let cmd = InputCmd {
                // What a recorder stores: the step never reads `seq`.
                seq: 0,
                view_tick: Tick(world.tick.0.saturating_sub(3)),
                ..InputCmd::steer(
                    toward.normalize_or_zero() + wander,
                    toward,
                    !rng.next().is_multiple_of(3),
                )
            };
            record.inputs.push((*id, cmd));
        }
        apply(&mut world, &record, &mut inputs);
        lives.push(world.clone());
        if let Some(chunk) = recorder.push(record, &world) {
            file.extend_from_slice(&encode_chunk(&chunk));
        }
    }
    if let Some(chunk) = recorder.flush(&world) {
        file.extend_from_slice(&encode_chunk(&chunk));
    }
    (file, lives)
}
