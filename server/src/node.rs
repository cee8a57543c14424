//! This process as one node of a cluster (`--redis-url`): its heartbeat into the `cluster`
//! crate's Redis directory, and the lobby's answers that reach rooms on other processes.
//!
//! **Heartbeat.** Every [`HEARTBEAT`] (and at once when a room opens or the process starts
//! draining) the process publishes itself ([`ProcessInfo`]: id, public URL, players, rooms,
//! capacity, draining) and every room it runs, to live for [`TTL`]. A process that dies
//! leaves the directory by expiry; a Redis that restarted empty is filled again by the next
//! heartbeat.
//!
//! **Seats.** With a cluster, the lobby reserves every seat in Redis (`Directory::reserve`,
//! `quick_play`): one count of free seats for all processes, so two players racing from two
//! processes for one last seat cannot both get it. The answer names the room as its own
//! process knows it, the reservation's ticket, and, when the room runs elsewhere, the game
//! socket's address there with a signed, short-lived [`JoinTicket`] (`/ws?join=…`) that
//! authenticates the player at that process's handshake (no cookie needed across hosts). The
//! room's process claims the ticket in Redis when `Hello` presents it, and releases the claim
//! in the heartbeat that publishes the room's `players` with the player counted, in one atomic
//! step (released earlier, the seat would look free for up to a heartbeat; later, it would be
//! counted twice): the claim travels to the room with the join, and the room lets it go only
//! after storing the count that includes the player. Players with no reservation in Redis
//! (walk-ins, and the first player of a room opened for quick play) are published within the
//! room's `players` from the moment they arrive: the count published is seated players plus
//! the seats the process holds for players on their way in, and the heartbeat is woken.
//!
//! **New rooms.** When no public room has a free seat, quick play opens one on the least
//! loaded process: here, or on another process through a join ticket whose reservation is
//! [`OPEN_ROOM`] (that process opens the room under the code the ticket names when the socket
//! arrives, with that player's seat taken in the same step, so the room is never published
//! without its first player: uncounted, a room filled within a heartbeat took one player too
//! many, who was refused).
//!
//! **Room codes in the directory.** Rooms the lobby makes have random codes, unique in the
//! cluster. Rooms named in a `Hello` (`main`, `bots-3`) exist on every process that was asked
//! for them, so the directory files them as `<name>@<process id>`.
//!
//! **Redis down.** Every call is bounded (`cluster::CALL_TIMEOUT`); the lobby then answers
//! from this process's own rooms, as a server without a cluster would, and says so in the
//! log and `/metrics`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster::{Directory, JoinTicket, ProcessInfo, Reservation, ReserveError, RoomEntry};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth;
use crate::config::ServerConfig;
use crate::lobby::{self, Lobby, LobbyError, NewRoom, Offer, RESERVATION_TTL, RoomInfo};

/// How often a process publishes itself.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a heartbeat's entries live: five heartbeats, so one or two late ones never let a
/// live process lapse, and a dead one is gone within five seconds.
pub(crate) const TTL: Duration = Duration::from_secs(5);
/// The reservation a join ticket carries when it asks the target process to open the room.
pub(crate) const OPEN_ROOM: &str = "open";

/// This process in the cluster.
pub(crate) struct Node {
    directory: Directory,
    id: String,
    public_url: String,
    /// Signs and checks join tickets: derived from the session secret all processes share.
    ticket_key: [u8; 32],
    capacity: u32,
    draining: AtomicBool,
    /// Wakes the heartbeat early (a room opened, draining began).
    wake: Notify,
    /// Claimed seats (directory code, ticket) whose rooms have answered the join: the next
    /// heartbeat releases them in the same atomic step that publishes the room counts with
    /// their players (`Directory::publish_seated`).
    claimed: Arc<Mutex<Vec<(String, String)>>>,
    /// Every live process (its public URL, whether it drains), from the last heartbeat.
    peers: Mutex<HashMap<String, ProcessInfo>>,
    /// Whether the last heartbeat reached Redis (logged on change only).
    connected: AtomicBool,
}

impl Node {
    /// Connects to Redis (bounded by `cluster::CALL_TIMEOUT`): a server asked to join a
    /// cluster that cannot reach it at start fails loudly instead of running alone.
    pub(crate) async fn connect(
        config: &ServerConfig,
        redis_url: &str,
        public_url: String,
        ticket_key: [u8; 32],
    ) -> anyhow::Result<Node> {
        anyhow::ensure!(
            config.session_secret.is_some(),
            "--redis-url needs --session-secret: every process of a cluster must check the others' session cookies and join tickets"
        );
        let id = config.process_id.clone().unwrap_or_else(default_process_id);
        anyhow::ensure!(
            !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)),
            "--process-id must be 1 to 64 letters, digits or -_.: (got {id:?})"
        );
        let directory = Directory::connect(redis_url, &config.cluster_prefix).await?;
        let capacity = config
            .max_rooms
            .saturating_mul(config.max_players)
            .min(config.max_connections)
            .try_into()
            .unwrap_or(u32::MAX);
        tracing::info!(process = %id, %public_url, "cluster: joined");
        Ok(Node {
            directory,
            id,
            public_url,
            ticket_key,
            capacity,
            draining: AtomicBool::new(false),
            wake: Notify::new(),
            claimed: Arc::default(),
            peers: Mutex::new(HashMap::new()),
            connected: AtomicBool::new(true),
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Stops offering this process: the next heartbeat (now) says it is draining.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Wakes the heartbeat: a room opened that the cluster should see now.
    pub(crate) fn publish_soon(&self) {
        self.wake.notify_one();
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// The directory's code for local room `id`.
    pub(crate) fn code_of(&self, id: &str) -> String {
        if lobby::is_code_shaped(id) { id.to_string() } else { format!("{id}@{}", self.id) }
    }

    /// Checks a join ticket from another process (or this one): signature and expiry, with
    /// `grace` more seconds so that a resume after a dropped connection still authenticates.
    pub(crate) fn verify_join(&self, text: &str, grace: u64) -> Option<JoinTicket> {
        let now = auth::now_secs();
        match JoinTicket::verify(&self.ticket_key, text, now.saturating_sub(grace)) {
            Ok(ticket) => Some(ticket),
            Err(err) => {
                tracing::debug!(%err, "join ticket refused");
                None
            }
        }
    }

    /// Claims a seat the cluster reserved in local room `id`; `Ok(false)` for a ticket that is
    /// not (or no longer) a live reservation.
    pub(crate) async fn claim(&self, id: &str, ticket: &str) -> Result<Claim, LobbyError> {
        let code = self.code_of(id);
        match self.directory.claim(&code, ticket).await {
            Ok(true) => {
                Ok(Claim { claimed: self.claimed.clone(), code, ticket: ticket.to_string() })
            }
            Ok(false) => Err(LobbyError::BadTicket),
            Err(err) => {
                tracing::warn!(%err, "cluster: cannot check a seat reservation");
                Err(LobbyError::BadTicket)
            }
        }
    }

    /// Quick play over every process: the fullest public room with a free seat, else a new
    /// room on the least loaded process. Without Redis, this process's own quick play.
    pub(crate) async fn quick_play(
        &self,
        lobby: &Lobby,
        holder: &str,
        player: &str,
    ) -> Result<Offer, LobbyError> {
        let found = match self.directory.quick_play(holder, RESERVATION_TTL).await {
            Ok(found) => found,
            Err(err) => return self.alone(&err, || lobby.quick_play(holder)),
        };
        if let Some((room, reservation)) = found {
            return self.offer_found(&room, &reservation, player).await;
        }
        let target = match self.directory.least_loaded().await {
            Ok(target) => target,
            Err(err) => return self.alone(&err, || lobby.quick_play(holder)),
        };
        match target {
            Some(process) if process.id != self.id => Ok(self.open_there(lobby, &process, player)),
            _ if self.is_draining() => Err(LobbyError::Draining),
            _ => {
                let id = lobby.open_for_cluster()?;
                self.reserve_here(lobby, &id, holder, player).await
            }
        }
    }

    /// A new room here, as a player asked for it, and their seat.
    pub(crate) async fn create(
        &self,
        lobby: &Lobby,
        spec: NewRoom,
        holder: &str,
        player: &str,
    ) -> Result<Offer, LobbyError> {
        if self.is_draining() {
            return Err(LobbyError::Draining);
        }
        let id = lobby.create_for_cluster(spec)?;
        self.reserve_here(lobby, &id, holder, player).await
    }

    /// A seat in the room with directory `code`, wherever it runs.
    pub(crate) async fn join(
        &self,
        lobby: &Lobby,
        code: &str,
        holder: &str,
        player: &str,
    ) -> Result<Offer, LobbyError> {
        let local = code.strip_suffix(&format!("@{}", self.id)).unwrap_or(code);
        if lobby.has(local) {
            // A draining process takes no new players, even for its own rooms.
            if self.is_draining() {
                return Err(LobbyError::NoSuchRoom);
            }
            return self.reserve_here(lobby, local, holder, player).await;
        }
        let room = match self.directory.room(code).await {
            Ok(Some(room)) => room,
            Ok(None) => return Err(LobbyError::NoSuchRoom),
            Err(err) => return self.alone(&err, || lobby.join(code, holder)),
        };
        // Fresh, not the heartbeat's copy: a process that began draining a moment ago must not
        // be sent a player it will refuse.
        self.refresh_peers().await;
        if self.peers().get(&room.process).is_none_or(|peer| peer.draining) {
            // Its process is going away: the room will not take anyone new.
            return Err(LobbyError::NoSuchRoom);
        }
        match self.directory.reserve(&room.code, holder, RESERVATION_TTL).await {
            Ok(reservation) => Ok(self.offer(&room, &reservation, player)),
            Err(ReserveError::Full) => Err(LobbyError::Full),
            Err(ReserveError::NoSuchRoom) => Err(LobbyError::NoSuchRoom),
            Err(ReserveError::Directory(err)) => {
                tracing::warn!(%err, "cluster: cannot reserve a seat on another process");
                Err(LobbyError::Unavailable)
            }
        }
    }

    /// Every public room of the cluster, fullest first, each with the process that runs it;
    /// `None` when Redis cannot be reached.
    pub(crate) async fn listing(&self) -> Option<Vec<serde_json::Value>> {
        let mut rooms = self.directory.rooms().await.ok()?;
        rooms.retain(|room| room.public);
        rooms.sort_by(|a, b| b.players.cmp(&a.players).then_with(|| a.title.cmp(&b.title)));
        let peers = self.peers();
        let rooms = rooms
            .into_iter()
            .map(|room| {
                let info = room_info(&room, &room.code);
                // Watching needs no seat, so no reservation: the page opens the room's own
                // process at `/r/ID?spectate` (that process knows the room by its local id).
                let base = if room.process == self.id {
                    Some(self.public_url.as_str())
                } else {
                    peers.get(&room.process).map(|peer| peer.public_url.as_str())
                };
                let local =
                    room.code.strip_suffix(&format!("@{}", room.process)).unwrap_or(&room.code);
                let watch =
                    base.map(|base| format!("{}/r/{local}?spectate", base.trim_end_matches('/')));
                serde_json::json!({
                    "id": info.id, "title": info.title, "map": info.map, "mode": info.mode,
                    "players": info.players, "capacity": info.capacity, "public": true,
                    "status": info.status, "process": room.process, "watch": watch,
                })
            })
            .collect();
        Some(rooms)
    }

    /// A seat in local room `id`, reserved in Redis so that every process counts it; when
    /// Redis cannot be reached, a local reservation.
    async fn reserve_here(
        &self,
        lobby: &Lobby,
        id: &str,
        holder: &str,
        player: &str,
    ) -> Result<Offer, LobbyError> {
        // The room may be newer than the last heartbeat: publish before reserving in it.
        if let Err(err) = self.publish(lobby).await {
            return self.alone(&err, || lobby.join(id, holder));
        }
        let code = self.code_of(id);
        match self.directory.reserve(&code, holder, RESERVATION_TTL).await {
            Ok(reservation) => {
                let entry = lobby
                    .all_rooms()
                    .into_iter()
                    .find(|room| room.id == id)
                    .map(|info| self.entry(&code, info))
                    .ok_or(LobbyError::NoSuchRoom)?;
                Ok(self.offer(&entry, &reservation, player))
            }
            Err(ReserveError::Full) => Err(LobbyError::Full),
            Err(ReserveError::NoSuchRoom) => Err(LobbyError::NoSuchRoom),
            Err(ReserveError::Directory(err)) => self.alone(&err, || lobby.join(id, holder)),
        }
    }

    /// A seat in a room that `process` will open under a fresh code when the socket arrives.
    fn open_there(&self, lobby: &Lobby, process: &ProcessInfo, player: &str) -> Offer {
        let code = lobby::fresh_cluster_code();
        let room = RoomEntry {
            code: code.clone(),
            process: process.id.clone(),
            title: "Quick play".to_string(),
            map: lobby.maps().default_map().id.clone(),
            players: 0,
            capacity: u32::try_from(lobby.capacity()).unwrap_or(u32::MAX),
            public: true,
        };
        let reservation =
            Reservation { ticket: OPEN_ROOM.to_string(), expires_in: RESERVATION_TTL };
        let mut offer = self.offer_at(&room, &reservation, player, &process.public_url);
        // The socket opens the room: its `Hello` names it and carries no seat ticket.
        offer.ticket = String::new();
        offer
    }

    /// The offer for a reservation in `room`, with the way to its process.
    fn offer(&self, room: &RoomEntry, reservation: &Reservation, player: &str) -> Offer {
        if room.process == self.id {
            let local = room.code.strip_suffix(&format!("@{}", self.id)).unwrap_or(&room.code);
            return Offer {
                room: room_info(room, local),
                ticket: reservation.ticket.clone(),
                expires_in_secs: reservation.expires_in.as_secs(),
                ws_url: None,
            };
        }
        let url = self.peers().get(&room.process).map(|p| p.public_url.clone()).unwrap_or_default();
        self.offer_at(room, reservation, player, &url)
    }

    /// [`Self::offer`] for a room quick play found anywhere in the cluster: its process may
    /// have joined since the last heartbeat read the peers (its address not known yet), so
    /// they are read again first; a process that still has none cannot be offered.
    async fn offer_found(
        &self,
        room: &RoomEntry,
        reservation: &Reservation,
        player: &str,
    ) -> Result<Offer, LobbyError> {
        if room.process != self.id && self.peers().get(&room.process).is_none() {
            self.refresh_peers().await;
            if self.peers().get(&room.process).is_none() {
                tracing::warn!(process = %room.process, "cluster: a room's process has no address");
                return Err(LobbyError::Unavailable);
            }
        }
        Ok(self.offer(room, reservation, player))
    }

    fn offer_at(
        &self,
        room: &RoomEntry,
        reservation: &Reservation,
        player: &str,
        public_url: &str,
    ) -> Offer {
        let expires_at = auth::now_secs() + reservation.expires_in.as_secs();
        let join =
            JoinTicket::sign(&self.ticket_key, &room.code, &reservation.ticket, player, expires_at);
        let local = room.code.strip_suffix(&format!("@{}", room.process)).unwrap_or(&room.code);
        Offer {
            room: room_info(room, local),
            ticket: reservation.ticket.clone(),
            expires_in_secs: reservation.expires_in.as_secs(),
            ws_url: Some(format!("{}/ws?join={join}", ws_base(public_url))),
        }
    }

    /// Redis could not be reached: answer from this process alone.
    fn alone(
        &self,
        err: &cluster::DirectoryError,
        local: impl FnOnce() -> Result<Offer, LobbyError>,
    ) -> Result<Offer, LobbyError> {
        tracing::warn!(%err, "cluster unavailable: the lobby answers from this process alone");
        if self.is_draining() {
            return Err(LobbyError::Draining);
        }
        local()
    }

    /// Whether the request's `Origin` is the public address of a live process of the cluster
    /// (a page served by one process opens a game socket on another).
    pub(crate) fn peer_origin(&self, headers: &axum::http::HeaderMap) -> bool {
        let Some(origin) = headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let origin = origin.trim_end_matches('/');
        origin.eq_ignore_ascii_case(&self.public_url)
            || self.peers().values().any(|peer| peer.public_url.eq_ignore_ascii_case(origin))
    }

    async fn refresh_peers(&self) {
        if let Ok(processes) = self.directory.processes().await {
            *self.peers() = processes.into_iter().map(|p| (p.id.clone(), p)).collect();
        }
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<String, ProcessInfo>> {
        self.peers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn entry(&self, code: &str, info: RoomInfo) -> RoomEntry {
        RoomEntry {
            code: code.to_string(),
            process: self.id.clone(),
            title: info.title,
            map: info.map,
            players: u32::try_from(info.players).unwrap_or(u32::MAX),
            capacity: u32::try_from(info.capacity).unwrap_or(u32::MAX),
            public: info.public,
        }
    }

    /// What this process publishes now.
    fn snapshot(&self, lobby: &Lobby) -> (ProcessInfo, Vec<RoomEntry>) {
        let rooms: Vec<RoomEntry> = lobby
            .all_rooms()
            .into_iter()
            .map(|info| {
                let code = self.code_of(&info.id);
                self.entry(&code, info)
            })
            .collect();
        let process = ProcessInfo {
            id: self.id.clone(),
            public_url: self.public_url.clone(),
            players: rooms.iter().map(|room| room.players).sum(),
            rooms: u32::try_from(rooms.len()).unwrap_or(u32::MAX),
            capacity: self.capacity,
            draining: self.is_draining(),
        };
        (process, rooms)
    }

    async fn publish(&self, lobby: &Lobby) -> Result<(), cluster::DirectoryError> {
        let (process, rooms) = self.snapshot(lobby);
        self.directory.publish(&process, &rooms, TTL).await
    }

    /// One heartbeat: publish, releasing the claims of the players it counts, and refresh
    /// the peers.
    async fn beat(&self, lobby: &Lobby) {
        let seated = std::mem::take(
            &mut *self.claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        // Taken before the snapshot: every seat in `seated` was answered before it is read.
        let (process, rooms) = self.snapshot(lobby);
        let published = self.directory.publish_seated(&process, &rooms, TTL, &seated).await;
        let ok = published.is_ok();
        if self.connected.swap(ok, Ordering::Relaxed) != ok {
            match &published {
                Ok(()) => tracing::info!("cluster: redis reachable again; re-registered"),
                Err(err) => tracing::warn!(%err, "cluster: heartbeat failed; rooms play on"),
            }
        }
        if !ok {
            // A claim not released frees itself after `cluster::CLAIM_HOLD`; try again next time.
            self.claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(seated);
            return;
        }
        self.refresh_peers().await;
    }
}

/// A claimed seat: handed to the room with the join, which drops it once its player count
/// includes the player (or the join failed); the next heartbeat then publishes that count and
/// releases the claim in Redis in one step.
pub(crate) struct Claim {
    claimed: Arc<Mutex<Vec<(String, String)>>>,
    code: String,
    ticket: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let seat = (std::mem::take(&mut self.code), std::mem::take(&mut self.ticket));
        self.claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(seat);
    }
}

/// Publishes every [`HEARTBEAT`] (sooner when woken) until `stop`, then once more as
/// draining with no rooms, so the lobby stops offering this process at once.
pub(crate) fn spawn_heartbeat(
    node: Arc<Node>,
    lobby: Arc<Lobby>,
    stop: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        let mut every = tokio::time::interval(HEARTBEAT);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = node.wake.notified() => {}
                () = stop.cancelled() => break,
            }
            node.beat(&lobby).await;
        }
        node.draining.store(true, Ordering::Relaxed);
        let (process, _) = node.snapshot(&lobby);
        let _ = node.directory.publish(&process, &[], TTL).await;
    });
}

/// The process's id and its cluster counters, in the Prometheus text format, after the rest of
/// `/metrics`.
pub(crate) fn render_metrics(out: &mut String, node: Option<&Node>, draining: bool) {
    use std::fmt::Write as _;
    let version = crate::SERVER_VERSION;
    let id = node.map_or("", Node::id);
    let _ = writeln!(
        out,
        "# HELP skirmish_process_info This process: its cluster id (empty when alone) and version.\n# TYPE skirmish_process_info gauge\nskirmish_process_info{{process=\"{id}\",version=\"{version}\"}} 1"
    );
    let _ = writeln!(
        out,
        "# HELP skirmish_draining 1 while the process drains (no new players).\n# TYPE skirmish_draining gauge\nskirmish_draining {}",
        u8::from(draining)
    );
    let Some(node) = node else { return };
    let stats = node.directory.stats();
    let counters = [
        ("skirmish_cluster_heartbeats_total", "Heartbeats written to Redis.", stats.heartbeats_ok),
        (
            "skirmish_cluster_heartbeats_failed_total",
            "Heartbeats that failed (Redis down or slow).",
            stats.heartbeats_failed,
        ),
        (
            "skirmish_cluster_reservations_total",
            "Seats reserved in Redis by this process's lobby.",
            stats.reservations_granted,
        ),
        (
            "skirmish_cluster_reservations_refused_total",
            "Reservations refused: room full or gone.",
            stats.reservations_refused,
        ),
        (
            "skirmish_cluster_redis_errors_total",
            "Redis calls that failed or timed out.",
            stats.redis_errors,
        ),
        (
            "skirmish_cluster_redis_calls_total",
            "Round trips to Redis (a Lua script is one).",
            stats.redis_calls,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
    }
}

/// What the lobby shows of a room from the directory, named `id`.
fn room_info(room: &RoomEntry, id: &str) -> RoomInfo {
    let players = room.players as usize;
    let capacity = room.capacity as usize;
    RoomInfo {
        id: id.to_string(),
        title: room.title.clone(),
        map: room.map.clone(),
        mode: lobby::MODE,
        players,
        // The directory does not carry spectators (they take no seat).
        spectators: 0,
        capacity,
        public: room.public,
        status: if players < capacity { "open" } else { "full" },
    }
}

/// `ws://` for `http://`, `wss://` for `https://`.
fn ws_base(public_url: &str) -> String {
    let url = public_url.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_string()
    }
}

/// Host name, process id and start time: unique enough, and readable in `/api/cluster`.
fn default_process_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "skirmish".to_string());
    let host: String =
        host.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(32).collect();
    format!("{host}-{}-{}", std::process::id(), auth::now_secs() % 100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_addresses_follow_the_public_scheme() {
        assert_eq!(ws_base("https://eu1.example.com/"), "wss://eu1.example.com");
        assert_eq!(ws_base("http://127.0.0.1:7777"), "ws://127.0.0.1:7777");
    }

    #[test]
    fn default_ids_are_valid_process_ids() {
        let id = default_process_id();
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)), "{id}");
        assert!(id.len() <= 64);
    }
}
