//! Running commands with a readable echo and errors that say which command failed.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

/// The workspace root: the parent of this crate's directory.
pub(crate) fn repo_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).context("xtask lives one level below the repository root")
}

/// Echoes and runs `command`, failing unless it exits 0; says how long it took, so a CI log
/// shows where its minutes go.
pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    println!("$ {}", describe(command));
    let started = Instant::now();
    let status = command.status().with_context(|| format!("starting `{}`", describe(command)))?;
    let took = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("`{}` failed with {status} after {took:.0} s", describe(command));
    }
    println!("(took {took:.0} s: {})", describe(command));
    Ok(())
}

/// Runs `command` quietly and returns its standard output, or `None` if it cannot run or fails.
pub(crate) fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(crate) fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().to_string();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Whether this process runs as root (then `apt-get` needs no `sudo`).
pub(crate) fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid == "0")
}
