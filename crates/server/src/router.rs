//! The whole application as one router: `/api/v1` (the JSON API), the
//! webhooks, the pages, `/healthz` and `/readyz`, and the layers every
//! request passes (path check, body limit, request id, tracing).
//!
//! Rules: every route under `/api/v1` is listed here and in `openapi.rs`'s
//! document; unknown routes and methods get the API's JSON errors (pages have
//! their own HTML fallback).

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::http::error;
use crate::openapi;
use crate::{AppState, api, slack, web, webhooks};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application as a router.
pub fn router(state: AppState) -> Router {
    use api::{admin, goals, metrics, org, planning, work};
    let body_limit = state.settings.server.body_limit_bytes;
    // Refused at load when malformed (`Settings::check`).
    let trusted_proxies = state
        .settings
        .server
        .trusted_proxy_nets()
        .unwrap_or_default();
    let v1 = Router::new()
        .route("/session", post(admin::sign_in).delete(admin::sign_out))
        .route("/me", get(admin::me))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/teams", get(org::list_teams).post(org::create_team))
        .route("/teams/{team}", get(org::get_team).patch(org::update_team))
        .route(
            "/projects",
            get(org::list_projects).post(org::create_project),
        )
        .route(
            "/projects/{project}",
            get(org::get_project).patch(org::update_project),
        )
        .route("/projects/{project}/scopes", get(org::list_scopes))
        .route(
            "/projects/{project}/scopes/{service}",
            axum::routing::put(org::put_scope).delete(org::delete_scope),
        )
        .route("/teams/{team}/members", get(org::list_members))
        .route(
            "/teams/{team}/policy",
            get(crate::api::focus::get_policy).put(crate::api::focus::put_policy),
        )
        .route(
            "/teams/{team}/calendars",
            get(crate::api::focus::list_calendars).post(crate::api::focus::add_calendar),
        )
        .route(
            "/teams/{team}/calendars/refresh",
            post(crate::api::focus::refresh_calendars),
        )
        .route("/teams/{team}/focus", get(crate::api::focus::team_focus))
        .route(
            "/teams/{team}/focus/trend",
            get(crate::api::focus::team_trend),
        )
        .route("/teams/{team}/focus/me", get(crate::api::focus::my_focus))
        .route("/teams/{team}/pulse", get(crate::api::pulse::team_pulse))
        .route(
            "/teams/{team}/pulse/config",
            get(crate::api::pulse::get_config).put(crate::api::pulse::put_config),
        )
        .route(
            "/teams/{team}/pulse/answers",
            post(crate::api::pulse::answer),
        )
        .route(
            "/teams/{team}/pulse/trend",
            get(crate::api::pulse::team_trend),
        )
        .route("/teams/{team}/pulse/ask", post(crate::api::pulse::ask))
        .route(
            "/teams/{team}/members/{username}",
            axum::routing::put(org::put_member).delete(org::delete_member),
        )
        .route("/goals", get(goals::list_goals).post(goals::create_goal))
        .route(
            "/goals/{id}",
            get(goals::get_goal).patch(goals::update_goal),
        )
        .route("/goals/{id}/versions", get(goals::goal_versions))
        .route("/goals/{id}/decision", post(goals::decide_goal))
        .route(
            "/goals/{id}/document",
            get(api::documents::get_document).put(api::documents::put_document),
        )
        .route("/goals/achievement", get(api::forecasts::achievement))
        .route("/goals/{id}/forecast", get(api::forecasts::goal_forecast))
        .route("/risks/check", post(api::forecasts::run_checks))
        .route("/risks/{id}/history", get(api::forecasts::risk_history))
        .route("/agenda", get(api::forecasts::agenda))
        .route("/goals/{id}/plan", get(planning::plan))
        .route("/backlog", get(planning::backlog))
        .route("/teams/{team}/debt", get(planning::team_debt))
        .route("/delivery/dora", get(api::delivery_metrics::dora))
        .route("/delivery/lead-time", get(api::delivery_metrics::lead_time))
        .route(
            "/delivery/review-time",
            get(api::delivery_metrics::review_time),
        )
        .route("/delivery/flow", get(api::delivery_metrics::flow))
        .route(
            "/delivery/cycle-time",
            get(api::delivery_metrics::cycle_time),
        )
        .route(
            "/delivery/throughput",
            get(api::delivery_metrics::throughput),
        )
        .route("/delivery/bugs", get(api::delivery_metrics::bugs))
        .route(
            "/delivery/debt-share",
            get(api::delivery_metrics::debt_share),
        )
        .route("/delivery/coverage", get(api::delivery_metrics::coverage))
        .route("/delivery/explain", get(api::delivery_metrics::explain))
        // The interface: the same metrics next to the stored series
        // (metric keys cannot take these names).
        .route("/metrics/dora", get(api::delivery_metrics::aliases::dora))
        .route(
            "/metrics/lead-time",
            get(api::delivery_metrics::aliases::lead_time),
        )
        .route(
            "/metrics/review-time",
            get(api::delivery_metrics::aliases::review_time),
        )
        .route("/metrics/flow", get(api::delivery_metrics::aliases::flow))
        .route(
            "/metrics/cycle-time",
            get(api::delivery_metrics::aliases::cycle_time),
        )
        .route(
            "/metrics/throughput",
            get(api::delivery_metrics::aliases::throughput),
        )
        .route("/metrics/bugs", get(api::delivery_metrics::aliases::bugs))
        .route(
            "/metrics/debt-share",
            get(api::delivery_metrics::aliases::debt_share),
        )
        .route(
            "/metrics/coverage",
            get(api::delivery_metrics::aliases::coverage),
        )
        .route(
            "/metrics/explain",
            get(api::delivery_metrics::aliases::explain),
        )
        .route("/kpis.csv", get(web::feed::kpis_csv))
        .route(
            "/teams/{team}/metrics.csv",
            get(web::feed::team_metrics_csv),
        )
        .route("/teams/{team}/reports/weekly", get(api::reports::weekly))
        .route(
            "/teams/{team}/reports/schedule",
            get(api::reports::get_schedule).put(api::reports::put_schedule),
        )
        .route(
            "/teams/{team}/reports/{week}/draft",
            get(api::reports::get_draft).patch(api::reports::edit_draft),
        )
        .route(
            "/teams/{team}/reports/{week}/approve",
            post(api::reports::approve),
        )
        .route(
            "/teams/{team}/reports/{week}/send",
            post(api::reports::send),
        )
        .route(
            "/teams/{team}/reports/{week}/archive",
            get(api::reports::get_archived),
        )
        .route("/reports/archive", get(api::reports::list_archive))
        .route("/work-items/{id}/context", get(planning::context))
        .route("/goals/{id}/{transition}", post(goals::transition_goal))
        .route("/stages", get(goals::list_stages).post(goals::create_stage))
        .route(
            "/stages/{id}",
            get(goals::get_stage).patch(goals::update_stage),
        )
        .route(
            "/work-items",
            get(work::list_work_items).post(work::create_work_item),
        )
        .route(
            "/work-items/{id}",
            get(work::get_work_item).patch(work::update_work_item),
        )
        .route("/risks", get(work::list_risks).post(work::create_risk))
        .route("/risks/{id}", get(work::get_risk).patch(work::update_risk))
        .route(
            "/decisions",
            get(work::list_decisions).post(work::create_decision),
        )
        .route(
            "/decisions/{id}",
            get(work::get_decision).patch(work::update_decision),
        )
        .route(
            "/decisions/{id}/publications",
            get(crate::api::publish::decision_publications),
        )
        .route(
            "/goals/{id}/publications",
            get(crate::api::publish::goal_publications),
        )
        .route("/publishers", get(crate::api::publish::publishers))
        .route(
            "/metrics",
            get(metrics::list_metrics).post(metrics::create_metric),
        )
        .route(
            "/metrics/{metric}",
            get(metrics::get_metric).patch(metrics::update_metric),
        )
        .route(
            "/metrics/{metric}/points",
            get(metrics::list_points).post(metrics::write_points),
        )
        .route(
            "/requests",
            get(api::requests::list_requests).post(api::requests::submit_request),
        )
        .route("/requests/{id}", get(api::requests::get_request))
        .route(
            "/requests/{id}/answers",
            post(api::requests::answer_request),
        )
        .route(
            "/requests/{id}/cost-of-yes",
            get(api::requests::cost_of_yes),
        )
        .route(
            "/requests/{id}/decision",
            post(api::requests::decide_request),
        )
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route(
            "/users/{username}",
            axum::routing::patch(admin::update_user),
        )
        .route("/tokens", get(admin::list_tokens).post(admin::create_token))
        .route("/tokens/{id}", axum::routing::delete(admin::revoke_token))
        .route("/audit", get(admin::list_audit))
        .route("/events/deployments", post(api::events::post_deployments))
        .route("/events/incidents", post(api::events::post_incidents))
        .route("/events/deployments/{id}", get(api::events::get_deployment))
        .route("/events/incidents/{id}", get(api::events::get_incident))
        .route(
            "/projects/{project}/webhook-secrets/{provider}",
            axum::routing::put(api::events::put_webhook_secret),
        )
        .route(
            "/checks",
            get(api::checks::list_checks).post(api::checks::define_check),
        )
        .route(
            "/checks/{name}",
            get(api::checks::get_check).delete(api::checks::delete_check),
        )
        .route("/checks/{name}/run", post(api::checks::run_check))
        .route("/checks/{name}/silence", post(api::checks::silence_check))
        .route("/checks/{name}/results", get(api::checks::check_results))
        .route("/checks/{name}/uptime", get(api::checks::check_uptime))
        .route("/incidents", get(api::checks::list_incidents))
        .route("/incidents/{id}", get(api::checks::get_incident))
        .route("/incidents/{id}/ack", post(api::checks::ack_incident))
        .route(
            "/incidents/{id}/front-line",
            get(api::frontline::incident_view),
        )
        .route(
            "/incidents/{id}/resolve",
            post(api::frontline::resolve_incident),
        )
        .route("/incidents/{id}/updates", post(api::frontline::post_update))
        .route(
            "/incidents/{id}/note",
            axum::routing::put(api::frontline::put_note),
        )
        .route("/status", get(api::frontline::status_page))
        .route("/status/{team}", get(api::frontline::team_status_page))
        .route(
            "/checks/{name}/disable",
            post(api::frontline::disable_check),
        )
        .route("/checks/{name}/enable", post(api::frontline::enable_check))
        .route(
            "/metrics/{metric}/source",
            get(api::frontline::get_source)
                .put(api::frontline::put_source)
                .delete(api::frontline::delete_source),
        )
        .route(
            "/metrics/{metric}/source/run",
            post(api::frontline::run_source),
        )
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed);

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::prometheus::metrics))
        .nest("/api/v1", v1)
        // Unauthenticated: the token in the path is the secret (api::checks).
        .route("/heartbeats/{token}", post(api::checks::heartbeat))
        .nest_service("/webhooks", webhooks::router(state.clone()))
        .nest("/slack", slack::router())
        .merge(web::router())
        .fallback(web::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One page cache for the pages and the CSV feeds (web::figures).
        .layer(axum::Extension(web::cache::PageCache::default()))
        .layer(axum::middleware::from_fn(crate::prometheus::count_requests))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(trusted_proxies),
            crate::http::auth::real_client,
        ))
        .layer(axum::middleware::from_fn(check_path))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn api_not_found() -> error::ApiError {
    error::ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::MethodNotAllowed
}

/// Refuses paths whose segments (ids, keys, usernames) are not text a
/// handler can use: not UTF-8 once percent-decoded, or containing NUL, which
/// PostgreSQL cannot store or compare. Query strings and bodies are checked
/// by their extractors.
async fn check_path(
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match percent_decoded(req.uri().path()) {
        None => error::ApiError::bad_request("the path is not UTF-8 once percent-decoded")
            .into_response(),
        Some(path) if path.contains('\0') => {
            error::ApiError::bad_request("the path contains a NUL character").into_response()
        }
        Some(_) => next.run(req).await,
    }
}

/// Headers every response gets, whatever route (or error) produced it:
/// - `Cache-Control: no-store` when the request carried credentials (a
///   token or a session cookie) or the response sets a cookie, unless the
///   handler chose a policy itself: such responses hold data for one
///   principal or a secret shown once (a new token, a webhook secret), and
///   no browser or proxy cache may keep them;
/// - `Strict-Transport-Security` when `public_url` is https, so a browser
///   that once reached Tandem over TLS never falls back to plain http.
async fn security_headers(
    State(state): State<AppState>,
    req: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key(header::COOKIE);
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if (credentials || headers.contains_key(header::SET_COOKIE))
        && !headers.contains_key(header::CACHE_CONTROL)
    {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.secure_cookies() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// `path` with `%XX` escapes decoded, if the result is UTF-8.
fn percent_decoded(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
}

/// Process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// Database reachable.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}
