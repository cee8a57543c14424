//! Installs the tools the build and the tests need, each only when it is missing:
//! the wasm32 target, Trunk, the wasm-bindgen CLI matching `Cargo.lock`, wasm-opt (npm's
//! binaryen, since Debian's is too old for current rustc output), Chromium with ChromeDriver,
//! PostgreSQL (the store's tests start a private cluster with its binaries), Redis (the
//! cluster crate's tests start a private `redis-server`), `protoc` (the `agones-report` crate,
//! the server's `agones` feature, compiles the Agones SDK's .proto files), and the end-to-end
//! test's npm packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd::{self, output, run};

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132.0.0";
const CARGO_FUZZ_VERSION: &str = "0.13.2";
const KOSOKU_VERSION: &str = "0.1.0";
/// The Autobahn case runner, in a virtualenv of its own.
pub(crate) const KOSOKU: &str = ".tools/venv/bin/kosoku";
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Which tools a task needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Building the browser client (`cargo xtask run`).
    ClientBuild,
    /// Everything, including the browser and the end-to-end test's packages.
    Everything,
}

/// The environment for commands that use the installed tools.
pub(crate) struct ToolEnv {
    /// `PATH` with `~/.cargo/bin` and the local wasm-opt first.
    pub(crate) path: String,
}

impl ToolEnv {
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", &self.path).env("TRUNK_SKIP_VERSION_CHECK", "true");
        command
    }
}

pub(crate) fn ensure_all(need: Need) -> anyhow::Result<ToolEnv> {
    let env = tool_env()?;
    ensure_wasm_target()?;
    ensure_wasm_bindgen(&env)?;
    ensure_trunk(&env)?;
    ensure_wasm_opt(&env)?;
    if need == Need::Everything {
        ensure_browser()?;
        ensure_postgres()?;
        ensure_redis()?;
        ensure_protoc()?;
        ensure_e2e_packages(&env)?;
        ensure_fuzzer(&env)?;
        ensure_kosoku()?;
    }
    Ok(env)
}

fn tool_env() -> anyhow::Result<ToolEnv> {
    let root = cmd::repo_root()?;
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?
        .join("bin");
    let local_bin = root.join(".tools/node_modules/.bin");
    let mut paths = vec![local_bin, cargo_bin];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let path = std::env::join_paths(paths).context("building PATH")?.to_string_lossy().to_string();
    Ok(ToolEnv { path })
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|line| line.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The exact wasm-bindgen version in `Cargo.lock`; the CLI must match it.
fn locked_wasm_bindgen_version() -> anyhow::Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.trim().strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_string());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn installed_version(env: &ToolEnv, program: &str) -> Option<String> {
    let text = output(env.command(program).arg("--version"))?;
    text.split_whitespace().nth(1).map(str::to_string)
}

fn ensure_wasm_bindgen(env: &ToolEnv) -> anyhow::Result<()> {
    let wanted = locked_wasm_bindgen_version()?;
    if installed_version(env, "wasm-bindgen").as_deref() == Some(wanted.as_str())
        && installed_version(env, "wasm-bindgen-test-runner").as_deref() == Some(wanted.as_str())
    {
        return Ok(());
    }
    println!("installing wasm-bindgen-cli {wanted} (matches Cargo.lock; a few minutes)");
    run(env.command("cargo").args([
        "install",
        "--locked",
        "wasm-bindgen-cli",
        "--version",
        &wanted,
    ]))
}

fn ensure_trunk(env: &ToolEnv) -> anyhow::Result<()> {
    if installed_version(env, "trunk").as_deref() == Some(TRUNK_VERSION) {
        return Ok(());
    }
    println!("installing trunk {TRUNK_VERSION} (about 8 minutes on 2 cores, once)");
    run(env.command("cargo").args(["install", "--locked", "trunk", "--version", TRUNK_VERSION]))
}

fn ensure_wasm_opt(env: &ToolEnv) -> anyhow::Result<()> {
    let local = Path::new(".tools/node_modules/.bin/wasm-opt");
    if local.exists()
        && output(env.command("wasm-opt").arg("--version")).is_some_and(|v| v.contains("132"))
    {
        return Ok(());
    }
    npm_available()?;
    run(env.command("npm").args([
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        ".tools",
        &format!("binaryen@{BINARYEN_VERSION}"),
    ]))
}

fn npm_available() -> anyhow::Result<()> {
    if output(Command::new("npm").arg("--version")).is_none() {
        bail!(
            "npm is needed (Node.js 18 or newer): install Node.js, e.g. `apt-get install nodejs npm`"
        );
    }
    Ok(())
}

fn ensure_browser() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    println!("installing Debian's chromium and chromium-driver for the browser tests");
    apt_install(&["chromium", "chromium-driver"]).context("installing chromium")
}

/// Debian's PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`): the store's tests
/// run `initdb` and `pg_ctl` for a private cluster; the package's own cluster is left alone.
fn ensure_postgres() -> anyhow::Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|version| version.path().join("bin/initdb").exists());
    if installed {
        return Ok(());
    }
    println!("installing Debian's postgresql for the store's tests");
    apt_install(&["postgresql"]).context("installing postgresql")
}

/// Debian's `redis-server` (7.0): the cluster crate's tests start their own on a free port;
/// the package's own service is left alone.
fn ensure_redis() -> anyhow::Result<()> {
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file())
    });
    if on_path || Path::new("/usr/bin/redis-server").is_file() {
        return Ok(());
    }
    println!("installing Debian's redis-server for the cluster crate's tests");
    apt_install(&["redis-server"]).context("installing redis-server")
}

/// Debian's `protobuf-compiler`: the `agones` SDK crate's build script runs `protoc` (the
/// `agones-report` crate, which the server links with its `agones` feature).
fn ensure_protoc() -> anyhow::Result<()> {
    if output(Command::new("protoc").arg("--version")).is_some() {
        return Ok(());
    }
    println!("installing Debian's protobuf-compiler for the Agones SDK (agones-report)");
    apt_install(&["protobuf-compiler"]).context("installing protobuf-compiler")
}

/// `apt-get update`, then `apt-get install` of `packages`, through `sudo` unless root.
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let sudo = !cmd::is_root();
    let apt = |args: &[&str]| {
        let mut command = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
        if sudo {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    apt(&["update", "-q"]).context("apt-get update (run as root or with sudo)")?;
    apt(&[&["install", "-y", "-q"], packages].concat())
}

/// cargo-fuzz, and the nightly toolchain it needs (which this kind of machine provides).
fn ensure_fuzzer(env: &ToolEnv) -> anyhow::Result<()> {
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !toolchains.lines().any(|line| line.starts_with("nightly")) {
        bail!("the fuzz targets need a nightly toolchain: `rustup toolchain install nightly`");
    }
    if output(env.command("cargo").args(["fuzz", "--version"])).is_some() {
        return Ok(());
    }
    println!("installing cargo-fuzz {CARGO_FUZZ_VERSION} (a minute or two, once)");
    run(env.command("cargo").args([
        "install",
        "--locked",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

/// kosoku (PyPI): runs the Autobahn TestSuite's cases on Python 3.
fn ensure_kosoku() -> anyhow::Result<()> {
    if Path::new(KOSOKU).exists() {
        return Ok(());
    }
    if !Path::new(".tools/venv/bin/pip").exists() {
        run(Command::new("python3").args(["-m", "venv", ".tools/venv"]))
            .context("creating a Python venv (python3 -m venv)")?;
    }
    run(Command::new(".tools/venv/bin/pip").args([
        "install",
        "--quiet",
        &format!("kosoku=={KOSOKU_VERSION}"),
    ]))
}

fn ensure_e2e_packages(env: &ToolEnv) -> anyhow::Result<()> {
    if Path::new("e2e/node_modules/playwright-core/package.json").exists() {
        return Ok(());
    }
    npm_available()?;
    run(env.command("npm").args(["ci", "--no-audit", "--no-fund", "--prefix", "e2e"]))
}
