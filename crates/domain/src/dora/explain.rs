//! Explanations: the metrics whose number can be explained, their one-sentence
//! definitions, and what a number is made of (the deployments, commits, pull
//! requests, incidents and work items behind it).
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

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
