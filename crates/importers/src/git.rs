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
//! walk stops at them: their ancestors were stored in the same transaction;
//! batches are stored while later ones are still diffed, but all in one
//! transaction committed at the end),
//! and each run records the branch tip as the import cursor of
//! `repo@branch`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
    /// (walk and diffs, from the start until the last commit is diffed) and
    /// storing (time spent writing). Storing runs while the diffs do, so
    /// the phases overlap.
    pub seconds: f64,
    pub read_seconds: f64,
    pub store_seconds: f64,
}

/// Imports a branch's history into `store`. Blocking git work runs on the
/// blocking thread pool; storing runs alongside it (a pipeline: diffed
/// batches go through a bounded channel to one transaction, committed
/// when the whole history is written).
pub async fn import(
    store: &Store,
    what: &GitImport,
    progress: Arc<dyn Progress + Send>,
    now: DateTime<Utc>,
) -> Result<GitImportSummary, GitImportError> {
    let started = Instant::now();
    let known = store.git_commit_shas(&what.repo).await?;
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<Commit>>(PIPELINE_BATCHES);
    let reader = {
        let what = what.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            let sink = |batch: Vec<Commit>| {
                sender
                    .blocking_send(batch)
                    .map_err(|_| GitImportError::Task("storing stopped".to_owned()))
            };
            let read = read_history(
                &what.path,
                what.branch.as_deref(),
                &what.repo,
                &known,
                &*progress,
                &sink,
            );
            (read, started.elapsed().as_secs_f64())
        })
    };

    // Store batches as they are diffed, all in one transaction.
    let mut writer = None;
    let mut new = Vec::new();
    let (mut seen, mut files, mut merges) = (0u64, 0u64, 0u64);
    let mut store_seconds = 0.0;
    let mut failed = None;
    while let Some(batch) = batches.recv().await {
        let t = Instant::now();
        let written = async {
            if writer.is_none() {
                writer = Some(store.commit_writer().await?);
            }
            let w = writer.as_mut().expect("the writer was just started");
            w.write(&batch).await
        }
        .await;
        store_seconds += t.elapsed().as_secs_f64();
        match written {
            Ok(shas) => new.extend(shas),
            Err(e) => {
                // Closing the channel stops the diff threads.
                failed = Some(e);
                break;
            }
        }
        seen += batch.len() as u64;
        files += batch.iter().map(|c| c.files.len() as u64).sum::<u64>();
        merges += batch.iter().filter(|c| c.is_merge()).count() as u64;
    }
    drop(batches);
    let (read, read_seconds) = reader
        .await
        .map_err(|e| GitImportError::Task(e.to_string()))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let read = read?;
    progress.storing();

    let t = Instant::now();
    if let Some(w) = writer {
        w.finish().await?;
    }
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
    store_seconds += t.elapsed().as_secs_f64();

    Ok(GitImportSummary {
        repo: what.repo.clone(),
        branch: read.branch,
        head: read.head,
        commits_seen: seen,
        commits_new: new.len() as u64,
        files,
        merges,
        tags: read.tags.len() as u64,
        shallow: read.shallow,
        seconds: started.elapsed().as_secs_f64(),
        read_seconds,
        store_seconds,
    })
}

/// Diffed batches in flight between the diff threads and the writer.
const PIPELINE_BATCHES: usize = 4;

/// Commits per batch: the unit of work of a diff thread and of a write.
const BATCH_COMMITS: usize = 1_000;

/// What a history read found besides the commits (which went to the sink).
#[derive(Debug)]
pub struct History {
    /// The full ref name read (or `HEAD` when detached).
    pub branch: String,
    pub head: String,
    /// Commits read (reachable from the head and not in `known`).
    pub commits: u64,
    /// `(refs/tags/NAME, commit sha)` for every tag that points at a commit.
    pub tags: Vec<(String, String)>,
    pub shallow: bool,
}

/// What to diff for one commit: its tree against its first parent's.
#[derive(Debug, Clone, Copy)]
enum Diff {
    /// A merge commit: not diffed (no files, zero lines).
    None,
    /// Against the empty tree (a root commit, or one at a shallow boundary).
    Root { tree: ObjectId },
    /// Against the tree of a parent that was walked too.
    Tree { tree: ObjectId, parent: ObjectId },
    /// Against the tree of a parent imported before (looked up when diffed).
    Commit { tree: ObjectId, parent: ObjectId },
}

/// A batch of consecutive commits in walk order (newest first) and what to
/// diff for each.
struct Batch {
    commits: Vec<Commit>,
    diffs: Vec<Diff>,
    /// Diff the commits oldest first (else in walk order, newest first).
    oldest_first: bool,
}

/// Whether the pack stores newer versions of trees as deltas of older ones
/// (as `git fast-import` and packs built up by pushes do), judged from the
/// root trees of up to 64 consecutive commits from the head: a tree one
/// delta deeper than its parent's counts for it, one delta shallower
/// against. gix caches the objects it returns, not the bases it passes on
/// the way, so diffs should run in the direction the deltas point from:
/// oldest first here, newest first for a repository repacked by `git gc`.
fn deltas_point_to_older(
    repo: &gix::Repository,
    walked: &[(ObjectId, Option<ObjectId>, bool)],
) -> bool {
    let depth = |tree: ObjectId| {
        repo.find_header(tree)
            .ok()
            .and_then(|h| h.num_deltas())
            .map(i64::from)
    };
    let (mut forward, mut backward) = (0, 0);
    let mut newer = walked.first().and_then(|w| depth(w.0));
    for w in walked.iter().skip(1).take(64) {
        let older = depth(w.0);
        if let (Some(n), Some(o)) = (newer, older) {
            if n == o + 1 {
                forward += 1;
            } else if o == n + 1 {
                backward += 1;
            }
        }
        newer = older;
    }
    forward >= backward
}

/// Opens the repository at `path` and reads the history of `branch` that is
/// not in `known` (shas imported before), handing commits with their files
/// to `sink` in batches as they are diffed (in no particular order). Uses
/// every core for the diffs.
///
/// Diffs run in the direction the pack's deltas point from
/// (`deltas_point_to_older`): for a `git fast-import` pack, or one built up
/// by pushes, oldest batch first and oldest commit first within a batch, so
/// each thread's pack cache holds the previous version of a tree or file
/// and a delta chain is resolved from the version read last instead of
/// from its base; for a repository repacked by `git gc`, newest first.
pub fn read_history(
    path: &Path,
    branch: Option<&str>,
    repo_name: &str,
    known: &HashSet<String>,
    progress: &dyn Progress,
    sink: &(dyn Fn(Vec<Commit>) -> Result<(), GitImportError> + Sync),
) -> Result<History, GitImportError> {
    let repo = open(path)?;
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
    // Each commit's tree and first parent (`None` for a root commit or one
    // at the shallow boundary); merges are marked and not diffed.
    let mut walked: Vec<(ObjectId, Option<ObjectId>, bool)> = Vec::new();
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
            walked.push((decoded.tree(), first, parents.len() > 1));
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
    let total = commits.len();
    progress.start(total as u64);

    // The tree of every walked commit, so that a parent's tree needs no
    // second read of the parent.
    let tree_of: HashMap<ObjectId, ObjectId> = commits
        .iter()
        .zip(&walked)
        .filter_map(|(c, (tree, _, _))| {
            ObjectId::from_hex(c.sha.as_bytes())
                .ok()
                .map(|id| (id, *tree))
        })
        .collect();
    let diffs: Vec<Diff> = walked
        .iter()
        .map(|&(tree, first, merge)| match (merge, first) {
            (true, _) => Diff::None,
            (false, None) => Diff::Root { tree },
            (false, Some(p)) => match tree_of.get(&p) {
                Some(&parent) => Diff::Tree { tree, parent },
                None => Diff::Commit { tree, parent: p },
            },
        })
        .collect();
    drop(tree_of);

    // Batches in walk order; the queue hands out the oldest first (or the
    // newest first when the pack deltas older versions against newer ones).
    let oldest_first = deltas_point_to_older(&repo, &walked);
    let mut queue: Vec<Batch> = Vec::with_capacity(total.div_ceil(BATCH_COMMITS));
    let mut commits = commits.into_iter();
    for chunk in diffs.chunks(BATCH_COMMITS) {
        queue.push(Batch {
            commits: commits.by_ref().take(chunk.len()).collect(),
            diffs: chunk.to_vec(),
            oldest_first,
        });
    }
    if !oldest_first {
        queue.reverse();
    }
    let queue = Mutex::new(queue);

    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8)
        .min(total.div_ceil(BATCH_COMMITS).max(1));
    let sync = repo.into_sync();
    let results: Vec<Result<(), GitImportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let sync = &sync;
                let queue = &queue;
                scope.spawn(move || -> Result<(), GitImportError> {
                    let diffed = diff_batches(sync, queue, progress, sink);
                    if diffed.is_err() {
                        // The other threads stop after their current batch.
                        if let Ok(mut queue) = queue.lock() {
                            queue.clear();
                        }
                    }
                    diffed
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
        result?;
    }

    Ok(History {
        branch,
        head: head.to_string(),
        commits: total as u64,
        tags,
        shallow,
    })
}

/// One diff thread: takes batches from `queue` (the oldest first), diffs
/// their commits oldest first and hands each batch to `sink`.
fn diff_batches(
    sync: &gix::ThreadSafeRepository,
    queue: &Mutex<Vec<Batch>>,
    progress: &dyn Progress,
    sink: &(dyn Fn(Vec<Commit>) -> Result<(), GitImportError> + Sync),
) -> Result<(), GitImportError> {
    let mut repo = sync.to_thread_local();
    tune_caches(&mut repo);
    let mut differ = Differ::new(&repo)?;
    loop {
        let next = queue.lock().map_err(|_| poisoned())?.pop();
        let Some(mut batch) = next else {
            return Ok(());
        };
        let order: Box<dyn Iterator<Item = (&mut Commit, &Diff)>> = if batch.oldest_first {
            Box::new(batch.commits.iter_mut().zip(&batch.diffs).rev())
        } else {
            Box::new(batch.commits.iter_mut().zip(&batch.diffs))
        };
        for (c, diff) in order {
            let files = match *diff {
                Diff::None => continue,
                Diff::Root { tree } => differ.files(&repo, tree, None)?,
                Diff::Tree { tree, parent } => differ.files(&repo, tree, Some(parent))?,
                Diff::Commit { tree, parent } => {
                    let parent = repo
                        .find_commit(parent)
                        .and_then(|p| p.tree_id())
                        .map_err(git_err)?
                        .detach();
                    differ.files(&repo, tree, Some(parent))?
                }
            };
            c.additions = Some(files.iter().map(|f| f.additions).sum());
            c.deletions = Some(files.iter().map(|f| f.deletions).sum());
            c.files = files;
        }
        progress.advance(batch.commits.len() as u64);
        sink(batch.commits)?;
    }
}

fn poisoned() -> GitImportError {
    GitImportError::Task("a diff thread panicked".to_owned())
}

/// Bytes of pack cache per diff thread: delta bases of the trees and files
/// read last, so that the next version is one delta away. Enough for the
/// working set of a large repository; `GIX_PACK_CACHE_MEMORY` (or
/// `core.deltaBaseCacheLimit`) overrides it.
const PACK_CACHE_BYTES: usize = 128 * 1024 * 1024;

fn tune_caches(repo: &mut gix::Repository) {
    repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
    let configured = std::env::var_os("GIX_PACK_CACHE_MEMORY").is_some()
        || repo
            .config_snapshot()
            .integer("core.deltaBaseCacheLimit")
            .is_some();
    if !configured {
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                PACK_CACHE_BYTES,
            ))
        });
    }
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

    /// The files changed from the tree `parent` (the empty tree for a root
    /// commit) to `tree`.
    fn files(
        &mut self,
        repo: &gix::Repository,
        tree: ObjectId,
        parent: Option<ObjectId>,
    ) -> Result<Vec<FileChange>, GitImportError> {
        let new = repo.find_tree(tree).map_err(git_err)?;
        let old = match parent {
            Some(p) => repo.find_tree(p).map_err(git_err)?,
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
