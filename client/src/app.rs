//! The platform-free client: connection state, decoded snapshots, prediction, the HUD's state
//! ([`Hud`]) and the messages to send. Knows nothing of the DOM or the
//! socket, so all of it is tested natively; the wasm shell feeds it events and draws it.

use glam::Vec2;
use shared::clock::Clock;
use shared::codec::decode_server;
use shared::ids::PlayerId;
use shared::interp::DrawnPlayer;
use shared::map::Map;
use shared::netcode::{ClientCore, Fidelity};
use shared::protocol::{
    ClientMsg, GameEvent, InputCmd, MAX_CHAT_CHARS, PlayerSnap, ResumeToken, ServerMsg, Snapshot,
    Welcome, close,
};
use shared::validate::sanitize_chat;

pub use crate::hud::{Hud, ScoreRow};
use crate::killcam::KillCam;
pub use crate::scene::{Scene, Ship};
use crate::watch::Watch;

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
    /// Watch the room without a ship (no seat, no ticket).
    pub spectate: bool,
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

/// A step towards a connection, for the shell to take ([`App::connect_step`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connect {
    /// `POST /api/session`, then report with [`App::on_token`].
    FetchToken,
    /// Open the game socket: at `server` (a seat on another process of the cluster), or at the
    /// page's own `/ws`.
    Open { server: Option<String> },
}

/// Where the session token for the next connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// None asked for since the last connection.
    None,
    Pending,
    /// The cookie is set: the next step opens the socket.
    Ready,
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
    pub clock: Clock,
    /// Roster, chat, kill feed, beams, scoreboard: what the page shows around the ships.
    pub hud: Hud,
    resume: Option<ResumeToken>,
    /// Connection failures since the last `Welcome` (the backoff exponent).
    failed_attempts: u32,
    last_ping_ms: f64,
    /// Half the map area the screen shows now, and what the server was last told (and when).
    view: Option<(u16, u16)>,
    view_sent: Option<((u16, u16), f64)>,
    token: Token,
    /// The last three seconds as drawn, shown again following the killer when we die.
    killcam: KillCam,
    /// A spectator's camera, once the server welcomed us as one.
    watch: Option<Watch>,
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
            clock: Clock::default(),
            hud: Hud::default(),
            resume: None,
            failed_attempts: 0,
            last_ping_ms: f64::NEG_INFINITY,
            view: None,
            view_sent: None,
            token: Token::None,
            killcam: KillCam::default(),
            watch: None,
            outgoing: Vec::new(),
        }
    }

    /// The player asked to join `target` as `name`: the shell opens a socket next.
    pub fn join(&mut self, name: &str, target: Target) {
        self.rejoin = None;
        self.killcam.reset();
        self.watch = None;
        self.name = name.trim().to_string();
        self.target = target;
        self.notice = None;
        self.resume = None;
        self.net = None;
        self.failed_attempts = 0;
        self.conn = Conn::Connecting;
        self.hud.changed();
    }

    /// Back to the lobby (the shell closes the socket with 1000): the seat is given up.
    pub fn leave(&mut self) {
        self.conn = Conn::Idle;
        self.net = None;
        self.resume = None;
        self.watch = None;
        self.killcam.reset();
        self.hud.clear();
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

    /// What the shell should do towards a connection now (it calls this while it has no
    /// socket). Every connection starts with a fresh session token (they expire): first
    /// [`Connect::FetchToken`], then, once [`App::on_token`] said it is set, [`Connect::Open`].
    pub fn connect_step(&mut self, now_ms: f64) -> Option<Connect> {
        if !self.wants_socket(now_ms) {
            return None;
        }
        match self.token {
            Token::None => {
                self.token = Token::Pending;
                Some(Connect::FetchToken)
            }
            Token::Pending => None,
            Token::Ready => {
                self.token = Token::None;
                Some(Connect::Open { server: self.target.server.clone() })
            }
        }
    }

    /// The token request ended (`ok`: the cookie is set). A failure counts as a failed
    /// connection: the app backs off and asks again.
    pub fn on_token(&mut self, ok: bool, now_ms: f64, jitter: f64) {
        if self.token != Token::Pending {
            return;
        }
        if ok {
            self.token = Token::Ready;
        } else {
            self.token = Token::None;
            self.on_close(close::ABNORMAL, "cannot reach the server", now_ms, jitter);
        }
    }

    /// The socket opened: say `Hello` (resuming our player if we had one).
    pub fn on_open(&mut self) {
        self.conn = Conn::Connecting;
        let ticket = self.target.ticket.as_deref();
        self.outgoing.push(if self.target.spectate {
            shared::netcode::spectate_hello(&self.name, &self.target.room)
        } else {
            shared::netcode::hello(&self.name, &self.target.room, ticket, self.resume)
        });
        if let Some(watch) = &mut self.watch {
            watch.reconnected();
        }
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
                self.hud.on_beams(beams, now_ms);
                for event in events {
                    if let GameEvent::Killed { killer, victim } = event
                        && Some(victim) == self.me()
                    {
                        self.killcam.start(killer, self.name_of(killer), now_ms);
                    }
                    self.hud.on_event(event, now_ms);
                }
            }
            ServerMsg::Scoreboard(board) => self.hud.on_scoreboard(board),
            ServerMsg::Pong { client_time, server_tick } => {
                self.clock.on_pong(client_time, now_ms, server_tick)
            }
        }
        Ok(())
    }

    fn on_welcome(&mut self, welcome: Welcome) {
        // A new connection: fresh baselines, buffer and input numbering (the server resets too).
        self.net = Some(ClientCore::new(&welcome, Fidelity::Full));
        // A spectator has no seat to resume: it just watches again.
        self.resume = (!welcome.spectator).then_some(welcome.resume_token);
        if welcome.spectator {
            let size = welcome.map.size();
            self.watch.get_or_insert_with(|| Watch::new(size, welcome.spectators_chat)).chat =
                welcome.spectators_chat;
        } else {
            self.watch = None;
        }
        // The reservation is spent; a later reconnect resumes (or walks in) instead.
        self.target.ticket = None;
        self.conn = Conn::Joined;
        self.failed_attempts = 0;
        self.hud.welcomed(welcome.roster, welcome.resumed);
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

    /// The socket closed (or failed). Decides between reconnecting and stopping.
    /// `jitter` in 0..1 spreads the retry time.
    pub fn on_close(&mut self, code: u16, reason: &str, now_ms: f64, jitter: f64) {
        if matches!(self.conn, Conn::Idle | Conn::Closed { .. }) {
            return;
        }
        let attempt = self.failed_attempts;
        self.failed_attempts += 1;
        self.hud.changed();
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
        if !self.may_chat() {
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
        self.hud.frame(now_ms, frame_ms);
        if self.conn == Conn::Joined && self.watch.is_none() && self.killcam.wants(now_ms) {
            let ships = self.ships(now_ms);
            let beams = self.hud.beam_lines(
                |id| ships.iter().find(|ship| ship.id == id).map(|ship| ship.pos),
                now_ms,
            );
            self.killcam.record(now_ms, &ships, &beams);
        }
        if self.conn == Conn::Joined && self.watch.is_some() {
            self.update_watch(now_ms, frame_ms, sample());
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
        if self.watch.is_some() {
            return; // A spectator sends no commands.
        }
        // One command per server tick of local time, sampled now, in one message.
        let due = net.commands_due(now_ms);
        let commands: Vec<InputCmd> = (0..due).map(|_| sample()).collect();
        self.outgoing.extend(net.input_message(commands, now_ms));
    }

    /// A spectator's frame: the keys (or the move stick) pan the free camera; the server hears
    /// where the camera looks.
    fn update_watch(&mut self, now_ms: f64, frame_ms: f64, keys: InputCmd) {
        let ships = self.ships(now_ms);
        let Some(watch) = &mut self.watch else { return };
        let direction = Vec2::new(f32::from(keys.move_x), f32::from(keys.move_y)) / 127.0;
        watch.pan(direction.clamp_length_max(1.0), (frame_ms / 1000.0) as f32, &ships);
        let focus = watch.focus(&ships);
        if let Some(look) = watch.look(focus, now_ms) {
            self.outgoing.push(look);
        }
    }

    /// Whether we may write in the chat: in a room, as a player or as a spectator of a room
    /// that lets spectators chat.
    pub fn may_chat(&self) -> bool {
        self.conn == Conn::Joined && self.watch.as_ref().is_none_or(|watch| watch.chat)
    }

    /// Whether we watch without a ship.
    pub fn watching(&self) -> bool {
        self.watch.is_some() || (self.target.spectate && self.conn != Conn::Idle)
    }

    /// The player a spectator follows.
    pub fn followed(&self) -> Option<PlayerId> {
        self.watch.as_ref().and_then(Watch::followed)
    }

    /// A spectator follows `id` (`None`: the free camera).
    pub fn follow(&mut self, id: Option<PlayerId>, now_ms: f64) {
        let ships = self.ships(now_ms);
        if let Some(watch) = &mut self.watch {
            watch.follow(id, &ships);
            self.hud.changed();
        }
    }

    /// Tab, for a spectator: the next player, then the free camera.
    pub fn follow_next(&mut self, now_ms: f64) {
        let ships = self.ships(now_ms);
        if let Some(watch) = &mut self.watch {
            watch.follow_next(&ships);
            self.hud.changed();
        }
    }

    /// Messages for the shell to send, oldest first.
    pub fn take_outgoing(&mut self) -> Vec<ClientMsg> {
        std::mem::take(&mut self.outgoing)
    }

    pub fn name_of(&self, id: PlayerId) -> String {
        self.hud.name_of(id)
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
                let is_me = p.id == net.me || Some(p.id) == self.followed();
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

    /// What to draw at `now_ms`, once a server welcomed us.
    pub fn scene(&self, now_ms: f64) -> Option<Scene<'_>> {
        let map = self.map()?;
        let ships = self.ships(now_ms);
        let beams = self
            .hud
            .beam_lines(|id| ships.iter().find(|ship| ship.id == id).map(|ship| ship.pos), now_ms);
        let pickups = self.latest().map_or(0, |s| s.pickups);
        if let Some(replay) = self.killcam.frame(now_ms) {
            let focus = replay.focus.unwrap_or_else(|| self.camera(now_ms));
            return Some(Scene { map, ships: replay.ships, beams: replay.beams, pickups, focus });
        }
        Some(Scene { map, ships, beams, pickups, focus: self.camera(now_ms) })
    }

    /// Where the camera looks: our ship, or the map's middle.
    pub fn camera(&self, now_ms: f64) -> Vec2 {
        let Some(net) = &self.net else { return Vec2::ZERO };
        if let Some(watch) = &self.watch {
            return watch.focus(&self.ships(now_ms));
        }
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
        let me = if self.watch.is_some() { self.followed() } else { self.me() };
        self.hud.score_rows(me, self.latest())
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
                Some(me) if !me.alive => Some(match self.killcam.killer(now_ms) {
                    Some((_, name)) => {
                        format!("Destroyed by {name} · their last 3 s · respawning…")
                    }
                    None => "You were destroyed. Respawning…".into(),
                }),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests;
