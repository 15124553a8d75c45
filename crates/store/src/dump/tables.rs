//! The tables a dump carries row by row: engineering data (issue 3),
//! weekly reports (issue 5) and risk history. Their rows have no domain
//! type of their own that round-trips every column, so each table is
//! described here once, column by column, and moved as a `row` line:
//! `{"type":"row","data":{"table":"commits","values":{…}}}`.
//!
//! Values are JSON of the column's kind: text and UUIDs as strings, times
//! as RFC 3339 in UTC, bytes as standard base64, JSON columns as JSON.
//!
//! Derived tables are not dumped: which commits a deployment shipped, the
//! per-deployment facts, the day rollups and the incident watermarks are
//! recomputed from these rows, so every imported deployment is marked for
//! attribution again (`attributed = FALSE`). Sessions are not dumped
//! either: signing in again is the price of moving a database; nor are the
//! sign-in throttle counts (they forget themselves within the hour). The
//! audit log is.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What a column holds, as both engines decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// `INTEGER` (4 bytes on PostgreSQL).
    I32,
    /// `BIGINT`.
    I64,
    F64,
    Bool,
    Time,
    Uuid,
    Json,
    Bytes,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

#[derive(Debug)]
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The primary key: rows are exported in this order, so the same data
    /// gives the same bytes.
    pub order_by: &'static str,
}

use Kind::*;

/// Every dumped table, parents before children.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "risk_history",
        columns: &[
            col("risk_id", Uuid),
            col("at", Time),
            col("status", Text),
            col("note", Text),
        ],
        order_by: "risk_id, at",
    },
    Table {
        name: "commits",
        columns: &[
            col("repo", Text),
            col("sha", Text),
            col("author_name", Text),
            col("author_email", Text),
            col("authored_at", Time),
            col("author_offset", I32),
            col("committed_at", Time),
            col("committer_offset", I32),
            col("subject", Text),
            col("parent_count", I32),
            opt("additions", I64),
            opt("deletions", I64),
            col("source", Text),
        ],
        order_by: "repo, sha",
    },
    Table {
        name: "commit_parents",
        columns: &[
            col("repo", Text),
            col("sha", Text),
            col("position", I32),
            col("parent_sha", Text),
        ],
        order_by: "repo, sha, position",
    },
    Table {
        name: "commit_files",
        columns: &[
            col("repo", Text),
            col("sha", Text),
            col("path", Text),
            col("additions", I64),
            col("deletions", I64),
        ],
        order_by: "repo, sha, path",
    },
    Table {
        name: "git_refs",
        columns: &[
            col("repo", Text),
            col("name", Text),
            col("sha", Text),
            col("updated_at", Time),
        ],
        order_by: "repo, name",
    },
    Table {
        name: "import_cursors",
        columns: &[
            col("source", Text),
            col("scope", Text),
            col("cursor", Text),
            col("updated_at", Time),
        ],
        order_by: "source, scope",
    },
    Table {
        name: "pull_requests",
        columns: &[
            col("repo", Text),
            col("number", I64),
            col("source", Text),
            col("title", Text),
            col("state", Text),
            col("draft", Bool),
            col("base_branch", Text),
            opt("head_sha", Text),
            opt("merge_commit_sha", Text),
            col("created_at", Time),
            opt("ready_at", Time),
            opt("first_commit_at", Time),
            opt("first_review_at", Time),
            opt("approved_at", Time),
            opt("merged_at", Time),
            opt("closed_at", Time),
            col("updated_at", Time),
        ],
        order_by: "repo, number",
    },
    Table {
        name: "pull_request_commits",
        columns: &[
            col("repo", Text),
            col("number", I64),
            col("sha", Text),
            col("authored_at", Time),
        ],
        order_by: "repo, number, sha",
    },
    Table {
        name: "reviews",
        columns: &[
            col("repo", Text),
            col("number", I64),
            col("review_id", Text),
            col("state", Text),
            col("submitted_at", Time),
        ],
        order_by: "repo, number, review_id",
    },
    Table {
        name: "deployments",
        columns: &[
            col("id", Uuid),
            col("source", Text),
            col("external_id", Text),
            col("project_id", Uuid),
            col("service", Text),
            col("environment", Text),
            col("status", Text),
            opt("repo", Text),
            opt("sha", Text),
            col("is_rollback", Bool),
            col("explicit_commits", Json),
            col("started_at", Time),
            opt("finished_at", Time),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "incidents",
        columns: &[
            col("id", Uuid),
            col("source", Text),
            col("external_id", Text),
            col("project_id", Uuid),
            opt("service", Text),
            col("title", Text),
            col("severity", Text),
            col("opened_at", Time),
            opt("resolved_at", Time),
            opt("caused_by", Text),
            col("created_at", Time),
            col("updated_at", Time),
            // Since migration 0018; a dump written before has neither
            // (a missing nullable column reads as null).
            opt("acknowledged_at", Time),
            opt("acknowledged_by", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "pipelines",
        columns: &[
            col("source", Text),
            col("external_id", Text),
            col("repo", Text),
            opt("sha", Text),
            opt("branch", Text),
            col("status", Text),
            col("started_at", Time),
            opt("finished_at", Time),
            opt("coverage", F64),
        ],
        order_by: "source, external_id",
    },
    Table {
        name: "webhook_secrets",
        columns: &[
            col("project_id", Uuid),
            col("provider", Text),
            col("secret", Text),
            col("created_at", Time),
        ],
        order_by: "project_id, provider",
    },
    Table {
        name: "audit_log",
        columns: &[
            col("id", Uuid),
            col("at", Time),
            col("action", Text),
            col("actor", Text),
            col("subject", Text),
            opt("client", Text),
            col("detail", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "deliveries",
        columns: &[
            col("id", Uuid),
            col("provider", Text),
            col("delivery_id", Text),
            col("event", Text),
            opt("project_id", Uuid),
            col("received_at", Time),
            col("headers", Json),
            col("body", Bytes),
            col("outcome", Text),
            col("detail", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "pr_commit_fetches",
        columns: &[
            col("provider", Text),
            col("repo", Text),
            col("number", I64),
            col("project_id", Uuid),
            col("state", Text),
            col("attempts", I32),
            col("not_before", Time),
            col("last_error", Text),
            opt("claimed_by", Text),
            opt("lease_until", Time),
            col("enqueued_at", Time),
            opt("finished_at", Time),
        ],
        order_by: "provider, repo, number",
    },
    Table {
        name: "service_scopes",
        columns: &[
            col("project_id", Uuid),
            col("service", Text),
            col("repo", Text),
            col("path_prefixes", Json),
        ],
        order_by: "project_id, service",
    },
    Table {
        name: "work_item_parents",
        columns: &[
            col("source", Text),
            col("external_key", Text),
            col("parent_key", Text),
        ],
        order_by: "source, external_key",
    },
    Table {
        name: "report_drafts",
        columns: &[
            col("id", Uuid),
            col("team_id", Uuid),
            col("week", Text),
            col("edits", Json),
            col("status", Text),
            opt("approved_by", Text),
            opt("approved_at", Time),
            opt("sent_at", Time),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "report_deliveries",
        columns: &[
            col("id", Uuid),
            col("team_id", Uuid),
            col("week", Text),
            col("channel", Text),
            col("recipient", Text),
            col("status", Text),
            col("attempts", I32),
            opt("last_error", Text),
            col("claimed_at", Time),
            opt("sent_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "report_delivery_log",
        columns: &[
            col("delivery_id", Uuid),
            col("attempt", I32),
            col("at", Time),
            col("outcome", Text),
            col("message", Text),
        ],
        order_by: "delivery_id, attempt",
    },
    Table {
        name: "report_schedules",
        columns: &[
            col("team_id", Uuid),
            col("cron", Text),
            col("auto_send", Bool),
            col("email_to", Json),
            col("updated_at", Time),
        ],
        order_by: "team_id",
    },
    Table {
        name: "report_runs",
        columns: &[
            col("team_id", Uuid),
            col("week", Text),
            col("due_at", Time),
            col("claimed_by", Text),
            col("claimed_at", Time),
            col("lease_until", Time),
            opt("finished_at", Time),
            opt("outcome", Text),
        ],
        order_by: "team_id, week",
    },
    Table {
        name: "report_archive",
        columns: &[
            col("id", Uuid),
            col("team_id", Uuid),
            col("week", Text),
            col("title", Text),
            col("sent_at", Time),
            col("report", Json),
            col("markdown", Text),
            col("html", Text),
            col("text", Text),
            col("slack", Json),
            opt("object_prefix", Text),
        ],
        order_by: "id",
    },
    // Business requests (issue 14) and the messages to their requesters:
    // primary data (what the business asked and was told), so dumped.
    Table {
        name: "requests",
        columns: &[
            col("id", Uuid),
            col("team_id", Uuid),
            col("title", Text),
            col("description", Text),
            col("source", Text),
            col("requester", Text),
            opt("requester_user_id", Uuid),
            col("reply", Json),
            col("answers", Json),
            col("urgency", Text),
            opt("impact", Text),
            opt("complexity", Text),
            col("priority", Text),
            col("status", Text),
            col("version", I32),
            opt("external_id", Text),
            opt("decision", Json),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "request_notifications",
        columns: &[
            col("id", Uuid),
            col("request_id", Uuid),
            col("source", Text),
            col("reply", Json),
            col("kind", Text),
            opt("decision", Text),
            col("subject", Text),
            col("body", Text),
            col("created_at", Time),
            opt("delivered_at", Time),
            col("attempts", I32),
            opt("last_error", Text),
            opt("claimed_until", Time),
            opt("due_at", Time),
        ],
        order_by: "id",
    },
    // Issue 15: policies and calendar feeds (with their last good text);
    // a refresh lease is not carried (it is released by the importer's absence).
    Table {
        name: "team_policies",
        columns: &[
            col("team_id", Uuid),
            col("policy", Json),
            col("updated_at", Time),
        ],
        order_by: "team_id",
    },
    Table {
        name: "calendar_feeds",
        columns: &[
            col("id", Uuid),
            col("team_id", Uuid),
            opt("user_id", Uuid),
            col("source", Text),
            opt("etag", Text),
            opt("body", Text),
            col("warnings", Json),
            opt("last_error", Text),
            opt("fetched_at", Time),
            opt("ok_at", Time),
            col("created_at", Time),
        ],
        order_by: "id",
    },
    // Issue 15: the pulse (ADR 0028). Answers travel without their
    // `answer_key` and weeks (salts, Slack claims) not at all: a dump never
    // carries what could link an answer to a person.
    Table {
        name: "pulse_configs",
        columns: &[
            col("team_id", Uuid),
            col("config", Json),
            col("updated_at", Time),
        ],
        order_by: "team_id",
    },
    Table {
        name: "pulse_answers",
        columns: &[
            col("id", Uuid),
            col("team_id", Uuid),
            col("week", Text),
            col("workload", I32),
            col("focus", I32),
            opt("note", Text),
        ],
        order_by: "id",
    },
    // Issue 16: health checks (their definitions, state and heartbeat
    // token hashes, so push URLs keep working), their uptime rollups (the
    // only record of uptime once raw results are pruned), alerts with
    // every delivery attempt, the post-incident notes and business
    // updates, and KPI sources. Leases are not carried: the restored
    // server takes them again.
    Table {
        name: "checks",
        columns: &[
            col("id", Uuid),
            col("name", Text),
            col("team_id", Uuid),
            col("project_id", Uuid),
            col("service", Text),
            col("spec", Json),
            col("origin", Text),
            opt("heartbeat_token_hash", Text),
            opt("last_ping_at", Time),
            col("state", Json),
            opt("silenced_until", Time),
            opt("last_run_at", Time),
            opt("last_ok", Bool),
            col("last_message", Text),
            col("next_run_at", Time),
            col("created_at", Time),
            col("updated_at", Time),
            opt("probe_state", Json),
            col("disabled", Bool),
        ],
        order_by: "id",
    },
    Table {
        name: "check_rollups",
        columns: &[
            col("check_id", Uuid),
            col("grain", Text),
            col("bucket", Time),
            col("runs", I64),
            col("ok_runs", I64),
            col("up_ms", I64),
            col("down_ms", I64),
            col("latency_ms_sum", I64),
        ],
        order_by: "check_id, grain, bucket",
    },
    Table {
        name: "alerts",
        columns: &[
            col("id", Uuid),
            col("dedup_key", Text),
            opt("incident_id", Uuid),
            opt("check_id", Uuid),
            col("team_id", Uuid),
            col("kind", Text),
            col("severity", Text),
            col("channel", Text),
            col("destination", Text),
            col("message", Json),
            col("status", Text),
            col("attempts", I32),
            col("due_at", Time),
            opt("claimed_by", Text),
            opt("claimed_at", Time),
            opt("sent_at", Time),
            opt("last_error", Text),
            col("created_at", Time),
            opt("request_id", Uuid),
        ],
        order_by: "id",
    },
    Table {
        name: "alert_attempts",
        columns: &[
            col("alert_id", Uuid),
            col("attempt", I32),
            col("at", Time),
            col("outcome", Text),
            col("message", Text),
        ],
        order_by: "alert_id, attempt",
    },
    Table {
        name: "incident_notes",
        columns: &[
            col("incident_id", Uuid),
            col("body", Text),
            col("updated_by", Text),
            col("updated_at", Time),
        ],
        order_by: "incident_id",
    },
    Table {
        name: "business_updates",
        columns: &[
            col("id", Uuid),
            col("incident_id", Uuid),
            col("project_id", Uuid),
            opt("service", Text),
            col("affected", Text),
            col("doing", Text),
            opt("next_update_at", Time),
            col("posted_by", Text),
            col("created_at", Time),
            opt("slack_channel", Text),
            col("slack_outcome", Text),
            col("slack_attempts", I32),
            opt("slack_error", Text),
            opt("slack_posted_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "kpi_sources",
        columns: &[
            col("metric_id", Uuid),
            col("kind", Text),
            col("url", Text),
            col("query", Text),
            col("interval_seconds", I32),
            col("next_run_at", Time),
            col("failures", I32),
            opt("last_run_at", Time),
            opt("last_success_at", Time),
            opt("last_value", F64),
            opt("last_error", Text),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        order_by: "metric_id",
    },
    // Issue 14: the e-mails requests came from (raw, as received), the
    // message ids replies are threaded by, and each mailbox's place, so a
    // restored server neither loses a thread nor reads a mailbox again.
    Table {
        name: "inbound_mail",
        columns: &[
            col("id", Uuid),
            col("dedupe_key", Text),
            opt("message_id", Text),
            col("source", Text),
            col("sender", Text),
            col("subject", Text),
            col("raw", Bytes),
            col("state", Text),
            col("error", Text),
            opt("request_id", Uuid),
            opt("team", Text),
            col("received_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "mail_threads",
        columns: &[
            col("message_id", Text),
            col("request_id", Uuid),
            col("created_at", Time),
        ],
        order_by: "message_id",
    },
    Table {
        name: "imap_cursors",
        columns: &[
            col("mailbox", Text),
            col("uid_validity", I64),
            col("last_uid", I64),
            col("updated_at", Time),
        ],
        order_by: "mailbox",
    },
    // Issue 17: what was published where (a re-publish after a restore
    // updates the same Notion or Confluence page instead of making a
    // second), the archive's index and its pending uploads.
    Table {
        name: "publications",
        columns: &[
            col("id", Uuid),
            col("target", Text),
            col("doc_kind", Text),
            col("doc_id", Uuid),
            col("revision", I64),
            col("status", Text),
            col("attempts", I32),
            col("due_at", Time),
            opt("last_error", Text),
            opt("remote_ref", Text),
            opt("published_at", Time),
            col("created_at", Time),
        ],
        order_by: "id",
    },
    Table {
        name: "publish_mappings",
        columns: &[
            col("target", Text),
            col("doc_key", Text),
            col("remote_id", Text),
            col("remote_version", I64),
            col("content_hash", Text),
            col("updated_at", Time),
        ],
        order_by: "target, doc_key",
    },
    Table {
        name: "archive_uploads",
        columns: &[
            col("archive_id", Uuid),
            col("attempts", I32),
            col("due_at", Time),
            col("last_error", Text),
        ],
        order_by: "archive_id",
    },
    Table {
        name: "report_archive_lines",
        columns: &[
            col("archive_id", Uuid),
            col("sent_at", Time),
            col("object", Text),
        ],
        order_by: "archive_id",
    },
];

/// Every table of the schema a dump leaves out, and why. A conformance test
/// (`every_table_is_dumped_or_named_here`) lists the schema's tables on both
/// engines: a new table must be dumped or named here.
pub const NOT_DUMPED: &[(&str, &str)] = &[
    (
        "_sqlx_migrations",
        "the schema's own version, written by migrating",
    ),
    (
        "sessions",
        "signing in again is the price of moving a database",
    ),
    (
        "sign_in_throttle",
        "throttle counts forget themselves within the hour",
    ),
    (
        "pulse_weeks",
        "weekly salts and Slack claims could link a pulse answer to a person (ADR 0028)",
    ),
    (
        "check_results",
        "raw probe results: archived to S3 by month before they are pruned; the rollups carry uptime",
    ),
    ("deployment_commits", "derived: recomputed by attribution"),
    ("deployment_facts", "derived: recomputed by attribution"),
    (
        "deployment_attribution",
        "derived: recomputed by attribution",
    ),
    (
        "attribution_inputs",
        "derived: versions of attribution's inputs, bumped again on import",
    ),
    (
        "delivery_days",
        "derived: day rollups of the delivery metrics",
    ),
    ("incident_days", "derived: day rollups of time to restore"),
    (
        "incident_changes",
        "derived: the incident change log read by attribution",
    ),
    (
        "metrics_state",
        "derived: the metrics' data version and watermarks",
    ),
    (
        "publish_targets",
        "leases and the last run's state, taken again by the publisher",
    ),
    (
        "backup_runs",
        "the backup schedule's leases; the restored server keeps its own",
    ),
];

/// The names of every table a dump carries, entity tables first.
pub fn dumped_tables() -> Vec<&'static str> {
    super::ENTITY_TABLES
        .iter()
        .copied()
        .chain(TABLES.iter().map(|t| t.name))
        .collect()
}

pub(crate) fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

impl Table {
    pub fn select(&self) -> String {
        let cols: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            cols.join(", "),
            self.name,
            self.order_by
        )
    }

    pub fn insert_head(&self) -> String {
        let cols: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!("INSERT INTO {} ({}) ", self.name, cols.join(", "))
    }

    /// Rows per multi-row INSERT, within both engines' bound-value limits.
    pub fn chunk(&self) -> usize {
        (30_000 / self.columns.len()).max(1)
    }
}

/// One value, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Text(Option<String>),
    I32(Option<i32>),
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>),
    Uuid(Option<Uuid>),
    Json(Option<Value>),
    Bytes(Option<Vec<u8>>),
}

impl Val {
    /// The value as it is written into a dump.
    pub fn to_json(&self) -> Value {
        fn or_null<T>(v: &Option<T>, f: impl FnOnce(&T) -> Value) -> Value {
            v.as_ref().map_or(Value::Null, f)
        }
        match self {
            Val::Text(v) => or_null(v, |s| Value::String(s.clone())),
            Val::I32(v) => or_null(v, |n| Value::from(*n)),
            Val::I64(v) => or_null(v, |n| Value::from(*n)),
            Val::F64(v) => or_null(v, |n| Value::from(*n)),
            Val::Bool(v) => or_null(v, |b| Value::Bool(*b)),
            Val::Time(v) => or_null(v, |t| {
                Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }),
            Val::Uuid(v) => or_null(v, |u| Value::String(u.to_string())),
            Val::Json(v) => or_null(v, Clone::clone),
            Val::Bytes(v) => or_null(v, |b| Value::String(BASE64.encode(b))),
        }
    }

    /// Reads a dumped value of `column`, naming what is wrong.
    pub fn from_json(column: &Column, v: &Value) -> Result<Val, String> {
        let kind = column.kind;
        if v.is_null() {
            if !column.nullable {
                return Err(format!("{} must not be null", column.name));
            }
            return Ok(match kind {
                Text => Val::Text(None),
                I32 => Val::I32(None),
                I64 => Val::I64(None),
                F64 => Val::F64(None),
                Bool => Val::Bool(None),
                Time => Val::Time(None),
                Uuid => Val::Uuid(None),
                Json => Val::Json(None),
                Bytes => Val::Bytes(None),
            });
        }
        let wrong = |what: &str| format!("{}: expected {what}, found {v}", column.name);
        Ok(match kind {
            Text => Val::Text(Some(
                v.as_str().ok_or_else(|| wrong("a string"))?.to_owned(),
            )),
            I32 => Val::I32(Some(
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| wrong("a 32-bit integer"))?,
            )),
            I64 => Val::I64(Some(v.as_i64().ok_or_else(|| wrong("an integer"))?)),
            F64 => Val::F64(Some(v.as_f64().ok_or_else(|| wrong("a number"))?)),
            Bool => Val::Bool(Some(v.as_bool().ok_or_else(|| wrong("true or false"))?)),
            Time => Val::Time(Some(
                v.as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .ok_or_else(|| wrong("an RFC 3339 time"))?,
            )),
            Uuid => Val::Uuid(Some(
                v.as_str()
                    .and_then(|s| uuid::Uuid::parse_str(s).ok())
                    .ok_or_else(|| wrong("a UUID"))?,
            )),
            Json => Val::Json(Some(v.clone())),
            Bytes => Val::Bytes(Some(
                v.as_str()
                    .and_then(|s| BASE64.decode(s).ok())
                    .ok_or_else(|| wrong("standard base64"))?,
            )),
        })
    }
}

/// A `row` line of a dump.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableRow {
    pub table: String,
    pub values: Map<String, Value>,
}

impl TableRow {
    /// The row's values in column order, checked against the table: every
    /// column present with a value of its kind, nothing else.
    pub fn typed(&self) -> Result<(&'static Table, Vec<Val>), String> {
        let table = table(&self.table).ok_or_else(|| {
            let known: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
            format!(
                "table {:?} is not dumped (known: {})",
                self.table,
                known.join(", ")
            )
        })?;
        if let Some(extra) = self
            .values
            .keys()
            .find(|k| !table.columns.iter().any(|c| c.name == k.as_str()))
        {
            return Err(format!("{}.{extra} is not a column", table.name));
        }
        let values = table
            .columns
            .iter()
            .map(|c| {
                let v = match self.values.get(c.name) {
                    Some(v) => v,
                    // A column added after the dump was written.
                    None if c.nullable => &Value::Null,
                    None => return Err(format!("{}.{} is missing", table.name, c.name)),
                };
                Val::from_json(c, v).map_err(|e| format!("{}.{e}", table.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((table, values))
    }
}

/// Rows counted per table, for the dump summary.
pub(crate) type RowCounts = BTreeMap<String, u64>;

/// Reads every row of `table` from a connection pool of either engine.
macro_rules! read_table {
    ($pool:expr, $table:expr) => {{
        use sqlx::Row as _;
        let table: &$crate::dump::tables::Table = $table;
        let rows = sqlx::query(sqlx::AssertSqlSafe(table.select()))
            .fetch_all($pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = serde_json::Map::new();
            for (i, c) in table.columns.iter().enumerate() {
                use $crate::dump::tables::{Kind, Val};
                let v = match c.kind {
                    Kind::Text => Val::Text(row.try_get(i)?),
                    Kind::I32 => Val::I32(row.try_get(i)?),
                    Kind::I64 => Val::I64(row.try_get(i)?),
                    Kind::F64 => Val::F64(row.try_get(i)?),
                    Kind::Bool => Val::Bool(row.try_get(i)?),
                    Kind::Time => Val::Time(row.try_get(i)?),
                    Kind::Uuid => Val::Uuid(row.try_get(i)?),
                    Kind::Json => Val::Json(
                        row.try_get::<Option<sqlx::types::Json<serde_json::Value>>, _>(i)?
                            .map(|j| j.0),
                    ),
                    Kind::Bytes => Val::Bytes(row.try_get(i)?),
                };
                values.insert(c.name.to_owned(), v.to_json());
            }
            out.push($crate::dump::tables::TableRow {
                table: table.name.to_owned(),
                values,
            });
        }
        out
    }};
}
pub(crate) use read_table;

/// Inserts rows of one table (already checked by `TableRow::typed`) with
/// multi-row statements inside the transaction `$tx`.
macro_rules! insert_rows {
    ($tx:expr, $table:expr, $rows:expr) => {{
        let table: &$crate::dump::tables::Table = $table;
        let rows: &[Vec<$crate::dump::tables::Val>] = $rows;
        for chunk in rows.chunks(table.chunk()) {
            let mut qb = sqlx::QueryBuilder::new(table.insert_head());
            qb.push_values(chunk, |mut b, values| {
                for v in values {
                    use $crate::dump::tables::Val;
                    match v {
                        Val::Text(x) => b.push_bind(x.clone()),
                        Val::I32(x) => b.push_bind(*x),
                        Val::I64(x) => b.push_bind(*x),
                        Val::F64(x) => b.push_bind(*x),
                        Val::Bool(x) => b.push_bind(*x),
                        Val::Time(x) => b.push_bind(*x),
                        Val::Uuid(x) => b.push_bind(*x),
                        Val::Json(x) => b.push_bind(x.clone().map(sqlx::types::Json)),
                        Val::Bytes(x) => b.push_bind(x.clone()),
                    };
                }
            });
            qb.build().execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use insert_rows;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_round_trips_through_json() {
        let cases = [
            (col("a", Text), Val::Text(Some("x".into()))),
            (col("a", I32), Val::I32(Some(-120))),
            (col("a", I64), Val::I64(Some(1 << 40))),
            (col("a", F64), Val::F64(Some(81.25))),
            (col("a", Bool), Val::Bool(Some(true))),
            (
                col("a", Time),
                Val::Time(Some("2026-03-02T09:26:30.123456Z".parse().unwrap())),
            ),
            (col("a", Uuid), Val::Uuid(Some(uuid::Uuid::from_u128(7)))),
            (col("a", Json), Val::Json(Some(json!({"b": [1, 2]})))),
            (col("a", Bytes), Val::Bytes(Some(vec![0, 159, 255]))),
            (opt("a", Time), Val::Time(None)),
        ];
        for (column, v) in cases {
            assert_eq!(Val::from_json(&column, &v.to_json()).unwrap(), v);
        }
    }

    #[test]
    fn a_bad_row_names_table_and_column() {
        let row = |values: Value| TableRow {
            table: "git_refs".into(),
            values: values.as_object().unwrap().clone(),
        };
        let good = json!({"repo": "acme/api", "name": "refs/heads/main", "sha": "ab",
            "updated_at": "2026-03-02T09:26:30Z"});
        assert!(row(good.clone()).typed().is_ok());
        let mut late = good.clone();
        late["updated_at"] = json!("yesterday");
        let e = row(late).typed().unwrap_err();
        assert!(
            e.starts_with("git_refs.updated_at: expected an RFC 3339 time"),
            "{e}"
        );
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("sha");
        assert_eq!(row(missing).typed().unwrap_err(), "git_refs.sha is missing");
        let mut extra = good.clone();
        extra["colour"] = json!("red");
        assert_eq!(
            row(extra).typed().unwrap_err(),
            "git_refs.colour is not a column"
        );
        let mut null = good;
        null["sha"] = Value::Null;
        assert_eq!(
            row(null).typed().unwrap_err(),
            "git_refs.sha must not be null"
        );
        let unknown = TableRow {
            table: "sessions".into(),
            values: Map::new(),
        };
        assert!(
            unknown
                .typed()
                .unwrap_err()
                .contains("\"sessions\" is not dumped")
        );
    }
}
