//! What the whole process has cost so far, read from `/proc/self`: CPU time, resident memory
//! and open descriptors. The server exports them in `/metrics`; the bots report their own CPU
//! per client from them. Zeros where `/proc` is absent (not Linux).

/// One reading of `/proc/self`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time since the process started.
    pub cpu_seconds: f64,
    /// Resident set size.
    pub rss_bytes: f64,
    /// Open file descriptors (sockets included).
    pub open_fds: f64,
}

impl Usage {
    /// Reads all three figures.
    pub fn read() -> Usage {
        let rss_kib = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let open_fds =
            std::fs::read_dir("/proc/self/fd").map(|dir| dir.count() as f64).unwrap_or(0.0);
        Usage { cpu_seconds: cpu_seconds(), rss_bytes: rss_kib * 1024.0, open_fds }
    }
}

/// User plus system CPU time of this process (the cheap part of [`Usage::read`], for callers
/// that sample it often).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    cpu_seconds_of(&stat)
}

/// utime + stime from a `/proc/<pid>/stat` line: fields 14 and 15, counted after the
/// parenthesised command name (which may itself hold spaces and parentheses).
fn cpu_seconds_of(stat: &str) -> f64 {
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Linux reports these in clock ticks of 1/100 s on every mainstream configuration.
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3";
        assert_eq!(cpu_seconds_of(stat), 3.25);
        assert_eq!(cpu_seconds_of("garbage"), 0.0);
    }

    #[test]
    fn this_process_has_memory_and_descriptors() {
        let usage = Usage::read();
        assert!(usage.rss_bytes > 0.0, "{usage:?}");
        assert!(usage.open_fds >= 1.0, "{usage:?}");
        // Busy until the kernel has charged at least one clock tick (bounded by wall time).
        let spin = std::time::Instant::now();
        while cpu_seconds() == 0.0 && spin.elapsed() < std::time::Duration::from_secs(5) {
            std::hint::black_box(spin.elapsed());
        }
        assert!(cpu_seconds() > 0.0, "this test's own CPU time is read");
    }
}
