//! Input pacing: which of a player's buffered commands the room applies each tick.
//!
//! Every command is one tick of movement (see `shared::sim::TickInputs`), and clients send a
//! tick's worth of commands per message at whatever rate they like (bots at 20 Hz send three at
//! once to a 60 Hz room). The room applies **one command per tick**, in order, so every ship
//! moves smoothly, one step a tick, the way its owner predicted it; a message's first command
//! (the input just sampled) is applied at the next tick, and the others follow tick by tick.
//!
//! A tick with no command (the message is late) leaves the ship standing and saves one tick
//! of **credit** (up to a cap). If commands then stand in the queue through a short window,
//! they are caught up: applied together, as far as the saved credit allows, so a late message
//! costs its player no distance and no lasting delay; over any stretch of ticks a player never
//! applies more commands than ticks passed plus the cap. What stands beyond the credit (a
//! client whose clock runs fast, a burst) is standing delay: the oldest are dropped (counted by
//! the caller).
//!
//! A client whose messages keep arriving just too late (a tick of jitter around the room's
//! tick) would stop and catch up again and again: its ship stutters for everyone and every
//! stutter costs snapshot bytes. Such a client gets a **reserve**: one command kept queued, so
//! a tick of jitter is absorbed; it costs that client one tick of input latency, and goes once
//! its messages have been on time for a few seconds.

use std::collections::VecDeque;

use shared::protocol::InputCmd;
use shared::tick::ticks_for_secs;

/// The most credit a player can save, in seconds of ticks.
const MAX_CREDIT_SECS: f32 = 0.25;
/// How long commands must stand in the queue before they are caught up or trimmed.
const CATCH_UP_WINDOW_SECS: f32 = 0.2;

#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    /// Ticks that applied no command, not yet caught up (at most `max_credit`).
    credit: u32,
    max_credit: u32,
    window: u32,
    ticks_in_window: u32,
    /// The fewest commands left over after a tick in this window.
    floor: usize,
    /// Commands kept queued on purpose (0 or 1): a jitter buffer for a client whose messages
    /// keep arriving just too late, so a tick of jitter no longer stops its ship.
    reserve: usize,
    /// Ticks in the current second at which a message was late (the ship stood, or the
    /// reserve was used), and seconds since the last one.
    late_ticks: u32,
    calm_seconds: u32,
    ticks_in_second: u32,
    second: u32,
}

/// Late ticks in one second that make a client worth a jitter buffer.
const JITTERY: u32 = 1;
/// Seconds without a late message after which the jitter buffer goes again.
const CALM_SECONDS: u32 = 3;

impl Pacer {
    pub(crate) fn new(tick_hz: u16) -> Pacer {
        Pacer {
            credit: 0,
            max_credit: ticks_for_secs(MAX_CREDIT_SECS, tick_hz).max(2),
            window: ticks_for_secs(CATCH_UP_WINDOW_SECS, tick_hz).max(2),
            ticks_in_window: 0,
            floor: usize::MAX,
            reserve: 0,
            late_ticks: 0,
            calm_seconds: 0,
            ticks_in_second: 0,
            second: u32::from(tick_hz).max(1),
        }
    }

    /// One room tick: hands the commands this tick applies to `apply`, oldest first, and
    /// returns how many standing commands were dropped from the front of `pending`.
    pub(crate) fn tick(
        &mut self,
        pending: &mut VecDeque<InputCmd>,
        mut apply: impl FnMut(InputCmd),
    ) -> usize {
        let stood = match pending.pop_front() {
            Some(cmd) => {
                apply(cmd);
                false
            }
            None => {
                self.credit = (self.credit + 1).min(self.max_credit);
                true
            }
        };
        // A late message: the ship stood, or the reserve was dipped into.
        if stood || pending.len() < self.reserve {
            self.late_ticks += 1;
        }
        self.judge_jitter();
        self.floor = self.floor.min(pending.len());
        self.ticks_in_window += 1;
        if self.ticks_in_window < self.window {
            return 0;
        }
        // What stands beyond the reserve is delay: caught up with saved credit, or dropped.
        let standing = std::mem::replace(&mut self.floor, usize::MAX).saturating_sub(self.reserve);
        self.ticks_in_window = 0;
        let caught_up = standing.min(self.credit as usize);
        self.credit -= caught_up as u32;
        for cmd in pending.drain(..caught_up) {
            apply(cmd);
        }
        pending.drain(..standing - caught_up).count()
    }

    /// Once a second: a client with still ticks again and again gets a reserve of one command
    /// (its next late message leaves the command it brings queued instead of caught up), and
    /// loses it after a few calm seconds (the window then catches the reserve up).
    fn judge_jitter(&mut self) {
        self.ticks_in_second += 1;
        if self.ticks_in_second < self.second {
            return;
        }
        self.ticks_in_second = 0;
        let late = std::mem::take(&mut self.late_ticks);
        self.calm_seconds = if late == 0 { self.calm_seconds + 1 } else { 0 };
        if late >= JITTERY {
            self.reserve = 1;
        } else if self.calm_seconds >= CALM_SECONDS {
            self.reserve = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(seqs: std::ops::RangeInclusive<u32>) -> VecDeque<InputCmd> {
        seqs.map(|seq| InputCmd { seq, ..InputCmd::default() }).collect()
    }

    /// Runs `ticks` ticks; `arrivals(tick)` says how many new commands arrive before that
    /// tick. Returns per tick the sequence numbers applied, and the total dropped.
    fn simulate(
        pacer: &mut Pacer,
        ticks: u32,
        arrivals: impl Fn(u32) -> u32,
    ) -> (Vec<Vec<u32>>, usize) {
        let mut pending = VecDeque::new();
        let mut next = 1;
        let mut applied = Vec::new();
        let mut dropped = 0;
        for tick in 0..ticks {
            let count = arrivals(tick);
            if count > 0 {
                pending.extend(cmds(next..=next + count - 1));
                next += count;
            }
            let mut now = Vec::new();
            dropped += pacer.tick(&mut pending, |cmd| now.push(cmd.seq));
            applied.push(now);
        }
        (applied, dropped)
    }

    #[test]
    fn messages_of_three_commands_move_a_ship_one_step_every_tick() {
        // 20 Hz messages of three commands each into a 60 Hz room.
        let mut pacer = Pacer::new(60);
        let (applied, dropped) =
            simulate(&mut pacer, 600, |tick| if tick % 3 == 0 { 3 } else { 0 });
        for (tick, seqs) in applied.iter().enumerate() {
            assert_eq!(seqs, &vec![tick as u32 + 1], "tick {tick}: one command, in order");
        }
        assert_eq!(dropped, 0, "nothing stands, nothing is dropped");
    }

    #[test]
    fn a_late_message_costs_one_still_tick_then_is_caught_up_whole() {
        let mut pacer = Pacer::new(60);
        // Every 3 ticks, except one message that is two ticks late.
        let arrivals = |tick: u32| match tick {
            30 => 0,
            32 => 3,
            t if t % 3 == 0 => 3,
            _ => 0,
        };
        let (applied, dropped) = simulate(&mut pacer, 120, arrivals);
        let all: Vec<u32> = applied.iter().flatten().copied().collect();
        assert_eq!(all, (1..=all.len() as u32).collect::<Vec<_>>(), "every command once, in order");
        assert_eq!(all.len(), 120, "no distance lost: as many commands as ticks");
        assert_eq!(dropped, 0);
        let still = applied.iter().filter(|seqs| seqs.is_empty()).count();
        assert_eq!(still, 2, "the ship stood still while the message was late");
        assert!(applied[60..].iter().all(|seqs| seqs.len() == 1), "then one a tick again");
    }

    #[test]
    fn a_flood_never_beats_one_command_per_tick_plus_the_cap() {
        let mut pacer = Pacer::new(30);
        let cap = pacer.max_credit as usize;
        let mut pending = cmds(1..=1000);
        let mut applied = 0;
        for ticks in 1..=100 {
            pacer.tick(&mut pending, |_| applied += 1);
            assert!(applied <= ticks + cap, "{applied} commands in {ticks} ticks");
        }
        // Saved-up credit is capped: after a long silence a burst moves at most `cap` extra.
        let mut pacer = Pacer::new(30);
        let mut empty = VecDeque::new();
        for _ in 0..100 {
            pacer.tick(&mut empty, |_| {});
        }
        let ticks = 3 * pacer.window;
        let (applied, dropped) = simulate(&mut pacer, ticks, |tick| if tick == 0 { 50 } else { 0 });
        let moved: usize = applied.iter().map(Vec::len).sum();
        assert!(moved > pacer.window as usize, "saved credit catches up: {moved}");
        assert!(moved <= ticks as usize + cap, "a long silence saves at most the cap: {moved}");
        assert_eq!(moved + dropped, 50, "what credit cannot pay for is dropped, not kept waiting");
    }

    #[test]
    fn a_standing_queue_is_trimmed_back_to_nothing() {
        // A client whose clock runs fast: 31 commands a second into a 30 Hz room.
        let mut pacer = Pacer::new(30);
        let mut pending = VecDeque::new();
        let mut next = 1;
        let mut dropped = 0;
        let mut worst_tail = 0;
        for tick in 0..3000u32 {
            let due = (tick + 1) * 31 / 30 - tick * 31 / 30;
            pending.extend(cmds(next..=next + due - 1));
            next += due;
            dropped += pacer.tick(&mut pending, |_| {});
            if tick > 100 {
                worst_tail = worst_tail.max(pending.len());
            }
        }
        assert!(dropped > 0, "the surplus is dropped");
        assert!(worst_tail <= 2, "the queue never stands more than a command or two: {worst_tail}");
    }

    #[test]
    fn a_jittery_client_gets_a_reserve_and_stops_stuttering() {
        // 20 Hz messages of three commands into a 60 Hz room, each on time or a tick late at
        // random (a fixed pseudo-random pattern): without a reserve, late ones stop the ship.
        let mut pacer = Pacer::new(60);
        let late = |message: u32| (message.wrapping_mul(2_654_435_761) >> 13).is_multiple_of(3);
        let arrivals = |tick: u32| match (tick % 3, late(tick / 3)) {
            (0, false) | (1, true) => 3,
            _ => 0,
        };
        let (applied, dropped) = simulate(&mut pacer, 600, arrivals);
        let still_early = applied[..120].iter().filter(|seqs| seqs.is_empty()).count();
        let still_late = applied[300..].iter().filter(|seqs| seqs.is_empty()).count();
        assert!(still_early >= 1, "at first a late message stops the ship: {still_early}");
        assert_eq!(still_late, 0, "with a reserve, a tick of jitter never does");
        assert!(applied[300..].iter().all(|seqs| seqs.len() == 1), "one step a tick, smooth");
        assert_eq!(pacer.reserve, 1);
        assert_eq!(dropped, 0);
        let all: Vec<u32> = applied.iter().flatten().copied().collect();
        assert_eq!(all, (1..=all.len() as u32).collect::<Vec<_>>(), "every command once, in order");
    }

    #[test]
    fn a_steady_client_keeps_no_reserve_and_a_calm_one_loses_it() {
        let mut pacer = Pacer::new(60);
        simulate(&mut pacer, 600, |tick| if tick % 3 == 0 { 3 } else { 0 });
        assert_eq!(pacer.reserve, 0, "no jitter, no extra latency");
        pacer.reserve = 1;
        pacer.calm_seconds = 0;
        let mut pending = cmds(1..=1);
        for tick in 0..(CALM_SECONDS + 1) * 60 {
            if tick % 3 == 0 {
                pending.extend(cmds(1..=3));
            }
            pacer.tick(&mut pending, |_| {});
        }
        assert_eq!(pacer.reserve, 0, "calm for a few seconds: the reserve goes");
    }
}
