//! `/status` and `/status/{team}`: the status page (issue 16, item 5; ADR
//! 0031): each service's state now and its 90-day uptime, and the latest
//! business updates, from `app::status::page` (the same data as
//! `GET /api/v1/status`).
//!
//! Who may read it: anyone when `[status_page]` makes the page public
//! (`public` for `/status`, `public_teams` for `/status/{team}`; both off by
//! default), else signed-in people of any role (a visitor is sent to sign
//! in). A public page shows only services, states, uptime and the business
//! updates people wrote for the business; no incident titles, no names.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use tandem_app::status::{self, StatusPage};

use super::{PageError, PageResult, Viewer, render};
use crate::AppState;

#[derive(Debug, Template)]
#[template(path = "status.html")]
pub struct StatusView {
    pub page: StatusPage,
    pub rows: Vec<Row>,
    /// Signed in (shows a way back into Tandem).
    pub signed_in: bool,
}

/// One service as shown.
#[derive(Debug)]
pub struct Row {
    pub service: String,
    pub state: String,
    pub tone: &'static str,
    /// `99.982 %` or `no data`.
    pub uptime: String,
}

fn rows(page: &StatusPage) -> Vec<Row> {
    use tandem_domain::frontline::ServiceState::*;
    page.services
        .iter()
        .map(|s| Row {
            service: s.service.clone(),
            state: s.state.to_string(),
            tone: match s.state {
                Operational => "good",
                Down => "bad",
                Unknown => "unknown",
            },
            uptime: s
                .uptime
                .availability
                .map_or_else(|| "no data".to_owned(), |a| format!("{:.3} %", a * 100.0)),
        })
        .collect()
}

async fn show(
    state: AppState,
    viewer: Result<Viewer, PageError>,
    team: Option<String>,
) -> PageResult<Response> {
    let public = state.settings.status_page.is_public(team.as_deref());
    let signed_in = match viewer {
        Ok(_) => true,
        Err(_) if public => false,
        Err(e) => return Err(e),
    };
    let page = status::page(&state.store, &state.settings, team.as_deref(), Utc::now()).await?;
    render(&StatusView {
        rows: rows(&page),
        page,
        signed_in,
    })
}

/// `GET /status`: every service.
pub async fn organisation(
    State(state): State<AppState>,
    viewer: Result<Viewer, PageError>,
) -> PageResult<Response> {
    show(state, viewer, None).await
}

/// `GET /status/{team}`: one team's services.
pub async fn team(
    State(state): State<AppState>,
    viewer: Result<Viewer, PageError>,
    Path(team): Path<String>,
) -> PageResult<Response> {
    show(state, viewer, Some(team)).await
}
