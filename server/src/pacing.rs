//! Input pacing: which of a player's buffered commands the room applies each tick.
//!
//! Every command is one tick of movement (see `shared::sim::TickInputs`), and clients send a
//! tick's worth of commands per message at whatever rate they like (bots at 20 Hz send three at
//! once to a 60 Hz room). The room applies **one command per tick**, in order, on a schedule:
//! command `seq` is due at tick `seq + offset`, the offset set by the player's first command
//! (applied at the next tick), so every ship moves one step a tick, the way its owner
//! predicted it.
//!
//! A tick whose command has not come **repeats the last command** — its movement and aim,
//! never its trigger — for up to a quarter of a second, as servers of fast games do: the ship
//! keeps going the way its owner was steering, which is almost always where the owner's own
//! prediction has it. The repeat is **acknowledged as the command due** that tick, so the
//! owner's reconciliation holds its prediction of that very command against it (equal unless
//! the owner turned on that tick) and a client that had not issued it yet numbers its next
//! command after it (`shared::netcode`). When the late commands come, those the repeats stood
//! in for are **covered**: dropped, as already acknowledged (a shot one of them asked for goes
//! with the next command applied); so a late message costs no stop, no jump, no shot and no
//! delay to the messages after it. Past the repeats the ship stands, and the
//! schedule moves to the commands when they come.
//!
//! The schedule follows the client's rhythm, once a second: a client late again and again (its
//! messages cross the room's tick a little after it) gets its schedule one tick later — one
//! still tick, then its commands wait a tick instead of being guessed; a client whose commands
//! all waited through the second (a clock running fast, a burst after a stall) gets it sooner:
//! the commands that stood are caught up at once as far as its still ticks saved **credit**
//! (up to a cap), the rest dropped (counted by the caller). Over any stretch of ticks a
//! player never applies more commands than ticks passed plus the cap.
//!
//! (Earlier versions stood the ship for a late command and applied it later: each stop and
//! each catch-up a correction in every snapshot that showed the ship, and a queue left standing
//! behind the late message kept every answer of the stretch a tick or more late — the tail of
//! the input latency.)

use std::collections::VecDeque;

use shared::protocol::{InputCmd, buttons};
use shared::tick::ticks_for_secs;

/// The longest run of repeated commands, and the most credit a player can save, in seconds.
const MAX_GUESS_SECS: f32 = 0.25;
/// Late messages in one second that move a client's schedule a tick later.
const LATE_PER_SECOND: u32 = 2;
/// Seconds without a late message before a schedule with commands waiting is moved sooner.
const CALM_SECONDS: u32 = 2;

/// What one tick did besides applying commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Paced {
    /// Commands dropped because they stood queued through a second (a schedule moved sooner
    /// beyond the credit).
    pub(crate) trimmed: usize,
    /// The tick repeated the last command.
    pub(crate) repeated: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    /// The number of the coming tick (the pacer's own count).
    now: i64,
    /// Command `seq` is due at tick `seq + offset`; set by the first command.
    offset: Option<i64>,
    /// The last command applied or covered (what a repeat repeats).
    last: Option<InputCmd>,
    /// The newest sequence number applied or stood in for by a repeat (acknowledged).
    acked: u32,
    /// Ticks in a row that repeated the last command.
    repeats: u32,
    max_repeats: u32,
    /// Still ticks not caught up (at most `max_credit`).
    credit: u32,
    max_credit: u32,
    /// Ticks per judgement of the schedule (one second), and into the current one.
    second: u32,
    ticks_in_second: u32,
    /// Ticks this second at which late commands came, seconds since the last such, and the
    /// fewest commands left waiting after a tick this second.
    late: u32,
    calm_seconds: u32,
    floor: usize,
    /// The schedule moves a tick later at the next tick (a still tick).
    later: bool,
    /// A covered command asked to fire: the next command applied does (see `with_owed_fire`).
    owed_fire: bool,
}

impl Pacer {
    pub(crate) fn new(tick_hz: u16) -> Pacer {
        let max = ticks_for_secs(MAX_GUESS_SECS, tick_hz).max(2);
        Pacer {
            now: 0,
            offset: None,
            last: None,
            acked: 0,
            repeats: 0,
            max_repeats: max,
            credit: 0,
            max_credit: max,
            second: u32::from(tick_hz).max(1),
            ticks_in_second: 0,
            late: 0,
            calm_seconds: 0,
            floor: usize::MAX,
            later: false,
            owed_fire: false,
        }
    }

    /// One room tick: hands the commands this tick applies to `apply`, oldest first (a repeat
    /// has the sequence number of the command it stands in for), and drops the covered and the
    /// trimmed ones from the front of `pending`.
    pub(crate) fn tick(
        &mut self,
        pending: &mut VecDeque<InputCmd>,
        mut apply: impl FnMut(InputCmd),
    ) -> Paced {
        let mut paced = Paced::default();
        let now = self.now;
        self.now += 1;
        if let (None, Some(first)) = (self.offset, pending.front()) {
            self.offset = Some(now - i64::from(first.seq));
        }
        let offset = self.offset.unwrap_or(0);
        if std::mem::take(&mut self.later) {
            self.offset = Some(offset + 1);
            self.stand();
        } else {
            self.cover_late(pending, now);
            let offset = self.offset.unwrap_or(0);
            match pending.front() {
                Some(cmd) if i64::from(cmd.seq) + offset == now => {
                    let cmd = pending.pop_front().expect("there is a front");
                    self.apply_own(cmd, &mut apply);
                }
                // Not come yet (or, from a client skipping numbers, not due yet).
                _ => match self.last.filter(|_| self.repeats < self.max_repeats) {
                    Some(last) => {
                        // The repeat stands in for the command due now and is acknowledged
                        // as it: the client compares its prediction of that command with
                        // where the repeat left the ship, equal unless the owner turned.
                        let due = u32::try_from(now - offset)
                            .unwrap_or(0)
                            .max(self.acked.saturating_add(1));
                        let repeat =
                            InputCmd { seq: due, buttons: last.buttons & !buttons::FIRE, ..last };
                        apply(self.with_owed_fire(repeat));
                        self.acked = due;
                        self.repeats += 1;
                        paced.repeated = true;
                    }
                    // Silent past the repeats (or never heard from): the ship stands, and
                    // the repeats were ticks of their own; what comes next is on time.
                    None => self.stand(),
                },
            }
        }
        self.floor = self.floor.min(pending.len());
        self.ticks_in_second += 1;
        if self.ticks_in_second >= self.second {
            paced.trimmed = self.judge(pending, &mut apply);
        }
        paced
    }

    /// Applies a player's own command (not a repeat): it is what repeats repeat from now on,
    /// and the newest acknowledged.
    fn apply_own(&mut self, cmd: InputCmd, apply: &mut impl FnMut(InputCmd)) {
        apply(self.with_owed_fire(cmd));
        self.last = Some(cmd);
        self.acked = cmd.seq;
        self.repeats = 0;
    }

    /// `cmd`, firing if a covered command asked to: a late message loses no shot, it goes
    /// with the first command applied after it (lag compensation still rewinds to what that
    /// command's owner saw).
    fn with_owed_fire(&mut self, cmd: InputCmd) -> InputCmd {
        match std::mem::take(&mut self.owed_fire) {
            true => InputCmd { buttons: cmd.buttons | buttons::FIRE, ..cmd },
            false => cmd,
        }
    }

    /// A still tick: nothing applied, one tick of credit saved.
    fn stand(&mut self) {
        self.credit = (self.credit + 1).min(self.max_credit);
    }

    /// Drops the commands repeats stood in for (covered: already acknowledged); a late
    /// command no repeat stood in for (the ship stood: silent past the repeats, or the schedule
    /// moved later) moves the schedule to it.
    fn cover_late(&mut self, pending: &mut VecDeque<InputCmd>, now: i64) {
        let mut came_late = false;
        while let Some(&cmd) = pending.front() {
            if cmd.seq <= self.acked {
                pending.pop_front();
                self.owed_fire |= cmd.buttons & buttons::FIRE != 0;
                self.last = Some(cmd);
                came_late = true;
                continue;
            }
            if i64::from(cmd.seq) + self.offset.unwrap_or(0) < now {
                came_late = true;
                self.offset = Some(now - i64::from(cmd.seq));
            }
            break;
        }
        // A gap in the numbering beyond what the queue explains (a client that skipped more
        // numbers than the repeats it followed, or a broken one): the schedule moves to the
        // command that came, rather than wait for it.
        if let Some(cmd) = pending.front() {
            let due = i64::from(cmd.seq) + self.offset.unwrap_or(0);
            if due > now + pending.len() as i64 {
                self.offset = Some(now - i64::from(cmd.seq));
            }
        }
        self.late += u32::from(came_late);
    }

    /// Once a second: a client late again and again gets its schedule a tick later; one whose
    /// commands all waited through calm seconds gets it sooner by as many ticks (caught up as
    /// credit allows, the rest dropped: returned).
    fn judge(
        &mut self,
        pending: &mut VecDeque<InputCmd>,
        apply: &mut impl FnMut(InputCmd),
    ) -> usize {
        self.ticks_in_second = 0;
        let late = std::mem::take(&mut self.late);
        let waited = std::mem::replace(&mut self.floor, usize::MAX);
        self.calm_seconds = if late == 0 { self.calm_seconds + 1 } else { 0 };
        if late >= LATE_PER_SECOND {
            self.later = true;
            return 0;
        }
        if self.calm_seconds < CALM_SECONDS || waited == 0 || waited == usize::MAX {
            return 0;
        }
        let caught_up = waited.min(self.credit as usize);
        self.credit -= caught_up as u32;
        for cmd in pending.drain(..caught_up) {
            self.apply_own(cmd, apply);
        }
        let trimmed = pending.drain(..waited - caught_up).count();
        self.offset = self.offset.map(|offset| offset - waited as i64);
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(seqs: std::ops::RangeInclusive<u32>) -> VecDeque<InputCmd> {
        seqs.map(|seq| InputCmd { seq, ..InputCmd::default() }).collect()
    }

    /// What a run of ticks did.
    #[derive(Default)]
    struct Run {
        /// Per tick, the sequence numbers applied (a repeat's is the command it stands in for).
        applied: Vec<Vec<u32>>,
        /// The ticks that repeated a command.
        repeated: Vec<usize>,
        /// Commands dropped as covered by repeats, and as standing.
        covered: usize,
        trimmed: usize,
        /// Every command applied as itself or covered, in the order the pacer let them go.
        gone: Vec<u32>,
    }

    impl Run {
        fn tick(&mut self, pacer: &mut Pacer, pending: &mut VecDeque<InputCmd>) {
            let before: Vec<u32> = pending.iter().map(|cmd| cmd.seq).collect();
            let mut now = Vec::new();
            let paced = pacer.tick(pending, |cmd| now.push(cmd.seq));
            let real = now.len() - usize::from(paced.repeated);
            let left = before.len() - pending.len();
            self.covered += left - real - paced.trimmed;
            self.trimmed += paced.trimmed;
            // What left the front of the queue, trimmed ones aside.
            let kept: Vec<u32> = before[..left].to_vec();
            self.gone.extend(kept.iter().take(left - paced.trimmed));
            if paced.repeated {
                self.repeated.push(self.applied.len());
            }
            self.applied.push(now);
        }

        fn still(&self) -> usize {
            self.applied.iter().filter(|seqs| seqs.is_empty()).count()
        }
    }

    /// Runs `ticks` ticks; `arrivals(tick)` lists the sizes of the messages that arrive
    /// before that tick.
    fn simulate(pacer: &mut Pacer, ticks: u32, arrivals: impl Fn(u32) -> Vec<u32>) -> Run {
        let mut pending = VecDeque::new();
        let mut next = 1;
        let mut run = Run::default();
        for tick in 0..ticks {
            for count in arrivals(tick) {
                pending.extend(cmds(next..=next + count - 1));
                next += count;
            }
            run.tick(pacer, &mut pending);
        }
        run
    }

    /// Messages of three commands every third tick (20 Hz into a 60 Hz room).
    fn every_third(tick: u32) -> Vec<u32> {
        if tick.is_multiple_of(3) { vec![3] } else { vec![] }
    }

    fn in_order(gone: &[u32]) -> bool {
        gone.iter().copied().eq(1..=gone.len() as u32)
    }

    #[test]
    fn messages_of_three_commands_move_a_ship_one_step_every_tick() {
        let mut pacer = Pacer::new(60);
        let run = simulate(&mut pacer, 600, every_third);
        for (tick, seqs) in run.applied.iter().enumerate() {
            assert_eq!(seqs, &vec![tick as u32 + 1], "tick {tick}: one command, in order");
        }
        assert_eq!((run.trimmed, run.covered, run.repeated.len()), (0, 0, 0), "nothing else");
    }

    #[test]
    fn a_late_message_is_stood_in_for_by_repeats_and_costs_no_stop() {
        // Message 10 (due at tick 30) comes at tick 32, or at tick 33 with message 11.
        for late_until in [32, 33] {
            let mut pacer = Pacer::new(60);
            let arrivals = |tick: u32| match tick {
                30 => vec![],
                33 if late_until == 33 => vec![3, 3],
                t if t == late_until => vec![3],
                t => every_third(t),
            };
            let run = simulate(&mut pacer, 120, arrivals);
            assert_eq!(run.gone, (1..=120).collect::<Vec<_>>(), "every command once, in order");
            assert_eq!(run.still(), 0, "the ship never stood");
            assert!(run.applied.iter().all(|seqs| seqs.len() == 1), "one step every tick");
            let repeated: Vec<usize> = (30..late_until as usize).collect();
            assert_eq!(run.repeated, repeated, "the late ticks repeat the last command");
            assert_eq!(run.covered, repeated.len(), "the commands they stood in for are covered");
            for (tick, seqs) in run.applied.iter().enumerate() {
                assert_eq!(seqs, &vec![tick as u32 + 1], "each tick acknowledges the one due");
            }
        }
    }

    #[test]
    fn a_repeat_moves_and_aims_but_never_fires() {
        let mut pacer = Pacer::new(30);
        let fire = InputCmd {
            seq: 1,
            move_x: 127,
            aim_x: 5,
            buttons: buttons::FIRE,
            ..InputCmd::default()
        };
        let mut pending = VecDeque::from([fire]);
        let mut applied = Vec::new();
        pacer.tick(&mut pending, |cmd| applied.push(cmd));
        let paced = pacer.tick(&mut pending, |cmd| applied.push(cmd));
        assert!(paced.repeated);
        assert_eq!(applied, vec![fire, InputCmd { seq: 2, buttons: 0, ..fire }], "as command 2");
    }

    #[test]
    fn a_silent_client_stops_after_a_quarter_of_a_second_and_resumes_at_once() {
        // Its next command is numbered after the repeats it was told of (`ClientCore`), or,
        // from a client that heard nothing, follows the last it sent.
        for (next, applied) in [(17, vec![17]), (2, vec![17])] {
            let mut pacer = Pacer::new(60);
            let mut pending = VecDeque::new();
            let mut run = Run::default();
            for tick in 0..120 {
                match tick {
                    0 => pending.push_back(InputCmd { seq: 1, ..InputCmd::default() }),
                    100 => pending.extend(cmds(next..=17)),
                    _ => {}
                }
                run.tick(&mut pacer, &mut pending);
            }
            let before = run.repeated.iter().filter(|&&tick| tick < 100).count();
            assert_eq!(before, 15, "repeats for 0.25 s");
            assert_eq!(run.applied[1..16].concat(), (2..=16).collect::<Vec<_>>(), "as 2–16");
            assert_eq!(run.applied[16..100].iter().filter(|s| s.is_empty()).count(), 84);
            assert_eq!(run.applied[100], applied, "its next command at once");
            assert_eq!(run.covered, 17 - next as usize, "the repeated ones dropped");
        }
    }

    /// A shot asked for by a command a repeat stood in for is not lost: the next command
    /// applied fires, once.
    #[test]
    fn a_late_shot_goes_with_the_next_command() {
        let mut pacer = Pacer::new(60);
        let mut pending = cmds(1..=3);
        let mut fired = Vec::new();
        let mut tick = |pacer: &mut Pacer, pending: &mut VecDeque<InputCmd>| {
            pacer.tick(pending, |cmd| fired.push((cmd.seq, cmd.buttons & buttons::FIRE != 0)));
        };
        for _ in 0..4 {
            tick(&mut pacer, &mut pending); // 1, 2, 3, then a repeat standing in for 4.
        }
        // Command 4 (a click) comes late with 5 and 6.
        pending.push_back(InputCmd { seq: 4, buttons: buttons::FIRE, ..InputCmd::default() });
        pending.extend(cmds(5..=6));
        tick(&mut pacer, &mut pending);
        tick(&mut pacer, &mut pending);
        let shots: Vec<u32> = fired.iter().filter(|(_, fire)| *fire).map(|(seq, _)| *seq).collect();
        assert_eq!(fired.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(shots, vec![5], "the shot goes with command 5, once");
    }

    /// A client numbering from the top of the range gets its ship moved and then stood, and
    /// nothing wraps around (a room would stop on an overflow in a debug build).
    #[test]
    fn the_last_sequence_number_is_repeated_without_wrapping() {
        let mut pacer = Pacer::new(30);
        let mut pending = VecDeque::from([InputCmd { seq: u32::MAX, ..InputCmd::default() }]);
        let mut acks = Vec::new();
        for _ in 0..20 {
            pacer.tick(&mut pending, |cmd| acks.push(cmd.seq));
        }
        assert!(acks.iter().all(|&seq| seq == u32::MAX), "{acks:?}");
        assert!(acks.len() <= 1 + pacer.max_repeats as usize, "then the ship stands");
    }

    /// However late or early commands come, no sequence number is acknowledged twice or out of
    /// order: a command a repeat stood in for is dropped when it comes, even after the schedule
    /// moved a tick later.
    #[test]
    fn every_tick_acknowledges_a_newer_command_than_the_last() {
        let mut pacer = Pacer::new(60);
        // Messages of three, each on time, a tick late or two ticks late.
        let delay = |message: u32| (message.wrapping_mul(2_654_435_761) >> 13) % 3;
        let arrivals = |tick: u32| {
            (0..=tick / 3)
                .filter(|&m| m * 3 + delay(m) == tick && (m > 0 || tick == 0))
                .map(|_| 3)
                .collect::<Vec<_>>()
        };
        let run = simulate(&mut pacer, 900, arrivals);
        let acks: Vec<u32> = run.applied.concat();
        assert!(acks.windows(2).all(|w| w[0] < w[1]), "acknowledgements only rise");
        assert!(run.covered > 0 && run.still() > 0, "repeats stood in, the schedule moved");
    }

    #[test]
    fn a_slow_client_stands_about_once_a_second_and_loses_no_distance() {
        // One command per message, 29 a second into a 30 Hz room.
        let mut pacer = Pacer::new(30);
        let arrivals = |tick: u32| {
            let due = (tick + 1) * 29 / 30 - tick * 29 / 30;
            if due > 0 { vec![due] } else { vec![] }
        };
        let run = simulate(&mut pacer, 300, arrivals);
        assert!(in_order(&run.gone), "every command applied or covered once, in order");
        assert!(run.gone.len() >= 280, "{} of 290", run.gone.len());
        assert!(run.still() <= 12, "a still tick a second or so: {}", run.still());
        let moved = run.applied.iter().filter(|seqs| !seqs.is_empty()).count();
        assert!(moved >= 285, "the ship moves on almost every tick: {moved}");
    }

    #[test]
    fn a_message_that_comes_early_is_no_reason_to_hurry() {
        let mut pacer = Pacer::new(60);
        let arrivals = |tick: u32| match tick {
            59 => vec![3],
            60 => vec![],
            t => every_third(t),
        };
        let run = simulate(&mut pacer, 120, arrivals);
        assert_eq!(run.gone, (1..=120).collect::<Vec<_>>());
        for (tick, seqs) in run.applied.iter().enumerate() {
            assert_eq!(seqs, &vec![tick as u32 + 1], "tick {tick}: one step, no hurry");
        }
    }

    #[test]
    fn a_flood_never_beats_one_command_per_tick_plus_the_cap() {
        let mut pacer = Pacer::new(30);
        let cap = pacer.max_credit as usize;
        let mut pending = cmds(1..=1000);
        let mut applied = 0;
        for ticks in 1..=300 {
            pacer.tick(&mut pending, |_| applied += 1);
            assert!(applied <= ticks + cap, "{applied} commands in {ticks} ticks");
        }
        // After a long silence, a burst: the saved credit moves at most `cap` extra.
        let mut pacer = Pacer::new(30);
        let mut empty = VecDeque::new();
        for _ in 0..100 {
            pacer.tick(&mut empty, |_| {});
        }
        let run = simulate(&mut pacer, 120, |tick| if tick == 0 { vec![16] } else { vec![] });
        let moved = run.gone.len();
        assert_eq!(moved + run.trimmed, 16, "applied or dropped");
        assert!(moved <= 120 + cap);
    }

    #[test]
    fn a_standing_queue_is_trimmed_back() {
        // A client whose clock runs fast: 31 commands a second into a 30 Hz room.
        let mut pacer = Pacer::new(30);
        let mut pending = VecDeque::new();
        let mut next = 1;
        let mut run = Run::default();
        let mut worst_tail = 0;
        for tick in 0..3000u32 {
            let due = (tick + 1) * 31 / 30 - tick * 31 / 30;
            pending.extend(cmds(next..=next + due - 1));
            next += due;
            run.tick(&mut pacer, &mut pending);
            worst_tail = worst_tail.max(pending.len());
        }
        assert!(run.trimmed > 0, "the surplus is dropped");
        assert!(worst_tail <= 4, "the queue never stands more than a few commands: {worst_tail}");
        assert!(run.applied.iter().all(|seqs| seqs.len() == 1), "one step a tick");
    }

    #[test]
    fn a_client_late_again_and_again_gets_a_tick_of_slack() {
        // 20 Hz messages of three commands into a 60 Hz room, each on time or a tick late at
        // random (a fixed pseudo-random pattern).
        let mut pacer = Pacer::new(60);
        let late = |message: u32| {
            message > 0 && (message.wrapping_mul(2_654_435_761) >> 13).is_multiple_of(3)
        };
        let arrivals = |tick: u32| match (tick % 3, late(tick / 3)) {
            (0, false) | (1, true) => vec![3],
            _ => vec![],
        };
        let run = simulate(&mut pacer, 600, arrivals);
        assert!(in_order(&run.gone), "every command applied or covered once, in order");
        assert!(run.still() <= 2, "one still tick moves the schedule: {}", run.still());
        let later = run.repeated.iter().filter(|&&tick| tick >= 120).count();
        assert_eq!(later, 0, "after it, a tick of jitter needs no repeat");
        assert!(run.applied[1..].iter().filter(|seqs| seqs.len() != 1).count() <= 2);
    }
}
