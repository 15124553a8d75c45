//! Alertmanager notifications as incidents (`POST /webhooks/alertmanager`;
//! ADR 0020): Alertmanager's webhook payload, version 4.
//!
//! Rules:
//! - Each alert is one incident, grouped by its `fingerprint` (the hash of
//!   its label set) and the time it started firing: the incident's id is
//!   `FINGERPRINT@STARTS_AT` (RFC 3339, UTC, to the microsecond), so the notifications of one
//!   firing — repeats, the resolution, replays — land on one incident,
//!   and the same alert firing again later opens a new one.
//! - The service is the alert label `alertmanager.service_label`
//!   (`service`), the project the label `alertmanager.project_label`
//!   (`tandem_project`) when the service alone is ambiguous, the severity
//!   the label `alertmanager.severity_label` (`severity`; `warning` without
//!   one). The title names the alert: `alertname: summary`.
//! - `firing` opens (opened at `startsAt`), `resolved` resolves (at
//!   `endsAt`). Incidents are stored through `events::record_incidents_from`
//!   with the source `alertmanager` — the same path and merge rules as the
//!   events API (ADR 0013) — so they feed time to restore and change
//!   failure rate through the existing attribution, and replays change
//!   nothing (an older notification never undoes a newer one).
//! - A notification is all or nothing: every alert is checked first, and an
//!   error names the field (`alerts[2].labels.service`).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::events::{self, IncidentEvent, Item};
use crate::settings::AlertmanagerSettings;

/// The source of the incidents stored from Alertmanager.
pub const SOURCE: &str = "alertmanager";

/// The payload version this receiver reads.
pub const VERSION: &str = "4";

/// Alertmanager's webhook notification (unknown fields are ignored, as
/// Alertmanager adds some between releases).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertmanagerNotification)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub version: String,
    #[serde(default)]
    pub group_key: Option<String>,
    /// `firing` or `resolved` (of the group).
    pub status: String,
    #[serde(default)]
    pub receiver: Option<String>,
    pub alerts: Vec<Alert>,
}

/// One alert of a notification.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertmanagerAlert)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// `0001-01-01T00:00:00Z` while firing without an end.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    pub fingerprint: String,
}

/// What a notification changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Alerts read (each stored as an incident, new or updated).
    pub alerts: usize,
    pub firing: usize,
    pub resolved: usize,
}

/// The incident id of an alert: its fingerprint and when it started.
pub fn incident_id(alert: &Alert) -> String {
    format!(
        "{}@{}",
        alert.fingerprint.trim(),
        tandem_domain::time::micros(alert.starts_at).to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )
}

/// Checks the notification whole, then stores every alert as an incident.
pub async fn receive(
    store: &tandem_store::Store,
    cfg: &AlertmanagerSettings,
    n: Notification,
    now: DateTime<Utc>,
) -> AppResult<Received> {
    if n.version != VERSION {
        return Err(AppError::invalid(
            "version",
            format!(
                "version {:?} is not supported; this receiver reads Alertmanager's webhook version {VERSION}",
                n.version
            ),
        ));
    }
    if !matches!(n.status.as_str(), "firing" | "resolved") {
        return Err(AppError::invalid(
            "status",
            format!("{:?} is neither firing nor resolved", n.status),
        ));
    }
    let mut items = Vec::with_capacity(n.alerts.len());
    let (mut firing, mut resolved) = (0, 0);
    for (i, a) in n.alerts.iter().enumerate() {
        let field = |f: &str| format!("alerts[{i}].{f}");
        let fp = a.fingerprint.trim();
        if fp.is_empty() || fp.len() > 64 || !fp.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::invalid(
                field("fingerprint"),
                "must be Alertmanager's fingerprint (hexadecimal)",
            ));
        }
        let label = |name: &str| {
            a.labels
                .get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let service = label(&cfg.service_label).ok_or_else(|| {
            AppError::invalid(
                field(&format!("labels.{}", cfg.service_label)),
                format!(
                    "the alert has no {:?} label naming the service the incident is on \
                     (alertmanager.service_label)",
                    cfg.service_label
                ),
            )
        })?;
        let resolved_at = match a.status.as_str() {
            "firing" => {
                firing += 1;
                None
            }
            "resolved" => {
                resolved += 1;
                let end = a.ends_at.filter(|e| *e >= a.starts_at).ok_or_else(|| {
                    AppError::invalid(
                        field("endsAt"),
                        "a resolved alert needs endsAt, not before startsAt",
                    )
                })?;
                Some(end)
            }
            other => {
                return Err(AppError::invalid(
                    field("status"),
                    format!("{other:?} is neither firing nor resolved"),
                ));
            }
        };
        let alertname = label("alertname").unwrap_or("alert");
        let summary = a
            .annotations
            .get("summary")
            .or_else(|| a.annotations.get("description"))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        let title = match summary {
            Some(s) => format!("{alertname}: {s}"),
            None => alertname.to_owned(),
        };
        items.push(Item {
            prefix: format!("alerts[{i}]."),
            event: IncidentEvent {
                id: incident_id(a),
                service: service.to_owned(),
                severity: label(&cfg.severity_label).unwrap_or("warning").to_owned(),
                opened_at: a.starts_at,
                resolved_at,
                caused_by_deployment: None,
                title: Some(title),
                project: label(&cfg.project_label).map(str::to_owned),
            },
        });
    }
    let alerts = events::record_incidents_from(store, SOURCE, items, now)
        .await
        .map_err(|e| relabel(e, cfg))?;
    Ok(Received {
        alerts,
        firing,
        resolved,
    })
}

/// Errors from the events rules name the event's fields (`alerts[0].service`);
/// here they are the alert's labels.
fn relabel(e: AppError, cfg: &AlertmanagerSettings) -> AppError {
    match e {
        AppError::Invalid(errors) => AppError::Invalid(
            errors
                .into_iter()
                .map(|mut f| {
                    for (from, to) in [
                        (".service", &cfg.service_label),
                        (".project", &cfg.project_label),
                    ] {
                        if let Some(head) = f.field.strip_suffix(from) {
                            f.field = format!("{head}.labels.{to}");
                        }
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}
