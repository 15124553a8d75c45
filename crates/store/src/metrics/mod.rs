//! Attribution (which commits each deployment shipped) and the facts and
//! rollups the delivery metrics read.
//!
//! Invariants:
//! - Everything written here is derived from the tables of migration 0003
//!   (deployments, commits, pull requests, incidents) and can be recomputed:
//!   `deployment_commits` + `deployment_attribution` per deployment,
//!   `deployment_facts` per successful finished deployment, `delivery_days`
//!   per UTC day and service (service `''`: the whole project).
//! - A deployment with `attributed = FALSE` is recomputed by
//!   [`Store::attribute_pending`], which metric reads call first, so numbers
//!   are never stale. Writers of deployments clear the flag; writers of
//!   commits and pull requests call [`Store::invalidate_attribution`];
//!   incident changes reach it through `incident_changes`, a log that
//!   triggers on `incidents` feed (migration 0009).
//! - Time to restore reads `incident_days` (per UTC day of opening and
//!   service, service `''`: the whole project), rebuilt from the incidents
//!   of the days a logged change touches.
//! - The rules the facts depend on (look-back, incident window, production
//!   environment) are stored with them; other rules recompute everything.
//!
//! Layout: `attribution` computes and writes (deployment commits, facts,
//! day rollups, incident days); `reads` answers the metric queries. This
//! file holds what both use: row types, constants, small helpers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use tandem_domain::attribution::{
    CommitNode, DeploymentInput, PreviousDeployment, PullRequestNode, RepoGraph,
};
use tandem_domain::dora::{
    self, DayFacts, DoraInputs, ExplainedCommit, ExplainedDeployment, Histogram, IncidentDay,
    IncidentFact, MetricRules, MetricScope, PrFact, Range,
};
use uuid::Uuid;

use crate::engine::{Tx, on_tx, push_list, sql};
use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// Rows per multi-row INSERT and per `IN (…)` list.
const BULK_ROWS: usize = 500;

/// Deployments attributed per round of [`Store::attribute_pending`].
const ROUND: i64 = 2000;

/// Incident change log rows processed per transaction.
const LOG_ROUND: i64 = 5000;

/// The PostgreSQL advisory lock the refresh transactions hold.
const REFRESH_LOCK: i64 = 0x7461_6e64_656d_0009;

const RULES_KEY: &str = "metric_rules";

/// The `attribution_inputs` source of the service scopes and metric rules
/// (no repository name holds a space).
const SETTINGS_INPUT: &str = " scopes and rules";

/// The `attribution_inputs` source bumped by every transaction that
/// rewrites derived metric facts (deployment facts, day rollups, incident
/// days): with the inputs' versions it makes [`Store::metric_data_version`].
const FACTS_INPUT: &str = " facts";

/// Bumps the version of one attribution input (`$1`: its source).
const BUMP_INPUT: &str = "INSERT INTO attribution_inputs (source, version) VALUES ($1, 1) \
     ON CONFLICT (source) DO UPDATE SET version = attribution_inputs.version + 1";

/// Rounds of one [`Store::attribute_pending`] call sent back because an
/// input changed while they computed, before the call leaves the rest
/// pending for the next one (so a busy repository cannot keep it looping).
pub const STALE_RETRIES: u32 = 3;

/// Up to this many shipped commits in a range, lead times are read one by
/// one and exact; above it, from the day rollups' histograms (within 1 %).
pub const EXACT_LEAD_LIMIT: u64 = 100_000;

/// Up to this many resolved incidents in a range, times to restore are read
/// one by one and exact; above it, from the day rollups' histograms.
pub const EXACT_RESTORE_LIMIT: u64 = 10_000;

// A deployment waiting for attribution: its whole row.
use crate::engineering::records::DeploymentRow as PendingRow;

// The columns of `PendingRow`.
use crate::engineering::records::DEPLOYMENT_COLS as PENDING_COLS;

#[derive(FromRow, Clone)]
struct NeighbourRow {
    id: Uuid,
    external_id: String,
    repo: Option<String>,
    sha: Option<String>,
    finished_at: DateTime<Utc>,
    attributed: bool,
}

#[derive(FromRow)]
struct GraphCommitRow {
    sha: String,
    authored_at: DateTime<Utc>,
    committed_at: DateTime<Utc>,
    parent_count: i32,
    subject: String,
    source: String,
}

/// One commit a deployment shipped, as stored.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ShippedCommit {
    pub repo: String,
    pub sha: String,
    pub authored_at: DateTime<Utc>,
    pub pr_number: Option<i64>,
}

/// What attribution decided for one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionRecord {
    pub method: tandem_domain::attribution::Method,
    pub notes: Vec<String>,
    pub rolls_back_previous: bool,
}

/// A day rollup's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct DayKey {
    project_id: Uuid,
    environment: String,
    service: String,
    day: NaiveDate,
}

/// A repository's rows as `load_graph` reads them.
type GraphRows = (
    Vec<GraphCommitRow>,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<(i64, String)>,
    Vec<(i64, String, DateTime<Utc>)>,
);

/// Pull request commits by number.
type PrCommits = Vec<(i64, Vec<(String, DateTime<Utc>)>)>;

/// An incident row as `incidents_in` reads it.
type IncidentRow = (
    Uuid,
    String,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// Writes (or, when empty, deletes) one day rollup row.
macro_rules! write_day {
    ($conn:expr, $project:expr, $env:expr, $service:expr, $day:expr, $row:expr) => {{
        let row: DayRow = $row;
        if row.deployments == 0 {
            sqlx::query(
                "DELETE FROM delivery_days WHERE project_id = $1 AND environment = $2 AND service = $3 AND day = $4",
            )
            .bind($project)
            .bind($env)
            .bind($service)
            .bind($day)
            .execute($conn)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO delivery_days (project_id, environment, service, day, deployments, changes, \
                 failures, commits, lead_hist) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (project_id, environment, service, day) DO UPDATE SET \
                 deployments = excluded.deployments, changes = excluded.changes, \
                 failures = excluded.failures, commits = excluded.commits, lead_hist = excluded.lead_hist",
            )
            .bind($project)
            .bind($env)
            .bind($service)
            .bind($day)
            .bind(row.deployments)
            .bind(row.changes)
            .bind(row.failures)
            .bind(row.commits)
            .bind(row.hist.encode())
            .execute($conn)
            .await?;
        }
    }};
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Previous,
    Next,
}

#[derive(Default)]
struct DayRow {
    deployments: i64,
    changes: i64,
    failures: i64,
    commits: i64,
    hist: Histogram,
}

impl DayRow {
    /// An empty rollup for each of `days`: a day with no facts left is
    /// written as empty, which deletes its row.
    fn empty_days(days: &[NaiveDate]) -> BTreeMap<NaiveDate, DayRow> {
        days.iter().map(|d| (*d, DayRow::default())).collect()
    }

    /// Adds `[deployments, changes, failures, commits]` and an encoded
    /// lead-time histogram read from `column`.
    fn add(&mut self, counts: [i64; 4], hist: &[u8], column: &str) -> Result<()> {
        let [deployments, changes, failures, commits] = counts;
        self.deployments += deployments;
        self.changes += changes;
        self.failures += failures;
        self.commits += commits;
        if self.hist.merge_encoded(hist) {
            Ok(())
        } else {
            Err(StoreError::Corrupt(column.into()))
        }
    }
}

/// Lead time of one commit in seconds; a commit authored after the
/// deployment finished (clock skew) counts as 0.
pub(crate) fn lead_seconds(finished_at: DateTime<Utc>, authored_at: DateTime<Utc>) -> f64 {
    let micros = (finished_at - authored_at)
        .num_microseconds()
        .unwrap_or(i64::MAX);
    (micros.max(0) as f64) / 1_000_000.0
}

/// Appends ` AND <column> IN (…)` for the scope's projects, and the service.
fn push_scope<DB: sqlx::Database>(qb: &mut QueryBuilder<DB>, prefix: &str, scope: &MetricScope)
where
    for<'e> Uuid: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> String: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    qb.push(format!(" AND {prefix}project_id IN ("));
    push_list(qb, &scope.project_ids, |id| *id);
    qb.push(")");
    if let Some(s) = &scope.service {
        qb.push(format!(" AND {prefix}service = "))
            .push_bind(s.clone());
    }
}

mod attribution;
pub(crate) use attribution::{bump_inputs_tx, invalidate_tx};
mod reads;
