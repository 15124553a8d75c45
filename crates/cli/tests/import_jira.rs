//! `tandem import jira` against a local fake of Jira Cloud's REST API (an
//! axum app on 127.0.0.1) serving the fixtures in `tests/fixtures/jira_*`:
//! the enhanced search (`POST /rest/api/3/search/jql`) in two pages joined by
//! `nextPageToken`, a 429 with `Retry-After` first, an issue whose embedded
//! changelog is truncated and read from `/issue/{key}/changelog` in two
//! pages, an epic with children linked to a goal with `--epic-goal`, a
//! second run (incremental JQL) that stores nothing new, and a 401; and
//! `tandem import jira-csv` of a realistic export (repeated `Labels` and
//! `Sprint` columns, a multi-line cell) and of one with a bad date (nothing
//! stored). The flow metrics (`tandem metrics cycle-time`) are computed from
//! the imported items. Every test runs on SQLite and PostgreSQL.

mod support;
use support::{failed, ok};

use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use tandem_domain::goal::NewGoal;
use tandem_domain::project::Project;
use tandem_domain::team::Team;
use tandem_domain::work_item::{Priority, WorkItem, WorkKind, WorkState};
use tandem_store::Store;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};
use uuid::Uuid;

per_engine!(
    rest_import_pages_links_epics_and_second_run_stores_nothing,
    rest_bad_token_is_a_clear_error,
    csv_export_imports_with_repeated_columns,
    csv_with_a_bad_date_stores_nothing
);

const EMAIL: &str = "ada@acme.test";
const TOKEN: &str = "jira-test-token";
/// base64("ada@acme.test:jira-test-token")
const BASIC: &str = "Basic YWRhQGFjbWUudGVzdDpqaXJhLXRlc3QtdG9rZW4=";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Default)]
struct Fake {
    limited_once: AtomicBool,
    searches: Mutex<Vec<Value>>,
    changelog_pages: AtomicUsize,
    myself: AtomicUsize,
}

type Shared = Arc<Fake>;

fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(BASIC) {
        return None;
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "errorMessages": ["You do not have permission to see the specified issue.",
                                  "Login Required"],
                "errors": {}
            })),
        )
            .into_response(),
    )
}

async fn search(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if !fake.limited_once.swap(true, Ordering::SeqCst) {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1"));
        return (StatusCode::TOO_MANY_REQUESTS, h, "Rate limit exceeded.").into_response();
    }
    assert_eq!(body["expand"], "changelog", "{body}");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in [
        "summary",
        "issuetype",
        "status",
        "resolutiondate",
        "parent",
        "labels",
    ] {
        assert!(fields.contains(&f), "{f} not requested: {body}");
    }
    fake.searches.lock().unwrap().push(body.clone());
    match body.get("nextPageToken").and_then(Value::as_str) {
        None => Json(fixture("jira_search_page1.json")).into_response(),
        Some("CAEaAggE") => Json(fixture("jira_search_page2.json")).into_response(),
        Some(other) => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"errorMessages": [format!("Invalid nextPageToken {other}")], "errors": {}}),
            ),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ChangelogQuery {
    #[serde(rename = "startAt")]
    start_at: usize,
}

async fn changelog(
    State(fake): State<Shared>,
    Path(key): Path<String>,
    Query(q): Query<ChangelogQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    assert_eq!(key, "PAY-4", "only PAY-4's changelog is truncated");
    fake.changelog_pages.fetch_add(1, Ordering::SeqCst);
    // Jira may answer fewer entries than asked for: two per page here.
    match q.start_at {
        0 => Json(fixture("jira_changelog_PAY-4_0.json")).into_response(),
        2 => Json(fixture("jira_changelog_PAY-4_2.json")).into_response(),
        n => panic!("unexpected startAt {n}"),
    }
}

async fn statuses(headers: HeaderMap) -> Response {
    unauthorized(&headers).unwrap_or_else(|| Json(fixture("jira_status.json")).into_response())
}

async fn myself(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    fake.myself.fetch_add(1, Ordering::SeqCst);
    unauthorized(&headers).unwrap_or_else(|| Json(fixture("jira_myself.json")).into_response())
}

async fn run(db: &str, args: &[&str], token: Option<&str>) -> Output {
    support::tandem(db, args, "JIRA_API_TOKEN", token, &["JIRA_EMAIL"]).await
}

async fn start_fake() -> (String, Shared) {
    let fake: Shared = Arc::new(Fake::default());
    let app = Router::new()
        .route("/rest/api/3/search/jql", post(search))
        .route("/rest/api/3/issue/{key}/changelog", get(changelog))
        .route("/rest/api/3/status", get(statuses))
        .route("/rest/api/3/myself", get(myself))
        .with_state(fake.clone());
    let base = support::serve(app).await;
    (base, fake)
}

/// A team with the projects `pay` (REST) and `chk` (CSV) and a goal.
async fn setup(store: &Store) -> (Project, Project, Uuid) {
    let now = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    let team = Team {
        id: Uuid::now_v7(),
        key: "pay-team".to_owned(),
        name: "Payments".to_owned(),
        timezone: "UTC".to_owned(),
        created_at: now,
        updated_at: now,
    };
    store.create_team(&team).await.unwrap();
    let mut projects = Vec::new();
    for (key, name) in [("pay", "Payments"), ("chk", "Checkout")] {
        let p = Project {
            id: Uuid::now_v7(),
            team_id: team.id,
            key: key.to_owned(),
            name: name.to_owned(),
            repositories: vec![],
            services: vec![],
            created_at: now,
            updated_at: now,
        };
        store.create_project(&p).await.unwrap();
        projects.push(p);
    }
    let goal = NewGoal {
        team_id: team.id,
        project_id: Some(projects[0].id),
        title: "Checkout v2 lifts conversion".to_owned(),
        business_goal: String::new(),
        technical_tasks: String::new(),
        hypotheses: vec![],
        success_metrics: vec![],
        parties: Default::default(),
        timeline: Default::default(),
    }
    .into_goal(Uuid::now_v7(), now)
    .unwrap();
    store.create_goal(&goal).await.unwrap();
    let chk = projects.pop().unwrap();
    (projects.pop().unwrap(), chk, goal.id)
}

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn items(store: &Store, project: &Project) -> Vec<WorkItem> {
    let mut all: Vec<WorkItem> = store
        .team_work_items(project.team_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|w| w.project_id == Some(project.id))
        .collect();
    all.sort_by(|a, b| a.external_key.cmp(&b.external_key));
    all
}

fn by_key<'a>(items: &'a [WorkItem], key: &str) -> &'a WorkItem {
    items
        .iter()
        .find(|w| w.external_key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("{key} not stored"))
}

fn rest_args<'a>(base: &'a str, goal: &'a str) -> Vec<&'a str> {
    vec![
        "import",
        "jira",
        "--project",
        "pay",
        "--url",
        base,
        "--email",
        EMAIL,
        "--epic-goal",
        goal,
        "--max-rate-limit-wait",
        "2",
        "--format",
        "json",
    ]
}

async fn flow(db: &str, project: &str) -> Value {
    ok(&run(
        db,
        &[
            "metrics",
            "cycle-time",
            "--project",
            project,
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-31",
            "--format",
            "json",
        ],
        None,
    )
    .await)
}

async fn rest_import_pages_links_epics_and_second_run_stores_nothing(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (pay, _, goal) = setup(&store).await;
    let (base, fake) = start_fake().await;
    let epic_goal = format!("PAY-1={goal}");

    // The token from a file, trimmed.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let token_path = token_file.to_str().unwrap().to_owned();
    let mut args = rest_args(&base, &epic_goal);
    args.extend(["--token-file", &token_path]);
    let s = ok(&run(&db.url, &args, None).await);
    assert_eq!(s["jql"], "project = \"PAY\"");
    assert_eq!(s["query"], "project = \"PAY\"", "no cursor yet");
    assert_eq!(s["issues"], 7);
    assert_eq!(s["epics"], 1);
    assert_eq!(s["stored"], 6);
    assert_eq!(
        s["parent_links"], 3,
        "PAY-2 and PAY-3 under the epic, PAY-5 under PAY-2"
    );
    assert_eq!(s["goal_links"], 3, "the epic's children and their sub-task");
    assert_eq!(s["changelogs_paged"], 1);
    assert_eq!(s["rate_limit_waits"], 1);
    assert_eq!(fake.changelog_pages.load(Ordering::SeqCst), 2);
    assert_eq!(
        fake.myself.load(Ordering::SeqCst),
        0,
        "no cursor: no need for the user's zone"
    );
    {
        let searches = fake.searches.lock().unwrap();
        assert_eq!(searches.len(), 2, "two pages");
        assert_eq!(searches[1]["nextPageToken"], "CAEaAggE");
    }

    let all = items(&store, &pay).await;
    assert_eq!(all.len(), 6, "the epic is not a work item");
    assert!(
        all.iter()
            .all(|w| w.source == "jira" && w.team_id == pay.team_id)
    );

    let story = by_key(&all, "PAY-2");
    assert_eq!(
        (story.kind, story.state, story.priority),
        (WorkKind::Feature, WorkState::Done, Priority::P1)
    );
    assert_eq!(story.title, "Pay with saved cards");
    assert_eq!(story.created_at, t("2026-03-02T09:00:00Z"));
    assert_eq!(story.started_at, Some(t("2026-03-03T09:00:00Z")));
    assert_eq!(story.done_at, Some(t("2026-03-06T09:00:00Z")));
    assert_eq!(story.goal_id, Some(goal));

    let bug = by_key(&all, "PAY-3");
    assert_eq!(
        (bug.kind, bug.state, bug.priority),
        (WorkKind::Bug, WorkState::Done, Priority::P0)
    );
    assert_eq!(
        bug.created_at,
        t("2026-03-02T09:00:00Z"),
        "+0100 read as such"
    );
    assert_eq!(bug.goal_id, Some(goal));

    // The start is only in the part of the changelog the search left out.
    let debt = by_key(&all, "PAY-4");
    assert_eq!((debt.kind, debt.state), (WorkKind::Debt, WorkState::Done));
    assert_eq!(debt.started_at, Some(t("2026-03-03T09:00:00Z")));
    assert_eq!(debt.done_at, Some(t("2026-03-09T09:00:00Z")));
    assert_eq!(debt.goal_id, None);

    let sub = by_key(&all, "PAY-5");
    assert_eq!(
        (sub.kind, sub.state),
        (WorkKind::Chore, WorkState::InProgress)
    );
    assert_eq!(
        (sub.started_at, sub.done_at),
        (Some(t("2026-03-04T09:00:00Z")), None)
    );
    assert_eq!(
        sub.goal_id,
        Some(goal),
        "a sub-task of the epic's story serves the goal too"
    );

    let wont = by_key(&all, "PAY-6");
    assert_eq!((wont.state, wont.done_at), (WorkState::Cancelled, None));

    let todo = by_key(&all, "PAY-7");
    assert_eq!(
        (todo.kind, todo.state, todo.priority),
        (WorkKind::Debt, WorkState::Todo, Priority::P3)
    );
    assert_eq!(todo.started_at, None);

    assert_eq!(
        store.tracked_children("jira", "PAY-1").await.unwrap(),
        vec!["PAY-2", "PAY-3"]
    );
    assert_eq!(
        store.tracked_children("jira", "PAY-2").await.unwrap(),
        vec!["PAY-5"]
    );

    // The flow metrics read the imported items: done PAY-2 (3 days), PAY-3
    // (12 hours) and PAY-4 (6 days); the cancelled PAY-6 does not count.
    let f = flow(&db.url, "pay").await;
    assert_eq!(f["done"], 3);
    assert_eq!(f["cycle_time_items"], 3);
    assert_eq!(f["cycle_time_median_days"], 3.0);
    assert_eq!(f["cycle_time_p85_days"], 6.0);
    assert_eq!(f["cycle_days"], 9.5);
    assert_eq!(f["bugs_opened"], 1);
    assert_eq!(f["bugs_open_at_end"], 0);
    assert_eq!(f["debt_items"], 1);
    assert_eq!(f["debt_cycle_days"], 6.0);

    // Second run: the cursor narrows the JQL (in the user's zone, Berlin,
    // 15 minutes back from PAY-4's update at 09:00 UTC); the same answers
    // store nothing new.
    let s = ok(&run(&db.url, &rest_args(&base, &epic_goal), Some(TOKEN)).await);
    assert_eq!(
        s["query"],
        "(project = \"PAY\") AND updated >= \"2026-03-09 09:45\""
    );
    assert_eq!(fake.myself.load(Ordering::SeqCst), 1);
    {
        let searches = fake.searches.lock().unwrap();
        assert_eq!(searches[2]["jql"], s["query"]);
    }
    assert_eq!(s["issues"], 7);
    assert_eq!(s["stored"], 0);
    assert_eq!(s["parent_links"], 0);
    assert_eq!(s["goal_links"], 0);
    assert_eq!(items(&store, &pay).await, all, "nothing changed");

    // A later CSV export of PAY-2 (no changelog) renames it but keeps the
    // start the REST import found.
    let csv = dir.path().join("later.csv");
    std::fs::write(
        &csv,
        "Summary,Issue key,Issue Type,Status,Status Category,Created,Updated,Resolved\n\
         Pay with saved cards and wallets,PAY-2,Story,Done,Done,02/Mar/26 9:00 AM,10/Mar/26 9:00 AM,06/Mar/26 9:00 AM\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap().to_owned();
    let s = ok(&run(
        &db.url,
        &[
            "import",
            "jira-csv",
            &csv,
            "--project",
            "pay",
            "--format",
            "json",
        ],
        None,
    )
    .await);
    assert_eq!(s["stored"], 1);
    let later = items(&store, &pay).await;
    let renamed = by_key(&later, "PAY-2");
    assert_eq!(renamed.title, "Pay with saved cards and wallets");
    assert_eq!(renamed.started_at, Some(t("2026-03-03T09:00:00Z")));
    assert_eq!(renamed.done_at, Some(t("2026-03-06T09:00:00Z")));
    assert_eq!(renamed.goal_id, Some(goal), "planning fields stay");
    assert_eq!(
        store.tracked_children("jira", "PAY-1").await.unwrap(),
        vec!["PAY-2", "PAY-3"],
        "a file without parent columns leaves the links"
    );
}

async fn rest_bad_token_is_a_clear_error(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (pay, _, goal) = setup(&store).await;
    let (base, _fake) = start_fake().await;
    let epic_goal = format!("PAY-1={goal}");

    let err = failed(&run(&db.url, &rest_args(&base, &epic_goal), Some("wrong")).await);
    assert!(err.contains(&format!("{base}/rest/api/3/status")), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("Login Required"), "{err}");
    assert!(err.contains("--token-file"), "{err}");

    let err = failed(&run(&db.url, &rest_args(&base, &epic_goal), None).await);
    assert!(err.contains("JIRA_API_TOKEN"), "{err}");

    let err = failed(&run(&db.url, &rest_args(&base, "PAY-1=not-a-goal"), Some(TOKEN)).await);
    assert!(err.contains("--epic-goal"), "{err}");
    let unknown = format!("PAY-1={}", Uuid::now_v7());
    let err = failed(&run(&db.url, &rest_args(&base, &unknown), Some(TOKEN)).await);
    assert!(err.contains("--epic-goal: no goal has the id"), "{err}");

    assert!(items(&store, &pay).await.is_empty());
    assert_eq!(
        store
            .import_cursor("jira", &format!("{base} project = \"PAY\""))
            .await
            .unwrap(),
        None
    );
}

fn csv_args<'a>(path: &'a str, goal: &'a str) -> Vec<&'a str> {
    vec![
        "import",
        "jira-csv",
        path,
        "--project",
        "chk",
        "--timezone",
        "Europe/Berlin",
        "--epic-goal",
        goal,
        "--format",
        "json",
    ]
}

fn export_path() -> String {
    format!(
        "{}/tests/fixtures/jira_export.csv",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn csv_export_imports_with_repeated_columns(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (_, chk, goal) = setup(&store).await;
    let epic_goal = format!("CHK-10={goal}");
    let path = export_path();

    let s = ok(&run(&db.url, &csv_args(&path, &epic_goal), None).await);
    assert_eq!(s["rows"], 7);
    assert_eq!(s["epics"], 1);
    assert_eq!(s["stored"], 6);
    assert_eq!(
        s["parent_links"], 3,
        "parents named by id, found in the file"
    );
    assert_eq!(s["unresolved_parents"], 0);
    assert_eq!(s["goal_links"], 3);

    let all = items(&store, &chk).await;
    assert_eq!(all.len(), 6);
    // Berlin is UTC+1 in March.
    let story = by_key(&all, "CHK-11");
    assert_eq!(
        (story.kind, story.state, story.priority),
        (WorkKind::Feature, WorkState::Done, Priority::P1)
    );
    assert_eq!(story.created_at, t("2026-03-02T08:00:00Z"));
    assert_eq!(story.started_at, None, "the export has no changelog");
    assert_eq!(story.done_at, Some(t("2026-03-06T08:00:00Z")));
    assert_eq!(story.goal_id, Some(goal));
    let bug = by_key(&all, "CHK-12");
    assert_eq!((bug.kind, bug.priority), (WorkKind::Bug, Priority::P0));
    assert_eq!(bug.done_at, Some(t("2026-03-04T09:15:00Z")));
    // The second of the repeated Labels columns says tech-debt.
    let task = by_key(&all, "CHK-13");
    assert_eq!(
        (task.kind, task.state),
        (WorkKind::Debt, WorkState::InProgress)
    );
    assert_eq!(
        task.started_at,
        Some(t("2026-03-05T10:00:00Z")),
        "Status Category Changed"
    );
    assert_eq!(task.goal_id, None);
    let todo = by_key(&all, "CHK-14");
    assert_eq!(
        (todo.state, todo.priority, todo.goal_id),
        (WorkState::Todo, Priority::P3, Some(goal))
    );
    assert_eq!(by_key(&all, "CHK-15").kind, WorkKind::Debt);
    assert_eq!(by_key(&all, "CHK-16").state, WorkState::Cancelled);
    assert_eq!(
        store.tracked_children("jira", "CHK-10").await.unwrap(),
        vec!["CHK-11", "CHK-12", "CHK-14"]
    );

    // Throughput and debt share from the export: CHK-11, CHK-12 and CHK-15
    // done in March, one of them debt; no starts, so no cycle time.
    let f = flow(&db.url, "chk").await;
    assert_eq!(f["done"], 3);
    assert_eq!(f["cycle_time_items"], 0);
    assert_eq!(f["debt_items"], 1);
    assert_eq!(f["bugs_opened"], 1);

    // A re-import of the same file stores nothing.
    let s = ok(&run(&db.url, &csv_args(&path, &epic_goal), None).await);
    assert_eq!(
        (
            s["stored"].as_u64(),
            s["parent_links"].as_u64(),
            s["goal_links"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(items(&store, &chk).await, all);
}

async fn csv_with_a_bad_date_stores_nothing(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (_, chk, goal) = setup(&store).await;
    let epic_goal = format!("CHK-10={goal}");
    let good = std::fs::read_to_string(export_path()).unwrap();
    // CHK-14's Created in ISO form, and an unknown category for CHK-15.
    let bad = good
        .replacen(
            "Low,,Ada Lovelace,Grace Hopper,05/Mar/26 4:45 PM",
            "Low,,Ada Lovelace,Grace Hopper,2026-03-05 16:45",
            1,
        )
        .replacen(",backend,,,,,,,,,Done,", ",backend,,,,,,,,,Finished,", 1);
    assert_ne!(bad, good);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, &bad).unwrap();
    let path = path.to_str().unwrap().to_owned();

    let err = failed(&run(&db.url, &csv_args(&path, &epic_goal), None).await);
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(
        err.contains("line 7, column \"Created\": \"2026-03-05 16:45\" is not a date"),
        "{err}"
    );
    assert!(err.contains("line 8, column \"Status Category\""), "{err}");
    assert!(items(&store, &chk).await.is_empty(), "nothing stored");
    assert!(
        store
            .tracked_children("jira", "CHK-10")
            .await
            .unwrap()
            .is_empty()
    );

    let err = failed(
        &run(
            &db.url,
            &[
                "import",
                "jira-csv",
                &export_path(),
                "--project",
                "chk",
                "--timezone",
                "Mars/Olympus",
            ],
            None,
        )
        .await,
    );
    assert!(err.contains("--timezone"), "{err}");
}
