//! Service scopes (which repository paths make a service) and team
//! membership as the set-up commands use them: list, set, replace, remove,
//! on both engines.

use tandem_domain::project::ServiceScope;
use tandem_domain::user::Role;
use tandem_store::EngineKind;
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(scopes_set_replace_list_remove, members_list_add_remove);

fn scope(service: &str, repo: &str, prefixes: &[&str]) -> ServiceScope {
    ServiceScope {
        service: service.to_owned(),
        repo: repo.to_owned(),
        path_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
    }
}

async fn scopes_set_replace_list_remove(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "mono");
    let other = project(t.id, "other");
    store.create_project(&p).await.unwrap();
    store.create_project(&other).await.unwrap();
    assert!(store.list_service_scopes(p.id).await.unwrap().is_empty());

    store
        .set_service_scope(p.id, "web", "acme/mono", &["services/web/".into()])
        .await
        .unwrap();
    store
        .set_service_scope(
            p.id,
            "ünïcødé-service",
            "acme/mono",
            &["services/ünï/".into(), "libs/shared/".into()],
        )
        .await
        .unwrap();
    store
        .set_service_scope(p.id, "api", "acme/mono", &[])
        .await
        .unwrap();
    store
        .set_service_scope(other.id, "api", "acme/other", &["x/".into()])
        .await
        .unwrap();
    // By service; each project sees only its own.
    assert_eq!(
        store.list_service_scopes(p.id).await.unwrap(),
        vec![
            scope("api", "acme/mono", &[]),
            scope("web", "acme/mono", &["services/web/"]),
            scope(
                "ünïcødé-service",
                "acme/mono",
                &["services/ünï/", "libs/shared/"]
            ),
        ]
    );
    assert_eq!(
        store.list_service_scopes(other.id).await.unwrap(),
        vec![scope("api", "acme/other", &["x/"])]
    );

    // Setting again replaces the service's scope (repository and prefixes).
    store
        .set_service_scope(p.id, "api", "acme/api", &["src/".into()])
        .await
        .unwrap();
    let scopes = store.list_service_scopes(p.id).await.unwrap();
    assert_eq!(scopes.len(), 3);
    assert_eq!(scopes[0], scope("api", "acme/api", &["src/"]));

    // Removing: true once, false after, and nothing else goes.
    assert!(store.remove_service_scope(p.id, "api").await.unwrap());
    assert!(!store.remove_service_scope(p.id, "api").await.unwrap());
    assert!(!store.remove_service_scope(p.id, "nothing").await.unwrap());
    assert!(
        !store
            .remove_service_scope(Uuid::now_v7(), "web")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .list_service_scopes(p.id)
            .await
            .unwrap()
            .iter()
            .map(|s| s.service.as_str())
            .collect::<Vec<_>>(),
        ["web", "ünïcødé-service"]
    );
    assert_eq!(store.list_service_scopes(other.id).await.unwrap().len(), 1);

    // A scope of a project that does not exist names the project.
    assert_missing(
        store
            .set_service_scope(Uuid::now_v7(), "api", "acme/mono", &[])
            .await,
        "project_id",
    );
    assert!(
        store
            .list_service_scopes(Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn members_list_add_remove(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let pay = team("payments");
    let search = team("search");
    store.create_team(&pay).await.unwrap();
    store.create_team(&search).await.unwrap();
    let zoe = user("zoe", Role::Manager);
    let ana = user("ana", Role::Member);
    let bo = user("bo", Role::Stakeholder);
    for u in [&zoe, &ana, &bo] {
        store.create_user(u, "hash").await.unwrap();
    }
    assert!(store.team_members(pay.id).await.unwrap().is_empty());

    store.add_member(pay.id, zoe.id).await.unwrap();
    store.add_member(pay.id, ana.id).await.unwrap();
    store.add_member(search.id, bo.id).await.unwrap();
    // By username, whole users, only the team's.
    assert_eq!(
        store.team_members(pay.id).await.unwrap(),
        vec![ana.clone(), zoe.clone()]
    );
    assert_eq!(
        store.team_members(search.id).await.unwrap(),
        vec![bo.clone()]
    );
    assert!(store.team_members(Uuid::now_v7()).await.unwrap().is_empty());

    // Removing: true once, false after; other memberships stay.
    assert!(store.remove_member(pay.id, ana.id).await.unwrap());
    assert!(!store.remove_member(pay.id, ana.id).await.unwrap());
    assert!(!store.remove_member(pay.id, bo.id).await.unwrap());
    assert!(!store.remove_member(Uuid::now_v7(), zoe.id).await.unwrap());
    assert_eq!(store.team_members(pay.id).await.unwrap(), vec![zoe.clone()]);
    assert_eq!(
        store.team_members(search.id).await.unwrap(),
        vec![bo.clone()]
    );
    let mut expected = vec![(pay.id, zoe.id), (search.id, bo.id)];
    expected.sort();
    assert_eq!(store.list_memberships().await.unwrap(), expected);

    // Added again after removal.
    store.add_member(pay.id, ana.id).await.unwrap();
    assert_eq!(store.team_members(pay.id).await.unwrap(), vec![ana, zoe]);
}
