//! Business request pages: the form anyone signed in may use
//! (`/requests/new`, source `web`), a request's page (its questions, with a
//! form to answer them, criticality, waiting time and the messages to the
//! requester; for managers the cost of yes and the decision form), and the
//! managers' triage queue (`/requests`). All through `tandem_app::requests`.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tandem_app::requests::{self, CostOfYes, PlacementInput, Queue, RequestView};
use tandem_domain::request::{
    Answers, DecisionInput, NewRequest, RequestDecisionKind, RequestSource, RequestUrgency,
};
use tandem_domain::risk::Level;
use tandem_domain::user::Role;
use tandem_domain::work_item::Priority;

use crate::AppState;
use crate::api::path_id;
use crate::api::requests::{QueueParams, queue_filter};
use crate::web::admin::FormErrors;
use crate::web::overview::all_teams;
use crate::web::setup::absorb;
use crate::web::view::Nav;
use crate::web::{
    ManagerViewer, PageError, PageForm, PageResult, Viewer, render, render_status, see_other,
};

/// A select option.
#[derive(Debug)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn opts(values: &[(&str, &str)], selected: &str) -> Vec<Opt> {
    values
        .iter()
        .map(|(v, l)| Opt {
            value: (*v).to_owned(),
            label: (*l).to_owned(),
            selected: *v == selected,
        })
        .collect()
}

async fn team_opts(state: &AppState, selected: &str, any: bool) -> PageResult<Vec<Opt>> {
    let mut out = Vec::new();
    if any {
        out.push(Opt {
            value: String::new(),
            label: "Any team".into(),
            selected: selected.is_empty(),
        });
    }
    for t in all_teams(state).await? {
        out.push(Opt {
            selected: t.key == selected,
            value: t.key,
            label: t.name,
        });
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    pub csrf: String,
    pub team: String,
    pub title: String,
    pub description: String,
    pub urgency: String,
    pub impact: String,
    pub complexity: String,
    pub business_goal: String,
    pub success_measure: String,
    pub deadline: String,
    pub if_not_done: String,
}

#[derive(Debug, Template)]
#[template(path = "request_new.html")]
pub struct NewPage {
    pub nav: Nav,
    pub form: RequestForm,
    pub errors: FormErrors,
    pub teams: Vec<Opt>,
    pub urgencies: Vec<Opt>,
    pub impacts: Vec<Opt>,
    pub complexities: Vec<Opt>,
}

const LEVELS: &[(&str, &str)] = &[
    ("", "Not rated"),
    ("low", "Low"),
    ("medium", "Medium"),
    ("high", "High"),
];
const URGENCIES: &[(&str, &str)] = &[
    ("normal", "Normal: decided at the next product sync"),
    ("outage", "Production outage: P0 now"),
    ("security", "Security issue: P0 now"),
];

async fn new_page(
    state: &AppState,
    viewer: &Viewer,
    form: RequestForm,
    errors: FormErrors,
) -> PageResult<NewPage> {
    Ok(NewPage {
        nav: viewer.nav("requests"),
        teams: team_opts(state, &form.team, false).await?,
        urgencies: opts(
            URGENCIES,
            if form.urgency.is_empty() {
                "normal"
            } else {
                &form.urgency
            },
        ),
        impacts: opts(LEVELS, &form.impact),
        complexities: opts(LEVELS, &form.complexity),
        form,
        errors,
    })
}

/// `GET /requests/new`: the request form.
pub async fn new_form(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    render(
        &new_page(
            &state,
            &viewer,
            RequestForm::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

fn text(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `POST /requests`: submits a request from the form (source `web`).
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    PageForm(form): PageForm<RequestForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let team = match tandem_app::lookup::team(&state.store, form.team.trim()).await {
        Ok(t) => Some(t),
        Err(_) => {
            errors.fields.insert(
                "team_id".into(),
                format!("There is no team {:?}.", form.team.trim()),
            );
            None
        }
    };
    let level = |field: &str, v: &str, errors: &mut FormErrors| -> Option<Level> {
        match v.trim() {
            "" => None,
            v => v
                .parse::<Level>()
                .map_err(|e| errors.fields.insert(field.into(), e))
                .ok(),
        }
    };
    let impact = level("impact", &form.impact, &mut errors);
    let complexity = level("complexity", &form.complexity, &mut errors);
    let urgency = form
        .urgency
        .parse::<RequestUrgency>()
        .map_err(|e| errors.fields.insert("urgency".into(), e))
        .ok();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(team), Some(urgency), true) = (team, urgency, errors.is_empty()) {
        let mut n = NewRequest::new(
            team.id,
            form.title.trim(),
            viewer.user.display_name.clone(),
            RequestSource::Web,
        );
        n.description = form.description.trim().to_owned();
        n.requester_user_id = Some(viewer.user.id);
        n.urgency = urgency;
        n.impact = impact;
        n.complexity = complexity;
        n.answers = Answers {
            business_goal: text(&form.business_goal),
            success_measure: text(&form.success_measure),
            deadline: text(&form.deadline),
            if_not_done: text(&form.if_not_done),
        };
        match requests::submit(&state.store, &state.settings, n).await {
            Ok(r) => return Ok(see_other(&format!("/requests/{}", r.id))),
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    render_status(status, &new_page(&state, &viewer, form, errors).await?)
}

#[derive(Debug, Template)]
#[template(path = "request.html")]
pub struct RequestPage {
    pub nav: Nav,
    pub v: RequestView,
    pub manager: bool,
    pub errors: FormErrors,
    pub cost: Option<CostOfYes>,
    pub cost_error: Option<String>,
    pub placement: CostForm,
    pub priorities: Vec<Opt>,
    pub kinds: Vec<Opt>,
    pub target: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CostForm {
    pub priority: String,
    pub size: String,
    pub size_max: String,
}

const PRIORITIES: &[(&str, &str)] = &[("P0", "P0"), ("P1", "P1"), ("P2", "P2"), ("P3", "P3")];
const KINDS: &[(&str, &str)] = &[
    ("accept", "Accept: draft a goal with the answers"),
    ("postpone", "Postpone (to a date, or the next sync)"),
    ("decline", "Decline (reason required)"),
    ("duplicate", "Merge as a duplicate"),
    ("ask_info", "Ask for more information"),
];

fn number(field: &str, v: &str, errors: &mut FormErrors) -> Option<u32> {
    match v.trim() {
        "" => None,
        v => v
            .parse::<u32>()
            .map_err(|_| {
                errors.fields.insert(
                    field.into(),
                    format!("{v:?} is not a whole number of items."),
                )
            })
            .ok(),
    }
}

async fn request_page(
    state: &AppState,
    viewer: &Viewer,
    id: uuid::Uuid,
    placement: CostForm,
    errors: FormErrors,
) -> PageResult<RequestPage> {
    let v = requests::show(&state.store, &state.settings, id).await?;
    let manager = viewer.user.role.allows(Role::Manager);
    let (mut cost, mut cost_error) = (None, None);
    if manager && !v.request.status.is_closed() {
        let mut errs = FormErrors::default();
        let at = PlacementInput {
            priority: placement.priority.parse::<Priority>().ok(),
            size: number("size", &placement.size, &mut errs),
            size_max: number("size_max", &placement.size_max, &mut errs),
        };
        if errs.is_empty() {
            match requests::cost_of_yes(
                &state.store,
                &state.settings,
                id,
                at,
                Utc::now().date_naive(),
            )
            .await
            {
                Ok(c) => cost = Some(c),
                Err(tandem_app::AppError::Invalid(list)) => {
                    cost_error = Some(
                        list.iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            cost_error = Some(errs.fields.values().cloned().collect::<Vec<_>>().join("; "));
        }
    }
    let priority = if placement.priority.is_empty() {
        v.request.priority.to_string()
    } else {
        placement.priority.clone()
    };
    Ok(RequestPage {
        nav: viewer.nav("requests"),
        manager,
        errors,
        cost,
        cost_error,
        priorities: opts(PRIORITIES, &priority),
        kinds: opts(KINDS, ""),
        placement,
        target: state.settings.requests.target_working_days,
        v,
    })
}

/// `GET /requests/{id}` (`?priority=&size=&size_max=` place the cost of yes).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let id = path_id("request", &id)?;
    let placement: CostForm = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| {
            PageError::Status(
                StatusCode::BAD_REQUEST,
                format!("The query is not understood: {e}"),
            )
        })?;
    render(&request_page(&state, &viewer, id, placement, FormErrors::default()).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnswerForm {
    pub csrf: String,
    pub version: String,
    pub business_goal: String,
    pub success_measure: String,
    pub deadline: String,
    pub if_not_done: String,
}

/// `POST /requests/{id}/answers`.
pub async fn answer(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<AnswerForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let id = path_id("request", &id)?;
    let answers = Answers {
        business_goal: text(&form.business_goal),
        success_measure: text(&form.success_measure),
        deadline: text(&form.deadline),
        if_not_done: text(&form.if_not_done),
    };
    let mut errors = FormErrors::default();
    match requests::answer(&state.store, id, answers, form.version.trim().parse().ok()).await {
        Ok(_) => Ok(see_other(&format!("/requests/{id}"))),
        Err(tandem_app::AppError::Conflict { message, .. }) => {
            errors.form = Some(message);
            let page = request_page(&state, &viewer, id, CostForm::default(), errors).await?;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => {
            let status = absorb(&mut errors, e)?;
            let page = request_page(&state, &viewer, id, CostForm::default(), errors).await?;
            render_status(status, &page)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecideForm {
    pub csrf: String,
    pub version: String,
    pub kind: String,
    pub reason: String,
    pub postponed_until: String,
    pub duplicate_of: String,
    pub priority: String,
    pub size: String,
    pub size_max: String,
}

/// `POST /requests/{id}/decision` (managers).
pub async fn decide(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<DecideForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let id = path_id("request", &id)?;
    let mut errors = FormErrors::default();
    let kind = form
        .kind
        .parse::<RequestDecisionKind>()
        .map_err(|e| errors.fields.insert("kind".into(), e))
        .ok();
    let postponed_until = match form.postponed_until.trim() {
        "" => None,
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| {
                errors.fields.insert(
                    "postponed_until".into(),
                    format!("{d:?} is not a date (YYYY-MM-DD)."),
                )
            })
            .ok(),
    };
    let duplicate_of = match form.duplicate_of.trim() {
        "" => None,
        d => uuid::Uuid::try_parse(d.rsplit('/').next().unwrap_or(d))
            .map_err(|_| {
                errors
                    .fields
                    .insert("duplicate_of".into(), format!("{d:?} is not a request id."))
            })
            .ok(),
    };
    let priority = match form.priority.trim() {
        "" => None,
        p => p
            .parse::<Priority>()
            .map_err(|e| errors.fields.insert("priority".into(), e))
            .ok(),
    };
    let size = number("size", &form.size, &mut errors);
    let size_max = number("size_max", &form.size_max, &mut errors);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(kind), true) = (kind, errors.is_empty()) {
        let input = DecisionInput {
            kind,
            reason: form.reason.clone(),
            postponed_until,
            duplicate_of,
            version: form.version.trim().parse().ok(),
            priority,
            size,
            size_max,
        };
        match requests::decide(
            &state.store,
            &state.settings,
            id,
            input,
            &viewer.user.username,
        )
        .await
        {
            Ok(_) => return Ok(see_other(&format!("/requests/{id}"))),
            Err(tandem_app::AppError::Conflict { message, .. }) => {
                errors.form = Some(message);
                status = StatusCode::CONFLICT;
            }
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let placement = CostForm {
        priority: form.priority,
        size: form.size,
        size_max: form.size_max,
    };
    let page = request_page(&state, &viewer, id, placement, errors).await?;
    render_status(status, &page)
}

#[derive(Debug, Template)]
#[template(path = "requests.html")]
pub struct QueuePage {
    pub nav: Nav,
    pub queue: Queue,
    pub teams: Vec<Opt>,
    pub sources: Vec<Opt>,
    pub priorities: Vec<Opt>,
    pub statuses: Vec<Opt>,
}

/// `GET /requests`: the triage queue (managers), filtered by
/// `team`, `source`, `priority` and `status`.
pub async fn queue(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let params: QueueParams = serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
        .map_err(|e| {
            PageError::Status(
                StatusCode::BAD_REQUEST,
                format!("The filter is not understood: {e}"),
            )
        })?;
    let filter = queue_filter(&state, &params).await?;
    let queue = requests::queue(&state.store, &state.settings, &filter).await?;
    let sel = |v: &Option<String>| v.clone().unwrap_or_default();
    let page = QueuePage {
        nav: viewer.nav("requests"),
        queue,
        teams: team_opts(&state, &sel(&params.team), true).await?,
        sources: opts(
            &[
                ("", "Any source"),
                ("web", "Web"),
                ("api", "API"),
                ("slack", "Slack"),
                ("email", "E-mail"),
            ],
            &sel(&params.source),
        ),
        priorities: opts(
            &[
                ("", "Any criticality"),
                ("P0", "P0"),
                ("P1", "P1"),
                ("P2", "P2"),
                ("P3", "P3"),
            ],
            &sel(&params.priority),
        ),
        statuses: opts(
            &[
                ("", "Pending"),
                ("waiting", "Waiting"),
                ("needs_info", "Needs information"),
                ("postponed", "Postponed"),
                ("accepted", "Accepted"),
                ("declined", "Declined"),
                ("duplicate", "Duplicate"),
            ],
            &sel(&params.status),
        ),
    };
    render(&page)
}
