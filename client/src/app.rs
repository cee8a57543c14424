//! The platform-free client: connection state, decoded snapshots, prediction, chat, kill feed,
//! scoreboard and HUD figures, and the messages to send. Knows nothing of the DOM or the
//! socket, so all of it is tested natively; the wasm shell feeds it events and draws it.

use std::collections::{BTreeMap, VecDeque};

use glam::Vec2;
use shared::clock::Clock;
use shared::codec::decode_server;
use shared::ids::PlayerId;
use shared::interp::DrawnPlayer;
use shared::map::Map;
use shared::netcode::{ClientCore, Fidelity};
use shared::protocol::{
    ClientMsg, GameEvent, InputCmd, MAX_CHAT_CHARS, PlayerSnap, ResumeToken, ScoreEntry,
    Scoreboard, ServerMsg, Snapshot, Welcome, close,
};
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

/// The room the player chose in the lobby.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Target {
    /// The room's id or code (empty: the server's default room).
    pub room: String,
    /// The seat the lobby reserved; spent by the first `Welcome`.
    pub ticket: Option<String>,
    /// Shown in the HUD.
    pub title: String,
    pub map: String,
    /// The link that opens the room (`/r/CODE`), shown for private rooms so friends can come.
    pub invite: Option<String>,
    /// The game socket on another process of the cluster (with its signed join ticket), where
    /// the room runs; `None`: the page's own server. Resumes go there too.
    pub server: Option<String>,
    /// The lobby gave this seat: when the server closes with 1012 (restarting or draining),
    /// the page asks the lobby for a new seat instead of reconnecting to a room that is gone.
    pub via_lobby: bool,
}

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Conn {
    /// The lobby is showing.
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

/// A laser beam on screen for [`BEAM_MS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beam {
    /// `None`: from the shooter's ship as drawn (it is in view).
    pub from: Option<Vec2>,
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
/// Asks of the lobby after a 1012 before the page shows why it could not find a seat.
pub const MAX_REJOINS: u32 = 6;

/// A pending rejoin through the lobby.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rejoin {
    /// When to ask (infinity while an ask is on its way).
    at_ms: f64,
    /// Asks that got no seat.
    failed: u32,
}

pub fn backoff_ms(attempt: u32, jitter: f64) -> f64 {
    let base = (BACKOFF_FIRST_MS * 2f64.powi(attempt.min(16) as i32)).min(BACKOFF_MAX_MS);
    base * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

pub struct App {
    pub name: String,
    /// The room joined (or being joined).
    pub target: Target,
    /// Why the page is back in the lobby, if it was sent there (shown above the rooms).
    pub notice: Option<String>,
    /// After a 1012 on a lobby seat: when to ask the lobby for a new seat, and how many asks
    /// failed so far (`take_rejoin`, `rejoin_failed`).
    rejoin: Option<Rejoin>,
    pub conn: Conn,
    /// The netcode of the current (or last) connection: from its `Welcome` on.
    pub net: Option<ClientCore>,
    pub roster: BTreeMap<PlayerId, String>,
    pub clock: Clock,
    pub chat: VecDeque<ChatLine>,
    pub killfeed: VecDeque<FeedLine>,
    pub beams: Vec<Beam>,
    pub scoreboard: Option<Scoreboard>,
    pub shots_seen: u64,
    /// Frames per second, smoothed.
    pub fps: f64,
    /// Bumped whenever chat, kill feed, scoreboard or roster change (the DOM re-renders then).
    pub ui_version: u64,
    resume: Option<ResumeToken>,
    /// Connection failures since the last `Welcome` (the backoff exponent).
    failed_attempts: u32,
    last_ping_ms: f64,
    /// Half the map area the screen shows now, and what the server was last told (and when).
    view: Option<(u16, u16)>,
    view_sent: Option<((u16, u16), f64)>,
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
            target: Target::default(),
            notice: None,
            rejoin: None,
            conn: Conn::Idle,
            net: None,
            roster: BTreeMap::new(),
            clock: Clock::default(),
            chat: VecDeque::new(),
            killfeed: VecDeque::new(),
            beams: Vec::new(),
            scoreboard: None,
            shots_seen: 0,
            fps: 0.0,
            ui_version: 0,
            resume: None,
            failed_attempts: 0,
            last_ping_ms: f64::NEG_INFINITY,
            view: None,
            view_sent: None,
            outgoing: Vec::new(),
        }
    }

    /// The player asked to join `target` as `name`: the shell opens a socket next.
    pub fn join(&mut self, name: &str, target: Target) {
        self.rejoin = None;
        self.name = name.trim().to_string();
        self.target = target;
        self.notice = None;
        self.resume = None;
        self.net = None;
        self.failed_attempts = 0;
        self.conn = Conn::Connecting;
        self.ui_version += 1;
    }

    /// Back to the lobby (the shell closes the socket with 1000): the seat is given up.
    pub fn leave(&mut self) {
        self.conn = Conn::Idle;
        self.net = None;
        self.resume = None;
        self.roster.clear();
        self.scoreboard = None;
        self.chat.clear();
        self.killfeed.clear();
        self.beams.clear();
        self.ui_version += 1;
    }

    /// Whether it is time to ask the lobby for a new seat after a 1012 on a lobby seat (the
    /// shell then asks); `true` once per ask.
    pub fn take_rejoin(&mut self, now_ms: f64) -> bool {
        match &mut self.rejoin {
            Some(rejoin) if now_ms >= rejoin.at_ms => {
                rejoin.at_ms = f64::INFINITY;
                true
            }
            _ => false,
        }
    }

    /// The lobby refused the rejoin's ask outright (the room is gone): no more asks.
    pub fn stop_rejoin(&mut self) {
        self.rejoin = None;
    }

    /// The lobby did not answer a rejoin's ask: `true` if another ask is due later (backing
    /// off like reconnects, [`MAX_REJOINS`] asks in all), `false` when the shell should show the
    /// refusal. Any answer that seats the player ends the rejoin (`join`).
    pub fn rejoin_failed(&mut self, now_ms: f64, jitter: f64) -> bool {
        let Some(rejoin) = &mut self.rejoin else { return false };
        rejoin.failed += 1;
        if rejoin.failed >= MAX_REJOINS {
            self.rejoin = None;
            return false;
        }
        rejoin.at_ms = now_ms + backoff_ms(rejoin.failed, jitter);
        true
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
        let ticket = self.target.ticket.as_deref();
        self.outgoing.push(shared::netcode::hello(
            &self.name,
            &self.target.room,
            ticket,
            self.resume,
        ));
        // A new connection knows nothing of our screen yet.
        self.view_sent = None;
        self.flush_view(f64::INFINITY);
    }

    /// The screen shows `half` world units each side of the camera now. The server is told
    /// (it sends the laser beams that cross the screen) when that changed by more than a few
    /// units, at most twice a second.
    pub fn set_view(&mut self, half: Vec2, now_ms: f64) {
        let units = |v: f32| v.round().clamp(1.0, f32::from(u16::MAX)) as u16;
        self.view = Some((units(half.x), units(half.y)));
        if !matches!(self.conn, Conn::Joined) {
            return;
        }
        self.flush_view(now_ms);
    }

    fn flush_view(&mut self, now_ms: f64) {
        const MIN_CHANGE: u16 = 8;
        const EVERY_MS: f64 = 500.0;
        let Some(view) = self.view else { return };
        let stale = match self.view_sent {
            None => true,
            Some((sent, at)) => {
                let changed =
                    sent.0.abs_diff(view.0) > MIN_CHANGE || sent.1.abs_diff(view.1) > MIN_CHANGE;
                changed && now_ms - at >= EVERY_MS
            }
        };
        if stale {
            let at = if now_ms.is_finite() { now_ms } else { f64::NEG_INFINITY };
            self.view_sent = Some((view, at));
            self.outgoing.push(ClientMsg::View { half_width: view.0, half_height: view.1 });
        }
    }

    /// A binary message arrived. An error means the server sent something we cannot read:
    /// the shell closes the socket with 1002.
    pub fn on_message(&mut self, bytes: &[u8], now_ms: f64) -> Result<(), String> {
        let message = decode_server(bytes).map_err(|err| err.to_string())?;
        match message {
            ServerMsg::Welcome(welcome) => self.on_welcome(*welcome),
            ServerMsg::Snapshot(delta) => {
                let net = self.net.as_mut().ok_or("a snapshot before Welcome")?;
                net.on_snapshot(&delta, now_ms).map_err(|err| err.to_string())?;
            }
            ServerMsg::Events { beams, events } => {
                self.shots_seen += beams.len() as u64;
                self.beams.extend(beams.into_iter().map(|beam| Beam {
                    from: beam.from.map(|from| from.to_world()),
                    to: beam.to.to_world(),
                    shooter: beam.shooter,
                    at_ms: now_ms,
                }));
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
        if !welcome.resumed {
            self.chat.clear();
            self.killfeed.clear();
        }
        // A new connection: fresh baselines, buffer and input numbering (the server resets too).
        self.net = Some(ClientCore::new(&welcome, Fidelity::Full));
        self.roster = welcome.roster.into_iter().map(|entry| (entry.id, entry.name)).collect();
        self.resume = Some(welcome.resume_token);
        // The reservation is spent; a later reconnect resumes (or walks in) instead.
        self.target.ticket = None;
        self.conn = Conn::Joined;
        self.failed_attempts = 0;
        self.ui_version += 1;
    }

    /// Our player id, once a server welcomed us.
    pub fn me(&self) -> Option<PlayerId> {
        self.net.as_ref().map(|net| net.me)
    }

    /// The map of the room, once a server welcomed us.
    pub fn map(&self) -> Option<&Map> {
        self.net.as_ref().map(|net| &net.map)
    }

    /// The room's tick rate (the default until welcomed).
    pub fn tick_hz(&self) -> u16 {
        self.net.as_ref().map_or(shared::tick::DEFAULT_TICK_HZ, |net| net.tick_hz)
    }

    /// The newest snapshot.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.net.as_ref()?.latest()
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
            GameEvent::Killed { killer, victim } => {
                let text = format!("{} ✸ {}", self.name_of(killer), self.name_of(victim));
                if self.killfeed.len() == KILLFEED_LINES {
                    self.killfeed.pop_front();
                }
                self.killfeed.push_back(FeedLine { text, at_ms: now_ms });
                self.ui_version += 1;
            }
            // Shots arrive as beams; respawns and pickups show in snapshots.
            GameEvent::Shot { .. } | GameEvent::Respawned { .. } | GameEvent::PickedUp { .. } => {}
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
        if code == close::RESTART && self.target.via_lobby {
            let name = std::mem::take(&mut self.name);
            self.leave();
            self.name = name;
            // Not at once: the process that said 1012 may be the only one, coming back.
            self.rejoin = Some(Rejoin { at_ms: now_ms + backoff_ms(0, jitter), failed: 0 });
            self.notice = Some("The server is restarting: finding you a new seat…".into());
            return;
        }
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
            // The lobby's reservation lapsed before the socket opened: back to the lobby.
            if code == close::RESERVATION_REFUSED {
                self.leave();
                self.notice = Some("Your seat was not held in time: pick a room again.".into());
                return;
            }
            // A refused resume: try once more as a new player instead of giving up.
            if self.resume.take().is_some() && code == close::RESUME_REFUSED {
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
        let Some(net) = self.net.as_mut() else { return };
        net.predictor.smooth((frame_ms / 1000.0) as f32);
        if self.conn != Conn::Joined {
            return;
        }
        if now_ms - self.last_ping_ms >= PING_EVERY_MS {
            self.last_ping_ms = now_ms;
            self.outgoing.push(ClientMsg::Ping { client_time: now_ms });
        }
        // One command per server tick of local time, sampled now, in one message.
        let due = net.commands_due(now_ms);
        let commands: Vec<InputCmd> = (0..due).map(|_| sample()).collect();
        self.outgoing.extend(net.input_message(commands, now_ms));
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
        let Some(net) = &self.net else { return Vec::new() };
        let delay = net.buffer.delay_ms(net.send_hz);
        let mine = net.predictor.position().map(|_| net.predictor.draw_pos());
        let own_aim = self.my_state();
        net.buffer
            .sample(now_ms, delay)
            .into_iter()
            .filter(|p: &DrawnPlayer| p.alive)
            .map(|p| {
                let is_me = p.id == net.me;
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

    /// The beams to draw at `now_ms` as (start, end, shooter, age in ms): a beam without a start
    /// begins at its shooter's ship as drawn in `ships` (skipped if the ship is not drawn).
    pub fn beam_lines(&self, ships: &[Ship], now_ms: f64) -> Vec<(Vec2, Vec2, PlayerId, f64)> {
        self.beams
            .iter()
            .filter_map(|beam| {
                let from = beam
                    .from
                    .or_else(|| ships.iter().find(|ship| ship.id == beam.shooter).map(|s| s.pos))?;
                Some((from, beam.to, beam.shooter, now_ms - beam.at_ms))
            })
            .collect()
    }

    /// Where the camera looks: our ship, or the map's middle.
    pub fn camera(&self, now_ms: f64) -> Vec2 {
        let Some(net) = &self.net else { return Vec2::ZERO };
        if let Some(pos) = net.predictor.position().map(|_| net.predictor.draw_pos()) {
            return pos;
        }
        if let Some(me) = self.ships(now_ms).into_iter().find(|s| s.is_me) {
            return me.pos;
        }
        net.map.size() / 2.0
    }

    /// Our own state from the newest snapshot.
    pub fn my_state(&self) -> Option<&PlayerSnap> {
        let me = self.me()?;
        self.latest()?.players.iter().find(|p| p.id == me)
    }

    /// Scoreboard rows: the server's summary when there is one, else the players in view.
    pub fn score_rows(&self) -> Vec<ScoreRow> {
        let row = |rank: u32, entry: &ScoreEntry| ScoreRow {
            rank,
            name: self.name_of(entry.id),
            score: entry.score,
            deaths: entry.deaths,
            is_me: Some(entry.id) == self.me(),
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
            self.latest().into_iter().flat_map(|s| s.players.iter()).map(|p| ScoreEntry {
                id: p.id,
                score: p.score,
                deaths: p.deaths,
            }),
        );
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
            Conn::Closed { code, reason } => {
                Some(format!("Disconnected: {reason} (code {code}). Pick a room to play again."))
            }
            Conn::Connecting if self.net.is_some() => Some("Reconnecting…".into()),
            _ => match self.my_state() {
                Some(me) if !me.alive => Some("You were destroyed. Respawning…".into()),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests;
