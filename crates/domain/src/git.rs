//! Commits, their graph and refs, as imported from a git repository or
//! carried by push deliveries.
//!
//! Several sources can report the same commit. `git` (a local import) is the
//! most complete: it knows every parent and the line statistics of every
//! file. A push delivery from GitHub or GitLab knows the identity and times
//! but no parents (except the head's count) and no line statistics. Storage
//! keeps a `git` row over any other and lets other sources only fill gaps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};
use crate::string_enum;

string_enum! {
    /// Where a commit record came from.
    CommitSource {
        Git => "git",
        Github => "github",
        Gitlab => "gitlab",
        Api => "api",
    }
}

/// One commit of one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Commit {
    /// The repository's full name, as a project lists it (`acme/payments`).
    pub repo: String,
    /// Lower-case hexadecimal object id (40 digits for SHA-1).
    pub sha: String,
    pub author_name: String,
    pub author_email: String,
    /// UTC, whole seconds as git records them.
    pub authored_at: DateTime<Utc>,
    /// The author's UTC offset in minutes east of UTC.
    pub author_offset: i32,
    pub committed_at: DateTime<Utc>,
    pub committer_offset: i32,
    /// The first line of the message.
    pub subject: String,
    /// Parent shas in order, when the source knows them (empty otherwise).
    pub parents: Vec<String>,
    /// How many parents the commit has; equals `parents.len()` when the
    /// parents are known. A commit with two or more is a merge.
    pub parent_count: i32,
    /// Lines added and deleted over all files; `None` when the source had no
    /// line statistics.
    pub additions: Option<i64>,
    pub deletions: Option<i64>,
    /// Files changed (against the first parent), when known.
    pub files: Vec<FileChange>,
    pub source: CommitSource,
}

/// One file changed by a commit, against its first parent (or the empty tree
/// for a root commit). Binary files count zero lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileChange {
    /// The path after the change (the new path of a rename, the old path of
    /// a deletion).
    pub path: String,
    pub additions: i64,
    pub deletions: i64,
}

/// A branch or tag and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GitRef {
    pub repo: String,
    /// The full ref name: `refs/heads/main`, `refs/tags/v1.2`.
    pub name: String,
    pub sha: String,
    pub updated_at: DateTime<Utc>,
}

impl GitRef {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if self.repo.trim().is_empty() {
            p.push("repo", "must name a repository");
        }
        if !self.name.starts_with("refs/") {
            p.push(
                "name",
                format!(
                    "{:?} is not a full ref name (refs/heads/..., refs/tags/...)",
                    self.name
                ),
            );
        }
        if !is_sha(&self.sha) {
            p.push(
                "sha",
                format!("{:?} is not a hexadecimal object id", self.sha),
            );
        }
        p.into_result()
    }
}

impl Commit {
    /// Whether the commit joins two or more lines of history.
    pub fn is_merge(&self) -> bool {
        self.parent_count >= 2
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if self.repo.trim().is_empty() {
            p.push("repo", "must name a repository");
        }
        if !is_sha(&self.sha) {
            p.push(
                "sha",
                format!("{:?} is not a hexadecimal object id", self.sha),
            );
        }
        for (i, parent) in self.parents.iter().enumerate() {
            if !is_sha(parent) {
                p.push(
                    format!("parents[{i}]"),
                    format!("{parent:?} is not a hexadecimal object id"),
                );
            }
        }
        if self.parent_count < 0 {
            p.push("parent_count", "must not be negative");
        } else if !self.parents.is_empty() && self.parents.len() != self.parent_count as usize {
            p.push(
                "parent_count",
                format!(
                    "is {} but {} parents are listed",
                    self.parent_count,
                    self.parents.len()
                ),
            );
        }
        if !self.files.is_empty() && self.additions.is_none() {
            p.push("additions", "must be given when files are listed");
        }
        if self.additions.is_some() != self.deletions.is_some() {
            p.push(
                "deletions",
                "additions and deletions are both known or both unknown",
            );
        }
        for (i, f) in self.files.iter().enumerate() {
            if f.path.is_empty() {
                p.push(format!("files[{i}].path"), "must not be empty");
            }
            if f.additions < 0 || f.deletions < 0 {
                p.push(format!("files[{i}]"), "line counts must not be negative");
            }
        }
        p.into_result()
    }
}

/// Whether `s` looks like a git object id: 4 to 64 lower-case hex digits
/// (abbreviated ids are allowed for sources that send them).
pub fn is_sha(s: &str) -> bool {
    (4..=64).contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The import cursor scope for a branch of a repository: `repo@branch`.
pub fn branch_scope(repo: &str, branch: &str) -> String {
    format!("{repo}@{branch}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn commit() -> Commit {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        Commit {
            repo: "acme/payments".into(),
            sha: "a".repeat(40),
            author_name: "Ada".into(),
            author_email: "ada@example.com".into(),
            authored_at: at,
            author_offset: 60,
            committed_at: at,
            committer_offset: -300,
            subject: "Fix it".into(),
            parents: vec!["b".repeat(40)],
            parent_count: 1,
            additions: Some(3),
            deletions: Some(1),
            files: vec![FileChange {
                path: "src/lib.rs".into(),
                additions: 3,
                deletions: 1,
            }],
            source: CommitSource::Git,
        }
    }

    #[test]
    fn a_complete_commit_is_valid() {
        assert_eq!(commit().validate(), Ok(()));
        assert!(!commit().is_merge());
    }

    #[test]
    fn problems_name_their_fields() {
        let c = Commit {
            sha: "XYZ".into(),
            parents: vec!["b".repeat(40), "nope".into()],
            parent_count: 1,
            deletions: None,
            ..commit()
        };
        let err = c.validate().unwrap_err();
        assert_eq!(
            err.fields(),
            vec!["sha", "parents[1]", "parent_count", "deletions"]
        );
    }

    #[test]
    fn unknown_parents_may_have_a_count() {
        let c = Commit {
            parents: vec![],
            parent_count: 2,
            additions: None,
            deletions: None,
            files: vec![],
            source: CommitSource::Github,
            ..commit()
        };
        assert_eq!(c.validate(), Ok(()));
        assert!(c.is_merge());
    }
}
