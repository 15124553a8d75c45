//! Business requests (issue 14): submit, answer the four questions, weigh
//! the cost of yes, decide, and tell the requester. The web form, the API,
//! the CLI and the Slack and e-mail intake channels all come here.
//!
//! - [`submit`] stores a request from any channel (`NewRequest::source`
//!   says which) with a `received` message to the requester.
//! - [`cost_of_yes`] re-runs the team's forecast (`forecasting::forecast_team`)
//!   with the request inserted (`tandem_domain::cost_of_yes`) and lists
//!   what could be postponed to make room (`forecasting::postpone_to_save`,
//!   the agenda's rule).
//! - [`decide`] records a decision: the request, the decisions-log entry
//!   (with the cost of yes at that moment), an acceptance's draft goal and
//!   the message to the requester are one transaction; a decision computed
//!   from an older version of the request is refused (`Conflict`, 409).
//! - A P0 request pages the on-call path through the alert outbox
//!   (`checks::alerts::page_alerts`, stored with the request).
//! - The outbox: web and API messages show on the request page (stored as
//!   delivered); Slack and e-mail ones are due by `crate::notify`'s rule
//!   (a decision waits for the requester's working hours outside the focus
//!   block) and wait for their channel, which
//!   [`claim_notification`]s one, sends it and calls [`notification_delivered`]
//!   (or [`notification_failed`]).
//! - [`queue`] is the triage queue (waiting time against the target of
//!   `[requests] target_working_days`); [`week_summary`] the weekly report's
//!   line.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use tandem_domain::cost_of_yes::{self, CostOutcome, Placement};
use tandem_domain::decision::NewDecision;
use tandem_domain::goal::{NewGoal, Parties, SuccessMetric};
use tandem_domain::metric::Direction;
use tandem_domain::policy::Urgency;
use tandem_domain::request::{
    Answers, Criticality, DecisionInput, NewRequest, Notification, NotificationKind, Question,
    Request, RequestDecisionKind, RequestSource, RequestStatus, waiting_working_days,
};
use tandem_domain::work_item::Priority;
use tandem_store::{RequestFilter, RequestWrites, Store};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::forecasting::{self, PostponeSuggestion};
use crate::planning::TeamRef;
use crate::settings::Settings;

/// Web and API requesters read their messages on the request page: those
/// are stored as delivered.
fn shown_on_page(source: RequestSource) -> bool {
    matches!(source, RequestSource::Web | RequestSource::Api)
}

/// A message to the requester of `r`. Web and API ones are shown on the
/// page at once; a Slack or e-mail one is due (`due_at`) by the one rule
/// (`crate::notify`): the `received` note answers what the requester just
/// did and a decision on a P0 request is urgent, so both go at once; any
/// other decision waits for the requester's working hours outside the
/// focus block of their team (a Tandem user's first team, else the
/// request's team), in that team's zone.
async fn message(
    store: &Store,
    settings: &Settings,
    r: &Request,
    kind: NotificationKind,
    now: DateTime<Utc>,
) -> AppResult<Notification> {
    let mut n = Notification::about(r, kind, Uuid::now_v7(), now);
    if shown_on_page(r.source) {
        n.delivered_at = Some(n.created_at);
        return Ok(n);
    }
    let urgency =
        if kind == NotificationKind::Received || r.criticality(&settings.planning.matrix).page {
            Urgency::Urgent
        } else {
            Urgency::Normal
        };
    if urgency == Urgency::Normal {
        let team = crate::notify::team_of_user(store, r.requester_user_id, r.team_id).await?;
        let due = crate::notify::due_for_team(store, settings, &team, urgency, now).await?;
        if due > now {
            n.due_at = Some(tandem_domain::time::micros(due));
        }
    }
    Ok(n)
}

/// The managers of a team: its enabled members whose role is manager or
/// admin, by username.
pub async fn managers(store: &Store, team_id: Uuid) -> AppResult<Vec<tandem_domain::user::User>> {
    let mut out: Vec<_> = store
        .team_members(team_id)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.role.allows(tandem_domain::user::Role::Manager))
        .collect();
    out.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(out)
}

/// The messages telling the managers of `r`'s team that it arrived (ADR
/// 0039), one a manager, in the same outbox as the requester's: through
/// Slack when the `[slack]` app has a bot token (a direct message to the
/// Slack account with the manager's e-mail address, else an e-mail), else
/// by e-mail when `[report.smtp]` is set; with neither there is nobody to
/// send them and none is written. A manager without an e-mail address
/// cannot be found in Slack nor mailed, and is skipped (logged); so is
/// the requester when they manage the team themselves. A P0 request's
/// message goes at once; any other waits for the team's working hours
/// outside its focus block (`crate::notify`), like the requester's
/// decisions.
async fn to_managers(
    store: &Store,
    settings: &Settings,
    r: &Request,
    now: DateTime<Utc>,
) -> AppResult<Vec<Notification>> {
    let channel = if settings.slack.bot_token.is_some() {
        RequestSource::Slack
    } else if settings.report.smtp.is_some() {
        RequestSource::Email
    } else {
        return Ok(Vec::new());
    };
    let managers = managers(store, r.team_id).await?;
    if managers.is_empty() {
        return Ok(Vec::new());
    }
    let urgency = if r.criticality(&settings.planning.matrix).page {
        Urgency::Urgent
    } else {
        Urgency::Normal
    };
    let team = store.get_team(r.team_id).await?;
    let due = crate::notify::due_for_team(store, settings, &team, urgency, now).await?;
    let mut out = Vec::new();
    for m in managers {
        if r.requester_user_id == Some(m.id) {
            continue;
        }
        let Some(email) = m.email.as_deref().filter(|e| !e.trim().is_empty()) else {
            tracing::warn!(request = %r.id, manager = %m.username, "a manager of the request's team has no e-mail address: Tandem cannot find them in Slack nor mail them the cost of yes");
            continue;
        };
        let mut n =
            Notification::to_manager(r, &m.display_name, email, channel, Uuid::now_v7(), now);
        if due > now {
            n.due_at = Some(tandem_domain::time::micros(due));
        }
        out.push(n);
    }
    Ok(out)
}

/// Stores a new request from any channel, with a `received` message to
/// the requester and one to each manager of its team ([`to_managers`]). An unknown team is `Invalid` naming `team_id`; a channel
/// id seen before from the same source is a `Conflict` on `external_id`.
///
/// A P0 request (a production outage or a security issue) pages the
/// on-call path: its critical alerts (`checks::alerts::page_alerts`) are
/// stored with it, in one transaction, and sent at once by the alert
/// sender whatever the hour.
pub async fn submit(store: &Store, settings: &Settings, new: NewRequest) -> AppResult<Request> {
    submit_at(store, settings, new, Utc::now()).await
}

/// [`submit`] at `now` (tests drive the clock).
pub async fn submit_at(
    store: &Store,
    settings: &Settings,
    new: NewRequest,
    now: DateTime<Utc>,
) -> AppResult<Request> {
    let r = new.into_request(Uuid::now_v7(), now, &settings.planning.matrix)?;
    // The team is named by the requester: an unknown one is their input's
    // fault (422 naming `team_id`), checked before the outbox looks up its policy.
    if let Err(tandem_store::StoreError::NotFound { .. }) = store.get_team(r.team_id).await {
        return Err(AppError::invalid(
            "team_id",
            format!("no team has the id {}", r.team_id),
        ));
    }
    let received = message(store, settings, &r, NotificationKind::Received, now).await?;
    let mut messages = vec![received];
    messages.extend(to_managers(store, settings, &r, now).await?);
    let c = r.criticality(&settings.planning.matrix);
    let pages = if c.page {
        crate::checks::alerts::page_alerts(store, settings, &r, &c.rule, now).await?
    } else {
        Vec::new()
    };
    store.create_request_paging(&r, &messages, &pages).await?;
    if c.page {
        if pages.is_empty() {
            tracing::error!(request = %r.id, team = %r.team_id, rule = %c.rule, "a P0 request, but no [[alerts.routes]] takes the team's critical alerts: nobody is paged");
        } else {
            tracing::warn!(request = %r.id, team = %r.team_id, rule = %c.rule, pages = pages.len(), "P0 request: paging the on-call path");
        }
    }
    Ok(r)
}

/// A question and whether it is answered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuestionView {
    pub question: Question,
    pub text: String,
    pub answer: Option<String>,
}

/// A request with everything its page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub request: Request,
    pub team: TeamRef,
    pub questions: Vec<QuestionView>,
    /// The questions still open.
    pub unanswered: Vec<Question>,
    pub criticality: Criticality,
    /// Working days waited for a decision (see docs/metrics.md).
    pub waiting_working_days: f64,
    /// Still waiting, and longer than the target.
    pub over_target: bool,
    /// The messages to the requester, oldest first.
    pub notifications: Vec<Notification>,
    /// The messages telling the team's managers of the request and its
    /// cost of yes (kind `triage`), oldest first: pending until
    /// `delivered_at`, `last_error` saying why the last attempt failed.
    pub to_managers: Vec<Notification>,
}

/// When a request stopped waiting: the time of its decision unless it is
/// still pending (waiting or sent back for information).
fn waited(r: &Request, now: DateTime<Utc>) -> f64 {
    let end = match (&r.decision, r.status.is_pending()) {
        (Some(d), false) => d.decided_at,
        _ => now,
    };
    waiting_working_days(r.created_at, end)
}

/// One request and its page.
pub async fn show(store: &Store, settings: &Settings, id: Uuid) -> AppResult<RequestView> {
    let r = store.get_request(id).await?;
    let team = store.get_team(r.team_id).await?;
    let (to_managers, notifications): (Vec<_>, Vec<_>) = store
        .list_request_notifications(id)
        .await?
        .into_iter()
        .partition(|n| n.kind == NotificationKind::Triage);
    let waiting = waited(&r, Utc::now());
    Ok(RequestView {
        team: TeamRef::from(&team),
        questions: Question::ALL
            .iter()
            .map(|q| QuestionView {
                question: *q,
                text: q.text().to_owned(),
                answer: r.answers.get(*q).map(str::to_owned),
            })
            .collect(),
        unanswered: r.unanswered(),
        criticality: r.criticality(&settings.planning.matrix),
        over_target: r.status.is_pending() && waiting > settings.requests.target_working_days,
        waiting_working_days: (waiting * 100.0).round() / 100.0,
        notifications,
        to_managers,
        request: r,
    })
}

/// Which requests the triage queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub team_id: Option<Uuid>,
    pub source: Option<RequestSource>,
    pub priority: Option<Priority>,
    /// Empty: the pending ones (waiting or needing information).
    pub statuses: Vec<RequestStatus>,
}

/// One line of the triage queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueEntry {
    pub id: Uuid,
    pub team: String,
    pub title: String,
    pub requester: String,
    pub source: RequestSource,
    pub status: RequestStatus,
    pub priority: Priority,
    /// An outage or security issue: page now.
    pub page: bool,
    pub unanswered: usize,
    pub waiting_working_days: f64,
    pub over_target: bool,
    pub created_at: DateTime<Utc>,
}

/// The triage queue and its target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Queue {
    /// Working days a request may wait for a decision.
    pub target_working_days: f64,
    pub over_target: usize,
    /// Urgent first (P0 to P3), then the longest waiting.
    pub entries: Vec<QueueEntry>,
}

/// The triage queue: pending requests (or those of `statuses`), the most
/// urgent first, then the longest waiting.
pub async fn queue(store: &Store, settings: &Settings, filter: &QueueFilter) -> AppResult<Queue> {
    let statuses = if filter.statuses.is_empty() {
        vec![RequestStatus::Waiting, RequestStatus::NeedsInfo]
    } else {
        filter.statuses.clone()
    };
    let mut f = RequestFilter {
        team_id: filter.team_id,
        source: filter.source,
        priority: filter.priority,
        statuses,
        limit: 500,
        ..RequestFilter::default()
    };
    let mut requests = Vec::new();
    loop {
        let page = store.list_requests(&f).await?;
        requests.extend(page.items);
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => break,
        }
    }
    let teams: std::collections::HashMap<Uuid, String> =
        crate::paging::all(tandem_store::ListQuery::default(), |q| async move {
            store.list_teams(&q).await
        })
        .await?
        .into_iter()
        .map(|t| (t.id, t.key))
        .collect();
    let now = Utc::now();
    let target = settings.requests.target_working_days;
    let mut entries: Vec<QueueEntry> = requests
        .into_iter()
        .map(|r| {
            let waiting = waited(&r, now);
            let c = r.criticality(&settings.planning.matrix);
            QueueEntry {
                id: r.id,
                team: teams.get(&r.team_id).cloned().unwrap_or_default(),
                title: r.title.clone(),
                requester: r.requester.clone(),
                source: r.source,
                status: r.status,
                priority: r.priority,
                page: c.page,
                unanswered: r.unanswered().len(),
                over_target: r.status.is_pending() && waiting > target,
                waiting_working_days: (waiting * 100.0).round() / 100.0,
                created_at: r.created_at,
            }
        })
        .collect();
    entries.sort_by(|a, b| {
        (b.page, std::cmp::Reverse(a.priority))
            .cmp(&(a.page, std::cmp::Reverse(b.priority)))
            .then(a.created_at.cmp(&b.created_at))
    });
    Ok(Queue {
        target_working_days: target,
        over_target: entries.iter().filter(|e| e.over_target).count(),
        entries,
    })
}

/// Adds answers to a request (later answers replace earlier ones); a
/// request sent back for information waits again. `version`, when given,
/// must be the current one (`Conflict` otherwise).
pub async fn answer(
    store: &Store,
    id: Uuid,
    answers: Answers,
    version: Option<i32>,
) -> AppResult<Request> {
    let r = store.get_request(id).await?;
    check_version(&r, version)?;
    let next = r.answer(answers, Utc::now())?;
    store
        .save_request(&next, r.version, RequestWrites::default())
        .await?;
    Ok(next)
}

fn check_version(r: &Request, version: Option<i32>) -> AppResult<()> {
    match version {
        Some(v) if v != r.version => Err(AppError::conflict(
            Some("version"),
            format!(
                "request {} is at version {}, not {v}: it changed since it was read (another decision or answer came first); reload and try again",
                r.id, r.version
            ),
        )),
        _ => Ok(()),
    }
}

/// Where to place the request for the cost of yes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlacementInput {
    /// Absent: the request's own priority.
    pub priority: Option<Priority>,
    /// Absent: `[requests] default_size_items`.
    pub size: Option<u32>,
    pub size_max: Option<u32>,
}

/// The cost of saying yes to a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostOfYes {
    pub request_id: Uuid,
    pub team: String,
    pub today: NaiveDate,
    pub placement: Placement,
    /// True when the size was not given and the default was used.
    pub default_size: bool,
    pub cost: CostOutcome,
    /// With the request inserted: for each goal below 85 % on time, the
    /// lowest-priority open items whose postponement makes room (the sync
    /// agenda's rule).
    pub could_postpone: Vec<PostponeSuggestion>,
}

impl CostOfYes {
    /// One line a goal, for the decisions log and the messages.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "Cost of yes at {} for {} items{} on {}:",
            self.placement.priority,
            self.placement.size_max.unwrap_or(self.placement.size),
            if self.default_size {
                " (default size)"
            } else {
                ""
            },
            self.today
        )];
        match &self.cost {
            CostOutcome::TooLittleHistory { message } => out.push(message.clone()),
            CostOutcome::Ready { goals, .. } if goals.is_empty() => {
                out.push("no goals in flight: saying yes moves nothing".to_owned())
            }
            CostOutcome::Ready { goals, .. } => out.extend(goals.iter().map(|g| g.summary.clone())),
        }
        out
    }
}

/// Re-runs the team's forecasts with the request inserted at `at` and
/// compares every goal in flight, before and after.
pub async fn cost_of_yes(
    store: &Store,
    settings: &Settings,
    id: Uuid,
    at: PlacementInput,
    today: NaiveDate,
) -> AppResult<CostOfYes> {
    let r = store.get_request(id).await?;
    cost_for(store, settings, &r, at, today).await
}

async fn cost_for(
    store: &Store,
    settings: &Settings,
    r: &Request,
    at: PlacementInput,
    today: NaiveDate,
) -> AppResult<CostOfYes> {
    let placement = Placement {
        priority: at.priority.unwrap_or(r.priority),
        size: at.size.unwrap_or(settings.requests.default_size_items),
        size_max: at.size_max,
    };
    placement.validate()?;
    let tf = forecasting::forecast_team(store, r.team_id, today, &settings.forecast).await?;
    let titles: Vec<String> = tf.goals.iter().map(|g| g.goal.title.clone()).collect();
    let model = forecasting::model(&settings.forecast);
    let (targets, done_dates) = (tf.targets.clone(), tf.done_dates.clone());
    let run = tokio::task::spawn_blocking(move || {
        cost_of_yes::run(today, &done_dates, &targets, &titles, placement, &model)
    })
    .await??;
    Ok(CostOfYes {
        request_id: r.id,
        team: tf.team.key.clone(),
        today,
        placement,
        default_size: at.size.is_none(),
        could_postpone: forecasting::postpone_to_save(&tf.goals, &run.after),
        cost: run.outcome,
    })
}

/// Records a decision by `by`: the request moves, the decisions log gets
/// an entry with the cost of yes at this moment, an acceptance creates a
/// draft goal with the answers carried over, and the requester gets a
/// message in the request's channel — all or nothing. A decision computed
/// from an older version (`input.version`, or a concurrent decision that
/// came first) is a `Conflict`.
pub async fn decide(
    store: &Store,
    settings: &Settings,
    id: Uuid,
    input: DecisionInput,
    by: &str,
) -> AppResult<Request> {
    decide_at(store, settings, id, input, by, Utc::now()).await
}

/// [`decide`] at `now` (tests drive the clock).
pub async fn decide_at(
    store: &Store,
    settings: &Settings,
    id: Uuid,
    input: DecisionInput,
    by: &str,
    now: DateTime<Utc>,
) -> AppResult<Request> {
    let r = store.get_request(id).await?;
    check_version(&r, input.version)?;
    let mut next = r.decide(&input, by, now)?;
    let cost = cost_for(
        store,
        settings,
        &r,
        PlacementInput {
            priority: input.priority,
            size: input.size,
            size_max: input.size_max,
        },
        now.date_naive(),
    )
    .await?;
    let lines = cost.lines();
    let goal = if input.kind == RequestDecisionKind::Accept {
        Some(draft_goal(&r, now)?)
    } else {
        None
    };
    let entry = NewDecision {
        team_id: r.team_id,
        goal_id: goal.as_ref().map(|g| g.id),
        title: one_line(&format!("Request {}: {}", input.kind, r.title)),
        context: context(&r),
        options: RequestDecisionKind::ALL
            .iter()
            .map(|k| k.to_string())
            .collect(),
        decision: decision_text(&next, &input),
        consequences: lines.join("\n"),
        decided_by: Some(by.trim().to_owned()),
        decided_at: Some(now),
    }
    .into_decision(Uuid::now_v7(), now)?;
    if let Some(d) = next.decision.as_mut() {
        d.decision_id = entry.id;
        d.goal_id = goal.as_ref().map(|g| g.id);
        d.cost_of_yes = lines;
    }
    let told = message(store, settings, &next, NotificationKind::Decided, now).await?;
    store
        .save_request(
            &next,
            r.version,
            RequestWrites {
                decision: Some(&entry),
                goal: goal.as_ref(),
                notifications: std::slice::from_ref(&told),
            },
        )
        .await?;
    Ok(next)
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
        .chars()
        .take(tandem_domain::text::SHORT)
        .collect()
}

fn context(r: &Request) -> String {
    let mut out = format!(
        "Requested by {} via {} on {}.",
        r.requester,
        r.source,
        r.created_at.date_naive()
    );
    if !r.description.trim().is_empty() {
        out.push_str("\n\n");
        out.push_str(r.description.trim());
    }
    for q in Question::ALL {
        out.push_str(&format!(
            "\n\n{} {}",
            q.text(),
            r.answers.get(*q).unwrap_or("(unanswered)")
        ));
    }
    out
}

fn decision_text(next: &Request, input: &DecisionInput) -> String {
    let mut out = match input.kind {
        RequestDecisionKind::Accept => {
            format!("Accepted at {}; a draft goal was created.", next.priority)
        }
        RequestDecisionKind::Postpone => match input.postponed_until {
            Some(d) => format!("Postponed to {d}."),
            None => "Postponed to the next sync.".to_owned(),
        },
        RequestDecisionKind::Decline => "Declined.".to_owned(),
        RequestDecisionKind::Duplicate => format!(
            "Merged as a duplicate of request {}.",
            input
                .duplicate_of
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
        RequestDecisionKind::AskInfo => "More information asked of the requester.".to_owned(),
    };
    if !input.reason.trim().is_empty() {
        out.push_str(" Why: ");
        out.push_str(input.reason.trim());
    }
    out
}

/// The draft goal of an accepted request: its title, the business goal and
/// what happens if it is not done, how success is measured (a success
/// metric to complete with a baseline and target before agreeing), the
/// requester, and by when and why then.
fn draft_goal(r: &Request, now: DateTime<Utc>) -> AppResult<tandem_domain::goal::Goal> {
    let a = &r.answers;
    let mut business_goal = a.get(Question::BusinessGoal).unwrap_or_default().to_owned();
    for (label, q) in [
        ("Needed by (and why then)", Question::Deadline),
        ("If it is not done", Question::IfNotDone),
    ] {
        if let Some(v) = a.get(q) {
            business_goal.push_str(&format!("\n\n{label}: {v}"));
        }
    }
    let mut technical_tasks = format!("From request {} ({}).", r.id, r.source);
    if !r.description.trim().is_empty() {
        technical_tasks.push_str("\n\n");
        technical_tasks.push_str(r.description.trim());
    }
    let g = NewGoal {
        team_id: r.team_id,
        project_id: None,
        title: r.title.clone(),
        business_goal,
        technical_tasks,
        hypotheses: Vec::new(),
        success_metrics: a
            .get(Question::SuccessMeasure)
            .map(|m| {
                vec![SuccessMetric {
                    metric: one_line(m),
                    metric_key: None,
                    baseline: None,
                    target: None,
                    direction: Direction::Up,
                    unit: String::new(),
                    deadline: None,
                }]
            })
            .unwrap_or_default(),
        parties: Parties {
            owner: None,
            requester: Some(r.requester.clone()),
            contributors: Vec::new(),
        },
        timeline: Default::default(),
    }
    .into_goal(Uuid::now_v7(), now)?;
    Ok(g)
}

/// The oldest undelivered message of `source` nobody is sending, claimed
/// for `lease` (another replica may claim it again after that). The intake
/// channel sends it, then calls [`notification_delivered`] or
/// [`notification_failed`].
pub async fn claim_notification(
    store: &Store,
    source: RequestSource,
    lease: Duration,
) -> AppResult<Option<Notification>> {
    claim_notification_at(store, source, lease, Utc::now()).await
}

/// [`claim_notification`] at `now`: only a message due by then (its
/// `due_at`, set by the one rule of `crate::notify`) is claimed.
pub async fn claim_notification_at(
    store: &Store,
    source: RequestSource,
    lease: Duration,
    now: DateTime<Utc>,
) -> AppResult<Option<Notification>> {
    Ok(store
        .claim_request_notification(source, now, now + lease)
        .await?)
}

/// Marks a message sent.
pub async fn notification_delivered(store: &Store, id: Uuid) -> AppResult<()> {
    Ok(store
        .mark_request_notification_delivered(id, Utc::now())
        .await?)
}

/// Records why sending a message failed; it is claimed again after its
/// lease.
pub async fn notification_failed(store: &Store, id: Uuid, error: &str) -> AppResult<()> {
    Ok(store
        .mark_request_notification_failed(id, &one_line(error))
        .await?)
}

pub use tandem_domain::request::RequestSummary;

/// The requests a team received in `[from, to)` and where they stand now.
pub async fn week_summary(
    store: &Store,
    team_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<RequestSummary> {
    let mut f = RequestFilter {
        team_id: Some(team_id),
        since: Some(from),
        until: Some(to),
        limit: 500,
        ..RequestFilter::default()
    };
    let mut all = Vec::new();
    loop {
        let page = store.list_requests(&f).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => break,
        }
    }
    Ok(RequestSummary::of(&all))
}
