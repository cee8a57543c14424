//! The processes a benchmark starts: pinned to a core with `taskset`, waited for until they
//! listen, and stopped gracefully (SIGTERM, then SIGKILL after 10 s) however the run ends.

use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::bail;

/// The single-server benchmark's port (the cluster benchmark counts up from it).
pub(crate) const PORT: u16 = 7790;

/// `program` run on `core` (a `taskset -c` list) when `pin`, else as it is.
pub(crate) fn pinned(pin: bool, core: &str, program: &str) -> Command {
    if pin {
        let mut command = Command::new("taskset");
        command.args(["-c", core, program]);
        command
    } else {
        Command::new(program)
    }
}

/// Stops the server with SIGTERM (graceful) when dropped or asked.
pub(crate) struct ServerProcess(pub(crate) Child);

impl ServerProcess {
    pub(crate) fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.stop();
        }
    }
}

pub(crate) fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("the server did not listen on port {port} within 10 s")
}
