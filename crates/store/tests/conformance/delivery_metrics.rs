//! Attribution and delivery metrics: hand-computed scenarios, written through
//! the real store writes (commits, pull requests, deployments, incidents),
//! attributed by `attribute_pending`, read back and computed as the server
//! does. Every expected number is worked out in the comments.
//!
//! Times are hours after T0 = Monday 2026-03-02 00:00 UTC.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use tandem_domain::attribution::Method;
use tandem_domain::dora::{self, Bucket, DoraReport, Level, MetricScope};
use tandem_domain::engineering::{
    CommitRef, Deployment, DeploymentStatus, Incident, PrCommit, PrState, PullRequest,
};
use tandem_domain::git::{Commit, CommitSource, FileChange};
use tandem_domain::project::Project;
use tandem_store::{EngineKind, Store};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    squash_rebase_revert_first_deployment_and_environments,
    monorepo_services_and_flagged_rollbacks,
    fallbacks_are_said,
    late_data_changes_the_numbers,
    scope_changes_attribute_the_service_again,
    inputs_changing_while_a_deployment_is_attributed_are_not_lost,
);

fn h(hours: f64) -> DateTime<Utc> {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    t0 + Duration::seconds((hours * 3600.0) as i64)
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// A 40-digit sha from a short readable name ("c1" → "c1c1…"), hex only.
fn sha(name: &str) -> String {
    let hex: String = name
        .bytes()
        .map(|b| format!("{:x}", b % 16))
        .collect::<String>();
    let mut s = format!("{hex}{}", "0".repeat(40));
    s.truncate(40);
    // Distinct names must give distinct shas: encode the full bytes too.
    let full: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    let mut s2 = format!("{full}{s}");
    s2.truncate(40);
    s2
}

struct C<'a> {
    name: &'a str,
    parents: &'a [&'a str],
    authored: f64,
    committed: f64,
    subject: &'a str,
    files: &'a [&'a str],
}

fn commit(repo: &str, c: &C<'_>) -> Commit {
    Commit {
        repo: repo.to_owned(),
        sha: sha(c.name),
        author_name: "Dev".into(),
        author_email: "dev@example.com".into(),
        authored_at: h(c.authored),
        author_offset: 0,
        committed_at: h(c.committed),
        committer_offset: 0,
        subject: c.subject.to_owned(),
        parents: c.parents.iter().map(|p| sha(p)).collect(),
        parent_count: i32::try_from(c.parents.len()).unwrap(),
        additions: Some(1),
        deletions: Some(0),
        files: c
            .files
            .iter()
            .map(|f| FileChange {
                path: (*f).to_owned(),
                additions: 1,
                deletions: 0,
            })
            .collect(),
        source: CommitSource::Git,
    }
}

fn git(repo: &str, name: &str, parents: &[&str], at: f64) -> Commit {
    commit(
        repo,
        &C {
            name,
            parents,
            authored: at,
            committed: at,
            subject: "change",
            files: &["src/lib.rs"],
        },
    )
}

#[allow(clippy::too_many_arguments)]
fn deployment(
    project: &Project,
    id: &str,
    service: &str,
    env: &str,
    repo: &str,
    sha_name: Option<&str>,
    finished: f64,
) -> Deployment {
    Deployment {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: id.to_owned(),
        project_id: project.id,
        service: service.to_owned(),
        environment: env.to_owned(),
        status: DeploymentStatus::Success,
        repo: sha_name.map(|_| repo.to_owned()),
        sha: sha_name.map(sha),
        is_rollback: false,
        explicit_commits: vec![],
        started_at: h(finished - 0.25),
        finished_at: Some(h(finished)),
        created_at: h(finished - 0.25),
        updated_at: h(finished),
    }
}

fn incident(
    project: &Project,
    id: &str,
    service: &str,
    opened: f64,
    resolved: f64,
    caused_by: Option<&str>,
) -> Incident {
    Incident {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: id.to_owned(),
        project_id: project.id,
        service: Some(service.to_owned()),
        title: format!("incident {id}"),
        severity: "sev2".into(),
        opened_at: h(opened),
        resolved_at: Some(h(resolved)),
        caused_by: caused_by.map(str::to_owned),
        created_at: h(opened),
        updated_at: h(resolved),
    }
}

fn pull_request(
    repo: &str,
    number: i64,
    merge: &str,
    commits: &[(&str, f64)],
    times: PrTimes,
) -> PullRequest {
    PullRequest {
        repo: repo.to_owned(),
        number,
        source: "github".into(),
        title: format!("PR {number}"),
        state: PrState::Merged,
        draft: false,
        base_branch: "main".into(),
        head_sha: commits.last().map(|(n, _)| sha(n)),
        merge_commit_sha: Some(sha(merge)),
        created_at: h(times.opened),
        ready_at: Some(h(times.opened)),
        first_commit_at: commits.first().map(|(_, at)| h(*at)),
        first_review_at: None,
        approved_at: None,
        merged_at: Some(h(times.merged)),
        closed_at: Some(h(times.merged)),
        updated_at: h(times.merged),
        commits: commits
            .iter()
            .map(|(n, at)| PrCommit {
                sha: sha(n),
                authored_at: h(*at),
            })
            .collect(),
    }
}

#[derive(Clone, Copy)]
struct PrTimes {
    opened: f64,
    merged: f64,
}

async fn project_with(store: &Store, key: &str, repo: &str, services: &[&str]) -> Project {
    let t = team(&format!("{key}-team"));
    store.create_team(&t).await.unwrap();
    let p = Project {
        repositories: vec![repo.to_owned()],
        services: services.iter().map(|s| (*s).to_owned()).collect(),
        ..project(t.id, key)
    };
    store.create_project(&p).await.unwrap();
    p
}

async fn deployment_id(store: &Store, external_id: &str) -> Uuid {
    store
        .get_deployment("api", external_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The shipped commits of a deployment, as (name-sha, lead hours) sorted by
/// sha, for readable assertions.
async fn shipped(store: &Store, external_id: &str, names: &[&str]) -> Vec<String> {
    let id = deployment_id(store, external_id).await;
    let mut got: Vec<String> = store
        .shipped_commits(id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            names
                .iter()
                .find(|n| sha(n) == c.sha)
                .map_or_else(|| c.sha.clone(), |n| (*n).to_owned())
        })
        .collect();
    got.sort();
    got
}

async fn method(store: &Store, external_id: &str) -> (Method, Vec<String>) {
    let id = deployment_id(store, external_id).await;
    let a = store.attribution_of(id).await.unwrap().unwrap();
    (a.method, a.notes)
}

async fn report(
    store: &Store,
    projects: &[Uuid],
    service: Option<&str>,
    env: &str,
    since: NaiveDate,
    until: NaiveDate,
    bucket: Bucket,
) -> DoraReport {
    store.attribute_pending().await.unwrap();
    let scope = MetricScope {
        project_ids: projects.to_vec(),
        service: service.map(str::to_owned),
        environment: env.to_owned(),
    };
    let range = dora::Range::new(since, until, bucket).unwrap();
    let inputs = store.dora_inputs(&scope, &range).await.unwrap();
    dora::report(&scope, &range, &inputs)
}

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-6, "{a} != {b}");
}

const ALL: &[&str] = &[
    "c1", "c2", "c3", "p1", "p2", "s1", "q1", "q2", "r1", "r2", "v1", "c4", "c5", "c6", "c7",
];

/// One service, `api` of acme/pay, deployed to production and staging.
///
/// History (git import): c1 (−960 h, 40 days before) ← c2 (−48) ← c3 (−24)
/// ← s1 (squash of PR #1: p1 +14, p2 +20; s1 itself +30) ← r1 ← r2 (rebase
/// of PR #2: q1 +32, q2 +34, copied as r1/r2 with the same authored times,
/// committed +40) ← v1 (`Revert "…"`, +50) ← c4 (+60) ← c5 (+110) ← c6
/// (+140) ← c7 (+190).
async fn squash_rebase_revert_first_deployment_and_environments(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let repo = "acme/pay";
    let p = project_with(&store, "pay", repo, &["api"]).await;
    let commits = vec![
        git(repo, "c1", &[], -960.0),
        git(repo, "c2", &["c1"], -48.0),
        git(repo, "c3", &["c2"], -24.0),
        git(repo, "s1", &["c3"], 30.0),
        commit(
            repo,
            &C {
                name: "r1",
                parents: &["s1"],
                authored: 32.0,
                committed: 40.0,
                subject: "q1",
                files: &["a"],
            },
        ),
        commit(
            repo,
            &C {
                name: "r2",
                parents: &["r1"],
                authored: 34.0,
                committed: 40.0,
                subject: "q2",
                files: &["a"],
            },
        ),
        commit(
            repo,
            &C {
                name: "v1",
                parents: &["r2"],
                authored: 50.0,
                committed: 50.0,
                subject: "Revert \"Cache the user list\"",
                files: &["a"],
            },
        ),
        git(repo, "c4", &["v1"], 60.0),
        git(repo, "c5", &["c4"], 110.0),
        git(repo, "c6", &["c5"], 140.0),
        git(repo, "c7", &["c6"], 190.0),
    ];
    let new = store.upsert_commits(&commits).await.unwrap();
    store.invalidate_attribution(repo, &new).await.unwrap();
    store
        .upsert_pull_request(&pull_request(
            repo,
            1,
            "s1",
            &[("p1", 14.0), ("p2", 20.0)],
            PrTimes {
                opened: 21.0,
                merged: 30.0,
            },
        ))
        .await
        .unwrap();
    store
        .upsert_pull_request(&pull_request(
            repo,
            2,
            "r2",
            &[("q1", 32.0), ("q2", 34.0)],
            PrTimes {
                opened: 35.0,
                merged: 40.0,
            },
        ))
        .await
        .unwrap();

    let prod = "production";
    for d in [
        deployment(&p, "D1", "api", prod, repo, Some("c3"), 12.0),
        deployment(&p, "S1", "api", "staging", repo, Some("r2"), 44.0),
        deployment(&p, "D2", "api", prod, repo, Some("r2"), 50.0),
        deployment(&p, "D3", "api", prod, repo, Some("v1"), 52.0),
        deployment(&p, "D4", "api", prod, repo, Some("c4"), 74.0),
        deployment(&p, "D5", "api", prod, repo, Some("c5"), 122.0),
        deployment(&p, "D6", "api", prod, repo, Some("c6"), 150.0),
        deployment(&p, "D7", "api", prod, repo, Some("c7"), 200.0),
    ] {
        store.upsert_deployment(&d).await.unwrap();
    }
    // I1 names D4 (opened long after it: linked beats the window); I2 is
    // unlinked, 3 h after D5; I3 is unlinked, 30 h after D6: past the 24 h
    // window (which ends at +174 h).
    store
        .upsert_incident(&incident(&p, "I1", "api", 100.0, 102.0, Some("D4")))
        .await
        .unwrap();
    store
        .upsert_incident(&incident(&p, "I2", "api", 125.0, 125.5, None))
        .await
        .unwrap();
    store
        .upsert_incident(&incident(&p, "I3", "api", 180.0, 186.0, None))
        .await
        .unwrap();

    let before = store.metric_data_version().await.unwrap();
    assert_eq!(store.attribute_pending().await.unwrap(), 8);
    assert!(store.metric_data_version().await.unwrap() > before);
    // The explained deployments carry what each shipped (read for all of
    // them in one query): the same commits as `shipped_commits`, in order.
    let explained = store
        .explain_deployments(
            &MetricScope {
                project_ids: vec![p.id],
                service: None,
                environment: prod.into(),
            },
            &dora::Range::new(day(2), day(15), Bucket::Week).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(explained.len(), 7);
    for d in &explained {
        let one_by_one: Vec<String> = store
            .shipped_commits(d.id)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.sha)
            .collect();
        let batched: Vec<String> = d.commits.iter().map(|c| c.sha.clone()).collect();
        assert_eq!(batched, one_by_one, "{}", d.external_id);
    }
    assert!(explained.iter().any(|d| d.commits.len() > 1));

    // D1, the first production deployment: commits authored within 30 days
    // before +12 h: c2, c3 (c1 is 40 days old). Lead: c2 12+48 = 60 h, c3 36 h.
    assert_eq!(shipped(&store, "D1", ALL).await, ["c2", "c3"]);
    let (m, notes) = method(&store, "D1").await;
    assert_eq!(m, Method::Graph);
    assert!(
        notes[0].starts_with("first deployment of api to production"),
        "{notes:?}"
    );
    // D2 ships r2 ∖ c3 = s1, r1, r2: s1 is PR #1's squash → p1, p2; r1, r2
    // are PR #2's rebased copies → q1, q2. Lead at +50: 36, 30, 18, 16 h.
    assert_eq!(shipped(&store, "D2", ALL).await, ["p1", "p2", "q1", "q2"]);
    // S1 (staging) is the first staging deployment: its own look-back, and
    // production's D1 does not count: c2, c3, p1, p2, q1, q2.
    assert_eq!(
        shipped(&store, "S1", ALL).await,
        ["c2", "c3", "p1", "p2", "q1", "q2"]
    );
    // D3 ships only a revert: nothing new; D2 counts as failed.
    assert_eq!(shipped(&store, "D3", ALL).await, Vec::<String>::new());
    assert_eq!(method(&store, "D3").await.0, Method::Revert);
    assert_eq!(shipped(&store, "D4", ALL).await, ["c4"]);
    assert_eq!(shipped(&store, "D7", ALL).await, ["c7"]);

    // Production, 2026-03-02 to 2026-03-15 (14 days), weekly.
    let r = report(&store, &[p.id], None, prod, day(2), day(15), Bucket::Week).await;
    // Deployment frequency: D1..D7 = 7 (the revert D3 is a deployment) over
    // 14 days = 0.5 a day, 3.5 a week → high (at least weekly, under daily).
    assert_eq!(r.deployment_frequency.deployments, 7);
    close(Some(r.deployment_frequency.per_week), 3.5);
    // Deploy days: Mar 2 (D1), 4 (D2, D3), 5 (D4 +74 h), 7 (D5 +122 h),
    // 8 (D6 +150 h), 10 (D7 +200 h) = 6 → 3 per week.
    assert_eq!(r.deployment_frequency.deploy_days, 6);
    close(Some(r.deployment_frequency.deploy_days_per_week), 3.0);
    assert_eq!(r.deployment_frequency.level, Some(Level::High));
    // Lead times: D1 60, 36; D2 36, 30, 18, 16; D4 c4 74−60 = 14; D5 c5
    // 122−110 = 12; D6 10; D7 10. Sorted: 10 10 12 14 16 18 30 36 36 60.
    // Median (16+18)/2 = 17 h; P85 = rank ⌈8.5⌉ = 9 → 36 h. Elite (< 1 day).
    assert_eq!(r.lead_time.commits, 10);
    close(r.lead_time.median_hours, 17.0);
    close(r.lead_time.p85_hours, 36.0);
    assert_eq!(r.lead_time.precision, "exact");
    assert_eq!(r.lead_time.level, Some(Level::Elite));
    // Change failure rate: changes = 7 − revert D3 = 6; failed: D2 (rolled
    // back by D3), D4 (I1 names it), D5 (I2 within 24 h, before D6); not D6
    // (I3 after the window), not D7. 3/6 = 50 % → low.
    assert_eq!(r.change_failure_rate.changes, 6);
    assert_eq!(r.change_failure_rate.failed, 3);
    close(r.change_failure_rate.rate, 0.5);
    assert_eq!(r.change_failure_rate.level, Some(Level::Low));
    // Time to restore: I1 2 h, I2 0.5 h, I3 6 h → median 2 h → high (< 1 day).
    assert_eq!(r.time_to_restore.incidents, 3);
    close(r.time_to_restore.median_hours, 2.0);
    assert_eq!(r.time_to_restore.level, Some(Level::High));
    // Weeks: [Mar 2, Mar 9) holds D1..D6: 6 deployments, 5 changes, 3 failed,
    // leads 10 12 14 16 18 30 36 36 60 → median 18, P85 rank ⌈7.65⌉ = 8 → 36;
    // incidents I1 (Mar 6), I2 (Mar 7): median (0.5+2)/2 = 1.25 h.
    // [Mar 9, Mar 16) holds D7 (lead 10) and I3 (6 h).
    assert_eq!(r.buckets.len(), 2);
    let w1 = &r.buckets[0];
    assert_eq!((w1.start, w1.end), (day(2), day(9)));
    assert_eq!(
        (w1.deployments, w1.changes, w1.failed, w1.commits),
        (6, 5, 3, 9)
    );
    close(w1.lead_time_median_hours, 18.0);
    close(w1.lead_time_p85_hours, 36.0);
    close(w1.restore_median_hours, 1.25);
    let w2 = &r.buckets[1];
    assert_eq!((w2.start, w2.end), (day(9), day(16)));
    assert_eq!(
        (w2.deployments, w2.changes, w2.failed, w2.commits),
        (1, 1, 0, 1)
    );
    close(w2.lead_time_median_hours, 10.0);
    close(w2.restore_median_hours, 6.0);

    // Staging is kept apart: S1 alone, leads c2 92, c3 68, p1 30, p2 24,
    // q1 12, q2 10 → median (24+30)/2 = 27 h. Incidents are not staging
    // failures: CFR 0/1.
    let s = report(
        &store,
        &[p.id],
        None,
        "staging",
        day(2),
        day(15),
        Bucket::Week,
    )
    .await;
    assert_eq!(s.deployment_frequency.deployments, 1);
    assert_eq!(s.lead_time.commits, 6);
    close(s.lead_time.median_hours, 27.0);
    assert_eq!(
        (s.change_failure_rate.changes, s.change_failure_rate.failed),
        (1, 0)
    );
}

/// A monorepo, acme/mono, with two services scoped by path: `api`
/// (services/api/) and `web` (services/web/).
async fn monorepo_services_and_flagged_rollbacks(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let repo = "acme/mono";
    let p = project_with(&store, "mono", repo, &["api", "web"]).await;
    store
        .set_service_scope(p.id, "api", repo, &["services/api/".into()])
        .await
        .unwrap();
    store
        .set_service_scope(p.id, "web", repo, &["services/web/".into()])
        .await
        .unwrap();
    let c = |name, parents, at, files| {
        commit(
            repo,
            &C {
                name,
                parents,
                authored: at,
                committed: at,
                subject: "change",
                files,
            },
        )
    };
    let commits = vec![
        c(
            "m1",
            &[],
            -240.0,
            &["services/api/a.rs", "services/web/b.ts"],
        ),
        c("m2", &["m1"], 1.0, &["services/api/x.rs"]),
        c("m3", &["m2"], 2.0, &["services/web/y.ts"]),
        c("m4", &["m3"], 3.0, &["README.md"]),
        c("m5", &["m4"], 20.0, &["services/api/z.rs"]),
    ];
    store.upsert_commits(&commits).await.unwrap();
    let names = ["m1", "m2", "m3", "m4", "m5"];
    let prod = "production";
    let mut rollback = deployment(&p, "API3", "api", prod, repo, Some("m4"), 30.0);
    rollback.is_rollback = true;
    for d in [
        deployment(&p, "API1", "api", prod, repo, Some("m4"), 10.0),
        deployment(&p, "WEB1", "web", prod, repo, Some("m4"), 12.0),
        deployment(&p, "API2", "api", prod, repo, Some("m5"), 24.0),
        deployment(&p, "WEB2", "web", prod, repo, Some("m5"), 26.0),
        rollback,
    ] {
        store.upsert_deployment(&d).await.unwrap();
    }
    store.attribute_pending().await.unwrap();
    // API1 (first, look-back 30 days covers m1 at −240 h): m1 and m2 touch
    // services/api/; m3 (web) and m4 (README) do not. Leads 250 h, 9 h.
    assert_eq!(shipped(&store, "API1", &names).await, ["m1", "m2"]);
    // WEB1: m1, m3. Leads 252 h, 10 h.
    assert_eq!(shipped(&store, "WEB1", &names).await, ["m1", "m3"]);
    // API2: m5 (lead 4 h). WEB2: m5 is not web's: nothing, still a deployment.
    assert_eq!(shipped(&store, "API2", &names).await, ["m5"]);
    assert_eq!(shipped(&store, "WEB2", &names).await, Vec::<String>::new());
    // API3 is flagged as a rollback: nothing new; API2 failed.
    assert_eq!(method(&store, "API3").await.0, Method::Rollback);

    // Project: 5 deployments, changes 4 (API3 is a rollback), failed 1
    // (API2) → 25 %. Leads 250 9 252 10 4 → sorted 4 9 10 250 252: median
    // 10 h, P85 rank ⌈4.25⌉ = 5 → 252 h.
    // Range Mar 2–3 (API2 finishes at +24 h = Mar 3 00:00), one ISO week.
    let r = report(&store, &[p.id], None, prod, day(2), day(3), Bucket::Week).await;
    assert_eq!(r.deployment_frequency.deployments, 5);
    assert_eq!(
        (r.change_failure_rate.changes, r.change_failure_rate.failed),
        (4, 1)
    );
    close(r.change_failure_rate.rate, 0.25);
    assert_eq!(r.lead_time.commits, 5);
    close(r.lead_time.median_hours, 10.0);
    close(r.lead_time.p85_hours, 252.0);
    // One bucket; frequency 5 in 2 days = 2.5 a day → elite; deploy days 2.
    assert_eq!(r.buckets.len(), 1);
    assert_eq!(r.deployment_frequency.level, Some(Level::Elite));
    assert_eq!(r.deployment_frequency.deploy_days, 2);
    // Service api: 3 deployments, changes 2, failed 1 → 50 %; leads 250 9 4
    // → median 9 h.
    let a = report(
        &store,
        &[p.id],
        Some("api"),
        prod,
        day(2),
        day(3),
        Bucket::Week,
    )
    .await;
    assert_eq!(a.deployment_frequency.deployments, 3);
    assert_eq!(
        (a.change_failure_rate.changes, a.change_failure_rate.failed),
        (2, 1)
    );
    close(a.lead_time.median_hours, 9.0);
    // Service web: 2 deployments, 0 failed; leads 252 10 → median 131 h.
    let w = report(
        &store,
        &[p.id],
        Some("web"),
        prod,
        day(2),
        day(3),
        Bucket::Week,
    )
    .await;
    assert_eq!(w.deployment_frequency.deployments, 2);
    assert_eq!(
        (w.change_failure_rate.changes, w.change_failure_rate.failed),
        (2, 0)
    );
    close(w.lead_time.median_hours, 131.0);
}

/// Without a git import: push-delivery commits and a listed-commits
/// deployment, each saying how its commits were found.
async fn fallbacks_are_said(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let repo = "acme/hooks";
    let p = project_with(&store, "hooks", repo, &["hooks"]).await;
    let pushed = |name: &str, at: f64| Commit {
        parents: vec![],
        parent_count: 1,
        additions: None,
        deletions: None,
        files: vec![],
        source: CommitSource::Github,
        ..git(repo, name, &[], at)
    };
    let new = store
        .upsert_commits(&[pushed("k1", 1.0), pushed("k2", 2.0), pushed("k3", 6.0)])
        .await
        .unwrap();
    store.invalidate_attribution(repo, &new).await.unwrap();
    // H1 deploys k2 at +5 h: the graph lacks k2's parents, so the commits
    // pushed up to k2 (committed +2 h) within the look-back count: k1 (lead
    // 4 h), k2 (3 h).
    store
        .upsert_deployment(&deployment(
            &p,
            "H1",
            "hooks",
            "production",
            repo,
            Some("k2"),
            5.0,
        ))
        .await
        .unwrap();
    // H2 names no sha, only k3 (authored +6 h), finished +8 h: lead 2 h.
    let mut h2 = deployment(&p, "H2", "hooks", "production", repo, None, 8.0);
    h2.explicit_commits = vec![CommitRef {
        repo: repo.into(),
        sha: sha("k3"),
    }];
    store.upsert_deployment(&h2).await.unwrap();
    store.attribute_pending().await.unwrap();
    let names = ["k1", "k2", "k3"];
    assert_eq!(shipped(&store, "H1", &names).await, ["k1", "k2"]);
    let (m, notes) = method(&store, "H1").await;
    assert_eq!(m, Method::Push);
    assert!(
        notes[0].contains("does not have") && notes[0].contains("push deliveries"),
        "{notes:?}"
    );
    assert_eq!(shipped(&store, "H2", &names).await, ["k3"]);
    let (m, notes) = method(&store, "H2").await;
    assert_eq!(m, Method::Explicit);
    assert!(
        notes[0].contains("names no repository and sha"),
        "{notes:?}"
    );
    // Leads 4 3 2 → median 3 h.
    let r = report(
        &store,
        &[p.id],
        None,
        "production",
        day(2),
        day(2),
        Bucket::Day,
    )
    .await;
    close(r.lead_time.median_hours, 3.0);
}

/// Data that arrives late changes the numbers: a git import after the
/// deployment, a pull request after its squash commit, an incident after
/// the facts were computed.
async fn late_data_changes_the_numbers(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let repo = "acme/late";
    let p = project_with(&store, "late", repo, &["late"]).await;
    let prod = "production";
    store
        .upsert_deployment(&deployment(&p, "L0", "late", prod, repo, Some("l1"), 4.0))
        .await
        .unwrap();
    store
        .upsert_deployment(&deployment(&p, "L1", "late", prod, repo, Some("l3"), 10.0))
        .await
        .unwrap();
    let r = report(&store, &[p.id], None, prod, day(2), day(2), Bucket::Day).await;
    // Nothing known of the code yet: no lead time at all; it waits for the
    // history.
    assert_eq!(r.lead_time.commits, 0);
    let (m, notes) = method(&store, "L1").await;
    assert_eq!(m, Method::Waiting);
    assert!(notes[0].starts_with("waiting for history"), "{notes:?}");

    // The git import arrives: l1 (+1) ← l2 (+2) ← l3 (squash of PR #5, +8).
    let new = store
        .upsert_commits(&[
            git(repo, "l1", &[], 1.0),
            git(repo, "l2", &["l1"], 2.0),
            git(repo, "l3", &["l2"], 8.0),
        ])
        .await
        .unwrap();
    store.invalidate_attribution(repo, &new).await.unwrap();
    // L0 ships l1 (lead 3 h); L1 ships l2 (8 h), l3 (2 h) → median 3 h.
    let r = report(&store, &[p.id], None, prod, day(2), day(2), Bucket::Day).await;
    assert_eq!(r.lead_time.commits, 3);
    close(r.lead_time.median_hours, 3.0);

    // PR #5 arrives: l3 was its squash of x1 (+5), x2 (+6): L1 ships l2 (8),
    // x1 (5), x2 (4) → leads 3 8 5 4 → median 4.5 h.
    let pr = pull_request(
        repo,
        5,
        "l3",
        &[("x1", 5.0), ("x2", 6.0)],
        PrTimes {
            opened: 6.5,
            merged: 8.0,
        },
    );
    store.upsert_pull_request(&pr).await.unwrap();
    store
        .invalidate_attribution(repo, &[sha("l3"), sha("x1"), sha("x2")])
        .await
        .unwrap();
    let r = report(&store, &[p.id], None, prod, day(2), day(2), Bucket::Day).await;
    assert_eq!(r.lead_time.commits, 4);
    close(r.lead_time.median_hours, 4.5);
    assert_eq!(r.change_failure_rate.failed, 0);

    // The facts' version (what page caches key on) stays while nothing
    // changes, however often the figures are read…
    let v0 = store.metric_data_version().await.unwrap();
    report(&store, &[p.id], None, prod, day(2), day(2), Bucket::Day).await;
    assert_eq!(store.metric_data_version().await.unwrap(), v0);
    // An incident 1 h after L1: L1 failed, 1 of 2 changes.
    store
        .upsert_incident(&incident(&p, "LI", "late", 11.0, 12.0, None))
        .await
        .unwrap();
    let r = report(&store, &[p.id], None, prod, day(2), day(2), Bucket::Day).await;
    // …and moves once a change reaches the facts.
    let v1 = store.metric_data_version().await.unwrap();
    assert!(v1 > v0, "{v1} > {v0}");
    assert_eq!(
        (r.change_failure_rate.changes, r.change_failure_rate.failed),
        (2, 1)
    );
    // Relinked to L0 by its sender: still one failure, now L0's.
    store
        .upsert_incident(&Incident {
            updated_at: h(13.0),
            ..incident(&p, "LI", "late", 11.0, 12.0, Some("L0"))
        })
        .await
        .unwrap();
    let r = report(&store, &[p.id], None, prod, day(2), day(2), Bucket::Day).await;
    assert_eq!(
        (r.change_failure_rate.changes, r.change_failure_rate.failed),
        (2, 1)
    );
    let ex = store
        .explain_deployments(
            &MetricScope {
                project_ids: vec![p.id],
                service: None,
                environment: prod.into(),
            },
            &dora::Range::new(day(2), day(2), Bucket::Day).unwrap(),
        )
        .await
        .unwrap();
    let l0 = ex.iter().find(|d| d.external_id == "L0").unwrap();
    assert_eq!(l0.failure_reason.as_deref(), Some("linked_incident"));
    let l1 = ex.iter().find(|d| d.external_id == "L1").unwrap();
    assert_eq!(l1.failure_reason, None);
}

/// Setting or removing a service's scope marks that service's deployments
/// for attribution again (and only those); removing a scope it does not
/// have marks nothing.
async fn scope_changes_attribute_the_service_again(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let repo = "acme/mono";
    let p = project_with(&store, "mono", repo, &["api", "web"]).await;
    let c = |name, parents, at, files| {
        commit(
            repo,
            &C {
                name,
                parents,
                authored: at,
                committed: at,
                subject: "change",
                files,
            },
        )
    };
    store
        .upsert_commits(&[
            c("s1", &[], 1.0, &["services/api/a.rs"]),
            c("s2", &["s1"], 2.0, &["services/web/b.ts"]),
        ])
        .await
        .unwrap();
    let names = ["s1", "s2"];
    let prod = "production";
    store
        .upsert_deployment(&deployment(&p, "A1", "api", prod, repo, Some("s2"), 5.0))
        .await
        .unwrap();
    store
        .upsert_deployment(&deployment(&p, "W1", "web", prod, repo, Some("s2"), 6.0))
        .await
        .unwrap();
    assert_eq!(store.attribute_pending().await.unwrap(), 2);
    assert_eq!(shipped(&store, "A1", &names).await, ["s1", "s2"]);

    store
        .set_service_scope(p.id, "api", repo, &["services/api/".into()])
        .await
        .unwrap();
    assert_eq!(store.attribute_pending().await.unwrap(), 1, "only api's");
    assert_eq!(shipped(&store, "A1", &names).await, ["s1"]);
    assert_eq!(shipped(&store, "W1", &names).await, ["s1", "s2"]);

    assert!(!store.remove_service_scope(p.id, "web").await.unwrap());
    assert_eq!(
        store.attribute_pending().await.unwrap(),
        0,
        "nothing changed"
    );

    assert!(store.remove_service_scope(p.id, "api").await.unwrap());
    assert_eq!(store.attribute_pending().await.unwrap(), 1);
    assert_eq!(shipped(&store, "A1", &names).await, ["s1", "s2"]);
}

/// Issue 18, defect 8: commits (and a scope) arriving while a deployment is
/// being attributed. D1 deploys c3, which is not known when the round
/// reads the graph; c3 arrives (and is invalidated, as every writer of
/// commits does) after the round computed and before it writes. The
/// deployment was already pending, so the invalidation changed no row:
/// before migration 0031 the round then marked it attributed with the
/// stale answer and nothing ever computed it again.
async fn inputs_changing_while_a_deployment_is_attributed_are_not_lost(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let repo = "acme/race";
    let p = project_with(&store, "race", repo, &["api", "web"]).await;
    let new = store
        .upsert_commits(&[git(repo, "c1", &[], -48.0), git(repo, "c2", &["c1"], -24.0)])
        .await
        .unwrap();
    store.invalidate_attribution(repo, &new).await.unwrap();
    store
        .upsert_deployment(&deployment(
            &p,
            "D1",
            "api",
            "production",
            repo,
            Some("c3"),
            12.0,
        ))
        .await
        .unwrap();
    let arrived = std::sync::atomic::AtomicBool::new(false);
    store
        .attribute_pending_pausing(|| {
            let store = store.clone();
            let first = !arrived.swap(true, std::sync::atomic::Ordering::SeqCst);
            async move {
                if first {
                    let new = store
                        .upsert_commits(&[git(repo, "c3", &["c2"], 6.0)])
                        .await
                        .unwrap();
                    assert_eq!(new.len(), 1);
                    store.invalidate_attribution(repo, &new).await.unwrap();
                }
            }
        })
        .await
        .unwrap();
    store.attribute_pending().await.unwrap();
    // The first deployment of api: every commit up to c3 within 30 days.
    assert_eq!(shipped(&store, "D1", ALL).await, ["c1", "c2", "c3"]);
    let (m, _) = method(&store, "D1").await;
    assert_eq!(m, Method::Graph);

    // A scope set while the web deployment is attributed: web ships only
    // the commits under `web/` (none of these: c1..c4 touch `src/lib.rs`).
    let new = store
        .upsert_commits(&[git(repo, "c4", &["c3"], 14.0)])
        .await
        .unwrap();
    store.invalidate_attribution(repo, &new).await.unwrap();
    store
        .upsert_deployment(&deployment(
            &p,
            "W1",
            "web",
            "production",
            repo,
            Some("c4"),
            16.0,
        ))
        .await
        .unwrap();
    let scoped = std::sync::atomic::AtomicBool::new(false);
    store
        .attribute_pending_pausing(|| {
            let store = store.clone();
            let first = !scoped.swap(true, std::sync::atomic::Ordering::SeqCst);
            let project_id = p.id;
            async move {
                if first {
                    store
                        .set_service_scope(project_id, "web", repo, &["web/".to_owned()])
                        .await
                        .unwrap();
                }
            }
        })
        .await
        .unwrap();
    store.attribute_pending().await.unwrap();
    assert!(
        shipped(&store, "W1", &["c1", "c2", "c3", "c4"])
            .await
            .is_empty()
    );
}
