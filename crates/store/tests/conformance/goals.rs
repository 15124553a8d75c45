use chrono::Duration;
use tandem_domain::goal::{Goal, GoalPatch, GoalStatus, GoalTransition};
use tandem_store::{EngineKind, ListQuery, StoreError};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    goal_round_trip,
    goal_list_filters,
    goal_transition_is_versioned,
    goal_stale_change_is_refused,
    goal_change_reference_and_missing_goal
);

async fn goal_round_trip(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "checkout");
    store.create_project(&p).await.unwrap();

    let full = goal(t.id, Some(p.id));
    store.create_goal(&full).await.unwrap();
    let got = store.get_goal(full.id).await.unwrap();
    assert_eq!(got, full);
    assert_eq!(got.created_at.timestamp_subsec_micros(), 123_456);
    assert_eq!(got.success_metrics[0].baseline, Some(512.25));
    assert_eq!(got.success_metrics[1].baseline, Some(0.031));

    let bare = bare_goal(t.id);
    store.create_goal(&bare).await.unwrap();
    assert_eq!(store.get_goal(bare.id).await.unwrap(), bare);

    // A goal stored in a later state keeps its sign-off fields.
    let mut agreed = goal(t.id, None);
    agreed.status = GoalStatus::InProgress;
    agreed.version = 3;
    agreed.agreed_at = Some(at(42) + Duration::microseconds(1));
    agreed.agreed_by = Some("ana".into());
    store.create_goal(&agreed).await.unwrap();
    assert_eq!(store.get_goal(agreed.id).await.unwrap(), agreed);

    // JSON columns give back the exact f64 (these two need the last digit).
    let mut precise = goal(t.id, None);
    precise.success_metrics[1].baseline = Some(0.1 + 0.2);
    precise.success_metrics[1].target = Some(14.0 * 0.1);
    assert_eq!(
        precise.success_metrics[1].baseline,
        Some(0.30000000000000004)
    );
    assert_ne!(precise.success_metrics[1].target, Some(1.4));
    store.create_goal(&precise).await.unwrap();
    assert_eq!(store.get_goal(precise.id).await.unwrap(), precise);

    assert_missing(
        store.create_goal(&goal(Uuid::now_v7(), None)).await,
        "team_id",
    );
    assert_missing(
        store.create_goal(&goal(t.id, Some(Uuid::now_v7()))).await,
        "project_id",
    );
    assert_not_found(store.get_goal(Uuid::now_v7()).await, "goal");
    assert_eq!(store.list_goals(&q()).await.unwrap().items.len(), 4);
}

async fn goal_list_filters(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let a = team("alpha");
    let b = team("beta");
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let pa = project(a.id, "pa");
    store.create_project(&pa).await.unwrap();

    let mut all = Vec::new();
    for (team_id, project_id, status) in [
        (a.id, Some(pa.id), GoalStatus::Draft),
        (a.id, Some(pa.id), GoalStatus::Agreed),
        (a.id, None, GoalStatus::Draft),
        (a.id, None, GoalStatus::Done),
        (b.id, None, GoalStatus::Draft),
        (b.id, None, GoalStatus::InProgress),
        (b.id, None, GoalStatus::Dropped),
    ] {
        let mut g = goal(team_id, project_id);
        g.status = status;
        store.create_goal(&g).await.unwrap();
        all.push(g);
    }
    // Titles by id in one read; an unknown id is left out.
    let mut wanted: Vec<Uuid> = all.iter().map(|g: &Goal| g.id).collect();
    wanted.push(Uuid::now_v7());
    let titles = store.goal_titles(&wanted).await.unwrap();
    assert_eq!(titles.len(), all.len());
    for g in &all {
        assert_eq!(titles[&g.id], g.title);
    }
    all.sort_by_key(|g| g.id);

    let select = |f: &dyn Fn(&Goal) -> bool| -> Vec<Uuid> {
        all.iter().filter(|g| f(g)).map(|g| g.id).collect()
    };
    let list = |lq: ListQuery| {
        let store = store.clone();
        async move { ids(&store.list_goals(&lq).await.unwrap().items, |g| g.id) }
    };

    assert_eq!(list(q()).await, select(&|_| true));
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            ..q()
        })
        .await,
        select(&|g| g.team_id == a.id)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(b.id),
            ..q()
        })
        .await,
        select(&|g| g.team_id == b.id)
    );
    assert_eq!(
        list(ListQuery {
            project_id: Some(pa.id),
            ..q()
        })
        .await,
        select(&|g| g.project_id == Some(pa.id))
    );
    assert_eq!(
        list(ListQuery {
            status: Some("draft".into()),
            ..q()
        })
        .await,
        select(&|g| g.status == GoalStatus::Draft)
    );
    assert_eq!(
        list(ListQuery {
            status: Some("in_progress".into()),
            ..q()
        })
        .await,
        select(&|g| g.status == GoalStatus::InProgress)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            status: Some("draft".into()),
            ..q()
        })
        .await,
        select(&|g| g.team_id == a.id && g.status == GoalStatus::Draft)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(b.id),
            project_id: Some(pa.id),
            ..q()
        })
        .await,
        Vec::<Uuid>::new()
    );
    assert!(
        list(ListQuery {
            status: Some("nonsense".into()),
            ..q()
        })
        .await
        .is_empty()
    );

    // Pages respect filters.
    let a_ids = select(&|g| g.team_id == a.id);
    let (items, pages) = all_pages(
        3,
        |g: &Goal| g.id,
        |after| {
            let store = store.clone();
            let team_id = Some(a.id);
            async move {
                store
                    .list_goals(&ListQuery {
                        after,
                        limit: 3,
                        team_id,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(ids(&items, |g| g.id), a_ids);
    assert_eq!(pages, 2);
    // Full equality, JSON parts included, through the list path too.
    assert_eq!(store.list_goals(&q()).await.unwrap().items, all);
}

async fn goal_transition_is_versioned(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let draft = goal(t.id, None);
    store.create_goal(&draft).await.unwrap();
    assert!(store.list_goal_versions(draft.id).await.unwrap().is_empty());

    let agreed = draft
        .transition(GoalTransition::Agree, "ana", at(60))
        .unwrap();
    let v1 = agreed.version.clone().expect("agreeing is versioned");
    store
        .save_goal_change(&agreed, draft.version)
        .await
        .unwrap();
    let stored = store.get_goal(draft.id).await.unwrap();
    assert_eq!(stored, agreed.goal);
    assert_eq!(stored.status, GoalStatus::Agreed);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.agreed_at, Some(at(60)));
    assert_eq!(stored.agreed_by.as_deref(), Some("ana"));
    assert_eq!(
        store.list_goal_versions(draft.id).await.unwrap(),
        vec![v1.clone()]
    );

    // An edit after agreement: the version keeps before/after JSON exactly.
    let edited = stored
        .apply(
            GoalPatch {
                title: Some("Fast user list".into()),
                hypotheses: Some(vec!["Only latency matters".into()]),
                ..GoalPatch::default()
            },
            "bo",
            at(120) + Duration::microseconds(1),
        )
        .unwrap();
    let v2 = edited
        .version
        .clone()
        .expect("edits of agreed goals are versioned");
    store.save_goal_change(&edited, 1).await.unwrap();

    let started = edited
        .goal
        .transition(GoalTransition::Start, "cy", at(180))
        .unwrap();
    let v3 = started.version.clone().unwrap();
    store.save_goal_change(&started, 2).await.unwrap();
    assert_eq!(store.get_goal(draft.id).await.unwrap(), started.goal);

    let versions = store.list_goal_versions(draft.id).await.unwrap();
    assert_eq!(versions, vec![v1, v2, v3]);
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(versions[1].changes.len(), 2);
    assert_eq!(
        versions[1].changes[0].before,
        serde_json::json!("Faster user list")
    );

    // A change without a version entry (a draft edit) saves the goal only.
    let other = goal(t.id, None);
    store.create_goal(&other).await.unwrap();
    let draft_edit = other
        .apply(
            GoalPatch {
                title: Some("Renamed".into()),
                ..GoalPatch::default()
            },
            "ana",
            at(200),
        )
        .unwrap();
    assert!(draft_edit.version.is_none());
    store.save_goal_change(&draft_edit, 0).await.unwrap();
    assert_eq!(store.get_goal(other.id).await.unwrap(), draft_edit.goal);
    assert!(store.list_goal_versions(other.id).await.unwrap().is_empty());
    // Versions of other goals are not mixed in.
    assert_eq!(store.list_goal_versions(draft.id).await.unwrap().len(), 3);
    assert!(
        store
            .list_goal_versions(Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn goal_stale_change_is_refused(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let draft = goal(t.id, None);
    store.create_goal(&draft).await.unwrap();

    // Two writers read version 0; the first one wins.
    let first = draft
        .transition(GoalTransition::Agree, "ana", at(60))
        .unwrap();
    let second = draft
        .transition(GoalTransition::Agree, "bo", at(61))
        .unwrap();
    store.save_goal_change(&first, 0).await.unwrap();
    let before = store.get_goal(draft.id).await.unwrap();
    let versions_before = store.list_goal_versions(draft.id).await.unwrap();

    match store.save_goal_change(&second, 0).await {
        Err(StoreError::Stale(message)) => {
            assert!(message.contains(&draft.id.to_string()), "{message}")
        }
        other => panic!("expected a stale write, got {other:?}"),
    }
    // Nothing changed: neither the goal nor its versions.
    assert_eq!(store.get_goal(draft.id).await.unwrap(), before);
    assert_eq!(
        store.list_goal_versions(draft.id).await.unwrap(),
        versions_before
    );
    assert_eq!(before.agreed_by.as_deref(), Some("ana"));

    // A read version from the future is stale too.
    let started = before
        .transition(GoalTransition::Start, "cy", at(70))
        .unwrap();
    assert!(matches!(
        store.save_goal_change(&started, 7).await,
        Err(StoreError::Stale(_))
    ));
    assert_eq!(store.get_goal(draft.id).await.unwrap(), before);
    // With the right read version it goes through.
    store.save_goal_change(&started, 1).await.unwrap();
    assert_eq!(store.get_goal(draft.id).await.unwrap(), started.goal);
}

async fn goal_change_reference_and_missing_goal(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let g = goal(t.id, None);
    store.create_goal(&g).await.unwrap();

    // A change pointing at a project that does not exist.
    let bad = g
        .apply(
            GoalPatch {
                project_id: Some(Uuid::now_v7()),
                ..GoalPatch::default()
            },
            "ana",
            at(60),
        )
        .unwrap();
    assert_missing(store.save_goal_change(&bad, 0).await, "project_id");
    assert_eq!(store.get_goal(g.id).await.unwrap(), g);

    // A change to a goal that is not stored.
    let ghost = goal(t.id, None);
    let change = ghost
        .transition(GoalTransition::Agree, "ana", at(60))
        .unwrap();
    assert_not_found(store.save_goal_change(&change, 0).await, "goal");
    assert!(store.list_goal_versions(ghost.id).await.unwrap().is_empty());
}
