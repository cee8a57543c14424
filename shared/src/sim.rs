//! The authoritative game rules as one pure, deterministic function: [`step`].
//!
//! `step` takes the world and this tick's inputs and returns what happened. It reads no clock,
//! does no IO and iterates only ordered collections, so the same inputs give the same world, bit
//! for bit, on the server, in the browser (prediction) and in the bots. Positions are quantized to
//! the wire's 1/16 unit at the end of every movement, so a snapshot describes the world exactly.

mod combat;
mod movement;
mod spawn;

use std::collections::{BTreeMap, VecDeque};

use glam::Vec2;

use crate::ids::PlayerId;
use crate::map::Map;
use crate::protocol::{GameEvent, InputCmd, PlayerSnap, buttons, quantize_angle, quantize_pos};
use crate::tick::{Tick, ticks_for_secs};

pub use combat::{ShotResult, trace_shot};
pub use movement::{move_player, move_vector, quantize};

/// Collision radius of a ship, in world units.
pub const PLAYER_RADIUS: f32 = 16.0;
/// Top speed, in world units per second.
pub const PLAYER_SPEED: f32 = 200.0;
pub const MAX_HEALTH: u8 = 100;
pub const LASER_DAMAGE: u8 = 25;
pub const LASER_RANGE: f32 = 1000.0;
pub const FIRE_COOLDOWN_SECS: f32 = 0.35;
pub const RESPAWN_SECS: f32 = 3.0;
pub const PICKUP_HEAL: u8 = 40;
/// A player touching a pickup within this distance of its centre takes it.
pub const PICKUP_RADIUS: f32 = 24.0;
pub const PICKUP_RESPAWN_SECS: f32 = 10.0;
/// Lag compensation: a shot is resolved against the world as the shooter saw it, at most this
/// far in the past.
pub const MAX_REWIND_SECS: f32 = 0.25;

/// The commands applied during one tick: none, one or a few per player, each player's in the
/// order they were issued.
///
/// Every command is one tick of its player's movement, so a player moves exactly as far as the
/// commands it sent, whenever they arrive: the server applies each once, a client predicting the
/// same commands lands on the same position, and a tick without a command leaves the ship where
/// it is (aim and trigger stay as last commanded). The server decides how many commands a
/// player may use per tick (see the room's input credit); the simulation applies what it is
/// given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TickInputs {
    /// Sorted by player id; a player's commands keep their insertion order.
    commands: Vec<(PlayerId, InputCmd)>,
}

impl TickInputs {
    pub fn new() -> TickInputs {
        TickInputs::default()
    }

    /// Adds a command for `id` after any already given to it this tick.
    pub fn insert(&mut self, id: PlayerId, cmd: InputCmd) {
        let at = self.commands.partition_point(|(other, _)| *other <= id);
        self.commands.insert(at, (id, cmd));
    }

    /// Forgets every command, keeping the allocation.
    pub fn clear(&mut self) {
        self.commands.clear();
    }

    /// Commands of this tick, by player id, in order.
    pub fn iter(&self) -> impl Iterator<Item = (PlayerId, &InputCmd)> {
        self.commands.iter().map(|(id, cmd)| (*id, cmd))
    }
}

impl FromIterator<(PlayerId, InputCmd)> for TickInputs {
    fn from_iter<I: IntoIterator<Item = (PlayerId, InputCmd)>>(iter: I) -> TickInputs {
        let mut commands: Vec<(PlayerId, InputCmd)> = iter.into_iter().collect();
        // Stable: a player's commands keep their order.
        commands.sort_by_key(|(id, _)| *id);
        TickInputs { commands }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Player {
    pub id: PlayerId,
    pub pos: Vec2,
    /// The displacement of the newest movement command applied (one tick's worth, in world
    /// units, a multiple of the 1/16 grid): where the ship is heading, for dead reckoning and
    /// extrapolation. Kept through ticks without a command; zero while dead.
    pub vel: Vec2,
    /// Unit vector.
    pub aim: Vec2,
    pub health: u8,
    /// `Some` while dead: the tick at which the player respawns.
    pub respawn_at: Option<Tick>,
    /// The first tick at which the player may fire again.
    pub next_fire: Tick,
    pub score: i32,
    pub deaths: u32,
    /// The newest command applied: its aim, trigger and view tick stay in force on ticks
    /// without a fresh command (a held trigger stays held); its movement does not.
    pub last_input: InputCmd,
}

impl Player {
    pub fn alive(&self) -> bool {
        self.respawn_at.is_none()
    }

    pub fn snap(&self) -> PlayerSnap {
        PlayerSnap {
            id: self.id,
            x: quantize_pos(self.pos.x),
            y: quantize_pos(self.pos.y),
            vx: quantize_pos(self.vel.x),
            vy: quantize_pos(self.vel.y),
            aim: quantize_angle(self.aim),
            health: self.health,
            alive: self.alive(),
            score: self.score,
            deaths: self.deaths,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct World {
    /// The last tick simulated.
    pub tick: Tick,
    pub tick_hz: u16,
    pub map: Map,
    pub players: BTreeMap<PlayerId, Player>,
    /// Per map pickup: `None` when available, else the tick it comes back.
    pub pickups: Vec<Option<Tick>>,
    /// Where every living player stood at the end of each recent tick, newest last, for lag
    /// compensation. Holds [`MAX_REWIND_SECS`] worth of ticks.
    pub history: VecDeque<(Tick, Vec<(PlayerId, Vec2)>)>,
}

impl World {
    pub fn new(map: Map, tick_hz: u16) -> World {
        let pickups = vec![None; map.pickups.len()];
        World {
            tick: Tick(0),
            tick_hz,
            map,
            players: BTreeMap::new(),
            pickups,
            history: VecDeque::new(),
        }
    }

    /// Seconds per tick.
    pub fn dt(&self) -> f32 {
        1.0 / f32::from(self.tick_hz)
    }

    /// Adds a player at the safest spawn point. Returns `false` if the id is taken.
    pub fn add_player(&mut self, id: PlayerId) -> bool {
        if self.players.contains_key(&id) {
            return false;
        }
        let pos = spawn::safest_spawn(self);
        let player = Player {
            id,
            pos,
            vel: Vec2::ZERO,
            aim: Vec2::X,
            health: MAX_HEALTH,
            respawn_at: None,
            next_fire: self.tick,
            score: 0,
            deaths: 0,
            last_input: InputCmd::default(),
        };
        self.players.insert(id, player);
        true
    }

    pub fn remove_player(&mut self, id: PlayerId) -> Option<Player> {
        self.players.remove(&id)
    }

    /// Bit `i` set when pickup `i` is available.
    pub fn pickup_bits(&self) -> u64 {
        self.pickups
            .iter()
            .enumerate()
            .filter(|(_, state)| state.is_none())
            .fold(0, |bits, (i, _)| bits | 1 << i)
    }
}

/// Advances the world by one tick. Pure and deterministic.
pub fn step(world: &mut World, inputs: &TickInputs) -> Vec<GameEvent> {
    let mut events = Vec::new();
    world.tick = world.tick.next();
    // Steps run in this order every tick:
    apply_inputs(world, inputs); //             1. Movement and aim.
    spawn::take_pickups(world, &mut events); // 2. Health pickups.
    combat::fire(world, &mut events); //        3. Lasers, damage, kills.
    spawn::respawn_players(world, &mut events); // 4. Dead players whose delay ran out.
    spawn::restore_pickups(world); //           5. Pickups whose delay ran out.
    record_history(world); //                    6. Positions for lag compensation.
    events
}

fn apply_inputs(world: &mut World, inputs: &TickInputs) {
    let dt = world.dt();
    let mut given = inputs.iter().peekable();
    for player in world.players.values_mut() {
        while given.next_if(|(id, _)| *id < player.id).is_some() {}
        while let Some((_, input)) = given.next_if(|(id, _)| *id == player.id) {
            player.last_input = *input;
            if !player.alive() {
                continue;
            }
            let moved = move_player(&world.map, player.pos, move_vector(input), dt);
            player.vel = moved - player.pos;
            player.pos = moved;
            let aim = Vec2::new(f32::from(input.aim_x), f32::from(input.aim_y));
            if aim != Vec2::ZERO {
                player.aim = aim.normalize();
            }
        }
        if !player.alive() {
            player.vel = Vec2::ZERO;
        }
    }
}

fn record_history(world: &mut World) {
    let keep = ticks_for_secs(MAX_REWIND_SECS, world.tick_hz) as usize;
    let mut positions = match world.history.len() >= keep {
        true => world.history.pop_front().map(|(_, v)| v).unwrap_or_default(),
        false => Vec::new(),
    };
    positions.clear();
    positions.extend(world.players.values().filter(|p| p.alive()).map(|p| (p.id, p.pos)));
    world.history.push_back((world.tick, positions));
}

/// Whether `input` asks to fire.
pub fn wants_fire(input: &InputCmd) -> bool {
    input.buttons & buttons::FIRE != 0
}

/// Fire cooldown and respawn delay in ticks at `tick_hz`.
pub fn fire_cooldown_ticks(tick_hz: u16) -> u32 {
    ticks_for_secs(FIRE_COOLDOWN_SECS, tick_hz)
}

#[cfg(test)]
mod tests;
