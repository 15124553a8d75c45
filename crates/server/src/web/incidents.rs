//! `/incidents` and `/incidents/{id}`: the front line (issue 16, item 4).
//! The list of incidents of every source, and one incident's page: its
//! timeline, the service's last deployment and its commits (suspects),
//! acknowledge and resolve buttons, the business update box (Slack and the
//! status page) and the post-incident note. Members and up; the data is
//! `app::frontline::incident`, the same the API's
//! `GET /api/v1/incidents/{id}/front-line` answers. Alerts link here.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use tandem_app::frontline::{self, IncidentView};
use tandem_app::{AppError, events};
use tandem_domain::frontline::BusinessUpdateInput;
use tandem_store::IncidentEntry;

use super::admin::FormErrors;
use super::setup::absorb;
use super::view::Nav;
use super::{MemberViewer, PageForm, PageResult, Viewer, render, render_status, see_other};
use crate::AppState;

#[derive(Debug, Template)]
#[template(path = "incidents.html")]
pub struct IncidentsPage {
    pub nav: Nav,
    pub open_only: bool,
    pub incidents: Vec<IncidentEntry>,
}

/// `GET /incidents[?open=true]`.
pub async fn list(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let open_only = pairs.iter().any(|(k, v)| k == "open" && v == "true");
    let incidents = events::list_incidents(&state.store, open_only, 200).await?;
    render(&IncidentsPage {
        nav: viewer.nav("incidents"),
        open_only,
        incidents,
    })
}

/// The business update box as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateForm {
    pub csrf: String,
    pub affected: String,
    pub doing: String,
    /// `YYYY-MM-DDTHH:MM` (UTC), from a `datetime-local` input; may be empty.
    pub next_update_at: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteForm {
    pub csrf: String,
    pub body: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

#[derive(Debug, Template)]
#[template(path = "incident.html")]
pub struct IncidentPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub v: IncidentView,
    pub update: UpdateForm,
    pub update_errors: FormErrors,
    pub note: String,
    pub note_errors: FormErrors,
    /// Whether the note shown is the template (nothing stored yet).
    pub note_is_template: bool,
}

impl IncidentPage {
    /// The page's own address.
    pub fn path(&self) -> String {
        format!("/incidents/{}", self.v.incident.id)
    }
}

fn notice(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
    let code = pairs.iter().find(|(k, _)| k == "done").map(|(_, v)| v)?;
    Some(
        match code.as_str() {
            "acknowledged" => "Acknowledged: the team knows someone is on it.",
            "resolved" => "Resolved. Time to restore counts up to now.",
            "update-queued" => {
                "Business update shown on the status page and on its way to the stakeholders' Slack channel (its state is under Business update)."
            }
            "update-stored" => {
                "Business update stored and shown on the status page; no Slack channel is configured for it."
            }
            "note-saved" => "Post-incident note saved.",
            _ => return None,
        }
        .to_owned(),
    )
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    notice: Option<String>,
    update: UpdateForm,
    update_errors: FormErrors,
    note: Option<String>,
    note_errors: FormErrors,
) -> PageResult<IncidentPage> {
    let v = frontline::incident(&state.store, &state.settings, id).await?;
    let (note, note_is_template) = match (note, &v.note) {
        (Some(typed), _) => (typed, false),
        (None, Some(stored)) => (stored.body.clone(), false),
        (None, None) => (frontline::note_template(&v), true),
    };
    Ok(IncidentPage {
        nav: viewer.nav("incidents"),
        notice,
        v,
        update,
        update_errors,
        note,
        note_errors,
        note_is_template,
    })
}

/// `GET /incidents/{id}`.
pub async fn show(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let p = page(
        &state,
        &viewer,
        &id,
        notice(query.as_deref()),
        UpdateForm::default(),
        FormErrors::default(),
        None,
        FormErrors::default(),
    )
    .await?;
    render(&p)
}

/// `POST /incidents/{id}/ack`.
pub async fn acknowledge(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let i = events::acknowledge(&state.store, &id, &viewer.user.username, Utc::now()).await?;
    Ok(see_other(&format!("/incidents/{}?done=acknowledged", i.id)))
}

/// `POST /incidents/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let i = frontline::resolve(&state.store, &id, None, Utc::now()).await?;
    Ok(see_other(&format!("/incidents/{}?done=resolved", i.id)))
}

/// `POST /incidents/{id}/updates`: the business update box.
pub async fn post_update(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<UpdateForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let next = match form.next_update_at.trim() {
        "" => None,
        t => match NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        {
            Ok(n) => Some(DateTime::<Utc>::from_naive_utc_and_offset(n, Utc)),
            Err(_) => {
                errors.fields.insert(
                    "next_update_at".into(),
                    format!("{t:?} is not a date and time (YYYY-MM-DDTHH:MM, UTC)."),
                );
                None
            }
        },
    };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let input = BusinessUpdateInput {
            affected: form.affected.clone(),
            doing: form.doing.clone(),
            next_update_at: next,
        };
        match frontline::post_business_update(
            &state.store,
            &state.settings,
            &id,
            input,
            &viewer.user.username,
            Utc::now(),
        )
        .await
        {
            Ok(u) => {
                let done = if u.slack_outcome == tandem_store::UPDATE_PENDING {
                    "update-queued"
                } else {
                    "update-stored"
                };
                return Ok(see_other(&format!(
                    "/incidents/{}?done={done}",
                    u.incident_id
                )));
            }
            Err(e @ AppError::NotFound(_)) => return Err(e.into()),
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let p = page(
        &state,
        &viewer,
        &id,
        None,
        form,
        errors,
        None,
        FormErrors::default(),
    )
    .await?;
    render_status(status, &p)
}

/// `POST /incidents/{id}/note`: saves the post-incident note.
pub async fn save_note(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<NoteForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    match frontline::save_note(
        &state.store,
        &id,
        &form.body,
        &viewer.user.username,
        Utc::now(),
    )
    .await
    {
        Ok(n) => Ok(see_other(&format!(
            "/incidents/{}?done=note-saved",
            n.incident_id
        ))),
        Err(e @ AppError::NotFound(_)) => Err(e.into()),
        Err(e) => {
            let mut errors = FormErrors::default();
            let status = absorb(&mut errors, e)?;
            let p = page(
                &state,
                &viewer,
                &id,
                None,
                UpdateForm::default(),
                FormErrors::default(),
                Some(form.body),
                errors,
            )
            .await?;
            render_status(status, &p)
        }
    }
}
