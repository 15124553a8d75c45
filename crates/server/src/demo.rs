//! Loading the demo organisation (`tandem demo`, `tandem serve --demo`).
//!
//! The domain generates the organisation; it is loaded through the dump
//! importer, so it is validated and written in one transaction: a database
//! gets all of it or none of it.

use chrono::NaiveDate;
use tandem_domain::demo;
use tandem_store::{ListQuery, Store};

use crate::auth;

/// The password of every demo user (they exist to try Tandem; the admin's
/// password is separate and never this).
pub const DEMO_PASSWORD: &str = "tandem-demo-password";

#[derive(Debug)]
pub enum DemoOutcome {
    Loaded {
        teams: usize,
        work_items: usize,
        users: Vec<(String, String)>,
    },
    /// The database already has teams; nothing was loaded.
    NotEmpty,
}

/// Loads the demo organisation, dated relative to `today`, into an empty
/// database (one without teams).
pub async fn load(store: &Store, today: NaiveDate) -> anyhow::Result<DemoOutcome> {
    let q = ListQuery {
        limit: 1,
        ..ListQuery::default()
    };
    if !store.list_teams(&q).await?.items.is_empty() {
        return Ok(DemoOutcome::NotEmpty);
    }
    let org = demo::organisation(today);
    let hash = auth::hash_password(DEMO_PASSWORD)?;
    let text = tandem_store::demo_dump(&org, &hash);
    store.import_dump(&mut text.as_bytes()).await?;
    Ok(DemoOutcome::Loaded {
        teams: org.teams.len(),
        work_items: org.work_items.len(),
        users: org
            .users
            .iter()
            .map(|u| (u.user.username.clone(), u.user.role.to_string()))
            .collect(),
    })
}
