//! Server configuration from command-line flags and `SKIRMISH_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Every knob of the server. Passed explicitly to the parts that need it.
#[derive(Clone, Debug, Parser)]
#[command(name = "skirmish-server", version, about = "Skirmish authoritative game server")]
pub struct ServerConfig {
    /// Address and port to listen on.
    #[arg(long, env = "SKIRMISH_BIND", default_value = "127.0.0.1:7777")]
    pub bind: SocketAddr,
    /// Simulation rate of each room, in ticks per second.
    #[arg(long, env = "SKIRMISH_TICK_HZ", default_value_t = shared::tick::DEFAULT_TICK_HZ,
          value_parser = clap::value_parser!(u16).range(10..=120))]
    pub tick_hz: u16,
    /// Snapshots per second sent to each client (at most the tick rate; defaults to it).
    #[arg(long, env = "SKIRMISH_SEND_HZ", value_parser = clap::value_parser!(u16).range(1..=120))]
    pub send_hz: Option<u16>,
    /// Clients hear about players within this many world units of themselves (0: everyone).
    #[arg(long, env = "SKIRMISH_VIEW_RADIUS", default_value_t = 900.0)]
    pub view_radius: f32,
    /// Comparison mode: every client gets every player in a full keyframe each send tick
    /// (no interest management, no delta encoding).
    #[arg(long, env = "SKIRMISH_FULL_SNAPSHOTS")]
    pub full_snapshots: bool,
    /// Seconds a player's seat (score, position) is kept after an unclean disconnect, for the
    /// client to resume with its token.
    #[arg(long, env = "SKIRMISH_RESUME_GRACE_SECS", default_value_t = 20)]
    pub resume_grace_secs: u16,
    /// Players per room.
    #[arg(long, env = "SKIRMISH_MAX_PLAYERS", default_value_t = 32)]
    pub max_players: usize,
    /// Spectators per room (`Hello` with `spectate`: no ship, no seat; not counted as players).
    /// More are refused with 1013; 0 turns spectating off.
    #[arg(long, env = "SKIRMISH_MAX_SPECTATORS", default_value_t = 64)]
    pub max_spectators: usize,
    /// Let spectators chat in rooms opened by quick play or by name (a room created in the
    /// lobby has its own switch); without it their chat is read-only.
    #[arg(long, env = "SKIRMISH_SPECTATOR_CHAT")]
    pub spectator_chat: bool,
    /// Rooms that may exist at once (created in the lobby, by quick play, or by naming a new
    /// room in `Hello`; empty means "main").
    #[arg(long, env = "SKIRMISH_MAX_ROOMS", default_value_t = 64)]
    pub max_rooms: usize,
    /// Seconds a room with no players and no reserved seats stays open before it closes.
    #[arg(long, env = "SKIRMISH_ROOM_IDLE_SECS", default_value_t = 30)]
    pub room_idle_secs: u16,
    /// Open WebSocket connections in total; more are refused with 503 before the upgrade.
    /// Also the listening socket's accept backlog (128 to 4096), so that many can reconnect at
    /// once.
    #[arg(long, env = "SKIRMISH_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Open WebSocket connections per client IP address; more are refused with 429.
    #[arg(long, env = "SKIRMISH_MAX_CONNECTIONS_PER_IP", default_value_t = 32)]
    pub max_connections_per_ip: usize,
    /// Browser origins allowed to open game sockets besides the page's own origin
    /// (comma-separated; `*` allows any). The defaults are `trunk serve`'s addresses.
    #[arg(
        long,
        env = "SKIRMISH_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080,http://localhost:8080"
    )]
    pub allowed_origins: Vec<String>,
    /// PEM certificate chain: with `--tls-key`, serve `https://` and `wss://` (TLS by rustls).
    #[arg(long, env = "SKIRMISH_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `--tls-cert`.
    #[arg(long, env = "SKIRMISH_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Directory holding the built client (`trunk build` output).
    #[arg(long, env = "SKIRMISH_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
    /// The default map (sent inside `Welcome`). Every other `*.json` map in its directory can be
    /// picked when a room is created in the lobby.
    #[arg(long, env = "SKIRMISH_MAP", default_value = "assets/maps/arena.json")]
    pub map: PathBuf,
    /// Where the server keeps what outlives it: the SQLite database of profiles and the
    /// leaderboard (unless `--database-url` names another), and the cookie-signing key (unless
    /// `--session-secret` is given). Created on first run.
    #[arg(long, env = "SKIRMISH_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL (`postgres://user:pass@host/db`) or SQLite (`sqlite://path`) database for
    /// profiles and the leaderboard instead of `<data dir>/skirmish.db`.
    #[arg(long, env = "SKIRMISH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Key for signing session tokens and player cookies; several servers behind one address
    /// must share it. When unset, a random key kept in `<data dir>/session.key`.
    #[arg(long, env = "SKIRMISH_SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<String>,
    /// How long a session token from `POST /api/session` stays valid.
    #[arg(long, env = "SKIRMISH_SESSION_TTL_SECS", default_value_t = 3600)]
    pub session_ttl_secs: u64,
    /// Accept game sockets without a session token (local experiments only).
    #[arg(long, env = "SKIRMISH_OPEN_ACCESS")]
    pub open_access: bool,
    /// An HTTP request's headers must arrive within this many milliseconds (slowloris guard).
    #[arg(long, env = "SKIRMISH_HEADER_TIMEOUT_MS", default_value_t = 5000)]
    pub header_timeout_ms: u64,
    /// A new connection must send `Hello` within this many milliseconds.
    #[arg(long, env = "SKIRMISH_HELLO_TIMEOUT_MS", default_value_t = 5000)]
    pub hello_timeout_ms: u64,
    /// Interval between WebSocket pings, in milliseconds.
    #[arg(long, env = "SKIRMISH_PING_INTERVAL_MS", default_value_t = 1000)]
    pub ping_interval_ms: u64,
    /// A connection silent for this long (no frame, not even a pong) is closed; so is one that
    /// keeps sending inputs but whose snapshot acknowledgements fall this far behind.
    #[arg(long, env = "SKIRMISH_IDLE_TIMEOUT_MS", default_value_t = 3500)]
    pub idle_timeout_ms: u64,
    /// Snapshot flow control: while a client that is sending inputs has more than this many
    /// milliseconds of snapshots unacknowledged beyond one round trip of its path, its link is
    /// congested, and the next snapshot waits in its latest-wins slot (newer ones replace it)
    /// instead of queueing stale frames behind the congestion. 0 turns this off.
    #[arg(long, env = "SKIRMISH_SNAPSHOT_WINDOW_MS", default_value_t = 500)]
    pub snapshot_window_ms: u64,
    /// Redis (`redis://host:port/db`) shared by every process of a cluster: each process
    /// publishes itself and its rooms there, and the lobby's quick play and room codes reach
    /// rooms on every process. Without it the server runs alone. Needs `--session-secret`
    /// (shared by all processes) and `--public-url`.
    #[arg(long, env = "SKIRMISH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Where browsers reach this process (`https://eu1.example.com`): the lobby of another
    /// process sends players here. Defaults to `http://<bind address>`.
    #[arg(long, env = "SKIRMISH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// This process's id in the cluster: unique and stable for its life. Defaults to the host
    /// name, the process id and the start time.
    #[arg(long, env = "SKIRMISH_PROCESS_ID")]
    pub process_id: Option<String>,
    /// Starts every Redis key, so several clusters can share one Redis.
    #[arg(long, env = "SKIRMISH_CLUSTER_PREFIX", default_value = "skirmish:")]
    pub cluster_prefix: String,
    /// On SIGTERM, the process stops taking new players at once and lets running rooms play
    /// on for up to this many seconds (or until they empty) before it tells the remaining
    /// clients to rejoin through the lobby (close code 1012).
    #[arg(long, env = "SKIRMISH_DRAIN_SECS", default_value_t = 30)]
    pub drain_secs: u64,
    /// Where public rooms' replays are written (default `<data dir>/replays`).
    #[arg(long, env = "SKIRMISH_REPLAY_DIR")]
    pub replay_dir: Option<PathBuf>,
    /// Finished replays kept on disk (the oldest go first); 0 records nothing.
    #[arg(long, env = "SKIRMISH_REPLAY_KEEP", default_value_t = 100)]
    pub replay_keep: usize,
    /// Megabytes of finished replays kept on disk at most.
    #[arg(long, env = "SKIRMISH_REPLAY_MAX_MB", default_value_t = 500)]
    pub replay_max_mb: u64,
    /// A room's replay ends after this many minutes (the room plays on unrecorded).
    #[arg(long, env = "SKIRMISH_REPLAY_MAX_MINUTES", default_value_t = 60)]
    pub replay_max_minutes: u64,
    /// A single socket write (or close) taking longer than this drops the connection.
    #[arg(long, env = "SKIRMISH_WRITE_TIMEOUT_MS", default_value_t = 3000)]
    pub write_timeout_ms: u64,
}

impl ServerConfig {
    /// The defaults, as if started without flags or environment.
    pub fn defaults() -> ServerConfig {
        ServerConfig::parse_from(["skirmish-server"])
    }

    /// Ticks between two snapshots to the same client.
    pub fn ticks_per_send(&self) -> u32 {
        let send_hz = self.send_hz.unwrap_or(self.tick_hz).clamp(1, self.tick_hz);
        (u32::from(self.tick_hz) / u32::from(send_hz)).max(1)
    }

    /// The snapshot rate actually achieved by sending every [`Self::ticks_per_send`] ticks.
    pub fn effective_send_hz(&self) -> u16 {
        (u32::from(self.tick_hz) / self.ticks_per_send()) as u16
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    pub fn hello_timeout(&self) -> Duration {
        Duration::from_millis(self.hello_timeout_ms)
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// [`Self::snapshot_window_ms`] in ticks (0: no flow control).
    pub fn snapshot_window_ticks(&self) -> u32 {
        (self.snapshot_window_ms * u64::from(self.tick_hz)).div_ceil(1000) as u32
    }

    pub fn drain_time(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
    }

    /// [`Self::public_url`], or the bind address over plain HTTP, without a trailing `/`.
    pub fn public_url(&self) -> String {
        let url = self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind));
        url.trim_end_matches('/').to_string()
    }

    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }
}
