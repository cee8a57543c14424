use super::*;

#[test]
fn hex_round_trips_and_refuses_garbage() {
    assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff", "lower-case, two digits each");
    assert_eq!(decode("00abFF"), Some(vec![0x00, 0xab, 0xff]), "either case decodes");
    assert_eq!(decode(""), Some(vec![]), "empty");
    for garbage in ["0", "zz", "+1", "é1", "0g"] {
        assert_eq!(decode(garbage), None, "{garbage:?} is not hex");
    }
}

#[test]
fn tickets_are_128_bit_hex_and_differ() {
    let (a, b) = (random_ticket(), random_ticket());
    assert_eq!(a.len(), 32, "32 hex digits: {a}");
    assert!(decode(&a).is_some(), "hex: {a}");
    assert_ne!(a, b, "two tickets differ");
}
