//! Loading the demo organisation (`tandem demo`, `tandem serve --demo`).
//!
//! `tandem-demo` generates the organisation; it is loaded through the dump
//! importer, so it is validated and written in one transaction: a database
//! gets all of it or none of it.

use chrono::NaiveDate;
use tandem_demo as demo;
use tandem_domain::engineering::Record;
use tandem_domain::pulse::AnswerInput;
use tandem_store::{ListQuery, Store};

use crate::credentials as auth;

/// The password of every demo user (they exist to try Tandem; the admin's
/// password is separate and never this).
pub const DEMO_PASSWORD: &str = "tandem-demo-password";

#[derive(Debug)]
pub enum DemoOutcome {
    Loaded {
        teams: usize,
        work_items: usize,
        deployments: usize,
        users: Vec<(String, String)>,
    },
    /// The database already has teams; nothing was loaded.
    NotEmpty,
}

/// Loads the demo organisation with its engineering history (commits, pull
/// requests, deployments, incidents; attributed, so delivery metrics are
/// ready), dated relative to `today`, into an empty database (one without
/// teams).
pub async fn load(store: &Store, today: NaiveDate) -> anyhow::Result<DemoOutcome> {
    load_parts(store, today, true).await
}

/// Loads only the organisation (teams, people, goals, work, metrics, risks),
/// without the engineering history: quicker, for tests that do not look at
/// delivery metrics.
pub async fn load_organisation(store: &Store, today: NaiveDate) -> anyhow::Result<DemoOutcome> {
    load_parts(store, today, false).await
}

async fn load_parts(
    store: &Store,
    today: NaiveDate,
    with_engineering: bool,
) -> anyhow::Result<DemoOutcome> {
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
    let deployments = if with_engineering {
        let n = load_engineering(store, today, &org)
            .await?
            .deployments
            .len();
        load_pulse(store, today, &org).await?;
        n
    } else {
        0
    };
    Ok(DemoOutcome::Loaded {
        teams: org.teams.len(),
        work_items: org.work_items.len(),
        deployments,
        users: org
            .users
            .iter()
            .map(|u| (u.user.username.clone(), u.user.role.to_string()))
            .collect(),
    })
}

/// Gives the demo's pulse answers (`tandem_demo::pulse`) through the
/// app's own answer path, each at its time, then closes the weeks that
/// ended before `today`: the answers are stored without identity, as a
/// real team's are, and the pulse trend has weeks to show.
async fn load_pulse(store: &Store, today: NaiveDate, org: &demo::Demo) -> anyhow::Result<()> {
    let answers = demo::pulse::answers(today, org);
    for a in &answers {
        let team = org
            .teams
            .iter()
            .find(|t| t.id == a.team_id)
            .ok_or_else(|| anyhow::anyhow!("a demo pulse answer names no demo team"))?;
        let user = org
            .users
            .iter()
            .find(|u| u.user.id == a.user_id)
            .ok_or_else(|| anyhow::anyhow!("a demo pulse answer names no demo user"))?;
        let input = AnswerInput {
            workload: a.workload,
            focus: a.focus,
            note: a.note.map(str::to_owned),
        };
        crate::pulse::answer(store, &team.key, &user.user, &input, a.at).await?;
    }
    let midnight = today.and_time(chrono::NaiveTime::MIN).and_utc();
    for team in &org.teams {
        crate::pulse::close_ended(store, team, midnight).await?;
    }
    Ok(())
}

/// Stores the demo's engineering history (commits, pull requests, reviews,
/// pipelines, deployments, incidents, monorepo scopes) through the same
/// store writes the importers and webhooks use, then attributes every
/// deployment's commits so delivery metrics are ready at once.
async fn load_engineering(
    store: &Store,
    today: NaiveDate,
    org: &demo::Demo,
) -> anyhow::Result<demo::engineering::Engineering> {
    let team_ids: Vec<_> = org.teams.iter().map(|t| t.id).collect();
    let e = demo::engineering::engineering(today, &team_ids, &org.projects);
    store.upsert_commits(&e.commits).await?;
    let mut records: Vec<Record> = Vec::new();
    records.extend(e.pull_requests.iter().cloned().map(Record::PullRequest));
    records.extend(
        e.reviews
            .iter()
            .map(|(repo, number, review)| Record::Review {
                repo: repo.clone(),
                number: *number,
                review: review.clone(),
            }),
    );
    records.extend(e.pipelines.iter().cloned().map(Record::Pipeline));
    records.extend(e.deployments.iter().cloned().map(Record::Deployment));
    records.extend(e.incidents.iter().cloned().map(Record::Incident));
    store.upsert_records(&records).await?;
    for s in &e.scopes {
        store
            .set_service_scope(s.project_id, &s.service, &s.repo, &s.path_prefixes)
            .await?;
    }
    store.attribute_pending().await?;
    Ok(e)
}
