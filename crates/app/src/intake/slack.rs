//! Requests through the Slack app: `/tandem ask …`, the message shortcut,
//! the modal's submission, and telling the requester (ADR 0022).
//!
//! The server verifies Slack's signature and answers within Slack's three
//! seconds; what may take longer (opening the modal, looking the person
//! up, storing the request, confirming) runs here, after the answer. The
//! modal carries where the request was asked (channel, `response_url`) in
//! its `private_metadata`, so its submission can answer there.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::intake::{self, FormErrors, IntakeForm, TeamChoice};
use tandem_domain::request::{
    Notification, NotificationKind, ReplyAddress, Request, RequestSource,
};
use tandem_store::{ListQuery, Store};

use super::Requester;
use super::slack_api::SlackClient;
use crate::settings::Settings;
use crate::{AppError, AppResult};

/// Where a modal was opened from, carried through it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalOrigin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
    /// The message a shortcut turned into a request: answers go in its
    /// thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

impl ModalOrigin {
    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads `private_metadata`; anything unreadable is no origin.
    pub fn decode(metadata: &str) -> ModalOrigin {
        serde_json::from_str(metadata).unwrap_or_default()
    }
}

async fn team_choices(store: &Store) -> AppResult<Vec<TeamChoice>> {
    let teams = crate::paging::all(ListQuery::default(), |q| async move {
        store.list_teams(&q).await
    })
    .await?;
    Ok(teams
        .into_iter()
        .map(|t| TeamChoice {
            key: t.key,
            name: t.name,
        })
        .collect())
}

/// Opens the request modal for the person whose action gave `trigger_id`,
/// pre-filled with `title` and `details`.
pub async fn open_request_modal(
    store: &Store,
    settings: &Settings,
    trigger_id: &str,
    title: &str,
    details: &str,
    origin: &ModalOrigin,
) -> AppResult<()> {
    let client = SlackClient::new(&settings.slack)?;
    let teams = team_choices(store).await?;
    let view = intake::request_modal(&teams, title, details, &origin.encode());
    client.views_open(trigger_id, &view).await
}

/// Checks a submitted modal (`view`) against the teams that exist: the form,
/// or the errors Slack shows in the still open modal.
pub async fn check_submission(
    store: &Store,
    view: &Value,
) -> AppResult<Result<IntakeForm, FormErrors>> {
    let keys: Vec<String> = team_choices(store)
        .await?
        .into_iter()
        .map(|t| t.key)
        .collect();
    Ok(intake::parse_submission(view, &keys))
}

/// Stores the request `user` (a Slack user id) submitted in the modal
/// whose id is `view_id`, matched to a Tandem user by e-mail when Slack
/// tells the address. The requests outbox then confirms it where it was
/// asked ([`deliver`]).
pub async fn submit(
    store: &Store,
    settings: &Settings,
    user: &str,
    form: IntakeForm,
    origin: &ModalOrigin,
    view_id: Option<String>,
) -> AppResult<Request> {
    let client = SlackClient::new(&settings.slack)?;
    let (email, name) = match client.user_profile(user).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, user, "Slack users.info failed; the request keeps the Slack user id only");
            (None, None)
        }
    };
    let requester = Requester {
        name: name.unwrap_or_else(|| format!("Slack user {user}")),
        email,
        slack_user: Some(user.to_owned()),
    };
    let reply = ReplyAddress {
        slack_channel: origin.channel.clone(),
        slack_user: Some(user.to_owned()),
        slack_response_url: origin.response_url.clone(),
        slack_thread_ts: origin.thread_ts.clone(),
        ..ReplyAddress::default()
    };
    super::submit(
        store,
        settings,
        RequestSource::Slack,
        form,
        requester,
        reply,
        view_id.map(|v| format!("view:{v}")),
    )
    .await
}

/// How long Slack accepts posts to a `response_url`.
const RESPONSE_URL_LIFE: Duration = Duration::minutes(30);

/// Sends one outbox message to a Slack requester: in the thread of the
/// message a shortcut turned into the request; else the confirmation of
/// receipt, while the slash command's `response_url` lives, there (only
/// they see it); else (decisions, which must last) in the app's direct
/// message with them.
pub async fn deliver(settings: &Settings, n: &Notification) -> AppResult<()> {
    let client = SlackClient::new(&settings.slack)?;
    let text = super::message_text(n, None, false);
    let r = &n.reply;
    if let (Some(channel), Some(ts)) = (&r.slack_channel, &r.slack_thread_ts) {
        return client.post_message(channel, &text, Some(ts)).await;
    }
    if let Some(url) = &r.slack_response_url
        && n.kind == NotificationKind::Received
        && Utc::now() - n.created_at < RESPONSE_URL_LIFE
        && client.respond(url, &text).await.is_ok()
    {
        return Ok(());
    }
    let to = r
        .slack_user
        .as_deref()
        .or(r.slack_channel.as_deref())
        .ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!(
                "request {} came through Slack without a user or channel to answer",
                n.request_id
            ))
        })?;
    client.post_message(to, &text, None).await
}
