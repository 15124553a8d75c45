//! Requests through the Slack app: `/tandem ask …`, the message shortcut,
//! the modal's submission, and telling the requester (ADR 0022).
//!
//! The server verifies Slack's signature and answers within Slack's three
//! seconds; what may take longer (opening the modal, looking the person
//! up, storing the request, confirming) runs here, after the answer. The
//! modal carries where the request was asked (channel, `response_url`) in
//! its `private_metadata`, so its submission can answer there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::intake::{
    self, ContactChannel, FormErrors, IntakeForm, RequestContact, TeamChoice,
};
use tandem_store::{ListQuery, Store};
use uuid::Uuid;

use super::slack_api::SlackClient;
use super::{Requester, Submitted};
use crate::AppResult;
use crate::settings::Settings;

/// Where a modal was opened from, carried through it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalOrigin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
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

/// Stores the request `user` (a Slack user id) submitted, matched to a
/// Tandem user by e-mail when Slack tells the address, records where to
/// tell them, and confirms where they asked.
pub async fn submit(
    store: &Store,
    settings: &Settings,
    user: &str,
    form: IntakeForm,
    origin: &ModalOrigin,
    now: DateTime<Utc>,
) -> AppResult<Submitted> {
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
    let submitted = super::submit(store, settings, super::Source::Slack, form, requester, now).await?;
    store
        .set_request_contact(
            &RequestContact {
                request_id: submitted.id,
                channel: ContactChannel::Slack,
                address: user.to_owned(),
                slack_channel: origin.channel.clone(),
                response_url: origin.response_url.clone(),
                subject: None,
                last_message_id: None,
            },
            now,
        )
        .await?;
    let text = submitted.acknowledgement();
    let told = match &origin.response_url {
        Some(url) => client.respond(url, &text).await,
        None => client.post_message(user, &text, None).await,
    };
    if let Err(e) = told {
        tracing::warn!(error = %e, request = %submitted.id, "the Slack confirmation failed; the request is stored");
    }
    Ok(submitted)
}

/// Tells a Slack requester `text` in the app's direct message with them.
pub async fn tell(settings: &Settings, contact: &RequestContact, text: &str) -> AppResult<()> {
    SlackClient::new(&settings.slack)?
        .post_message(&contact.address, text, None)
        .await
}

/// The request a Slack contact belongs to (for handlers that only have
/// the id).
pub async fn contact(store: &Store, request: Uuid) -> AppResult<Option<RequestContact>> {
    Ok(store.request_contact(request).await?)
}
