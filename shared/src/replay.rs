//! Replays: a room's match as what its simulation was given, not what it sent. Because
//! [`crate::sim::step`] is deterministic to the bit (native and wasm32 alike), the map, the tick
//! rate and, per tick, the joins, leaves and input commands reproduce every tick of the match;
//! a snapshot stream would be hundreds of times larger.
//!
//! # File format (version [`FORMAT_VERSION`])
//! - `SKRP` (4 bytes), the format version (u16 little-endian), the header's length (u32 LE)
//!   and the [`Header`] (bincode through `crate::codec`): protocol and server version, map, tick
//!   rate, first tick, start time, title.
//! - Then chunks, each `raw length (u32 LE)`, `compressed length (u32 LE)` and an LZ4 block of
//!   the bincode of a [`Chunk`]: its first tick, one [`TickRecord`] per tick ([`CHUNK_TICKS`]
//!   per chunk, the last one shorter) and the live world's [`fingerprint`] after its last tick,
//!   which playback checks its own world against.
//!
//! A recorder ([`Recorder`]) appends chunks as a match goes, so a file cut short by a crash
//! still plays up to its last whole chunk. Reading ([`Replay::parse`]) checks every length
//! against [`MAX_HEADER_BYTES`] / [`MAX_CHUNK_BYTES`] before it allocates, so a truncated,
//! corrupted or hostile file gives a [`ReplayError`] and never a panic or an unbounded
//! allocation.
//!
//! # Playing
//! [`Playback`] runs the records through a fresh [`World`], keeping a copy of the world every
//! [`KEYFRAME_TICKS`] ticks as it goes: seeking backwards restarts from the nearest copy
//! instead of from the first tick. Keyframes are made by the player, not stored in the file,
//! so the file stays a list of inputs (why: a world copy of 1,000 players is ~100 KB; the
//! inputs of a minute are a few KB per player).

use serde::{Deserialize, Serialize};

use crate::codec::{decode_replay, encode_replay, encode_replay_into};
use crate::ids::PlayerId;
use crate::map::Map;
use crate::protocol::{GameEvent, InputCmd};
use crate::sim::{self, TickInputs, World};
use crate::tick::Tick;

/// The first bytes of every replay file.
pub const MAGIC: [u8; 4] = *b"SKRP";
/// Bumped whenever the layout or a record's fields change; older files are refused with
/// [`ReplayError::Version`].
pub const FORMAT_VERSION: u16 = 1;
/// Ticks per chunk: ten seconds at 30 Hz.
pub const CHUNK_TICKS: usize = 300;
/// The largest header a reader accepts (a map with many walls is a few KB).
pub const MAX_HEADER_BYTES: usize = 256 * 1024;
/// The largest decompressed chunk a reader accepts: 300 ticks of 1,000 players' commands.
pub const MAX_CHUNK_BYTES: usize = crate::codec::MAX_REPLAY_CHUNK_BYTES;
/// The most seat changes or commands one tick may carry (a room seats at most a few hundred):
/// a hostile file cannot make a player simulate a crowd.
pub const MAX_PER_TICK: usize = 4096;
/// How often [`Playback`] keeps a copy of the world for seeking.
pub const KEYFRAME_TICKS: u32 = 150;

/// Whether `id` is shaped like a replay's id as the server names them (letters, digits and
/// `-`, at most 80): the server and the page refuse anything else before looking further.
pub fn is_replay_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// What a replay says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub protocol_version: u16,
    pub server_version: String,
    /// The room's title as the lobby showed it.
    pub title: String,
    pub map: Map,
    pub tick_hz: u16,
    /// The world's tick before the first record (a room that ran a while before recording).
    pub first_tick: Tick,
    /// Unix seconds when recording began.
    pub started_at: i64,
}

/// A change of the room's players, in the order the room made them before stepping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    Joined { id: PlayerId, name: String },
    Left { id: PlayerId },
}

/// One tick: the seat changes, then the commands `sim::step` applied (their `seq` may be
/// cleared: the step never reads it, and a constant compresses away).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickRecord {
    pub changes: Vec<Change>,
    pub inputs: Vec<(PlayerId, InputCmd)>,
}

/// [`CHUNK_TICKS`] records (fewer in the last chunk) from `first_tick + 1` on, and the live
/// world's [`fingerprint`] after the last of them: a player checks its own world against it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub first_tick: Tick,
    pub ticks: Vec<TickRecord>,
    pub fingerprint: u64,
}

/// A stable 64-bit digest of everything `sim::step` carries from tick to tick that a screen
/// shows (tick, players' positions, velocities, aims, health, scores, respawns, pickups),
/// FNV-1a over their exact bits: equal worlds give equal digests on every platform.
pub fn fingerprint(world: &World) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut mix = |word: u64| {
        for byte in word.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    mix(u64::from(world.tick.0));
    for player in world.players.values() {
        mix(u64::from(player.id.0));
        for value in [player.pos, player.vel, player.aim] {
            mix(u64::from(value.x.to_bits()) << 32 | u64::from(value.y.to_bits()));
        }
        mix(u64::from(player.health));
        mix(u64::from(player.score as u32) << 32 | u64::from(player.deaths));
        mix(player.respawn_at.map_or(u64::MAX, |tick| u64::from(tick.0)));
    }
    for pickup in &world.pickups {
        mix(pickup.map_or(u64::MAX, |tick| u64::from(tick.0)));
    }
    hash
}

/// Why bytes are not a replay this build can play.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    #[error("not a Skirmish replay")]
    NotAReplay,
    #[error("replay format {found} is not supported (this build reads {FORMAT_VERSION})")]
    Version { found: u16 },
    #[error("replay cut short: {0}")]
    Truncated(&'static str),
    #[error("replay part of {len} bytes exceeds the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("corrupted replay: {0}")]
    Corrupted(String),
}

/// The start of a replay file: magic, version and header.
pub fn encode_header(header: &Header) -> Vec<u8> {
    let body = encode_replay(header);
    let mut bytes = Vec::with_capacity(10 + body.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&len_u32(body.len()).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

/// One chunk as it goes in the file after the header.
pub fn encode_chunk(chunk: &Chunk) -> Vec<u8> {
    encode_chunk_with(chunk, &mut ChunkBuffers::default()).to_vec()
}

/// The buffers [`encode_chunk_with`] encodes and compresses into. A recorder's writer keeps
/// one: a chunk of a busy room is megabytes, and fresh buffers each time would be fresh pages
/// for the kernel to map and zero every ten seconds.
#[derive(Debug, Default)]
pub struct ChunkBuffers {
    raw: Vec<u8>,
    packed: Vec<u8>,
}

/// [`encode_chunk`] in `buffers`: the bytes to write, borrowed from them.
pub fn encode_chunk_with<'a>(chunk: &Chunk, buffers: &'a mut ChunkBuffers) -> &'a [u8] {
    let ChunkBuffers { raw, packed } = buffers;
    encode_replay_into(chunk, raw);
    // Grows (zeroing only what is new) at most to the largest chunk seen.
    let bound = 8 + lz4_flex::block::get_maximum_output_size(raw.len());
    if packed.len() < bound {
        packed.resize(bound, 0);
    }
    let size = lz4_flex::block::compress_into(raw, &mut packed[8..])
        .expect("the output holds LZ4's bound");
    packed[..4].copy_from_slice(&len_u32(raw.len()).to_le_bytes());
    packed[4..8].copy_from_slice(&len_u32(size).to_le_bytes());
    &packed[..8 + size]
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("replay parts are far below 4 GiB")
}

/// Collects a room's ticks and hands back a chunk's bytes every [`CHUNK_TICKS`] ticks.
#[derive(Debug)]
pub struct Recorder {
    chunk: Chunk,
}

impl Recorder {
    /// Records from the tick after `last_tick` (the world's tick when recording begins).
    pub fn new(last_tick: Tick) -> Recorder {
        let first_tick = Tick(last_tick.0 + 1);
        Recorder { chunk: Chunk { first_tick, ticks: Vec::new(), fingerprint: 0 } }
    }

    /// Adds one tick, after which the live world is `world`; returns the chunk when it is full
    /// (the world's fingerprint is taken then, once a chunk). Encode it with [`encode_chunk`],
    /// off the tick if it matters.
    pub fn push(&mut self, record: TickRecord, world: &World) -> Option<Chunk> {
        self.chunk.ticks.push(record);
        (self.chunk.ticks.len() >= CHUNK_TICKS).then(|| self.flush(world)).flatten()
    }

    /// The ticks not yet in a chunk, as a (short) chunk ending at `world`; `None` when there
    /// are none.
    pub fn flush(&mut self, world: &World) -> Option<Chunk> {
        if self.chunk.ticks.is_empty() {
            return None;
        }
        let next = Tick(self.chunk.first_tick.0 + len_u32(self.chunk.ticks.len()));
        self.chunk.fingerprint = fingerprint(world);
        let fresh = Chunk { first_tick: next, ticks: Vec::new(), fingerprint: 0 };
        Some(std::mem::replace(&mut self.chunk, fresh))
    }
}

/// A parsed replay: its header and every tick, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    pub header: Header,
    pub ticks: Vec<TickRecord>,
    /// `(ticks played, fingerprint of the live world then)` at the end of every chunk.
    pub checkpoints: Vec<(usize, u64)>,
}

impl Replay {
    /// Reads a whole file. A file whose last chunk was cut short (the server stopped while
    /// writing) is an error, so that a damaged replay is never shown as complete.
    pub fn parse(bytes: &[u8]) -> Result<Replay, ReplayError> {
        let mut reader = Reader { bytes, at: 0 };
        let header = reader.header()?;
        let mut ticks = Vec::new();
        let mut checkpoints = Vec::new();
        let mut expected = Tick(header.first_tick.0.checked_add(1).ok_or_else(ticks_overflow)?);
        while !reader.done() {
            let raw = reader.length(MAX_CHUNK_BYTES, "chunk length")?;
            let packed = reader.length(lz4_flex::block::get_maximum_output_size(raw), "chunk")?;
            let unpacked = lz4_flex::block::decompress(reader.take(packed, "chunk")?, raw)
                .map_err(|err| ReplayError::Corrupted(format!("chunk: {err}")))?;
            let chunk: Chunk = decode_replay(&unpacked)
                .map_err(|err| ReplayError::Corrupted(format!("chunk: {err}")))?;
            if chunk.first_tick != expected {
                return Err(ReplayError::Corrupted(format!(
                    "chunk starts at tick {} instead of {}",
                    chunk.first_tick.0, expected.0
                )));
            }
            let crowded = chunk
                .ticks
                .iter()
                .any(|tick| tick.changes.len() > MAX_PER_TICK || tick.inputs.len() > MAX_PER_TICK);
            if crowded {
                return Err(ReplayError::Corrupted(format!(
                    "a tick with more than {MAX_PER_TICK} changes or commands"
                )));
            }
            let next = expected.0.checked_add(len_u32(chunk.ticks.len()));
            expected = Tick(next.filter(|tick| *tick <= MAX_TICK).ok_or_else(ticks_overflow)?);
            ticks.extend(chunk.ticks);
            checkpoints.push((ticks.len(), chunk.fingerprint));
        }
        Ok(Replay { header, ticks, checkpoints })
    }
}

/// A cursor over a file's bytes that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// The last tick a replay may reach: far beyond any match (a year at 120 Hz is 3.8 billion
/// ticks), and the simulation can still count on from it.
const MAX_TICK: u32 = u32::MAX / 2;
fn ticks_overflow() -> ReplayError {
    ReplayError::Corrupted(format!("tick numbers past {MAX_TICK}"))
}

/// Reads only a file's header: enough to list a replay (give it the file's first
/// [`MAX_HEADER_BYTES`] + 10 bytes, or all of it).
pub fn parse_header(bytes: &[u8]) -> Result<Header, ReplayError> {
    Reader { bytes, at: 0 }.header()
}

impl<'a> Reader<'a> {
    /// Magic, version and header.
    fn header(&mut self) -> Result<Header, ReplayError> {
        if self.take(4, "magic")? != MAGIC {
            return Err(ReplayError::NotAReplay);
        }
        let version = u16::from_le_bytes(self.array::<2>("version")?);
        if version != FORMAT_VERSION {
            return Err(ReplayError::Version { found: version });
        }
        let len = self.length(MAX_HEADER_BYTES, "header length")?;
        let header: Header = decode_replay(self.take(len, "header")?)
            .map_err(|err| ReplayError::Corrupted(format!("header: {err}")))?;
        // What a server would refuse to run, a player refuses to play.
        header.map.check().map_err(|err| ReplayError::Corrupted(format!("map: {err}")))?;
        if !(10..=120).contains(&header.tick_hz) || header.first_tick.0 > MAX_TICK {
            return Err(ReplayError::Corrupted("tick rate or first tick out of range".into()));
        }
        Ok(header)
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], ReplayError> {
        let end = self.at.checked_add(len).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(ReplayError::Truncated(what))?;
        let part = &self.bytes[self.at..end];
        self.at = end;
        Ok(part)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReplayError> {
        let part = self.take(N, what)?;
        Ok(part.try_into().expect("take returns N bytes"))
    }

    /// A u32 length, refused above `limit` before anything is allocated for it.
    fn length(&mut self, limit: usize, what: &'static str) -> Result<usize, ReplayError> {
        let len = u32::from_le_bytes(self.array::<4>(what)?) as usize;
        if len > limit {
            return Err(ReplayError::TooLarge { len, limit });
        }
        Ok(len)
    }
}

/// The replayed world is not the recorded one: the replay came from other rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the replay diverges from the recorded match at tick {}: this build simulates differently", tick.0)]
pub struct Diverged {
    pub tick: Tick,
    pub expected: u64,
    pub found: u64,
}

/// Applies one record to `world` the way the room did: seat changes, then the step; returns
/// what the step reported (shots, kills, respawns), as the room saw it.
pub fn apply(world: &mut World, record: &TickRecord, inputs: &mut TickInputs) -> Vec<GameEvent> {
    for change in &record.changes {
        match change {
            Change::Joined { id, .. } => {
                world.add_player(*id);
            }
            Change::Left { id } => {
                world.remove_player(*id);
            }
        }
    }
    inputs.clear();
    for (id, cmd) in &record.inputs {
        inputs.insert(*id, *cmd);
    }
    sim::step(world, inputs)
}

/// A replay being watched: the world at the current tick, with keyframes for seeking.
#[derive(Debug)]
pub struct Playback {
    replay: Replay,
    world: World,
    /// How many records have been applied.
    applied: usize,
    /// `(records applied, world)`, every [`KEYFRAME_TICKS`], in order.
    keyframes: Vec<(usize, World)>,
    inputs: TickInputs,
    /// What the last tick played reported (empty after a seek).
    events: Vec<GameEvent>,
}

impl Playback {
    pub fn new(replay: Replay) -> Playback {
        let mut world = World::new(replay.header.map.clone(), replay.header.tick_hz);
        world.tick = replay.header.first_tick;
        let keyframes = vec![(0, world.clone())];
        Playback {
            replay,
            world,
            applied: 0,
            keyframes,
            inputs: TickInputs::new(),
            events: Vec::new(),
        }
    }

    pub fn header(&self) -> &Header {
        &self.replay.header
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// What the last tick played reported: shots, kills, respawns (empty after a seek).
    pub fn events(&self) -> &[GameEvent] {
        &self.events
    }

    /// The record of tick `index` (0-based from the first recorded tick).
    pub fn record(&self, index: usize) -> Option<&TickRecord> {
        self.replay.ticks.get(index)
    }

    /// Ticks in the replay.
    pub fn len(&self) -> usize {
        self.replay.ticks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.replay.ticks.is_empty()
    }

    /// Ticks played so far (0 at the start, [`Self::len`] at the end).
    pub fn position(&self) -> usize {
        self.applied
    }

    /// The names of the players who joined up to the current tick, latest name per id.
    pub fn names(&self) -> impl Iterator<Item = (PlayerId, &str)> {
        self.replay.ticks[..self.applied].iter().flat_map(|record| &record.changes).filter_map(
            |change| match change {
                Change::Joined { id, name } => Some((*id, name.as_str())),
                Change::Left { .. } => None,
            },
        )
    }

    /// Plays one tick; `Ok(false)` at the end. At the end of each chunk the world is checked
    /// against the live one's fingerprint: a replay recorded by another simulation (another
    /// server version's rules) is caught there instead of showing a different match.
    pub fn step(&mut self) -> Result<bool, Diverged> {
        let Some(record) = self.replay.ticks.get(self.applied) else { return Ok(false) };
        self.events = apply(&mut self.world, record, &mut self.inputs);
        self.applied += 1;
        let checkpoint = self.replay.checkpoints.iter().find(|(at, _)| *at == self.applied);
        if let Some((_, expected)) = checkpoint {
            let found = fingerprint(&self.world);
            if found != *expected {
                return Err(Diverged { tick: self.world.tick, expected: *expected, found });
            }
        }
        let keyframe_due = self.applied.is_multiple_of(KEYFRAME_TICKS as usize);
        if keyframe_due && self.keyframes.last().is_some_and(|(at, _)| *at < self.applied) {
            self.keyframes.push((self.applied, self.world.clone()));
        }
        Ok(true)
    }

    /// Moves to `position` ticks into the replay (clamped to its length): forwards by playing,
    /// backwards from the nearest keyframe before it.
    pub fn seek(&mut self, position: usize) -> Result<(), Diverged> {
        let position = position.min(self.len());
        if position < self.applied {
            let (at, world) = self
                .keyframes
                .iter()
                .rev()
                .find(|(at, _)| *at <= position)
                .expect("the start is always a keyframe");
            self.applied = *at;
            self.world = world.clone();
        }
        while self.applied < position {
            self.step()?;
        }
        self.events.clear();
        Ok(())
    }
}

pub mod script;

#[cfg(test)]
mod tests;
