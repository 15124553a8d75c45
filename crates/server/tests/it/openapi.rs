//! The served OpenAPI document is the committed one, and it describes what
//! the server does: every route of `router.rs` under `/api/v1` is in it,
//! with each parameter's real requiredness.

use reqwest::Method;
use serde_json::Value;
use tandem_store::EngineKind;

use crate::support::{self, TestApp};

tandem_testkit::per_engine!(
    served_document_is_the_committed_one,
    documented_operations_need_auth,
    every_status_is_documented
);

/// The router's source, read for the routes it declares.
const ROUTER_RS: &str = include_str!("../../src/router.rs");

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
const BLESS: &str = "TANDEM_BLESS=1 cargo test -p tandem-server --test it openapi";

/// With `TANDEM_BLESS=1`, writes the current document to `docs/openapi.json`
/// (atomically: both engines' tests may do it at once).
fn bless() {
    let path = std::path::Path::new(COMMITTED);
    std::fs::create_dir_all(path.parent().unwrap()).expect("create docs/");
    let tmp = path.with_extension(format!("json.{}.tmp", uuid::Uuid::now_v7().simple()));
    std::fs::write(&tmp, tandem_server::openapi::document_text()).expect("write the document");
    std::fs::rename(&tmp, path).expect("replace docs/openapi.json");
}

async fn served_document_is_the_committed_one(engine: EngineKind) {
    if std::env::var("TANDEM_BLESS").as_deref() == Ok("1") {
        bless();
    }
    let app = TestApp::start(engine).await;
    let served = app
        .get(&app.stakeholder, "/api/v1/openapi.json")
        .await
        .ok(200)
        .body;
    let text = std::fs::read_to_string(COMMITTED).unwrap_or_else(|e| {
        panic!("docs/openapi.json cannot be read ({e}); create it with `{BLESS}`")
    });
    let committed: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("docs/openapi.json is not JSON ({e}); regenerate it with `{BLESS}`")
    });
    assert!(
        served == committed,
        "docs/openapi.json is out of date with the API; regenerate it with `{BLESS}` and commit it"
    );
    assert!(
        text == tandem_server::openapi::document_text(),
        "docs/openapi.json is not formatted as generated; regenerate it with `{BLESS}`"
    );
}

/// Every operation under /api/v1 except signing in requires credentials,
/// both on paper and in fact.
async fn documented_operations_need_auth(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let doc = tandem_server::openapi::document();
    let top_level = doc["security"].as_array().expect("top-level security");
    assert!(
        !top_level.is_empty()
            && top_level
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
    );
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert!(
        schemes.contains_key("bearer") && schemes.contains_key("session"),
        "{schemes:?}"
    );

    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 20, "{} paths", paths.len());
    let mut checked = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().expect("an HTTP method");
            let open = match op.get("security") {
                None => false,
                Some(reqs) => reqs
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r.as_object().unwrap().is_empty()),
            };
            if path == "/api/v1/session" && method == Method::POST {
                assert!(open, "signing in needs no credentials");
                continue;
            }
            assert!(!open, "{method} {path} must declare security");

            // The route exists and refuses anonymous callers.
            let concrete = support::concrete_path(path);
            let mut request = app.request(method.clone(), &concrete);
            if matches!(method, Method::POST | Method::PATCH) {
                request = request.json(&serde_json::json!({}));
            }
            let reply = app.send(request).await;
            assert_eq!(
                reply.status.as_u16(),
                401,
                "{method} {concrete}: {:#}",
                reply.body
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} operations");
}

/// The `(METHOD, /api/v1/path)` pairs `router.rs` declares in its `/api/v1`
/// router: each `.route("/path", get(a).post(b))`, whichever way it is
/// wrapped across lines, with `axum::routing::patch(…)` spelled out or not.
fn declared_routes() -> std::collections::BTreeSet<(String, String)> {
    let start = ROUTER_RS
        .find("let v1 = Router::new()")
        .expect("router.rs builds the /api/v1 router as `let v1 = Router::new()`");
    let len = ROUTER_RS[start..]
        .find(';')
        .expect("the /api/v1 router ends");
    let v1 = &ROUTER_RS[start..start + len];
    for other in [".nest(", ".merge(", ".nest_service(", ".route_service("] {
        assert!(
            !v1.contains(other),
            "the /api/v1 router uses {other}…): teach this sweep to follow it"
        );
    }
    let mut routes = std::collections::BTreeSet::new();
    for (at, _) in v1.match_indices(".route(") {
        let args = &v1[at + ".route(".len()..];
        // The arguments up to the matching parenthesis.
        let mut depth = 1;
        let end = args
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .expect("a closed .route(…)");
        let args = &args[..end];
        let (path, handlers) = args
            .trim_start()
            .strip_prefix('"')
            .and_then(|rest| rest.split_once('"'))
            .unwrap_or_else(|| panic!("a route whose path is not a literal: {args}"));
        let mut methods = 0;
        // Every `<method>(` call: a method router, at any nesting.
        for (i, _) in handlers.match_indices('(') {
            let name: String = handlers[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
                .chars()
                .rev()
                .collect();
            if ["get", "post", "put", "patch", "delete"].contains(&name.as_str()) {
                routes.insert((name.to_uppercase(), format!("/api/v1{path}")));
                methods += 1;
            }
        }
        assert!(methods > 0, "no method found in .route({args})");
    }
    assert!(
        routes.len() > 60,
        "{} routes found in router.rs",
        routes.len()
    );
    routes
}

/// Every route `router.rs` serves under `/api/v1` is documented, and every
/// documented operation is served.
#[test]
fn every_route_is_documented() {
    let doc = tandem_server::openapi::document();
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed = declared_routes();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routed in router.rs but missing from the OpenAPI document (add a \
         #[utoipa::path] and list it in openapi.rs): {undocumented:#?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:#?}"
    );
}

/// Parameters a handler refuses to go without are documented as required.
#[test]
fn required_parameters_are_documented_as_required() {
    let doc = tandem_server::openapi::document();
    let required = |path: &str, name: &str| -> bool {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters"))
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} documents {name}"))["required"]
            == true
    };
    let paths = doc["paths"].as_object().expect("paths");
    let mut delivery = 0;
    for path in paths.keys() {
        if path.starts_with("/api/v1/delivery/") {
            assert!(required(path, "since"), "{path}: since");
            assert!(!required(path, "until"), "{path}: until");
            delivery += 1;
        }
    }
    assert!(delivery >= 10, "{delivery} delivery routes");
    assert!(required("/api/v1/delivery/explain", "metric"));
    assert!(required("/api/v1/backlog", "team"));
}

/// No two types that derive `ToSchema` (or are `string_enum!`s) anywhere in
/// the workspace share a schema name: utoipa keeps one of them silently, so
/// the other's fields would be documented as the first's (a goal's `Stage`
/// documented as a pull request's). `#[schema(as = Name)]` renames one.
#[test]
fn schema_names_are_unique() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs = vec![crates];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !["target", "tests", "benches", "fixtures"].contains(&name.as_str()) {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let derive_start = line.trim_start().starts_with("#[derive(");
            let macro_start = line.trim_end().ends_with("string_enum! {");
            if !derive_start && !macro_start {
                continue;
            }
            // The attribute (or the macro's head) through the item's name.
            let mut renamed = None;
            let mut derives_schema = macro_start;
            let mut in_attribute = derive_start;
            for next in &lines[i..] {
                let t = next.trim();
                derives_schema |= t.contains("ToSchema");
                if derive_start && !in_attribute && !t.starts_with("#[") && !t.starts_with("//") {
                    // Past the attributes: the item must be on this line.
                    let item = t.contains("struct ") || t.contains("enum ");
                    if !item {
                        break;
                    }
                }
                if t.ends_with(")]") || t.ends_with(']') {
                    in_attribute = false;
                }
                if let Some(rest) = t.strip_prefix("#[schema(as = ") {
                    renamed = Some(rest.trim_end_matches(")]").to_owned());
                }
                let name = if macro_start {
                    t.strip_suffix(" {")
                        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
                } else {
                    t.split_once("struct ")
                        .or_else(|| t.split_once("enum "))
                        .filter(|(before, _)| !before.contains("//"))
                        .map(|(_, after)| {
                            after
                                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                                .next()
                                .unwrap_or_default()
                        })
                };
                if let Some(name) = name {
                    if derives_schema {
                        let name = renamed.take().unwrap_or_else(|| name.to_owned());
                        seen.entry(name)
                            .or_default()
                            .push(file.display().to_string());
                    }
                    break;
                }
            }
        }
    }
    assert!(seen.len() > 100, "{} schema names found", seen.len());
    let shared: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "schema names used by several types (rename one with #[schema(as = Name)]): {shared:#?}"
    );
}

/// Every `$ref` in the document points at a schema it defines (utoipa
/// refers to a path parameter's type without collecting it).
#[test]
fn every_reference_resolves() {
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc = tandem_server::openapi::document();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 100, "{} references", found.len());
    let dangling: std::collections::BTreeSet<_> = found
        .into_iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| doc["components"]["schemas"].get(name).is_none())
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

/// Each operation's operationId is its own (generated clients name their
/// functions by it; a duplicate silently loses one of them).
#[test]
fn operation_ids_are_unique() {
    let doc = tandem_server::openapi::document();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let id = op["operationId"].as_str().expect("an operationId");
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("{method} {path} and {other} share the operationId {id}");
            }
        }
    }
}

/// Whatever each documented operation answers a stakeholder, an admin and an
/// anonymous caller (a fresh id in the path, no query, an empty JSON object
/// for a body) is a status the document lists for it.
async fn every_status_is_documented(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let doc = tandem_server::openapi::document();
    let mut undocumented = Vec::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let statuses = op["responses"].as_object().expect("responses");
            let method: Method = method.to_uppercase().parse().expect("an HTTP method");
            for who in [Some(&app.stakeholder), Some(&app.admin), None] {
                let concrete = support::concrete_path(path);
                let mut request = app.request(method.clone(), &concrete);
                if let Some(token) = who {
                    request = request.bearer_auth(token);
                }
                if op.get("requestBody").is_some() {
                    request = request.json(&serde_json::json!({}));
                }
                let reply = app.send(request).await;
                let status = reply.status.as_str().to_owned();
                if !statuses.contains_key(&status) {
                    undocumented.push(format!(
                        "{method} {concrete} ({}): {status} {}",
                        if who == Some(&app.admin) {
                            "admin"
                        } else if who.is_some() {
                            "stakeholder"
                        } else {
                            "anonymous"
                        },
                        reply.body
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "{checked} calls");
    assert!(
        undocumented.is_empty(),
        "answers the document does not list:\n{}",
        undocumented.join("\n")
    );
}
