use tandem_store::{ConnectOptions, EngineKind, Store, StoreError};
use tandem_testkit::{fresh_store, per_engine};

per_engine!(ping_and_migrate_twice, connect_refuses_empty_sqlite_path);

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
