//! A private `redis-server` for tests (feature `testing`): a free port on 127.0.0.1, no
//! persistence, killed when dropped. It can be killed and started again on the same port
//! mid-test. Used by this crate's tests and by the server's cluster tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Directory;

/// How long a fresh server gets to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The key prefix [`TestRedis::directory`] uses.
pub const PREFIX: &str = "skirmish-test:";

/// A `redis-server` child process on a private port.
pub struct TestRedis {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts a server on a free port (another test may take the port between the probe and
    /// the server's bind: then it tries another).
    pub fn start() -> TestRedis {
        let binary = redis_binary().unwrap_or_else(|| {
            panic!(
                "redis-server is not installed (not on PATH, not in /usr/bin); run \
                 `cargo xtask setup`, which installs Debian's redis-server package"
            )
        });
        let mut redis = TestRedis { binary, port: 0, child: None };
        for _ in 0..5 {
            redis.port = free_port();
            if redis.try_start() {
                return redis;
            }
        }
        panic!("redis-server did not start on a free port")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A directory on this server, as one server process would open it.
    pub async fn directory(&self) -> Directory {
        Directory::connect(&self.url(), PREFIX).await.expect("connecting to the test redis")
    }

    /// `SIGKILL`, no clean shutdown: what a crash or a lost host looks like to clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new, empty server on the same port.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "kill the server before starting it again");
        assert!(self.try_start(), "redis-server did not start again on port {}", self.port);
    }

    fn try_start(&mut self) -> bool {
        let port = self.port.to_string();
        let child = Command::new(&self.binary)
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning redis-server");
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()).is_some() {
                // It exited: most likely the port was taken.
                self.child = None;
                return false;
            }
            if answers_ping(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a probe port");
    listener.local_addr().expect("probe address").port()
}

fn redis_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| is_file(candidate))
}

fn is_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|metadata| metadata.is_file())
}
