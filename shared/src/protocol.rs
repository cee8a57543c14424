//! Every message that crosses the WebSocket, and the limits that bound them.
//!
//! One binary WebSocket message carries exactly one [`ClientMsg`] or [`ServerMsg`], encoded by
//! [`crate::codec`]. The first client message must be [`ClientMsg::Hello`]; the server answers with
//! [`ServerMsg::Welcome`] or closes the socket with one of the [`close`] codes and a reason.

pub mod packing;

use serde::{Deserialize, Serialize};

use crate::ids::PlayerId;
use crate::map::Map;
use crate::tick::Tick;

/// Bumped on every incompatible change to the messages below or to what they mean (12: a
/// snapshot may acknowledge commands the client has not sent, which the server stood in for).
pub const PROTOCOL_VERSION: u16 = 12;

/// Largest encoded client message the server accepts. A full `Input` with
/// [`MAX_INPUTS_PER_MSG`] commands is about 100 bytes and a chat line at most 4 × [`MAX_CHAT_CHARS`].
pub const MAX_CLIENT_MSG_BYTES: usize = 1024;
/// The cookie that carries the session token (`POST /api/session` sets it) to the WebSocket
/// handshake, which refuses a connection without a valid one.
pub const SESSION_COOKIE: &str = "skirmish_session";
/// Largest encoded server message a client accepts (a `Welcome` carries the map).
pub const MAX_SERVER_MSG_BYTES: usize = 256 * 1024;
/// Player names: 1 to this many characters after trimming.
pub const MAX_NAME_CHARS: usize = 16;
/// Chat lines: 1 to this many characters after sanitising.
pub const MAX_CHAT_CHARS: usize = 120;
/// Input commands per `Input` message: the newest plus redundant copies of unacknowledged ones.
pub const MAX_INPUTS_PER_MSG: usize = 8;
/// Room names: up to this many characters; empty means the default room.
pub const MAX_ROOM_CHARS: usize = 32;

/// WebSocket close codes the server uses, with the meaning a client should take from them.
pub mod close {
    /// The server is restarting or shutting down: reconnect shortly.
    pub const RESTART: u16 = 1012;
    /// Normal close (the client left).
    pub const NORMAL: u16 = 1000;
    /// The server is going away for good.
    pub const GOING_AWAY: u16 = 1001;
    /// A protocol violation: undecodable frame, wrong first message.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Data of a type the server does not accept (text frames).
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A policy violation: a rule of the game protocol was broken (bad name, time-out, flooding).
    pub const POLICY: u16 = 1008;
    /// A message larger than [`super::MAX_CLIENT_MSG_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// No close frame came: the connection was lost or never opened. Never sent; a client
    /// reports it to itself (browsers give it to `onclose`).
    pub const ABNORMAL: u16 = 1006;
    /// Try again later: the room or the server is full.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The client speaks another [`super::PROTOCOL_VERSION`] than the server: the server was
    /// updated and the page must be reloaded. An application code (4000–4999), so a page can
    /// tell it from other protocol errors without reading the reason; browsers only pass 1000
    /// and 3000–4999 to and from pages.
    pub const VERSION_MISMATCH: u16 = 4001;
    /// The resume token was refused (expired, or already used): join again as a new player.
    pub const RESUME_REFUSED: u16 = 4002;
    /// The seat reservation in `Hello` expired or was never made: ask the lobby for a seat
    /// again (quick play, or join by code).
    pub const RESERVATION_REFUSED: u16 = 4003;

    /// Whether a client should reconnect after seeing `code`.
    pub fn should_reconnect(code: u16) -> bool {
        !matches!(
            code,
            NORMAL
                | PROTOCOL_ERROR
                | UNSUPPORTED_DATA
                | POLICY
                | TOO_BIG
                | VERSION_MISMATCH
                | RESUME_REFUSED
                | RESERVATION_REFUSED
        )
    }
}

/// Client → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    Hello(Hello),
    Input(InputMsg),
    Chat {
        text: String,
    },
    Ping {
        client_time: f64,
    },
    /// How much of the map the client's screen shows now: half its width and height in world
    /// units (sent after `Hello` and when the window changes). The server sends the laser beams
    /// that cross it; until told, it assumes the largest view a client may show.
    View {
        half_width: u16,
        half_height: u16,
    },
    /// Where a spectator's camera looks (the centre of the players it is sent, and of the
    /// screen its beams must cross). Sent after `Welcome` and whenever the camera moved by more
    /// than a few units, at most five times a second. Players' own ship is their centre: the
    /// server ignores this from them.
    Look {
        at: MapPoint,
    },
}

/// The first message on every connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u16,
    pub name: String,
    /// The room's id or code (from the lobby); empty for the default room.
    pub room: String,
    /// The seat the lobby reserved (`POST /api/quick-play`, `/api/rooms`, `/api/rooms/CODE/join`),
    /// hex; without one the server seats the player only if the room has a free seat now.
    pub ticket: Option<String>,
    /// To take back a seat after an unclean disconnect: the token from the last `Welcome`.
    pub resume: Option<ResumeToken>,
    /// Watch the room without a ship: no seat, no ticket, no resume; a separate cap
    /// (`--max-spectators`); chat is read-only.
    pub spectate: bool,
}

/// A single-use secret that lets a reconnecting client take back its player (score, position)
/// within the grace period. Each `Welcome` carries a fresh one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResumeToken(pub [u8; 16]);

impl std::fmt::Debug for ResumeToken {
    /// Never prints the secret (tokens must not reach logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeToken(..)")
    }
}

/// The newest input command plus the last few the server has not acknowledged yet, oldest
/// first, so that one late or lost message never leaves a gap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InputMsg {
    /// The newest snapshot tick the client has received.
    pub ack_tick: Tick,
    pub inputs: Vec<InputCmd>,
}

/// What a player does during one simulation tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InputCmd {
    /// Increases by one per command; the server applies each sequence number once, in order.
    pub seq: u32,
    /// Movement direction, each axis in -127..=127 (screen axes: +y is down). The vector's length
    /// is clamped to 1 by the simulation.
    pub move_x: i8,
    pub move_y: i8,
    /// Aim direction (any length, (0, 0) keeps the previous aim).
    pub aim_x: i16,
    pub aim_y: i16,
    /// Bit set of [`buttons`].
    pub buttons: u8,
    /// The server tick the client was drawing remote players at when it sampled this command
    /// (its interpolation time). The server resolves this command's shots against the world as
    /// it was then (lag compensation), rewinding at most [`crate::sim::MAX_REWIND_SECS`].
    pub view_tick: Tick,
}

impl InputCmd {
    /// A command steering along `movement` (length clamped to 1), aiming along `aim` (any
    /// length; zero keeps the previous aim), firing or not; `seq` and `view_tick` are left for
    /// the netcode to set. What the browser's keys, mouse and sticks and the bots' brains say.
    pub fn steer(movement: glam::Vec2, aim: glam::Vec2, fire: bool) -> InputCmd {
        let movement = movement.clamp_length_max(1.0) * 127.0;
        let aim = aim.normalize_or_zero() * 1000.0;
        InputCmd {
            move_x: movement.x.round() as i8,
            move_y: movement.y.round() as i8,
            aim_x: aim.x.round() as i16,
            aim_y: aim.y.round() as i16,
            buttons: if fire { buttons::FIRE } else { 0 },
            ..InputCmd::default()
        }
    }
}

/// Bits of [`InputCmd::buttons`].
pub mod buttons {
    pub const FIRE: u8 = 1;
    /// Every bit the protocol defines; others are cleared on receipt.
    pub const ALL: u8 = FIRE;
}

/// Server → client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    Welcome(Box<Welcome>),
    /// The world as this client sees it, delta-encoded: decode with [`crate::delta::Decoder`].
    Snapshot(SnapshotDelta),
    /// The best scores in the room and the receiver's rank, about once a second.
    Scoreboard(Scoreboard),
    /// Reliable, ordered game events since the previous send tick (never dropped for slow
    /// clients, unlike snapshots): the laser beams this client can see, packed (see
    /// [`crate::protocol::packing::beams`]), and the room-wide events (never a `GameEvent::Shot`: shots
    /// travel as beams).
    Events {
        #[serde(with = "crate::protocol::packing::beams")]
        beams: Vec<Beam>,
        events: Vec<GameEvent>,
    },
    Pong {
        client_time: f64,
        server_tick: Tick,
    },
}

/// The server's answer to a valid `Hello`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub player_id: PlayerId,
    pub tick_hz: u16,
    /// Snapshots per second.
    pub send_hz: u16,
    pub server_tick: Tick,
    /// The map the room plays on, as the server loaded it from `assets/maps/`.
    pub map: Map,
    /// Everyone in the room, including the new player.
    pub roster: Vec<RosterEntry>,
    /// Present this in the next `Hello` to resume after an unclean disconnect.
    pub resume_token: ResumeToken,
    /// How long the seat is kept after an unclean disconnect.
    pub resume_grace_secs: u16,
    /// Whether this connection took back an existing player.
    pub resumed: bool,
    /// A spectator: `player_id` names this connection, not a ship (it is in no snapshot and
    /// no roster), and `resume_token` is never honoured (a spectator just connects again).
    pub spectator: bool,
    /// Whether this room lets spectators chat (their lines reach everyone as
    /// [`GameEvent::WatcherChat`]); otherwise the chat is read-only for them.
    pub spectators_chat: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub id: PlayerId,
    pub name: String,
}

/// The room's state at one tick as one client sees it (the players in its view), after
/// decoding. Never sent as is: the wire carries a [`SnapshotDelta`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub tick: Tick,
    /// The highest input sequence number of the receiving player the server has applied.
    pub ack_input: u32,
    /// Sorted by id.
    pub players: Vec<PlayerSnap>,
    /// Bit `i` is set when pickup `i` of the map is available.
    pub pickups: u64,
}

/// A [`Snapshot`] encoded against a baseline snapshot the client is known to hold. Players whose
/// state matches the baseline moved forward by its velocity (dead reckoning) are left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDelta {
    pub base: DeltaBase,
    pub pickups: u64,
    /// Players in the baseline that are no longer in view, by id (packed as id gaps).
    #[serde(with = "crate::protocol::packing::ids")]
    pub removed: Vec<PlayerId>,
    /// Players new in view (all fields) or changed (changed fields only), by id (packed, see
    /// [`crate::protocol::packing`]).
    #[serde(with = "crate::protocol::packing::updates")]
    pub updates: Vec<EntityUpdate>,
}

/// What a [`SnapshotDelta`] is relative to. A delta names its tick and acknowledgement relative
/// to its baseline, a byte or two where absolute values would take five each in a long-lived
/// room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeltaBase {
    /// Relative to nothing: every player is sent in full.
    Keyframe { tick: Tick, ack_input: u32 },
    /// Relative to the held snapshot whose tick ends in the byte `baseline_low` (the receiver
    /// holds at most [`crate::delta::HISTORY`] recent snapshots, so this names one exactly);
    /// this snapshot is `age` ticks newer and acknowledges `ack_advance` more inputs.
    Delta { baseline_low: u8, age: u32, ack_advance: u32 },
}

impl Default for DeltaBase {
    fn default() -> DeltaBase {
        DeltaBase::Keyframe { tick: Tick(0), ack_input: 0 }
    }
}

/// A position correction along the velocities: the ship kept its baseline velocity for
/// `turned` of the ticks since the baseline (then the new one), and moved `steps` ticks' worth
/// of its new velocity more (fewer, when negative) than the ticks passed — a tick without a
/// command stands still, a late command catches up. On the wire one byte: `turned` in the low
/// four bits, `steps` zig-zagged in the high four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reckon {
    /// `0..=15`.
    pub turned: u8,
    /// `-8..=7`.
    pub steps: i8,
}

impl Reckon {
    pub const MAX_TURNED: u8 = 15;
    pub const STEPS: std::ops::RangeInclusive<i8> = -8..=7;

    pub fn to_byte(self) -> u8 {
        let zigzag = ((self.steps << 1) ^ (self.steps >> 7)) as u8;
        (self.turned & 0x0f) | (zigzag & 0x0f) << 4
    }

    pub fn from_byte(byte: u8) -> Reckon {
        let zigzag = byte >> 4;
        Reckon { turned: byte & 0x0f, steps: (zigzag >> 1) as i8 ^ -((zigzag & 1) as i8) }
    }

    /// The correction this makes to a position reckoned at `velocity` from a baseline that
    /// moved at `before`.
    pub fn offset(self, before: (i32, i32), velocity: (i32, i32)) -> (i32, i32) {
        let (turned, steps) = (i32::from(self.turned), i32::from(self.steps));
        let along = |b: i32, v: i32| {
            b.wrapping_sub(v).wrapping_mul(turned).wrapping_add(v.wrapping_mul(steps))
        };
        (along(before.0, velocity.0), along(before.1, velocity.1))
    }
}

/// The changed fields of one [`PlayerSnap`] relative to the baseline (`None`: unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntityUpdate {
    pub id: PlayerId,
    /// Position minus the dead-reckoned one (baseline position + the new velocity × ticks).
    pub pos: Option<(i32, i32)>,
    /// Instead of `pos`, a correction the receiver works out from the velocities it knows:
    /// the commonest ones (a turn between two sent ticks, a tick without a command) take one
    /// byte instead of two coordinates (see [`crate::delta`]).
    pub reckon: Option<Reckon>,
    /// The new velocity (whole, not its change: see [`crate::delta`]).
    pub vel: Option<(i32, i32)>,
    pub aim: Option<u8>,
    pub health: Option<u8>,
    pub alive: Option<bool>,
    pub score: Option<i32>,
    pub deaths: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// The best players, best first.
    pub top: Vec<ScoreEntry>,
    /// The receiver's own line and 1-based rank.
    pub you: ScoreEntry,
    pub your_rank: u32,
    /// Players in the room.
    pub players: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreEntry {
    pub id: PlayerId,
    pub score: i32,
    pub deaths: u32,
}

/// Positions are quantized to 1/[`POS_SCALE`] of a world unit.
pub const POS_SCALE: f32 = 16.0;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerSnap {
    pub id: PlayerId,
    /// Position × [`POS_SCALE`].
    pub x: i32,
    pub y: i32,
    /// Velocity in position units (× [`POS_SCALE`]) per tick.
    pub vx: i32,
    pub vy: i32,
    /// Aim angle, a full turn mapped onto 0..=255 (render-only, so 1.4° steps are plenty, and
    /// aim jitter under a step costs no update).
    pub aim: u8,
    pub health: u8,
    pub alive: bool,
    pub score: i32,
    pub deaths: u32,
}

/// Things that happened, delivered reliably and in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GameEvent {
    Joined {
        id: PlayerId,
        name: String,
    },
    Left {
        id: PlayerId,
    },
    Chat {
        from: PlayerId,
        text: String,
    },
    /// A laser shot from `from` to `to`; `hit` is the player struck. The simulation's record;
    /// on the wire a shot is a [`Beam`].
    Shot {
        shooter: PlayerId,
        from: MapPoint,
        to: MapPoint,
        hit: Option<PlayerId>,
    },
    Killed {
        killer: PlayerId,
        victim: PlayerId,
    },
    /// The simulation's record; not sent (snapshots show the ship alive again).
    Respawned {
        id: PlayerId,
    },
    /// The simulation's record; not sent (snapshots carry the pickup bits and health).
    PickedUp {
        id: PlayerId,
        pickup: u8,
    },
    /// A spectator's chat line, in a room that lets spectators chat (they have no id anyone
    /// knows, so the line carries their name).
    WatcherChat {
        name: String,
        text: String,
    },
}

/// A laser beam to draw: `shooter` fired along `ray`, which ends where the beam did (a wall,
/// the range, or the ship it hit). `from` is omitted when the shooter is in the receiver's
/// view: the beam is then drawn from the ship as the receiver shows it, along the same ray.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beam {
    pub shooter: PlayerId,
    pub from: Option<MapPoint>,
    pub ray: Ray,
}

/// A beam's direction and length from its start: the angle in [`Ray::TURN`]ths of a full turn
/// (under half a unit at the laser's range) and the length in [`Ray::STEP`]-unit steps. On
/// the wire the angle shares two bytes with the beam's flags and the length takes one more,
/// none when the beam ran its full range ([`Ray::FULL`]): where an end point takes four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ray {
    /// `0..Ray::TURN`.
    pub angle: u16,
    pub steps: u8,
}

impl Ray {
    /// Angle steps in a full turn.
    pub const TURN: u16 = 1 << 14;
    /// Units per length step: a beam's end is drawn within about two units of where it ended.
    pub const STEP: f32 = 4.0;
    /// The length of a beam that hit nothing: the laser's range (`sim::LASER_RANGE`, tested).
    pub const FULL: u8 = 250;

    /// The ray from `from` to `to`.
    pub fn between(from: MapPoint, to: MapPoint) -> Ray {
        let d = to.to_world() - from.to_world();
        let turns = (d.y.atan2(d.x) / std::f32::consts::TAU).rem_euclid(1.0);
        let angle = ((turns * f32::from(Ray::TURN)).round() as u32 % u32::from(Ray::TURN)) as u16;
        let steps = (d.length() / Ray::STEP).round().min(f32::from(u8::MAX)) as u8;
        Ray { angle, steps }
    }

    /// Where a beam along this ray starting at `start` ends.
    pub fn end(self, start: glam::Vec2) -> glam::Vec2 {
        let radians = f32::from(self.angle) / f32::from(Ray::TURN) * std::f32::consts::TAU;
        let length = f32::from(self.steps) * Ray::STEP;
        start + glam::Vec2::new(radians.cos(), radians.sin()) * length
    }
}

/// A point of the map to the nearest whole unit, for effects (beams), which need no finer
/// precision: two fixed 16-bit coordinates, 4 bytes where two quantized positions take ~10.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapPoint {
    pub x: u16,
    pub y: u16,
}

impl MapPoint {
    pub fn from_world(pos: glam::Vec2) -> MapPoint {
        let coordinate = |v: f32| v.round().clamp(0.0, f32::from(u16::MAX)) as u16;
        MapPoint { x: coordinate(pos.x), y: coordinate(pos.y) }
    }

    pub fn to_world(self) -> glam::Vec2 {
        glam::Vec2::new(f32::from(self.x), f32::from(self.y))
    }
}

impl Serialize for MapPoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let [x0, x1] = self.x.to_le_bytes();
        let [y0, y1] = self.y.to_le_bytes();
        [x0, x1, y0, y1].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MapPoint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [x0, x1, y0, y1] = <[u8; 4]>::deserialize(deserializer)?;
        Ok(MapPoint { x: u16::from_le_bytes([x0, x1]), y: u16::from_le_bytes([y0, y1]) })
    }
}

/// Encodes a world position for the wire.
pub fn quantize_pos(value: f32) -> i32 {
    (value * POS_SCALE).round() as i32
}

/// Decodes a wire position.
pub fn dequantize_pos(value: i32) -> f32 {
    value as f32 / POS_SCALE
}

/// Encodes a direction as an angle (render-only: the simulation never uses angles).
pub fn quantize_angle(dir: glam::Vec2) -> u8 {
    let turns = dir.y.atan2(dir.x) / std::f32::consts::TAU;
    (turns.rem_euclid(1.0) * 256.0).round() as u32 as u8
}

/// The unit vector an encoded angle stands for.
pub fn dequantize_angle(angle: u8) -> glam::Vec2 {
    let radians = f32::from(angle) / 256.0 * std::f32::consts::TAU;
    glam::Vec2::new(radians.cos(), radians.sin())
}
