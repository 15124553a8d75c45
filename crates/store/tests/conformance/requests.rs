use chrono::Duration;
use tandem_domain::priority::Matrix;
use tandem_domain::request::{
    DecisionInput, NewRequest, Notification, NotificationKind, Request, RequestDecisionKind,
    RequestSource, RequestStatus,
};
use tandem_domain::work_item::Priority;
use tandem_store::{EngineKind, RequestFilter, RequestWrites, StoreError};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    request_crud_and_filters,
    request_decisions_are_optimistic_and_atomic,
    request_outbox_claims_once
);

fn request(team_id: Uuid, source: RequestSource, seconds: i64) -> Request {
    let mut n = NewRequest::new(team_id, "Export invoices", "lee@example.com", source);
    n.reply.email_address = Some("lee@example.com".into());
    n.reply.email_message_id = Some(format!("<{seconds}@example.com>"));
    n.reply.slack_channel = Some("C1".into());
    n.answers.business_goal = Some("Close the books sooner".into());
    n.external_id = Some(format!("ext-{seconds}"));
    n.into_request(Uuid::now_v7(), at(seconds), &Matrix::default())
        .unwrap()
}

fn decision_input(kind: RequestDecisionKind) -> DecisionInput {
    DecisionInput {
        kind,
        reason: "capacity".into(),
        postponed_until: None,
        duplicate_of: None,
        version: None,
        priority: None,
        size: None,
        size_max: None,
    }
}

async fn request_crud_and_filters(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    let t2 = team("growth");
    store.create_team(&t).await.unwrap();
    store.create_team(&t2).await.unwrap();

    let r = request(t.id, RequestSource::Email, 10);
    let n = Notification::about(&r, NotificationKind::Received, Uuid::now_v7(), at(10));
    store
        .create_request(&r, std::slice::from_ref(&n))
        .await
        .unwrap();
    assert_eq!(store.get_request(r.id).await.unwrap(), r);
    assert_eq!(
        store.list_request_notifications(r.id).await.unwrap(),
        vec![n]
    );
    assert_eq!(
        store
            .find_request_by_external_id(RequestSource::Email, "ext-10")
            .await
            .unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store
            .find_request_by_external_id(RequestSource::Slack, "ext-10")
            .await
            .unwrap(),
        None
    );
    // The same channel id twice from one source.
    let mut again = request(t.id, RequestSource::Email, 10);
    again.id = Uuid::now_v7();
    assert_conflict(store.create_request(&again, &[]).await, "external_id");
    // Unknown team and user.
    assert_missing(
        store
            .create_request(&request(Uuid::now_v7(), RequestSource::Web, 11), &[])
            .await,
        "team_id",
    );
    let mut ghost = request(t.id, RequestSource::Web, 12);
    ghost.requester_user_id = Some(Uuid::now_v7());
    assert_missing(store.create_request(&ghost, &[]).await, "requester_user_id");
    assert_not_found(store.get_request(Uuid::now_v7()).await, "request");

    let mut slack = request(t2.id, RequestSource::Slack, 20);
    slack.priority = Priority::P0;
    store.create_request(&slack, &[]).await.unwrap();
    let web = request(t.id, RequestSource::Web, 30);
    store.create_request(&web, &[]).await.unwrap();
    let decided = web
        .decide(
            &decision_input(RequestDecisionKind::Decline),
            "maria",
            at(40),
        )
        .unwrap();
    store
        .save_request(&decided, web.version, RequestWrites::default())
        .await
        .unwrap();

    let ids = |f: RequestFilter| {
        let store = store.clone();
        async move {
            store
                .list_requests(&f)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(RequestFilter::default()).await,
        vec![r.id, slack.id, web.id]
    );
    let by_team = RequestFilter {
        team_id: Some(t.id),
        ..RequestFilter::default()
    };
    assert_eq!(ids(by_team).await, vec![r.id, web.id]);
    let by_source = RequestFilter {
        source: Some(RequestSource::Slack),
        ..RequestFilter::default()
    };
    assert_eq!(ids(by_source).await, vec![slack.id]);
    let by_priority = RequestFilter {
        priority: Some(Priority::P0),
        ..RequestFilter::default()
    };
    assert_eq!(ids(by_priority).await, vec![slack.id]);
    let pending = RequestFilter {
        statuses: vec![RequestStatus::Waiting, RequestStatus::NeedsInfo],
        ..RequestFilter::default()
    };
    assert_eq!(ids(pending).await, vec![r.id, slack.id]);
    let declined = RequestFilter {
        statuses: vec![RequestStatus::Declined],
        ..RequestFilter::default()
    };
    assert_eq!(ids(declined).await, vec![web.id]);
    let window = RequestFilter {
        since: Some(at(20)),
        until: Some(at(30)),
        ..RequestFilter::default()
    };
    assert_eq!(ids(window).await, vec![slack.id]);
    let paged = store
        .list_requests(&RequestFilter {
            limit: 2,
            ..RequestFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(paged.items.len(), 2);
    assert_eq!(
        ids(RequestFilter {
            after: paged.next_cursor,
            ..RequestFilter::default()
        })
        .await,
        vec![web.id]
    );
}

async fn request_decisions_are_optimistic_and_atomic(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let r = request(t.id, RequestSource::Web, 10);
    store.create_request(&r, &[]).await.unwrap();

    // The first decision wins…
    let first = r
        .decide(
            &decision_input(RequestDecisionKind::Postpone),
            "maria",
            at(20),
        )
        .unwrap();
    let entry = decision(t.id, None);
    let told = Notification::about(&first, NotificationKind::Decided, Uuid::now_v7(), at(20));
    store
        .save_request(
            &first,
            r.version,
            RequestWrites {
                decision: Some(&entry),
                goal: None,
                notifications: std::slice::from_ref(&told),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.get_request(r.id).await.unwrap(), first);
    assert_eq!(store.get_decision(entry.id).await.unwrap(), entry);

    // …a second one computed from the same version is refused, and nothing
    // it carried is stored.
    let second = r
        .decide(&decision_input(RequestDecisionKind::Accept), "bo", at(21))
        .unwrap_err();
    assert_eq!(second.fields().len(), 3, "three questions are unanswered");
    let mut second = r
        .decide(&decision_input(RequestDecisionKind::Decline), "bo", at(21))
        .unwrap();
    second.title = "changed".into();
    let g = goal(t.id, None);
    let entry2 = decision(t.id, Some(g.id));
    let told2 = Notification::about(&second, NotificationKind::Decided, Uuid::now_v7(), at(21));
    let stale = store
        .save_request(
            &second,
            r.version,
            RequestWrites {
                decision: Some(&entry2),
                goal: Some(&g),
                notifications: std::slice::from_ref(&told2),
            },
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Stale(_))), "{stale:?}");
    assert_eq!(store.get_request(r.id).await.unwrap(), first);
    assert_not_found(store.get_decision(entry2.id).await, "decision");
    assert_not_found(store.get_goal(g.id).await, "goal");
    assert_eq!(
        store.list_request_notifications(r.id).await.unwrap(),
        vec![told]
    );

    // A merge must name an existing request; a goal and entry go with an
    // acceptance in one transaction.
    let mut dup_input = decision_input(RequestDecisionKind::Duplicate);
    dup_input.duplicate_of = Some(Uuid::now_v7());
    let dup = first.decide(&dup_input, "maria", at(30)).unwrap();
    let res = store
        .save_request(&dup, first.version, RequestWrites::default())
        .await;
    match res {
        Err(StoreError::MissingReference { field, .. }) => assert_eq!(field, "duplicate_of"),
        other => panic!("expected a missing duplicate_of, got {other:?}"),
    }
    assert_eq!(store.get_request(r.id).await.unwrap(), first);
    let mut unknown = first.clone();
    unknown.id = Uuid::now_v7();
    assert_not_found(
        store
            .save_request(&unknown, 2, RequestWrites::default())
            .await,
        "request",
    );
    let mut answered = first.clone();
    answered.answers.success_measure = Some("3 days".into());
    answered.answers.deadline = Some("June".into());
    answered.answers.if_not_done = Some("manual".into());
    let accepted = answered
        .decide(
            &decision_input(RequestDecisionKind::Accept),
            "maria",
            at(40),
        )
        .unwrap();
    let g = goal(t.id, None);
    let entry3 = decision(t.id, Some(g.id));
    store
        .save_request(
            &accepted,
            first.version,
            RequestWrites {
                decision: Some(&entry3),
                goal: Some(&g),
                notifications: &[],
            },
        )
        .await
        .unwrap();
    assert_eq!(store.get_request(r.id).await.unwrap(), accepted);
    assert_eq!(store.get_goal(g.id).await.unwrap(), g);
    assert_eq!(
        store.get_decision(entry3.id).await.unwrap().goal_id,
        Some(g.id)
    );
}

async fn request_outbox_claims_once(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let mail = request(t.id, RequestSource::Email, 10);
    let m1 = Notification::about(&mail, NotificationKind::Received, Uuid::now_v7(), at(10));
    store
        .create_request(&mail, std::slice::from_ref(&m1))
        .await
        .unwrap();
    let slack = request(t.id, RequestSource::Slack, 11);
    let s1 = Notification::about(&slack, NotificationKind::Received, Uuid::now_v7(), at(11));
    store
        .create_request(&slack, std::slice::from_ref(&s1))
        .await
        .unwrap();

    let now = at(100);
    let lease = now + Duration::seconds(60);
    let got = store
        .claim_request_notification(RequestSource::Email, now, lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, m1.id);
    assert_eq!(got.attempts, 1);
    assert_eq!(
        got.reply.email_message_id.as_deref(),
        Some("<10@example.com>")
    );
    // Held: nobody else gets it until the lease ends.
    assert_eq!(
        store
            .claim_request_notification(RequestSource::Email, now, lease)
            .await
            .unwrap(),
        None
    );
    store
        .mark_request_notification_failed(m1.id, "smtp: 451 try later")
        .await
        .unwrap();
    let later = lease + Duration::seconds(1);
    let again = store
        .claim_request_notification(RequestSource::Email, later, later + Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (m1.id, 2));
    assert_eq!(again.last_error.as_deref(), Some("smtp: 451 try later"));
    store
        .mark_request_notification_delivered(m1.id, later)
        .await
        .unwrap();
    let far = later + Duration::days(1);
    assert_eq!(
        store
            .claim_request_notification(RequestSource::Email, far, far)
            .await
            .unwrap(),
        None
    );
    let stored = store.list_request_notifications(mail.id).await.unwrap();
    assert_eq!(stored[0].delivered_at, Some(later));
    // Slack's outbox is its own.
    assert_eq!(
        store
            .claim_request_notification(RequestSource::Slack, now, lease)
            .await
            .unwrap()
            .map(|n| n.id),
        Some(s1.id)
    );
    assert_not_found(
        store
            .mark_request_notification_delivered(Uuid::now_v7(), now)
            .await,
        "notification",
    );
}
