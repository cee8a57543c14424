//! How long the server takes to answer a player's input, kept by its session alone (it both
//! reads the inputs and writes the snapshots, so nothing here is shared or locked): from
//! reading an input message to writing the first snapshot that acknowledges its first new
//! command (the bots time theirs the same way), into `skirmish_input_answer_seconds`.

use std::collections::VecDeque;

use tokio::time::Instant;

use crate::link::MAX_PENDING_INPUTS;
use crate::metrics::Metrics;

/// Input messages read and not yet answered: the first new command's sequence number and when
/// the message was read, oldest first (at most [`MAX_PENDING_INPUTS`]).
#[derive(Default)]
pub(crate) struct Answers {
    waiting: VecDeque<(u32, Instant)>,
}

impl Answers {
    /// An input message whose first new command is `seq` was read at `now`.
    pub(crate) fn read(&mut self, seq: u32, now: Instant) {
        if self.waiting.len() == MAX_PENDING_INPUTS {
            self.waiting.pop_front();
        }
        self.waiting.push_back((seq, now));
    }

    /// A snapshot acknowledging every input up to `ack_input` was written at `now`: each
    /// message it answers for the first time is timed into `metrics`.
    pub(crate) fn written(&mut self, ack_input: u32, now: Instant, metrics: &Metrics) {
        while let Some(&(seq, read_at)) = self.waiting.front() {
            if seq > ack_input {
                break;
            }
            self.waiting.pop_front();
            metrics.observe_answer(now.saturating_duration_since(read_at));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use shared::ids::PlayerId;
    use shared::protocol::{InputCmd, InputMsg};
    use shared::tick::Tick;

    use super::*;
    use crate::link::Link;

    fn inputs(seqs: &[u32]) -> InputMsg {
        InputMsg {
            ack_tick: Tick(0),
            inputs: seqs.iter().map(|&seq| InputCmd { seq, ..InputCmd::default() }).collect(),
        }
    }

    /// Each input message that brought new commands is answered once, by the first snapshot
    /// written that acknowledges its first new command (as the bots time it), and timed from
    /// its reading to that write.
    #[test]
    fn inputs_are_answered_by_the_first_snapshot_that_acknowledges_them() {
        let metrics = Arc::new(Metrics::default());
        let link = Link::new(PlayerId(1), metrics.clone(), 30);
        let mut answers = Answers::default();
        let start = Instant::now();
        let mut read = |seqs: &[u32], at: Instant| {
            if let Some(first_new) = link.push_inputs(&inputs(seqs)) {
                answers.read(first_new, at);
            }
        };
        read(&[1, 2], start);
        read(&[1, 2], start); // Redundant: nothing new, nothing to answer.
        read(&[3], start + Duration::from_millis(10));
        let answered = |metrics: &Metrics| {
            let text = metrics.render(&[], &store::StoreStats::default());
            let count = |bound: &str| {
                let line = format!("skirmish_input_answer_seconds_bucket{{le=\"{bound}\"}} ");
                let at = text.find(&line).expect("the answer histogram is rendered") + line.len();
                let count = text[at..].split_whitespace().next().expect("a count");
                count.parse::<u64>().expect("a number")
            };
            (count("0.03"), count("0.04"), count("+Inf"))
        };
        let ms = |n| start + Duration::from_millis(n);
        answers.written(0, ms(20), &metrics);
        assert_eq!(
            answered(&metrics),
            (0, 0, 0),
            "a snapshot acknowledging nothing answers nothing"
        );
        answers.written(2, ms(35), &metrics);
        assert_eq!(answered(&metrics), (0, 1, 1), "the first message, 35 ms after it was read");
        answers.written(3, ms(40), &metrics);
        assert_eq!(answered(&metrics), (1, 2, 2), "the second, 30 ms after it was read");
        answers.written(3, ms(90), &metrics);
        assert_eq!(answered(&metrics), (1, 2, 2), "answered inputs are not answered again");
        // A client ticking at a third of the room's rate: three commands a message.
        if let Some(first_new) = link.push_inputs(&inputs(&[2, 3, 4, 5, 6])) {
            answers.read(first_new, ms(100));
        }
        answers.written(4, ms(125), &metrics);
        assert_eq!(answered(&metrics), (2, 3, 3), "answered once its first new command is applied");
    }
}
