use std::collections::VecDeque;

use super::*;
use crate::codec::{decode_client, decode_server};
use crate::ids::PlayerId;
use crate::protocol::{ResumeToken, ServerMsg, buttons};
use crate::sim::{self, TickInputs, World};
use crate::view::{ViewBuilder, Viewer};

fn open_map() -> Map {
    Map::from_json(include_str!("../../../assets/maps/open.json")).expect("open map")
}

fn welcome(id: u32, tick_hz: u16, send_hz: u16) -> Welcome {
    Welcome {
        player_id: PlayerId(id),
        tick_hz,
        send_hz,
        server_tick: Tick(0),
        map: open_map(),
        roster: Vec::new(),
        resume_token: ResumeToken([0; 16]),
        resume_grace_secs: 20,
        resumed: false,
        spectator: false,
        spectators_chat: false,
    }
}

#[test]
fn one_command_per_tick_of_local_time_whatever_the_send_rate() {
    let mut core = ClientCore::new(&welcome(1, 60, 20), Fidelity::Full);
    assert_eq!(core.commands_due(1000.0), 1, "the first call issues one");
    let mut total = 0;
    for i in 1..=20 {
        total += core.commands_due(1000.0 + f64::from(i) * 50.0);
    }
    assert_eq!(total, 60, "20 sends over a second carry 60 ticks of commands");
    assert_eq!(core.commands_due(5000.0), MAX_CATCH_UP_COMMANDS, "a stall catches up a little");
    assert_eq!(core.commands_due(5000.0), 0, "and not twice");
}

#[test]
fn a_timer_that_jitters_still_issues_one_command_a_tick() {
    let mut core = ClientCore::new(&welcome(1, 30, 30), Fidelity::Full);
    let period = 1000.0 / 30.0;
    core.commands_due(0.0);
    for i in 1..=300 {
        // Fires up to 4 ms early or late around each period, as a loaded timer does.
        let jitter = [0.0, 4.0, -4.0, 1.0, -1.0][i % 5];
        let due = core.commands_due(f64::from(i as u32) * period + jitter);
        assert_eq!(due, 1, "call {i}: one command, never none then two");
    }
}

#[test]
fn input_messages_number_commands_and_repeat_the_unacknowledged() {
    for fidelity in [Fidelity::Full, Fidelity::Light] {
        let mut core = ClientCore::new(&welcome(1, 30, 30), fidelity);
        let mut seqs = Vec::new();
        for round in 0..5 {
            let message = core.input_message([InputCmd::default(); 3], f64::from(round) * 100.0);
            let Some(ClientMsg::Input(input)) = message else { panic!("an input message") };
            seqs = input.inputs.iter().map(|c| c.seq).collect();
        }
        assert_eq!(seqs, (8..=15).collect::<Vec<_>>(), "{fidelity:?}: the newest eight");
        assert!(core.input_message([], 0.0).is_none(), "no commands, no message");
    }
}

/// A client core on the far side of a link with a fixed delay, sending at its own rate.
struct Remote {
    core: ClientCore,
    viewer: Viewer,
    send_every_ms: f64,
    next_send_ms: f64,
    /// Messages on their way to the server / snapshots on their way to the client, with the
    /// time they arrive.
    upstream: VecDeque<(f64, Vec<u8>)>,
    downstream: VecDeque<(f64, Vec<u8>)>,
    /// Commands the server received and has not applied yet, and the newest seq applied.
    pending: VecDeque<InputCmd>,
    newest_seq_seen: u32,
    last_applied: u32,
    /// The newest snapshot tick the client has received (its baseline on the server).
    held: Option<Tick>,
    in_flight: VecDeque<(f64, Tick)>,
}

/// Runs a 60 Hz room with 20 Hz snapshots for `secs` with clients sending at 20 Hz (Full)
/// and 30 Hz (Light) over 40 ms one-way links, steering in circles and firing; the server
/// applies one command per player per tick, as the room does.
fn run_room(secs: f64) -> Vec<Remote> {
    let (tick_hz, send_hz, one_way_ms) = (60u16, 20u16, 40.0);
    let mut world = World::new(open_map(), tick_hz);
    let mut view = ViewBuilder::new(world.map.size(), 0.0, false);
    let mut remotes: Vec<Remote> = (1..=3)
        .map(|id| {
            world.add_player(PlayerId(id));
            let fidelity = if id == 3 { Fidelity::Light } else { Fidelity::Full };
            Remote {
                core: ClientCore::new(&welcome(id, tick_hz, send_hz), fidelity),
                viewer: Viewer::default(),
                send_every_ms: if id == 3 { 1000.0 / 30.0 } else { 50.0 },
                next_send_ms: f64::from(id) * 7.0,
                upstream: VecDeque::new(),
                downstream: VecDeque::new(),
                pending: VecDeque::new(),
                newest_seq_seen: 0,
                last_applied: 0,
                held: None,
                in_flight: VecDeque::new(),
            }
        })
        .collect();
    let tick_ms = 1000.0 / f64::from(tick_hz);
    let mut inputs = TickInputs::new();
    let mut now = 0.0;
    let mut next_tick = tick_ms;
    while now < secs * 1000.0 {
        now += 1.0;
        for (i, remote) in remotes.iter_mut().enumerate() {
            if now >= remote.next_send_ms {
                remote.next_send_ms += remote.send_every_ms;
                let due = remote.core.commands_due(now);
                let turn = (now / 400.0 + i as f64) as i32;
                let cmd = InputCmd {
                    move_x: [127, 0, -127, 0][(turn % 4) as usize],
                    move_y: [0, 127, 0, -127][(turn % 4) as usize],
                    aim_x: 1,
                    buttons: buttons::FIRE,
                    ..InputCmd::default()
                };
                if let Some(message) = remote.core.input_message((0..due).map(|_| cmd), now) {
                    let bytes = crate::codec::encode_client(&message);
                    remote.upstream.push_back((now + one_way_ms, bytes));
                }
            }
            while remote.upstream.front().is_some_and(|(at, _)| *at <= now) {
                let (_, bytes) = remote.upstream.pop_front().expect("peeked");
                let Ok(ClientMsg::Input(input)) = decode_client(&bytes) else { panic!("input") };
                for cmd in input.inputs {
                    if cmd.seq > remote.newest_seq_seen {
                        remote.newest_seq_seen = cmd.seq;
                        remote.pending.push_back(cmd);
                    }
                }
            }
            while remote.in_flight.front().is_some_and(|(at, _)| *at <= now) {
                remote.held = remote.in_flight.pop_front().map(|(_, tick)| tick);
            }
            while remote.downstream.front().is_some_and(|(at, _)| *at <= now) {
                let (_, bytes) = remote.downstream.pop_front().expect("peeked");
                let Ok(ServerMsg::Snapshot(delta)) = decode_server(&bytes) else { panic!("snap") };
                remote.core.on_snapshot(&delta, now).expect("every snapshot decodes");
            }
        }
        if now < next_tick {
            continue;
        }
        next_tick += tick_ms;
        inputs.clear();
        // One command per player per tick, as the room paces them.
        for remote in &mut remotes {
            if let Some(cmd) = remote.pending.pop_front() {
                remote.last_applied = cmd.seq;
                inputs.insert(remote.core.me, cmd);
            }
        }
        sim::step(&mut world, &inputs);
        if !world.tick.0.is_multiple_of(u32::from(tick_hz / send_hz)) {
            continue;
        }
        view.prepare(&world);
        for remote in &mut remotes {
            let frame = view.snapshot_frame(
                remote.core.me,
                &mut remote.viewer,
                remote.last_applied,
                world.pickup_bits(),
                remote.held,
            );
            // The server's baseline is what the socket delivered (reliable, in order).
            remote.in_flight.push_back((now, world.tick));
            remote.downstream.push_back((now + one_way_ms, frame));
        }
    }
    remotes
}

#[test]
fn a_room_and_client_cores_agree_without_sockets() {
    let remotes = run_room(6.0);
    for remote in &remotes {
        let latest = remote.core.latest().expect("snapshots arrived");
        assert!(latest.tick.0 > 300, "the room ran: tick {}", latest.tick.0);
        assert!(latest.ack_input > 100, "inputs were applied and acknowledged");
        assert!(remote.core.next_seq() > 340, "one command per tick of time was sent");
    }
    for remote in &remotes[..2] {
        assert_eq!(
            remote.core.corrections, 0,
            "prediction at a send rate below the tick rate agrees with the server exactly"
        );
        assert!(remote.core.predictor.position().is_some(), "the ship is predicted");
        assert!(remote.core.render_tick(6000.0).is_some(), "the buffer has a render time");
    }
}

/// A snapshot acknowledging commands this client has not issued (the server stood in for them
/// with repeats: they were late) moves its numbering past them and its input clock on by as
/// many ticks, so the commands it issues next are the ones the server waits for.
#[test]
fn commands_the_server_stood_in_for_are_not_issued_again() {
    for fidelity in [Fidelity::Full, Fidelity::Light] {
        let hz = 60;
        let mut core = ClientCore::new(&welcome(1, hz, 20), fidelity);
        let period = 1000.0 / f64::from(hz);
        core.commands_due(0.0);
        let issued = core.commands_due(3.0 * period);
        assert_eq!(issued, 3);
        core.input_message((0..1 + issued).map(|_| InputCmd::default()), 3.0 * period);
        assert_eq!(core.next_seq(), 5, "commands 1–4 issued");
        // The server has played ticks up to command 6: 5 and 6 were repeats of 4.
        follow_guesses(6, hz, &mut core.next_seq, &mut core.input_clock_ms);
        assert_eq!(core.next_seq(), 7, "the next command is 7");
        assert_eq!(core.commands_due(5.0 * period), 0, "ticks 5 and 6 are played already");
        assert_eq!(core.commands_due(6.0 * period), 1, "then one a tick again");
        // An acknowledgement of commands it did issue changes nothing.
        follow_guesses(3, hz, &mut core.next_seq, &mut core.input_clock_ms);
        assert_eq!(core.next_seq(), 7);
        // However far ahead a server claims to be, the clock moves a quarter second at most.
        follow_guesses(1_000_000, hz, &mut core.next_seq, &mut core.input_clock_ms);
        assert_eq!(core.next_seq(), 1_000_001);
        assert_eq!(core.commands_due(6.0 * period + 250.0), 0);
        assert_eq!(core.commands_due(7.0 * period + 250.0), 1);
        // Nor does the numbering wrap around at the top of the range.
        follow_guesses(u32::MAX, hz, &mut core.next_seq, &mut core.input_clock_ms);
        assert_eq!(core.next_seq(), u32::MAX);
    }
}
