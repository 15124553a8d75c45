//! The Slack and e-mail channels of business requests (ADR 0022): what
//! they collect becomes a request through [`crate::requests::submit`], and
//! the requests outbox's Slack and e-mail messages go back through them
//! ([`deliver_pending`]) once due: a message that is not urgent waits for
//! the requester's working hours outside the focus block (`crate::notify`).
//!
//! Map: `slack_api` (the Web API client), `slack` (modal, submission,
//! confirmation), `mail` (a raw e-mail to a request or a reply; threaded
//! replies), `imap` (the polled mailbox). The server's `slack.rs` verifies
//! and answers Slack; `jobs` polls the mailbox and delivers the outbox.

pub mod imap;
pub mod mail;
pub mod manager;
pub mod slack;
pub use crate::slack_api;

use chrono::{Duration, Utc};
use tandem_domain::FieldError;
use tandem_domain::intake::{self, IntakeForm};
use tandem_domain::request::{
    NewRequest, Notification, NotificationKind, ReplyAddress, Request, RequestSource,
};
use tandem_store::{Store, StoreError};

use crate::settings::{ImapSettings, Settings};
use crate::{AppError, AppResult};

/// Who asked, as the channel knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub name: String,
    pub email: Option<String>,
    pub slack_user: Option<String>,
}

/// `[requests.imap]`, when configured.
pub fn imap_settings(settings: &Settings) -> Option<&ImapSettings> {
    settings.requests.imap.as_ref()
}

/// A channel's form as a request: the team by key (an unknown one is
/// `Invalid` naming `team`), the requester matched to a Tandem user by
/// e-mail when the channel knows the address. `external_id` is the
/// channel's own id of it (a Slack view, a Message-ID): submitting it twice
/// is a `Conflict`.
async fn submit(
    store: &Store,
    settings: &Settings,
    source: RequestSource,
    form: IntakeForm,
    requester: Requester,
    reply: ReplyAddress,
    external_id: Option<String>,
) -> AppResult<Request> {
    let key = form.team.clone().unwrap_or_default();
    let team = match store.get_team_by_key(&key).await {
        Ok(t) => t,
        Err(StoreError::NotFound { .. }) => {
            return Err(AppError::Invalid(vec![FieldError {
                field: "team".into(),
                message: format!("there is no team {key:?}"),
            }]));
        }
        Err(e) => return Err(e.into()),
    };
    let user = match &requester.email {
        Some(email) => store.list_users().await?.into_iter().find(|u| {
            !u.disabled
                && u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
        }),
        None => None,
    };
    let mut new = NewRequest::new(
        team.id,
        form.title,
        user.as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or(requester.name),
        source,
    );
    new.description = form.details;
    new.answers = form.answers;
    new.requester_user_id = user.map(|u| u.id);
    new.reply = reply;
    new.external_id = external_id;
    crate::requests::submit(store, settings, new).await
}

/// What [`deliver_pending`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Delivered {
    pub sent: u32,
    pub failed: u32,
}

/// How long a claimed message is ours to send.
const DELIVERY_LEASE: Duration = Duration::minutes(2);
/// At most this many messages per channel per run.
const DELIVERY_BATCH: u32 = 100;

/// Sends the outbox's undelivered Slack and e-mail messages to their
/// requesters and to the managers of their teams (`manager`) (claimed one at a time, so replicas never send one twice; a
/// failed one is tried again once its lease ran out).
pub async fn deliver_pending(store: &Store, settings: &Settings) -> AppResult<Delivered> {
    deliver_pending_at(store, settings, Utc::now()).await
}

/// [`deliver_pending`] at `now`: only messages due by then go (a decision
/// that is not urgent waits for the requester's working hours outside the
/// focus block, `crate::notify`).
pub async fn deliver_pending_at(
    store: &Store,
    settings: &Settings,
    now: chrono::DateTime<Utc>,
) -> AppResult<Delivered> {
    let mut done = Delivered::default();
    for source in [RequestSource::Slack, RequestSource::Email] {
        let configured = match source {
            RequestSource::Slack => settings.slack.bot_token.is_some(),
            _ => settings.report.smtp.is_some(),
        };
        if !configured {
            continue;
        }
        for _ in 0..DELIVERY_BATCH {
            let Some(n) =
                crate::requests::claim_notification_at(store, source, DELIVERY_LEASE, now).await?
            else {
                break;
            };
            let sent = match source {
                _ if n.kind == NotificationKind::Triage => {
                    manager::deliver(store, settings, &n).await
                }
                RequestSource::Slack => slack::deliver(settings, &n).await,
                _ => mail::deliver(store, settings, &n, Utc::now()).await,
            };
            match sent {
                Ok(()) => {
                    crate::requests::notification_delivered(store, n.id).await?;
                    done.sent += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, notification = %n.id, request = %n.request_id, "telling a requester failed; tried again after the lease");
                    crate::requests::notification_failed(store, n.id, &e.to_string()).await?;
                    done.failed += 1;
                }
            }
        }
    }
    Ok(done)
}

/// The text of a message to a requester: its body, and for a received
/// request the questions still open, numbered (an e-mail reply may answer
/// them so).
fn message_text(n: &Notification, request: Option<&Request>, numbered: bool) -> String {
    let mut text = n.body.clone();
    if numbered
        && n.kind == NotificationKind::Received
        && let Some(r) = request
    {
        let open = intake::open_questions(&r.answers);
        if !open.is_empty() {
            text = format!(
                "Your request \"{}\" reached the team's triage queue. Its manager will decide \
                 on it, and you will get the decision as a reply to this e-mail.\n\n\
                 The team needs these answers before it can agree to it; reply with one \
                 numbered paragraph per answer:\n\n{}",
                r.title,
                open.iter()
                    .map(|(n, q)| format!("{n}. {q}\n"))
                    .collect::<String>()
            );
        }
    }
    text
}
