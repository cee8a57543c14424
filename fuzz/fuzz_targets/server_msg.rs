//! What a client does with bytes from a (possibly hostile) server: decode, then rebuild
//! snapshots from deltas. Nothing may panic; bad deltas are errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::codec::decode_server;
use shared::delta::Decoder;
use shared::protocol::ServerMsg;

fuzz_target!(|bytes: &[u8]| {
    let mut decoder = Decoder::default();
    // Several messages in one input, split on a marker byte, so baselines can chain.
    for chunk in bytes.split(|b| *b == 0xfe) {
        if let Ok(ServerMsg::Snapshot(delta)) = decode_server(chunk) {
            let _ = decoder.decode(&delta);
        }
    }
});
