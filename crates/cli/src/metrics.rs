//! `tandem metrics dora|lead-time|review-time|cycle-time|throughput|bugs|
//! debt-share|coverage|explain`: the delivery metrics the API serves under
//! `/api/v1/delivery/...`, computed by the same functions
//! (`tandem_app::delivery_metrics`).

use anyhow::anyhow;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use tandem_app::AppError;
use tandem_app::Settings;
use tandem_app::delivery_metrics::{self as dm, DeliveryQuery};
use tandem_domain::dora::{Bucket, ExplainMetric, Level};
use tandem_store::Store;

use crate::Format;
use crate::commands::{print_json, table};

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// DORA four keys: deployment frequency, lead time, change failure rate,
    /// time to restore, with levels (2023 thresholds).
    Dora(ScopeArgs),
    /// Lead time for changes by bucket, and the pull-request stages.
    LeadTime(ScopeArgs),
    /// Code review time: ready → first review, → approval, → merge.
    ReviewTime(ScopeArgs),
    /// Cycle time of work items (started → done).
    CycleTime(ScopeArgs),
    /// Work items done per week.
    Throughput(ScopeArgs),
    /// Production bugs: opened per week, open at the end of the range.
    Bugs(ScopeArgs),
    /// Tech-debt share of done items and of cycle days, against the target.
    DebtShare(ScopeArgs),
    /// Test coverage reported by pipelines.
    Coverage(ScopeArgs),
    /// The deployments, commits, pull requests, incidents or work items
    /// behind a metric.
    Explain {
        /// deployment-frequency, lead-time, change-failure-rate,
        /// time-to-restore, pull-requests, review-time, cycle-time,
        /// throughput, bugs or debt-share.
        #[arg(value_parser = parse_metric)]
        metric: ExplainMetric,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Project key or id.
    #[arg(long)]
    project: Option<String>,
    /// Team key or id (all of its projects), instead of --project.
    #[arg(long)]
    team: Option<String>,
    /// One service.
    #[arg(long)]
    service: Option<String>,
    /// Environment (default: metrics.production_environment).
    #[arg(long)]
    env: Option<String>,
    /// First day, YYYY-MM-DD (UTC), included.
    #[arg(long)]
    since: NaiveDate,
    /// Last day, YYYY-MM-DD (UTC), included (default: today).
    #[arg(long)]
    until: Option<NaiveDate>,
    /// day, week or month.
    #[arg(long, value_parser = parse_bucket, default_value = "week")]
    bucket: Bucket,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn parse_metric(s: &str) -> Result<ExplainMetric, String> {
    s.parse()
}

fn parse_bucket(s: &str) -> Result<Bucket, String> {
    s.parse()
}

impl ScopeArgs {
    fn query(&self) -> DeliveryQuery {
        DeliveryQuery {
            team: self.team.clone(),
            project: self.project.clone(),
            service: self.service.clone(),
            env: self.env.clone(),
            since: Some(self.since),
            until: self.until,
            bucket: Some(self.bucket.as_str().to_owned()),
        }
    }
}

/// An application error as a CLI error naming the option at fault.
fn cli_error(e: AppError) -> anyhow::Error {
    match &e {
        AppError::BadInput {
            message,
            field: Some(field),
        } => anyhow!("--{field}: {message}"),
        _ => anyhow!(e),
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} {unit}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.1} %", v * 100.0))
}

fn level(l: Option<Level>) -> String {
    l.map_or_else(|| "–".to_owned(), |l| l.as_str().to_owned())
}

pub async fn metrics(store: &Store, settings: &Settings, c: MetricsCommand) -> anyhow::Result<()> {
    match c {
        MetricsCommand::Dora(a) => {
            let r = dm::dora(store, settings, &a.query())
                .await
                .map_err(cli_error)?;
            if matches!(a.format, Format::Json) {
                return print_json(&r);
            }
            println!(
                "DORA, {} {}–{} ({}), levels by the {} State of DevOps thresholds",
                r.environment, r.since, r.until, r.bucket, r.thresholds_year
            );
            let mut t = table(&["metric", "value", "level"]);
            let f = &r.deployment_frequency;
            t.add_row(vec![
                "deployment frequency".to_owned(),
                format!(
                    "{} deployments, {:.1}/week; {} deploy days, {:.1}/week",
                    f.deployments, f.per_week, f.deploy_days, f.deploy_days_per_week
                ),
                level(f.level),
            ]);
            let l = &r.lead_time;
            t.add_row(vec![
                "lead time for changes".to_owned(),
                format!(
                    "median {}, P85 {} over {} commits ({})",
                    opt(l.median_hours, "h"),
                    opt(l.p85_hours, "h"),
                    l.commits,
                    l.precision
                ),
                level(l.level),
            ]);
            let c = &r.change_failure_rate;
            t.add_row(vec![
                "change failure rate".to_owned(),
                format!("{} ({} of {} changes)", pct(c.rate), c.failed, c.changes),
                level(c.level),
            ]);
            let s = &r.time_to_restore;
            t.add_row(vec![
                "time to restore".to_owned(),
                format!(
                    "median {} ({} incident{}, {} resolved)",
                    opt(s.median_hours, "h"),
                    s.incidents,
                    if s.incidents == 1 { "" } else { "s" },
                    s.resolved
                ),
                level(s.level),
            ]);
            println!("{t}");
            let mut b = table(&[
                "from",
                "to",
                "deploys",
                "days",
                "commits",
                "lead p50",
                "lead p85",
                "CFR",
                "incidents",
                "restore p50",
            ]);
            for x in &r.buckets {
                b.add_row(vec![
                    x.start.to_string(),
                    x.end.pred_opt().unwrap_or(x.end).to_string(),
                    x.deployments.to_string(),
                    x.deploy_days.to_string(),
                    x.commits.to_string(),
                    opt(x.lead_time_median_hours, "h"),
                    opt(x.lead_time_p85_hours, "h"),
                    pct(x.change_failure_rate),
                    x.incidents.to_string(),
                    opt(x.restore_median_hours, "h"),
                ]);
            }
            println!("{b}");
        }
        MetricsCommand::LeadTime(a) => {
            let r = dm::lead_time(store, settings, &a.query())
                .await
                .map_err(cli_error)?;
            if matches!(a.format, Format::Json) {
                return print_json(&r);
            }
            println!(
                "Lead time for changes, {} {}–{}: median {}, P85 {} over {} commits ({})",
                r.environment,
                r.since,
                r.until,
                opt(r.lead_time.median_hours, "h"),
                opt(r.lead_time.p85_hours, "h"),
                r.lead_time.commits,
                r.lead_time.precision
            );
            let mut b = table(&["from", "to", "commits", "median", "P85"]);
            for x in &r.buckets {
                b.add_row(vec![
                    x.start.to_string(),
                    x.end.pred_opt().unwrap_or(x.end).to_string(),
                    x.commits.to_string(),
                    opt(x.median_hours, "h"),
                    opt(x.p85_hours, "h"),
                ]);
            }
            println!("{b}");
            let p = &r.pull_requests;
            let mut s = table(&["pull request stage (median)", "hours", "pull requests"]);
            for (name, st) in [
                ("first commit → opened", &p.first_commit_to_opened),
                ("opened → first review", &p.opened_to_first_review),
                ("first review → merged", &p.first_review_to_merged),
                ("merged → deployed", &p.merged_to_deployed),
                ("first commit → deployed", &p.first_commit_to_deployed),
            ] {
                s.add_row(vec![
                    name.to_owned(),
                    opt(st.median_hours, "h"),
                    st.pull_requests.to_string(),
                ]);
            }
            println!("{} pull requests merged\n{s}", p.pull_requests);
        }
        MetricsCommand::ReviewTime(a) => {
            let r = dm::review_time(store, settings, &a.query())
                .await
                .map_err(cli_error)?;
            if matches!(a.format, Format::Json) {
                return print_json(&r);
            }
            let mut t = table(&[
                "from",
                "to",
                "PRs",
                "→ first review",
                "→ approval",
                "→ merge",
            ]);
            t.add_row(vec![
                r.since.to_string(),
                r.until.to_string(),
                r.pull_requests.to_string(),
                opt(r.ready_to_first_review.median_hours, "h"),
                opt(r.ready_to_approval.median_hours, "h"),
                opt(r.ready_to_merge.median_hours, "h"),
            ]);
            for x in &r.buckets {
                t.add_row(vec![
                    x.start.to_string(),
                    x.end.pred_opt().unwrap_or(x.end).to_string(),
                    x.pull_requests.to_string(),
                    opt(x.ready_to_first_review.median_hours, "h"),
                    opt(x.ready_to_approval.median_hours, "h"),
                    opt(x.ready_to_merge.median_hours, "h"),
                ]);
            }
            println!("Code review time (medians, from ready for review)\n{t}");
        }
        MetricsCommand::CycleTime(a)
        | MetricsCommand::Throughput(a)
        | MetricsCommand::Bugs(a)
        | MetricsCommand::DebtShare(a) => {
            let r = dm::flow(store, settings, &a.query())
                .await
                .map_err(cli_error)?;
            if matches!(a.format, Format::Json) {
                return print_json(&r);
            }
            println!(
                "{}–{}: {} done ({:.1}/week); cycle time median {}, P85 {} ({} items); \
                 bugs opened {} ({:.1}/week), open at the end {}; tech debt {} of items \
                 (target {:.0} %{}), {} of cycle days",
                r.since,
                r.until,
                r.done,
                r.done_per_week,
                opt(r.cycle_time_median_days, "d"),
                opt(r.cycle_time_p85_days, "d"),
                r.cycle_time_items,
                r.bugs_opened,
                r.bugs_opened_per_week,
                r.bugs_open_at_end,
                r.debt_item_percent
                    .map_or_else(|| "–".to_owned(), |p| format!("{p:.1} %")),
                r.debt_target_percent,
                if r.debt_below_target { ", below" } else { "" },
                r.debt_cycle_day_percent
                    .map_or_else(|| "–".to_owned(), |p| format!("{p:.1} %")),
            );
            let mut t = table(&[
                "from",
                "to",
                "done",
                "cycle p50",
                "bugs opened",
                "bugs open",
                "debt",
            ]);
            for x in &r.buckets {
                t.add_row(vec![
                    x.start.to_string(),
                    x.end.pred_opt().unwrap_or(x.end).to_string(),
                    x.done.to_string(),
                    opt(x.cycle_time_median_days, "d"),
                    x.bugs_opened.to_string(),
                    x.bugs_open_at_end.to_string(),
                    x.debt_items.to_string(),
                ]);
            }
            println!("{t}");
        }
        MetricsCommand::Coverage(a) => {
            let r = dm::coverage(store, settings, &a.query())
                .await
                .map_err(cli_error)?;
            if matches!(a.format, Format::Json) {
                return print_json(&r);
            }
            let mut t = table(&["repository", "pipelines", "latest", "at"]);
            for x in &r.repos {
                t.add_row(vec![
                    x.repo.clone(),
                    x.pipelines.to_string(),
                    x.latest_percent
                        .map_or_else(|| "–".to_owned(), |p| format!("{p:.1} %")),
                    x.latest_at
                        .map_or_else(|| "–".to_owned(), |t| t.to_rfc3339()),
                ]);
            }
            println!("{t}");
        }
        MetricsCommand::Explain { metric, scope } => {
            let r = dm::explain(store, settings, &scope.query(), metric)
                .await
                .map_err(cli_error)?;
            if matches!(scope.format, Format::Json) {
                return print_json(&r);
            }
            println!(
                "{}: {}\n{}–{}, {}",
                r.metric, r.definition, r.since, r.until, r.environment
            );
            if !r.deployments.is_empty() {
                let mut t = table(&[
                    "deployment",
                    "service",
                    "finished",
                    "attribution",
                    "commits",
                    "failed",
                    "notes",
                ]);
                for d in &r.deployments {
                    t.add_row(vec![
                        d.external_id.clone(),
                        d.service.clone(),
                        d.finished_at.to_rfc3339(),
                        d.attribution_path
                            .clone()
                            .or_else(|| d.method.clone())
                            .unwrap_or_else(|| "not attributed".to_owned()),
                        d.commits
                            .iter()
                            .map(|c| {
                                format!(
                                    "{} {:.1} h{}",
                                    c.sha.get(..10).unwrap_or(&c.sha),
                                    c.lead_time_hours,
                                    c.pr_number.map_or_else(String::new, |n| format!(" #{n}"))
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                        match (&d.failure_reason, &d.failure_ref) {
                            (Some(r), Some(x)) => format!("{r} ({x})"),
                            _ => if d.is_change { "no" } else { "not a change" }.to_owned(),
                        },
                        d.notes.join("\n"),
                    ]);
                }
                println!("{t}");
            }
            if !r.incidents.is_empty() {
                let mut t = table(&[
                    "incident",
                    "title",
                    "service",
                    "opened",
                    "resolved",
                    "caused by",
                ]);
                for i in &r.incidents {
                    t.add_row(vec![
                        i.external_id.clone(),
                        // Names the alert behind an Alertmanager incident.
                        i.title.clone(),
                        i.service.clone().unwrap_or_default(),
                        i.opened_at.to_rfc3339(),
                        i.resolved_at
                            .map_or_else(|| "open".to_owned(), |t| t.to_rfc3339()),
                        i.caused_by.clone().unwrap_or_default(),
                    ]);
                }
                println!("{t}");
            }
            if !r.pull_requests.is_empty() {
                let mut t = table(&[
                    "pull request",
                    "opened",
                    "first review",
                    "merged",
                    "deployed",
                ]);
                let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or_else(|| "–".to_owned(), |t| t.to_rfc3339())
                };
                for p in &r.pull_requests {
                    t.add_row(vec![
                        format!("{}#{} {}", p.repo, p.number, p.title),
                        p.opened_at.to_rfc3339(),
                        fmt(p.first_review_at),
                        p.merged_at.to_rfc3339(),
                        fmt(p.deployed_at),
                    ]);
                }
                println!("{t}");
            }
            if !r.work_items.is_empty() {
                let mut t = table(&["work item", "kind", "state", "started", "done"]);
                for w in &r.work_items {
                    t.add_row(vec![
                        w.title.clone(),
                        w.kind.to_string(),
                        w.state.to_string(),
                        w.started_at
                            .map_or_else(|| "–".to_owned(), |t| t.to_rfc3339()),
                        w.done_at.map_or_else(|| "–".to_owned(), |t| t.to_rfc3339()),
                    ]);
                }
                println!("{t}");
            }
            if r.deployments.is_empty()
                && r.incidents.is_empty()
                && r.pull_requests.is_empty()
                && r.work_items.is_empty()
            {
                println!("Nothing behind this number in the range.");
            }
        }
    }
    Ok(())
}
