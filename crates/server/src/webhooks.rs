//! Webhook receivers: `POST /webhooks/github` and `POST /webhooks/gitlab`.
//!
//! These are the only unauthenticated writes (ADR 0004): a delivery is
//! trusted only once its signature (GitHub `X-Hub-Signature-256`, HMAC-SHA256
//! of the raw body) or token (GitLab `X-Gitlab-Token`) matches the webhook
//! secret of a project that lists the delivery's repository (ADR 0018).
//!
//! - No signature or token header, or a malformed signature → 401 before
//!   any of the body is read. A GitLab token no project has → 401 before
//!   the body is read. A GitHub body is hashed under every project's secret
//!   as it streams in and parsed only once one of them verifies it; the
//!   parsed body then names the repository, which the verifying project
//!   must list. Bad signature, unknown repository → 401, nothing stored.
//! - Bodies being read share `webhooks.in_flight_bytes` (64 MiB): a request
//!   takes room for its declared length (or chunk by chunk) and waits up to
//!   `webhooks.in_flight_wait_ms` for it, else 503 with `Retry-After`.
//! - A delivery id already stored (GitHub `X-GitHub-Delivery`; GitLab
//!   `Idempotency-Key`, else `X-Gitlab-Event-UUID`, else the body's SHA-256)
//!   → 200 `duplicate`, nothing applied again.
//! - Malformed or truncated JSON, or a payload lacking a field a record
//!   needs or holding a value no record may hold (the mappers validate what
//!   they return) → 400 naming the problem; the raw delivery is kept with
//!   outcome `invalid`. A signed delivery never gets a 5xx for its content.
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
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::State;
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
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
    in_flight: InFlight,
}

/// The webhook routes, with their own body limit (enforced as the body is
/// read, [`read_body`]). Spawns the writer task, which ends when the router
/// is dropped.
pub fn router(app: AppState) -> Router {
    let writer = Writer::spawn(app.store.clone());
    let in_flight = InFlight::new(
        app.settings.webhooks.in_flight_bytes,
        Duration::from_millis(app.settings.webhooks.in_flight_wait_ms),
    );
    let alertmanager = Router::new()
        .route("/alertmanager", post(crate::alertmanager::receive))
        .with_state(app.clone());
    Router::new()
        .route("/github", post(github))
        .route("/gitlab", post(gitlab))
        .merge(alertmanager)
        .with_state(WebhookState {
            app,
            writer,
            targets: TargetCache::default(),
            in_flight,
        })
}

// ---- verification --------------------------------------------------------

/// `sha256=<hex>`: GitHub's `X-Hub-Signature-256` for `body` under `secret`.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = github_mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn github_mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

/// The digest a `sha256=<hex>` header carries; `None` when it is not of
/// that form (refused before the body is read).
fn github_digest(header: &str) -> Option<Vec<u8>> {
    header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|d| d.len() == 32)
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

    /// The held targets, or freshly read ones when none are held.
    async fn current(&self, store: &Store, provider: Provider) -> ApiResult<Targets> {
        match self.cached(provider) {
            Some(t) => Ok(t),
            None => self.read(store, provider).await,
        }
    }
}

/// The project, among `candidates` (those whose secret verified the
/// delivery), that lists `repo`; any candidate when the payload names no
/// repository (or did not parse).
fn listing(candidates: &[Project], repo: Option<&str>) -> Option<Project> {
    candidates
        .iter()
        .find(|p| match repo {
            Some(repo) => p.repositories.iter().any(|r| r.eq_ignore_ascii_case(repo)),
            None => true,
        })
        .cloned()
}

const UNVERIFIED: &str =
    "the delivery is not signed with the webhook secret of a project that lists its repository";

// ---- bytes in flight -----------------------------------------------------

/// The bytes of webhook bodies held in memory at once, over every request
/// being read (`webhooks.in_flight_bytes`). A request takes permits for its
/// declared length before reading (or for each chunk as it arrives when no
/// length is declared) and gives them back when it is answered; one that
/// cannot get them within `webhooks.in_flight_wait_ms` is answered 503 with
/// `Retry-After`. No body is read before its signature header is checked,
/// so requests without one take nothing.
#[derive(Debug, Clone)]
struct InFlight {
    permits: Arc<Semaphore>,
    wait: Duration,
}

/// Seconds a refused delivery is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

impl InFlight {
    fn new(bytes: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(bytes)),
            wait,
        }
    }

    async fn take(&self, bytes: usize) -> ApiResult<OwnedSemaphorePermit> {
        let n = u32::try_from(bytes).map_err(|_| ApiError::TooLarge(bytes))?;
        let busy = || ApiError::Busy {
            message: "too many webhook bodies are being read at once; retry shortly".into(),
            retry_after: RETRY_AFTER_SECONDS,
        };
        let acquire = self.permits.clone().acquire_many_owned(n);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }
}

/// A body read whole, with the room it holds among the bytes in flight
/// (given back when this is dropped, after the answer).
struct ReadBody {
    bytes: Vec<u8>,
    _held: Vec<OwnedSemaphorePermit>,
}

/// Reads the body as it streams in, within `webhooks.body_limit_bytes`
/// (413 past it) and the bytes in flight, passing every chunk to `seen`
/// (the signature checks) as it arrives.
async fn read_body(
    ws: &WebhookState,
    headers: &HeaderMap,
    mut body: Body,
    mut seen: impl FnMut(&[u8]),
) -> ApiResult<ReadBody> {
    let limit = ws.app.settings.webhooks.body_limit_bytes;
    let declared = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge(limit));
    }
    let mut held = Vec::new();
    let mut room = 0usize;
    if let Some(n) = declared.filter(|n| *n > 0) {
        held.push(ws.in_flight.take(n).await?);
        room = n;
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        let total = bytes.len() + chunk.len();
        if total > limit {
            return Err(ApiError::TooLarge(limit));
        }
        if total > room {
            held.push(ws.in_flight.take(total - room).await?);
            room = total;
        }
        seen(&chunk);
        bytes.extend_from_slice(&chunk);
    }
    Ok(ReadBody { bytes, _held: held })
}

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

/// A delivery whose body is within the limit, is not a form, and is
/// verified by the secret of a project that lists its repository. The body
/// was parsed only once verified.
struct Verified {
    provider: Provider,
    body: ReadBody,
    parsed: Result<Value, serde_json::Error>,
    project: Project,
}

/// A header the provider always sends; `name` as the provider spells it.
fn required_header(headers: &HeaderMap, name: &'static str) -> ApiResult<String> {
    header(headers, &name.to_ascii_lowercase())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_field(name, format!("the {name} header is missing")))
}

const GITHUB_MISSING: &str =
    "the X-Hub-Signature-256 header is missing; set a secret on the webhook";

/// GitHub signs the body with the secret (`X-Hub-Signature-256`). Without
/// that header the delivery is refused before its body is read; with it,
/// the body is hashed under every candidate secret as it streams in, and
/// parsed only when one of them verifies it.
async fn verify_github(ws: &WebhookState, headers: &HeaderMap, body: Body) -> ApiResult<Verified> {
    let signature =
        header(headers, "x-hub-signature-256").ok_or(ApiError::Unauthorized(GITHUB_MISSING))?;
    let digest = github_digest(signature).ok_or(ApiError::Unauthorized(UNVERIFIED))?;
    refuse_forms(headers)?;
    let store = &ws.app.store;
    let targets = ws.targets.current(store, Provider::Github).await?;
    let mut secrets: Vec<&str> = targets.iter().map(|(_, s)| s.as_str()).collect();
    secrets.sort_unstable();
    secrets.dedup();
    let mut macs: Vec<Hmac<Sha256>> = secrets.iter().map(|s| github_mac(s)).collect();
    let body = read_body(ws, headers, body, |chunk| {
        for mac in &mut macs {
            mac.update(chunk);
        }
    })
    .await?;
    let good: Vec<&str> = secrets
        .iter()
        .zip(macs)
        .filter(|(_, mac)| mac.clone().verify_slice(&digest).is_ok())
        .map(|(s, _)| *s)
        .collect();
    let verified_by = |targets: &Targets, good: &dyn Fn(&str) -> bool| -> Vec<Project> {
        targets
            .iter()
            .filter(|(_, s)| good(s))
            .map(|(p, _)| p.clone())
            .collect()
    };
    let mut candidates = verified_by(&targets, &|s| good.contains(&s));
    if candidates.is_empty() {
        // A secret set within the last second: check the body, now in
        // memory, against freshly read ones.
        let fresh = ws.targets.read(store, Provider::Github).await?;
        candidates = verified_by(&fresh, &|s| {
            let mut mac = github_mac(s);
            mac.update(&body.bytes);
            mac.verify_slice(&digest).is_ok()
        });
        if candidates.is_empty() {
            return Err(ApiError::Unauthorized(UNVERIFIED));
        }
    }
    // Parsed only now that a secret verified it.
    let parsed = serde_json::from_slice::<Value>(&body.bytes);
    let repo = parsed.as_ref().ok().and_then(webhook::github::repository);
    let project = match listing(&candidates, repo) {
        Some(p) => p,
        // A repository listed within the last second.
        None => {
            let fresh = ws.targets.read(store, Provider::Github).await?;
            let candidates = verified_by(&fresh, &|s| {
                let mut mac = github_mac(s);
                mac.update(&body.bytes);
                mac.verify_slice(&digest).is_ok()
            });
            listing(&candidates, repo).ok_or(ApiError::Unauthorized(UNVERIFIED))?
        }
    };
    Ok(Verified {
        provider: Provider::Github,
        body,
        parsed,
        project,
    })
}

const GITLAB_MISSING: &str =
    "the X-Gitlab-Token header is missing; set a secret token on the webhook";
const GITLAB_UNVERIFIED: &str =
    "the X-Gitlab-Token does not match the secret token of a project that lists the repository";

/// GitLab sends the secret token itself (`X-Gitlab-Token`): it is checked
/// before the body is read, so only deliveries carrying a known token are
/// read at all; the body then picks, among the projects with that token,
/// the one listing its repository.
async fn verify_gitlab(ws: &WebhookState, headers: &HeaderMap, body: Body) -> ApiResult<Verified> {
    let token = header(headers, "x-gitlab-token").ok_or(ApiError::Unauthorized(GITLAB_MISSING))?;
    refuse_forms(headers)?;
    let store = &ws.app.store;
    let matching = |targets: &Targets| -> Vec<Project> {
        targets
            .iter()
            .filter(|(_, s)| gitlab_verifies(s, token))
            .map(|(p, _)| p.clone())
            .collect()
    };
    let mut candidates = matching(&ws.targets.current(store, Provider::Gitlab).await?);
    let mut fresh = false;
    if candidates.is_empty() {
        candidates = matching(&ws.targets.read(store, Provider::Gitlab).await?);
        fresh = true;
    }
    if candidates.is_empty() {
        return Err(ApiError::Unauthorized(GITLAB_UNVERIFIED));
    }
    let body = read_body(ws, headers, body, |_| {}).await?;
    let parsed = serde_json::from_slice::<Value>(&body.bytes);
    let repo = parsed.as_ref().ok().and_then(webhook::gitlab::repository);
    let project = match listing(&candidates, repo) {
        Some(p) => Some(p),
        None if !fresh => listing(
            &matching(&ws.targets.read(store, Provider::Gitlab).await?),
            repo,
        ),
        None => None,
    }
    .ok_or(ApiError::Unauthorized(GITLAB_UNVERIFIED))?;
    Ok(Verified {
        provider: Provider::Gitlab,
        body,
        parsed,
        project,
    })
}

/// A GitHub webhook delivery, verified by `X-Hub-Signature-256`.
pub async fn github(
    State(ws): State<WebhookState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let v = verify_github(&ws, &headers, body).await?;
    let event = required_header(&headers, "X-GitHub-Event")?;
    let delivery_id = required_header(&headers, "X-GitHub-Delivery")?;
    receive(&ws, v, event, delivery_id, kept_headers(&headers)).await
}

/// A GitLab webhook delivery, verified by `X-Gitlab-Token`.
pub async fn gitlab(
    State(ws): State<WebhookState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let v = verify_gitlab(&ws, &headers, body).await?;
    let event = required_header(&headers, "X-Gitlab-Event")?;
    // Idempotency-Key stays the same across GitLab's retries of a delivery.
    let delivery_id = match header(&headers, "idempotency-key")
        .or_else(|| header(&headers, "x-gitlab-event-uuid"))
    {
        Some(id) => id.to_owned(),
        None => format!("sha256:{}", hex::encode(Sha256::digest(&v.body.bytes))),
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
        body: ReadBody { bytes: body, _held },
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
        body,
        outcome: Outcome::Invalid,
        detail: String::new(),
    };
    let value = match ingest::usable(parsed) {
        Ok(v) => v,
        Err(e) => {
            delivery.detail = clip(&e);
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
            delivery.detail = clip(&format!("cannot use the payload: {e}"));
            if !store.record_delivery(&delivery).await? {
                return Ok(duplicate(&delivery.delivery_id));
            }
            return Err(ApiError::BadRequest(
                clip(&format!("cannot use the {event} payload: {e}")),
                Some(clip(&e.field)),
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
        .await;
    let fresh = match fresh {
        Ok(fresh) => fresh,
        Err(WriteError::Refused(problem)) => {
            return Err(ApiError::bad_field(
                "body",
                format!("cannot use the {event} payload: {problem}"),
            ));
        }
        Err(WriteError::RefusedReplay) => return Ok(duplicate(&delivery_id)),
        Err(WriteError::Failed(e)) => return Err(ApiError::Unexpected(e)),
    };
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

/// A problem as stored and answered: at most 1000 characters (a payload's
/// own over-long value can appear in it).
fn clip(text: &str) -> String {
    const MAX: usize = 1000;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
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
    reply: oneshot::Sender<Result<bool, WriteError>>,
}

/// Why a delivery was not stored with its records.
#[derive(Debug)]
pub enum WriteError {
    /// Its records break a rule storage checks: the delivery was kept as
    /// `invalid` with this problem instead (a payload's fault: 400).
    Refused(String),
    /// It was kept as `invalid` with its problem, but an earlier copy of it
    /// was already stored: a replay.
    RefusedReplay,
    /// Storing failed (the database): nothing was stored. The store's
    /// error is kept so that an outage answers 503, not 500.
    Failed(anyhow::Error),
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
    ) -> Result<bool, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                item,
                commits,
                refs,
                reply,
            })
            .await
            .map_err(|_| WriteError::Failed(anyhow::anyhow!("the delivery writer has stopped")))?;
        answer.await.map_err(|_| {
            WriteError::Failed(anyhow::anyhow!(
                "the delivery writer stopped before answering"
            ))
        })?
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
                let result = refused(&store, &items[0], e).await;
                if let Some(reply) = replies.pop() {
                    let _ = reply.send(result);
                }
            }
            Err(_) => {
                // Each alone, so one bad delivery cannot fail the others.
                for (i, reply) in replies.into_iter().enumerate() {
                    let result = match commit_batch(&store, &items[i..=i], &git[i..=i]).await {
                        Ok(fresh) => Ok(fresh.first().copied().unwrap_or(false)),
                        Err(e) => refused(&store, &items[i], e).await,
                    };
                    let _ = reply.send(result);
                }
            }
        }
    }
}

/// A delivery whose write failed alone: when a rule storage checks refused
/// its records (the mappers check them too, so this is a safety net), it is
/// kept as `invalid` with the problem, as any unusable payload is;
/// otherwise storing failed.
async fn refused(
    store: &Store,
    item: &Ingest,
    e: tandem_store::StoreError,
) -> Result<bool, WriteError> {
    use tandem_store::StoreError;
    let problem = match &e {
        StoreError::Domain(d) => d.to_string(),
        StoreError::MissingReference { field, message } => format!("{field}: {message}"),
        _ => {
            tracing::warn!(error = %e, "storing a delivery failed");
            return Err(WriteError::Failed(e.into()));
        }
    };
    let mut delivery = item.delivery.clone();
    delivery.outcome = Outcome::Invalid;
    delivery.detail = clip(&format!("cannot use the payload: {problem}"));
    match store.record_delivery(&delivery).await {
        Ok(true) => Err(WriteError::Refused(clip(&problem))),
        Ok(false) => Err(WriteError::RefusedReplay),
        Err(e) => {
            tracing::warn!(error = %e, "storing a delivery failed");
            Err(WriteError::Failed(e.into()))
        }
    }
}

/// The batch in one transaction (`Store::ingest_with_git`): the pushed
/// commits, the refs they move (the last position per ref), the deliveries
/// with their records, and the attribution of deployments the new commits
/// and pull requests can change marked stale. One commit per batch: an
/// acknowledged delivery has all of its rows, an unacknowledged one none.
async fn commit_batch(
    store: &Store,
    items: &[Ingest],
    git: &[(Vec<Commit>, Vec<GitRef>)],
) -> tandem_store::Result<Vec<bool>> {
    let commits: Vec<Commit> = git.iter().flat_map(|g| g.0.iter().cloned()).collect();
    let refs = last_per_ref(git.iter().flat_map(|g| g.1.iter()));
    store.ingest_with_git(items, &commits, &refs).await
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
