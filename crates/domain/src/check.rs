//! Health checks (issue 16): a check's definition and its validation, the
//! conditions on what a probe observed, the state machine that turns runs
//! into "failing" and "recovered" (thresholds, flap protection, silences,
//! maintenance windows, a failing parent), reminder backoff, uptime from
//! rollups, and how urgent an alert of each severity is (when it may
//! arrive is the team policy's one rule, `policy::delivery_time`).
//!
//! Rules kept here:
//! - A definition that passed [`CheckSpec::validate`] is runnable: its
//!   target parses for its kind, its conditions parse and name only what its
//!   kind observes, its interval is at least [`MIN_INTERVAL_SECONDS`], and a
//!   PostgreSQL query is a single read-only statement.
//! - A check opens at most one incident per outage: it goes failing after
//!   `failure_threshold` consecutive failures, recovers after
//!   `success_threshold` consecutive successes, and a failure within
//!   `flap_window` of a recovery reopens the same incident (a flapping
//!   target is one incident, not fifty).
//! - While silenced, in a maintenance window, or while its parent is
//!   failing, a check records its runs but never goes failing (a check
//!   already failing may still recover).
//! - Pure: `now` is always a parameter.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};

/// The shortest interval a check may run at.
pub const MIN_INTERVAL_SECONDS: u32 = 5;
/// The longest interval (a day).
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
/// A log check's window when none is given, in minutes.
pub const DEFAULT_LOG_WINDOW_MINUTES: u32 = 15;
/// The longest log window (a day).
pub const MAX_LOG_WINDOW_MINUTES: u32 = 1_440;
/// The DNS record types a `dns` check may ask for.
pub const DNS_RECORD_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "CAA", "PTR", "SOA",
];

crate::string_enum! {
    /// What a check probes.
    CheckKind {
        Http => "http",
        Tcp => "tcp",
        Postgres => "postgres",
        Redis => "redis",
        Heartbeat => "heartbeat",
        Dns => "dns",
        Tls => "tls",
        Log => "log",
    }
}

crate::string_enum! {
    /// Where a check stands: `unknown` before its first run.
    CheckStatus {
        Unknown => "unknown",
        Passing => "passing",
        Failing => "failing",
    }
}

crate::string_enum! {
    /// How bad a check's failure is; non-critical alerts wait for working
    /// hours, critical ones go at once.
    Severity {
        Critical => "critical",
        Warning => "warning",
        Info => "info",
    }
}

impl Severity {
    /// How soon an alert of this severity must arrive: critical ones go
    /// through at once; the others wait for the recipient team's working
    /// hours outside its focus block (`policy::delivery_time`, the one rule).
    pub fn urgency(self) -> crate::policy::Urgency {
        match self {
            Severity::Critical => crate::policy::Urgency::Urgent,
            Severity::Warning | Severity::Info => crate::policy::Urgency::Normal,
        }
    }
}

crate::string_enum! {
    /// Which message of an incident an alert is; `page` is a P0 business
    /// request paging the on-call path (it has no incident).
    AlertKind {
        Opened => "opened",
        Reminder => "reminder",
        Resolved => "resolved",
        Page => "page",
    }
}

crate::string_enum! {
    /// Where an alert goes.
    AlertChannel {
        Slack => "slack",
        Email => "email",
        Webhook => "webhook",
    }
}

crate::string_enum! {
    /// An alert's delivery: waiting (`pending`, also after a failed attempt
    /// with attempts left), claimed by a sender (`sending`), `sent`, or given
    /// up (`failed`).
    AlertStatus {
        Pending => "pending",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
}

fn default_interval() -> u32 {
    60
}
fn default_timeout() -> u32 {
    10
}
fn one() -> u32 {
    1
}
fn critical() -> Severity {
    Severity::Critical
}

/// A recurring maintenance window, in UTC: on `weekdays` (`mon` … `sun`;
/// empty: every day) from `start` to `end` (`HH:MM`; an `end` before
/// `start` runs past midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    #[serde(default)]
    pub weekdays: Vec<String>,
    pub start: String,
    pub end: String,
}

/// A check as defined in `[[checks]]`, the API or the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "payments-health", "team": "pay", "service": "payments",
    "kind": "http", "target": "https://payments.example.com/healthz",
    "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 800", "[BODY].status == UP"],
    "interval_seconds": 30, "failure_threshold": 3})))]
pub struct CheckSpec {
    /// Unique name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// The owning team's key.
    pub team: String,
    /// The service it watches, as a project's `services` list it.
    pub service: String,
    /// Project key, when several projects list the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub kind: CheckKind,
    /// `http`: the URL; `tcp`: `host:port`; `postgres`: a
    /// `postgres://` URL; `redis`: a `redis://` URL; `heartbeat`: empty.
    #[serde(default)]
    pub target: String,
    /// `http`: the method (default `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `http`: request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `http`: request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `postgres`: one read-only statement; its first column of its first
    /// row is `[VALUE]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Conditions that must all hold, e.g. `[STATUS] == 200`,
    /// `[RESPONSE_TIME] < 500`, `[BODY] =~ ok`, `[BODY].data.state == up`,
    /// `[HEADER].content-type =~ json`, `[CERTIFICATE_EXPIRATION] > 168h`,
    /// `[VALUE] < 10`, `[MEMORY] < 1000000`, `[KEYS] < 5000`. Empty: the
    /// kind's default (`http`: `[STATUS] < 400`; others: the probe worked).
    #[serde(default)]
    pub conditions: Vec<String>,
    #[serde(default = "default_interval")]
    pub interval_seconds: u32,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    /// Consecutive failures before the check is failing.
    #[serde(default = "one")]
    pub failure_threshold: u32,
    /// Consecutive successes before a failing check recovers.
    #[serde(default = "one")]
    pub success_threshold: u32,
    /// `heartbeat`: how long past its interval a ping may be late.
    #[serde(default)]
    pub grace_seconds: u32,
    #[serde(default = "critical")]
    pub severity: Severity,
    /// The name of a check this one depends on: while it is failing, this
    /// one does not go failing (no incident, no alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<MaintenanceWindow>,
    /// `dns`: the record type asked for (`A` by default; `AAAA`, `CNAME`,
    /// `MX`, `NS`, `TXT`, `SRV`, `CAA`, `PTR`, `SOA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// `dns`: the name server to ask, `IP` or `IP:port` (default: the
    /// system's resolvers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nameserver: Option<String>,
    /// `log`: the regular expression a line must match to be counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `log`: `[MATCHES]` counts the matching lines written in the last
    /// this many minutes (default [`DEFAULT_LOG_WINDOW_MINUTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u32>,
}

/// What a condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Status,
    ResponseTime,
    /// The body, or the JSON value at a dotted path (`data.items[0].id`).
    Body(Option<String>),
    Header(String),
    CertificateExpiration,
    Value,
    Memory,
    Keys,
    /// `dns`: the answers, sorted and joined by `,`.
    Records,
    /// `log`: matching lines in the window.
    Matches,
}

impl Subject {
    fn kinds(&self) -> &'static [CheckKind] {
        use CheckKind::*;
        match self {
            Subject::Status | Subject::Body(_) | Subject::Header(_) => &[Http],
            Subject::CertificateExpiration => &[Http, Tls],
            Subject::ResponseTime => &[Http, Tcp, Postgres, Redis, Dns, Tls],
            Subject::Value => &[Postgres],
            Subject::Memory | Subject::Keys => &[Redis],
            Subject::Records => &[Dns],
            Subject::Matches => &[Log],
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Matches,
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub text: String,
    pub subject: Subject,
    pub op: Op,
    pub value: String,
}

const SUBJECTS: &str = "[STATUS], [RESPONSE_TIME], [BODY], [BODY].path, [HEADER].name, \
     [CERTIFICATE_EXPIRATION], [VALUE], [MEMORY], [KEYS], [RECORDS], [MATCHES]";

impl Condition {
    /// Parses `[SUBJECT](.path) OP VALUE`.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        let rest = t
            .strip_prefix('[')
            .ok_or_else(|| format!("{t:?} does not start with a [SUBJECT]; one of {SUBJECTS}"))?;
        let (name, rest) = rest
            .split_once(']')
            .ok_or_else(|| format!("{t:?}: missing `]`"))?;
        let (path, rest) = match rest.strip_prefix('.') {
            Some(r) => {
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                (Some(r[..end].to_owned()), &r[end..])
            }
            None => (None, rest),
        };
        let subject = match (name, path) {
            ("STATUS", None) => Subject::Status,
            ("RESPONSE_TIME", None) => Subject::ResponseTime,
            ("BODY", p) => Subject::Body(p),
            ("HEADER", Some(h)) => Subject::Header(h.to_ascii_lowercase()),
            ("CERTIFICATE_EXPIRATION", None) => Subject::CertificateExpiration,
            ("VALUE", None) => Subject::Value,
            ("MEMORY", None) => Subject::Memory,
            ("KEYS", None) => Subject::Keys,
            ("RECORDS", None) => Subject::Records,
            ("MATCHES", None) => Subject::Matches,
            (other, _) => {
                return Err(format!(
                    "unknown condition subject [{other}]; one of {SUBJECTS}"
                ));
            }
        };
        let rest = rest.trim_start();
        let ops = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=~", Op::Matches),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (op, value) = ops
            .iter()
            .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v.trim())))
            .ok_or_else(|| {
                format!("{t:?}: expected an operator (==, !=, <, <=, >, >=, =~) after the subject")
            })?;
        if value.is_empty() {
            return Err(format!("{t:?}: missing the value to compare with"));
        }
        let numeric = matches!(
            subject,
            Subject::Status
                | Subject::ResponseTime
                | Subject::CertificateExpiration
                | Subject::Memory
                | Subject::Keys
                | Subject::Matches
        );
        if numeric {
            if op == Op::Matches {
                return Err(format!("{t:?}: =~ compares text; this subject is a number"));
            }
            parse_number(&subject, value)?;
        }
        Ok(Condition {
            text: t.to_owned(),
            subject,
            op,
            value: value.to_owned(),
        })
    }

    /// Whether the observation satisfies the condition; `Err` says why not.
    /// `matches` is the regular-expression test (the app owns the regex
    /// engine's cache; the rule is here).
    pub fn holds(
        &self,
        obs: &Observation,
        now: DateTime<Utc>,
        matches: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), String> {
        let actual: Option<String> = match &self.subject {
            Subject::Status => obs.status.map(|s| s.to_string()),
            Subject::ResponseTime => Some(obs.response_ms.to_string()),
            Subject::Body(None) => obs.body.clone(),
            Subject::Body(Some(path)) => obs
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .and_then(|v| json_path(&v, path).cloned())
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                }),
            Subject::Header(h) => obs.headers.get(h).cloned(),
            Subject::CertificateExpiration => obs
                .cert_expires_at
                .map(|at| (at - now).num_seconds().to_string()),
            Subject::Value => obs.value.clone(),
            Subject::Memory => obs.memory.map(|m| m.to_string()),
            Subject::Keys => obs.keys.map(|k| k.to_string()),
            Subject::Records => obs.records.clone(),
            Subject::Matches => obs.matches.map(|m| m.to_string()),
        };
        let Some(actual) = actual else {
            return Err(format!("{}: nothing to compare (not observed)", self.text));
        };
        let ok = match self.op {
            Op::Matches => matches(&self.value, &actual),
            Op::Eq | Op::Ne if self.subject == Subject::Records => {
                let want = records_text(self.value.split(','));
                (actual == want) == (self.op == Op::Eq)
            }
            op => {
                let want = parse_number(&self.subject, &self.value).ok();
                let have = actual.trim().parse::<f64>().ok();
                match (want, have) {
                    (Some(w), Some(h)) => compare(op, h.partial_cmp(&w)),
                    _ => compare(op, Some(actual.as_str().cmp(self.value.as_str()))),
                }
            }
        };
        if ok {
            Ok(())
        } else {
            let shown: String = actual.chars().take(80).collect();
            Err(format!("{} (was {shown})", self.text))
        }
    }
}

fn compare(op: Op, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    match (op, ord) {
        (_, None) => false,
        (Op::Eq, Some(o)) => o == Equal,
        (Op::Ne, Some(o)) => o != Equal,
        (Op::Lt, Some(o)) => o == Less,
        (Op::Le, Some(o)) => o != Greater,
        (Op::Gt, Some(o)) => o == Greater,
        (Op::Ge, Some(o)) => o != Less,
        (Op::Matches, _) => false,
    }
}

/// A number to compare with; certificate expiry takes a duration
/// (`168h`, `30d`, `90m`, seconds without a unit), as seconds.
fn parse_number(subject: &Subject, value: &str) -> Result<f64, String> {
    if *subject == Subject::CertificateExpiration {
        let (n, unit) = value.split_at(
            value
                .find(|c: char| c.is_alphabetic())
                .unwrap_or(value.len()),
        );
        let n: f64 = n
            .trim()
            .parse()
            .map_err(|_| format!("{value:?} is not a duration (e.g. 168h, 30d)"))?;
        let scale = match unit {
            "" | "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            other => return Err(format!("unknown unit {other:?} (s, m, h, d)")),
        };
        return Ok(n * scale);
    }
    value
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{value:?} is not a number"))
}

/// DNS answers as `[RECORDS]` compares them: each trimmed, lower-cased,
/// without a trailing `.`, sorted, deduplicated, joined by `,`.
pub fn records_text<'a>(records: impl IntoIterator<Item = &'a str>) -> String {
    let mut all: Vec<String> = records
        .into_iter()
        .map(|r| r.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .collect();
    all.sort();
    all.dedup();
    all.join(",")
}

/// The JSON value at a dotted path: `a.b[2].c`.
pub fn json_path<'v>(v: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = idx.trim_end_matches(']').parse().ok()?;
            cur = cur.get(n)?;
        }
    }
    Some(cur)
}

/// What one run of a probe saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub status: Option<u16>,
    pub response_ms: u64,
    pub body: Option<String>,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub cert_expires_at: Option<DateTime<Utc>>,
    /// PostgreSQL: the first column of the first row, as text.
    pub value: Option<String>,
    pub memory: Option<i64>,
    pub keys: Option<i64>,
    /// DNS: the answers' data, sorted, joined by `,`.
    pub records: Option<String>,
    /// Log: matching lines in the window.
    pub matches: Option<u64>,
}

impl CheckSpec {
    /// Checks everything a run relies on; errors name the field
    /// (`conditions[1]`, `interval_seconds`, `query`, `target`).
    pub fn validate(&self) -> Result<Vec<Condition>, DomainError> {
        let mut p = Problems::new();
        if self.name.trim().is_empty()
            || self.name.len() > 100
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            p.push(
                "name",
                format!("{:?}: 1 to 100 letters, digits, '-', '_' or '.'", self.name),
            );
        }
        if self.team.trim().is_empty() {
            p.push("team", "is required: the owning team's key");
        }
        if self.service.trim().is_empty() {
            p.push("service", "is required: the service it watches");
        }
        if !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&self.interval_seconds) {
            p.push(
                "interval_seconds",
                format!(
                    "{} is out of range: {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} seconds",
                    self.interval_seconds
                ),
            );
        }
        if self.timeout_seconds == 0 || self.timeout_seconds > 300 {
            p.push("timeout_seconds", "must be 1 to 300 seconds");
        } else if self.kind != CheckKind::Heartbeat && self.timeout_seconds > self.interval_seconds
        {
            p.push(
                "timeout_seconds",
                format!(
                    "{} is longer than the interval ({} s)",
                    self.timeout_seconds, self.interval_seconds
                ),
            );
        }
        for (field, n) in [
            ("failure_threshold", self.failure_threshold),
            ("success_threshold", self.success_threshold),
        ] {
            if n == 0 || n > 100 {
                p.push(field, "must be 1 to 100 consecutive runs");
            }
        }
        self.check_target(&mut p);
        if let Some(m) = &self.method
            && !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                .contains(&m.to_ascii_uppercase().as_str())
        {
            p.push("method", format!("{m:?} is not an HTTP method"));
        }
        if self.kind != CheckKind::Http
            && (self.method.is_some() || !self.headers.is_empty() || self.body.is_some())
        {
            p.push(
                "method",
                "method, headers and body are for http checks only",
            );
        }
        match (&self.query, self.kind) {
            (Some(q), CheckKind::Postgres) => {
                if let Err(e) = read_only_sql(q) {
                    p.push("query", e);
                }
            }
            (None, CheckKind::Postgres) => p.push("query", "is required for a postgres check"),
            (Some(_), _) => p.push("query", "is for postgres checks only"),
            (None, _) => {}
        }
        self.check_kind_fields(&mut p);
        if self.depends_on.as_deref() == Some(self.name.as_str()) {
            p.push("depends_on", "a check cannot depend on itself");
        }
        for (i, w) in self.maintenance.iter().enumerate() {
            if let Err(e) = w.parse() {
                p.push(format!("maintenance[{i}]"), e);
            }
        }
        let mut conditions = Vec::new();
        for (i, text) in self.conditions.iter().enumerate() {
            match Condition::parse(text) {
                Ok(c) if !c.subject.kinds().contains(&self.kind) => p.push(
                    format!("conditions[{i}]"),
                    format!("{text:?}: a {} check does not observe this", self.kind),
                ),
                Ok(c) => conditions.push(c),
                Err(e) => p.push(format!("conditions[{i}]"), e),
            }
        }
        p.into_result()?;
        Ok(conditions)
    }

    /// The fields only some kinds read: present only for them, and valid.
    fn check_kind_fields(&self, p: &mut Problems) {
        if self.kind == CheckKind::Dns {
            if let Some(t) = &self.record_type
                && !DNS_RECORD_TYPES.contains(&t.to_ascii_uppercase().as_str())
            {
                p.push(
                    "record_type",
                    format!("{t:?} is not one of {}", DNS_RECORD_TYPES.join(", ")),
                );
            }
            if let Some(ns) = &self.nameserver
                && parse_nameserver(ns).is_none()
            {
                p.push(
                    "nameserver",
                    format!("{ns:?} is not an IP address or IP:port"),
                );
            }
        } else {
            for (field, set) in [
                ("record_type", self.record_type.is_some()),
                ("nameserver", self.nameserver.is_some()),
            ] {
                if set {
                    p.push(field, "is for dns checks only");
                }
            }
        }
        if self.kind == CheckKind::Log {
            match &self.pattern {
                Some(pat) if !pat.trim().is_empty() && pat.len() <= 1000 => {}
                Some(_) => p.push("pattern", "must be 1 to 1000 characters"),
                None => p.push(
                    "pattern",
                    "is required for a log check: the regular expression lines must match",
                ),
            }
            if let Some(w) = self.window_minutes
                && !(1..=MAX_LOG_WINDOW_MINUTES).contains(&w)
            {
                p.push(
                    "window_minutes",
                    format!("{w} is out of range: 1 to {MAX_LOG_WINDOW_MINUTES} minutes"),
                );
            }
        } else {
            for (field, set) in [
                ("pattern", self.pattern.is_some()),
                ("window_minutes", self.window_minutes.is_some()),
            ] {
                if set {
                    p.push(field, "is for log checks only");
                }
            }
        }
    }

    /// A log check's window.
    pub fn log_window(&self) -> Duration {
        Duration::minutes(i64::from(
            self.window_minutes.unwrap_or(DEFAULT_LOG_WINDOW_MINUTES),
        ))
    }

    fn check_target(&self, p: &mut Problems) {
        let t = self.target.trim();
        let scheme = t.split_once("://");
        let ok = match self.kind {
            CheckKind::Http => matches!(scheme, Some(("http" | "https", rest))
                if !rest.is_empty() && !rest.starts_with('/') && !t.contains(char::is_whitespace)),
            CheckKind::Tcp | CheckKind::Tls => t
                .rsplit_once(':')
                .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)),
            CheckKind::Dns => dns_name_ok(t),
            CheckKind::Log => match t.strip_prefix("s3://") {
                Some(rest) => rest.split('/').next().is_some_and(|b| !b.is_empty()),
                None => t.starts_with('/') && !t.contains('\0'),
            },
            CheckKind::Postgres => {
                matches!(scheme, Some(("postgres" | "postgresql", r)) if !r.is_empty())
            }
            CheckKind::Redis => matches!(scheme, Some(("redis", r)) if !r.is_empty()),
            CheckKind::Heartbeat => t.is_empty(),
        };
        if !ok {
            let want = match self.kind {
                CheckKind::Http => "an http:// or https:// URL",
                CheckKind::Tcp => "host:port",
                CheckKind::Postgres => "a postgres:// URL",
                CheckKind::Redis => "a redis://host:port URL",
                CheckKind::Heartbeat => "empty (a heartbeat is pushed to Tandem)",
                CheckKind::Tls => "host:port",
                CheckKind::Dns => "a domain name (e.g. api.example.com)",
                CheckKind::Log => "an absolute path (a file or a directory) or s3://BUCKET/PREFIX",
            };
            p.push("target", format!("{t:?} is not {want}"));
        }
    }

    /// The conditions a run checks (validated definitions only).
    pub fn parsed_conditions(&self) -> Vec<Condition> {
        let mut out: Vec<Condition> = self
            .conditions
            .iter()
            .filter_map(|c| Condition::parse(c).ok())
            .collect();
        if out.is_empty() {
            let default = match self.kind {
                CheckKind::Http => Some("[STATUS] < 400"),
                CheckKind::Tls => Some("[CERTIFICATE_EXPIRATION] > 0"),
                CheckKind::Log => Some("[MATCHES] == 0"),
                _ => None,
            };
            out.extend(default.and_then(|c| Condition::parse(c).ok()));
        }
        out
    }

    /// Whether `at` falls in one of the maintenance windows.
    pub fn in_maintenance(&self, at: DateTime<Utc>) -> bool {
        self.maintenance
            .iter()
            .filter_map(|w| w.parse().ok())
            .any(|w| w.contains(at))
    }
}

/// A domain name a `dns` check may ask for: dot-separated labels of
/// letters, digits, `-` and `_`, at most 253 characters.
fn dns_name_ok(name: &str) -> bool {
    let n = name.trim_end_matches('.');
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// A `dns` check's name server: `IP` (port 53) or `IP:port` (`[v6]:port`).
pub fn parse_nameserver(text: &str) -> Option<std::net::SocketAddr> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return Some(std::net::SocketAddr::new(ip, 53));
    }
    t.parse().ok()
}

struct Window {
    days: Vec<Weekday>,
    start: NaiveTime,
    end: NaiveTime,
}

impl MaintenanceWindow {
    fn parse(&self) -> Result<Window, String> {
        let time = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("{s:?} is not HH:MM"))
        };
        let days = self
            .weekdays
            .iter()
            .map(|d| {
                d.parse::<Weekday>()
                    .map_err(|_| format!("{d:?} is not a weekday (mon … sun)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Window {
            days,
            start: time(&self.start)?,
            end: time(&self.end)?,
        })
    }
}

impl Window {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        let t = at.time();
        let day_ok = |d: Weekday| self.days.is_empty() || self.days.contains(&d);
        if self.start <= self.end {
            day_ok(at.weekday()) && t >= self.start && t < self.end
        } else {
            (day_ok(at.weekday()) && t >= self.start)
                || (day_ok(at.weekday().pred()) && t < self.end)
        }
    }
}

/// Refuses SQL that is not a single read-only statement: it must start with
/// `SELECT`, `WITH`, `SHOW`, `VALUES` or `TABLE`, have no second statement,
/// and name no writing keyword outside quotes. The app also runs it in a
/// `READ ONLY` transaction, so this is the early, named refusal.
pub fn read_only_sql(sql: &str) -> Result<(), String> {
    // Strip string literals, quoted identifiers and comments.
    let mut plain = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                plain.push(' ');
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                plain.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                plain.push(' ');
            }
            '$' => return Err("dollar-quoted text is not accepted in a check's query".into()),
            c => plain.push(c),
        }
    }
    let body = plain.trim().trim_end_matches(';').trim();
    if body.is_empty() {
        return Err("is empty".into());
    }
    if body.contains(';') {
        return Err("must be a single statement".into());
    }
    let upper = body.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().copied().unwrap_or_default();
    if !["SELECT", "WITH", "SHOW", "VALUES", "TABLE"].contains(&first) {
        return Err(format!(
            "is not read-only: it starts with {first}; use SELECT, WITH, SHOW, VALUES or TABLE"
        ));
    }
    const WRITING: &[&str] = &[
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "COPY",
        "CALL",
        "DO",
        "LOCK",
        "VACUUM",
        "INTO",
        "NEXTVAL",
        "SETVAL",
        "PG_TERMINATE_BACKEND",
        "PG_CANCEL_BACKEND",
        "SET_CONFIG",
        "LO_IMPORT",
        "LO_EXPORT",
        "DBLINK",
        "DBLINK_EXEC",
        "REFRESH",
        "REINDEX",
        "CLUSTER",
        "COMMENT",
        "SECURITY",
        "FOR",
    ];
    if let Some(w) = words.iter().find(|w| WRITING.contains(w)) {
        return Err(format!("is not read-only: it uses {w}"));
    }
    Ok(())
}

/// A check's state between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckState {
    pub status: CheckStatus,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    /// The incident of the current outage (open), or of the last one.
    pub incident_seq: u32,
    /// When the last outage's incident was resolved (for flap protection).
    pub last_resolved_at: Option<DateTime<Utc>>,
    /// Reminders sent in the current outage.
    pub reminders_sent: u32,
    pub next_reminder_at: Option<DateTime<Utc>>,
    /// When the current run of failures (or successes) began: an incident
    /// opens at its first failure and resolves at its first success.
    #[serde(default)]
    pub streak_since: Option<DateTime<Utc>>,
    /// How often the current incident was reopened by a flap.
    #[serde(default)]
    pub reopens: u32,
}

impl Default for CheckState {
    fn default() -> Self {
        CheckState {
            status: CheckStatus::Unknown,
            consecutive_failures: 0,
            consecutive_successes: 0,
            incident_seq: 0,
            last_resolved_at: None,
            reminders_sent: 0,
            next_reminder_at: None,
            streak_since: None,
            reopens: 0,
        }
    }
}

/// What a run changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    /// A new outage: open incident number `incident_seq`.
    Opened,
    /// A failure soon after a recovery: reopen the last incident.
    Reopened,
    /// The outage ended: resolve the incident.
    Recovered,
}

/// What may hold a check from going failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    None,
    Silenced,
    Maintenance,
    ParentFailing,
}

/// The reminder schedule: the first `base` after opening, then doubling,
/// never more than `max` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminders {
    pub base: Duration,
    pub max: Duration,
}

impl Reminders {
    /// The wait before reminder `n + 1` once `n` were sent.
    pub fn after(&self, sent: u32) -> Duration {
        let factor = 1i32.checked_shl(sent.min(20)).unwrap_or(i32::MAX);
        (self.base * factor).min(self.max)
    }
}

impl CheckState {
    /// Folds one run in. `flap_window`: a failure this soon after a
    /// recovery reopens the last incident instead of opening another.
    pub fn next(
        &self,
        ok: bool,
        spec: &CheckSpec,
        hold: Hold,
        now: DateTime<Utc>,
        flap_window: Duration,
        reminders: Reminders,
    ) -> (CheckState, Transition) {
        let mut s = self.clone();
        if ok {
            s.consecutive_successes = s.consecutive_successes.saturating_add(1);
            s.consecutive_failures = 0;
            if s.consecutive_successes == 1 {
                s.streak_since = Some(now);
            }
        } else {
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
            s.consecutive_successes = 0;
            if s.consecutive_failures == 1 {
                s.streak_since = Some(now);
            }
        }
        let transition = match (self.status, ok) {
            (CheckStatus::Failing, true) if s.consecutive_successes >= spec.success_threshold => {
                s.status = CheckStatus::Passing;
                s.last_resolved_at = Some(now);
                s.reminders_sent = 0;
                s.next_reminder_at = None;
                Transition::Recovered
            }
            (CheckStatus::Failing, _) => Transition::None,
            (_, true) => {
                s.status = CheckStatus::Passing;
                Transition::None
            }
            (_, false) if hold != Hold::None => Transition::None,
            (_, false) if s.consecutive_failures >= spec.failure_threshold => {
                s.status = CheckStatus::Failing;
                s.reminders_sent = 0;
                s.next_reminder_at = Some(now + reminders.after(0));
                let flapping = s.incident_seq > 0
                    && self
                        .last_resolved_at
                        .is_some_and(|r| now - r <= flap_window);
                if flapping {
                    s.reopens += 1;
                    Transition::Reopened
                } else {
                    s.incident_seq += 1;
                    s.reopens = 0;
                    Transition::Opened
                }
            }
            (_, false) => Transition::None,
        };
        (s, transition)
    }

    /// Whether a reminder is due now (failing, and its time came); the
    /// state after sending it.
    pub fn reminder_due(&self, now: DateTime<Utc>, reminders: Reminders) -> Option<CheckState> {
        if self.status != CheckStatus::Failing || self.next_reminder_at.is_none_or(|at| at > now) {
            return None;
        }
        let mut s = self.clone();
        s.reminders_sent += 1;
        s.next_reminder_at = Some(now + reminders.after(s.reminders_sent));
        Some(s)
    }
}

/// The external id of a check's incident number `seq`: what `metrics
/// explain` shows, naming the check.
pub fn incident_external_id(check: &str, seq: u32) -> String {
    format!("check:{check}:{seq}")
}

/// A log check's memory between runs (rotation-aware tailing): where it
/// stopped in each file or object, and the matches counted by recent runs.
///
/// Rules ([`LogState::plan`]):
/// - The first run takes a baseline: what is already there is not counted.
/// - A source seen before (the same identity: a file's device and inode, so
///   a renamed file keeps its place; an object's key) is read from where the
///   last run stopped; if it is now shorter, it was truncated (or, for an
///   object, replaced): it is read from the start.
/// - A source not seen before is new (rotation made it): read from the start.
/// - A source gone is forgotten.
/// - Only whole lines are consumed; a trailing partial line waits for its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// By identity.
    pub sources: BTreeMap<String, LogCursor>,
    /// Matches counted by runs: (first run of the minute, count), oldest
    /// first.
    pub counts: Vec<(DateTime<Utc>, u64)>,
    /// Whether the baseline was taken.
    pub started: bool,
}

/// Where reading stopped in one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCursor {
    pub path: String,
    /// Bytes consumed (up to the end of the last whole line).
    pub offset: u64,
    /// The size seen last time.
    pub size: u64,
    /// An object's ETag (empty for files).
    #[serde(default)]
    pub tag: String,
}

/// One file or object as listed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    /// `dev:inode` for a file, the key for an object.
    pub identity: String,
    pub path: String,
    pub size: u64,
    pub tag: String,
}

/// Bytes a run must read: `[from, to)` of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    pub identity: String,
    pub path: String,
    pub from: u64,
    pub to: u64,
}

impl LogState {
    /// What to read of the sources listed now; the most bytes read in one
    /// run is `max_bytes` (the rest waits for the next run).
    pub fn plan(&self, listed: &[LogSource], max_bytes: u64) -> Vec<LogRead> {
        let mut budget = max_bytes;
        let mut out = Vec::new();
        for src in listed {
            let from = match self.sources.get(&src.identity) {
                _ if !self.started => src.size,
                None => 0,
                Some(c) if src.size < c.offset => 0,
                Some(c) if !c.tag.is_empty() && c.tag != src.tag && src.size < c.size => 0,
                Some(c) => c.offset,
            };
            let to = src.size.min(from.saturating_add(budget));
            budget -= to - from;
            out.push(LogRead {
                identity: src.identity.clone(),
                path: src.path.clone(),
                from,
                to,
            });
        }
        out
    }

    /// The state after a run that read `done` (each read with the bytes it
    /// consumed, whole lines only) and counted `matched` lines, at `now`;
    /// and the matches in the window ending at `now`.
    pub fn after(
        &self,
        listed: &[LogSource],
        done: &[(LogRead, u64)],
        matched: u64,
        now: DateTime<Utc>,
        window: Duration,
    ) -> (LogState, u64) {
        let mut sources = BTreeMap::new();
        for src in listed {
            let offset = done
                .iter()
                .find(|(r, _)| r.identity == src.identity)
                .map_or_else(
                    || self.sources.get(&src.identity).map_or(0, |c| c.offset),
                    |(r, consumed)| r.from + consumed,
                );
            sources.insert(
                src.identity.clone(),
                LogCursor {
                    path: src.path.clone(),
                    offset,
                    size: src.size,
                    tag: src.tag.clone(),
                },
            );
        }
        let since = now - window;
        let mut counts: Vec<(DateTime<Utc>, u64)> = self
            .counts
            .iter()
            .filter(|(at, _)| *at > since)
            .cloned()
            .collect();
        if self.started {
            // One entry per minute at most (a day's window: 1,440 entries);
            // the window's edge is exact to that minute.
            match counts.last_mut() {
                Some((at, n)) if bucket(*at, 60) == bucket(now, 60) => *n += matched,
                _ => counts.push((now, matched)),
            }
        }
        let total = counts.iter().map(|(_, n)| n).sum();
        (
            LogState {
                sources,
                counts,
                started: true,
            },
            total,
        )
    }
}

/// Rollup grains, finest first.
pub const GRAINS: [(&str, i64); 3] = [("minute", 60), ("hour", 3_600), ("day", 86_400)];

/// The start of the `grain_seconds` bucket holding `at`.
pub fn bucket(at: DateTime<Utc>, grain_seconds: i64) -> DateTime<Utc> {
    let s = at.timestamp();
    let start = s - s.rem_euclid(grain_seconds);
    Utc.timestamp_opt(start, 0).single().unwrap_or(at)
}

/// One rollup bucket's totals: each run stands for the interval it covers,
/// so availability is time-weighted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rollup {
    pub runs: i64,
    pub ok_runs: i64,
    pub up_ms: i64,
    pub down_ms: i64,
    pub latency_ms_sum: i64,
}

/// Availability over rollups: up time over observed time (`None` with
/// nothing observed).
pub fn uptime(rollups: &[Rollup]) -> Option<f64> {
    let up: i64 = rollups.iter().map(|r| r.up_ms).sum();
    let down: i64 = rollups.iter().map(|r| r.down_ms).sum();
    (up + down > 0).then(|| up as f64 / (up + down) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: CheckKind, target: &str) -> CheckSpec {
        CheckSpec {
            name: "api".into(),
            team: "pay".into(),
            service: "payments".into(),
            project: None,
            kind,
            target: target.into(),
            method: None,
            headers: BTreeMap::new(),
            body: None,
            query: None,
            conditions: vec![],
            interval_seconds: 30,
            timeout_seconds: 5,
            failure_threshold: 2,
            success_threshold: 2,
            grace_seconds: 0,
            severity: Severity::Critical,
            depends_on: None,
            maintenance: vec![],
            record_type: None,
            nameserver: None,
            pattern: None,
            window_minutes: None,
        }
    }

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn fields(s: &CheckSpec) -> Vec<String> {
        match s.validate() {
            Err(DomainError::Invalid(e)) => e.into_iter().map(|f| f.field).collect(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let mut s = spec(CheckKind::Http, "ftp://x");
        s.interval_seconds = 4;
        s.timeout_seconds = 2;
        s.conditions = vec![
            "[STATUS] == 200".into(),
            "[NOPE] == 1".into(),
            "[KEYS] < 3".into(),
        ];
        assert_eq!(
            fields(&s),
            [
                "interval_seconds",
                "target",
                "conditions[1]",
                "conditions[2]"
            ]
        );
        let mut pg = spec(CheckKind::Postgres, "postgres://localhost/db");
        pg.query = Some("DELETE FROM users".into());
        assert_eq!(fields(&pg), ["query"]);
        pg.query = Some("select count(*) from pg_stat_activity".into());
        assert!(pg.validate().is_ok());
        assert!(spec(CheckKind::Tcp, "db:5432").validate().is_ok());
        assert_eq!(fields(&spec(CheckKind::Tcp, "db")), ["target"]);
    }

    #[test]
    fn dns_tls_and_log_definitions_name_the_field() {
        let mut dns = spec(CheckKind::Dns, "api.example.com");
        dns.timeout_seconds = 5;
        assert!(dns.validate().is_ok());
        dns.record_type = Some("mx".into());
        dns.nameserver = Some("127.0.0.1:5353".into());
        dns.conditions = vec!["[RECORDS] == 10 mail.example.com".into()];
        assert!(dns.validate().is_ok());
        dns.record_type = Some("BOGUS".into());
        dns.nameserver = Some("dns.example.com".into());
        dns.conditions = vec!["[STATUS] == 200".into()];
        assert_eq!(fields(&dns), ["record_type", "nameserver", "conditions[0]"]);
        assert_eq!(fields(&spec(CheckKind::Dns, "bad name!")), ["target"]);

        let mut tls = spec(CheckKind::Tls, "example.com:443");
        tls.conditions = vec!["[CERTIFICATE_EXPIRATION] > 14d".into()];
        assert!(tls.validate().is_ok());
        tls.pattern = Some("x".into());
        assert_eq!(fields(&tls), ["pattern"]);
        assert_eq!(
            fields(&spec(CheckKind::Tls, "https://example.com")),
            ["target"]
        );

        let mut log = spec(CheckKind::Log, "/var/log/app");
        assert_eq!(fields(&log), ["pattern"]);
        log.pattern = Some("ERROR".into());
        log.conditions = vec!["[MATCHES] < 10".into()];
        assert!(log.validate().is_ok());
        log.window_minutes = Some(0);
        log.conditions = vec!["[MATCHES] =~ 3".into()];
        assert_eq!(fields(&log), ["window_minutes", "conditions[0]"]);
        log.window_minutes = Some(60);
        log.conditions = vec![];
        log.target = "s3://logs/app/".into();
        assert!(log.validate().is_ok());
        log.target = "relative/path".into();
        assert_eq!(fields(&log), ["target"]);
        assert_eq!(
            spec(CheckKind::Log, "/x").parsed_conditions()[0].text,
            "[MATCHES] == 0"
        );
        assert_eq!(
            spec(CheckKind::Tls, "x:1").parsed_conditions()[0].text,
            "[CERTIFICATE_EXPIRATION] > 0"
        );
    }

    #[test]
    fn records_compare_as_sets() {
        let obs = Observation {
            records: Some(records_text(["10.0.0.2", "10.0.0.1"])),
            ..Observation::default()
        };
        let never = |_: &str, _: &str| false;
        let check = |c: &str| Condition::parse(c).unwrap().holds(&obs, t(0), &never);
        assert!(check("[RECORDS] == 10.0.0.1,10.0.0.2").is_ok());
        assert!(check("[RECORDS] == 10.0.0.2, 10.0.0.1").is_ok());
        assert!(check("[RECORDS] == 10.0.0.1").is_err());
        assert!(check("[RECORDS] != 10.0.0.1").is_ok());
        assert_eq!(records_text(["Mail.Example.com.", ""]), "mail.example.com");
    }

    #[test]
    fn log_state_follows_rotation_and_truncation() {
        let src = |id: &str, path: &str, size: u64| LogSource {
            identity: id.into(),
            path: path.into(),
            size,
            tag: String::new(),
        };
        let window = Duration::minutes(10);
        // The first run takes a baseline.
        let st = LogState::default();
        let listed = [src("1:10", "/l/app.log", 500)];
        let plan = st.plan(&listed, 1 << 20);
        assert_eq!((plan[0].from, plan[0].to), (500, 500));
        let (st, n) = st.after(&listed, &[(plan[0].clone(), 0)], 0, t(0), window);
        assert_eq!((n, st.counts.len()), (0, 0));
        // Growth: the new bytes.
        let listed = [src("1:10", "/l/app.log", 800)];
        let plan = st.plan(&listed, 1 << 20);
        assert_eq!((plan[0].from, plan[0].to), (500, 800));
        // Only 250 bytes were whole lines.
        let (st, n) = st.after(&listed, &[(plan[0].clone(), 250)], 3, t(1), window);
        assert_eq!((n, st.sources["1:10"].offset), (3, 750));
        // Rotation: renamed (same inode) and a new file.
        let listed = [
            src("1:10", "/l/app.log.1", 900),
            src("1:11", "/l/app.log", 40),
        ];
        let plan = st.plan(&listed, 1 << 20);
        assert_eq!(
            plan.iter().map(|r| (r.from, r.to)).collect::<Vec<_>>(),
            [(750, 900), (0, 40)]
        );
        let done: Vec<_> = plan.iter().map(|r| (r.clone(), r.to - r.from)).collect();
        let (st, n) = st.after(&listed, &done, 2, t(2), window);
        assert_eq!(n, 5);
        // Truncation (copytruncate) reads from the start; the old file gone
        // is forgotten; a read budget leaves the rest for later.
        let listed = [src("1:11", "/l/app.log", 30)];
        let plan = st.plan(&listed, 10);
        assert_eq!((plan[0].from, plan[0].to), (0, 10));
        let (st, n) = st.after(&listed, &[(plan[0].clone(), 10)], 0, t(3), window);
        assert_eq!((n, st.sources.len()), (5, 1));
        // Counts leave the window; a minute's runs share one entry.
        let (st, n) = st.after(&listed, &[], 1, t(12) + Duration::seconds(10), window);
        assert_eq!(n, 1);
        let (st, n) = st.after(&listed, &[], 1, t(12) + Duration::seconds(40), window);
        assert_eq!((n, st.counts.len()), (2, 2));
        // An object replaced by a shorter one (another ETag) is read again.
        let mut obj = st.clone();
        obj.sources.insert(
            "logs/a".into(),
            LogCursor {
                path: "logs/a".into(),
                offset: 100,
                size: 100,
                tag: "e1".into(),
            },
        );
        let listed = [LogSource {
            identity: "logs/a".into(),
            path: "logs/a".into(),
            size: 100,
            tag: "e2".into(),
        }];
        assert_eq!(obj.plan(&listed, 1 << 20)[0].from, 100);
        let listed = [LogSource {
            size: 60,
            ..listed[0].clone()
        }];
        assert_eq!(obj.plan(&listed, 1 << 20)[0].from, 0);
    }

    #[test]
    fn read_only_sql_refuses_writes_and_second_statements() {
        assert!(read_only_sql("SELECT 1").is_ok());
        assert!(read_only_sql("with x as (select 1) select * from x;").is_ok());
        assert!(read_only_sql("select 'delete' as word").is_ok());
        for bad in [
            "SELECT 1; DROP TABLE x",
            "UPDATE t SET a = 1",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT * INTO copy FROM t",
            "SELECT nextval('s')",
            "SELECT * FROM t FOR UPDATE",
            "",
        ] {
            assert!(read_only_sql(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn conditions_compare_numbers_text_json_and_headers() {
        let obs = Observation {
            status: Some(200),
            response_ms: 120,
            body: Some(r#"{"status":"UP","items":[{"n":3}]}"#.into()),
            headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
            cert_expires_at: Some(t(0) + Duration::days(10)),
            ..Observation::default()
        };
        let contains = |re: &str, s: &str| s.contains(re);
        let check = |c: &str| Condition::parse(c).unwrap().holds(&obs, t(0), &contains);
        assert!(check("[STATUS] == 200").is_ok());
        assert!(check("[RESPONSE_TIME] < 500").is_ok());
        assert!(check("[RESPONSE_TIME] < 100").is_err());
        assert!(check("[BODY].status == UP").is_ok());
        assert!(check("[BODY].items[0].n >= 3").is_ok());
        assert!(check("[HEADER].Content-Type =~ json").is_ok());
        assert!(check("[CERTIFICATE_EXPIRATION] > 168h").is_ok());
        assert!(check("[CERTIFICATE_EXPIRATION] > 30d").is_err());
        assert!(check("[BODY].missing == x").is_err());
    }

    #[test]
    fn thresholds_and_flapping_make_one_incident() {
        let s = spec(CheckKind::Http, "http://x");
        let r = Reminders {
            base: Duration::minutes(10),
            max: Duration::hours(4),
        };
        let flap = Duration::minutes(30);
        let mut st = CheckState::default();
        let mut opened = 0;
        let mut reopened = 0;
        let mut recovered = 0;
        // Fail, fail (opens), ok, ok (recovers), then flap for a while.
        let runs = [
            false, false, true, true, false, false, true, true, false, false,
        ];
        for (i, ok) in runs.iter().enumerate() {
            let (next, tr) = st.next(*ok, &s, Hold::None, t(i as i64), flap, r);
            match tr {
                Transition::Opened => opened += 1,
                Transition::Reopened => reopened += 1,
                Transition::Recovered => recovered += 1,
                Transition::None => {}
            }
            st = next;
        }
        assert_eq!((opened, reopened, recovered), (1, 2, 2));
        assert_eq!(st.incident_seq, 1);
        // Long after a recovery, a new outage is a new incident.
        let (st2, tr) = st.next(true, &s, Hold::None, t(20), flap, r);
        let (st2, _) = st2.next(true, &s, Hold::None, t(21), flap, r);
        let (st2, _) = st2.next(false, &s, Hold::None, t(200), flap, r);
        let (st2, tr2) = st2.next(false, &s, Hold::None, t(201), flap, r);
        assert_eq!(
            (tr, tr2, st2.incident_seq),
            (Transition::None, Transition::Opened, 2)
        );
    }

    #[test]
    fn a_held_check_does_not_go_failing() {
        let mut s = spec(CheckKind::Http, "http://x");
        s.failure_threshold = 1;
        let r = Reminders {
            base: Duration::minutes(10),
            max: Duration::hours(4),
        };
        let (st, tr) =
            CheckState::default().next(false, &s, Hold::ParentFailing, t(0), Duration::zero(), r);
        assert_eq!((st.status, tr), (CheckStatus::Unknown, Transition::None));
        let (st, tr) = st.next(false, &s, Hold::None, t(1), Duration::zero(), r);
        assert_eq!((st.status, tr), (CheckStatus::Failing, Transition::Opened));
        assert!(st.reminder_due(t(5), r).is_none());
        let st = st.reminder_due(t(11), r).unwrap();
        assert_eq!(st.next_reminder_at, Some(t(31)));
    }

    #[test]
    fn maintenance_windows() {
        let mut s = spec(CheckKind::Http, "http://x");
        s.maintenance = vec![MaintenanceWindow {
            weekdays: vec!["mon".into()],
            start: "23:00".into(),
            end: "01:00".into(),
        }];
        // 2026-03-02 is a Monday.
        let monday_late = Utc.with_ymd_and_hms(2026, 3, 2, 23, 30, 0).unwrap();
        assert!(s.in_maintenance(monday_late));
        assert!(s.in_maintenance(monday_late + Duration::hours(1)));
        assert!(!s.in_maintenance(monday_late + Duration::hours(2)));
    }

    #[test]
    fn uptime_is_time_weighted() {
        let a = Rollup {
            runs: 1,
            ok_runs: 1,
            up_ms: 60_000,
            down_ms: 0,
            latency_ms_sum: 5,
        };
        let b = Rollup {
            runs: 1,
            ok_runs: 0,
            up_ms: 0,
            down_ms: 20_000,
            latency_ms_sum: 5,
        };
        assert_eq!(uptime(&[a, b]), Some(0.75));
        assert_eq!(uptime(&[]), None);
    }
}
