//! Fixtures shared by the conformance tests: valid domain values with
//! microsecond timestamps, and assertions on store errors.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use tandem_domain::decision::Decision;
use tandem_domain::goal::{Goal, GoalStatus, Parties, SuccessMetric, Timeline};
use tandem_domain::metric::{Audience, Direction, Metric, MetricPoint};
use tandem_domain::project::Project;
use tandem_domain::risk::{Level, Risk, RiskSource, RiskStatus};
use tandem_domain::stage::Stage;
use tandem_domain::team::Team;
use tandem_domain::time::micros;
use tandem_domain::user::{ApiToken, Role, User};
use tandem_domain::work_item::{Priority, Scores, WorkContext, WorkItem, WorkKind, WorkState};
use tandem_store::{CheckWrite, ListQuery, Page, Store, StoreError, StoredCheck};
use uuid::Uuid;

/// A fixed instant with a non-zero microsecond part (and nanoseconds that
/// `micros` must drop), so round trips prove microsecond precision.
pub fn base() -> DateTime<Utc> {
    micros(
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 15).unwrap() + Duration::nanoseconds(123_456_789),
    )
}

/// `base()` moved by whole seconds (the microseconds stay 123456).
pub fn at(seconds: i64) -> DateTime<Utc> {
    base() + Duration::seconds(seconds)
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn id() -> Uuid {
    Uuid::now_v7()
}

/// Ids sorted the way lists return them.
pub fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

pub fn team(key: &str) -> Team {
    Team {
        id: id(),
        key: key.to_owned(),
        name: format!("Team {key}"),
        timezone: "Europe/Berlin".to_owned(),
        created_at: base(),
        updated_at: at(1),
    }
}

pub fn user(username: &str, role: Role) -> User {
    User {
        id: id(),
        username: username.to_owned(),
        display_name: format!("{username} (display)"),
        email: Some(format!("{username}@example.com")),
        role,
        disabled: false,
        created_at: at(2),
    }
}

pub fn token(name: &str, created_by: Option<Uuid>) -> ApiToken {
    ApiToken {
        id: id(),
        name: name.to_owned(),
        prefix: format!("tdm_{name}"),
        role: Role::Manager,
        created_by,
        created_at: at(3),
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn project(team_id: Uuid, key: &str) -> Project {
    Project {
        id: id(),
        team_id,
        key: key.to_owned(),
        name: format!("Project {key}"),
        repositories: vec![
            format!("acme/{key}"),
            "https://git.example.com/x.git".to_owned(),
        ],
        services: vec![format!("{key}-api"), "ünïcødé-service".to_owned()],
        created_at: at(4),
        updated_at: at(5),
    }
}

pub fn success_metric() -> SuccessMetric {
    SuccessMetric {
        metric: "p95 latency of /users".to_owned(),
        metric_key: Some("users-p95".to_owned()),
        baseline: Some(512.25),
        target: Some(299.5),
        direction: Direction::Down,
        unit: "ms".to_owned(),
        deadline: Some(date(2026, 12, 15)),
    }
}

/// A draft goal with every part filled in, ready to be agreed.
pub fn goal(team_id: Uuid, project_id: Option<Uuid>) -> Goal {
    Goal {
        id: id(),
        team_id,
        project_id,
        title: "Faster user list".to_owned(),
        business_goal: "More sign-ups finish.\nSecond line with \"quotes\" and ✓.".to_owned(),
        technical_tasks: "Cache the list; paginate.".to_owned(),
        hypotheses: vec![
            "Latency loses users".to_owned(),
            "Caching is enough".to_owned(),
        ],
        success_metrics: vec![
            success_metric(),
            SuccessMetric {
                metric: "conversion".to_owned(),
                metric_key: None,
                baseline: Some(0.031),
                target: Some(0.045),
                direction: Direction::Up,
                unit: "%".to_owned(),
                deadline: None,
            },
        ],
        parties: Parties {
            owner: Some("Ana".to_owned()),
            requester: Some("Bo".to_owned()),
            contributors: vec!["Cy".to_owned(), "Di".to_owned()],
        },
        timeline: Timeline {
            starts_on: Some(date(2026, 11, 2)),
            deadline: Some(date(2027, 1, 31)),
        },
        status: GoalStatus::Draft,
        version: 0,
        agreed_at: None,
        agreed_by: None,
        created_at: at(6),
        updated_at: at(7),
    }
}

/// A goal with every optional part empty.
pub fn bare_goal(team_id: Uuid) -> Goal {
    Goal {
        id: id(),
        team_id,
        project_id: None,
        title: "Bare".to_owned(),
        business_goal: String::new(),
        technical_tasks: String::new(),
        hypotheses: vec![],
        success_metrics: vec![],
        parties: Parties::default(),
        timeline: Timeline::default(),
        status: GoalStatus::Draft,
        version: 0,
        agreed_at: None,
        agreed_by: None,
        created_at: base(),
        updated_at: base(),
    }
}

pub fn stage(goal_id: Uuid, position: i32) -> Stage {
    Stage {
        id: id(),
        goal_id,
        name: format!("Stage {position}"),
        description: "Two weeks at most.".to_owned(),
        position,
        starts_on: Some(date(2026, 11, 2)),
        ends_on: Some(date(2026, 11, 13)),
        created_at: at(8),
        updated_at: at(9),
    }
}

pub fn item(team_id: Uuid) -> WorkItem {
    WorkItem {
        id: id(),
        team_id,
        project_id: None,
        goal_id: None,
        stage_id: None,
        title: "Cache the user list".to_owned(),
        kind: WorkKind::Feature,
        priority: Priority::P1,
        impact: Some(Level::High),
        complexity: Some(Level::Low),
        state: WorkState::Done,
        context: WorkContext {
            why: "Users wait.".to_owned(),
            expected_impact: "p95 under 300 ms".to_owned(),
            current_value: "512 ms".to_owned(),
            target_value: "300 ms".to_owned(),
        },
        scores: Scores {
            reach: Some(1200.0),
            rice_impact: Some(2.0),
            confidence: Some(0.8),
            effort: Some(3.0),
            ..Scores::default()
        },
        external_key: None,
        source: "manual".to_owned(),
        created_at: at(10),
        started_at: Some(at(11)),
        done_at: Some(at(12)),
        updated_at: at(13),
    }
}

pub fn risk(team_id: Uuid) -> Risk {
    Risk {
        id: id(),
        team_id,
        goal_id: None,
        stage_id: None,
        title: "Vendor is late".to_owned(),
        description: "The cache vendor may slip.".to_owned(),
        likelihood: Level::Medium,
        impact: Level::High,
        plan: "Fallback to Redis.".to_owned(),
        owner: Some("Ana".to_owned()),
        schedule_impact_days: 5,
        status: RiskStatus::Open,
        source: RiskSource::Manual,
        cause_key: None,
        drafted_update: String::new(),
        created_at: at(14),
        updated_at: at(15),
        closed_at: None,
    }
}

pub fn metric(key: &str, audience: Audience, team_id: Option<Uuid>) -> Metric {
    Metric {
        id: id(),
        key: key.to_owned(),
        name: format!("Metric {key}"),
        description: "What it measures.".to_owned(),
        unit: "ms".to_owned(),
        direction: Direction::Down,
        audience,
        team_id,
        computed_from: None,
        created_at: at(16),
        updated_at: at(17),
    }
}

pub fn point(metric_id: Uuid, at: DateTime<Utc>, value: f64) -> MetricPoint {
    MetricPoint {
        metric_id,
        at,
        value,
    }
}

pub fn decision(team_id: Uuid, goal_id: Option<Uuid>) -> Decision {
    Decision {
        id: id(),
        team_id,
        goal_id,
        title: "Use a cache".to_owned(),
        context: "The list is slow.".to_owned(),
        options: vec!["cache".to_owned(), "rewrite".to_owned()],
        decision: "Cache it.".to_owned(),
        consequences: "Invalidation work.".to_owned(),
        decided_by: Some("Ana".to_owned()),
        decided_at: at(18),
        created_at: at(19),
        updated_at: at(20),
    }
}

pub fn q() -> ListQuery {
    ListQuery::default()
}

/// Follows `next_cursor` until the end, checking each page's size.
pub async fn all_pages<T, F, Fut>(
    limit: u32,
    id_of: impl Fn(&T) -> Uuid,
    fetch: F,
) -> (Vec<T>, usize)
where
    F: Fn(Option<Uuid>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut items = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = fetch(after).await.expect("list a page");
        pages += 1;
        assert!(
            page.items.len() <= limit as usize,
            "page longer than the limit"
        );
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    page.items.len(),
                    limit as usize,
                    "a page with a cursor is full"
                );
                assert_eq!(
                    Some(cursor),
                    page.items.last().map(&id_of),
                    "the cursor is the last id"
                );
                items.extend(page.items);
                after = Some(cursor);
            }
            None => {
                items.extend(page.items);
                return (items, pages);
            }
        }
        assert!(pages < 1000, "pagination does not end");
    }
}

pub fn ids<T>(items: &[T], id_of: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    items.iter().map(id_of).collect()
}

#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, expected_field: &str) {
    match result {
        Err(StoreError::Conflict { field, message }) => {
            assert_eq!(
                field, expected_field,
                "conflict names the field ({message})"
            );
            assert!(!message.is_empty());
        }
        other => panic!("expected a conflict on {expected_field}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_missing<T: std::fmt::Debug>(result: Result<T, StoreError>, expected_field: &str) {
    match result {
        Err(StoreError::MissingReference { field, message }) => {
            assert_eq!(
                field, expected_field,
                "missing reference names the field ({message})"
            );
            assert!(message.contains("does not exist"), "{message}");
        }
        other => panic!("expected a missing {expected_field}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, expected_entity: &str) {
    match result {
        Err(StoreError::NotFound { entity, .. }) => assert_eq!(entity, expected_entity),
        other => panic!("expected {expected_entity} not found, got {other:?}"),
    }
}

/// The whole database as dump bytes.
pub async fn export(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    store.export(&mut out).await.expect("export");
    out
}

/// What an export of an empty database looks like: the header only.
pub async fn assert_empty(store: &Store) {
    let dump = String::from_utf8(export(store).await).unwrap();
    let lines: Vec<&str> = dump.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "the database should be empty, export is:\n{dump}"
    );
    assert!(lines[0].contains(tandem_store::EXPORT_FORMAT));
}

/// A TCP check of `team`'s `service` against a closed local port, every
/// 60 s, critical, failing at the first failed run.
pub fn tcp_check(name: &str, team: &str, service: &str) -> tandem_domain::check::CheckSpec {
    use tandem_domain::check::{CheckKind, CheckSpec, Severity};
    CheckSpec {
        name: name.into(),
        team: team.into(),
        service: service.into(),
        project: None,
        kind: CheckKind::Tcp,
        target: "127.0.0.1:1".into(),
        method: None,
        headers: Default::default(),
        body: None,
        query: None,
        conditions: Vec::new(),
        interval_seconds: 60,
        timeout_seconds: 5,
        failure_threshold: 1,
        success_threshold: 1,
        grace_seconds: 0,
        severity: Severity::Critical,
        depends_on: None,
        maintenance: Vec::new(),
        record_type: None,
        nameserver: None,
        pattern: None,
        window_minutes: None,
    }
}

/// Stores `spec` as an API-defined check of the team and project, first
/// due at `first_run_at`, written at `now`.
pub async fn define_check(
    store: &Store,
    spec: &tandem_domain::check::CheckSpec,
    (team_id, project_id): (Uuid, Uuid),
    first_run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoredCheck {
    store
        .upsert_check(&CheckWrite {
            spec,
            team_id,
            project_id,
            origin: "api",
            first_run_at,
            now,
        })
        .await
        .unwrap()
}
