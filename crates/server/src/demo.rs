//! Loading the demo organisation (`tandem demo`, `tandem serve --demo`).
//!
//! The domain generates the organisation; it is loaded through the dump
//! importer, so it is validated and written in one transaction: a database
//! gets all of it or none of it.

use chrono::NaiveDate;
use serde_json::json;
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
    let mut lines = vec![json!({"format": tandem_store::EXPORT_FORMAT, "version": 1})];
    let mut push =
        |kind: &str, data: serde_json::Value| lines.push(json!({"type": kind, "data": data}));
    for t in &org.teams {
        push("team", json!(t));
    }
    for u in &org.users {
        let mut v = json!(u.user);
        v["password_hash"] = json!(hash);
        push("user", v);
    }
    for (team_id, user_id) in &org.memberships {
        push(
            "membership",
            json!({"team_id": team_id, "user_id": user_id}),
        );
    }
    for p in &org.projects {
        push("project", json!(p));
    }
    for m in &org.metrics {
        push("metric", json!(m));
    }
    for g in &org.goals {
        push("goal", json!(g));
    }
    for v in &org.goal_versions {
        push("goal_version", json!(v));
    }
    for s in &org.stages {
        push("stage", json!(s));
    }
    for w in &org.work_items {
        push("work_item", json!(w));
    }
    for r in &org.risks {
        push("risk", json!(r));
    }
    for d in &org.decisions {
        push("decision", json!(d));
    }
    for p in &org.points {
        push("metric_point", json!(p));
    }
    let mut text = String::new();
    for line in lines {
        text.push_str(&line.to_string());
        text.push('\n');
    }
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
