//! The compact wire form of a snapshot delta's entity lists (used through `#[serde(with)]`).
//!
//! Snapshot deltas are most of the server's downstream bytes, so their entity lists are packed
//! tighter than plain serde would: ids travel as the gap from the previous id in the (strictly
//! increasing) list, and an [`EntityUpdate`] is a **head byte** followed by only the fields
//! present (no per-field tag, no length). The head holds the gap when it is 1 to 7 (the common
//! case when a member sees many players: most of the updates at 800 players seen by everyone)
//! and the fields of a moving, turning or hit ship — a position or its reckoning, velocity,
//! aim, health — so such an update costs one byte besides its fields; a longer gap follows the
//! head as a varint, and an update that also changes score, deaths or `alive` says so in the
//! head and carries a one-byte field mask (`alive` lives in the mask itself).
//!
//! The update is a serde *tuple* whose visitor stops reading where the mask says it ends, which
//! bincode (our only wire format, see [`crate::codec`]) allows since tuples carry no length.
//! Decoding checks what the packing implies: gaps of at least one (so ids strictly increase and
//! cannot overflow) and no unknown mask bits.

use std::fmt;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq, SerializeTuple};
use serde::{Deserializer, Serializer};

use super::{EntityUpdate, Reckon};
use crate::ids::PlayerId;

pub(crate) const POS: u8 = 1;
pub(crate) const VEL: u8 = 1 << 1;
pub(crate) const AIM: u8 = 1 << 2;
pub(crate) const HEALTH: u8 = 1 << 3;
pub(crate) const SCORE: u8 = 1 << 4;
pub(crate) const DEATHS: u8 = 1 << 5;
/// `alive` changed; its new value is [`ALIVE_VALUE`].
pub(crate) const ALIVE: u8 = 1 << 6;
pub(crate) const ALIVE_VALUE: u8 = 1 << 7;
/// Without [`ALIVE`] (where an alive value means nothing), the bit says a [`Reckon`] byte
/// stands where the position would (never both).
///
/// [`Reckon`]: crate::protocol::Reckon
pub(crate) const RECKON: u8 = ALIVE_VALUE;

/// The head byte: the id gap when it is 1 to 7, else 0 (the gap follows as a varint).
pub(crate) const HEAD_GAP: u8 = 0b111;
/// The head's position kind: none, a position, a reckoning, or a field mask follows (score,
/// deaths or `alive` change; then the mask says every field and the head's field bits are 0).
pub(crate) const HEAD_KIND: u8 = 0b11 << 3;
pub(crate) const HEAD_POS: u8 = 1 << 3;
pub(crate) const HEAD_RECKON: u8 = 2 << 3;
pub(crate) const HEAD_MASK: u8 = 3 << 3;
pub(crate) const HEAD_VEL: u8 = 1 << 5;
pub(crate) const HEAD_AIM: u8 = 1 << 6;
pub(crate) const HEAD_HEALTH: u8 = 1 << 7;

/// Most elements one packed update has: head, gap, mask and six fields (a reckoning byte
/// stands for the position).
const MAX_ELEMENTS: usize = 9;
/// Capacity reserved up front for a decoded list, whatever length the bytes claim.
const MAX_RESERVE: usize = 64;

/// Gap coding for a strictly increasing id list: the first id as is, then differences.
fn gaps(ids: impl Iterator<Item = PlayerId>) -> impl Iterator<Item = Option<u32>> {
    let mut previous: Option<u32> = None;
    ids.map(move |id| {
        let gap = match previous {
            None => Some(id.0),
            Some(p) if id.0 > p => Some(id.0 - p),
            Some(_) => None,
        };
        previous = Some(id.0);
        gap
    })
}

/// The inverse of [`gaps`] for one step; `None` when the list would not strictly increase.
pub(crate) fn next_id(previous: Option<PlayerId>, gap: u32) -> Option<PlayerId> {
    match previous {
        None => Some(PlayerId(gap)),
        Some(_) if gap == 0 => None,
        Some(p) => p.0.checked_add(gap).map(PlayerId),
    }
}

fn unordered<E: ser::Error>() -> E {
    E::custom("ids are not in strictly increasing order")
}

/// `removed: Vec<PlayerId>` as id gaps.
pub mod ids {
    use super::*;

    pub fn serialize<S: Serializer>(ids: &[PlayerId], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(ids.len()))?;
        for gap in gaps(ids.iter().copied()) {
            seq.serialize_element(&gap.ok_or_else(unordered::<S::Error>)?)?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<PlayerId>, D::Error> {
        struct IdsVisitor;
        impl<'de> Visitor<'de> for IdsVisitor {
            type Value = Vec<PlayerId>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of id gaps")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_RESERVE));
                while let Some(gap) = seq.next_element::<u32>()? {
                    let id = next_id(out.last().copied(), gap)
                        .ok_or_else(|| de::Error::custom("ids are not strictly increasing"))?;
                    out.push(id);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(IdsVisitor)
    }
}

/// `updates: Vec<EntityUpdate>` as (head, [id gap], [field mask], fields present) tuples.
pub mod updates {
    use super::*;

    pub fn serialize<S: Serializer>(
        updates: &[EntityUpdate],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(updates.len()))?;
        for (update, gap) in updates.iter().zip(gaps(updates.iter().map(|u| u.id))) {
            let gap = gap.ok_or_else(unordered::<S::Error>)?;
            seq.serialize_element(&Packed { gap, update })?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<EntityUpdate>, D::Error> {
        struct UpdatesVisitor;
        impl<'de> Visitor<'de> for UpdatesVisitor {
            type Value = Vec<EntityUpdate>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of packed entity updates")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<EntityUpdate> =
                    Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_RESERVE));
                while let Some((gap, mut update)) = seq.next_element_seed(Unpack)? {
                    update.id = next_id(out.last().map(|u| u.id), gap)
                        .ok_or_else(|| de::Error::custom("ids are not strictly increasing"))?;
                    out.push(update);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(UpdatesVisitor)
    }
}

struct Packed<'a> {
    gap: u32,
    update: &'a EntityUpdate,
}

impl serde::Serialize for Packed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let u = self.update;
        if u.reckon.is_some() && (u.pos.is_some() || u.alive.is_some()) {
            return Err(ser::Error::custom("a reckoned update carries no position and no alive"));
        }
        let short_gap = (1..=7).contains(&self.gap);
        let rare = u.score.is_some() || u.deaths.is_some() || u.alive.is_some();
        let mut head = if short_gap { self.gap as u8 } else { 0 };
        let mut mask = None;
        if rare {
            head |= HEAD_MASK;
            let flags = [
                (u.pos.is_some(), POS),
                (u.vel.is_some(), VEL),
                (u.aim.is_some(), AIM),
                (u.health.is_some(), HEALTH),
                (u.score.is_some(), SCORE),
                (u.deaths.is_some(), DEATHS),
                (u.alive.is_some(), ALIVE),
                (u.alive == Some(true) || u.reckon.is_some(), ALIVE_VALUE),
            ];
            mask = Some(flags.iter().filter(|(set, _)| *set).fold(0, |mask, (_, bit)| mask | bit));
        } else {
            let flags = [
                (u.pos.is_some(), HEAD_POS),
                (u.reckon.is_some(), HEAD_RECKON),
                (u.vel.is_some(), HEAD_VEL),
                (u.aim.is_some(), HEAD_AIM),
                (u.health.is_some(), HEAD_HEALTH),
            ];
            head = flags.iter().filter(|(set, _)| *set).fold(head, |head, (_, bit)| head | bit);
        }
        let present = [
            u.pos.is_some(),
            u.reckon.is_some(),
            u.vel.is_some(),
            u.aim.is_some(),
            u.health.is_some(),
            u.score.is_some(),
            u.deaths.is_some(),
        ];
        let elements = 1
            + usize::from(!short_gap)
            + usize::from(mask.is_some())
            + present.iter().filter(|set| **set).count();
        let mut tuple = serializer.serialize_tuple(elements)?;
        tuple.serialize_element(&head)?;
        if !short_gap {
            tuple.serialize_element(&self.gap)?;
        }
        if let Some(mask) = &mask {
            tuple.serialize_element(mask)?;
        }
        if let Some(pos) = &u.pos {
            tuple.serialize_element(pos)?;
        }
        if let Some(reckon) = &u.reckon {
            tuple.serialize_element(&reckon.to_byte())?;
        }
        if let Some(vel) = &u.vel {
            tuple.serialize_element(vel)?;
        }
        if let Some(aim) = &u.aim {
            tuple.serialize_element(aim)?;
        }
        if let Some(health) = &u.health {
            tuple.serialize_element(health)?;
        }
        if let Some(score) = &u.score {
            tuple.serialize_element(score)?;
        }
        if let Some(deaths) = &u.deaths {
            tuple.serialize_element(deaths)?;
        }
        tuple.end()
    }
}

/// The field mask an update's head stands for (see [`HEAD_KIND`]); `Ok(None)` when the head
/// says a mask byte follows, and an error for a head that also names fields itself.
pub(crate) fn mask_of_head(head: u8) -> Result<Option<u8>, &'static str> {
    let kind = match head & HEAD_KIND {
        HEAD_POS => POS,
        HEAD_RECKON => RECKON,
        HEAD_MASK if head & (HEAD_VEL | HEAD_AIM | HEAD_HEALTH) != 0 => {
            return Err("a field mask and field bits in the head");
        }
        HEAD_MASK => return Ok(None),
        _ => 0,
    };
    let fields = [(HEAD_VEL, VEL), (HEAD_AIM, AIM), (HEAD_HEALTH, HEALTH)];
    let named = fields.iter().filter(|(bit, _)| head & bit != 0);
    Ok(Some(named.fold(kind, |mask, (_, field)| mask | field)))
}

/// Reads one packed update: (id gap, the update with a placeholder id).
struct Unpack;

impl<'de> DeserializeSeed<'de> for Unpack {
    type Value = (u32, EntityUpdate);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_tuple(MAX_ELEMENTS, self)
    }
}

impl<'de> Visitor<'de> for Unpack {
    type Value = (u32, EntityUpdate);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a head byte, the id gap, a field mask and the fields they name")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        fn field<'de, T: serde::Deserialize<'de>, A: SeqAccess<'de>>(
            seq: &mut A,
            mask: u8,
            bit: u8,
        ) -> Result<Option<T>, A::Error> {
            if mask & bit == 0 {
                return Ok(None);
            }
            seq.next_element()?
                .map(Some)
                .ok_or_else(|| de::Error::custom("packed update cut short"))
        }
        let missing = || de::Error::custom("packed update cut short");
        let head: u8 = seq.next_element()?.ok_or_else(missing)?;
        let gap: u32 = match head & HEAD_GAP {
            0 => seq.next_element()?.ok_or_else(missing)?,
            short => u32::from(short),
        };
        let mask: u8 = match mask_of_head(head).map_err(de::Error::custom)? {
            Some(mask) => mask,
            None => seq.next_element()?.ok_or_else(missing)?,
        };
        let reckoned = mask & RECKON != 0 && mask & ALIVE == 0;
        if reckoned && mask & POS != 0 {
            return Err(de::Error::custom("a reckoned update with a position"));
        }
        let update = EntityUpdate {
            id: PlayerId(0),
            pos: field(&mut seq, mask, POS)?,
            reckon: field::<u8, A>(&mut seq, if reckoned { RECKON } else { 0 }, RECKON)?
                .map(Reckon::from_byte),
            vel: field(&mut seq, mask, VEL)?,
            aim: field(&mut seq, mask, AIM)?,
            health: field(&mut seq, mask, HEALTH)?,
            score: field(&mut seq, mask, SCORE)?,
            deaths: field(&mut seq, mask, DEATHS)?,
            alive: (mask & ALIVE != 0).then_some(mask & ALIVE_VALUE != 0),
        };
        Ok((gap, update))
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::{decode_server, encode_server};
    use crate::ids::PlayerId;
    use crate::protocol::{DeltaBase, EntityUpdate, Reckon, ServerMsg, SnapshotDelta};

    fn delta(updates: Vec<EntityUpdate>, removed: Vec<u32>) -> SnapshotDelta {
        SnapshotDelta {
            base: DeltaBase::Delta { baseline_low: 7, age: 1, ack_advance: 1 },
            pickups: 3,
            removed: removed.into_iter().map(PlayerId).collect(),
            updates,
        }
    }

    #[test]
    fn every_field_combination_round_trips() {
        for mask in 0..256u32 {
            let on = |bit: u32| mask & (1 << bit) != 0;
            if on(7) && (on(0) || on(6)) {
                continue; // a reckoning stands for the position and needs no alive change
            }
            let update = EntityUpdate {
                id: PlayerId(300 + mask),
                pos: on(0).then_some((-5, i32::MAX)),
                vel: on(1).then_some((i32::MIN, 7)),
                aim: on(2).then_some(255),
                health: on(3).then_some(40),
                score: on(4).then_some(-3),
                deaths: on(5).then_some(u32::MAX),
                alive: on(6).then_some(mask % 3 == 0),
                reckon: on(7).then_some(Reckon { turned: 15, steps: -8 }),
            };
            // The same fields again 1 to 7 ids on: the gap in the head.
            let next = EntityUpdate { id: PlayerId(301 + mask + mask % 7), ..update };
            let message = ServerMsg::Snapshot(delta(vec![update, next], vec![1, 299, 5000]));
            assert_eq!(decode_server(&encode_server(&message)), Ok(message), "mask {mask:#x}");
        }
    }

    #[test]
    fn a_typical_moving_update_costs_a_handful_of_bytes() {
        let empty = encode_server(&ServerMsg::Snapshot(delta(vec![], vec![]))).len();
        let turned = EntityUpdate {
            id: PlayerId(900),
            pos: Some((3, -2)),
            vel: Some((40, -12)),
            aim: Some(17),
            ..EntityUpdate::default()
        };
        let next = EntityUpdate { id: PlayerId(901), ..turned };
        let bytes = encode_server(&ServerMsg::Snapshot(delta(vec![turned, next], vec![950])));
        // Per update: head 1 (+ gap 3 for the first, id 900) + pos 2 + vel 2 + aim 1; removal 3.
        assert_eq!(bytes.len() - empty, 9 + 6 + 3, "packed sizes");
        // A kill changes score and deaths: the head says a mask follows.
        let scored = EntityUpdate { score: Some(3), ..next };
        let bytes = encode_server(&ServerMsg::Snapshot(delta(vec![turned, scored], vec![950])));
        assert_eq!(bytes.len() - empty, 9 + 8 + 3, "head, mask, fields and score");
    }

    #[test]
    fn decoding_rejects_what_the_packing_rules_out() {
        use super::{HEAD_HEALTH, HEAD_MASK, HEAD_POS, HEALTH, POS, RECKON};
        let message = ServerMsg::Snapshot(delta(
            vec![EntityUpdate { id: PlayerId(4), health: Some(1), ..EntityUpdate::default() }],
            vec![2, 9],
        ));
        let good = encode_server(&message);
        // The lists sit at the end: [.., removed len 2, gap 2, gap 7, updates len 1, head
        // (gap 4, health), 1].
        let n = good.len();
        assert_eq!(&good[n - 6..], &[2, 2, 7, 1, 4 | HEAD_HEALTH, 1]);
        let with_update = |update: &[u8]| [&good[..n - 2], update].concat();

        let mut repeated = good.clone();
        repeated[n - 4] = 0; // removed: 2, then 2 again
        assert!(decode_server(&repeated).is_err(), "a zero gap repeats an id");

        let long_gap = with_update(&[HEAD_HEALTH, 4, 1]);
        assert_eq!(decode_server(&long_gap), Ok(message.clone()), "a gap may follow the head");

        let masked = with_update(&[4 | HEAD_MASK, HEALTH, 1]);
        assert_eq!(decode_server(&masked), Ok(message), "a mask may say what the head would");
        let both = with_update(&[4 | HEAD_MASK | HEAD_HEALTH, HEALTH, 1]);
        assert!(decode_server(&both).is_err(), "a mask, and field bits in the head too");

        let stray = with_update(&[4 | HEAD_MASK, POS | RECKON, 0, 0, 5]);
        assert!(decode_server(&stray).is_err(), "a position or its reckoning, never both");

        let short = with_update(&[4 | HEAD_POS | HEAD_HEALTH, 1]);
        assert!(decode_server(&short).is_err(), "fields the head names must be present");

        let wrapping = SnapshotDelta {
            removed: vec![PlayerId(u32::MAX), PlayerId(1)],
            ..SnapshotDelta::default()
        };
        assert!(
            std::panic::catch_unwind(|| encode_server(&ServerMsg::Snapshot(wrapping))).is_err(),
            "an unordered list is a bug on the encoding side"
        );
    }
}

/// `beams: Vec<Beam>` as (shooter gap, angle × 4 + has-start × 2 + full-range, [start],
/// [length]) tuples, shooters in non-decreasing order. The gap is a base-128 varint (one byte
/// below 128, two below 16,384: bincode's own varint takes three from 251, a common gap when a
/// member sees a handful of a thousand shooters each tick). Usually 3 or 4 bytes a beam from a
/// shooter the receiver sees (see [`crate::protocol::Ray`]).
pub mod beams {
    use super::*;
    use crate::protocol::{Beam, MapPoint, Ray};

    /// The most bytes a gap takes (a `u32` in base 128).
    const MAX_GAP_BYTES: usize = 5;

    pub fn serialize<S: Serializer>(beams: &[Beam], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(beams.len()))?;
        let mut previous = 0u32;
        for beam in beams {
            let gap = beam
                .shooter
                .0
                .checked_sub(previous)
                .ok_or_else(|| ser::Error::custom("beams out of shooter order"))?;
            previous = beam.shooter.0;
            seq.serialize_element(&PackedBeam { gap, beam })?;
        }
        seq.end()
    }

    struct PackedBeam<'a> {
        gap: u32,
        beam: &'a Beam,
    }

    /// `value` in base 128, low digits first, the top bit of each byte saying more follow.
    fn base128(mut value: u32) -> ([u8; MAX_GAP_BYTES], usize) {
        let (mut bytes, mut len) = ([0u8; MAX_GAP_BYTES], 0);
        loop {
            let digit = (value & 0x7f) as u8;
            value >>= 7;
            bytes[len] = digit | if value > 0 { 0x80 } else { 0 };
            len += 1;
            if value == 0 {
                return (bytes, len);
            }
        }
    }

    impl serde::Serialize for PackedBeam<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let (from, ray) = (self.beam.from, self.beam.ray);
            let full = ray.steps == Ray::FULL;
            let (gap, gap_len) = base128(self.gap);
            let word =
                (ray.angle % Ray::TURN) << 2 | u16::from(from.is_some()) << 1 | u16::from(full);
            let fields = gap_len + 1 + usize::from(from.is_some()) + usize::from(!full);
            let mut tuple = serializer.serialize_tuple(fields)?;
            for byte in &gap[..gap_len] {
                tuple.serialize_element(byte)?;
            }
            tuple.serialize_element(&word.to_le_bytes())?;
            if let Some(from) = &from {
                tuple.serialize_element(from)?;
            }
            if !full {
                tuple.serialize_element(&ray.steps)?;
            }
            tuple.end()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Beam>, D::Error> {
        struct BeamsVisitor;
        impl<'de> Visitor<'de> for BeamsVisitor {
            type Value = Vec<Beam>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of packed beams")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<Beam> =
                    Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_RESERVE));
                let mut previous = 0u32;
                while let Some((gap, mut beam)) = seq.next_element_seed(UnpackBeam)? {
                    beam.shooter.0 = previous
                        .checked_add(gap)
                        .ok_or_else(|| de::Error::custom("shooter id overflows"))?;
                    previous = beam.shooter.0;
                    out.push(beam);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(BeamsVisitor)
    }

    /// Reads one packed beam: (shooter gap, the beam with a placeholder shooter).
    struct UnpackBeam;

    impl<'de> DeserializeSeed<'de> for UnpackBeam {
        type Value = (u32, Beam);

        fn deserialize<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_tuple(MAX_GAP_BYTES + 3, self)
        }
    }

    impl<'de> Visitor<'de> for UnpackBeam {
        type Value = (u32, Beam);

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a shooter gap, an angle with flags, maybe a start and maybe a length")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let missing = || de::Error::custom("packed beam cut short");
            let mut gap = 0u32;
            for digit in 0..MAX_GAP_BYTES {
                let byte: u8 = seq.next_element()?.ok_or_else(missing)?;
                let value = u32::from(byte & 0x7f)
                    .checked_shl(7 * digit as u32)
                    .filter(|value| value >> (7 * digit as u32) == u32::from(byte & 0x7f))
                    .ok_or_else(|| de::Error::custom("shooter gap overflows"))?;
                gap |= value;
                if byte & 0x80 == 0 {
                    break;
                }
                if digit == MAX_GAP_BYTES - 1 {
                    return Err(de::Error::custom("shooter gap too long"));
                }
            }
            let word = u16::from_le_bytes(seq.next_element::<[u8; 2]>()?.ok_or_else(missing)?);
            let from = match word & 2 {
                2 => Some(seq.next_element::<MapPoint>()?.ok_or_else(missing)?),
                _ => None,
            };
            let steps = match word & 1 {
                1 => Ray::FULL,
                _ => seq.next_element::<u8>()?.ok_or_else(missing)?,
            };
            let beam = Beam { shooter: PlayerId(0), from, ray: Ray { angle: word >> 2, steps } };
            Ok((gap, beam))
        }
    }
}
