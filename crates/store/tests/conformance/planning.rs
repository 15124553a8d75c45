//! The unpaged reads behind the backlog, goal plans, the tech-debt budget and
//! task context.

use chrono::Duration;
use tandem_domain::metric::Audience;
use tandem_domain::work_item::{WorkItem, WorkState};
use tandem_store::EngineKind;
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    open_items_of_a_team_unpaged,
    done_items_since,
    items_and_stages_of_a_goal,
    latest_point_of_a_metric
);

fn in_state(team_id: Uuid, state: WorkState) -> WorkItem {
    let mut w = item(team_id);
    w.state = state;
    if state != WorkState::Done {
        w.done_at = None;
    }
    if state == WorkState::Todo || state == WorkState::Cancelled {
        w.started_at = None;
    }
    w
}

async fn open_items_of_a_team_unpaged(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let (a, b) = (team("a"), team("b"));
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let mut open = Vec::new();
    // More than one page of the paged list (500), to show there is no limit.
    for i in 0..520 {
        let state = [WorkState::Todo, WorkState::InProgress, WorkState::Blocked][i % 3];
        let w = in_state(a.id, state);
        store.create_work_item(&w).await.unwrap();
        open.push(w);
    }
    for state in [WorkState::Done, WorkState::Cancelled] {
        store
            .create_work_item(&in_state(a.id, state))
            .await
            .unwrap();
    }
    store
        .create_work_item(&in_state(b.id, WorkState::Todo))
        .await
        .unwrap();
    let got = store.list_open_work_items(a.id).await.unwrap();
    assert_eq!(got.len(), 520);
    assert_eq!(ids(&got, |w| w.id), ids(&open, |w| w.id), "all open, by id");
    assert_eq!(got[1], open[1], "round trip");
    assert!(store.list_open_work_items(id()).await.unwrap().is_empty());
}

async fn done_items_since(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let (a, b) = (team("a"), team("b"));
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let done_at = |secs: i64| {
        let mut w = in_state(a.id, WorkState::Done);
        w.done_at = Some(at(secs));
        w.updated_at = at(secs);
        w
    };
    let (late, early, before, on_the_edge) = (done_at(500), done_at(100), done_at(11), done_at(50));
    for w in [&late, &early, &before, &on_the_edge] {
        store.create_work_item(w).await.unwrap();
    }
    store
        .create_work_item(&in_state(a.id, WorkState::InProgress))
        .await
        .unwrap();
    let mut other = in_state(b.id, WorkState::Done);
    other.done_at = Some(at(200));
    store.create_work_item(&other).await.unwrap();

    let got = store.list_done_work_items(a.id, at(50)).await.unwrap();
    assert_eq!(
        ids(&got, |w| w.id),
        vec![on_the_edge.id, early.id, late.id],
        "done at or after `since`, oldest first"
    );
    assert_eq!(got[2], late);
    let all = store
        .list_done_work_items(a.id, at(0) - Duration::days(365))
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(
        store
            .list_done_work_items(a.id, at(501))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn items_and_stages_of_a_goal(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("a");
    store.create_team(&t).await.unwrap();
    let (g, other) = (goal(t.id, None), bare_goal(t.id));
    store.create_goal(&g).await.unwrap();
    store.create_goal(&other).await.unwrap();
    let (s2, s1, s3) = (stage(g.id, 2), stage(g.id, 1), stage(g.id, 3));
    for s in [&s2, &s1, &s3] {
        store.create_stage(s).await.unwrap();
    }
    store.create_stage(&stage(other.id, 1)).await.unwrap();
    let stages = store.list_goal_stages(g.id).await.unwrap();
    assert_eq!(ids(&stages, |s| s.id), vec![s1.id, s2.id, s3.id]);
    assert_eq!(stages[0], s1);

    let mut mine = Vec::new();
    for (state, stage_id) in [
        (WorkState::Done, Some(s1.id)),
        (WorkState::Cancelled, Some(s2.id)),
        (WorkState::Todo, None),
    ] {
        let mut w = in_state(t.id, state);
        w.goal_id = Some(g.id);
        w.stage_id = stage_id;
        store.create_work_item(&w).await.unwrap();
        mine.push(w);
    }
    let mut elsewhere = in_state(t.id, WorkState::Todo);
    elsewhere.goal_id = Some(other.id);
    store.create_work_item(&elsewhere).await.unwrap();
    store
        .create_work_item(&in_state(t.id, WorkState::Todo))
        .await
        .unwrap();
    let got = store.list_goal_work_items(g.id).await.unwrap();
    assert_eq!(got, mine, "every state, by id");
    assert!(store.list_goal_stages(id()).await.unwrap().is_empty());
    assert!(store.list_goal_work_items(id()).await.unwrap().is_empty());
}

async fn latest_point_of_a_metric(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let (m, other) = (
        metric("users-p95", Audience::Team, None),
        metric("other", Audience::Business, None),
    );
    store.create_metric(&m).await.unwrap();
    store.create_metric(&other).await.unwrap();
    assert_eq!(store.latest_point(m.id, None).await.unwrap(), None);
    store
        .upsert_points(&[
            point(m.id, at(30), 420.5),
            point(m.id, at(90), 380.25),
            point(m.id, at(60), 400.0),
            point(other.id, at(120), 1.0),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.latest_point(m.id, None).await.unwrap(),
        Some(point(m.id, at(90), 380.25))
    );
    // The value a goal had at its deadline: the latest at or before it.
    assert_eq!(
        store.latest_point(m.id, Some(at(89))).await.unwrap(),
        Some(point(m.id, at(60), 400.0))
    );
    assert_eq!(store.latest_point(m.id, Some(at(29))).await.unwrap(), None);
    assert_eq!(store.latest_point(id(), None).await.unwrap(), None);
}
