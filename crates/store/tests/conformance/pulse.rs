//! The team pulse's storage (ADR 0028) on both engines: a configuration
//! round-trips; an answer under the same key replaces the earlier one; a
//! closed week has no salt, refuses answers and notes, and its answers lose
//! their keys; sending a week's messages is claimed once.

use tandem_domain::pulse::{Answer, PulseConfig};
use tandem_store::{EngineKind, PulseWrite, StoreError};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(pulse_answers_replace_and_close);

fn answer(w: u8, f: u8) -> Answer {
    Answer {
        workload: w,
        focus: f,
        note: None,
    }
}

async fn pulse_answers_replace_and_close(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();

    assert_eq!(store.pulse_config(t.id).await.unwrap(), None);
    let c = PulseConfig {
        enabled: true,
        min_answers: 4,
        ..PulseConfig::default()
    };
    store.put_pulse_config(t.id, &c, base()).await.unwrap();
    assert_eq!(store.pulse_config(t.id).await.unwrap(), Some(c.clone()));
    let e = store
        .put_pulse_config(Uuid::now_v7(), &c, base())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");

    // The first salt stays; a second "fresh" one is not used.
    let salt = store.pulse_salt(t.id, "2026-W49", b"first").await.unwrap();
    assert_eq!(salt.as_deref(), Some(&b"first"[..]));
    let again = store.pulse_salt(t.id, "2026-W49", b"second").await.unwrap();
    assert_eq!(again.as_deref(), Some(&b"first"[..]));

    let w = "2026-W49";
    assert_eq!(
        store
            .put_pulse_answer(t.id, w, "k1", &answer(4, 2))
            .await
            .unwrap(),
        PulseWrite::Added
    );
    assert_eq!(
        store
            .put_pulse_answer(t.id, w, "k2", &answer(2, 4))
            .await
            .unwrap(),
        PulseWrite::Added
    );
    assert_eq!(
        store
            .put_pulse_answer(t.id, w, "k1", &answer(5, 1))
            .await
            .unwrap(),
        PulseWrite::Replaced
    );
    assert!(
        store
            .set_pulse_note(t.id, w, "k2", Some("incidents"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_pulse_note(t.id, w, "nobody", Some("x"))
            .await
            .unwrap()
    );
    assert!(store.has_pulse_answer(t.id, w, "k1").await.unwrap());
    let mut got = store.pulse_answers(t.id, w).await.unwrap();
    got.sort_by_key(|a| a.workload);
    assert_eq!(
        got,
        [
            Answer {
                workload: 2,
                focus: 4,
                note: Some("incidents".into())
            },
            answer(5, 1)
        ]
    );
    // Several weeks in one read: each answer with its week, the same as
    // week by week (an empty week has none).
    let mut many = store
        .pulse_answers_of_weeks(t.id, &[w.to_owned(), "2026-W48".to_owned()])
        .await
        .unwrap();
    many.sort_by_key(|(_, a)| a.workload);
    assert_eq!(
        many,
        got.iter()
            .map(|a| (w.to_owned(), a.clone()))
            .collect::<Vec<_>>()
    );
    assert!(
        store
            .pulse_answers_of_weeks(t.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // A week with no row is closed to answers until it has a salt.
    assert_eq!(
        store
            .put_pulse_answer(t.id, "2026-W50", "k1", &answer(3, 3))
            .await
            .unwrap(),
        PulseWrite::Closed
    );

    // Claims: once per week, unless the lease ran out.
    assert!(
        store
            .claim_pulse_ask(t.id, w, b"x", "a", base(), at(600))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_pulse_ask(t.id, w, b"x", "b", at(60), at(660))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_pulse_ask(t.id, w, b"x", "b", at(601), at(1200))
            .await
            .unwrap()
    );
    store
        .finish_pulse_ask(t.id, w, "b", Some(at(700)))
        .await
        .unwrap();
    assert_eq!(store.pulse_asked_at(t.id, w).await.unwrap(), Some(at(700)));
    assert!(
        !store
            .claim_pulse_ask(t.id, w, b"x", "c", at(5000), at(6000))
            .await
            .unwrap()
    );

    // Closing weeks before W50: the salt and the keys are gone, the answers stay.
    assert_eq!(
        store
            .close_pulse_weeks(t.id, "2026-W50", at(9000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .close_pulse_weeks(t.id, "2026-W50", at(9001))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.pulse_salt(t.id, w, b"new").await.unwrap(), None);
    assert!(!store.has_pulse_answer(t.id, w, "k1").await.unwrap());
    assert_eq!(
        store
            .put_pulse_answer(t.id, w, "k1", &answer(1, 1))
            .await
            .unwrap(),
        PulseWrite::Closed
    );
    assert!(!store.set_pulse_note(t.id, w, "k2", None).await.unwrap());
    assert_eq!(store.pulse_answers(t.id, w).await.unwrap().len(), 2);
}
