use chrono::{DateTime, TimeZone, Utc};
use tandem_domain::git::{Commit, CommitSource, FileChange, GitRef};
use tandem_store::{EngineKind, StoreError};
use tandem_testkit::{fresh_store, per_engine};

use crate::common::*;

per_engine!(
    commits_bulk_upsert_is_idempotent,
    commits_git_rows_win_over_push_rows,
    commits_invalid_input_names_the_field,
    refs_and_import_cursors
);

const REPO: &str = "acme/payments";

/// A deterministic 40-digit sha for `n`.
fn sha(n: u32) -> String {
    format!("{n:040x}")
}

fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + seconds, 0).unwrap()
}

/// Commit `n` from a git import: child of `n - 1`, two files.
fn git_commit(n: u32) -> Commit {
    let parents = if n == 0 { vec![] } else { vec![sha(n - 1)] };
    Commit {
        repo: REPO.to_owned(),
        sha: sha(n),
        author_name: "Ada Lovelace".to_owned(),
        author_email: "ada@example.com".to_owned(),
        authored_at: time(i64::from(n) * 60),
        author_offset: 60,
        committed_at: time(i64::from(n) * 60 + 5),
        committer_offset: -330,
        subject: format!("Change {n} — ünïcødé"),
        parent_count: i32::try_from(parents.len()).unwrap(),
        parents,
        additions: Some(7),
        deletions: Some(2),
        files: vec![
            FileChange {
                path: format!("src/{n}.rs"),
                additions: 5,
                deletions: 0,
            },
            FileChange {
                path: "README.md".to_owned(),
                additions: 2,
                deletions: 2,
            },
        ],
        source: CommitSource::Git,
    }
}

/// The same commit as a GitHub push delivery reports it: no parents, no
/// line statistics, no files.
fn pushed(n: u32) -> Commit {
    Commit {
        parents: vec![],
        parent_count: 1,
        additions: None,
        deletions: None,
        files: vec![],
        subject: format!("Change {n} (from push)"),
        source: CommitSource::Github,
        ..git_commit(n)
    }
}

async fn commits_bulk_upsert_is_idempotent(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    assert_eq!(
        store.upsert_commits(&[]).await.unwrap(),
        Vec::<String>::new()
    );

    // More than two batches, with a merge commit among them.
    let n = 1_203;
    let mut commits: Vec<Commit> = (0..n).map(git_commit).collect();
    commits[700].parents.push(sha(3));
    commits[700].parent_count = 2;
    let new = store.upsert_commits(&commits).await.unwrap();
    assert_eq!(new, (0..n).map(sha).collect::<Vec<_>>());
    assert_eq!(store.count_commits(REPO).await.unwrap(), i64::from(n));
    assert_eq!(store.count_commits("acme/other").await.unwrap(), 0);

    // Read back exactly.
    for i in [0usize, 1, 700, 1_202] {
        let got = store
            .get_commit(REPO, &sha(i as u32))
            .await
            .unwrap()
            .unwrap();
        let mut want = commits[i].clone();
        want.files.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(got, want);
    }
    assert!(store.get_commit(REPO, &sha(n)).await.unwrap().is_none());
    assert!(
        store
            .get_commit("acme/other", &sha(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_commit(REPO, &sha(700))
            .await
            .unwrap()
            .unwrap()
            .is_merge()
    );

    // A replay stores and reports nothing.
    assert!(store.upsert_commits(&commits).await.unwrap().is_empty());
    assert_eq!(store.count_commits(REPO).await.unwrap(), i64::from(n));

    // Old and new mixed, one listed twice, and the same sha in another repo.
    let mut other = git_commit(5);
    other.repo = "acme/other".to_owned();
    let batch = vec![
        git_commit(10),
        git_commit(n),
        git_commit(n + 1),
        git_commit(n),
        other,
    ];
    let new = store.upsert_commits(&batch).await.unwrap();
    assert_eq!(new, vec![sha(n), sha(n + 1), sha(5)]);
    assert_eq!(store.count_commits(REPO).await.unwrap(), i64::from(n) + 2);
    assert_eq!(store.count_commits("acme/other").await.unwrap(), 1);
    assert_eq!(
        store.git_commit_shas(REPO).await.unwrap().len(),
        n as usize + 2
    );
}

async fn commits_git_rows_win_over_push_rows(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;

    // A push delivery arrives first.
    let new = store.upsert_commits(&[pushed(1), pushed(2)]).await.unwrap();
    assert_eq!(new, vec![sha(1), sha(2)]);
    assert_eq!(
        store.get_commit(REPO, &sha(1)).await.unwrap().unwrap(),
        pushed(1)
    );
    assert!(store.git_commit_shas(REPO).await.unwrap().is_empty());

    // The same push again, and the same commit from GitLab: nothing new, the
    // first row stays (gap filling only).
    let gitlab = Commit {
        source: CommitSource::Gitlab,
        subject: "other subject".to_owned(),
        ..pushed(1)
    };
    assert!(
        store
            .upsert_commits(&[pushed(1), gitlab])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_commit(REPO, &sha(1)).await.unwrap().unwrap(),
        pushed(1)
    );

    // A source with line statistics fills that gap, nothing else.
    let with_stats = Commit {
        source: CommitSource::Api,
        subject: "api subject".to_owned(),
        additions: Some(40),
        deletions: Some(4),
        ..pushed(2)
    };
    assert!(
        store
            .upsert_commits(&[with_stats])
            .await
            .unwrap()
            .is_empty()
    );
    let got = store.get_commit(REPO, &sha(2)).await.unwrap().unwrap();
    assert_eq!(
        got,
        Commit {
            additions: Some(40),
            deletions: Some(4),
            ..pushed(2)
        }
    );

    // The git import replaces both rows whole and reports them: their graph
    // is known now.
    let new = store
        .upsert_commits(&[git_commit(0), git_commit(1), git_commit(2)])
        .await
        .unwrap();
    assert_eq!(new, vec![sha(0), sha(1), sha(2)]);
    for n in 0..3 {
        assert_eq!(store.get_commit(REPO, &sha(n)).await.unwrap().unwrap(), {
            let mut c = git_commit(n);
            c.files.sort_by(|a, b| a.path.cmp(&b.path));
            c
        });
    }

    // A later push of a git-imported commit changes nothing.
    let late = Commit {
        additions: Some(1),
        deletions: Some(1),
        ..pushed(1)
    };
    assert!(store.upsert_commits(&[late]).await.unwrap().is_empty());
    assert_eq!(
        store
            .get_commit(REPO, &sha(1))
            .await
            .unwrap()
            .unwrap()
            .subject,
        git_commit(1).subject
    );

    // Within one call, a git copy is preferred over a push copy.
    let new = store
        .upsert_commits(&[pushed(3), git_commit(3)])
        .await
        .unwrap();
    assert_eq!(new, vec![sha(3)]);
    assert_eq!(
        store
            .get_commit(REPO, &sha(3))
            .await
            .unwrap()
            .unwrap()
            .source,
        CommitSource::Git
    );
    assert_eq!(store.git_commit_shas(REPO).await.unwrap().len(), 4);
}

async fn commits_invalid_input_names_the_field(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let bad = Commit {
        sha: "not-a-sha".to_owned(),
        ..git_commit(1)
    };
    let err = store
        .upsert_commits(&[git_commit(0), bad])
        .await
        .unwrap_err();
    match err {
        StoreError::Domain(e) => assert_eq!(e.fields(), vec!["commits[1].sha"]),
        other => panic!("expected a domain error, got {other:?}"),
    }
    // Nothing of the batch was stored.
    assert_eq!(store.count_commits(REPO).await.unwrap(), 0);
}

async fn refs_and_import_cursors(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let main = GitRef {
        repo: REPO.to_owned(),
        name: "refs/heads/main".to_owned(),
        sha: sha(1),
        updated_at: at(1),
    };
    let tag = GitRef {
        repo: REPO.to_owned(),
        name: "refs/tags/v1.0".to_owned(),
        sha: sha(1),
        updated_at: at(1),
    };
    store.set_refs(&[main.clone(), tag.clone()]).await.unwrap();
    assert_eq!(
        store.list_refs(REPO).await.unwrap(),
        vec![main.clone(), tag.clone()]
    );

    // Moving a ref updates it; setting it to where it is changes nothing.
    let moved = GitRef {
        sha: sha(2),
        updated_at: at(2),
        ..main.clone()
    };
    store.set_ref(&moved).await.unwrap();
    store
        .set_ref(&GitRef {
            updated_at: at(3),
            ..tag.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.list_refs(REPO).await.unwrap(),
        vec![moved, tag.clone()]
    );
    assert!(store.list_refs("acme/other").await.unwrap().is_empty());

    let err = store
        .set_ref(&GitRef {
            name: "main".to_owned(),
            ..tag
        })
        .await
        .unwrap_err();
    match err {
        StoreError::Domain(e) => assert_eq!(e.fields(), vec!["refs[0].name"]),
        other => panic!("expected a domain error, got {other:?}"),
    }

    // Cursors.
    assert_eq!(
        store
            .import_cursor("git", "acme/payments@main")
            .await
            .unwrap(),
        None
    );
    store
        .set_import_cursor("git", "acme/payments@main", &sha(1), at(1))
        .await
        .unwrap();
    store
        .set_import_cursor(
            "github",
            "acme/payments/pulls",
            "2026-11-01T00:00:00Z",
            at(1),
        )
        .await
        .unwrap();
    store
        .set_import_cursor("git", "acme/payments@main", &sha(2), at(2))
        .await
        .unwrap();
    assert_eq!(
        store
            .import_cursor("git", "acme/payments@main")
            .await
            .unwrap(),
        Some(sha(2))
    );
    assert_eq!(
        store
            .import_cursor("github", "acme/payments/pulls")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-11-01T00:00:00Z")
    );
    assert_eq!(
        store
            .import_cursor("git", "acme/payments@dev")
            .await
            .unwrap(),
        None
    );
}
