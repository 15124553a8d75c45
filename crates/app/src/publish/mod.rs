//! Publishing (issue 17, ADR 0033): every goal version, decision and sent
//! weekly report goes out to each configured publisher (`[publish.git]`,
//! `[publish.notion]`, `[publish.confluence]`), and a goal's Jira-imported
//! work items get its task context as a Jira comment (`[publish.jira]`).
//!
//! The flow, never in the way of the write that made the document:
//! 1. [`enqueue`] finds revisions without a publication for a configured
//!    target and adds one each (keyed by cause: a second replica adds
//!    nothing). `serve` runs it every `publish.interval_seconds`, so a
//!    goal edit, a decision or a sent report is picked up within one
//!    interval; a failed enqueue is found again the next time.
//! 2. [`run`] takes each target's lease (one replica at a time per
//!    publisher, so commits and page versions stay in order) and delivers
//!    its due publications in enqueue order. A failure is retried after
//!    `retry_base_ms` doubled per attempt, and given up (`failed`) after
//!    `max_attempts`; the provider's message is kept on the publication and
//!    on the publisher, which is then shown as failing.
//!
//! Each provider's page or comment is found again through the
//! `publish_mappings` table (document → remote id, version, content hash):
//! a re-publish updates it in place, a page deleted on the other side is
//! created again and the mapping updated. `git` needs no mapping: its
//! commits carry a trailer naming the revision (see [`git`]).

pub mod git;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tandem_domain::publish::{
    self as rules, Block, DocKind, ForecastFigures, PublicationStatus, PublishTarget,
};
use tandem_importers::publish::{Confluence, JiraComments, Notion, Written};
use tandem_store::{
    ListQuery, Publication, PublishMapping, PublishOutcome, PublishTargetState, Store, StoreError,
};
use uuid::Uuid;

use crate::settings::{PublishSettings, Settings};
use crate::{AppError, AppResult};

use self::git::{GitDocument, GitRepo};

/// How many due publications one pass of a target takes.
const PASS_LIMIT: i64 = 200;

/// The targets `[publish]` configures, in a fixed order.
pub fn configured(p: &PublishSettings) -> Vec<PublishTarget> {
    let mut out = Vec::new();
    if p.git.is_some() {
        out.push(PublishTarget::Git);
    }
    if p.notion.is_some() {
        out.push(PublishTarget::Notion);
    }
    if p.confluence.is_some() {
        out.push(PublishTarget::Confluence);
    }
    if p.jira.is_some() {
        out.push(PublishTarget::Jira);
    }
    out
}

/// The revision of a decision: its last edit, in microseconds.
fn decision_revision(updated_at: DateTime<Utc>) -> i64 {
    updated_at.timestamp_micros()
}

/// Adds a publication for every revision a configured target has not got
/// yet; how many were added. Jira takes goal versions only (the context of
/// the goal's Jira items).
pub async fn enqueue(store: &Store, settings: &Settings, now: DateTime<Utc>) -> AppResult<u64> {
    let targets = configured(&settings.publish);
    if targets.is_empty() {
        return Ok(0);
    }
    let versions = store.goal_version_keys().await?;
    let decisions = crate::paging::all(ListQuery::default(), |q| async move {
        store.list_decisions(&q).await
    })
    .await?;
    let reports = store.list_archive(None).await?;
    let mut added = 0;
    for target in targets {
        let mut wanted: Vec<(DocKind, Uuid, i64)> = versions
            .iter()
            .map(|(g, v)| (DocKind::Goal, *g, i64::from(*v)))
            .collect();
        if target != PublishTarget::Jira {
            wanted.extend(
                decisions
                    .iter()
                    .map(|d| (DocKind::Decision, d.id, decision_revision(d.updated_at))),
            );
            wanted.extend(reports.iter().map(|r| (DocKind::Report, r.id, 1)));
        }
        for kind in DocKind::ALL {
            let have: HashSet<(Uuid, i64)> = store
                .publication_keys(target, *kind)
                .await?
                .into_iter()
                .collect();
            for (k, id, rev) in wanted.iter().filter(|(k, _, _)| k == kind) {
                if !have.contains(&(*id, *rev))
                    && store
                        .enqueue_publication(target, *k, *id, *rev, now)
                        .await?
                {
                    added += 1;
                }
            }
        }
    }
    Ok(added)
}

/// What one target's pass did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = PublishPass)]
pub struct TargetPass {
    pub target: PublishTarget,
    /// False when another replica held the publisher.
    pub ran: bool,
    pub published: u32,
    /// Failed attempts (retried later or given up).
    pub failed: u32,
    /// The last failure's message.
    pub error: Option<String>,
}

/// Enqueues new revisions, then gives every configured target one pass.
pub async fn run(store: &Store, settings: &Settings, owner: &str) -> AppResult<Vec<TargetPass>> {
    enqueue(store, settings, Utc::now()).await?;
    let mut out = Vec::new();
    for target in configured(&settings.publish) {
        out.push(pass(store, settings, target, owner).await?);
    }
    Ok(out)
}

/// One pass of `target` under its lease.
pub async fn pass(
    store: &Store,
    settings: &Settings,
    target: PublishTarget,
    owner: &str,
) -> AppResult<TargetPass> {
    let p = &settings.publish;
    let now = Utc::now();
    let lease = chrono::Duration::seconds(p.lease_seconds.max(1) as i64);
    let mut summary = TargetPass {
        target,
        ran: false,
        published: 0,
        failed: 0,
        error: None,
    };
    if !store
        .claim_publish_target(target, owner, now, now + lease)
        .await?
    {
        return Ok(summary);
    }
    summary.ran = true;
    let due = store.due_publications(target, now, PASS_LIMIT).await?;
    let results = if due.is_empty() {
        Vec::new()
    } else {
        match target {
            PublishTarget::Git => deliver_git(store, settings, &due).await,
            _ => {
                let mut r = Vec::new();
                let mut sink = Sink::new(settings, target);
                for publication in &due {
                    r.push(deliver_one(store, settings, &mut sink, publication).await);
                }
                r
            }
        }
    };
    for (publication, result) in due.iter().zip(results) {
        let at = Utc::now();
        let outcome = match &result {
            Ok(remote) => {
                summary.published += 1;
                PublishOutcome::Published(remote)
            }
            Err(message) => {
                summary.failed += 1;
                summary.error = Some(message.clone());
                let attempt = u32::try_from(publication.attempts + 1).unwrap_or(u32::MAX);
                let retry_at = (attempt < p.max_attempts).then(|| {
                    at + chrono::Duration::milliseconds(
                        rules::backoff_ms(p.retry_base_ms, attempt) as i64
                    )
                });
                PublishOutcome::Failed {
                    error: message,
                    retry_at,
                }
            }
        };
        store
            .finish_publication(publication.id, target, owner, at, outcome)
            .await?;
    }
    if let Some(e) = &summary.error {
        tracing::warn!(%target, error = %e, "publishing failed");
    }
    store
        .release_publish_target(target, owner, Utc::now(), summary.error.as_deref())
        .await?;
    Ok(summary)
}

// ---- documents ------------------------------------------------------------------

/// A document revision ready to publish.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `goal:<id>`, `decision:<id>`, `report:<id>`: the mapping key.
    pub doc_key: String,
    /// `goal/<id>@<revision>`: the git trailer.
    pub revision_key: String,
    pub title: String,
    pub markdown: String,
    pub blocks: Vec<Block>,
    /// The editor of the revision.
    pub author: String,
    pub at: DateTime<Utc>,
    /// Path in a git repository.
    pub path: String,
    pub subject: String,
}

fn gone(kind: DocKind, id: Uuid) -> AppError {
    AppError::NotFound(format!("{kind} {id} no longer exists"))
}

/// Renders one revision of a document as it stood then.
pub async fn render(
    store: &Store,
    settings: &Settings,
    kind: DocKind,
    id: Uuid,
    revision: i64,
) -> AppResult<Rendered> {
    match kind {
        DocKind::Goal => {
            let goal = store.get_goal(id).await?;
            let versions = store.list_goal_versions(id).await?;
            let v = i32::try_from(revision).map_err(|_| gone(kind, id))?;
            let at_version = rules::goal_at_version(&goal, &versions, v).ok_or_else(|| {
                AppError::Unexpected(anyhow::anyhow!(
                    "goal {id}: version {v} cannot be rebuilt from its history"
                ))
            })?;
            let entry = versions.iter().find(|e| e.version == v);
            let team = store.get_team(goal.team_id).await?;
            let project = match goal.project_id {
                Some(p) => Some(store.get_project(p).await?.key),
                None => None,
            };
            let markdown =
                tandem_domain::document::render_goal(&at_version, &team.key, project.as_deref());
            let risks = crate::paging::all(
                ListQuery {
                    goal_id: Some(id),
                    ..ListQuery::default()
                },
                |q| async move { store.list_risks(&q).await },
            )
            .await?;
            let risk_lines: Vec<String> = risks
                .iter()
                .filter(|r| r.status != tandem_domain::risk::RiskStatus::Closed)
                .map(|r| {
                    format!(
                        "{}: {} (likelihood {}, impact {}){}",
                        r.title,
                        r.description,
                        r.likelihood,
                        r.impact,
                        if r.plan.trim().is_empty() {
                            String::new()
                        } else {
                            format!(" Plan: {}", r.plan)
                        }
                    )
                })
                .collect();
            Ok(Rendered {
                doc_key: format!("goal:{id}"),
                revision_key: format!("goal/{id}@{v}"),
                title: format!("Agreement: {}", at_version.title),
                blocks: rules::goal_blocks(&markdown, &risk_lines),
                markdown,
                author: entry
                    .map(|e| e.changed_by.clone())
                    .or_else(|| at_version.agreed_by.clone())
                    .unwrap_or_else(|| "tandem".into()),
                at: entry.map(|e| e.changed_at).unwrap_or(at_version.updated_at),
                path: format!("goals/{}/{id}.md", team.key),
                subject: format!(
                    "{}: version {v}{}",
                    at_version.title,
                    entry
                        .map(|e| format!(" ({})", e.action))
                        .unwrap_or_default()
                ),
            })
        }
        DocKind::Decision => {
            let d = store.get_decision(id).await?;
            let team = store.get_team(d.team_id).await?;
            let (goal_title, forecast) = match d.goal_id {
                Some(g) => {
                    let goal = store.get_goal(g).await?;
                    let f = crate::forecasting::forecast_goal(
                        store,
                        g,
                        d.updated_at.date_naive(),
                        &settings.forecast,
                    )
                    .await
                    .ok()
                    .and_then(|f| match f.forecast {
                        crate::forecasting::GoalForecastOutcome::Ready { goal, .. } => {
                            Some(ForecastFigures {
                                on_time_probability: goal.on_time_probability,
                                p50: goal.p50.map(|d| d.to_string()),
                                p85: goal.p85.map(|d| d.to_string()),
                                deadline: goal.deadline.map(|d| d.to_string()),
                            })
                        }
                        _ => None,
                    });
                    (Some(goal.title), f)
                }
                None => (None, None),
            };
            let markdown =
                rules::decision_record(&d, &team.key, goal_title.as_deref(), forecast.as_ref());
            Ok(Rendered {
                doc_key: format!("decision:{id}"),
                revision_key: format!("decision/{id}@{revision}"),
                title: format!("Decision: {}", d.title),
                blocks: rules::blocks(&markdown),
                markdown,
                author: d.decided_by.clone().unwrap_or_else(|| "tandem".into()),
                at: d.updated_at,
                path: format!(
                    "decisions/{}/{}-{id}.md",
                    team.key,
                    d.decided_at.format("%Y-%m-%d")
                ),
                subject: format!("Decision: {}", d.title),
            })
        }
        DocKind::Report => {
            let entry = store
                .list_archive(None)
                .await?
                .into_iter()
                .find(|e| e.id == id)
                .ok_or_else(|| gone(kind, id))?;
            let report = store.archived_report(entry.team_id, &entry.week).await?;
            let team = store.get_team(entry.team_id).await?;
            Ok(Rendered {
                doc_key: format!("report:{id}"),
                revision_key: format!("report/{id}@{revision}"),
                title: format!("{} ({}, {})", report.title, team.key, report.week),
                blocks: rules::blocks(&report.markdown),
                markdown: report.markdown,
                author: "tandem".into(),
                at: report.sent_at,
                path: format!("reports/{}/{}.md", team.key, report.week),
                subject: format!("Weekly report {} {}", team.key, report.week),
            })
        }
    }
}

/// The author's e-mail: the user's own, else `<name>@<email_domain>`.
async fn author_email(store: &Store, name: &str, domain: &str) -> String {
    match store.find_user_by_username(name).await {
        Ok(Some((u, _))) => u.email.unwrap_or_else(|| format!("{name}@{domain}")),
        _ => format!(
            "{}@{domain}",
            name.replace(|c: char| c.is_whitespace(), ".")
        ),
    }
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn message(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// ---- git ---------------------------------------------------------------------------

/// What `tandem publish git` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GitSync {
    pub commits: Vec<String>,
    /// Revisions the repository already held.
    pub already: u32,
    /// Revisions whose files were unchanged (no commit).
    pub unchanged: u32,
}

/// Writes every revision of every document the repository does not hold
/// yet, in the order they were made, one commit each, and pushes:
/// `tandem publish git --repo`. Independent of the outbox (the
/// repository's trailers say what it holds).
pub async fn git_sync(
    store: &Store,
    settings: &Settings,
    git_settings: &crate::settings::PublishGitSettings,
) -> AppResult<GitSync> {
    let mut docs: Vec<(DocKind, Uuid, i64)> = store
        .goal_version_keys()
        .await?
        .into_iter()
        .map(|(g, v)| (DocKind::Goal, g, i64::from(v)))
        .collect();
    let decisions = crate::paging::all(ListQuery::default(), |q| async move {
        store.list_decisions(&q).await
    })
    .await?;
    docs.extend(
        decisions
            .iter()
            .map(|d| (DocKind::Decision, d.id, decision_revision(d.updated_at))),
    );
    docs.extend(
        store
            .list_archive(None)
            .await?
            .iter()
            .map(|r| (DocKind::Report, r.id, 1)),
    );
    let mut repo = GitRepo::open(git_settings).await?;
    let held = repo.published().await?;
    let mut rendered = Vec::new();
    for (kind, id, rev) in docs {
        let r = render(store, settings, kind, id, rev).await?;
        if held.contains(&r.revision_key) {
            continue;
        }
        rendered.push(r);
    }
    rendered.sort_by_key(|r| r.at);
    let mut out = GitSync {
        already: 0,
        ..GitSync::default()
    };
    out.already = u32::try_from(held.len()).unwrap_or(u32::MAX);
    for r in rendered {
        let doc = git_document(store, git_settings, &r).await;
        match repo.commit(&doc).await? {
            Some(sha) => out.commits.push(sha),
            None => out.unchanged += 1,
        }
    }
    repo.push().await?;
    Ok(out)
}

async fn git_document(
    store: &Store,
    s: &crate::settings::PublishGitSettings,
    r: &Rendered,
) -> GitDocument {
    GitDocument {
        key: r.revision_key.clone(),
        path: r.path.clone(),
        content: r.markdown.clone(),
        author_name: r.author.clone(),
        author_email: author_email(store, &r.author, &s.email_domain).await,
        at: r.at,
        subject: r.subject.clone(),
    }
}

/// The git pass: every due publication a commit (or found in the
/// history), then one push; a failed push fails them all.
async fn deliver_git(
    store: &Store,
    settings: &Settings,
    due: &[Publication],
) -> Vec<Result<String, String>> {
    let Some(s) = &settings.publish.git else {
        return due
            .iter()
            .map(|_| Err("[publish.git] is not configured".into()))
            .collect();
    };
    let mut repo = match GitRepo::open(s).await {
        Ok(r) => r,
        Err(e) => return due.iter().map(|_| Err(message(&e))).collect(),
    };
    let held = match repo.published().await {
        Ok(h) => h,
        Err(e) => return due.iter().map(|_| Err(message(&e))).collect(),
    };
    let mut out = Vec::new();
    for p in due {
        let r = match render(store, settings, p.doc_kind, p.doc_id, p.revision).await {
            Ok(r) => r,
            Err(e) => {
                out.push(Err(message(e)));
                continue;
            }
        };
        if held.contains(&r.revision_key) {
            out.push(Ok(format!("already in {}", s.repo)));
            continue;
        }
        let doc = git_document(store, s, &r).await;
        out.push(match repo.commit(&doc).await {
            Ok(Some(sha)) => Ok(sha),
            Ok(None) => Ok("unchanged: no commit".into()),
            Err(e) => Err(message(e)),
        });
    }
    if let Err(e) = repo.push().await {
        let m = message(e);
        return out.into_iter().map(|_| Err(m.clone())).collect();
    }
    out
}

// ---- Notion, Confluence, Jira --------------------------------------------------------

/// A provider's client, made once per pass (Notion's pacing spans the
/// pass).
enum Sink {
    Notion(Notion),
    Confluence(Confluence),
    Jira(JiraComments),
    Broken(String),
}

impl Sink {
    fn new(settings: &Settings, target: PublishTarget) -> Self {
        let p = &settings.publish;
        let wait = Duration::from_secs(p.max_rate_wait_seconds);
        let made = match target {
            PublishTarget::Notion => p.notion.as_ref().map(|n| {
                Notion::new(
                    &n.api_url,
                    n.token.expose_secret(),
                    &n.version,
                    &n.database_id,
                    &n.title_property,
                    wait,
                )
                .map(Sink::Notion)
            }),
            PublishTarget::Confluence => p.confluence.as_ref().map(|c| {
                Confluence::new(
                    &c.api_url,
                    &c.email,
                    c.token.expose_secret(),
                    &c.space_id,
                    c.parent_id.as_deref(),
                    wait,
                )
                .map(Sink::Confluence)
            }),
            PublishTarget::Jira => p.jira.as_ref().map(|j| {
                JiraComments::new(&j.api_url, &j.email, j.token.expose_secret(), wait)
                    .map(Sink::Jira)
            }),
            PublishTarget::Git => None,
        };
        match made {
            Some(Ok(s)) => s,
            Some(Err(e)) => Sink::Broken(message(e)),
            None => Sink::Broken(format!("[publish.{target}] is not configured")),
        }
    }
}

async fn deliver_one(
    store: &Store,
    settings: &Settings,
    sink: &mut Sink,
    p: &Publication,
) -> Result<String, String> {
    if let Sink::Jira(jira) = sink {
        return jira_context(store, settings, jira, p.doc_id)
            .await
            .map_err(message);
    }
    let r = render(store, settings, p.doc_kind, p.doc_id, p.revision)
        .await
        .map_err(message)?;
    let target = p.target;
    let mapping = store
        .publish_mapping(target, &r.doc_key)
        .await
        .map_err(message)?;
    let now = Utc::now();
    let written = match sink {
        Sink::Broken(m) => return Err(m.clone()),
        Sink::Jira(_) => unreachable!("handled above"),
        Sink::Notion(n) => {
            let blocks = rules::notion_blocks(&r.blocks);
            let h = hash(&[
                &r.title,
                &serde_json::to_string(&blocks).unwrap_or_default(),
            ]);
            if let Some(m) = mapping.as_ref().filter(|m| m.content_hash == h) {
                return Ok(m.remote_id.clone());
            }
            let updated = match &mapping {
                Some(m) => n
                    .update(&m.remote_id, &r.title, &blocks)
                    .await
                    .map_err(message)?,
                None => Written::Gone,
            };
            let id = match updated {
                Written::At { id, .. } => id,
                Written::Gone => n.create(&r.title, &blocks).await.map_err(message)?,
            };
            PublishMapping {
                remote_id: id,
                remote_version: 0,
                content_hash: h,
            }
        }
        Sink::Confluence(c) => {
            let storage = rules::storage_format(&r.blocks);
            let h = hash(&[&r.title, &storage]);
            if let Some(m) = mapping.as_ref().filter(|m| m.content_hash == h) {
                return Ok(m.remote_id.clone());
            }
            let updated = match &mapping {
                Some(m) => c
                    .update(&m.remote_id, &r.title, &storage, &r.subject)
                    .await
                    .map_err(message)?,
                None => Written::Gone,
            };
            let written = match updated {
                Written::Gone => c.create(&r.title, &storage).await.map_err(message)?,
                w => w,
            };
            let Written::At { id, version } = written else {
                return Err("Confluence did not return the page".into());
            };
            PublishMapping {
                remote_id: id,
                remote_version: version,
                content_hash: h,
            }
        }
    };
    store
        .put_publish_mapping(target, &r.doc_key, &written, now)
        .await
        .map_err(message)?;
    Ok(written.remote_id)
}

/// Writes the task context of every Jira-imported item of goal `goal_id`
/// as one comment per issue, edited in place when the context changed;
/// the comment ids.
async fn jira_context(
    store: &Store,
    settings: &Settings,
    jira: &mut JiraComments,
    goal_id: Uuid,
) -> AppResult<String> {
    let items = store.list_goal_work_items(goal_id).await?;
    let mut written = Vec::new();
    for item in items
        .iter()
        .filter(|i| i.source == tandem_importers::jira::SOURCE)
    {
        let Some(key) = &item.external_key else {
            continue;
        };
        let ctx = crate::planning::task_context(store, item, settings).await?;
        let adf = rules::adf(&rules::task_context_blocks(&ctx));
        let h = hash(&[&adf.to_string()]);
        let doc_key = format!("jira:{key}");
        let mapping = store.publish_mapping(PublishTarget::Jira, &doc_key).await?;
        if let Some(m) = mapping.as_ref().filter(|m| m.content_hash == h) {
            written.push(format!("{key}#{}", m.remote_id));
            continue;
        }
        let fail = |e: tandem_importers::RestError| AppError::Unexpected(anyhow::anyhow!(e));
        let updated = match &mapping {
            Some(m) => jira.update(key, &m.remote_id, &adf).await.map_err(fail)?,
            None => Written::Gone,
        };
        let id = match updated {
            Written::At { id, .. } => id,
            Written::Gone => jira.create(key, &adf).await.map_err(fail)?,
        };
        store
            .put_publish_mapping(
                PublishTarget::Jira,
                &doc_key,
                &PublishMapping {
                    remote_id: id.clone(),
                    remote_version: 0,
                    content_hash: h,
                },
                Utc::now(),
            )
            .await?;
        written.push(format!("{key}#{id}"));
    }
    Ok(if written.is_empty() {
        "no Jira items".into()
    } else {
        written.join(" ")
    })
}

// ---- state ---------------------------------------------------------------------------

/// A document's publications: one line per target, its newest revision's
/// state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DocumentPublications)]
pub struct DocumentPublications {
    pub doc_kind: DocKind,
    pub doc_id: Uuid,
    /// Per target, the newest revision's publication.
    pub targets: Vec<Publication>,
    /// Every publication, newest revision first.
    pub history: Vec<Publication>,
}

/// The publications of one document.
pub async fn document(
    store: &Store,
    kind: DocKind,
    id: Uuid,
) -> Result<DocumentPublications, StoreError> {
    let history = store.document_publications(kind, id).await?;
    let mut targets: Vec<Publication> = Vec::new();
    for p in &history {
        if !targets.iter().any(|t| t.target == p.target) {
            targets.push(p.clone());
        }
    }
    targets.sort_by_key(|p| p.target.as_str());
    Ok(DocumentPublications {
        doc_kind: kind,
        doc_id: id,
        targets,
        history,
    })
}

/// Counts per status of one target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = PublisherStatus)]
pub struct PublisherStatus {
    pub target: PublishTarget,
    /// Whether `[publish]` configures it.
    pub configured: bool,
    pub state: Option<PublishTargetState>,
    pub pending: i64,
    pub published: i64,
    pub failed: i64,
}

/// Every configured or once-used publisher with its counts.
pub async fn status(
    store: &Store,
    settings: &Settings,
) -> Result<Vec<PublisherStatus>, StoreError> {
    let states = store.publish_target_states().await?;
    let counts = store.publication_counts().await?;
    let configured = configured(&settings.publish);
    let mut out = Vec::new();
    for target in PublishTarget::ALL {
        let state = states.iter().find(|s| s.target == *target).cloned();
        let is_configured = configured.contains(target);
        if !is_configured && state.is_none() {
            continue;
        }
        let count = |status: PublicationStatus| {
            counts
                .iter()
                .find(|(t, s, _)| t == target.as_str() && s == status.as_str())
                .map(|c| c.2)
                .unwrap_or(0)
        };
        out.push(PublisherStatus {
            target: *target,
            configured: is_configured,
            state,
            pending: count(PublicationStatus::Pending),
            published: count(PublicationStatus::Published),
            failed: count(PublicationStatus::Failed),
        });
    }
    Ok(out)
}

/// `serve`'s loop: enqueue and deliver every `publish.interval_seconds`,
/// as a replica of its own name.
pub async fn run_loop(store: Store, settings: std::sync::Arc<Settings>) {
    let owner = format!("replica-{}", Uuid::now_v7());
    let mut tick = tokio::time::interval(Duration::from_secs(
        settings.publish.interval_seconds.max(1),
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = run(&store, &settings, &owner).await {
            tracing::error!(error = %e, "publishing pass failed");
        }
    }
}
