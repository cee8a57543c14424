//! Every public room's match recorded as a replay (`shared::replay`): the joins, leaves and
//! commands of each tick, in chunks of ten seconds, written by one background task so a tick
//! never waits for a disk.
//!
//! - A room's [`Recording`] collects its ticks; each full chunk (300 ticks) goes to the writer
//!   through a bounded queue, and the writer encodes, compresses and writes it on the blocking
//!   pool, so the room's tick only appends its commands to a list. A full queue (a disk that
//!   stalls) ends that recording, counted in `/metrics`, rather than block or grow.
//! - A replay starts with its room (an empty world at tick 0, which is what makes it playable
//!   from inputs alone) and ends when the room closes, at shutdown, or after
//!   `--replay-max-minutes`; a room that lives longer is not recorded past that.
//! - The writer keeps `--replay-keep` finished replays and at most `--replay-max-mb` on disk,
//!   deleting the oldest, and never a file still being written.
//! - Private rooms are not recorded: their players did not agree to be listed.
//!
//! Files are `<replay dir>/<unix start>-<room>-<serial>.skrp` (`.skrp.part` while being
//! written); the stem is the replay's id in `/api/replays`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::{InputCmd, PROTOCOL_VERSION};
use shared::replay::{self, Change, Header, Recorder, TickRecord};
use shared::sim::{TickInputs, World};
use tokio::sync::mpsc;

/// Chunks waiting for the disk, all rooms together (~1 KB to 100 KB each).
const QUEUE: usize = 256;
/// File name extension of a replay.
pub(crate) const EXTENSION: &str = "skrp";

/// Where replays go and how many stay; shared by every room.
pub(crate) struct Replays {
    dir: PathBuf,
    max_ticks: u64,
    writes: mpsc::Sender<Write>,
    serial: AtomicU64,
    /// Recordings ended because the writer's queue was full.
    pub(crate) dropped: AtomicU64,
    /// Chunks written.
    pub(crate) chunks: Arc<AtomicU64>,
    writer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

enum Write {
    Start {
        path: Arc<Path>,
        header: Vec<u8>,
    },
    /// Encoded and compressed by the writer, off the room's tick.
    Chunk {
        path: Arc<Path>,
        chunk: replay::Chunk,
    },
    Finish {
        path: Arc<Path>,
    },
    /// Everything before it is written: stop.
    Close,
}

impl Replays {
    /// Creates `dir` and starts the writer, which stops once every sender is gone.
    pub(crate) fn start(
        dir: PathBuf,
        keep: usize,
        max_bytes: u64,
        max_minutes: u64,
        tick_hz: u16,
    ) -> anyhow::Result<Arc<Replays>> {
        use anyhow::Context;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the replay directory {}", dir.display()))?;
        let (writes, queue) = mpsc::channel(QUEUE);
        let chunks = Arc::new(AtomicU64::new(0));
        let buffers = replay::ChunkBuffers::default();
        let writer = Writer { dir: dir.clone(), keep, max_bytes, open: HashMap::new(), buffers };
        let task = tokio::spawn(writer.run(queue, chunks.clone()));
        Ok(Arc::new(Replays {
            dir,
            max_ticks: max_minutes * 60 * u64::from(tick_hz),
            writes,
            serial: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            chunks,
            writer: std::sync::Mutex::new(Some(task)),
        }))
    }

    /// At shutdown, after the rooms have finished their recordings: waits for the writer to
    /// write what is queued (at most `limit`).
    pub(crate) async fn close(&self, limit: std::time::Duration) {
        let task = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let Some(task) = task else { return };
        if self.writes.send(Write::Close).await.is_ok()
            && tokio::time::timeout(limit, task).await.is_err()
        {
            tracing::warn!("replays: the writer did not finish within {limit:?}");
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The recorder's counters, in the Prometheus text format.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let counters = [
            (
                "skirmish_replay_chunks_total",
                "Replay chunks written (ten seconds of a room each).",
                &*self.chunks,
            ),
            (
                "skirmish_replays_dropped_total",
                "Recordings ended because the replay writer fell behind.",
                &self.dropped,
            ),
        ];
        for (name, help, value) in counters {
            let value = value.load(Ordering::Relaxed);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
    }

    /// A new recording for a room named `label` (public rooms only), starting with `world`
    /// (empty, at its first tick).
    pub(crate) fn record(
        self: &Arc<Self>,
        label: &str,
        title: &str,
        map: &Map,
        world: &World,
    ) -> Option<Recording> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let started_at = crate::auth::now_secs();
        let name: String =
            label.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(32).collect();
        let path: Arc<Path> =
            self.dir.join(format!("{started_at}-{name}-{serial}.{EXTENSION}")).into();
        let header = Header {
            protocol_version: PROTOCOL_VERSION,
            server_version: crate::SERVER_VERSION.to_string(),
            title: title.to_string(),
            map: map.clone(),
            tick_hz: world.tick_hz,
            first_tick: world.tick,
            started_at: i64::try_from(started_at).unwrap_or(i64::MAX),
        };
        let start = Write::Start { path: path.clone(), header: replay::encode_header(&header) };
        self.writes.try_send(start).ok()?;
        Some(Recording {
            replays: self.clone(),
            path,
            recorder: Recorder::new(world.tick),
            record: TickRecord::default(),
            ticks: 0,
        })
    }
}

/// One room's replay in the making.
pub(crate) struct Recording {
    replays: Arc<Replays>,
    path: Arc<Path>,
    recorder: Recorder,
    /// This tick's record so far (seat changes come before the step).
    record: TickRecord,
    ticks: u64,
}

impl Recording {
    pub(crate) fn joined(&mut self, id: PlayerId, name: &str) {
        self.record.changes.push(Change::Joined { id, name: name.to_string() });
    }

    pub(crate) fn left(&mut self, id: PlayerId) {
        self.record.changes.push(Change::Left { id });
    }

    /// The step of this tick applied `inputs` and left `world`. `false` when the recording has
    /// ended (too long, or the writer fell behind): the room drops it.
    pub(crate) fn stepped(&mut self, inputs: &TickInputs, world: &World) -> bool {
        let mut record = std::mem::take(&mut self.record);
        // `seq` is the netcode's; the step never reads it, and a constant compresses away.
        record.inputs.extend(inputs.iter().map(|(id, cmd)| (id, InputCmd { seq: 0, ..*cmd })));
        self.ticks += 1;
        if let Some(chunk) = self.recorder.push(record, world) {
            let chunk = Write::Chunk { path: self.path.clone(), chunk };
            if self.replays.writes.try_send(chunk).is_err() {
                self.replays.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(path = %self.path.display(), "replay writer behind: recording ended");
                return false;
            }
        }
        if self.ticks >= self.replays.max_ticks {
            tracing::info!(path = %self.path.display(), "replay reached its longest: recording ended");
            return false;
        }
        true
    }

    /// Writes what is left and closes the file (the room is closing: waiting for room in the
    /// queue costs no tick).
    pub(crate) async fn finish(mut self, world: &World) {
        if let Some(chunk) = self.recorder.flush(world) {
            let _ = self.replays.writes.send(Write::Chunk { path: self.path.clone(), chunk }).await;
        }
        let _ = self.replays.writes.send(Write::Finish { path: self.path.clone() }).await;
    }
}

/// The writer task's state: the files being written.
struct Writer {
    dir: PathBuf,
    keep: usize,
    max_bytes: u64,
    open: HashMap<Arc<Path>, std::fs::File>,
    /// Kept between chunks (see `replay::ChunkBuffers`).
    buffers: replay::ChunkBuffers,
}

impl Writer {
    async fn run(mut self, mut queue: mpsc::Receiver<Write>, mut chunks: Arc<AtomicU64>) {
        while let Some(write) = queue.recv().await {
            if matches!(write, Write::Close) {
                break;
            }
            // Encoding and compressing a chunk of a big room takes milliseconds, and the disk
            // may stall: on the blocking pool, one write at a time, in order.
            let done = tokio::task::spawn_blocking(move || {
                let result = self.apply(write, &chunks);
                ((self, chunks), result)
            })
            .await;
            let (back, result) = match done {
                Ok(done) => done,
                // The runtime is shutting down: the write in hand was not run, and no more will.
                Err(err) if err.is_cancelled() => return,
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            };
            (self, chunks) = back;
            if let Err(err) = result {
                tracing::warn!("replays: {err:#}");
            }
        }
    }

    fn apply(&mut self, write: Write, chunks: &AtomicU64) -> anyhow::Result<()> {
        use anyhow::Context;
        match write {
            Write::Start { path, header } => {
                let part = part_path(&path);
                let mut file = std::fs::File::create(&part)
                    .with_context(|| format!("creating {}", part.display()))?;
                file.write_all(&header).with_context(|| format!("writing {}", path.display()))?;
                self.open.insert(path, file);
            }
            Write::Chunk { path, chunk } => {
                if let Some(file) = self.open.get_mut(&path) {
                    file.write_all(replay::encode_chunk_with(&chunk, &mut self.buffers))
                        .with_context(|| format!("writing {}", path.display()))?;
                    chunks.fetch_add(1, Ordering::Relaxed);
                }
            }
            Write::Finish { path } => {
                if let Some(file) = self.open.remove(&path) {
                    file.sync_data().with_context(|| format!("syncing {}", path.display()))?;
                    drop(file);
                    std::fs::rename(part_path(&path), &path)
                        .with_context(|| format!("finishing {}", path.display()))?;
                }
                self.prune();
            }
            Write::Close => {}
        }
        Ok(())
    }

    /// Deletes the oldest finished replays beyond `keep` files or `max_bytes` (files being
    /// written are `.part` files, never counted or deleted).
    fn prune(&self) {
        let finished = finished_replays(&self.dir);
        let mut total: u64 = finished.iter().map(|(_, size)| size).sum();
        let mut count = finished.len();
        for (path, size) in finished {
            if count <= self.keep && total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                count -= 1;
                total = total.saturating_sub(size);
            }
        }
    }
}

/// Where a replay is written until it is finished: listings never show it.
fn part_path(path: &Path) -> PathBuf {
    path.with_extension(format!("{EXTENSION}.part"))
}

/// Every finished replay file in `dir` with its size, oldest first (names start with the unix time).
pub(crate) fn finished_replays(dir: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<(PathBuf, u64)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == EXTENSION))
        .filter_map(|entry| Some((entry.path(), entry.metadata().ok()?.len())))
        .collect();
    files.sort_by_key(|(path, _)| sort_key(path));
    files
}

/// (start time, name): numeric order of the leading unix time.
fn sort_key(path: &Path) -> (u64, String) {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let started = stem.split('-').next().and_then(|t| t.parse().ok()).unwrap_or(0);
    (started, stem.to_string())
}
