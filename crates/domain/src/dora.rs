//! Delivery metrics as pure computations: percentiles, the lead-time
//! histogram kept per deployment and per day, DORA performance levels, and
//! the rules (windows, look-backs) the metrics depend on. Definitions are in
//! `docs/metrics.md`; the store gathers the inputs.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::attribution;
use crate::error::{DomainError, FieldError};
use crate::string_enum;

/// The year of the State of DevOps report whose thresholds give the levels.
pub const THRESHOLDS_YEAR: u16 = 2023;

/// Default window after a deployment in which an unlinked incident on the
/// same service counts as caused by it.
pub const DEFAULT_INCIDENT_WINDOW_HOURS: i64 = 24;

/// Rules the stored metric facts depend on. Changing them recomputes every
/// deployment's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricRules {
    /// The first deployment of a service counts commits authored this many
    /// days before it.
    pub first_lookback_days: i64,
    /// An unlinked incident opened this many hours after a deployment (and
    /// before the service's next one) counts as caused by it.
    pub incident_window_hours: i64,
    /// The environment whose incidents count as production failures.
    pub production_environment: String,
}

impl Default for MetricRules {
    fn default() -> Self {
        MetricRules {
            first_lookback_days: attribution::DEFAULT_FIRST_LOOKBACK_DAYS,
            incident_window_hours: DEFAULT_INCIDENT_WINDOW_HOURS,
            production_environment: "production".to_owned(),
        }
    }
}

impl MetricRules {
    pub fn attribution(&self) -> attribution::Rules {
        attribution::Rules {
            first_lookback: Duration::days(self.first_lookback_days),
        }
    }

    pub fn incident_window(&self) -> Duration {
        Duration::hours(self.incident_window_hours)
    }
}

// ---- percentiles -----------------------------------------------------------

/// The median of `values` (sorted in place): the middle value, or the mean
/// of the two middle values when there is an even number. None when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if !n.is_multiple_of(2) {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method: the
/// smallest value with at least p % of the values at or below it, i.e. the
/// value at rank ⌈p/100 × n⌉ (1-based). None when empty.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[nearest_rank(values.len() as u64, p) as usize - 1])
}

fn nearest_rank(n: u64, p: f64) -> u64 {
    let rank = (p / 100.0 * n as f64).ceil() as u64;
    rank.clamp(1, n)
}

// ---- lead-time histogram ---------------------------------------------------

/// Ratio between the bounds of one histogram bucket: every bucket spans 2 %,
/// so a value read back from the histogram (the bucket's geometric middle)
/// is within 1 % of the true value.
pub const HISTOGRAM_RATIO: f64 = 1.02;

/// Durations in whole seconds, counted per logarithmic bucket: bucket 0 holds
/// values under one second; bucket `b ≥ 1` holds `[1.02^(b-1), 1.02^b)`.
/// Merging is adding counts, so per-day histograms combine into any range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Count per bucket, dense (index = bucket); no trailing zeros.
    counts: Vec<u64>,
}

impl Histogram {
    pub fn bucket(seconds: f64) -> u16 {
        if seconds < 1.0 {
            return 0;
        }
        let b = (seconds.ln() / HISTOGRAM_RATIO.ln()).floor() as i64 + 1;
        b.clamp(1, i64::from(u16::MAX)) as u16
    }

    /// The value a bucket stands for: its geometric middle (0 for bucket 0).
    pub fn value(bucket: u16) -> f64 {
        if bucket == 0 {
            return 0.0;
        }
        HISTOGRAM_RATIO.powf(f64::from(bucket) - 0.5)
    }

    fn bump(&mut self, bucket: u16, by: u64) {
        let i = usize::from(bucket);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += by;
    }

    pub fn add(&mut self, seconds: f64) {
        self.bump(Self::bucket(seconds.max(0.0)), 1);
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| *c == 0)
    }

    /// The value at 1-based rank `rank`.
    fn at_rank(&self, rank: u64) -> f64 {
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value(u16::try_from(b).unwrap_or(u16::MAX));
            }
        }
        0.0
    }

    /// The median, as [`median`] defines it, within 1 %.
    pub fn median(&self) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        Some(if !n.is_multiple_of(2) {
            self.at_rank(n / 2 + 1)
        } else {
            (self.at_rank(n / 2) + self.at_rank(n / 2 + 1)) / 2.0
        })
    }

    /// The nearest-rank percentile, as [`percentile`] defines it, within 1 %.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.at_rank(nearest_rank(n, p)))
    }

    /// Compact bytes: (bucket u16 LE, count u32 LE) per non-empty bucket,
    /// in bucket order. Counts above u32::MAX are split over repeated
    /// entries.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (b, c) in self.counts.iter().enumerate() {
            let b = u16::try_from(b).unwrap_or(u16::MAX);
            let mut left = *c;
            while left > 0 {
                let part = left.min(u64::from(u32::MAX));
                out.extend_from_slice(&b.to_le_bytes());
                out.extend_from_slice(&(part as u32).to_le_bytes());
                left -= part;
            }
        }
        out
    }

    /// Reads [`Histogram::encode`]'s bytes; None when they are not whole
    /// entries.
    pub fn decode(bytes: &[u8]) -> Option<Histogram> {
        let mut h = Histogram::default();
        h.merge_encoded(bytes).then_some(h)
    }

    /// Adds encoded counts without building another histogram.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> bool {
        if !bytes.len().is_multiple_of(6) {
            return false;
        }
        for e in bytes.chunks_exact(6) {
            let b = u16::from_le_bytes([e[0], e[1]]);
            let c = u32::from_le_bytes([e[2], e[3], e[4], e[5]]);
            self.bump(b, u64::from(c));
        }
        true
    }
}

// ---- DORA levels -----------------------------------------------------------

string_enum! {
    /// A DORA software delivery performance level.
    Level {
        Elite => "elite",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
/// A month, for thresholds: 30 days.
const MONTH: f64 = 30.0 * DAY;

/// Deployment frequency: at least once a day on average is elite (on
/// demand), at least weekly high, at least monthly medium, else low.
pub fn frequency_level(deployments_per_day: f64) -> Level {
    if deployments_per_day >= 1.0 {
        Level::Elite
    } else if deployments_per_day >= 1.0 / 7.0 {
        Level::High
    } else if deployments_per_day >= 1.0 / 30.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Lead time for changes (median, seconds): under a day elite, up to a week
/// high, up to a month medium, else low.
pub fn lead_time_level(median_seconds: f64) -> Level {
    if median_seconds < DAY {
        Level::Elite
    } else if median_seconds <= WEEK {
        Level::High
    } else if median_seconds <= MONTH {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Change failure rate (0–1): up to 5 % elite, 10 % high, 15 % medium, else
/// low (the 2023 low cluster sat at 64 %).
pub fn failure_rate_level(rate: f64) -> Level {
    if rate <= 0.05 {
        Level::Elite
    } else if rate <= 0.10 {
        Level::High
    } else if rate <= 0.15 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Time to restore (median, seconds): under an hour elite, under a day high,
/// up to a week medium, else low.
pub fn restore_level(median_seconds: f64) -> Level {
    if median_seconds < HOUR {
        Level::Elite
    } else if median_seconds < DAY {
        Level::High
    } else if median_seconds <= WEEK {
        Level::Medium
    } else {
        Level::Low
    }
}

// ---- ranges and buckets ----------------------------------------------------

string_enum! {
    /// How a range is cut: UTC days, ISO weeks (Monday first) or calendar
    /// months.
    Bucket {
        Day => "day",
        Week => "week",
        Month => "month",
    }
}

/// The longest range a metric query may cover, in days (ten years).
pub const MAX_RANGE_DAYS: i64 = 3660;

/// A range of whole UTC days, `start` included, `end` excluded, cut into
/// buckets (the first and last clipped to the range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub bucket: Bucket,
}

impl Range {
    /// From `since` to `until`, both included.
    pub fn new(since: NaiveDate, until: NaiveDate, bucket: Bucket) -> Result<Range, DomainError> {
        if since > until {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "since",
                format!("since ({since}) is after until ({until})"),
            )]));
        }
        let end = until.succ_opt().ok_or_else(|| {
            DomainError::Invalid(vec![FieldError::new(
                "until",
                "is past the last date there is",
            )])
        })?;
        if (end - since).num_days() > MAX_RANGE_DAYS {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "since",
                format!("the range is longer than {MAX_RANGE_DAYS} days"),
            )]));
        }
        Ok(Range {
            start: since,
            end,
            bucket,
        })
    }

    pub fn start_at(&self) -> DateTime<Utc> {
        midnight(self.start)
    }

    pub fn end_at(&self) -> DateTime<Utc> {
        midnight(self.end)
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The buckets, in order, as `[start, end)` day pairs.
    pub fn buckets(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut at = self.start;
        while at < self.end {
            let next = match self.bucket {
                Bucket::Day => at + Duration::days(1),
                Bucket::Week => {
                    at + Duration::days(7 - i64::from(at.weekday().num_days_from_monday()))
                }
                Bucket::Month => {
                    let (y, m) = if at.month() == 12 {
                        (at.year() + 1, 1)
                    } else {
                        (at.year(), at.month() + 1)
                    };
                    NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists")
                }
            };
            let next = next.min(self.end);
            out.push((at, next));
            at = next;
        }
        out
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// Which deployments and incidents a metric reads: one or more projects (a
/// team's are all of its projects), optionally one service, one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricScope {
    pub project_ids: Vec<Uuid>,
    pub service: Option<String>,
    pub environment: String,
}

// ---- DORA report -----------------------------------------------------------

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
    /// `revert`, `unknown`).
    pub method: Option<String>,
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

const EXACT: &str = "exact";
const APPROX: &str = "histogram (within 1 %)";

fn hours(seconds: Option<f64>) -> Option<f64> {
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
fn restore_stats(inputs: &DoraInputs, from: NaiveDate, to: NaiveDate) -> (u64, u64, Option<f64>) {
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
fn values_in(values: &[(NaiveDate, f64)], from: NaiveDate, to: NaiveDate) -> Vec<f64> {
    values
        .iter()
        .filter(|(d, _)| *d >= from && *d < to)
        .map(|(_, s)| *s)
        .collect()
}

/// Lead-time median and P85 (seconds) of the days in `[from, to)`.
fn lead_stats(
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
fn precision(exact: bool) -> String {
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

// ---- pull requests, review time ---------------------------------------------

/// A merged pull request with the times its stages are measured between.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PrFact {
    pub repo: String,
    pub number: i64,
    pub title: String,
    pub first_commit_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    /// Ready for review: when it left draft, else when it was opened.
    pub ready_at: DateTime<Utc>,
    pub first_review_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub merged_at: DateTime<Utc>,
    /// The first deployment to the environment that shipped one of its
    /// commits.
    pub deployed_at: Option<DateTime<Utc>>,
}

/// The median of one stage, and over how many pull requests.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stage {
    pub pull_requests: u64,
    pub median_hours: Option<f64>,
}

fn stage<'a>(
    prs: impl Iterator<Item = &'a PrFact>,
    span: impl Fn(&PrFact) -> Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Stage {
    let mut v: Vec<f64> = prs
        .filter_map(span)
        .map(|(a, b)| (b - a).num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6)
        .collect();
    Stage {
        pull_requests: v.len() as u64,
        median_hours: hours(median(&mut v)),
    }
}

/// Pull requests merged in the range, stage by stage: first commit → opened
/// → first review → merged → deployed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PrView {
    pub pull_requests: u64,
    pub first_commit_to_opened: Stage,
    pub opened_to_first_review: Stage,
    pub first_review_to_merged: Stage,
    pub merged_to_deployed: Stage,
    pub first_commit_to_deployed: Stage,
}

pub fn pr_view(prs: &[PrFact]) -> PrView {
    PrView {
        pull_requests: prs.len() as u64,
        first_commit_to_opened: stage(prs.iter(), |p| Some((p.first_commit_at?, p.opened_at))),
        opened_to_first_review: stage(prs.iter(), |p| Some((p.opened_at, p.first_review_at?))),
        first_review_to_merged: stage(prs.iter(), |p| Some((p.first_review_at?, p.merged_at))),
        merged_to_deployed: stage(prs.iter(), |p| Some((p.merged_at, p.deployed_at?))),
        first_commit_to_deployed: stage(prs.iter(), |p| Some((p.first_commit_at?, p.deployed_at?))),
    }
}

/// Lead time for changes with its buckets and the pull-request view.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadTimeReport {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub bucket: Bucket,
    pub environment: String,
    pub service: Option<String>,
    pub lead_time: LeadTime,
    pub buckets: Vec<LeadBucket>,
    pub pull_requests: PrView,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub commits: u64,
    pub median_hours: Option<f64>,
    pub p85_hours: Option<f64>,
}

pub fn lead_time_report(
    scope: &MetricScope,
    range: &Range,
    inputs: &DoraInputs,
    prs: &[PrFact],
) -> LeadTimeReport {
    let dora = report(scope, range, inputs);
    let buckets = range
        .buckets()
        .into_iter()
        .map(|(from, to)| {
            let (commits, m, p) = lead_stats(inputs, from, to);
            LeadBucket {
                start: from,
                end: to,
                commits,
                median_hours: hours(m),
                p85_hours: hours(p),
            }
        })
        .collect();
    LeadTimeReport {
        since: dora.since,
        until: dora.until,
        bucket: range.bucket,
        environment: dora.environment,
        service: dora.service,
        lead_time: dora.lead_time,
        buckets,
        pull_requests: pr_view(prs),
    }
}

/// Code review time of pull requests merged in the range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReviewTimeReport {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub bucket: Bucket,
    pub pull_requests: u64,
    pub ready_to_first_review: Stage,
    pub ready_to_approval: Stage,
    pub ready_to_merge: Stage,
    pub buckets: Vec<ReviewBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReviewBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub pull_requests: u64,
    pub ready_to_first_review: Stage,
    pub ready_to_approval: Stage,
    pub ready_to_merge: Stage,
}

pub fn review_time_report(range: &Range, prs: &[PrFact]) -> ReviewTimeReport {
    let stages = |prs: &[&PrFact]| {
        (
            stage(prs.iter().copied(), |p| {
                Some((p.ready_at, p.first_review_at?))
            }),
            stage(prs.iter().copied(), |p| Some((p.ready_at, p.approved_at?))),
            stage(prs.iter().copied(), |p| Some((p.ready_at, p.merged_at))),
        )
    };
    let all: Vec<&PrFact> = prs.iter().collect();
    let (a, b, c) = stages(&all);
    let buckets = range
        .buckets()
        .into_iter()
        .map(|(from, to)| {
            let these: Vec<&PrFact> = prs
                .iter()
                .filter(|p| p.merged_at >= midnight(from) && p.merged_at < midnight(to))
                .collect();
            let (a, b, c) = stages(&these);
            ReviewBucket {
                start: from,
                end: to,
                pull_requests: these.len() as u64,
                ready_to_first_review: a,
                ready_to_approval: b,
                ready_to_merge: c,
            }
        })
        .collect();
    ReviewTimeReport {
        since: range.start,
        until: range.end.pred_opt().unwrap_or(range.end),
        bucket: range.bucket,
        pull_requests: prs.len() as u64,
        ready_to_first_review: a,
        ready_to_approval: b,
        ready_to_merge: c,
        buckets,
    }
}

// ---- work items --------------------------------------------------------------

/// A work item as the flow metrics read it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ItemFact {
    pub id: Uuid,
    pub title: String,
    pub kind: crate::work_item::WorkKind,
    pub state: crate::work_item::WorkState,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
}

impl ItemFact {
    fn done_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.state == crate::work_item::WorkState::Done
            && self.done_at.is_some_and(|d| d >= from && d < to)
    }

    /// Started → done, in days.
    pub fn cycle_days(&self) -> Option<f64> {
        let (s, d) = (self.started_at?, self.done_at?);
        Some((d - s).num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6 / DAY)
    }
}

/// Flow metrics over one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FlowBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Items done in the bucket.
    pub done: u64,
    pub cycle_time_median_days: Option<f64>,
    /// Bugs opened in the bucket.
    pub bugs_opened: u64,
    /// Bugs open at the bucket's end.
    pub bugs_open_at_end: u64,
    pub debt_items: u64,
}

/// Cycle time, throughput, production bugs and tech-debt share of a team or
/// project's work items.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FlowReport {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub bucket: Bucket,
    /// Items done in the range (throughput).
    pub done: u64,
    pub done_per_week: f64,
    /// Done items with a start: started → done, in days.
    pub cycle_time_items: u64,
    pub cycle_time_median_days: Option<f64>,
    pub cycle_time_p85_days: Option<f64>,
    /// Items of kind `bug` created in the range.
    pub bugs_opened: u64,
    pub bugs_opened_per_week: f64,
    /// Bugs created before the range's end and not done by then (cancelled
    /// ones are not counted).
    pub bugs_open_at_end: u64,
    /// Done items of kind `debt`.
    pub debt_items: u64,
    /// debt_items ÷ done, in percent.
    pub debt_item_percent: Option<f64>,
    /// Cycle days of the done items with a start, and of the debt ones.
    pub cycle_days: f64,
    pub debt_cycle_days: f64,
    pub debt_cycle_day_percent: Option<f64>,
    pub debt_target_percent: f64,
    /// The item share is below the target.
    pub debt_below_target: bool,
    pub buckets: Vec<FlowBucket>,
}

pub fn flow_report(range: &Range, items: &[ItemFact], debt_target_percent: f64) -> FlowReport {
    use crate::work_item::{WorkKind, WorkState};
    let bug_open_at = |i: &ItemFact, at: DateTime<Utc>| {
        i.kind == WorkKind::Bug
            && i.created_at < at
            && i.state != WorkState::Cancelled
            && i.done_at
                .is_none_or(|d| d >= at || i.state != WorkState::Done)
    };
    let bucket_of = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let done: Vec<&ItemFact> = items.iter().filter(|i| i.done_in(from, to)).collect();
        let mut cycles: Vec<f64> = done.iter().filter_map(|i| i.cycle_days()).collect();
        (done, median(&mut cycles))
    };
    let buckets = range
        .buckets()
        .into_iter()
        .map(|(from, to)| {
            let (a, b) = (midnight(from), midnight(to));
            let (done, cycle) = bucket_of(a, b);
            FlowBucket {
                start: from,
                end: to,
                done: done.len() as u64,
                cycle_time_median_days: cycle,
                bugs_opened: items
                    .iter()
                    .filter(|i| i.kind == WorkKind::Bug && i.created_at >= a && i.created_at < b)
                    .count() as u64,
                bugs_open_at_end: items.iter().filter(|i| bug_open_at(i, b)).count() as u64,
                debt_items: done.iter().filter(|i| i.kind == WorkKind::Debt).count() as u64,
            }
        })
        .collect();
    let (a, b) = (range.start_at(), range.end_at());
    let done: Vec<&ItemFact> = items.iter().filter(|i| i.done_in(a, b)).collect();
    let mut cycles: Vec<f64> = done.iter().filter_map(|i| i.cycle_days()).collect();
    let cycle_days: f64 = cycles.iter().sum();
    let debt: Vec<&&ItemFact> = done.iter().filter(|i| i.kind == WorkKind::Debt).collect();
    let debt_cycle_days: f64 = debt.iter().filter_map(|i| i.cycle_days()).sum();
    let weeks = range.days() as f64 / 7.0;
    let bugs_opened = items
        .iter()
        .filter(|i| i.kind == WorkKind::Bug && i.created_at >= a && i.created_at < b)
        .count() as u64;
    let pct = |part: f64, whole: f64| (whole > 0.0).then(|| 100.0 * part / whole);
    let debt_item_percent = pct(debt.len() as f64, done.len() as f64);
    FlowReport {
        since: range.start,
        until: range.end.pred_opt().unwrap_or(range.end),
        bucket: range.bucket,
        done: done.len() as u64,
        done_per_week: done.len() as f64 / weeks,
        cycle_time_items: cycles.len() as u64,
        cycle_time_median_days: median(&mut cycles),
        cycle_time_p85_days: percentile(&mut cycles, 85.0),
        bugs_opened,
        bugs_opened_per_week: bugs_opened as f64 / weeks,
        bugs_open_at_end: items.iter().filter(|i| bug_open_at(i, b)).count() as u64,
        debt_items: debt.len() as u64,
        debt_item_percent,
        cycle_days,
        debt_cycle_days,
        debt_cycle_day_percent: pct(debt_cycle_days, cycle_days),
        debt_target_percent,
        debt_below_target: debt_item_percent.is_some_and(|p| p < debt_target_percent),
        buckets,
    }
}

// ---- coverage ------------------------------------------------------------------

/// Test coverage one repository's pipelines reported.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RepoCoverage {
    pub repo: String,
    /// Pipelines in the range that reported coverage.
    pub pipelines: u64,
    /// The last reported value in the range, in percent, and when.
    pub latest_percent: Option<f64>,
    pub latest_at: Option<DateTime<Utc>>,
    /// The last value of each bucket (None: nothing reported in it).
    pub buckets: Vec<CoverageBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CoverageBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub latest_percent: Option<f64>,
}

/// `points`: (repo, pipeline finished (or started) at, coverage %), any
/// order.
pub fn coverage_report(
    range: &Range,
    repos: &[String],
    points: &[(String, DateTime<Utc>, f64)],
) -> Vec<RepoCoverage> {
    repos
        .iter()
        .map(|repo| {
            let mut mine: Vec<&(String, DateTime<Utc>, f64)> =
                points.iter().filter(|p| &p.0 == repo).collect();
            mine.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.total_cmp(&b.2)));
            let last_in = |a: DateTime<Utc>, b: DateTime<Utc>| {
                mine.iter()
                    .rev()
                    .find(|p| p.1 >= a && p.1 < b)
                    .map(|p| (p.1, p.2))
            };
            let latest = last_in(range.start_at(), range.end_at());
            RepoCoverage {
                repo: repo.clone(),
                pipelines: mine
                    .iter()
                    .filter(|p| p.1 >= range.start_at() && p.1 < range.end_at())
                    .count() as u64,
                latest_percent: latest.map(|l| l.1),
                latest_at: latest.map(|l| l.0),
                buckets: range
                    .buckets()
                    .into_iter()
                    .map(|(from, to)| CoverageBucket {
                        start: from,
                        end: to,
                        latest_percent: last_in(midnight(from), midnight(to)).map(|l| l.1),
                    })
                    .collect(),
            }
        })
        .collect()
}

// ---- explanations ----------------------------------------------------------------

string_enum! {
    /// A metric whose number can be explained.
    ExplainMetric {
        DeploymentFrequency => "deployment-frequency",
        LeadTime => "lead-time",
        ChangeFailureRate => "change-failure-rate",
        TimeToRestore => "time-to-restore",
        PullRequests => "pull-requests",
        ReviewTime => "review-time",
        CycleTime => "cycle-time",
        Throughput => "throughput",
        Bugs => "bugs",
        DebtShare => "debt-share",
    }
}

impl ExplainMetric {
    /// The definition, in one sentence (`docs/metrics.md` has the rules).
    pub fn definition(self) -> &'static str {
        match self {
            ExplainMetric::DeploymentFrequency => {
                "successful deployments to the environment that finished in the range (rollbacks and reverts included)"
            }
            ExplainMetric::LeadTime => {
                "for each commit a deployment shipped: deployment finished − commit authored; median and P85 (nearest rank)"
            }
            ExplainMetric::ChangeFailureRate => {
                "failed changes ÷ changes: a change fails when an incident names it, else (production) an unlinked incident on its service opens within the window after it and before the next deployment, else the next deployment rolls it back"
            }
            ExplainMetric::TimeToRestore => {
                "incidents opened in the range: resolved − opened, median of the resolved ones"
            }
            ExplainMetric::PullRequests => {
                "pull requests merged in the range: first commit → opened → first review → merged → first deployment shipping one of its commits; median of each stage"
            }
            ExplainMetric::ReviewTime => {
                "pull requests merged in the range: ready for review → first review, → approval, → merge; medians"
            }
            ExplainMetric::CycleTime => {
                "work items done in the range: started → done, median and P85"
            }
            ExplainMetric::Throughput => "work items done in the range, per week",
            ExplainMetric::Bugs => {
                "work items of kind bug: opened in the range, and open at its end"
            }
            ExplainMetric::DebtShare => {
                "done items of kind debt ÷ done items, and their share of cycle days, against the target"
            }
        }
    }
}

/// What a number is made of: the deployments, commits, pull requests,
/// incidents and work items behind it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub metric: ExplainMetric,
    pub definition: String,
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub environment: String,
    pub service: Option<String>,
    pub deployments: Vec<ExplainedDeployment>,
    pub incidents: Vec<IncidentFact>,
    pub pull_requests: Vec<PrFact>,
    pub work_items: Vec<ItemFact>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_nearest_rank_percentiles() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        // 10 values 1..=10: P85 is rank ⌈8.5⌉ = 9 → 9.
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 85.0), Some(9.0));
        assert_eq!(percentile(&mut [7.0], 85.0), Some(7.0));
    }

    #[test]
    fn histograms_are_within_one_percent_and_merge() {
        let values = [
            0.5,
            1.0,
            59.0,
            3600.0,
            86_400.0,
            7.0 * 86_400.0,
            400.0 * 86_400.0,
        ];
        for v in values {
            let h = {
                let mut h = Histogram::default();
                h.add(v);
                h
            };
            let got = h.median().unwrap();
            if v < 1.0 {
                assert_eq!(got, 0.0);
            } else {
                assert!((got - v).abs() / v <= 0.01, "{v} read back as {got}");
            }
        }
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for v in [10.0, 20.0, 30.0] {
            a.add(v);
        }
        for v in [40.0, 50.0] {
            b.add(v);
        }
        a.merge(&b);
        assert_eq!(a.count(), 5);
        let m = a.median().unwrap();
        assert!((m - 30.0).abs() / 30.0 <= 0.01);
        let p = a.percentile(85.0).unwrap();
        assert!((p - 50.0).abs() / 50.0 <= 0.01);
        assert_eq!(Histogram::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Histogram::decode(&[1, 2, 3]), None);
    }

    #[test]
    fn levels_follow_the_2023_thresholds() {
        assert_eq!(frequency_level(3.0), Level::Elite);
        assert_eq!(frequency_level(1.0 / 7.0), Level::High);
        assert_eq!(frequency_level(1.0 / 20.0), Level::Medium);
        assert_eq!(frequency_level(1.0 / 60.0), Level::Low);
        assert_eq!(lead_time_level(23.0 * HOUR), Level::Elite);
        assert_eq!(lead_time_level(DAY), Level::High);
        assert_eq!(lead_time_level(8.0 * DAY), Level::Medium);
        assert_eq!(lead_time_level(31.0 * DAY), Level::Low);
        assert_eq!(failure_rate_level(0.05), Level::Elite);
        assert_eq!(failure_rate_level(0.1), Level::High);
        assert_eq!(failure_rate_level(0.15), Level::Medium);
        assert_eq!(failure_rate_level(0.5), Level::Low);
        assert_eq!(restore_level(59.0 * 60.0), Level::Elite);
        assert_eq!(restore_level(23.0 * HOUR), Level::High);
        assert_eq!(restore_level(WEEK), Level::Medium);
        assert_eq!(restore_level(8.0 * DAY), Level::Low);
    }

    /// Time to restore from the day rollups: exact values when given, else
    /// the days' histograms (within 1 %), with the precision said; counts
    /// per bucket come from the days either way.
    #[test]
    fn time_to_restore_from_day_rollups() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let range = Range::new(d(2), d(15), Bucket::Week).unwrap();
        let scope = MetricScope {
            project_ids: vec![],
            service: None,
            environment: "production".into(),
        };
        // Day 3: restored in 1 h and 3 h, one still open; day 10: 10 h.
        let values = [(d(3), HOUR), (d(3), 3.0 * HOUR), (d(10), 10.0 * HOUR)];
        let mut day3 = IncidentDay {
            day: d(3),
            incidents: 3,
            resolved: 2,
            ..IncidentDay::default()
        };
        day3.restore.add(HOUR);
        day3.restore.add(3.0 * HOUR);
        let mut day10 = IncidentDay {
            day: d(10),
            incidents: 1,
            resolved: 1,
            ..IncidentDay::default()
        };
        day10.restore.add(10.0 * HOUR);
        let mut inputs = DoraInputs {
            incident_days: vec![day3, day10],
            exact_restore: Some(values.to_vec()),
            ..DoraInputs::default()
        };
        let exact = report(&scope, &range, &inputs);
        assert_eq!(exact.time_to_restore.incidents, 4);
        assert_eq!(exact.time_to_restore.resolved, 3);
        assert_eq!(exact.time_to_restore.median_hours, Some(3.0));
        assert_eq!(exact.time_to_restore.precision, "exact");
        assert_eq!(exact.buckets[0].incidents, 3);
        assert_eq!(exact.buckets[0].restore_median_hours, Some(2.0));
        assert_eq!(exact.buckets[1].restore_median_hours, Some(10.0));

        inputs.exact_restore = None;
        let approx = report(&scope, &range, &inputs);
        assert_eq!(approx.time_to_restore.incidents, 4);
        assert_eq!(approx.time_to_restore.precision, "histogram (within 1 %)");
        let m = approx.time_to_restore.median_hours.unwrap();
        assert!((m - 3.0).abs() / 3.0 <= 0.01, "{m}");
        let w2 = approx.buckets[1].restore_median_hours.unwrap();
        assert!((w2 - 10.0).abs() / 10.0 <= 0.01, "{w2}");
    }
}
