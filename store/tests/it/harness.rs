//! The databases under test: SQLite in a temp dir, and a private PostgreSQL cluster that the
//! test starts itself (Debian's binaries, unix socket in its temp dir, a free port on
//! 127.0.0.1, trust auth) and stops when dropped. Both can be made unreachable mid-test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use store::{Store, StoreConfig};
use tempfile::TempDir;

/// A fresh, empty database of one dialect.
pub(crate) struct TestDb {
    /// Holds the SQLite file (unused with PostgreSQL).
    dir: TempDir,
    postgres: Option<PgCluster>,
    /// While SQLite is "down": a second connection holding the write lock.
    sqlite_lock: Option<SqliteConnection>,
}

impl TestDb {
    pub(crate) fn sqlite() -> TestDb {
        TestDb { dir: tempfile::tempdir().expect("temp dir"), postgres: None, sqlite_lock: None }
    }

    pub(crate) fn postgres() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDb { dir, postgres: Some(PgCluster::start()), sqlite_lock: None }
    }

    pub(crate) fn backend(&self) -> &'static str {
        if self.postgres.is_some() { "postgres" } else { "sqlite" }
    }

    pub(crate) fn config(&self, queue_capacity: usize) -> StoreConfig {
        StoreConfig {
            data_dir: self.dir.path().join("data"),
            database_url: self.postgres.as_ref().map(PgCluster::url),
            queue_capacity,
        }
    }

    /// Opens a store on this database (again, if one was closed before).
    pub(crate) async fn open(&self, queue_capacity: usize) -> Store {
        let store = Store::open(self.config(queue_capacity)).await.expect("opening the store");
        assert_eq!(store.backend(), self.backend(), "the store's dialect");
        store
    }

    /// Makes writes impossible: PostgreSQL is killed (`pg_ctl stop -m immediate`, no clean
    /// shutdown); SQLite's write lock is taken by another connection, as a backup tool would.
    pub(crate) async fn interrupt(&mut self) {
        if let Some(cluster) = &self.postgres {
            cluster.pg_ctl(&["stop", "-m", "immediate"]);
            return;
        }
        let file = self.dir.path().join("data").join(store::SQLITE_FILE);
        let options = SqliteConnectOptions::new().filename(file);
        let mut lock = SqliteConnection::connect_with(&options).await.expect("second connection");
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut lock).await.expect("taking the write lock");
        self.sqlite_lock = Some(lock);
    }

    /// Undoes [`interrupt`](Self::interrupt): PostgreSQL starts again on the same port.
    pub(crate) async fn resume(&mut self) {
        if let Some(cluster) = &self.postgres {
            cluster.start_server();
            return;
        }
        let mut lock = self.sqlite_lock.take().expect("resume after interrupt");
        sqlx::query("ROLLBACK").execute(&mut lock).await.expect("releasing the write lock");
        lock.close().await.expect("closing the second connection");
    }
}

/// A private PostgreSQL cluster: `initdb` into a temp dir, `pg_ctl start` on a free port.
struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    /// As root, every PostgreSQL command runs as the `postgres` user (it refuses root).
    as_postgres: bool,
    /// Data, socket and log. Owned here so that `Drop::drop` stops the server before the
    /// directory goes (a server whose directory was deleted first keeps running).
    _dir: TempDir,
}

impl PgCluster {
    fn start() -> PgCluster {
        let bin = postgres_bin().unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); \
                 run `cargo xtask setup`, which installs Debian's postgresql package"
            )
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the temp dir");
        }
        let mut cluster = PgCluster {
            bin,
            data: dir.path().join("pgdata"),
            socket_dir: dir.path().to_path_buf(),
            port: 0,
            as_postgres,
            _dir: dir,
        };
        let data = cluster.data.to_str().expect("utf-8 temp path").to_string();
        cluster.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        // Another test may take the port between our probe and the server's bind: retry.
        for _ in 0..5 {
            cluster.port = free_port();
            if cluster.try_start_server() {
                return cluster;
            }
        }
        panic!("PostgreSQL did not start; see {}", cluster.socket_dir.join("server.log").display())
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start_server(&self) {
        assert!(self.try_start_server(), "PostgreSQL did not start again on port {}", self.port);
    }

    fn try_start_server(&self) -> bool {
        // -F: no fsync (a test cluster; a killed server still recovers from the OS cache).
        let options =
            format!("-p {} -k {} -h 127.0.0.1 -F", self.port, self.socket_dir.to_str().unwrap());
        let log = self.socket_dir.join("server.log");
        self.command("pg_ctl")
            .args(["start", "-w", "-t", "20", "-D"])
            .arg(&self.data)
            .args(["-l"])
            .arg(log)
            .args(["-o", &options])
            .status()
            .expect("running pg_ctl")
            .success()
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data.to_str().expect("utf-8 temp path");
        let mut all = vec!["-D", data, "-w", "-t", "20"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn run(&self, program: &str, args: &[&str]) {
        let status = self.command(program).args(args).status().expect("running a PostgreSQL tool");
        assert!(status.success(), "{program} {args:?} failed: {status}");
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(path);
            runuser
        } else {
            Command::new(path)
        };
        command.stdout(Stdio::null());
        command
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Quietly: after a failed test the server may already be down.
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-t", "20", "-D"])
            .arg(&self.data)
            .stderr(Stdio::null())
            .status();
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    id(&["-u"]) == 0
}

fn postgres_ids() -> (u32, u32) {
    (id(&["-u", "postgres"]), id(&["-g", "postgres"]))
}

fn id(args: &[&str]) -> u32 {
    let out = Command::new("id").args(args).output().expect("running id");
    assert!(out.status.success(), "id {args:?} failed (is the postgres user missing?)");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a numeric id")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a probe socket");
    listener.local_addr().expect("probe address").port()
}

/// Waits until the store has written `count` records, or panics with its counters.
pub(crate) async fn wait_written(store: &Store, count: u64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while store.stats().written < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} records written within {within:?}: {:?}",
            store.stats().written,
            store.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until a write attempt has failed, proving the writer saw the outage.
pub(crate) async fn wait_write_error(store: &Store, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while store.stats().write_errors == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no write failed within {within:?}: {:?}",
            store.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
