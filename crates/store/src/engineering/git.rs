//! Commits, their parents and changed files, refs and import cursors.
//!
//! Invariants:
//! - `(repo, sha)` identifies a commit. Writes are idempotent: a replay
//!   changes nothing and reports nothing new.
//! - A row that came from `git` is never overwritten by another source; a
//!   row from another source is replaced whole by `git` (its parents and
//!   files too) and otherwise only has its gaps filled (line statistics,
//!   missing parents and files).
//! - Bulk writes are multi-row INSERTs of at most `BULK_ROWS` rows on
//!   SQLite (column arrays on PostgreSQL), all in one transaction; a
//!   `CommitWriter` keeps that transaction open across batches so a large
//!   import can store while it reads.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder};
use tandem_domain::DomainError;
use tandem_domain::error::FieldError;
use tandem_domain::git::{Commit, CommitSource, FileChange, GitRef};

use crate::engine::{Tx, on_tx, push_list};
use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// Rows per multi-row INSERT (the same size as the other bulk paths).
const BULK_ROWS: usize = 500;

const COMMIT_COLS: &str = "repo, sha, author_name, author_email, authored_at, author_offset, \
     committed_at, committer_offset, subject, parent_count, additions, deletions, source";

/// On a conflict: a stored `git` row is kept as it is (the `WHERE`); an
/// incoming `git` row replaces any other; otherwise only gaps are filled.
const COMMIT_CONFLICT: &str = " ON CONFLICT (repo, sha) DO UPDATE SET \
     author_name = CASE WHEN excluded.source = 'git' THEN excluded.author_name ELSE commits.author_name END, \
     author_email = CASE WHEN excluded.source = 'git' THEN excluded.author_email ELSE commits.author_email END, \
     authored_at = CASE WHEN excluded.source = 'git' THEN excluded.authored_at ELSE commits.authored_at END, \
     author_offset = CASE WHEN excluded.source = 'git' THEN excluded.author_offset ELSE commits.author_offset END, \
     committed_at = CASE WHEN excluded.source = 'git' THEN excluded.committed_at ELSE commits.committed_at END, \
     committer_offset = CASE WHEN excluded.source = 'git' THEN excluded.committer_offset ELSE commits.committer_offset END, \
     subject = CASE WHEN excluded.source = 'git' THEN excluded.subject ELSE commits.subject END, \
     parent_count = CASE WHEN excluded.source = 'git' THEN excluded.parent_count ELSE commits.parent_count END, \
     additions = CASE WHEN excluded.source = 'git' THEN excluded.additions ELSE COALESCE(commits.additions, excluded.additions) END, \
     deletions = CASE WHEN excluded.source = 'git' THEN excluded.deletions ELSE COALESCE(commits.deletions, excluded.deletions) END, \
     source = CASE WHEN excluded.source = 'git' THEN excluded.source ELSE commits.source END \
     WHERE commits.source <> 'git'";

#[derive(FromRow)]
struct CommitRow {
    repo: String,
    sha: String,
    author_name: String,
    author_email: String,
    authored_at: DateTime<Utc>,
    author_offset: i32,
    committed_at: DateTime<Utc>,
    committer_offset: i32,
    subject: String,
    parent_count: i32,
    additions: Option<i64>,
    deletions: Option<i64>,
    source: String,
}

#[derive(FromRow)]
struct FileRow {
    path: String,
    additions: i64,
    deletions: i64,
}

#[derive(FromRow)]
struct RefRow {
    repo: String,
    name: String,
    sha: String,
    updated_at: DateTime<Utc>,
}

/// What an incoming commit does to the stored one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Not stored yet.
    New,
    /// Stored from another source; `git` replaces it.
    Replace,
    /// Stored from another source; only gaps are filled.
    Fill,
}

impl Store {
    /// Stores commits with their parents and changed files, in one
    /// transaction, and returns (in input order) the shas that were new or
    /// were completed by `git` (a row from a push delivery replaced by the
    /// import): exactly the commits whose graph the store did not know.
    ///
    /// Replays change nothing and return nothing. A commit listed twice is
    /// stored once (a `git` copy is preferred). Every commit is validated
    /// first; the error names the index of the first bad one
    /// (`commits[3].sha`).
    pub async fn upsert_commits(&self, commits: &[Commit]) -> Result<Vec<String>> {
        let mut writer = self.begin_commits(false).await?;
        let new = writer.write(commits).await?;
        writer.finish().await?;
        Ok(new)
    }

    /// Starts a transaction that stores commits batch by batch with the
    /// rules of [`Store::upsert_commits`] (a large import writes while it
    /// still reads); nothing is visible until [`CommitWriter::finish`], and
    /// dropping the writer stores nothing.
    ///
    /// Made for large imports: on SQLite the connection's page cache is
    /// raised for the transaction.
    pub async fn commit_writer(&self) -> Result<CommitWriter> {
        self.begin_commits(true).await
    }

    async fn begin_commits(&self, large: bool) -> Result<CommitWriter> {
        let mut cache_size = None;
        let tx = match &self.engine {
            crate::engine::Engine::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                if !large {
                    return Ok(CommitWriter {
                        tx: Tx::Sqlite(tx),
                        cache_size,
                    });
                }
                // A page cache that holds the indexes being written: with
                // SQLite's default (2 MB) a large import spills and rereads
                // pages of its own transaction. Restored by `finish`.
                let (size,): (i64,) = sqlx::query_as("PRAGMA cache_size")
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA cache_size = -{WRITER_CACHE_KIB}"
                )))
                .execute(&mut *tx)
                .await?;
                cache_size = Some(size);
                Tx::Sqlite(tx)
            }
            crate::engine::Engine::Postgres(pool) => Tx::Postgres(pool.begin_write().await?),
        };
        Ok(CommitWriter { tx, cache_size })
    }
    /// One commit with its parents and files, or `None`.
    pub async fn get_commit(&self, repo: &str, sha: &str) -> Result<Option<Commit>> {
        let found = on_pool!(self, |pool| {
            let row: Option<CommitRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COMMIT_COLS} FROM commits WHERE repo = $1 AND sha = $2"
            )))
            .bind(repo)
            .bind(sha)
            .fetch_optional(pool)
            .await?;
            match row {
                None => None,
                Some(row) => {
                    let parents: Vec<(String,)> = sqlx::query_as(
                        "SELECT parent_sha FROM commit_parents WHERE repo = $1 AND sha = $2 ORDER BY position",
                    )
                    .bind(repo)
                    .bind(sha)
                    .fetch_all(pool)
                    .await?;
                    let files: Vec<FileRow> = sqlx::query_as(
                        "SELECT path, additions, deletions FROM commit_files \
                         WHERE repo = $1 AND sha = $2 ORDER BY path",
                    )
                    .bind(repo)
                    .bind(sha)
                    .fetch_all(pool)
                    .await?;
                    Some((row, parents, files))
                }
            }
        });
        let Some((row, parents, files)) = found else {
            return Ok(None);
        };
        let source: CommitSource = row
            .source
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("commits.source: {e}")))?;
        Ok(Some(Commit {
            repo: row.repo,
            sha: row.sha,
            author_name: row.author_name,
            author_email: row.author_email,
            authored_at: row.authored_at,
            author_offset: row.author_offset,
            committed_at: row.committed_at,
            committer_offset: row.committer_offset,
            subject: row.subject,
            parents: parents.into_iter().map(|(p,)| p).collect(),
            parent_count: row.parent_count,
            additions: row.additions,
            deletions: row.deletions,
            files: files
                .into_iter()
                .map(|f| FileChange {
                    path: f.path,
                    additions: f.additions,
                    deletions: f.deletions,
                })
                .collect(),
            source,
        }))
    }

    /// How many commits of `repo` are stored.
    pub async fn count_commits(&self, repo: &str) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM commits WHERE repo = $1")
                .bind(repo)
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// The shas of `repo` stored from `git` (an import need not walk past
    /// them: their ancestors were imported with them).
    pub async fn git_commit_shas(&self, repo: &str) -> Result<HashSet<String>> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT sha FROM commits WHERE repo = $1 AND source = 'git'")
                .bind(repo)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// Points a branch or tag at a commit (creates or moves the ref).
    pub async fn set_ref(&self, r: &GitRef) -> Result<()> {
        self.set_refs(std::slice::from_ref(r)).await
    }

    /// Points several refs at their commits, in one transaction.
    pub async fn set_refs(&self, refs: &[GitRef]) -> Result<()> {
        check_refs(refs)?;
        let mut tx = self.write_tx().await?;
        set_refs_tx(&mut tx, refs).await?;
        tx.commit().await
    }

    /// The refs of `repo`, by name.
    pub async fn list_refs(&self, repo: &str) -> Result<Vec<GitRef>> {
        let rows: Vec<RefRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT repo, name, sha, updated_at FROM git_refs WHERE repo = $1 ORDER BY name",
            )
            .bind(repo)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| GitRef {
                repo: r.repo,
                name: r.name,
                sha: r.sha,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Where the last import of `scope` from `source` stopped, if it ran.
    pub async fn import_cursor(&self, source: &str, scope: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT cursor FROM import_cursors WHERE source = $1 AND scope = $2")
                .bind(source)
                .bind(scope)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(c,)| c))
    }

    /// Records where an import of `scope` from `source` stopped.
    pub async fn set_import_cursor(
        &self,
        source: &str,
        scope: &str,
        cursor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO import_cursors (source, scope, cursor, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source, scope) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(scope)
            .bind(cursor)
            .bind(tandem_domain::time::micros(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// An open transaction storing commits; see [`Store::commit_writer`].
pub struct CommitWriter {
    tx: Tx,
    /// SQLite: the connection's `cache_size` before the writer raised it.
    cache_size: Option<i64>,
}

/// SQLite page cache of a `CommitWriter`'s connection, in KiB (an upper
/// bound: pages are allocated as they are used).
const WRITER_CACHE_KIB: i64 = 256 * 1024;

impl std::fmt::Debug for CommitWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitWriter").finish_non_exhaustive()
    }
}

impl CommitWriter {
    /// Stores a batch of commits with their parents and changed files and
    /// returns (in input order) the shas that were new or were completed by
    /// `git`, as [`Store::upsert_commits`] does. Batches written before in
    /// this transaction count as stored. Every commit of the batch is
    /// validated first; the error names the index of the first bad one.
    pub async fn write(&mut self, commits: &[Commit]) -> Result<Vec<String>> {
        write_commits_tx(&mut self.tx, commits).await
    }

    /// Commits the transaction: every batch written becomes visible at once.
    pub async fn finish(self) -> Result<()> {
        match self.tx {
            Tx::Sqlite(mut tx) => {
                if let Some(size) = self.cache_size {
                    sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA cache_size = {size}")))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Stores commits in `tx` with the rules of [`Store::upsert_commits`] and
/// returns (in input order) the shas that were new or were completed by
/// `git`. Every commit is validated first; the error names the index of
/// the first bad one.
pub(crate) async fn write_commits_tx(tx: &mut Tx, commits: &[Commit]) -> Result<Vec<String>> {
    for (i, c) in commits.iter().enumerate() {
        c.validate().map_err(|e| prefix(e, i))?;
    }
    // One entry per (repo, sha), in first-seen order, grouped by repo.
    let mut by_repo: Vec<(&str, Vec<&Commit>)> = Vec::new();
    let mut seen: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    for c in commits {
        match seen.get(&(c.repo.as_str(), c.sha.as_str())) {
            Some(&(g, k)) => {
                let kept = &mut by_repo[g].1[k];
                if kept.source != CommitSource::Git && c.source == CommitSource::Git {
                    *kept = c;
                }
            }
            None => {
                let g = match by_repo.iter().position(|(r, _)| *r == c.repo) {
                    Some(g) => g,
                    None => {
                        by_repo.push((c.repo.as_str(), Vec::new()));
                        by_repo.len() - 1
                    }
                };
                seen.insert((&c.repo, &c.sha), (g, by_repo[g].1.len()));
                by_repo[g].1.push(c);
            }
        }
    }

    let changed: HashSet<String> = match tx {
        Tx::Postgres(tx) => write_commits_pg(tx, &by_repo).await?,
        Tx::Sqlite(tx) => write_commits_sqlite(tx, &by_repo).await?,
    };

    let mut out = Vec::new();
    let mut reported = HashSet::new();
    for c in commits {
        let key = format!("{}\n{}", c.repo, c.sha);
        if changed.contains(&key) && reported.insert(key) {
            out.push(c.sha.clone());
        }
    }
    Ok(out)
}

/// Validates refs before any is written; the error names the index of
/// the first bad one (`refs[2].sha`).
pub(crate) fn check_refs(refs: &[GitRef]) -> Result<()> {
    for (i, r) in refs.iter().enumerate() {
        r.validate().map_err(|e| prefix_ref(e, i))?;
    }
    Ok(())
}

/// Moves refs in `tx` (checked with [`check_refs`]): a ref row is only
/// updated when its sha changes.
pub(crate) async fn set_refs_tx(tx: &mut Tx, refs: &[GitRef]) -> Result<()> {
    for rows in refs.chunks(BULK_ROWS) {
        on_tx!(tx, |c| {
            let mut qb = QueryBuilder::new("INSERT INTO git_refs (repo, name, sha, updated_at) ");
            qb.push_values(rows, |mut b, r| {
                b.push_bind(&r.repo)
                    .push_bind(&r.name)
                    .push_bind(&r.sha)
                    .push_bind(r.updated_at);
            });
            qb.push(
                " ON CONFLICT (repo, name) DO UPDATE SET sha = excluded.sha, updated_at = excluded.updated_at \
                 WHERE git_refs.sha <> excluded.sha",
            );
            qb.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// `CommitWriter::write` on SQLite: multi-row INSERTs of `BULK_ROWS` rows.
async fn write_commits_sqlite(
    tx: &mut sqlx::SqliteConnection,
    by_repo: &[(&str, Vec<&Commit>)],
) -> Result<HashSet<String>> {
    let mut changed = HashSet::new();
    for (repo, group) in by_repo {
        for chunk in group.chunks(BULK_ROWS) {
            // What is stored already, and from which source.
            let mut qb = QueryBuilder::new("SELECT sha, source FROM commits WHERE repo = ");
            qb.push_bind(*repo).push(" AND sha IN (");
            push_list(&mut qb, chunk, |c| &c.sha);
            qb.push(")");
            let stored: Vec<(String, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
            let (write, replaced) = classify(chunk, stored);
            if write.is_empty() {
                continue;
            }
            if !replaced.is_empty() {
                for table in ["commit_parents", "commit_files"] {
                    let mut qb = QueryBuilder::new(format!("DELETE FROM {table} WHERE repo = "));
                    qb.push_bind(*repo).push(" AND sha IN (");
                    push_list(&mut qb, &replaced, |sha| *sha);
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                }
            }

            let mut qb = QueryBuilder::new(format!("INSERT INTO commits ({COMMIT_COLS}) "));
            qb.push_values(&write, |mut b, (c, _)| {
                b.push_bind(&c.repo)
                    .push_bind(&c.sha)
                    .push_bind(&c.author_name)
                    .push_bind(&c.author_email)
                    .push_bind(c.authored_at)
                    .push_bind(c.author_offset)
                    .push_bind(c.committed_at)
                    .push_bind(c.committer_offset)
                    .push_bind(&c.subject)
                    .push_bind(c.parent_count)
                    .push_bind(c.additions)
                    .push_bind(c.deletions)
                    .push_bind(c.source.as_str());
            });
            qb.push(COMMIT_CONFLICT);
            qb.build().execute(&mut *tx).await?;

            let parents: Vec<(&str, i32, &str)> = write
                .iter()
                .flat_map(|(c, _)| {
                    c.parents.iter().enumerate().map(|(i, p)| {
                        (
                            c.sha.as_str(),
                            i32::try_from(i).unwrap_or(i32::MAX),
                            p.as_str(),
                        )
                    })
                })
                .collect();
            for rows in parents.chunks(BULK_ROWS) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO commit_parents (repo, sha, position, parent_sha) ",
                );
                qb.push_values(rows, |mut b, (sha, position, parent)| {
                    b.push_bind(*repo)
                        .push_bind(*sha)
                        .push_bind(*position)
                        .push_bind(*parent);
                });
                qb.push(" ON CONFLICT (repo, sha, position) DO NOTHING");
                qb.build().execute(&mut *tx).await?;
            }

            let files: Vec<(&str, &FileChange)> = write
                .iter()
                .flat_map(|(c, _)| c.files.iter().map(|f| (c.sha.as_str(), f)))
                .collect();
            for rows in files.chunks(BULK_ROWS) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO commit_files (repo, sha, path, additions, deletions) ",
                );
                qb.push_values(rows, |mut b, (sha, f)| {
                    b.push_bind(*repo)
                        .push_bind(*sha)
                        .push_bind(&f.path)
                        .push_bind(f.additions)
                        .push_bind(f.deletions);
                });
                qb.push(" ON CONFLICT (repo, sha, path) DO NOTHING");
                qb.build().execute(&mut *tx).await?;
            }

            changed.extend(changed_keys(&write));
        }
    }
    Ok(changed)
}

/// The `repo\nsha` keys of the written commits whose row changed (a
/// `Fill` only adds what was missing).
fn changed_keys<'a>(write: &'a [(&Commit, Effect)]) -> impl Iterator<Item = String> + 'a {
    write
        .iter()
        .filter(|(_, e)| *e != Effect::Fill)
        .map(|(c, _)| format!("{}\n{}", c.repo, c.sha))
}

/// What each commit of a chunk does to the stored rows (`stored`: sha,
/// source), and the shas whose parents and files are replaced.
fn classify<'a>(
    chunk: &[&'a Commit],
    stored: Vec<(String, String)>,
) -> (Vec<(&'a Commit, Effect)>, Vec<&'a str>) {
    let stored: HashMap<String, String> = stored.into_iter().collect();
    let write = effects(chunk, &stored);
    let replaced = write
        .iter()
        .filter(|(_, e)| *e == Effect::Replace)
        .map(|(c, _)| c.sha.as_str())
        .collect();
    (write, replaced)
}

/// What each commit of a chunk does to the stored rows (`stored`: sha →
/// source); commits whose stored row came from git are left out.
fn effects<'a>(
    chunk: &[&'a Commit],
    stored: &HashMap<String, String>,
) -> Vec<(&'a Commit, Effect)> {
    let mut write = Vec::with_capacity(chunk.len());
    for &c in chunk {
        let effect = match stored.get(&c.sha).map(String::as_str) {
            None => Effect::New,
            Some("git") => continue,
            Some(_) if c.source == CommitSource::Git => Effect::Replace,
            Some(_) => Effect::Fill,
        };
        write.push((c, effect));
    }
    write
}

/// Rows per statement on PostgreSQL, which takes whole columns as arrays
/// (`UNNEST`): a few statements instead of hundreds of 500-row VALUES
/// lists, whose planning dominated the time of a large import.
const PG_ARRAY_ROWS: usize = 20_000;

/// `upsert_commits` on PostgreSQL: the same rules as the portable path,
/// with column arrays instead of multi-row VALUES.
async fn write_commits_pg(
    tx: &mut sqlx::PgConnection,
    by_repo: &[(&str, Vec<&Commit>)],
) -> Result<HashSet<String>> {
    let mut changed = HashSet::new();
    for (repo, group) in by_repo {
        for chunk in group.chunks(PG_ARRAY_ROWS) {
            let shas: Vec<&str> = chunk.iter().map(|c| c.sha.as_str()).collect();
            let stored: Vec<(String, String)> =
                sqlx::query_as("SELECT sha, source FROM commits WHERE repo = $1 AND sha = ANY($2)")
                    .bind(*repo)
                    .bind(&shas)
                    .fetch_all(&mut *tx)
                    .await?;
            let (write, replaced) = classify(chunk, stored);
            if write.is_empty() {
                continue;
            }
            if !replaced.is_empty() {
                for table in ["commit_parents", "commit_files"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE repo = $1 AND sha = ANY($2)"
                    )))
                    .bind(*repo)
                    .bind(&replaced)
                    .execute(&mut *tx)
                    .await?;
                }
            }

            let col =
                |f: fn(&Commit) -> &str| write.iter().map(|(c, _)| f(c)).collect::<Vec<&str>>();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO commits ({COMMIT_COLS}) SELECT * FROM UNNEST($1::text[], $2::text[], \
                 $3::text[], $4::text[], $5::timestamptz[], $6::int4[], $7::timestamptz[], $8::int4[], \
                 $9::text[], $10::int4[], $11::int8[], $12::int8[], $13::text[]){COMMIT_CONFLICT}"
            )))
            .bind(write.iter().map(|(c, _)| c.repo.as_str()).collect::<Vec<_>>())
            .bind(col(|c| &c.sha))
            .bind(col(|c| &c.author_name))
            .bind(col(|c| &c.author_email))
            .bind(write.iter().map(|(c, _)| c.authored_at).collect::<Vec<_>>())
            .bind(write.iter().map(|(c, _)| c.author_offset).collect::<Vec<_>>())
            .bind(write.iter().map(|(c, _)| c.committed_at).collect::<Vec<_>>())
            .bind(write.iter().map(|(c, _)| c.committer_offset).collect::<Vec<_>>())
            .bind(col(|c| &c.subject))
            .bind(write.iter().map(|(c, _)| c.parent_count).collect::<Vec<_>>())
            .bind(write.iter().map(|(c, _)| c.additions).collect::<Vec<_>>())
            .bind(write.iter().map(|(c, _)| c.deletions).collect::<Vec<_>>())
            .bind(write.iter().map(|(c, _)| c.source.as_str()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;

            let mut p_sha = Vec::new();
            let mut p_pos = Vec::new();
            let mut p_parent = Vec::new();
            let mut f_sha = Vec::new();
            let mut f_path = Vec::new();
            let mut f_add = Vec::new();
            let mut f_del = Vec::new();
            for (c, _) in &write {
                for (i, parent) in c.parents.iter().enumerate() {
                    p_sha.push(c.sha.as_str());
                    p_pos.push(i32::try_from(i).unwrap_or(i32::MAX));
                    p_parent.push(parent.as_str());
                }
                for f in &c.files {
                    f_sha.push(c.sha.as_str());
                    f_path.push(f.path.as_str());
                    f_add.push(f.additions);
                    f_del.push(f.deletions);
                }
            }
            if !p_sha.is_empty() {
                sqlx::query(
                    "INSERT INTO commit_parents (repo, sha, position, parent_sha) \
                     SELECT $1, * FROM UNNEST($2::text[], $3::int4[], $4::text[]) \
                     ON CONFLICT (repo, sha, position) DO NOTHING",
                )
                .bind(*repo)
                .bind(&p_sha)
                .bind(&p_pos)
                .bind(&p_parent)
                .execute(&mut *tx)
                .await?;
            }
            for start in (0..f_sha.len()).step_by(PG_ARRAY_ROWS) {
                let end = (start + PG_ARRAY_ROWS).min(f_sha.len());
                sqlx::query(
                    "INSERT INTO commit_files (repo, sha, path, additions, deletions) \
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int8[], $5::int8[]) \
                     ON CONFLICT (repo, sha, path) DO NOTHING",
                )
                .bind(*repo)
                .bind(&f_sha[start..end])
                .bind(&f_path[start..end])
                .bind(&f_add[start..end])
                .bind(&f_del[start..end])
                .execute(&mut *tx)
                .await?;
            }
            changed.extend(changed_keys(&write));
        }
    }
    Ok(changed)
}

/// Prefixes the fields of a commit's validation error with its index.
fn prefix(e: DomainError, index: usize) -> StoreError {
    prefixed(e, &format!("commits[{index}]"))
}

fn prefix_ref(e: DomainError, index: usize) -> StoreError {
    prefixed(e, &format!("refs[{index}]"))
}

fn prefixed(e: DomainError, at: &str) -> StoreError {
    match e {
        DomainError::Invalid(errors) => StoreError::Domain(DomainError::Invalid(
            errors
                .into_iter()
                .map(|f| FieldError::new(format!("{at}.{}", f.field), f.message))
                .collect(),
        )),
        other => StoreError::Domain(other),
    }
}
