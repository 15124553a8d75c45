//! Spreadsheet feeds: `GET /api/v1/kpis.csv` and
//! `GET /api/v1/teams/{team}/metrics.csv`, CSV a spreadsheet's
//! import-from-URL function (Google Sheets `IMPORTDATA`, Excel "From Web")
//! can read.
//!
//! Such functions cannot send headers, so these two routes — and only these
//! — also accept the API token as a query parameter, `?token=tdm_…`. Any
//! role from stakeholder up may read them; the routes only read, so a token
//! pasted into a spreadsheet can do nothing else through them, and an admin
//! revokes it like any token (`/admin/tokens`). Give spreadsheets a
//! stakeholder token of their own: the URL (and so the token) is visible to
//! everyone who can open the sheet. A bearer header or a session cookie
//! works as well.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tandem_domain::metric::{Audience, Metric};
use tandem_store::ListQuery;

use super::cache::PageCache;
use super::{data, figures};
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiQuery;
use axum::Extension;
use tandem_app::{lookup, paging};

/// Query of the CSV feeds.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// An API token (`tdm_…`), for clients that cannot send an
    /// `Authorization` header. Accepted on the CSV feeds only.
    pub token: Option<String>,
}

/// The caller of a feed: the usual [`Principal`], where a `?token=` counts
/// as `Authorization: Bearer`.
#[derive(Debug)]
pub struct FeedReader(pub Principal);

impl FromRequestParts<AppState> for FeedReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiQuery(params) = ApiQuery::<FeedParams>::from_request_parts(parts, state).await?;
        if let Some(token) = params.token {
            if parts.headers.contains_key(header::AUTHORIZATION) {
                return Err(ApiError::bad_field(
                    "token",
                    "send the token either as ?token= or in the Authorization header, not both",
                ));
            }
            let value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .map_err(|_| ApiError::bad_field("token", "the token is not a valid token"))?;
            // Authenticate exactly as a bearer token is (lookup, revocation,
            // last-used time), on a copy of the request head.
            let mut copy = parts.clone();
            copy.headers.insert(header::AUTHORIZATION, value);
            copy.headers.remove(header::COOKIE);
            return Ok(FeedReader(
                Principal::from_request_parts(&mut copy, state).await?,
            ));
        }
        Ok(FeedReader(
            Principal::from_request_parts(parts, state).await?,
        ))
    }
}

const CSV: &str = "text/csv; charset=utf-8";

fn csv_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, CSV.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

fn csv_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::Unexpected(anyhow::anyhow!("writing CSV: {e}"))
}

/// A plain number without float noise: 0.28, never 0.2799999999999998
/// (six decimals at most, trailing zeros dropped).
fn num(v: Option<f64>) -> String {
    num_at(v, 6)
}

/// `v` rounded to `decimals` places, printed plainly (no trailing zeros).
fn num_at(v: Option<f64>, decimals: usize) -> String {
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(6));
    v.map_or_else(String::new, |v| ((v * scale).round() / scale).to_string())
}

/// A series' precision: the most decimals any of its values has (after
/// float noise is rounded away), at most four. Derived numbers (a change,
/// a weekly mean) are written with it, so `2.6 − 2.32` is `0.28`.
fn precision(values: impl IntoIterator<Item = f64>) -> usize {
    values
        .into_iter()
        .map(|v| {
            let text = num(Some(v));
            text.split_once('.').map_or(0, |(_, frac)| frac.len())
        })
        .max()
        .unwrap_or(0)
        .min(4)
}

fn day(d: Option<NaiveDate>) -> String {
    d.map_or_else(String::new, |d| d.to_string())
}

/// Every business-audience metric with its latest value, its target (from
/// the active goal that measures it) and its 12-week change. One row per
/// KPI; numbers are plain (`.` decimal point, no grouping) so spreadsheets
/// parse them.
#[utoipa::path(get, path = "/api/v1/kpis.csv", tag = "feeds", params(FeedParams),
    security(("bearer" = []), ("session" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "columns: key, name, unit, direction, value, measured_at, \
            target, target_deadline, value_12_weeks_ago, change_12_weeks", content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn kpis_csv(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    _: FeedReader,
) -> ApiResult<Response> {
    // The figures are the overview cards' (web::figures); the file is kept
    // with them, per delivery data version.
    let version = figures::version(&state).await?;
    let bytes = cache
        .get_or_try(format!("kpis.csv:{version}"), || {
            kpis_csv_bytes(&state, &cache, version)
        })
        .await?;
    Ok(csv_response(bytes.to_vec(), "kpis.csv"))
}

async fn kpis_csv_bytes(state: &AppState, cache: &PageCache, version: i64) -> ApiResult<Vec<u8>> {
    let store = &state.store;
    let now = Utc::now();
    let goals = data::active_goals(store, None).await?;
    let metrics = all_metrics(state).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "key",
        "name",
        "unit",
        "direction",
        "value",
        "measured_at",
        "target",
        "target_deadline",
        "value_12_weeks_ago",
        "change_12_weeks",
    ])
    .map_err(csv_error)?;
    for m in metrics.iter().filter(|m| m.audience == Audience::Business) {
        let (series, latest) = data::weekly_series(state, cache, m, now, version).await?;
        let first = series.first().map(|p| p.1);
        let target = goals
            .iter()
            .flat_map(|g| g.success_metrics.iter())
            .find(|s| s.metric_key.as_deref() == Some(m.key.as_str()) && s.target.is_some());
        let value = latest.as_ref().map(|p| p.value);
        let p = precision(series.iter().map(|p| p.1).chain(value));
        let num = |v: Option<f64>| num_at(v, p);
        out.write_record([
            m.key.clone(),
            m.name.clone(),
            m.unit.clone(),
            m.direction.to_string(),
            num(value),
            latest
                .as_ref()
                .map_or_else(String::new, |p| p.as_of.to_rfc3339()),
            num_at(target.and_then(|t| t.target), 6),
            day(target.and_then(|t| t.deadline)),
            num(first),
            num(value.zip(first).map(|(v, f)| v - f)),
        ])
        .map_err(csv_error)?;
    }
    out.into_inner().map_err(csv_error)
}

async fn all_metrics(state: &AppState) -> ApiResult<Vec<Metric>> {
    let store = &state.store;
    Ok(paging::all(ListQuery::default(), |q| async move {
        store.list_metrics(&q).await
    })
    .await?)
}

/// A team's weekly numbers for the last 12 weeks, one row per week and
/// measure: items done, median cycle time in days, and every metric series
/// that belongs to the team (its value at the end of the week).
#[utoipa::path(get, path = "/api/v1/teams/{team}/metrics.csv", tag = "feeds",
    params(("team" = String, Path, description = "Team id or key", example = "payments"), FeedParams),
    security(("bearer" = []), ("session" = []), ("token_query" = [])),
    responses(
        (status = 200, description = "columns: week_start, measure, name, unit, value", content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn team_metrics_csv(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    _: FeedReader,
    Path(team): Path<String>,
) -> ApiResult<Response> {
    let team = lookup::team(&state.store, &team).await?;
    // The team page's own figures (its cache entry, web::teams::cached),
    // so the file and the page never disagree; the file is kept with them.
    let page = super::teams::cached(&state, &cache, &team).await?;
    let version = page.version;
    let bytes = cache
        .get_or_try(format!("metrics.csv:{}:{version}", team.id), || {
            team_csv_bytes(&state, &cache, &team, &page)
        })
        .await?;
    Ok(csv_response(
        bytes.to_vec(),
        &format!("{}-metrics.csv", team.key),
    ))
}

async fn team_csv_bytes(
    state: &AppState,
    cache: &PageCache,
    team: &tandem_domain::team::Team,
    page: &super::teams::TeamPage,
) -> ApiResult<Vec<u8>> {
    let now = Utc::now();
    let (throughput, cycle) = (page.throughput.clone(), page.cycle.clone());
    let mut rows: Vec<(NaiveDate, String, String, String, f64)> = Vec::new();
    for (week, v) in throughput {
        rows.push((
            week,
            "throughput".into(),
            "Items done".into(),
            "items".into(),
            v,
        ));
    }
    for (week, v) in cycle {
        rows.push((
            week,
            "cycle-time".into(),
            "Median cycle time".into(),
            "days".into(),
            v,
        ));
    }
    for m in all_metrics(state)
        .await?
        .iter()
        .filter(|m| m.team_id == Some(team.id))
    {
        let (series, _) = data::weekly_series(state, cache, m, now, page.version).await?;
        for (week_start, v) in series {
            rows.push((week_start, m.key.clone(), m.name.clone(), m.unit.clone(), v));
        }
    }
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["week_start", "measure", "name", "unit", "value"])
        .map_err(csv_error)?;
    // Each measure at its own precision (cycle time in days at two
    // decimals at most; a series at the most its values have).
    let mut precisions: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (_, key, _, _, value) in &rows {
        let p = precision([*value]);
        let e = precisions.entry(key.clone()).or_insert(0);
        *e = (*e).max(p);
    }
    for (week, key, name, unit, value) in rows {
        let p = if key == "cycle-time" {
            2
        } else {
            precisions[&key]
        };
        out.write_record([week.to_string(), key, name, unit, num_at(Some(value), p)])
            .map_err(csv_error)?;
    }
    out.into_inner().map_err(csv_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_series_precision() {
        assert_eq!(num(Some(0.279_999_999_999_999_8)), "0.28");
        let p = precision([2.6, 2.32, 2.5]);
        assert_eq!(p, 2);
        assert_eq!(num_at(Some(2.6 - 2.32), p), "0.28");
        assert_eq!(num_at(Some(10.0 / 3.0), precision([3.0, 4.0])), "3");
        assert_eq!(precision([1.0 / 3.0]), 4);
        assert_eq!(num_at(None, 2), "");
    }
}
