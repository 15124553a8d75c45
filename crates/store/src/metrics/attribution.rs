//! Attribution and the derived facts: which commits each deployment
//! shipped, the per-deployment facts, the day rollups and incident days
//! (see the invariants in `metrics`).

use super::*;

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
        let mut tx = self.write_tx().await?;
        // First, so that a refresh holding this repository's row (see
        // `attribute_pending`) is waited for, and one that read the
        // repository before this change sends its round back.
        bump_inputs_tx(&mut tx, &[repo]).await?;
        invalidate_tx(&mut tx, repo, new_shas).await?;
        tx.commit().await
    }

    /// The project's service scopes, by service.
    pub async fn list_service_scopes(
        &self,
        project_id: Uuid,
    ) -> Result<Vec<tandem_domain::project::ServiceScope>> {
        let rows: Vec<(String, String, Json<Vec<String>>)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT service, repo, path_prefixes FROM service_scopes WHERE project_id = $1 ORDER BY service",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(service, repo, Json(path_prefixes))| tandem_domain::project::ServiceScope {
                    service,
                    repo,
                    path_prefixes,
                },
            )
            .collect())
    }

    /// Removes a service's scope (its deployments are attributed again, over
    /// the whole repository); false when it had none.
    pub async fn remove_service_scope(&self, project_id: Uuid, service: &str) -> Result<bool> {
        let removed = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let n =
                sqlx::query("DELETE FROM service_scopes WHERE project_id = $1 AND service = $2")
                    .bind(project_id)
                    .bind(service)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if n > 0 {
                sqlx::query(BUMP_INPUT)
                    .bind(SETTINGS_INPUT)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE deployments SET attributed = FALSE WHERE project_id = $1 AND service = $2",
                )
                .bind(project_id)
                .bind(service)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            n
        });
        Ok(removed > 0)
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
            .map_err(crate::engineering::records::missing_project("project_id", project_id))?;
            sqlx::query(BUMP_INPUT)
                .bind(SETTINGS_INPUT)
                .execute(&mut *tx)
                .await?;
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
            sqlx::query(BUMP_INPUT)
                .bind(SETTINGS_INPUT)
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
    /// deployments and of the ones before them, and the day rollups they
    /// fall in; then, from the incident change log (migration 0009), the
    /// facts of the deployments whose failure a changed incident can decide
    /// (before and after the change) and the time-to-restore rollups of the
    /// days it was opened on. Returns the number of deployments attributed.
    ///
    /// With nothing pending this is one indexed query. Attribution reads in
    /// batches (neighbours, scopes, graphs once per repository); each round's
    /// writes (attribution, facts, rollups, consumed log rows) are one
    /// transaction that holds the refresh lock: SQLite's write lock, and on
    /// PostgreSQL a transaction-scoped advisory lock, so two replicas
    /// refresh one after the other, each reading what the other committed.
    /// A log row is deleted only by the transaction that read it; a change
    /// committed meanwhile leaves its own row for the next call.
    ///
    /// Inputs that change while a round computes (commits or pull requests
    /// of its repositories, service scopes, metric rules) cannot leave a
    /// deployment attributed with stale commits: each input's version
    /// (`attribution_inputs`, migration 0031) is read before the input is
    /// loaded, and the round's write transaction locks the versions and
    /// compares them; a changed one sends the round back with that input
    /// loaded again (at most [`STALE_RETRIES`] times per call; what is left
    /// stays pending for the next call). A change committed after the lock
    /// waits for the round and then marks what it touches.
    pub async fn attribute_pending(&self) -> Result<u64> {
        self.attribute_pending_pausing(|| async {}).await
    }

    /// [`Store::attribute_pending`], calling `pause` in each round between
    /// computing the attributions and writing them: tests use it to change
    /// the inputs at the worst moment.
    #[doc(hidden)]
    pub async fn attribute_pending_pausing<F, Fut>(&self, mut pause: F) -> Result<u64>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let (pending,): (bool,) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM deployments WHERE attributed = FALSE) \
                 OR EXISTS (SELECT 1 FROM incident_changes)",
            )
            .fetch_one(pool)
            .await?
        });
        if !pending {
            return Ok(0);
        }
        let mut settings_version = self.input_version(SETTINGS_INPUT).await?;
        let mut rules = self.metric_rules().await?;
        let mut attributed = 0u64;
        let mut graphs: HashMap<String, RepoGraph> = HashMap::new();
        // The version of each cached graph's repository, read before the
        // graph was loaded.
        let mut graph_versions: HashMap<String, i64> = HashMap::new();
        let mut scopes: Option<Scopes> = None;
        let mut stale_rounds = 0;
        loop {
            let mut read = self.read_tx().await?;
            let q = sql(format!(
                "SELECT {PENDING_COLS} FROM deployments WHERE attributed = FALSE \
                 ORDER BY finished_at, id LIMIT {ROUND}"
            ));
            let mut pending: Vec<PendingRow> =
                on_tx!(&mut read, |c| sqlx::query_as(q).fetch_all(&mut *c).await?);
            if pending.is_empty() {
                break;
            }
            let mut seen: HashSet<Uuid> = HashSet::new();
            pending.retain(|p| seen.insert(p.id));
            let ids: Vec<Uuid> = pending.iter().map(|p| p.id).collect();
            // The successful deployment after each one reads its range from
            // it: recompute it too.
            let next = neighbours(&mut read, &ids, Side::Next).await?;
            let mut extra: Vec<Uuid> = next
                .values()
                .filter(|n| n.attributed && !seen.contains(&n.id))
                .map(|n| n.id)
                .collect();
            extra.sort();
            extra.dedup();
            drop(read);
            if !extra.is_empty() {
                self.mark_unattributed(&extra).await?;
                let mut read = self.read_tx().await?;
                let more = pending_rows(&mut read, &extra).await?;
                pending.extend(more.into_iter().filter(|p| seen.insert(p.id)));
            }
            pending.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.id.cmp(&b.id)));
            let ids: Vec<Uuid> = pending.iter().map(|p| p.id).collect();
            let mut read = self.read_tx().await?;
            let previous = neighbours(&mut read, &ids, Side::Previous).await?;
            if scopes.is_none() {
                scopes = Some(service_scopes(&mut read).await?);
            }
            drop(read);
            let mut repos: BTreeSet<String> = BTreeSet::new();
            for p in &pending {
                repos.extend(p.repo.iter().cloned());
                repos.extend(p.explicit_commits.0.iter().map(|c| c.repo.clone()));
            }
            for repo in &repos {
                if !graphs.contains_key(repo) {
                    let version = self.input_version(repo).await?;
                    let g = self.load_graph(repo).await?;
                    graphs.insert(repo.clone(), g);
                    graph_versions.insert(repo.clone(), version);
                }
            }
            let scopes_now = scopes.as_ref().expect("loaded above");
            let outcomes: Vec<Option<tandem_domain::attribution::Attribution>> = pending
                .iter()
                .map(|p| attribute_in_memory(p, previous.get(&p.id), scopes_now, &graphs, &rules))
                .collect();
            let mut refresh: BTreeSet<Uuid> = ids.iter().copied().collect();
            refresh.extend(previous.values().map(|n| n.id));
            pause().await;

            let mut tx = self.refresh_tx().await?;
            let mut expected: Vec<(String, i64)> = repos
                .iter()
                .map(|r| (r.clone(), graph_versions[r]))
                .collect();
            expected.push((SETTINGS_INPUT.to_string(), settings_version));
            let stale = lock_inputs(&mut tx, &expected).await?;
            if !stale.is_empty() {
                drop(tx);
                for source in &stale {
                    if source == SETTINGS_INPUT {
                        settings_version = self.input_version(SETTINGS_INPUT).await?;
                        rules = self.metric_rules().await?;
                        scopes = None;
                    } else {
                        graphs.remove(source);
                        graph_versions.remove(source);
                    }
                }
                stale_rounds += 1;
                if stale_rounds > STALE_RETRIES {
                    // Left pending for the next call.
                    return Ok(attributed);
                }
                continue;
            }
            write_attributions(&mut tx, &pending, &outcomes).await?;
            let mut days: BTreeSet<DayKey> = BTreeSet::new();
            refresh_facts(&mut tx, &refresh, &rules, &mut days).await?;
            refresh_days(&mut tx, &days).await?;
            tx.commit().await?;
            attributed += pending.len() as u64;
        }
        loop {
            let (any,): (bool,) = on_pool!(self, |pool| {
                sqlx::query_as("SELECT EXISTS (SELECT 1 FROM incident_changes)")
                    .fetch_one(pool)
                    .await?
            });
            if !any {
                break;
            }
            let mut tx = self.refresh_tx().await?;
            let q = sql(format!(
                "SELECT seq, incident_id, project_id, service, opened_at, caused_by \
                 FROM incident_changes ORDER BY seq LIMIT {LOG_ROUND}"
            ));
            let changes: Vec<IncidentChange> =
                on_tx!(&mut tx, |c| sqlx::query_as(q).fetch_all(&mut *c).await?);
            if changes.is_empty() {
                // Another process consumed them meanwhile.
                break;
            }
            let (affected, incident_keys) = affected_by(&mut tx, &changes, &rules).await?;
            let mut days: BTreeSet<DayKey> = BTreeSet::new();
            refresh_facts(&mut tx, &affected, &rules, &mut days).await?;
            refresh_days(&mut tx, &days).await?;
            refresh_incident_days(&mut tx, &incident_keys).await?;
            let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
            for chunk in seqs.chunks(BULK_ROWS) {
                on_tx!(&mut tx, |c| {
                    let mut qb = QueryBuilder::new("DELETE FROM incident_changes WHERE seq IN (");
                    push_list(&mut qb, chunk, |s| *s);
                    qb.push(")");
                    qb.build().execute(&mut *c).await?;
                });
            }
            tx.commit().await?;
        }
        Ok(attributed)
    }

    /// A write transaction holding the refresh lock (see
    /// [`Store::attribute_pending`]).
    ///
    /// It bumps the facts' version ([`Store::metric_data_version`]) first
    /// thing after the lock: what it writes changes the figures, and a
    /// round sent back (dropped, not committed) leaves the version as it was.
    async fn refresh_tx(&self) -> Result<Tx> {
        let mut tx = self.write_tx().await?;
        if let Tx::Postgres(t) = &mut tx {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(REFRESH_LOCK)
                .execute(&mut **t)
                .await?;
        }
        on_tx!(&mut tx, |c| {
            sqlx::query(BUMP_INPUT)
                .bind(FACTS_INPUT)
                .execute(&mut *c)
                .await?;
        });
        Ok(tx)
    }

    /// A number that changes whenever the delivery figures may: the sum of
    /// the versions in `attribution_inputs` — every repository's commits
    /// and pull requests (`invalidate_attribution`), the service scopes and
    /// metric rules, and the derived facts (each refresh transaction). Read
    /// after [`Store::attribute_pending`], equal numbers mean the figures
    /// computed from the stored facts are the same, on this process or
    /// any other (caches key on it). One indexed read of a small table.
    pub async fn metric_data_version(&self) -> Result<i64> {
        let (v,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM attribution_inputs",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(v)
    }

    /// The version of one attribution input (0 before its first change).
    async fn input_version(&self, source: &str) -> Result<i64> {
        let row: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT version FROM attribution_inputs WHERE source = $1")
                .bind(source)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map_or(0, |(v,)| v))
    }

    async fn mark_unattributed(&self, ids: &[Uuid]) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for chunk in ids.chunks(BULK_ROWS) {
                let mut qb =
                    QueryBuilder::new("UPDATE deployments SET attributed = FALSE WHERE id IN (");
                push_list(&mut qb, chunk, |id| *id);
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
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
}

/// Service path scopes by (project, service, repository).
type Scopes = HashMap<(Uuid, String, String), Vec<String>>;

async fn service_scopes(tx: &mut Tx) -> Result<Scopes> {
    let rows: Vec<(Uuid, String, String, Json<Vec<String>>)> = on_tx!(tx, |c| {
        sqlx::query_as("SELECT project_id, service, repo, path_prefixes FROM service_scopes")
            .fetch_all(&mut *c)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(p, s, r, prefixes)| ((p, s, r), prefixes.0))
        .collect())
}

async fn pending_rows(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<PendingRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(BULK_ROWS) {
        let rows: Vec<PendingRow> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {PENDING_COLS} FROM deployments WHERE id IN ("
            ));
            push_list(&mut qb, chunk, |id| *id);
            qb.push(")");
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// For each of these deployments that finished, the successful finished
/// deployment of the same project, service and environment just before or
/// after it (ties on the finish time broken by id), by deployment id.
async fn neighbours(tx: &mut Tx, ids: &[Uuid], side: Side) -> Result<HashMap<Uuid, NeighbourRow>> {
    let (cmp, order) = match side {
        Side::Previous => ("<", "DESC"),
        Side::Next => (">", "ASC"),
    };
    let mut pairs: Vec<(Uuid, Uuid)> = Vec::new();
    for chunk in ids.chunks(BULK_ROWS) {
        let rows: Vec<(Uuid, Option<Uuid>)> = on_tx!(tx, |c| {
            // The redundant `finished_at {cmp}= p.finished_at` bounds the
            // index range.
            let mut qb = QueryBuilder::new(format!(
                "SELECT p.id, (SELECT d.id FROM deployments d WHERE d.project_id = p.project_id \
                 AND d.service = p.service AND d.environment = p.environment AND d.status = 'success' \
                 AND d.finished_at IS NOT NULL AND d.finished_at {cmp}= p.finished_at \
                 AND (d.finished_at {cmp} p.finished_at OR d.id {cmp} p.id) \
                 ORDER BY d.finished_at {order}, d.id {order} LIMIT 1) AS n \
                 FROM deployments p WHERE p.finished_at IS NOT NULL AND p.id IN ("
            ));
            push_list(&mut qb, chunk, |id| *id);
            qb.push(")");
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        pairs.extend(rows.into_iter().filter_map(|(p, n)| n.map(|n| (p, n))));
    }
    let mut wanted: Vec<Uuid> = pairs.iter().map(|(_, n)| *n).collect();
    wanted.sort();
    wanted.dedup();
    let mut rows: HashMap<Uuid, NeighbourRow> = HashMap::new();
    for chunk in wanted.chunks(BULK_ROWS) {
        let found: Vec<NeighbourRow> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "SELECT id, external_id, repo, sha, finished_at, attributed FROM deployments WHERE id IN (",
            );
            push_list(&mut qb, chunk, |id| *id);
            qb.push(")");
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        rows.extend(found.into_iter().map(|r| (r.id, r)));
    }
    Ok(pairs
        .into_iter()
        .filter_map(|(p, n)| rows.get(&n).map(|r| (p, r.clone())))
        .collect())
}

/// What attribution decides for a deployment (None: not a successful,
/// finished one).
fn attribute_in_memory(
    p: &PendingRow,
    prev: Option<&NeighbourRow>,
    scopes: &Scopes,
    graphs: &HashMap<String, RepoGraph>,
    rules: &MetricRules,
) -> Option<tandem_domain::attribution::Attribution> {
    let finished_at = match (p.status.as_str(), p.finished_at) {
        ("success", Some(f)) => f,
        _ => return None,
    };
    let scope: Vec<String> = p
        .repo
        .as_ref()
        .and_then(|repo| scopes.get(&(p.project_id, p.service.clone(), repo.clone())))
        .cloned()
        .unwrap_or_default();
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
    Some(tandem_domain::attribution::attribute(
        &input,
        previous.as_ref(),
        &scope,
        graphs,
        &rules.attribution(),
    ))
}

/// Locks the versions of these inputs for the rest of the transaction (an
/// `invalidate_attribution` of one of them waits for its commit) and
/// returns the sources whose version is no longer the expected one. The
/// upsert locks a row that did not exist yet as well (PostgreSQL's
/// `SELECT … FOR UPDATE` would lock nothing there); on SQLite the write
/// transaction already excludes every other writer.
async fn lock_inputs(tx: &mut Tx, expected: &[(String, i64)]) -> Result<Vec<String>> {
    let mut sorted: Vec<&(String, i64)> = expected.iter().collect();
    sorted.sort();
    sorted.dedup_by(|a, b| a.0 == b.0);
    let mut stale = Vec::new();
    for chunk in sorted.chunks(BULK_ROWS) {
        let found: Vec<(String, i64)> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new("INSERT INTO attribution_inputs (source, version) ");
            qb.push_values(chunk, |mut b, (source, _)| {
                b.push_bind(source.as_str()).push_bind(0i64);
            });
            qb.push(
                " ON CONFLICT (source) DO UPDATE SET version = attribution_inputs.version \
                 RETURNING source, version",
            );
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        let found: HashMap<String, i64> = found.into_iter().collect();
        for (source, version) in chunk {
            if found.get(source) != Some(version) {
                stale.push(source.clone());
            }
        }
    }
    Ok(stale)
}

/// Stores what attribution decided, with multi-row statements, and marks
/// the deployments attributed unless somebody changed them meanwhile (then
/// they stay pending and are computed again).
async fn write_attributions(
    tx: &mut Tx,
    pending: &[PendingRow],
    outcomes: &[Option<tandem_domain::attribution::Attribution>],
) -> Result<()> {
    let now = tandem_domain::time::micros(Utc::now());
    let ids: Vec<Uuid> = pending.iter().map(|p| p.id).collect();
    for chunk in ids.chunks(BULK_ROWS) {
        on_tx!(tx, |c| {
            let mut qb =
                QueryBuilder::new("DELETE FROM deployment_commits WHERE deployment_id IN (");
            push_list(&mut qb, chunk, |id| *id);
            qb.push(")");
            qb.build().execute(&mut *c).await?;
        });
    }
    let gone: Vec<Uuid> = pending
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| o.is_none())
        .map(|(p, _)| p.id)
        .collect();
    for chunk in gone.chunks(BULK_ROWS) {
        on_tx!(tx, |c| {
            let mut qb =
                QueryBuilder::new("DELETE FROM deployment_attribution WHERE deployment_id IN (");
            push_list(&mut qb, chunk, |id| *id);
            qb.push(")");
            qb.build().execute(&mut *c).await?;
        });
    }
    let shipped: Vec<(Uuid, &tandem_domain::attribution::Shipped)> = pending
        .iter()
        .zip(outcomes)
        .filter_map(|(p, o)| o.as_ref().map(|a| (p.id, a)))
        .flat_map(|(id, a)| a.commits.iter().map(move |c| (id, c)))
        .collect();
    for chunk in shipped.chunks(BULK_ROWS) {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO deployment_commits (deployment_id, repo, sha, authored_at, pr_number) ",
            );
            qb.push_values(chunk, |mut b, (id, s)| {
                b.push_bind(*id)
                    .push_bind(&s.repo)
                    .push_bind(&s.sha)
                    .push_bind(s.authored_at)
                    .push_bind(s.pr_number);
            });
            qb.push(" ON CONFLICT (deployment_id, repo, sha) DO NOTHING");
            qb.build().execute(&mut *c).await?;
        });
    }
    let decided: Vec<(Uuid, &tandem_domain::attribution::Attribution, bool)> = pending
        .iter()
        .zip(outcomes)
        .filter_map(|(p, o)| {
            o.as_ref().map(|a| {
                let complete = a.method == tandem_domain::attribution::Method::Graph
                    && !a.notes.iter().any(|n| n.contains("incomplete"))
                    || matches!(a.method, tandem_domain::attribution::Method::Rollback)
                        && p.is_rollback;
                (p.id, a, complete)
            })
        })
        .collect();
    for chunk in decided.chunks(BULK_ROWS) {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO deployment_attribution (deployment_id, method, notes, complete, \
                 rolls_back_previous, attributed_at) ",
            );
            qb.push_values(chunk, |mut b, (id, a, complete)| {
                b.push_bind(*id)
                    .push_bind(a.method.as_str())
                    .push_bind(Json(&a.notes))
                    .push_bind(*complete)
                    .push_bind(a.rolls_back_previous)
                    .push_bind(now);
            });
            qb.push(
                " ON CONFLICT (deployment_id) DO UPDATE SET method = excluded.method, \
                 notes = excluded.notes, complete = excluded.complete, \
                 rolls_back_previous = excluded.rolls_back_previous, \
                 attributed_at = excluded.attributed_at",
            );
            qb.build().execute(&mut *c).await?;
        });
    }
    for chunk in pending.chunks(BULK_ROWS / 2) {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new("UPDATE deployments SET attributed = TRUE WHERE ");
            for (i, p) in chunk.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("(id = ")
                    .push_bind(p.id)
                    .push(" AND updated_at = ")
                    .push_bind(p.updated_at)
                    .push(")");
            }
            qb.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Splits times sorted ascending into runs whose neighbours are at most
/// `gap` apart: each run is read with one range query.
fn clusters(times: &[DateTime<Utc>], gap: Duration) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=times.len() {
        if i == times.len() || times[i] - times[i - 1] > gap {
            if i > start {
                out.push(start..i);
            }
            start = i;
        }
    }
    out
}

/// Recomputes these deployments' facts (a deployment that is no longer a
/// successful finished one loses them); records the day rollups touched.
async fn refresh_facts(
    tx: &mut Tx,
    ids: &BTreeSet<Uuid>,
    rules: &MetricRules,
    days: &mut BTreeSet<DayKey>,
) -> Result<()> {
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    for chunk in ids.chunks(BULK_ROWS) {
        refresh_facts_chunk(tx, chunk, rules, days).await?;
    }
    Ok(())
}

async fn refresh_facts_chunk(
    tx: &mut Tx,
    ids: &[Uuid],
    rules: &MetricRules,
    days: &mut BTreeSet<DayKey>,
) -> Result<()> {
    let rows = pending_rows(tx, ids).await?;
    let old: Vec<(Uuid, String, String, NaiveDate)> = on_tx!(tx, |c| {
        let mut qb = QueryBuilder::new(
            "SELECT project_id, environment, service, day FROM deployment_facts WHERE deployment_id IN (",
        );
        push_list(&mut qb, ids, |id| *id);
        qb.push(")");
        qb.build_query_as().fetch_all(&mut *c).await?
    });
    days.extend(
        old.into_iter()
            .map(|(project_id, environment, service, day)| DayKey {
                project_id,
                environment,
                service,
                day,
            }),
    );
    let (live, dead): (Vec<&PendingRow>, Vec<&PendingRow>) = rows
        .iter()
        .partition(|p| p.status == "success" && p.finished_at.is_some());
    let mut dead: Vec<Uuid> = dead.iter().map(|p| p.id).collect();
    // Deleted deployments' facts went with them (ON DELETE CASCADE).
    dead.sort();
    if !dead.is_empty() {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new("DELETE FROM deployment_facts WHERE deployment_id IN (");
            push_list(&mut qb, &dead, |id| *id);
            qb.push(")");
            qb.build().execute(&mut *c).await?;
        });
    }
    if live.is_empty() {
        return Ok(());
    }
    let live_ids: Vec<Uuid> = live.iter().map(|p| p.id).collect();
    let authored: Vec<(Uuid, DateTime<Utc>)> = on_tx!(tx, |c| {
        let mut qb = QueryBuilder::new(
            "SELECT deployment_id, authored_at FROM deployment_commits WHERE deployment_id IN (",
        );
        push_list(&mut qb, &live_ids, |id| *id);
        qb.push(")");
        qb.build_query_as().fetch_all(&mut *c).await?
    });
    let mut commits: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    for (id, at) in authored {
        commits.entry(id).or_default().push(at);
    }
    let next = neighbours(tx, &live_ids, Side::Next).await?;
    let mut asked: Vec<Uuid> = live_ids.clone();
    asked.extend(next.values().map(|n| n.id));
    asked.sort();
    asked.dedup();
    let mut rolls_back: HashMap<Uuid, bool> = HashMap::new();
    for part in asked.chunks(BULK_ROWS) {
        let found: Vec<(Uuid, bool)> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "SELECT deployment_id, rolls_back_previous FROM deployment_attribution \
                 WHERE deployment_id IN (",
            );
            push_list(&mut qb, part, |id| *id);
            qb.push(")");
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        rolls_back.extend(found);
    }

    // 1. An incident that names the deployment: the first opened.
    let mut linked: HashMap<(Uuid, String), (DateTime<Utc>, Uuid)> = HashMap::new();
    let mut by_project: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for p in &live {
        by_project
            .entry(p.project_id)
            .or_default()
            .push(&p.external_id);
    }
    for (project, externals) in &by_project {
        let found: Vec<(Uuid, String, DateTime<Utc>)> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "SELECT id, caused_by, opened_at FROM incidents WHERE project_id = ",
            );
            qb.push_bind(*project).push(" AND caused_by IN (");
            push_list(&mut qb, externals, |e| *e);
            qb.push(")");
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        for (id, caused_by, opened) in found {
            let e = linked.entry((*project, caused_by)).or_insert((opened, id));
            if (opened, id) < *e {
                *e = (opened, id);
            }
        }
    }

    // 2. (Production) an incident on the service naming no known
    // deployment, opened in the window after it and before the next one.
    let window = rules.incident_window();
    let mut in_window: HashMap<Uuid, Uuid> = HashMap::new();
    let mut groups: BTreeMap<(Uuid, &str), Vec<&PendingRow>> = BTreeMap::new();
    for p in live
        .iter()
        .filter(|p| p.environment == rules.production_environment)
    {
        groups
            .entry((p.project_id, p.service.as_str()))
            .or_default()
            .push(p);
    }
    for ((project, service), mut deps) in groups {
        deps.sort_by_key(|p| p.finished_at);
        let times: Vec<DateTime<Utc>> = deps.iter().filter_map(|p| p.finished_at).collect();
        for run in clusters(&times, window) {
            let (lo, hi) = (times[run.start], times[run.end - 1] + window);
            let found: Vec<(Uuid, DateTime<Utc>)> = on_tx!(tx, |c| {
                sqlx::query_as(
                    "SELECT i.id, i.opened_at FROM incidents i WHERE i.project_id = $1 AND i.service = $2 \
                     AND i.opened_at >= $3 AND i.opened_at < $4 AND (i.caused_by IS NULL OR NOT EXISTS \
                     (SELECT 1 FROM deployments d WHERE d.project_id = i.project_id AND d.external_id = i.caused_by)) \
                     ORDER BY i.opened_at, i.id",
                )
                .bind(project)
                .bind(service)
                .bind(lo)
                .bind(hi)
                .fetch_all(&mut *c)
                .await?
            });
            for p in &deps[run] {
                let finished = p.finished_at.expect("live deployments finished");
                let mut end = finished + window;
                if let Some(n) = next.get(&p.id) {
                    end = end.min(n.finished_at);
                }
                let first = found.partition_point(|(_, at)| *at < finished);
                if let Some((id, at)) = found.get(first)
                    && *at < end
                {
                    in_window.insert(p.id, *id);
                }
            }
        }
    }

    let mut facts: Vec<FactRow> = Vec::with_capacity(live.len());
    for p in &live {
        let finished_at = p.finished_at.expect("live deployments finished");
        let is_change = !rolls_back.get(&p.id).copied().unwrap_or(p.is_rollback);
        let mut hist = Histogram::default();
        let authored = commits.remove(&p.id).unwrap_or_default();
        for at in &authored {
            hist.add(lead_seconds(finished_at, *at));
        }
        let failure = if let Some((_, i)) = linked.get(&(p.project_id, p.external_id.clone())) {
            Some(("linked_incident", i.to_string()))
        } else if let Some(i) = in_window.get(&p.id) {
            Some(("incident_in_window", i.to_string()))
        } else {
            next.get(&p.id)
                .filter(|n| rolls_back.get(&n.id).copied().unwrap_or(false))
                .map(|n| ("rolled_back", n.id.to_string()))
        };
        let day = finished_at.date_naive();
        days.insert(DayKey {
            project_id: p.project_id,
            environment: p.environment.clone(),
            service: p.service.clone(),
            day,
        });
        facts.push(FactRow {
            id: p.id,
            project_id: p.project_id,
            service: p.service.clone(),
            environment: p.environment.clone(),
            finished_at,
            day,
            is_change,
            failed: failure.is_some(),
            reason: failure.as_ref().map(|f| f.0),
            failure_ref: failure.map(|f| f.1),
            commits: i64::try_from(authored.len()).unwrap_or(i64::MAX),
            hist: hist.encode(),
        });
    }
    for part in facts.chunks(BULK_ROWS / 2) {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO deployment_facts (deployment_id, project_id, service, environment, finished_at, \
                 day, is_change, failed, failure_reason, failure_ref, commits, lead_hist) ",
            );
            qb.push_values(part, |mut b, f| {
                b.push_bind(f.id)
                    .push_bind(f.project_id)
                    .push_bind(&f.service)
                    .push_bind(&f.environment)
                    .push_bind(f.finished_at)
                    .push_bind(f.day)
                    .push_bind(f.is_change)
                    .push_bind(f.failed)
                    .push_bind(f.reason)
                    .push_bind(&f.failure_ref)
                    .push_bind(f.commits)
                    .push_bind(&f.hist);
            });
            qb.push(
                " ON CONFLICT (deployment_id) DO UPDATE SET project_id = excluded.project_id, \
                 service = excluded.service, environment = excluded.environment, \
                 finished_at = excluded.finished_at, day = excluded.day, is_change = excluded.is_change, \
                 failed = excluded.failed, failure_reason = excluded.failure_reason, \
                 failure_ref = excluded.failure_ref, commits = excluded.commits, lead_hist = excluded.lead_hist",
            );
            qb.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// One deployment's facts, to write.
struct FactRow {
    id: Uuid,
    project_id: Uuid,
    service: String,
    environment: String,
    finished_at: DateTime<Utc>,
    day: NaiveDate,
    is_change: bool,
    failed: bool,
    reason: Option<&'static str>,
    failure_ref: Option<String>,
    commits: i64,
    hist: Vec<u8>,
}

/// Rewrites the day rollups of these keys from the facts, then the
/// whole-project rows (service `''`) of the same days.
async fn refresh_days(tx: &mut Tx, keys: &BTreeSet<DayKey>) -> Result<()> {
    let mut by_service: BTreeMap<(Uuid, String, String), Vec<NaiveDate>> = BTreeMap::new();
    let mut project_days: BTreeMap<(Uuid, String), Vec<NaiveDate>> = BTreeMap::new();
    for k in keys {
        by_service
            .entry((k.project_id, k.environment.clone(), k.service.clone()))
            .or_default()
            .push(k.day);
        project_days
            .entry((k.project_id, k.environment.clone()))
            .or_default()
            .push(k.day);
    }
    for ((project_id, environment, service), wanted) in &by_service {
        for chunk in wanted.chunks(BULK_ROWS) {
            let rows: Vec<(NaiveDate, bool, bool, i64, Vec<u8>)> = on_tx!(tx, |c| {
                let mut qb = QueryBuilder::new(
                    "SELECT day, is_change, failed, commits, lead_hist FROM deployment_facts \
                     WHERE project_id = ",
                );
                qb.push_bind(*project_id)
                    .push(" AND environment = ")
                    .push_bind(environment)
                    .push(" AND service = ")
                    .push_bind(service)
                    .push(" AND day IN (");
                push_list(&mut qb, chunk, |d| *d);
                qb.push(")");
                qb.build_query_as().fetch_all(&mut *c).await?
            });
            let mut sums = DayRow::empty_days(chunk);
            for (d, is_change, failed, commits, hist) in rows {
                let counts = [
                    1,
                    i64::from(is_change),
                    i64::from(is_change && failed),
                    commits,
                ];
                sums.entry(d)
                    .or_default()
                    .add(counts, &hist, "deployment_facts.lead_hist")?;
            }
            write_days(tx, *project_id, environment, service, sums).await?;
        }
    }
    for ((project_id, environment), wanted) in &mut project_days {
        wanted.sort();
        wanted.dedup();
        for chunk in wanted.chunks(BULK_ROWS) {
            let rows: Vec<(NaiveDate, i64, i64, i64, i64, Vec<u8>)> = on_tx!(tx, |c| {
                let mut qb = QueryBuilder::new(
                    "SELECT day, deployments, changes, failures, commits, lead_hist FROM delivery_days \
                     WHERE service <> '' AND project_id = ",
                );
                qb.push_bind(*project_id)
                    .push(" AND environment = ")
                    .push_bind(environment)
                    .push(" AND day IN (");
                push_list(&mut qb, chunk, |d| *d);
                qb.push(")");
                qb.build_query_as().fetch_all(&mut *c).await?
            });
            let mut sums = DayRow::empty_days(chunk);
            for (d, deployments, changes, failures, commits, hist) in rows {
                sums.entry(d).or_default().add(
                    [deployments, changes, failures, commits],
                    &hist,
                    "delivery_days.lead_hist",
                )?;
            }
            write_days(tx, *project_id, environment, "", sums).await?;
        }
    }
    Ok(())
}

/// Writes the day rollups of one project, environment and service
/// (`write_day!` for each day: an empty day is deleted).
async fn write_days(
    tx: &mut Tx,
    project_id: Uuid,
    environment: &str,
    service: &str,
    sums: BTreeMap<NaiveDate, DayRow>,
) -> Result<()> {
    for (d, row) in sums {
        on_tx!(tx, |c| write_day!(
            &mut *c,
            project_id,
            environment,
            service,
            d,
            row
        ));
    }
    Ok(())
}

/// A version of an incident from the change log.
#[derive(FromRow)]
struct IncidentChange {
    seq: i64,
    incident_id: Uuid,
    project_id: Uuid,
    service: Option<String>,
    opened_at: DateTime<Utc>,
    caused_by: Option<String>,
}

/// A time-to-restore rollup's key: service `''` is the whole project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct IncidentKey {
    project_id: Uuid,
    service: String,
    day: NaiveDate,
}

/// The deployments whose failure these incident versions can decide, and
/// the time-to-restore rollups they fall in: deployments whose facts name
/// the incident; the deployments a version names; and (production) the
/// successful deployments of a version's service that finished in the
/// window before it opened.
async fn affected_by(
    tx: &mut Tx,
    changes: &[IncidentChange],
    rules: &MetricRules,
) -> Result<(BTreeSet<Uuid>, BTreeSet<IncidentKey>)> {
    let mut out: BTreeSet<Uuid> = BTreeSet::new();
    let mut keys: BTreeSet<IncidentKey> = BTreeSet::new();
    for ch in changes {
        let day = ch.opened_at.date_naive();
        keys.insert(IncidentKey {
            project_id: ch.project_id,
            service: String::new(),
            day,
        });
        if let Some(s) = ch.service.as_ref().filter(|s| !s.is_empty()) {
            keys.insert(IncidentKey {
                project_id: ch.project_id,
                service: s.clone(),
                day,
            });
        }
    }
    let mut refs: Vec<String> = changes.iter().map(|c| c.incident_id.to_string()).collect();
    refs.sort();
    refs.dedup();
    for chunk in refs.chunks(BULK_ROWS) {
        let found: Vec<(Uuid,)> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "SELECT deployment_id FROM deployment_facts WHERE failure_ref IN (",
            );
            push_list(&mut qb, chunk, |r| r);
            qb.push(")");
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        out.extend(found.into_iter().map(|(id,)| id));
    }
    let mut named: BTreeMap<Uuid, BTreeSet<&str>> = BTreeMap::new();
    let mut opened: BTreeMap<(Uuid, &str), Vec<DateTime<Utc>>> = BTreeMap::new();
    for ch in changes {
        if let Some(c) = &ch.caused_by {
            named.entry(ch.project_id).or_default().insert(c);
        }
        if let Some(s) = &ch.service {
            opened
                .entry((ch.project_id, s.as_str()))
                .or_default()
                .push(ch.opened_at);
        }
    }
    for (project, externals) in &named {
        let externals: Vec<&str> = externals.iter().copied().collect();
        for chunk in externals.chunks(BULK_ROWS) {
            let found: Vec<(Uuid,)> = on_tx!(tx, |c| {
                let mut qb = QueryBuilder::new("SELECT id FROM deployments WHERE project_id = ");
                qb.push_bind(*project).push(" AND external_id IN (");
                push_list(&mut qb, chunk, |e| *e);
                qb.push(")");
                qb.build_query_as().fetch_all(&mut *c).await?
            });
            out.extend(found.into_iter().map(|(id,)| id));
        }
    }
    let window = rules.incident_window();
    for ((project, service), mut times) in opened {
        times.sort();
        times.dedup();
        for run in clusters(&times, window) {
            let (lo, hi) = (times[run.start] - window, times[run.end - 1]);
            let found: Vec<(Uuid, DateTime<Utc>)> = on_tx!(tx, |c| {
                sqlx::query_as(
                    "SELECT id, finished_at FROM deployments WHERE project_id = $1 AND service = $2 \
                     AND environment = $3 AND status = 'success' AND finished_at IS NOT NULL \
                     AND finished_at > $4 AND finished_at <= $5",
                )
                .bind(project)
                .bind(service)
                .bind(&rules.production_environment)
                .bind(lo)
                .bind(hi)
                .fetch_all(&mut *c)
                .await?
            });
            let run_times = &times[run];
            for (id, finished) in found {
                // Some version opened in [finished, finished + window).
                let first = run_times.partition_point(|t| *t < finished);
                if run_times.get(first).is_some_and(|t| *t < finished + window) {
                    out.insert(id);
                }
            }
        }
    }
    Ok((out, keys))
}

/// Rewrites the time-to-restore rollups of these keys from the incidents.
async fn refresh_incident_days(tx: &mut Tx, keys: &BTreeSet<IncidentKey>) -> Result<()> {
    for k in keys {
        let from = day_start(k.day);
        let to = from + Duration::days(1);
        let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "SELECT opened_at, resolved_at FROM incidents WHERE project_id = ",
            );
            qb.push_bind(k.project_id);
            if !k.service.is_empty() {
                qb.push(" AND service = ").push_bind(&k.service);
            }
            qb.push(" AND opened_at >= ")
                .push_bind(from)
                .push(" AND opened_at < ")
                .push_bind(to);
            qb.build_query_as().fetch_all(&mut *c).await?
        });
        let mut hist = Histogram::default();
        let mut resolved = 0i64;
        for (opened, res) in &rows {
            if let Some(s) = dora::restore_seconds(*opened, *res) {
                hist.add(s);
                resolved += 1;
            }
        }
        let incidents = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        on_tx!(tx, |c| {
            if incidents == 0 {
                sqlx::query(
                    "DELETE FROM incident_days WHERE project_id = $1 AND service = $2 AND day = $3",
                )
                .bind(k.project_id)
                .bind(&k.service)
                .bind(k.day)
                .execute(&mut *c)
                .await?;
            } else {
                sqlx::query(
                    "INSERT INTO incident_days (project_id, service, day, incidents, resolved, restore_hist) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, service, day) DO UPDATE SET \
                     incidents = excluded.incidents, resolved = excluded.resolved, \
                     restore_hist = excluded.restore_hist",
                )
                .bind(k.project_id)
                .bind(&k.service)
                .bind(k.day)
                .bind(incidents)
                .bind(resolved)
                .bind(hist.encode())
                .execute(&mut *c)
                .await?;
            }
        });
    }
    Ok(())
}

/// Bumps the version of these repositories' attribution input in `tx`
/// (sorted, so two writers lock them in one order): a refresh that read
/// one before sends its round back, and one holding its row is waited for.
/// Called before anything else the transaction writes, so that the
/// transaction and a refresh (which locks the inputs, then writes
/// deployments) take their locks in the same order.
pub(crate) async fn bump_inputs_tx(tx: &mut Tx, repos: &[&str]) -> Result<()> {
    let mut repos = repos.to_vec();
    repos.sort_unstable();
    repos.dedup();
    for repo in repos {
        on_tx!(tx, |c| {
            sqlx::query(BUMP_INPUT).bind(repo).execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Marks in `tx` the deployments whose attribution these new commits of
/// `repo` can change (its input's version bumped first with
/// [`bump_inputs_tx`]).
pub(crate) async fn invalidate_tx(tx: &mut Tx, repo: &str, new_shas: &[String]) -> Result<()> {
    for chunk in new_shas.chunks(BULK_ROWS) {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new(
                "UPDATE deployments SET attributed = FALSE WHERE attributed = TRUE AND repo = ",
            );
            qb.push_bind(repo).push(" AND sha IN (");
            push_list(&mut qb, chunk, |s| s);
            qb.push(")");
            qb.build().execute(&mut *c).await?;

            let mut qb = QueryBuilder::new(
                "UPDATE deployments SET attributed = FALSE WHERE attributed = TRUE AND id IN \
         (SELECT deployment_id FROM deployment_commits WHERE repo = ",
            );
            qb.push_bind(repo).push(" AND sha IN (");
            push_list(&mut qb, chunk, |s| s);
            qb.push("))");
            qb.build().execute(&mut *c).await?;

            // The earliest commit time among them, when all are known
            // commits; otherwise (pull request commits not in the graph)
            // no bound.
            let mut qb =
                QueryBuilder::new("SELECT COUNT(*), MIN(committed_at) FROM commits WHERE repo = ");
            qb.push_bind(repo).push(" AND sha IN (");
            push_list(&mut qb, chunk, |s| s);
            qb.push(")");
            let (known, earliest): (i64, Option<DateTime<Utc>>) =
                qb.build_query_as().fetch_one(&mut *c).await?;
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
            qb.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}
