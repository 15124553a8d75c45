//! Webhook receivers and the generic events API over the real server:
//! signed real-format deliveries (fixtures from crates/domain/tests/fixtures),
//! refusals, replays, raw delivery storage and reprocessing.

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_domain::engineering::{
    DeploymentStatus, Outcome, PipelineStatus, PrState, Provider, RawDelivery,
};
use tandem_domain::work_item::{WorkKind, WorkState};
use tandem_store::{EngineKind, RawDeliveryFilter, Store};
use tandem_testkit::per_engine;

use crate::support::{Reply, TestApp};

per_engine!(
    github_deliveries_of_every_event_are_applied,
    gitlab_deliveries_of_every_event_are_applied,
    bad_signatures_and_tokens_store_nothing,
    replayed_deliveries_count_once,
    malformed_payloads_are_kept_as_invalid,
    oversized_deliveries_are_refused,
    events_api_single_and_batch,
    webhook_secrets_need_an_admin,
    reprocess_derives_stored_deliveries_again,
);

const GH_SECRET: &str = "gh-secret-0123456789abcdef";
const GL_SECRET: &str = "gl-token-0123456789abcdef";
const HEAD: &str = "3b5d7f9a1c3e5f7b9d1a3c5e7f9b1d3a5c7e9f1b";

fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/../domain/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A team and a project listing acme/payments (service payments-api), with
/// both providers' secrets set through the admin API.
async fn setup(app: &TestApp) -> Value {
    let team = app.team("pay").await;
    let project = app
        .create(
            "/api/v1/projects",
            json!({"team_id": team["id"], "key": "payments", "name": "Payments",
                   "repositories": ["acme/payments"], "services": ["payments-api", "payments"]}),
        )
        .await;
    for (provider, secret) in [("github", GH_SECRET), ("gitlab", GL_SECRET)] {
        app.call(
            Method::PUT,
            &app.admin,
            &format!("/api/v1/projects/payments/webhook-secrets/{provider}"),
            Some(json!({ "secret": secret })),
        )
        .await
        .ok(204);
    }
    project
}

async fn github(app: &TestApp, event: &str, delivery: &str, body: &[u8], secret: &str) -> Reply {
    app.send(
        app.request(Method::POST, "/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", sign(secret, body))
            .header("user-agent", "GitHub-Hookshot/044aadd")
            .body(body.to_vec()),
    )
    .await
}

async fn gitlab(app: &TestApp, event: &str, uuid: Option<&str>, body: &[u8], token: &str) -> Reply {
    let mut request = app
        .request(Method::POST, "/webhooks/gitlab")
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("x-gitlab-token", token)
        .header("user-agent", "GitLab/17.5.0");
    if let Some(uuid) = uuid {
        request = request
            .header("x-gitlab-event-uuid", uuid)
            .header("idempotency-key", format!("idem-{uuid}"));
    }
    app.send(request.body(body.to_vec())).await
}

async fn deliveries(store: &Store) -> Vec<RawDelivery> {
    store
        .list_deliveries(&RawDeliveryFilter {
            limit: 500,
            ..RawDeliveryFilter::default()
        })
        .await
        .unwrap()
        .items
}

async fn github_deliveries_of_every_event_are_applied(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    let sequence = [
        ("push", "push", "applied"),
        ("pull_request", "pull_request_opened_draft", "applied"),
        ("pull_request", "pull_request_ready_for_review", "applied"),
        (
            "pull_request_review",
            "pull_request_review_submitted",
            "applied",
        ),
        ("pull_request", "pull_request_closed_merged", "applied"),
        ("deployment", "deployment", "applied"),
        ("deployment_status", "deployment_status_success", "applied"),
        ("workflow_run", "workflow_run_completed", "applied"),
        ("issues", "issues_opened_incident", "applied"),
        ("issues", "issues_closed_incident", "applied"),
        ("issues", "issues_closed_bug", "applied"),
        ("issues", "issues_opened_plain", "ignored"),
        ("release", "release_published", "applied"),
        ("ping", "ping", "ignored"),
        ("star", "ping", "ignored"),
    ];
    for (i, (event, name, status)) in sequence.iter().enumerate() {
        let body = fixture_text(&format!("github/{name}"));
        let reply = github(&app, event, &format!("gh-{i}"), body.as_bytes(), GH_SECRET).await;
        let expected = if *status == "ignored" { 202 } else { 200 };
        let reply = reply.ok(expected);
        assert_eq!(reply.body["status"], *status, "{name}: {:#}", reply.body);
    }

    let pr = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pr.state, PrState::Merged);
    assert_eq!(pr.merge_commit_sha.as_deref(), Some(HEAD));
    assert_eq!(
        pr.ready_at.unwrap().to_rfc3339(),
        "2026-03-01T14:30:00+00:00"
    );
    assert_eq!(
        pr.approved_at.unwrap().to_rfc3339(),
        "2026-03-01T16:20:00+00:00"
    );
    let d = store
        .get_deployment("github", "987654321")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.service, "payments");
    assert_eq!(d.sha.as_deref(), Some(HEAD));
    let release = store
        .get_deployment("github", "release:150000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(release.environment, "production");
    let run = store
        .get_pipeline("github", "30433642")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, PipelineStatus::Success);
    let incident = store
        .get_incident("github", "acme/payments#31")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(incident.severity, "sev1");
    assert!(incident.resolved_at.is_some());
    let items = store
        .list_work_items(&tandem_store::ListQuery::default())
        .await
        .unwrap()
        .items;
    let bug = items
        .iter()
        .find(|w| w.external_key.as_deref() == Some("acme/payments#32"))
        .expect("the bug is a work item");
    assert_eq!((bug.kind, bug.state), (WorkKind::Bug, WorkState::Done));
    let commit = store
        .get_commit("acme/payments", "1f3a8c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a")
        .await
        .unwrap()
        .expect("pushed commits are stored");
    assert_eq!(commit.subject, "Cache the user list");
    let refs = store.list_refs("acme/payments").await.unwrap();
    assert!(
        refs.iter()
            .any(|r| r.name == "refs/heads/main" && r.sha == HEAD)
    );

    // Every delivery is kept with its outcome, headers but no signature.
    let kept = deliveries(&store).await;
    assert_eq!(kept.len(), sequence.len());
    assert!(kept.iter().all(|d| d.provider == Provider::Github));
    assert_eq!(
        kept.iter()
            .filter(|d| d.outcome == Outcome::Ignored)
            .count(),
        3
    );
    let push = &kept[0];
    assert_eq!(push.body, fixture_text("github/push").into_bytes());
    assert_eq!(
        push.headers.get("x-github-event").map(String::as_str),
        Some("push")
    );
    assert!(!push.headers.contains_key("x-hub-signature-256"));
    assert_eq!(push.detail, "3 commits, 1 ref");
    app.stop().await;
}

async fn gitlab_deliveries_of_every_event_are_applied(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    let sequence = [
        ("Push Hook", "push", "applied"),
        ("Merge Request Hook", "merge_request_open_draft", "applied"),
        ("Merge Request Hook", "merge_request_ready", "applied"),
        ("Note Hook", "note_by_author", "applied"),
        ("Note Hook", "note_merge_request", "applied"),
        ("Merge Request Hook", "merge_request_approved", "applied"),
        ("Merge Request Hook", "merge_request_merged", "applied"),
        ("Pipeline Hook", "pipeline_success", "applied"),
        ("Deployment Hook", "deployment_running", "applied"),
        ("Deployment Hook", "deployment_success", "applied"),
        ("Issue Hook", "issue_incident_opened", "applied"),
        ("Issue Hook", "issue_incident_closed", "applied"),
        ("Issue Hook", "issue_bug_opened", "applied"),
        ("Release Hook", "release_create", "applied"),
        ("Wiki Page Hook", "push", "ignored"),
    ];
    for (i, (event, name, status)) in sequence.iter().enumerate() {
        let body = fixture_text(&format!("gitlab/{name}"));
        let uuid = format!("5f0b2c1e-0000-4000-8000-{i:012}");
        let reply = gitlab(&app, event, Some(&uuid), body.as_bytes(), GL_SECRET).await;
        let expected = if *status == "ignored" { 202 } else { 200 };
        let reply = reply.ok(expected);
        assert_eq!(reply.body["status"], *status, "{name}: {:#}", reply.body);
    }
    let mr = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mr.source, "gitlab");
    assert_eq!(mr.state, PrState::Merged);
    assert_eq!(
        mr.ready_at.unwrap().to_rfc3339(),
        "2026-03-01T14:30:00+00:00"
    );
    // The first review is the reviewer's note, not the author's.
    assert_eq!(
        mr.first_review_at.unwrap().to_rfc3339(),
        "2026-03-01T15:10:00+00:00"
    );
    assert_eq!(
        mr.approved_at.unwrap().to_rfc3339(),
        "2026-03-01T16:20:00+00:00"
    );
    let pipeline = store.get_pipeline("gitlab", "4411").await.unwrap().unwrap();
    assert_eq!(pipeline.coverage, Some(81.5));
    let d = store
        .get_deployment("gitlab", "1501")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.started_at.to_rfc3339(), "2026-03-02T09:20:00+00:00");
    assert_eq!(
        d.finished_at.unwrap().to_rfc3339(),
        "2026-03-02T09:26:30+00:00"
    );
    let incident = store
        .get_incident("gitlab", "acme/payments#41")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(incident.severity, "critical");
    assert!(incident.resolved_at.is_some());
    let kept = deliveries(&store).await;
    assert_eq!(kept.len(), sequence.len());
    // The token is never kept; the stable Idempotency-Key names the delivery.
    assert!(!kept[0].headers.contains_key("x-gitlab-token"));
    assert_eq!(
        kept[0].delivery_id,
        "idem-5f0b2c1e-0000-4000-8000-000000000000"
    );
    app.stop().await;
}

async fn bad_signatures_and_tokens_store_nothing(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let store = app.store().await;
    let body = fixture_text("github/pull_request_opened");
    // No project has a secret yet.
    github(&app, "pull_request", "x-0", body.as_bytes(), GH_SECRET)
        .await
        .err(401, "unauthorized");
    setup(&app).await;
    // Wrong secret, missing signature, a body changed after signing.
    github(
        &app,
        "pull_request",
        "x-1",
        body.as_bytes(),
        "not-the-secret-at-all",
    )
    .await
    .err(401, "unauthorized");
    app.send(
        app.request(Method::POST, "/webhooks/github")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", "x-2")
            .body(body.clone()),
    )
    .await
    .err(401, "unauthorized");
    let tampered = body.replace("Cache the user list", "Cache the user LIST");
    app.send(
        app.request(Method::POST, "/webhooks/github")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", "x-3")
            .header("x-hub-signature-256", sign(GH_SECRET, body.as_bytes()))
            .body(tampered),
    )
    .await
    .err(401, "unauthorized");
    // A repository no project lists, signed with a real secret.
    let other = body.replace("acme/payments", "acme/other");
    github(&app, "pull_request", "x-4", other.as_bytes(), GH_SECRET)
        .await
        .err(401, "unauthorized");
    // The GitHub secret is not the GitLab token, and vice versa.
    let gl = fixture_text("gitlab/merge_request_merged");
    gitlab(
        &app,
        "Merge Request Hook",
        Some("u-1"),
        gl.as_bytes(),
        GH_SECRET,
    )
    .await
    .err(401, "unauthorized");
    gitlab(&app, "Merge Request Hook", Some("u-2"), gl.as_bytes(), "")
        .await
        .err(401, "unauthorized");
    // Truncated and unsigned: nothing to trust, nothing stored.
    github(
        &app,
        "push",
        "x-5",
        b"{\"ref\": \"refs/hea",
        "wrong-secret-xxxxxxxx",
    )
    .await
    .err(401, "unauthorized");
    assert!(deliveries(&store).await.is_empty());
    assert_eq!(
        store.get_pull_request("acme/payments", 12).await.unwrap(),
        None
    );
    app.stop().await;
}

async fn replayed_deliveries_count_once(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    let body = fixture_text("github/deployment_status_success");
    let first = github(&app, "deployment_status", "d-1", body.as_bytes(), GH_SECRET)
        .await
        .ok(200);
    assert_eq!(first.body["status"], "applied");
    let again = github(&app, "deployment_status", "d-1", body.as_bytes(), GH_SECRET)
        .await
        .ok(200);
    assert_eq!(again.body["status"], "duplicate");
    // Eight concurrent copies of one new delivery: one is applied.
    let body = fixture_text("github/workflow_run_completed");
    let replies = futures_join(&app, &body).await;
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.body["status"] == "applied")
            .count(),
        1,
        "{replies:?}"
    );
    assert!(replies.iter().all(|r| r.status.as_u16() == 200));
    let kept = deliveries(&store).await;
    assert_eq!(kept.len(), 2);
    // GitLab without delivery headers: the body's hash identifies it.
    let gl = fixture_text("gitlab/pipeline_success");
    gitlab(&app, "Pipeline Hook", None, gl.as_bytes(), GL_SECRET)
        .await
        .ok(200);
    let again = gitlab(&app, "Pipeline Hook", None, gl.as_bytes(), GL_SECRET)
        .await
        .ok(200);
    assert_eq!(again.body["status"], "duplicate");
    let kept = deliveries(&store).await;
    assert_eq!(kept.len(), 3);
    assert!(kept[2].delivery_id.starts_with("sha256:"));
    app.stop().await;
}

/// Eight copies of one delivery sent at the same time.
async fn futures_join(app: &TestApp, body: &str) -> Vec<Reply> {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let request = app
            .request(Method::POST, "/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", "workflow_run")
            .header("x-github-delivery", "w-1")
            .header("x-hub-signature-256", sign(GH_SECRET, body.as_bytes()))
            .body(body.to_owned());
        tasks.push(tokio::spawn(request.send()));
    }
    let mut out = Vec::new();
    for t in tasks {
        let response = t.await.unwrap().unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        out.push(Reply {
            status,
            headers,
            body,
        });
    }
    out
}

async fn malformed_payloads_are_kept_as_invalid(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    let full = fixture_text("github/push");
    let truncated = &full.as_bytes()[..full.len() / 2];
    let error = github(&app, "push", "t-1", truncated, GH_SECRET).await;
    let error = error.err_field(400, "bad_request", "body");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("malformed JSON"),
        "{error:#}"
    );
    // A well-formed payload lacking a field a record needs.
    let mut pr: Value = serde_json::from_str(&fixture_text("github/pull_request_opened")).unwrap();
    pr["pull_request"]
        .as_object_mut()
        .unwrap()
        .remove("created_at");
    let body = serde_json::to_vec(&pr).unwrap();
    github(&app, "pull_request", "t-2", &body, GH_SECRET)
        .await
        .err_field(400, "bad_request", "pull_request.created_at");
    // Text no database can store: refused by path, kept raw.
    let mut nul: Value = serde_json::from_str(&fixture_text("github/pull_request_opened")).unwrap();
    nul["pull_request"]["title"] = "Cache\u{0}list".into();
    let body = serde_json::to_vec(&nul).unwrap();
    let reply = github(&app, "pull_request", "t-3", &body, GH_SECRET).await;
    let error = reply.err_field(400, "bad_request", "body");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("pull_request.title"),
        "{error:#}"
    );
    let kept = deliveries(&store).await;
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|d| d.outcome == Outcome::Invalid));
    assert_eq!(kept[0].body, truncated);
    assert!(kept[1].detail.contains("pull_request.created_at"));
    // The same delivery resent is still only kept once.
    github(&app, "push", "t-1", truncated, GH_SECRET)
        .await
        .ok(200);
    assert_eq!(deliveries(&store).await.len(), 3);
    app.stop().await;
}

async fn oversized_deliveries_are_refused(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    // Larger than the global limit (1 MiB) but within the webhook limit.
    let mut payload: Value = serde_json::from_str(&fixture_text("github/push")).unwrap();
    payload["padding"] = Value::String("x".repeat(3 * 1024 * 1024));
    let body = serde_json::to_vec(&payload).unwrap();
    github(&app, "push", "big-1", &body, GH_SECRET)
        .await
        .ok(200);
    // Over 25 MiB: refused with 413 before the body is read. The server may
    // close the connection while the client is still writing it; a broken
    // pipe on the client's side is the same refusal.
    let huge = vec![b' '; 25 * 1024 * 1024 + 1];
    let signature = sign(GH_SECRET, &huge);
    let sent = app
        .request(Method::POST, "/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", "big-2")
        .header("x-hub-signature-256", signature)
        .body(huge)
        .send()
        .await;
    match sent {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    assert_eq!(deliveries(&store).await.len(), 1);
    app.stop().await;
}

async fn events_api_single_and_batch(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    let one = json!({
        "id": "deploy-100", "service": "payments-api", "environment": "production",
        "started_at": "2026-03-02T09:20:00Z", "finished_at": "2026-03-02T09:25:00Z",
        "status": "success", "commits": [{"repo": "acme/payments", "sha": HEAD}]
    });
    let reply = app
        .post(&app.member, "/api/v1/events/deployments", one.clone())
        .await
        .ok(200);
    assert_eq!(reply.body["stored"], 1);
    let d = store
        .get_deployment("api", "deploy-100")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.explicit_commits.len(), 1);
    assert_eq!(d.service, "payments-api");
    // Sending it again changes nothing (idempotent on the id).
    app.post(&app.member, "/api/v1/events/deployments", one.clone())
        .await
        .ok(200);
    assert_eq!(
        store
            .get_deployment("api", "deploy-100")
            .await
            .unwrap()
            .unwrap(),
        d
    );

    let batch = json!({"items": [
        {"id": "deploy-101", "service": "payments-api", "environment": "Staging",
         "started_at": "2026-03-03T09:00:00Z", "status": "in_progress"},
        {"id": "deploy-102", "service": "payments-api", "environment": "production",
         "started_at": "2026-03-03T10:00:00Z", "finished_at": "2026-03-03T10:04:00Z",
         "status": "failure", "is_rollback": true, "project": "payments"}
    ]});
    let reply = app
        .post(&app.member, "/api/v1/events/deployments", batch)
        .await
        .ok(200);
    assert_eq!(reply.body["stored"], 2);
    let staging = store
        .get_deployment("api", "deploy-101")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(staging.environment, "staging");
    assert!(
        store
            .get_deployment("api", "deploy-102")
            .await
            .unwrap()
            .unwrap()
            .is_rollback
    );

    // A bad batch names the item and field and stores nothing.
    let bad = json!({"items": [
        {"id": "deploy-200", "service": "payments-api", "environment": "production",
         "started_at": "2026-03-04T09:00:00Z", "status": "in_progress"},
        {"id": "deploy-201", "service": "payments-api", "environment": "production",
         "started_at": "2026-03-04T09:00:00Z", "status": "in_progress"},
        {"id": "deploy-202", "service": "payments-api", "environment": "production",
         "started_at": "2026-03-04T09:00:00Z", "status": "in_progress"},
        {"id": "deploy-203", "service": "payments-api", "environment": "production",
         "started_at": "not a time", "status": "in_progress"}
    ]});
    app.post(&app.member, "/api/v1/events/deployments", bad)
        .await
        .err_field(422, "invalid", "items[3].started_at");
    assert_eq!(
        store.get_deployment("api", "deploy-200").await.unwrap(),
        None
    );
    let unknown_service = json!({"items": [
        {"id": "deploy-300", "service": "payments-api", "environment": "production",
         "started_at": "2026-03-04T09:00:00Z", "status": "in_progress"},
        {"id": "deploy-301", "service": "nobody-runs-this", "environment": "production",
         "started_at": "2026-03-04T09:00:00Z", "status": "in_progress"}
    ]});
    app.post(&app.member, "/api/v1/events/deployments", unknown_service)
        .await
        .err_field(422, "invalid", "items[1].service");
    assert_eq!(
        store.get_deployment("api", "deploy-300").await.unwrap(),
        None
    );
    let no_finish = json!({"id": "deploy-400", "service": "payments-api", "environment": "production",
        "started_at": "2026-03-04T09:00:00Z", "status": "success"});
    app.post(&app.member, "/api/v1/events/deployments", no_finish)
        .await
        .err_field(422, "invalid", "finished_at");
    let bad_sha = json!({"id": "deploy-401", "service": "payments-api", "environment": "production",
        "started_at": "2026-03-04T09:00:00Z", "status": "in_progress",
        "commits": [{"repo": "acme/payments", "sha": "zzz"}]});
    app.post(&app.member, "/api/v1/events/deployments", bad_sha)
        .await
        .err_field(422, "invalid", "commits[0].sha");

    // Incidents.
    let incidents = json!({"items": [
        {"id": "INC-1", "service": "payments-api", "severity": "sev1",
         "opened_at": "2026-03-02T10:00:00Z", "resolved_at": "2026-03-02T11:00:00Z",
         "caused_by_deployment": "deploy-100", "title": "Checkout fails"},
        {"id": "INC-2", "service": "payments-api", "severity": "sev3",
         "opened_at": "2026-03-05T10:00:00Z"}
    ]});
    app.post(&app.member, "/api/v1/events/incidents", incidents)
        .await
        .ok(200);
    let inc = store.get_incident("api", "INC-1").await.unwrap().unwrap();
    assert_eq!(inc.caused_by.as_deref(), Some("deploy-100"));
    let inc2 = store.get_incident("api", "INC-2").await.unwrap().unwrap();
    assert_eq!(inc2.title, "Incident INC-2");
    app.post(
        &app.member,
        "/api/v1/events/incidents",
        json!({"id": "INC-3", "service": "payments-api", "opened_at": "2026-03-05T10:00:00Z"}),
    )
    .await
    .err_field(422, "invalid", "severity");

    // Authentication and roles.
    app.post(&app.stakeholder, "/api/v1/events/incidents", json!({}))
        .await
        .err(403, "forbidden");
    app.send(
        app.request(Method::POST, "/api/v1/events/deployments")
            .json(&one),
    )
    .await
    .err(401, "unauthorized");
    app.stop().await;
}

async fn webhook_secrets_need_an_admin(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let put = |token: String, provider: &'static str, secret: &'static str| {
        let app = &app;
        async move {
            app.call(
                Method::PUT,
                &token,
                &format!("/api/v1/projects/payments/webhook-secrets/{provider}"),
                Some(json!({ "secret": secret })),
            )
            .await
        }
    };
    put(app.manager.clone(), "github", "a-long-enough-secret-123")
        .await
        .err(403, "forbidden");
    put(app.admin.clone(), "github", "short")
        .await
        .err_field(422, "invalid", "secret");
    put(app.admin.clone(), "bitbucket", "a-long-enough-secret-123")
        .await
        .err(404, "not_found");
    // A delivery verified with the current secret (the receivers now hold
    // the projects and secrets they read).
    let body = fixture_text("github/ping");
    github(&app, "ping", "p-0", body.as_bytes(), GH_SECRET)
        .await
        .ok(202);
    put(app.admin.clone(), "github", "a-rotated-secret-0987654321")
        .await
        .ok(204);
    // The new secret verifies at once: a delivery no held secret verifies
    // is checked against the secrets read again.
    github(
        &app,
        "ping",
        "p-2",
        body.as_bytes(),
        "a-rotated-secret-0987654321",
    )
    .await
    .ok(202);
    // The old one is refused once the held secrets are read again (at most
    // a second after the rotation).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    github(&app, "ping", "p-1", body.as_bytes(), GH_SECRET)
        .await
        .err(401, "unauthorized");
    app.stop().await;
}

async fn reprocess_derives_stored_deliveries_again(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let project = setup(&app).await;
    let store = app.store().await;
    // A delivery kept as failed (as after an outage): reprocessing applies it.
    let body = fixture_text("github/pull_request_closed_merged");
    let failed = RawDelivery {
        id: uuid::Uuid::now_v7(),
        provider: Provider::Github,
        delivery_id: "r-1".into(),
        event: "pull_request".into(),
        project_id: Some(project["id"].as_str().unwrap().parse().unwrap()),
        received_at: chrono::Utc::now(),
        headers: Default::default(),
        body: body.into_bytes(),
        outcome: Outcome::Failed,
        detail: "database unavailable".into(),
    };
    store.record_delivery(&failed).await.unwrap();
    let push = fixture_text("github/push");
    github(&app, "push", "r-2", push.as_bytes(), GH_SECRET)
        .await
        .ok(200);
    let settings = tandem_app::settings::WebhookSettings::default();
    let report = tandem_app::ingest::reprocess(&store, &settings, RawDeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!((report.examined, report.applied), (2, 2));
    let pr = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pr.state, PrState::Merged);
    let again = store.get_delivery(failed.id).await.unwrap();
    assert_eq!(again.outcome, Outcome::Applied);
    assert_eq!(again.detail, "1 pull request");
    // Running it again changes nothing.
    let before = store.get_pull_request("acme/payments", 12).await.unwrap();
    let report = tandem_app::ingest::reprocess(
        &store,
        &settings,
        RawDeliveryFilter {
            provider: Some(Provider::Github),
            delivery_id: Some("r-1".into()),
            ..RawDeliveryFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.examined, 1);
    assert_eq!(
        store.get_pull_request("acme/payments", 12).await.unwrap(),
        before
    );
    app.stop().await;
}
