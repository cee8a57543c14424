//! Simulation time: a tick counter and the fixed step derived from the tick rate.

use serde::{Deserialize, Serialize};

/// The default simulation rate of a room, in ticks per second.
pub const DEFAULT_TICK_HZ: u16 = 30;
/// The rates a room may be configured with. The simulation step is `1 / tick_hz` seconds.
pub const TICK_HZ_RANGE: std::ops::RangeInclusive<u16> = 10..=120;

/// A simulation step number. Tick 0 is the room's first step.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Tick(pub u32);

impl Tick {
    pub fn next(self) -> Tick {
        Tick(self.0.wrapping_add(1))
    }

    /// Ticks from `earlier` to `self`, saturating at zero.
    pub fn since(self, earlier: Tick) -> u32 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn plus(self, ticks: u32) -> Tick {
        Tick(self.0.saturating_add(ticks))
    }
}

/// Converts a duration in seconds to a whole number of ticks (at least one).
pub fn ticks_for_secs(secs: f32, tick_hz: u16) -> u32 {
    ((secs * f32::from(tick_hz)).round() as u32).max(1)
}
