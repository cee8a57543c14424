//! The code's shape, checked on the tree as it is: every module opens with `//!` docs saying
//! what it is for, and no two modules of one crate import each other, directly or through
//! others (a cycle means neither can be read, tested or moved without the other).
//!
//! A module is a crate's top-level file or folder (`src/lobby.rs` with `src/lobby/*.rs`);
//! a reference is `crate::name` outside comments and test code, or a name inside
//! `use crate::{...}`. Submodules using their parent (`super::`) are one module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 8] =
    ["shared", "server", "client", "bots", "store", "cluster", "heap", "xtask"];

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut found = Vec::new();
    for krate in CRATES {
        let graph = module_graph(&workspace().join(krate).join("src"));
        assert!(!graph.is_empty(), "{krate}: no modules found");
        if let Some(cycle) = find_cycle(&graph) {
            found.push(format!("{krate}: {}", cycle.join(" -> ")));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut bare = Vec::new();
    for krate in CRATES {
        for file in rust_files(&workspace().join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            let is_tests = file.file_name().is_some_and(|name| name == "tests.rs");
            if !is_tests && !text.trim_start().starts_with("//!") {
                bare.push(file.display().to_string());
            }
        }
    }
    assert!(bare.is_empty(), "modules without `//!` docs:\n{}", bare.join("\n"));
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph.entry(from.to_string()).or_default().insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    };
    assert_eq!(find_cycle(&graph(&[("a", "b"), ("b", "c")])), None);
    let cycle = find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
    assert_eq!(cycle.map(|c| c.len()), Some(4), "a -> b -> c -> a");
    let refs =
        references("use crate::{app::App, hud};\n// crate::camera\nlet x = crate::net::go();");
    assert_eq!(refs, BTreeSet::from(["app".into(), "hud".into(), "net".into()]));
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Module name → the modules it references.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let top = relative.components().next().expect("a path").as_os_str().to_string_lossy();
        let module = top.trim_end_matches(".rs").to_string();
        let is_tests = file.file_name().is_some_and(|name| name == "tests.rs");
        if module == "lib" || module == "main" || is_tests {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read a source file");
        // Unit tests sit at the end of a file, behind `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        sources.entry(module).or_default().push_str(code);
    }
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(module, code)| {
            let uses = references(code)
                .into_iter()
                .filter(|name| name != module && names.contains(name))
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// The names after `crate::` in code (comments skipped), including each name of a
/// `use crate::{a, b::c}` group.
fn references(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
    };
    let mut names = BTreeSet::new();
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            // Top-level items of the group: split on commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            names.insert(ident(&group[start..]));
        } else {
            names.insert(ident(rest));
        }
    }
    names.remove("");
    names
}

/// A cycle of the graph as the modules along it (first repeated at the end), if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first with colours: a back edge to a module on the current path closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}
