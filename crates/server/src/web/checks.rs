//! `/checks`: health checks in the browser, for managers and admins (issue
//! 16, item 1): the list with each check's state and last result; a form
//! to create or edit one (the same `app::checks::define` the API, the CLI
//! and `[[checks]]` use, so a refusal names the same field); switching a
//! check off and on; silencing it for a while. Maintenance windows are
//! part of the form.
//!
//! The form builds the definition as JSON and reads it as the API does, so
//! a field the form does not show (added to `CheckSpec` later) keeps its
//! stored value on an edit instead of being dropped.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tandem_app::{AppError, checks, frontline};
use tandem_domain::check::{CheckKind, CheckSpec, Severity};
use tandem_store::StoredCheck;

use super::admin::FormErrors;
use super::setup::{absorb, entries};
use super::view::Nav;
use super::{ManagerViewer, PageForm, PageResult, Viewer, render, render_status, see_other};
use crate::AppState;

/// The check form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CheckForm {
    pub csrf: String,
    pub name: String,
    pub team: String,
    pub service: String,
    pub project: String,
    pub kind: String,
    pub target: String,
    pub method: String,
    /// One `Name: value` per line.
    pub headers: String,
    pub body: String,
    pub query: String,
    /// One per line.
    pub conditions: String,
    pub interval_seconds: String,
    pub timeout_seconds: String,
    pub failure_threshold: String,
    pub success_threshold: String,
    pub grace_seconds: String,
    pub severity: String,
    pub depends_on: String,
    /// One `mon,tue 02:00-03:00` per line (no days: every day), UTC.
    pub maintenance: String,
}

impl CheckForm {
    fn of(spec: &CheckSpec) -> CheckForm {
        let num = |n: u32| n.to_string();
        CheckForm {
            csrf: String::new(),
            name: spec.name.clone(),
            team: spec.team.clone(),
            service: spec.service.clone(),
            project: spec.project.clone().unwrap_or_default(),
            kind: spec.kind.to_string(),
            target: spec.target.clone(),
            method: spec.method.clone().unwrap_or_default(),
            headers: spec
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            body: spec.body.clone().unwrap_or_default(),
            query: spec.query.clone().unwrap_or_default(),
            conditions: spec.conditions.join("\n"),
            interval_seconds: num(spec.interval_seconds),
            timeout_seconds: num(spec.timeout_seconds),
            failure_threshold: num(spec.failure_threshold),
            success_threshold: num(spec.success_threshold),
            grace_seconds: num(spec.grace_seconds),
            severity: spec.severity.to_string(),
            depends_on: spec.depends_on.clone().unwrap_or_default(),
            maintenance: spec
                .maintenance
                .iter()
                .map(|w| {
                    let days = w.weekdays.join(",");
                    if days.is_empty() {
                        format!("{}-{}", w.start, w.end)
                    } else {
                        format!("{days} {}-{}", w.start, w.end)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn fresh() -> CheckForm {
        CheckForm {
            kind: "http".into(),
            interval_seconds: "60".into(),
            timeout_seconds: "10".into(),
            failure_threshold: "3".into(),
            success_threshold: "1".into(),
            grace_seconds: "0".into(),
            severity: "critical".into(),
            ..CheckForm::default()
        }
    }

    /// The definition as JSON over `base` (the stored one on an edit);
    /// errors noted per field.
    fn to_json(&self, base: Option<&CheckSpec>, errors: &mut FormErrors) -> Value {
        let mut v: Map<String, Value> = base
            .and_then(|b| serde_json::to_value(b).ok())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        let text = |s: &str| Value::String(s.trim().to_owned());
        let optional = |s: &str| {
            let t = s.trim();
            if t.is_empty() {
                Value::Null
            } else {
                Value::String(t.to_owned())
            }
        };
        v.insert("name".into(), text(&self.name));
        v.insert("team".into(), text(&self.team));
        v.insert("service".into(), text(&self.service));
        v.insert("project".into(), optional(&self.project));
        v.insert("kind".into(), text(&self.kind));
        v.insert("target".into(), text(&self.target));
        v.insert("method".into(), optional(&self.method));
        v.insert("body".into(), optional(&self.body));
        v.insert("query".into(), optional(&self.query));
        v.insert("depends_on".into(), optional(&self.depends_on));
        v.insert("severity".into(), text(&self.severity));
        let mut headers = Map::new();
        for line in self
            .headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match line.split_once(':') {
                Some((k, val)) if !k.trim().is_empty() => {
                    headers.insert(k.trim().to_owned(), Value::String(val.trim().to_owned()));
                }
                _ => {
                    errors.fields.insert(
                        "headers".into(),
                        format!("{line:?} is not a header line (Name: value)."),
                    );
                }
            }
        }
        v.insert("headers".into(), Value::Object(headers));
        let conditions: Vec<Value> = self
            .conditions
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| Value::String(l.to_owned()))
            .collect();
        v.insert("conditions".into(), Value::Array(conditions));
        for (field, raw) in [
            ("interval_seconds", &self.interval_seconds),
            ("timeout_seconds", &self.timeout_seconds),
            ("failure_threshold", &self.failure_threshold),
            ("success_threshold", &self.success_threshold),
            ("grace_seconds", &self.grace_seconds),
        ] {
            match raw.trim().parse::<u32>() {
                Ok(n) => {
                    v.insert(field.into(), json!(n));
                }
                Err(_) => {
                    errors.fields.insert(
                        field.into(),
                        format!("{:?} is not a whole number of at least 0.", raw.trim()),
                    );
                }
            }
        }
        let mut windows = Vec::new();
        for line in entries_by_line(&self.maintenance) {
            let (days, span) = match line.rsplit_once(' ') {
                Some((d, s)) => (entries(d), s),
                None => (Vec::new(), line.as_str()),
            };
            match span.split_once('-') {
                Some((start, end)) => windows.push(json!({
                    "weekdays": days, "start": start.trim(), "end": end.trim()
                })),
                None => {
                    errors.fields.insert(
                        "maintenance".into(),
                        format!("{line:?}: write days and a span, e.g. \"sun 02:00-04:00\"."),
                    );
                }
            }
        }
        v.insert("maintenance".into(), Value::Array(windows));
        // Absent rather than null, as the API's clients send them.
        v.retain(|_, val| !val.is_null());
        Value::Object(v)
    }
}

fn entries_by_line(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One row of the list.
#[derive(Debug)]
pub struct CheckRow {
    pub name: String,
    pub service: String,
    pub kind: String,
    pub state: String,
    /// `good`, `bad` or `` (for the pill's colour).
    pub tone: &'static str,
    pub last: String,
    pub silenced: Option<String>,
    pub disabled: bool,
}

fn row(c: &StoredCheck) -> CheckRow {
    let now = Utc::now();
    let (state, tone) = if c.disabled {
        ("disabled".to_owned(), "")
    } else {
        let s = c.state.status.to_string();
        let tone = match s.as_str() {
            "passing" => "good",
            "failing" => "bad",
            _ => "",
        };
        (s, tone)
    };
    CheckRow {
        name: c.name.clone(),
        service: c.service.clone(),
        kind: c.spec.kind.to_string(),
        state,
        tone,
        last: match (c.last_run_at, c.last_ok) {
            (Some(at), Some(ok)) => format!(
                "{} at {}{}",
                if ok { "passed" } else { "failed" },
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                if c.last_message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", c.last_message)
                }
            ),
            _ => "not run yet".to_owned(),
        },
        silenced: c
            .silenced_until
            .filter(|u| *u > now)
            .map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string()),
        disabled: c.disabled,
    }
}

#[derive(Debug, Template)]
#[template(path = "checks.html")]
pub struct ChecksPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub checks: Vec<CheckRow>,
}

/// A choice in a select.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

#[derive(Debug, Template)]
#[template(path = "check_form.html")]
pub struct CheckFormPage {
    pub nav: Nav,
    /// `None` for a new check.
    pub editing: Option<CheckRow>,
    pub form: CheckForm,
    pub errors: FormErrors,
    pub kinds: Vec<Choice>,
    pub severities: Vec<Choice>,
    pub heartbeat_token: Option<String>,
    pub silence_error: Option<String>,
}

fn notice(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
    let code = pairs.iter().find(|(k, _)| k == "done").map(|(_, v)| v)?;
    Some(
        match code.as_str() {
            "saved" => "Check saved. It runs at its next interval.",
            "disabled" => "Check switched off: it keeps its history and no longer runs.",
            "enabled" => "Check switched on: it runs again at its next interval.",
            "silenced" => "Silence set: runs are recorded, but the check does not go failing.",
            "unsilenced" => "Silence lifted.",
            _ => return None,
        }
        .to_owned(),
    )
}

fn form_page(
    viewer: &Viewer,
    editing: Option<&StoredCheck>,
    form: CheckForm,
    errors: FormErrors,
) -> CheckFormPage {
    let kinds = CheckKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.to_string(),
            selected: k.as_str() == form.kind,
        })
        .collect();
    let severities = Severity::ALL
        .iter()
        .map(|s| Choice {
            value: s.to_string(),
            selected: s.as_str() == form.severity,
        })
        .collect();
    CheckFormPage {
        nav: viewer.nav("checks"),
        editing: editing.map(row),
        form,
        errors,
        kinds,
        severities,
        heartbeat_token: None,
        silence_error: None,
    }
}

/// `GET /checks`.
pub async fn list(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let checks = checks::list(&state.store).await?;
    render(&ChecksPage {
        nav: viewer.nav("checks"),
        notice: notice(query.as_deref()),
        checks: checks.iter().map(row).collect(),
    })
}

/// `GET /checks/new`.
pub async fn new_form(ManagerViewer(viewer): ManagerViewer) -> PageResult<Response> {
    render(&form_page(
        &viewer,
        None,
        CheckForm::fresh(),
        FormErrors::default(),
    ))
}

/// `GET /checks/{name}`: the edit form.
pub async fn edit_form(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(name): Path<String>,
) -> PageResult<Response> {
    let check = checks::get(&state.store, &name).await?;
    let form = CheckForm::of(&check.spec);
    render(&form_page(
        &viewer,
        Some(&check),
        form,
        FormErrors::default(),
    ))
}

/// `POST /checks`: creates a check, or saves the one of that name (as
/// `POST /api/v1/checks` does; the edit form does not let the name change).
pub async fn save(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<CheckForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let existing = state.store.get_check(form.name.trim()).await?;
    let mut errors = FormErrors::default();
    let value = form.to_json(existing.as_ref().map(|c| &c.spec), &mut errors);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        match serde_json::from_value::<CheckSpec>(value) {
            Err(e) => {
                let text = e.to_string();
                let field = if text.contains("CheckKind") || text.contains("kind") {
                    "kind"
                } else if text.contains("Severity") || text.contains("severity") {
                    "severity"
                } else {
                    "name"
                };
                errors.fields.insert(field.into(), text);
            }
            Ok(spec) => {
                match checks::define(&state.store, spec, checks::ORIGIN_API, Utc::now()).await {
                    Ok(defined) => {
                        if let Some(token) = defined.heartbeat_token {
                            // Shown once, in the answer to the post that made it.
                            let mut page = form_page(
                                &viewer,
                                Some(&defined.check),
                                CheckForm::of(&defined.check.spec),
                                FormErrors::default(),
                            );
                            page.heartbeat_token = Some(token);
                            return render(&page);
                        }
                        return Ok(see_other("/checks?done=saved"));
                    }
                    Err(e) => status = absorb(&mut errors, e)?,
                }
            }
        }
    }
    render_status(status, &form_page(&viewer, existing.as_ref(), form, errors))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `POST /checks/{name}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(name): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    frontline::set_check_disabled(&state.store, &name, true).await?;
    Ok(see_other("/checks?done=disabled"))
}

/// `POST /checks/{name}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(name): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    frontline::set_check_disabled(&state.store, &name, false).await?;
    Ok(see_other("/checks?done=enabled"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SilenceForm {
    pub csrf: String,
    /// Minutes from now; 0 lifts the silence.
    pub minutes: String,
}

/// `POST /checks/{name}/silence`.
pub async fn silence(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(name): Path<String>,
    PageForm(form): PageForm<SilenceForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let check = checks::get(&state.store, &name).await?;
    let refuse = |message: String| {
        let mut page = form_page(
            &viewer,
            Some(&check),
            CheckForm::of(&check.spec),
            FormErrors::default(),
        );
        page.silence_error = Some(message);
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let Ok(minutes) = form.minutes.trim().parse::<u32>() else {
        return refuse(format!(
            "{:?} is not a number of minutes.",
            form.minutes.trim()
        ));
    };
    match checks::silence(&state.store, &name, minutes, Utc::now()).await {
        Ok(_) if minutes == 0 => Ok(see_other("/checks?done=unsilenced")),
        Ok(_) => Ok(see_other("/checks?done=silenced")),
        Err(AppError::Invalid(list)) => refuse(
            list.into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(e) => Err(e.into()),
    }
}
