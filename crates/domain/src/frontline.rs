//! The front line (issue 16, items 4, 5 and 7; ADR 0031): the pure parts
//! of an incident's business updates and post-incident note, a service's
//! state on the status page, and KPI series collected on a schedule from a
//! PromQL or read-only SQL query.
//!
//! Rules kept here:
//! - A business update says, in plain words, what is affected and what the
//!   team is doing, and optionally when the next update comes (after it is
//!   posted). Its text passes the free-text rules (`text.rs`).
//! - A service's state is `down` when one of its checks is failing,
//!   `operational` when every check that ran passes, `unknown` before any
//!   ran; disabled checks do not count.
//! - A KPI source's query is a PromQL expression, or one read-only SQL
//!   statement (the checks' rule, [`crate::check::read_only_sql`]); it runs
//!   every `interval_seconds` (60 s to a day). A failed run is retried
//!   after 30 s, doubling with each consecutive failure, never later than
//!   the interval. A run writes its point at the start of its interval, so
//!   a retry within the interval replaces, never adds.
//! - Pure: `now` is always a parameter.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::check::{CheckStatus, read_only_sql};
use crate::error::{DomainError, Problems};
use crate::text;

crate::string_enum! {
    /// Where a KPI series' points are collected from.
    KpiSourceKind {
        Promql => "promql",
        Postgres => "postgres",
    }
}

crate::string_enum! {
    /// A service as the status page shows it.
    ServiceState {
        Operational => "operational",
        Down => "down",
        Unknown => "unknown",
    }
}

/// The shortest interval of a KPI source.
pub const MIN_KPI_INTERVAL_SECONDS: u32 = 60;
/// The longest (a day).
pub const MAX_KPI_INTERVAL_SECONDS: u32 = 86_400;
/// The first retry after a failure.
pub const KPI_RETRY_BASE_SECONDS: i64 = 30;

fn hourly() -> u32 {
    3600
}

/// Where a KPI series' points come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"kind": "promql", "url": "http://prometheus:9090",
    "query": "sum(rate(http_requests_total{code=~\"5..\"}[1h]))", "interval_seconds": 3600})))]
pub struct KpiSourceSpec {
    pub kind: KpiSourceKind,
    /// `promql`: the Prometheus server's root (`http://host:9090`);
    /// `postgres`: a `postgres://` URL.
    pub url: String,
    /// `promql`: an expression whose result is one number (a scalar or a
    /// vector of one sample); `postgres`: one read-only statement whose
    /// first column of its first row is the number.
    pub query: String,
    /// How often it runs (60 to 86400 seconds; default 3600).
    #[serde(default = "hourly")]
    pub interval_seconds: u32,
}

impl KpiSourceSpec {
    /// Checks everything a run relies on; errors name the field.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        let url = self.url.trim();
        let scheme = url.split_once("://").map(|(s, _)| s);
        match (self.kind, scheme) {
            (KpiSourceKind::Promql, Some("http" | "https")) => {}
            (KpiSourceKind::Postgres, Some("postgres" | "postgresql")) => {}
            (KpiSourceKind::Promql, _) => p.push(
                "url",
                format!("{url:?} is not an http(s) URL of a Prometheus server"),
            ),
            (KpiSourceKind::Postgres, _) => {
                p.push("url", format!("{url:?} is not a postgres:// URL"))
            }
        }
        if url.len() > 2000 || url.chars().any(char::is_whitespace) {
            p.push("url", "must be one URL without spaces (at most 2000 bytes)");
        }
        if self.query.trim().is_empty() {
            p.push("query", "is required");
        } else {
            p.check(text::bounded("query", &self.query, 10_000));
            if self.kind == KpiSourceKind::Postgres
                && let Err(e) = read_only_sql(&self.query)
            {
                p.push("query", e);
            }
        }
        if !(MIN_KPI_INTERVAL_SECONDS..=MAX_KPI_INTERVAL_SECONDS).contains(&self.interval_seconds) {
            p.push(
                "interval_seconds",
                format!(
                    "{} is out of range: {MIN_KPI_INTERVAL_SECONDS} to {MAX_KPI_INTERVAL_SECONDS} seconds",
                    self.interval_seconds
                ),
            );
        }
        p.into_result()
    }
}

/// The instant a run at `now` writes its point at: the start of its
/// interval (UTC, from the epoch).
pub fn collection_instant(now: DateTime<Utc>, interval_seconds: u32) -> DateTime<Utc> {
    let step = i64::from(interval_seconds.max(1));
    let secs = now.timestamp().div_euclid(step) * step;
    DateTime::from_timestamp(secs, 0).unwrap_or(now)
}

/// When to run again after `failures` consecutive failures (0: the run
/// worked): the next interval's start after a success; after a failure 30
/// s, doubling, at most one interval.
pub fn next_kpi_run(now: DateTime<Utc>, interval_seconds: u32, failures: u32) -> DateTime<Utc> {
    let interval = i64::from(interval_seconds.max(1));
    if failures == 0 {
        return collection_instant(now, interval_seconds) + Duration::seconds(interval);
    }
    let backoff = KPI_RETRY_BASE_SECONDS.saturating_mul(1_i64 << (failures - 1).min(20));
    now + Duration::seconds(backoff.min(interval))
}

/// A business update as typed: what is affected, what the team is doing,
/// when the next update comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessUpdateInput {
    /// What the business sees: "Card payments fail for about 1 in 5 customers."
    pub affected: String,
    /// What the team is doing: "We are rolling back this morning's release."
    pub doing: String,
    /// When the next update comes (RFC 3339), if one is promised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_update_at: Option<DateTime<Utc>>,
}

impl BusinessUpdateInput {
    /// Checks the text; errors name the field.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        let mut p = Problems::new();
        for (field, value) in [("affected", &self.affected), ("doing", &self.doing)] {
            if value.trim().is_empty() {
                p.push(field, "is required: say it in plain words");
            } else {
                p.check(text::bounded(field, value, 2_000));
            }
        }
        if let Some(at) = self.next_update_at
            && at <= now
        {
            p.push("next_update_at", "must be in the future");
        }
        p.into_result()
    }
}

/// The plain-language message of a business update (Slack's `text`; the
/// status page shows the same parts).
pub fn business_update_text(service: &str, resolved: bool, input: &BusinessUpdateInput) -> String {
    let mut s = format!(
        "{} update on {service}\n*What is affected:* {}\n*What we are doing:* {}",
        if resolved {
            "✅ Resolved:"
        } else {
            "⚠️ Incident"
        },
        input.affected.trim(),
        input.doing.trim()
    );
    if let Some(at) = input.next_update_at {
        s.push_str(&format!(
            "\n*Next update by:* {} UTC",
            at.format("%Y-%m-%d %H:%M")
        ));
    }
    s
}

/// What a post-incident note starts from.
#[derive(Debug, Clone)]
pub struct NoteFacts<'a> {
    pub title: &'a str,
    pub service: &'a str,
    pub severity: &'a str,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The last deployment before it, as `<environment> <id> at <time>`.
    pub last_deployment: Option<String>,
}

/// The post-incident note template (Markdown): the facts filled in, the
/// questions left for the team. Blameless: it asks about the system, never
/// about a person.
pub fn note_template(f: &NoteFacts<'_>) -> String {
    let t = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || "—".to_owned(),
            |a| a.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
    };
    let restore = f.resolved_at.map_or_else(
        || "still open".to_owned(),
        |r| {
            let m = (r - f.opened_at).num_minutes();
            format!("{} h {:02} min", m / 60, m % 60)
        },
    );
    format!(
        "# Post-incident note: {title}\n\n\
         - **Service:** {service} ({severity})\n\
         - **Detected:** {detected}\n\
         - **Acknowledged:** {acked}\n\
         - **Resolved:** {resolved}\n\
         - **Time to restore:** {restore}\n\
         - **Last deployment before it:** {deploy}\n\n\
         ## What the business saw\n\n_Who was affected, how, and for how long._\n\n\
         ## What happened\n\n_The sequence of events, from the timeline._\n\n\
         ## Why it happened\n\n_The conditions in the system that allowed it (not who)._\n\n\
         ## What went well, what was hard\n\n_Detection, alerting, communication, the fix._\n\n\
         ## Actions\n\n| Action | Team | Due |\n|---|---|---|\n|  |  |  |\n",
        title = f.title,
        service = f.service,
        severity = f.severity,
        detected = t(Some(f.opened_at)),
        acked = t(f.acknowledged_at),
        resolved = t(f.resolved_at),
        deploy = f.last_deployment.as_deref().unwrap_or("none recorded"),
    )
}

/// A service's state from its enabled checks' statuses.
pub fn service_state(statuses: &[CheckStatus]) -> ServiceState {
    if statuses.contains(&CheckStatus::Failing) {
        ServiceState::Down
    } else if statuses.contains(&CheckStatus::Passing) {
        ServiceState::Operational
    } else {
        ServiceState::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, s).unwrap()
    }

    fn spec(kind: KpiSourceKind, url: &str, query: &str, interval: u32) -> KpiSourceSpec {
        KpiSourceSpec {
            kind,
            url: url.into(),
            query: query.into(),
            interval_seconds: interval,
        }
    }

    fn fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Invalid(list) => list.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kpi_sources_are_validated_field_by_field() {
        spec(KpiSourceKind::Promql, "http://prom:9090", "up", 3600)
            .validate()
            .unwrap();
        spec(
            KpiSourceKind::Postgres,
            "postgres://db/app",
            "SELECT count(*) FROM orders",
            60,
        )
        .validate()
        .unwrap();
        let e = spec(
            KpiSourceKind::Postgres,
            "http://db",
            "DELETE FROM orders",
            30,
        )
        .validate()
        .unwrap_err();
        assert_eq!(fields(e), vec!["url", "query", "interval_seconds"]);
        let e = spec(KpiSourceKind::Promql, "postgres://x", " ", 60)
            .validate()
            .unwrap_err();
        assert_eq!(fields(e), vec!["url", "query"]);
    }

    #[test]
    fn runs_write_at_their_interval_start_and_back_off_when_failing() {
        assert_eq!(collection_instant(at(10, 17, 42), 3600), at(10, 0, 0));
        assert_eq!(next_kpi_run(at(10, 17, 42), 3600, 0), at(11, 0, 0));
        assert_eq!(next_kpi_run(at(10, 0, 0), 3600, 1), at(10, 0, 30));
        assert_eq!(next_kpi_run(at(10, 0, 0), 3600, 3), at(10, 2, 0));
        // Never later than one interval.
        assert_eq!(next_kpi_run(at(10, 0, 0), 300, 10), at(10, 5, 0));
        assert_eq!(next_kpi_run(at(10, 0, 0), 300, 60), at(10, 5, 0));
    }

    #[test]
    fn business_updates_need_both_parts_and_a_future_next_update() {
        let ok = BusinessUpdateInput {
            affected: "Card payments fail for some customers.".into(),
            doing: "Rolling back the release.".into(),
            next_update_at: Some(at(11, 0, 0)),
        };
        ok.validate(at(10, 0, 0)).unwrap();
        let text = business_update_text("payments", false, &ok);
        assert!(text.contains("What is affected:* Card payments"), "{text}");
        assert!(
            text.contains("Next update by:* 2026-12-07 11:00 UTC"),
            "{text}"
        );
        let bad = BusinessUpdateInput {
            affected: " ".into(),
            doing: "x\u{202e}y".into(),
            next_update_at: Some(at(9, 0, 0)),
        };
        assert_eq!(
            fields(bad.validate(at(10, 0, 0)).unwrap_err()),
            vec!["affected", "doing", "next_update_at"]
        );
    }

    #[test]
    fn the_note_template_fills_in_the_facts() {
        let note = note_template(&NoteFacts {
            title: "payments is failing",
            service: "payments",
            severity: "critical",
            opened_at: at(10, 0, 0),
            acknowledged_at: Some(at(10, 5, 0)),
            resolved_at: Some(at(11, 30, 0)),
            last_deployment: Some("production d-7 at 2026-12-07 09:40 UTC".into()),
        });
        assert!(note.starts_with("# Post-incident note: payments is failing"));
        assert!(note.contains("**Time to restore:** 1 h 30 min"), "{note}");
        assert!(note.contains("production d-7"), "{note}");
        assert!(note.contains("## Actions"));
    }

    #[test]
    fn a_service_is_down_when_any_check_fails() {
        use CheckStatus::*;
        assert_eq!(service_state(&[Passing, Failing]), ServiceState::Down);
        assert_eq!(
            service_state(&[Passing, Unknown]),
            ServiceState::Operational
        );
        assert_eq!(service_state(&[Unknown]), ServiceState::Unknown);
        assert_eq!(service_state(&[]), ServiceState::Unknown);
    }
}
