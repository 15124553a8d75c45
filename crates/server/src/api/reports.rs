//! `GET /api/v1/teams/{team}/reports/weekly`: a team's weekly status report
//! (`tandem_app::report`), as JSON or Markdown.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::{IsoWeek, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::report::{self, EditRequest, WeeklyReport};
use tandem_store::{ArchiveEntry, ArchivedReport, ReportDraft, ReportSchedule};

use super::documents::MARKDOWN;
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::RequireManager;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use tandem_app::lookup;
use tandem_app::report::{DraftView, SendResult};

/// Query of `GET /api/v1/teams/{team}/reports/weekly`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeeklyParams {
    /// ISO week, e.g. `2026-W47` (default: the current week, UTC).
    pub week: Option<String>,
    /// `json` (default), `markdown`, `html` (the e-mail's HTML, charts as
    /// `cid:` references), `text` (the e-mail's plain-text part) or `slack`
    /// (Block Kit JSON).
    #[param(value_type = Option<Format>)]
    pub format: Option<String>,
}

use tandem_app::report::team_week_or_current;

#[utoipa::path(get, path = "/api/v1/teams/{team}/reports/weekly", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments"), WeeklyParams),
    responses(
        (status = 200, description = "the report with the draft's edits applied: JSON \
            (format=json, the default), Markdown, the e-mail's HTML or plain text, or Slack blocks",
            content((WeeklyJson = "application/json"), (String = "text/markdown"),
                (String = "text/html"), (String = "text/plain"))),
        (status = 400, body = ErrorBody, description = "a bad `week` or `format`"),
        (status = 404, body = ErrorBody)))]
pub async fn weekly(
    State(state): State<AppState>,
    who: Principal,
    Path(team): Path<String>,
    ApiQuery(params): ApiQuery<WeeklyParams>,
) -> ApiResult<Response> {
    let team = lookup::team(&state.store, &team).await?;
    let week = team_week_or_current(params.week.as_deref(), &team)
        .map_err(|e| ApiError::bad_field("week", e))?;
    let format = Format::parse(params.format.as_deref())?;
    let week_label = report::week_label(week);
    let (draft, report) =
        tandem_app::report::edited(&state.store, &state.settings, team.id, week).await?;
    if !tandem_app::report::may_read(who.role, draft.as_ref()) {
        return Err(ApiError::NotFound(tandem_app::report::not_yet_approved(
            &week_label,
        )));
    }
    let link = tandem_app::report::link(&state.settings, &team.key, &week_label);
    Ok(format.respond(&report, &link))
}

tandem_domain::string_enum! {
    /// The forms a report can be read in.
    #[schema(as = ReportFormat)]
    Format {
        /// The report as data (the default).
        Json => "json",
        Markdown => "markdown",
        /// The e-mail's HTML (charts as `cid:` references).
        Html => "html",
        /// The e-mail's plain-text part.
        Text => "text",
        /// Slack Block Kit JSON.
        Slack => "slack",
    }
}

/// The JSON a weekly report is read as: the report (`format=json`) or its
/// Slack Block Kit message (`format=slack`). It documents the two shapes
/// under one content type; the handler writes either directly.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum WeeklyJson {
    Report(WeeklyReport),
    Slack(SlackMessage),
}

/// The JSON an archived report is read as: the archive record
/// (`format=json`) or the Slack message that was sent (`format=slack`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ArchivedJson {
    Report(Box<ArchivedReport>),
    Slack(SlackMessage),
}

/// A Slack Block Kit message, as `chat.postMessage` takes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SlackMessage {
    /// The notification text (the report's title).
    text: String,
    /// Block Kit blocks.
    #[schema(value_type = Vec<Object>)]
    blocks: Vec<serde_json::Value>,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Result<Format, ApiError> {
        s.map_or(Ok(Format::Json), |s| {
            s.parse().map_err(|e| ApiError::bad_field("format", e))
        })
    }

    /// The report in this form. HTML references its charts by `cid:`; the
    /// e-mail carries them as inline parts.
    fn respond(self, r: &WeeklyReport, link: &str) -> Response {
        match self {
            Format::Json => Json(r).into_response(),
            Format::Slack => Json(report::to_slack(r, Some(link))).into_response(),
            Format::Markdown => text(MARKDOWN, report::to_markdown(r)),
            Format::Text => text("text/plain; charset=utf-8", report::to_text(r, Some(link))),
            Format::Html => {
                let refs: Vec<report::ChartRef> = r
                    .trends
                    .iter()
                    .enumerate()
                    .map(|(i, t)| report::ChartRef {
                        line_id: t.line_id.clone(),
                        cid: format!("chart{i}.{}.{}@tandem", r.team.key, r.week),
                        alt: t.label.clone(),
                        width: tandem_app::report::CHART_DISPLAY.0,
                        height: tandem_app::report::CHART_DISPLAY.1,
                    })
                    .collect();
                text(
                    "text/html; charset=utf-8",
                    report::to_html(r, &refs, Some(link)),
                )
            }
        }
    }
}

fn text(content_type: &'static str, body: String) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

fn parse_week_path(week: &str) -> ApiResult<IsoWeek> {
    report::parse_week(week).map_err(|e| ApiError::bad_field("week", e))
}

async fn draft_view(state: &AppState, team_id: uuid::Uuid, week: IsoWeek) -> ApiResult<DraftView> {
    Ok(tandem_app::report::draft_view(&state.store, &state.settings, team_id, week).await?)
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/reports/{week}/draft", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments"),
        ("week" = String, Path, description = "ISO week, e.g. 2026-W47", example = "2026-W47")),
    responses((status = 200, body = DraftView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_draft(
    State(state): State<AppState>,
    who: Principal,
    Path((team, week)): Path<(String, String)>,
) -> ApiResult<Json<DraftView>> {
    let week = parse_week_path(&week)?;
    let team = lookup::team(&state.store, &team).await?;
    let view = draft_view(&state, team.id, week).await?;
    if !tandem_app::report::may_read(who.role, view.draft.as_ref()) {
        return Err(ApiError::NotFound(tandem_app::report::not_yet_approved(
            &report::week_label(week),
        )));
    }
    Ok(Json(view))
}

#[utoipa::path(patch, path = "/api/v1/teams/{team}/reports/{week}/draft", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments"),
        ("week" = String, Path, description = "ISO week, e.g. 2026-W47", example = "2026-W47")),
    request_body = EditRequest,
    responses((status = 200, body = DraftView, description = "the edits are stored; an approved \
            draft goes back to `draft`"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the report was already sent"),
        (status = 422, body = ErrorBody, description = "an unknown section or line id, or an \
            over-long note")))]
pub async fn edit_draft(
    State(state): State<AppState>,
    _: RequireManager,
    Path((team, week)): Path<(String, String)>,
    ApiJson(req): ApiJson<EditRequest>,
) -> ApiResult<Json<DraftView>> {
    let week = parse_week_path(&week)?;
    let team = lookup::team(&state.store, &team).await?;
    tandem_app::report::edit_draft(&state.store, &state.settings, team.id, week, &req).await?;
    Ok(Json(draft_view(&state, team.id, week).await?))
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/reports/{week}/approve", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments"),
        ("week" = String, Path, description = "ISO week, e.g. 2026-W47", example = "2026-W47")),
    responses((status = 200, body = ReportDraft), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path((team, week)): Path<(String, String)>,
) -> ApiResult<Json<ReportDraft>> {
    let week = parse_week_path(&week)?;
    let team = lookup::team(&state.store, &team).await?;
    Ok(Json(
        tandem_app::report::approve_draft(&state.store, team.id, week, &who.name).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/reports/{week}/send", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments"),
        ("week" = String, Path, description = "ISO week, e.g. 2026-W47", example = "2026-W47")),
    responses((status = 200, body = SendResult, description = "one outcome per channel and \
            recipient; failed ones were retried and logged, and can be sent again"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the draft is not approved, or no \
            channel is configured")))]
pub async fn send(
    State(state): State<AppState>,
    _: RequireManager,
    Path((team, week)): Path<(String, String)>,
) -> ApiResult<Json<SendResult>> {
    let week = parse_week_path(&week)?;
    let team = lookup::team(&state.store, &team).await?;
    Ok(Json(
        tandem_app::report::send_approved(&state.store, &state.settings, team.id, week).await?,
    ))
}

/// Body of `PUT /api/v1/teams/{team}/reports/schedule`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// Five fields, minute first, in the team's time zone, e.g. `0 16 * * 5`.
    pub cron: String,
    /// Send when due without approval.
    #[serde(default)]
    pub auto_send: bool,
    /// E-mail recipients.
    #[serde(default)]
    pub email_to: Vec<String>,
}

/// A team's schedule and when it is next due.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    #[serde(flatten)]
    pub schedule: ReportSchedule,
    /// `true` when the team has no schedule of its own (the configured default applies).
    pub default: bool,
    pub timezone: String,
    pub next_due: Option<chrono::DateTime<Utc>>,
}

fn schedule_view(
    team: &tandem_domain::team::Team,
    own: Option<ReportSchedule>,
    settings: &tandem_app::Settings,
) -> ScheduleView {
    let default = own.is_none();
    let schedule = tandem_app::report::schedule::effective(team.id, own, settings);
    let tz = tandem_app::report::schedule::parse_tz(&team.timezone).unwrap_or(chrono_tz::UTC);
    let next_due = tandem_app::report::schedule::parse_cron(&schedule.cron)
        .ok()
        .and_then(|c| tandem_app::report::schedule::due_times(&c, tz, Utc::now()).1);
    ScheduleView {
        schedule,
        default,
        timezone: team.timezone.clone(),
        next_due,
    }
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/reports/schedule", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments")),
    responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    _: Principal,
    Path(team): Path<String>,
) -> ApiResult<Json<ScheduleView>> {
    let team = lookup::team(&state.store, &team).await?;
    let own = state.store.report_schedule(team.id).await?;
    Ok(Json(schedule_view(&team, own, &state.settings)))
}

#[utoipa::path(put, path = "/api/v1/teams/{team}/reports/schedule", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments")),
    request_body = ScheduleRequest,
    responses((status = 200, body = ScheduleView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "a bad cron expression, e-mail address \
            or team time zone")))]
pub async fn put_schedule(
    State(state): State<AppState>,
    _: RequireManager,
    Path(team): Path<String>,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> ApiResult<Json<ScheduleView>> {
    let team = lookup::team(&state.store, &team).await?;
    let s = tandem_app::report::schedule::set(
        &state.store,
        &team,
        &req.cron,
        req.auto_send,
        req.email_to,
        Utc::now(),
    )
    .await?;
    Ok(Json(schedule_view(&team, Some(s), &state.settings)))
}

/// Query of `GET /api/v1/reports/archive`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArchiveParams {
    /// Team id or key.
    pub team: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/reports/archive", tag = "reports", params(ArchiveParams),
    responses((status = 200, body = Vec<ArchiveEntry>), (status = 404, body = ErrorBody)))]
pub async fn list_archive(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ArchiveParams>,
) -> ApiResult<Json<Vec<ArchiveEntry>>> {
    let team_id = match &params.team {
        Some(t) => Some(lookup::team(&state.store, t).await?.id),
        None => None,
    };
    Ok(Json(state.store.list_archive(team_id).await?))
}

/// Query of `GET /api/v1/teams/{team}/reports/{week}/archive`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArchivedParams {
    /// `json` (default: the archive record), `markdown`, `html`, `text` or `slack`.
    #[param(value_type = Option<Format>)]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/reports/{week}/archive", tag = "reports",
    params(("team" = String, Path, description = "Team id or key", example = "payments"),
        ("week" = String, Path, description = "ISO week, e.g. 2026-W47", example = "2026-W47"), ArchivedParams),
    responses((status = 200, description = "the report as it was sent: the archive record \
            (format=json, the default), its Markdown, HTML, plain text or Slack blocks",
            content((ArchivedJson = "application/json"), (String = "text/markdown"),
                (String = "text/html"), (String = "text/plain"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_archived(
    State(state): State<AppState>,
    _: Principal,
    Path((team, week)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<ArchivedParams>,
) -> ApiResult<Response> {
    let week = parse_week_path(&week)?;
    let format = Format::parse(params.format.as_deref())?;
    let team = lookup::team(&state.store, &team).await?;
    let a = state
        .store
        .archived_report(team.id, &report::week_label(week))
        .await?;
    Ok(match format {
        Format::Json => Json(a).into_response(),
        Format::Slack => Json(a.slack).into_response(),
        Format::Markdown => text(MARKDOWN, a.markdown),
        Format::Text => text("text/plain; charset=utf-8", a.text),
        Format::Html => text("text/html; charset=utf-8", a.html),
    })
}
