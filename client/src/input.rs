//! Player input from keyboard, mouse and touch, turned into one [`InputCmd`] per tick, and
//! which key does what (steer, open or send chat). Pure state: the wasm shell feeds it DOM
//! events and does what [`KeyOutcome`] says; tests feed it directly.

use std::collections::BTreeSet;

use glam::Vec2;
use shared::protocol::InputCmd;

/// Touch sticks: a drag this long (CSS pixels) is full deflection.
pub const STICK_RADIUS: f32 = 60.0;

/// One virtual thumb stick: where the touch began and where it is now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stick {
    pub touch_id: i32,
    pub origin: Vec2,
    pub current: Vec2,
}

impl Stick {
    /// Deflection, length at most 1.
    pub fn vector(&self) -> Vec2 {
        ((self.current - self.origin) / STICK_RADIUS).clamp_length_max(1.0)
    }
}

/// Where the keyboard's keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The lobby shows: keys belong to its form.
    Lobby,
    /// A room shows and the chat box is not focused: keys steer.
    Game,
    /// The chat box has focus.
    Chat,
    /// A room shows and we watch it without a ship: keys move the camera, Tab picks whom to
    /// follow; the chat is read-only.
    Watching,
}

/// What a key press does, for the shell to carry out ([`InputState::key_pressed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Not the game's: the page handles it (typing, scrolling, tabbing).
    Pass,
    /// Steers or fires: the page must not also scroll.
    Steer,
    /// Enter in the game: focus the chat box.
    OpenChat,
    /// Enter in the chat box: send its line and leave it.
    SendChat,
    /// Escape in the chat box: leave it.
    CloseChat,
    /// Tab while watching: follow the next player.
    FollowNext,
}

/// A touch on the canvas began, moved or ended (or was cancelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TouchPhase {
    Start,
    Move,
    End,
}

#[derive(Clone, Debug, Default)]
pub struct InputState {
    /// Held keys, by `KeyboardEvent.code`.
    keys: BTreeSet<String>,
    /// The pointer on the canvas, CSS pixels from its top-left corner.
    pointer: Option<Vec2>,
    /// Where our ship was last drawn on the canvas (the camera stops at the map's edges, so
    /// not always the centre): the mouse aims from here.
    aim_origin: Option<Vec2>,
    pointer_down: bool,
    /// A press since the last command: a click shorter than a tick still fires once.
    fire_latched: bool,
    /// While typing in the chat box, keys do not steer.
    typing: bool,
    /// Left half of the canvas: moves. Right half: aims and fires.
    pub move_stick: Option<Stick>,
    pub aim_stick: Option<Stick>,
}

const UP: [&str; 2] = ["KeyW", "ArrowUp"];
const DOWN: [&str; 2] = ["KeyS", "ArrowDown"];
const LEFT: [&str; 2] = ["KeyA", "ArrowLeft"];
const RIGHT: [&str; 2] = ["KeyD", "ArrowRight"];
const FIRE: &str = "Space";

impl InputState {
    /// Whether the game uses this key (the shell then prevents the page from scrolling).
    pub fn is_game_key(code: &str) -> bool {
        [UP, DOWN, LEFT, RIGHT].iter().any(|keys| keys.contains(&code)) || code == FIRE
    }

    /// A key went down: `code` is `KeyboardEvent.code` (the key's place, for steering),
    /// `key` its meaning (`"Enter"`, `"Escape"`), `focus` where keys go now.
    pub fn key_pressed(&mut self, code: &str, key: &str, focus: Focus) -> KeyOutcome {
        match (focus, key) {
            (Focus::Chat, "Enter") => KeyOutcome::SendChat,
            (Focus::Chat, "Escape") => KeyOutcome::CloseChat,
            (Focus::Chat | Focus::Lobby, _) => KeyOutcome::Pass,
            (Focus::Game, "Enter") => KeyOutcome::OpenChat,
            (Focus::Game, _) if InputState::is_game_key(code) => {
                self.key_down(code);
                KeyOutcome::Steer
            }
            (Focus::Game, _) => KeyOutcome::Pass,
            (Focus::Watching, "Tab") => KeyOutcome::FollowNext,
            (Focus::Watching, _) if InputState::is_game_key(code) && code != FIRE => {
                self.key_down(code);
                KeyOutcome::Steer
            }
            (Focus::Watching, _) => KeyOutcome::Pass,
        }
    }

    /// The chat box took the keyboard (held keys are released) or gave it back.
    pub fn set_typing(&mut self, typing: bool) {
        self.typing = typing;
        if typing {
            self.release_all();
        }
    }

    /// A touch `id` at `at` (canvas CSS pixels) on a canvas `width` wide: a touch that starts
    /// on the left half is the move stick, on the right half the aim stick.
    pub fn touch(&mut self, phase: TouchPhase, id: i32, at: Vec2, width: f32) {
        match phase {
            TouchPhase::Start => {
                let stick = Some(Stick { touch_id: id, origin: at, current: at });
                if at.x < width / 2.0 {
                    self.move_stick = stick;
                } else {
                    self.aim_stick = stick;
                }
            }
            TouchPhase::Move => {
                for stick in [&mut self.move_stick, &mut self.aim_stick].into_iter().flatten() {
                    if stick.touch_id == id {
                        stick.current = at;
                    }
                }
            }
            TouchPhase::End => {
                for slot in [&mut self.move_stick, &mut self.aim_stick] {
                    if slot.is_some_and(|s| s.touch_id == id) {
                        *slot = None;
                    }
                }
            }
        }
    }

    pub fn key_down(&mut self, code: &str) {
        if self.typing || !InputState::is_game_key(code) {
            return;
        }
        if code == FIRE {
            self.fire_latched = true;
        }
        self.keys.insert(code.to_string());
    }

    pub fn key_up(&mut self, code: &str) {
        self.keys.remove(code);
    }

    /// Drops every held key (the window lost focus, or chat took it).
    pub fn release_all(&mut self) {
        self.keys.clear();
        self.pointer_down = false;
    }

    /// The pointer moved to `at` (canvas CSS pixels).
    pub fn pointer_move(&mut self, at: Vec2) {
        self.pointer = Some(at);
    }

    pub fn pointer_down(&mut self, at: Vec2) {
        self.pointer = Some(at);
        self.pointer_down = true;
        self.fire_latched = true;
    }

    pub fn pointer_up(&mut self) {
        self.pointer_down = false;
    }

    /// Where our ship is drawn now (canvas CSS pixels), from the camera the renderer used.
    pub fn set_aim_origin(&mut self, ship_on_canvas: Vec2) {
        self.aim_origin = Some(ship_on_canvas);
    }

    fn held(&self, codes: [&str; 2]) -> bool {
        codes.iter().any(|code| self.keys.contains(*code))
    }

    /// The command for the next tick (`seq` and `view_tick` are filled in by the app). Clears
    /// the fire latch.
    pub fn command(&mut self) -> InputCmd {
        let axis = |neg: bool, pos: bool| f32::from(i8::from(pos) - i8::from(neg));
        let keys = Vec2::new(
            axis(self.held(LEFT), self.held(RIGHT)),
            axis(self.held(UP), self.held(DOWN)),
        );
        let movement = match self.move_stick {
            Some(stick) => stick.vector(),
            None => keys.normalize_or_zero(),
        };
        let aim = match self.aim_stick {
            Some(stick) if stick.vector().length() > 0.2 => stick.vector(),
            Some(_) => Vec2::ZERO,
            None => match (self.pointer, self.aim_origin) {
                (Some(pointer), Some(ship)) => pointer - ship,
                _ => Vec2::ZERO,
            },
        };
        let fire = self.fire_latched
            || self.pointer_down
            || self.keys.contains(FIRE)
            || self.aim_stick.is_some();
        self.fire_latched = false;
        InputCmd::steer(movement, aim, fire)
    }
}

#[cfg(test)]
mod tests;
