//! Join tickets, as a process that hands one out and another that checks it would use them.

use cluster::{JoinTicket, TicketError};

const SECRET: &[u8] = b"the cluster's shared secret";
const NOW: u64 = 1_800_000_000;

fn ticket() -> JoinTicket {
    JoinTicket {
        room_code: "k7m2p9qrst".into(),
        ticket: "00112233445566778899aabbccddeeff".into(),
        player: "a0000000000000000000000000000001".into(),
        expires_at: NOW + 30,
    }
}

fn sign(secret: &[u8], ticket: &JoinTicket) -> String {
    JoinTicket::sign(secret, &ticket.room_code, &ticket.ticket, &ticket.player, ticket.expires_at)
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn join_tickets_round_trip() {
    let text = sign(SECRET, &ticket());
    assert_eq!(JoinTicket::verify(SECRET, &text, NOW), Ok(ticket()), "verified as signed");
    assert_eq!(JoinTicket::verify(SECRET, &text, NOW + 29), Ok(ticket()), "a second before expiry");
}

#[test]
fn join_tickets_with_edited_fields_are_forged() {
    let original = ticket();
    let text = sign(SECRET, &original);
    // Each field swapped for another well-formed value, the signature kept.
    let edits = [
        (hex(&original.room_code), hex("otherroom1")),
        (hex(&original.ticket), hex("ffeeddccbbaa99887766554433221100")),
        (hex(&original.player), hex("b0000000000000000000000000000002")),
        (format!(".{}.", original.expires_at), format!(".{}.", original.expires_at + 3600)),
    ];
    for (from, to) in &edits {
        assert!(text.contains(from.as_str()), "the field {from} is in {text}");
        let edited = text.replacen(from.as_str(), to, 1);
        assert_eq!(JoinTicket::verify(SECRET, &edited, NOW), Err(TicketError::Forged), "{to}");
    }
    let mut flipped = text.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(JoinTicket::verify(SECRET, &flipped, NOW), Err(TicketError::Forged), "signature");
}

#[test]
fn join_tickets_under_another_secret_are_forged() {
    let text = sign(b"another cluster", &ticket());
    assert_eq!(JoinTicket::verify(SECRET, &text, NOW), Err(TicketError::Forged), "other secret");
    assert_eq!(JoinTicket::verify(b"", &text, NOW), Err(TicketError::Forged), "empty secret");
}

#[test]
fn expired_join_tickets_are_refused() {
    let text = sign(SECRET, &ticket());
    let expiry = ticket().expires_at;
    assert_eq!(JoinTicket::verify(SECRET, &text, expiry), Err(TicketError::Expired), "at expiry");
    assert_eq!(
        JoinTicket::verify(SECRET, &text, u64::MAX),
        Err(TicketError::Expired),
        "long after"
    );
}

#[test]
fn garbage_join_tickets_are_malformed() {
    let text = sign(SECRET, &ticket());
    let (body, signature) = text.rsplit_once('.').unwrap();
    let cases = [
        String::new(),
        "garbage".into(),
        "j1.....".into(),
        format!("{body}.{}", &signature[..10]),
        format!("{body}.{}zz", &signature[..62]),
        text.replacen("j1.", "j9.", 1),
        format!("x.{text}"),
        text.replacen(&hex("k7m2p9qrst"), "abc", 1),
        "é".repeat(5000),
        "\0\0\0.\0".into(),
    ];
    for case in &cases {
        let shown: String = case.chars().take(60).collect();
        let result = JoinTicket::verify(SECRET, case, 0);
        assert_eq!(result, Err(TicketError::Malformed), "{shown:?}");
    }
}
