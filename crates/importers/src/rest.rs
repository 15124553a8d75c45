//! The HTTP side the REST backfills share: GET a JSON page, wait out rate
//! limits (capped, counted, retried a few times), follow the next page, and
//! turn every failure into an error naming the URL. What differs between
//! providers (credentials, how a rate limit and the next page are told, the
//! hint that goes with a refusal) is the [`Api`] each one implements.
//!
//! Writes (creating a webhook) go through the same [`Client::request`].
//! A client made [`Client::deferring`] never sleeps: a rate-limited answer
//! ends the request with [`RestError::Deferred`] saying how long to wait,
//! and a window used up is noted in [`Client::exhausted_for`], so a
//! background queue can put the work off instead of holding a task.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, USER_AGENT};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// Retries of one request after rate limits before giving up.
const RATE_LIMIT_RETRIES: u32 = 5;

/// What a REST request can end in, besides a page.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error(
        "{method} {url} answered {status}{}{hint}",
        if message.is_empty() { String::new() } else { format!(": {message}") }
    )]
    Status {
        method: Method,
        url: String,
        status: StatusCode,
        message: String,
        hint: &'static str,
    },
    #[error(
        "{method} {url} is still rate limited after {retries} waits; run the import again later"
    )]
    RateLimited {
        method: Method,
        url: String,
        retries: u32,
    },
    #[error("{method} {url} is rate limited for {}s more", wait.as_secs())]
    Deferred {
        method: Method,
        url: String,
        /// How long the answer asked to wait.
        wait: Duration,
    },
    #[error("{method} {url} failed: {reason}")]
    Http {
        method: Method,
        url: String,
        reason: String,
    },
    #[error("{method} {url} returned a body that is not what {provider} sends: {reason}")]
    Body {
        method: Method,
        url: String,
        provider: &'static str,
        reason: String,
    },
}

impl RestError {
    /// The HTTP status of a refusal, if the request got that far.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RestError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How one provider's API is spoken.
pub(crate) trait Api {
    /// For messages: "not what GitHub sends".
    const NAME: &'static str;

    /// Adds the provider's headers and credentials to a GET.
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder;

    /// How long to wait before retrying, when the answer is a rate limit.
    fn rate_limited(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Option<Duration>;

    /// How long to wait before the next request after a successful answer
    /// (the window's last request was used).
    fn exhausted(&self, _headers: &HeaderMap, _now: DateTime<Utc>) -> Option<Duration> {
        None
    }

    /// The URL of the page after `url`.
    fn next_page(&self, url: &str, headers: &HeaderMap) -> Option<String>;

    /// The message of a refusal's body and a hint on what to do.
    fn explain(&self, status: StatusCode, body: &str) -> (String, &'static str);
}

/// One page of a listing.
pub(crate) struct Page {
    pub body: Value,
    pub next: Option<String>,
}

impl Page {
    pub fn array(&self, url: &str, provider: &'static str) -> Result<&Vec<Value>, RestError> {
        self.body.as_array().ok_or_else(|| RestError::Body {
            method: Method::GET,
            url: url.to_owned(),
            provider,
            reason: "expected a JSON array".to_owned(),
        })
    }
}

pub(crate) struct Client<A> {
    http: reqwest::Client,
    api: A,
    /// The API root, without a trailing slash.
    pub base: String,
    max_wait: Duration,
    /// Requests made, and how many waited for a rate limit.
    pub requests: u64,
    pub waits: u64,
    /// Put rate limits off instead of waiting (see the module header).
    defer: bool,
    /// A deferring client's last answer used up the window: this long
    /// until it resets.
    pub exhausted_for: Option<Duration>,
}

impl<A: Api> Client<A> {
    pub fn new(api: A, api_url: &str, max_wait: Duration) -> Result<Self, RestError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| RestError::Http {
                method: Method::GET,
                url: api_url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            api,
            base: api_url.trim_end_matches('/').to_owned(),
            max_wait,
            requests: 0,
            waits: 0,
            defer: false,
            exhausted_for: None,
        })
    }

    /// A client that never waits for a rate limit (see the module header).
    pub fn deferring(mut self) -> Self {
        self.defer = true;
        self
    }

    /// Every item of every page of a listing.
    pub async fn get_all(&mut self, url: &str) -> Result<Vec<Value>, RestError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(url.to_owned());
        while let Some(url) = next.take() {
            if !seen.insert(url.clone()) {
                break;
            }
            let page = self.get(&url).await?;
            out.extend(page.array(&url, A::NAME)?.iter().cloned());
            next = page.next;
        }
        Ok(out)
    }

    async fn wait(&mut self, url: &str, wait: Duration) {
        self.waits += 1;
        let wait = wait.min(self.max_wait);
        tracing::info!(url, ?wait, "rate limited; waiting");
        tokio::time::sleep(wait).await;
    }

    /// One page, waiting out rate limits.
    pub async fn get(&mut self, url: &str) -> Result<Page, RestError> {
        self.request(Method::GET, url, None).await
    }

    /// One request with an optional JSON body, waiting out rate limits (or
    /// putting them off, when deferring). An empty answer (204) is `null`.
    pub async fn request(
        &mut self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Page, RestError> {
        let http_err = |e: reqwest::Error| RestError::Http {
            method: method.clone(),
            url: url.to_owned(),
            reason: e.to_string(),
        };
        for _ in 0..=RATE_LIMIT_RETRIES {
            let mut request = self
                .http
                .request(method.clone(), url)
                .header(USER_AGENT, concat!("tandem/", env!("CARGO_PKG_VERSION")));
            if let Some(body) = body {
                request = request.json(body);
            }
            self.requests += 1;
            let resp = self.api.authorize(request).send().await.map_err(http_err)?;
            let status = resp.status();
            let headers = resp.headers().clone();
            if let Some(wait) = self.api.rate_limited(status, &headers, Utc::now()) {
                if self.defer {
                    return Err(RestError::Deferred {
                        method,
                        url: url.to_owned(),
                        wait,
                    });
                }
                self.wait(url, wait).await;
                continue;
            }
            let text = resp.text().await.map_err(http_err)?;
            if !status.is_success() {
                let (message, hint) = self.api.explain(status, &text);
                return Err(RestError::Status {
                    method,
                    url: url.to_owned(),
                    status,
                    message,
                    hint,
                });
            }
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                let parsed: Value = serde_json::from_str(&text).map_err(|e| RestError::Body {
                    method: method.clone(),
                    url: url.to_owned(),
                    provider: A::NAME,
                    reason: e.to_string(),
                })?;
                // Titles and names written elsewhere: control and bidi
                // characters become U+FFFD, as in webhook payloads.
                match tandem_domain::webhook::clean_payload(&parsed) {
                    std::borrow::Cow::Borrowed(_) => parsed,
                    std::borrow::Cow::Owned(cleaned) => cleaned,
                }
            };
            if let Some(wait) = self.api.exhausted(&headers, Utc::now()) {
                if self.defer {
                    self.exhausted_for = Some(wait);
                } else {
                    self.wait(url, wait).await;
                }
            }
            return Ok(Page {
                body,
                next: self.api.next_page(url, &headers),
            });
        }
        Err(RestError::RateLimited {
            method,
            url: url.to_owned(),
            retries: RATE_LIMIT_RETRIES,
        })
    }
}

/// A header's value, trimmed.
pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = header(headers, "link")?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let target = target.trim();
        (is_next && target.starts_with('<') && target.ends_with('>'))
            .then(|| target[1..target.len() - 1].to_owned())
    })
}

/// The message of a JSON error body (`{"message": …}`, or `{"error": …}`),
/// else the start of the body as text (a proxy's HTML page).
pub(crate) fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let m = v.get("message").or_else(|| v.get("error"))?;
            Some(match m {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn finds_the_next_link() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.github.com/repositories/1/pulls?page=2>; rel=\"next\", \
                 <https://api.github.com/repositories/1/pulls?page=5>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/pulls?page=2")
        );
        h.insert(
            "link",
            HeaderValue::from_static("<https://x/p?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn error_messages_come_from_json_or_text() {
        assert_eq!(
            error_message(r#"{"message":"Bad credentials"}"#),
            "Bad credentials"
        );
        assert_eq!(
            error_message(r#"{"error":"invalid_token"}"#),
            "invalid_token"
        );
        assert_eq!(
            error_message(r#"{"message":{"base":["x"]}}"#),
            r#"{"base":["x"]}"#
        );
        assert_eq!(error_message("  <html>502</html>\n"), "<html>502</html>");
    }
}
