//! Mapping a stored raw webhook delivery to engineering records, and
//! storing them: what the server's receivers derive on arrival and what
//! `tandem reprocess` derives again after a mapping fix, so both agree.
//!
//! Rules:
//! - No HTTP: signature checks, answers and the batching writer stay in the
//!   server (`webhooks.rs`); this module only maps and stores.
//! - A payload is usable only if it parses as JSON and holds no NUL
//!   character (the two databases cannot store those alike).
//! - Reprocessing is idempotent: running it twice changes nothing more; it
//!   reads the stored deliveries one page (100) at a time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tandem_domain::engineering::{Outcome, Provider, Record};
use tandem_domain::project::Project;
use tandem_domain::webhook::{self, Context, Mapped, PayloadError};
use tandem_store::{RawDeliveryFilter, Store, StoreError};
use uuid::Uuid;

use crate::settings::WebhookSettings;

/// The payload as JSON when it is usable, else the problem in words
/// (stored as the delivery's detail).
pub fn usable(parsed: Result<Value, serde_json::Error>) -> Result<Value, String> {
    parsed
        .map_err(|e| format!("malformed JSON: {e}"))
        .and_then(|v| match unstorable(&v) {
            Some(problem) => Err(problem),
            None => Ok(v),
        })
}

/// Text the databases cannot store alike (NUL characters) anywhere in the
/// payload, named by its path.
fn unstorable(v: &Value) -> Option<String> {
    fn walk(v: &Value, path: &mut String) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(fields) => fields.iter().any(|(name, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let found = name.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(v, &mut path).then(|| {
        format!(
            "{}: contains a NUL character, which cannot be stored",
            if path.is_empty() {
                "body".to_owned()
            } else {
                path.replace('\0', "\\u0000")
            }
        )
    })
}

/// Whether records of this event name a service (deployments, incidents,
/// releases), so the project's service scopes must be read.
fn names_a_service(provider: Provider, event: &str) -> bool {
    match provider {
        Provider::Github => matches!(
            event,
            "deployment" | "deployment_status" | "issues" | "release"
        ),
        Provider::Gitlab => matches!(event, "Deployment Hook" | "Issue Hook" | "Release Hook"),
        Provider::Api => false,
    }
}

/// Maps a verified payload to records, with the project's service scope for
/// the repository. The outer error is the store's; the inner one the
/// payload's.
pub async fn derive(
    store: &Store,
    settings: &WebhookSettings,
    provider: Provider,
    event: &str,
    value: &Value,
    project: &Project,
    received_at: DateTime<Utc>,
) -> Result<Result<Mapped, PayloadError>, StoreError> {
    let repo = match provider {
        Provider::Github => webhook::github::repository(value),
        Provider::Gitlab => webhook::gitlab::repository(value),
        Provider::Api => None,
    };
    let scoped = match repo.filter(|_| names_a_service(provider, event)) {
        Some(repo) => {
            let services = store.services_in_repository(project.id, repo).await?;
            if services.len() == 1 {
                services.into_iter().next()
            } else {
                None
            }
        }
        None => None,
    };
    let labels = settings.labels();
    let ctx = Context {
        project_id: project.id,
        team_id: project.team_id,
        received_at,
        labels: &labels,
        scoped_service: scoped.as_deref(),
        release_environment: &settings.release_environment,
        new_id: Uuid::now_v7,
    };
    Ok(match provider {
        Provider::Github => webhook::github::map(event, value, &ctx),
        Provider::Gitlab => webhook::gitlab::map(event, value, &ctx),
        Provider::Api => Ok(Mapped::ignored("events API requests are not reprocessed")),
    })
}

/// The commits a stored pull request ties to its repository (its merge
/// commit and its own commits): attribution through them may change.
pub fn collect_pr_shas(records: &[Record], out: &mut HashMap<String, Vec<String>>) {
    for r in records {
        if let Record::PullRequest(pr) = r {
            let shas = out.entry(pr.repo.clone()).or_default();
            shas.extend(pr.merge_commit_sha.iter().cloned());
            shas.extend(pr.commits.iter().map(|c| c.sha.clone()));
        }
    }
}

/// Marks deployments whose attribution these commits can change.
pub async fn invalidate(
    store: &Store,
    new_shas: &HashMap<String, Vec<String>>,
) -> Result<(), StoreError> {
    for (repo, shas) in new_shas.iter().filter(|(_, s)| !s.is_empty()) {
        store.invalidate_attribution(repo, shas).await?;
    }
    Ok(())
}

/// What `reprocess` did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReprocessReport {
    pub examined: u64,
    pub applied: u64,
    pub ignored: u64,
    pub invalid: u64,
    /// Deliveries without a verified project (none are stored that way).
    pub skipped: u64,
}

/// Derives the records of stored deliveries again (after a mapping fix)
/// and stores them; idempotent: running it twice changes nothing more.
pub async fn reprocess(
    store: &Store,
    settings: &WebhookSettings,
    mut filter: RawDeliveryFilter,
) -> Result<ReprocessReport, StoreError> {
    let mut report = ReprocessReport::default();
    filter.limit = 100;
    loop {
        let page = store.list_deliveries(&filter).await?;
        for d in &page.items {
            report.examined += 1;
            let Some(project_id) = d.project_id else {
                report.skipped += 1;
                continue;
            };
            let project = store.get_project(project_id).await?;
            let value = match usable(serde_json::from_slice::<Value>(&d.body)) {
                Ok(v) => v,
                Err(problem) => {
                    store
                        .reapply_delivery(d.id, None, &[], Outcome::Invalid, &problem)
                        .await?;
                    report.invalid += 1;
                    continue;
                }
            };
            let mapped = derive(
                store,
                settings,
                d.provider,
                &d.event,
                &value,
                &project,
                d.received_at,
            )
            .await?;
            match mapped {
                Err(e) => {
                    store
                        .reapply_delivery(
                            d.id,
                            None,
                            &[],
                            Outcome::Invalid,
                            &format!("cannot use the payload: {e}"),
                        )
                        .await?;
                    report.invalid += 1;
                }
                Ok(m) => {
                    let mut new_shas = HashMap::new();
                    if !m.commits.is_empty() {
                        for sha in store.upsert_commits(&m.commits).await? {
                            if let Some(c) = m.commits.iter().find(|c| c.sha == sha) {
                                new_shas
                                    .entry(c.repo.clone())
                                    .or_insert_with(Vec::new)
                                    .push(sha);
                            }
                        }
                    }
                    if !m.refs.is_empty() {
                        store.set_refs(&m.refs).await?;
                    }
                    let outcome = if m.ignored.is_some() {
                        report.ignored += 1;
                        Outcome::Ignored
                    } else {
                        report.applied += 1;
                        Outcome::Applied
                    };
                    store
                        .reapply_delivery(d.id, None, &m.records, outcome, &m.summary())
                        .await?;
                    collect_pr_shas(&m.records, &mut new_shas);
                    invalidate(store, &new_shas).await?;
                }
            }
        }
        match page.next_cursor {
            Some(c) => filter.after = Some(c),
            None => break,
        }
    }
    Ok(report)
}
