use super::*;
use crate::ids::PlayerId;
use crate::protocol::*;
use crate::tick::Tick;

fn sample_client_messages() -> Vec<ClientMsg> {
    vec![
        ClientMsg::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "Ada".into(),
            room: String::new(),
            resume: Some(ResumeToken([7; 16])),
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
            events: vec![
                GameEvent::Joined { id: PlayerId(8), name: "Bob".into() },
                GameEvent::Shot {
                    shooter: PlayerId(7),
                    from: MapPoint { x: 1, y: 2 },
                    to: MapPoint { x: 3, y: 65535 },
                    hit: Some(PlayerId(8)),
                },
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
