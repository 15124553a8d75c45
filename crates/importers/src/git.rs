//! History from a local git repository, read with gix (pure Rust).
//!
//! What is read: every commit reachable from one branch (sha, parents,
//! author and committer times with their UTC offsets, author identity,
//! subject), the files each changed with lines added and deleted, and the
//! tags. Line statistics follow `git log --numstat`: a commit is diffed
//! against its first parent (a root commit against the empty tree) with
//! rename detection as configured (`diff.renames`, on by default); binary
//! files count zero lines; a merge commit lists no files and zero lines, as
//! its changes are counted on the commits it merges.
//!
//! Incremental: commits already imported from git are not walked again (the
//! walk stops at them: their ancestors were stored in the same transaction),
//! and each run records the branch tip as the import cursor of
//! `repo@branch`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use gix::bstr::ByteSlice;
use gix::hash::ObjectId;
use serde::Serialize;
use tandem_domain::git::{Commit, CommitSource, FileChange, GitRef, branch_scope};
use tandem_store::Store;

/// The `import_cursors.source` of git imports.
pub const CURSOR_SOURCE: &str = "git";

/// Bytes of object cache per diff thread: trees shared between a commit and
/// its parent are decoded once.
const OBJECT_CACHE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GitImportError {
    #[error("{} is not a git repository: {reason}", path.display())]
    NotARepository { path: PathBuf, reason: String },
    #[error(
        "the repository has no branch {branch:?}; branches: {}",
        list(available)
    )]
    UnknownBranch {
        branch: String,
        available: Vec<String>,
    },
    #[error("the repository has no commits yet (HEAD is unborn); nothing to import")]
    Empty,
    #[error("reading the repository failed: {0}")]
    Git(String),
    #[error("the import task stopped unexpectedly: {0}")]
    Task(String),
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn git_err(e: impl std::fmt::Display) -> GitImportError {
    GitImportError::Git(e.to_string())
}

/// What to import.
#[derive(Debug, Clone)]
pub struct GitImport {
    /// The repository's working tree or `.git` directory.
    pub path: PathBuf,
    /// The name to store it under (a project's repository, `acme/payments`).
    pub repo: String,
    /// A branch name (`main`), a remote branch (`origin/main`) or a full ref
    /// name; `None` for the branch HEAD points at.
    pub branch: Option<String>,
}

/// Receives progress while commits are read. Called from several threads.
pub trait Progress: Sync {
    /// The number of commits to read is known.
    fn start(&self, total: u64);
    /// `n` more commits were read.
    fn advance(&self, n: u64);
    /// Reading is over; storing begins.
    fn storing(&self);
}

/// A `Progress` that reports nothing.
#[derive(Debug, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn storing(&self) {}
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GitImportSummary {
    pub repo: String,
    /// The full ref name imported (`refs/heads/main`), or `HEAD` when HEAD
    /// is detached.
    pub branch: String,
    pub head: String,
    /// Commits read in this run (those not imported before).
    pub commits_seen: u64,
    /// Commits stored for the first time or completed (see
    /// `Store::upsert_commits`).
    pub commits_new: u64,
    /// File changes read in this run.
    pub files: u64,
    pub merges: u64,
    /// Tags recorded (all tags of the repository that point at commits).
    pub tags: u64,
    /// The repository is a shallow clone: history beyond the boundary is
    /// missing, so lead times of commits before it are unknown.
    pub shallow: bool,
    /// Wall time in all, then of its two phases: reading the repository
    /// (walk and diffs) and storing.
    pub seconds: f64,
    pub read_seconds: f64,
    pub store_seconds: f64,
}

/// Imports a branch's history into `store`. Blocking git work runs on the
/// blocking thread pool.
pub async fn import(
    store: &Store,
    what: &GitImport,
    progress: Arc<dyn Progress + Send>,
    now: DateTime<Utc>,
) -> Result<GitImportSummary, GitImportError> {
    let started = Instant::now();
    let known = store.git_commit_shas(&what.repo).await?;
    let read = {
        let what = what.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            read_history(
                &what.path,
                what.branch.as_deref(),
                &what.repo,
                &known,
                &*progress,
            )
        })
        .await
        .map_err(|e| GitImportError::Task(e.to_string()))??
    };
    progress.storing();
    let read_seconds = started.elapsed().as_secs_f64();

    let new = store.upsert_commits(&read.commits).await?;
    store.invalidate_attribution(&what.repo, &new).await?;
    let mut refs: Vec<GitRef> = read
        .tags
        .iter()
        .map(|(name, sha)| GitRef {
            repo: what.repo.clone(),
            name: name.clone(),
            sha: sha.clone(),
            updated_at: now,
        })
        .collect();
    if read.branch != "HEAD" {
        refs.push(GitRef {
            repo: what.repo.clone(),
            name: read.branch.clone(),
            sha: read.head.clone(),
            updated_at: now,
        });
    }
    store.set_refs(&refs).await?;
    store
        .set_import_cursor(
            CURSOR_SOURCE,
            &branch_scope(&what.repo, &read.branch),
            &read.head,
            now,
        )
        .await?;

    Ok(GitImportSummary {
        repo: what.repo.clone(),
        branch: read.branch,
        head: read.head,
        commits_seen: read.commits.len() as u64,
        commits_new: new.len() as u64,
        files: read.commits.iter().map(|c| c.files.len() as u64).sum(),
        merges: read.commits.iter().filter(|c| c.is_merge()).count() as u64,
        tags: read.tags.len() as u64,
        shallow: read.shallow,
        seconds: started.elapsed().as_secs_f64(),
        read_seconds,
        store_seconds: started.elapsed().as_secs_f64() - read_seconds,
    })
}

/// Commits and tags read from a repository.
#[derive(Debug)]
pub struct History {
    /// The full ref name read (or `HEAD` when detached).
    pub branch: String,
    pub head: String,
    /// Commits reachable from the head and not in `known`, newest first
    /// (breadth-first from the head).
    pub commits: Vec<Commit>,
    /// `(refs/tags/NAME, commit sha)` for every tag that points at a commit.
    pub tags: Vec<(String, String)>,
    pub shallow: bool,
}

/// A commit's index in the walk and the files it changed.
type Diffed = (usize, Vec<FileChange>);

/// Opens the repository at `path` and reads the history of `branch` that is
/// not in `known` (shas imported before). Uses every core for the diffs.
pub fn read_history(
    path: &Path,
    branch: Option<&str>,
    repo_name: &str,
    known: &HashSet<String>,
    progress: &dyn Progress,
) -> Result<History, GitImportError> {
    let mut repo = open(path)?;
    repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
    let shallow = repo.is_shallow().map_err(git_err)?;
    // Commits at the shallow boundary: their parents are missing, so they
    // are diffed like root commits (as git does).
    let boundary: HashSet<ObjectId> = repo
        .shallow_commits()
        .map_err(git_err)?
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    let (branch, head) = resolve_branch(&repo, branch)?;
    let tags = tags(&repo)?;

    let known: HashSet<ObjectId> = known
        .iter()
        .filter_map(|s| ObjectId::from_hex(s.as_bytes()).ok())
        .collect();
    let mut commits = Vec::new();
    // What to diff for each commit: its tree and its first parent (none
    // for a root commit); `None` for a merge, which is not diffed.
    let mut trees: Vec<Option<(ObjectId, Option<ObjectId>)>> = Vec::new();
    if !known.contains(&head) {
        let walk = repo
            .rev_walk([head])
            .selected(move |id| !known.contains(id))
            .map_err(git_err)?;
        for info in walk {
            let info = info.map_err(git_err)?;
            let commit = info.object().map_err(git_err)?;
            let decoded = commit.decode().map_err(git_err)?;
            let parents: Vec<ObjectId> = decoded.parents().collect();
            let author = decoded.author().map_err(git_err)?;
            let committer = decoded.committer().map_err(git_err)?;
            let authored = author.time().map_err(git_err)?;
            let committed = committer.time().map_err(git_err)?;
            let first = if boundary.contains(&info.id) {
                None
            } else {
                parents.first().copied()
            };
            trees.push((parents.len() < 2).then(|| (decoded.tree(), first)));
            commits.push(Commit {
                repo: repo_name.to_owned(),
                sha: info.id.to_string(),
                author_name: author.name.trim().to_str_lossy().into_owned(),
                author_email: author.email.trim().to_str_lossy().into_owned(),
                authored_at: instant(authored.seconds)?,
                author_offset: authored.offset / 60,
                committed_at: instant(committed.seconds)?,
                committer_offset: committed.offset / 60,
                subject: decoded.message().summary().to_str_lossy().into_owned(),
                parent_count: i32::try_from(parents.len()).unwrap_or(i32::MAX),
                parents: parents.iter().map(ObjectId::to_string).collect(),
                additions: Some(0),
                deletions: Some(0),
                files: Vec::new(),
                source: CommitSource::Git,
            });
        }
    }
    progress.start(commits.len() as u64);

    // Diff in parallel: thread t takes every n-th commit.
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8)
        .min(commits.len().max(1));
    let sync = repo.into_sync();
    let results: Vec<Result<Vec<Diffed>, GitImportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let sync = &sync;
                let trees = &trees;
                scope.spawn(move || -> Result<_, GitImportError> {
                    let mut repo = sync.to_thread_local();
                    repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
                    let mut differ = Differ::new(&repo)?;
                    let mut out = Vec::new();
                    let mut pending = 0;
                    for i in (t..trees.len()).step_by(threads) {
                        if let Some((tree, parent)) = trees[i] {
                            out.push((i, differ.files(&repo, tree, parent)?));
                        }
                        pending += 1;
                        if pending == 256 {
                            progress.advance(pending);
                            pending = 0;
                        }
                    }
                    progress.advance(pending);
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| GitImportError::Task("a diff thread panicked".to_owned()))?
            })
            .collect()
    });
    for result in results {
        for (i, files) in result? {
            let c = &mut commits[i];
            c.additions = Some(files.iter().map(|f| f.additions).sum());
            c.deletions = Some(files.iter().map(|f| f.deletions).sum());
            c.files = files;
        }
    }

    Ok(History {
        branch,
        head: head.to_string(),
        commits,
        tags,
        shallow,
    })
}

fn open(path: &Path) -> Result<gix::Repository, GitImportError> {
    if !path.exists() {
        return Err(GitImportError::NotARepository {
            path: path.to_owned(),
            reason: "the path does not exist".to_owned(),
        });
    }
    gix::open(path).map_err(|e| GitImportError::NotARepository {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The full ref name and tip of the branch to import.
fn resolve_branch(
    repo: &gix::Repository,
    branch: Option<&str>,
) -> Result<(String, ObjectId), GitImportError> {
    let Some(branch) = branch else {
        let mut head = repo.head().map_err(git_err)?;
        if head.is_unborn() {
            return Err(GitImportError::Empty);
        }
        let name = head.referent_name().map_or_else(
            || "HEAD".to_owned(),
            |n| n.as_bstr().to_str_lossy().into_owned(),
        );
        let id = head.peel_to_commit().map_err(git_err)?.id;
        return Ok((name, id));
    };
    let candidates = if branch.starts_with("refs/") {
        vec![branch.to_owned()]
    } else {
        vec![
            format!("refs/heads/{branch}"),
            format!("refs/remotes/{branch}"),
        ]
    };
    for name in candidates {
        if let Ok(mut r) = repo.find_reference(name.as_str()) {
            let id = r.peel_to_id().map_err(git_err)?.detach();
            let object = repo.find_object(id).map_err(git_err)?;
            if object.kind != gix::object::Kind::Commit {
                return Err(GitImportError::Git(format!(
                    "{name} points at a {}, not a commit",
                    object.kind
                )));
            }
            return Ok((name, id));
        }
    }
    let mut available = Vec::new();
    let refs = repo.references().map_err(git_err)?;
    for r in refs.local_branches().map_err(git_err)? {
        let r = r.map_err(git_err)?;
        available.push(r.name().shorten().to_str_lossy().into_owned());
    }
    available.sort();
    Err(GitImportError::UnknownBranch {
        branch: branch.to_owned(),
        available,
    })
}

/// Every tag that points (directly or through annotated tags) at a commit.
fn tags(repo: &gix::Repository) -> Result<Vec<(String, String)>, GitImportError> {
    let mut out = Vec::new();
    let refs = repo.references().map_err(git_err)?;
    for r in refs.tags().map_err(git_err)?.peeled().map_err(git_err)? {
        let r = r.map_err(git_err)?.detach();
        let Some(id) = r
            .peeled
            .or_else(|| r.target.try_id().map(ToOwned::to_owned))
        else {
            continue;
        };
        let is_commit = repo
            .find_header(id)
            .is_ok_and(|h| h.kind() == gix::object::Kind::Commit);
        if is_commit {
            out.push((r.name.as_bstr().to_str_lossy().into_owned(), id.to_string()));
        }
    }
    out.sort();
    Ok(out)
}

fn instant(seconds: i64) -> Result<DateTime<Utc>, GitImportError> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| GitImportError::Git(format!("a commit time is out of range: {seconds}")))
}

/// One thread's diff state: a resource cache for rename detection and one
/// for line counts (both reused across commits).
struct Differ {
    renames: gix::diff::blob::Platform,
    lines: gix::diff::blob::Platform,
}

impl Differ {
    fn new(repo: &gix::Repository) -> Result<Self, GitImportError> {
        Ok(Self {
            renames: repo.diff_resource_cache_for_tree_diff().map_err(git_err)?,
            lines: repo.diff_resource_cache_for_tree_diff().map_err(git_err)?,
        })
    }

    /// The files changed from `parent`'s tree (the empty tree for a root
    /// commit) to `tree`.
    fn files(
        &mut self,
        repo: &gix::Repository,
        tree: ObjectId,
        parent: Option<ObjectId>,
    ) -> Result<Vec<FileChange>, GitImportError> {
        let new = repo.find_tree(tree).map_err(git_err)?;
        let old = match parent {
            Some(p) => repo
                .find_commit(p)
                .and_then(|c| c.tree())
                .map_err(git_err)?,
            None => repo.empty_tree(),
        };
        let mut files = Vec::new();
        let lines = &mut self.lines;
        old.changes()
            .map_err(git_err)?
            .options(|o| {
                o.track_path();
            })
            .for_each_to_obtain_tree_with_cache(&new, &mut self.renames, |change| {
                let mode = change.entry_mode();
                if mode.is_tree() || mode.is_commit() {
                    return Ok(std::ops::ControlFlow::Continue(()));
                }
                let counts = change.diff(lines)?.line_counts()?;
                let (additions, deletions) =
                    counts.map_or((0, 0), |c| (i64::from(c.insertions), i64::from(c.removals)));
                files.push(FileChange {
                    path: change.location().to_str_lossy().into_owned(),
                    additions,
                    deletions,
                });
                lines.clear_resource_cache_keep_allocation();
                Ok(std::ops::ControlFlow::Continue(()))
            })
            .map_err(git_err)?;
        self.renames.clear_resource_cache_keep_allocation();
        Ok(files)
    }
}
