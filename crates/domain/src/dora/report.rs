//! The DORA report: the four keys of a scope over a range, overall and per
//! bucket, from per-day facts.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

/// One UTC day of a scope, from the stored rollups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayFacts {
    pub day: NaiveDate,
    /// Successful deployments (rollbacks and reverts included).
    pub deployments: u64,
    /// Deployments that are changes (not rollbacks or reverts).
    pub changes: u64,
    /// Changes that failed.
    pub failures: u64,
    /// Commits shipped.
    pub commits: u64,
    pub lead: Histogram,
}

/// An incident as the metrics read it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IncidentFact {
    pub id: Uuid,
    pub external_id: String,
    pub service: Option<String>,
    pub title: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The deployment the sender says caused it.
    pub caused_by: Option<String>,
}

/// Everything a DORA report is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoraInputs {
    /// Days with at least one deployment, in order.
    pub days: Vec<DayFacts>,
    /// Every shipped commit's (deployment day, lead time in seconds), when
    /// there are few enough to read exactly; otherwise the days' histograms
    /// are used.
    pub exact_lead: Option<Vec<(NaiveDate, f64)>>,
    /// Incidents by UTC day of opening, in order (days with at least one).
    pub incident_days: Vec<IncidentDay>,
    /// Every resolved incident's (opening day, time to restore in seconds),
    /// when there are few enough to read exactly; otherwise the days'
    /// histograms are used.
    pub exact_restore: Option<Vec<(NaiveDate, f64)>>,
}

/// The incidents of a scope opened on one UTC day, from the stored rollups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentDay {
    pub day: NaiveDate,
    /// Opened that day.
    pub incidents: u64,
    /// Of which resolved.
    pub resolved: u64,
    /// Resolved − opened, seconds.
    pub restore: Histogram,
}

/// Deployment frequency.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Frequency {
    /// Successful deployments to the environment in the range (rollbacks
    /// and reverts included).
    pub deployments: u64,
    /// Days (UTC) with at least one.
    pub deploy_days: u64,
    /// Days in the range.
    pub days: i64,
    pub per_day: f64,
    pub per_week: f64,
    pub deploy_days_per_week: f64,
    /// None without deployments.
    pub level: Option<Level>,
}

/// Lead time for changes over the shipped commits.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadTime {
    pub commits: u64,
    pub median_hours: Option<f64>,
    pub p85_hours: Option<f64>,
    /// `exact`, or `histogram (within 1 %)` for very many commits.
    pub precision: String,
    pub level: Option<Level>,
}

/// Change failure rate.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FailureRate {
    /// Deployments that are changes (not rollbacks or reverts).
    pub changes: u64,
    pub failed: u64,
    /// failed ÷ changes, 0–1; None without changes.
    pub rate: Option<f64>,
    pub level: Option<Level>,
}

/// Time to restore service.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Restore {
    /// Incidents opened in the range.
    pub incidents: u64,
    /// Of which resolved.
    pub resolved: u64,
    pub median_hours: Option<f64>,
    /// `exact`, or `histogram (within 1 %)` for very many incidents.
    pub precision: String,
    pub level: Option<Level>,
}

/// The four keys over one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraBucket {
    pub start: NaiveDate,
    /// Excluded.
    pub end: NaiveDate,
    pub deployments: u64,
    pub deploy_days: u64,
    pub commits: u64,
    pub lead_time_median_hours: Option<f64>,
    pub lead_time_p85_hours: Option<f64>,
    pub changes: u64,
    pub failed: u64,
    pub change_failure_rate: Option<f64>,
    pub incidents: u64,
    pub restore_median_hours: Option<f64>,
}

/// The DORA four keys of a scope over a range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraReport {
    pub since: NaiveDate,
    /// Included.
    pub until: NaiveDate,
    pub bucket: Bucket,
    pub environment: String,
    pub service: Option<String>,
    /// The year of the State of DevOps report whose thresholds give the
    /// levels.
    pub thresholds_year: u16,
    pub deployment_frequency: Frequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: FailureRate,
    pub time_to_restore: Restore,
    pub buckets: Vec<DoraBucket>,
}

/// One commit behind a number.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExplainedCommit {
    pub repo: String,
    pub sha: String,
    pub authored_at: DateTime<Utc>,
    pub pr_number: Option<i64>,
    /// Deployment finished − authored.
    pub lead_time_hours: f64,
}

/// One deployment behind a number: what it shipped, how that was found, and
/// whether (and why) it failed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExplainedDeployment {
    pub id: Uuid,
    pub external_id: String,
    pub service: String,
    pub environment: String,
    pub finished_at: DateTime<Utc>,
    pub repo: Option<String>,
    pub sha: Option<String>,
    /// How its commits were found (`graph`, `explicit`, `push`, `rollback`,
    /// `revert`, `waiting`, `unknown`).
    pub method: Option<String>,
    /// The attribution path in words: `graph walk from the deployed
    /// commit`, `listed commits`, `push deliveries`, `waiting for history`,
    /// … (`docs/metrics.md`, "Which attribution path a deployment took").
    pub attribution_path: Option<String>,
    /// Every fallback and exclusion attribution made, in words.
    pub notes: Vec<String>,
    /// Not a rollback or revert.
    pub is_change: bool,
    pub failed: bool,
    /// `linked_incident`, `incident_in_window` or `rolled_back`.
    pub failure_reason: Option<String>,
    /// The incident id, or the id of the deployment that rolled it back.
    pub failure_ref: Option<String>,
    pub commits: Vec<ExplainedCommit>,
}

pub(super) const EXACT: &str = "exact";
pub(super) const APPROX: &str = "histogram (within 1 %)";

pub(super) fn hours(seconds: Option<f64>) -> Option<f64> {
    seconds.map(|s| s / HOUR)
}

/// Time to restore of one incident in seconds (resolved − opened; a
/// resolution stamped before the opening counts 0), None while open.
pub fn restore_seconds(
    opened_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
) -> Option<f64> {
    resolved_at.map(|r| {
        (r - opened_at)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64
            / 1e6
    })
}

/// Incidents opened in `[from, to)`, of which resolved, and the median time
/// to restore (seconds).
pub(super) fn restore_stats(
    inputs: &DoraInputs,
    from: NaiveDate,
    to: NaiveDate,
) -> (u64, u64, Option<f64>) {
    let days = inputs
        .incident_days
        .iter()
        .filter(|d| d.day >= from && d.day < to);
    let (mut opened, mut resolved) = (0, 0);
    let mut h = Histogram::default();
    for d in days {
        opened += d.incidents;
        resolved += d.resolved;
        if inputs.exact_restore.is_none() {
            h.merge(&d.restore);
        }
    }
    let median_s = match &inputs.exact_restore {
        Some(values) => {
            let mut v = values_in(values, from, to);
            median(&mut v)
        }
        None => h.median(),
    };
    (opened, resolved, median_s)
}

/// The exact values (seconds) of the days in `[from, to)`.
pub(super) fn values_in(values: &[(NaiveDate, f64)], from: NaiveDate, to: NaiveDate) -> Vec<f64> {
    values
        .iter()
        .filter(|(d, _)| *d >= from && *d < to)
        .map(|(_, s)| *s)
        .collect()
}

/// Lead-time median and P85 (seconds) of the days in `[from, to)`.
pub(super) fn lead_stats(
    inputs: &DoraInputs,
    from: NaiveDate,
    to: NaiveDate,
) -> (u64, Option<f64>, Option<f64>) {
    match &inputs.exact_lead {
        Some(values) => {
            let mut v = values_in(values, from, to);
            let n = v.len() as u64;
            let m = median(&mut v);
            let p = percentile(&mut v, 85.0);
            (n, m, p)
        }
        None => {
            let mut h = Histogram::default();
            for d in inputs.days.iter().filter(|d| d.day >= from && d.day < to) {
                h.merge(&d.lead);
            }
            (h.count(), h.median(), h.percentile(85.0))
        }
    }
}

/// How a median was computed: [`EXACT`] from every value, or [`APPROX`]
/// from the merged histograms.
pub(super) fn precision(exact: bool) -> String {
    if exact { EXACT } else { APPROX }.to_owned()
}

/// Assembles the DORA report of a scope over a range.
pub fn report(scope: &MetricScope, range: &Range, inputs: &DoraInputs) -> DoraReport {
    let sum = |from: NaiveDate, to: NaiveDate| {
        let mut t = DayFacts::default();
        let mut deploy_days = 0;
        for d in inputs.days.iter().filter(|d| d.day >= from && d.day < to) {
            t.deployments += d.deployments;
            t.changes += d.changes;
            t.failures += d.failures;
            t.commits += d.commits;
            deploy_days += u64::from(d.deployments > 0);
        }
        (t, deploy_days)
    };
    let restore = |from: NaiveDate, to: NaiveDate| restore_stats(inputs, from, to);
    let rate = |failed: u64, changes: u64| (changes > 0).then(|| failed as f64 / changes as f64);

    let buckets = range
        .buckets()
        .into_iter()
        .map(|(from, to)| {
            let (t, deploy_days) = sum(from, to);
            let (_, median_s, p85_s) = lead_stats(inputs, from, to);
            let (incidents, _, restore_s) = restore(from, to);
            DoraBucket {
                start: from,
                end: to,
                deployments: t.deployments,
                deploy_days,
                commits: t.commits,
                lead_time_median_hours: hours(median_s),
                lead_time_p85_hours: hours(p85_s),
                changes: t.changes,
                failed: t.failures,
                change_failure_rate: rate(t.failures, t.changes),
                incidents,
                restore_median_hours: hours(restore_s),
            }
        })
        .collect();

    let (t, deploy_days) = sum(range.start, range.end);
    let days = range.days();
    let per_day = t.deployments as f64 / days as f64;
    let (commits, median_s, p85_s) = lead_stats(inputs, range.start, range.end);
    let (incidents, resolved, restore_s) = restore(range.start, range.end);
    let cfr = rate(t.failures, t.changes);
    DoraReport {
        since: range.start,
        until: range.end.pred_opt().unwrap_or(range.end),
        bucket: range.bucket,
        environment: scope.environment.clone(),
        service: scope.service.clone(),
        thresholds_year: THRESHOLDS_YEAR,
        deployment_frequency: Frequency {
            deployments: t.deployments,
            deploy_days,
            days,
            per_day,
            per_week: per_day * 7.0,
            deploy_days_per_week: deploy_days as f64 / days as f64 * 7.0,
            level: (t.deployments > 0).then(|| frequency_level(per_day)),
        },
        lead_time: LeadTime {
            commits,
            median_hours: hours(median_s),
            p85_hours: hours(p85_s),
            precision: precision(inputs.exact_lead.is_some()),
            level: median_s.map(lead_time_level),
        },
        change_failure_rate: FailureRate {
            changes: t.changes,
            failed: t.failures,
            rate: cfr,
            level: cfr.map(failure_rate_level),
        },
        time_to_restore: Restore {
            incidents,
            resolved,
            median_hours: hours(restore_s),
            precision: precision(inputs.exact_restore.is_some()),
            level: restore_s.map(restore_level),
        },
        buckets,
    }
}
