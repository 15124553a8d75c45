//! The served OpenAPI document is the committed one, and it describes what
//! the server does.

use reqwest::Method;
use serde_json::Value;
use tandem_store::EngineKind;

use crate::support::{self, TestApp};

tandem_testkit::per_engine!(
    served_document_is_the_committed_one,
    documented_operations_need_auth
);

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
