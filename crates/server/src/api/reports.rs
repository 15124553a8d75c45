//! `GET /api/v1/teams/{team}/reports/weekly`: a team's weekly status report
//! (`crate::reporting`), as JSON or Markdown.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, IsoWeek, Utc};
use serde::Deserialize;
use tandem_domain::report::{self, WeeklyReport};
use tandem_domain::user::Role;

use super::documents::MARKDOWN;
use super::planning::find_team;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;

/// Query of `GET /api/v1/teams/{team}/reports/weekly`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeeklyParams {
    /// ISO week, e.g. `2026-W47` (default: the current week, UTC).
    pub week: Option<String>,
    /// `json` (default) or `markdown`.
    pub format: Option<String>,
}

/// The week a request names, or the current one.
pub fn week_or_current(week: Option<&str>) -> Result<IsoWeek, String> {
    match week {
        Some(w) => report::parse_week(w),
        None => Ok(Utc::now().date_naive().iso_week()),
    }
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/reports/weekly", tag = "reports",
    params(("team" = String, Path, description = "Team id or key"), WeeklyParams),
    responses(
        (status = 200, description = "the report: JSON (format=json, the default) or a \
            Markdown status update (format=markdown)",
            content((WeeklyReport = "application/json"), (String = "text/markdown"))),
        (status = 400, body = ErrorBody, description = "a bad `week` or `format`"),
        (status = 404, body = ErrorBody)))]
pub async fn weekly(
    State(state): State<AppState>,
    who: Principal,
    Path(team): Path<String>,
    ApiQuery(params): ApiQuery<WeeklyParams>,
) -> ApiResult<Response> {
    who.require(Role::Stakeholder)?;
    let week =
        week_or_current(params.week.as_deref()).map_err(|e| ApiError::bad_field("week", e))?;
    let markdown = match params.format.as_deref() {
        None | Some("json") => false,
        Some("markdown") => true,
        Some(other) => {
            return Err(ApiError::bad_field(
                "format",
                format!("{other:?} is not one of: json, markdown"),
            ));
        }
    };
    let team = find_team(&state.store, &team).await?;
    let report = crate::reporting::weekly(
        &state.store,
        team.id,
        week,
        &state.settings.planning,
        &state.settings.forecast,
    )
    .await?;
    Ok(if markdown {
        (
            [(CONTENT_TYPE, HeaderValue::from_static(MARKDOWN))],
            report::to_markdown(&report),
        )
            .into_response()
    } else {
        Json(report).into_response()
    })
}
