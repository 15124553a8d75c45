//! Metric reads: DORA inputs, incidents, explained deployments, pull
//! request facts and coverage. Each first brings attribution up to date
//! (`Store::attribute_pending`), so numbers are never stale.

use super::*;

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

/// Pushes ` service = … AND day in the range AND project_id IN (…) ORDER
/// BY day`: the rows of one service's day rollups over the scope.
fn push_service_days<DB: sqlx::Database>(
    qb: &mut QueryBuilder<DB>,
    service: &str,
    range: &Range,
    scope: &MetricScope,
) where
    for<'e> Uuid: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> String: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> NaiveDate: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    qb.push(" service = ")
        .push_bind(service.to_owned())
        .push(" AND day >= ")
        .push_bind(range.start)
        .push(" AND day < ")
        .push_bind(range.end)
        .push(" AND project_id IN (");
    push_list(qb, &scope.project_ids, |id| *id);
    qb.push(") ORDER BY day");
}

/// Pushes `<column> >= start AND <column> < end` for the range's instants
/// (`column` is this module's text, never a caller's).
fn push_in_range<DB: sqlx::Database>(qb: &mut QueryBuilder<DB>, column: &str, range: &Range)
where
    for<'e> DateTime<Utc>: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    qb.push(format!("{column} >= "))
        .push_bind(range.start_at())
        .push(format!(" AND {column} < "))
        .push_bind(range.end_at());
}

/// The entry for `day` in `days`, which rows fill in day order: the last
/// one when it is that day's, else a new one from `new`.
fn day_slot<T>(
    days: &mut Vec<T>,
    day: NaiveDate,
    day_of: impl Fn(&T) -> NaiveDate,
    new: impl FnOnce() -> T,
) -> &mut T {
    if days.last().is_none_or(|d| day_of(d) != day) {
        days.push(new());
    }
    days.last_mut().expect("just pushed")
}

/// A shipped commit with its deployment: (deployment, repo, sha, authored
/// at, pull request).
type ShippedRow = (Uuid, String, String, DateTime<Utc>, Option<i64>);

impl Store {
    /// The inputs of a DORA report: the day rollups of the scope (deliveries
    /// and incidents), every lead time for up to [`EXACT_LEAD_LIMIT`]
    /// commits and every time to restore for up to [`EXACT_RESTORE_LIMIT`]
    /// resolved incidents. Call [`Store::attribute_pending`] first.
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
            qb.push_bind(&scope.environment).push(" AND");
            push_service_days(&mut qb, &service, range, scope);
            qb.build_query_as().fetch_all(pool).await?
        });
        let mut days: Vec<DayFacts> = Vec::new();
        let count = |v: i64| u64::try_from(v).unwrap_or(0);
        for (day, deployments, changes, failures, commits, hist) in rows {
            let d = day_slot(
                &mut days,
                day,
                |d| d.day,
                || DayFacts {
                    day,
                    ..DayFacts::default()
                },
            );
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
                qb.push_bind(&scope.environment).push(" AND ");
                push_in_range(&mut qb, "f.finished_at", range);
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
        let rows: Vec<(NaiveDate, i64, i64, Vec<u8>)> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT day, incidents, resolved, restore_hist FROM incident_days WHERE",
            );
            push_service_days(&mut qb, &service, range, scope);
            qb.build_query_as().fetch_all(pool).await?
        });
        let mut incident_days: Vec<IncidentDay> = Vec::new();
        for (day, incidents, resolved, hist) in rows {
            let d = day_slot(
                &mut incident_days,
                day,
                |d| d.day,
                || IncidentDay {
                    day,
                    ..IncidentDay::default()
                },
            );
            d.incidents += count(incidents);
            d.resolved += count(resolved);
            if !d.restore.merge_encoded(&hist) {
                return Err(StoreError::Corrupt("incident_days.restore_hist".into()));
            }
        }
        let resolved: u64 = incident_days.iter().map(|d| d.resolved).sum();
        let exact_restore = if resolved <= EXACT_RESTORE_LIMIT {
            let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = on_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(
                    "SELECT opened_at, resolved_at FROM incidents WHERE resolved_at IS NOT NULL \
                     AND ",
                );
                push_in_range(&mut qb, "opened_at", range);
                push_scope(&mut qb, "", scope);
                qb.build_query_as().fetch_all(pool).await?
            });
            Some(
                rows.into_iter()
                    .filter_map(|(o, r)| dora::restore_seconds(o, r).map(|s| (o.date_naive(), s)))
                    .collect(),
            )
        } else {
            None
        };
        Ok(DoraInputs {
            days,
            exact_lead,
            incident_days,
            exact_restore,
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
                     WHERE ",
            );
            push_in_range(&mut qb, "opened_at", range);
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

    /// Incidents of the scope that are not resolved (whenever they were
    /// opened), oldest first. With a service, only that service's.
    pub async fn open_incidents(&self, scope: &MetricScope) -> Result<Vec<IncidentFact>> {
        if scope.project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<IncidentRow> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT id, external_id, service, title, opened_at, resolved_at, caused_by FROM incidents \
                     WHERE resolved_at IS NULL",
            );
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
            qb.push_bind(&scope.environment).push(" AND ");
            push_in_range(&mut qb, "f.finished_at", range);
            push_scope(&mut qb, "f.", scope);
            qb.push(" ORDER BY f.finished_at, d.id");
            qb.build_query_as().fetch_all(pool).await?
        });
        // Every deployment's commits in one query over the same rows (not
        // one query per deployment), grouped by deployment.
        let commit_rows: Vec<ShippedRow> = if rows.is_empty() {
            Vec::new()
        } else {
            on_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(
                    "SELECT c.deployment_id, c.repo, c.sha, c.authored_at, c.pr_number \
                     FROM deployment_facts f JOIN deployment_commits c ON c.deployment_id = f.deployment_id \
                     WHERE f.environment = ",
                );
                qb.push_bind(&scope.environment).push(" AND ");
                push_in_range(&mut qb, "f.finished_at", range);
                push_scope(&mut qb, "f.", scope);
                qb.push(" ORDER BY c.deployment_id, c.authored_at, c.repo, c.sha");
                qb.build_query_as().fetch_all(pool).await?
            })
        };
        let mut shipped: HashMap<Uuid, Vec<ShippedCommit>> = HashMap::new();
        for (id, repo, sha, authored_at, pr_number) in commit_rows {
            shipped.entry(id).or_default().push(ShippedCommit {
                repo,
                sha,
                authored_at,
                pr_number,
            });
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let commits = shipped
                .remove(&r.id)
                .unwrap_or_default()
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
                attribution_path: r
                    .method
                    .as_deref()
                    .and_then(|m| m.parse::<tandem_domain::attribution::Method>().ok())
                    .map(|m| m.path().to_owned()),
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
            qb.push(") AS deployed_at FROM pull_requests p WHERE ");
            push_in_range(&mut qb, "p.merged_at", range);
            qb.push(" AND p.repo IN (");
            push_list(&mut qb, repos, |r| r.clone());
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
                 WHERE coverage IS NOT NULL AND ",
            );
            push_in_range(&mut qb, "COALESCE(finished_at, started_at)", range);
            qb.push(" AND repo IN (");
            push_list(&mut qb, repos, |r| r.clone());
            qb.push(") ORDER BY at, repo");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }
}
