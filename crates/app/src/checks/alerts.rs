//! Alerts from checks and P0 business requests: routing
//! (`[[alerts.routes]]`: per team and severity), quiet hours, the outbox and
//! its sender.
//!
//! - `enqueue` writes one alert per matching route into the outbox, keyed
//!   by cause (`<incident>:<kind>:<n>:<route>`), so a repeated run adds
//!   nothing. An alert that is not critical is due when the team's policy
//!   next allows (`crate::notify`: working hours outside the focus block,
//!   in the team's time zone); a critical one at once.
//! - `page_alerts` are the pages of the on-call path for a P0 business
//!   request (a production outage or a security issue, issue 14 §3): a
//!   critical alert of kind `page` on every route of the request's team that
//!   takes critical alerts, due at once whatever the hour, keyed
//!   `request:<id>:page:<route>`, with a link to the request's page.
//!   `requests::submit` stores them in the request's own transaction, so a
//!   stored P0 request is always paged, and the sender below delivers them
//!   like any alert (claimed, retried, exactly once across replicas).
//! - `send_due` claims due alerts (one sender each, across replicas; a
//!   claim older than `claim_stale_minutes` is taken over), sends each once
//!   per claim, logs the attempt, and marks it sent, or pending again with a
//!   doubling backoff, or failed after `max_attempts`.
//! - Slack gets a Block Kit message with a link to the incident's page;
//!   webhooks get the JSON message signed with HMAC-SHA256
//!   (`x-tandem-signature-256`, as the report's webhook); e-mail goes
//!   through `[report.smtp]`.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use lettre::Message;
use lettre::message::Mailbox;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tandem_domain::check::{AlertChannel, AlertKind, Severity};
use tandem_domain::engineering::Incident;
use tandem_domain::request::Request;
use tandem_store::{Alert, NewAlert, Store, StoredCheck};

use crate::error::AppResult;
use crate::report::send::{SIGNATURE_HEADER, signature, smtp_send};
use crate::settings::{AlertRoute, Settings};

/// The routes an alert of this team and severity follows.
pub fn routes<'s>(
    settings: &'s Settings,
    team_key: &str,
    severity: Severity,
) -> Vec<&'s AlertRoute> {
    settings
        .alerts
        .routes
        .iter()
        .filter(|r| r.team.as_deref().is_none_or(|t| t == team_key))
        .filter(|r| r.severities.is_empty() || r.severities.contains(&severity))
        .collect()
}

/// The incident's page (`/incidents/{id}`: timeline, suspects, business
/// updates), the link every alert carries.
pub fn incident_link(settings: &Settings, incident: &Incident) -> String {
    incident_page(settings, incident.id)
}

/// The address of an incident's page.
pub fn incident_page(settings: &Settings, id: uuid::Uuid) -> String {
    format!("{}/incidents/{id}", settings.server.public_url())
}

/// The request's page.
pub fn request_link(settings: &Settings, request: &Request) -> String {
    format!("{}/requests/{}", settings.server.public_url(), request.id)
}

/// Writes the alerts of one message of an incident into the outbox.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue(
    store: &Store,
    settings: &Settings,
    check: &StoredCheck,
    incident: &Incident,
    kind: AlertKind,
    n: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let severity = check.spec.severity;
    let team = crate::lookup::team(store, &check.team_id.to_string()).await?;
    let due_at =
        crate::notify::due_for_team(store, settings, &team, severity.urgency(), now).await?;
    let title = match kind {
        AlertKind::Opened | AlertKind::Page => format!("🔴 {} is failing", check.name),
        AlertKind::Reminder => format!("🟠 {} is still failing", check.name),
        AlertKind::Resolved => format!("✅ {} recovered", check.name),
    };
    let link = incident_link(settings, incident);
    let text = match kind {
        AlertKind::Resolved => format!(
            "Service *{}* ({severity}) recovered at {}; the incident {} is resolved.",
            check.spec.service,
            incident.resolved_at.unwrap_or(now).to_rfc3339(),
            incident.external_id
        ),
        _ => format!(
            "Service *{}* ({severity}) has been failing since {}: {detail}",
            check.spec.service,
            incident.opened_at.to_rfc3339()
        ),
    };
    let message = json!({
        "kind": kind, "severity": severity, "check": check.name, "service": check.spec.service,
        "team": team.key, "incident_id": incident.id, "incident": incident.external_id,
        "opened_at": incident.opened_at, "resolved_at": incident.resolved_at,
        "title": title, "text": text, "link": link,
    });
    let mut added = 0;
    for route in routes(settings, &team.key, severity) {
        let new = NewAlert {
            dedup_key: format!("{}:{kind}:{n}:{}", incident.external_id, route.name),
            incident_id: Some(incident.id),
            request_id: None,
            check_id: Some(check.id),
            team_id: team.id,
            kind,
            severity,
            channel: route.channel,
            destination: route.name.clone(),
            message: message.clone(),
            due_at,
            now,
        };
        if store.enqueue_alert(&new).await? {
            added += 1;
        }
    }
    Ok(added)
}

/// The pages of the on-call path for a P0 request: one critical alert per
/// route of its team taking critical alerts, due `now` (quiet hours and
/// focus blocks do not hold it). Empty when no route takes the team's
/// critical alerts.
pub async fn page_alerts(
    store: &Store,
    settings: &Settings,
    request: &Request,
    rule: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<NewAlert>> {
    let severity = Severity::Critical;
    let team = store.get_team(request.team_id).await?;
    let due_at =
        crate::notify::due_for_team(store, settings, &team, severity.urgency(), now).await?;
    let title = format!("🚨 P0 request: {}", request.title);
    let mut text = format!(
        "{} asked through {}: {rule}.",
        request.requester, request.source
    );
    if !request.description.trim().is_empty() {
        text.push('\n');
        text.push_str(
            &request
                .description
                .trim()
                .chars()
                .take(500)
                .collect::<String>(),
        );
    }
    let link = request_link(settings, request);
    let message = json!({
        "kind": AlertKind::Page, "severity": severity, "team": team.key,
        "request_id": request.id, "request": request.title, "requester": request.requester,
        "source": request.source, "priority": request.priority, "opened_at": request.created_at,
        "title": title, "text": text, "link": link,
    });
    Ok(routes(settings, &team.key, severity)
        .into_iter()
        .map(|route| NewAlert {
            dedup_key: format!("request:{}:page:{}", request.id, route.name),
            incident_id: None,
            request_id: Some(request.id),
            check_id: None,
            team_id: team.id,
            kind: AlertKind::Page,
            severity,
            channel: route.channel,
            destination: route.name.clone(),
            message: message.clone(),
            due_at,
            now,
        })
        .collect())
}

/// The Slack Block Kit message of an alert.
pub fn slack_payload(message: &Value) -> Value {
    let s = |k: &str| message[k].as_str().unwrap_or_default().to_owned();
    if message.get("request_id").is_some() {
        return json!({
            "text": format!("{} — {}", s("title"), s("text")),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": s("title"), "emoji": true}},
                {"type": "section", "text": {"type": "mrkdwn", "text": s("text")},
                 "fields": [
                    {"type": "mrkdwn", "text": format!("*Team*\n{}", s("team"))},
                    {"type": "mrkdwn", "text": format!("*Priority*\n{}", s("priority"))},
                    {"type": "mrkdwn", "text": format!("*Requester*\n{}", s("requester"))},
                    {"type": "mrkdwn", "text": format!("*Request*\n<{}|{}>", s("link"), s("request"))}
                 ]},
                {"type": "actions", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open the request"},
                     "url": s("link")}
                ]}
            ]
        });
    }
    json!({
        "text": format!("{} — {}", s("title"), s("text")),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": s("title"), "emoji": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": s("text")},
             "fields": [
                {"type": "mrkdwn", "text": format!("*Service*\n{}", s("service"))},
                {"type": "mrkdwn", "text": format!("*Severity*\n{}", s("severity"))},
                {"type": "mrkdwn", "text": format!("*Team*\n{}", s("team"))},
                {"type": "mrkdwn", "text": format!("*Incident*\n<{}|{}>", s("link"), s("incident"))}
             ]},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open the incident"},
                 "url": s("link")}
            ]}
        ]
    })
}

/// Sends the alerts due now; returns how many were sent.
pub async fn send_due(
    store: &Store,
    settings: &Settings,
    client: &reqwest::Client,
    owner: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let a = &settings.alerts;
    let stale = now - TimeDelta::minutes(i64::from(a.claim_stale_minutes));
    let claimed = store.claim_due_alerts(owner, now, stale, 100).await?;
    let mut sent = 0;
    for alert in claimed {
        let outcome = deliver(settings, client, &alert).await;
        let attempt = u32::try_from(alert.attempts).unwrap_or(0) + 1;
        let at = Utc::now();
        let (error, retry_at) = match &outcome {
            Ok(()) => (None, None),
            Err(e) if attempt < a.max_attempts => {
                let backoff = a.retry_base_ms.saturating_mul(1 << (attempt - 1).min(16));
                (
                    Some(e.to_string()),
                    Some(at + TimeDelta::milliseconds(i64::try_from(backoff).unwrap_or(i64::MAX))),
                )
            }
            Err(e) => (Some(e.to_string()), None),
        };
        if outcome.is_ok() {
            sent += 1;
        } else {
            tracing::warn!(alert = %alert.dedup_key, error = ?error, "an alert delivery failed");
        }
        store
            .finish_alert_attempt(alert.id, owner, at, error.as_deref(), retry_at)
            .await?;
    }
    Ok(sent)
}

async fn deliver(
    settings: &Settings,
    client: &reqwest::Client,
    alert: &Alert,
) -> anyhow::Result<()> {
    let route = settings
        .alerts
        .routes
        .iter()
        .find(|r| r.name == alert.destination)
        .ok_or_else(|| {
            anyhow::anyhow!("the route {:?} is no longer configured", alert.destination)
        })?;
    let timeout = Duration::from_secs(settings.alerts.timeout_seconds.max(1));
    match alert.channel {
        AlertChannel::Slack => {
            let body = serde_json::to_vec(&slack_payload(&alert.message))?;
            post(client, route.to.expose_secret(), body, None, timeout).await
        }
        AlertChannel::Webhook => {
            let body = serde_json::to_vec(&alert.message)?;
            let key = route
                .secret
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("the webhook route has no secret"))?;
            let sig = signature(key.expose_secret().as_bytes(), &body);
            post(client, route.to.expose_secret(), body, Some(sig), timeout).await
        }
        AlertChannel::Email => {
            let smtp = settings
                .report
                .smtp
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("e-mail alerts need [report.smtp]"))?;
            let m = &alert.message;
            let to: Mailbox = route.to.expose_secret().parse()?;
            let message = Message::builder()
                .from(smtp.from.parse()?)
                .to(to)
                .subject(m["title"].as_str().unwrap_or("Tandem alert"))
                .body(format!(
                    "{}\n\n{}\n",
                    m["text"].as_str().unwrap_or_default(),
                    m["link"].as_str().unwrap_or_default()
                ))?;
            smtp_send(smtp, settings.alerts.timeout_seconds.max(1), message).await
        }
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    signature: Option<String>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header(SIGNATURE_HEADER, sig);
    }
    // The URL of a Slack webhook is a secret: errors leave it out.
    let resp = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("the request failed: {}", e.without_url()))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    anyhow::bail!("the receiver answered {status}")
}
