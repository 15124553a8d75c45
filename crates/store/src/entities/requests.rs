//! Business requests and the outbox of messages to their requesters.
//!
//! A decision is one transaction: the request's row moves only from the
//! version the decision was computed from (`Stale` otherwise, so two
//! managers deciding at once get one decision and one refusal), and the
//! decisions-log entry, the draft goal of an acceptance and the message to
//! the requester are written with it or not at all.
//!
//! The outbox: a channel claims its oldest undelivered message that is due
//! (`due_at` passed or absent: a message that is not urgent waits for the
//! recipient's working hours) with a lease (`claimed_until`), one
//! statement, so replicas never send the same message at once; a failed
//! send leaves it for the next claim after the lease.

use tandem_domain::request::{
    Answers, Notification, NotificationKind, ReplyAddress, Request, RequestDecision,
    RequestDecisionKind, RequestSource, RequestStatus, RequestUrgency,
};

use super::*;

/// The columns of `requests`, in the order `bind_request!` binds them.
pub(crate) const REQUEST_COLS: &str = "id, team_id, title, description, source, requester, \
     requester_user_id, reply, answers, urgency, impact, complexity, priority, status, version, \
     external_id, decision, created_at, updated_at";

/// The columns of `request_notifications`, in `bind_notification!` order.
pub(crate) const NOTIFICATION_COLS: &str = "id, request_id, source, reply, kind, decision, subject, \
     body, created_at, delivered_at, attempts, last_error, due_at";

macro_rules! bind_request {
    ($q:expr, $r:expr) => {{
        let r = $r;
        $q.bind(r.id)
            .bind(r.team_id)
            .bind(&r.title)
            .bind(&r.description)
            .bind(r.source.as_str())
            .bind(&r.requester)
            .bind(r.requester_user_id)
            .bind(Json(&r.reply))
            .bind(Json(&r.answers))
            .bind(r.urgency.as_str())
            .bind(r.impact.map(|l| l.as_str()))
            .bind(r.complexity.map(|l| l.as_str()))
            .bind(r.priority.as_str())
            .bind(r.status.as_str())
            .bind(r.version)
            .bind(&r.external_id)
            .bind(r.decision.as_ref().map(Json))
            .bind(r.created_at)
            .bind(r.updated_at)
    }};
}

macro_rules! bind_notification {
    ($q:expr, $n:expr) => {{
        let n = $n;
        $q.bind(n.id)
            .bind(n.request_id)
            .bind(n.source.as_str())
            .bind(Json(&n.reply))
            .bind(n.kind.as_str())
            .bind(n.decision.map(|d| d.as_str()))
            .bind(&n.subject)
            .bind(&n.body)
            .bind(n.created_at)
            .bind(n.delivered_at)
            .bind(n.attempts)
            .bind(&n.last_error)
            .bind(n.due_at)
    }};
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: Uuid,
    team_id: Uuid,
    title: String,
    description: String,
    source: String,
    requester: String,
    requester_user_id: Option<Uuid>,
    reply: Json<ReplyAddress>,
    answers: Json<Answers>,
    urgency: String,
    impact: Option<String>,
    complexity: Option<String>,
    priority: String,
    status: String,
    version: i32,
    external_id: Option<String>,
    decision: Option<Json<RequestDecision>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn parse<T: std::str::FromStr<Err = String>>(column: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

impl TryFrom<RequestRow> for Request {
    type Error = StoreError;

    fn try_from(r: RequestRow) -> Result<Self> {
        Ok(Request {
            id: r.id,
            team_id: r.team_id,
            title: r.title,
            description: r.description,
            source: parse::<RequestSource>("requests.source", &r.source)?,
            requester: r.requester,
            requester_user_id: r.requester_user_id,
            reply: r.reply.0,
            answers: r.answers.0,
            urgency: parse::<RequestUrgency>("requests.urgency", &r.urgency)?,
            impact: r
                .impact
                .as_deref()
                .map(|v| parse("requests.impact", v))
                .transpose()?,
            complexity: r
                .complexity
                .as_deref()
                .map(|v| parse("requests.complexity", v))
                .transpose()?,
            priority: parse("requests.priority", &r.priority)?,
            status: parse::<RequestStatus>("requests.status", &r.status)?,
            version: r.version,
            external_id: r.external_id,
            decision: r.decision.map(|d| d.0),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: Uuid,
    request_id: Uuid,
    source: String,
    reply: Json<ReplyAddress>,
    kind: String,
    decision: Option<String>,
    subject: String,
    body: String,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    attempts: i32,
    last_error: Option<String>,
    due_at: Option<DateTime<Utc>>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(r: NotificationRow) -> Result<Self> {
        Ok(Notification {
            id: r.id,
            request_id: r.request_id,
            source: parse::<RequestSource>("request_notifications.source", &r.source)?,
            reply: r.reply.0,
            kind: parse::<NotificationKind>("request_notifications.kind", &r.kind)?,
            decision: r
                .decision
                .as_deref()
                .map(|d| parse::<RequestDecisionKind>("request_notifications.decision", d))
                .transpose()?,
            subject: r.subject,
            body: r.body,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            attempts: r.attempts,
            last_error: r.last_error,
            due_at: r.due_at,
        })
    }
}

/// Which requests to list. Every filter is optional; `statuses` empty is
/// every status.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub team_id: Option<Uuid>,
    pub source: Option<RequestSource>,
    pub priority: Option<tandem_domain::work_item::Priority>,
    pub statuses: Vec<RequestStatus>,
    /// Submitted at or after.
    pub since: Option<DateTime<Utc>>,
    /// Submitted before.
    pub until: Option<DateTime<Utc>>,
    /// Requests with an id greater than this (paging).
    pub after: Option<Uuid>,
    /// At most this many (clamped to 1..=500; 0 is 50).
    pub limit: u32,
}

/// What is written with a request's change, in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct RequestWrites<'a> {
    /// The entry in the decisions log.
    pub decision: Option<&'a Decision>,
    /// The draft goal an acceptance creates (written before the entry).
    pub goal: Option<&'a Goal>,
    /// Messages to the requester.
    pub notifications: &'a [Notification],
}

impl Store {
    /// Stores a new request and its first messages (a `received` note).
    /// The team (`team_id`) and the user (`requester_user_id`) must exist;
    /// a second request with the same `external_id` from the same source
    /// is a `Conflict` on `external_id`.
    pub async fn create_request(&self, r: &Request, notifications: &[Notification]) -> Result<()> {
        self.create_request_paging(r, notifications, &[]).await
    }

    /// [`Store::create_request`] with the alerts that page the on-call path
    /// for it (a P0 request), in the same transaction: a stored P0 request
    /// always has its pages in the alert outbox. An alert whose key exists
    /// is skipped.
    pub async fn create_request_paging(
        &self,
        r: &Request,
        notifications: &[Notification],
        pages: &[crate::NewAlert],
    ) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(r.team_id)),
                    ("requester_user_id", Table::Users, r.requester_user_id),
                ]
            );
            bind_request!(
                sqlx::query(crate::engine::insert_sql("requests", REQUEST_COLS)),
                r
            )
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unique("external_id", || {
                format!(
                    "a {} request with id {:?}",
                    r.source,
                    r.external_id.as_deref().unwrap_or_default()
                )
            }))?;
            for n in notifications {
                bind_notification!(
                    sqlx::query(crate::engine::insert_sql(
                        "request_notifications",
                        NOTIFICATION_COLS
                    )),
                    n
                )
                .execute(&mut *tx)
                .await?;
            }
            for a in pages {
                crate::checks::bind_new_alert!(
                    sqlx::query(sql(crate::checks::insert_alert_sql())),
                    a
                )
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_request(&self, id: Uuid) -> Result<Request> {
        let row: Option<RequestRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(REQUEST_COLS, "requests", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("request", id))?
            .try_into()
    }

    /// The request a channel stored under its own id, if any.
    pub async fn find_request_by_external_id(
        &self,
        source: RequestSource,
        external_id: &str,
    ) -> Result<Option<Request>> {
        let row: Option<RequestRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(
                REQUEST_COLS,
                "requests",
                "source = $1 AND external_id = $2",
            ))
            .bind(source.as_str())
            .bind(external_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(Request::try_from).transpose()
    }

    /// Requests in id (submission) order.
    pub async fn list_requests(&self, f: &RequestFilter) -> Result<Page<Request>> {
        let limit = ListQuery {
            limit: f.limit,
            ..ListQuery::default()
        }
        .limit();
        let statuses: Option<String> = (!f.statuses.is_empty()).then(|| {
            let names: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
            format!(",{},", names.join(","))
        });
        let rows: Vec<RequestRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {REQUEST_COLS} FROM requests WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR source = $3) \
                 AND ($4 IS NULL OR priority = $4) \
                 AND ($5 IS NULL OR $5 LIKE '%,' || status || ',%') \
                 AND ($6 IS NULL OR created_at >= $6) AND ($7 IS NULL OR created_at < $7) \
                 ORDER BY id LIMIT $8"
            )))
            .bind(f.after)
            .bind(f.team_id)
            .bind(f.source.map(|s| s.as_str()))
            .bind(f.priority.map(|p| p.as_str()))
            .bind(statuses.as_deref())
            .bind(f.since)
            .bind(f.until)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |r| r.id))
    }

    /// Saves a changed request with what goes with the change, atomically.
    /// `read_version` is the version the change was computed from: when
    /// another writer got there first nothing is saved and `Stale` is
    /// returned. A merge names an existing request (`duplicate_of`).
    pub async fn save_request(
        &self,
        r: &Request,
        read_version: i32,
        writes: RequestWrites<'_>,
    ) -> Result<()> {
        let duplicate_of = r.decision.as_ref().and_then(|d| d.duplicate_of);
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // `$n` as in `REQUEST_COLS`; `$20`: the version read.
            let n = bind_request!(
                sqlx::query(
                    "UPDATE requests SET title = $3, description = $4, reply = $8, answers = $9, \
                     urgency = $10, impact = $11, complexity = $12, priority = $13, status = $14, \
                     version = $15, decision = $17, updated_at = $19 \
                     WHERE id = $1 AND version = $20",
                ),
                r
            )
            .bind(read_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                let (exists,): (i64,) = sqlx::query_as(Table::Requests.exists_sql())
                    .bind(r.id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Err(if exists == 0 {
                    StoreError::not_found("request", r.id)
                } else {
                    StoreError::Stale(format!(
                        "request {} changed since version {read_version} was read \
                         (another decision or answer came first); reload and try again",
                        r.id
                    ))
                });
            }
            ensure_refs!(tx, [("duplicate_of", Table::Requests, duplicate_of)]);
            if let Some(g) = writes.goal {
                ensure_refs!(tx, [("project_id", Table::Projects, g.project_id)]);
                insert_goal(&mut tx, g).await?;
            }
            if let Some(d) = writes.decision {
                insert_decision(&mut tx, d).await?;
            }
            for n in writes.notifications {
                bind_notification!(
                    sqlx::query(crate::engine::insert_sql(
                        "request_notifications",
                        NOTIFICATION_COLS
                    )),
                    n
                )
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A request's messages to its requester, oldest first.
    pub async fn list_request_notifications(&self, request_id: Uuid) -> Result<Vec<Notification>> {
        let rows: Vec<NotificationRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {NOTIFICATION_COLS} FROM request_notifications WHERE request_id = $1 \
                 ORDER BY id"
            )))
            .bind(request_id)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// Claims the oldest undelivered message of `source` that is due at
    /// `now` and nobody holds (no claim, or one whose lease ended before
    /// `now`) until
    /// `lease_until`, counting an attempt. One statement: two replicas
    /// never hold the same message.
    pub async fn claim_request_notification(
        &self,
        source: RequestSource,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Notification>> {
        let now = tandem_domain::time::micros(now);
        let lease_until = tandem_domain::time::micros(lease_until);
        let row: Option<NotificationRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "UPDATE request_notifications SET claimed_until = $3, attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM request_notifications WHERE source = $1 \
                   AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) \
                   AND (due_at IS NULL OR due_at <= $2) ORDER BY id LIMIT 1) \
                 AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) \
                 AND (due_at IS NULL OR due_at <= $2) \
                 RETURNING {NOTIFICATION_COLS}"
            )))
            .bind(source.as_str())
            .bind(now)
            .bind(lease_until)
            .fetch_optional(pool)
            .await?
        });
        row.map(Notification::try_from).transpose()
    }

    /// Marks a message delivered (web ones: shown).
    pub async fn mark_request_notification_delivered(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE request_notifications SET delivered_at = $2, last_error = NULL, \
                 claimed_until = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(tandem_domain::time::micros(at))
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(n, "notification", id)
    }

    /// Records why a delivery failed; the message is claimed again once its
    /// lease ends.
    pub async fn mark_request_notification_failed(&self, id: Uuid, error: &str) -> Result<()> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE request_notifications SET last_error = $2 WHERE id = $1")
                .bind(id)
                .bind(error)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(n, "notification", id)
    }
}
