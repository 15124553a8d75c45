//! Authorisation runs before the body is read: for every documented write
//! under `/api/v1` that a stakeholder may not call, a stakeholder's malformed
//! body gets 403 (not 400/415/422 describing the body's fields).

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use tandem_store::EngineKind;

use crate::support::{self, TestApp};

tandem_testkit::per_engine!(stakeholder_malformed_writes_are_forbidden);

/// The writes a stakeholder may legitimately call, so a malformed body
/// reaches the body parser (or, for signing out, no body is read).
const STAKEHOLDER_WRITES: &[(&str, &str)] = &[
    // Signing in needs no credentials at all.
    ("POST", "/api/v1/session"),
    // Anyone signed in may end their own session.
    ("DELETE", "/api/v1/session"),
    // A heartbeat is authenticated by the token in its path; it reads no body.
    ("POST", "/heartbeats/{token}"),
    // Anyone signed in may ask something of a team and answer the four
    // questions of their own request (issue 14); deciding needs a manager.
    ("POST", "/api/v1/requests"),
    ("POST", "/api/v1/requests/{id}/answers"),
    // The agenda asks stakeholders to decide about goals at risk (issue 13).
    ("POST", "/api/v1/goals/{id}/decision"),
];

async fn stakeholder_malformed_writes_are_forbidden(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let doc = tandem_server::openapi::document();
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().expect("a path item").keys() {
            let method: Method = method.to_uppercase().parse().expect("an HTTP method");
            if !matches!(
                method,
                Method::POST | Method::PUT | Method::PATCH | Method::DELETE
            ) || STAKEHOLDER_WRITES.contains(&(method.as_str(), path.as_str()))
            {
                continue;
            }
            let concrete = support::concrete_path(path);
            let reply = app
                .send(
                    app.request(method.clone(), &concrete)
                        .bearer_auth(&app.stakeholder)
                        .header(CONTENT_TYPE, "application/json")
                        .body(r#"{"x":"#),
                )
                .await;
            if reply.status.as_u16() != 403 {
                wrong.push(format!(
                    "{method} {concrete}: {} {}",
                    reply.status, reply.body
                ));
            }
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "a stakeholder's malformed write was not refused with 403:\n{}",
        wrong.join("\n")
    );
    assert!(checked > 25, "{checked} operations");
}
