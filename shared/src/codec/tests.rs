use super::*;
use crate::ids::PlayerId;
use crate::protocol::*;
use crate::tick::Tick;

fn sample_client_messages() -> Vec<ClientMsg> {
    vec![
        ClientMsg::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "Ada".into(),
            room: "k3n8q2x7mp".into(),
            ticket: Some("0123456789abcdef0123456789abcdef".into()),
            resume: Some(ResumeToken([7; 16])),
            spectate: false,
        }),
        ClientMsg::Input(InputMsg {
            ack_tick: Tick(41),
            inputs: (1..=MAX_INPUTS_PER_MSG as u32)
                .map(|seq| InputCmd {
                    seq,
                    move_x: -127,
                    move_y: 127,
                    aim_x: -300,
                    aim_y: 32767,
                    buttons: buttons::FIRE,
                    view_tick: Tick(seq + 30),
                })
                .collect(),
        }),
        ClientMsg::Chat { text: "gg ✨ <b>wp</b>".into() },
        ClientMsg::Ping { client_time: 12345.678 },
    ]
}

#[test]
fn client_messages_round_trip() {
    for message in sample_client_messages() {
        let bytes = encode_client(&message);
        assert!(
            bytes.len() <= MAX_CLIENT_MSG_BYTES,
            "{message:?} fits the limit ({} bytes)",
            bytes.len()
        );
        assert_eq!(decode_client(&bytes), Ok(message.clone()), "round trip of {message:?}");
    }
}

#[test]
fn server_messages_round_trip() {
    let map =
        crate::map::Map::from_json(include_str!("../../../assets/maps/arena.json")).expect("arena");
    let messages = vec![
        ServerMsg::Welcome(Box::new(Welcome {
            player_id: PlayerId(7),
            tick_hz: 30,
            send_hz: 30,
            server_tick: Tick(99),
            map,
            roster: vec![RosterEntry { id: PlayerId(7), name: "Ada".into() }],
            resume_token: ResumeToken([9; 16]),
            resume_grace_secs: 20,
            resumed: false,
            spectator: false,
            spectators_chat: false,
        })),
        ServerMsg::Snapshot(crate::delta::encode(
            None,
            &Snapshot {
                tick: Tick(100),
                ack_input: 55,
                players: vec![PlayerSnap {
                    id: PlayerId(7),
                    x: -16,
                    y: 1 << 20,
                    vx: 107,
                    vy: -75,
                    aim: 255,
                    health: 100,
                    alive: true,
                    score: 3,
                    deaths: 1,
                }],
                pickups: 0b1011,
            },
        )),
        ServerMsg::Events {
            beams: vec![
                Beam {
                    shooter: PlayerId(3),
                    from: None,
                    ray: Ray { angle: Ray::TURN - 1, steps: 0 },
                },
                Beam {
                    shooter: PlayerId(3),
                    from: Some(MapPoint { x: 1, y: 2 }),
                    ray: Ray { angle: 7, steps: Ray::FULL },
                },
                Beam {
                    shooter: PlayerId(4_000_000),
                    from: Some(MapPoint { x: 9, y: 9 }),
                    ray: Ray { angle: 300, steps: 255 },
                },
            ],
            events: vec![
                GameEvent::Joined { id: PlayerId(8), name: "Bob".into() },
                GameEvent::Killed { killer: PlayerId(7), victim: PlayerId(8) },
                GameEvent::Chat { from: PlayerId(8), text: "hi".into() },
                GameEvent::Left { id: PlayerId(8) },
            ],
        },
        ServerMsg::Pong { client_time: 1.5, server_tick: Tick(100) },
    ];
    for message in messages {
        let bytes = encode_server(&message);
        assert_eq!(decode_server(&bytes), Ok(message.clone()), "round trip of {message:?}");
    }
}

#[test]
fn rejects_oversize_message_before_decoding() {
    let bytes = vec![0u8; MAX_CLIENT_MSG_BYTES + 1];
    assert_eq!(
        decode_client(&bytes),
        Err(DecodeError::TooLarge { len: MAX_CLIENT_MSG_BYTES + 1, limit: MAX_CLIENT_MSG_BYTES }),
        "oversize input is refused by length"
    );
}

#[test]
fn rejects_forged_length_prefix_without_allocating() {
    // Variant 2 (Chat) followed by a varint length claiming 2^62 bytes of text.
    let mut bytes = vec![2u8, 0xfd];
    bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
    let err = decode_client(&bytes).expect_err("forged length is refused");
    assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
}

#[test]
fn rejects_trailing_bytes() {
    let mut bytes = encode_client(&ClientMsg::Ping { client_time: 1.0 });
    bytes.push(0);
    assert_eq!(
        decode_client(&bytes),
        Err(DecodeError::TrailingBytes(1)),
        "one extra byte is refused"
    );
}

#[test]
fn rejects_truncated_unknown_and_empty_input() {
    let full = encode_client(&sample_client_messages()[1]);
    for cut in [0, 1, full.len() / 2, full.len() - 1] {
        assert!(decode_client(&full[..cut]).is_err(), "truncated to {cut} bytes is refused");
    }
    assert!(decode_client(&[200]).is_err(), "unknown variant is refused");
    assert!(decode_client(&[2, 2, 0xff, 0xfe]).is_err(), "invalid UTF-8 is refused");
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0x9e37_79b9_u32;
    for len in 0..2000usize {
        let bytes: Vec<u8> = (0..len % 64)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        let _ = decode_client(&bytes);
        let _ = decode_server(&bytes);
    }
}

#[test]
fn a_snapshot_frame_from_a_shared_body_is_the_same_bytes() {
    let update = |id: u32, pos: Option<(i32, i32)>| EntityUpdate {
        id: PlayerId(id),
        pos,
        health: Some(75),
        ..EntityUpdate::default()
    };
    let bases = [
        DeltaBase::Keyframe { tick: Tick(123_456), ack_input: 99 },
        DeltaBase::Delta { baseline_low: 7, age: 3, ack_advance: 2 },
        DeltaBase::Delta { baseline_low: 255, age: 300, ack_advance: 0 },
    ];
    let bodies = [
        (0, vec![], vec![]),
        (0b101, vec![PlayerId(2), PlayerId(40)], vec![update(1, Some((-3, 900)))]),
        (u64::MAX, vec![], (1..200).map(|id| update(id * 3, None)).collect()),
    ];
    for base in bases {
        for (pickups, removed, updates) in &bodies {
            let delta = SnapshotDelta {
                base,
                pickups: *pickups,
                removed: removed.clone(),
                updates: updates.clone(),
            };
            let body = encode_snapshot_body(*pickups, removed, updates);
            assert_eq!(
                encode_snapshot_frame(&base, &body),
                encode_server(&ServerMsg::Snapshot(delta)),
                "{base:?} with {} updates",
                updates.len()
            );
        }
    }
}

#[test]
fn an_events_frame_from_a_shared_body_is_the_same_bytes() {
    let beams = |n: u32| -> Vec<Beam> {
        (0..n)
            .map(|i| Beam {
                shooter: PlayerId(i * 7 / 2 + 1),
                from: (i % 3 == 0).then_some(MapPoint { x: i as u16, y: 7 }),
                ray: Ray { angle: (i * 1000 % 16384) as u16, steps: (i * 37 % 256) as u8 },
            })
            .collect()
    };
    let events = [
        vec![],
        vec![GameEvent::Killed { killer: PlayerId(1), victim: PlayerId(2) }],
        vec![
            GameEvent::Chat { from: PlayerId(5), text: "gg".into() },
            GameEvent::Left { id: PlayerId(5) },
        ],
    ];
    for events in events {
        let body = encode_events_body(&events);
        for n in [0, 1, 40] {
            let message = ServerMsg::Events { beams: beams(n), events: events.clone() };
            assert_eq!(encode_events_frame(&beams(n), &body), encode_server(&message));
        }
    }
}

#[test]
fn an_events_body_joined_from_encoded_events_is_the_same_bytes() {
    let events: Vec<GameEvent> = (0..300)
        .map(|i| match i % 3 {
            0 => GameEvent::Killed { killer: PlayerId(i), victim: PlayerId(i * 1000 + 1) },
            1 => GameEvent::Chat { from: PlayerId(i), text: format!("line {i}") },
            _ => GameEvent::Joined { id: PlayerId(i), name: "Bob".into() },
        })
        .collect();
    // Bodies of up to 300 events: the count's varint grows past one byte on the way.
    for (common, extra) in [(0, 0), (0, 3), (2, 0), (2, 5), (250, 0), (100, 200)] {
        let common_bytes: Vec<u8> = events[..common].iter().flat_map(encode_event).collect();
        let extra_bytes: Vec<Vec<u8>> =
            events[common..common + extra].iter().map(encode_event).collect();
        let extra_refs: Vec<&[u8]> = extra_bytes.iter().map(Vec::as_slice).collect();
        assert_eq!(
            join_events_body(common, &common_bytes, &extra_refs),
            encode_events_body(&events[..common + extra]),
            "{common} common, {extra} extra"
        );
    }
}

#[test]
fn a_beam_from_a_drawn_shooter_costs_three_or_four_bytes() {
    let one = |beams: Vec<Beam>| encode_server(&ServerMsg::Events { beams, events: vec![] }).len();
    let beam = |shooter: u32, steps: u8| Beam {
        shooter: PlayerId(shooter),
        from: None,
        ray: Ray { angle: 10_000, steps },
    };
    let beams = |gap: u32, steps: u8| (1..=40).map(|i| beam(i * gap, steps)).collect();
    // Shooters under 128 ids apart: a byte of gap, two of angle and flags, one of length.
    assert_eq!(one(beams(20, 100)) - one(vec![]), 40 * 4);
    assert_eq!(one(beams(20, Ray::FULL)) - one(vec![]), 40 * 3, "no length at full range");
    // Up to 16,383 ids apart (a member seeing a few of a thousand shooters): one byte more.
    assert_eq!(one(beams(300, Ray::FULL)) - one(vec![]), 40 * 4);
}

#[test]
fn a_ray_ends_within_two_units_of_the_beams_end() {
    let from = MapPoint { x: 2000, y: 1500 };
    for i in 0..720 {
        let radians = i as f32 / 720.0 * std::f32::consts::TAU;
        for length in [0.0, 3.0, 17.0, 250.0, 999.0, crate::sim::LASER_RANGE] {
            let end = from.to_world() + glam::Vec2::new(radians.cos(), radians.sin()) * length;
            let to = MapPoint::from_world(end);
            let drawn = Ray::between(from, to).end(from.to_world());
            let off = drawn.distance(to.to_world());
            assert!(off <= 2.1, "{length} units at {i} half-degrees: {off} units off");
        }
    }
    let full = MapPoint::from_world(from.to_world() + glam::Vec2::new(0.6, 0.8) * 1000.0);
    assert_eq!(Ray::between(from, full).steps, Ray::FULL, "the laser's range is the full ray");
    assert_eq!(f32::from(Ray::FULL) * Ray::STEP, crate::sim::LASER_RANGE);
}

#[test]
fn a_beams_shooter_gap_that_runs_on_or_overflows_is_refused() {
    let frame = |beam: &[u8]| {
        let mut bytes = encode_server(&ServerMsg::Events { beams: vec![], events: vec![] });
        // `Events` tag, then the beams' count (0) to replace with 1 and the beam.
        let count_at = bytes.iter().position(|&b| b == 0).expect("an empty list's count");
        bytes[count_at] = 1;
        bytes.splice(count_at + 1..count_at + 1, beam.iter().copied());
        bytes
    };
    let good = frame(&[0x81, 0x01, 0x01, 0x00]);
    let Ok(ServerMsg::Events { beams, .. }) = decode_server(&good) else { panic!("decodes") };
    assert_eq!(beams[0].shooter, PlayerId(129), "two base-128 digits");
    assert_eq!(beams[0].ray, Ray { angle: 0, steps: Ray::FULL });
    assert!(decode_server(&frame(&[0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x00])).is_err(), "33 bits");
    assert!(decode_server(&frame(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00])).is_err(), "six");
    assert!(decode_server(&frame(&[0x05, 0x00])).is_err(), "cut short before its length");
}

/// A reproducible stream of numbers for the fast-path tests.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value of any size class: small, two-byte, four-byte, and the extremes.
    fn int(&mut self) -> i64 {
        match self.next() % 6 {
            0 => (self.next() % 500) as i64 - 250,
            1 => (self.next() % 140_000) as i64 - 70_000,
            2 => i64::from(self.next() as i32),
            3 => i64::from(i32::MIN),
            4 => i64::from(i32::MAX),
            _ => 0,
        }
    }
}

fn random_delta(rng: &mut Xorshift) -> SnapshotDelta {
    let base = if rng.next().is_multiple_of(3) {
        DeltaBase::Keyframe { tick: Tick(rng.int() as u32), ack_input: rng.int() as u32 }
    } else {
        DeltaBase::Delta {
            baseline_low: rng.next() as u8,
            age: rng.int() as u32,
            ack_advance: rng.int() as u32,
        }
    };
    let ids = |rng: &mut Xorshift, count: u64| -> Vec<PlayerId> {
        let mut id = (rng.next() % 3) as u32 * 40_000;
        (0..rng.next() % count)
            .map(|_| {
                // Half the gaps short enough for an update's head byte (1 to 7).
                let spread = if rng.next().is_multiple_of(2) { 7 } else { 400 };
                id += 1 + (rng.next() % spread) as u32;
                PlayerId(id)
            })
            .collect()
    };
    let removed = ids(rng, 20);
    let updates = ids(rng, 300)
        .into_iter()
        .map(|id| {
            let mask = rng.next();
            let on = |bit: u32| mask & (1 << bit) != 0;
            EntityUpdate {
                id,
                pos: on(0).then(|| (rng.int() as i32, rng.int() as i32)),
                vel: on(1).then(|| (rng.int() as i32, rng.int() as i32)),
                aim: on(2).then(|| rng.next() as u8),
                health: on(3).then(|| rng.next() as u8),
                score: on(4).then(|| rng.int() as i32),
                deaths: on(5).then(|| rng.int() as u32),
                alive: on(6).then(|| on(7)),
                reckon: (!on(0) && !on(6) && on(7)).then(|| Reckon::from_byte(rng.next() as u8)),
            }
        })
        .collect();
    SnapshotDelta { base, pickups: rng.next() >> (rng.next() % 64), removed, updates }
}

#[test]
fn the_snapshot_fast_path_reads_every_delta_as_serde_does() {
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2_000 {
        let message = ServerMsg::Snapshot(random_delta(&mut rng));
        let bytes = encode_server(&message);
        let ServerMsg::Snapshot(delta) = &message else { unreachable!() };
        assert_eq!(snapshot::read(&bytes).as_ref(), Some(delta), "the fast path takes it");
        assert_eq!(decode_server_slowly(&bytes), Ok(message));
    }
}

#[test]
fn the_snapshot_fast_path_takes_no_bytes_serde_would_refuse_or_read_otherwise() {
    let mut rng = Xorshift(0x2545_f491_4f6c_dd1d);
    let (mut taken, mut damaged) = (0, 0);
    for _ in 0..3_000 {
        let mut bytes = encode_server(&ServerMsg::Snapshot(random_delta(&mut rng)));
        match rng.next() % 4 {
            0 => bytes.truncate((rng.next() % (bytes.len() as u64 + 1)) as usize),
            1 => bytes.push(rng.next() as u8),
            _ => {
                for _ in 0..1 + rng.next() % 3 {
                    let at = (rng.next() % bytes.len() as u64) as usize;
                    bytes[at] = rng.next() as u8;
                }
            }
        }
        damaged += 1;
        if let Some(delta) = snapshot::read(&bytes) {
            taken += 1;
            assert_eq!(decode_server_slowly(&bytes), Ok(ServerMsg::Snapshot(delta)), "{bytes:?}");
        }
        // Whatever the fast path does, the answer is the serde path's.
        assert_eq!(decode_server(&bytes), decode_server_slowly(&bytes));
    }
    assert!(taken > 100 && taken < damaged, "some damaged frames still read: {taken}/{damaged}");
    // Non-canonical varints: serde may read them, the fast path leaves them to it.
    let plain = encode_server(&ServerMsg::Snapshot(SnapshotDelta::default()));
    let mut long_form = plain.clone();
    let at = long_form.len() - 1; // the updates' count, 0
    long_form.splice(at..=at, [251, 0, 0]);
    assert_eq!(snapshot::read(&long_form), None);
    assert_eq!(decode_server(&long_form), decode_server_slowly(&long_form));
}
