//! `/teams/{key}/explain/{metric}`: what a team page figure is made of —
//! its definition in a sentence, the window, and the deployments (with the
//! commits each shipped), incidents, pull requests or work items behind it,
//! from `tandem_app::delivery_metrics::explain` (the engine behind
//! `/api/v1/delivery/explain`) over the team page's window
//! (`tandem_app::kpis::window`), so the rows add up to the figure. For
//! members, like the team page; nothing is per person.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use tandem_domain::dora::ExplainMetric;

use super::MemberViewer;
use super::view::{self, Nav};
use super::{PageError, PageResult, render};
use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use axum::Extension;
use tandem_domain::team::Team;

use super::cache::PageCache;
use super::figures;
use tandem_app::delivery_metrics::{self, DeliveryQuery};
use tandem_app::lookup;

/// Rows shown per table; the rest are counted.
const MAX_ROWS: usize = 200;

#[derive(Debug, Clone)]
pub struct Table {
    pub caption: String,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub more: usize,
}

#[derive(Debug, Clone, Template)]
#[template(path = "explain.html")]
pub struct ExplainPage {
    pub nav: Nav,
    pub team: String,
    pub team_key: String,
    pub title: String,
    pub definition: String,
    pub window: String,
    pub tables: Vec<Table>,
    pub note: Option<String>,
}

fn when(t: DateTime<Utc>) -> String {
    format!("{} {}", view::day(t.date_naive()), t.format("%H:%M"))
}

fn hours_between(a: DateTime<Utc>, b: Option<DateTime<Utc>>) -> String {
    b.map_or_else(
        || "–".to_owned(),
        |b| format!("{} h", view::number((b - a).num_seconds() as f64 / 3600.0)),
    )
}

fn table(caption: String, head: Vec<&'static str>, mut rows: Vec<Vec<String>>) -> Table {
    let more = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Table {
        caption,
        head,
        rows,
        more,
    }
}

/// `GET /teams/{key}/explain/{metric}`.
pub async fn page(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Extension(cache): Extension<PageCache>,
    Path((key, metric)): Path<(String, String)>,
) -> PageResult<Response> {
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let metric: ExplainMetric = metric
        .parse()
        .map_err(|_| PageError::not_found(format!("There is no figure “{metric}” to explain.")))?;
    // Like the team page: one computation per team, figure and delivery
    // data version (web::figures), shared by everyone looking.
    let version = figures::version(&state).await?;
    let cached = cache
        .get_or_try(format!("explain:{}:{metric}:{version}", team.id), || {
            build(&state, team.clone(), metric)
        })
        .await?;
    let mut page = (*cached).clone();
    page.nav = viewer.nav("teams");
    render(&page)
}

async fn build(state: &AppState, team: Team, metric: ExplainMetric) -> ApiResult<ExplainPage> {
    let (since, until) = tandem_app::kpis::window(Utc::now().date_naive());
    let q = DeliveryQuery {
        team: Some(team.key.clone()),
        since: Some(since),
        until: Some(until),
        bucket: Some("week".into()),
        ..DeliveryQuery::default()
    };
    let title = format!("How {} is computed", view::words(metric).replace('-', " "));
    let mut page = ExplainPage {
        nav: Nav::placeholder(),
        team: team.name.clone(),
        team_key: team.key.clone(),
        title,
        definition: metric.definition().to_owned(),
        window: format!("{} to {}", view::date(since), view::date(until)),
        tables: Vec::new(),
        note: None,
    };
    let ex = match delivery_metrics::explain(&state.store, &state.settings, &q, metric).await {
        Ok(ex) => ex,
        Err(tandem_app::AppError::BadInput { message, .. }) => {
            page.note = Some(format!("Nothing to show: {message}."));
            return Ok(page);
        }
        Err(e) => return Err(e.into()),
    };
    page.window = format!(
        "{} to {}, environment {}",
        view::date(ex.since),
        view::date(ex.until),
        ex.environment
    );
    if !ex.deployments.is_empty()
        || matches!(
            metric,
            ExplainMetric::DeploymentFrequency
                | ExplainMetric::LeadTime
                | ExplainMetric::ChangeFailureRate
        )
    {
        let rows = ex
            .deployments
            .iter()
            .map(|d| {
                vec![
                    when(d.finished_at),
                    d.service.clone(),
                    d.sha
                        .as_deref()
                        .map_or_else(|| "–".to_owned(), |s| s.chars().take(10).collect()),
                    d.commits.len().to_string(),
                    if d.commits.is_empty() {
                        "–".to_owned()
                    } else {
                        let mut h: Vec<f64> = d.commits.iter().map(|c| c.lead_time_hours).collect();
                        h.sort_by(f64::total_cmp);
                        format!("{} h", view::number(h[h.len() / 2]))
                    },
                    match (&d.failure_reason, d.is_change) {
                        (Some(r), _) => format!("failed ({})", view::words(r)),
                        (None, false) => "rollback or revert".to_owned(),
                        (None, true) => "ok".to_owned(),
                    },
                ]
            })
            .collect();
        page.tables.push(table(
            format!("{} deployments", ex.deployments.len()),
            vec![
                "Finished (UTC)",
                "Service",
                "Commit",
                "Commits shipped",
                "Middle lead time",
                "Outcome",
            ],
            rows,
        ));
    }
    if !ex.incidents.is_empty()
        || matches!(
            metric,
            ExplainMetric::TimeToRestore | ExplainMetric::ChangeFailureRate
        )
    {
        let rows = ex
            .incidents
            .iter()
            .map(|i| {
                vec![
                    when(i.opened_at),
                    i.resolved_at.map_or_else(|| "open".to_owned(), when),
                    hours_between(i.opened_at, i.resolved_at),
                    i.service.clone().unwrap_or_else(|| "–".to_owned()),
                    i.title.clone(),
                ]
            })
            .collect();
        page.tables.push(table(
            format!("{} incidents", ex.incidents.len()),
            vec![
                "Opened (UTC)",
                "Resolved",
                "Time to restore",
                "Service",
                "Title",
            ],
            rows,
        ));
    }
    if !ex.pull_requests.is_empty()
        || matches!(
            metric,
            ExplainMetric::PullRequests | ExplainMetric::ReviewTime
        )
    {
        let rows = ex
            .pull_requests
            .iter()
            .map(|p| {
                vec![
                    format!("{}#{}", p.repo, p.number),
                    p.title.clone(),
                    hours_between(p.ready_at, p.first_review_at),
                    hours_between(p.ready_at, Some(p.merged_at)),
                    when(p.merged_at),
                ]
            })
            .collect();
        page.tables.push(table(
            format!("{} pull requests merged", ex.pull_requests.len()),
            vec![
                "Pull request",
                "Title",
                "Ready to first review",
                "Ready to merge",
                "Merged (UTC)",
            ],
            rows,
        ));
    }
    if !ex.work_items.is_empty()
        || matches!(
            metric,
            ExplainMetric::CycleTime
                | ExplainMetric::Throughput
                | ExplainMetric::DebtShare
                | ExplainMetric::Bugs
        )
    {
        let rows = ex
            .work_items
            .iter()
            .map(|i| {
                vec![
                    i.title.clone(),
                    view::words(i.kind),
                    view::words(i.state),
                    i.started_at.map_or_else(|| "–".to_owned(), when),
                    i.done_at.map_or_else(|| "–".to_owned(), when),
                ]
            })
            .collect();
        page.tables.push(table(
            format!("{} work items", ex.work_items.len()),
            vec!["Item", "Kind", "State", "Started", "Done"],
            rows,
        ));
    }
    Ok(page)
}
