//! A hand-written reader for the commonest server message, `ServerMsg::Snapshot`: every client
//! (the page, every bot) decodes 20–30 of them a second, each listing up to hundreds of
//! players, and serde's generic path (a tuple access and a `Result` per field) was half the
//! bots' CPU at 800 players seen by everyone.
//!
//! It reads bincode's standard encoding as `protocol::packing` lays it out (varints: one byte
//! below 251, else a marker and 2, 4 or 8 little-endian bytes; signed ones zig-zagged) and is
//! stricter than the serde path: anything it does not accept whole (a non-canonical varint, a
//! short or long message, a bad mask or id order) returns `None`, and the caller decodes the
//! bytes the ordinary way, which accepts them or says why not. So a frame it reads is always
//! one the serde path reads to the same value (tested on random deltas and on damaged bytes).

use crate::ids::PlayerId;
use crate::protocol::packing::{
    AIM, ALIVE, ALIVE_VALUE, DEATHS, HEAD_GAP, HEALTH, POS, RECKON, SCORE, VEL, mask_of_head,
    next_id,
};
use crate::protocol::{DeltaBase, EntityUpdate, Reckon, SnapshotDelta};
use crate::tick::Tick;

/// `ServerMsg::Snapshot`'s variant index.
const SNAPSHOT: u32 = 1;

/// The snapshot in `bytes`, or `None` when they are not one this reader takes whole.
pub(super) fn read(bytes: &[u8]) -> Option<SnapshotDelta> {
    let mut r = Reader { bytes };
    if r.u32()? != SNAPSHOT {
        return None;
    }
    let base = match r.u32()? {
        0 => DeltaBase::Keyframe { tick: Tick(r.u32()?), ack_input: r.u32()? },
        1 => DeltaBase::Delta { baseline_low: r.byte()?, age: r.u32()?, ack_advance: r.u32()? },
        _ => return None,
    };
    let pickups = r.u64()?;
    // Each removal takes a byte at least, each update two: no claimed length outgrows the bytes.
    let count = r.len(1)?;
    let mut removed = Vec::with_capacity(count);
    for _ in 0..count {
        let id = next_id(removed.last().copied(), r.u32()?)?;
        removed.push(id);
    }
    let count = r.len(1)?;
    let mut updates: Vec<EntityUpdate> = Vec::with_capacity(count);
    for _ in 0..count {
        let head = r.byte()?;
        let gap = match head & HEAD_GAP {
            0 => r.u32()?,
            short => u32::from(short),
        };
        let id = next_id(updates.last().map(|u| u.id), gap)?;
        updates.push(r.update(id, head)?);
    }
    r.bytes.is_empty().then_some(SnapshotDelta { base, pickups, removed, updates })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    /// An unsigned varint in its shortest form (a value its marker did not need is refused).
    fn u64(&mut self) -> Option<u64> {
        match self.byte()? {
            small @ 0..=250 => Some(u64::from(small)),
            251 => Some(u64::from(u16::from_le_bytes(self.take()?))).filter(|v| *v >= 251),
            252 => Some(u64::from(u32::from_le_bytes(self.take()?))).filter(|v| *v > 0xffff),
            253 => Some(u64::from_le_bytes(self.take()?)).filter(|v| *v > 0xffff_ffff),
            _ => None,
        }
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    fn i32(&mut self) -> Option<i32> {
        let zigzag = self.u32()?;
        Some((zigzag >> 1) as i32 ^ -((zigzag & 1) as i32))
    }

    /// A list's length, refused when its elements (at least `min_size` bytes each) could not
    /// fit in what is left.
    fn len(&mut self, min_size: usize) -> Option<usize> {
        let len = usize::try_from(self.u64()?).ok()?;
        (len <= self.bytes.len() / min_size).then_some(len)
    }

    fn pair(&mut self) -> Option<(i32, i32)> {
        Some((self.i32()?, self.i32()?))
    }

    /// One packed update after its head (`head`) and id: the mask and the fields they name.
    fn update(&mut self, id: PlayerId, head: u8) -> Option<EntityUpdate> {
        let mask = match mask_of_head(head).ok()? {
            Some(mask) => mask,
            None => self.byte()?,
        };
        let has = |bit: u8| mask & bit != 0;
        let reckoned = has(RECKON) && !has(ALIVE);
        if reckoned && has(POS) {
            return None;
        }
        Some(EntityUpdate {
            id,
            pos: if has(POS) { Some(self.pair()?) } else { None },
            reckon: if reckoned { Some(Reckon::from_byte(self.byte()?)) } else { None },
            vel: if has(VEL) { Some(self.pair()?) } else { None },
            aim: if has(AIM) { Some(self.byte()?) } else { None },
            health: if has(HEALTH) { Some(self.byte()?) } else { None },
            score: if has(SCORE) { Some(self.i32()?) } else { None },
            deaths: if has(DEATHS) { Some(self.u32()?) } else { None },
            alive: has(ALIVE).then_some(has(ALIVE_VALUE)),
        })
    }
}
