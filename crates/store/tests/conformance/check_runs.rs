//! The check scheduler's group commit (`Store::finish_check_runs`, ADR
//! 0042) on both engines: a group of finished runs writes exactly what
//! finishing each run alone writes (raw result, minute/hour/day rollups,
//! state, next run, lease freed), finishes only the runs whose owner still
//! holds the claim, and finishes a claim once.

use tandem_domain::check::{CheckState, CheckStatus};
use tandem_store::{CheckRun, EngineKind, FinishedRun, Store, StoredCheck};
use tandem_testkit::{fresh_store, per_engine};

use crate::common::*;

per_engine!(
    a_group_of_runs_writes_what_each_run_alone_writes,
    a_group_finishes_only_runs_whose_claim_holds,
);

/// `names` defined, due at 10, in a fresh team and project.
async fn checks(store: &Store, names: &[&str]) {
    let t = team("pay");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "payments");
    store.create_project(&p).await.unwrap();
    for name in names {
        let spec = tcp_check(name, "pay", "payments-api");
        define_check(store, &spec, (t.id, p.id), at(10), at(1)).await;
    }
}

fn finished(check: &StoredCheck, owner: &str, n: i64) -> FinishedRun {
    let ok = n % 2 == 0;
    FinishedRun {
        check_id: check.id,
        owner: owner.into(),
        run: CheckRun {
            at: at(20 + n),
            ok,
            latency_ms: 10 + n,
            message: format!("run {n}"),
            covers_ms: 60_000,
        },
        state: CheckState {
            status: if ok {
                CheckStatus::Passing
            } else {
                CheckStatus::Failing
            },
            ..CheckState::default()
        },
        next_run_at: at(80 + n),
        probe_state: (n == 1).then(|| serde_json::json!({ "offset": n })),
    }
}

/// What a check's finished run left: the check row and its stored data.
async fn left(store: &Store, name: &str) -> impl PartialEq + std::fmt::Debug {
    let c = store.get_check(name).await.unwrap().unwrap();
    let results = store.check_results(c.id, 10).await.unwrap();
    let mut rollups = Vec::new();
    for (grain, _) in tandem_domain::check::GRAINS {
        rollups.push(
            store
                .check_rollups(c.id, grain, at(-100_000), at(100_000))
                .await
                .unwrap(),
        );
    }
    let probe = store.check_probe_state(c.id).await.unwrap();
    (
        (c.state, c.last_run_at, c.last_ok, c.last_message),
        c.next_run_at,
        results,
        format!("{rollups:?}"),
        probe,
    )
}

async fn a_group_of_runs_writes_what_each_run_alone_writes(engine: EngineKind) {
    let names = ["c0", "c1", "c2", "c3", "c4"];
    let (grouped, _db1) = fresh_store(engine).await;
    let (alone, _db2) = fresh_store(engine).await;
    checks(&grouped, &names).await;
    checks(&alone, &names).await;

    let claimed = grouped
        .claim_due_checks("a", at(20), at(80), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    let runs: Vec<FinishedRun> = claimed
        .iter()
        .map(|c| finished(c, "a", name_n(&c.name)))
        .collect();
    assert_eq!(
        grouped.finish_check_runs(&runs).await.unwrap(),
        [true; 5],
        "every claimed run is finished"
    );

    let claimed = alone
        .claim_due_checks("a", at(20), at(80), 10)
        .await
        .unwrap();
    for c in &claimed {
        let r = finished(c, "a", name_n(&c.name));
        let done = alone
            .finish_check_run(
                c.id,
                "a",
                &r.run,
                &r.state,
                r.next_run_at,
                r.probe_state.as_ref(),
            )
            .await
            .unwrap();
        assert!(done);
    }
    for name in names {
        assert_eq!(
            left(&grouped, name).await,
            left(&alone, name).await,
            "{name}: grouped and alone differ"
        );
    }
    let c1 = grouped.get_check("c1").await.unwrap().unwrap();
    assert_eq!(c1.next_run_at, at(81));
    assert_eq!(c1.last_ok, Some(false));
    assert_eq!(grouped.check_results(c1.id, 10).await.unwrap().len(), 1);
    // The leases are free: the checks are claimed again when due.
    let again = grouped
        .claim_due_checks("b", at(90), at(150), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 5);
}

fn name_n(name: &str) -> i64 {
    name[1..].parse().unwrap()
}

async fn a_group_finishes_only_runs_whose_claim_holds(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    checks(&store, &["c0", "c1", "c2"]).await;
    let claimed = store
        .claim_due_checks("a", at(20), at(80), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let by = |n: &str| claimed.iter().find(|c| c.name == n).unwrap();
    // c2's claim is lost to replica b.
    store.release_check(by("c2").id, "a").await.unwrap();
    assert!(
        store
            .claim_check("c2", "b", at(21), at(81))
            .await
            .unwrap()
            .is_some()
    );
    let runs = [
        finished(by("c0"), "a", 0),
        finished(by("c2"), "a", 2),
        finished(by("c1"), "a", 1),
        // A claim finishes once: a second run of c0 in the same call is
        // not written.
        finished(by("c0"), "a", 4),
    ];
    assert_eq!(
        store.finish_check_runs(&runs).await.unwrap(),
        [true, false, true, false]
    );
    let c0 = store.get_check("c0").await.unwrap().unwrap();
    assert_eq!(c0.last_run_at, Some(at(20)));
    assert_eq!(store.check_results(c0.id, 10).await.unwrap().len(), 1);
    let c2 = store.get_check("c2").await.unwrap().unwrap();
    assert_eq!(c2.last_run_at, None, "nothing of a lost claim is written");
    assert!(store.check_results(c2.id, 10).await.unwrap().is_empty());
    assert!(
        store
            .check_rollups(c2.id, "minute", at(-100_000), at(100_000))
            .await
            .unwrap()
            .is_empty()
    );
    // Replica b still holds c2 and finishes it.
    assert_eq!(
        store
            .finish_check_runs(&[finished(by("c2"), "b", 2)])
            .await
            .unwrap(),
        [true]
    );
    assert!(store.finish_check_runs(&[]).await.unwrap().is_empty());
}
