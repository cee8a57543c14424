use super::*;
use shared::tick::Tick;

/// The sequence numbers the room applies over the next `ticks` ticks (a tick whose command
/// has not come repeats the last one as the one due, see `pacing`).
fn applied(link: &Link, ticks: usize) -> Vec<u32> {
    let mut seqs = Vec::new();
    for _ in 0..ticks {
        link.take_tick_inputs(|cmd| seqs.push(cmd.seq));
    }
    seqs.dedup();
    seqs
}

fn stamp(tick: u32) -> Stamp {
    Stamp { tick: Tick(tick), ack_input: 0 }
}

fn inputs(seqs: &[u32]) -> InputMsg {
    InputMsg {
        ack_tick: Tick(0),
        inputs: seqs.iter().map(|&seq| InputCmd { seq, ..InputCmd::default() }).collect(),
    }
}

#[test]
fn redundant_inputs_are_applied_once_in_order() {
    let link = Link::new(PlayerId(1), Arc::default(), 30);
    link.push_inputs(&inputs(&[1, 2, 3]));
    link.push_inputs(&inputs(&[2, 3, 4]));
    assert_eq!(applied(&link, 4), vec![1, 2, 3, 4], "each sequence number once, oldest first");
}

#[test]
fn input_flood_keeps_only_the_newest() {
    let link = Link::new(PlayerId(1), Arc::default(), 30);
    for seq in 1..=100 {
        link.push_inputs(&inputs(&[seq]));
    }
    let seqs = applied(&link, 1);
    assert_eq!(seqs, vec![85], "the newest {MAX_PENDING_INPUTS} survive, oldest first");
    assert_eq!(
        link.metrics.inputs_dropped.load(std::sync::atomic::Ordering::Relaxed),
        84,
        "the rest are counted as dropped"
    );
}

#[test]
fn snapshot_slot_is_latest_wins() {
    let link = Link::new(PlayerId(1), Arc::default(), 30);
    link.send_reliable(Bytes::from_static(b"event"));
    link.publish_snapshot(stamp(1), Bytes::from_static(b"old"));
    assert_eq!(
        link.take_frame(false),
        Some((Bytes::from_static(b"event"), None)),
        "reliable frames go first, and flow control never holds them"
    );
    assert_eq!(link.take_frame(false), None, "flow control holds the snapshot in the slot");
    link.publish_snapshot(stamp(2), Bytes::from_static(b"new"));
    assert_eq!(
        link.take_frame(true),
        Some((Bytes::from_static(b"new"), Some(stamp(2)))),
        "only the newest snapshot is sent"
    );
    assert_eq!(link.held_snapshot(), None, "nothing written yet");
    link.mark_written(Tick(2));
    assert_eq!(link.held_snapshot(), Some(Tick(2)), "the written snapshot is the baseline");
    assert_eq!(link.take_frame(true), None, "nothing else is queued");
    assert_eq!(
        link.metrics.snapshots_replaced.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "the replaced snapshot is counted"
    );
}

#[test]
fn reliable_queue_overflow_kicks() {
    let link = Link::new(PlayerId(1), Arc::default(), 30);
    for _ in 0..=MAX_QUEUED_FRAMES {
        link.send_reliable(Bytes::from_static(b"e"));
    }
    assert!(link.is_kicked(), "a client that never reads is kicked");
    assert_eq!(lock(&link.outbound).frames.len(), MAX_QUEUED_FRAMES, "the queue stays bounded");
}

#[test]
fn chat_backlog_is_bounded() {
    let link = Link::new(PlayerId(1), Arc::default(), 30);
    let accepted = (0..10).filter(|i| link.push_chat(format!("line {i}"))).count();
    assert_eq!(accepted, MAX_PENDING_CHAT, "at most {MAX_PENDING_CHAT} lines wait for a tick");
}

#[test]
fn acknowledgement_lag_shows_a_client_that_stopped_reading() {
    let link = Link::new(PlayerId(1), Arc::default(), 30);
    assert_eq!(link.ack_lag(Tick(100)), 0, "no lag before a first snapshot is written");
    link.mark_written(Tick(100));
    link.push_inputs(&InputMsg {
        ack_tick: Tick(98),
        inputs: vec![InputCmd { seq: 1, ..InputCmd::default() }],
    });
    assert_eq!(
        (link.in_flight(), link.ack_lag(Tick(101)), link.input_messages()),
        (2, 3, 1),
        "a reading client is two ticks behind what was written, three behind the room"
    );
    link.mark_written(Tick(300));
    link.push_inputs(&InputMsg {
        ack_tick: Tick(98),
        inputs: vec![InputCmd { seq: 2, ..InputCmd::default() }],
    });
    assert_eq!(link.in_flight(), 202, "acks frozen while frames keep being written");
    assert_eq!(link.ack_lag(Tick(400)), 302, "and while flow control holds them back");
}
