//! `GET /metrics` in the Prometheus (OpenMetrics text) exposition format,
//! and the middleware that counts every request by its route template
//! (ADR 0020; every series is defined in docs/metrics.md).
//!
//! The body is Tandem's own metrics (`tandem_app::telemetry`: process,
//! HTTP, background jobs) followed by the computed gauges
//! (`tandem_app::exported`: DORA, open incidents, goal forecasts, tech-debt
//! share), which are cached for `prometheus.refresh_seconds`.
//!
//! Access: `Authorization: Bearer <prometheus.scrape_token>` (compared in
//! constant time), or an admin's API token. Without a configured scrape
//! token only admins can read it; anything else is 401/403 before any
//! figure is computed.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tandem_domain::user::Role;

use crate::AppState;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};

/// The OpenMetrics text format, which `prometheus-client` writes and
/// Prometheus asks for first.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format (0.0.4), for every other client
/// (`curl`, `promtool check metrics`).
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: OpenMetrics when the `Accept` header asks for it, else
/// the classic text format.
pub async fn metrics(State(state): State<AppState>, mut parts: Parts) -> ApiResult<Response> {
    authorise(&state, &mut parts).await?;
    let openmetrics = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let mut out = String::with_capacity(16 * 1024);
    let encoded = |e: std::fmt::Error| ApiError::Unexpected(anyhow::anyhow!("encoding: {e}"));
    tandem_app::telemetry::encode(&mut out).map_err(encoded)?;
    let computed = state.exported.text(&state.store, &state.settings).await?;
    out.push_str(&computed);
    prometheus_client::encoding::text::encode_eof(&mut out).map_err(encoded)?;
    let (body, content_type) = if openmetrics {
        (out, OPENMETRICS)
    } else {
        (classic(&out), TEXT)
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// OpenMetrics text as the classic text format: a counter family `x`
/// (samples `x_total`) is named `x_total` in its `# HELP` and `# TYPE`
/// lines, and the `# UNIT` and `# EOF` lines (OpenMetrics only) are left
/// out. Samples are written the same way in both formats.
pub fn classic(openmetrics: &str) -> String {
    let lines: Vec<&str> = openmetrics.lines().collect();
    let mut counters = std::collections::HashSet::new();
    for l in &lines {
        if let Some(name) = l
            .strip_prefix("# TYPE ")
            .and_then(|r| r.strip_suffix(" counter"))
        {
            counters.insert(name);
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for l in lines {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = l.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        match renamed {
            Some(r) => out.push_str(r.trim_end()),
            None => out.push_str(l),
        }
        out.push('\n');
    }
    out
}

/// The scrape token, else an admin's API token (or session).
async fn authorise(state: &AppState, parts: &mut Parts) -> ApiResult<()> {
    if let Some(configured) = state.settings.prometheus.scrape_token() {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        if let Some(presented) = presented
            && tandem_app::credentials::secrets_match(presented, &configured)
        {
            return Ok(());
        }
    }
    let principal = Principal::from_request_parts(parts, state)
        .await
        .map_err(|e| match e {
            ApiError::Unauthorized(_) => ApiError::Unauthorized(
                "send the scrape token ([prometheus] scrape_token) or an admin's API token \
                 as Authorization: Bearer …",
            ),
            other => other,
        })?;
    principal.require(Role::Admin)
}

/// Counts the request in `tandem_http_requests_total` and its duration in
/// `tandem_http_request_duration_seconds`, labelled by the route template
/// (`unmatched` when no route took it), so the label set stays bounded.
pub async fn count_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| route_template(p.as_str()))
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    tandem_app::telemetry::record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// A matched path as a label: a nested service's catch-all tail is cut
/// (`/webhooks/{*rest}` → `/webhooks`).
fn route_template(matched: &str) -> String {
    match matched.find("/{*") {
        Some(i) => matched[..i].to_owned(),
        None => matched.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{classic, route_template};

    #[test]
    fn counters_are_renamed_for_the_classic_format() {
        let om = "# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests_total{a=\"b\"} 1\n\
                  # HELP g A gauge.\n# TYPE g gauge\n# UNIT g seconds\ng 2.0\n# EOF\n";
        assert_eq!(
            classic(om),
            "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\n\
             x_requests_total{a=\"b\"} 1\n# HELP g A gauge.\n# TYPE g gauge\ng 2.0\n"
        );
    }

    #[test]
    fn catch_all_tails_are_cut() {
        assert_eq!(route_template("/api/v1/goals/{id}"), "/api/v1/goals/{id}");
        assert_eq!(
            route_template("/webhooks/{*__private__axum_nest_tail_param}"),
            "/webhooks"
        );
    }
}
