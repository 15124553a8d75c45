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
//!   incident changes are noticed by comparing with `incident_seen`.
//! - The rules the facts depend on (look-back, incident window, production
//!   environment) are stored with them; other rules recompute everything.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use tandem_domain::attribution::{
    self, CommitNode, CommitRef, DeploymentInput, PreviousDeployment, PullRequestNode, RepoGraph,
};
use tandem_domain::dora::{
    DayFacts, DoraInputs, ExplainedCommit, ExplainedDeployment, Histogram, IncidentFact,
    MetricRules, MetricScope, PrFact, Range,
};
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// Rows per multi-row INSERT and per `IN (…)` list.
const BULK_ROWS: usize = 500;

/// Deployments attributed per round of [`Store::attribute_pending`].
const ROUND: i64 = 2000;

const RULES_KEY: &str = "metric_rules";

/// Up to this many shipped commits in a range, lead times are read one by
/// one and exact; above it, from the day rollups' histograms (within 1 %).
pub const EXACT_LEAD_LIMIT: u64 = 100_000;

#[derive(FromRow, Clone)]
struct PendingRow {
    id: Uuid,
    external_id: String,
    project_id: Uuid,
    service: String,
    environment: String,
    status: String,
    repo: Option<String>,
    sha: Option<String>,
    is_rollback: bool,
    explicit_commits: Json<Vec<CommitRef>>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

const PENDING_COLS: &str = "id, external_id, project_id, service, environment, status, repo, sha, \
     is_rollback, explicit_commits, finished_at, updated_at";

#[derive(FromRow)]
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

#[derive(FromRow)]
struct IncidentSeenRow {
    id: Uuid,
    project_id: Uuid,
    service: Option<String>,
    opened_at: DateTime<Utc>,
    caused_by: Option<String>,
    old_project: Option<Uuid>,
    old_service: Option<String>,
    old_opened_at: Option<DateTime<Utc>>,
    old_caused_by: Option<String>,
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
    pub method: attribution::Method,
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

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

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

impl Store {
    /// Marks the deployments whose shipped commits can change now that these
    /// commits (or pull request data naming them) of `repo` arrived:
    /// deployments of these shas; deployments that shipped one of them (a
    /// squash commit now known to belong to a pull request); and deployments
    /// whose attribution was incomplete (a fallback, or a graph with missing
    /// parents) that finished after the earliest of these commits. The next
    /// metric read recomputes them.
    pub async fn invalidate_attribution(&self, repo: &str, new_shas: &[String]) -> Result<()> {
        if new_shas.is_empty() {
            return Ok(());
        }
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for chunk in new_shas.chunks(BULK_ROWS) {
                let mut qb = QueryBuilder::new(
                    "UPDATE deployments SET attributed = FALSE WHERE attributed = TRUE AND repo = ",
                );
                qb.push_bind(repo).push(" AND sha IN (");
                let mut list = qb.separated(", ");
                for s in chunk {
                    list.push_bind(s);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;

                let mut qb = QueryBuilder::new(
                    "UPDATE deployments SET attributed = FALSE WHERE attributed = TRUE AND id IN \
                     (SELECT deployment_id FROM deployment_commits WHERE repo = ",
                );
                qb.push_bind(repo).push(" AND sha IN (");
                let mut list = qb.separated(", ");
                for s in chunk {
                    list.push_bind(s);
                }
                qb.push("))");
                qb.build().execute(&mut *tx).await?;

                // The earliest commit time among them, when all are known
                // commits; otherwise (pull request commits not in the graph)
                // no bound.
                let mut qb = QueryBuilder::new(
                    "SELECT COUNT(*), MIN(committed_at) FROM commits WHERE repo = ",
                );
                qb.push_bind(repo).push(" AND sha IN (");
                let mut list = qb.separated(", ");
                for s in chunk {
                    list.push_bind(s);
                }
                qb.push(")");
                let (known, earliest): (i64, Option<DateTime<Utc>>) =
                    qb.build_query_as().fetch_one(&mut *tx).await?;
                let bound = if usize::try_from(known).unwrap_or(0) == chunk.len() {
                    earliest
                } else {
                    None
                };
                let mut qb = QueryBuilder::new(
                    "UPDATE deployments SET attributed = FALSE WHERE attributed = TRUE \
                     AND (repo = ",
                );
                qb.push_bind(repo).push(
                    " OR repo IS NULL) AND id IN (SELECT deployment_id FROM deployment_attribution \
                     WHERE complete = FALSE)",
                );
                if let Some(b) = bound {
                    qb.push(" AND (finished_at IS NULL OR finished_at >= ")
                        .push_bind(b)
                        .push(")");
                }
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Scopes a service of a project to path prefixes of one repository (a
    /// monorepo); `[]` scopes it to the whole repository. The service's
    /// deployments are attributed again.
    pub async fn set_service_scope(
        &self,
        project_id: Uuid,
        service: &str,
        repo: &str,
        path_prefixes: &[String],
    ) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO service_scopes (project_id, service, repo, path_prefixes) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (project_id, service) DO UPDATE SET repo = excluded.repo, \
                 path_prefixes = excluded.path_prefixes",
            )
            .bind(project_id)
            .bind(service)
            .bind(repo)
            .bind(Json(path_prefixes))
            .execute(&mut *tx)
            .await
            .map_err(crate::delivery::missing_project("project_id", project_id))?;
            sqlx::query(
                "UPDATE deployments SET attributed = FALSE WHERE project_id = $1 AND service = $2",
            )
            .bind(project_id)
            .bind(service)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The commits a deployment shipped (as last attributed), oldest
    /// authored first.
    pub async fn shipped_commits(&self, deployment_id: Uuid) -> Result<Vec<ShippedCommit>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT repo, sha, authored_at, pr_number FROM deployment_commits \
                 WHERE deployment_id = $1 ORDER BY authored_at, repo, sha",
            )
            .bind(deployment_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// How a deployment's commits were found, and what the notes say.
    pub async fn attribution_of(&self, deployment_id: Uuid) -> Result<Option<AttributionRecord>> {
        let row: Option<(String, Json<Vec<String>>, bool)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT method, notes, rolls_back_previous FROM deployment_attribution \
                 WHERE deployment_id = $1",
            )
            .bind(deployment_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(method, notes, rolls_back_previous)| {
            Ok(AttributionRecord {
                method: method.parse().map_err(|e| {
                    StoreError::Corrupt(format!("deployment_attribution.method: {e}"))
                })?,
                notes: notes.0,
                rolls_back_previous,
            })
        })
        .transpose()
    }

    /// The rules the stored facts were computed with (the defaults before
    /// any were set).
    pub async fn metric_rules(&self) -> Result<MetricRules> {
        let value: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT value FROM metrics_state WHERE key = $1")
                .bind(RULES_KEY)
                .fetch_optional(pool)
                .await?
        });
        match value {
            None => Ok(MetricRules::default()),
            Some((v,)) => serde_json::from_str(&v)
                .map_err(|e| StoreError::Corrupt(format!("metrics_state.{RULES_KEY}: {e}"))),
        }
    }

    /// Sets the rules the metric facts follow. When they differ from the
    /// stored ones every deployment is marked for recomputation (and `true`
    /// is returned).
    pub async fn set_metric_rules(&self, rules: &MetricRules) -> Result<bool> {
        if self.metric_rules().await? == *rules {
            return Ok(false);
        }
        let text = serde_json::to_string(rules)
            .map_err(|e| StoreError::Corrupt(format!("metric rules: {e}")))?;
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO metrics_state (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(RULES_KEY)
            .bind(&text)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE deployments SET attributed = FALSE WHERE attributed = TRUE")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Recomputes what changed since the last call: the shipped commits of
    /// every deployment with `attributed = FALSE` (and of the deployment
    /// after each, whose range depends on it), then the facts of those
    /// deployments, of the ones before them, and of those an incident change
    /// touches, then the day rollups they fall in. Returns the number of
    /// deployments attributed.
    pub async fn attribute_pending(&self) -> Result<u64> {
        let rules = self.metric_rules().await?;
        let mut refresh: BTreeSet<Uuid> = self.incidents_changed(&rules).await?;
        let mut attributed = 0u64;
        let mut graphs: HashMap<String, RepoGraph> = HashMap::new();
        loop {
            let mut pending: Vec<PendingRow> = on_pool!(self, |pool| {
                sqlx::query_as(sql(format!(
                    "SELECT {PENDING_COLS} FROM deployments WHERE attributed = FALSE \
                     ORDER BY finished_at, id LIMIT {ROUND}"
                )))
                .fetch_all(pool)
                .await?
            });
            if pending.is_empty() {
                break;
            }
            // The successful deployment after each one reads its range from
            // it: recompute it too.
            let ids: HashSet<Uuid> = pending.iter().map(|p| p.id).collect();
            let mut extra = Vec::new();
            for p in &pending {
                let Some(f) = p.finished_at else { continue };
                if let Some(next) = self.neighbour(p, f, Side::Next).await?
                    && next.attributed
                    && !ids.contains(&next.id)
                {
                    extra.push(next.id);
                }
            }
            if !extra.is_empty() {
                self.mark_unattributed(&extra).await?;
                let more: Vec<PendingRow> = self.pending_rows(&extra).await?;
                pending.extend(more);
            }
            pending.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.id.cmp(&b.id)));

            let mut repos: BTreeSet<String> = BTreeSet::new();
            for p in &pending {
                repos.extend(p.repo.iter().cloned());
                repos.extend(p.explicit_commits.0.iter().map(|c| c.repo.clone()));
            }
            for repo in repos {
                if let std::collections::hash_map::Entry::Vacant(e) = graphs.entry(repo) {
                    let g = self.load_graph(e.key()).await?;
                    e.insert(g);
                }
            }
            for p in &pending {
                let prev = match p.finished_at {
                    Some(f) => self.neighbour(p, f, Side::Previous).await?,
                    None => None,
                };
                self.attribute_one(p, prev.as_ref(), &graphs, &rules)
                    .await?;
                attributed += 1;
                refresh.insert(p.id);
                if let Some(prev) = prev {
                    refresh.insert(prev.id);
                }
            }
        }
        if !refresh.is_empty() {
            let mut days: BTreeSet<DayKey> = BTreeSet::new();
            for id in &refresh {
                self.refresh_facts(*id, &rules, &mut days).await?;
            }
            self.refresh_days(&days).await?;
        }
        Ok(attributed)
    }

    async fn pending_rows(&self, ids: &[Uuid]) -> Result<Vec<PendingRow>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(BULK_ROWS) {
            let rows: Vec<PendingRow> = on_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(format!(
                    "SELECT {PENDING_COLS} FROM deployments WHERE id IN ("
                ));
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    async fn mark_unattributed(&self, ids: &[Uuid]) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for chunk in ids.chunks(BULK_ROWS) {
                let mut qb =
                    QueryBuilder::new("UPDATE deployments SET attributed = FALSE WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The successful finished deployment of the same service and
    /// environment just before or after `p` (ties on the finish time are
    /// broken by id).
    async fn neighbour(
        &self,
        p: &PendingRow,
        finished_at: DateTime<Utc>,
        side: Side,
    ) -> Result<Option<NeighbourRow>> {
        let (cmp, order) = match side {
            Side::Previous => ("<", "DESC"),
            Side::Next => (">", "ASC"),
        };
        let q = sql(format!(
            "SELECT id, external_id, repo, sha, finished_at, attributed FROM deployments \
             WHERE project_id = $1 AND service = $2 AND environment = $3 AND status = 'success' \
             AND finished_at IS NOT NULL AND (finished_at {cmp} $4 OR (finished_at = $4 AND id {cmp} $5)) \
             ORDER BY finished_at {order}, id {order} LIMIT 1"
        ));
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(q)
                .bind(p.project_id)
                .bind(&p.service)
                .bind(&p.environment)
                .bind(finished_at)
                .bind(p.id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Everything attribution needs to know about one repository.
    async fn load_graph(&self, repo: &str) -> Result<RepoGraph> {
        let (commits, parents, files, prs, pr_commits): GraphRows = on_pool!(self, |pool| {
            let commits = sqlx::query_as(
                "SELECT sha, authored_at, committed_at, parent_count, subject, source FROM commits \
                 WHERE repo = $1",
            )
            .bind(repo)
            .fetch_all(pool)
            .await?;
            let parents = sqlx::query_as(
                "SELECT sha, parent_sha FROM commit_parents WHERE repo = $1 ORDER BY sha, position",
            )
            .bind(repo)
            .fetch_all(pool)
            .await?;
            // File lists matter only to services scoped to paths.
            let (scoped,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM service_scopes WHERE repo = $1")
                    .bind(repo)
                    .fetch_one(pool)
                    .await?;
            let files = if scoped > 0 {
                sqlx::query_as("SELECT sha, path FROM commit_files WHERE repo = $1")
                    .bind(repo)
                    .fetch_all(pool)
                    .await?
            } else {
                Vec::new()
            };
            let prs = sqlx::query_as(
                "SELECT number, merge_commit_sha FROM pull_requests \
                 WHERE repo = $1 AND merge_commit_sha IS NOT NULL AND state = 'merged'",
            )
            .bind(repo)
            .fetch_all(pool)
            .await?;
            let pr_commits = sqlx::query_as(
                "SELECT number, sha, authored_at FROM pull_request_commits WHERE repo = $1 \
                 ORDER BY number, authored_at, sha",
            )
            .bind(repo)
            .fetch_all(pool)
            .await?;
            (commits, parents, files, prs, pr_commits)
        });
        let mut parent_map: HashMap<String, Vec<String>> = HashMap::new();
        for (sha, parent) in parents {
            parent_map.entry(sha).or_default().push(parent);
        }
        let mut file_map: HashMap<String, Vec<String>> = HashMap::new();
        for (sha, path) in files {
            file_map.entry(sha).or_default().push(path);
        }
        let nodes = commits
            .into_iter()
            .map(|c| {
                let files = match file_map.remove(&c.sha) {
                    Some(f) => Some(f),
                    // A git import lists every file; an empty list is an
                    // empty commit. Other sources may not list files.
                    None if c.source == "git" => Some(Vec::new()),
                    None => None,
                };
                let node = CommitNode {
                    authored_at: c.authored_at,
                    committed_at: c.committed_at,
                    parents: parent_map.remove(&c.sha).unwrap_or_default(),
                    parent_count: usize::try_from(c.parent_count).unwrap_or(0),
                    subject: c.subject,
                    files,
                };
                (c.sha, node)
            })
            .collect();
        let mut by_number: HashMap<i64, Vec<(String, DateTime<Utc>)>> = HashMap::new();
        for (n, sha, at) in pr_commits {
            by_number.entry(n).or_default().push((sha, at));
        }
        let mut merged: HashSet<i64> = HashSet::new();
        let mut nodes_pr: Vec<PullRequestNode> = prs
            .into_iter()
            .map(|(number, merge)| {
                merged.insert(number);
                PullRequestNode {
                    number,
                    merge_commit_sha: Some(merge),
                    commits: by_number.get(&number).cloned().unwrap_or_default(),
                }
            })
            .collect();
        // Pull requests not merged (yet) still tag their commits.
        let mut rest: PrCommits = by_number
            .into_iter()
            .filter(|(n, _)| !merged.contains(n))
            .collect();
        rest.sort_by_key(|(n, _)| *n);
        nodes_pr.sort_by_key(|p| p.number);
        nodes_pr.extend(rest.into_iter().map(|(number, commits)| PullRequestNode {
            number,
            merge_commit_sha: None,
            commits,
        }));
        Ok(RepoGraph::new(nodes, nodes_pr))
    }

    async fn attribute_one(
        &self,
        p: &PendingRow,
        prev: Option<&NeighbourRow>,
        graphs: &HashMap<String, RepoGraph>,
        rules: &MetricRules,
    ) -> Result<()> {
        let now = tandem_domain::time::micros(Utc::now());
        let outcome = match (p.status.as_str(), p.finished_at) {
            ("success", Some(finished_at)) => {
                let scope: Vec<String> = match &p.repo {
                    Some(repo) => {
                        let row: Option<(Json<Vec<String>>,)> = on_pool!(self, |pool| {
                            sqlx::query_as(
                                "SELECT path_prefixes FROM service_scopes \
                                 WHERE project_id = $1 AND service = $2 AND repo = $3",
                            )
                            .bind(p.project_id)
                            .bind(&p.service)
                            .bind(repo)
                            .fetch_optional(pool)
                            .await?
                        });
                        row.map(|r| r.0.0).unwrap_or_default()
                    }
                    None => Vec::new(),
                };
                let input = DeploymentInput {
                    service: p.service.clone(),
                    environment: p.environment.clone(),
                    repo: p.repo.clone(),
                    sha: p.sha.clone(),
                    is_rollback: p.is_rollback,
                    explicit_commits: p.explicit_commits.0.clone(),
                    finished_at,
                };
                let previous = prev.map(|n| PreviousDeployment {
                    external_id: n.external_id.clone(),
                    repo: n.repo.clone(),
                    sha: n.sha.clone(),
                    finished_at: n.finished_at,
                });
                Some(attribution::attribute(
                    &input,
                    previous.as_ref(),
                    &scope,
                    graphs,
                    &rules.attribution(),
                ))
            }
            _ => None,
        };
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM deployment_commits WHERE deployment_id = $1")
                .bind(p.id)
                .execute(&mut *tx)
                .await?;
            match &outcome {
                None => {
                    sqlx::query("DELETE FROM deployment_attribution WHERE deployment_id = $1")
                        .bind(p.id)
                        .execute(&mut *tx)
                        .await?;
                }
                Some(a) => {
                    for chunk in a.commits.chunks(BULK_ROWS) {
                        let mut qb = QueryBuilder::new(
                            "INSERT INTO deployment_commits (deployment_id, repo, sha, authored_at, pr_number) ",
                        );
                        qb.push_values(chunk, |mut b, c| {
                            b.push_bind(p.id)
                                .push_bind(&c.repo)
                                .push_bind(&c.sha)
                                .push_bind(c.authored_at)
                                .push_bind(c.pr_number);
                        });
                        qb.push(" ON CONFLICT (deployment_id, repo, sha) DO NOTHING");
                        qb.build().execute(&mut *tx).await?;
                    }
                    let complete = a.method == attribution::Method::Graph
                        && !a.notes.iter().any(|n| n.contains("incomplete"))
                        || matches!(a.method, attribution::Method::Rollback) && p.is_rollback;
                    sqlx::query(
                        "INSERT INTO deployment_attribution (deployment_id, method, notes, complete, \
                         rolls_back_previous, attributed_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (deployment_id) DO UPDATE SET method = excluded.method, \
                         notes = excluded.notes, complete = excluded.complete, \
                         rolls_back_previous = excluded.rolls_back_previous, \
                         attributed_at = excluded.attributed_at",
                    )
                    .bind(p.id)
                    .bind(a.method.as_str())
                    .bind(Json(&a.notes))
                    .bind(complete)
                    .bind(a.rolls_back_previous)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            // Only when nobody changed the deployment meanwhile; otherwise it
            // stays pending and is computed again.
            sqlx::query(
                "UPDATE deployments SET attributed = TRUE WHERE id = $1 AND updated_at = $2",
            )
            .bind(p.id)
            .bind(p.updated_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Incidents new or changed since the facts were computed: the
    /// deployments whose failure they can decide (before and after the
    /// change) need their facts refreshed.
    async fn incidents_changed(&self, rules: &MetricRules) -> Result<BTreeSet<Uuid>> {
        let rows: Vec<IncidentSeenRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT i.id, i.project_id, i.service, i.opened_at, i.caused_by, s.project_id AS old_project, \
                 s.service AS old_service, s.opened_at AS old_opened_at, s.caused_by AS old_caused_by \
                 FROM incidents i LEFT JOIN incident_seen s ON s.incident_id = i.id \
                 WHERE s.incident_id IS NULL OR COALESCE(s.service, '') <> COALESCE(i.service, '') \
                 OR s.opened_at <> i.opened_at OR COALESCE(s.caused_by, '') <> COALESCE(i.caused_by, '')",
            )
            .fetch_all(pool)
            .await?
        });
        let mut out = BTreeSet::new();
        if rows.is_empty() {
            return Ok(out);
        }
        let window = rules.incident_window();
        for r in &rows {
            let mut versions = vec![(
                r.project_id,
                r.service.clone(),
                r.opened_at,
                r.caused_by.clone(),
            )];
            if let (Some(project), Some(opened)) = (r.old_project, r.old_opened_at) {
                versions.push((
                    project,
                    r.old_service.clone(),
                    opened,
                    r.old_caused_by.clone(),
                ));
            }
            let ref_text = r.id.to_string();
            let found: Vec<(Uuid,)> = on_pool!(self, |pool| {
                let mut found: Vec<(Uuid,)> = sqlx::query_as(
                    "SELECT deployment_id FROM deployment_facts WHERE failure_ref = $1",
                )
                .bind(&ref_text)
                .fetch_all(pool)
                .await?;
                for (project, service, opened, caused_by) in &versions {
                    if let Some(c) = caused_by {
                        let linked: Vec<(Uuid,)> = sqlx::query_as(
                            "SELECT id FROM deployments WHERE project_id = $1 AND external_id = $2",
                        )
                        .bind(project)
                        .bind(c)
                        .fetch_all(pool)
                        .await?;
                        found.extend(linked);
                    }
                    if let Some(s) = service {
                        let before: Vec<(Uuid,)> = sqlx::query_as(
                            "SELECT id FROM deployments WHERE project_id = $1 AND service = $2 \
                             AND environment = $3 AND status = 'success' AND finished_at IS NOT NULL \
                             AND finished_at <= $4 AND finished_at > $5",
                        )
                        .bind(project)
                        .bind(s)
                        .bind(&rules.production_environment)
                        .bind(*opened)
                        .bind(*opened - window)
                        .fetch_all(pool)
                        .await?;
                        found.extend(before);
                    }
                }
                found
            });
            out.extend(found.into_iter().map(|(id,)| id));
        }
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for r in &rows {
                sqlx::query(
                    "INSERT INTO incident_seen (incident_id, project_id, service, opened_at, caused_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id) DO UPDATE SET \
                     project_id = excluded.project_id, service = excluded.service, \
                     opened_at = excluded.opened_at, caused_by = excluded.caused_by",
                )
                .bind(r.id)
                .bind(r.project_id)
                .bind(&r.service)
                .bind(r.opened_at)
                .bind(&r.caused_by)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// Recomputes one deployment's facts; records the day rollups touched.
    async fn refresh_facts(
        &self,
        id: Uuid,
        rules: &MetricRules,
        days: &mut BTreeSet<DayKey>,
    ) -> Result<()> {
        let rows: Vec<PendingRow> = self.pending_rows(&[id]).await?;
        let Some(p) = rows.into_iter().next() else {
            return Ok(());
        };
        let old: Option<(Uuid, String, String, NaiveDate)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT project_id, environment, service, day FROM deployment_facts WHERE deployment_id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        if let Some((project_id, environment, service, day)) = old {
            days.insert(DayKey {
                project_id,
                environment,
                service,
                day,
            });
        }
        let finished_at = match (p.status.as_str(), p.finished_at) {
            ("success", Some(f)) => f,
            _ => {
                on_pool!(self, |pool| {
                    sqlx::query("DELETE FROM deployment_facts WHERE deployment_id = $1")
                        .bind(id)
                        .execute(pool)
                        .await?;
                });
                return Ok(());
            }
        };
        let (authored, rolls_back): (Vec<(DateTime<Utc>,)>, Option<(bool,)>) =
            on_pool!(self, |pool| {
                let authored = sqlx::query_as(
                    "SELECT authored_at FROM deployment_commits WHERE deployment_id = $1",
                )
                .bind(id)
                .fetch_all(pool)
                .await?;
                let rolls_back = sqlx::query_as(
                "SELECT rolls_back_previous FROM deployment_attribution WHERE deployment_id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
                (authored, rolls_back)
            });
        let is_change = !rolls_back.map_or(p.is_rollback, |r| r.0);
        let mut hist = Histogram::default();
        for (at,) in &authored {
            hist.add(lead_seconds(finished_at, *at));
        }
        let next = self.neighbour(&p, finished_at, Side::Next).await?;
        let failure = self
            .failure_of(&p, finished_at, next.as_ref(), rules)
            .await?;
        let (failed, reason, failure_ref) = match failure {
            Some((reason, r)) => (true, Some(reason), Some(r)),
            None => (false, None, None),
        };
        let day = finished_at.date_naive();
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO deployment_facts (deployment_id, project_id, service, environment, finished_at, \
                 day, is_change, failed, failure_reason, failure_ref, commits, lead_hist) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (deployment_id) DO UPDATE SET project_id = excluded.project_id, \
                 service = excluded.service, environment = excluded.environment, \
                 finished_at = excluded.finished_at, day = excluded.day, is_change = excluded.is_change, \
                 failed = excluded.failed, failure_reason = excluded.failure_reason, \
                 failure_ref = excluded.failure_ref, commits = excluded.commits, lead_hist = excluded.lead_hist",
            )
            .bind(id)
            .bind(p.project_id)
            .bind(&p.service)
            .bind(&p.environment)
            .bind(finished_at)
            .bind(day)
            .bind(is_change)
            .bind(failed)
            .bind(reason)
            .bind(&failure_ref)
            .bind(i64::try_from(authored.len()).unwrap_or(i64::MAX))
            .bind(hist.encode())
            .execute(pool)
            .await?;
        });
        days.insert(DayKey {
            project_id: p.project_id,
            environment: p.environment.clone(),
            service: p.service.clone(),
            day,
        });
        Ok(())
    }

    /// Whether a deployment failed, why, and what says so: an incident that
    /// names it; else (production only) an incident on its service not
    /// linked to another deployment, opened in the window after it and
    /// before the next deployment; else the next deployment rolled it back.
    async fn failure_of(
        &self,
        p: &PendingRow,
        finished_at: DateTime<Utc>,
        next: Option<&NeighbourRow>,
        rules: &MetricRules,
    ) -> Result<Option<(&'static str, String)>> {
        let linked: Option<(Uuid,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id FROM incidents WHERE project_id = $1 AND caused_by = $2 \
                 ORDER BY opened_at, id LIMIT 1",
            )
            .bind(p.project_id)
            .bind(&p.external_id)
            .fetch_optional(pool)
            .await?
        });
        if let Some((i,)) = linked {
            return Ok(Some(("linked_incident", i.to_string())));
        }
        if p.environment == rules.production_environment {
            let mut end = finished_at + rules.incident_window();
            if let Some(n) = next {
                end = end.min(n.finished_at);
            }
            let unlinked: Option<(Uuid,)> = on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT i.id FROM incidents i WHERE i.project_id = $1 AND i.service = $2 \
                     AND i.opened_at >= $3 AND i.opened_at < $4 AND (i.caused_by IS NULL OR NOT EXISTS \
                     (SELECT 1 FROM deployments d WHERE d.project_id = i.project_id AND d.external_id = i.caused_by)) \
                     ORDER BY i.opened_at, i.id LIMIT 1",
                )
                .bind(p.project_id)
                .bind(&p.service)
                .bind(finished_at)
                .bind(end)
                .fetch_optional(pool)
                .await?
            });
            if let Some((i,)) = unlinked {
                return Ok(Some(("incident_in_window", i.to_string())));
            }
        }
        if let Some(n) = next {
            let rolled: Option<(bool,)> = on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT rolls_back_previous FROM deployment_attribution WHERE deployment_id = $1",
                )
                .bind(n.id)
                .fetch_optional(pool)
                .await?
            });
            if rolled.is_some_and(|r| r.0) {
                return Ok(Some(("rolled_back", n.id.to_string())));
            }
        }
        Ok(None)
    }

    /// Rewrites the day rollups of these keys from the facts, then the
    /// whole-project rows (service `''`) of the same days.
    async fn refresh_days(&self, keys: &BTreeSet<DayKey>) -> Result<()> {
        let mut project_days: BTreeSet<(Uuid, String, NaiveDate)> = BTreeSet::new();
        for k in keys {
            project_days.insert((k.project_id, k.environment.clone(), k.day));
            let from = day_start(k.day);
            let to = from + Duration::days(1);
            on_pool!(self, |pool| {
                let mut tx = pool.begin_write().await?;
                let rows: Vec<(bool, bool, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT is_change, failed, commits, lead_hist FROM deployment_facts \
                     WHERE project_id = $1 AND environment = $2 AND finished_at >= $3 AND finished_at < $4 \
                     AND service = $5",
                )
                .bind(k.project_id)
                .bind(&k.environment)
                .bind(from)
                .bind(to)
                .bind(&k.service)
                .fetch_all(&mut *tx)
                .await?;
                let mut day = DayRow::default();
                for (is_change, failed, commits, hist) in rows {
                    day.deployments += 1;
                    day.changes += i64::from(is_change);
                    day.failures += i64::from(is_change && failed);
                    day.commits += commits;
                    if !day.hist.merge_encoded(&hist) {
                        return Err(StoreError::Corrupt("deployment_facts.lead_hist".into()));
                    }
                }
                write_day!(
                    &mut *tx,
                    k.project_id,
                    &k.environment,
                    &k.service,
                    k.day,
                    day
                );
                tx.commit().await?;
            });
        }
        for (project_id, environment, d) in project_days {
            on_pool!(self, |pool| {
                let mut tx = pool.begin_write().await?;
                let rows: Vec<(i64, i64, i64, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT deployments, changes, failures, commits, lead_hist FROM delivery_days \
                     WHERE project_id = $1 AND environment = $2 AND day = $3 AND service <> ''",
                )
                .bind(project_id)
                .bind(&environment)
                .bind(d)
                .fetch_all(&mut *tx)
                .await?;
                let mut day = DayRow::default();
                for (deployments, changes, failures, commits, hist) in rows {
                    day.deployments += deployments;
                    day.changes += changes;
                    day.failures += failures;
                    day.commits += commits;
                    if !day.hist.merge_encoded(&hist) {
                        return Err(StoreError::Corrupt("delivery_days.lead_hist".into()));
                    }
                }
                write_day!(&mut *tx, project_id, &environment, "", d, day);
                tx.commit().await?;
            });
        }
        Ok(())
    }
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
    let mut list = qb.separated(", ");
    for id in &scope.project_ids {
        list.push_bind(*id);
    }
    qb.push(")");
    if let Some(s) = &scope.service {
        qb.push(format!(" AND {prefix}service = "))
            .push_bind(s.clone());
    }
}

#[derive(FromRow)]
struct ExplainRow {
    id: Uuid,
    external_id: String,
    service: String,
    environment: String,
    finished_at: DateTime<Utc>,
    repo: Option<String>,
    sha: Option<String>,
    method: Option<String>,
    notes: Option<Json<Vec<String>>>,
    is_change: bool,
    failed: bool,
    failure_reason: Option<String>,
    failure_ref: Option<String>,
}

impl Store {
    /// The inputs of a DORA report: the day rollups of the scope, the
    /// incidents opened in the range, and (for up to [`EXACT_LEAD_LIMIT`]
    /// commits) every lead time. Call [`Store::attribute_pending`] first.
    pub async fn dora_inputs(&self, scope: &MetricScope, range: &Range) -> Result<DoraInputs> {
        if scope.project_ids.is_empty() {
            return Ok(DoraInputs::default());
        }
        let service = scope.service.clone().unwrap_or_default();
        let rows: Vec<(NaiveDate, i64, i64, i64, i64, Vec<u8>)> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT day, deployments, changes, failures, commits, lead_hist FROM delivery_days \
                 WHERE environment = ",
            );
            qb.push_bind(&scope.environment)
                .push(" AND service = ")
                .push_bind(&service)
                .push(" AND day >= ")
                .push_bind(range.start)
                .push(" AND day < ")
                .push_bind(range.end)
                .push(" AND project_id IN (");
            let mut list = qb.separated(", ");
            for id in &scope.project_ids {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY day");
            qb.build_query_as().fetch_all(pool).await?
        });
        let mut days: Vec<DayFacts> = Vec::new();
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        for (day, deployments, changes, failures, commits, hist) in rows {
            if days.last().is_none_or(|d| d.day != day) {
                days.push(DayFacts {
                    day,
                    ..DayFacts::default()
                });
            }
            let d = days.last_mut().expect("just pushed");
            d.deployments += count(deployments);
            d.changes += count(changes);
            d.failures += count(failures);
            d.commits += count(commits);
            if !d.lead.merge_encoded(&hist) {
                return Err(StoreError::Corrupt("delivery_days.lead_hist".into()));
            }
        }
        let total: u64 = days.iter().map(|d| d.commits).sum();
        let exact_lead = if total <= EXACT_LEAD_LIMIT {
            let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = on_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(
                    "SELECT f.finished_at, c.authored_at FROM deployment_facts f \
                     JOIN deployment_commits c ON c.deployment_id = f.deployment_id WHERE f.environment = ",
                );
                qb.push_bind(&scope.environment)
                    .push(" AND f.finished_at >= ")
                    .push_bind(range.start_at())
                    .push(" AND f.finished_at < ")
                    .push_bind(range.end_at());
                push_scope(&mut qb, "f.", scope);
                qb.build_query_as().fetch_all(pool).await?
            });
            Some(
                rows.into_iter()
                    .map(|(f, a)| (f.date_naive(), lead_seconds(f, a)))
                    .collect(),
            )
        } else {
            None
        };
        let incidents = self.incidents_in(scope, range).await?;
        Ok(DoraInputs {
            days,
            exact_lead,
            incidents,
        })
    }

    /// Incidents of the scope opened in the range, oldest first. With a
    /// service, only that service's.
    pub async fn incidents_in(
        &self,
        scope: &MetricScope,
        range: &Range,
    ) -> Result<Vec<IncidentFact>> {
        if scope.project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<IncidentRow> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT id, external_id, service, title, opened_at, resolved_at, caused_by FROM incidents \
                     WHERE opened_at >= ",
            );
            qb.push_bind(range.start_at())
                .push(" AND opened_at < ")
                .push_bind(range.end_at());
            push_scope(&mut qb, "", scope);
            qb.push(" ORDER BY opened_at, id");
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, external_id, service, title, opened_at, resolved_at, caused_by)| {
                    IncidentFact {
                        id,
                        external_id,
                        service,
                        title,
                        opened_at,
                        resolved_at,
                        caused_by,
                    }
                },
            )
            .collect())
    }

    /// The deployments of the scope that finished in the range, oldest
    /// first, each with what it shipped, how that was found, and whether it
    /// failed. Call [`Store::attribute_pending`] first.
    pub async fn explain_deployments(
        &self,
        scope: &MetricScope,
        range: &Range,
    ) -> Result<Vec<ExplainedDeployment>> {
        if scope.project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ExplainRow> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT d.id, d.external_id, d.service, d.environment, f.finished_at, d.repo, d.sha, \
                 a.method, a.notes, f.is_change, f.failed, f.failure_reason, f.failure_ref \
                 FROM deployment_facts f JOIN deployments d ON d.id = f.deployment_id \
                 LEFT JOIN deployment_attribution a ON a.deployment_id = f.deployment_id \
                 WHERE f.environment = ",
            );
            qb.push_bind(&scope.environment)
                .push(" AND f.finished_at >= ")
                .push_bind(range.start_at())
                .push(" AND f.finished_at < ")
                .push_bind(range.end_at());
            push_scope(&mut qb, "f.", scope);
            qb.push(" ORDER BY f.finished_at, d.id");
            qb.build_query_as().fetch_all(pool).await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let commits = self
                .shipped_commits(r.id)
                .await?
                .into_iter()
                .map(|c| ExplainedCommit {
                    lead_time_hours: lead_seconds(r.finished_at, c.authored_at) / 3600.0,
                    repo: c.repo,
                    sha: c.sha,
                    authored_at: c.authored_at,
                    pr_number: c.pr_number,
                })
                .collect();
            out.push(ExplainedDeployment {
                id: r.id,
                external_id: r.external_id,
                service: r.service,
                environment: r.environment,
                finished_at: r.finished_at,
                repo: r.repo,
                sha: r.sha,
                method: r.method,
                notes: r.notes.map(|n| n.0).unwrap_or_default(),
                is_change: r.is_change,
                failed: r.failed,
                failure_reason: r.failure_reason,
                failure_ref: r.failure_ref,
                commits,
            });
        }
        Ok(out)
    }

    /// Pull requests of these repositories merged in the range, each with
    /// the first deployment of the scope (its environment and projects)
    /// that shipped one of its commits.
    pub async fn pr_facts(
        &self,
        repos: &[String],
        scope: &MetricScope,
        range: &Range,
    ) -> Result<Vec<PrFact>> {
        if repos.is_empty() || scope.project_ids.is_empty() {
            return Ok(Vec::new());
        }
        type Row = (
            String,
            i64,
            String,
            Option<DateTime<Utc>>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<Row> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT p.repo, p.number, p.title, p.first_commit_at, p.created_at, p.ready_at, \
                 p.first_review_at, p.approved_at, p.merged_at, \
                 (SELECT MIN(f.finished_at) FROM deployment_commits dc \
                  JOIN deployment_facts f ON f.deployment_id = dc.deployment_id \
                  WHERE dc.repo = p.repo AND dc.pr_number = p.number AND f.environment = ",
            );
            qb.push_bind(&scope.environment);
            push_scope(&mut qb, "f.", scope);
            qb.push(") AS deployed_at FROM pull_requests p WHERE p.merged_at >= ")
                .push_bind(range.start_at())
                .push(" AND p.merged_at < ")
                .push_bind(range.end_at())
                .push(" AND p.repo IN (");
            let mut list = qb.separated(", ");
            for r in repos {
                list.push_bind(r.clone());
            }
            qb.push(") ORDER BY p.merged_at, p.repo, p.number");
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| PrFact {
                repo: r.0,
                number: r.1,
                title: r.2,
                first_commit_at: r.3,
                opened_at: r.4,
                ready_at: r.5.unwrap_or(r.4),
                first_review_at: r.6,
                approved_at: r.7,
                merged_at: r.8,
                deployed_at: r.9,
            })
            .collect())
    }

    /// Coverage reported by pipelines of these repositories that finished
    /// (or, unfinished, started) in the range: (repo, when, percent).
    pub async fn coverage_points(
        &self,
        repos: &[String],
        range: &Range,
    ) -> Result<Vec<(String, DateTime<Utc>, f64)>> {
        if repos.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT repo, COALESCE(finished_at, started_at) AS at, coverage FROM pipelines \
                 WHERE coverage IS NOT NULL AND COALESCE(finished_at, started_at) >= ",
            );
            qb.push_bind(range.start_at())
                .push(" AND COALESCE(finished_at, started_at) < ")
                .push_bind(range.end_at())
                .push(" AND repo IN (");
            let mut list = qb.separated(", ");
            for r in repos {
                list.push_bind(r.clone());
            }
            qb.push(") ORDER BY at, repo");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }
}
