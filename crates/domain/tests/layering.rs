//! Guards for the layering (issue 11): reads the workspace's
//! manifests with `cargo metadata --no-deps` (no resolution, no network) and
//! fails when
//!
//! - `tandem-domain` gains a normal or build dependency on an I/O crate
//!   ([`DOMAIN_FORBIDDEN`]: runtimes, databases, HTTP, mail, object storage,
//!   git, file-system walkers) or on any other `tandem-*` crate: the domain is
//!   pure and everything depends on it, never the other way round;
//! - `tandem-app` depends on an HTTP or template crate ([`APP_FORBIDDEN`]):
//!   the application layer never sees a status code;
//! - a crate depends on a workspace crate above it ([`MAY_DEPEND_ON`]);
//! - the CLI names `tandem_server::api`, or the app names a status code;
//! - the top-level modules of the app or of the server import each other in
//!   a circle (read from `crate::x` paths in their sources).
//!
//! Only direct dependencies are checked (what a manifest line adds); dev
//! dependencies are free. Clock reads in the domain are kept out by
//! `crates/domain/clippy.toml` (`disallowed-methods`), not here.

use std::process::Command;

use serde_json::Value;

/// Crates that do I/O (or exist to), which the domain must not depend on.
const DOMAIN_FORBIDDEN: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "mio",
    "futures-io",
    "sqlx",
    "rusqlite",
    "postgres",
    "tokio-postgres",
    "redis",
    "axum",
    "hyper",
    "hyper-util",
    "tower",
    "tower-http",
    "reqwest",
    "ureq",
    "curl",
    "lettre",
    "object_store",
    "gix",
    "git2",
    "tempfile",
    "walkdir",
    "notify",
    "memmap2",
    "fs-err",
    "figment",
    "rust-embed",
    "tracing-subscriber",
    "getrandom",
];

/// Crates that speak HTTP or render pages, which the application layer must
/// not depend on.
const APP_FORBIDDEN: &[&str] = &["axum", "askama", "tower-http", "hyper"];

/// The workspace's own packages with their direct dependencies, from
/// `cargo metadata --no-deps`.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .args(["--manifest-path", manifest])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// What the layering rules find wrong in `metadata`, and whether a
/// `tandem-app` package was there to check.
fn violations(metadata: &Value) -> (Vec<String>, bool) {
    let mut found = Vec::new();
    let mut app_checked = false;
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let rules: &[&str] = match name {
            "tandem-domain" => DOMAIN_FORBIDDEN,
            "tandem-app" => {
                app_checked = true;
                APP_FORBIDDEN
            }
            _ => continue,
        };
        for dep in package["dependencies"].as_array().expect("dependencies") {
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if rules.contains(&dep_name) {
                found.push(format!("{name} depends on {dep_name}"));
            } else if name == "tandem-domain" && dep_name.starts_with("tandem") {
                found.push(format!(
                    "{name} depends on {dep_name}: the domain depends on no other tandem crate"
                ));
            }
        }
    }
    (found, app_checked)
}

#[test]
fn the_domain_has_no_io_dependencies_and_the_app_no_http_ones() {
    let (found, app_checked) = violations(&metadata());
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
    assert!(
        app_checked,
        "the workspace has no tandem-app package to check"
    );
}

/// Which workspace crates each crate may depend on (normal and build
/// dependencies): each layer only on the ones below it (ARCHITECTURE.md).
const MAY_DEPEND_ON: &[(&str, &[&str])] = &[
    ("tandem-domain", &[]),
    ("tandem-demo", &["tandem-domain"]),
    ("tandem-store", &["tandem-domain", "tandem-demo"]),
    ("tandem-importers", &["tandem-domain", "tandem-store"]),
    (
        "tandem-app",
        &[
            "tandem-domain",
            "tandem-demo",
            "tandem-store",
            "tandem-importers",
        ],
    ),
    (
        "tandem-server",
        &["tandem-domain", "tandem-store", "tandem-app"],
    ),
    (
        "tandem",
        &[
            "tandem-domain",
            "tandem-store",
            "tandem-app",
            "tandem-importers",
            "tandem-server",
        ],
    ),
];

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let metadata = metadata();
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = MAY_DEPEND_ON.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if dep["kind"].as_str() != Some("dev")
                && dep_name.starts_with("tandem")
                && !allowed.contains(&dep_name)
            {
                found.push(format!("{name} depends on {dep_name}"));
            }
        }
    }
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

/// The workspace root.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.push((path, text));
            }
        }
    }
    out
}

/// Text checks that the manifests cannot make: the CLI does not reach into
/// the server's handlers, and the app names no HTTP status.
#[test]
fn the_cli_calls_the_app_and_the_app_speaks_no_http() {
    let mut found = Vec::new();
    for (path, text) in sources(&root().join("crates/cli/src")) {
        if text.contains("tandem_server::api") {
            found.push(format!("{} uses tandem_server::api", path.display()));
        }
    }
    for (path, text) in sources(&root().join("crates/app/src")) {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        for word in ["StatusCode", "axum::", "http::"] {
            if code.contains(word) {
                found.push(format!("{} mentions {word}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The top-level modules of a crate's `src` and, for each, the other
/// top-level modules it names as `crate::x` (or `super::x` from a file
/// directly under `src`).
fn module_graph(
    src: &std::path::Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut graph = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    let top = |path: &std::path::Path| -> Option<String> {
        let rel = path.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
        let name = first.trim_end_matches(".rs").to_owned();
        (name != "lib" && name != "main").then_some(name)
    };
    let files = sources(src);
    let modules: std::collections::BTreeSet<String> =
        files.iter().filter_map(|(p, _)| top(p)).collect();
    for (path, text) in &files {
        let Some(from) = top(path) else { continue };
        let uses = graph.entry(from.clone()).or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name != from && modules.contains(&name) {
                    uses.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circles_among_the_app_and_server_top_level_modules() {
    for krate in ["app", "server"] {
        let graph = module_graph(&root().join("crates").join(krate).join("src"));
        assert!(graph.len() > 3, "{krate}: too few modules found: {graph:?}");
        if let Some(found) = cycle(&graph) {
            panic!(
                "crates/{krate}: the modules import each other in a circle: {}",
                found.join(" -> ")
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_one() {
    let mut graph = std::collections::BTreeMap::new();
    let set = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect();
    graph.insert("report".to_owned(), set(&["settings", "send"]));
    graph.insert("send".to_owned(), set(&["report"]));
    graph.insert("settings".to_owned(), set(&[]));
    assert_eq!(
        cycle(&graph),
        Some(vec![
            "report".to_owned(),
            "send".to_owned(),
            "report".to_owned()
        ])
    );
    graph.insert("send".to_owned(), set(&["settings"]));
    assert_eq!(cycle(&graph), None);
}

/// The rules fire on a made-up workspace that breaks each of them.
#[test]
fn the_rules_fire_on_a_broken_workspace() {
    let broken = serde_json::json!({ "packages": [
        { "name": "tandem-domain", "dependencies": [
            { "name": "chrono", "kind": null },
            { "name": "tokio", "kind": null },
            { "name": "tandem-store", "kind": null },
            { "name": "tempfile", "kind": "dev" },
        ]},
        { "name": "tandem-app", "dependencies": [
            { "name": "tandem-domain", "kind": null },
            { "name": "axum", "kind": null },
            { "name": "askama", "kind": "build" },
        ]},
        { "name": "tandem-server", "dependencies": [{ "name": "axum", "kind": null }] },
    ]});
    let (found, app_checked) = violations(&broken);
    assert!(app_checked);
    assert_eq!(
        found,
        [
            "tandem-domain depends on tokio",
            "tandem-domain depends on tandem-store: the domain depends on no other tandem crate",
            "tandem-app depends on axum",
            "tandem-app depends on askama",
        ]
    );
}
