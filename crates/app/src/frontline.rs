//! The front line (issue 16, item 4; ADR 0031): everything the incident
//! page shows and does, for the API and the pages alike.
//!
//! - [`incident`]: the incident with its timeline (detected, each alert
//!   and its delivery attempts, acknowledged, business updates, resolved),
//!   the service's last deployment before it and that deployment's commits
//!   (the suspects, from the engineering data as attributed), the business
//!   updates and the post-incident note.
//! - [`resolve`]: resolves an incident of any source through
//!   `events::record_incident_from`, so time to restore changes as for any
//!   other report of it.
//! - [`post_business_update`]: stores a plain-language update (what is
//!   affected, what we are doing, next update by) that the status page
//!   shows at once, and puts it in the outbox of the stakeholders' Slack
//!   channel (`[frontline]`, through the `[slack]` app's Web API client):
//!   [`deliver_business_updates`] claims each (one sender at a time, ADR
//!   0039), posts it, and retries a failure after a lease; the page shows
//!   its state (pending, posted, failed and why).
//! - [`save_note`] / [`note_template`]: the post-incident note (Markdown),
//!   stored beside the incident; the template fills in the facts.
//! - [`set_check_disabled`]: a check switched off is kept but never run.
//!
//! Team-level, not person-level: the suspects are the deployment's commits
//! and pull requests, never their authors.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tandem_domain::engineering::{Deployment, Incident};
use tandem_domain::frontline::{
    BusinessUpdateInput, NoteFacts, business_update_text, note_template as template,
};
use tandem_domain::time::micros;
use tandem_store::{
    Alert, AlertAttempt, BusinessUpdate, IncidentEntry, IncidentNote, ShippedCommit, Store,
    StoredCheck,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::events::{self, IncidentEvent};
use crate::settings::Settings;
use crate::slack_api::SlackClient;

/// An alert with its delivery attempts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = FrontlineAlertLog)]
pub struct AlertLog {
    pub alert: Alert,
    pub attempts: Vec<AlertAttempt>,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `detected`, `alert`, `delivery`, `alerted`, `acknowledged`,
    /// `business-update`, `resolved`.
    pub kind: String,
    pub text: String,
}

/// A commit the last deployment shipped.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suspect {
    pub repo: String,
    pub sha: String,
    /// The commit's first line, when its history was imported.
    pub subject: Option<String>,
    pub pr_number: Option<i64>,
    pub authored_at: DateTime<Utc>,
}

/// Everything the incident page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub incident: IncidentEntry,
    /// The team owning the incident's project.
    pub team: String,
    pub alerts: Vec<AlertLog>,
    pub timeline: Vec<TimelineEntry>,
    /// The service's newest deployment that started before the incident.
    pub last_deployment: Option<Deployment>,
    /// The commits it shipped (as attributed), newest first.
    pub suspects: Vec<Suspect>,
    pub updates: Vec<BusinessUpdate>,
    pub note: Option<IncidentNote>,
}

/// The incident page's facts for the incident `id` (Tandem's id or its
/// sender's id).
pub async fn incident(store: &Store, settings: &Settings, id: &str) -> AppResult<IncidentView> {
    let entry = events::find_incident(store, id).await?;
    let project = store.get_project(entry.project_id).await?;
    let team = store.get_team(project.team_id).await?;
    let mut alerts = Vec::new();
    for alert in store.list_alerts(Some(entry.id)).await? {
        let attempts = store.alert_attempts(alert.id).await?;
        alerts.push(AlertLog { alert, attempts });
    }
    let updates = store
        .business_updates(Some(entry.id), DateTime::<Utc>::UNIX_EPOCH, 1000)
        .await?;
    let note = store.incident_note(entry.id).await?;
    let (last_deployment, suspects) = match &entry.service {
        Some(service) => suspects(store, settings, &entry, service).await?,
        None => (None, Vec::new()),
    };
    let timeline = timeline(&entry, &alerts, &updates);
    Ok(IncidentView {
        incident: entry,
        team: team.key,
        alerts,
        timeline,
        last_deployment,
        suspects,
        updates,
        note,
    })
}

async fn suspects(
    store: &Store,
    settings: &Settings,
    entry: &IncidentEntry,
    service: &str,
) -> AppResult<(Option<Deployment>, Vec<Suspect>)> {
    let Some(deployment) = store
        .last_deployment_before(entry.project_id, service, entry.opened_at)
        .await?
    else {
        return Ok((None, Vec::new()));
    };
    // The shipped commits are derived facts: bring them up to date first.
    crate::delivery_metrics::prepare(store, settings).await?;
    let mut shipped: Vec<ShippedCommit> = store.shipped_commits(deployment.id).await?;
    shipped.reverse();
    let mut out = Vec::with_capacity(shipped.len());
    for c in shipped.into_iter().take(50) {
        let subject = store.get_commit(&c.repo, &c.sha).await?.map(|g| g.subject);
        out.push(Suspect {
            repo: c.repo,
            sha: c.sha,
            subject,
            pr_number: c.pr_number,
            authored_at: c.authored_at,
        });
    }
    Ok((Some(deployment), out))
}

/// The timeline, oldest first.
pub fn timeline(
    entry: &IncidentEntry,
    alerts: &[AlertLog],
    updates: &[BusinessUpdate],
) -> Vec<TimelineEntry> {
    let line = |at, kind: &str, text: String| TimelineEntry {
        at,
        kind: kind.to_owned(),
        text,
    };
    let mut out = vec![line(
        entry.opened_at,
        "detected",
        format!("Detected: {} ({})", entry.title, entry.source),
    )];
    let mut first_sent: Option<DateTime<Utc>> = None;
    for a in alerts {
        out.push(line(
            a.alert.created_at,
            "alert",
            format!(
                "{} alert queued for route {} ({}), due {}",
                a.alert.kind,
                a.alert.destination,
                a.alert.channel,
                a.alert.due_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ));
        for t in &a.attempts {
            out.push(line(
                t.at,
                "delivery",
                format!(
                    "Delivery attempt {} of the {} alert to {}: {} ({})",
                    t.attempt, a.alert.kind, a.alert.destination, t.outcome, t.message
                ),
            ));
        }
        if let Some(sent) = a.alert.sent_at {
            first_sent = Some(first_sent.map_or(sent, |f| f.min(sent)));
        }
    }
    if let Some(at) = first_sent {
        out.push(line(
            at,
            "alerted",
            "Alerted: the first alert was delivered".into(),
        ));
    }
    if let Some(at) = entry.acknowledged_at {
        out.push(line(
            at,
            "acknowledged",
            format!(
                "Acknowledged by {}",
                entry.acknowledged_by.as_deref().unwrap_or("someone")
            ),
        ));
    }
    for u in updates {
        out.push(line(
            u.created_at,
            "business-update",
            format!(
                "Business update by {}: {} (Slack: {}{})",
                u.posted_by,
                u.affected,
                u.slack_outcome,
                u.slack_error
                    .as_deref()
                    .map(|e| format!(", {e}"))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(at) = entry.resolved_at {
        out.push(line(at, "resolved", "Resolved".into()));
    }
    // Stable: equal instants keep the order above (detected first).
    out.sort_by_key(|e| e.at);
    out
}

/// Resolves an incident of any source at `at` (default now); an incident
/// already resolved keeps its time. Returns it.
pub async fn resolve(
    store: &Store,
    id: &str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<IncidentEntry> {
    let entry = events::find_incident(store, id).await?;
    let stored: Incident = store
        .get_incident(&entry.source, &entry.external_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no incident {id:?} was recorded")))?;
    if stored.resolved_at.is_none() {
        let at = micros(at.unwrap_or(now));
        if at < stored.opened_at {
            return Err(AppError::invalid(
                "resolved_at",
                "is before the incident was opened",
            ));
        }
        let mut event = IncidentEvent::of(&stored);
        event.resolved_at = Some(at);
        events::record_incident_from(store, &entry.source, event, Some(now), now).await?;
    }
    events::find_incident(store, &entry.id.to_string()).await
}

/// Stores a business update for incident `id`: the status page shows it at
/// once, and the stakeholders' Slack channel gets it through the outbox
/// (`slack_outcome` `pending`; `not configured` without a channel or the
/// `[slack]` bot token): one
/// attempt starts right away in the background, and
/// [`deliver_business_updates`] retries until Slack takes it or
/// [`UPDATE_ATTEMPTS`] attempts failed. Returns the stored update.
pub async fn post_business_update(
    store: &Store,
    settings: &Settings,
    id: &str,
    input: BusinessUpdateInput,
    by: &str,
    now: DateTime<Utc>,
) -> AppResult<BusinessUpdate> {
    let now = micros(now);
    input.validate(now)?;
    let entry = events::find_incident(store, id).await?;
    let project = store.get_project(entry.project_id).await?;
    let team = store.get_team(project.team_id).await?;
    let channel = settings
        .frontline
        .channel_for(Some(&team.key))
        .map(str::to_owned);
    let update = BusinessUpdate {
        id: Uuid::now_v7(),
        incident_id: entry.id,
        project_id: entry.project_id,
        service: entry.service.clone(),
        affected: input.affected.trim().to_owned(),
        doing: input.doing.trim().to_owned(),
        next_update_at: input.next_update_at.map(micros),
        posted_by: by.to_owned(),
        created_at: now,
        // Without the `[slack]` bot token nothing could post it.
        slack_outcome: if channel.is_some() && settings.slack.bot_token.is_some() {
            tandem_store::UPDATE_PENDING.to_owned()
        } else {
            "not configured".to_owned()
        },
        slack_channel: channel,
        slack_attempts: 0,
        slack_error: None,
        slack_posted_at: None,
    };
    store.add_business_update(&update).await?;
    if update.slack_outcome == tandem_store::UPDATE_PENDING {
        // The first attempt, without making the person wait for Slack; the
        // claim keeps it from racing the outbox job.
        let (store, settings) = (store.clone(), settings.clone());
        tokio::spawn(async move {
            if let Err(e) = deliver_business_updates(&store, &settings).await {
                tracing::warn!(error = %e, "posting business updates failed; the outbox retries");
            }
        });
    }
    Ok(update)
}

/// How long a claimed business update is one sender's to post.
pub const UPDATE_LEASE: chrono::Duration = chrono::Duration::minutes(1);
/// Attempts before a business update is marked `failed` for good (about
/// ten minutes of Slack being unreachable: a business update is stale
/// after that; the page and the status page still show it).
pub const UPDATE_ATTEMPTS: i32 = 10;

/// What [`deliver_business_updates`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpdatesPosted {
    pub posted: u32,
    pub failed: u32,
}

/// Posts the business updates waiting for Slack (claimed one at a time, so
/// replicas never post one twice; a failed one is tried again once its
/// lease ran out).
pub async fn deliver_business_updates(
    store: &Store,
    settings: &Settings,
) -> AppResult<UpdatesPosted> {
    deliver_business_updates_at(store, settings, Utc::now()).await
}

/// [`deliver_business_updates`] at `now` (tests drive the lease).
pub async fn deliver_business_updates_at(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> AppResult<UpdatesPosted> {
    let mut done = UpdatesPosted::default();
    for _ in 0..100 {
        let Some(u) = store.claim_business_update(now, now + UPDATE_LEASE).await? else {
            break;
        };
        match post_update(store, settings, &u).await {
            Ok(()) => {
                store
                    .finish_business_update(u.id, Some(Utc::now()), None, false)
                    .await?;
                done.posted += 1;
            }
            Err(e) => {
                let give_up = u.slack_attempts >= UPDATE_ATTEMPTS;
                tracing::warn!(incident = %u.incident_id, update = %u.id, attempts = u.slack_attempts, give_up, error = %e, "a business update was not posted to Slack");
                let error: String = e.to_string().chars().take(500).collect();
                store
                    .finish_business_update(u.id, None, Some(&error), give_up)
                    .await?;
                done.failed += 1;
            }
        }
    }
    Ok(done)
}

/// Posts one update, worded as it was when it was written (resolved or
/// not then).
async fn post_update(store: &Store, settings: &Settings, u: &BusinessUpdate) -> AppResult<()> {
    let channel = u.slack_channel.as_deref().ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!("business update {} has no channel", u.id))
    })?;
    let entry = events::find_incident(store, &u.incident_id.to_string()).await?;
    let service = match &u.service {
        Some(s) => s.clone(),
        None => store.get_project(u.project_id).await?.name,
    };
    let resolved = entry.resolved_at.is_some_and(|at| at <= u.created_at);
    let input = BusinessUpdateInput {
        affected: u.affected.clone(),
        doing: u.doing.clone(),
        next_update_at: u.next_update_at,
    };
    let text = business_update_text(&service, resolved, &input);
    SlackClient::new(&settings.slack)?
        .post_message(channel, &text, None)
        .await
}

/// The post-incident note template for an incident, facts filled in.
pub fn note_template(view: &IncidentView) -> String {
    let i = &view.incident;
    let deploy = view.last_deployment.as_ref().map(|d| {
        format!(
            "{} {} at {}",
            d.environment,
            d.external_id,
            d.started_at.format("%Y-%m-%d %H:%M UTC")
        )
    });
    template(&NoteFacts {
        title: &i.title,
        service: i.service.as_deref().unwrap_or("—"),
        severity: &i.severity,
        opened_at: i.opened_at,
        acknowledged_at: i.acknowledged_at,
        resolved_at: i.resolved_at,
        last_deployment: deploy,
    })
}

/// Stores the post-incident note of incident `id` (Markdown).
pub async fn save_note(
    store: &Store,
    id: &str,
    body: &str,
    by: &str,
    now: DateTime<Utc>,
) -> AppResult<IncidentNote> {
    tandem_domain::text::bounded("note", body, 100_000).map_err(|e| AppError::Invalid(vec![e]))?;
    let entry = events::find_incident(store, id).await?;
    let note = IncidentNote {
        incident_id: entry.id,
        body: body.replace("\r\n", "\n"),
        updated_by: by.to_owned(),
        updated_at: micros(now),
    };
    store.save_incident_note(&note).await?;
    Ok(note)
}

/// Switches a check off (kept, never run) or back on, by name or id
/// (`checks::set_disabled`).
pub async fn set_check_disabled(
    store: &Store,
    name: &str,
    disabled: bool,
) -> AppResult<StoredCheck> {
    crate::checks::set_disabled(store, name, disabled).await
}

/// The incident's page address.
pub fn incident_url(settings: &Settings, id: Uuid) -> String {
    crate::checks::alerts::incident_page(settings, id)
}
