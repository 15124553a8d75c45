//! Fresh, migrated databases for tests, on either engine.
//!
//! PostgreSQL tests never skip: when the server cannot be reached the test
//! fails with a message saying how to start it. The server is found at
//! `TANDEM_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test gets its own database named `tandem_test_<uuid>`, which
//! `scripts/test.sh` drops before the next run.
//!
//! [`slack`] is the one local stand-in for Slack's Web API the tests share,
//! [`smtp`] the one SMTP sink.

pub mod s3;
pub mod slack;
pub mod smtp;

use tandem_store::{ConnectOptions, EngineKind, Store};

/// The admin URL of the PostgreSQL server used by tests.
pub fn pg_admin_url() -> String {
    std::env::var("TANDEM_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that lives as long as this value (SQLite) or until the next
/// test run's clean-up (PostgreSQL).
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub engine: EngineKind,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates an empty database (not migrated) and returns its URL.
    pub async fn new(engine: EngineKind) -> TestDb {
        match engine {
            EngineKind::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("tandem.db").display());
                TestDb {
                    url,
                    engine,
                    _dir: Some(dir),
                }
            }
            EngineKind::Postgres => {
                let admin = pg_admin_url();
                let name = format!("tandem_test_{}", uuid::Uuid::now_v7().simple());
                let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the PostgreSQL half of the suite and is not reachable at {admin}: {e}. \
                         Start it (scripts/test.sh does) or set TANDEM_TEST_PG_URL."
                    )
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .expect("create a test database");
                pool.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                TestDb {
                    url: format!("{base}/{name}"),
                    engine,
                    _dir: None,
                }
            }
        }
    }

    /// Connects to this database and applies the migrations.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &ConnectOptions::default())
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

/// A fresh migrated store and the database that backs it.
pub async fn fresh_store(engine: EngineKind) -> (Store, TestDb) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    (store, db)
}

/// Declares one test per engine from an async function taking an
/// `EngineKind`: `per_engine!(creates_teams);` makes `creates_teams::sqlite`
/// and `creates_teams::postgres`.
#[macro_export]
macro_rules! per_engine {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::EngineKindReexport::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::EngineKindReexport::Postgres).await;
                }
            }
        )+
    };
}

#[doc(hidden)]
pub use tandem_store::EngineKind as EngineKindReexport;
