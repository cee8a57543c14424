//! What the server does with bytes from a client: decode (size-limited), validate, and, for
//! inputs and chat, apply them to a live world. Nothing may panic or allocate without bound.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared::codec::decode_client;
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::ClientMsg;
use shared::sim::{self, TickInputs, World};
use shared::validate::{check_client_msg, sanitize_name};

fn arena() -> &'static Map {
    static MAP: OnceLock<Map> = OnceLock::new();
    MAP.get_or_init(|| Map::from_json(include_str!("../../assets/maps/arena.json")).expect("arena"))
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(message) = decode_client(bytes) else { return };
    if let ClientMsg::Hello(hello) = &message {
        let _ = sanitize_name(&hello.name);
        return;
    }
    let Ok(message) = check_client_msg(message) else { return };
    if let ClientMsg::Input(input) = message {
        let mut world = World::new(arena().clone(), 30);
        world.add_player(PlayerId(1));
        world.add_player(PlayerId(2));
        for cmd in input.inputs {
            let inputs: TickInputs = [(PlayerId(1), cmd)].into_iter().collect();
            sim::step(&mut world, &inputs);
            let me = &world.players[&PlayerId(1)];
            assert!(me.pos.is_finite(), "positions stay finite");
        }
    }
});
