//! Input pacing: how many of a player's buffered commands the room applies each tick.
//!
//! Every command is one tick of movement (see `shared::sim::TickInputs`), and clients send a
//! tick's worth of commands per message at whatever rate they like (bots at 20 Hz send three at
//! once to a 60 Hz room). Applying them one per tick would make each wait in a queue for up to
//! a message interval; applying every command the moment it arrives would let a client move
//! faster than the speed limit. So a player earns one tick of **credit** per room tick and each
//! applied command spends one; the balance may be saved up to a cap (idle ticks before a late
//! message) and may go below zero down to the same cap (a message's commands applied together,
//! paid back by the ticks they stand for). Commands that arrive together are all applied at the
//! next tick, yet over any stretch of ticks a player never applies more commands than ticks
//! passed plus twice the cap.
//!
//! A client whose clock runs a little fast, or a burst beyond the cap, would leave a standing
//! queue (each command then waits behind the others: pure latency). The pacer watches the
//! fewest commands left over after each tick over a window; if even that minimum was above
//! zero, those commands are standing delay, and the oldest of them are dropped (counted by the
//! caller).

use std::collections::VecDeque;

use shared::protocol::InputCmd;
use shared::tick::ticks_for_secs;

/// The most credit a player can save up, and the most it may run ahead, in seconds of ticks:
/// covers a message interval at 10 Hz plus jitter.
const MAX_CREDIT_SECS: f32 = 0.15;
/// How long a queue must stand before its floor is trimmed.
const TRIM_WINDOW_SECS: f32 = 0.5;

#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    /// Ticks earned minus commands applied, within `-max_credit..=max_credit`.
    credit: i32,
    max_credit: i32,
    window: u32,
    ticks_in_window: u32,
    /// The fewest commands left over after a tick in this window.
    floor: usize,
}

impl Pacer {
    pub(crate) fn new(tick_hz: u16) -> Pacer {
        Pacer {
            credit: 0,
            max_credit: ticks_for_secs(MAX_CREDIT_SECS, tick_hz).max(2) as i32,
            window: ticks_for_secs(TRIM_WINDOW_SECS, tick_hz).max(2),
            ticks_in_window: 0,
            floor: usize::MAX,
        }
    }

    /// One room tick: hands the commands this tick may apply to `apply`, oldest first, and
    /// returns how many standing commands were trimmed from the front of `pending`.
    pub(crate) fn tick(
        &mut self,
        pending: &mut VecDeque<InputCmd>,
        mut apply: impl FnMut(InputCmd),
    ) -> usize {
        self.credit = (self.credit + 1).min(self.max_credit);
        while self.credit > -self.max_credit {
            let Some(cmd) = pending.pop_front() else { break };
            self.credit -= 1;
            apply(cmd);
        }
        self.floor = self.floor.min(pending.len());
        self.ticks_in_window += 1;
        if self.ticks_in_window < self.window {
            return 0;
        }
        let standing = std::mem::replace(&mut self.floor, usize::MAX);
        self.ticks_in_window = 0;
        pending.drain(..standing).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(seqs: std::ops::RangeInclusive<u32>) -> VecDeque<InputCmd> {
        seqs.map(|seq| InputCmd { seq, ..InputCmd::default() }).collect()
    }

    /// Runs `ticks` ticks, delivering `per_message` new commands every `every` ticks; returns
    /// per tick the sequence numbers applied, and the total trimmed.
    fn simulate(
        pacer: &mut Pacer,
        ticks: u32,
        every: u32,
        per_message: u32,
    ) -> (Vec<Vec<u32>>, usize) {
        let mut pending = VecDeque::new();
        let mut next = 1;
        let mut applied = Vec::new();
        let mut trimmed = 0;
        for tick in 0..ticks {
            if tick % every == 0 {
                pending.extend(cmds(next..=next + per_message - 1));
                next += per_message;
            }
            let mut now = Vec::new();
            trimmed += pacer.tick(&mut pending, |cmd| now.push(cmd.seq));
            applied.push(now);
        }
        (applied, trimmed)
    }

    #[test]
    fn commands_sent_together_after_idle_ticks_are_applied_at_once() {
        // 20 Hz messages of three commands each into a 60 Hz room.
        let mut pacer = Pacer::new(60);
        let (applied, trimmed) = simulate(&mut pacer, 600, 3, 3);
        // From the second message on, every message is applied whole on the tick it arrives.
        for (tick, seqs) in applied.iter().enumerate().skip(3) {
            let expected = if tick % 3 == 0 { 3 } else { 0 };
            assert_eq!(seqs.len(), expected, "tick {tick}: {seqs:?}");
        }
        assert_eq!(trimmed, 0, "nothing stands, nothing is trimmed");
    }

    #[test]
    fn a_flood_never_beats_one_command_per_tick_plus_twice_the_cap() {
        let mut pacer = Pacer::new(30);
        let cap = pacer.max_credit as usize;
        let mut pending = cmds(1..=1000);
        let mut applied = 0;
        for ticks in 1..=100 {
            pacer.tick(&mut pending, |_| applied += 1);
            assert!(applied <= ticks + 2 * cap, "{applied} commands in {ticks} ticks");
        }
        // Saved-up credit is capped: after a long silence a burst moves at most `cap` steps.
        let mut pacer = Pacer::new(30);
        let mut empty = VecDeque::new();
        for _ in 0..100 {
            pacer.tick(&mut empty, |_| {});
        }
        let mut burst = cmds(1..=50);
        let mut at_once = 0;
        pacer.tick(&mut burst, |_| at_once += 1);
        assert_eq!(at_once, 2 * cap, "a long silence saves at most the cap, and runs one ahead");
    }

    #[test]
    fn a_standing_queue_is_trimmed_back_to_nothing() {
        // A client whose clock runs fast: 31 commands a second into a 30 Hz room.
        let mut pacer = Pacer::new(30);
        let mut pending = VecDeque::new();
        let mut next = 1;
        let mut trimmed = 0;
        let mut worst_tail = 0;
        for tick in 0..3000u32 {
            let due = (tick + 1) * 31 / 30 - tick * 31 / 30;
            pending.extend(cmds(next..=next + due - 1));
            next += due;
            trimmed += pacer.tick(&mut pending, |_| {});
            if tick > 100 {
                worst_tail = worst_tail.max(pending.len());
            }
        }
        assert!(trimmed > 0, "the surplus is trimmed");
        assert!(worst_tail <= 2, "the queue never stands more than a command or two: {worst_tail}");
    }
}
