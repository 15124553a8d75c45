//! Pull requests: per-stage medians, and the lead-time and review-time
//! reports over a range.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

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
#[schema(as = PullRequestStage)]
pub struct Stage {
    pub pull_requests: u64,
    pub median_hours: Option<f64>,
}

pub(super) fn stage<'a>(
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
                .filter(|p| p.merged_at >= range.at(from) && p.merged_at < range.at(to))
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
