//! Rooms, their seats and the matchmaker.
//!
//! A room is known by its id: the name a `Hello` gave it (`main`, `bots-3`: public, started on
//! first use), or a random code the lobby made when a player created it or quick play opened
//! it. Private rooms are never listed and their code is never logged: logs and metrics call
//! a room by its label (its id if public, `private-<serial>` if not).
//!
//! **Seats are reserved before the socket opens.** Quick play, create and join-by-code each
//! reserve a seat under the lobby's lock and hand back a ticket; the `Hello` presents it. A
//! room's occupancy is its seated players plus its live reservations, so two players racing for
//! the last seat cannot both get it. A reservation lasts [`RESERVATION_TTL`]; a `Hello` without a
//! ticket takes one on the spot. The reservation is released (by [`Pass`]) only after the room
//! has answered the join, so a joining player is always counted once or twice, never zero times.
//!
//! **Rooms close when idle.** The reaper closes a room that has had no players (seated or held
//! for a resume) and no reservations for `--room-idle-secs`, which stops its task.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use store::Store;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;
use crate::maps::Maps;
use crate::metrics::Metrics;
use crate::room::{self, RoomHandle, RoomStats};

pub(crate) const DEFAULT_ROOM: &str = "main";
/// How long a reserved seat waits for its `Hello`.
pub(crate) const RESERVATION_TTL: Duration = Duration::from_secs(10);
/// How often the reaper looks for idle rooms and expired reservations.
const REAP_EVERY: Duration = Duration::from_millis(500);
/// Room codes: 10 characters of an alphabet without look-alikes (0/o, 1/l/i): 49 bits.
const CODE_LEN: usize = 10;
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// The only game mode so far, shown in the lobby.
pub(crate) const MODE: &str = "free-for-all";

/// What a room is, as the lobby shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RoomInfo {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) map: String,
    pub(crate) mode: &'static str,
    pub(crate) players: usize,
    /// Spectators watching (not counted in `players`, and no seat).
    pub(crate) spectators: usize,
    pub(crate) capacity: usize,
    pub(crate) public: bool,
    /// `open` while a seat is free, `full` otherwise.
    pub(crate) status: &'static str,
}

/// A room a player asked for in the lobby.
#[derive(Debug, Clone)]
pub(crate) struct NewRoom {
    /// Already checked by `shared::validate::sanitize_room_title`.
    pub(crate) title: String,
    pub(crate) map: String,
    pub(crate) capacity: usize,
    pub(crate) public: bool,
    /// Spectators may chat.
    pub(crate) spectators_chat: bool,
}

/// A reserved seat: the room and the ticket its `Hello` must carry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Offer {
    pub(crate) room: RoomInfo,
    pub(crate) ticket: String,
    pub(crate) expires_in_secs: u64,
    /// The game socket's address when the room runs on another process of the cluster
    /// (`wss://eu2.example.com/ws?join=<signed join ticket>`); `None`: this process.
    pub(crate) ws_url: Option<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LobbyError {
    /// The same answer for a code that never existed and one whose room closed.
    #[error("no such room")]
    NoSuchRoom,
    #[error("room is full")]
    Full,
    #[error("too many rooms on this server: try again later or quick-play")]
    TooManyRooms,
    /// This process is draining (SIGTERM): it opens no room and seats nobody new.
    #[error("this server is restarting: try again shortly")]
    Draining,
    /// The cluster's directory (Redis) did not answer a call that only it can answer.
    #[error("the cluster directory is unavailable right now: try again shortly")]
    Unavailable,
    #[error("unknown map {0:?}")]
    UnknownMap(String),
    #[error("capacity must be 2 to {0} players")]
    BadCapacity(usize),
    #[error("seat reservation expired or unknown: ask the lobby for a seat again")]
    BadTicket,
}

struct Reservation {
    ticket: String,
    /// Who asked (a player key or an address): one live reservation each.
    holder: String,
    expires: Instant,
}

struct Entry {
    info: RoomInfo,
    /// The id of a public room, `private-<serial>` otherwise: what logs and metrics call it.
    label: String,
    handle: RoomHandle,
    stop: CancellationToken,
    seats: Vec<Reservation>,
    idle_since: Option<Instant>,
}

impl Entry {
    fn seated(&self) -> usize {
        self.handle.stats.players.load(Ordering::Relaxed)
    }

    /// Seated players plus live reservations.
    fn occupancy(&self, now: Instant) -> usize {
        self.seated() + self.seats.iter().filter(|seat| seat.expires > now).count()
    }

    fn has_room(&self, now: Instant) -> bool {
        self.occupancy(now) < self.info.capacity
    }

    fn info(&self) -> RoomInfo {
        self.info_counting(self.seated())
    }

    /// The room's info with `players` as its player count (and its status from that count).
    fn info_counting(&self, players: usize) -> RoomInfo {
        let status = if players < self.info.capacity { "open" } else { "full" };
        let spectators = self.handle.stats.spectators.load(Ordering::Relaxed);
        RoomInfo { players, spectators, status, ..self.info.clone() }
    }
}

#[derive(Default)]
struct Directory {
    rooms: BTreeMap<String, Entry>,
    serial: u64,
    /// The map quick play opened its last room on (it rotates).
    last_map: String,
}

pub(crate) struct Lobby {
    config: Arc<ServerConfig>,
    maps: Maps,
    metrics: Arc<Metrics>,
    store: Store,
    cancel: CancellationToken,
    tracker: TaskTracker,
    directory: Mutex<Directory>,
    /// Where public rooms' replays go (`None`: `--replay-keep 0`).
    replays: Option<Arc<crate::recording::Replays>>,
}

impl Lobby {
    pub(crate) fn new(
        config: Arc<ServerConfig>,
        maps: Maps,
        metrics: Arc<Metrics>,
        store: Store,
        cancel: CancellationToken,
        tracker: TaskTracker,
    ) -> Lobby {
        let directory = Mutex::new(Directory::default());
        Lobby { config, maps, metrics, store, cancel, tracker, directory, replays: None }
    }

    /// Records public rooms opened from now on into `replays`.
    pub(crate) fn with_replays(mut self, replays: Option<Arc<crate::recording::Replays>>) -> Lobby {
        self.replays = replays;
        self
    }

    pub(crate) fn replays(&self) -> Option<&Arc<crate::recording::Replays>> {
        self.replays.as_ref()
    }

    fn directory(&self) -> MutexGuard<'_, Directory> {
        self.directory.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn maps(&self) -> &Maps {
        &self.maps
    }

    /// Players a room of this server seats by default.
    pub(crate) fn capacity(&self) -> usize {
        self.config.max_players
    }

    /// A seat in the fullest public room that still has one (counting reservations), or in a
    /// new room on the next map when every room is full.
    pub(crate) fn quick_play(&self, holder: &str) -> Result<Offer, LobbyError> {
        let now = Instant::now();
        let mut directory = self.directory();
        drop_holder(&mut directory, holder);
        let fullest = directory
            .rooms
            .iter()
            .filter(|(_, entry)| entry.info.public && entry.has_room(now))
            .max_by_key(|(id, entry)| (entry.occupancy(now), std::cmp::Reverse(id.as_str())))
            .map(|(id, _)| id.clone());
        let id = match fullest {
            Some(id) => id,
            None => self.open_quick(&mut directory, None)?,
        };
        Ok(reserve(&mut directory, &id, holder, now))
    }

    /// A new public room for quick play, on the next map, under `code` or a fresh one. The
    /// caller holds the lock.
    fn open_quick(
        &self,
        directory: &mut Directory,
        code: Option<String>,
    ) -> Result<String, LobbyError> {
        let map = self.maps.next_after(&directory.last_map).id.clone();
        directory.last_map.clone_from(&map);
        let title = format!("{} {}", title_case(&map), directory.serial + 1);
        let spec = NewRoom {
            title,
            map,
            capacity: self.config.max_players,
            public: true,
            spectators_chat: self.config.spectator_chat,
        };
        let code = code.unwrap_or_else(|| fresh_code(directory));
        self.open(directory, code, spec)
    }

    /// Opens a public quick-play room with no seat reserved (the cluster reserves it in
    /// Redis). Returns its id.
    pub(crate) fn open_for_cluster(&self) -> Result<String, LobbyError> {
        let mut directory = self.directory();
        self.open_quick(&mut directory, None)
    }

    /// The player another process sent here to open quick-play room `code` (a join ticket
    /// whose reservation is `node::OPEN_ROOM`): the room, opened if it is not yet, and the
    /// player's walk-in seat, taken under the same lock, so the room is never seen (by a
    /// heartbeat publishing it to the cluster) without its first player.
    pub(crate) fn admit_opening(
        self: &Arc<Self>,
        code: &str,
    ) -> Result<(RoomHandle, Pass), LobbyError> {
        let now = Instant::now();
        let mut directory = self.directory();
        if !directory.rooms.contains_key(code) {
            self.open_quick(&mut directory, Some(code.to_string()))?;
        }
        if !directory.rooms[code].has_room(now) {
            return Err(LobbyError::Full);
        }
        let ticket = reserve(&mut directory, code, &new_ticket(), now).ticket;
        let handle = directory.rooms[code].handle.clone();
        Ok((handle, Pass { lobby: self.clone(), room: code.to_string(), ticket }))
    }

    /// Opens a room a player created, with no seat reserved (the cluster reserves it).
    pub(crate) fn create_for_cluster(&self, spec: NewRoom) -> Result<String, LobbyError> {
        self.check_spec(&spec)?;
        let mut directory = self.directory();
        let code = fresh_code(&directory);
        self.open(&mut directory, code, spec)
    }

    /// Whether a room `id` runs here.
    pub(crate) fn has(&self, id: &str) -> bool {
        self.directory().rooms.contains_key(id)
    }

    /// Whether `ticket` is a live reservation made here, in room `id`.
    pub(crate) fn holds(&self, id: &str, ticket: &str) -> bool {
        let now = Instant::now();
        self.directory().rooms.get(id).is_some_and(|entry| {
            entry.seats.iter().any(|seat| seat.ticket == ticket && seat.expires > now)
        })
    }

    /// The room `id` for a seat the cluster reserved and this process claimed in Redis.
    pub(crate) fn claimed(&self, id: &str) -> Result<RoomHandle, LobbyError> {
        let directory = self.directory();
        directory.rooms.get(id).map(|entry| entry.handle.clone()).ok_or(LobbyError::BadTicket)
    }

    /// Every room, private ones included, as the cluster's directory lists them: a room's
    /// `players` there are its seated players plus the seats this process holds for players
    /// on their way in (walk-ins, which have no reservation in Redis), so that every other
    /// process counts a seat from the moment its player arrives here.
    pub(crate) fn all_rooms(&self) -> Vec<RoomInfo> {
        let now = Instant::now();
        let directory = self.directory();
        directory.rooms.values().map(|entry| entry.info_counting(entry.occupancy(now))).collect()
    }

    fn check_spec(&self, spec: &NewRoom) -> Result<(), LobbyError> {
        if self.maps.get(&spec.map).is_none() {
            return Err(LobbyError::UnknownMap(spec.map.clone()));
        }
        if !(2..=self.config.max_players).contains(&spec.capacity) {
            return Err(LobbyError::BadCapacity(self.config.max_players));
        }
        Ok(())
    }

    /// A new room with a fresh code, and the creator's seat in it.
    pub(crate) fn create(&self, spec: NewRoom, holder: &str) -> Result<Offer, LobbyError> {
        self.check_spec(&spec)?;
        let mut directory = self.directory();
        drop_holder(&mut directory, holder);
        let code = fresh_code(&directory);
        let id = self.open(&mut directory, code, spec)?;
        Ok(reserve(&mut directory, &id, holder, Instant::now()))
    }

    /// A seat in the room `id` (a code from a link, or a listed room).
    pub(crate) fn join(&self, id: &str, holder: &str) -> Result<Offer, LobbyError> {
        let now = Instant::now();
        let mut directory = self.directory();
        if !directory.rooms.contains_key(id) {
            return Err(LobbyError::NoSuchRoom);
        }
        // Asking for a seat gives back the one asked for before (in this room, too).
        drop_holder(&mut directory, holder);
        if !directory.rooms[id].has_room(now) {
            return Err(LobbyError::Full);
        }
        Ok(reserve(&mut directory, id, holder, now))
    }

    /// The room a `Hello` names, and the pass that holds its seat until the room has answered.
    /// With a ticket, its reservation; with a resume token, the held seat (no pass); with
    /// neither, a seat taken now, the room started first if the name is new.
    pub(crate) fn admit(
        self: &Arc<Self>,
        id: &str,
        ticket: Option<&str>,
        resuming: bool,
    ) -> Result<(RoomHandle, Option<Pass>), LobbyError> {
        let id = if id.is_empty() { DEFAULT_ROOM } else { id };
        let now = Instant::now();
        let mut directory = self.directory();
        if resuming {
            let entry = directory.rooms.get(id).ok_or(LobbyError::NoSuchRoom)?;
            return Ok((entry.handle.clone(), None));
        }
        let ticket = match ticket {
            Some(ticket) => {
                let entry = directory.rooms.get(id).ok_or(LobbyError::BadTicket)?;
                let live =
                    entry.seats.iter().any(|seat| seat.ticket == ticket && seat.expires > now);
                if !live {
                    return Err(LobbyError::BadTicket);
                }
                ticket.to_string()
            }
            None => {
                if !directory.rooms.contains_key(id) {
                    // A closed private room's code must not come back as a public room that
                    // lists it: names shaped like codes are only ever made by the lobby.
                    if is_code_shaped(id) {
                        return Err(LobbyError::NoSuchRoom);
                    }
                    let spec = NewRoom {
                        title: id.to_string(),
                        map: self.maps.default_map().id.clone(),
                        capacity: self.config.max_players,
                        public: true,
                        spectators_chat: self.config.spectator_chat,
                    };
                    self.open(&mut directory, id.to_string(), spec)?;
                }
                if !directory.rooms[id].has_room(now) {
                    return Err(LobbyError::Full);
                }
                // A walk-in holds its own, one-off reservation.
                let walk_in = new_ticket();
                reserve(&mut directory, id, &walk_in, now).ticket
            }
        };
        let handle = directory.rooms[id].handle.clone();
        Ok((handle, Some(Pass { lobby: self.clone(), room: id.to_string(), ticket })))
    }

    /// The room a spectator's `Hello` names (an id or code; empty: the default room), which
    /// must run here: watching never opens a room and takes no seat.
    pub(crate) fn watch(&self, id: &str) -> Result<RoomHandle, LobbyError> {
        let id = if id.is_empty() { DEFAULT_ROOM } else { id };
        let directory = self.directory();
        directory.rooms.get(id).map(|entry| entry.handle.clone()).ok_or(LobbyError::NoSuchRoom)
    }

    /// Starts a room under `id`; the caller holds the lock.
    fn open(
        &self,
        directory: &mut Directory,
        id: String,
        spec: NewRoom,
    ) -> Result<String, LobbyError> {
        if directory.rooms.len() >= self.config.max_rooms {
            return Err(LobbyError::TooManyRooms);
        }
        let map =
            self.maps.get(&spec.map).ok_or_else(|| LobbyError::UnknownMap(spec.map.clone()))?;
        directory.serial += 1;
        let label = if spec.public { id.clone() } else { format!("private-{}", directory.serial) };
        let stop = self.cancel.child_token();
        // Public rooms are recorded from their first tick (an empty world), which is what makes
        // a replay playable from inputs alone.
        let recording = self.replays.as_ref().filter(|_| spec.public).and_then(|replays| {
            let world = shared::sim::World::new(map.clone(), self.config.tick_hz);
            replays.record(&label, &spec.title, map, &world)
        });
        let rules = room::Rules { capacity: spec.capacity, spectators_chat: spec.spectators_chat };
        let handle = room::spawn(
            self.config.clone(),
            map.clone(),
            rules,
            self.metrics.clone(),
            self.store.clone(),
            recording,
            (stop.clone(), &self.tracker),
        );
        tracing::info!(room = %label, map = %spec.map, capacity = spec.capacity, public = spec.public, "room opened");
        let info = RoomInfo {
            id: id.clone(),
            title: spec.title,
            map: spec.map,
            mode: MODE,
            players: 0,
            spectators: 0,
            capacity: spec.capacity,
            public: spec.public,
            status: "open",
        };
        let entry = Entry { info, label, handle, stop, seats: Vec::new(), idle_since: None };
        directory.rooms.insert(id.clone(), entry);
        Ok(id)
    }

    fn release(&self, room: &str, ticket: &str) {
        if let Some(entry) = self.directory().rooms.get_mut(room) {
            entry.seats.retain(|seat| seat.ticket != ticket);
        }
    }

    /// Drops expired reservations and closes rooms idle for `--room-idle-secs`. Returns how
    /// many rooms it closed.
    pub(crate) fn reap(&self, now: Instant) -> usize {
        let idle_for = Duration::from_secs(u64::from(self.config.room_idle_secs));
        let mut directory = self.directory();
        let mut closing = Vec::new();
        for (id, entry) in &mut directory.rooms {
            entry.seats.retain(|seat| seat.expires > now);
            if entry.seated() > 0 || !entry.seats.is_empty() {
                entry.idle_since = None;
                continue;
            }
            let since = *entry.idle_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= idle_for {
                closing.push(id.clone());
            }
        }
        for id in &closing {
            if let Some(entry) = directory.rooms.remove(id) {
                entry.stop.cancel();
                tracing::info!(room = %entry.label, "room closed: idle");
            }
        }
        closing.len()
    }

    /// The public rooms, fullest first.
    pub(crate) fn listing(&self) -> Vec<RoomInfo> {
        let mut rooms: Vec<RoomInfo> =
            self.directory().rooms.values().filter(|e| e.info.public).map(Entry::info).collect();
        rooms.sort_by(|a, b| b.players.cmp(&a.players).then_with(|| a.title.cmp(&b.title)));
        rooms
    }

    /// Every room's label and figures (metrics: never a private code).
    pub(crate) fn stats(&self) -> Vec<(String, Arc<RoomStats>)> {
        let directory = self.directory();
        directory.rooms.values().map(|e| (e.label.clone(), e.handle.stats.clone())).collect()
    }

    /// Rooms running and players in all of them.
    pub(crate) fn totals(&self) -> (usize, usize) {
        let directory = self.directory();
        (directory.rooms.len(), directory.rooms.values().map(Entry::seated).sum())
    }
}

/// Runs the reaper until shutdown.
pub(crate) fn spawn_reaper(lobby: Arc<Lobby>, cancel: CancellationToken, tracker: &TaskTracker) {
    tracker.spawn(async move {
        let mut every = tokio::time::interval(REAP_EVERY);
        loop {
            tokio::select! {
                now = every.tick() => { lobby.reap(now); }
                () = cancel.cancelled() => break,
            }
        }
    });
}

/// Holds a seat's reservation while its session joins; dropping it releases the reservation.
pub(crate) struct Pass {
    lobby: Arc<Lobby>,
    room: String,
    ticket: String,
}

impl Drop for Pass {
    fn drop(&mut self) {
        self.lobby.release(&self.room, &self.ticket);
    }
}

/// A holder has one live reservation: asking again gives the previous seat back.
fn drop_holder(directory: &mut Directory, holder: &str) {
    for entry in directory.rooms.values_mut() {
        entry.seats.retain(|seat| seat.holder != holder);
    }
}

fn reserve(directory: &mut Directory, id: &str, holder: &str, now: Instant) -> Offer {
    let entry = directory.rooms.get_mut(id).expect("the caller checked the room exists");
    let ticket = new_ticket();
    entry.seats.push(Reservation {
        ticket: ticket.clone(),
        holder: holder.to_string(),
        expires: now + RESERVATION_TTL,
    });
    Offer { room: entry.info(), ticket, expires_in_secs: RESERVATION_TTL.as_secs(), ws_url: None }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Without an OS random source codes and tickets would be guessable: refuse to go on.
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes
}

/// A room code no room has: unguessable, short enough to read out.
fn fresh_code(directory: &Directory) -> String {
    loop {
        let code = fresh_cluster_code();
        if !directory.rooms.contains_key(&code) {
            return code;
        }
    }
}

/// A random room code, for a room another process will open (49 bits: a clash in the cluster
/// is as likely as guessing a private room's code).
pub(crate) fn fresh_cluster_code() -> String {
    random_bytes::<CODE_LEN>()
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect()
}

pub(crate) fn is_code_shaped(id: &str) -> bool {
    id.len() == CODE_LEN && id.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// A seat ticket: 128 random bits, hex.
fn new_ticket() -> String {
    random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
