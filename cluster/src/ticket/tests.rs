use super::*;

const SECRET: &[u8] = b"cluster secret";

fn signed() -> String {
    JoinTicket::sign(SECRET, "k7m2p9qrst", "00112233445566778899aabbccddeeff", "ab12", 1000)
}

#[test]
fn a_signed_ticket_verifies_until_it_expires() {
    let text = signed();
    let expected = JoinTicket {
        room_code: "k7m2p9qrst".into(),
        ticket: "00112233445566778899aabbccddeeff".into(),
        player: "ab12".into(),
        expires_at: 1000,
    };
    assert_eq!(JoinTicket::verify(SECRET, &text, 999), Ok(expected), "just before expiry");
    assert_eq!(JoinTicket::verify(SECRET, &text, 1000), Err(TicketError::Expired), "at expiry");
}

#[test]
fn fields_with_dots_and_any_text_survive() {
    let text = JoinTicket::sign(SECRET, "main.v2", "t.t", "名前.", 5);
    let ticket = JoinTicket::verify(SECRET, &text, 0).expect("verifies");
    assert_eq!((ticket.room_code.as_str(), ticket.ticket.as_str()), ("main.v2", "t.t"));
    assert_eq!(ticket.player, "名前.", "non-ascii player");
    assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'), "URL-safe: {text}");
}

#[test]
fn garbage_is_malformed() {
    let text = signed();
    let (body, _) = text.rsplit_once('.').unwrap();
    let cases = [
        String::new(),
        ".".into(),
        "j1".into(),
        "j1.....".into(),
        body.to_string(),
        format!("{body}.zz"),
        format!("{body}.0"),
        format!("j2{}", &text[2..]),
        format!("{text}.00"),
        "x".repeat(100_000),
    ];
    for case in &cases {
        let shown: String = case.chars().take(80).collect();
        assert_eq!(JoinTicket::verify(SECRET, case, 0), Err(TicketError::Malformed), "{shown:?}");
    }
}
