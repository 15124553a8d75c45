use chrono::Duration;
use tandem_domain::user::Role;
use tandem_store::EngineKind;
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    user_create_find_list_count,
    user_password_hash,
    user_role,
    disabling_a_user_ends_sessions,
    memberships,
    tokens,
    token_touch_and_revoke,
    sessions
);

async fn user_create_find_list_count(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    assert_eq!(store.count_users().await.unwrap(), 0);
    assert!(store.list_users().await.unwrap().is_empty());

    let mut bo = user("bo", Role::Member);
    bo.email = None;
    let ana = user("ana", Role::Admin);
    let cy = user("cy.d-e_f", Role::Stakeholder);
    store.create_user(&bo, "$argon2id$bo").await.unwrap();
    store.create_user(&ana, "$argon2id$ana").await.unwrap();
    store.create_user(&cy, "$argon2id$cy").await.unwrap();

    let mut dup = user("ana", Role::Member);
    dup.display_name = "Another Ana".into();
    assert_conflict(store.create_user(&dup, "x").await, "username");

    assert_eq!(store.count_users().await.unwrap(), 3);
    assert_eq!(store.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(store.get_user(bo.id).await.unwrap(), bo);
    assert_not_found(store.get_user(dup.id).await, "user");

    let (found, hash) = store
        .find_user_by_username("ana")
        .await
        .unwrap()
        .expect("ana exists");
    assert_eq!(found, ana);
    assert_eq!(hash, "$argon2id$ana");
    let (found, hash) = store
        .find_user_by_username("bo")
        .await
        .unwrap()
        .expect("bo exists");
    assert_eq!((found, hash.as_str()), (bo.clone(), "$argon2id$bo"));
    assert!(
        store
            .find_user_by_username("nobody")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_user_by_username("ANA").await.unwrap().is_none());

    // Listed by username.
    assert_eq!(store.list_users().await.unwrap(), vec![ana, bo, cy]);
}

async fn user_password_hash(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let ana = user("ana", Role::Admin);
    let bo = user("bo", Role::Member);
    store.create_user(&ana, "old").await.unwrap();
    store.create_user(&bo, "bo-hash").await.unwrap();

    let now = base();
    let later = now + Duration::hours(12);
    store
        .create_session("s-ana", ana.id, now, later)
        .await
        .unwrap();
    store
        .create_session("s-bo", bo.id, now, later)
        .await
        .unwrap();

    store.set_password_hash(ana.id, "new").await.unwrap();
    let (_, hash) = store.find_user_by_username("ana").await.unwrap().unwrap();
    assert_eq!(hash, "new");
    let (_, hash) = store.find_user_by_username("bo").await.unwrap().unwrap();
    assert_eq!(hash, "bo-hash");
    assert_eq!(store.get_user(ana.id).await.unwrap(), ana);
    // A changed password ends that user's sessions, and only theirs.
    assert_eq!(store.find_session_user("s-ana", now).await.unwrap(), None);
    assert_eq!(
        store.find_session_user("s-bo", now).await.unwrap(),
        Some(bo.clone())
    );

    assert_not_found(store.set_password_hash(Uuid::now_v7(), "x").await, "user");
}

async fn user_role(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let ana = user("ana", Role::Member);
    let bo = user("bo", Role::Member);
    store.create_user(&ana, "h").await.unwrap();
    store.create_user(&bo, "h").await.unwrap();
    let now = base();
    store
        .create_session("s-ana", ana.id, now, now + Duration::hours(1))
        .await
        .unwrap();

    store.set_user_role("ana", Role::Admin).await.unwrap();
    let changed = store.get_user(ana.id).await.unwrap();
    assert_eq!(changed.role, Role::Admin);
    assert_eq!(store.get_user(bo.id).await.unwrap(), bo);
    // The session carries on, with the new role.
    assert_eq!(
        store.find_session_user("s-ana", now).await.unwrap(),
        Some(changed)
    );
    assert_not_found(store.set_user_role("nobody", Role::Admin).await, "user");
}

async fn disabling_a_user_ends_sessions(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let ana = user("ana", Role::Admin);
    let bo = user("bo", Role::Member);
    store.create_user(&ana, "h").await.unwrap();
    store.create_user(&bo, "h").await.unwrap();
    let now = base();
    let later = now + Duration::hours(12);
    store
        .create_session("s-ana-1", ana.id, now, later)
        .await
        .unwrap();
    store
        .create_session("s-ana-2", ana.id, now, later)
        .await
        .unwrap();
    store
        .create_session("s-bo", bo.id, now, later)
        .await
        .unwrap();
    assert_eq!(
        store.find_session_user("s-ana-1", now).await.unwrap(),
        Some(ana.clone())
    );

    store.set_user_disabled("ana", true).await.unwrap();
    assert!(store.get_user(ana.id).await.unwrap().disabled);
    assert_eq!(store.find_session_user("s-ana-1", now).await.unwrap(), None);
    assert_eq!(store.find_session_user("s-ana-2", now).await.unwrap(), None);
    // Other users keep their sessions.
    assert_eq!(
        store.find_session_user("s-bo", now).await.unwrap(),
        Some(bo.clone())
    );

    // Enabling again does not bring the ended sessions back.
    store.set_user_disabled("ana", false).await.unwrap();
    let enabled = store.get_user(ana.id).await.unwrap();
    assert!(!enabled.disabled);
    assert_eq!(enabled, ana);
    assert_eq!(store.find_session_user("s-ana-1", now).await.unwrap(), None);
    store
        .create_session("s-ana-3", ana.id, now, later)
        .await
        .unwrap();
    assert_eq!(
        store.find_session_user("s-ana-3", now).await.unwrap(),
        Some(ana.clone())
    );

    // Disabling twice is fine; an unknown user is not found.
    store.set_user_disabled("bo", true).await.unwrap();
    store.set_user_disabled("bo", true).await.unwrap();
    assert_eq!(store.find_session_user("s-bo", now).await.unwrap(), None);
    assert_not_found(store.set_user_disabled("nobody", true).await, "user");
    assert_not_found(store.set_user_disabled("nobody", false).await, "user");
}

async fn memberships(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t1 = team("payments");
    let t2 = team("search");
    store.create_team(&t1).await.unwrap();
    store.create_team(&t2).await.unwrap();
    let ana = user("ana", Role::Member);
    let bo = user("bo", Role::Member);
    store.create_user(&ana, "h").await.unwrap();
    store.create_user(&bo, "h").await.unwrap();

    assert!(store.list_memberships().await.unwrap().is_empty());
    store.add_member(t1.id, ana.id).await.unwrap();
    store
        .add_member(t1.id, ana.id)
        .await
        .expect("adding twice is idempotent");
    store.add_member(t2.id, ana.id).await.unwrap();
    store.add_member(t1.id, bo.id).await.unwrap();

    let mut expected = vec![(t1.id, ana.id), (t2.id, ana.id), (t1.id, bo.id)];
    expected.sort();
    assert_eq!(store.list_memberships().await.unwrap(), expected);

    assert_missing(store.add_member(Uuid::now_v7(), ana.id).await, "team_id");
    assert_missing(store.add_member(t1.id, Uuid::now_v7()).await, "user_id");
    assert_missing(
        store.add_member(Uuid::now_v7(), Uuid::now_v7()).await,
        "team_id",
    );
    assert_eq!(store.list_memberships().await.unwrap(), expected);
}

async fn tokens(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let ana = user("ana", Role::Admin);
    store.create_user(&ana, "h").await.unwrap();

    let t1 = token("ci", Some(ana.id));
    let mut t2 = token("deploy", None);
    t2.role = Role::Stakeholder;
    t2.last_used_at = Some(at(100));
    store.create_token(&t1, "hash-1").await.unwrap();
    store.create_token(&t2, "hash-2").await.unwrap();

    assert_eq!(store.find_token("hash-1").await.unwrap(), Some(t1.clone()));
    assert_eq!(store.find_token("hash-2").await.unwrap(), Some(t2.clone()));
    assert_eq!(store.find_token("hash-3").await.unwrap(), None);
    assert_eq!(store.list_tokens().await.unwrap(), {
        let mut v = vec![t1.clone(), t2.clone()];
        v.sort_by_key(|t| t.id);
        v
    });

    // A token created already revoked is never found.
    let mut dead = token("dead", None);
    dead.revoked_at = Some(at(50));
    store.create_token(&dead, "hash-dead").await.unwrap();
    assert_eq!(store.find_token("hash-dead").await.unwrap(), None);
    assert_eq!(store.list_tokens().await.unwrap().len(), 3);
}

async fn token_touch_and_revoke(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = token("ci", None);
    store.create_token(&t, "hash").await.unwrap();
    let now = at(1000);

    store.touch_token(t.id, now).await.unwrap();
    let found = store.find_token("hash").await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(now));

    // Within a minute: not written again.
    store
        .touch_token(t.id, now + Duration::seconds(59))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_token("hash")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(now)
    );
    // Exactly a minute later is not older than a minute either.
    store
        .touch_token(t.id, now + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_token("hash")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(now)
    );
    // After a minute and a microsecond: written.
    let later = now + Duration::seconds(60) + Duration::microseconds(1);
    store.touch_token(t.id, later).await.unwrap();
    assert_eq!(
        store
            .find_token("hash")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(later)
    );
    // Touching an unknown token is harmless.
    store.touch_token(Uuid::now_v7(), later).await.unwrap();

    let revoked = at(2000);
    store.revoke_token(t.id, revoked).await.unwrap();
    assert_eq!(store.find_token("hash").await.unwrap(), None);
    // Revoking again keeps the first time.
    store.revoke_token(t.id, at(3000)).await.unwrap();
    let listed = store.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(revoked));
    assert_eq!(listed[0].last_used_at, Some(later));
    assert_eq!(
        listed[0],
        tandem_domain::user::ApiToken {
            last_used_at: Some(later),
            revoked_at: Some(revoked),
            ..t.clone()
        }
    );

    assert_not_found(store.revoke_token(Uuid::now_v7(), revoked).await, "token");
}

async fn sessions(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let ana = user("ana", Role::Member);
    store.create_user(&ana, "h").await.unwrap();
    let now = base();
    let expires = now + Duration::minutes(30);

    store
        .create_session("s1", ana.id, now, expires)
        .await
        .unwrap();
    assert_eq!(
        store.find_session_user("s1", now).await.unwrap(),
        Some(ana.clone())
    );
    let just_before = expires - Duration::microseconds(1);
    assert_eq!(
        store.find_session_user("s1", just_before).await.unwrap(),
        Some(ana.clone())
    );
    // Expired at expires_at exactly, and after.
    assert_eq!(store.find_session_user("s1", expires).await.unwrap(), None);
    assert_eq!(
        store
            .find_session_user("s1", expires + Duration::days(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.find_session_user("unknown", now).await.unwrap(), None);

    store.delete_session("s1").await.unwrap();
    assert_eq!(store.find_session_user("s1", now).await.unwrap(), None);
    store
        .delete_session("s1")
        .await
        .expect("deleting twice is harmless");

    // Creating a session sweeps expired ones.
    store
        .create_session("old", ana.id, now, now + Duration::seconds(1))
        .await
        .unwrap();
    store
        .create_session("new", ana.id, now + Duration::seconds(2), expires)
        .await
        .unwrap();
    assert_eq!(
        store.find_session_user("old", now).await.unwrap(),
        None,
        "swept"
    );
    assert_eq!(
        store.find_session_user("new", now).await.unwrap(),
        Some(ana.clone())
    );

    // A disabled user's session does not authenticate.
    let bo = user("bo", Role::Member);
    store.create_user(&bo, "h").await.unwrap();
    store.set_user_disabled("bo", true).await.unwrap();
    store
        .create_session("s-bo", bo.id, now, expires)
        .await
        .unwrap();
    assert_eq!(store.find_session_user("s-bo", now).await.unwrap(), None);
}
