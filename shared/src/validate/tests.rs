use super::*;
use crate::protocol::InputCmd;
use crate::tick::Tick;

#[test]
fn names() {
    let cases: &[(&str, Option<&str>)] = &[
        ("Ada", Some("Ada")),
        ("  Ada   Lovelace ", Some("Ada Lovelace")),
        ("a\u{202E}gnp.exe", Some("agnp.exe")),
        ("zero\u{200B}width", Some("zerowidth")),
        ("", None),
        ("   ", None),
        ("\u{0007}\u{0000}", None),
        ("seventeen-chars-x", None),
        ("sixteen-chars-xx", Some("sixteen-chars-xx")),
        ("ünïcødé ok", Some("ünïcødé ok")),
    ];
    for (raw, expected) in cases {
        assert_eq!(sanitize_name(raw).ok().as_deref(), *expected, "name {raw:?}");
    }
}

#[test]
fn chat_lines() {
    assert_eq!(
        sanitize_chat("<script>alert(1)</script>"),
        Ok("<script>alert(1)</script>".into()),
        "HTML is kept as text"
    );
    assert_eq!(sanitize_chat("hi\r\nthere\u{0}"), Ok("hi there".into()), "control characters go");
    assert_eq!(
        sanitize_chat("\u{202E}\u{2066}"),
        Err(Violation::EmptyChat),
        "only bidi controls is empty"
    );
    let long = "x".repeat(MAX_CHAT_CHARS + 50);
    assert_eq!(
        sanitize_chat(&long).map(|s| s.chars().count()),
        Ok(MAX_CHAT_CHARS),
        "cut to the limit"
    );
}

#[test]
fn rooms() {
    assert!(check_room("").is_ok() && check_room("lobby-2_b").is_ok(), "plain names pass");
    assert!(
        check_room("a b").is_err() && check_room(&"r".repeat(MAX_ROOM_CHARS + 1)).is_err(),
        "bad names fail"
    );
}

fn cmd(seq: u32, buttons: u8) -> InputCmd {
    InputCmd { seq, buttons, ..InputCmd::default() }
}

#[test]
fn inputs() {
    let ok = InputMsg { ack_tick: Tick(1), inputs: vec![cmd(1, 0xff), cmd(2, 0)] };
    let checked = check_input(ok).expect("ordered inputs pass");
    assert_eq!(checked.inputs[0].buttons, buttons::ALL, "undefined button bits are cleared");
    let empty = InputMsg { ack_tick: Tick(1), inputs: vec![] };
    assert_eq!(check_input(empty), Err(Violation::BadInputCount));
    let many = InputMsg {
        ack_tick: Tick(1),
        inputs: (0..=MAX_INPUTS_PER_MSG as u32).map(|s| cmd(s, 0)).collect(),
    };
    assert_eq!(check_input(many), Err(Violation::BadInputCount));
    let unordered = InputMsg { ack_tick: Tick(1), inputs: vec![cmd(2, 0), cmd(2, 0)] };
    assert_eq!(check_input(unordered), Err(Violation::InputSeqOrder));
}

#[test]
fn pings_must_be_finite() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(
            check_client_msg(ClientMsg::Ping { client_time: bad }),
            Err(Violation::NonFinite),
            "{bad}"
        );
    }
    assert!(check_client_msg(ClientMsg::Ping { client_time: 5.0 }).is_ok(), "finite ping passes");
}

#[test]
fn reserved_names_are_refused_in_any_case_or_spacing() {
    for name in ["admin", "ADMIN", "Ad min", "server", "S.y.s.t.e.m", "Moderator"] {
        assert!(matches!(sanitize_name(name), Err(Violation::Reserved(_))), "{name} is reserved");
    }
    assert_eq!(sanitize_name("admiral").as_deref(), Ok("admiral"), "a longer word is fine");
}

#[test]
fn room_titles_keep_to_their_charset_and_length() {
    assert_eq!(sanitize_room_title("  Friday   night #2! ").as_deref(), Ok("Friday night #2!"));
    assert_eq!(
        sanitize_room_title("Café d'Été").as_deref(),
        Ok("Café d'Été"),
        "letters of any script"
    );
    for bad in ["", "   ", "<script>", "a/b", "x".repeat(MAX_ROOM_TITLE_CHARS + 1).as_str()] {
        assert_eq!(sanitize_room_title(bad), Err(Violation::BadRoomTitle), "{bad:?} is refused");
    }
    assert!(matches!(sanitize_room_title("Staff"), Err(Violation::Reserved(_))));
}

#[test]
fn tickets_are_32_lowercase_hex_digits() {
    assert!(check_ticket("0123456789abcdef0123456789abcdef").is_ok());
    for bad in [
        "",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcde",
        "g123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(check_ticket(bad), Err(Violation::BadTicket), "{bad:?}");
    }
}
