//! Project automation, the `cargo xtask` pattern: plain Rust, no extra tools needed to start.
//!
//! ```text
//! cargo xtask run [-- <server flags>]   install what is missing, build the client, start the server
//! cargo xtask test                      install what is missing, run every test
//! cargo xtask ci                        formatting and lint checks, then `test`
//! cargo xtask bench [--counts 100,250,500,1000] [--duration 20] [--full-at 200] [--only cluster|spectators]
//!                                       load benchmark: how many players one core holds,
//!                                       and three processes sharing Redis
//! cargo xtask setup                     only install the tools
//! cargo xtask build-client              only build the page into dist/
//! ```
//!
//! Each step that installs something first checks whether it is already there, so the second
//! run on a machine starts at once.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod bench;
mod cluster_bench;
mod cmd;
mod floor_bench;
mod procs;
mod report;
mod tasks;
mod tools;

use anyhow::bail;

/// What `cargo xtask help` prints.
const USAGE: &str = "\
usage: cargo xtask <task> [flags]

  run [-- <server flags>]   install what is missing, build the client, start the server
                            (`cargo xtask run -- --help` lists the server's flags)
  test                      install what is missing, run every test
  ci                        formatting and lint checks, then `test`
  bench [flags]             load benchmark: how many players one core holds, several rooms,
                            spectators, replays, and three processes sharing Redis
                            (`cargo xtask bench --help` lists its flags)
  setup                     only install the tools
  build-client              only build the page into dist/
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let rest: Vec<String> = rest.iter().filter(|arg| *arg != "--").cloned().collect();
    let root = cmd::repo_root()?;
    std::env::set_current_dir(&root)?;
    match task {
        "run" => tasks::run(&rest),
        "test" => tasks::test(),
        "ci" => tasks::ci(),
        "bench" => bench::bench(&rest),
        "setup" => tools::ensure_all(tools::Need::Everything).map(|_| ()),
        "build-client" => {
            tools::ensure_all(tools::Need::ClientBuild).and_then(|env| tasks::build_client(&env))
        }
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`: try `cargo xtask help`"),
    }
}
