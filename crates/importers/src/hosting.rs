//! The GitHub and GitLab APIs beyond a backfill, behind one [`Remote`]:
//! the commits of one pull (merge) request, which `tandem_app::pr_commits`
//! fetches when a merge arrives; and, for `tandem connect`, the
//! repositories of an organisation or group (paged) and its webhooks
//! (listed, created, updated).
//!
//! Shapes are the providers' REST documents: GitHub `GET /orgs/{org}/repos`,
//! `GET|POST /orgs/{org}/hooks`, `GET|POST /repos/{owner}/{repo}/hooks`,
//! `PATCH …/hooks/{id}` with `config.{url, content_type, secret,
//! insecure_ssl}` and `events`; GitLab `GET
//! /groups/:id/projects?include_subgroups=true`, `GET|POST
//! /groups/:id/hooks` (a Premium feature), `GET|POST /projects/:id/hooks`,
//! `PUT …/hooks/:hook_id` with `url`, `token` and one `*_events` flag per
//! event. Paths are URL-encoded as the `:id`.
//!
//! Rules: rate limits, paging and errors are `rest`'s; a refusal keeps its
//! status ([`RestError::status`]) so callers can tell "no permission"
//! (401, 403, 404) from a failure.

use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tandem_domain::engineering::{PrCommit, Provider};

use crate::backfill::BackfillError;
use crate::rest::{self, Page, RestError};
use crate::{github, gitlab};

/// URLs as the clients parse them.
pub use reqwest::Url;

/// The GitHub events Tandem maps (`tandem_domain::webhook::github::map`).
pub const GITHUB_EVENTS: &[&str] = &[
    "push",
    "pull_request",
    "pull_request_review",
    "deployment",
    "deployment_status",
    "workflow_run",
    "issues",
    "release",
];

/// The GitLab hook flags of the events Tandem maps
/// (`tandem_domain::webhook::gitlab::map`).
pub const GITLAB_EVENTS: &[&str] = &[
    "push_events",
    "merge_requests_events",
    "note_events",
    "deployment_events",
    "pipeline_events",
    "issues_events",
    "releases_events",
];

/// A repository of an organisation or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteRepository {
    /// GitHub `OWNER/NAME`; GitLab `group/subgroup/name`.
    pub full_name: String,
    pub archived: bool,
}

/// Where a webhook is set: an organisation (GitHub) or group (GitLab), or
/// one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookTarget {
    Owner(String),
    Repository(String),
}

/// A webhook as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHook {
    pub id: i64,
    pub url: String,
}

enum Client {
    Github(github::Client),
    Gitlab(gitlab::Client),
}

/// A client of one provider's API.
pub struct Remote {
    client: Client,
}

impl std::fmt::Debug for Remote {
    /// Never shows the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("provider", &self.provider().as_str())
            .field("base", &self.base())
            .finish()
    }
}

impl Remote {
    /// A client of `api_url` with an optional token, waiting out rate
    /// limits up to `max_wait` a time.
    pub fn new(
        provider: Provider,
        api_url: &str,
        token: Option<String>,
        max_wait: Duration,
    ) -> Result<Remote, BackfillError> {
        let client = match provider {
            Provider::Gitlab => Client::Gitlab(rest::Client::new(
                gitlab::Gitlab { token },
                api_url,
                max_wait,
            )?),
            _ => Client::Github(rest::Client::new(
                github::Github { token },
                api_url,
                max_wait,
            )?),
        };
        Ok(Remote { client })
    }

    /// Never waits for a rate limit: a limited answer is
    /// [`RestError::Deferred`], a used-up window [`Remote::exhausted_for`].
    pub fn deferring(self) -> Remote {
        let client = match self.client {
            Client::Github(c) => Client::Github(c.deferring()),
            Client::Gitlab(c) => Client::Gitlab(c.deferring()),
        };
        Remote { client }
    }

    /// How long until the window resets, when the last answer used it up.
    pub fn exhausted_for(&self) -> Option<Duration> {
        match &self.client {
            Client::Github(c) => c.exhausted_for,
            Client::Gitlab(c) => c.exhausted_for,
        }
    }

    fn provider(&self) -> Provider {
        match self.client {
            Client::Github(_) => Provider::Github,
            Client::Gitlab(_) => Provider::Gitlab,
        }
    }

    fn base(&self) -> &str {
        match &self.client {
            Client::Github(c) => &c.base,
            Client::Gitlab(c) => &c.base,
        }
    }

    async fn request(
        &mut self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Page, RestError> {
        match &mut self.client {
            Client::Github(c) => c.request(method, url, body).await,
            Client::Gitlab(c) => c.request(method, url, body).await,
        }
    }

    async fn get_all(&mut self, url: &str) -> Result<Vec<Value>, RestError> {
        match &mut self.client {
            Client::Github(c) => c.get_all(url).await,
            Client::Gitlab(c) => c.get_all(url).await,
        }
    }

    /// The commits of pull request (GitLab: merge request iid) `number`.
    pub async fn pull_request_commits(
        &mut self,
        repo: &str,
        number: i64,
    ) -> Result<Vec<PrCommit>, BackfillError> {
        match &mut self.client {
            Client::Github(c) => github::pull_commits(c, repo, number).await,
            Client::Gitlab(c) => {
                let url = format!("{}/projects/{}", c.base, gitlab::project_id(repo)?);
                gitlab::merge_request_commits(c, &url, number).await
            }
        }
    }

    /// Every repository of the organisation (GitHub) or group and its
    /// subgroups (GitLab), in the order the API lists them.
    pub async fn repositories(
        &mut self,
        owner: &str,
    ) -> Result<Vec<RemoteRepository>, BackfillError> {
        let (url, name_field) = match self.provider() {
            Provider::Gitlab => (
                format!(
                    "{}/groups/{}/projects?include_subgroups=true&per_page=100&order_by=path&sort=asc",
                    self.base(),
                    encode(owner)
                ),
                "path_with_namespace",
            ),
            _ => (
                format!("{}/orgs/{}/repos?type=all&per_page=100", self.base(), owner),
                "full_name",
            ),
        };
        let mut out = Vec::new();
        for item in self.get_all(&url).await? {
            let Some(full_name) = item.get(name_field).and_then(Value::as_str) else {
                return Err(body(
                    &url,
                    self.provider(),
                    format!("an item without {name_field}"),
                ));
            };
            out.push(RemoteRepository {
                full_name: full_name.to_owned(),
                archived: item
                    .get("archived")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
        Ok(out)
    }

    fn hooks_url(&self, target: &HookTarget) -> String {
        match (self.provider(), target) {
            (Provider::Gitlab, HookTarget::Owner(g)) => {
                format!("{}/groups/{}/hooks", self.base(), encode(g))
            }
            (Provider::Gitlab, HookTarget::Repository(r)) => {
                format!("{}/projects/{}/hooks", self.base(), encode(r))
            }
            (_, HookTarget::Owner(o)) => format!("{}/orgs/{o}/hooks", self.base()),
            (_, HookTarget::Repository(r)) => format!("{}/repos/{r}/hooks", self.base()),
        }
    }

    /// The webhooks set on `target`.
    pub async fn hooks(&mut self, target: &HookTarget) -> Result<Vec<RemoteHook>, BackfillError> {
        let url = format!("{}?per_page=100", self.hooks_url(target));
        let provider = self.provider();
        let mut out = Vec::new();
        for item in self.get_all(&url).await? {
            let id = item.get("id").and_then(Value::as_i64);
            // GitHub keeps the address in `config.url` (`url` is the hook's
            // own API address); GitLab in `url`.
            let hook_url = match provider {
                Provider::Gitlab => item.get("url"),
                _ => item.pointer("/config/url"),
            }
            .and_then(Value::as_str);
            match (id, hook_url) {
                (Some(id), Some(hook_url)) => out.push(RemoteHook {
                    id,
                    url: hook_url.to_owned(),
                }),
                // A GitHub App's or service's hook without a URL.
                (Some(_), None) => {}
                _ => return Err(body(&url, provider, "a hook without an id".to_owned())),
            }
        }
        Ok(out)
    }

    /// The body of a hook sending Tandem's events to `url`, signed with
    /// (GitHub) or carrying (GitLab) `secret`.
    fn hook_body(&self, url: &str, secret: &str) -> Value {
        match self.provider() {
            Provider::Gitlab => {
                let mut body = json!({
                    "url": url,
                    "token": secret,
                    "enable_ssl_verification": true,
                });
                for flag in GITLAB_EVENTS {
                    body[*flag] = Value::Bool(true);
                }
                body
            }
            _ => json!({
                "name": "web",
                "active": true,
                "events": GITHUB_EVENTS,
                "config": {
                    "url": url,
                    "content_type": "json",
                    "secret": secret,
                    "insecure_ssl": "0",
                },
            }),
        }
    }

    /// Creates a webhook on `target`; its id.
    pub async fn create_hook(
        &mut self,
        target: &HookTarget,
        url: &str,
        secret: &str,
    ) -> Result<i64, BackfillError> {
        let hooks_url = self.hooks_url(target);
        let body = self.hook_body(url, secret);
        let page = self.request(Method::POST, &hooks_url, Some(&body)).await?;
        page.body
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| body_post(&hooks_url, self.provider()))
    }

    /// Points an existing webhook at `url` with `secret` and Tandem's events.
    pub async fn update_hook(
        &mut self,
        target: &HookTarget,
        id: i64,
        url: &str,
        secret: &str,
    ) -> Result<(), BackfillError> {
        let hook_url = format!("{}/{id}", self.hooks_url(target));
        let mut body = self.hook_body(url, secret);
        let method = match self.provider() {
            Provider::Gitlab => Method::PUT,
            _ => {
                // `name` cannot be changed.
                if let Some(o) = body.as_object_mut() {
                    o.remove("name");
                }
                Method::PATCH
            }
        };
        self.request(method, &hook_url, Some(&body)).await?;
        Ok(())
    }
}

/// A path as the GitLab API's `:id` (every character outside the
/// unreserved set percent-encoded).
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Gitlab => "GitLab",
        _ => "GitHub",
    }
}

fn body(url: &str, provider: Provider, reason: String) -> BackfillError {
    RestError::Body {
        method: Method::GET,
        url: url.to_owned(),
        provider: provider_name(provider),
        reason,
    }
    .into()
}

fn body_post(url: &str, provider: Provider) -> BackfillError {
    RestError::Body {
        method: Method::POST,
        url: url.to_owned(),
        provider: provider_name(provider),
        reason: "the created hook has no id".to_owned(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_paths_are_encoded() {
        assert_eq!(encode("acme/platform team"), "acme%2Fplatform%20team");
        assert_eq!(encode("acme"), "acme");
    }
}
