//! The OpenAPI document, generated from the handlers' annotations. The
//! committed copy at `docs/openapi.json` is checked current by a test.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api::events;
use crate::api::{admin, documents, forecasts, goals, metrics, org, planning, reports, work};
use crate::http::auth::Principal;
use crate::http::error::ApiResult;

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Tandem API", description = "Keep software development and the business in step."),
    modifiers(&Security, &CommonResponses),
    security(("bearer" = []), ("session" = [])),
    // Types named only by parameters, which utoipa refers to without
    // collecting them (`every_reference_resolves` checks).
    components(schemas(
        tandem_domain::goal::GoalTransition,
        tandem_domain::engineering::Provider,
        tandem_domain::dora::Bucket,
        tandem_domain::dora::ExplainMetric,
        crate::api::reports::Format,
    )),
    paths(
        admin::sign_in, admin::sign_out, admin::me, openapi_json,
        org::list_teams, org::create_team, org::get_team, org::update_team,
        org::list_projects, org::create_project, org::get_project, org::update_project,
        org::list_members, org::put_member, org::delete_member,
        org::list_scopes, org::put_scope, org::delete_scope,
        goals::list_goals, goals::create_goal, goals::get_goal, goals::update_goal,
        goals::transition_goal, goals::decide_goal, goals::goal_versions,
        documents::get_document, documents::put_document,
        goals::list_stages, goals::create_stage, goals::get_stage, goals::update_stage,
        work::list_work_items, work::create_work_item, work::get_work_item, work::update_work_item,
        work::list_risks, work::create_risk, work::get_risk, work::update_risk,
        work::list_decisions, work::create_decision, work::get_decision, work::update_decision,
        metrics::list_metrics, metrics::create_metric, metrics::get_metric, metrics::update_metric,
        metrics::list_points, metrics::write_points,
        planning::backlog, planning::team_debt, planning::plan, planning::context,
        admin::list_users, admin::create_user, admin::update_user,
        admin::list_tokens, admin::create_token, admin::revoke_token, admin::list_audit,
        forecasts::goal_forecast, forecasts::achievement, forecasts::run_checks, forecasts::risk_history, forecasts::agenda,
        crate::web::feed::kpis_csv, crate::web::feed::team_metrics_csv,
        reports::weekly, reports::get_draft, reports::edit_draft, reports::approve, reports::send,
        reports::get_schedule, reports::put_schedule, reports::list_archive, reports::get_archived,
        events::post_deployments, events::post_incidents, events::put_webhook_secret,
        events::get_deployment, events::get_incident,
        crate::api::requests::list_requests, crate::api::requests::submit_request,
        crate::api::requests::get_request, crate::api::requests::answer_request,
        crate::api::requests::cost_of_yes, crate::api::requests::decide_request,
        crate::api::checks::list_checks, crate::api::checks::define_check,
        crate::api::checks::get_check, crate::api::checks::delete_check,
        crate::api::checks::run_check, crate::api::checks::silence_check,
        crate::api::checks::check_results, crate::api::checks::check_uptime,
        crate::api::checks::list_incidents,
        crate::api::checks::get_incident, crate::api::checks::ack_incident,
        crate::api::frontline::incident_view, crate::api::frontline::resolve_incident,
        crate::api::frontline::post_update, crate::api::frontline::put_note,
        crate::api::frontline::status_page, crate::api::frontline::team_status_page,
        crate::api::frontline::disable_check, crate::api::frontline::enable_check,
        crate::api::frontline::get_source, crate::api::frontline::put_source,
        crate::api::frontline::delete_source, crate::api::frontline::run_source,
        crate::api::delivery_metrics::dora, crate::api::delivery_metrics::lead_time,
        crate::api::delivery_metrics::review_time, crate::api::delivery_metrics::flow,
        crate::api::delivery_metrics::cycle_time, crate::api::delivery_metrics::throughput,
        crate::api::delivery_metrics::bugs, crate::api::delivery_metrics::debt_share,
        crate::api::delivery_metrics::coverage, crate::api::delivery_metrics::explain,
        crate::api::delivery_metrics::aliases::dora,
        crate::api::delivery_metrics::aliases::lead_time,
        crate::api::delivery_metrics::aliases::review_time,
        crate::api::delivery_metrics::aliases::flow,
        crate::api::delivery_metrics::aliases::cycle_time,
        crate::api::delivery_metrics::aliases::throughput,
        crate::api::delivery_metrics::aliases::bugs,
        crate::api::delivery_metrics::aliases::debt_share,
        crate::api::delivery_metrics::aliases::coverage,
        crate::api::delivery_metrics::aliases::explain,
        crate::api::focus::get_policy, crate::api::focus::put_policy,
        crate::api::focus::list_calendars, crate::api::focus::add_calendar,
        crate::api::focus::refresh_calendars, crate::api::focus::team_focus,
        crate::api::focus::team_trend, crate::api::focus::my_focus,
        crate::api::pulse::get_config, crate::api::pulse::put_config,
        crate::api::pulse::answer, crate::api::pulse::team_pulse,
        crate::api::pulse::team_trend, crate::api::pulse::ask,
        crate::api::publish::goal_publications, crate::api::publish::decision_publications,
        crate::api::publish::publishers,
    )
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::http::auth::SESSION_COOKIE,
            ))),
        );
        // Only the CSV feeds (`web::feed`) accept a token in the query.
        components.add_security_scheme(
            "token_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
        );
    }
}

/// The answers every operation can give whatever its handler does, added
/// where the handler's annotation does not name them (so a client knows them
/// all): 401 without valid credentials (all but signing in); 400 for a bad
/// path segment (`router::check_path`) or query string (`ApiQuery`); for a
/// JSON body (`ApiJson`) 400 malformed, 413 too large, 415 not JSON, 422
/// wrong shape. Every response gets a description, which OpenAPI requires
/// (utoipa leaves it out when the annotation has none): its reason phrase.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterIn};
        use utoipa::openapi::{Content, Ref, RefOr, Response};

        let error = |description: String| -> RefOr<Response> {
            let mut response = Response::new(description);
            response.content.insert(
                "application/json".to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("ErrorBody")))),
            );
            RefOr::T(response)
        };
        let visit = |op: &mut Operation| {
            let params = op.parameters.iter().flatten().filter_map(|p| match p {
                RefOr::T(p) => Some(p.parameter_in.clone()),
                RefOr::Ref(_) => None,
            });
            let (mut path_params, mut query_params) = (false, false);
            for place in params {
                path_params |= place == ParameterIn::Path;
                query_params |= place == ParameterIn::Query;
            }
            let open = op.security.as_ref().is_some_and(|reqs| {
                reqs.iter().any(|r| {
                    serde_json::to_value(r)
                        .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
                })
            });
            let mut common: Vec<(&str, &str)> = Vec::new();
            if path_params {
                common.push(("400", "a path segment that is not text (not UTF-8, or NUL)"));
            }
            if query_params {
                common.push((
                    "400",
                    "a malformed, unknown or missing query parameter; `field` names it",
                ));
            }
            if op.request_body.is_some() {
                common.push(("400", "malformed JSON"));
                common.push(("413", "the body is larger than `server.body_limit_bytes`"));
                common.push(("415", "the body is not `Content-Type: application/json`"));
                common.push((
                    "422",
                    "the body has the wrong shape or breaks a rule; `field` names the field",
                ));
            }
            if !open {
                common.push((
                    "401",
                    "no valid credentials (bearer token or session cookie)",
                ));
            }
            let mut by_status = std::collections::BTreeMap::<&str, Vec<&str>>::new();
            for (status, description) in common {
                by_status.entry(status).or_default().push(description);
            }
            let responses = &mut op.responses.responses;
            for (status, descriptions) in by_status {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(descriptions.join("; ")));
            }
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = reason(status).to_owned();
                }
            }
        };
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                visit(op);
            }
        }
    }
}

/// The reason phrase of a status given as text (`"404"` → `Not Found`).
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Response")
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, body = Object, description = "the OpenAPI document of `/api/v1`")))]
pub(crate) async fn openapi_json(_who: Principal) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(document()))
}

/// The document as JSON, with a stable version string.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    serde_json::to_value(&doc).expect("the OpenAPI document serialises")
}

/// The document as pretty JSON with a trailing newline, as committed.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("serialises");
    text.push('\n');
    text
}
