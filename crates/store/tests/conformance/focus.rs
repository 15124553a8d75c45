//! Team policies and calendar feeds (issue 15) on both engines: a policy
//! round-trips and is replaced; a failed refresh keeps the last good body,
//! ETag and warnings; the refresh lease is exclusive until it runs out.

use tandem_domain::calendar::CalendarFeed;
use tandem_domain::policy::{Day, TeamPolicy};
use tandem_store::{EngineKind, StoreError};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(policy_round_trip, feeds_keep_the_last_good_data);

async fn policy_round_trip(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    assert_eq!(store.team_policy(t.id).await.unwrap(), None);
    let mut p = TeamPolicy::default();
    store.put_team_policy(t.id, &p, base()).await.unwrap();
    assert_eq!(store.team_policy(t.id).await.unwrap(), Some(p.clone()));
    p.no_meeting_day = Some(Day::Wed);
    store.put_team_policy(t.id, &p, at(60)).await.unwrap();
    assert_eq!(store.team_policy(t.id).await.unwrap(), Some(p.clone()));
    let e = store
        .put_team_policy(Uuid::now_v7(), &p, base())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
}

async fn feeds_keep_the_last_good_data(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let f = CalendarFeed {
        id: Uuid::now_v7(),
        team_id: t.id,
        user_id: None,
        source: "https://calendar.example/team.ics".into(),
        etag: None,
        warnings: vec![],
        last_error: None,
        fetched_at: None,
        ok_at: None,
        created_at: base(),
    };
    store.create_calendar_feed(&f).await.unwrap();
    assert_eq!(store.get_calendar_feed(f.id).await.unwrap(), f);
    let dup = CalendarFeed {
        id: Uuid::now_v7(),
        ..f.clone()
    };
    assert!(matches!(
        store.create_calendar_feed(&dup).await.unwrap_err(),
        StoreError::Conflict { .. }
    ));
    assert!(store.calendar_bodies(t.id).await.unwrap().is_empty());

    // The lease: one owner at a time until it runs out.
    assert!(
        store
            .claim_calendar_feed(f.id, "a", at(0), at(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_calendar_feed(f.id, "b", at(30), at(90))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_calendar_feed(f.id, "b", at(61), at(120))
            .await
            .unwrap()
    );

    let warnings = vec!["line 9: capped".to_owned()];
    store
        .record_calendar_refresh(
            f.id,
            Ok(Some(("BEGIN:VCALENDAR", Some("\"v1\""), &warnings))),
            at(70),
        )
        .await
        .unwrap();
    // Released: anyone may claim again.
    assert!(
        store
            .claim_calendar_feed(f.id, "a", at(71), at(130))
            .await
            .unwrap()
    );
    store
        .record_calendar_refresh(f.id, Err("line 4: DTSTART \"x\" is not a date"), at(80))
        .await
        .unwrap();
    let got = store.get_calendar_feed(f.id).await.unwrap();
    assert_eq!(got.etag.as_deref(), Some("\"v1\""));
    assert_eq!(got.warnings, warnings);
    assert_eq!(
        got.last_error.as_deref(),
        Some("line 4: DTSTART \"x\" is not a date")
    );
    assert_eq!(got.ok_at, Some(at(70)));
    assert_eq!(got.fetched_at, Some(at(80)));
    let bodies = store.calendar_bodies(t.id).await.unwrap();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].1, "BEGIN:VCALENDAR");
    // Not modified: clears the error, keeps the body.
    store
        .record_calendar_refresh(f.id, Ok(None), at(90))
        .await
        .unwrap();
    let got = store.get_calendar_feed(f.id).await.unwrap();
    assert_eq!((got.last_error, got.ok_at), (None, Some(at(90))));
    assert_eq!(
        store.list_calendar_feeds(Some(t.id)).await.unwrap().len(),
        1
    );
    store.delete_calendar_feed(f.id).await.unwrap();
    assert!(store.list_calendar_feeds(None).await.unwrap().is_empty());
}
