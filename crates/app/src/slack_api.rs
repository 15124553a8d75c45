//! The few Slack Web API methods the request intake and the pulse call:
//! `views.open`, `chat.postMessage`, `users.info`, `users.lookupByEmail`,
//! and posting to (or replacing a message through) a `response_url`.
//!
//! Slack answers its Web API with HTTP 200 and `{"ok": false, "error": …}`
//! on failure; both that and a transport failure become
//! `AppError::Unexpected` naming the method. The bot token is sent as a
//! bearer header, never in a body or URL. Calls time out after 10 seconds.

use std::time::Duration;

use anyhow::{Context, anyhow};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::settings::SlackAppSettings;
use crate::{AppError, AppResult};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A Slack Web API client with the app's bot token.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    api_url: String,
    token: String,
}

impl std::fmt::Debug for SlackClient {
    /// Never shows the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl SlackClient {
    /// The client, or an error saying the bot token is missing.
    pub fn new(settings: &SlackAppSettings) -> AppResult<SlackClient> {
        let token = settings
            .bot_token
            .as_ref()
            .map(|t| t.expose_secret().trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                // A missing setting, not a failure: the caller is told (409).
                AppError::conflict(
                    None,
                    "slack.bot_token is not set: Tandem cannot answer in Slack",
                )
            })?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context("the Slack HTTP client")?;
        Ok(SlackClient {
            http,
            api_url: settings.api_url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Calls `method` with a JSON body; the answer when Slack said `ok`.
    async fn call(&self, method: &str, body: &Value) -> AppResult<Value> {
        let response = self
            .http
            .post(format!("{}/{method}", self.api_url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("Slack {method}"))?;
        Self::answer(method, response).await
    }

    async fn answer(method: &str, response: reqwest::Response) -> AppResult<Value> {
        let ok_status = response.status().is_success();
        let text = response
            .text()
            .await
            .with_context(|| format!("Slack {method}: reading the answer"))?;
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            anyhow!(
                "Slack {method} answered{} {}",
                if ok_status { "" } else { " with an error" },
                text.chars().take(200).collect::<String>()
            )
        })?;
        if value["ok"].as_bool() != Some(true) {
            return Err(AppError::Unexpected(anyhow!(
                "Slack {method}: {}",
                value["error"].as_str().unwrap_or("not ok")
            )));
        }
        Ok(value)
    }

    /// Opens `view` (a modal) for the person whose action gave `trigger_id`
    /// (valid 3 seconds).
    pub async fn views_open(&self, trigger_id: &str, view: &Value) -> AppResult<()> {
        self.call(
            "views.open",
            &json!({"trigger_id": trigger_id, "view": view}),
        )
        .await
        .map(|_| ())
    }

    /// Posts `text` to `channel` (a user id posts to the app's direct
    /// message with that person); optionally in the thread of `thread_ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> AppResult<()> {
        let mut body = json!({"channel": channel, "text": text, "unfurl_links": false});
        if let Some(ts) = thread_ts {
            body["thread_ts"] = Value::String(ts.to_owned());
        }
        self.call("chat.postMessage", &body).await.map(|_| ())
    }

    /// Posts a message with `blocks` (and `text` as the notification's
    /// fallback) to `channel`; a user id posts to the app's direct message
    /// with that person.
    pub async fn post_blocks(&self, channel: &str, text: &str, blocks: &Value) -> AppResult<()> {
        let body =
            json!({"channel": channel, "text": text, "blocks": blocks, "unfurl_links": false});
        self.call("chat.postMessage", &body).await.map(|_| ())
    }

    /// The Slack user id of the account with this e-mail address
    /// (`users.lookupByEmail`, scope `users:read.email`); `None` when Slack
    /// has no such user.
    pub async fn lookup_by_email(&self, email: &str) -> AppResult<Option<String>> {
        let mut url = reqwest::Url::parse(&format!("{}/users.lookupByEmail", self.api_url))
            .context("slack.api_url")?;
        url.query_pairs_mut().append_pair("email", email);
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .context("Slack users.lookupByEmail")?;
        match Self::answer("users.lookupByEmail", response).await {
            Ok(v) => Ok(v["user"]["id"].as_str().map(str::to_owned)),
            Err(AppError::Unexpected(e)) if e.to_string().ends_with("users_not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the message an interaction came from, through its
    /// `response_url`.
    pub async fn replace_message(
        &self,
        response_url: &str,
        text: &str,
        blocks: &Value,
    ) -> AppResult<()> {
        self.post_response_url(
            response_url,
            &json!({"text": text, "blocks": blocks, "replace_original": true}),
        )
        .await
    }

    /// The e-mail address and real name of a Slack user (the address needs
    /// the `users:read.email` scope; `None` without it).
    pub async fn user_profile(&self, user: &str) -> AppResult<(Option<String>, Option<String>)> {
        // users.info takes its arguments in the query string (or a form), not JSON.
        let mut url = reqwest::Url::parse(&format!("{}/users.info", self.api_url))
            .context("slack.api_url")?;
        url.query_pairs_mut().append_pair("user", user);
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .context("Slack users.info")?;
        let v = Self::answer("users.info", response).await?;
        let profile = &v["user"]["profile"];
        let email = profile["email"].as_str().map(str::to_owned);
        let name = profile["real_name"]
            .as_str()
            .or(v["user"]["real_name"].as_str())
            .or(v["user"]["name"].as_str())
            .map(str::to_owned);
        Ok((email, name))
    }

    /// Posts an ephemeral `text` to a `response_url` (valid 30 minutes, 5
    /// times). Slack answers these with a plain `ok`.
    pub async fn respond(&self, response_url: &str, text: &str) -> AppResult<()> {
        self.post_response_url(
            response_url,
            &json!({"text": text, "response_type": "ephemeral", "replace_original": false}),
        )
        .await
    }

    /// Posts `body` to a `response_url`; Slack answers a plain `ok`.
    async fn post_response_url(&self, response_url: &str, body: &Value) -> AppResult<()> {
        let response = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .context("Slack response_url")?;
        if !response.status().is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(AppError::Unexpected(anyhow!(
                "Slack response_url refused the message: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        Ok(())
    }
}
