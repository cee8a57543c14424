//! The deployment files, read as Kubernetes and Docker would read them: the Agones manifests
//! (`deploy/agones/*.yaml`), the `Dockerfile` and `.dockerignore`. Nothing here can run them
//! (no cluster, no Docker engine), so this checks what would otherwise fail only at deploy time:
//! kinds and API versions, the autoscaler naming the fleet, the port, the environment variables
//! against the flags the server reads, and the image's build and user.

use std::collections::BTreeSet;
use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

/// The port the game listens on inside its container.
const GAME_PORT: i64 = 7777;

#[test]
fn fleet_is_an_agones_fleet_of_game_servers_on_a_dynamic_tcp_port() {
    let fleet = yaml("deploy/agones/fleet.yaml");
    assert_eq!(fleet["apiVersion"].as_str(), Some("agones.dev/v1"), "Fleet apiVersion");
    assert_eq!(fleet["kind"].as_str(), Some("Fleet"), "kind");
    assert!(fleet["metadata"]["name"].as_str().is_some(), "the fleet has a name");

    let game_server = &fleet["spec"]["template"]["spec"];
    let ports = game_server["ports"].as_vec().expect("GameServer ports");
    assert_eq!(ports.len(), 1, "one port: {ports:?}");
    assert_eq!(ports[0]["containerPort"].as_i64(), Some(GAME_PORT), "container port");
    assert_eq!(ports[0]["portPolicy"].as_str(), Some("Dynamic"), "port policy");
    assert_eq!(ports[0]["protocol"].as_str(), Some("TCP"), "protocol");

    // The game pings Health every 2 s (agones-report/src/lib.rs): the period must leave room.
    let health = &game_server["health"];
    assert_ne!(health["disabled"].as_bool(), Some(true), "health checking is on");
    let period = health["periodSeconds"].as_i64().expect("health.periodSeconds");
    assert!(period > 2, "health.periodSeconds {period} is longer than the 2 s ping");
    assert!(health["failureThreshold"].as_i64().is_some_and(|n| n >= 1), "failureThreshold");

    // The Counters the game sets must be declared, or Agones refuses them.
    for counter in ["players", "rooms"] {
        let declared = &game_server["counters"][counter];
        assert!(declared["capacity"].as_i64().is_some(), "Counter `{counter}` declared");
    }
    let container = game_container(&fleet);
    assert_eq!(
        game_server["counters"]["rooms"]["capacity"].as_i64(),
        env_value(container, "SKIRMISH_MAX_ROOMS").and_then(|v| v.parse().ok()),
        "the rooms Counter's capacity is --max-rooms"
    );
}

#[test]
fn fleet_sets_only_flags_the_server_reads() {
    let fleet = yaml("deploy/agones/fleet.yaml");
    let container = game_container(&fleet);
    assert!(container["image"].as_str().is_some(), "the container names an image");
    let ports = container["ports"].as_vec().expect("container ports");
    assert!(
        ports.iter().any(|port| port["containerPort"].as_i64() == Some(GAME_PORT)),
        "the container exposes {GAME_PORT}"
    );

    let env = container["env"].as_vec().expect("container env");
    let names: Vec<&str> = env.iter().map(|var| var["name"].as_str().expect("env name")).collect();
    for needed in ["SKIRMISH_REDIS_URL", "SKIRMISH_SESSION_SECRET", "SKIRMISH_PUBLIC_URL"] {
        assert!(names.contains(&needed), "{needed} is set: {names:?}");
    }
    let read = server_env_names();
    for name in names.iter().filter(|name| name.starts_with("SKIRMISH_")) {
        assert!(read.contains(*name), "{name} is a flag of the server ({read:?})");
    }
    // One session secret for the whole fleet, and never written in the manifest.
    let secret = env.iter().find(|var| var["name"].as_str() == Some("SKIRMISH_SESSION_SECRET"));
    let secret = secret.expect("SKIRMISH_SESSION_SECRET");
    assert!(secret["value"].is_badvalue(), "the session secret is not in the manifest");
    assert!(
        secret["valueFrom"]["secretKeyRef"]["name"].as_str().is_some(),
        "the session secret comes from a Secret"
    );
    // `$(VAR)` only expands variables defined earlier in the list.
    for (at, var) in env.iter().enumerate() {
        let Some(value) = var["value"].as_str() else { continue };
        for reference in value.split("$(").skip(1).filter_map(|rest| rest.split(')').next()) {
            assert!(names[..at].contains(&reference), "{} uses $({reference}) first", names[at]);
        }
    }
}

#[test]
fn autoscaler_buffers_the_fleet_by_name() {
    let fleet = yaml("deploy/agones/fleet.yaml");
    let autoscaler = yaml("deploy/agones/fleetautoscaler.yaml");
    assert_eq!(autoscaler["apiVersion"].as_str(), Some("autoscaling.agones.dev/v1"), "apiVersion");
    assert_eq!(autoscaler["kind"].as_str(), Some("FleetAutoscaler"), "kind");
    assert_eq!(
        autoscaler["spec"]["fleetName"].as_str(),
        fleet["metadata"]["name"].as_str(),
        "the autoscaler targets the fleet by name"
    );
    let policy = &autoscaler["spec"]["policy"];
    assert_eq!(policy["type"].as_str(), Some("Buffer"), "Buffer policy");
    let buffer = &policy["buffer"];
    let size = buffer["bufferSize"].as_i64().expect("bufferSize (a count)");
    let min = buffer["minReplicas"].as_i64().expect("minReplicas");
    let max = buffer["maxReplicas"].as_i64().expect("maxReplicas");
    assert!(
        0 < size && size <= min && min <= max,
        "0 < bufferSize {size} <= min {min} <= max {max}"
    );
}

#[test]
fn dockerfile_builds_client_and_agones_server_and_runs_them_unprivileged() {
    let instructions = dockerfile();
    let stages: Vec<&(String, String)> =
        instructions.iter().filter(|(keyword, _)| keyword == "FROM").collect();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    assert!(
        stages[0].1.ends_with(" AS builder") && stages[0].1.starts_with("rust:"),
        "the first stage builds on a Rust image: {}",
        stages[0].1
    );
    let runs: Vec<&str> = instructions
        .iter()
        .filter(|(keyword, _)| keyword == "RUN")
        .map(|(_, args)| args.as_str())
        .collect();
    let runs_with = |needle: &str| runs.iter().any(|run| run.contains(needle));
    assert!(runs_with("protobuf-compiler"), "protoc for the Agones SDK's build");
    assert!(runs_with("rustup target add wasm32-unknown-unknown"), "the wasm target");
    assert!(runs_with("trunk build --release --config Trunkfile.toml"), "the client build");
    assert!(
        runs_with("cargo build --release --locked -p server --features agones"),
        "the server with the agones feature"
    );

    // The build tools must match what the repository pins, or Trunk tries to download its own.
    let lock = read("Cargo.lock");
    let locked = lock
        .split("name = \"wasm-bindgen\"\nversion = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("wasm-bindgen in Cargo.lock");
    assert_eq!(arg(&instructions, "WASM_BINDGEN_VERSION"), locked, "wasm-bindgen-cli = Cargo.lock");
    let trunkfile = read("Trunkfile.toml");
    let binaryen = arg(&instructions, "BINARYEN_VERSION");
    let major = binaryen.split('.').next().unwrap();
    assert!(
        trunkfile.contains(&format!("wasm_opt = \"version_{major}\"")),
        "binaryen {binaryen} is the wasm-opt Trunkfile.toml pins"
    );

    // The runtime stage: everything after the last FROM.
    let last_from = instructions.iter().rposition(|(keyword, _)| keyword == "FROM").unwrap();
    let runtime = &instructions[last_from..];
    let user = runtime.iter().rfind(|(keyword, _)| keyword == "USER").map(|(_, user)| user);
    let user = user.expect("the runtime stage sets a USER");
    let name = user.split(':').next().unwrap();
    assert!(name != "root" && name != "0", "the runtime user is not root: {user}");
    assert!(
        runtime.iter().any(|(keyword, args)| keyword == "EXPOSE"
            && args.split_whitespace().any(|port| port.trim_end_matches("/tcp") == "7777")),
        "EXPOSE {GAME_PORT}"
    );
    let copies = |what: &str| {
        runtime.iter().any(|(keyword, args)| {
            keyword == "COPY" && args.starts_with("--from=builder") && args.contains(what)
        })
    };
    for what in ["skirmish-server", "/src/dist", "/src/assets"] {
        assert!(copies(what), "the runtime stage copies {what} from the builder");
    }
    assert!(
        runtime.iter().any(|(keyword, args)| keyword == "CMD" && args.contains("0.0.0.0:7777")),
        "the server binds every interface on {GAME_PORT}"
    );
    assert!(
        runtime.iter().any(|(keyword, args)| keyword == "VOLUME" && args.contains("/data"))
            && runtime.iter().any(|(keyword, args)| keyword == "ENV"
                && args.contains("SKIRMISH_DATA_DIR=/data")),
        "the data dir is the volume"
    );

    let ignored: BTreeSet<String> = read(".dockerignore")
        .lines()
        .map(|line| line.trim().trim_end_matches('/').to_string())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for path in ["target", "dist", ".tools", "**/node_modules", "e2e/artifacts", "data"] {
        assert!(ignored.contains(path), ".dockerignore leaves out {path}: {ignored:?}");
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|err| panic!("reading {path}: {err}"))
}

/// The single YAML document in `path`.
fn yaml(path: &str) -> Yaml {
    let mut documents =
        YamlLoader::load_from_str(&read(path)).unwrap_or_else(|err| panic!("{path}: {err}"));
    assert_eq!(documents.len(), 1, "{path} holds one document");
    documents.remove(0)
}

/// The fleet's game container (the pod template's only one; Agones adds its sidecar itself).
fn game_container(fleet: &Yaml) -> &Yaml {
    let containers = fleet["spec"]["template"]["spec"]["template"]["spec"]["containers"]
        .as_vec()
        .expect("pod template containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

fn env_value<'a>(container: &'a Yaml, name: &str) -> Option<&'a str> {
    let env = container["env"].as_vec()?;
    env.iter().find(|var| var["name"].as_str() == Some(name))?["value"].as_str()
}

/// Every `SKIRMISH_*` variable the server's flags read (`env = "…"` in its config).
fn server_env_names() -> BTreeSet<String> {
    let config = read("server/src/config.rs");
    let names: BTreeSet<String> = config
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    assert!(names.contains("SKIRMISH_BIND"), "found the server's flags: {names:?}");
    names
}

/// The Dockerfile's instructions as (keyword, arguments), continuation lines joined and
/// comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                let (keyword, args) =
                    current.split_once(char::is_whitespace).unwrap_or((&current, ""));
                let args = args.split_whitespace().collect::<Vec<_>>().join(" ");
                instructions.push((keyword.to_uppercase(), args));
                current.clear();
            }
        }
    }
    instructions
}

/// The default of `ARG name=…`.
fn arg(instructions: &[(String, String)], name: &str) -> String {
    let prefix = format!("{name}=");
    instructions
        .iter()
        .filter(|(keyword, _)| keyword == "ARG")
        .find_map(|(_, args)| args.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("ARG {name} in the Dockerfile"))
        .to_string()
}
