//! Webhook receivers: `POST /webhooks/github` and `POST /webhooks/gitlab`.
//!
//! These are the only unauthenticated writes (ADR 0004): a delivery is
//! trusted only once its signature (GitHub `X-Hub-Signature-256`, HMAC-SHA256
//! of the raw body) or token (GitLab `X-Gitlab-Token`) matches the webhook
//! secret of a project that lists the delivery's repository. Before that,
//! the body is read only to find which project's secret to check; a body
//! that does not parse is checked against every project's secret.
//!
//! - Bad or missing signature, unknown repository, no secret → 401, nothing
//!   stored.
//! - A delivery id already stored (GitHub `X-GitHub-Delivery`; GitLab
//!   `Idempotency-Key`, else `X-Gitlab-Event-UUID`, else the body's SHA-256)
//!   → 200 `duplicate`, nothing applied again.
//! - Malformed or truncated JSON, or a payload lacking a field a record
//!   needs → 400 naming the problem; the raw delivery is kept with outcome
//!   `invalid`.
//! - Events Tandem does not use → 202, kept with outcome `ignored`.
//! - Larger than `webhooks.body_limit_bytes` (25 MiB) → 413.
//!
//! Every delivery is kept byte for byte with what it derived, so `tandem
//! reprocess` can derive it again after a fix. Mapping a payload to records
//! (and reprocessing) is the application's (`tandem_app::ingest`); this
//! module verifies, answers, and batches the writes. A delivery is acknowledged
//! only after its transaction committed; concurrent deliveries share
//! transactions (the [`Writer`]'s group commit).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_domain::engineering::{Outcome, Provider, RawDelivery};
use tandem_domain::git::{Commit, GitRef};
use tandem_domain::project::Project;
use tandem_domain::webhook;
use tandem_store::{Ingest, Store};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};

use tandem_app::ingest;

/// The request headers kept with a delivery. Never the signature or the
/// GitLab token (which is the secret itself).
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "user-agent",
    "x-github-event",
    "x-github-delivery",
    "x-github-hook-id",
    "x-github-hook-installation-target-id",
    "x-github-hook-installation-target-type",
    "x-gitlab-event",
    "x-gitlab-event-uuid",
    "x-gitlab-webhook-uuid",
    "x-gitlab-instance",
    "idempotency-key",
];

/// What a receiver answers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// `applied`, `ignored` or `duplicate`.
    pub status: String,
    /// Tandem's id of the stored delivery (absent for duplicates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Uuid>,
    pub detail: String,
}

/// The receivers' state: the application and the delivery writer.
#[derive(Debug, Clone)]
pub struct WebhookState {
    app: AppState,
    writer: Writer,
    targets: TargetCache,
}

/// The webhook routes, with their own body limit. Spawns the writer task,
/// which ends when the router is dropped.
pub fn router(app: AppState) -> Router {
    let limit = app.settings.webhooks.body_limit_bytes;
    let writer = Writer::spawn(app.store.clone());
    Router::new()
        .route("/github", post(github))
        .route("/gitlab", post(gitlab))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(WebhookState {
            app,
            writer,
            targets: TargetCache::default(),
        })
}

// ---- verification --------------------------------------------------------

/// `sha256=<hex>`: GitHub's `X-Hub-Signature-256` for `body` under `secret`.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a GitHub signature in constant time.
fn github_verifies(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(sig) = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Compares a GitLab token with a secret in constant time: both are
/// reduced to HMACs of equal length, compared by `verify_slice`.
fn gitlab_verifies(secret: &str, token: &str) -> bool {
    const KEY: &[u8] = b"tandem gitlab token comparison";
    let tag = |s: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("HMAC takes keys of any length");
        mac.update(s.as_bytes());
        mac
    };
    let expected = tag(secret).finalize().into_bytes();
    tag(token).verify_slice(&expected).is_ok()
}

/// How long the projects and secrets read for verification are used
/// before they are read again. A delivery that no cached secret verifies is
/// checked again against freshly read ones, so a new or rotated secret, or
/// a newly listed repository, works at once, on every replica; a replaced
/// secret (or a repository no longer listed) can still verify deliveries
/// for at most this long.
const TARGETS_TTL: Duration = Duration::from_secs(1);

type Targets = Arc<Vec<(Project, String)>>;

/// The projects with a webhook secret, per provider, read at most once per
/// [`TARGETS_TTL`] instead of once per delivery.
#[derive(Clone, Default)]
pub struct TargetCache {
    slots: Arc<Mutex<HashMap<Provider, (Instant, Targets)>>>,
}

impl std::fmt::Debug for TargetCache {
    /// Never shows the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetCache").finish_non_exhaustive()
    }
}

impl TargetCache {
    fn cached(&self, provider: Provider) -> Option<Targets> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .get(&provider)
            .filter(|(read, _)| read.elapsed() < TARGETS_TTL)
            .map(|(_, targets)| targets.clone())
    }

    async fn read(&self, store: &Store, provider: Provider) -> ApiResult<Targets> {
        let targets = Arc::new(store.webhook_targets(provider).await?);
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(provider, (Instant::now(), targets.clone()));
        Ok(targets)
    }

    /// The project whose secret `verifies` the delivery, among those
    /// listing `repo` (every project with a secret for the provider when
    /// the body names no repository); cached projects first, then, when
    /// none verifies, projects read again.
    async fn verified(
        &self,
        store: &Store,
        provider: Provider,
        repo: Option<&str>,
        verifies: impl Fn(&str) -> bool,
    ) -> ApiResult<Option<Project>> {
        let find = |targets: &Targets| {
            targets
                .iter()
                .filter(|(p, _)| match repo {
                    Some(repo) => p.repositories.iter().any(|r| r.eq_ignore_ascii_case(repo)),
                    None => true,
                })
                .find(|(_, secret)| verifies(secret))
                .map(|(p, _)| p.clone())
        };
        if let Some(targets) = self.cached(provider)
            && let Some(project) = find(&targets)
        {
            return Ok(Some(project));
        }
        Ok(find(&self.read(store, provider).await?))
    }
}

const UNVERIFIED: &str =
    "the delivery is not signed with the webhook secret of a project that lists its repository";

// ---- receivers -----------------------------------------------------------

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn kept_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| header(headers, name).map(|v| ((*name).to_owned(), v.to_owned())))
        .collect()
}

fn body_or_error(body: Result<Bytes, BytesRejection>, limit: usize) -> ApiResult<Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(limit)
        } else {
            ApiError::bad_request(format!("could not read the request body: {rejection}"))
        }
    })
}

fn refuse_forms(headers: &HeaderMap) -> ApiResult<()> {
    if let Some(ct) = header(headers, "content-type")
        && ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    {
        return Err(ApiError::UnsupportedMediaType(
            "set the webhook's content type to application/json".into(),
        ));
    }
    Ok(())
}

/// How a provider proves a delivery came from it.
struct Proof {
    provider: Provider,
    /// The header that carries the signature or token (lower case).
    header: &'static str,
    /// What to say when that header is missing.
    missing: &'static str,
    /// What to say when no project's secret verifies the delivery.
    unverified: &'static str,
    /// Where the payload names its repository.
    repository: fn(&Value) -> Option<&str>,
    /// The check: `(secret, body, header value)`.
    verifies: fn(&str, &[u8], &str) -> bool,
}

/// GitHub signs the body with the secret (`X-Hub-Signature-256`).
const GITHUB: Proof = Proof {
    provider: Provider::Github,
    header: "x-hub-signature-256",
    missing: "the X-Hub-Signature-256 header is missing; set a secret on the webhook",
    unverified: UNVERIFIED,
    repository: webhook::github::repository,
    verifies: github_verifies,
};

/// GitLab sends the secret token itself (`X-Gitlab-Token`).
const GITLAB: Proof = Proof {
    provider: Provider::Gitlab,
    header: "x-gitlab-token",
    missing: "the X-Gitlab-Token header is missing; set a secret token on the webhook",
    unverified: "the X-Gitlab-Token does not match the secret token of a project that lists the repository",
    repository: webhook::gitlab::repository,
    verifies: gitlab_token_verifies,
};

fn gitlab_token_verifies(secret: &str, _body: &[u8], token: &str) -> bool {
    gitlab_verifies(secret, token)
}

/// A delivery whose body is within the limit, is not a form, and is
/// verified by the secret of a project that lists its repository.
struct Verified {
    provider: Provider,
    body: Bytes,
    parsed: Result<Value, serde_json::Error>,
    project: Project,
}

/// What both receivers check before anything else, in this order: the
/// body's size, the credential header, the content type, the secret.
async fn verify(
    ws: &WebhookState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    proof: &Proof,
) -> ApiResult<Verified> {
    let body = body_or_error(body, ws.app.settings.webhooks.body_limit_bytes)?;
    let credential = header(headers, proof.header).ok_or(ApiError::Unauthorized(proof.missing))?;
    refuse_forms(headers)?;
    let parsed: Result<Value, serde_json::Error> = serde_json::from_slice(&body);
    let repo = parsed.as_ref().ok().and_then(proof.repository);
    let project = ws
        .targets
        .verified(&ws.app.store, proof.provider, repo, |secret| {
            (proof.verifies)(secret, &body, credential)
        })
        .await?
        .ok_or(ApiError::Unauthorized(proof.unverified))?;
    Ok(Verified {
        provider: proof.provider,
        body,
        parsed,
        project,
    })
}

/// A header the provider always sends; `name` as the provider spells it.
fn required_header(headers: &HeaderMap, name: &'static str) -> ApiResult<String> {
    header(headers, &name.to_ascii_lowercase())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_field(name, format!("the {name} header is missing")))
}

/// A GitHub webhook delivery, verified by `X-Hub-Signature-256`.
pub async fn github(
    State(ws): State<WebhookState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let v = verify(&ws, &headers, body, &GITHUB).await?;
    let event = required_header(&headers, "X-GitHub-Event")?;
    let delivery_id = required_header(&headers, "X-GitHub-Delivery")?;
    receive(&ws, v, event, delivery_id, kept_headers(&headers)).await
}

/// A GitLab webhook delivery, verified by `X-Gitlab-Token`.
pub async fn gitlab(
    State(ws): State<WebhookState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let v = verify(&ws, &headers, body, &GITLAB).await?;
    let event = required_header(&headers, "X-Gitlab-Event")?;
    // Idempotency-Key stays the same across GitLab's retries of a delivery.
    let delivery_id = match header(&headers, "idempotency-key")
        .or_else(|| header(&headers, "x-gitlab-event-uuid"))
    {
        Some(id) => id.to_owned(),
        None => format!("sha256:{}", hex::encode(Sha256::digest(&v.body))),
    };
    receive(&ws, v, event, delivery_id, kept_headers(&headers)).await
}

async fn receive(
    ws: &WebhookState,
    verified: Verified,
    event: String,
    delivery_id: String,
    headers: BTreeMap<String, String>,
) -> ApiResult<Response> {
    let Verified {
        provider,
        body,
        parsed,
        project,
    } = verified;
    let store = &ws.app.store;
    if delivery_id.chars().count() > 200 || delivery_id.contains('\0') {
        return Err(ApiError::bad_field(
            "delivery id",
            "the delivery id is longer than 200 characters or contains NUL",
        ));
    }
    // Replays are found by the insert itself (ON CONFLICT on the delivery
    // id), which also settles two copies arriving at the same time.
    let now = tandem_domain::time::micros(Utc::now());
    let mut delivery = RawDelivery {
        id: Uuid::now_v7(),
        provider,
        delivery_id,
        event: event
            .chars()
            .take(200)
            .collect::<String>()
            .replace('\0', ""),
        project_id: Some(project.id),
        received_at: now,
        headers,
        body: body.to_vec(),
        outcome: Outcome::Invalid,
        detail: String::new(),
    };
    let value = match ingest::usable(parsed) {
        Ok(v) => v,
        Err(e) => {
            delivery.detail = e;
            let message = delivery.detail.clone();
            if !store.record_delivery(&delivery).await? {
                return Ok(duplicate(&delivery.delivery_id));
            }
            return Err(ApiError::bad_field("body", message));
        }
    };
    let mapped = ingest::derive(
        store,
        &ws.app.settings.webhooks,
        provider,
        &event,
        &value,
        &project,
        now,
    )
    .await?;
    let mapped = match mapped {
        Ok(m) => m,
        Err(e) => {
            delivery.detail = format!("cannot use the payload: {e}");
            if !store.record_delivery(&delivery).await? {
                return Ok(duplicate(&delivery.delivery_id));
            }
            return Err(ApiError::BadRequest(
                format!("cannot use the {event} payload: {e}"),
                Some(e.field),
            ));
        }
    };
    delivery.detail = mapped.summary();
    if mapped.ignored.is_some() {
        delivery.outcome = Outcome::Ignored;
        let id = delivery.id;
        let detail = delivery.detail.clone();
        if !store.record_delivery(&delivery).await? {
            return Ok(duplicate(&delivery.delivery_id));
        }
        return Ok((
            StatusCode::ACCEPTED,
            Json(Receipt {
                status: "ignored".into(),
                delivery: Some(id),
                detail,
            }),
        )
            .into_response());
    }
    delivery.outcome = Outcome::Applied;
    // Merged pull requests' own commits are fetched later (app::pr_commits),
    // queued first so that an acknowledged merge is never lost.
    let (settings, records) = (&ws.app.settings, &mapped.records);
    tandem_app::pr_commits::enqueue(store, settings, provider, project.id, records, now).await?;
    let (id, detail, delivery_id) = (
        delivery.id,
        delivery.detail.clone(),
        delivery.delivery_id.clone(),
    );
    let fresh = ws
        .writer
        .write(
            Ingest {
                delivery,
                records: mapped.records,
            },
            mapped.commits,
            mapped.refs,
        )
        .await?;
    if !fresh {
        return Ok(duplicate(&delivery_id));
    }
    Ok((
        StatusCode::OK,
        Json(Receipt {
            status: "applied".into(),
            delivery: Some(id),
            detail,
        }),
    )
        .into_response())
}

fn duplicate(delivery_id: &str) -> Response {
    (
        StatusCode::OK,
        Json(Receipt {
            status: "duplicate".into(),
            delivery: None,
            detail: format!("delivery {delivery_id} was received before; nothing changed"),
        }),
    )
        .into_response()
}

// ---- group commit --------------------------------------------------------

/// Most deliveries one transaction takes.
const MAX_BATCH: usize = 256;

struct Job {
    item: Ingest,
    commits: Vec<Commit>,
    refs: Vec<GitRef>,
    reply: oneshot::Sender<Result<bool, String>>,
}

/// Writes deliveries with their records. One task takes whatever deliveries
/// are waiting (up to 256; under load it waits up to 2 ms for as many as the
/// previous transaction held, see [`gather`]) and stores them in one
/// transaction, then answers each: under load many deliveries share a
/// commit; alone, one delivery is one commit. If a shared transaction fails, each of its deliveries is
/// written alone so one bad delivery cannot fail the others.
#[derive(Debug, Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("delivery", &self.item.delivery.delivery_id)
            .finish()
    }
}

impl Writer {
    pub fn spawn(store: Store) -> Writer {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run_writer(store, rx));
        Writer { tx }
    }

    /// Stores one delivery; true when it was new, false for a replay.
    /// Returns after the commit.
    pub async fn write(
        &self,
        item: Ingest,
        commits: Vec<Commit>,
        refs: Vec<GitRef>,
    ) -> anyhow::Result<bool> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                item,
                commits,
                refs,
                reply,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the delivery writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the delivery writer stopped before answering"))?
            .map_err(anyhow::Error::msg)
    }
}

/// Longest the writer waits for more deliveries before a commit (see
/// [`gather`]).
const LINGER: Duration = Duration::from_millis(2);

/// The deliveries of the next transaction: the first, whatever else is
/// waiting, and, when the previous transaction held more than this gathered
/// (the senders it answered are likely sending again), whatever arrives
/// within [`LINGER`] until as many are there. A lone delivery is written at
/// once; under load transactions grow to the number of concurrent senders.
async fn gather(first: Job, rx: &mut mpsc::Receiver<Job>, previous: usize) -> Vec<Job> {
    let mut jobs = vec![first];
    let target = previous.min(MAX_BATCH);
    let deadline = Instant::now() + LINGER;
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) if jobs.len() < target => {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(job)) => jobs.push(job),
                    _ => break,
                }
            }
            Err(_) => break,
        }
    }
    jobs
}

async fn run_writer(store: Store, mut rx: mpsc::Receiver<Job>) {
    let mut previous = 1;
    while let Some(first) = rx.recv().await {
        let jobs = gather(first, &mut rx, previous).await;
        previous = jobs.len();
        let mut items = Vec::with_capacity(jobs.len());
        let mut git = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for j in jobs {
            items.push(j.item);
            git.push((j.commits, j.refs));
            replies.push(j.reply);
        }
        match commit_batch(&store, &items, &git).await {
            Ok(fresh) => {
                for (reply, new) in replies.into_iter().zip(fresh) {
                    let _ = reply.send(Ok(new));
                }
            }
            Err(e) if items.len() == 1 => {
                tracing::warn!(error = %e, "storing a delivery failed");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
            Err(_) => {
                for (i, reply) in replies.into_iter().enumerate() {
                    let result = commit_batch(&store, &items[i..=i], &git[i..=i])
                        .await
                        .map(|fresh| fresh.first().copied().unwrap_or(false))
                        .map_err(|e| {
                            tracing::warn!(error = %e, "storing a delivery failed");
                            e.to_string()
                        });
                    let _ = reply.send(result);
                }
            }
        }
    }
}

/// Commits and refs first (idempotent, so a crash before the deliveries
/// commit only means the sender's retry writes them again), then the
/// deliveries with their records in one transaction, then the attribution
/// of deployments these commits and pull requests may change is marked
/// stale. On PostgreSQL the commits and the refs (separate tables, separate
/// transactions) are written at the same time.
async fn commit_batch(
    store: &Store,
    items: &[Ingest],
    git: &[(Vec<Commit>, Vec<GitRef>)],
) -> tandem_store::Result<Vec<bool>> {
    let commits: Vec<Commit> = git.iter().flat_map(|g| g.0.iter().cloned()).collect();
    let refs = last_per_ref(git.iter().flat_map(|g| g.1.iter()));
    let write_commits = async {
        if commits.is_empty() {
            Ok(Vec::new())
        } else {
            store.upsert_commits(&commits).await
        }
    };
    let write_refs = async {
        if refs.is_empty() {
            Ok(())
        } else {
            store.set_refs(&refs).await
        }
    };
    let fresh_commits = match store.engine() {
        tandem_store::EngineKind::Postgres => {
            let (commits, refs) = tokio::join!(write_commits, write_refs);
            refs?;
            commits?
        }
        // One writer at a time: concurrent transactions would only wait.
        tandem_store::EngineKind::Sqlite => {
            let commits = write_commits.await?;
            write_refs.await?;
            commits
        }
    };
    let repo_of: HashMap<&str, &str> = commits
        .iter()
        .map(|c| (c.sha.as_str(), c.repo.as_str()))
        .collect();
    let mut new_shas: HashMap<String, Vec<String>> = HashMap::new();
    for sha in fresh_commits {
        if let Some(repo) = repo_of.get(sha.as_str()) {
            new_shas.entry((*repo).to_owned()).or_default().push(sha);
        }
    }
    let fresh = store.ingest(items).await?;
    for (item, new) in items.iter().zip(&fresh) {
        if *new {
            ingest::collect_pr_shas(&item.records, &mut new_shas);
        }
    }
    ingest::invalidate(store, &new_shas).await?;
    Ok(fresh)
}

/// One position per ref, the last one reported (pushes arrive in order
/// per branch); a statement may not set one row twice.
fn last_per_ref<'r>(refs: impl Iterator<Item = &'r GitRef>) -> Vec<GitRef> {
    let mut out: Vec<GitRef> = Vec::new();
    for r in refs {
        match out
            .iter_mut()
            .find(|o| o.repo == r.repo && o.name == r.name)
        {
            Some(o) => *o = r.clone(),
            None => out.push(r.clone()),
        }
    }
    out
}
