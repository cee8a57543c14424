//! What the page and the server do with a (possibly hostile) replay file: parse it, and play
//! what parses. Nothing may panic or allocate beyond the format's bounds; bad files are errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::replay::{Playback, Replay, parse_header};

fuzz_target!(|bytes: &[u8]| {
    let _ = parse_header(bytes);
    if let Ok(replay) = Replay::parse(bytes) {
        let mut playback = Playback::new(replay);
        // A bounded stretch: a valid file may be long, the fuzzer's time is not.
        for _ in 0..300 {
            match playback.step() {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
        }
        let _ = playback.seek(0);
    }
});
