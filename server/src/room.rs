//! One room: a fixed-tick task that owns the [`World`] and every member's [`Link`].
//!
//! Sessions talk to the room only through a bounded control channel (join, leave) and their
//! links (inputs in, frames out), so a slow or hostile client can never block a tick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use shared::codec::encode_server;
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::{GameEvent, RosterEntry, ServerMsg, Welcome};
use shared::sim::{self, TickInputs, World};
use shared::tick::Tick;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::ServerConfig;
use crate::link::Link;
use crate::metrics::{Metrics, add};
use crate::view::{self, ViewBuilder, Viewer};

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
    pub(crate) tick: AtomicU32,
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
}

enum Control {
    Join { name: String, reply: oneshot::Sender<Result<Joined, JoinError>> },
    Leave { id: PlayerId },
}

impl RoomHandle {
    pub(crate) async fn join(&self, name: String) -> Result<Joined, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.control.send(Control::Join { name, reply }).await.map_err(|_| JoinError::Closed)?;
        answer.await.map_err(|_| JoinError::Closed)?
    }

    pub(crate) async fn leave(&self, id: PlayerId) {
        // A closed room has no seat to free.
        let _ = self.control.send(Control::Leave { id }).await;
    }
}

/// Starts a room task; it stops when `cancel` fires.
pub(crate) fn spawn(
    config: Arc<ServerConfig>,
    map: Map,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) -> RoomHandle {
    // Every session sends at most one join and one leave, and sessions are capped, so this bound
    // only makes joins wait a tick under a stampede; it never drops one.
    let (control, control_rx) = mpsc::channel(256);
    let stats = Arc::new(RoomStats::default());
    let view = ViewBuilder::new(map.size(), config.view_radius, config.full_snapshots);
    let room = Room {
        view,
        world: World::new(map, config.tick_hz),
        members: BTreeMap::new(),
        next_id: 1,
        events: Vec::new(),
        stats: stats.clone(),
        metrics,
        config,
    };
    tracker.spawn(room.run(control_rx, cancel));
    RoomHandle { control, stats }
}

struct Member {
    name: String,
    link: Arc<Link>,
    /// The last input sequence number applied to the simulation.
    last_seq: u32,
    viewer: Viewer,
}

struct Room {
    config: Arc<ServerConfig>,
    world: World,
    members: BTreeMap<PlayerId, Member>,
    next_id: u32,
    /// Events of this tick, sent reliably after the step.
    events: Vec<GameEvent>,
    view: ViewBuilder,
    stats: Arc<RoomStats>,
    metrics: Arc<Metrics>,
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
            self.metrics.observe_tick(started.elapsed());
        }
    }

    /// One simulation tick. The phases run in this order every time.
    fn tick(&mut self, control: &mut mpsc::Receiver<Control>) {
        self.apply_control(control); //                 1. Joins and leaves.
        let inputs = self.drain_inputs(); //              2. One input per player, chat lines.
        let events = sim::step(&mut self.world, &inputs); // 3. The pure step.
        self.events.extend(events);
        self.publish(); //                               4. Events to all, snapshots on send ticks.
        self.stats.tick.store(self.world.tick.0, Ordering::Relaxed);
    }

    fn apply_control(&mut self, control: &mut mpsc::Receiver<Control>) {
        while let Ok(message) = control.try_recv() {
            match message {
                Control::Join { name, reply } => {
                    let result = self.join(name);
                    if let Err(Ok(joined)) = reply.send(result) {
                        // The session gave up waiting: free the seat at once.
                        self.leave(joined.link.player_id);
                    }
                }
                Control::Leave { id } => self.leave(id),
            }
        }
    }

    fn join(&mut self, name: String) -> Result<Joined, JoinError> {
        if self.members.len() >= self.config.max_players {
            return Err(JoinError::Full);
        }
        let id = PlayerId(self.next_id);
        self.next_id += 1;
        self.world.add_player(id);
        let link = Arc::new(Link::new(id, self.metrics.clone()));
        self.members.insert(
            id,
            Member {
                name: name.clone(),
                link: link.clone(),
                last_seq: 0,
                viewer: Viewer::default(),
            },
        );
        self.events.push(GameEvent::Joined { id, name: name.clone() });
        self.stats.players.store(self.members.len(), Ordering::Relaxed);
        tracing::info!(player = %id, %name, players = self.members.len(), "player joined");
        let welcome = Welcome {
            player_id: id,
            tick_hz: self.config.tick_hz,
            send_hz: self.config.effective_send_hz(),
            server_tick: self.world.tick,
            map: self.world.map.clone(),
            roster: self
                .members
                .iter()
                .map(|(id, m)| RosterEntry { id: *id, name: m.name.clone() })
                .collect(),
        };
        Ok(Joined {
            link,
            welcome: Bytes::from(encode_server(&ServerMsg::Welcome(Box::new(welcome)))),
        })
    }

    fn leave(&mut self, id: PlayerId) {
        if let Some(member) = self.members.remove(&id) {
            self.world.remove_player(id);
            self.events.push(GameEvent::Left { id });
            self.stats.players.store(self.members.len(), Ordering::Relaxed);
            tracing::info!(player = %id, name = %member.name, players = self.members.len(), "player left");
        }
    }

    fn drain_inputs(&mut self) -> TickInputs {
        let mut inputs = TickInputs::new();
        for (id, member) in &mut self.members {
            if let Some(cmd) = member.link.take_input() {
                member.last_seq = cmd.seq;
                inputs.insert(*id, cmd);
            }
            while let Some(text) = member.link.take_chat() {
                self.events.push(GameEvent::Chat { from: *id, text });
            }
        }
        inputs
    }

    fn publish(&mut self) {
        let tick = self.world.tick;
        self.publish_events(tick);
        if tick.0 % u32::from(self.config.tick_hz) == 0 {
            self.publish_scoreboard();
        }
        if tick.0 % self.config.ticks_per_send() != 0 {
            return;
        }
        self.view.prepare(&self.world);
        let pickups = self.world.pickup_bits();
        for (id, member) in &mut self.members {
            let held = member.link.held_snapshot();
            let frame = self.view.snapshot_frame(
                *id,
                &mut member.viewer,
                tick,
                member.last_seq,
                pickups,
                held,
            );
            member.link.publish_snapshot(tick, frame);
        }
    }

    /// Events of the tick: room-wide ones encoded once for everybody, shots only to the members
    /// who can see either end of the beam.
    fn publish_events(&mut self, tick: Tick) {
        if self.events.is_empty() {
            return;
        }
        let (local, global): (Vec<GameEvent>, Vec<GameEvent>) = std::mem::take(&mut self.events)
            .into_iter()
            .partition(|e| view::event_points(e).is_some());
        let global = (!global.is_empty())
            .then(|| Bytes::from(encode_server(&ServerMsg::Events { tick, events: global })));
        for (id, member) in &self.members {
            if let Some(frame) = &global {
                member.link.send_reliable(frame.clone());
            }
            let Some(me) = self.world.players.get(id).map(|p| p.pos) else { continue };
            let near: Vec<GameEvent> = local
                .iter()
                .filter(|e| view::event_points(e).is_some_and(|points| self.view.near(me, points)))
                .cloned()
                .collect();
            if !near.is_empty() {
                member.link.send_reliable(Bytes::from(encode_server(&ServerMsg::Events {
                    tick,
                    events: near,
                })));
            }
        }
    }

    fn publish_scoreboard(&self) {
        let ranking = view::ranking(&self.world);
        for (rank, entry) in ranking.iter().enumerate() {
            if let Some(member) = self.members.get(&entry.id) {
                member.link.send_reliable(view::scoreboard_frame(&ranking, rank));
            }
        }
    }
}

/// The current tick of a room, for `Pong`.
pub(crate) fn current_tick(stats: &RoomStats) -> Tick {
    Tick(stats.tick.load(Ordering::Relaxed))
}
