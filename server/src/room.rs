//! One room: a fixed-tick task that owns the [`World`] and its [`Members`].
//!
//! Sessions talk to the room only through a bounded control channel (join, leave) and their
//! links (inputs in, frames out), so a slow or hostile client can never block a tick.
//!
//! Spectators (`spectators`) join through the same channel and get the same frames, built
//! around their camera instead of a ship; they are never in the world, the roster or the
//! events, and a closing room closes their connections.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use shared::codec::encode_server;
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::{GameEvent, InputCmd, ResumeToken, ServerMsg, Welcome, close};
use shared::sim::{self, TickInputs, World};
use shared::tick::{Tick, ticks_for_secs};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use store::{PlayerKey, Store};

use crate::career::Careers;
use crate::close::Close;
use crate::config::ServerConfig;
use crate::feed::Feed;
use crate::link::{Link, Stamp};
use crate::members::Members;
use crate::metrics::{Metrics, TickHistogram, add};
use crate::spectators::Spectators;
use shared::view::{self, MAX_VIEW_HALF, ViewBuilder};

/// Ticks a room may fall behind before it stops catching up and resets its schedule.
const MAX_CATCH_UP_TICKS: u32 = 5;

/// What the rest of the server holds of a room.
#[derive(Clone)]
pub(crate) struct RoomHandle {
    control: mpsc::Sender<Control>,
    pub(crate) stats: Arc<RoomStats>,
}

/// Figures a room publishes for sessions and `/healthz`, without locking.
#[derive(Default)]
pub(crate) struct RoomStats {
    pub(crate) players: AtomicUsize,
    /// Spectators watching (not counted in `players`).
    pub(crate) spectators: AtomicUsize,
    pub(crate) tick: AtomicU32,
    /// This room's tick durations (`/metrics` also has all rooms together).
    pub(crate) ticks: TickHistogram,
}

pub(crate) struct Joined {
    pub(crate) link: Arc<Link>,
    /// The encoded `Welcome`, to be written before any frame of the link.
    pub(crate) welcome: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum JoinError {
    #[error("room is full")]
    Full,
    #[error("room is closed")]
    Closed,
    #[error("resume token not valid (expired or already used)")]
    BadResume,
    #[error("too many spectators")]
    TooManySpectators,
    #[error("spectating is off")]
    SpectatingOff,
}

/// How a connection came into the room, as its `Welcome` says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seated {
    New,
    Resumed,
    /// A spectator: no seat at all.
    Watching,
}

/// A guard whose drop releases a seat's reservation (the lobby's `Pass`): the room only drops
/// it, so it need not know the lobby.
pub(crate) type Hold = Box<dyn Send>;

enum Control {
    Join {
        name: String,
        resume: Option<ResumeToken>,
        player: Option<PlayerKey>,
        /// The lobby's reservation for this seat, released by the room once it has counted
        /// the seat (see `Room::apply_control`).
        pass: Option<Hold>,
        reply: oneshot::Sender<Result<Joined, JoinError>>,
    },
    /// A spectator comes to watch.
    Watch {
        name: String,
        reply: oneshot::Sender<Result<Joined, JoinError>>,
    },
    Leave {
        id: PlayerId,
        link: Arc<Link>,
        clean: bool,
    },
}

impl RoomHandle {
    /// Seats `name` (or resumes the seat of `resume`); `pass`, the lobby's reservation, is
    /// dropped by the room as it counts the seat.
    pub(crate) async fn join(
        &self,
        name: String,
        resume: Option<ResumeToken>,
        player: Option<PlayerKey>,
        pass: Option<Hold>,
    ) -> Result<Joined, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Join { name, resume, player, pass, reply })
            .await
            .map_err(|_| JoinError::Closed)?;
        answer.await.map_err(|_| JoinError::Closed)?
    }

    /// Spectator `name` comes to watch: its link and `Welcome` (`spectator: true`).
    pub(crate) async fn watch(&self, name: String) -> Result<Joined, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.control.send(Control::Watch { name, reply }).await.map_err(|_| JoinError::Closed)?;
        answer.await.map_err(|_| JoinError::Closed)?
    }

    /// The session of `link` ended; `clean` frees the seat, otherwise it is held for a resume.
    pub(crate) async fn leave(&self, id: PlayerId, link: Arc<Link>, clean: bool) {
        // A closed room has no seat to free.
        let _ = self.control.send(Control::Leave { id, link, clean }).await;
    }
}

/// What a room's creator chose beside its map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// Seats, held ones included.
    pub(crate) capacity: usize,
    /// Spectators' chat lines reach the room (as `WatcherChat`); otherwise they are dropped.
    pub(crate) spectators_chat: bool,
}

/// Starts a room task; it stops when `cancel` fires (shutdown, or the lobby closing it).
pub(crate) fn spawn(
    config: Arc<ServerConfig>,
    map: Map,
    rules: Rules,
    metrics: Arc<Metrics>,
    store: Store,
    recording: Option<crate::recording::Recording>,
    (cancel, tracker): (CancellationToken, &tokio_util::task::TaskTracker),
) -> RoomHandle {
    // Every session sends at most one join and one leave, and sessions are capped, so this bound
    // only makes joins wait a tick under a stampede; it never drops one.
    let (control, control_rx) = mpsc::channel(256);
    let stats = Arc::new(RoomStats::default());
    let room = Room {
        view: ViewBuilder::new(map.size(), config.view_radius, config.full_snapshots)
            .with_stride(config.ticks_per_send()),
        world: World::new(map, config.tick_hz),
        members: Members::default(),
        spectators: Spectators::new(config.max_spectators),
        events: Vec::new(),
        recent_events: VecDeque::new(),
        inputs: TickInputs::new(),
        stats: stats.clone(),
        metrics,
        capacity: rules.capacity,
        spectators_chat: rules.spectators_chat,
        careers: Careers::default(),
        store,
        recording,
        config,
    };
    tracker.spawn(room.run(control_rx, cancel));
    RoomHandle { control, stats }
}

struct Room {
    config: Arc<ServerConfig>,
    /// Seats, held ones included (at most `--max-players`).
    capacity: usize,
    /// Whether spectators' chat lines reach the room.
    spectators_chat: bool,
    world: World,
    members: Members,
    spectators: Spectators,
    /// This tick's events so far.
    events: Vec<GameEvent>,
    /// The events of the last send interval's ticks, oldest first: a member is sent those of
    /// the ticks since its last snapshot, reliably, just before the next.
    recent_events: VecDeque<Vec<GameEvent>>,
    /// This tick's commands (kept to reuse the allocation).
    inputs: TickInputs,
    view: ViewBuilder,
    stats: Arc<RoomStats>,
    metrics: Arc<Metrics>,
    /// Names, kills and matches of the players with a key, for the leaderboard.
    careers: Careers,
    store: Store,
    /// This room's replay, while it is recorded.
    recording: Option<crate::recording::Recording>,
}

impl Room {
    async fn run(mut self, mut control: mpsc::Receiver<Control>, cancel: CancellationToken) {
        let period = Duration::from_secs_f64(1.0 / f64::from(self.config.tick_hz));
        let mut ticker = tokio::time::interval(period);
        // Burst: a late tick is made up at once so the room keeps its exact tick rate; the
        // catch-up is bounded below, so a long stall does not turn into a storm of steps.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        loop {
            let scheduled = tokio::select! {
                scheduled = ticker.tick() => scheduled,
                () = cancel.cancelled() => break,
            };
            if Instant::now().saturating_duration_since(scheduled) > period * MAX_CATCH_UP_TICKS {
                add(&self.metrics.tick_overruns, 1);
                ticker.reset();
            }
            let started = std::time::Instant::now();
            self.tick(&mut control);
            let took = started.elapsed();
            self.metrics.observe_tick(took);
            self.stats.ticks.observe(took);
        }
        // Closing (shutdown, or idle): players still connected and spectators are told, every
        // seat's match ends here, and the replay.
        for (_, _, link) in self.members.connected() {
            link.kick(Close::restart());
        }
        let watching = self.spectators.close_all(&Close::new(close::RESTART, "the room closed"));
        self.metrics.spectators.fetch_sub(watching as u64, Ordering::Relaxed);
        for record in self.careers.all_left(self.world.tick, self.config.tick_hz, unix_now()) {
            self.store.record(record);
        }
        if let Some(recording) = self.recording.take() {
            recording.finish(&self.world).await;
        }
    }

    /// One simulation tick. The phases run in this order every time.
    fn tick(&mut self, control: &mut mpsc::Receiver<Control>) {
        self.apply_control(control); //                     1. Joins, leaves, resumes, expiries.
        self.drain_inputs(); //                              2. Paced commands, chat lines.
        let events = sim::step(&mut self.world, &self.inputs); // 3. The pure step.
        self.record_replay();
        self.record_kills(&events);
        self.events.extend(events);
        self.publish(); //                                   4. Events, scoreboard, snapshots.
        self.stats.tick.store(self.world.tick.0, Ordering::Relaxed);
    }

    fn apply_control(&mut self, control: &mut mpsc::Receiver<Control>) {
        while let Ok(message) = control.try_recv() {
            match message {
                Control::Join { name, resume, player, pass, reply } => {
                    let result = self.join(name, resume, player);
                    // The lobby counts seated players plus live reservations: the seat is
                    // counted before its reservation goes, never both for longer than this
                    // (a session dropping the pass after the room's count was published
                    // counted a whole batch of joins twice, refusing walk-ins to a room
                    // with free seats).
                    self.stats.players.store(self.members.len(), Ordering::Relaxed);
                    drop(pass);
                    if let Err(Ok(joined)) = reply.send(result) {
                        // The session gave up waiting: let the seat go the unclean way.
                        self.leave(joined.link.player_id, &joined.link, false);
                    }
                }
                Control::Watch { name, reply } => {
                    let result = self.watch(name);
                    if let Err(Ok(joined)) = reply.send(result) {
                        self.leave(joined.link.player_id, &joined.link, true);
                    }
                }
                Control::Leave { id, link, clean } => self.leave(id, &link, clean),
            }
        }
        let grace = ticks_for_secs(f32::from(self.config.resume_grace_secs), self.config.tick_hz);
        for (id, member) in self.members.expire(self.world.tick, grace) {
            self.remove(id, &member.name, "resume grace period over");
        }
        self.stats.players.store(self.members.len(), Ordering::Relaxed);
        self.stats.spectators.store(self.spectators.len(), Ordering::Relaxed);
    }

    fn join(
        &mut self,
        name: String,
        resume: Option<ResumeToken>,
        player: Option<PlayerKey>,
    ) -> Result<Joined, JoinError> {
        if let Some(token) = resume {
            return self.resume(token);
        }
        if self.members.len() >= self.capacity {
            return Err(JoinError::Full);
        }
        let (metrics, tick_hz) = (self.metrics.clone(), self.config.tick_hz);
        let (id, link, token) =
            self.members.add(name.clone(), |id| Arc::new(Link::new(id, metrics, tick_hz)));
        self.world.add_player(id);
        if let Some(recording) = &mut self.recording {
            recording.joined(id, &name);
        }
        if let Some(seen) = self.careers.seated(id, player, &name, self.world.tick, unix_now()) {
            self.store.record(seen);
        }
        self.events.push(GameEvent::Joined { id, name: name.clone() });
        tracing::info!(player = %id, %name, players = self.members.len(), "player joined");
        Ok(Joined { welcome: self.welcome(id, token, Seated::New), link })
    }

    /// A spectator watching: no seat, no ship, no event; its own cap.
    fn watch(&mut self, name: String) -> Result<Joined, JoinError> {
        if self.config.max_spectators == 0 {
            return Err(JoinError::SpectatingOff);
        }
        if !self.spectators.has_room() {
            return Err(JoinError::TooManySpectators);
        }
        let (metrics, tick_hz) = (self.metrics.clone(), self.config.tick_hz);
        let (id, link) = self
            .spectators
            .add(name.clone(), |id| Arc::new(Link::for_spectator(id, metrics, tick_hz)));
        add(&self.metrics.spectators, 1);
        let spectators = self.spectators.len();
        tracing::info!(spectator = %id, %name, spectators, "spectator joined");
        // The token resumes nothing: spectators are never held for a resume.
        let welcome = self.welcome(id, crate::members::new_token(), Seated::Watching);
        Ok(Joined { welcome, link })
    }

    fn resume(&mut self, token: ResumeToken) -> Result<Joined, JoinError> {
        let (metrics, tick_hz) = (self.metrics.clone(), self.config.tick_hz);
        let resumed = self
            .members
            .resume(token, |id| Arc::new(Link::new(id, metrics, tick_hz)))
            .ok_or(JoinError::BadResume)?;
        if let Some(stale) = resumed.stale {
            stale.kick(Close::new(close::POLICY, "resumed on another connection"));
        }
        tracing::info!(player = %resumed.id, "player resumed");
        Ok(Joined {
            welcome: self.welcome(resumed.id, resumed.token, Seated::Resumed),
            link: resumed.link,
        })
    }

    fn welcome(&self, id: PlayerId, token: ResumeToken, seated: Seated) -> Bytes {
        let welcome = Welcome {
            player_id: id,
            tick_hz: self.config.tick_hz,
            send_hz: self.config.effective_send_hz(),
            server_tick: self.world.tick,
            map: self.world.map.clone(),
            roster: self.members.roster(),
            resume_token: token,
            resume_grace_secs: self.config.resume_grace_secs,
            resumed: seated == Seated::Resumed,
            spectator: seated == Seated::Watching,
            spectators_chat: self.spectators_chat,
        };
        Bytes::from(encode_server(&ServerMsg::Welcome(Box::new(welcome))))
    }

    fn leave(&mut self, id: PlayerId, link: &Arc<Link>, clean: bool) {
        if link.spectator {
            if let Some(spectator) = self.spectators.remove(id, link) {
                self.metrics.spectators.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(spectator = %id, name = %spectator.name, "spectator left");
            }
            return;
        }
        if let Some(member) = self.members.disconnect(id, link, clean, self.world.tick) {
            self.remove(id, &member.name, "left");
        } else if !clean {
            // Held for a resume: the ship stops where it is, still in the game.
            if let Some(player) = self.world.players.get_mut(&id) {
                player.last_input = InputCmd::default();
                player.vel = glam::Vec2::ZERO;
            }
        }
    }

    fn remove(&mut self, id: PlayerId, name: &str, why: &str) {
        self.world.remove_player(id);
        if let Some(recording) = &mut self.recording {
            recording.left(id);
        }
        let tick_hz = self.config.tick_hz;
        if let Some(ended) = self.careers.left(id, self.world.tick, tick_hz, unix_now()) {
            self.store.record(ended);
        }
        self.events.push(GameEvent::Left { id });
        tracing::info!(player = %id, %name, players = self.members.len(), why, "player removed");
    }

    /// The tick's seat changes and commands into the replay; a recording that ended is
    /// finished on its own task.
    fn record_replay(&mut self) {
        let Some(recording) = &mut self.recording else { return };
        if !recording.stepped(&self.inputs, &self.world) {
            let (recording, world) = (self.recording.take(), self.world.clone());
            if let Some(recording) = recording {
                tokio::spawn(async move { recording.finish(&world).await });
            }
        }
    }

    /// Kills go to the store (never blocking: a full queue drops and counts).
    fn record_kills(&mut self, events: &[GameEvent]) {
        // Most ticks have no kill: no clock read, no work.
        if !events.iter().any(|event| matches!(event, GameEvent::Killed { .. })) {
            return;
        }
        let mut records = Vec::new();
        self.careers.kills(events, unix_now(), &mut records);
        for record in records {
            self.store.record(record);
        }
    }

    /// This tick's commands of every player (one a tick, late ones caught up: see `pacing`)
    /// into `self.inputs`, and their chat lines into the events.
    fn drain_inputs(&mut self) {
        self.inputs.clear();
        for (id, member) in self.members.iter_mut() {
            let Some(link) = &member.link else { continue };
            if let Some(seq) = link.take_tick_inputs(|cmd| self.inputs.insert(*id, cmd)) {
                member.last_seq = seq;
            }
            while let Some(text) = link.take_chat() {
                self.events.push(GameEvent::Chat { from: *id, text });
            }
        }
        for (_, spectator) in self.spectators.iter() {
            while let Some(text) = spectator.link.take_chat() {
                if self.spectators_chat {
                    let name = spectator.name.clone();
                    self.events.push(GameEvent::WatcherChat { name, text });
                } else {
                    add(&self.metrics.chat_dropped, 1);
                }
            }
        }
    }

    /// Every tick, to the share of members whose turn it is (ids modulo the ticks per send:
    /// each member is sent every send interval, and a tick's writes are a share of the room's,
    /// so answers are not held behind the whole room's fan-out): the events of the ticks since
    /// their last snapshot, the scoreboard (their first turn of each second) and their
    /// snapshot, so a member's socket gets one write per send interval however fast the
    /// simulation ticks.
    fn publish(&mut self) {
        let tick = self.world.tick;
        let every = self.config.ticks_per_send();
        let share = tick.0 % every;
        let events = std::mem::take(&mut self.events);
        if self.recent_events.len() >= every as usize
            && let Some(mut oldest) = self.recent_events.pop_front()
        {
            oldest.clear();
            self.events = oldest;
        }
        self.recent_events.push_back(events);
        self.publish_events(share);
        if tick.0 % u32::from(self.config.tick_hz) < every {
            self.publish_scoreboard(share);
        }
        self.view.prepare(&self.world);
        let pickups = self.world.pickup_bits();
        for (id, member) in self.members.iter_mut() {
            let Some(link) = member.link.as_ref().filter(|_| id.0 % every == share) else {
                continue;
            };
            let held = link.held_snapshot();
            let frame =
                self.view.snapshot_frame(*id, &mut member.viewer, member.last_seq, pickups, held);
            link.publish_snapshot(Stamp { tick, ack_input: member.last_seq }, Bytes::from(frame));
        }
        let map_size = self.world.map.size();
        for (id, spectator) in self.spectators.iter_mut() {
            if id.0 % every != share {
                continue;
            }
            let link = &spectator.link;
            let center = view::look_center(link.look(), map_size);
            let held = link.held_snapshot();
            let frame = self.view.snapshot_frame_at(center, &mut spectator.viewer, pickups, held);
            link.publish_snapshot(Stamp { tick, ack_input: 0 }, Bytes::from(frame));
        }
    }

    /// The events of the last send interval to the members and spectators of `share`, one
    /// message each at most (see `feed`).
    fn publish_events(&self, share: u32) {
        let every = self.config.ticks_per_send();
        let joined: Vec<GameEvent>;
        let events = match self.recent_events.as_slices() {
            ([one], []) | ([], [one]) => one.as_slice(),
            _ => {
                joined = self.recent_events.iter().flatten().cloned().collect();
                &joined
            }
        };
        let everyone_visible = self.config.view_radius <= 0.0 || self.config.full_snapshots;
        let Some(mut feed) = Feed::new(events, &self.world, everyone_visible) else { return };
        let map_size = self.world.map.size();
        for (id, member, link) in self.members.connected() {
            if id.0 % every != share {
                continue;
            }
            let half = link.view().unwrap_or(MAX_VIEW_HALF);
            let sight = self.world.players.get(id).map(|me| view::sight(me.pos, map_size, half));
            if let Some(frame) = feed.frame_for(Some(*id), sight, member.viewer.visible()) {
                link.send_reliable(frame);
            }
        }
        for (id, spectator) in self.spectators.iter() {
            if id.0 % every != share {
                continue;
            }
            let link = &spectator.link;
            let center = view::look_center(link.look(), map_size);
            let sight = view::sight(center, map_size, link.view().unwrap_or(MAX_VIEW_HALF));
            if let Some(frame) = feed.frame_for(None, Some(sight), spectator.viewer.visible()) {
                link.send_reliable(frame);
            }
        }
    }

    /// The scoreboard to the members and spectators of `share`.
    fn publish_scoreboard(&self, share: u32) {
        let every = self.config.ticks_per_send();
        let ranking = view::ranking(&self.world);
        for (rank, entry) in ranking.iter().enumerate() {
            if entry.id.0 % every != share {
                continue;
            }
            if let Some(link) = self.members.get(&entry.id).and_then(|m| m.link.as_ref()) {
                link.send_reliable(Bytes::from(view::scoreboard_frame(&ranking, rank)));
            }
        }
        let mut watching = self.spectators.iter().filter(|(id, _)| id.0 % every == share);
        if let Some((_, first)) = watching.next() {
            let frame = Bytes::from(view::spectator_scoreboard_frame(&ranking));
            first.link.send_reliable(frame.clone());
            for (_, spectator) in watching {
                spectator.link.send_reliable(frame.clone());
            }
        }
    }
}

fn unix_now() -> i64 {
    i64::try_from(crate::auth::now_secs()).unwrap_or(i64::MAX)
}

/// The current tick of a room, for `Pong`.
pub(crate) fn current_tick(stats: &RoomStats) -> Tick {
    Tick(stats.tick.load(Ordering::Relaxed))
}
