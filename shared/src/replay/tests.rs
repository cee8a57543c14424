use super::*;
use script::Rng;

fn arena() -> Map {
    Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena")
}

fn record_match(ticks: u32) -> (Vec<u8>, Vec<World>) {
    script::scripted_match(arena(), ticks)
}

#[test]
fn playing_a_recorded_match_reproduces_the_live_world_at_every_tick() {
    let (file, lives) = record_match(1000);
    let deaths: u32 = lives.last().unwrap().players.values().map(|p| p.deaths).sum();
    assert!(deaths > 0, "the match had deaths to reproduce");
    let replay = Replay::parse(&file).expect("the recorded file parses");
    assert_eq!(replay.ticks.len(), 1000);
    let mut playback = Playback::new(replay);
    for (tick, live) in lives.iter().enumerate() {
        assert_eq!(playback.step(), Ok(true), "tick {tick} is in the replay and matches");
        assert!(
            playback.world() == live,
            "the replayed world differs from the live one at tick {tick}"
        );
    }
    assert_eq!(playback.step(), Ok(false), "and nothing after the end");
    // The file is a list of inputs: these random ones, new every tick, are the worst case
    // (real players repeat their commands, which LZ4 folds).
    let player_minutes = 6.0 * 1000.0 / 30.0 / 60.0;
    let per_minute = file.len() as f64 / player_minutes;
    println!("replay: {} bytes, {per_minute:.0} bytes per player-minute", file.len());
    assert!(per_minute < 20_000.0, "compact: {per_minute:.0} bytes per player-minute");
}

#[test]
fn seeking_lands_where_playing_does() {
    let (file, lives) = record_match(700);
    let mut playback = Playback::new(Replay::parse(&file).expect("parses"));
    for position in [650, 20, 451, 450, 700, 0, 301, 999] {
        playback.seek(position).expect("the replay matches its fingerprints");
        let expected = position.min(700);
        assert_eq!(playback.position(), expected);
        if expected == 0 {
            assert!(playback.world().players.is_empty(), "the start is an empty room");
        } else {
            assert!(playback.world() == &lives[expected - 1], "seek to {position}");
        }
    }
    assert!(playback.names().any(|(_, name)| name == "p1"), "names come from the joins");
}

#[test]
fn a_replay_from_other_rules_is_caught_at_the_first_checkpoint() {
    let (file, _) = record_match(400);
    let mut replay = Replay::parse(&file).expect("parses");
    // As if this build's step moved one player differently: one recorded command changed.
    let (_, cmd) = replay.ticks[100].inputs.first_mut().expect("a command at tick 100");
    cmd.move_x = cmd.move_x.wrapping_add(40);
    let mut playback = Playback::new(replay);
    let error = playback.seek(400).expect_err("the first checkpoint after tick 100 fails");
    assert_eq!(error.tick, Tick(CHUNK_TICKS as u32), "caught at the end of the first chunk");
}

#[test]
fn bad_files_are_refused_with_a_reason_never_a_panic() {
    let (file, _) = record_match(400);
    assert_eq!(Replay::parse(b"GIF89a").unwrap_err(), ReplayError::NotAReplay);
    let mut newer = file.clone();
    newer[4] = 9;
    assert_eq!(Replay::parse(&newer).unwrap_err(), ReplayError::Version { found: 9 });
    // Every cut is an error, except the ones that fall between chunks.
    let header_len = 10 + u32::from_le_bytes(file[6..10].try_into().unwrap()) as usize;
    let mut boundaries = vec![header_len];
    while *boundaries.last().unwrap() < file.len() {
        let at = *boundaries.last().unwrap();
        let packed = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
        boundaries.push(at + 8 + packed);
    }
    for cut in (0..file.len()).filter(|cut| *cut < 64 || cut % 7 == 0 || boundaries.contains(cut)) {
        let parsed = Replay::parse(&file[..cut]);
        assert_eq!(parsed.is_ok(), boundaries.contains(&cut), "cut at {cut}: {parsed:?}");
    }
    // Found by the fuzzer: a header whose first tick is near u32::MAX made the tick sum overflow.
    let mut late = Header { first_tick: Tick(u32::MAX), ..Replay::parse(&file).unwrap().header };
    assert!(Replay::parse(&encode_header(&late)).is_err(), "a first tick past the limit");
    late.first_tick = Tick(0);
    late.tick_hz = 0;
    assert!(Replay::parse(&encode_header(&late)).is_err(), "a tick rate of zero");
    // A hostile length asks for 4 GiB: refused before any allocation.
    let mut hostile = file[..header_len].to_vec();
    hostile.extend_from_slice(&u32::MAX.to_le_bytes());
    hostile.extend_from_slice(&[0; 8]);
    assert!(matches!(Replay::parse(&hostile), Err(ReplayError::TooLarge { .. })));
    // Flipped bytes: an error or (if the flip lands in an input's value) another valid match,
    // never a panic.
    let mut rng = Rng(7);
    for _ in 0..500 {
        let mut damaged = file.clone();
        let at = (rng.next() % damaged.len() as u64) as usize;
        damaged[at] ^= 1 << (rng.next() % 8);
        let _ = Replay::parse(&damaged);
    }
}

#[test]
fn replay_ids_are_letters_digits_and_dashes() {
    assert!(is_replay_id("1796566669-main-3"));
    for bad in ["", "../etc/passwd", "a b", "x.skrp", &"a".repeat(81)] {
        assert!(!is_replay_id(bad), "{bad:?}");
    }
}

#[test]
fn chunks_encoded_in_kept_buffers_are_the_same_bytes() {
    let chunk = |ticks: u32, players: u32| Chunk {
        first_tick: Tick(1000),
        ticks: (0..ticks)
            .map(|t| TickRecord {
                changes: Vec::new(),
                inputs: (0..players)
                    .map(|p| {
                        let cmd = InputCmd {
                            seq: t * 7 + p,
                            move_x: (p % 100) as i8,
                            ..InputCmd::default()
                        };
                        (PlayerId(p + 1), cmd)
                    })
                    .collect(),
            })
            .collect(),
        fingerprint: u64::from(ticks) << 32 | u64::from(players),
    };
    let mut buffers = ChunkBuffers::default();
    // A big chunk, then smaller ones in the same (now larger than needed) buffers.
    for (ticks, players) in [(300, 500), (10, 3), (300, 40), (0, 0)] {
        let chunk = chunk(ticks, players);
        let kept = encode_chunk_with(&chunk, &mut buffers).to_vec();
        // Built apart: the encoding, LZ4's own allocating compressor, the two lengths.
        let raw = crate::codec::encode_replay(&chunk);
        let packed = lz4_flex::block::compress(&raw);
        let mut expected = (raw.len() as u32).to_le_bytes().to_vec();
        expected.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        expected.extend_from_slice(&packed);
        assert_eq!(kept, expected, "{ticks} ticks of {players} players");
    }
}
