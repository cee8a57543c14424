//! Rooms by name. `Hello` names a room (empty means [`DEFAULT_ROOM`]); rooms start on first use,
//! up to `max_rooms`, and run until shutdown.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use shared::map::Map;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::room::{self, RoomHandle, RoomStats};

pub(crate) const DEFAULT_ROOM: &str = "main";

pub(crate) struct Lobby {
    config: Arc<ServerConfig>,
    map: Map,
    metrics: Arc<Metrics>,
    rooms: Mutex<BTreeMap<String, RoomHandle>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

#[derive(Debug, thiserror::Error)]
#[error("too many rooms")]
pub(crate) struct TooManyRooms;

impl Lobby {
    pub(crate) fn new(
        config: Arc<ServerConfig>,
        map: Map,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
        tracker: TaskTracker,
    ) -> Lobby {
        Lobby { config, map, metrics, rooms: Mutex::new(BTreeMap::new()), cancel, tracker }
    }

    /// The room called `name`, started now if it is new.
    pub(crate) fn room(&self, name: &str) -> Result<RoomHandle, TooManyRooms> {
        let name = if name.is_empty() { DEFAULT_ROOM } else { name };
        let mut rooms = self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(room) = rooms.get(name) {
            return Ok(room.clone());
        }
        if rooms.len() >= self.config.max_rooms {
            return Err(TooManyRooms);
        }
        let room = room::spawn(
            self.config.clone(),
            self.map.clone(),
            self.metrics.clone(),
            self.cancel.clone(),
            &self.tracker,
        );
        rooms.insert(name.to_string(), room.clone());
        tracing::info!(room = name, "room started");
        Ok(room)
    }

    /// Name, population and current tick of each room.
    pub(crate) fn rooms(&self) -> Vec<(String, usize, u32)> {
        let rooms = self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let load = std::sync::atomic::Ordering::Relaxed;
        rooms
            .iter()
            .map(|(name, room)| {
                (name.clone(), room.stats.players.load(load), room.stats.tick.load(load))
            })
            .collect()
    }

    /// Name and figures of each room.
    pub(crate) fn stats(&self) -> Vec<(String, Arc<RoomStats>)> {
        let rooms = self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        rooms.iter().map(|(name, room)| (name.clone(), room.stats.clone())).collect()
    }

    /// Name and population of each room.
    pub(crate) fn populations(&self) -> Vec<(String, usize)> {
        let rooms = self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        rooms
            .iter()
            .map(|(name, room)| {
                (name.clone(), room.stats.players.load(std::sync::atomic::Ordering::Relaxed))
            })
            .collect()
    }
}
