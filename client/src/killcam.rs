//! The kill-cam: when our ship is destroyed, the respawn wait shows the last three seconds
//! again, following the killer. The page keeps what it drew (ships and beams, 30 times a
//! second, three seconds back) and plays it back at normal speed; the wait is as long as the
//! replay ([`shared::sim::RESPAWN_SECS`]).
//!
//! Kept by the page rather than re-simulated from the room's inputs: the server sends nothing
//! more and keeps nothing more, and the page already holds exactly what its player could see
//! (the killer was on screen, or its beam was). Pure state, tested natively.

use std::collections::VecDeque;

use glam::Vec2;
use shared::ids::PlayerId;

use crate::scene::{BeamLine, Ship};

/// How far back the kill-cam shows, and how long it shows it.
pub const KILLCAM_MS: f64 = (shared::sim::RESPAWN_SECS * 1000.0) as f64;
/// At most this often a drawn frame is kept.
const SAMPLE_EVERY_MS: f64 = 1000.0 / 30.0;

/// One kept frame: when, and what was drawn.
#[derive(Clone, Debug)]
struct Sample {
    at_ms: f64,
    ships: Vec<Ship>,
    beams: Vec<BeamLine>,
}

/// A kill-cam being shown.
#[derive(Clone, Debug)]
struct Showing {
    killer: PlayerId,
    killer_name: String,
    samples: Vec<Sample>,
    /// When the kill-cam began (page time).
    started_ms: f64,
}

#[derive(Clone, Debug, Default)]
pub struct KillCam {
    recent: VecDeque<Sample>,
    showing: Option<Showing>,
}

/// What the kill-cam shows at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct KillCamFrame {
    pub ships: Vec<Ship>,
    pub beams: Vec<BeamLine>,
    /// The killer as drawn then (or the last place it was seen).
    pub focus: Option<Vec2>,
}

impl KillCam {
    /// Whether a frame drawn at `now_ms` would be kept (so the caller only gathers it then):
    /// at most 30 a second, none while the kill-cam shows.
    pub fn wants(&mut self, now_ms: f64) -> bool {
        if self.showing.as_ref().is_some_and(|s| now_ms - s.started_ms >= KILLCAM_MS) {
            self.showing = None;
        }
        self.showing.is_none()
            && self.recent.back().is_none_or(|last| now_ms - last.at_ms >= SAMPLE_EVERY_MS)
    }

    /// Keeps what was drawn at `now_ms`, if [`KillCam::wants`] it, three seconds back.
    pub fn record(&mut self, now_ms: f64, ships: &[Ship], beams: &[BeamLine]) {
        if !self.wants(now_ms) {
            return;
        }
        while self.recent.front().is_some_and(|first| now_ms - first.at_ms > KILLCAM_MS) {
            self.recent.pop_front();
        }
        self.recent.push_back(Sample {
            at_ms: now_ms,
            ships: ships.to_vec(),
            beams: beams.to_vec(),
        });
    }

    /// Our ship was destroyed by `killer` at `now_ms`: show what was kept.
    pub fn start(&mut self, killer: PlayerId, killer_name: String, now_ms: f64) {
        let samples = std::mem::take(&mut self.recent).into();
        self.showing = Some(Showing { killer, killer_name, samples, started_ms: now_ms });
    }

    /// Forgets everything (a new room, a new connection).
    pub fn reset(&mut self) {
        *self = KillCam::default();
    }

    /// Who the kill-cam follows, while it shows.
    pub fn killer(&self, now_ms: f64) -> Option<(PlayerId, &str)> {
        let showing = self.showing.as_ref()?;
        (now_ms - showing.started_ms < KILLCAM_MS)
            .then_some((showing.killer, showing.killer_name.as_str()))
    }

    /// What to draw at `now_ms`, while the kill-cam shows: the kept frame as far into the
    /// replay as `now_ms` is into the kill-cam, with the killer highlighted.
    pub fn frame(&self, now_ms: f64) -> Option<KillCamFrame> {
        let showing = self.showing.as_ref()?;
        let elapsed = now_ms - showing.started_ms;
        if !(0.0..KILLCAM_MS).contains(&elapsed) {
            return None;
        }
        let first = showing.samples.first()?;
        let end = showing.samples.last().map_or(first.at_ms, |last| last.at_ms);
        // The last three seconds, ending at the kill: a short history starts late, not slow.
        let at = (end - KILLCAM_MS + elapsed).max(first.at_ms);
        let index = showing.samples.partition_point(|s| s.at_ms <= at).saturating_sub(1);
        let sample = &showing.samples[index];
        let ships: Vec<Ship> = sample
            .ships
            .iter()
            .map(|ship| Ship { is_me: ship.id == showing.killer, ..ship.clone() })
            .collect();
        let focus = showing.samples[..=index]
            .iter()
            .rev()
            .find_map(|s| s.ships.iter().find(|ship| ship.id == showing.killer))
            .map(|ship| ship.pos);
        Some(KillCamFrame { ships, beams: sample.beams.clone(), focus })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ship(id: u32, x: f32) -> Ship {
        Ship {
            id: PlayerId(id),
            name: format!("p{id}"),
            pos: Vec2::new(x, 100.0),
            aim: Vec2::X,
            health: 100,
            is_me: id == 1,
        }
    }

    #[test]
    fn shows_the_last_three_seconds_following_the_killer_then_ends() {
        let mut cam = KillCam::default();
        // Five seconds of frames at 60 FPS: the killer (2) moves 1 unit per frame.
        for frame in 0..300 {
            let now = f64::from(frame) * 1000.0 / 60.0;
            cam.record(now, &[ship(1, 0.0), ship(2, frame as f32)], &[]);
        }
        assert!(cam.recent.len() <= 91, "three seconds at 30 a second: {}", cam.recent.len());
        let killed_at = 299.0 * 1000.0 / 60.0;
        cam.start(PlayerId(2), "Alice".into(), killed_at);
        assert_eq!(cam.killer(killed_at), Some((PlayerId(2), "Alice")));
        let first = cam.frame(killed_at).expect("the kill-cam shows");
        let x0 = first.focus.expect("the killer is followed").x;
        assert!((115.0..=125.0).contains(&x0), "it starts three seconds back: x {x0}");
        let highlighted: Vec<u32> =
            first.ships.iter().filter(|s| s.is_me).map(|s| s.id.0).collect();
        assert_eq!(highlighted, vec![2], "the killer is the highlighted ship");
        let later = cam.frame(killed_at + 1500.0).and_then(|f| f.focus).expect("mid-way");
        assert!((later.x - x0 - 90.0).abs() < 3.0, "plays at normal speed: {x0} → {}", later.x);
        assert!(cam.frame(killed_at + KILLCAM_MS + 1.0).is_none(), "and ends with the wait");
        assert_eq!(cam.killer(killed_at + KILLCAM_MS + 1.0), None);
        cam.record(killed_at + 1000.0, &[ship(1, 0.0)], &[]);
        assert!(cam.recent.is_empty(), "nothing is kept while it is shown");
        cam.record(killed_at + KILLCAM_MS + 10.0, &[ship(1, 0.0)], &[]);
        assert_eq!(cam.recent.len(), 1, "and keeping starts again after");
        cam.reset();
        assert!(cam.recent.is_empty() && cam.killer(0.0).is_none(), "a reset forgets all");
    }

    #[test]
    fn a_killer_never_seen_leaves_the_camera_where_it_was() {
        let mut cam = KillCam::default();
        cam.record(0.0, &[ship(1, 5.0)], &[]);
        cam.start(PlayerId(9), "Zed".into(), 10.0);
        let frame = cam.frame(20.0).expect("shows");
        assert_eq!(frame.focus, None);
        assert_eq!(frame.ships.len(), 1);
        let empty = KillCam::default();
        assert!(empty.frame(0.0).is_none());
    }
}
