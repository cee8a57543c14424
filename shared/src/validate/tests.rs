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
