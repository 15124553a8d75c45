//! The weekly status report: gathers one team's data for one ISO week from
//! the store and lets the domain (`tandem_domain::report`) assemble it, and
//! keeps the week's draft (edits, approval). The API, the pages and the CLI
//! all call [`weekly`] / [`edited`], so they show the same report. Failures
//! are `AppError`s: editing or approving a sent week is a `Conflict`.
//!
//! Forecasts are the team's current ones (as of today, whatever the week),
//! so a report read later shows the forecast of the day it is read.

use chrono::{Datelike, IsoWeek};
use tandem_domain::goal::Goal;
use tandem_domain::metric::{Audience, Metric, MetricPoint};
use tandem_domain::report::{self, ReportInput, WeeklyReport};
use tandem_domain::risk::{Risk, RiskStatus};
use tandem_domain::stage::Stage;
use tandem_store::{ListQuery, Store, StoreError};
use uuid::Uuid;

use chrono::Utc;
use tandem_domain::report::{DraftStatus, ReportEdits};
use tandem_store::{ReportDelivery, ReportDeliveryAttempt, ReportDraft};

use crate::error::{AppError, AppResult};
use crate::paging::all;
use crate::settings::PlanningSettings;

/// The weekly report of a team for an ISO week, with the team's DORA four
/// keys and incidents of the week in the Numbers section when its projects
/// have delivery data. Every report that is previewed, edited or sent is
/// this one.
pub async fn weekly_full(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> AppResult<WeeklyReport> {
    let mut input = gather(store, settings, team_id, week).await?;
    let monday = report::week_start(week);
    let q = crate::delivery_metrics::DeliveryQuery {
        team: Some(team_id.to_string()),
        since: Some(monday),
        until: Some(monday + chrono::Duration::days(6)),
        bucket: Some("week".to_owned()),
        ..Default::default()
    };
    input.dora = match crate::delivery_metrics::dora(store, settings, &q).await {
        Ok(d) if d.deployment_frequency.deployments > 0 || d.time_to_restore.incidents > 0 => {
            Some(d)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "no delivery metrics for the weekly report");
            None
        }
    };
    let team = input.team.clone();
    let mut out = report::assemble(&input);
    // The focus line (issue 15) joins the Numbers section when the team has
    // calendars; the figure is `focus::team_week`, as on the focus page.
    if let Some(text) = crate::focus::report_line(store, &team, monday, Utc::now()).await? {
        add_number(&mut out, "focus", text);
    }
    // The pulse line (`crate::pulse::report_line`, which applies the
    // anonymity threshold).
    if let Some(text) = crate::pulse::report_line(store, &team, monday).await? {
        add_number(&mut out, "pulse", text);
    }
    Ok(out)
}

/// Adds a line to the report's Numbers section (which then is not empty).
fn add_number(report: &mut WeeklyReport, id: &str, text: String) {
    if let Some(s) = report
        .sections
        .iter_mut()
        .find(|s| s.kind == report::SectionKind::Numbers)
    {
        s.lines.push(report::ReportLine {
            id: id.to_owned(),
            text,
            children: Vec::new(),
        });
        s.empty_message = None;
    }
}

/// Refuses a week that has not started: its report would be made of
/// nothing (and must not be approved or sent).
pub fn check_week(week: IsoWeek, today: chrono::NaiveDate) -> AppResult<()> {
    let monday = report::week_start(week);
    if monday > today {
        return Err(AppError::Invalid(vec![tandem_domain::FieldError {
            field: "week".into(),
            message: format!(
                "{} has not started yet (it starts on {}); a report covers a week that has begun",
                report::week_label(week),
                monday.format("%-d %b %Y")
            ),
        }]));
    }
    Ok(())
}

async fn gather(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> AppResult<ReportInput> {
    let planning: &PlanningSettings = &settings.planning;
    let forecast = &settings.forecast;
    let team = store.get_team(team_id).await?;
    // "Today" is the team's: its week may have begun while UTC's has not.
    let today = tandem_domain::time::local_date(Utc::now(), team.zone());
    check_week(week, today)?;
    let by_team = ListQuery {
        team_id: Some(team_id),
        ..ListQuery::default()
    };
    let items = store.team_work_items(team_id).await?;
    let goals: Vec<Goal> = all(
        by_team.clone(),
        |q| async move { store.list_goals(&q).await },
    )
    .await?;
    let stages: Vec<Stage> = all(
        by_team.clone(),
        |q| async move { store.list_stages(&q).await },
    )
    .await?;
    let risks: Vec<Risk> = all(by_team, |q| async move { store.list_risks(&q).await })
        .await?
        .into_iter()
        .filter(|r| r.status != RiskStatus::Closed)
        .collect();
    let goal_keys: Vec<&str> = goals
        .iter()
        .flat_map(|g| g.success_metrics.iter())
        .filter_map(|m| m.metric_key.as_deref())
        .collect();
    let metrics: Vec<Metric> = all(ListQuery::default(), |q| async move {
        store.list_metrics(&q).await
    })
    .await?
    .into_iter()
    .filter(|m| {
        m.audience == Audience::Business
            || m.team_id == Some(team_id)
            || goal_keys.contains(&m.key.as_str())
    })
    .collect();
    // The report needs each metric's values over its trend: the value at the
    // start of the first trend week, and every point from there to the end
    // of this week (inclusive).
    let (start, end) = report::team_week_bounds(week, &team.timezone);
    let from = start - chrono::Duration::weeks(i64::from(report::TREND_WEEKS - 1));
    let mut points: Vec<MetricPoint> = Vec::new();
    for m in &metrics {
        if m.computed_from.is_some() {
            // A bound KPI: the week's computed value (`kpis::weekly`, the
            // same query as the DORA lines), as one point inside each week.
            let first =
                report::week_start(week) - chrono::Duration::weeks(i64::from(report::TREND_WEEKS));
            let last = report::week_start(week) + chrono::Duration::days(6);
            for (monday, value) in crate::kpis::weekly(store, settings, m, first, last).await? {
                // The last instant of that week in the team's zone, so the
                // point falls inside the report's (local) week.
                let (_, week_end) = report::team_week_bounds(monday.iso_week(), &team.timezone);
                let at = week_end - chrono::Duration::microseconds(1);
                points.push(MetricPoint {
                    metric_id: m.id,
                    at,
                    value,
                });
            }
            continue;
        }
        if let Some(p) = store.latest_point(m.id, Some(from)).await? {
            points.push(p);
        }
        let to = end + chrono::Duration::microseconds(1);
        points.extend(
            store
                .list_points(m.id, Some(from), Some(to), 100_000)
                .await?
                .into_iter()
                .filter(|p| p.at > from),
        );
    }
    Ok(ReportInput {
        team,
        week,
        items,
        goals,
        stages,
        risks,
        metrics,
        points,
        forecasts: forecasts(store, team_id, today, forecast).await?,
        debt_target_percent: planning.debt_target_percent,
        dora: None,
        requests: week_requests(store, team_id, start, end).await?,
        decisions: week_decisions(store, team_id, start, end).await?,
    })
}

/// The decisions recorded for the team in the week.
async fn week_decisions(
    store: &Store,
    team_id: Uuid,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<tandem_domain::decision::Decision>> {
    let by_team = ListQuery {
        team_id: Some(team_id),
        ..ListQuery::default()
    };
    Ok(
        all(by_team, |q| async move { store.list_decisions(&q).await })
            .await?
            .into_iter()
            .filter(|d| d.decided_at >= start && d.decided_at < end)
            .collect(),
    )
}

/// The business requests the team received in the week.
async fn week_requests(
    store: &Store,
    team_id: Uuid,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<tandem_domain::request::Request>> {
    let mut f = tandem_store::RequestFilter {
        team_id: Some(team_id),
        since: Some(start),
        until: Some(end),
        limit: 500,
        ..Default::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.list_requests(&f).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => return Ok(out),
        }
    }
}

/// The team's current forecast of each goal in flight, in the report's terms.
async fn forecasts(
    store: &Store,
    team_id: Uuid,
    today: chrono::NaiveDate,
    cfg: &crate::settings::ForecastSettings,
) -> AppResult<Vec<report::GoalForecastSummary>> {
    let tf = crate::forecasting::forecast_team(store, team_id, today, cfg).await?;
    let Some(targets) = tf.forecast.targets() else {
        return Ok(Vec::new());
    };
    Ok(targets
        .iter()
        .filter_map(|t| {
            let goal_id = Uuid::try_parse(&t.key).ok()?;
            let cut_line = match (t.deadline, t.cut_line) {
                (Some(deadline), Some(cut)) if cut < t.remaining => Some(format!(
                    "{cut} of the {} remaining items fit by {} at 85 % confidence",
                    t.remaining,
                    report::day(deadline)
                )),
                _ => None,
            };
            Some(report::GoalForecastSummary {
                goal_id,
                p85: t.p85,
                on_time_probability: t.on_time_probability,
                cut_line,
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Drafts, rendering and sending
// ---------------------------------------------------------------------------

/// The week's report with the draft's edits applied (when there is a draft),
/// and the draft.
pub async fn edited(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> AppResult<(Option<ReportDraft>, WeeklyReport)> {
    let data = weekly_full(store, settings, team_id, week).await?;
    let draft = store.find_draft(team_id, &report::week_label(week)).await?;
    let report = match &draft {
        Some(d) => report::apply(&data, &d.edits),
        None => data,
    };
    Ok((draft, report))
}

// What the API's draft endpoints answer and `tandem report draft|edit`
// prints. (The doc line below is the OpenAPI schema's description.)
/// A draft with the report it gives and what was delivered.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DraftView {
    /// `null` until someone edits, approves or schedules the week.
    pub draft: Option<ReportDraft>,
    /// The report with the draft's edits applied.
    pub report: WeeklyReport,
    pub deliveries: Vec<ReportDelivery>,
    /// Every delivery attempt, oldest first.
    pub delivery_log: Vec<ReportDeliveryAttempt>,
}

/// The team's draft of `week`, its report and its deliveries.
pub async fn draft_view(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> AppResult<DraftView> {
    let label = report::week_label(week);
    let (draft, report) = edited(store, settings, team_id, week).await?;
    Ok(DraftView {
        draft,
        report,
        deliveries: store.list_report_deliveries(team_id, &label).await?,
        delivery_log: store.list_report_delivery_log(team_id, &label).await?,
    })
}

/// Applies an edit to the team's draft for `week` (made when missing),
/// checked against the current data. An approved draft goes back to
/// `draft`: the approval was of other content. Retried when another editor
/// saved in between, so concurrent edits both land. A refused edit stores
/// nothing, not even an empty draft.
pub async fn edit_draft(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
    req: &report::EditRequest,
) -> AppResult<(ReportDraft, WeeklyReport)> {
    let label = report::week_label(week);
    let data = weekly_full(store, settings, team_id, week).await?;
    // Checked before the draft is made, so a refused edit stores nothing.
    if store.find_draft(team_id, &label).await?.is_none() {
        ReportEdits::default().merge(req, &data)?;
    }
    let mut tries = 0;
    loop {
        let read = store.draft(team_id, &label, Utc::now()).await?;
        if read.status == DraftStatus::Sent {
            return Err(AppError::Conflict {
                field: Some("week".into()),
                message: format!("the report of {label} was sent; it can no longer be edited"),
            });
        }
        let mut next = read.clone();
        next.edits.merge(req, &data)?;
        next.status = DraftStatus::Draft;
        next.approved_by = None;
        next.approved_at = None;
        next.updated_at = tandem_domain::time::micros(Utc::now())
            .max(read.updated_at + chrono::Duration::microseconds(1));
        match store.save_draft(&read, &next).await {
            Ok(()) => return Ok((next.clone(), report::apply(&data, &next.edits))),
            Err(StoreError::Stale(_)) if tries < 5 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Approves the team's draft for `week` as `who`.
pub async fn approve_draft(
    store: &Store,
    team_id: Uuid,
    week: IsoWeek,
    who: &str,
) -> AppResult<ReportDraft> {
    let zone = store.get_team(team_id).await?.zone();
    check_week(week, tandem_domain::time::local_date(Utc::now(), zone))?;
    let label = report::week_label(week);
    let read = store.draft(team_id, &label, Utc::now()).await?;
    match read.status {
        DraftStatus::Sent => {
            return Err(AppError::Conflict {
                field: Some("week".into()),
                message: format!("the report of {label} was already sent"),
            });
        }
        DraftStatus::Approved => return Ok(read),
        DraftStatus::Draft => {}
    }
    let now = tandem_domain::time::micros(Utc::now())
        .max(read.updated_at + chrono::Duration::microseconds(1));
    let next = ReportDraft {
        status: DraftStatus::Approved,
        approved_by: Some(who.to_owned()),
        approved_at: Some(now),
        updated_at: now,
        ..read.clone()
    };
    store.save_draft(&read, &next).await?;
    Ok(next)
}
