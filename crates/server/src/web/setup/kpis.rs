//! `/setup/kpis`: KPI series (the `metrics` entity: key, name, unit, team,
//! which way is better, who it is for), adding a point to one, and where a
//! series' points are collected from when nobody types them (a PromQL or
//! read-only SQL query on a schedule, `app::kpi_sources`), with each
//! source's last success and last error.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;
use tandem_app::{AppError, kpi_sources, kpis, lookup, paging};
use tandem_domain::frontline::{KpiSourceKind, KpiSourceSpec};
use tandem_domain::metric::{
    Audience, ComputedFrom, Direction, Metric, MetricPatch, NewMetric, NewPoint,
};
use tandem_store::ListQuery;

use super::{absorb, notice};
use crate::AppState;
use crate::web::admin::FormErrors;
use crate::web::overview::all_teams;
use crate::web::view::{self, Nav};
use crate::web::{ManagerViewer, PageForm, PageResult, Viewer, render, render_status, see_other};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SeriesForm {
    pub csrf: String,
    pub key: String,
    pub name: String,
    pub unit: String,
    /// A team key, or empty for none.
    pub team: String,
    pub direction: String,
    pub audience: String,
    /// A `ComputedFrom` name, or empty for a series people type.
    pub computed_from: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BindForm {
    pub csrf: String,
    /// A series key.
    pub series: String,
    /// A `ComputedFrom` name.
    pub computed_from: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PointForm {
    pub csrf: String,
    /// A series key.
    pub series: String,
    /// `YYYY-MM-DD` (the point is at 00:00 UTC that day).
    pub date: String,
    pub value: String,
}

#[derive(Debug)]
pub struct SeriesRow {
    pub key: String,
    pub name: String,
    pub unit: String,
    pub better: String,
    pub audience: String,
    pub team: String,
    pub latest: String,
    /// How its points arrive: typed, computed, or the source's summary.
    pub source: String,
    /// The collected source's last error, if its last run failed.
    pub source_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SourceForm {
    pub csrf: String,
    /// A series key.
    pub series: String,
    /// `promql` or `postgres`.
    pub kind: String,
    pub url: String,
    pub query: String,
    pub interval_seconds: String,
}

#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Template)]
#[template(path = "setup_kpis.html")]
pub struct KpisPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub series: Vec<SeriesRow>,
    pub form: SeriesForm,
    pub errors: FormErrors,
    pub teams: Vec<Choice>,
    pub directions: Vec<Choice>,
    pub audiences: Vec<Choice>,
    pub point: PointForm,
    pub point_errors: FormErrors,
    pub series_choices: Vec<Choice>,
    pub source: SourceForm,
    pub source_errors: FormErrors,
    pub source_kinds: Vec<Choice>,
    pub source_series: Vec<Choice>,
    /// Where a series' values come from: typed, or a delivery metric.
    pub computed_choices: Vec<Choice>,
    /// The computed choices alone (the bind form).
    pub bind_choices: Vec<Choice>,
    pub bind_errors: FormErrors,
}

fn choice(value: &str, label: impl Into<String>, selected: &str) -> Choice {
    Choice {
        value: value.to_owned(),
        label: label.into(),
        selected: value == selected,
    }
}

/// What the page's forms hold when it is shown again: the one just sent,
/// with its errors; the others empty.
#[derive(Debug, Default)]
struct Forms {
    series: SeriesForm,
    errors: FormErrors,
    point: PointForm,
    point_errors: FormErrors,
    source: SourceForm,
    source_errors: FormErrors,
    bind_errors: FormErrors,
}

async fn kpis_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    forms: Forms,
) -> PageResult<KpisPage> {
    let Forms {
        series: form,
        errors,
        point,
        point_errors,
        source,
        source_errors,
        bind_errors,
    } = forms;
    let store = &state.store;
    let mut metrics = paging::all(ListQuery::default(), |q| async move {
        store.list_metrics(&q).await
    })
    .await?;
    metrics.sort_by(|a, b| a.key.cmp(&b.key));
    let teams = all_teams(state).await?;
    let since = Utc::now() - Duration::days(400);
    let sources = kpi_sources::list(store).await?;
    let mut series = Vec::new();
    for m in &metrics {
        let sourced = sources.iter().find(|s| s.metric == m.key);
        let (source, source_error) = match (sourced, &m.computed_from) {
            (_, Some(c)) => (format!("computed: {}", c.definition()), None),
            (None, None) => ("typed".to_owned(), None),
            (Some(s), None) => {
                let s = &s.source;
                let last = s.last_success_at.map_or_else(
                    || "no success yet".to_owned(),
                    |at| format!("last success {}", at.format("%Y-%m-%d %H:%M UTC")),
                );
                (
                    format!(
                        "{} every {} s; {last}",
                        s.spec.kind, s.spec.interval_seconds
                    ),
                    s.last_error
                        .clone()
                        .map(|e| format!("{e} ({} failed runs in a row; retrying)", s.failures)),
                )
            }
        };
        let points = store
            .list_points(m.id, Some(since), None, ListQuery::MAX_LIMIT * 4)
            .await?;
        series.push(SeriesRow {
            key: m.key.clone(),
            name: m.name.clone(),
            unit: m.unit.clone(),
            better: format!("{} is better", m.direction.better_word()),
            audience: m.audience.to_string(),
            team: m
                .team_id
                .and_then(|id| teams.iter().find(|t| t.id == id))
                .map_or_else(|| "–".to_owned(), |t| t.name.clone()),
            latest: points.last().map_or_else(
                || "no points yet".to_owned(),
                |p| {
                    format!(
                        "{} on {}",
                        view::with_unit(p.value, &m.unit),
                        view::date(p.at.date_naive())
                    )
                },
            ),
            source,
            source_error,
        });
    }
    let mut team_choices = vec![choice("", "No team (the organisation's)", &form.team)];
    team_choices.extend(teams.iter().map(|t| choice(&t.key, &t.name, &form.team)));
    let direction = if form.direction.is_empty() {
        "up"
    } else {
        &form.direction
    };
    let audience = if form.audience.is_empty() {
        "business"
    } else {
        &form.audience
    };
    let directions = vec![
        choice("up", "Higher is better", direction),
        choice("down", "Lower is better", direction),
    ];
    let audiences = vec![
        choice("business", "The business (on the overview)", audience),
        choice("team", "The team's engineering view", audience),
    ];
    let series_choices = metrics
        .iter()
        .map(|m: &Metric| choice(&m.key, format!("{} ({})", m.name, m.key), &point.series))
        .collect();
    let point = PointForm {
        date: if point.date.is_empty() {
            Utc::now().date_naive().to_string()
        } else {
            point.date
        },
        ..point
    };
    let kind = if source.kind.is_empty() {
        "promql"
    } else {
        &source.kind
    };
    let source_kinds = vec![
        choice("promql", "PromQL (Prometheus)", kind),
        choice("postgres", "SQL (PostgreSQL, read-only)", kind),
    ];
    let source_series = metrics
        .iter()
        .filter(|m| m.computed_from.is_none())
        .map(|m: &Metric| choice(&m.key, format!("{} ({})", m.name, m.key), &source.series))
        .collect();
    let source = SourceForm {
        interval_seconds: if source.interval_seconds.is_empty() {
            "3600".to_owned()
        } else {
            source.interval_seconds
        },
        ..source
    };
    let mut computed_choices = vec![choice(
        "",
        "Points people type or send",
        &form.computed_from,
    )];
    computed_choices.extend(ComputedFrom::ALL.iter().map(|c| {
        choice(
            c.as_str(),
            format!("Computed: {}", c.definition()),
            &form.computed_from,
        )
    }));
    let bind_choices = ComputedFrom::ALL
        .iter()
        .map(|c| choice(c.as_str(), c.definition(), ""))
        .collect();
    Ok(KpisPage {
        source,
        source_errors,
        source_kinds,
        source_series,
        computed_choices,
        bind_choices,
        bind_errors,
        nav: viewer.nav("setup"),
        notice,
        series,
        form,
        errors,
        teams: team_choices,
        directions,
        audiences,
        point,
        point_errors,
        series_choices,
    })
}

/// `GET /setup/kpis`.
pub async fn page(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let page = kpis_page(&state, &viewer, notice(query.as_deref()), Forms::default());
    render(&page.await?)
}

/// `POST /setup/kpis`: creates a series.
pub async fn create_series(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<SeriesForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let direction = form
        .direction
        .parse::<Direction>()
        .map_err(|e| {
            errors
                .fields
                .insert("direction".into(), view::in_words("direction", &e))
        })
        .ok();
    let audience = form
        .audience
        .parse::<Audience>()
        .map_err(|e| {
            errors
                .fields
                .insert("audience".into(), view::in_words("audience", &e))
        })
        .ok();
    let computed_from = match form.computed_from.trim() {
        "" => None,
        c => c
            .parse::<ComputedFrom>()
            .map_err(|e| {
                errors
                    .fields
                    .insert("computed_from".into(), view::in_words("computed_from", &e))
            })
            .ok(),
    };
    let team_id = match form.team.trim() {
        "" => None,
        team => match lookup::team(&state.store, team).await {
            Ok(t) => Some(t.id),
            Err(_) => {
                errors
                    .fields
                    .insert("team".into(), format!("There is no team {team:?}."));
                None
            }
        },
    };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(direction), Some(audience), true) = (direction, audience, errors.is_empty()) {
        let input = NewMetric {
            key: form.key.trim().to_owned(),
            name: form.name.trim().to_owned(),
            description: String::new(),
            unit: form.unit.trim().to_owned(),
            direction,
            audience,
            team_id,
            computed_from,
        };
        match kpis::create(&state.store, input).await {
            Ok(_) => return Ok(see_other("/setup/kpis?done=series-created")),
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let page = kpis_page(
        &state,
        &viewer,
        None,
        Forms {
            series: form,
            errors,
            ..Forms::default()
        },
    )
    .await?;
    render_status(status, &page)
}

/// `POST /setup/kpis/points`: adds (or replaces) a series' point for a day.
pub async fn add_point(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<PointForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let date = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
        .map_err(|_| {
            errors.fields.insert(
                "date".into(),
                format!("{:?} is not a date (YYYY-MM-DD).", form.date.trim()),
            )
        })
        .ok();
    let value = form
        .value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite());
    if value.is_none() {
        errors.fields.insert(
            "value".into(),
            format!(
                "{:?} is not a number, such as 42 or 3.5.",
                form.value.trim()
            ),
        );
    }
    if form.series.trim().is_empty() {
        errors
            .fields
            .insert("series".into(), "Choose a series.".into());
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(date), Some(value), true) = (date, value, errors.is_empty()) {
        let at = date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        match kpis::add_points(
            &state.store,
            form.series.trim(),
            vec![NewPoint { at, value }],
        )
        .await
        {
            Ok(_) => return Ok(see_other("/setup/kpis?done=point-added")),
            Err(AppError::NotFound(message)) => {
                errors.fields.insert("series".into(), message);
            }
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let page = kpis_page(
        &state,
        &viewer,
        None,
        Forms {
            point: form,
            point_errors: errors,
            ..Forms::default()
        },
    )
    .await?;
    render_status(status, &page)
}

/// `POST /setup/kpis/source`: sets where a series' points come from.
pub async fn set_source(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<SourceForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let kind = form
        .kind
        .parse::<KpiSourceKind>()
        .map_err(|e| errors.fields.insert("kind".into(), e))
        .ok();
    let interval = form
        .interval_seconds
        .trim()
        .parse::<u32>()
        .map_err(|_| {
            errors.fields.insert(
                "interval_seconds".into(),
                format!(
                    "{:?} is not a whole number of seconds.",
                    form.interval_seconds.trim()
                ),
            )
        })
        .ok();
    if form.series.trim().is_empty() {
        errors
            .fields
            .insert("series".into(), "Choose a series.".into());
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(kind), Some(interval_seconds), true) = (kind, interval, errors.is_empty()) {
        let spec = KpiSourceSpec {
            kind,
            url: form.url.trim().to_owned(),
            query: form.query.clone(),
            interval_seconds,
        };
        match kpi_sources::set(&state.store, form.series.trim(), spec, Utc::now()).await {
            Ok(_) => return Ok(see_other("/setup/kpis?done=source-set")),
            Err(AppError::NotFound(message)) => {
                errors.fields.insert("series".into(), message);
            }
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let page = kpis_page(
        &state,
        &viewer,
        None,
        Forms {
            source: form,
            source_errors: errors,
            ..Forms::default()
        },
    )
    .await?;
    render_status(status, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveSourceForm {
    pub csrf: String,
    pub series: String,
}

/// `POST /setup/kpis/source/remove`: the series' points are typed again
/// (the collected ones stay).
pub async fn remove_source(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<RemoveSourceForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    kpi_sources::remove(&state.store, form.series.trim()).await?;
    Ok(see_other("/setup/kpis?done=source-removed"))
}

/// `POST /setup/kpis/computed`: binds a series to one of its team's
/// delivery metrics (`kpis::update`, as `tandem kpi update --computed-from`).
pub async fn bind(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<BindForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let computed = form
        .computed_from
        .parse::<ComputedFrom>()
        .map_err(|_| {
            errors.fields.insert(
                "computed_from".into(),
                "Choose what the series is computed from.".into(),
            )
        })
        .ok();
    let metric = match state.store.get_metric_by_key(form.series.trim()).await {
        Ok(m) => Some(m),
        Err(_) => {
            errors
                .fields
                .insert("series".into(), "Choose a series.".into());
            None
        }
    };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(metric), Some(computed)) = (metric, computed) {
        let patch = MetricPatch {
            computed_from: Some(computed),
            ..MetricPatch::default()
        };
        match kpis::update(&state.store, metric, patch).await {
            Ok(_) => return Ok(see_other("/setup/kpis?done=series-bound")),
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let page = kpis_page(
        &state,
        &viewer,
        None,
        Forms {
            bind_errors: errors,
            ..Forms::default()
        },
    )
    .await?;
    render_status(status, &page)
}
