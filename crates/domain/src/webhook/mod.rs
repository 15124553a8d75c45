//! Webhook payloads (GitHub, GitLab) mapped to delivery records.
//!
//! Pure functions over `serde_json::Value`: the receivers call them after
//! verifying a delivery, `tandem reprocess` calls them again over stored
//! deliveries, and the REST backfill importers call the object-level mappers
//! (`github::pull_request`, `gitlab::merge_request`, ...) on the objects the
//! REST APIs return, which have the same shapes.
//!
//! A payload that lacks a field a record needs, or has it in the wrong
//! shape, is refused with a [`PayloadError`] naming the field by its path
//! (`pull_request.created_at`); nothing is guessed.

pub mod github;
pub mod gitlab;

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::engineering::Record;
use crate::git::{Commit, GitRef};

/// A payload with every string (keys included) passed through
/// [`crate::text::clean`]: control and bidirectional-override characters in
/// a title or a name written elsewhere become U+FFFD instead of making the
/// delivery invalid. Borrows (no copy) when the payload has none, which is
/// almost always.
pub fn clean_payload(payload: &Value) -> Cow<'_, Value> {
    fn dirty(v: &Value) -> bool {
        match v {
            Value::String(s) => matches!(crate::text::clean(s), Cow::Owned(_)),
            Value::Array(items) => items.iter().any(dirty),
            Value::Object(fields) => fields
                .iter()
                .any(|(k, v)| matches!(crate::text::clean(k), Cow::Owned(_)) || dirty(v)),
            _ => false,
        }
    }
    fn cleaned(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(crate::text::clean(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(cleaned).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (crate::text::clean(k).into_owned(), cleaned(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    if dirty(payload) {
        Cow::Owned(cleaned(payload))
    } else {
        Cow::Borrowed(payload)
    }
}

/// Labels that turn an issue into an incident or a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// Default `incident`.
    pub incident: String,
    /// Default `bug`.
    pub bug: String,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            incident: "incident".to_owned(),
            bug: "bug".to_owned(),
        }
    }
}

/// What a mapper needs besides the payload.
#[derive(Debug, Clone)]
pub struct Context<'v> {
    /// The project the delivery's repository belongs to.
    pub project_id: Uuid,
    /// Its team (bugs become the team's work items).
    pub team_id: Uuid,
    pub received_at: DateTime<Utc>,
    pub labels: &'v Labels,
    /// The service deployments and incidents of this repository are
    /// reported under when the project scopes exactly one service to it;
    /// otherwise the repository's short name is used.
    pub scoped_service: Option<&'v str>,
    /// The environment a published release counts as deployed to.
    pub release_environment: &'v str,
    /// Makes ids for new records (`Uuid::now_v7` in production).
    pub new_id: fn() -> Uuid,
}

impl Context<'_> {
    /// The service name for a repository (see `scoped_service`).
    pub fn service_for(&self, repo: &str) -> String {
        match self.scoped_service {
            Some(s) => s.to_owned(),
            None => short_name(repo).to_owned(),
        }
    }
}

/// The last path segment of a repository's full name.
pub fn short_name(repo: &str) -> &str {
    repo.rsplit('/').next().unwrap_or(repo)
}

/// What one delivery maps to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    pub records: Vec<Record>,
    /// Commits a push carried (stored with `upsert_commits`).
    pub commits: Vec<Commit>,
    /// Branches a push moved.
    pub refs: Vec<GitRef>,
    /// Set when the delivery carries nothing Tandem uses, saying why.
    pub ignored: Option<String>,
}

impl Mapped {
    pub fn ignored(why: impl Into<String>) -> Self {
        Self {
            ignored: Some(why.into()),
            ..Self::default()
        }
    }

    pub fn records(records: Vec<Record>) -> Self {
        Self {
            records,
            ..Self::default()
        }
    }

    /// The mapping as storage will accept it: every record, commit and ref
    /// passes its domain validation, else the payload is refused naming the
    /// record and field (`pull_request.number: must be a positive number`).
    /// Both mappers end with this, so a signed delivery whose values no
    /// record may hold is the payload's fault (kept `invalid`, answered
    /// 400), never a failed write.
    pub fn validated(self) -> MapResult<Self> {
        let fail = |kind: &str, e: crate::error::DomainError| {
            let (field, message) = match &e {
                crate::error::DomainError::Invalid(errors) if !errors.is_empty() => {
                    (errors[0].field.clone(), e.to_string())
                }
                _ => (String::new(), e.to_string()),
            };
            let kind = kind.replace(' ', "_");
            let field = if field.is_empty() {
                kind
            } else {
                format!("{kind}.{field}")
            };
            PayloadError::new(field, message)
        };
        for r in &self.records {
            r.validate().map_err(|e| fail(r.kind(), e))?;
        }
        for c in &self.commits {
            c.validate().map_err(|e| fail("commit", e))?;
        }
        for r in &self.refs {
            r.validate().map_err(|e| fail("ref", e))?;
        }
        Ok(self)
    }

    /// One line saying what was derived, for the delivery's `detail`.
    pub fn summary(&self) -> String {
        if let Some(why) = &self.ignored {
            return format!("ignored: {why}");
        }
        let mut parts: Vec<String> = Vec::new();
        let mut kinds: Vec<(&str, usize)> = Vec::new();
        for r in &self.records {
            match kinds.iter_mut().find(|(k, _)| *k == r.kind()) {
                Some((_, n)) => *n += 1,
                None => kinds.push((r.kind(), 1)),
            }
        }
        for (k, n) in kinds {
            parts.push(format!("{n} {k}{}", if n == 1 { "" } else { "s" }));
        }
        if !self.commits.is_empty() {
            parts.push(format!(
                "{} commit{}",
                self.commits.len(),
                if self.commits.len() == 1 { "" } else { "s" }
            ));
        }
        if !self.refs.is_empty() {
            parts.push(format!(
                "{} ref{}",
                self.refs.len(),
                if self.refs.len() == 1 { "" } else { "s" }
            ));
        }
        if parts.is_empty() {
            "nothing to store".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// A payload that cannot be mapped: the field at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PayloadError {
    pub field: String,
    pub message: String,
}

impl PayloadError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type MapResult<T> = Result<T, PayloadError>;

/// A position in a JSON payload that knows its path, so every error names
/// the field (`deployment.created_at`).
#[derive(Debug, Clone)]
pub struct At<'v> {
    value: Option<&'v Value>,
    path: String,
}

impl<'v> At<'v> {
    pub fn root(value: &'v Value) -> At<'v> {
        At {
            value: Some(value),
            path: String::new(),
        }
    }

    /// The dotted path of this position (`body` at the root).
    pub fn path(&self) -> String {
        if self.path.is_empty() {
            "body".to_owned()
        } else {
            self.path.clone()
        }
    }

    fn err(&self, message: impl Into<String>) -> PayloadError {
        PayloadError::new(self.path(), message)
    }

    /// The member `key` (absent members are allowed until read).
    pub fn get(&self, key: &str) -> At<'v> {
        At {
            value: self.value.and_then(|v| v.get(key)),
            path: if self.path.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.path)
            },
        }
    }

    /// The value here, when present and not null.
    pub fn value(&self) -> Option<&'v Value> {
        self.value.filter(|v| !v.is_null())
    }

    pub fn is_present(&self) -> bool {
        self.value().is_some()
    }

    pub fn object(&self) -> MapResult<&'v serde_json::Map<String, Value>> {
        match self.value() {
            Some(Value::Object(o)) => Ok(o),
            Some(_) => Err(self.err("must be an object")),
            None => Err(self.err("is missing")),
        }
    }

    pub fn str(&self) -> MapResult<&'v str> {
        self.opt_str()?.ok_or_else(|| self.err("is missing"))
    }

    pub fn opt_str(&self) -> MapResult<Option<&'v str>> {
        match self.value() {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err("must be a string")),
        }
    }

    /// A string or a number, as text (ids are numbers on GitHub and
    /// sometimes strings elsewhere).
    pub fn id(&self) -> MapResult<String> {
        match self.value() {
            None => Err(self.err("is missing")),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(self.err("must be a non-empty string or a number")),
        }
    }

    pub fn i64(&self) -> MapResult<i64> {
        match self.value() {
            None => Err(self.err("is missing")),
            Some(v) => v.as_i64().ok_or_else(|| self.err("must be an integer")),
        }
    }

    pub fn opt_i64(&self) -> MapResult<Option<i64>> {
        match self.value() {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err("must be an integer")),
        }
    }

    /// A number given as a number or as numeric text (GitLab coverage).
    pub fn opt_f64(&self) -> MapResult<Option<f64>> {
        match self.value() {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| self.err(format!("{s:?} is not a number"))),
            Some(_) => Err(self.err("must be a number")),
        }
    }

    pub fn bool_or(&self, default: bool) -> MapResult<bool> {
        match self.value() {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err("must be true or false")),
        }
    }

    pub fn array(&self) -> MapResult<&'v [Value]> {
        match self.value() {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err("must be an array")),
        }
    }

    /// The elements of an array (none when absent).
    pub fn items(&self) -> MapResult<Vec<At<'v>>> {
        let path = self.path();
        Ok(self
            .array()?
            .iter()
            .enumerate()
            .map(|(i, v)| At {
                value: Some(v),
                path: format!("{path}[{i}]"),
            })
            .collect())
    }

    pub fn time(&self) -> MapResult<DateTime<Utc>> {
        self.opt_time()?.ok_or_else(|| self.err("is missing"))
    }

    pub fn opt_time(&self) -> MapResult<Option<DateTime<Utc>>> {
        Ok(self.opt_time_offset()?.map(|t| t.with_timezone(&Utc)))
    }

    /// An instant with the offset it was written in (commit times).
    pub fn opt_time_offset(&self) -> MapResult<Option<DateTime<FixedOffset>>> {
        match self.value() {
            None => Ok(None),
            Some(Value::String(s)) => parse_time(s)
                .map(|t| Some(micros_fixed(t)))
                .ok_or_else(|| self.err(format!("{s:?} is not a date and time"))),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|secs| DateTime::from_timestamp(secs, 0))
                .map(|t| Some(t.fixed_offset()))
                .ok_or_else(|| self.err("is not a Unix time")),
            Some(_) => Err(self.err("must be a date and time")),
        }
    }

    pub fn sha(&self) -> MapResult<String> {
        self.opt_sha()?.ok_or_else(|| self.err("is missing"))
    }

    /// A commit id, lower-cased; refused when not hexadecimal.
    pub fn opt_sha(&self) -> MapResult<Option<String>> {
        match self.opt_str()? {
            None => Ok(None),
            Some(s) => {
                let s = s.to_ascii_lowercase();
                if crate::git::is_sha(&s) {
                    Ok(Some(s))
                } else {
                    Err(self.err(format!("{s:?} is not a commit id")))
                }
            }
        }
    }
}

fn micros_fixed(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// Parses the date-time formats GitHub and GitLab send: RFC 3339
/// (`2026-03-02T09:00:00Z`, `…+02:00`), and GitLab's
/// `2026-03-02 09:00:00 UTC` and `2026-03-02 09:00:00 +0200`.
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Some(t);
    }
    if let Some(naive) = s.strip_suffix(" UTC")
        && let Ok(t) = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f")
    {
        return Some(t.and_utc().fixed_offset());
    }
    None
}

/// The first line of a commit message.
pub(crate) fn subject(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_owned()
}

/// Whether `labels` (names) include `wanted`, ignoring case.
pub(crate) fn has_label(labels: &[String], wanted: &str) -> bool {
    labels.iter().any(|l| l.eq_ignore_ascii_case(wanted))
}

/// A severity named by a label such as `sev1`, `sev:2`, `severity::high`, or
/// `severity: critical`.
pub(crate) fn severity_label(labels: &[String]) -> Option<String> {
    labels.iter().find_map(|l| {
        let lower = l.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("severity") {
            let rest = rest.trim_start_matches([':', ' ', '/', '-', '=']);
            return (!rest.is_empty()).then(|| rest.to_owned());
        }
        let rest = lower.strip_prefix("sev")?;
        let rest = rest.trim_start_matches([':', ' ', '/', '-', '=']);
        (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())).then(|| format!("sev{rest}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_format_the_providers_send() {
        let utc = |s| parse_time(s).unwrap().with_timezone(&Utc).to_rfc3339();
        assert_eq!(utc("2026-03-02T09:00:00Z"), "2026-03-02T09:00:00+00:00");
        assert_eq!(
            utc("2026-03-02T11:00:00+02:00"),
            "2026-03-02T09:00:00+00:00"
        );
        assert_eq!(utc("2026-03-02 09:00:00 UTC"), "2026-03-02T09:00:00+00:00");
        assert_eq!(
            utc("2026-03-02 11:00:00 +0200"),
            "2026-03-02T09:00:00+00:00"
        );
        assert_eq!(
            utc("2026-03-02T09:00:00.123456789Z"),
            "2026-03-02T09:00:00.123456789+00:00"
        );
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn errors_name_the_path() {
        let v = serde_json::json!({"a": {"b": [{"c": 1}]}, "t": "nope"});
        let root = At::root(&v);
        let items = root.get("a").get("b").items().unwrap();
        let first = &items[0];
        assert_eq!(first.get("c").str().unwrap_err().field, "a.b[0].c");
        assert_eq!(
            first.get("d").str().unwrap_err().to_string(),
            "a.b[0].d: is missing"
        );
        assert_eq!(root.get("t").time().unwrap_err().field, "t");
        assert_eq!(root.get("a").id().unwrap_err().field, "a");
    }

    #[test]
    fn severities_from_labels() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(severity_label(&l(&["bug", "sev1"])), Some("sev1".into()));
        assert_eq!(severity_label(&l(&["Sev: 2"])), Some("sev2".into()));
        assert_eq!(severity_label(&l(&["severity::high"])), Some("high".into()));
        assert_eq!(severity_label(&l(&["several"])), None);
        assert_eq!(severity_label(&l(&["incident"])), None);
    }
}
