//! Order independence of the record merge rules (ADR 0018): the reports of
//! one pull request, several sharing an `updated_at`, fold to the same row
//! whatever order they arrive in.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use tandem_domain::engineering::{PrCommit, PrState, PullRequest};

const MERGE_SHA: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098f7e6d5";

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// One report as GitHub or GitLab could send it: few distinct times, so
/// many reports share one.
fn report() -> impl Strategy<Value = PullRequest> {
    (
        select(vec!["open-draft", "open", "closed", "merged"]),
        0i64..3,
        select(vec!["Cache rates", "Cache exchange rates"]),
        select(vec![
            "3b5d7f9a1c3e5f7b9d1a3c5e7f9b1d3a5c7e9f1b",
            "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a",
        ]),
        proptest::option::of(0i64..3),
        proptest::collection::vec((0usize..3, 0i64..3), 0..3),
    )
        .prop_map(|(state, minute, title, head, ready, commits)| {
            let updated = t(10 + minute);
            let (state, draft) = match state {
                "open-draft" => (PrState::Open, true),
                "open" => (PrState::Open, false),
                "closed" => (PrState::Closed, false),
                _ => (PrState::Merged, false),
            };
            let shas = [
                "1111111111111111111111111111111111111111",
                "2222222222222222222222222222222222222222",
                "3333333333333333333333333333333333333333",
            ];
            PullRequest {
                repo: "acme/payments".into(),
                number: 41,
                source: "github".into(),
                title: title.into(),
                state,
                draft,
                base_branch: "main".into(),
                head_sha: Some(head.into()),
                merge_commit_sha: (state == PrState::Merged).then(|| MERGE_SHA.into()),
                created_at: t(0),
                ready_at: ready.map(t),
                first_commit_at: None,
                first_review_at: None,
                approved_at: None,
                merged_at: (state == PrState::Merged).then_some(updated),
                closed_at: (state != PrState::Open).then_some(updated),
                updated_at: updated,
                commits: commits
                    .into_iter()
                    .map(|(i, m)| PrCommit {
                        sha: shas[i].into(),
                        authored_at: t(-m),
                    })
                    .collect(),
            }
        })
}

/// What storage does: the first report is the row, each later one is
/// folded in.
fn fold(reports: &[PullRequest]) -> PullRequest {
    let mut row = reports[0].clone();
    for r in &reports[1..] {
        row = row.merge(r);
    }
    row
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_arrival_order_folds_to_the_same_row(
        (reports, shuffled) in proptest::collection::vec(report(), 1..8)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle()))
    ) {
        let a = fold(&reports);
        let b = fold(&shuffled);
        prop_assert_eq!(&a, &b);
        let mut reversed = reports.clone();
        reversed.reverse();
        prop_assert_eq!(&a, &fold(&reversed));
        prop_assert!(a.validate().is_ok(), "{:?}", a.validate());
    }
}

fn at(state: PrState, draft: bool, minute: i64) -> PullRequest {
    let updated = t(minute);
    PullRequest {
        repo: "acme/payments".into(),
        number: 41,
        source: "github".into(),
        title: "Cache rates".into(),
        state,
        draft,
        base_branch: "main".into(),
        head_sha: None,
        merge_commit_sha: None,
        created_at: t(0),
        ready_at: None,
        first_commit_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at: (state == PrState::Merged).then_some(updated),
        closed_at: (state != PrState::Open).then_some(updated),
        updated_at: updated,
        commits: vec![],
    }
}

#[test]
fn same_timestamp_terminal_states_win_then_the_higher_rank() {
    let open = at(PrState::Open, false, 5);
    let draft = at(PrState::Open, true, 5);
    let closed = at(PrState::Closed, false, 5);
    let merged = at(PrState::Merged, false, 5);
    for (a, b, want) in [
        (&open, &closed, PrState::Closed),
        (&closed, &open, PrState::Closed),
        (&closed, &merged, PrState::Merged),
        (&merged, &closed, PrState::Merged),
        (&open, &merged, PrState::Merged),
    ] {
        assert_eq!(a.merge(b).state, want);
    }
    assert!(!draft.merge(&open).draft);
    assert!(!open.merge(&draft).draft);
    // A newer report still wins over an older one of higher rank: reopened.
    let reopened = at(PrState::Open, false, 6);
    assert_eq!(closed.merge(&reopened).state, PrState::Open);
    assert_eq!(reopened.merge(&closed).state, PrState::Open);
    assert_eq!(closed.merge(&reopened).closed_at, None);
}
