//! KPI series (the `metrics` entity: a business or team number measured over
//! time, e.g. `checkout-conversion`) and their points. The API
//! (`/api/v1/metrics`, `/api/v1/metrics/{metric}/points`) and `tandem kpi …`
//! both come here. Not the delivery metrics (`delivery_metrics`), which are
//! computed from engineering records.
//!
//! A CSV import (`date,value` rows) is checked whole before anything is
//! stored: every bad row is named by line and column, and a refused file
//! writes nothing. The accepted points go in one transaction.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use tandem_domain::FieldError;
use tandem_domain::dora::{DoraBucket, DoraReport};
use tandem_domain::goal::Goal;
use tandem_domain::metric::{
    ComputedFrom, MAX_POINTS_PER_WRITE, Metric, MetricPatch, MetricPoint, NewMetric, NewPoint,
};
use tandem_store::Store;
use uuid::Uuid;

use crate::delivery_metrics::{self, DeliveryQuery};
use crate::settings::Settings;
use crate::{AppError, AppResult};

/// The most points one read returns.
pub const MAX_POINTS_PER_READ: u32 = 10_000;

/// Stores a new series.
pub async fn create(store: &Store, input: NewMetric) -> AppResult<Metric> {
    let m = input.into_metric(Uuid::now_v7(), Utc::now())?;
    store.create_metric(&m).await?;
    Ok(m)
}

/// Applies `patch` to `metric` (its key never changes).
pub async fn update(store: &Store, mut metric: Metric, patch: MetricPatch) -> AppResult<Metric> {
    metric.apply(patch, Utc::now())?;
    store.update_metric(&metric).await?;
    Ok(metric)
}

/// Points of `metric` in `[from, to)`, oldest first, at most `limit`
/// (1–10000).
pub async fn points(
    store: &Store,
    metric: &Metric,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: u32,
) -> AppResult<Vec<MetricPoint>> {
    if !(1..=MAX_POINTS_PER_READ).contains(&limit) {
        return Err(AppError::bad_field(
            "limit",
            format!("limit must be between 1 and {MAX_POINTS_PER_READ}"),
        ));
    }
    Ok(store.list_points(metric.id, from, to, limit).await?)
}

/// Writes points to `metric` (at most [`MAX_POINTS_PER_WRITE`] at once); a
/// point at an instant already stored replaces its value. All or nothing.
pub async fn write_points(
    store: &Store,
    metric: &Metric,
    input: Vec<NewPoint>,
) -> AppResult<usize> {
    if input.is_empty() {
        return Err(AppError::invalid(
            "points",
            "is empty; send at least one point ({\"at\": …, \"value\": …})",
        ));
    }
    if input.len() > MAX_POINTS_PER_WRITE {
        return Err(AppError::invalid(
            "points",
            format!(
                "{} points in one request; the limit is {MAX_POINTS_PER_WRITE}",
                input.len()
            ),
        ));
    }
    let points = input
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.into_point(metric.id, i))
        .collect::<Result<Vec<_>, _>>()?;
    store.upsert_points(&points).await?;
    Ok(points.len())
}

/// Imports a CSV of `date,value` rows into `metric`: every row is checked
/// first, then all are written in one transaction. Returns how many points
/// were written.
pub async fn import_csv(store: &Store, metric: &Metric, csv: impl Read) -> AppResult<usize> {
    let points: Vec<MetricPoint> = parse_csv(csv)?
        .into_iter()
        .map(|p| MetricPoint {
            metric_id: metric.id,
            at: tandem_domain::time::micros(p.at),
            value: p.value,
        })
        .collect();
    store.upsert_points(&points).await?;
    Ok(points.len())
}

/// Reads `date,value` rows. A first row `date,value` (or `at,value`) is a
/// header. A date is `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant; a
/// value a finite number. Every bad row is reported, as
/// `line N, column C (date|value)`; a date given twice is refused.
pub fn parse_csv(csv: impl Read) -> AppResult<Vec<NewPoint>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv);
    let mut points = Vec::new();
    let mut problems = Vec::new();
    let mut first_line: HashMap<DateTime<Utc>, u64> = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                problems.push(FieldError::new(
                    format!("line {line}"),
                    format!("is not CSV: {e}"),
                ));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(index as u64 + 1, csv::Position::line);
        if index == 0 && is_header(&record) {
            continue;
        }
        if record.len() != 2 {
            problems.push(FieldError::new(
                format!("line {line}"),
                format!(
                    "has {} fields; each row is date,value (e.g. 2026-11-02,4.2)",
                    record.len()
                ),
            ));
            continue;
        }
        let at = parse_at(&record[0])
            .map_err(|m| FieldError::new(format!("line {line}, column 1 (date)"), m));
        let value = parse_value(&record[1])
            .map_err(|m| FieldError::new(format!("line {line}, column 2 (value)"), m));
        match (at, value) {
            (Ok(at), Ok(value)) => match first_line.get(&at) {
                Some(first) => problems.push(FieldError::new(
                    format!("line {line}, column 1 (date)"),
                    format!("{:?} was already given on line {first}", &record[0]),
                )),
                None => {
                    first_line.insert(at, line);
                    points.push(NewPoint { at, value });
                }
            },
            (at, value) => problems.extend(at.err().into_iter().chain(value.err())),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    if points.is_empty() {
        return Err(AppError::invalid(
            "file",
            "has no rows; each row is date,value (e.g. 2026-11-02,4.2)",
        ));
    }
    Ok(points)
}

fn is_header(record: &csv::StringRecord) -> bool {
    let lower: Vec<String> = record.iter().map(str::to_ascii_lowercase).collect();
    matches!(
        lower
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["date" | "at", "value"]
    )
}

fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number")),
    }
}

/// Adds points to a series named by id or key: [`write_points`] after the
/// one lookup (the web set-up page's form names the series by key).
pub async fn add_points(store: &Store, series: &str, points: Vec<NewPoint>) -> AppResult<usize> {
    let metric = crate::lookup::metric(store, series).await?;
    write_points(store, &metric, points).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Invalid(errors) => errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn reads_dates_and_instants_with_or_without_a_header() {
        let points =
            parse_csv("date,value\n2026-11-02, 4.5\n\n2026-11-09T12:00:00Z,5\n".as_bytes())
                .unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].at.to_rfc3339(), "2026-11-02T00:00:00+00:00");
        assert_eq!(points[0].value, 4.5);
        assert_eq!(points[1].at.to_rfc3339(), "2026-11-09T12:00:00+00:00");
        let points = parse_csv("2026-11-02,1\n".as_bytes()).unwrap();
        assert_eq!(points.len(), 1);
    }

    #[test]
    fn names_every_bad_row_by_line_and_column() {
        let csv = "date,value\n2026-11-02,1\n2026-13-01,2\n2026-11-16,abc\n2026-11-23\n2026-11-02,3\n2026-11-30,inf\n";
        assert_eq!(
            fields(parse_csv(csv.as_bytes()).unwrap_err()),
            vec![
                "line 3, column 1 (date): \"2026-13-01\" is not a date (YYYY-MM-DD) or an RFC 3339 instant",
                "line 4, column 2 (value): \"abc\" is not a number",
                "line 5: has 1 fields; each row is date,value (e.g. 2026-11-02,4.2)",
                "line 6, column 1 (date): \"2026-11-02\" was already given on line 2",
                "line 7, column 2 (value): \"inf\" is not a number",
            ]
        );
        assert_eq!(
            fields(parse_csv("date,value\n".as_bytes()).unwrap_err()),
            vec!["file: has no rows; each row is date,value (e.g. 2026-11-02,4.2)"]
        );
    }
}

// ---------------------------------------------------------------------------
// The one definition of a KPI's figures (docs/metrics.md, "Bound KPIs")
// ---------------------------------------------------------------------------

/// How many weeks the pages' figures cover: this week and the 11 before it.
pub const WINDOW_WEEKS: i64 = 12;

/// The days the pages show a team's delivery figures over: from the Monday
/// [`WINDOW_WEEKS`] − 1 weeks before this week's to `today`, both included.
/// The team page's DORA panel, a bound KPI's card and a goal's current value
/// all use it, so they show one number.
pub fn window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (monday(today) - Duration::weeks(WINDOW_WEEKS - 1), today)
}

/// The Monday of `d`'s ISO week.
pub fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// A KPI's value over a period and when it was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub value: f64,
    /// The instant of the typed point, or the end of the computed period.
    pub as_of: DateTime<Utc>,
}

fn end_of(day: NaiveDate) -> DateTime<Utc> {
    (day + Duration::days(1)).and_time(NaiveTime::MIN).and_utc() - Duration::microseconds(1)
}

/// The team's DORA report over `[since, until]` by week, or `None` when the
/// team has no delivery data to compute from (no projects, no team).
async fn team_dora(
    store: &Store,
    settings: &Settings,
    metric: &Metric,
    since: NaiveDate,
    until: NaiveDate,
) -> AppResult<Option<DoraReport>> {
    let Some(team_id) = metric.team_id else {
        return Ok(None);
    };
    let q = DeliveryQuery {
        team: Some(team_id.to_string()),
        since: Some(since),
        until: Some(until),
        bucket: Some("week".to_owned()),
        ..DeliveryQuery::default()
    };
    match delivery_metrics::dora(store, settings, &q).await {
        Ok(r) => Ok(Some(r)),
        Err(AppError::BadInput { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The value a bound metric takes over a whole DORA report.
fn computed_total(c: ComputedFrom, r: &DoraReport) -> Option<f64> {
    match c {
        ComputedFrom::DeploymentFrequency => Some(r.deployment_frequency.per_week),
        ComputedFrom::LeadTime => r.lead_time.median_hours,
        ComputedFrom::TimeToRestore => r.time_to_restore.median_hours,
        ComputedFrom::ChangeFailureRate => r.change_failure_rate.rate.map(|x| x * 100.0),
    }
}

/// The value a bound metric takes in one week of a DORA report.
fn computed_week(c: ComputedFrom, b: &DoraBucket) -> Option<f64> {
    match c {
        ComputedFrom::DeploymentFrequency => Some(b.deployments as f64),
        ComputedFrom::LeadTime => b.lead_time_median_hours,
        ComputedFrom::TimeToRestore => b.restore_median_hours,
        ComputedFrom::ChangeFailureRate => b.change_failure_rate.map(|x| x * 100.0),
    }
}

/// A bound metric's weekly values and its figure over the whole of `r`
/// (which ends on `until`): what [`weekly`] and [`figure`] return for it
/// over the same window, from one DORA report instead of two.
pub fn from_report(
    c: ComputedFrom,
    r: &DoraReport,
    until: NaiveDate,
) -> (Vec<(NaiveDate, f64)>, Option<Figure>) {
    let weekly = r
        .buckets
        .iter()
        .filter_map(|b| Some((b.start, computed_week(c, b)?)))
        .collect();
    let total = computed_total(c, r).map(|value| Figure {
        value,
        as_of: end_of(until),
    });
    (weekly, total)
}

/// The metric's weekly values and current figure over [`window`] of
/// `today`, as [`weekly`] and [`current`] give them; a bound metric's
/// team DORA report is computed once for both.
pub async fn weekly_and_current(
    store: &Store,
    settings: &Settings,
    metric: &Metric,
    today: NaiveDate,
) -> AppResult<(Vec<(NaiveDate, f64)>, Option<Figure>)> {
    let (since, until) = window(today);
    if let Some(c) = metric.computed_from {
        return Ok(
            match team_dora(store, settings, metric, since, until).await? {
                Some(r) => from_report(c, &r, until),
                None => (Vec::new(), None),
            },
        );
    }
    Ok((
        weekly(store, settings, metric, since, until).await?,
        current(store, settings, metric, today).await?,
    ))
}

/// The metric's figure over `[since, until]` (days, both included): for a
/// metric bound to a delivery metric, that metric computed over the period
/// (deployments per week: the period's deployments per 7 days); for a typed
/// series, its latest point at or before the end of `until`. The overview
/// card, the team page, a goal's current value and progress, the work item
/// context and the weekly report all take a KPI's number from here.
pub async fn figure(
    store: &Store,
    settings: &Settings,
    metric: &Metric,
    since: NaiveDate,
    until: NaiveDate,
) -> AppResult<Option<Figure>> {
    match metric.computed_from {
        Some(c) => Ok(team_dora(store, settings, metric, since, until)
            .await?
            .and_then(|r| computed_total(c, &r))
            .map(|value| Figure {
                value,
                as_of: end_of(until),
            })),
        None => Ok(store
            .latest_point(metric.id, Some(end_of(until)))
            .await?
            .map(|p| Figure {
                value: p.value,
                as_of: p.at,
            })),
    }
}

/// The metric's figure as the pages show it now: over [`window`] of today.
pub async fn current(
    store: &Store,
    settings: &Settings,
    metric: &Metric,
    today: NaiveDate,
) -> AppResult<Option<Figure>> {
    let (since, until) = window(today);
    figure(store, settings, metric, since, until).await
}

/// The metric's value in each week from `first_monday` to the week of
/// `until`, keyed by the week's Monday. A week without data is left out (a
/// gap stays a gap; no value is carried into it): for a typed series, a
/// week's value is its last point inside the week; for a bound metric, the
/// computed value of the week.
pub async fn weekly(
    store: &Store,
    settings: &Settings,
    metric: &Metric,
    first_monday: NaiveDate,
    until: NaiveDate,
) -> AppResult<Vec<(NaiveDate, f64)>> {
    if let Some(c) = metric.computed_from {
        let Some(r) = team_dora(store, settings, metric, first_monday, until).await? else {
            return Ok(Vec::new());
        };
        return Ok(r
            .buckets
            .iter()
            .filter_map(|b| Some((b.start, computed_week(c, b)?)))
            .collect());
    }
    let from = first_monday.and_time(NaiveTime::MIN).and_utc();
    let points = store
        .list_points(
            metric.id,
            Some(from),
            Some(end_of(until) + Duration::microseconds(1)),
            MAX_POINTS_PER_READ * 4,
        )
        .await?;
    let mut by_week: Vec<(NaiveDate, f64)> = Vec::new();
    for p in &points {
        let week = monday(p.at.date_naive());
        match by_week.last_mut() {
            Some((w, v)) if *w == week => *v = p.value,
            _ => by_week.push((week, p.value)),
        }
    }
    Ok(by_week)
}

/// How far `goal` is towards the target of its first success metric that
/// names a series with a current figure, as a share (0–1, may go beyond),
/// with that figure. The overview's progress bar, the goal page and the work
/// item's context all show this one number, rounded by [`percent`].
pub async fn goal_progress(
    store: &Store,
    settings: &Settings,
    goal: &Goal,
    today: NaiveDate,
) -> AppResult<Option<GoalProgress>> {
    for m in &goal.success_metrics {
        let (Some(key), Some(target)) = (&m.metric_key, m.target) else {
            continue;
        };
        let metric = match store.get_metric_by_key(key).await {
            Ok(metric) => metric,
            Err(tandem_store::StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(now) = current(store, settings, &metric, today).await? else {
            continue;
        };
        if let Some(share) = m.progress(now.value) {
            return Ok(Some(GoalProgress {
                share,
                percent: percent(share),
                metric: m.metric.clone(),
                unit: if metric.unit.is_empty() {
                    m.unit.clone()
                } else {
                    metric.unit.clone()
                },
                current: now,
                target,
            }));
        }
    }
    Ok(None)
}

/// A goal's progress towards its success metric's target.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalProgress {
    /// 0 at the baseline, 1 at the target; may go beyond either.
    pub share: f64,
    /// `share` in whole percent, rounded half away from zero.
    pub percent: i64,
    pub metric: String,
    pub unit: String,
    pub current: Figure,
    pub target: f64,
}

/// A share (0.725) in whole percent (73), rounded half away from zero: the
/// one rounding of a progress figure.
pub fn percent(share: f64) -> i64 {
    (share * 100.0).clamp(-999.0, 999.0).round() as i64
}
