//! Sending weekly reports: [`send_week`] renders the edited report, delivers
//! it, archives it (database row, plus the S3 copy from `report::archive`)
//! and marks the draft sent; no channel configured is a `Conflict`.
//!
//! Channels: e-mail over SMTP (HTML with inline PNG charts
//! and a plain-text alternative), a Slack incoming webhook (Block Kit), and a
//! generic JSON webhook signed with HMAC-SHA256.
//!
//! Rules:
//! - Each channel and recipient is a delivery of its own, claimed in the
//!   database before the first attempt (`Store::claim_report_delivery`): a
//!   report is never sent twice to the same recipient for the same week,
//!   whoever sends it (a manager, the scheduler, another replica).
//! - Channels run concurrently and independently: one failing never blocks
//!   or fails the others.
//! - A failed attempt is logged and retried with exponential backoff up to
//!   `report.max_attempts`; a delivery that still fails stays `failed` and is
//!   retried by the next send of that week (already sent recipients are
//!   skipped).
//! - Nothing here touches the draft's edits: a failed delivery loses no edit.
//! - Its settings (`[report]`) live in `crate::settings`, re-exported here.

use std::time::Duration;

use anyhow::Context as _;
use chrono::IsoWeek;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncTransport, Message};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::Sha256;
use tandem_domain::report::{self, Channel, DeliveryStatus};
use tandem_store::Store;
use uuid::Uuid;

use super::assemble::weekly_full;
use crate::error::{AppError, AppResult};
use crate::report::Rendered;
pub use crate::settings::{
    ReportSettings, ReportWebhookSettings, SlackSettings, SmtpSecurity, SmtpSettings,
};

impl ReportSettings {
    fn backoff(&self, attempt: u32) -> Duration {
        Duration::from_millis(
            self.retry_base_ms
                .saturating_mul(1 << (attempt - 1).min(16)),
        )
    }
}

/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "x-tandem-signature-256";

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One place a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel: Channel,
    /// An e-mail address, `slack`, or the webhook's URL.
    pub recipient: String,
}

/// What happened to one target in one send.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = SendOutcome)]
pub struct Outcome {
    pub channel: Channel,
    pub recipient: String,
    /// `sent`, `failed`, or `skipped` (sent before, or another sender holds
    /// it right now).
    pub result: String,
    /// Attempts made in this send.
    pub attempts: u32,
    pub error: Option<String>,
}

/// Why a report cannot be sent when no channel is set up, in plain words
/// (the set-up detail last, for the administrator).
pub const NO_CHANNEL: &str = "This report cannot be sent yet: no e-mail, Slack or webhook \
     delivery is set up for it. An administrator sets one up (the [report.smtp] section with \
     recipients, [report.slack] or [report.webhook] of tandem.toml).";

/// Where `team_id`'s report goes: its schedule's e-mail recipients (or the
/// default ones) when e-mail is set up, Slack, the webhook. Empty: the
/// report cannot be sent, and the pages don't offer to.
pub async fn team_targets(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
) -> AppResult<Vec<Target>> {
    let schedule = store.report_schedule(team_id).await?;
    let email_to = schedule
        .as_ref()
        .map_or(settings.report.email_to.clone(), |s| s.email_to.clone());
    Ok(targets(&settings.report, &email_to))
}

/// The targets of a team's report: each e-mail recipient (when SMTP is
/// configured), Slack and the webhook (when configured).
pub fn targets(settings: &ReportSettings, email_to: &[String]) -> Vec<Target> {
    let mut out = Vec::new();
    if settings.smtp.is_some() {
        out.extend(email_to.iter().map(|to| Target {
            channel: Channel::Email,
            recipient: to.clone(),
        }));
    }
    if settings.slack.is_some() {
        out.push(Target {
            channel: Channel::Slack,
            recipient: "slack".to_owned(),
        });
    }
    if let Some(w) = &settings.webhook {
        out.push(Target {
            channel: Channel::Webhook,
            recipient: w.url.clone(),
        });
    }
    out
}

/// Everything one send needs besides the targets.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub team_id: Uuid,
    pub team_key: String,
    pub week: String,
    pub rendered: std::sync::Arc<Rendered>,
    pub link: String,
}

/// Delivers the report to every target, concurrently; returns one outcome
/// per target in the order given.
pub async fn deliver(
    store: &Store,
    settings: &ReportSettings,
    envelope: &Envelope,
    targets: Vec<Target>,
) -> Vec<Outcome> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, target) in targets.iter().cloned().enumerate() {
        let store = store.clone();
        let settings = settings.clone();
        let envelope = envelope.clone();
        tasks.spawn(async move { (i, deliver_one(&store, &settings, &envelope, target).await) });
    }
    let mut out: Vec<Option<Outcome>> = vec![None; targets.len()];
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, outcome)) => out[i] = Some(outcome),
            Err(e) => tracing::error!(error = %e, "a delivery task panicked"),
        }
    }
    out.into_iter()
        .zip(targets)
        .map(|(o, t)| {
            o.unwrap_or(Outcome {
                channel: t.channel,
                recipient: t.recipient,
                result: "failed".into(),
                attempts: 0,
                error: Some("the delivery task stopped unexpectedly".into()),
            })
        })
        .collect()
}

async fn deliver_one(
    store: &Store,
    settings: &ReportSettings,
    envelope: &Envelope,
    target: Target,
) -> Outcome {
    let mut outcome = Outcome {
        channel: target.channel,
        recipient: target.recipient.clone(),
        result: "skipped".into(),
        attempts: 0,
        error: None,
    };
    let now = Utc::now();
    let stale = now - chrono::Duration::minutes(i64::from(settings.claim_stale_minutes));
    let claim = store
        .claim_report_delivery(
            envelope.team_id,
            &envelope.week,
            target.channel,
            &target.recipient,
            now,
            stale,
        )
        .await;
    let delivery = match claim {
        Ok(Some(d)) => d,
        Ok(None) => return outcome,
        Err(e) => {
            outcome.result = "failed".into();
            outcome.error = Some(format!("could not claim the delivery: {e}"));
            return outcome;
        }
    };
    for attempt in 1..=settings.max_attempts {
        outcome.attempts = attempt;
        let result = tokio::time::timeout(
            Duration::from_secs(settings.timeout_seconds),
            send_once(settings, envelope, &target),
        )
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "timed out after {} s",
                settings.timeout_seconds
            ))
        });
        let (status, message) = match &result {
            Ok(()) => (DeliveryStatus::Sent, "delivered".to_owned()),
            Err(e) => (DeliveryStatus::Failed, format!("{e:#}")),
        };
        if let Err(e) = store
            .record_report_delivery_attempt(delivery.id, status, &message, Utc::now())
            .await
        {
            tracing::error!(error = %e, channel = %target.channel, "could not log a delivery attempt");
        }
        match result {
            Ok(()) => {
                tracing::info!(channel = %target.channel, recipient = %target.recipient, week = %envelope.week, attempt, "report delivered");
                outcome.result = "sent".into();
                outcome.error = None;
                return outcome;
            }
            Err(e) => {
                tracing::warn!(channel = %target.channel, recipient = %target.recipient, week = %envelope.week, attempt, error = %format!("{e:#}"), "report delivery failed");
                outcome.result = "failed".into();
                outcome.error = Some(message);
                if attempt < settings.max_attempts {
                    tokio::time::sleep(settings.backoff(attempt)).await;
                }
            }
        }
    }
    outcome
}

async fn send_once(
    settings: &ReportSettings,
    envelope: &Envelope,
    target: &Target,
) -> anyhow::Result<()> {
    match target.channel {
        Channel::Email => {
            let smtp = settings.smtp.as_ref().context("SMTP is not configured")?;
            send_email(smtp, settings.timeout_seconds, envelope, &target.recipient).await
        }
        Channel::Slack => {
            let slack = settings.slack.as_ref().context("Slack is not configured")?;
            post_json(
                slack.webhook_url.expose_secret(),
                serde_json::to_vec(&envelope.rendered.slack)?,
                None,
                settings.timeout_seconds,
            )
            .await
        }
        Channel::Webhook => {
            let hook = settings
                .webhook
                .as_ref()
                .context("the webhook is not configured")?;
            let body = serde_json::to_vec(&serde_json::json!({
                "event": "weekly_report.sent",
                "team": envelope.team_key,
                "week": envelope.week,
                "link": envelope.link,
                "report": envelope.rendered.json,
                "markdown": envelope.rendered.markdown,
            }))?;
            let sig = signature(hook.secret.expose_secret().as_bytes(), &body);
            post_json(&hook.url, body, Some(sig), settings.timeout_seconds).await
        }
    }
}

async fn post_json(
    url: &str,
    body: Vec<u8>,
    signature: Option<String>,
    timeout_seconds: u64,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_seconds))
        .build()?;
    let mut req = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header(SIGNATURE_HEADER, sig);
    }
    let resp = req.send().await.map_err(|e| {
        // reqwest's error names the URL, which for Slack is a secret.
        anyhow::anyhow!("the request failed: {}", e.without_url())
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    anyhow::bail!(
        "the receiver answered {status}: {}",
        text.chars().take(200).collect::<String>()
    )
}

/// Builds the e-mail: multipart/alternative of the plain text and a
/// multipart/related HTML part carrying the charts as inline parts.
pub fn email_message(from: &str, to: &str, rendered: &Rendered) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().context("report.smtp.from")?;
    let to: Mailbox = to
        .parse()
        .with_context(|| format!("{to:?} is not an e-mail address"))?;
    let mut related = MultiPart::related().singlepart(SinglePart::html(rendered.html.clone()));
    for c in &rendered.charts {
        related = related.singlepart(
            Attachment::new_inline(c.cid.clone())
                .body(c.png.clone(), ContentType::parse("image/png")?),
        );
    }
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.title.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(rendered.text.clone()))
                .multipart(related),
        )?)
}

async fn send_email(
    smtp: &SmtpSettings,
    timeout_seconds: u64,
    envelope: &Envelope,
    to: &str,
) -> anyhow::Result<()> {
    let message = email_message(&smtp.from, to, &envelope.rendered)?;
    smtp_send(smtp, timeout_seconds, message).await
}

/// Sends one message through `[report.smtp]` (also the health checks'
/// e-mail alerts).
pub async fn smtp_send(
    smtp: &SmtpSettings,
    timeout_seconds: u64,
    message: Message,
) -> anyhow::Result<()> {
    smtp_transport(smtp, timeout_seconds)?
        .send(message)
        .await
        .with_context(|| format!("SMTP {}:{}", smtp.host, smtp.port))?;
    Ok(())
}

pub use crate::smtp::smtp_transport;

/// When a send counts as done for the draft: at least one delivery sent and
/// none failed in this send.
pub fn all_delivered(outcomes: &[Outcome]) -> bool {
    outcomes.iter().all(|o| o.result != "failed")
}

/// The instant a delivery claim counts as abandoned.
pub fn stale_before(settings: &ReportSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::minutes(i64::from(settings.claim_stale_minutes))
}

/// The result of sending a week's report.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SendResult {
    pub week: String,
    pub outcomes: Vec<Outcome>,
    /// Whether the report is (now) in the archive.
    pub archived: bool,
}

/// Sends the team's report of `week` once a manager approved it: what a
/// person asks for (the API's `send`, `tandem report send`). A draft not yet
/// approved is a `Conflict` naming `status`, and nothing is sent. The
/// scheduler's automatic sending calls [`send_week`] directly.
pub async fn send_approved(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> AppResult<SendResult> {
    let label = report::week_label(week);
    // Read, not made: a refused send leaves no empty draft behind.
    let draft = store.find_draft(team_id, &label).await?;
    if draft.is_none_or(|d| d.status == report::DraftStatus::Draft) {
        return Err(AppError::conflict(
            Some("status"),
            format!("approve the report of {label} before sending it"),
        ));
    }
    send_week(store, settings, team_id, week).await
}

/// Sends the team's report of `week` (edits applied) to every configured
/// target not yet served, archives it when anything was delivered and marks
/// the draft sent. Failed targets are logged and can be retried by sending
/// again; the draft and its edits stay as they are.
pub async fn send_week(
    store: &Store,
    settings: &crate::Settings,
    team_id: Uuid,
    week: IsoWeek,
) -> AppResult<SendResult> {
    let label = report::week_label(week);
    let team = store.get_team(team_id).await?;
    let targets = team_targets(store, settings, team_id).await?;
    if targets.is_empty() {
        return Err(AppError::Conflict {
            field: None,
            message: NO_CHANNEL.into(),
        });
    }
    let draft = store.draft(team_id, &label, Utc::now()).await?;
    let data = weekly_full(store, settings, team_id, week).await?;
    let report = report::apply(&data, &draft.edits);
    let url = super::link(settings, &team.key, &label);
    let rendered = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || super::render(&report, Some(&url)).map(|r| (r, report)))
            .await
            .map_err(anyhow::Error::from)??
    };
    let (rendered, report) = rendered;
    let envelope = Envelope {
        team_id,
        team_key: team.key.clone(),
        week: label.clone(),
        rendered: std::sync::Arc::new(rendered),
        link: url,
    };
    let outcomes = deliver(store, &settings.report, &envelope, targets).await;
    let delivered = store
        .list_report_deliveries(team_id, &label)
        .await?
        .iter()
        .any(|d| d.status == tandem_domain::report::DeliveryStatus::Sent);
    if delivered {
        let r = &envelope.rendered;
        let now = tandem_domain::time::micros(Utc::now());
        let mut upload_error = None;
        let object_prefix = match &settings.report.s3 {
            None => None,
            Some(s3) => match super::archive::upload(s3, &team.key, &label, r).await {
                Ok(prefix) => Some(prefix),
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::warn!(team = %team.key, week = %label, error = %error,
                        "the archive upload failed; the report is archived in the database and the upload retried");
                    upload_error = Some(error);
                    None
                }
            },
        };
        store
            .archive_report(&tandem_store::ArchivedReport {
                id: Uuid::now_v7(),
                team_id,
                week: label.clone(),
                title: report.title.clone(),
                sent_at: now,
                report: r.json.clone(),
                markdown: r.markdown.clone(),
                html: r.html.clone(),
                text: r.text.clone(),
                slack: r.slack.clone(),
                object_prefix,
            })
            .await?;
        if let Some(error) = upload_error {
            let due = now + super::archive::retry_delay(1);
            store
                .archive_upload_failed(team_id, &label, &error, due)
                .await?;
        }
        store.mark_draft_sent(draft.id, now).await?;
    }
    Ok(SendResult {
        week: label,
        outcomes,
        archived: delivered,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Settings;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let env: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(Some(Path::new("../server/tandem.example.toml")), &env)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_example_configuration_has_the_defaults() {
        let s = load(&[]).unwrap();
        assert_eq!(s.report.schedule, "0 16 * * 5");
        assert!(!s.report.auto_send);
        assert!(s.report.smtp.is_none() && s.report.slack.is_none() && s.report.webhook.is_none());
        assert!(
            targets(&s.report, &["a@example.com".into()]).is_empty(),
            "no channel, no target"
        );
    }

    #[test]
    fn bad_report_settings_are_named() {
        let e = load(&[("TANDEM_REPORT__SCHEDULE", "0 0 16 * * 5")]).unwrap_err();
        assert!(
            e.contains("report.schedule") && e.contains("minute first"),
            "{e}"
        );
        let e = load(&[("TANDEM_REPORT__MAX_ATTEMPTS", "0")]).unwrap_err();
        assert!(e.contains("report.max_attempts"), "{e}");
        let e = load(&[
            ("TANDEM_REPORT__SMTP__HOST", "127.0.0.1"),
            ("TANDEM_REPORT__SMTP__FROM", "not an address"),
        ])
        .unwrap_err();
        assert!(e.contains("report.smtp.from"), "{e}");
        let e = load(&[
            ("TANDEM_REPORT__SMTP__HOST", "127.0.0.1"),
            ("TANDEM_REPORT__SMTP__FROM", "t@example.com"),
            ("TANDEM_REPORT__SMTP__USERNAME", "t"),
        ])
        .unwrap_err();
        assert!(e.contains("both username and password"), "{e}");
        let s = load(&[
            ("TANDEM_REPORT__SMTP__HOST", "mail.example.com"),
            ("TANDEM_REPORT__SMTP__FROM", "Tandem <t@example.com>"),
            ("TANDEM_REPORT__SMTP__USERNAME", "t"),
            ("TANDEM_REPORT__SMTP__PASSWORD", "hunter2"),
        ])
        .unwrap();
        let smtp = s.report.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
        assert!(
            !format!("{s:?}").contains("hunter2"),
            "secrets are redacted"
        );
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
    }

    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_email_has_text_html_and_inline_charts() {
        let rendered = Rendered {
            title: "Payments — week 2026-W47 (16–22 Nov)".into(),
            markdown: String::new(),
            html: "<p>hi <img src=\"cid:c0@tandem\"></p>".into(),
            text: "hi".into(),
            slack: serde_json::Value::Null,
            json: serde_json::Value::Null,
            charts: vec![crate::report::RenderedChart {
                line_id: "metric:x".into(),
                cid: "c0@tandem".into(),
                png: vec![0x89, b'P', b'N', b'G'],
            }],
        };
        let m = email_message("Tandem <t@example.com>", "ana@example.com", &rendered).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("multipart/related"), "{raw}");
        assert!(raw.contains("Content-ID: <c0@tandem>"), "{raw}");
        assert!(raw.contains("Content-Disposition: inline"), "{raw}");
        let e = email_message("Tandem <t@example.com>", "nope", &rendered).unwrap_err();
        assert!(
            format!("{e:#}").contains("\"nope\" is not an e-mail address"),
            "{e:#}"
        );
    }
}
