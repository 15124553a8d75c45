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

use chrono::{DateTime, NaiveDate, Utc};
use tandem_domain::FieldError;
use tandem_domain::metric::{
    MAX_POINTS_PER_WRITE, Metric, MetricPatch, MetricPoint, NewMetric, NewPoint,
};
use tandem_store::Store;
use uuid::Uuid;

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
