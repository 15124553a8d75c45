//! KPIs collected, not typed (issue 16, item 7; ADR 0031): a KPI series
//! fed on a schedule from a PromQL query (Prometheus HTTP API,
//! `GET /api/v1/query`) or a read-only SQL query against a PostgreSQL
//! database. The API (`PUT/DELETE /api/v1/metrics/{metric}/source`), the
//! CLI (`tandem kpi source …`) and the set-up page come here.
//!
//! Rules:
//! - A source is validated by the domain (`KpiSourceSpec::validate`: the
//!   URL's scheme fits the kind, a SQL query passes the checks' read-only
//!   rule, 60 s to a day). A KPI bound to a delivery metric
//!   (`computed_from`) takes no source: its figures are computed.
//! - A run writes one point at the start of its interval
//!   (`domain::frontline::collection_instant`), so a retry within the
//!   interval replaces the value instead of adding one; the charts read the
//!   points as they read typed ones.
//! - Runs are claimed under a lease (`Store::claim_due_kpi_sources`): one
//!   replica runs a source at a time; only the claim's owner writes the
//!   outcome. A failure is kept on the source (`last_error`, the count of
//!   consecutive failures) and retried with backoff (30 s doubling, at most
//!   one interval); a success clears the error and sets `last_success_at`.
//! - SQL runs in `BEGIN READ ONLY`, rolled back, over the simple query
//!   protocol so that any numeric type arrives as text; the first column of
//!   the first row must read as a finite number. A PromQL result must be a
//!   scalar or a vector of exactly one sample.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::{Connection, Row};
use tandem_domain::frontline::{KpiSourceKind, KpiSourceSpec, collection_instant, next_kpi_run};
use tandem_store::{KpiRunOutcome, KpiSource, Store};

use crate::error::{AppError, AppResult};
use crate::lookup;
use crate::settings::Settings;

/// A series with its source.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourcedKpi {
    /// The series' key.
    pub metric: String,
    pub source: KpiSource,
}

/// Sets where a series' points come from; the first run is due at once.
pub async fn set(
    store: &Store,
    metric: &str,
    spec: KpiSourceSpec,
    now: DateTime<Utc>,
) -> AppResult<SourcedKpi> {
    spec.validate()?;
    let m = lookup::find_metric(store, metric).await?;
    if let Some(c) = m.computed_from {
        return Err(AppError::invalid(
            "source",
            format!(
                "the series {:?} is computed from {c}; it takes no collected points",
                m.key
            ),
        ));
    }
    store.set_kpi_source(m.id, &spec, now, now).await?;
    get(store, &m.key).await
}

/// A series' source (`NotFound` when it has none).
pub async fn get(store: &Store, metric: &str) -> AppResult<SourcedKpi> {
    let m = lookup::find_metric(store, metric).await?;
    let source = store.kpi_source(m.id).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "the series {:?} has no source; its points are typed",
            m.key
        ))
    })?;
    Ok(SourcedKpi {
        metric: m.key,
        source,
    })
}

/// Every series with a source.
pub async fn list(store: &Store) -> AppResult<Vec<SourcedKpi>> {
    let mut out = Vec::new();
    for source in store.list_kpi_sources().await? {
        let m = store.get_metric(source.metric_id).await?;
        out.push(SourcedKpi {
            metric: m.key,
            source,
        });
    }
    out.sort_by(|a, b| a.metric.cmp(&b.metric));
    Ok(out)
}

/// Removes a series' source (its points stay).
pub async fn remove(store: &Store, metric: &str) -> AppResult<()> {
    let m = lookup::find_metric(store, metric).await?;
    if store.remove_kpi_source(m.id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "the series {:?} has no source",
            m.key
        )))
    }
}

/// Claims and runs the sources due at `now` as `owner`; how many ran.
pub async fn run_due(
    store: &Store,
    settings: &Settings,
    owner: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let claimed = store
        .claim_due_kpi_sources(owner, now, lease_until(settings, now), None, 50)
        .await?;
    let n = claimed.len();
    for source in claimed {
        run_claimed(store, settings, owner, &source).await?;
    }
    Ok(n)
}

/// Runs one series' source now, whatever its schedule (`tandem kpi source
/// run`); `Conflict` while another run holds it.
pub async fn run_now(
    store: &Store,
    settings: &Settings,
    metric: &str,
    now: DateTime<Utc>,
) -> AppResult<SourcedKpi> {
    let sourced = get(store, metric).await?;
    let owner = format!("run-{}", uuid::Uuid::now_v7());
    let claimed = store
        .claim_due_kpi_sources(
            &owner,
            now,
            lease_until(settings, now),
            Some(sourced.source.metric_id),
            1,
        )
        .await?;
    let Some(source) = claimed.into_iter().next() else {
        return Err(AppError::conflict(
            None,
            format!(
                "the source of {:?} is being run by another replica; try again shortly",
                sourced.metric
            ),
        ));
    };
    run_claimed(store, settings, &owner, &source).await?;
    get(store, metric).await
}

fn lease_until(settings: &Settings, now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = i64::try_from(settings.kpi_sources.timeout_seconds.max(1)).unwrap_or(60);
    now + TimeDelta::seconds(secs + 30)
}

async fn run_claimed(
    store: &Store,
    settings: &Settings,
    owner: &str,
    source: &KpiSource,
) -> AppResult<()> {
    let spec = &source.spec;
    let timeout = Duration::from_secs(settings.kpi_sources.timeout_seconds.max(1));
    let outcome = match tokio::time::timeout(timeout, collect(spec)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {} s", timeout.as_secs())),
    };
    let at = Utc::now();
    let (outcome, failures) = match outcome {
        Ok(value) => (
            KpiRunOutcome::Collected {
                point_at: collection_instant(at, spec.interval_seconds),
                value,
            },
            0,
        ),
        Err(e) => {
            tracing::warn!(metric = %source.metric_id, error = %e, "a KPI source failed; retrying with backoff");
            (
                KpiRunOutcome::Failed(e),
                u32::try_from(source.failures).unwrap_or(0) + 1,
            )
        }
    };
    let next = next_kpi_run(at, spec.interval_seconds, failures);
    store
        .finish_kpi_run(source.metric_id, owner, at, &outcome, next)
        .await?;
    Ok(())
}

/// Runs a source's query once: its number, or what went wrong.
pub async fn collect(spec: &KpiSourceSpec) -> Result<f64, String> {
    let value = match spec.kind {
        KpiSourceKind::Promql => promql(&spec.url, &spec.query).await?,
        KpiSourceKind::Postgres => postgres(&spec.url, &spec.query).await?,
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("the query returned {value}, not a finite number"))
    }
}

async fn promql(url: &str, query: &str) -> Result<f64, String> {
    let client = reqwest::Client::new();
    let mut endpoint = reqwest::Url::parse(&format!(
        "{}/api/v1/query",
        url.trim().trim_end_matches('/')
    ))
    .map_err(|e| format!("the Prometheus URL: {e}"))?;
    endpoint.query_pairs_mut().append_pair("query", query);
    let response = client
        .get(endpoint)
        .send()
        .await
        .map_err(|e| format!("Prometheus did not answer: {}", e.without_url()))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("Prometheus answered {status} with no JSON: {e}"))?;
    if body["status"] != "success" {
        return Err(format!(
            "Prometheus refused the query ({status}): {}",
            body["error"].as_str().unwrap_or("no error given")
        ));
    }
    let data = &body["data"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => {
            let result = data["result"].as_array().cloned().unwrap_or_default();
            match result.len() {
                1 => return sample_value(&result[0]["value"]),
                0 => return Err("the query returned no sample (an empty vector)".into()),
                n => {
                    return Err(format!(
                        "the query returned {n} series; aggregate them into one (sum, avg, …)"
                    ));
                }
            }
        }
        other => {
            return Err(format!(
                "the query returned a {}; a scalar or one sample is needed",
                other.unwrap_or("nothing")
            ));
        }
    };
    sample_value(sample)
}

/// `[<time>, "<value>"]` → the value.
fn sample_value(v: &serde_json::Value) -> Result<f64, String> {
    v[1].as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| format!("the sample {v} has no number"))
}

async fn postgres(url: &str, query: &str) -> Result<f64, String> {
    // Validated on the way in; checked again, and the transaction is read-only.
    tandem_domain::check::read_only_sql(query).map_err(|e| format!("query {e}"))?;
    let mut conn = sqlx::PgConnection::connect(url.trim())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let result = async {
        let mut tx = conn
            .begin_with("BEGIN READ ONLY")
            .await
            .map_err(|e| format!("begin: {e}"))?;
        // The simple query protocol answers in text, whatever the column's
        // type (numeric, bigint, double precision, …).
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(query.to_owned()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| format!("query: {e}"))?;
        let _ = tx.rollback().await;
        let row = row.ok_or("the query returned no row")?;
        if row.columns().is_empty() {
            return Err("the query returned no column".to_owned());
        }
        let text: Option<String> = row
            .try_get_unchecked(0)
            .map_err(|e| format!("reading the first column: {e}"))?;
        let text = text.ok_or("the first column is NULL")?;
        text.trim()
            .parse::<f64>()
            .map_err(|_| format!("the first column is {text:?}, not a number"))
    }
    .await;
    let _ = conn.close().await;
    result
}
