//! The weekly status report: gathers one team's data for one ISO week from
//! the store and lets the domain (`tandem_domain::report`) assemble it. The
//! API and the CLI both call [`weekly`], so they show the same report.
//!
//! Forecasts are the team's current ones (as of today, whatever the week),
//! so a report read later shows the forecast of the day it is read.

use chrono::IsoWeek;
use tandem_domain::goal::Goal;
use tandem_domain::metric::{Audience, Metric, MetricPoint};
use tandem_domain::report::{self, ReportInput, WeeklyReport};
use tandem_domain::risk::{Risk, RiskStatus};
use tandem_domain::stage::Stage;
use tandem_store::{ListQuery, Page, Store, StoreError};
use uuid::Uuid;

use chrono::Utc;
use tandem_domain::report::DraftStatus;
use tandem_store::ReportDraft;

use crate::error::{ApiError, ApiResult};
use crate::settings::PlanningSettings;

/// Every page of a list.
async fn all<T, F, Fut>(base: ListQuery, mut list: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut q = ListQuery {
        limit: ListQuery::MAX_LIMIT,
        ..base
    };
    let mut out = Vec::new();
    loop {
        let page = list(q.clone()).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return Ok(out),
        }
    }
}

/// The weekly report of a team for an ISO week, without the delivery
/// (DORA) lines; [`weekly_full`] has them.
pub async fn weekly(
    store: &Store,
    team_id: Uuid,
    week: IsoWeek,
    planning: &PlanningSettings,
    forecast: &crate::settings::ForecastSettings,
) -> ApiResult<WeeklyReport> {
    Ok(report::assemble(
        &gather(store, team_id, week, planning, forecast).await?,
    ))
}

/// The weekly report of a team for an ISO week, with the team's DORA four
/// keys and incidents of the week in the Numbers section when its projects
/// have delivery data. Every report that is previewed, edited or sent is
/// this one.
pub async fn weekly_full(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> ApiResult<WeeklyReport> {
    let mut input = gather(store, team_id, week, &settings.planning, &settings.forecast).await?;
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
    Ok(report::assemble(&input))
}

async fn gather(
    store: &Store,
    team_id: Uuid,
    week: IsoWeek,
    planning: &PlanningSettings,
    forecast: &crate::settings::ForecastSettings,
) -> ApiResult<ReportInput> {
    let team = store.get_team(team_id).await?;
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
    let (start, end) = report::week_bounds(week);
    let from = start - chrono::Duration::weeks(i64::from(report::TREND_WEEKS - 1));
    let mut points: Vec<MetricPoint> = Vec::new();
    for m in &metrics {
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
        forecasts: forecasts(store, team_id, forecast).await?,
        debt_target_percent: planning.debt_target_percent,
        dora: None,
    })
}

/// The team's current forecast of each goal in flight, in the report's terms.
async fn forecasts(
    store: &Store,
    team_id: Uuid,
    cfg: &crate::settings::ForecastSettings,
) -> ApiResult<Vec<report::GoalForecastSummary>> {
    let today = chrono::Utc::now().date_naive();
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
                    "{cut} of the {} remaining items fit by {deadline} at 85 % confidence",
                    t.remaining
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

/// Size of a chart image in the e-mail (drawn at twice this for sharp
/// display on high-density screens).
pub const CHART_DISPLAY: (u32, u32) = (270, 150);

/// A chart drawn for the e-mail.
#[derive(Debug, Clone)]
pub struct RenderedChart {
    pub line_id: String,
    /// Content-ID of the inline part.
    pub cid: String,
    pub png: Vec<u8>,
}

/// Every rendered form of one (edited) report.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub title: String,
    pub markdown: String,
    pub html: String,
    pub text: String,
    pub slack: serde_json::Value,
    pub json: serde_json::Value,
    pub charts: Vec<RenderedChart>,
}

/// Renders `report` in every form, charts included. CPU-bound: async
/// callers run it on the blocking pool.
pub fn render(report: &WeeklyReport, link: Option<&str>) -> anyhow::Result<Rendered> {
    let (w, h) = CHART_DISPLAY;
    let mut refs = Vec::new();
    let mut charts = Vec::new();
    for (i, t) in report.trends.iter().enumerate() {
        let series = crate::charts::Series {
            label: t.label.clone(),
            unit: t.unit.clone(),
            points: t.points.iter().map(|p| (p.date, p.value)).collect(),
        };
        let cid = format!("chart{i}.{}.{}@tandem", report.team.key, report.week);
        charts.push(RenderedChart {
            line_id: t.line_id.clone(),
            cid: cid.clone(),
            png: crate::charts::trend_png(&series, w * 2, h * 2)?,
        });
        refs.push(report::ChartRef {
            line_id: t.line_id.clone(),
            cid,
            alt: format!("{}: the last {} weeks", series.caption(), t.points.len()),
            width: w,
            height: h,
        });
    }
    Ok(Rendered {
        title: report.title.clone(),
        markdown: report::to_markdown(report),
        html: report::to_html(report, &refs, link),
        text: report::to_text(report, link),
        slack: report::to_slack(report, link),
        json: serde_json::to_value(report)?,
        charts,
    })
}

/// Where the full report of a team's week can be read: its web page (sign-in
/// first, then back to it; stakeholders and up may read it).
pub fn link(settings: &crate::Settings, team_key: &str, week: &str) -> String {
    format!(
        "{}/reports/{team_key}/{week}",
        settings.server.public_url.trim_end_matches('/')
    )
}

/// The week's report with the draft's edits applied (when there is a draft),
/// and the draft.
pub async fn edited(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> ApiResult<(Option<ReportDraft>, WeeklyReport)> {
    let data = weekly_full(store, settings, team_id, week).await?;
    let draft = store.find_draft(team_id, &report::week_label(week)).await?;
    let report = match &draft {
        Some(d) => report::apply(&data, &d.edits),
        None => data,
    };
    Ok((draft, report))
}

/// Applies an edit to the team's draft for `week` (made when missing),
/// checked against the current data. An approved draft goes back to
/// `draft`: the approval was of other content. Retried when another editor
/// saved in between, so concurrent edits both land.
pub async fn edit_draft(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
    req: &report::EditRequest,
) -> ApiResult<(ReportDraft, WeeklyReport)> {
    let label = report::week_label(week);
    let data = weekly_full(store, settings, team_id, week).await?;
    let mut tries = 0;
    loop {
        let read = store.draft(team_id, &label, Utc::now()).await?;
        if read.status == DraftStatus::Sent {
            return Err(ApiError::Conflict {
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
) -> ApiResult<ReportDraft> {
    let label = report::week_label(week);
    let read = store.draft(team_id, &label, Utc::now()).await?;
    match read.status {
        DraftStatus::Sent => {
            return Err(ApiError::Conflict {
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

/// The result of sending a week's report.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SendResult {
    pub week: String,
    pub outcomes: Vec<crate::delivery::Outcome>,
    /// Whether the report is (now) in the archive.
    pub archived: bool,
}

/// Sends the team's report of `week` (edits applied) to every configured
/// target not yet served, archives it when anything was delivered and marks
/// the draft sent. Failed targets are logged and can be retried by sending
/// again; the draft and its edits stay as they are.
pub async fn send_week(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> ApiResult<SendResult> {
    let label = report::week_label(week);
    let team = store.get_team(team_id).await?;
    let draft = store.draft(team_id, &label, Utc::now()).await?;
    let schedule = store.report_schedule(team_id).await?;
    let email_to = schedule
        .as_ref()
        .map_or(settings.report.email_to.clone(), |s| s.email_to.clone());
    let targets = crate::delivery::targets(&settings.report, &email_to);
    if targets.is_empty() {
        return Err(ApiError::Conflict {
            field: None,
            message: "no delivery channel is configured: set report.smtp (with e-mail \
                      recipients), report.slack or report.webhook"
                .into(),
        });
    }
    let data = weekly_full(store, settings, team_id, week).await?;
    let report = report::apply(&data, &draft.edits);
    let url = link(settings, &team.key, &label);
    let rendered = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || render(&report, Some(&url)).map(|r| (r, report)))
            .await
            .map_err(anyhow::Error::from)??
    };
    let (rendered, report) = rendered;
    let envelope = crate::delivery::Envelope {
        team_id,
        team_key: team.key.clone(),
        week: label.clone(),
        rendered: std::sync::Arc::new(rendered),
        link: url,
    };
    let outcomes = crate::delivery::deliver(store, &settings.report, &envelope, targets).await;
    let delivered = store
        .list_report_deliveries(team_id, &label)
        .await?
        .iter()
        .any(|d| d.status == tandem_domain::report::DeliveryStatus::Sent);
    if delivered {
        let r = &envelope.rendered;
        let now = tandem_domain::time::micros(Utc::now());
        let object_prefix = match &settings.report.s3 {
            None => None,
            Some(s3) => match crate::delivery_archive::upload(s3, &team.key, &label, r).await {
                Ok(prefix) => Some(prefix),
                Err(e) => {
                    tracing::warn!(team = %team.key, week = %label, error = %format!("{e:#}"),
                        "the archive upload failed; the report is archived in the database only");
                    None
                }
            },
        };
        store
            .archive_report(&tandem_store::ArchivedReport {
                id: Uuid::now_v7(),
                team_id,
                week: label.clone(),
                title: report.title.clone(),
                sent_at: now,
                report: r.json.clone(),
                markdown: r.markdown.clone(),
                html: r.html.clone(),
                text: r.text.clone(),
                slack: r.slack.clone(),
                object_prefix,
            })
            .await?;
        store.mark_draft_sent(draft.id, now).await?;
    }
    Ok(SendResult {
        week: label,
        outcomes,
        archived: delivered,
    })
}
