use tandem_store::{ConnectOptions, EngineKind, IdPrefix, IdTable, Store, StoreError};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::{bare_goal, item, team};

per_engine!(
    ping_and_migrate_twice,
    connect_refuses_empty_sqlite_path,
    connect_names_what_is_wrong,
    ids_are_found_by_their_prefix
);

async fn ping_and_migrate_twice(engine: EngineKind) {
    let (store, db) = fresh_store(engine).await;
    assert_eq!(store.engine(), engine);
    assert_eq!(
        engine.as_str(),
        if engine == EngineKind::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    store.ping().await.expect("ping a fresh store");

    // fresh_store migrated once already; migrating again changes nothing.
    store.migrate().await.expect("second migration");
    store.migrate().await.expect("third migration");
    store.ping().await.expect("ping after migrating again");
    assert_eq!(store.count_users().await.unwrap(), 0);

    // A second handle on the same database sees it migrated and can migrate again.
    let other = Store::connect(&db.url, &ConnectOptions::default())
        .await
        .unwrap();
    other.migrate().await.expect("migrate from a second handle");
    other.ping().await.unwrap();
    assert_eq!(other.engine(), engine);
    other.close().await;

    store.close().await;
}

async fn connect_refuses_empty_sqlite_path(engine: EngineKind) {
    // Engine-independent configuration errors, checked once per engine run.
    let _ = engine;
    for url in ["sqlite://", "sqlite:", ""] {
        match Store::connect(url, &ConnectOptions::default()).await {
            Err(StoreError::Config(message)) => assert!(message.contains("SQLite"), "{message}"),
            other => panic!("{url:?} should be refused, got {other:?}"),
        }
    }
    match Store::connect("postgres://user@[bad", &ConnectOptions::default()).await {
        Err(StoreError::Config(message)) => assert!(message.contains("PostgreSQL"), "{message}"),
        other => panic!("a malformed PostgreSQL URL should be refused, got {other:?}"),
    }
}

async fn connect_names_what_is_wrong(engine: EngineKind) {
    match Store::connect("mysql://u@h/db", &ConnectOptions::default()).await {
        Err(StoreError::Config(message)) => {
            assert!(message.contains("unknown scheme \"mysql\""), "{message}")
        }
        other => panic!("an unknown scheme should be refused, got {other:?}"),
    }
    match engine {
        EngineKind::Sqlite => {
            // Without create_if_missing a missing file is named, and not created.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("absent.db");
            let url = format!("sqlite://{}", path.display());
            let options = ConnectOptions {
                create_if_missing: false,
                ..ConnectOptions::default()
            };
            match Store::connect(&url, &options).await {
                Err(e @ StoreError::NoDatabase(_)) => {
                    let message = e.to_string();
                    assert!(message.contains(&path.display().to_string()), "{message}");
                    assert!(message.contains("tandem migrate"), "{message}");
                }
                other => panic!("a missing file should be refused, got {other:?}"),
            }
            assert!(
                !path.exists(),
                "the refused connect created {}",
                path.display()
            );
        }
        EngineKind::Postgres => {
            // Port 1 on loopback has no server: refused at once, named.
            match Store::connect(
                "postgres://postgres@127.0.0.1:1/x",
                &ConnectOptions::default(),
            )
            .await
            {
                Err(StoreError::Unreachable(message)) => assert!(
                    message.contains("connection refused at 127.0.0.1:1"),
                    "{message}"
                ),
                other => panic!("a refused connection should be named, got {other:?}"),
            }
        }
    }
}

async fn ids_are_found_by_their_prefix(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    // Two goals whose ids share their first 12 hex digits, one apart.
    let mut first = bare_goal(t.id);
    first.id = Uuid::parse_str("0190aaaa-bbbb-7ccc-8ddd-000000000001").unwrap();
    let mut second = bare_goal(t.id);
    second.id = Uuid::parse_str("0190aaaa-bbbb-7ccc-8ddd-000000000002").unwrap();
    store.create_goal(&first).await.unwrap();
    store.create_goal(&second).await.unwrap();
    let w = item(t.id);
    store.create_work_item(&w).await.unwrap();

    let both = store
        .ids_with_prefix(IdTable::Goals, &prefix("0190aaaabbbb"), 10)
        .await
        .unwrap();
    assert_eq!(both, vec![first.id, second.id]);
    let one = store
        .ids_with_prefix(
            IdTable::Goals,
            &prefix("0190aaaabbbb7ccc8ddd000000000002"),
            10,
        )
        .await
        .unwrap();
    assert_eq!(one, vec![second.id]);
    let limited = store
        .ids_with_prefix(IdTable::Goals, &prefix("0190"), 1)
        .await
        .unwrap();
    assert_eq!(limited, vec![first.id]);
    assert!(
        store
            .ids_with_prefix(IdTable::Goals, &prefix("ffff"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let hex = w.id.simple().to_string();
    assert_eq!(
        store
            .ids_with_prefix(IdTable::WorkItems, &prefix(&hex[..10]), 10)
            .await
            .unwrap(),
        vec![w.id]
    );
    // Dashes and case do not matter; only hexadecimal digits are a prefix,
    // so nothing else reaches SQL.
    assert_eq!(
        IdPrefix::parse("0190AAAA-bb").unwrap().as_str(),
        "0190aaaabb"
    );
    for text in ["01%", "019", "PAY-12", &"0".repeat(33)] {
        assert_eq!(IdPrefix::parse(text), None, "{text}");
    }
    store.close().await;
}

fn prefix(text: &str) -> IdPrefix {
    IdPrefix::parse(text).unwrap()
}
