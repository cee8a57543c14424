//! What the page shows around the ships: who is in the room, chat, kill feed, laser beams,
//! scoreboard and the frame rate. Fed by the model ([`crate::app::App`]) with decoded events;
//! read by the DOM and the canvas. Pure state, tested natively.

use std::collections::{BTreeMap, VecDeque};

use crate::scene::BeamLine;
use glam::Vec2;
use shared::ids::PlayerId;
use shared::protocol::{self, GameEvent, Ray, RosterEntry, ScoreEntry, Scoreboard, Snapshot};

/// Chat lines kept on screen.
pub const CHAT_LINES: usize = 50;
/// Kill-feed lines kept, and how long each stays.
pub const KILLFEED_LINES: usize = 5;
pub const KILLFEED_MS: f64 = 6000.0;
/// How long a laser beam stays drawn.
pub const BEAM_MS: f64 = 150.0;

#[derive(Clone, Debug, PartialEq)]
pub struct ChatLine {
    pub from: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FeedLine {
    pub text: String,
    pub at_ms: f64,
}

/// A laser beam on screen for [`BEAM_MS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beam {
    /// `None`: from the shooter's ship as drawn (it is in view).
    pub from: Option<Vec2>,
    /// Its direction and length from wherever it starts.
    pub ray: Ray,
    pub shooter: PlayerId,
    pub at_ms: f64,
}

/// One scoreboard row.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRow {
    pub id: PlayerId,
    pub rank: u32,
    pub name: String,
    pub score: i32,
    pub deaths: u32,
    pub is_me: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Hud {
    /// Names of the players in the room.
    pub roster: BTreeMap<PlayerId, String>,
    pub chat: VecDeque<ChatLine>,
    pub killfeed: VecDeque<FeedLine>,
    pub beams: Vec<Beam>,
    /// The server's summary (top ten and our rank), once one came.
    pub scoreboard: Option<Scoreboard>,
    /// Beams received since the page opened (for tests and the debug hook).
    pub shots_seen: u64,
    /// Frames per second, smoothed.
    pub fps: f64,
    /// Bumped whenever chat, kill feed, scoreboard, roster or the connection change (the DOM
    /// re-renders then).
    pub version: u64,
}

impl Hud {
    /// Left the room: nothing of it stays on screen.
    pub fn clear(&mut self) {
        self.roster.clear();
        self.scoreboard = None;
        self.chat.clear();
        self.killfeed.clear();
        self.beams.clear();
        self.changed();
    }

    /// Something the DOM shows changed.
    pub fn changed(&mut self) {
        self.version += 1;
    }

    /// Welcomed into a room: its roster; a new seat (not a resume) starts with empty chat and
    /// kill feed.
    pub fn welcomed(&mut self, roster: Vec<RosterEntry>, resumed: bool) {
        if !resumed {
            self.chat.clear();
            self.killfeed.clear();
        }
        self.roster = roster.into_iter().map(|entry| (entry.id, entry.name)).collect();
        self.changed();
    }

    pub fn on_beams(&mut self, beams: Vec<protocol::Beam>, now_ms: f64) {
        self.shots_seen += beams.len() as u64;
        self.beams.extend(beams.into_iter().map(|beam| Beam {
            from: beam.from.map(|from| from.to_world()),
            ray: beam.ray,
            shooter: beam.shooter,
            at_ms: now_ms,
        }));
    }

    pub fn on_scoreboard(&mut self, board: Scoreboard) {
        self.scoreboard = Some(board);
        self.changed();
    }

    pub fn on_event(&mut self, event: GameEvent, now_ms: f64) {
        match event {
            GameEvent::Joined { id, name } => {
                self.roster.insert(id, name);
            }
            GameEvent::Left { id } => {
                self.roster.remove(&id);
            }
            GameEvent::Chat { from, text } => self.push_chat(self.name_of(from), text),
            GameEvent::WatcherChat { name, text } => {
                self.push_chat(format!("{name} (watching)"), text);
            }
            GameEvent::Killed { killer, victim } => {
                let text = format!("{} ✸ {}", self.name_of(killer), self.name_of(victim));
                if self.killfeed.len() == KILLFEED_LINES {
                    self.killfeed.pop_front();
                }
                self.killfeed.push_back(FeedLine { text, at_ms: now_ms });
            }
            // Shots arrive as beams; respawns and pickups show in snapshots.
            GameEvent::Shot { .. } | GameEvent::Respawned { .. } | GameEvent::PickedUp { .. } => {
                return;
            }
        }
        self.changed();
    }

    /// The newest chat line, the oldest dropped past [`CHAT_LINES`].
    fn push_chat(&mut self, from: String, text: String) {
        if self.chat.len() == CHAT_LINES {
            self.chat.pop_front();
        }
        self.chat.push_back(ChatLine { from, text });
    }

    /// A frame `frame_ms` long ended at `now_ms`: the frame rate, and beams and kill-feed lines
    /// that have had their time.
    pub fn frame(&mut self, now_ms: f64, frame_ms: f64) {
        if frame_ms > 0.0 {
            let fps = 1000.0 / frame_ms;
            self.fps = if self.fps == 0.0 { fps } else { self.fps + 0.05 * (fps - self.fps) };
        }
        self.beams.retain(|beam| now_ms - beam.at_ms < BEAM_MS);
        let before = self.killfeed.len();
        self.killfeed.retain(|line| now_ms - line.at_ms < KILLFEED_MS);
        if self.killfeed.len() != before {
            self.changed();
        }
    }

    pub fn name_of(&self, id: PlayerId) -> String {
        self.roster.get(&id).cloned().unwrap_or_else(|| format!("player {}", id.0))
    }

    /// The beams to draw at `now_ms`: a beam without a start begins at its shooter's ship as
    /// drawn at `ship_at` (skipped if it is not drawn).
    pub fn beam_lines(
        &self,
        ship_at: impl Fn(PlayerId) -> Option<Vec2>,
        now_ms: f64,
    ) -> Vec<BeamLine> {
        self.beams
            .iter()
            .filter_map(|beam| {
                let from = beam.from.or_else(|| ship_at(beam.shooter))?;
                Some(BeamLine {
                    from,
                    to: beam.ray.end(from),
                    shooter: beam.shooter,
                    age_ms: now_ms - beam.at_ms,
                })
            })
            .collect()
    }

    /// Scoreboard rows: the server's summary when there is one, else the players of `latest`
    /// (the newest snapshot), ranked the way the server ranks. `me` is highlighted.
    pub fn score_rows(&self, me: Option<PlayerId>, latest: Option<&Snapshot>) -> Vec<ScoreRow> {
        let row = |rank: u32, entry: &ScoreEntry| ScoreRow {
            id: entry.id,
            rank,
            name: self.name_of(entry.id),
            score: entry.score,
            deaths: entry.deaths,
            is_me: Some(entry.id) == me,
        };
        if let Some(board) = &self.scoreboard {
            let mut rows: Vec<ScoreRow> =
                board.top.iter().enumerate().map(|(i, e)| row(i as u32 + 1, e)).collect();
            if board.your_rank as usize > rows.len() {
                rows.push(row(board.your_rank, &board.you));
            }
            return rows;
        }
        let entries = shared::view::rank(
            latest.into_iter().flat_map(|s| s.players.iter()).map(|p| ScoreEntry {
                id: p.id,
                score: p.score,
                deaths: p.deaths,
            }),
        );
        entries.iter().enumerate().map(|(i, e)| row(i as u32 + 1, e)).collect()
    }

    /// Players in the room.
    pub fn player_count(&self) -> usize {
        self.scoreboard.as_ref().map_or(self.roster.len(), |b| b.players as usize)
    }
}
