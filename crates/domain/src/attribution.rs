//! Which commits a deployment shipped: the attribution rules of
//! `docs/metrics.md`, as pure code over the commit graph and pull requests
//! the store loads.
//!
//! Rules, in order:
//! 1. A deployment flagged as a rollback ships nothing new (and marks the
//!    deployment before it as rolled back).
//! 2. Commits the deployment lists itself (`commits` of the events API) are
//!    what it shipped: an explicit override of the rules below.
//! 3. With the deployed sha in the commit graph: the commits reachable from it
//!    and not from the previous successful deployment of the same service to
//!    the same environment. Without a previous deployment, only commits
//!    authored within the look-back before this one count. Deploying an
//!    ancestor of the previous sha is a rollback; a deployment whose new
//!    commits are all `Revert "…"` commits is a revert: both ship nothing.
//!    Merge commits are not changes and are left out; a squash or rebase
//!    merge commit of a pull request is replaced by the pull request's own
//!    commits, with their authored times. A service scoped to path prefixes
//!    keeps the commits that touched one of them.
//! 4. Without the deployed sha in the graph: the commits push deliveries
//!    brought in between the previous deployment and this one; without
//!    those, a deployment naming its repository and sha waits for the
//!    history (a git import, a pull request, a push) and is attributed when
//!    it arrives. Every fallback is written into the notes: nothing is
//!    guessed silently.

use std::collections::{BinaryHeap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::string_enum;

/// How far behind a commit's committer time may run relative to its
/// descendants' before the graph walk stops looking (clock skew).
const SKEW: Duration = Duration::days(1);

/// The first deployment of a service counts commits authored this long
/// before it, unless configured otherwise.
pub const DEFAULT_FIRST_LOOKBACK_DAYS: i64 = 30;

/// One commit as the graph walk needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitNode {
    pub authored_at: DateTime<Utc>,
    pub committed_at: DateTime<Utc>,
    /// Parent shas in order; fewer than `parent_count` when the source did
    /// not carry them (push deliveries).
    pub parents: Vec<String>,
    pub parent_count: usize,
    pub subject: String,
    /// Paths the commit changed; `None` when the source had no file list.
    pub files: Option<Vec<String>>,
}

impl CommitNode {
    fn parents_known(&self) -> bool {
        self.parents.len() >= self.parent_count
    }
}

/// A pull request as attribution needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequestNode {
    pub number: i64,
    pub merge_commit_sha: Option<String>,
    /// The pull request's own commits (sha, authored time), as the provider
    /// listed them.
    pub commits: Vec<(String, DateTime<Utc>)>,
}

/// What Tandem knows of one repository's history.
#[derive(Debug, Clone, Default)]
pub struct RepoGraph {
    commits: HashMap<String, CommitNode>,
    prs: Vec<PullRequestNode>,
    pr_by_merge: HashMap<String, usize>,
    pr_of_commit: HashMap<String, i64>,
}

impl RepoGraph {
    pub fn new(commits: HashMap<String, CommitNode>, prs: Vec<PullRequestNode>) -> RepoGraph {
        let mut pr_by_merge = HashMap::new();
        let mut pr_of_commit = HashMap::new();
        for (i, pr) in prs.iter().enumerate() {
            if let Some(m) = &pr.merge_commit_sha {
                pr_by_merge.insert(m.clone(), i);
            }
            for (sha, _) in &pr.commits {
                pr_of_commit.entry(sha.clone()).or_insert(pr.number);
            }
        }
        RepoGraph {
            commits,
            prs,
            pr_by_merge,
            pr_of_commit,
        }
    }

    pub fn commit(&self, sha: &str) -> Option<&CommitNode> {
        self.commits.get(sha)
    }

    fn authored_at(&self, sha: &str) -> Option<DateTime<Utc>> {
        if let Some(c) = self.commits.get(sha) {
            return Some(c.authored_at);
        }
        self.prs
            .iter()
            .flat_map(|p| p.commits.iter())
            .find(|(s, _)| s == sha)
            .map(|(_, at)| *at)
    }

    /// True when `sha` is in the graph with all its parents.
    fn knows(&self, sha: &str) -> bool {
        self.commits.get(sha).is_some_and(CommitNode::parents_known)
    }
}

pub use crate::engineering::CommitRef;

/// The deployment being attributed.
#[derive(Debug, Clone)]
pub struct DeploymentInput {
    pub service: String,
    pub environment: String,
    pub repo: Option<String>,
    pub sha: Option<String>,
    pub is_rollback: bool,
    pub explicit_commits: Vec<CommitRef>,
    pub finished_at: DateTime<Utc>,
}

/// The previous successful deployment of the same service to the same
/// environment.
#[derive(Debug, Clone)]
pub struct PreviousDeployment {
    pub external_id: String,
    pub repo: Option<String>,
    pub sha: Option<String>,
    pub finished_at: DateTime<Utc>,
}

/// Configurable parts of the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// The first deployment of a service counts commits authored this long
    /// before it.
    pub first_lookback: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            first_lookback: Duration::days(DEFAULT_FIRST_LOOKBACK_DAYS),
        }
    }
}

string_enum! {
    /// How a deployment's shipped commits were found.
    Method {
        /// Walked the commit graph from the deployed sha.
        Graph => "graph",
        /// The commits the deployment itself listed (an explicit override).
        Explicit => "explicit",
        /// Commits from push deliveries between the previous deployment and
        /// this one (no graph, no list).
        Push => "push",
        /// A rollback: ships nothing new.
        Rollback => "rollback",
        /// Only revert commits: ships nothing new.
        Revert => "revert",
        /// Names its repository and sha, which the imported history does
        /// not have yet: attributed when the history arrives.
        Waiting => "waiting",
        /// Nothing known about the deployed code (no sha, no commits).
        Unknown => "unknown",
    }
}

impl Method {
    /// The attribution path in words, as `explain` shows it.
    pub fn path(self) -> &'static str {
        match self {
            Method::Graph => "graph walk from the deployed commit",
            Method::Explicit => "listed commits",
            Method::Push => "push deliveries",
            Method::Rollback => "rollback: nothing new",
            Method::Revert => "revert: nothing new",
            Method::Waiting => "waiting for history",
            Method::Unknown => "nothing known",
        }
    }
}

string_enum! {
    /// Where one shipped commit's record came from.
    Via {
        Graph => "graph",
        PullRequest => "pull_request",
        Explicit => "explicit",
        Push => "push",
    }
}

/// One commit a deployment shipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shipped {
    pub repo: String,
    pub sha: String,
    pub authored_at: DateTime<Utc>,
    pub pr_number: Option<i64>,
    pub via: Via,
}

/// The outcome for one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub method: Method,
    /// In graph order (newest first) for the graph, else as listed.
    pub commits: Vec<Shipped>,
    /// Every fallback, exclusion and incompleteness, in words.
    pub notes: Vec<String>,
    /// This deployment undoes the previous one (rollback or revert).
    pub rolls_back_previous: bool,
}

impl Attribution {
    fn nothing(method: Method, note: String) -> Attribution {
        Attribution {
            method,
            commits: Vec::new(),
            notes: vec![note],
            rolls_back_previous: matches!(method, Method::Rollback | Method::Revert),
        }
    }
}

fn short(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}

/// True when a path is under one of the prefixes (no prefixes: the whole
/// repository).
pub fn in_scope(path: &str, prefixes: &[String]) -> bool {
    prefixes.is_empty() || prefixes.iter().any(|p| path.starts_with(p.as_str()))
}

/// Attributes one deployment. `graphs` holds the repositories the
/// deployment and its explicit commits name; `scope` the service's path
/// prefixes in its repository (empty: the whole repository).
pub fn attribute(
    dep: &DeploymentInput,
    previous: Option<&PreviousDeployment>,
    scope: &[String],
    graphs: &HashMap<String, RepoGraph>,
    rules: &Rules,
) -> Attribution {
    if dep.is_rollback {
        return Attribution::nothing(
            Method::Rollback,
            "rollback deployment: ships nothing new; the deployment before it counts as failed"
                .to_owned(),
        );
    }
    if !dep.explicit_commits.is_empty() {
        let why = match (&dep.repo, &dep.sha) {
            (Some(repo), Some(sha)) => format!(
                "the deployment of {repo}@{} lists its commits (an explicit override: the graph is not walked)",
                short(sha)
            ),
            _ => "the deployment names no repository and sha".to_owned(),
        };
        return explicit(dep, graphs, why);
    }
    if let (Some(repo), Some(sha)) = (&dep.repo, &dep.sha)
        && let Some(graph) = graphs.get(repo)
        && graph.knows(sha)
    {
        return by_graph(dep, repo, sha, graph, previous, scope, rules);
    }
    let missing = match (&dep.repo, &dep.sha) {
        (Some(repo), Some(sha)) => format!(
            "the commit graph of {repo} does not have {} with its parents (no git import)",
            short(sha)
        ),
        _ => "the deployment names no repository and sha".to_owned(),
    };
    if let Some(repo) = &dep.repo
        && let Some(graph) = graphs.get(repo)
    {
        let pushed = by_push(dep, repo, graph, previous, scope, rules, &missing);
        if !pushed.commits.is_empty() {
            return pushed;
        }
    }
    if let (Some(repo), Some(sha)) = (&dep.repo, &dep.sha) {
        return Attribution::nothing(
            Method::Waiting,
            format!(
                "waiting for history: {repo} has no commit {} with its parents yet; the deployment \
                 is attributed when a git import (`tandem import git`), a pull request or a push \
                 brings it",
                short(sha)
            ),
        );
    }
    Attribution::nothing(
        Method::Unknown,
        format!("{missing}, it lists no commits and no push delivery covers it: no lead time"),
    )
}

fn explicit(
    dep: &DeploymentInput,
    graphs: &HashMap<String, RepoGraph>,
    why: String,
) -> Attribution {
    let mut notes = vec![format!(
        "{why}: shipped commits are the ones the deployment listed"
    )];
    let mut commits = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = HashSet::new();
    for c in &dep.explicit_commits {
        if !seen.insert(c) {
            continue;
        }
        let graph = graphs.get(&c.repo);
        match graph.and_then(|g| g.authored_at(&c.sha)) {
            Some(authored_at) => commits.push(Shipped {
                repo: c.repo.clone(),
                sha: c.sha.clone(),
                authored_at,
                pr_number: graph.and_then(|g| g.pr_of_commit.get(&c.sha).copied()),
                via: Via::Explicit,
            }),
            None => unknown.push(format!("{}@{}", c.repo, short(&c.sha))),
        }
    }
    if !unknown.is_empty() {
        notes.push(format!(
            "{} listed commit(s) have no known authored time and are left out: {}",
            unknown.len(),
            unknown.join(", ")
        ));
    }
    let _ = dep;
    Attribution {
        method: Method::Explicit,
        commits,
        notes,
        rolls_back_previous: false,
    }
}

/// Commits from push deliveries committed after the previous deployment
/// finished (or within the look-back) and no later than the deployed commit
/// (or the deployment's end).
fn by_push(
    dep: &DeploymentInput,
    repo: &str,
    graph: &RepoGraph,
    previous: Option<&PreviousDeployment>,
    scope: &[String],
    rules: &Rules,
    missing: &str,
) -> Attribution {
    let lower = match previous {
        Some(p) => p.finished_at,
        None => dep.finished_at - rules.first_lookback,
    };
    let upper = dep
        .sha
        .as_deref()
        .and_then(|s| graph.commit(s))
        .map_or(dep.finished_at, |c| c.committed_at.min(dep.finished_at));
    let mut shas: Vec<(&String, &CommitNode)> = graph
        .commits
        .iter()
        .filter(|(_, c)| c.committed_at > lower && c.committed_at <= upper)
        .filter(|(_, c)| c.parent_count < 2)
        .collect();
    shas.sort_by(|a, b| b.1.committed_at.cmp(&a.1.committed_at).then(a.0.cmp(b.0)));
    let mut notes = vec![format!(
        "{missing}: shipped commits are those push deliveries brought in, committed after {} and up to {}",
        lower.to_rfc3339(),
        upper.to_rfc3339()
    )];
    let (kept, unscoped) = scoped(shas.iter().map(|(s, _)| s.as_str()), graph, scope);
    if unscoped > 0 {
        notes.push(unscoped_note(unscoped));
    }
    let commits = substitute_prs(repo, &kept, graph, Via::Push, &mut notes);
    Attribution {
        method: Method::Push,
        commits,
        notes,
        rolls_back_previous: false,
    }
}

fn unscoped_note(n: usize) -> String {
    format!(
        "{n} commit(s) have no file list, so the service's path scope could not be checked: they are counted"
    )
}

/// Keeps the commits that touched the scope; commits without a file list are
/// kept and counted.
fn scoped<'a>(
    shas: impl Iterator<Item = &'a str>,
    graph: &RepoGraph,
    scope: &[String],
) -> (Vec<&'a str>, usize) {
    let mut unscoped = 0;
    let kept = shas
        .filter(|sha| {
            if scope.is_empty() {
                return true;
            }
            match graph.commit(sha).and_then(|c| c.files.as_ref()) {
                Some(files) => files.iter().any(|f| in_scope(f, scope)),
                None => {
                    unscoped += 1;
                    true
                }
            }
        })
        .collect();
    (kept, unscoped)
}

#[allow(clippy::too_many_arguments)]
fn by_graph(
    dep: &DeploymentInput,
    repo: &str,
    sha: &str,
    graph: &RepoGraph,
    previous: Option<&PreviousDeployment>,
    scope: &[String],
    rules: &Rules,
) -> Attribution {
    let mut notes = Vec::new();
    let mut floor = None;
    let mut committed_after = None;
    let mut stop = None;
    match previous {
        None => {
            let cutoff = dep.finished_at - rules.first_lookback;
            floor = Some(cutoff);
            notes.push(format!(
                "first deployment of {} to {}: only commits authored since {} ({} days before it) count",
                dep.service,
                dep.environment,
                cutoff.to_rfc3339(),
                rules.first_lookback.num_days()
            ));
        }
        Some(p) => match (&p.repo, &p.sha) {
            (Some(prepo), Some(psha)) if prepo == repo && psha == sha => {
                return Attribution::nothing(
                    Method::Graph,
                    format!(
                        "deploys {} again, as the previous deployment {} did: nothing new",
                        short(sha),
                        p.external_id
                    ),
                );
            }
            (Some(prepo), Some(psha)) if prepo == repo && graph.commit(psha).is_some() => {
                stop = Some(psha.as_str());
            }
            _ => {
                committed_after = Some(p.finished_at);
                notes.push(format!(
                    "the previous deployment {} names no commit in this repository's graph: commits \
                     committed after it finished ({}) count",
                    p.external_id,
                    p.finished_at.to_rfc3339()
                ));
            }
        },
    }
    let walk = walk(graph, sha, stop, floor.or(committed_after));
    if walk.start_reachable_from_stop {
        let p = previous.map_or("", |p| p.external_id.as_str());
        return Attribution::nothing(
            Method::Rollback,
            format!(
                "{} is already in the previous deployment {p}: redeploying older code is a rollback and ships nothing new",
                short(sha)
            ),
        );
    }
    if !walk.incomplete.is_empty() {
        notes.push(format!(
            "the commit graph is incomplete below {}: older commits of this deployment may be missing",
            walk.incomplete
                .iter()
                .map(|s| short(s))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut merges = 0;
    let mut candidates = Vec::new();
    for s in &walk.reached {
        let c = &graph.commits[s.as_str()];
        if let Some(f) = floor
            && c.authored_at < f
        {
            continue;
        }
        if let Some(after) = committed_after
            && c.committed_at <= after
        {
            continue;
        }
        if c.parent_count >= 2 && !graph.pr_by_merge.contains_key(s.as_str()) {
            merges += 1;
            continue;
        }
        candidates.push(s.as_str());
    }
    if merges > 0 {
        notes.push(format!(
            "{merges} merge commit(s) left out: a merge is not a change of its own"
        ));
    }
    let (kept, unscoped) = scoped(candidates.into_iter(), graph, scope);
    if !scope.is_empty() {
        notes.push(format!(
            "scoped to paths {}: commits touching nothing there are left out",
            scope.join(", ")
        ));
    }
    if unscoped > 0 {
        notes.push(unscoped_note(unscoped));
    }
    if !kept.is_empty()
        && kept
            .iter()
            .all(|s| graph.commits[*s].subject.starts_with("Revert \""))
    {
        return Attribution::nothing(
            Method::Revert,
            format!(
                "ships only revert commits ({}): a revert ships nothing new; the deployment before it counts as failed",
                kept.iter().map(|s| short(s)).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let commits = substitute_prs(repo, &kept, graph, Via::Graph, &mut notes);
    Attribution {
        method: Method::Graph,
        commits,
        notes,
        rolls_back_previous: false,
    }
}

/// Replaces each squash or rebase merge commit of a pull request by the pull
/// request's own commits (and drops the rebased copies of those commits on
/// the first-parent line); tags the rest with their pull request.
fn substitute_prs(
    repo: &str,
    kept: &[&str],
    graph: &RepoGraph,
    via: Via,
    notes: &mut Vec<String>,
) -> Vec<Shipped> {
    let kept_set: HashSet<&str> = kept.iter().copied().collect();
    let mut dropped: HashSet<&str> = HashSet::new();
    let mut originals: Vec<Shipped> = Vec::new();
    for &s in kept {
        let Some(&i) = graph.pr_by_merge.get(s) else {
            continue;
        };
        let pr = &graph.prs[i];
        let c = &graph.commits[s];
        if c.parent_count >= 2 {
            // A true merge: the pull request's commits are in the graph
            // under their own shas; the merge itself is not a change.
            dropped.insert(s);
            continue;
        }
        if pr.commits.is_empty() {
            notes.push(format!(
                "pull request #{} was squashed or rebased into {} but its own commits are unknown: \
                 the merged commit's authored time is used",
                pr.number,
                short(s)
            ));
            continue;
        }
        dropped.insert(s);
        // Rebased copies keep their authored times exactly.
        let mut times: Vec<DateTime<Utc>> = pr.commits.iter().map(|(_, at)| *at).collect();
        let mut cursor = c.parents.first().map(String::as_str);
        for _ in 1..pr.commits.len() {
            let Some(a) = cursor else { break };
            if !kept_set.contains(a) {
                break;
            }
            let Some(node) = graph.commits.get(a) else {
                break;
            };
            if let Some(pos) = times.iter().position(|t| *t == node.authored_at) {
                times.swap_remove(pos);
                dropped.insert(a);
            }
            cursor = node.parents.first().map(String::as_str);
        }
        for (sha, at) in &pr.commits {
            originals.push(Shipped {
                repo: repo.to_owned(),
                sha: sha.clone(),
                authored_at: *at,
                pr_number: Some(pr.number),
                via: Via::PullRequest,
            });
        }
        notes.push(format!(
            "pull request #{} merged as {}: its {} own commit(s) count with their authored times",
            pr.number,
            short(s),
            pr.commits.len()
        ));
    }
    let mut out: Vec<Shipped> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for &s in kept {
        if dropped.contains(s) {
            continue;
        }
        if seen.insert(s.to_owned()) {
            out.push(Shipped {
                repo: repo.to_owned(),
                sha: s.to_owned(),
                authored_at: graph.commits[s].authored_at,
                pr_number: graph.pr_of_commit.get(s).copied(),
                via,
            });
        }
    }
    for o in originals {
        if seen.insert(o.sha.clone()) {
            out.push(o);
        }
    }
    out
}

#[derive(Debug, Default)]
struct Walk {
    /// Reachable from the start and not from the stop, newest first.
    reached: Vec<String>,
    /// Commits on the start side whose parents are not in the graph.
    incomplete: Vec<String>,
    start_reachable_from_stop: bool,
}

const FROM_START: u8 = 1;
const FROM_STOP: u8 = 2;

/// Walks back from `start` in committer-time order, painting what `stop`
/// reaches, as `git log stop..start` does; stops once nothing start-only is
/// left to explore (allowing `SKEW` of clock skew). With `floor`, commits
/// committed before it are not explored further.
fn walk(graph: &RepoGraph, start: &str, stop: Option<&str>, floor: Option<DateTime<Utc>>) -> Walk {
    let mut flags: HashMap<&str, u8> = HashMap::new();
    let mut heap: BinaryHeap<(DateTime<Utc>, &str)> = BinaryHeap::new();
    let mut start_only_queued: HashSet<&str> = HashSet::new();
    let mut incomplete = Vec::new();
    let mut lowest_start_only: Option<DateTime<Utc>> = None;

    let (start_key, start_node) = graph.commits.get_key_value(start).expect("start is known");
    flags.insert(start_key.as_str(), FROM_START);
    heap.push((start_node.committed_at, start_key.as_str()));
    start_only_queued.insert(start_key.as_str());
    if let Some(s) = stop
        && let Some((k, n)) = graph.commits.get_key_value(s)
    {
        let f = flags.entry(k.as_str()).or_insert(0);
        *f |= FROM_STOP;
        if *f == FROM_STOP {
            heap.push((n.committed_at, k.as_str()));
        } else {
            start_only_queued.remove(k.as_str());
        }
    }
    let mut expanded: HashMap<&str, u8> = HashMap::new();
    while let Some((at, sha)) = heap.pop() {
        if start_only_queued.is_empty() {
            // Only stop-side commits are left: keep painting a little below
            // the lowest start-only commit, in case of clock skew.
            match lowest_start_only {
                Some(low) if at >= low - SKEW => {}
                _ => break,
            }
        }
        let f = flags[sha];
        start_only_queued.remove(sha);
        if expanded.get(sha).is_some_and(|e| *e == f) {
            continue;
        }
        expanded.insert(sha, f);
        if f == FROM_START {
            lowest_start_only = Some(lowest_start_only.map_or(at, |l| l.min(at)));
        }
        let node = &graph.commits[sha];
        if let Some(fl) = floor
            && node.committed_at < fl
        {
            continue;
        }
        if !node.parents_known() {
            if f == FROM_START {
                incomplete.push(sha.to_owned());
            }
            continue;
        }
        for p in &node.parents {
            let Some((pk, pn)) = graph.commits.get_key_value(p) else {
                if f == FROM_START {
                    incomplete.push(sha.to_owned());
                }
                continue;
            };
            let old = flags.get(pk.as_str()).copied().unwrap_or(0);
            let new = old | f;
            if new != old {
                flags.insert(pk.as_str(), new);
                heap.push((pn.committed_at, pk.as_str()));
                if new == FROM_START {
                    start_only_queued.insert(pk.as_str());
                } else {
                    start_only_queued.remove(pk.as_str());
                }
            }
        }
    }
    let mut reached: Vec<(&DateTime<Utc>, &str)> = flags
        .iter()
        .filter(|(_, f)| **f == FROM_START)
        .map(|(s, _)| (&graph.commits[*s].committed_at, *s))
        .collect();
    reached.sort_by(|a, b| b.0.cmp(a.0).then(a.1.cmp(b.1)));
    incomplete.sort();
    incomplete.dedup();
    Walk {
        reached: reached.into_iter().map(|(_, s)| s.to_owned()).collect(),
        incomplete,
        start_reachable_from_stop: flags.get(start).copied() != Some(FROM_START),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(hours: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap() + Duration::hours(hours)
    }

    struct G {
        commits: HashMap<String, CommitNode>,
        prs: Vec<PullRequestNode>,
    }

    impl G {
        fn new() -> G {
            G {
                commits: HashMap::new(),
                prs: Vec::new(),
            }
        }
        fn c(&mut self, sha: &str, parents: &[&str], authored: i64, committed: i64) -> &mut G {
            self.file(sha, parents, authored, committed, None, "change")
        }
        fn file(
            &mut self,
            sha: &str,
            parents: &[&str],
            authored: i64,
            committed: i64,
            files: Option<&[&str]>,
            subject: &str,
        ) -> &mut G {
            self.commits.insert(
                sha.to_owned(),
                CommitNode {
                    authored_at: t(authored),
                    committed_at: t(committed),
                    parents: parents.iter().map(|p| (*p).to_owned()).collect(),
                    parent_count: parents.len(),
                    subject: subject.to_owned(),
                    files: files.map(|f| f.iter().map(|p| (*p).to_owned()).collect()),
                },
            );
            self
        }
        fn graphs(&self) -> HashMap<String, RepoGraph> {
            HashMap::from([(
                "acme/app".to_owned(),
                RepoGraph::new(self.commits.clone(), self.prs.clone()),
            )])
        }
    }

    fn dep(sha: &str, finished: i64) -> DeploymentInput {
        DeploymentInput {
            service: "app".into(),
            environment: "production".into(),
            repo: Some("acme/app".into()),
            sha: Some(sha.into()),
            is_rollback: false,
            explicit_commits: Vec::new(),
            finished_at: t(finished),
        }
    }

    fn prev(sha: &str, finished: i64) -> PreviousDeployment {
        PreviousDeployment {
            external_id: format!("d-{sha}"),
            repo: Some("acme/app".into()),
            sha: Some(sha.into()),
            finished_at: t(finished),
        }
    }

    fn shas(a: &Attribution) -> Vec<&str> {
        let mut v: Vec<&str> = a.commits.iter().map(|c| c.sha.as_str()).collect();
        v.sort();
        v
    }

    /// a ← b ← c ← m(merge of c and f) ; e ← f branch off b.
    fn history() -> G {
        let mut g = G::new();
        g.c("a", &[], 0, 0)
            .c("b", &["a"], 1, 1)
            .c("c", &["b"], 2, 2)
            .c("e", &["b"], 3, 3)
            .c("f", &["e"], 4, 4)
            .c("m", &["c", "f"], 5, 5);
        g
    }

    #[test]
    fn ships_what_the_previous_deployment_did_not() {
        let g = history();
        let a = attribute(
            &dep("m", 6),
            Some(&prev("b", 1)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(a.method, Method::Graph);
        // c, e, f are new; m is a merge (left out); a and b were shipped.
        assert_eq!(shas(&a), ["c", "e", "f"]);
        assert!(a.notes.iter().any(|n| n.contains("1 merge commit")));
    }

    #[test]
    fn first_deployment_counts_only_the_look_back() {
        let g = history();
        let rules = Rules {
            first_lookback: Duration::hours(4),
        };
        // Deployed at hour 6: commits authored since hour 2 count (c, e, f).
        let a = attribute(&dep("m", 6), None, &[], &g.graphs(), &rules);
        assert_eq!(shas(&a), ["c", "e", "f"]);
        assert!(a.notes[0].starts_with("first deployment of app to production"));
    }

    #[test]
    fn redeploying_an_ancestor_is_a_rollback() {
        let g = history();
        let a = attribute(
            &dep("c", 7),
            Some(&prev("m", 6)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(a.method, Method::Rollback);
        assert!(a.commits.is_empty());
        assert!(a.rolls_back_previous);
    }

    #[test]
    fn flagged_rollbacks_ship_nothing() {
        let g = history();
        let mut d = dep("m", 6);
        d.is_rollback = true;
        let a = attribute(&d, Some(&prev("b", 1)), &[], &g.graphs(), &Rules::default());
        assert_eq!(a.method, Method::Rollback);
        assert!(a.commits.is_empty() && a.rolls_back_previous);
    }

    #[test]
    fn squash_merges_count_the_pull_requests_own_commits() {
        let mut g = G::new();
        g.c("a", &[], 0, 0).c("s", &["a"], 30, 30);
        g.prs.push(PullRequestNode {
            number: 7,
            merge_commit_sha: Some("s".into()),
            commits: vec![("p1".into(), t(10)), ("p2".into(), t(20))],
        });
        let a = attribute(
            &dep("s", 40),
            Some(&prev("a", 1)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(shas(&a), ["p1", "p2"]);
        assert!(
            a.commits
                .iter()
                .all(|c| c.pr_number == Some(7) && c.via == Via::PullRequest)
        );
        assert_eq!(a.commits.iter().map(|c| c.authored_at).min(), Some(t(10)));
    }

    #[test]
    fn rebase_merges_drop_the_rebased_copies() {
        let mut g = G::new();
        // p1, p2 rebased onto a as r1, r2 (same authored times, new commit times).
        g.c("a", &[], 0, 0)
            .c("r1", &["a"], 10, 30)
            .c("r2", &["r1"], 20, 30);
        g.prs.push(PullRequestNode {
            number: 8,
            merge_commit_sha: Some("r2".into()),
            commits: vec![("p1".into(), t(10)), ("p2".into(), t(20))],
        });
        let a = attribute(
            &dep("r2", 40),
            Some(&prev("a", 1)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(shas(&a), ["p1", "p2"]);
    }

    #[test]
    fn revert_only_deployments_ship_nothing() {
        let mut g = G::new();
        g.c("a", &[], 0, 0)
            .file("r", &["a"], 5, 5, None, "Revert \"add a thing\"");
        let a = attribute(
            &dep("r", 6),
            Some(&prev("a", 1)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(a.method, Method::Revert);
        assert!(a.rolls_back_previous && a.commits.is_empty());
    }

    #[test]
    fn path_scopes_keep_the_services_commits() {
        let mut g = G::new();
        g.c("a", &[], 0, 0)
            .file("x", &["a"], 1, 1, Some(&["services/api/main.rs"]), "api")
            .file("y", &["x"], 2, 2, Some(&["services/web/index.ts"]), "web")
            .file("z", &["y"], 3, 3, None, "pushed");
        let scope = vec!["services/api/".to_owned()];
        let a = attribute(
            &dep("z", 4),
            Some(&prev("a", 0)),
            &scope,
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(shas(&a), ["x", "z"]);
        assert!(a.notes.iter().any(|n| n.contains("no file list")));
    }

    #[test]
    fn without_the_graph_the_listed_commits_count_and_the_notes_say_so() {
        let mut g = G::new();
        g.c("k", &[], 3, 3);
        let mut d = dep("unknown-sha", 10);
        d.explicit_commits = vec![
            CommitRef {
                repo: "acme/app".into(),
                sha: "k".into(),
            },
            CommitRef {
                repo: "acme/app".into(),
                sha: "nope".into(),
            },
        ];
        let a = attribute(&d, None, &[], &g.graphs(), &Rules::default());
        assert_eq!(a.method, Method::Explicit);
        assert_eq!(shas(&a), ["k"]);
        assert!(a.notes[0].contains("acme/app@unknown-sh lists its commits"));
        assert!(a.notes[1].contains("1 listed commit(s) have no known authored time"));
    }

    #[test]
    fn listed_commits_override_the_graph() {
        let g = history();
        let mut d = dep("m", 6);
        d.explicit_commits = vec![CommitRef {
            repo: "acme/app".into(),
            sha: "e".into(),
        }];
        let a = attribute(&d, Some(&prev("b", 1)), &[], &g.graphs(), &Rules::default());
        assert_eq!(a.method, Method::Explicit);
        assert_eq!(shas(&a), ["e"]);
        assert!(a.notes[0].contains("explicit override"), "{:?}", a.notes);
    }

    #[test]
    fn push_deliveries_are_the_last_fallback() {
        let mut g = G::new();
        // Pushed commits: no parents stored.
        for (sha, at) in [("p0", 1), ("p1", 3), ("p2", 5), ("p3", 9)] {
            g.commits.insert(
                sha.into(),
                CommitNode {
                    authored_at: t(at),
                    committed_at: t(at),
                    parents: Vec::new(),
                    parent_count: 1,
                    subject: "x".into(),
                    files: None,
                },
            );
        }
        // Previous deployment finished at 2, this one deploys p2 at 7.
        let a = attribute(
            &dep("p2", 7),
            Some(&prev("p0", 2)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(a.method, Method::Push);
        assert_eq!(shas(&a), ["p1", "p2"]);
        assert!(a.notes[0].contains("push deliveries"));
    }

    #[test]
    fn a_sha_not_in_the_history_waits_for_it() {
        let g = G::new();
        let a = attribute(&dep("zzz", 7), None, &[], &g.graphs(), &Rules::default());
        assert_eq!(a.method, Method::Waiting);
        assert!(a.commits.is_empty() && !a.rolls_back_previous);
        assert!(a.notes[0].starts_with("waiting for history: acme/app has no commit zzz"));
        // Once the history has it, the same deployment is walked.
        let a = attribute(
            &dep("m", 7),
            Some(&prev("b", 1)),
            &[],
            &history().graphs(),
            &Rules::default(),
        );
        assert_eq!(a.method, Method::Graph);
    }

    #[test]
    fn nothing_known_is_said() {
        let g = G::new();
        let mut d = dep("zzz", 7);
        d.repo = None;
        d.sha = None;
        let a = attribute(&d, None, &[], &g.graphs(), &Rules::default());
        assert_eq!(a.method, Method::Unknown);
        assert!(a.commits.is_empty());
        assert!(a.notes[0].contains("names no repository and sha"));
    }

    #[test]
    fn same_sha_again_ships_nothing() {
        let g = history();
        let a = attribute(
            &dep("m", 8),
            Some(&prev("m", 6)),
            &[],
            &g.graphs(),
            &Rules::default(),
        );
        assert_eq!(a.method, Method::Graph);
        assert!(a.commits.is_empty());
        assert!(!a.rolls_back_previous);
    }
}
