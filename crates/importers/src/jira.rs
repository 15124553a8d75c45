//! Work items from Jira: the Jira Cloud REST API (`import`) and Jira's CSV
//! export (`crate::jira_csv`), mapped by the same pure functions.
//!
//! Mapping (documented in docs/metrics.md, "Work items from Jira"):
//! - issue type → kind ([`kind`]): Bug → bug, Incident → incident, a type
//!   named in `debt_types` or the label `tech-debt`/`debt` → debt,
//!   Task/Sub-task/Chore → chore, anything else (Story, Feature, ...) →
//!   feature. Epics are containers, not work items: they are not stored, and
//!   become the parent of their children.
//! - status category → state ([`state`]): `new` → todo, `indeterminate` →
//!   in_progress, `done` → done, or cancelled when the resolution is Won't
//!   Do, Won't Fix, Duplicate or Cancelled.
//! - started = the first changelog transition of `status` into a status of
//!   the `indeterminate` category; done = the last transition into a `done`
//!   status, when the issue is done now, else `resolutiondate`
//!   ([`flow_times`]).
//! - priority Highest/High/Medium/Low/Lowest → P0/P1/P2/P3/P3 ([`priority`]).
//!
//! REST: `POST /rest/api/3/search/jql` pages with `nextPageToken` until
//! `isLast`, the changelog embedded (`expand=changelog`); a truncated one
//! (`total` above `maxResults`) is read whole from
//! `/rest/api/3/issue/{key}/changelog` (`startAt`, `isLast`). Status
//! categories come from `/rest/api/3/status`, read once. A 429 waits
//! `Retry-After` (at most [`JiraImport::max_wait`]) and retries; any other
//! error status stops the import naming the URL and status. Each page is
//! stored in one transaction.
//!
//! Incremental: the newest `updated` stored is the cursor (`import_cursors`,
//! source `jira`, scope = site + JQL). The next run adds
//! `AND updated >= "yyyy-MM-dd HH:mm"` to the JQL, written in the time zone
//! of the Jira user (`/rest/api/3/myself`, which JQL dates are read in) and
//! [`OVERLAP`] earlier; upserts make the overlap harmless.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, USER_AGENT};
use serde::Serialize;
use serde_json::{Value, json};
use tandem_domain::project::Project;
use tandem_domain::work_item::{Priority, WorkContext, WorkItem, WorkKind, WorkState};
use tandem_store::{ParentLink, Store, TrackedItem};
use uuid::Uuid;

/// `work_items.source` of items from Jira, REST and CSV alike (the same
/// issue key is the same row).
pub const SOURCE: &str = "jira";

/// The `import_cursors.source` of Jira imports.
pub const CURSOR_SOURCE: &str = "jira";

/// Issue types counted as tech debt unless told otherwise.
pub const DEFAULT_DEBT_TYPES: &str = "Tech Debt,Technical Debt";

/// How far before the cursor a re-run starts (JQL dates have minutes only).
pub const OVERLAP: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Retries of one request after rate limits before giving up.
const RATE_LIMIT_RETRIES: u32 = 5;

/// Issues per search page, and changelog entries per changelog page.
const PAGE_SIZE: u32 = 100;

// ---- mapping (pure) -----------------------------------------------------------

/// A Jira status category (`statusCategory.key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// `new` ("To Do").
    New,
    /// `indeterminate` ("In Progress").
    Indeterminate,
    /// `done` ("Done").
    Done,
}

impl Category {
    /// From a category key (`new`, `indeterminate`, `done`) or its display
    /// name (`To Do`, `In Progress`, `Done`), in any case.
    pub fn parse(text: &str) -> Option<Category> {
        match text.trim().to_ascii_lowercase().as_str() {
            "new" | "to do" | "todo" => Some(Category::New),
            "indeterminate" | "in progress" => Some(Category::Indeterminate),
            "done" | "complete" => Some(Category::Done),
            _ => None,
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether an issue type is an epic (a container, not a work item).
pub fn is_epic(issue_type: &str) -> bool {
    same(issue_type, "Epic")
}

/// The kind of work an issue type (and its labels) stands for; `None` for
/// an epic. Bug and Incident win over debt labels.
pub fn kind(issue_type: &str, labels: &[String], debt_types: &[String]) -> Option<WorkKind> {
    let t = issue_type.trim();
    if is_epic(t) {
        return None;
    }
    if same(t, "Bug") {
        return Some(WorkKind::Bug);
    }
    if same(t, "Incident") {
        return Some(WorkKind::Incident);
    }
    if debt_types.iter().any(|d| same(d, t))
        || labels
            .iter()
            .any(|l| same(l, "tech-debt") || same(l, "debt"))
    {
        return Some(WorkKind::Debt);
    }
    if ["Task", "Sub-task", "Subtask", "Chore"]
        .iter()
        .any(|c| same(c, t))
    {
        return Some(WorkKind::Chore);
    }
    Some(WorkKind::Feature)
}

/// Resolutions that mean the work was dropped, not done.
const CANCELLING: [&str; 5] = [
    "Won't Do",
    "Won't Fix",
    "Duplicate",
    "Cancelled",
    "Canceled",
];

/// The state of an issue in a status of `category` with `resolution`.
pub fn state(category: Category, resolution: Option<&str>) -> WorkState {
    match category {
        Category::New => WorkState::Todo,
        Category::Indeterminate => WorkState::InProgress,
        Category::Done => {
            let cancelled = resolution.is_some_and(|r| {
                let r = r.replace('’', "'");
                CANCELLING.iter().any(|c| same(c, &r))
            });
            if cancelled {
                WorkState::Cancelled
            } else {
                WorkState::Done
            }
        }
    }
}

/// Jira's default priorities: Highest → P0, High → P1, Medium → P2, Low
/// and Lowest → P3; none or another name → P2.
pub fn priority(name: Option<&str>) -> Priority {
    match name.map(|n| n.trim().to_ascii_lowercase()).as_deref() {
        Some("highest" | "blocker" | "critical") => Priority::P0,
        Some("high" | "major") => Priority::P1,
        Some("low" | "lowest" | "minor" | "trivial") => Priority::P3,
        _ => Priority::P2,
    }
}

/// One change of an issue's status, from its changelog.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    /// The new status's id (`items[].to`).
    pub to_id: Option<String>,
    /// The new status's name (`items[].toString`).
    pub to_name: Option<String>,
}

/// The category of every status of a site, by id and by name.
#[derive(Debug, Clone, Default)]
pub struct Statuses {
    by_id: HashMap<String, Category>,
    by_name: HashMap<String, Category>,
}

impl Statuses {
    pub fn insert(&mut self, id: Option<&str>, name: Option<&str>, category: Category) {
        if let Some(id) = id {
            self.by_id.insert(id.to_owned(), category);
        }
        if let Some(name) = name {
            self.by_name.insert(name.trim().to_lowercase(), category);
        }
    }

    /// The category a transition went into, when its status is known.
    pub fn of(&self, t: &Transition) -> Option<Category> {
        t.to_id
            .as_deref()
            .and_then(|id| self.by_id.get(id))
            .or_else(|| {
                t.to_name
                    .as_deref()
                    .and_then(|n| self.by_name.get(&n.trim().to_lowercase()))
            })
            .copied()
    }

    pub fn len(&self) -> usize {
        self.by_id.len().max(self.by_name.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// When work on an issue started and finished, from its status changes:
/// started = the first transition into an `indeterminate` status; done (only
/// when `current` is done) = the last transition into a `done` status, else
/// `resolved`, else `fallback` (when the status category last changed).
/// Transitions into statuses of unknown category are ignored.
pub fn flow_times(
    transitions: &[Transition],
    statuses: &Statuses,
    current: Category,
    resolved: Option<DateTime<Utc>>,
    category_changed: Option<DateTime<Utc>>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let mut sorted: Vec<&Transition> = transitions.iter().collect();
    sorted.sort_by_key(|t| t.at);
    let started = sorted
        .iter()
        .find(|t| statuses.of(t) == Some(Category::Indeterminate))
        .map(|t| t.at);
    let started = match (started, current) {
        (None, Category::Indeterminate) => category_changed,
        (s, _) => s,
    };
    let done = (current == Category::Done).then(|| {
        sorted
            .iter()
            .rev()
            .find(|t| statuses.of(t) == Some(Category::Done))
            .map(|t| t.at)
            .or(resolved)
            .or(category_changed)
    });
    (started, done.flatten())
}

/// An issue as both importers read it, before it becomes a work item.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub key: String,
    pub summary: String,
    pub issue_type: String,
    pub labels: Vec<String>,
    pub category: Category,
    pub resolution: Option<String>,
    pub priority: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// From [`flow_times`] (REST) or the export's columns (CSV).
    pub started: Option<DateTime<Utc>>,
    pub done: Option<DateTime<Utc>>,
    /// The epic or parent issue.
    pub parent: ParentLink,
}

/// The work item an issue becomes in `project` (`None` for an epic). Times
/// are kept true to the state: a to-do item has not started, only a done
/// one has finished, and neither precedes creation; a start after the
/// finish (an issue reopened then closed without passing through
/// in-progress) is dropped rather than guessed.
pub fn work_item(
    issue: &Issue,
    project: &Project,
    debt_types: &[String],
    id: Uuid,
) -> Result<Option<TrackedItem>, tandem_domain::DomainError> {
    let Some(kind) = kind(&issue.issue_type, &issue.labels, debt_types) else {
        return Ok(None);
    };
    let micros = tandem_domain::time::micros;
    let created = micros(issue.created);
    let state = state(issue.category, issue.resolution.as_deref());
    let clamp = |t: Option<DateTime<Utc>>| t.map(|t| micros(t).max(created));
    let mut started = match state {
        WorkState::Todo => None,
        _ => clamp(issue.started),
    };
    let done = match state {
        WorkState::Done => clamp(issue.done),
        _ => None,
    };
    if let (Some(s), Some(d)) = (started, done)
        && s > d
    {
        started = None;
    }
    let item = WorkItem {
        id,
        team_id: project.team_id,
        project_id: Some(project.id),
        goal_id: None,
        stage_id: None,
        title: issue.summary.trim().to_owned(),
        kind,
        priority: priority(issue.priority.as_deref()),
        impact: None,
        complexity: None,
        state,
        context: WorkContext::default(),
        scores: Default::default(),
        external_key: Some(issue.key.clone()),
        source: SOURCE.to_owned(),
        created_at: created,
        started_at: started,
        done_at: done,
        updated_at: micros(issue.updated.max(issue.created)),
    };
    item.validate()?;
    Ok(Some(TrackedItem {
        item,
        parent: issue.parent.clone(),
    }))
}

/// Parses `--debt-types`: comma-separated issue type names.
pub fn debt_types(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses one `--epic-goal EPIC-KEY=GOAL-ID`.
pub fn epic_goal(text: &str) -> Result<(String, Uuid), String> {
    let (epic, goal) = text
        .split_once('=')
        .ok_or_else(|| format!("--epic-goal: {text:?} is not EPIC-KEY=GOAL-ID"))?;
    let epic = epic.trim();
    if epic.is_empty() || epic.contains(char::is_whitespace) {
        return Err(format!("--epic-goal: {epic:?} is not an issue key"));
    }
    let goal = Uuid::try_parse(goal.trim())
        .map_err(|_| format!("--epic-goal: {:?} is not a goal id (a UUID)", goal.trim()))?;
    Ok((epic.to_owned(), goal))
}

/// A Jira REST time: `2024-03-12T15:15:00.000+0000` (or RFC 3339).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---- REST issues → Issue ---------------------------------------------------

/// A field of an issue that is missing or not what Jira sends.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FieldError {
    pub path: String,
    pub problem: String,
}

fn field_error(path: String, problem: &str) -> FieldError {
    FieldError {
        path,
        problem: problem.to_owned(),
    }
}

/// The status transitions in changelog histories (`created`, `items[]` with
/// `field` = `status`).
pub fn transitions(histories: &[Value]) -> Vec<Transition> {
    let mut out = Vec::new();
    for h in histories {
        let Some(at) = h
            .get("created")
            .and_then(Value::as_str)
            .and_then(parse_time)
        else {
            continue;
        };
        for item in h
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = item.get("fieldId").or_else(|| item.get("field"));
            if field.and_then(Value::as_str) != Some("status") {
                continue;
            }
            let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
            out.push(Transition {
                at,
                to_id: text("to"),
                to_name: text("toString"),
            });
        }
    }
    out
}

/// The parent key of a REST issue: `fields.parent.key`, else the configured
/// Epic Link custom field (a key, or an object with `key`).
fn parent_key(fields: &Value, epic_link_field: Option<&str>) -> Option<String> {
    let from_parent = fields
        .pointer("/parent/key")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let from_epic_link = epic_link_field
        .and_then(|f| fields.get(f))
        .and_then(|v| v.as_str().or_else(|| v.get("key").and_then(Value::as_str)))
        .map(str::to_owned);
    from_parent
        .or(from_epic_link)
        .filter(|k| !k.trim().is_empty())
}

/// Reads one issue of a search page (`at` names it in errors, e.g.
/// `issues[3]`) with its complete changelog `histories`.
pub fn rest_issue(
    v: &Value,
    at: &str,
    histories: &[Value],
    statuses: &Statuses,
    epic_link_field: Option<&str>,
) -> Result<Issue, FieldError> {
    let key = v
        .get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| field_error(format!("{at}.key"), "missing"))?;
    let at = format!("{at} ({key})");
    let fields = v
        .get("fields")
        .filter(|f| f.is_object())
        .ok_or_else(|| field_error(format!("{at}.fields"), "missing"))?;
    let text = |path: &str| fields.pointer(path).and_then(Value::as_str);
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, FieldError> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| {
                field_error(
                    format!("{at}.fields.{name}"),
                    &format!("{s:?} is not a time"),
                )
            }),
            Some(_) => Err(field_error(
                format!("{at}.fields.{name}"),
                "is not a string",
            )),
        }
    };
    let created =
        time("created")?.ok_or_else(|| field_error(format!("{at}.fields.created"), "missing"))?;
    let updated = time("updated")?.unwrap_or(created);
    let issue_type = text("/issuetype/name")
        .ok_or_else(|| field_error(format!("{at}.fields.issuetype.name"), "missing"))?;
    let category_key = text("/status/statusCategory/key")
        .ok_or_else(|| field_error(format!("{at}.fields.status.statusCategory.key"), "missing"))?;
    let category = Category::parse(category_key).ok_or_else(|| {
        field_error(
            format!("{at}.fields.status.statusCategory.key"),
            &format!("{category_key:?} is not new, indeterminate or done"),
        )
    })?;
    let labels = fields
        .get("labels")
        .and_then(Value::as_array)
        .map(|ls| {
            ls.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // The current status is known even when /status did not list it.
    let mut statuses = statuses.clone();
    statuses.insert(text("/status/id"), text("/status/name"), category);
    let (started, done) = flow_times(
        &transitions(histories),
        &statuses,
        category,
        time("resolutiondate")?,
        time("statuscategorychangedate")?,
    );
    Ok(Issue {
        key: key.to_owned(),
        summary: text("/summary").unwrap_or_default().to_owned(),
        issue_type: issue_type.to_owned(),
        labels,
        category,
        resolution: text("/resolution/name").map(str::to_owned),
        priority: text("/priority/name").map(str::to_owned),
        created,
        updated,
        started,
        done,
        parent: parent_key(fields, epic_link_field).map_or(ParentLink::Detached, ParentLink::Key),
    })
}

/// The categories listed by `GET /rest/api/3/status`.
pub fn statuses(body: &Value) -> Result<Statuses, FieldError> {
    let list = body
        .as_array()
        .ok_or_else(|| field_error("status list".to_owned(), "is not an array"))?;
    let mut out = Statuses::default();
    for s in list {
        let key = s.pointer("/statusCategory/key").and_then(Value::as_str);
        if let Some(category) = key.and_then(Category::parse) {
            out.insert(
                s.get("id").and_then(Value::as_str),
                s.get("name").and_then(Value::as_str),
                category,
            );
        }
    }
    Ok(out)
}

/// `jql` restricted to issues updated at or after `since` (a JQL date),
/// keeping a trailing `ORDER BY` last.
pub fn jql_since(jql: &str, since: Option<&str>) -> String {
    let Some(since) = since else {
        return jql.to_owned();
    };
    let lower = jql.to_ascii_lowercase();
    let (filter, order) = match lower.rfind("order by") {
        Some(i) => (jql[..i].trim(), format!(" {}", jql[i..].trim())),
        None => (jql.trim(), String::new()),
    };
    if filter.is_empty() {
        format!("updated >= \"{since}\"{order}")
    } else {
        format!("({filter}) AND updated >= \"{since}\"{order}")
    }
}

/// A JQL date for `at` as seen in time zone `tz` (`yyyy-MM-dd HH:mm`).
pub fn jql_date(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

// ---- import --------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum JiraImportError {
    #[error("--url: {0:?} is not an http(s) URL (https://SITE.atlassian.net)")]
    BadUrl(String),
    #[error(
        "{method} {url} answered {status}{}{hint}",
        if message.is_empty() { String::new() } else { format!(": {message}") }
    )]
    Status {
        method: &'static str,
        url: String,
        status: StatusCode,
        message: String,
        hint: &'static str,
    },
    #[error(
        "{method} {url} is still rate limited after {retries} waits; run the import again later"
    )]
    RateLimited {
        method: &'static str,
        url: String,
        retries: u32,
    },
    #[error("{method} {url} failed: {reason}")]
    Http {
        method: &'static str,
        url: String,
        reason: String,
    },
    #[error("{method} {url} returned a body that is not what Jira sends: {reason}")]
    Body {
        method: &'static str,
        url: String,
        reason: String,
    },
    #[error("{url}: {error}")]
    Field { url: String, error: FieldError },
    #[error("--epic-goal: {0}")]
    EpicGoal(String),
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}

/// What to import.
#[derive(Debug, Clone)]
pub struct JiraImport {
    /// The site, `https://SITE.atlassian.net`.
    pub url: String,
    /// Basic authentication: the account's e-mail and an API token.
    pub email: String,
    pub token: String,
    /// The issues to import (default: `project = "KEY"`).
    pub jql: String,
    /// Issue types counted as debt.
    pub debt_types: Vec<String>,
    /// The id of the old `Epic Link` custom field, when the site uses one
    /// (`customfield_10014`).
    pub epic_link_field: Option<String>,
    /// Epics whose children (and their sub-tasks) serve a Tandem goal.
    pub epic_goals: Vec<(String, Uuid)>,
    /// The longest a rate limit is waited out before a retry.
    pub max_wait: Duration,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JiraImportSummary {
    pub jql: String,
    /// The JQL actually sent (with the incremental bound).
    pub query: String,
    /// Issues read, and of them epics (not stored as work items).
    pub issues: u64,
    pub epics: u64,
    /// Work items inserted or changed in this run.
    pub stored: u64,
    /// Parent links added, changed or removed.
    pub parent_links: u64,
    /// Items whose goal `--epic-goal` set.
    pub goal_links: u64,
    /// Issues whose changelog was truncated in the search and read whole.
    pub changelogs_paged: u64,
    /// API requests made, and how many waited for a rate limit.
    pub requests: u64,
    pub rate_limit_waits: u64,
    pub seconds: f64,
}

/// The search fields the mapping reads.
const FIELDS: [&str; 11] = [
    "summary",
    "issuetype",
    "status",
    "priority",
    "resolution",
    "resolutiondate",
    "statuscategorychangedate",
    "created",
    "updated",
    "labels",
    "parent",
];

/// Checks that every `--epic-goal` names a goal of the project's team.
pub async fn check_epic_goals(
    store: &Store,
    project: &Project,
    epic_goals: &[(String, Uuid)],
) -> Result<(), String> {
    for (epic, goal) in epic_goals {
        match store.get_goal(*goal).await {
            Ok(g) if g.team_id == project.team_id => {}
            Ok(_) => {
                return Err(format!(
                    "the goal {goal} (for {epic}) belongs to another team than project {}",
                    project.key
                ));
            }
            Err(_) => return Err(format!("no goal has the id {goal} (for {epic})")),
        }
    }
    Ok(())
}

/// Sets the goal of each epic's stored descendants; returns how many changed.
pub async fn link_epic_goals(
    store: &Store,
    epic_goals: &[(String, Uuid)],
) -> Result<u64, tandem_store::StoreError> {
    let mut n = 0;
    for (epic, goal) in epic_goals {
        n += store
            .link_tracked_children_to_goal(SOURCE, epic, *goal)
            .await?;
    }
    Ok(n)
}

/// Imports the issues `what.jql` selects into `project`.
pub async fn import(
    store: &Store,
    project: &Project,
    what: &JiraImport,
    now: DateTime<Utc>,
) -> Result<JiraImportSummary, JiraImportError> {
    let started = Instant::now();
    let base = what.url.trim_end_matches('/').to_owned();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(JiraImportError::BadUrl(what.url.clone()));
    }
    check_epic_goals(store, project, &what.epic_goals)
        .await
        .map_err(JiraImportError::EpicGoal)?;
    let mut client = Client::new(what, base.clone())?;
    let scope = format!("{base} {}", what.jql);

    let cursor = store
        .import_cursor(CURSOR_SOURCE, &scope)
        .await?
        .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
        .map(|c| c.with_timezone(&Utc));
    let since = match cursor {
        Some(cursor) => {
            let myself = client.get(&format!("{base}/rest/api/3/myself")).await?;
            let tz = myself
                .get("timeZone")
                .and_then(Value::as_str)
                .and_then(|z| z.parse::<chrono_tz::Tz>().ok());
            // Without the user's zone, go back far enough for any zone.
            Some(match tz {
                Some(tz) => jql_date(cursor - OVERLAP, tz),
                None => jql_date(cursor - chrono::TimeDelta::hours(15), chrono_tz::UTC),
            })
        }
        None => None,
    };
    let query = jql_since(&what.jql, since.as_deref());

    let status_url = format!("{base}/rest/api/3/status");
    let statuses =
        statuses(&client.get(&status_url).await?).map_err(|error| JiraImportError::Field {
            url: status_url.clone(),
            error,
        })?;

    let mut summary = JiraImportSummary {
        jql: what.jql.clone(),
        query: query.clone(),
        ..Default::default()
    };
    let mut fields: Vec<&str> = FIELDS.to_vec();
    if let Some(f) = &what.epic_link_field {
        fields.push(f);
    }
    let search_url = format!("{base}/rest/api/3/search/jql");
    let mut newest: Option<DateTime<Utc>> = None;
    let mut token: Option<String> = None;
    let mut seen_tokens = HashSet::new();
    loop {
        let mut body = json!({
            "jql": query,
            "fields": fields,
            "expand": "changelog",
            "maxResults": PAGE_SIZE,
        });
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page = client.post(&search_url, &body).await?;
        let issues = page
            .get("issues")
            .and_then(Value::as_array)
            .ok_or_else(|| JiraImportError::Body {
                method: "POST",
                url: search_url.clone(),
                reason: "no issues array".to_owned(),
            })?;
        let mut items = Vec::new();
        for (i, v) in issues.iter().enumerate() {
            let histories = changelog(&mut client, &base, v, &mut summary).await?;
            let issue = rest_issue(
                v,
                &format!("issues[{i}]"),
                &histories,
                &statuses,
                what.epic_link_field.as_deref(),
            )
            .map_err(|error| JiraImportError::Field {
                url: search_url.clone(),
                error,
            })?;
            summary.issues += 1;
            newest = newest.max(Some(issue.updated));
            match work_item(&issue, project, &what.debt_types, Uuid::now_v7()) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => summary.epics += 1,
                Err(e) => {
                    return Err(JiraImportError::Field {
                        url: search_url.clone(),
                        error: field_error(format!("issues[{i}] ({})", issue.key), &e.to_string()),
                    });
                }
            }
        }
        let wrote = store.upsert_tracked_items(&items).await?;
        summary.stored += wrote.items;
        summary.parent_links += wrote.parents;
        let next = page
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let last = page.get("isLast").and_then(Value::as_bool).unwrap_or(false);
        match next {
            Some(t) if !last && seen_tokens.insert(t.clone()) => token = Some(t),
            _ => break,
        }
    }
    summary.goal_links = link_epic_goals(store, &what.epic_goals).await?;
    if let Some(newest) = newest {
        let text = newest.to_rfc3339_opts(SecondsFormat::Micros, true);
        store
            .set_import_cursor(CURSOR_SOURCE, &scope, &text, now)
            .await?;
    }
    summary.requests = client.requests;
    summary.rate_limit_waits = client.waits;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The complete changelog of an issue of a search page: the embedded one,
/// or, when it was truncated, every page of `/issue/{key}/changelog`.
async fn changelog(
    client: &mut Client,
    base: &str,
    issue: &Value,
    summary: &mut JiraImportSummary,
) -> Result<Vec<Value>, JiraImportError> {
    let embedded = issue.get("changelog");
    let histories: Vec<Value> = embedded
        .and_then(|c| c.get("histories"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let number = |k: &str| embedded.and_then(|c| c.get(k)).and_then(Value::as_u64);
    let total = number("total").unwrap_or(histories.len() as u64);
    let max = number("maxResults").unwrap_or(u64::MAX);
    if total <= max && total <= histories.len() as u64 {
        return Ok(histories);
    }
    let Some(key) = issue.get("key").and_then(Value::as_str) else {
        return Ok(histories);
    };
    summary.changelogs_paged += 1;
    let mut out = Vec::new();
    loop {
        let url = format!(
            "{base}/rest/api/3/issue/{key}/changelog?startAt={}&maxResults={PAGE_SIZE}",
            out.len()
        );
        let page = client.get(&url).await?;
        let values = page
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| JiraImportError::Body {
                method: "GET",
                url: url.clone(),
                reason: "no values array".to_owned(),
            })?;
        out.extend(values.iter().cloned());
        let page_total = page.get("total").and_then(Value::as_u64);
        let last = page.get("isLast").and_then(Value::as_bool).unwrap_or(false);
        if last || values.is_empty() || page_total.is_some_and(|t| out.len() as u64 >= t) {
            return Ok(out);
        }
    }
}

// ---- HTTP ----------------------------------------------------------------------

struct Client {
    http: reqwest::Client,
    email: String,
    token: String,
    max_wait: Duration,
    requests: u64,
    waits: u64,
}

impl Client {
    fn new(what: &JiraImport, base: String) -> Result<Self, JiraImportError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| JiraImportError::Http {
                method: "GET",
                url: base,
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            email: what.email.clone(),
            token: what.token.clone(),
            max_wait: what.max_wait,
            requests: 0,
            waits: 0,
        })
    }

    async fn get(&mut self, url: &str) -> Result<Value, JiraImportError> {
        self.send("GET", url, None).await
    }

    async fn post(&mut self, url: &str, body: &Value) -> Result<Value, JiraImportError> {
        self.send("POST", url, Some(body)).await
    }

    /// One request, waiting out rate limits.
    async fn send(
        &mut self,
        method: &'static str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, JiraImportError> {
        let http_err = |e: reqwest::Error| JiraImportError::Http {
            method,
            url: url.to_owned(),
            reason: e.to_string(),
        };
        for _ in 0..=RATE_LIMIT_RETRIES {
            let req = match body {
                Some(b) => self.http.post(url).json(b),
                None => self.http.get(url),
            };
            let req = req
                .basic_auth(&self.email, Some(&self.token))
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, concat!("tandem/", env!("CARGO_PKG_VERSION")));
            self.requests += 1;
            let resp = req.send().await.map_err(http_err)?;
            let status = resp.status();
            if let Some(wait) = rate_limit_wait(status, resp.headers()) {
                self.waits += 1;
                tracing::info!(url, ?wait, "rate limited; waiting");
                tokio::time::sleep(wait.min(self.max_wait)).await;
                continue;
            }
            let text = resp.text().await.map_err(http_err)?;
            if !status.is_success() {
                let hint = match status {
                    StatusCode::UNAUTHORIZED => {
                        " (the e-mail or API token is wrong or expired: pass --email and --token-file or JIRA_API_TOKEN)"
                    }
                    StatusCode::FORBIDDEN => " (the account may not browse these issues)",
                    StatusCode::NOT_FOUND => {
                        " (no such site or issue, or the account cannot see it)"
                    }
                    StatusCode::BAD_REQUEST => " (check --jql)",
                    _ => "",
                };
                return Err(JiraImportError::Status {
                    method,
                    url: url.to_owned(),
                    status,
                    message: error_message(&text),
                    hint,
                });
            }
            return serde_json::from_str(&text).map_err(|e| JiraImportError::Body {
                method,
                url: url.to_owned(),
                reason: e.to_string(),
            });
        }
        Err(JiraImportError::RateLimited {
            method,
            url: url.to_owned(),
            retries: RATE_LIMIT_RETRIES,
        })
    }
}

/// Jira's `{"errorMessages": [...], "errors": {field: message}}`, joined.
fn error_message(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return text.chars().take(200).collect();
    };
    let mut parts: Vec<String> = v
        .get("errorMessages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if let Some(errors) = v.get("errors").and_then(Value::as_object) {
        for (field, message) in errors {
            if let Some(m) = message.as_str() {
                parts.push(format!("{field}: {m}"));
            }
        }
    }
    if let Some(m) = v.get("message").and_then(Value::as_str) {
        parts.push(m.to_owned());
    }
    parts.join("; ")
}

/// How long a rate-limited answer (429) asks to wait; `None` when it is not
/// one. Without `Retry-After`, 10 seconds.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let secs = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(10);
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
    }

    fn debt() -> Vec<String> {
        debt_types(DEFAULT_DEBT_TYPES)
    }

    #[test]
    fn issue_types_map_to_kinds() {
        let none: Vec<String> = vec![];
        let k = |t: &str| kind(t, &none, &debt());
        assert_eq!(k("Bug"), Some(WorkKind::Bug));
        assert_eq!(k("incident"), Some(WorkKind::Incident));
        assert_eq!(k("Tech Debt"), Some(WorkKind::Debt));
        assert_eq!(k("Technical Debt"), Some(WorkKind::Debt));
        assert_eq!(k("Task"), Some(WorkKind::Chore));
        assert_eq!(k("Sub-task"), Some(WorkKind::Chore));
        assert_eq!(k("Subtask"), Some(WorkKind::Chore));
        assert_eq!(k("Chore"), Some(WorkKind::Chore));
        assert_eq!(k("Story"), Some(WorkKind::Feature));
        assert_eq!(k("Feature"), Some(WorkKind::Feature));
        assert_eq!(k("Spike"), Some(WorkKind::Feature));
        assert_eq!(k("Epic"), None);
        let labelled = vec!["backend".to_owned(), "Tech-Debt".to_owned()];
        assert_eq!(kind("Story", &labelled, &debt()), Some(WorkKind::Debt));
        assert_eq!(
            kind("Task", &["debt".to_owned()], &debt()),
            Some(WorkKind::Debt)
        );
        // A bug stays a bug whatever its labels.
        assert_eq!(kind("Bug", &labelled, &debt()), Some(WorkKind::Bug));
        assert_eq!(
            kind("Refactor", &none, &debt_types("Refactor, Cleanup")),
            Some(WorkKind::Debt)
        );
    }

    #[test]
    fn categories_map_to_states() {
        assert_eq!(state(Category::New, None), WorkState::Todo);
        assert_eq!(state(Category::Indeterminate, None), WorkState::InProgress);
        assert_eq!(state(Category::Done, Some("Done")), WorkState::Done);
        assert_eq!(state(Category::Done, None), WorkState::Done);
        for r in ["Won't Do", "Won’t Fix", "duplicate", "Cancelled"] {
            assert_eq!(state(Category::Done, Some(r)), WorkState::Cancelled, "{r}");
        }
        assert_eq!(
            Category::parse("indeterminate"),
            Some(Category::Indeterminate)
        );
        assert_eq!(
            Category::parse("In Progress"),
            Some(Category::Indeterminate)
        );
        assert_eq!(Category::parse("To Do"), Some(Category::New));
        assert_eq!(Category::parse("undefined"), None);
    }

    #[test]
    fn priorities_map() {
        assert_eq!(priority(Some("Highest")), Priority::P0);
        assert_eq!(priority(Some("High")), Priority::P1);
        assert_eq!(priority(Some("Medium")), Priority::P2);
        assert_eq!(priority(Some("Low")), Priority::P3);
        assert_eq!(priority(Some("Lowest")), Priority::P3);
        assert_eq!(priority(None), Priority::P2);
    }

    fn statuses() -> Statuses {
        let mut s = Statuses::default();
        s.insert(Some("10000"), Some("To Do"), Category::New);
        s.insert(Some("3"), Some("In Progress"), Category::Indeterminate);
        s.insert(Some("10002"), Some("In Review"), Category::Indeterminate);
        s.insert(Some("10001"), Some("Done"), Category::Done);
        s
    }

    fn to(at: DateTime<Utc>, id: &str) -> Transition {
        Transition {
            at,
            to_id: Some(id.to_owned()),
            to_name: None,
        }
    }

    #[test]
    fn started_is_the_first_start_done_the_last_finish() {
        // Out of order on purpose: the search embeds newest first.
        let ts = vec![
            to(at(9, 9), "10001"),
            to(at(2, 9), "3"),
            to(at(5, 9), "10001"),
            to(at(6, 9), "10002"),
            to(at(4, 9), "10002"),
        ];
        let (s, d) = flow_times(&ts, &statuses(), Category::Done, Some(at(9, 10)), None);
        assert_eq!((s, d), (Some(at(2, 9)), Some(at(9, 9))));
        // Reopened and in progress again: not done.
        let (s, d) = flow_times(&ts, &statuses(), Category::Indeterminate, None, None);
        assert_eq!((s, d), (Some(at(2, 9)), None));
        // By name when the id is unknown; unknown statuses are ignored.
        let by_name = vec![
            Transition {
                at: at(3, 9),
                to_id: Some("999".into()),
                to_name: Some("in progress".into()),
            },
            to(at(1, 9), "404"),
        ];
        let (s, _) = flow_times(&by_name, &statuses(), Category::New, None, None);
        assert_eq!(s, Some(at(3, 9)));
        // No transitions: resolutiondate, then the category change.
        assert_eq!(
            flow_times(
                &[],
                &statuses(),
                Category::Done,
                Some(at(7, 1)),
                Some(at(8, 1))
            ),
            (None, Some(at(7, 1)))
        );
        assert_eq!(
            flow_times(&[], &statuses(), Category::Done, None, Some(at(8, 1))),
            (None, Some(at(8, 1)))
        );
        assert_eq!(
            flow_times(
                &[],
                &statuses(),
                Category::Indeterminate,
                None,
                Some(at(8, 1))
            ),
            (Some(at(8, 1)), None)
        );
    }

    #[test]
    fn rest_issue_reads_jira_fields() {
        let v = json!({
            "id": "10042", "key": "PAY-42", "self": "https://acme.atlassian.net/rest/api/3/issue/10042",
            "fields": {
                "summary": "Retry failed card payments",
                "issuetype": {"id": "10001", "name": "Story", "subtask": false, "hierarchyLevel": 0},
                "status": {"id": "10001", "name": "Done",
                           "statusCategory": {"id": 3, "key": "done", "name": "Done", "colorName": "green"}},
                "priority": {"id": "2", "name": "High"},
                "resolution": {"id": "10000", "name": "Done"},
                "resolutiondate": "2026-03-09T10:00:00.000+0000",
                "statuscategorychangedate": "2026-03-09T10:00:00.000+0000",
                "created": "2026-03-01T09:00:00.000+0100",
                "updated": "2026-03-09T10:00:00.000+0000",
                "labels": ["payments"],
                "parent": {"id": "10040", "key": "PAY-40",
                           "fields": {"summary": "Payments v2", "issuetype": {"name": "Epic"}}},
                "customfield_10014": null
            }
        });
        let histories = vec![json!({
            "id": "1", "created": "2026-03-02T09:00:00.000+0000",
            "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                       "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"}]
        })];
        let issue = rest_issue(&v, "issues[0]", &histories, &statuses(), None).unwrap();
        assert_eq!(issue.key, "PAY-42");
        assert_eq!(issue.created, at(1, 8));
        assert_eq!(issue.started, Some(at(2, 9)));
        assert_eq!(issue.done, Some(at(9, 10)));
        assert_eq!(issue.parent, ParentLink::Key("PAY-40".into()));
        assert_eq!(issue.priority.as_deref(), Some("High"));

        let mut bad = v.clone();
        bad["fields"]["created"] = json!("yesterday");
        let e = rest_issue(&bad, "issues[3]", &[], &statuses(), None).unwrap_err();
        assert_eq!(e.path, "issues[3] (PAY-42).fields.created");
        let mut bad = v.clone();
        bad["fields"]["status"]["statusCategory"] = json!({"key": "undefined"});
        let e = rest_issue(&bad, "issues[0]", &[], &statuses(), None).unwrap_err();
        assert!(e.to_string().contains("statusCategory.key"), "{e}");

        // The old Epic Link field when there is no parent.
        let mut old = v.clone();
        old["fields"]["parent"] = Value::Null;
        old["fields"]["customfield_10014"] = json!("PAY-7");
        let issue = rest_issue(&old, "i", &[], &statuses(), Some("customfield_10014")).unwrap();
        assert_eq!(issue.parent, ParentLink::Key("PAY-7".into()));
    }

    fn project() -> Project {
        Project {
            id: Uuid::from_u128(2),
            team_id: Uuid::from_u128(1),
            key: "pay".into(),
            name: "Payments".into(),
            repositories: vec![],
            services: vec![],
            created_at: at(1, 0),
            updated_at: at(1, 0),
        }
    }

    fn issue(category: Category) -> Issue {
        Issue {
            key: "PAY-1".into(),
            summary: " Cache the user list ".into(),
            issue_type: "Story".into(),
            labels: vec![],
            category,
            resolution: None,
            priority: Some("Lowest".into()),
            created: at(2, 0),
            updated: at(9, 0),
            started: Some(at(3, 0)),
            done: Some(at(5, 0)),
            parent: ParentLink::Key("PAY-0".into()),
        }
    }

    #[test]
    fn issues_become_items_true_to_their_state() {
        let p = project();
        let one = |i: &Issue| {
            work_item(i, &p, &debt(), Uuid::from_u128(9))
                .unwrap()
                .unwrap()
        };
        let done = one(&issue(Category::Done));
        assert_eq!(done.parent, ParentLink::Key("PAY-0".into()));
        let w = done.item;
        assert_eq!(
            (w.title.as_str(), w.kind, w.state),
            ("Cache the user list", WorkKind::Feature, WorkState::Done)
        );
        assert_eq!((w.started_at, w.done_at), (Some(at(3, 0)), Some(at(5, 0))));
        assert_eq!(
            (w.source.as_str(), w.external_key.as_deref()),
            ("jira", Some("PAY-1"))
        );
        assert_eq!((w.team_id, w.project_id), (p.team_id, Some(p.id)));
        assert_eq!(w.priority, Priority::P3);

        let w = one(&issue(Category::Indeterminate)).item;
        assert_eq!((w.started_at, w.done_at), (Some(at(3, 0)), None));
        let w = one(&issue(Category::New)).item;
        assert_eq!((w.started_at, w.done_at), (None, None));
        let mut cancelled = issue(Category::Done);
        cancelled.resolution = Some("Won't Do".into());
        let w = one(&cancelled).item;
        assert_eq!((w.state, w.done_at), (WorkState::Cancelled, None));

        // A start after the finish is dropped; times before creation clamp.
        let mut odd = issue(Category::Done);
        odd.started = Some(at(6, 0));
        odd.done = Some(at(1, 0));
        let w = one(&odd).item;
        assert_eq!((w.started_at, w.done_at), (None, Some(at(2, 0))));

        let mut epic = issue(Category::Done);
        epic.issue_type = "Epic".into();
        assert!(
            work_item(&epic, &p, &debt(), Uuid::nil())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn jql_gets_the_incremental_bound() {
        assert_eq!(jql_since("project = \"PAY\"", None), "project = \"PAY\"");
        assert_eq!(
            jql_since("project = PAY", Some("2026-03-01 09:45")),
            "(project = PAY) AND updated >= \"2026-03-01 09:45\""
        );
        assert_eq!(
            jql_since(
                "project = PAY OR labels = x ORDER BY created DESC",
                Some("2026-03-01 09:45")
            ),
            "(project = PAY OR labels = x) AND updated >= \"2026-03-01 09:45\" ORDER BY created DESC"
        );
        let t = Utc.with_ymd_and_hms(2026, 7, 1, 22, 30, 0).unwrap();
        assert_eq!(jql_date(t, chrono_tz::Europe::Berlin), "2026-07-02 00:30");
        assert_eq!(jql_date(t, chrono_tz::UTC), "2026-07-01 22:30");
    }

    #[test]
    fn epic_goals_parse() {
        let g = Uuid::now_v7();
        assert_eq!(epic_goal(&format!("PAY-1={g}")), Ok(("PAY-1".into(), g)));
        assert!(epic_goal("PAY-1").unwrap_err().contains("EPIC-KEY=GOAL-ID"));
        assert!(
            epic_goal("PAY-1=growth")
                .unwrap_err()
                .contains("not a goal id")
        );
    }

    #[test]
    fn reads_jira_errors_and_rate_limits() {
        assert_eq!(
            error_message(
                r#"{"errorMessages":["Error in the JQL Query: Expecting ')'"],"errors":{}}"#
            ),
            "Error in the JQL Query: Expecting ')'"
        );
        assert_eq!(
            error_message("<html>Unauthorized</html>"),
            "<html>Unauthorized</html>"
        );
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::OK, &h), None);
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h),
            Some(Duration::from_secs(10))
        );
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h),
            Some(Duration::from_secs(3))
        );
    }
}
