//! The git publisher: a working clone of the configured remote, one commit
//! per document revision (author = the revision's editor, date = when it
//! was made), pushed at the end of a pass. Uses the `git` command (gix
//! cannot push; ADR 0033).
//!
//! Idempotent by construction: every commit carries a
//! `Tandem-Document: <kind>/<id>@<revision>` trailer, and a revision whose
//! trailer is already in the branch's history is not written again; a
//! revision whose files are unchanged makes no commit either.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::process::Command;

use crate::settings::PublishGitSettings;

/// The trailer naming the document revision a commit publishes.
pub const TRAILER: &str = "Tandem-Document";

/// One document revision as files in the repository.
#[derive(Debug, Clone)]
pub struct GitDocument {
    /// `goal/<id>@<version>`: the trailer's value.
    pub key: String,
    /// Path inside the repository.
    pub path: String,
    pub content: String,
    pub author_name: String,
    pub author_email: String,
    pub at: DateTime<Utc>,
    /// The commit message's first line.
    pub subject: String,
}

/// A working clone of the remote, on the configured branch.
#[derive(Debug)]
pub struct GitRepo {
    dir: PathBuf,
    remote: String,
    branch: String,
    /// Whether the branch has a commit yet.
    born: bool,
}

async fn git(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("git {}: cannot run git: {e}", args.join(" ")))?;
    if !out.status.success() {
        anyhow::bail!(
            "git {} failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The default working clone of `remote`: a directory of the system's
/// temporary directory named after it.
pub fn default_work_dir(remote: &str) -> PathBuf {
    let h = Sha256::digest(remote.as_bytes());
    let name: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("tandem-publish-{name}"))
}

impl GitRepo {
    /// Clones the remote (first time) or fetches it, and puts the working
    /// clone on the remote branch's last commit.
    pub async fn open(s: &PublishGitSettings) -> anyhow::Result<Self> {
        let dir = s
            .work_dir
            .clone()
            .unwrap_or_else(|| default_work_dir(&s.repo));
        if !dir.join(".git").exists() {
            std::fs::create_dir_all(&dir)?;
            git(&dir, &["init", "--quiet"], &[]).await?;
            git(&dir, &["remote", "add", "origin", &s.repo], &[]).await?;
        } else {
            git(&dir, &["remote", "set-url", "origin", &s.repo], &[]).await?;
        }
        git(&dir, &["fetch", "--quiet", "origin"], &[]).await?;
        let remote_ref = format!("refs/remotes/origin/{}", s.branch);
        let born = git(
            &dir,
            &["rev-parse", "--verify", "--quiet", &remote_ref],
            &[],
        )
        .await
        .is_ok();
        if born {
            git(
                &dir,
                &["checkout", "--quiet", "-B", &s.branch, &remote_ref],
                &[],
            )
            .await?;
            git(&dir, &["reset", "--quiet", "--hard", &remote_ref], &[]).await?;
        } else {
            let head = format!("refs/heads/{}", s.branch);
            git(&dir, &["symbolic-ref", "HEAD", &head], &[]).await?;
        }
        Ok(Self {
            dir,
            remote: s.repo.clone(),
            branch: s.branch.clone(),
            born,
        })
    }

    /// The document revisions the branch already holds (their trailers).
    pub async fn published(&self) -> anyhow::Result<HashSet<String>> {
        if !self.born {
            return Ok(HashSet::new());
        }
        let fmt = format!("--format=%(trailers:key={TRAILER},valueonly)");
        let out = git(&self.dir, &["log", &fmt], &[]).await?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Writes `doc` and commits it; the new commit, or `None` when its
    /// file already held this content (no commit).
    pub async fn commit(&mut self, doc: &GitDocument) -> anyhow::Result<Option<String>> {
        let file = self.dir.join(&doc.path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, &doc.content)?;
        git(&self.dir, &["add", "--", &doc.path], &[]).await?;
        let unchanged = git(&self.dir, &["diff", "--cached", "--quiet"], &[])
            .await
            .is_ok();
        if unchanged {
            return Ok(None);
        }
        let message = format!("{}\n\n{TRAILER}: {}\n", doc.subject, doc.key);
        let date = doc.at.to_rfc3339();
        git(
            &self.dir,
            &[
                "-c",
                "commit.gpgsign=false",
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                &message,
            ],
            &[
                ("GIT_AUTHOR_NAME", &doc.author_name),
                ("GIT_AUTHOR_EMAIL", &doc.author_email),
                ("GIT_AUTHOR_DATE", &date),
                ("GIT_COMMITTER_NAME", "Tandem"),
                ("GIT_COMMITTER_EMAIL", "tandem@localhost"),
            ],
        )
        .await?;
        self.born = true;
        let sha = git(&self.dir, &["rev-parse", "HEAD"], &[]).await?;
        Ok(Some(sha.trim().to_owned()))
    }

    /// Pushes the branch to the remote.
    pub async fn push(&self) -> anyhow::Result<()> {
        if !self.born {
            return Ok(());
        }
        let refspec = format!("HEAD:refs/heads/{}", self.branch);
        git(&self.dir, &["push", "--quiet", "origin", &refspec], &[])
            .await
            .map_err(|e| anyhow::anyhow!("pushing to {}: {e}", self.remote))?;
        Ok(())
    }
}
