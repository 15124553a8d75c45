//! The OpenAPI document, generated from the handlers' annotations. The
//! committed copy at `docs/openapi.json` is checked current by a test.

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api::events;
use crate::api::{admin, documents, forecasts, goals, metrics, org, planning, reports, work};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Tandem API", description = "Keep software development and the business in step."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    paths(
        admin::sign_in, admin::sign_out, admin::me,
        org::list_teams, org::create_team, org::get_team, org::update_team,
        org::list_projects, org::create_project, org::get_project, org::update_project,
        goals::list_goals, goals::create_goal, goals::get_goal, goals::update_goal,
        goals::transition_goal, goals::goal_versions,
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
        crate::api::delivery_metrics::dora, crate::api::delivery_metrics::lead_time,
        crate::api::delivery_metrics::review_time, crate::api::delivery_metrics::flow,
        crate::api::delivery_metrics::coverage, crate::api::delivery_metrics::explain,
        crate::api::delivery_metrics::aliases::dora,
        crate::api::delivery_metrics::aliases::lead_time,
        crate::api::delivery_metrics::aliases::review_time,
        crate::api::delivery_metrics::aliases::flow,
        crate::api::delivery_metrics::aliases::coverage,
        crate::api::delivery_metrics::aliases::explain,
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
