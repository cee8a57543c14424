//! Starts a server on an ephemeral 127.0.0.1 port and stops it when the test ends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bots::client::BotClient;
use server::ServerConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _static_dir: TempDir,
}

/// A directory removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn test_config() -> ServerConfig {
    let mut config = ServerConfig::defaults();
    config.map = repo_root().join("assets/maps/arena.json");
    // Everyone sees everyone unless a test is about interest management: players spawn at
    // opposite corners of the arena, farther apart than the default view radius.
    config.view_radius = 0.0;
    // Every test client connects from 127.0.0.1.
    config.max_connections_per_ip = 10_000;
    // Shutdown closes everyone at once; the drain has its own test.
    config.drain_secs = 0;
    config
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        TestServer::start_with(test_config()).await
    }

    pub(crate) async fn start_with(mut config: ServerConfig) -> TestServer {
        let dir =
            std::env::temp_dir().join(format!("skirmish-it-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("creating a temp static dir");
        std::fs::write(dir.join("index.html"), "<!doctype html><title>Skirmish test page</title>")
            .expect("writing index.html");
        config.static_dir = dir.clone();
        if config.data_dir == ServerConfig::defaults().data_dir {
            // The profile database and cookie key live with the page, removed with it.
            config.data_dir = dir.join("data");
        }
        let listener = server::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            server::backlog_for(config.max_connections),
        )
        .expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        TestServer { addr, stop: Some(stop), task: Some(task), _static_dir: TempDir(dir) }
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub(crate) async fn join(&self, name: &str) -> BotClient {
        join_at(&self.ws_url(), name).await
    }

    /// Triggers graceful shutdown and waits for `run` to return.
    pub(crate) async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("server task");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("server stops within the bound")
            .expect("server task")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A player called `name` joins through `url`, or the test fails.
async fn join_at(url: &str, name: &str) -> BotClient {
    BotClient::connect(url, name, WAIT).await.unwrap_or_else(|err| panic!("{name} joins: {err:#}"))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A minimal HTTP/1.1 GET over a raw socket: the whole response, headers and body, as bytes.
pub(crate) async fn http_get_bytes(addr: SocketAddr, path: &str, extra_headers: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connecting");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra_headers}\r\n");
    stream.write_all(request.as_bytes()).await.expect("writing request");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("reading");
    response
}

/// [`http_get_bytes`] as text: returns (status, headers+body text).
pub(crate) async fn http_get(addr: SocketAddr, path: &str, extra_headers: &str) -> (u16, String) {
    let response = http_get_bytes(addr, path, extra_headers).await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, text)
}

/// The real `skirmish-server` binary in its own process, so memory figures are the server's
/// alone (tests share one process). Stopped with SIGTERM when dropped.
/// The value of the unlabelled sample `name` in a `/metrics` page.
pub(crate) fn metric_in(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// The value of the unlabelled sample `name` in the server's `/metrics`.
pub(crate) async fn metric(addr: SocketAddr, name: &str) -> f64 {
    metric_in(&http_get(addr, "/metrics", "").await.1, name)
}

pub(crate) struct ProcessServer {
    pub(crate) addr: SocketAddr,
    child: std::process::Child,
    _static_dir: TempDir,
}

impl ProcessServer {
    pub(crate) fn start(extra: &[&str]) -> ProcessServer {
        ProcessServer::start_logging(extra, None)
    }

    /// [`Self::start`], with its info-level log written to `log` (warnings only, dropped,
    /// otherwise).
    pub(crate) fn start_logging(extra: &[&str], log: Option<&std::path::Path>) -> ProcessServer {
        use std::io::BufRead;
        let dir =
            std::env::temp_dir().join(format!("skirmish-proc-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (level, stderr) = match log {
            Some(path) => ("info", std::fs::File::create(path).expect("log file").into()),
            None => ("warn", std::process::Stdio::null()),
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_skirmish-server"))
            .args(["--bind", "127.0.0.1:0", "--max-connections-per-ip", "10000"])
            .arg("--map")
            .arg(repo_root().join("assets/maps/arena.json"))
            .arg("--static-dir")
            .arg(&dir)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(extra)
            .env("RUST_LOG", level)
            // Stopping (SIGTERM on drop) closes everyone at once unless a test asks for a drain.
            .env("SKIRMISH_DRAIN_SECS", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting the server binary");
        let stdout = child.stdout.take().expect("stdout");
        let line =
            std::io::BufReader::new(stdout).lines().next().expect("a line").expect("readable");
        let port: u16 = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the server printed its URL: {line}"));
        ProcessServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            _static_dir: TempDir(dir),
        }
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub(crate) async fn join(&self, name: &str) -> BotClient {
        join_at(&self.ws_url(), name).await
    }

    /// Sends `signal` (`KILL`, `TERM`) to the process.
    pub(crate) fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} worked");
    }

    /// Waits up to `limit` for the process to exit, and returns its exit status.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ProcessServer {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
