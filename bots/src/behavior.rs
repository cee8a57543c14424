//! What a bot does next: a pure function of what it sees and its own seeded random numbers.

use glam::Vec2;
use shared::ids::PlayerId;
use shared::protocol::{InputCmd, Snapshot, dequantize_pos};

/// How a bot plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// A random heading each second, firing now and then (the arena workload).
    Wander,
    /// Steers toward the nearest player and fires when in range.
    Chase,
    /// Connected, reading, sending empty inputs.
    Idle,
    /// Wanders and sends a chat line every few seconds.
    Chatty,
}

impl std::str::FromStr for Behavior {
    type Err = String;

    fn from_str(text: &str) -> Result<Behavior, String> {
        match text {
            "wander" => Ok(Behavior::Wander),
            "chase" => Ok(Behavior::Chase),
            "idle" => Ok(Behavior::Idle),
            "chatty" => Ok(Behavior::Chatty),
            other => Err(format!("unknown behavior `{other}` (wander, chase, idle, chatty)")),
        }
    }
}

/// A small, fast, seedable generator (SplitMix64): bots are reproducible with `--seed`.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// What a bot knows when it decides.
#[derive(Clone, Debug, Default)]
pub struct BotView {
    /// Its own position, once a snapshot has shown it (and it is alive).
    pub me: Option<Vec2>,
    /// Everyone else alive.
    pub others: Vec<(PlayerId, Vec2)>,
}

impl BotView {
    /// What player `me` sees in `snapshot`: itself and everyone else alive.
    pub fn of(snapshot: Option<&Snapshot>, me: PlayerId) -> BotView {
        let mut view = BotView::default();
        for player in snapshot.iter().flat_map(|s| &s.players).filter(|p| p.alive) {
            let pos = Vec2::new(dequantize_pos(player.x), dequantize_pos(player.y));
            if player.id == me {
                view.me = Some(pos);
            } else {
                view.others.push((player.id, pos));
            }
        }
        view
    }
}

/// Range within which a chasing bot fires.
const CHASE_FIRE_RANGE: f32 = 600.0;

pub struct Brain {
    behavior: Behavior,
    rng: Rng,
    heading: Vec2,
    firing: bool,
    /// Decisions until the next change of heading (one second's worth).
    until_turn: u32,
    decisions_per_second: u32,
    until_chat: u32,
}

impl Brain {
    /// `decisions_per_second` is the input rate (one decision per input sent).
    pub fn new(behavior: Behavior, seed: u64, decisions_per_second: u16) -> Brain {
        let decisions_per_second = u32::from(decisions_per_second.max(1));
        let mut rng = Rng::new(seed);
        let until_chat = decisions_per_second * 3
            + (rng.next_u64() % u64::from(decisions_per_second * 3)) as u32;
        Brain {
            behavior,
            rng,
            heading: Vec2::ZERO,
            firing: false,
            until_turn: 0,
            decisions_per_second,
            until_chat,
        }
    }

    pub fn next_input(&mut self, view: &BotView) -> InputCmd {
        match self.behavior {
            Behavior::Idle => InputCmd::default(),
            Behavior::Wander | Behavior::Chatty => self.wander(),
            Behavior::Chase => self.chase(view),
        }
    }

    /// A chat line when a chatty bot's timer runs out (checked once per decision).
    pub fn chat_line(&mut self) -> Option<String> {
        if self.behavior != Behavior::Chatty {
            return None;
        }
        self.until_chat = self.until_chat.saturating_sub(1);
        if self.until_chat > 0 {
            return None;
        }
        self.until_chat = self.decisions_per_second * 3
            + (self.rng.next_u64() % u64::from(self.decisions_per_second * 3)) as u32;
        const LINES: [&str; 5] =
            ["gg", "nice shot", "over here!", "who has the health?", "rematch?"];
        Some(LINES[(self.rng.next_u64() % LINES.len() as u64) as usize].to_string())
    }

    fn wander(&mut self) -> InputCmd {
        if self.until_turn == 0 {
            self.until_turn = self.decisions_per_second;
            let angle = self.rng.unit() * std::f32::consts::TAU;
            self.heading = Vec2::new(angle.cos(), angle.sin());
            if self.rng.unit() < 0.3 {
                self.firing = !self.firing;
            }
        }
        self.until_turn -= 1;
        command(self.heading, self.heading, self.firing)
    }

    fn chase(&mut self, view: &BotView) -> InputCmd {
        let Some(me) = view.me else { return InputCmd::default() };
        let nearest = view
            .others
            .iter()
            .map(|(_, pos)| *pos)
            .min_by(|a, b| a.distance_squared(me).total_cmp(&b.distance_squared(me)));
        match nearest {
            Some(target) => {
                let to = target - me;
                command(to.normalize_or_zero(), to, to.length() < CHASE_FIRE_RANGE)
            }
            None => self.wander(),
        }
    }
}

fn command(direction: Vec2, aim: Vec2, fire: bool) -> InputCmd {
    InputCmd::steer(direction, aim, fire)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::buttons;

    #[test]
    fn wander_turns_once_per_second_and_is_reproducible() {
        let mut a = Brain::new(Behavior::Wander, 7, 30);
        let mut b = Brain::new(Behavior::Wander, 7, 30);
        let view = BotView::default();
        let first: Vec<InputCmd> = (0..90).map(|_| a.next_input(&view)).collect();
        let second: Vec<InputCmd> = (0..90).map(|_| b.next_input(&view)).collect();
        assert_eq!(first, second, "same seed, same inputs");
        let headings = first
            .windows(2)
            .filter(|w| (w[0].move_x, w[0].move_y) != (w[1].move_x, w[1].move_y))
            .count();
        assert!(headings <= 2, "at most one turn per second over three seconds, saw {headings}");
        assert!(
            first
                .iter()
                .all(|c| i32::from(c.move_x).pow(2) + i32::from(c.move_y).pow(2) <= 128 * 128),
            "unit moves"
        );
    }

    #[test]
    fn chase_steers_and_fires_at_the_nearest() {
        let mut brain = Brain::new(Behavior::Chase, 1, 30);
        let view = BotView {
            me: Some(Vec2::new(100.0, 100.0)),
            others: vec![
                (PlayerId(2), Vec2::new(400.0, 100.0)),
                (PlayerId(3), Vec2::new(100.0, 2000.0)),
            ],
        };
        let cmd = brain.next_input(&view);
        assert_eq!((cmd.move_x, cmd.move_y), (127, 0), "heads right, toward the nearer player");
        assert_eq!(cmd.buttons, buttons::FIRE, "fires within range");
    }

    #[test]
    fn idle_sends_nothing_and_only_chatty_chats() {
        let mut idle = Brain::new(Behavior::Idle, 1, 30);
        assert_eq!(idle.next_input(&BotView::default()), InputCmd::default());
        assert!((0..1000).all(|_| idle.chat_line().is_none()), "idle bots never chat");
        let mut chatty = Brain::new(Behavior::Chatty, 1, 30);
        let lines = (0..30 * 30).filter_map(|_| chatty.chat_line()).count();
        assert!((5..=10).contains(&lines), "a chatty bot talks every 3–6 s: {lines} lines in 30 s");
    }
}
