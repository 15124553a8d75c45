//! Requests through Slack and e-mail (migration 0021): a received e-mail is
//! stored once per Message-ID, leased to one replica, finished once; threads
//! find their request; IMAP cursors only move forward under one UIDVALIDITY.

use tandem_domain::intake::{InboundMail, MailSource, MailState};
use tandem_domain::priority::Matrix;
use tandem_domain::request::{NewRequest, RequestSource};
use tandem_store::{EngineKind, Store};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    an_email_is_stored_once_and_worked_on_once,
    threads_cursors_and_contacts
);

/// A stored request (e-mails and threads point at one).
async fn a_request(store: &Store, key: &str) -> Uuid {
    let t = team(key);
    store.create_team(&t).await.unwrap();
    let mut new = NewRequest::new(t.id, "Export", "ana@example.com", RequestSource::Email);
    new.reply.email_address = Some("ana@example.com".into());
    let r = new
        .into_request(Uuid::now_v7(), at(0), &Matrix::default())
        .unwrap();
    store.create_request(&r, &[]).await.unwrap();
    r.id
}

fn mail(key: &str) -> InboundMail {
    InboundMail {
        id: id(),
        dedupe_key: key.to_owned(),
        message_id: Some(key.to_owned()),
        source: MailSource::Imap,
        sender: "alice@example.com".into(),
        subject: "Export".into(),
        raw: b"Subject: Export\r\n\r\n\xff bytes".to_vec(),
        state: MailState::Received,
        error: String::new(),
        request_id: None,
        team: Some("pay".into()),
        received_at: at(0),
    }
}

async fn an_email_is_stored_once_and_worked_on_once(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let m = mail("a@x");
    assert_eq!(
        store.insert_inbound_mail(&m, at(60)).await.unwrap(),
        Some(m.id)
    );
    // The same Message-ID again (another replica, a restart): nothing.
    assert_eq!(
        store
            .insert_inbound_mail(&mail("a@x"), at(60))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.inbound_mail(m.id).await.unwrap().unwrap(), m);
    // Leased: not abandoned, not claimable until the lease ran out.
    assert!(
        store
            .abandoned_inbound_mails(at(30))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .claim_inbound_mail(m.id, at(30), at(90))
            .await
            .unwrap()
    );
    assert_eq!(
        store.abandoned_inbound_mails(at(61)).await.unwrap(),
        vec![m.id]
    );
    assert!(
        store
            .claim_inbound_mail(m.id, at(61), at(120))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_inbound_mail(m.id, at(62), at(120))
            .await
            .unwrap()
    );

    let request = a_request(&store, "pay").await;
    assert!(
        store
            .finish_inbound_mail(m.id, MailState::Request, "", Some(request))
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_inbound_mail(m.id, MailState::Broken, "late", None)
            .await
            .unwrap()
    );
    let done = store.inbound_mail(m.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.request_id),
        (MailState::Request, Some(request))
    );
    assert!(
        store
            .abandoned_inbound_mails(at(9999))
            .await
            .unwrap()
            .is_empty()
    );

    let b = mail("b@x");
    store.insert_inbound_mail(&b, at(60)).await.unwrap();
    store
        .finish_inbound_mail(b.id, MailState::Broken, "no sender", None)
        .await
        .unwrap();
    let broken = store
        .inbound_mails(Some(MailState::Broken), 10)
        .await
        .unwrap();
    assert_eq!(broken.len(), 1);
    assert_eq!(
        (broken[0].id, broken[0].error.as_str()),
        (b.id, "no sender")
    );
    assert_eq!(broken[0].raw, b.raw, "kept byte for byte");
    assert_eq!(store.inbound_mails(None, 10).await.unwrap().len(), 2);
}

async fn threads_cursors_and_contacts(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let r = a_request(&store, "pay").await;
    let other = a_request(&store, "ops").await;
    store.add_mail_thread_id("m1@x", r, at(0)).await.unwrap();
    store
        .add_mail_thread_id("m1@x", other, at(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .mail_thread_request(&["nope@x".into(), "m1@x".into()])
            .await
            .unwrap(),
        Some(r)
    );
    assert_eq!(
        store.mail_thread_request(&["nope@x".into()]).await.unwrap(),
        None
    );

    assert_eq!(store.imap_cursor("box").await.unwrap(), None);
    store
        .advance_imap_cursor("box", 7, 10, at(0))
        .await
        .unwrap();
    store.advance_imap_cursor("box", 7, 4, at(1)).await.unwrap();
    assert_eq!(store.imap_cursor("box").await.unwrap(), Some((7, 10)));
    store.advance_imap_cursor("box", 8, 2, at(2)).await.unwrap();
    assert_eq!(store.imap_cursor("box").await.unwrap(), Some((8, 2)));
}
