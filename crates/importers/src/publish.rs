//! The publishers' API clients (issue 17, ADR 0033): Notion pages in a
//! database, Confluence Cloud pages (REST v2, storage format) and Jira
//! issue comments (REST v3, ADF bodies). They go through the one HTTP client
//! ([`crate::rest`]): rate limits (`429` with `Retry-After`) are waited out
//! there, and every refusal becomes a [`RestError`] carrying the provider's
//! own message.
//!
//! Each client keeps a page or comment where it was: `update` answers
//! [`Written::Gone`] when the other side deleted (or archived) it, and the
//! caller creates it again and records the new id.
//!
//! Notion allows about three requests a second per integration: its client
//! sends each request at least [`NOTION_SPACING`] after the previous one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::rest::{self, Api, Client, RestError};

/// The wait after each Notion answer: three requests a second.
pub const NOTION_SPACING: Duration = Duration::from_millis(334);

/// Notion's block children per request.
const NOTION_CHILDREN_PER_REQUEST: usize = 100;

/// What writing a page or comment came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Written; its id and (Confluence) version number.
    At { id: String, version: i64 },
    /// The page or comment is gone on the other side (deleted, archived or
    /// in the trash): create it again.
    Gone,
}

/// `Retry-After` in seconds (all three providers send seconds).
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let secs = rest::header(headers, "retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    Some(Duration::from_secs_f64(secs))
}

fn body_error(url: &str, method: Method, provider: &'static str, reason: &str) -> RestError {
    RestError::Body {
        method,
        url: url.to_owned(),
        provider,
        reason: reason.to_owned(),
    }
}

fn is_gone(e: &RestError) -> bool {
    matches!(e.status(), Some(StatusCode::NOT_FOUND | StatusCode::GONE))
}

// ---- Notion -------------------------------------------------------------------

struct NotionApi {
    token: String,
    version: String,
}

impl Api for NotionApi {
    const NAME: &'static str = "Notion";

    fn authorize(&self, r: RequestBuilder) -> RequestBuilder {
        r.header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header("Notion-Version", &self.version)
            .header(CONTENT_TYPE, "application/json")
    }

    fn rate_limited(&self, s: StatusCode, h: &HeaderMap, _: DateTime<Utc>) -> Option<Duration> {
        retry_after(s, h)
    }

    fn next_page(&self, _: &str, _: &HeaderMap) -> Option<String> {
        None
    }

    /// `{"object":"error","status":401,"code":"unauthorized","message":"…"}`.
    fn explain(&self, status: StatusCode, body: &str) -> (String, &'static str) {
        let v: Option<Value> = serde_json::from_str(body).ok();
        let message = match v {
            Some(v) if v.get("object").and_then(Value::as_str) == Some("error") => format!(
                "{}: {}",
                v["code"].as_str().unwrap_or("error"),
                v["message"].as_str().unwrap_or("")
            ),
            _ => rest::error_message(body),
        };
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (check [publish.notion] token)",
            StatusCode::NOT_FOUND => {
                " (share the database with the integration, or check [publish.notion] database_id)"
            }
            _ => "",
        };
        (message, hint)
    }
}

/// A Notion database Tandem writes pages into.
pub struct Notion {
    client: Client<NotionApi>,
    database_id: String,
    title_property: String,
    /// When the last request was sent (for [`NOTION_SPACING`]).
    last: Option<tokio::time::Instant>,
}

impl std::fmt::Debug for Notion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notion")
            .field("base", &self.client.base)
            .field("database_id", &self.database_id)
            .finish_non_exhaustive()
    }
}

impl Notion {
    /// A client of the API at `api_url` (`https://api.notion.com`).
    pub fn new(
        api_url: &str,
        token: &str,
        version: &str,
        database_id: &str,
        title_property: &str,
        max_wait: Duration,
    ) -> Result<Self, RestError> {
        Ok(Self {
            client: Client::new(
                NotionApi {
                    token: token.to_owned(),
                    version: version.to_owned(),
                },
                api_url,
                max_wait,
            )?,
            database_id: database_id.to_owned(),
            title_property: title_property.to_owned(),
            last: None,
        })
    }

    /// One request, at least [`NOTION_SPACING`] after the previous one.
    async fn send(
        &mut self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, RestError> {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + NOTION_SPACING).await;
        }
        self.last = Some(tokio::time::Instant::now());
        Ok(self.client.request(method, url, body).await?.body)
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.client.requests
    }

    fn title(&self, title: &str) -> Value {
        let mut props = serde_json::Map::new();
        props.insert(
            self.title_property.clone(),
            json!({"title": [{"type": "text", "text": {"content": title.chars().take(2000).collect::<String>()}}]}),
        );
        Value::Object(props)
    }

    /// Creates a page titled `title` holding `blocks`; its id.
    pub async fn create(&mut self, title: &str, blocks: &[Value]) -> Result<String, RestError> {
        let url = format!("{}/v1/pages", self.client.base);
        let (first, rest) = blocks.split_at(blocks.len().min(NOTION_CHILDREN_PER_REQUEST));
        let body = json!({
            "parent": {"type": "database_id", "database_id": self.database_id},
            "properties": self.title(title),
            "children": first,
        });
        let page = self.send(Method::POST, &url, Some(&body)).await?;
        let id = page["id"]
            .as_str()
            .ok_or_else(|| body_error(&url, Method::POST, "Notion", "no page id"))?
            .to_owned();
        self.append(&id, rest).await?;
        Ok(id)
    }

    async fn append(&mut self, id: &str, blocks: &[Value]) -> Result<(), RestError> {
        let url = format!("{}/v1/blocks/{id}/children", self.client.base);
        for chunk in blocks.chunks(NOTION_CHILDREN_PER_REQUEST) {
            self.send(Method::PATCH, &url, Some(&json!({"children": chunk})))
                .await?;
        }
        Ok(())
    }

    /// Replaces page `id`'s title and content; [`Written::Gone`] when the
    /// page was deleted, archived or trashed in Notion.
    pub async fn update(
        &mut self,
        id: &str,
        title: &str,
        blocks: &[Value],
    ) -> Result<Written, RestError> {
        let page_url = format!("{}/v1/pages/{id}", self.client.base);
        let page = match self.send(Method::GET, &page_url, None).await {
            Ok(p) => p,
            Err(e) if is_gone(&e) => return Ok(Written::Gone),
            Err(e) => return Err(e),
        };
        let flag = |k: &str| page.get(k).and_then(Value::as_bool).unwrap_or(false);
        if flag("archived") || flag("in_trash") {
            return Ok(Written::Gone);
        }
        let props = json!({"properties": self.title(title)});
        self.send(Method::PATCH, &page_url, Some(&props)).await?;
        // The old content: every top-level block, page by page.
        let mut old = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/v1/blocks/{id}/children?page_size=100", self.client.base);
            if let Some(c) = &cursor {
                url.push_str(&format!("&start_cursor={c}"));
            }
            let list = self.send(Method::GET, &url, None).await?;
            for b in list["results"].as_array().into_iter().flatten() {
                if let Some(bid) = b["id"].as_str() {
                    old.push(bid.to_owned());
                }
            }
            match (list["has_more"].as_bool(), list["next_cursor"].as_str()) {
                (Some(true), Some(next)) => cursor = Some(next.to_owned()),
                _ => break,
            }
        }
        for bid in old {
            let url = format!("{}/v1/blocks/{bid}", self.client.base);
            match self.send(Method::DELETE, &url, None).await {
                Ok(_) => {}
                Err(e) if is_gone(&e) => {}
                Err(e) => return Err(e),
            }
        }
        self.append(id, blocks).await?;
        Ok(Written::At {
            id: id.to_owned(),
            version: 0,
        })
    }
}

// ---- Confluence -------------------------------------------------------------------

struct ConfluenceApi {
    email: String,
    token: String,
}

impl Api for ConfluenceApi {
    const NAME: &'static str = "Confluence";

    fn authorize(&self, r: RequestBuilder) -> RequestBuilder {
        r.basic_auth(&self.email, Some(&self.token))
            .header(ACCEPT, "application/json")
    }

    fn rate_limited(&self, s: StatusCode, h: &HeaderMap, _: DateTime<Utc>) -> Option<Duration> {
        retry_after(s, h)
    }

    fn next_page(&self, _: &str, _: &HeaderMap) -> Option<String> {
        None
    }

    /// v2 errors: `{"errors":[{"status":…,"code":"…","title":"…","detail":…}]}`;
    /// the gateway's: `{"code":401,"message":"…"}`.
    fn explain(&self, status: StatusCode, body: &str) -> (String, &'static str) {
        let v: Option<Value> = serde_json::from_str(body).ok();
        let from_errors = v.as_ref().and_then(|v| {
            let parts: Vec<String> = v["errors"]
                .as_array()?
                .iter()
                .map(|e| {
                    let title = e["title"].as_str().unwrap_or("");
                    match e["detail"].as_str() {
                        Some(d) if !d.is_empty() => format!("{title}: {d}"),
                        _ => title.to_owned(),
                    }
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        });
        let message = from_errors.unwrap_or_else(|| rest::error_message(body));
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (check [publish.confluence] email and token)",
            StatusCode::FORBIDDEN => " (the account may not write in this space)",
            _ => "",
        };
        (message, hint)
    }
}

/// Confluence Cloud pages in one space, under an optional parent page.
pub struct Confluence {
    client: Client<ConfluenceApi>,
    space_id: String,
    parent_id: Option<String>,
}

impl std::fmt::Debug for Confluence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confluence")
            .field("base", &self.client.base)
            .field("space_id", &self.space_id)
            .finish_non_exhaustive()
    }
}

impl Confluence {
    /// A client of the site at `api_url` (`https://example.atlassian.net`).
    pub fn new(
        api_url: &str,
        email: &str,
        token: &str,
        space_id: &str,
        parent_id: Option<&str>,
        max_wait: Duration,
    ) -> Result<Self, RestError> {
        Ok(Self {
            client: Client::new(
                ConfluenceApi {
                    email: email.to_owned(),
                    token: token.to_owned(),
                },
                api_url,
                max_wait,
            )?,
            space_id: space_id.to_owned(),
            parent_id: parent_id.map(str::to_owned),
        })
    }

    fn version_of(url: &str, method: Method, v: &Value) -> Result<(String, i64), RestError> {
        let id = v["id"]
            .as_str()
            .ok_or_else(|| body_error(url, method.clone(), "Confluence", "no page id"))?;
        let n = v["version"]["number"]
            .as_i64()
            .ok_or_else(|| body_error(url, method, "Confluence", "no version.number"))?;
        Ok((id.to_owned(), n))
    }

    /// Creates a page (`POST /wiki/api/v2/pages`) in storage format.
    pub async fn create(&mut self, title: &str, storage: &str) -> Result<Written, RestError> {
        let url = format!("{}/wiki/api/v2/pages", self.client.base);
        let mut body = json!({
            "spaceId": self.space_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": storage},
        });
        if let Some(p) = &self.parent_id {
            body["parentId"] = json!(p);
        }
        let page = self.client.request(Method::POST, &url, Some(&body)).await?;
        let (id, version) = Self::version_of(&url, Method::POST, &page.body)?;
        Ok(Written::At { id, version })
    }

    /// Writes page `id` in place as its next version (`PUT
    /// /wiki/api/v2/pages/{id}` with the current `version.number` + 1, read
    /// first so an edit made in Confluence does not refuse ours).
    pub async fn update(
        &mut self,
        id: &str,
        title: &str,
        storage: &str,
        message: &str,
    ) -> Result<Written, RestError> {
        let url = format!("{}/wiki/api/v2/pages/{id}", self.client.base);
        let current = match self.client.get(&url).await {
            Ok(p) => p.body,
            Err(e) if is_gone(&e) => return Ok(Written::Gone),
            Err(e) => return Err(e),
        };
        if matches!(current["status"].as_str(), Some("trashed" | "deleted")) {
            return Ok(Written::Gone);
        }
        let (_, number) = Self::version_of(&url, Method::GET, &current)?;
        let body = json!({
            "id": id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": storage},
            "version": {"number": number + 1, "message": message},
        });
        let page = match self.client.request(Method::PUT, &url, Some(&body)).await {
            Ok(p) => p.body,
            Err(e) if is_gone(&e) => return Ok(Written::Gone),
            Err(e) => return Err(e),
        };
        let (id, version) = Self::version_of(&url, Method::PUT, &page)?;
        Ok(Written::At { id, version })
    }
}

// ---- Jira comments --------------------------------------------------------------

struct JiraApi {
    email: String,
    token: String,
}

impl Api for JiraApi {
    const NAME: &'static str = "Jira";

    fn authorize(&self, r: RequestBuilder) -> RequestBuilder {
        r.basic_auth(&self.email, Some(&self.token))
            .header(ACCEPT, "application/json")
    }

    fn rate_limited(&self, s: StatusCode, h: &HeaderMap, _: DateTime<Utc>) -> Option<Duration> {
        retry_after(s, h)
    }

    fn next_page(&self, _: &str, _: &HeaderMap) -> Option<String> {
        None
    }

    /// `{"errorMessages":[…],"errors":{field: message}}`.
    fn explain(&self, status: StatusCode, body: &str) -> (String, &'static str) {
        let message = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| {
                let mut parts: Vec<String> = v["errorMessages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                if let Some(o) = v["errors"].as_object() {
                    parts.extend(
                        o.iter()
                            .map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or(""))),
                    );
                }
                (!parts.is_empty()).then(|| parts.join("; "))
            })
            .unwrap_or_else(|| rest::error_message(body));
        let hint = match status {
            StatusCode::UNAUTHORIZED => " (check [publish.jira] email and token)",
            StatusCode::FORBIDDEN => " (the account may not comment on this issue)",
            _ => "",
        };
        (message, hint)
    }
}

/// Comments on Jira issues (REST v3).
pub struct JiraComments {
    client: Client<JiraApi>,
}

impl std::fmt::Debug for JiraComments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraComments")
            .field("base", &self.client.base)
            .finish_non_exhaustive()
    }
}

impl JiraComments {
    /// A client of the site at `api_url` (`https://example.atlassian.net`).
    pub fn new(
        api_url: &str,
        email: &str,
        token: &str,
        max_wait: Duration,
    ) -> Result<Self, RestError> {
        Ok(Self {
            client: Client::new(
                JiraApi {
                    email: email.to_owned(),
                    token: token.to_owned(),
                },
                api_url,
                max_wait,
            )?,
        })
    }

    /// Adds a comment with `adf` as its body to issue `key`; its id.
    pub async fn create(&mut self, key: &str, adf: &Value) -> Result<String, RestError> {
        let url = format!("{}/rest/api/3/issue/{key}/comment", self.client.base);
        let c = self
            .client
            .request(Method::POST, &url, Some(&json!({"body": adf})))
            .await?;
        c.body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| body_error(&url, Method::POST, "Jira", "no comment id"))
    }

    /// Replaces comment `id`'s body on issue `key`; [`Written::Gone`] when
    /// the comment was deleted.
    pub async fn update(&mut self, key: &str, id: &str, adf: &Value) -> Result<Written, RestError> {
        let url = format!("{}/rest/api/3/issue/{key}/comment/{id}", self.client.base);
        match self
            .client
            .request(Method::PUT, &url, Some(&json!({"body": adf})))
            .await
        {
            Ok(_) => Ok(Written::At {
                id: id.to_owned(),
                version: 0,
            }),
            Err(e) if is_gone(&e) => Ok(Written::Gone),
            Err(e) => Err(e),
        }
    }
}
