//! Guards for the layering (issue 11): reads the workspace's
//! manifests with `cargo metadata --no-deps` (no resolution, no network) and
//! fails when
//!
//! - `tandem-domain` gains a normal or build dependency on an I/O crate
//!   ([`DOMAIN_FORBIDDEN`]: runtimes, databases, HTTP, mail, object storage,
//!   git, file-system walkers) or on any other `tandem-*` crate: the domain is
//!   pure and everything depends on it, never the other way round;
//! - `tandem-app` depends on an HTTP or template crate ([`APP_FORBIDDEN`]):
//!   the application layer never sees a status code. While the workspace has
//!   no `tandem-app` this check says so on stderr and passes; it fires as soon
//!   as the crate exists.
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
    if !app_checked {
        eprintln!(
            "layering: no tandem-app package in this workspace yet, so its \
             check (no {APP_FORBIDDEN:?}) was skipped; it runs once the crate exists"
        );
    }
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
