use tandem_domain::risk::{Level, Risk, RiskStatus};
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(risk_crud, risk_list_filters);

async fn risk_crud(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let g = goal(t.id, None);
    store.create_goal(&g).await.unwrap();
    let s = stage(g.id, 1);
    store.create_stage(&s).await.unwrap();

    let mut r = risk(t.id);
    r.goal_id = Some(g.id);
    r.stage_id = Some(s.id);
    store.create_risk(&r).await.unwrap();
    assert_eq!(store.get_risk(r.id).await.unwrap(), r);

    let mut bare = risk(t.id);
    bare.owner = None;
    bare.description = String::new();
    bare.plan = String::new();
    bare.schedule_impact_days = 0;
    store.create_risk(&bare).await.unwrap();
    assert_eq!(store.get_risk(bare.id).await.unwrap(), bare);

    assert_missing(store.create_risk(&risk(Uuid::now_v7())).await, "team_id");
    let mut orphan = risk(t.id);
    orphan.goal_id = Some(Uuid::now_v7());
    assert_missing(store.create_risk(&orphan).await, "goal_id");
    orphan.goal_id = None;
    orphan.stage_id = Some(Uuid::now_v7());
    assert_missing(store.create_risk(&orphan).await, "stage_id");
    assert_not_found(store.get_risk(orphan.id).await, "risk");

    let mut closed = r.clone();
    closed.title = "Vendor is very late".into();
    closed.description = "It slipped.".into();
    closed.likelihood = Level::High;
    closed.impact = Level::Low;
    closed.plan = "Done without them.".into();
    closed.owner = Some("Bo".into());
    closed.schedule_impact_days = 3650;
    closed.status = RiskStatus::Closed;
    closed.updated_at = at(5000);
    closed.closed_at = Some(at(5000));
    store.update_risk(&closed).await.unwrap();
    assert_eq!(store.get_risk(r.id).await.unwrap(), closed);

    let mut reopened = closed.clone();
    reopened.status = RiskStatus::Mitigating;
    reopened.closed_at = None;
    reopened.owner = None;
    store.update_risk(&reopened).await.unwrap();
    assert_eq!(store.get_risk(r.id).await.unwrap(), reopened);
    assert_eq!(store.get_risk(bare.id).await.unwrap(), bare);

    let mut ghost = reopened.clone();
    ghost.id = Uuid::now_v7();
    assert_not_found(store.update_risk(&ghost).await, "risk");
}

async fn risk_list_filters(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let a = team("alpha");
    let b = team("beta");
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let g = goal(a.id, None);
    store.create_goal(&g).await.unwrap();
    let s = stage(g.id, 1);
    store.create_stage(&s).await.unwrap();

    let mut all = Vec::new();
    for i in 0..9usize {
        let mut r = risk(if i < 6 { a.id } else { b.id });
        r.status = RiskStatus::ALL[i % 3];
        if r.status == RiskStatus::Closed {
            r.closed_at = Some(at(100));
        }
        if i < 4 {
            r.goal_id = Some(g.id);
        }
        if i < 2 {
            r.stage_id = Some(s.id);
        }
        store.create_risk(&r).await.unwrap();
        all.push(r);
    }
    all.sort_by_key(|r| r.id);
    let of = |f: &dyn Fn(&Risk) -> bool| -> Vec<Uuid> {
        all.iter().filter(|r| f(r)).map(|r| r.id).collect()
    };
    let list = |lq: ListQuery| {
        let store = store.clone();
        async move { ids(&store.list_risks(&lq).await.unwrap().items, |r| r.id) }
    };

    assert_eq!(store.list_risks(&q()).await.unwrap().items, all);
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            ..q()
        })
        .await,
        of(&|r| r.team_id == a.id)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(b.id),
            ..q()
        })
        .await,
        of(&|r| r.team_id == b.id)
    );
    assert_eq!(
        list(ListQuery {
            goal_id: Some(g.id),
            ..q()
        })
        .await,
        of(&|r| r.goal_id == Some(g.id))
    );
    assert_eq!(
        list(ListQuery {
            stage_id: Some(s.id),
            ..q()
        })
        .await,
        of(&|r| r.stage_id == Some(s.id))
    );
    for status in RiskStatus::ALL {
        let expected = of(&|r| r.status == *status);
        assert_eq!(expected.len(), 3);
        assert_eq!(
            list(ListQuery {
                status: Some(status.to_string()),
                ..q()
            })
            .await,
            expected
        );
    }
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            status: Some("open".into()),
            ..q()
        })
        .await,
        of(&|r| r.team_id == a.id && r.status == RiskStatus::Open)
    );
    let (items, pages) = all_pages(
        2,
        |r: &Risk| r.id,
        |after| {
            let store = store.clone();
            async move {
                store
                    .list_risks(&ListQuery {
                        after,
                        limit: 2,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(items, all);
    assert_eq!(pages, 5);
}
