//! One spectating connection (`--spectators`): watches a room without a ship, moving its
//! camera (`ClientMsg::Look`) every [`LOOK_EVERY`] along a slow loop over the map, decoding
//! every snapshot and acknowledging nothing (a spectator sends no inputs).

use std::time::Duration;

use glam::Vec2;
use shared::protocol::{ClientMsg, MapPoint};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};

use crate::client::{BotClient, Incoming};

/// How often a spectator moves its camera (the protocol's most: five times a second).
pub const LOOK_EVERY: Duration = Duration::from_millis(200);
/// Seconds for the camera to go once round its loop.
const LOOP_SECS: f32 = 60.0;

/// What one spectator measured.
#[derive(Debug, Default, Clone)]
pub struct Watched {
    pub connected: bool,
    /// Refused, or its connection failed before the end.
    pub failed: bool,
    pub snapshots: u64,
    pub rx_bytes: u64,
    pub connected_secs: f64,
    /// The room's snapshot rate (`Welcome::send_hz`).
    pub expected_hz: f64,
}

/// Where the camera of spectator `index` looks `t` seconds in: an ellipse over the middle
/// of a `size` map, each spectator starting at its own place on it.
pub fn camera_at(index: usize, t: f32, size: Vec2) -> Vec2 {
    let phase = index as f32 * 0.618_034 * std::f32::consts::TAU;
    let angle = phase + t / LOOP_SECS * std::f32::consts::TAU;
    size / 2.0 + Vec2::new(angle.cos(), angle.sin()) * size * 0.35
}

/// Spectator `index` watches `room` (empty: the default room) at `url` until `end`.
pub async fn watch(url: &str, index: usize, room: &str, wait: Duration, end: Instant) -> Watched {
    let mut watched = Watched::default();
    let name = format!("eye{index}");
    let Ok(mut client) = BotClient::spectate(url, &name, room, wait).await else {
        watched.failed = true;
        return watched;
    };
    watched.connected = true;
    watched.expected_hz = f64::from(client.welcome.send_hz);
    let size = client.welcome.map.size();
    let since = Instant::now();
    let mut looks = tokio::time::interval(LOOK_EVERY);
    looks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = sleep_until(end) => break,
            _ = looks.tick() => {
                let at = camera_at(index, since.elapsed().as_secs_f32(), size);
                let look = ClientMsg::Look { at: MapPoint::from_world(at) };
                if client.send(&look).await.is_err() {
                    watched.failed = true;
                    break;
                }
            }
            incoming = client.receive() => match incoming {
                Ok(Incoming::Decoded) => watched.snapshots += 1,
                Ok(Incoming::Closed { .. }) | Err(_) => {
                    watched.failed = true;
                    break;
                }
                Ok(_) => {}
            },
        }
    }
    watched.connected_secs = since.elapsed().as_secs_f64();
    watched.rx_bytes = client.rx_bytes;
    let _ = tokio::time::timeout(Duration::from_secs(2), client.close()).await;
    watched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_camera_stays_over_the_map_and_moves_slowly() {
        let size = Vec2::new(4000.0, 3000.0);
        for index in 0..20 {
            let mut last = camera_at(index, 0.0, size);
            for step in 1..300 {
                let at = camera_at(index, step as f32 * 0.2, size);
                assert!(at.cmpge(Vec2::ZERO).all() && at.cmple(size).all(), "{at}");
                assert!(at.distance(last) < 60.0, "a slow pan: {last} to {at}");
                last = at;
            }
        }
    }
}
