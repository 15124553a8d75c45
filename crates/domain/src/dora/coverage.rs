//! Coverage: the test coverage repositories' CI pipelines reported, per
//! repository and per bucket.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

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
                        latest_percent: last_in(range.at(from), range.at(to)).map(|l| l.1),
                    })
                    .collect(),
            }
        })
        .collect()
}
