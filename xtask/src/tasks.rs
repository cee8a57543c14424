//! The tasks: run the game, run every test, run CI's checks.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::cmd::run as sh;
use crate::tools::{self, CHROMEDRIVER, Need, ToolEnv};

/// Builds the client into `dist/` with Trunk (release profile, wasm-opt) and reports its size.
pub(crate) fn build_client(env: &ToolEnv) -> anyhow::Result<()> {
    sh(env.command("trunk").args(["build", "--release", "--config", "Trunkfile.toml"]))?;
    report_wasm_size()
}

fn report_wasm_size() -> anyhow::Result<()> {
    for entry in std::fs::read_dir("dist").context("reading dist/")? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "wasm") {
            let raw = std::fs::read(&path)?;
            let gzipped = gzip_size(&path)?;
            println!(
                "client wasm: {} ({} bytes raw, {} bytes gzipped; budget 250 KB)",
                path.display(),
                raw.len(),
                gzipped
            );
        }
    }
    Ok(())
}

fn gzip_size(path: &Path) -> anyhow::Result<usize> {
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).output().context("running gzip")?;
    Ok(out.stdout.len())
}

/// `cargo xtask run`: build the client, then run the server in the foreground.
pub(crate) fn run(server_args: &[String]) -> anyhow::Result<()> {
    let env = tools::ensure_all(Need::ClientBuild)?;
    build_client(&env)?;
    let mut server = env.command("cargo");
    server
        .args(["run", "--release", "--package", "server", "--bin", "skirmish-server", "--"])
        .args(server_args);
    sh(&mut server)
}

/// `cargo xtask test`: every test, native, wasm in headless Chromium, and end to end.
pub(crate) fn test() -> anyhow::Result<()> {
    let env = tools::ensure_all(Need::Everything)?;
    // 1. Native unit and integration tests of every crate (the server's run real sockets; the
    //    store's run on SQLite and on a private PostgreSQL cluster; `agones-report`'s against
    //    a fake Agones SDK sidecar).
    sh(env.command("cargo").args(["test", "--workspace", "--locked"]))?;
    // 2. Client logic compiled to wasm, in headless Chromium through ChromeDriver.
    sh(env
        .command("cargo")
        .args(["test", "--locked", "--target", "wasm32-unknown-unknown", "--package", "client"])
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "180"))?;
    // 3. The release page, and the server, bots and Autobahn echo binaries for the last
    //    steps: in the dev profile with the whole workspace's features, as `cargo test
    //    --workspace` just built them, so this is links, not a compile (a build naming only
    //    `--package server` resolves other features and compiles dependencies again: minutes
    //    on a cold machine).
    build_client(&env)?;
    sh(env.command("cargo").args([
        "build",
        "--workspace",
        "--locked",
        "--bin",
        "skirmish-server",
        "--bin",
        "bots",
        "--example",
        "autobahn_echo",
    ]))?;
    let server_bin = Path::new("target/debug/skirmish-server")
        .canonicalize()
        .context("locating the server binary")?;
    let bots_bin =
        Path::new("target/debug/bots").canonicalize().context("locating the bots binary")?;
    // 4. The message decoders and handlers, and the replay reader, under libFuzzer, for a
    //    bounded time each.
    for target in ["client_msg", "server_msg", "replay"] {
        sh(env.command("cargo").args([
            "+nightly",
            "fuzz",
            "run",
            target,
            "--",
            "-max_total_time=30",
            "-max_len=2048",
            "-rss_limit_mb=2048",
        ]))?;
    }
    // 5. WebSocket conformance: the Autobahn cases (kosoku) against an echo server built on the
    //    production socket settings; compression (12.*, 13.*) is not offered.
    autobahn()?;
    // 6. Last, so its summary closes the output: the real page in two headless Chromium pages
    //    against the real server (playwright-core).
    sh(env
        .command("node")
        .args(["--test", "--test-reporter=spec", "e2e/game.test.mjs"])
        .env("SKIRMISH_SERVER_BIN", server_bin)
        .env("SKIRMISH_BOTS_BIN", bots_bin)
        .env("SKIRMISH_DIST", Path::new("dist").canonicalize()?))
}

/// The Autobahn cases against the echo server built in step 3 (about 8 s).
fn autobahn() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let address = format!("127.0.0.1:{port}");
    let mut echo = Command::new("target/debug/examples/autobahn_echo")
        .arg(&address)
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting the echo server")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(&address).is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let result = sh(Command::new(tools::KOSOKU).args([
        &format!("ws://{address}"),
        "-x",
        "12.*",
        "-x",
        "13.*",
        "-p",
        "2",
        "-o",
        "target/autobahn-report",
    ]));
    let _ = echo.kill();
    let _ = echo.wait();
    result.context("Autobahn conformance cases failed (reports in target/autobahn-report)")
}

/// `cargo xtask ci`: formatting and lints, then every test.
pub(crate) fn ci() -> anyhow::Result<()> {
    let env = tools::ensure_all(Need::Everything)?;
    sh(env.command("cargo").args(["fmt", "--all", "--check"]))?;
    // The workspace natively; again with the server's optional `agones` feature, which that
    // leaves out (the whole workspace, so features resolve as in the first pass and only the
    // server is checked again: `--package server` alone resolved them anew and checked most
    // dependencies a second time, about 3 of CI's minutes); the client as wasm, its real target.
    let lints: [&[&str]; 3] = [
        &["--workspace"],
        &["--workspace", "--features", "server/agones"],
        &["--package", "client", "--target", "wasm32-unknown-unknown"],
    ];
    for scope in lints {
        sh(env.command("cargo").arg("clippy").args(scope).args([
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    test()
}
