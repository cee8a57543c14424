use super::*;

const SAMPLE: PlayerKey =
    PlayerKey([0xab, 0x01, 0x23, 0x45, 0x67, 0x89, 0xcd, 0xef, 0, 0, 0, 0, 0, 0, 0xff, 0x10]);

#[test]
fn display_is_32_lowercase_hex() {
    assert_eq!(SAMPLE.to_string(), "ab0123456789cdef000000000000ff10", "hex form");
    assert_eq!(SAMPLE.to_hex(), SAMPLE.to_string(), "to_hex is Display");
}

#[test]
fn parse_round_trips_and_accepts_upper_case() {
    assert_eq!("ab0123456789cdef000000000000ff10".parse(), Ok(SAMPLE), "lower case");
    assert_eq!("AB0123456789CDEF000000000000FF10".parse(), Ok(SAMPLE), "upper case");
    for _ in 0..100 {
        let key = PlayerKey::random();
        assert_eq!(key.to_string().parse(), Ok(key), "random key {key} round-trips");
    }
}

#[test]
fn parse_rejects_wrong_length_and_non_hex() {
    let cases: [(&str, ParseKeyError); 7] = [
        ("", ParseKeyError::Length(0)),
        ("ab0123456789cdef000000000000ff1", ParseKeyError::Length(31)),
        ("ab0123456789cdef000000000000ff100", ParseKeyError::Length(33)),
        ("ab0123456789cdef000000000000ff1g", ParseKeyError::NotHex('g')),
        ("0xab0123456789cdef000000000000ff", ParseKeyError::NotHex('x')),
        (" b0123456789cdef000000000000ff10", ParseKeyError::NotHex(' ')),
        // 16 two-byte chars are 32 bytes: still not a key.
        ("éééééééééééééééé", ParseKeyError::NotHex('é')),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<PlayerKey>(), Err(expected), "parsing {text:?}");
    }
}

#[test]
fn random_keys_differ() {
    assert_ne!(PlayerKey::random(), PlayerKey::random(), "two random keys");
}
