//! Watching a recorded match in the page: a [`Playback`] of `shared::replay` (the same
//! `shared::sim` the server ran, here in wasm) driven by the page's clock at a chosen speed,
//! with pause, seek, a free camera or one player followed, the kill feed and the beams the
//! match's shots drew. Pure state, tested natively; `theatre` (wasm) wires it to the page.

use std::collections::BTreeMap;

use glam::Vec2;
use shared::ids::PlayerId;
use shared::protocol::{self, GameEvent, Ray, ScoreEntry};
use shared::replay::{Change, Playback, Replay};

use crate::hud::{Hud, ScoreRow};
use crate::scene::{Scene, Ship};

/// Playback speeds the page offers.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];
/// A frame longer than this (a hidden tab) plays as this long: coming back does not fast
/// forward through minutes at once.
const MAX_FRAME_MS: f64 = 250.0;

pub struct ReplayView {
    playback: Playback,
    pub playing: bool,
    speed: f64,
    /// The part of a tick played since the last whole tick (0..1), for smooth drawing.
    fraction: f64,
    /// Playback time in milliseconds: beams and kill-feed lines fade by it.
    clock_ms: f64,
    follow: Option<PlayerId>,
    /// Where the camera looks while it follows nobody.
    free_camera: Vec2,
    /// Ship positions before the last tick, to draw between ticks.
    previous: BTreeMap<PlayerId, Vec2>,
    /// Names (roster), kill feed and beams, as the live page keeps them.
    pub hud: Hud,
    /// Why playing stopped, if the replay turned out not to match this build.
    error: Option<String>,
}

impl ReplayView {
    /// Reads a replay file; the error says why it cannot be played (truncated, corrupted, another
    /// version, hostile sizes).
    pub fn open(bytes: &[u8]) -> Result<ReplayView, String> {
        let replay =
            Replay::parse(bytes).map_err(|err| format!("this replay cannot be played: {err}"))?;
        let playback = Playback::new(replay);
        let free_camera = playback.header().map.size() / 2.0;
        Ok(ReplayView {
            playback,
            playing: true,
            speed: 1.0,
            fraction: 0.0,
            clock_ms: 0.0,
            follow: None,
            free_camera,
            previous: BTreeMap::new(),
            hud: Hud::default(),
            error: None,
        })
    }

    pub fn title(&self) -> &str {
        &self.playback.header().title
    }

    fn tick_hz(&self) -> f64 {
        f64::from(self.playback.header().tick_hz)
    }

    /// Seconds played.
    pub fn time_secs(&self) -> f64 {
        (self.playback.position() as f64 + self.fraction) / self.tick_hz()
    }

    pub fn duration_secs(&self) -> f64 {
        self.playback.len() as f64 / self.tick_hz()
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Sets the speed, kept within ×0.25–×8.
    pub fn set_speed(&mut self, speed: f64) {
        self.speed = speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
    }

    /// Play or pause; at the end, play starts again from the beginning.
    pub fn toggle(&mut self) {
        if !self.playing && self.playback.position() >= self.playback.len() {
            self.seek(0.0);
        }
        self.playing = !self.playing && self.error.is_none();
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Advances the match by a frame of `frame_ms` of page time, times the speed.
    pub fn advance(&mut self, frame_ms: f64) {
        if !self.playing {
            return;
        }
        let played_ms = frame_ms.clamp(0.0, MAX_FRAME_MS) * self.speed;
        self.clock_ms += played_ms;
        self.fraction += played_ms / 1000.0 * self.tick_hz();
        while self.fraction >= 1.0 {
            self.fraction -= 1.0;
            if !self.step() {
                self.fraction = 0.0;
                self.playing = false;
                break;
            }
        }
        self.hud.frame(self.clock_ms, 0.0);
    }

    /// Plays one tick: `false` at the end or when the replay diverged (then `error` says so).
    fn step(&mut self) -> bool {
        self.previous = self.playback.world().players.iter().map(|(id, p)| (*id, p.pos)).collect();
        match self.playback.step() {
            Ok(true) => {}
            Ok(false) => return false,
            Err(diverged) => {
                self.error = Some(diverged.to_string());
                return false;
            }
        }
        self.take_changes();
        let events: Vec<GameEvent> = self.playback.events().to_vec();
        for event in events {
            if let GameEvent::Shot { shooter, from, to, .. } = event {
                let beam =
                    protocol::Beam { shooter, from: Some(from), ray: Ray::between(from, to) };
                self.hud.on_beams(vec![beam], self.clock_ms);
            } else {
                self.hud.on_event(event, self.clock_ms);
            }
        }
        true
    }

    /// The tick just played's joins and leaves into the roster.
    fn take_changes(&mut self) {
        let Some(record) =
            self.playback.position().checked_sub(1).and_then(|at| self.playback.record(at))
        else {
            return;
        };
        for change in record.changes.clone() {
            let event = match change {
                Change::Joined { id, name } => GameEvent::Joined { id, name },
                Change::Left { id } => GameEvent::Left { id },
            };
            self.hud.on_event(event, self.clock_ms);
        }
    }

    /// Jumps to `secs` into the match (clamped): backwards from the nearest keyframe, forwards
    /// by playing. Beams and kill feed start afresh; the roster is rebuilt.
    pub fn seek(&mut self, secs: f64) {
        let position = (secs.max(0.0) * self.tick_hz()).round() as usize;
        if let Err(diverged) = self.playback.seek(position) {
            self.error = Some(diverged.to_string());
            self.playing = false;
        }
        self.fraction = 0.0;
        self.previous.clear();
        let world = self.playback.world();
        let roster: BTreeMap<PlayerId, String> = self
            .playback
            .names()
            .filter(|(id, _)| world.players.contains_key(id))
            .map(|(id, name)| (id, name.to_string()))
            .collect();
        self.hud.beams.clear();
        self.hud.killfeed.clear();
        self.hud.roster = roster;
        self.hud.changed();
    }

    /// Follows `id` (`None`: the free camera, from where the camera is now).
    pub fn follow(&mut self, id: Option<PlayerId>) {
        if id.is_none() {
            self.free_camera = self.focus();
        }
        self.follow = id;
    }

    pub fn followed(&self) -> Option<PlayerId> {
        self.follow
    }

    /// Follows the next player by id after the one followed now (Tab), round to the free
    /// camera after the last.
    pub fn follow_next(&mut self) {
        let players = self.playback.world().players.keys();
        let next = match self.follow {
            None => players.copied().next(),
            Some(now) => players.copied().find(|id| *id > now),
        };
        self.follow(next);
    }

    /// Moves the free camera by `by` world units (keys or a drag); stops following.
    pub fn pan(&mut self, by: Vec2) {
        if self.follow.is_some() {
            self.follow(None);
        }
        let size = self.playback.header().map.size();
        self.free_camera = (self.free_camera + by).clamp(Vec2::ZERO, size);
    }

    /// The players in the match now, by id, with their names (the follow menu).
    pub fn players(&self) -> Vec<(PlayerId, String)> {
        self.playback.world().players.keys().map(|id| (*id, self.hud.name_of(*id))).collect()
    }

    fn position_of(&self, id: PlayerId) -> Option<Vec2> {
        let player = self.playback.world().players.get(&id)?;
        let before = self.previous.get(&id).copied().unwrap_or(player.pos);
        // A respawn or a long jump is drawn where it lands, not slid across the map.
        if before.distance(player.pos) > 100.0 {
            return Some(player.pos);
        }
        Some(before.lerp(player.pos, self.fraction as f32))
    }

    fn focus(&self) -> Vec2 {
        self.follow.and_then(|id| self.position_of(id)).unwrap_or(self.free_camera)
    }

    /// What to draw now.
    pub fn scene(&self) -> Scene<'_> {
        let world = self.playback.world();
        let ships: Vec<Ship> = world
            .players
            .values()
            .filter(|p| p.alive())
            .map(|p| Ship {
                id: p.id,
                name: self.hud.name_of(p.id),
                pos: self.position_of(p.id).unwrap_or(p.pos),
                aim: p.aim,
                health: p.health,
                is_me: Some(p.id) == self.follow,
            })
            .collect();
        let beams = self.hud.beam_lines(
            |id| ships.iter().find(|ship| ship.id == id).map(|ship| ship.pos),
            self.clock_ms,
        );
        Scene { map: &world.map, ships, beams, pickups: world.pickup_bits(), focus: self.focus() }
    }

    /// The scoreboard of the match at this moment, ranked as the server ranks.
    pub fn score_rows(&self) -> Vec<ScoreRow> {
        let entries =
            shared::view::rank(self.playback.world().players.values().map(|p| ScoreEntry {
                id: p.id,
                score: p.score,
                deaths: p.deaths,
            }));
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| ScoreRow {
                id: e.id,
                rank: i as u32 + 1,
                name: self.hud.name_of(e.id),
                score: e.score,
                deaths: e.deaths,
                is_me: Some(e.id) == self.follow,
            })
            .collect()
    }

    /// The world's fingerprint now (the page's debug hook compares it with the native one).
    pub fn fingerprint(&self) -> u64 {
        shared::replay::fingerprint(self.playback.world())
    }

    /// Ticks played.
    pub fn position(&self) -> usize {
        self.playback.position()
    }
}

#[cfg(test)]
mod tests;
