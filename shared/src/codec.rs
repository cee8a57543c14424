//! Binary encoding of protocol messages. The only module that names bincode.
//!
//! Every decode is bounded: bincode's limit rejects a forged length prefix before allocating,
//! and a message must be consumed exactly (trailing bytes are an error). Field-level checks
//! (finite floats, ranges, text) live in [`crate::validate`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ids::PlayerId;
use crate::protocol::{
    Beam, ClientMsg, DeltaBase, EntityUpdate, GameEvent, MAX_CLIENT_MSG_BYTES,
    MAX_SERVER_MSG_BYTES, ServerMsg,
};

/// Why bytes did not decode into a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
}

fn config<const LIMIT: usize>() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Encoding into a Vec cannot fail for these types: every field is plainly serialisable.
    bincode::serde::encode_to_vec(message, bincode::config::standard())
        .expect("protocol messages always encode")
}

/// `head` encoded, followed by `body`, in one allocation.
fn encode_with_tail<T: Serialize>(head: &T, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(32 + body.len());
    bincode::serde::encode_into_std_write(head, &mut frame, bincode::config::standard())
        .expect("protocol messages always encode");
    frame.extend_from_slice(body);
    frame
}

fn decode<T: DeserializeOwned, const LIMIT: usize>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > LIMIT {
        return Err(DecodeError::TooLarge { len: bytes.len(), limit: LIMIT });
    }
    let (message, used) = bincode::serde::decode_from_slice(bytes, config::<LIMIT>())
        .map_err(|err| DecodeError::Malformed(err.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - used));
    }
    Ok(message)
}

pub fn encode_client(message: &ClientMsg) -> Vec<u8> {
    encode(message)
}

pub fn encode_server(message: &ServerMsg) -> Vec<u8> {
    encode(message)
}

/// The part of a `ServerMsg::Snapshot` frame after its header: the same for every member
/// whose delta lists the same players with the same changes (everyone in a room without
/// interest management, holding the same baseline), so it is encoded once per tick and shared.
pub fn encode_snapshot_body(
    pickups: u64,
    removed: &[PlayerId],
    updates: &[EntityUpdate],
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        pickups: u64,
        #[serde(with = "crate::protocol::packing::ids")]
        removed: &'a [PlayerId],
        #[serde(with = "crate::protocol::packing::updates")]
        updates: &'a [EntityUpdate],
    }
    encode(&Body { pickups, removed, updates })
}

/// A whole `ServerMsg::Snapshot` frame from a member's header and a shared body from
/// [`encode_snapshot_body`]: byte for byte what `encode_server` gives for the same delta.
pub fn encode_snapshot_frame(base: &DeltaBase, body: &[u8]) -> Vec<u8> {
    // Mirrors `ServerMsg` up to its `Snapshot` variant, whose first field is the header (a
    // test checks the bytes against `encode_server`).
    #[derive(Serialize)]
    enum Head<'a> {
        #[allow(dead_code)]
        Welcome(()),
        Snapshot(&'a DeltaBase),
    }
    encode_with_tail(&Head::Snapshot(base), body)
}

/// The room-wide part of an events frame (`ServerMsg::Events::events`), encoded once per send
/// tick and shared by every member.
pub fn encode_events_body(events: &[GameEvent]) -> Vec<u8> {
    encode(&events)
}

/// One event as it appears inside an events body, for bodies put together per member
/// ([`join_events_body`]).
pub fn encode_event(event: &GameEvent) -> Vec<u8> {
    encode(event)
}

/// The body [`encode_events_body`] gives for a list of events, from their encodings
/// ([`encode_event`]): `count` events already joined in `common` (shared by many members),
/// then `extra` ones. Byte for byte the same (tested); no event is encoded twice.
pub fn join_events_body(count: usize, common: &[u8], extra: &[&[u8]]) -> Vec<u8> {
    let total = (count + extra.len()) as u64;
    let length = encode(&total);
    let mut body = Vec::with_capacity(
        length.len() + common.len() + extra.iter().map(|bytes| bytes.len()).sum::<usize>(),
    );
    body.extend_from_slice(&length);
    body.extend_from_slice(common);
    for bytes in extra {
        body.extend_from_slice(bytes);
    }
    body
}

/// A whole `ServerMsg::Events` frame from a member's beams and a shared body from
/// [`encode_events_body`]: byte for byte what `encode_server` gives for the same message.
pub fn encode_events_frame(beams: &[Beam], body: &[u8]) -> Vec<u8> {
    // Mirrors `ServerMsg` up to its `Events` variant, whose first field is the beams (a test
    // checks the bytes against `encode_server`).
    #[derive(Serialize)]
    enum Head<'a> {
        #[allow(dead_code)]
        Welcome(()),
        #[allow(dead_code)]
        Snapshot(()),
        #[allow(dead_code)]
        Scoreboard(()),
        Events(#[serde(with = "crate::protocol::packing::beams")] &'a [Beam]),
    }
    encode_with_tail(&Head::Events(beams), body)
}

/// A replay's header or chunk (see [`crate::replay`]), before compression.
pub fn encode_replay<T: Serialize>(part: &T) -> Vec<u8> {
    encode(part)
}

/// [`encode_replay`] into `out` (cleared first, its allocation reused).
pub fn encode_replay_into<T: Serialize>(part: &T, out: &mut Vec<u8>) {
    out.clear();
    bincode::serde::encode_into_std_write(part, out, bincode::config::standard())
        .expect("replay parts always encode");
}

/// The largest decompressed replay chunk a reader accepts: 300 ticks of 1,000 players'
/// commands.
pub const MAX_REPLAY_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// Decodes a replay's header or decompressed chunk, bounded by [`MAX_REPLAY_CHUNK_BYTES`].
pub fn decode_replay<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode::<T, MAX_REPLAY_CHUNK_BYTES>(bytes)
}

/// Decodes a client message, bounded by [`MAX_CLIENT_MSG_BYTES`].
pub fn decode_client(bytes: &[u8]) -> Result<ClientMsg, DecodeError> {
    decode::<ClientMsg, MAX_CLIENT_MSG_BYTES>(bytes)
}

/// Decodes a server message, bounded by [`MAX_SERVER_MSG_BYTES`]. Snapshots take a
/// hand-written fast path ([`snapshot`]) that falls back here for anything it does not read
/// whole.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    if bytes.len() <= MAX_SERVER_MSG_BYTES
        && let Some(delta) = snapshot::read(bytes)
    {
        return Ok(ServerMsg::Snapshot(delta));
    }
    decode::<ServerMsg, MAX_SERVER_MSG_BYTES>(bytes)
}

/// The serde path alone (tests compare the fast one with it).
#[cfg(test)]
fn decode_server_slowly(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    decode::<ServerMsg, MAX_SERVER_MSG_BYTES>(bytes)
}

mod snapshot;

#[cfg(test)]
mod tests;
