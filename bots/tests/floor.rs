//! The `floor` tool moves the message pattern it is asked for: each end reads and writes one
//! message per client per tick, and says so in its report (loopback only, a few seconds).

use std::process::{Command, Stdio};

fn report(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "floor failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().last().expect("a report line")).expect("JSON")
}

#[test]
fn both_ends_move_one_message_per_client_per_tick() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let pattern = ["--count", "4", "--hz", "20", "--secs", "1.5"];
    let floor = env!("CARGO_BIN_EXE_floor");
    let serve = Command::new(floor)
        .args(["serve", "--bind", &addr, "--down", "300"])
        .args(pattern)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("floor serve starts");
    let loaded = Command::new(floor)
        .args(["load", "--addr", &addr, "--up", "40"])
        .args(pattern)
        .output()
        .expect("floor load runs");
    let served = serve.wait_with_output().expect("floor serve ends");
    for (end, report) in [("serving", report(&served)), ("loading", report(&loaded))] {
        assert_eq!(report["clients"], 4, "{end}: {report}");
        for figure in ["reads_per_client_s", "writes_per_client_s"] {
            let rate = report[figure].as_f64().expect("a number");
            assert!((15.0..=25.0).contains(&rate), "{end}: {figure} {rate}, asked for 20");
        }
        assert!(report["us_per_client_s"].as_f64().is_some_and(f64::is_finite), "{end}: {report}");
    }
}
