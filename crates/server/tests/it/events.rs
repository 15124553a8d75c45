//! The events API's deployments naming `repo` and `sha`: refused when the
//! project does not list the repository (nothing stored), accepted when the
//! commit is not imported yet and then "waiting for history" in explain,
//! attributed by the graph walk once the history arrives; and reading one
//! back (`GET /api/v1/events/{deployments,incidents}/{id}`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use tandem_domain::git::{Commit, CommitSource};
use tandem_store::EngineKind;
use tandem_testkit::per_engine;

use crate::support::TestApp;

per_engine!(
    a_repository_the_project_does_not_list_is_refused,
    a_sha_not_imported_yet_waits_then_is_attributed,
);

const REPO: &str = "acme/payments";

/// 2026-03-02 00:00 UTC plus `hours`.
fn h(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::hours(hours)
}

/// A 40-digit sha from one hex digit.
fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

async fn setup(app: &TestApp) {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "repositories": [REPO], "services": ["payments"]}),
    )
    .await;
}

fn deployment(id: &str, repo: &str, sha: &str, finished: i64) -> Value {
    json!({"id": id, "service": "payments", "environment": "production",
           "started_at": h(finished - 1), "finished_at": h(finished), "status": "success",
           "repo": repo, "sha": sha})
}

async fn a_repository_the_project_does_not_list_is_refused(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    let path = "/api/v1/events/deployments";

    let reply = app
        .post(
            &app.member,
            path,
            deployment("d-1", "acme/elsewhere", &sha('a'), 5),
        )
        .await;
    let error = reply.err_field(422, "invalid", "repo");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("does not list the repository \"acme/elsewhere\"")
            && message.contains("acme/payments"),
        "{message}"
    );
    assert_eq!(store.get_deployment("api", "d-1").await.unwrap(), None);

    // In a batch the item is named, and the good item before it is not
    // stored either.
    let batch = json!({"items": [
        deployment("d-2", REPO, &sha('b'), 6),
        deployment("d-3", "acme/elsewhere", &sha('c'), 7),
    ]});
    app.post(&app.member, path, batch)
        .await
        .err_field(422, "invalid", "items[1].repo");
    assert_eq!(store.get_deployment("api", "d-2").await.unwrap(), None);

    // repo and sha come together.
    let mut no_sha = deployment("d-4", REPO, &sha('d'), 8);
    no_sha.as_object_mut().unwrap().remove("sha");
    app.post(&app.member, path, no_sha)
        .await
        .err_field(422, "invalid", "sha");
    let mut no_repo = deployment("d-5", REPO, &sha('d'), 8);
    no_repo.as_object_mut().unwrap().remove("repo");
    app.post(&app.member, path, no_repo)
        .await
        .err_field(422, "invalid", "repo");
    app.post(&app.member, path, deployment("d-6", REPO, "not-a-sha", 8))
        .await
        .err_field(422, "invalid", "sha");
    for id in ["d-4", "d-5", "d-6"] {
        assert_eq!(store.get_deployment("api", id).await.unwrap(), None);
    }

    // The repository is matched without regard to case and stored as the
    // project spells it; the sha lower-cased.
    app.post(
        &app.member,
        path,
        deployment("d-7", "ACME/Payments", &sha('E'), 9),
    )
    .await
    .ok(200);
    let d = app
        .get(&app.member, "/api/v1/events/deployments/d-7")
        .await
        .ok(200)
        .body;
    assert_eq!(
        (d["repo"].as_str(), d["sha"].as_str()),
        (Some(REPO), Some(sha('e').as_str()))
    );
    app.get(&app.member, "/api/v1/events/deployments/nope")
        .await
        .err(404, "not_found");
    app.get(&app.stakeholder, "/api/v1/events/deployments/d-7")
        .await
        .err(403, "forbidden");

    // Incidents read back the same way.
    app.post(
        &app.member,
        "/api/v1/events/incidents",
        json!({"id": "INC-1", "service": "payments", "severity": "sev2",
               "opened_at": h(10), "caused_by_deployment": "d-7"}),
    )
    .await
    .ok(200);
    let i = app
        .get(&app.member, "/api/v1/events/incidents/INC-1")
        .await
        .ok(200)
        .body;
    assert_eq!(
        (i["severity"].as_str(), i["caused_by"].as_str()),
        (Some("sev2"), Some("d-7"))
    );
    assert!(i["resolved_at"].is_null());
    app.get(&app.member, "/api/v1/events/incidents/INC-2")
        .await
        .err(404, "not_found");
    app.stop().await;
}

fn commit(name: char, parents: &[char], at: i64) -> Commit {
    Commit {
        repo: REPO.to_owned(),
        sha: sha(name),
        author_name: "Dev".into(),
        author_email: "dev@example.com".into(),
        authored_at: h(at),
        author_offset: 0,
        committed_at: h(at),
        committer_offset: 0,
        subject: "change".into(),
        parents: parents.iter().map(|p| sha(*p)).collect(),
        parent_count: i32::try_from(parents.len()).unwrap(),
        additions: Some(1),
        deletions: Some(0),
        files: Vec::new(),
        source: CommitSource::Git,
    }
}

async fn explained(app: &TestApp) -> Vec<Value> {
    app.get(
        &app.member,
        "/api/v1/delivery/explain?metric=deployment-frequency&project=payments&since=2026-03-01&until=2026-03-03",
    )
    .await
    .ok(200)
    .body["deployments"]
        .as_array()
        .unwrap()
        .clone()
}

async fn a_sha_not_imported_yet_waits_then_is_attributed(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let store = app.store().await;
    // Deployed before the history is imported: accepted.
    app.post(
        &app.member,
        "/api/v1/events/deployments",
        deployment("d-1", REPO, &sha('c'), 10),
    )
    .await
    .ok(200);
    let ex = explained(&app).await;
    assert_eq!(ex.len(), 1, "{ex:#?}");
    assert_eq!(ex[0]["method"], "waiting");
    assert_eq!(ex[0]["attribution_path"], "waiting for history");
    assert!(
        ex[0]["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("waiting for history: acme/payments has no commit cccccccccc"),
        "{:#}",
        ex[0]
    );
    assert_eq!(ex[0]["commits"], json!([]));

    // The history arrives as a git import stores it: a (40 days old, past
    // the first deployment's 30-day look-back) ← b (+2 h) ← c (+4 h).
    let new = store
        .upsert_commits(&[
            commit('a', &[], 4 - 40 * 24),
            commit('b', &['a'], 2),
            commit('c', &['b'], 4),
        ])
        .await
        .unwrap();
    store.invalidate_attribution(REPO, &new).await.unwrap();
    let ex = explained(&app).await;
    assert_eq!(ex[0]["method"], "graph", "{:#}", ex[0]);
    assert_eq!(
        ex[0]["attribution_path"],
        "graph walk from the deployed commit"
    );
    // b and c, lead 8 h and 6 h; a is older than the look-back.
    let commits: Vec<(String, f64)> = ex[0]["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["sha"].as_str().unwrap()[..1].to_owned(),
                c["lead_time_hours"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(commits, [("b".to_owned(), 8.0), ("c".to_owned(), 6.0)]);
    let dora = app
        .get(
            &app.member,
            "/api/v1/delivery/dora?project=payments&since=2026-03-01&until=2026-03-03",
        )
        .await
        .ok(200)
        .body;
    assert_eq!(dora["lead_time"]["commits"], 2);
    assert_eq!(dora["lead_time"]["median_hours"], 7.0);
    app.stop().await;
}
