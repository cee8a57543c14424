//! `StoreConfig`, and which database it names.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

/// The SQLite file's name inside `data_dir`.
pub const SQLITE_FILE: &str = "skirmish.db";

/// A queue length that holds several seconds of a busy server's records (a kill is one record)
/// while the database is briefly away.
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;

/// How long SQLite waits for another process's lock (a backup, the `sqlite3` shell) before a
/// write attempt fails and the writer retries.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how the store keeps its data.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Holds the SQLite file when no `database_url` is given; created if missing.
    pub data_dir: PathBuf,
    /// `None`: SQLite at `<data_dir>/skirmish.db`, nothing to set up. `postgres://…` (or
    /// `postgresql://…`): PostgreSQL. `sqlite://…`: SQLite at that path.
    pub database_url: Option<String>,
    /// How many records may wait for the writer; when it is full, [`Store::record`] drops the
    /// record and counts it as overflow.
    ///
    /// [`Store::record`]: crate::Store::record
    pub queue_capacity: usize,
}

impl StoreConfig {
    /// SQLite in `data_dir`, with the default queue.
    pub fn sqlite_in(data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            database_url: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

/// The database a config names, with its connection options.
pub(crate) enum Target {
    Sqlite(SqliteConnectOptions),
    Postgres(PgConnectOptions),
}

impl Target {
    pub(crate) fn from_config(config: &StoreConfig) -> anyhow::Result<Target> {
        let Some(url) = config.database_url.as_deref() else {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("creating the data directory {}", config.data_dir.display())
            })?;
            let options = SqliteConnectOptions::new().filename(config.data_dir.join(SQLITE_FILE));
            return Ok(Target::Sqlite(sqlite_settings(options)));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).context("parsing the PostgreSQL url")?;
            return Ok(Target::Postgres(options));
        }
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url).context("parsing the SQLite url")?;
            if let Some(dir) =
                options.get_filename().parent().filter(|dir| !dir.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the directory {}", dir.display()))?;
            }
            return Ok(Target::Sqlite(sqlite_settings(options)));
        }
        let scheme = url.split(':').next().unwrap_or_default();
        bail!("unsupported database url scheme `{scheme}`: use postgres:// or sqlite://")
    }

    /// Names the database for logs and errors, without the password a url may hold.
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::Sqlite(options) => format!("SQLite {}", options.get_filename().display()),
            Target::Postgres(options) => format!(
                "PostgreSQL {}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or_default()
            ),
        }
    }
}

/// WAL so readers never wait for the writer; `NORMAL` sync, which in WAL mode can lose the
/// last commits on power loss but never corrupts the file; a busy time-out instead of failing
/// at once on another process's lock; a page cache of 512 KiB per connection instead of 2 MiB
/// (five connections: memory that fills as the file grows, well beyond what the small, indexed
/// queries use; the OS caches the file anyway).
fn sqlite_settings(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .pragma("cache_size", "-512")
        .foreign_keys(true)
}
