//! A fixed game script run through the shared simulation, reduced to one fingerprint of the
//! encoded frames. The browser test compares the wasm32 result with the native one: prediction
//! only works if both compute the very same bits.

use shared::codec::encode_server;
use shared::delta;
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::{InputCmd, ServerMsg, Snapshot, buttons};
use shared::sim::{self, Player, TickInputs, World};
use shared::tick::Tick;

/// The fingerprint of [`scripted_fingerprint`] as computed natively on x86-64. If the
/// simulation changes on purpose, update it from the native test's failure message.
pub const NATIVE_FINGERPRINT: u64 = 0x2dc6_ff5b_ab54_7e6d;

/// FNV-1a over every encoded snapshot and event frame of a 300-tick, 6-player script.
pub fn scripted_fingerprint() -> u64 {
    let map = Map::from_json(include_str!("../../assets/maps/arena.json"))
        .expect("the shipped arena parses");
    let mut world = World::new(map, 30);
    for id in 1..=6 {
        world.add_player(PlayerId(id));
    }
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut state = 0x2545_f491_u32;
    for _ in 0..300 {
        let mut inputs = TickInputs::new();
        for id in 1..=6u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let target =
                world.players[&PlayerId(id % 6 + 1)].pos - world.players[&PlayerId(id)].pos;
            let cmd = InputCmd {
                move_x: (state & 0xff) as u8 as i8,
                move_y: (state >> 8 & 0xff) as u8 as i8,
                aim_x: target.x as i16,
                aim_y: target.y as i16,
                buttons: if state >> 31 == 1 { buttons::FIRE } else { 0 },
                view_tick: Tick(world.tick.0.saturating_sub(3)),
                ..InputCmd::default()
            };
            inputs.insert(PlayerId(id), cmd);
        }
        let events = sim::step(&mut world, &inputs);
        let snapshot = Snapshot {
            tick: world.tick,
            ack_input: 0,
            players: world.players.values().map(Player::snap).collect(),
            pickups: world.pickup_bits(),
        };
        for frame in [
            encode_server(&ServerMsg::Snapshot(delta::encode(None, &snapshot))),
            encode_server(&ServerMsg::Events { beams: vec![], events }),
        ] {
            for byte in frame {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    hash
}

/// The world's fingerprint at the end of [`replayed_fingerprint`]'s match, natively on
/// x86-64.
pub const NATIVE_REPLAY_FINGERPRINT: u64 = 0x67e0_c7de_1241_664c;

/// Two minutes of a scripted match at 30 Hz (joins, leaves, deaths; `shared::replay::script`)
/// recorded, then played back the way the page plays replays; the world's fingerprint at its
/// end. In the browser this is the wasm32 simulation replaying a file whose twelve checkpoints
/// (one per 10 s chunk) it checks on the way.
pub fn replayed_fingerprint() -> u64 {
    let map = Map::from_json(include_str!("../../assets/maps/arena.json"))
        .expect("the shipped arena parses");
    let (file, _) = shared::replay::script::scripted_match(map, 3600);
    let mut view = crate::replay::ReplayView::open(&file).expect("the recorded match opens");
    view.seek(f64::MAX);
    assert_eq!(view.error(), None, "every checkpoint matched");
    view.fingerprint()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_replay_fingerprint_is_recorded() {
        let fingerprint = replayed_fingerprint();
        assert_eq!(
            fingerprint, NATIVE_REPLAY_FINGERPRINT,
            "update NATIVE_REPLAY_FINGERPRINT to {fingerprint:#x}"
        );
    }

    #[test]
    fn native_fingerprint_is_recorded() {
        let fingerprint = scripted_fingerprint();
        assert_eq!(
            fingerprint, NATIVE_FINGERPRINT,
            "update NATIVE_FINGERPRINT to {fingerprint:#x}"
        );
        assert_eq!(scripted_fingerprint(), fingerprint, "two native runs agree");
    }
}
