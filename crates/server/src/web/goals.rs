//! `/goals/{id}`: a goal as an agreement (its five parts), its versions,
//! stages on a timeline, a burn-up with the forecast cone, its risks with
//! their drafted updates and its work items with their context.
//! `/work-items/{id}`: why an item exists, its expected impact, current vs
//! target value.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use tandem_domain::document::changes;
use tandem_domain::goal::{Goal, GoalStatus};
use tandem_domain::planning::TaskContext;
use tandem_domain::user::Role;
use tandem_domain::work_item::{WorkItem, WorkState};
use tandem_store::ListQuery;

use super::MemberViewer;
use super::cache::PageCache;
use super::data::{self, strip_xml_declaration};
use super::view::{self, ForecastCell, Nav};
use super::{PageError, PageResult, Viewer, render};
use crate::AppState;
use axum::Extension;
use tandem_app::charts::burnup::{Burnup, burnup_svg};
use tandem_app::forecasting::{self, GoalForecastOutcome};
use tandem_app::{kpis, lookup, planning as plan_api};
use tandem_domain::risk_check::forecast_caveat;

#[derive(Debug, Clone)]
pub struct MetricRow {
    pub metric: String,
    pub baseline: String,
    pub target: String,
    pub current: String,
    pub deadline: String,
    pub link: Option<String>,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: i32,
    pub when: String,
    pub by: String,
    pub action: String,
    pub lines: Vec<String>,
}

/// Where the goal's agreement and its decisions were published.
#[derive(Debug, Clone)]
pub struct PublicationRow {
    /// "Agreement, version 3" or "Decision: …".
    pub document: String,
    pub target: String,
    /// published, pending, failed.
    pub state: String,
    /// The commit or page, or the provider's message.
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct StageRow {
    pub name: String,
    pub dates: String,
    pub progress: String,
    /// Position on the timeline track, in percent.
    pub left: f64,
    pub width: f64,
    pub has_dates: bool,
    pub forecast: Option<ForecastCell>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RiskRow {
    pub title: String,
    pub level: String,
    pub status: String,
    pub source: String,
    pub plan: String,
    pub drafted_update: String,
}

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub href: String,
    pub key: String,
    pub title: String,
    pub kind: String,
    pub state: String,
    pub priority: String,
    pub why: String,
    pub expected_impact: String,
    pub current_target: String,
}

/// The goal page's "Record a decision" form, offered while the forecast
/// says the deadline is at risk (below 85 %).
#[derive(Debug, Clone)]
pub struct DecideForm {
    /// The forecast's 85 % date, for the date field (`2027-03-03`).
    pub p85_iso: String,
    /// "move the deadline from Sun 27 Dec to Wed 3 Mar (85 % likely)".
    pub date_words: String,
    /// "ship 7 of the 17 remaining items by Sun 27 Dec; 10 move to the backlog".
    pub cut_words: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ForecastSummary {
    pub cell: ForecastCell,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Template)]
#[template(path = "goal.html")]
pub struct GoalPage {
    pub nav: Nav,
    pub id: String,
    pub title: String,
    pub team: String,
    pub team_key: String,
    pub project: Option<String>,
    pub status: String,
    pub version: i32,
    pub business_goal: String,
    pub technical_tasks: String,
    pub hypotheses: Vec<String>,
    pub metrics: Vec<MetricRow>,
    pub starts_on: String,
    pub deadline: String,
    pub owner: String,
    pub requester: String,
    pub contributors: String,
    pub forecast: Option<ForecastSummary>,
    pub burnup_svg: String,
    pub burnup_label: String,
    pub timeline_today: Option<f64>,
    pub stages: Vec<StageRow>,
    pub versions: Vec<VersionRow>,
    pub risks: Vec<RiskRow>,
    pub show_items: bool,
    pub items: Vec<ItemRow>,
    /// The goal's why, expected impact and now → target, shared by the
    /// items that don't say otherwise.
    pub shared: Option<(String, String, String)>,
    /// What the goal's open risks ask of the business.
    pub asks: Vec<String>,
    pub item_summary: String,
    /// Publishing state of the agreement and the goal's decisions.
    pub publications: Vec<PublicationRow>,
    pub decide: Option<DecideForm>,
}

/// The goal page's decision form.
#[derive(Debug, serde::Deserialize)]
pub struct DecideFields {
    pub csrf: String,
    #[serde(default)]
    pub choice: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub new_deadline: String,
    #[serde(default)]
    pub people: String,
}

/// `POST /goals/{id}/decision`: the business's decision about a goal at risk
/// (`tandem_app::decisions::decide_goal`, as the API). Any signed-in person
/// may decide; then back to the goal page (post/redirect/get).
pub async fn decide(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    viewer: Viewer,
    Path(id): Path<String>,
    super::PageForm(f): super::PageForm<DecideFields>,
) -> PageResult<Response> {
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id("goal", &id)?;
    let bad = |field: &str, message: String| {
        PageError::Status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "The decision was not recorded: {field} {message}. Go back, correct it and send it again."
            ),
        )
    };
    let choice: tandem_domain::decision::GoalDecisionChoice = f.choice.parse().map_err(|_| {
        bad(
            "the choice",
            "is missing: pick one of the options".to_owned(),
        )
    })?;
    use tandem_domain::decision::GoalDecisionChoice as C;
    let date = f.new_deadline.trim();
    let new_deadline = if choice == C::AcceptDate && !date.is_empty() {
        Some(
            NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| bad("the new deadline", format!("“{date}” is not a date")))?,
        )
    } else {
        None
    };
    let people = if choice == C::AddPeople {
        f.people
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let input = tandem_domain::decision::GoalDecisionInput {
        choice,
        reason: f.reason,
        new_deadline,
        people,
        risk_id: None,
    };
    tandem_app::decisions::decide_goal(
        &state.store,
        &state.settings,
        id,
        input,
        &viewer.user.username,
    )
    .await
    .map_err(|e| super::form_error("The decision was not recorded", e))?;
    cache.clear();
    Ok(super::see_other(&format!(
        "/goals/{id}?done=decision#versions-h"
    )))
}

fn parse_id(entity: &str, raw: &str) -> PageResult<uuid::Uuid> {
    uuid::Uuid::try_parse(raw)
        .map_err(|_| PageError::not_found(format!("There is no {entity} {raw}.")))
}

/// `GET /goals/{id}`.
pub async fn goal_page(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id("goal", &id)?;
    let show_items = viewer.user.role.allows(Role::Member);
    let cached = cache
        .get_or_try(format!("goal:{id}:{show_items}"), || {
            build_goal(&state, id, show_items)
        })
        .await?;
    let mut page = (*cached).clone();
    page.nav = viewer.nav("overview");
    render(&page)
}

async fn build_goal(state: &AppState, id: uuid::Uuid, show_items: bool) -> PageResult<GoalPage> {
    let store = &state.store;
    let goal = store.get_goal(id).await?;
    let team = store.get_team(goal.team_id).await?;
    let project = match goal.project_id {
        Some(p) => Some(store.get_project(p).await?.name),
        None => None,
    };
    let now = Utc::now();
    let today = now.date_naive();
    let items = store.list_goal_work_items(goal.id).await?;

    let mut metrics = Vec::new();
    for m in &goal.success_metrics {
        let mut current = "–".to_owned();
        let mut link = None;
        if let Some(key) = &m.metric_key
            && let Ok(metric) = store.get_metric_by_key(key).await
        {
            // The KPI card's figure (`kpis::current`): for a bound KPI the
            // DORA value over the team page's window.
            if let Some(f) = kpis::current(store, &state.settings, &metric, today).await? {
                current = match metric.computed_from {
                    Some(_) => format!(
                        "{} (a week, last {} weeks)",
                        view::with_unit(f.value, &m.unit),
                        kpis::WINDOW_WEEKS
                    ),
                    None => format!(
                        "{} (as of {})",
                        view::with_unit(f.value, &m.unit),
                        view::date(f.as_of.date_naive())
                    ),
                };
            }
            link = Some(metric.key);
        }
        let opt =
            |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| view::with_unit(v, &m.unit));
        metrics.push(MetricRow {
            metric: format!("{} ({} is better)", m.metric, m.direction.better_word()),
            baseline: opt(m.baseline),
            target: opt(m.target),
            current,
            deadline: view::maybe_date(m.deadline),
            link,
        });
    }

    // The forecast ignores blockers and risks: say so next to it.
    let goal_risks = data::open_risks(
        store,
        ListQuery {
            goal_id: Some(goal.id),
            ..ListQuery::default()
        },
    )
    .await?;
    let caveat = forecast_caveat(&items, &goal_risks);

    // Forecast: only goals being worked on have one.
    let mut forecast = None;
    let mut percentiles = (None, None, None);
    let mut stage_forecasts = Vec::new();
    let mut decide = None;
    if matches!(goal.status, GoalStatus::Agreed | GoalStatus::InProgress) {
        let f = forecasting::forecast_goal(store, goal.id, today, &state.settings.forecast).await?;
        forecast = Some(match f.forecast {
            GoalForecastOutcome::TooLittleHistory { message, .. } => ForecastSummary {
                cell: ForecastCell::unknown("too little history", message.clone()),
                lines: vec![message],
            },
            GoalForecastOutcome::Ready {
                basis,
                goal: t,
                stages,
            } => {
                percentiles = (t.p50, t.p85, t.p95);
                if t.on_time_probability.is_some_and(|p| p < 0.85) {
                    let deadline_words = view::maybe_day(goal.timeline.deadline);
                    decide = Some(DecideForm {
                        p85_iso: t.p85.map_or_else(String::new, |d| d.to_string()),
                        date_words: match t.p85 {
                            Some(d) => format!(
                                "move the deadline from {deadline_words} to {} (85 % likely)",
                                view::day(d)
                            ),
                            None => format!(
                                "move the deadline from {deadline_words} to a date you choose"
                            ),
                        },
                        cut_words: t.cut_line.filter(|c| *c < t.remaining).map(|c| {
                            format!(
                                "ship {c} of the {} remaining items by {deadline_words}; {} move to the backlog",
                                t.remaining,
                                t.remaining - c
                            )
                        }),
                    });
                }
                stage_forecasts = stages;
                let day = |d: Option<NaiveDate>| {
                    d.map_or_else(|| "beyond the forecast horizon".to_owned(), view::day)
                };
                let mut lines = Vec::new();
                if let Some(p) = t.on_time_probability {
                    lines.push(format!(
                        "{} likely to be done by the deadline, {}.",
                        view::percent(p),
                        day(goal.timeline.deadline)
                    ));
                }
                lines.push(format!(
                    "{} items remain: an even chance of done by {}, 85 % likely by {}, 95 % likely by {}.",
                    t.remaining,
                    day(t.p50),
                    day(t.p85),
                    day(t.p95)
                ));
                if let Some(cut) = t.cut_line
                    && cut < t.remaining
                {
                    lines.push(format!(
                        "With {} confidence, {cut} of the {} remaining items are done by the deadline.",
                        view::percent(basis.confidence),
                        t.remaining
                    ));
                }
                lines.push(format!(
                    "From the team's throughput between {} and {}: {} items done, {:.2} per working day{}.",
                    view::date(basis.window_start),
                    view::date(basis.window_end),
                    basis.done_in_window,
                    basis.mean_per_working_day,
                    if f.sharing_with.is_empty() {
                        String::new()
                    } else {
                        format!(", shared with {}", f.sharing_with.join(", "))
                    }
                ));
                let mut cell = ForecastCell::from_forecast(t.p50, t.p85, goal.timeline.deadline);
                if let Some((caveat, _)) = &caveat {
                    cell = cell.with_caveat(caveat);
                    lines.insert(
                        0,
                        format!("The forecast counts blocked items as ordinary work: it {caveat}."),
                    );
                }
                ForecastSummary { cell, lines }
            }
        });
    }

    let burnup = burnup_of(&goal, &items, today, percentiles);
    let burnup_label = format!(
        "Burn-up of {}: {} of {} items done{}",
        goal.title,
        burnup.done.last().map_or(0, |d| d.1),
        burnup.scope.last().map_or(0, |s| s.1),
        match percentiles {
            (Some(p50), p85, p95) => format!(
                "; forecast: an even chance of done by {}, 85 % likely by {}, 95 % likely by {}",
                view::date(p50),
                view::maybe_date(p85),
                view::maybe_date(p95)
            ),
            _ => String::new(),
        }
    );
    let burnup_svg = strip_xml_declaration(
        burnup_svg(&burnup, 760, 300).map_err(crate::http::error::ApiError::from)?,
    );

    // Stages on a timeline from the first start to the last end (or deadline).
    let plan = plan_api::goal_plan(store, goal.id, &state.settings.planning).await?;
    let starts = plan
        .stages
        .iter()
        .filter_map(|s| s.starts_on)
        .chain(goal.timeline.starts_on);
    let ends = plan
        .stages
        .iter()
        .filter_map(|s| s.ends_on)
        .chain(goal.timeline.deadline);
    let range = starts.min().zip(ends.max()).filter(|(a, b)| b > a);
    let pos = |d: NaiveDate| {
        range.map_or(0.0, |(a, b)| {
            ((d - a).num_days() as f64 / (b - a).num_days() as f64 * 100.0).clamp(0.0, 100.0)
        })
    };
    let stages = plan
        .stages
        .iter()
        .map(|s| {
            let (left, width, has_dates) = match (s.starts_on, s.ends_on, range) {
                (Some(a), Some(b), Some(_)) => (pos(a), (pos(b) - pos(a)).max(1.0), true),
                _ => (0.0, 0.0, false),
            };
            let forecast = stage_forecasts
                .iter()
                .find(|f| f.stage_id == s.id)
                .map(|f| ForecastCell::from_forecast(f.forecast.p50, f.forecast.p85, s.ends_on));
            StageRow {
                name: s.name.clone(),
                dates: format!(
                    "{} – {}",
                    view::maybe_date(s.starts_on),
                    view::maybe_date(s.ends_on)
                ),
                progress: match s.progress.percent {
                    Some(p) => format!(
                        "{} of {} items done ({p} %)",
                        s.progress.done, s.progress.total
                    ),
                    None => "no items yet".to_owned(),
                },
                left,
                width,
                has_dates,
                forecast,
                // Coaching for the team ("split it"), not for stakeholders.
                note: s.suggestion.clone().filter(|_| show_items),
            }
        })
        .collect();
    let timeline_today = range
        .filter(|(a, b)| (*a..=*b).contains(&today))
        .map(|_| pos(today));

    let publications = publication_rows(store, &goal).await?;

    let versions = store
        .list_goal_versions(goal.id)
        .await?
        .into_iter()
        .rev()
        .map(|v| VersionRow {
            version: v.version,
            when: view::instant(v.changed_at),
            by: v.changed_by,
            action: v.action,
            lines: changes::describe(&v.changes),
        })
        .collect();

    // What the risks ask of the business, first on the page.
    let asks: Vec<String> = goal_risks
        .iter()
        .filter(|r| r.status == tandem_domain::risk::RiskStatus::Open)
        .map(|r| {
            let ask = if r.plan.trim().is_empty() {
                "decide how to respond".to_owned()
            } else {
                r.plan.trim().to_owned()
            };
            format!("{}: {ask}", r.title)
        })
        .collect();
    let risks = goal_risks
        .into_iter()
        .map(|r| RiskRow {
            level: format!("likelihood {}, impact {}", r.likelihood, r.impact),
            status: view::words(r.status),
            source: view::words(r.source),
            plan: r.plan,
            drafted_update: r.drafted_update,
            title: r.title,
        })
        .collect();

    // The goal's why, impact and current → target are the same for every
    // item that does not say otherwise: shown once above the table, and in a
    // row only where the item's own differ.
    let mut rows = Vec::new();
    let mut shared = None;
    if show_items {
        let latest = match tandem_domain::planning::context_metric(&goal)
            .and_then(|m| m.metric_key.clone())
        {
            Some(key) => match store.get_metric_by_key(&key).await {
                Ok(metric) => kpis::current(store, &state.settings, &metric, today)
                    .await?
                    .map(|f| tandem_domain::metric::MetricPoint {
                        metric_id: metric.id,
                        at: f.as_of,
                        value: f.value,
                    }),
                Err(_) => None,
            },
            None => None,
        };
        let matrix = &state.settings.planning.matrix;
        for item in items.iter().filter(|i| i.state != WorkState::Cancelled) {
            let ctx =
                tandem_domain::planning::task_context(item, Some(&goal), latest.as_ref(), matrix);
            rows.push(item_row(item, &ctx));
        }
        let why = most_common(rows.iter().map(|r| r.why.clone()));
        let impact = most_common(rows.iter().map(|r| r.expected_impact.clone()));
        let now_target = most_common(rows.iter().map(|r| r.current_target.clone()));
        for row in &mut rows {
            if row.why == why {
                row.why.clear();
            }
            if row.expected_impact == impact {
                row.expected_impact.clear();
            }
            if row.current_target == now_target {
                row.current_target.clear();
            }
        }
        rows.sort_by_key(|r| (r.state == "done", r.priority.clone()));
        shared = Some((why, impact, now_target));
    }
    let count = |s: WorkState| items.iter().filter(|i| i.state == s).count();
    let item_summary = format!(
        "{} items: {} done, {} in progress, {} blocked, {} to do",
        items
            .iter()
            .filter(|i| i.state != WorkState::Cancelled)
            .count(),
        count(WorkState::Done),
        count(WorkState::InProgress),
        count(WorkState::Blocked),
        count(WorkState::Todo)
    );

    Ok(GoalPage {
        nav: Nav::placeholder(),
        id: goal.id.to_string(),
        title: goal.title.clone(),
        team: team.name,
        team_key: team.key,
        project,
        status: view::words(goal.status),
        version: goal.version,
        business_goal: goal.business_goal.clone(),
        technical_tasks: goal.technical_tasks.clone(),
        hypotheses: goal.hypotheses.clone(),
        metrics,
        starts_on: view::maybe_date(goal.timeline.starts_on),
        deadline: view::maybe_date(goal.timeline.deadline),
        owner: goal.parties.owner.clone().unwrap_or_else(|| "–".into()),
        requester: goal.parties.requester.clone().unwrap_or_else(|| "–".into()),
        contributors: if goal.parties.contributors.is_empty() {
            "–".into()
        } else {
            goal.parties.contributors.join(", ")
        },
        forecast,
        burnup_svg,
        burnup_label,
        timeline_today,
        stages,
        versions,
        risks,
        show_items,
        items: rows,
        shared,
        asks,
        item_summary,
        publications,
        decide,
    })
}

/// Per target, the newest publication of the agreement and of each of the
/// goal's decisions.
async fn publication_rows(
    store: &tandem_store::Store,
    goal: &tandem_domain::goal::Goal,
) -> PageResult<Vec<PublicationRow>> {
    use tandem_domain::publish::{DocKind, PublicationStatus};
    let row = |document: String, p: &tandem_store::Publication| PublicationRow {
        document,
        target: p.target.to_string(),
        state: match (p.status, &p.last_error) {
            (PublicationStatus::Pending, Some(_)) => "retrying".to_owned(),
            (s, _) => s.to_string(),
        },
        detail: match p.status {
            PublicationStatus::Published => p.remote_ref.clone().unwrap_or_default(),
            _ => p.last_error.clone().unwrap_or_default(),
        },
    };
    let mut out = Vec::new();
    let agreement = tandem_app::publish::document(store, DocKind::Goal, goal.id).await?;
    for p in &agreement.targets {
        out.push(row(format!("Agreement, version {}", p.revision), p));
    }
    let decisions = tandem_app::paging::all(
        tandem_store::ListQuery {
            goal_id: Some(goal.id),
            ..Default::default()
        },
        |q| async move { store.list_decisions(&q).await },
    )
    .await?;
    for d in &decisions {
        let pubs = tandem_app::publish::document(store, DocKind::Decision, d.id).await?;
        for p in &pubs.targets {
            out.push(row(format!("Decision: {}", d.title), p));
        }
    }
    Ok(out)
}

/// The value most rows share (the first seen on a tie); empty for no rows.
fn most_common(values: impl Iterator<Item = String>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(c, _)| *c == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(v, _)| v)
        .unwrap_or_default()
}

fn item_row(item: &WorkItem, ctx: &TaskContext) -> ItemRow {
    ItemRow {
        href: format!("/work-items/{}", item.id),
        key: item.external_key.clone().unwrap_or_default(),
        title: item.title.clone(),
        kind: item.kind.to_string(),
        state: view::words(item.state),
        priority: item.priority.to_string(),
        why: ctx.why.clone(),
        expected_impact: ctx.expected_impact.clone(),
        current_target: match (&ctx.current, &ctx.target) {
            (Some(c), Some(t)) => format!("{} → {}", c.text, t.text),
            (None, Some(t)) => format!("→ {}", t.text),
            (Some(c), None) => c.text.clone(),
            (None, None) => String::new(),
        },
    }
}

/// The goal's scope and done counts over time, with its forecast.
fn burnup_of(
    goal: &Goal,
    items: &[WorkItem],
    today: NaiveDate,
    (p50, p85, p95): (Option<NaiveDate>, Option<NaiveDate>, Option<NaiveDate>),
) -> Burnup {
    let cumulative = |mut days: Vec<NaiveDate>| {
        days.sort();
        let mut out: Vec<(NaiveDate, u32)> = Vec::new();
        for d in days {
            match out.last_mut() {
                Some((last, n)) if *last == d => *n += 1,
                _ => {
                    let n = out.last().map_or(0, |l| l.1);
                    out.push((d, n + 1));
                }
            }
        }
        out
    };
    let live = items.iter().filter(|i| i.state != WorkState::Cancelled);
    Burnup {
        title: format!("Burn-up: {}", goal.title),
        scope: cumulative(live.clone().map(|i| i.created_at.date_naive()).collect()),
        done: cumulative(
            live.filter_map(|i| i.done_at.map(|d| d.date_naive()))
                .collect(),
        ),
        today,
        p50,
        p85,
        p95,
        deadline: goal.timeline.deadline,
    }
}

#[derive(Debug, Template)]
#[template(path = "work_item.html")]
pub struct WorkItemPage {
    pub nav: Nav,
    pub key: String,
    pub title: String,
    pub kind: String,
    pub state: String,
    pub priority: String,
    pub priority_rule: String,
    pub team: String,
    pub team_key: String,
    pub goal: Option<(String, String)>,
    pub why: String,
    pub expected_impact: String,
    pub success_metric: Option<String>,
    pub current: String,
    pub target: String,
    pub progress: Option<String>,
    pub created: String,
    pub started: String,
    pub done: String,
}

/// `GET /work-items/{id}` (id or external key such as `PAY-123`).
pub async fn work_item_page(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let store = &state.store;
    let item = lookup::work_item(store, &id).await?;
    let ctx = plan_api::task_context(store, &item, &state.settings).await?;
    let team = store.get_team(item.team_id).await?;
    let value = |v: &Option<tandem_domain::planning::ContextValue>| {
        v.as_ref().map_or_else(
            || "–".to_owned(),
            |v| match v.at {
                Some(at) => format!("{} (measured {})", v.text, view::date(at.date_naive())),
                None => format!("{} ({})", v.text, view::words(v.source)),
            },
        )
    };
    render(&WorkItemPage {
        nav: viewer.nav("teams"),
        key: item.external_key.clone().unwrap_or_default(),
        title: item.title.clone(),
        kind: item.kind.to_string(),
        state: view::words(item.state),
        priority: item.priority.to_string(),
        priority_rule: ctx.priority.rule.clone(),
        team: team.name,
        team_key: team.key,
        goal: ctx
            .goal
            .as_ref()
            .map(|g| (g.id.to_string(), g.title.clone())),
        why: ctx.why.clone(),
        expected_impact: ctx.expected_impact.clone(),
        success_metric: ctx.success_metric.as_ref().map(|m| m.metric.clone()),
        current: value(&ctx.current),
        target: value(&ctx.target),
        progress: ctx.metric_progress.map(|p| {
            format!(
                "{} of the way from the baseline to the target",
                view::percent(p)
            )
        }),
        created: view::instant(item.created_at),
        started: item
            .started_at
            .map_or_else(|| "–".to_owned(), view::instant),
        done: item.done_at.map_or_else(|| "–".to_owned(), view::instant),
    })
}
