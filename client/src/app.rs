//! The platform-free client: connection state, decoded snapshots, prediction, chat, kill feed,
//! scoreboard and HUD figures, and the messages to send. Knows nothing of the DOM or the
//! socket, so all of it is tested natively; the wasm shell feeds it events and draws it.

use std::collections::{BTreeMap, VecDeque};

use glam::Vec2;
use shared::clock::Clock;
use shared::codec::decode_server;
use shared::delta::Decoder;
use shared::ids::PlayerId;
use shared::interp::{DrawnPlayer, SnapshotBuffer};
use shared::map::Map;
use shared::predict::Predictor;
use shared::protocol::{
    ClientMsg, GameEvent, Hello, InputCmd, InputMsg, MAX_CHAT_CHARS, MAX_INPUTS_PER_MSG,
    PROTOCOL_VERSION, ResumeToken, ScoreEntry, Scoreboard, ServerMsg, Snapshot, Welcome, close,
    dequantize_pos,
};
use shared::tick::Tick;
use shared::validate::sanitize_chat;

/// Chat lines kept on screen.
pub const CHAT_LINES: usize = 50;
/// Kill-feed lines kept, and how long each stays.
pub const KILLFEED_LINES: usize = 5;
pub const KILLFEED_MS: f64 = 6000.0;
/// How long a laser beam stays drawn.
pub const BEAM_MS: f64 = 150.0;
/// Reconnect backoff: first delay, cap.
pub const BACKOFF_FIRST_MS: f64 = 500.0;
pub const BACKOFF_MAX_MS: f64 = 8000.0;
/// Pings for round-trip time, one a second.
const PING_EVERY_MS: f64 = 1000.0;
/// At most this many input ticks are caught up after a stalled frame.
const MAX_CATCH_UP_INPUTS: u32 = 4;

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Conn {
    /// The join form is showing.
    Idle,
    /// A socket is being opened (or `Hello` sent, `Welcome` awaited).
    Connecting,
    Joined,
    /// The connection dropped; the next try is at `retry_at_ms`.
    Reconnecting {
        attempt: u32,
        retry_at_ms: f64,
        reason: String,
    },
    /// Closed for good (refused); `reason` is shown.
    Closed {
        code: u16,
        reason: String,
    },
}

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

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beam {
    pub from: Vec2,
    pub to: Vec2,
    pub shooter: PlayerId,
    pub at_ms: f64,
}

/// A ship to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Ship {
    pub id: PlayerId,
    pub name: String,
    pub pos: Vec2,
    pub aim: Vec2,
    pub health: u8,
    pub is_me: bool,
}

/// One scoreboard row.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRow {
    pub rank: u32,
    pub name: String,
    pub score: i32,
    pub deaths: u32,
    pub is_me: bool,
}

/// The exponential reconnect delay for `attempt` (0-based), spread by `jitter` in 0..1 so a
/// crowd of clients does not return in lockstep.
pub fn backoff_ms(attempt: u32, jitter: f64) -> f64 {
    let base = (BACKOFF_FIRST_MS * 2f64.powi(attempt.min(16) as i32)).min(BACKOFF_MAX_MS);
    base * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

pub struct App {
    pub name: String,
    pub conn: Conn,
    pub me: Option<PlayerId>,
    pub map: Option<Map>,
    pub tick_hz: u16,
    pub send_hz: u16,
    pub roster: BTreeMap<PlayerId, String>,
    pub buffer: SnapshotBuffer,
    pub predictor: Predictor,
    pub clock: Clock,
    pub latest: Option<Snapshot>,
    pub chat: VecDeque<ChatLine>,
    pub killfeed: VecDeque<FeedLine>,
    pub beams: Vec<Beam>,
    pub scoreboard: Option<Scoreboard>,
    pub shots_seen: u64,
    /// Frames per second, smoothed.
    pub fps: f64,
    /// Bumped whenever chat, kill feed, scoreboard or roster change (the DOM re-renders then).
    pub ui_version: u64,
    decoder: Decoder,
    resume: Option<ResumeToken>,
    /// Connection failures since the last `Welcome` (the backoff exponent).
    failed_attempts: u32,
    next_seq: u32,
    newest_tick: Tick,
    input_clock_ms: Option<f64>,
    last_ping_ms: f64,
    outgoing: Vec<ClientMsg>,
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    pub fn new() -> App {
        App {
            name: String::new(),
            conn: Conn::Idle,
            me: None,
            map: None,
            tick_hz: shared::tick::DEFAULT_TICK_HZ,
            send_hz: shared::tick::DEFAULT_TICK_HZ,
            roster: BTreeMap::new(),
            buffer: SnapshotBuffer::new(shared::tick::DEFAULT_TICK_HZ),
            predictor: Predictor::new(),
            clock: Clock::default(),
            latest: None,
            chat: VecDeque::new(),
            killfeed: VecDeque::new(),
            beams: Vec::new(),
            scoreboard: None,
            shots_seen: 0,
            fps: 0.0,
            ui_version: 0,
            decoder: Decoder::default(),
            resume: None,
            failed_attempts: 0,
            next_seq: 1,
            newest_tick: Tick(0),
            input_clock_ms: None,
            last_ping_ms: f64::NEG_INFINITY,
            outgoing: Vec::new(),
        }
    }

    /// The player asked to join as `name`: the shell opens a socket next.
    pub fn join(&mut self, name: &str) {
        self.name = name.trim().to_string();
        self.conn = Conn::Connecting;
    }

    /// Whether the shell should open a socket now.
    pub fn wants_socket(&self, now_ms: f64) -> bool {
        match &self.conn {
            Conn::Connecting => true,
            Conn::Reconnecting { retry_at_ms, .. } => now_ms >= *retry_at_ms,
            _ => false,
        }
    }

    /// The socket opened: say `Hello` (resuming our player if we had one).
    pub fn on_open(&mut self) {
        self.conn = Conn::Connecting;
        self.outgoing.push(ClientMsg::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            name: self.name.clone(),
            room: String::new(),
            resume: self.resume,
        }));
    }

    /// A binary message arrived. An error means the server sent something we cannot read:
    /// the shell closes the socket with 1002.
    pub fn on_message(&mut self, bytes: &[u8], now_ms: f64) -> Result<(), String> {
        let message = decode_server(bytes).map_err(|err| err.to_string())?;
        match message {
            ServerMsg::Welcome(welcome) => self.on_welcome(*welcome),
            ServerMsg::Snapshot(delta) => {
                let snapshot = self.decoder.decode(&delta).map_err(|err| err.to_string())?;
                self.on_snapshot(snapshot, now_ms);
            }
            ServerMsg::Events { events, .. } => {
                for event in events {
                    self.on_event(event, now_ms);
                }
            }
            ServerMsg::Scoreboard(board) => {
                self.scoreboard = Some(board);
                self.ui_version += 1;
            }
            ServerMsg::Pong { client_time, server_tick } => {
                self.clock.on_pong(client_time, now_ms, server_tick)
            }
        }
        Ok(())
    }

    fn on_welcome(&mut self, welcome: Welcome) {
        let Welcome { player_id, tick_hz, send_hz, map, roster, resume_token, resumed, .. } =
            welcome;
        if !resumed {
            self.chat.clear();
            self.killfeed.clear();
        }
        self.me = Some(player_id);
        self.tick_hz = tick_hz;
        self.send_hz = send_hz;
        self.map = Some(map);
        self.roster = roster.into_iter().map(|entry| (entry.id, entry.name)).collect();
        self.resume = Some(resume_token);
        self.conn = Conn::Joined;
        self.failed_attempts = 0;
        // A new connection: fresh baselines, buffer and input numbering (the server resets too).
        self.decoder.reset();
        self.buffer = SnapshotBuffer::new(tick_hz);
        self.predictor.reset();
        self.next_seq = 1;
        self.newest_tick = Tick(0);
        self.input_clock_ms = None;
        self.ui_version += 1;
    }

    fn on_snapshot(&mut self, snapshot: Snapshot, now_ms: f64) {
        self.newest_tick = self.newest_tick.max(snapshot.tick);
        if let (Some(me), Some(map)) = (self.me, &self.map) {
            if let Some(mine) = snapshot.players.iter().find(|p| p.id == me) {
                let pos = Vec2::new(dequantize_pos(mine.x), dequantize_pos(mine.y));
                let dt = 1.0 / f32::from(self.tick_hz);
                self.predictor.reconcile(map, pos, mine.alive, snapshot.ack_input, dt);
            }
        }
        self.buffer.push(now_ms, snapshot.clone());
        self.latest = Some(snapshot);
    }

    fn on_event(&mut self, event: GameEvent, now_ms: f64) {
        match event {
            GameEvent::Joined { id, name } => {
                self.roster.insert(id, name);
                self.ui_version += 1;
            }
            GameEvent::Left { id } => {
                self.roster.remove(&id);
                self.ui_version += 1;
            }
            GameEvent::Chat { from, text } => {
                let from = self.name_of(from);
                if self.chat.len() == CHAT_LINES {
                    self.chat.pop_front();
                }
                self.chat.push_back(ChatLine { from, text });
                self.ui_version += 1;
            }
            GameEvent::Shot { shooter, from, to, .. } => {
                self.shots_seen += 1;
                self.beams.push(Beam {
                    from: from.to_world(),
                    to: to.to_world(),
                    shooter,
                    at_ms: now_ms,
                });
            }
            GameEvent::Killed { killer, victim } => {
                let text = format!("{} ✸ {}", self.name_of(killer), self.name_of(victim));
                if self.killfeed.len() == KILLFEED_LINES {
                    self.killfeed.pop_front();
                }
                self.killfeed.push_back(FeedLine { text, at_ms: now_ms });
                self.ui_version += 1;
            }
            GameEvent::Respawned { .. } | GameEvent::PickedUp { .. } => {}
        }
    }

    /// The socket closed (or failed). Decides between reconnecting and stopping.
    /// `jitter` in 0..1 spreads the retry time.
    pub fn on_close(&mut self, code: u16, reason: &str, now_ms: f64, jitter: f64) {
        if matches!(self.conn, Conn::Idle | Conn::Closed { .. }) {
            return;
        }
        let attempt = self.failed_attempts;
        self.failed_attempts += 1;
        self.ui_version += 1;
        if close::should_reconnect(code) {
            let reason = if code == close::RESTART {
                "server restarting".to_string()
            } else {
                reason.to_string()
            };
            self.conn = Conn::Reconnecting {
                attempt,
                retry_at_ms: now_ms + backoff_ms(attempt, jitter),
                reason,
            };
        } else {
            // A refused resume: try once more as a new player instead of giving up.
            if self.resume.take().is_some() && code == close::POLICY && reason.contains("resume") {
                self.conn =
                    Conn::Reconnecting { attempt, retry_at_ms: now_ms, reason: reason.to_string() };
                return;
            }
            self.conn = Conn::Closed { code, reason: reason.to_string() };
        }
    }

    /// Queues a chat line (ignored when empty after sanitising).
    pub fn send_chat(&mut self, text: &str) {
        if self.conn != Conn::Joined {
            return;
        }
        if let Ok(text) = sanitize_chat(text) {
            let text: String = text.chars().take(MAX_CHAT_CHARS).collect();
            self.outgoing.push(ClientMsg::Chat { text });
        }
    }

    /// Advances the client to `now_ms`: sends inputs at the tick rate (sampling `sample` for
    /// each), pings, expires beams and kill-feed lines, smooths corrections.
    pub fn update(&mut self, now_ms: f64, frame_ms: f64, mut sample: impl FnMut() -> InputCmd) {
        if frame_ms > 0.0 {
            let fps = 1000.0 / frame_ms;
            self.fps = if self.fps == 0.0 { fps } else { self.fps + 0.05 * (fps - self.fps) };
        }
        self.beams.retain(|beam| now_ms - beam.at_ms < BEAM_MS);
        let before = self.killfeed.len();
        self.killfeed.retain(|line| now_ms - line.at_ms < KILLFEED_MS);
        if self.killfeed.len() != before {
            self.ui_version += 1;
        }
        self.predictor.smooth((frame_ms / 1000.0) as f32);
        if self.conn != Conn::Joined {
            return;
        }
        if now_ms - self.last_ping_ms >= PING_EVERY_MS {
            self.last_ping_ms = now_ms;
            self.outgoing.push(ClientMsg::Ping { client_time: now_ms });
        }
        let period = 1000.0 / f64::from(self.tick_hz);
        let clock = self.input_clock_ms.get_or_insert(now_ms - period);
        let mut due = ((now_ms - *clock) / period).floor() as u32;
        if due > MAX_CATCH_UP_INPUTS {
            *clock = now_ms - period * f64::from(MAX_CATCH_UP_INPUTS);
            due = MAX_CATCH_UP_INPUTS;
        }
        for _ in 0..due {
            *self.input_clock_ms.get_or_insert(now_ms) += period;
            let cmd = sample();
            self.send_input(cmd, now_ms);
        }
    }

    fn send_input(&mut self, mut cmd: InputCmd, now_ms: f64) {
        let Some(map) = &self.map else { return };
        cmd.seq = self.next_seq;
        self.next_seq += 1;
        let delay = self.buffer.delay_ms(self.send_hz);
        cmd.view_tick = Tick(
            self.buffer.render_tick(now_ms, delay).map_or(0, |tick| tick.round().max(0.0) as u32),
        );
        self.predictor.predict(map, cmd, 1.0 / f32::from(self.tick_hz));
        let unacked = self.predictor.unacked();
        let skip = unacked.len().saturating_sub(MAX_INPUTS_PER_MSG);
        let inputs = unacked.skip(skip).copied().collect();
        self.outgoing.push(ClientMsg::Input(InputMsg { ack_tick: self.newest_tick, inputs }));
    }

    /// Messages for the shell to send, oldest first.
    pub fn take_outgoing(&mut self) -> Vec<ClientMsg> {
        std::mem::take(&mut self.outgoing)
    }

    pub fn name_of(&self, id: PlayerId) -> String {
        self.roster.get(&id).cloned().unwrap_or_else(|| format!("player {}", id.0))
    }

    /// Ships to draw at `now_ms`: remote ones interpolated, our own predicted.
    pub fn ships(&self, now_ms: f64) -> Vec<Ship> {
        let delay = self.buffer.delay_ms(self.send_hz);
        let mine = self.predictor.position().map(|_| self.predictor.draw_pos());
        let own_aim =
            self.latest.as_ref().and_then(|s| s.players.iter().find(|p| Some(p.id) == self.me));
        self.buffer
            .sample(now_ms, delay)
            .into_iter()
            .filter(|p: &DrawnPlayer| p.alive)
            .map(|p| {
                let is_me = Some(p.id) == self.me;
                let pos = if is_me { mine.unwrap_or(p.pos) } else { p.pos };
                let aim = if is_me {
                    own_aim.map_or(p.aim, |s| shared::protocol::dequantize_angle(s.aim))
                } else {
                    p.aim
                };
                Ship { id: p.id, name: self.name_of(p.id), pos, aim, health: p.health, is_me }
            })
            .collect()
    }

    /// Where the camera looks: our ship, or the map's middle.
    pub fn camera(&self, now_ms: f64) -> Vec2 {
        if let Some(pos) = self.predictor.position().map(|_| self.predictor.draw_pos()) {
            return pos;
        }
        if let Some(me) = self.ships(now_ms).into_iter().find(|s| s.is_me) {
            return me.pos;
        }
        self.map.as_ref().map_or(Vec2::ZERO, |m| m.size() / 2.0)
    }

    /// Our own state from the newest snapshot.
    pub fn my_state(&self) -> Option<&shared::protocol::PlayerSnap> {
        self.latest.as_ref()?.players.iter().find(|p| Some(p.id) == self.me)
    }

    /// Scoreboard rows: the server's summary when there is one, else the players in view.
    pub fn score_rows(&self) -> Vec<ScoreRow> {
        let row = |rank: u32, entry: &ScoreEntry| ScoreRow {
            rank,
            name: self.name_of(entry.id),
            score: entry.score,
            deaths: entry.deaths,
            is_me: Some(entry.id) == self.me,
        };
        if let Some(board) = &self.scoreboard {
            let mut rows: Vec<ScoreRow> =
                board.top.iter().enumerate().map(|(i, e)| row(i as u32 + 1, e)).collect();
            if board.your_rank as usize > rows.len() {
                rows.push(row(board.your_rank, &board.you));
            }
            return rows;
        }
        let mut entries: Vec<ScoreEntry> = self
            .latest
            .iter()
            .flat_map(|s| s.players.iter())
            .map(|p| ScoreEntry { id: p.id, score: p.score, deaths: p.deaths })
            .collect();
        entries.sort_by(|a, b| {
            b.score.cmp(&a.score).then(a.deaths.cmp(&b.deaths)).then(a.id.cmp(&b.id))
        });
        entries.iter().enumerate().map(|(i, e)| row(i as u32 + 1, e)).collect()
    }

    /// Players in the room (the roster).
    pub fn player_count(&self) -> usize {
        self.scoreboard.as_ref().map_or(self.roster.len(), |b| b.players as usize)
    }

    /// A banner to show, if any.
    pub fn banner(&self, now_ms: f64) -> Option<String> {
        match &self.conn {
            Conn::Reconnecting { retry_at_ms, reason, .. } => {
                let secs = ((retry_at_ms - now_ms) / 1000.0).max(0.0).ceil();
                let why =
                    if reason.is_empty() { "connection lost".to_string() } else { reason.clone() };
                Some(if secs > 0.0 {
                    format!("Disconnected ({why}). Reconnecting in {secs} s…")
                } else {
                    format!("Disconnected ({why}). Reconnecting…")
                })
            }
            Conn::Closed { code: close::VERSION_MISMATCH, .. } => {
                Some("The server was updated — reload the page.".into())
            }
            Conn::Closed { code, reason } => Some(format!(
                "Disconnected: {reason} (code {code}). Reload the page to play again."
            )),
            Conn::Connecting if self.me.is_some() => Some("Reconnecting…".into()),
            _ => match self.my_state() {
                Some(me) if !me.alive => Some("You were destroyed. Respawning…".into()),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests;
