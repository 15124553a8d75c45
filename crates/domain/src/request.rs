//! Business requests: what the business asks of a team, through the web
//! form, the API, Slack or e-mail, before it becomes (or does not become)
//! work. The essay's fifth principle: the manager is the buffer; a request
//! is clarified, weighed against the work already promised (the cost of
//! yes) and decided, and the requester is told through the channel the
//! request came from.
//!
//! Rules here, pure:
//! - **The four clarifying questions** ([`Question`]): what business goal,
//!   how success is measured, by when and why then, what happens if it is
//!   not done. [`Answers::unanswered`] lists the open ones; a request with
//!   any open cannot be accepted ([`Request::decide`]) but can be declined,
//!   postponed, merged or sent back for information.
//! - **Criticality** ([`criticality`]): a production outage or a security
//!   issue is P0 now and flagged for paging; everything else goes to the
//!   next sync agenda, its priority from impact × complexity through the
//!   organisation's matrix ([`crate::priority::Matrix`]), explained.
//! - **Decisions** ([`DecisionKind`]) move the status; every decision
//!   changes the request's `version` (optimistic concurrency: the store
//!   refuses a decision computed from an older version).
//! - **Waiting time** ([`waiting_working_days`]): Monday–Friday time from
//!   submission to the first decision that closes the question (or now).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::priority::Matrix;
use crate::risk::Level;
use crate::work_item::Priority;
use crate::{string_enum, text};

string_enum! {
    /// Where a request came in.
    RequestSource {
        Web => "web",
        Api => "api",
        Slack => "slack",
        Email => "email",
    }
}

string_enum! {
    /// Where a request stands.
    RequestStatus {
        /// Waiting for a decision.
        Waiting => "waiting",
        /// The manager asked the requester for more information.
        NeedsInfo => "needs_info",
        Postponed => "postponed",
        /// Accepted: a draft goal holds it now.
        Accepted => "accepted",
        Declined => "declined",
        /// Merged into another request.
        Duplicate => "duplicate",
    }
}

impl RequestStatus {
    /// Accepted, declined and merged requests are closed: no more decisions.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            RequestStatus::Accepted | RequestStatus::Declined | RequestStatus::Duplicate
        )
    }

    /// Waiting or sent back for information: on the triage queue and the
    /// sync agenda.
    pub fn is_pending(self) -> bool {
        matches!(self, RequestStatus::Waiting | RequestStatus::NeedsInfo)
    }
}

string_enum! {
    /// What a manager may decide about a request.
    RequestDecisionKind {
        /// Creates a draft goal with the answers carried over.
        Accept => "accept",
        /// To a date, or to the next sync.
        Postpone => "postpone",
        /// A reason is required.
        Decline => "decline",
        /// Merge into another request (`duplicate_of`).
        Duplicate => "duplicate",
        /// Ask the requester for more information.
        AskInfo => "ask_info",
    }
}

string_enum! {
    /// How urgent the requester says it is: an outage or a security issue
    /// is P0 now; anything else is `normal` and waits for the next sync.
    RequestUrgency {
        Normal => "normal",
        Outage => "outage",
        Security => "security",
    }
}

string_enum! {
    /// The four clarifying questions of an agreement.
    Question {
        BusinessGoal => "business_goal",
        SuccessMeasure => "success_measure",
        Deadline => "deadline",
        IfNotDone => "if_not_done",
    }
}

impl Question {
    /// The question as the requester reads it.
    pub fn text(self) -> &'static str {
        match self {
            Question::BusinessGoal => "What business goal does this serve?",
            Question::SuccessMeasure => "How will success be measured?",
            Question::Deadline => "By when is it needed, and why then?",
            Question::IfNotDone => "What happens if it is not done?",
        }
    }
}

string_enum! {
    /// What a notification says, and to whom.
    NotificationKind {
        /// To the requester: the request was received (sent on submission).
        Received => "received",
        /// To the requester: a decision was taken.
        Decided => "decided",
        /// To a manager of the request's team: a request arrived, with its
        /// criticality and its cost of yes (figured when it is sent).
        Triage => "triage",
    }
}

/// The answers to the four questions; `None` or blank is unanswered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// What business goal does this serve?
    #[serde(default)]
    pub business_goal: Option<String>,
    /// How will success be measured?
    #[serde(default)]
    pub success_measure: Option<String>,
    /// By when is it needed, and why then?
    #[serde(default)]
    pub deadline: Option<String>,
    /// What happens if it is not done?
    #[serde(default)]
    pub if_not_done: Option<String>,
}

impl Answers {
    pub fn get(&self, q: Question) -> Option<&str> {
        let v = match q {
            Question::BusinessGoal => &self.business_goal,
            Question::SuccessMeasure => &self.success_measure,
            Question::Deadline => &self.deadline,
            Question::IfNotDone => &self.if_not_done,
        };
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The questions without an answer, in the order they are asked.
    pub fn unanswered(&self) -> Vec<Question> {
        Question::ALL
            .iter()
            .copied()
            .filter(|q| self.get(*q).is_none())
            .collect()
    }

    /// Fills in what `more` answers (later answers replace earlier ones).
    pub fn merge(&mut self, more: Answers) {
        for (mine, theirs) in [
            (&mut self.business_goal, more.business_goal),
            (&mut self.success_measure, more.success_measure),
            (&mut self.deadline, more.deadline),
            (&mut self.if_not_done, more.if_not_done),
        ] {
            if let Some(v) = theirs.filter(|s| !s.trim().is_empty()) {
                *mine = Some(v);
            }
        }
    }

    fn check(&self, p: &mut Problems) {
        for q in Question::ALL {
            if let Some(v) = self.get(*q) {
                p.check(text::bounded(
                    &format!("answers.{}", q.as_str()),
                    v,
                    text::LONG,
                ));
            }
        }
    }
}

/// Where to answer the requester, by channel. The web and the API need
/// nothing (the request page shows its notifications); Slack needs a
/// channel or a `response_url`; e-mail needs an address. The intake
/// channels fill what they know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyAddress {
    /// Slack: the channel (or DM) id to post to, e.g. `C0123456`.
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// Slack: the requester's user id, e.g. `U0123456`.
    #[serde(default)]
    pub slack_user: Option<String>,
    /// Slack: the `response_url` of the slash command or shortcut.
    #[serde(default)]
    pub slack_response_url: Option<String>,
    /// Slack: the message to reply in the thread of.
    #[serde(default)]
    pub slack_thread_ts: Option<String>,
    /// E-mail: the address to answer.
    #[serde(default)]
    pub email_address: Option<String>,
    /// E-mail: the `Message-ID` of the request, for `In-Reply-To`.
    #[serde(default)]
    pub email_message_id: Option<String>,
    /// E-mail: the subject of the request (the answer says `Re: …`).
    #[serde(default)]
    pub email_subject: Option<String>,
}

impl ReplyAddress {
    fn check(&self, source: RequestSource, p: &mut Problems) {
        let all = [
            ("reply.slack_channel", &self.slack_channel),
            ("reply.slack_user", &self.slack_user),
            ("reply.slack_response_url", &self.slack_response_url),
            ("reply.slack_thread_ts", &self.slack_thread_ts),
            ("reply.email_address", &self.email_address),
            ("reply.email_message_id", &self.email_message_id),
            ("reply.email_subject", &self.email_subject),
        ];
        for (field, v) in all {
            if let Some(v) = v {
                p.check(text::bounded(field, v, 2_000));
            }
        }
        match source {
            RequestSource::Slack
                if self.slack_channel.is_none() && self.slack_response_url.is_none() =>
            {
                p.push(
                    "reply.slack_channel",
                    "a Slack request needs a channel or a response_url to answer",
                )
            }
            RequestSource::Email if self.email_address.as_deref().is_none_or(str::is_empty) => p
                .push(
                    "reply.email_address",
                    "an e-mail request needs the address to answer",
                ),
            _ => {}
        }
    }
}

/// A decision about a request, as recorded on it (the full record is in the
/// decisions log, `decision_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestDecision {
    pub kind: RequestDecisionKind,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    /// Why (required to decline).
    pub reason: String,
    /// Postponed to this date; none with `postpone` is "the next sync".
    pub postponed_until: Option<NaiveDate>,
    /// Merged into this request.
    pub duplicate_of: Option<Uuid>,
    /// The draft goal an acceptance created.
    pub goal_id: Option<Uuid>,
    /// The entry in the decisions log.
    pub decision_id: Uuid,
    /// The cost of yes when decided, in words (one line a goal).
    pub cost_of_yes: Vec<String>,
}

/// What a manager decides, as the API, the page and the CLI send it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub kind: RequestDecisionKind,
    /// Why. Required to decline; recorded for every kind.
    #[serde(default)]
    pub reason: String,
    /// `postpone`: the date; absent = the next sync.
    #[serde(default)]
    pub postponed_until: Option<NaiveDate>,
    /// `duplicate`: the request this one merges into.
    #[serde(default)]
    pub duplicate_of: Option<Uuid>,
    /// The request's version the decision was made from (optimistic
    /// concurrency: a request decided since gives 409). Absent: the
    /// version read just before deciding.
    #[serde(default)]
    pub version: Option<i32>,
    /// The priority to record (and give the accepted goal's work): the
    /// cost of yes is computed at it. Absent: the request's own.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// The size the cost of yes is computed at, in items (`size_max` for a
    /// range). Absent: [`DEFAULT_SIZE_ITEMS`].
    #[serde(default)]
    pub size: Option<u32>,
    #[serde(default)]
    pub size_max: Option<u32>,
}

/// The size the cost of yes assumes when none is given.
pub const DEFAULT_SIZE_ITEMS: u32 = 5;

/// A business request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Request {
    pub id: Uuid,
    pub team_id: Uuid,
    pub title: String,
    pub description: String,
    pub source: RequestSource,
    /// The requester, as people know them (a name or an address).
    pub requester: String,
    /// The Tandem user who asked, when signed in.
    pub requester_user_id: Option<Uuid>,
    pub reply: ReplyAddress,
    pub answers: Answers,
    pub urgency: RequestUrgency,
    pub impact: Option<Level>,
    pub complexity: Option<Level>,
    /// From [`criticality`] at submission; a decision may set another.
    pub priority: Priority,
    pub status: RequestStatus,
    /// +1 for every decision (optimistic concurrency).
    pub version: i32,
    /// The channel's own id of the request (a Slack message ts, an e-mail
    /// Message-ID): one request per id and source.
    pub external_id: Option<String>,
    /// The last decision, when there was one.
    pub decision: Option<RequestDecision>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A request as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Export invoices as CSV", "description": "Finance needs the monthly invoices in a spreadsheet", "requester": "lee@example.com", "answers": {"business_goal": "Close the books two days sooner", "success_measure": "Month-end close in 3 days instead of 5", "deadline": "By 30 June: the audit starts then", "if_not_done": "Two people copy invoices by hand for two days"}, "impact": "medium", "complexity": "low"})))]
pub struct NewRequest {
    pub team_id: Uuid,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Set by the channel (the API records `api`, the form `web`).
    #[serde(default = "default_source")]
    pub source: RequestSource,
    /// Defaults to the signed-in user's name.
    #[serde(default)]
    pub requester: String,
    #[serde(default)]
    pub requester_user_id: Option<Uuid>,
    #[serde(default)]
    pub reply: ReplyAddress,
    #[serde(default)]
    pub answers: Answers,
    #[serde(default = "default_urgency")]
    pub urgency: RequestUrgency,
    #[serde(default)]
    pub impact: Option<Level>,
    #[serde(default)]
    pub complexity: Option<Level>,
    #[serde(default)]
    pub external_id: Option<String>,
}

fn default_source() -> RequestSource {
    RequestSource::Api
}

fn default_urgency() -> RequestUrgency {
    RequestUrgency::Normal
}

impl NewRequest {
    /// A request with only the required parts; the rest default.
    pub fn new(
        team_id: Uuid,
        title: impl Into<String>,
        requester: impl Into<String>,
        source: RequestSource,
    ) -> Self {
        NewRequest {
            team_id,
            title: title.into(),
            description: String::new(),
            source,
            requester: requester.into(),
            requester_user_id: None,
            reply: ReplyAddress::default(),
            answers: Answers::default(),
            urgency: RequestUrgency::Normal,
            impact: None,
            complexity: None,
            external_id: None,
        }
    }

    /// The stored request: waiting, version 1, its priority from the rules.
    pub fn into_request(
        self,
        id: Uuid,
        now: DateTime<Utc>,
        matrix: &Matrix,
    ) -> Result<Request, DomainError> {
        let now = crate::time::micros(now);
        let c = criticality(self.urgency, self.impact, self.complexity, matrix);
        let r = Request {
            id,
            team_id: self.team_id,
            title: self.title.trim().to_owned(),
            description: self.description,
            source: self.source,
            requester: self.requester.trim().to_owned(),
            requester_user_id: self.requester_user_id,
            reply: self.reply,
            answers: self.answers,
            urgency: self.urgency,
            impact: self.impact,
            complexity: self.complexity,
            priority: c.priority,
            status: RequestStatus::Waiting,
            version: 1,
            external_id: self.external_id,
            decision: None,
            created_at: now,
            updated_at: now,
        };
        r.validate()?;
        Ok(r)
    }
}

impl Request {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("title", &self.title));
        p.check(text::bounded("description", &self.description, text::LONG));
        p.check(text::required("requester", &self.requester));
        if let Some(e) = &self.external_id {
            p.check(text::bounded("external_id", e, 2_000));
        }
        self.answers.check(&mut p);
        self.reply.check(self.source, &mut p);
        p.into_result()
    }

    /// The questions still open.
    pub fn unanswered(&self) -> Vec<Question> {
        self.answers.unanswered()
    }

    /// The request's criticality under `matrix`.
    pub fn criticality(&self, matrix: &Matrix) -> Criticality {
        criticality(self.urgency, self.impact, self.complexity, matrix)
    }

    /// Checks a decision against the request and returns the request as it
    /// is after it (status, version + 1, the decision recorded). The caller
    /// fills `decision_id`, `goal_id` and `cost_of_yes`.
    ///
    /// Refused: a closed request (`status`); accepting with unanswered
    /// questions (`answers`, each named); declining without a reason
    /// (`reason`); merging without, or into itself (`duplicate_of`);
    /// postponing to a day not after today (`postponed_until`).
    pub fn decide(
        &self,
        input: &DecisionInput,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Request, DomainError> {
        let now = crate::time::micros(now);
        if self.status.is_closed() {
            return Err(DomainError::InvalidTransition {
                entity: "request",
                action: input.kind.as_str(),
                from: self.status.to_string(),
            });
        }
        let mut p = Problems::new();
        p.check(text::required("decided_by", by));
        p.check(text::bounded("reason", &input.reason, text::LONG));
        let status = match input.kind {
            RequestDecisionKind::Accept => {
                for q in self.unanswered() {
                    p.push(
                        format!("answers.{q}"),
                        format!(
                            "unanswered: \"{}\" — a request becomes an agreed goal only when all four questions are answered (it can still be declined or postponed)",
                            q.text()
                        ),
                    );
                }
                RequestStatus::Accepted
            }
            RequestDecisionKind::Postpone => {
                if let Some(d) = input.postponed_until
                    && d <= now.date_naive()
                {
                    p.push("postponed_until", format!("{d} is not after today"));
                }
                RequestStatus::Postponed
            }
            RequestDecisionKind::Decline => {
                if input.reason.trim().is_empty() {
                    p.push("reason", "a decline needs a reason the requester can read");
                }
                RequestStatus::Declined
            }
            RequestDecisionKind::Duplicate => {
                match input.duplicate_of {
                    None => p.push("duplicate_of", "name the request this one duplicates"),
                    Some(id) if id == self.id => {
                        p.push("duplicate_of", "a request cannot duplicate itself")
                    }
                    Some(_) => {}
                }
                RequestStatus::Duplicate
            }
            RequestDecisionKind::AskInfo => RequestStatus::NeedsInfo,
        };
        p.into_result()?;
        let mut next = self.clone();
        next.status = status;
        next.version += 1;
        next.updated_at = now;
        if let Some(pr) = input.priority {
            next.priority = pr;
        }
        next.decision = Some(RequestDecision {
            kind: input.kind,
            decided_by: by.trim().to_owned(),
            decided_at: now,
            reason: input.reason.trim().to_owned(),
            postponed_until: input
                .postponed_until
                .filter(|_| input.kind == RequestDecisionKind::Postpone),
            duplicate_of: input
                .duplicate_of
                .filter(|_| input.kind == RequestDecisionKind::Duplicate),
            goal_id: None,
            decision_id: Uuid::nil(),
            cost_of_yes: Vec::new(),
        });
        Ok(next)
    }

    /// The request with more answers (later answers replace earlier ones):
    /// version + 1; a request waiting for information goes back to
    /// waiting. Refused on a closed request.
    pub fn answer(&self, more: Answers, now: DateTime<Utc>) -> Result<Request, DomainError> {
        if self.status.is_closed() {
            return Err(DomainError::InvalidTransition {
                entity: "request",
                action: "answer",
                from: self.status.to_string(),
            });
        }
        let mut next = self.clone();
        next.answers.merge(more);
        if next.status == RequestStatus::NeedsInfo {
            next.status = RequestStatus::Waiting;
        }
        next.version += 1;
        next.updated_at = crate::time::micros(now);
        next.validate()?;
        Ok(next)
    }

    /// The decision in one sentence for the requester.
    pub fn decision_message(&self) -> String {
        let Some(d) = &self.decision else {
            return format!("Your request \"{}\" is waiting for a decision.", self.title);
        };
        let why = if d.reason.is_empty() {
            String::new()
        } else {
            format!(" Reason: {}", d.reason)
        };
        let what = match d.kind {
            RequestDecisionKind::Accept => {
                "was accepted; the team has drafted a goal for it.".to_owned()
            }
            RequestDecisionKind::Postpone => match d.postponed_until {
                Some(day) => format!("was postponed to {day}."),
                None => "was postponed to the next product sync.".to_owned(),
            },
            RequestDecisionKind::Decline => "was declined.".to_owned(),
            RequestDecisionKind::Duplicate => {
                "was merged into an earlier request for the same thing.".to_owned()
            }
            RequestDecisionKind::AskInfo => {
                let open: Vec<&str> = self.unanswered().iter().map(|q| q.text()).collect();
                if open.is_empty() {
                    "needs more information before it can be decided.".to_owned()
                } else {
                    format!(
                        "needs more information before it can be decided: {}",
                        open.join(" ")
                    )
                }
            }
        };
        format!("Your request \"{}\" {what}{why}", self.title)
    }
}

/// How a request is routed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Criticality {
    pub priority: Priority,
    /// True for a production outage or a security issue: P0 now, page the
    /// on-call path (a critical alert through the alert routes, bypassing
    /// quiet hours and focus blocks).
    pub page: bool,
    /// `now` (an outage or security issue) or `next_sync`.
    pub route: String,
    /// The rule in words.
    pub rule: String,
}

/// The written rules: a production outage or a security issue is P0 now and
/// flagged for paging; anything else goes to the next sync agenda with the
/// matrix's priority for its impact × complexity, or P2 while unrated.
pub fn criticality(
    urgency: RequestUrgency,
    impact: Option<Level>,
    complexity: Option<Level>,
    matrix: &Matrix,
) -> Criticality {
    match urgency {
        RequestUrgency::Outage | RequestUrgency::Security => Criticality {
            priority: Priority::P0,
            page: true,
            route: "now".to_owned(),
            rule: format!(
                "{} → P0 now: bypasses the sync and quiet hours and pages the on-call path",
                if urgency == RequestUrgency::Outage {
                    "production outage"
                } else {
                    "security issue"
                }
            ),
        },
        RequestUrgency::Normal => match (impact, complexity) {
            (Some(i), Some(c)) => {
                let p = matrix.get(i, c);
                Criticality {
                    priority: p,
                    page: false,
                    route: "next_sync".to_owned(),
                    rule: format!(
                        "matrix: impact {i} × complexity {c} → {p}; decided at the next sync"
                    ),
                }
            }
            _ => Criticality {
                priority: Priority::P2,
                page: false,
                route: "next_sync".to_owned(),
                rule: "impact or complexity not rated: P2 until rated; decided at the next sync"
                    .to_owned(),
            },
        },
    }
}

/// A message to the requester, in the outbox of its channel. Web
/// notifications show on the request page; Slack and e-mail ones are
/// delivered by their intake channel (claimed, then marked delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: Uuid,
    pub request_id: Uuid,
    pub source: RequestSource,
    pub reply: ReplyAddress,
    pub kind: NotificationKind,
    /// The decision it tells of, when it tells of one.
    pub decision: Option<RequestDecisionKind>,
    /// One line: a Slack message's fallback text, an e-mail's subject.
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Delivery attempts so far.
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Not sent before this instant: a message that is not urgent waits for
    /// the recipient's working hours outside the focus block
    /// (`policy::delivery_time`). Absent: at once.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The message telling a manager of `r`'s team (whose e-mail address is
    /// `manager_email`) that `r` arrived. Its Slack blocks or e-mail body
    /// are written when it is sent, with the cost of yes at that moment;
    /// `body` says so on the request page.
    pub fn to_manager(
        r: &Request,
        manager: &str,
        manager_email: &str,
        channel: RequestSource,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Self {
        let subject: String = format!("New request: {}", r.title)
            .replace(['\n', '\r'], " ")
            .chars()
            .take(text::SHORT)
            .collect();
        Notification {
            id,
            request_id: r.id,
            source: channel,
            reply: ReplyAddress {
                email_address: Some(manager_email.to_owned()),
                ..ReplyAddress::default()
            },
            kind: NotificationKind::Triage,
            decision: None,
            subject,
            body: format!(
                "To {manager}: the request, its criticality and the cost of yes for the team's goals (figured when it is sent)."
            ),
            created_at: crate::time::micros(now),
            delivered_at: None,
            attempts: 0,
            last_error: None,
            due_at: None,
        }
    }

    /// The notification telling the requester of `r`'s current state.
    pub fn about(r: &Request, kind: NotificationKind, id: Uuid, now: DateTime<Utc>) -> Self {
        let now = crate::time::micros(now);
        let (subject, body) = match kind {
            NotificationKind::Received => {
                let open = r.unanswered();
                let mut body = format!(
                    "Your request \"{}\" was received and will be triaged.",
                    r.title
                );
                if !open.is_empty() {
                    body.push_str(" Still open: ");
                    let qs: Vec<&str> = open.iter().map(|q| q.text()).collect();
                    body.push_str(&qs.join(" "));
                }
                (format!("Request received: {}", r.title), body)
            }
            NotificationKind::Decided | NotificationKind::Triage => (
                format!(
                    "Request {}: {}",
                    r.decision
                        .as_ref()
                        .map(|d| d.kind.as_str())
                        .unwrap_or("update"),
                    r.title
                ),
                r.decision_message(),
            ),
        };
        // A subject is one line.
        let subject: String = subject
            .replace(['\n', '\r'], " ")
            .chars()
            .take(text::SHORT)
            .collect();
        Notification {
            id,
            request_id: r.id,
            source: r.source,
            reply: r.reply.clone(),
            kind,
            decision: r.decision.as_ref().map(|d| d.kind),
            subject,
            body,
            created_at: now,
            delivered_at: None,
            attempts: 0,
            last_error: None,
            due_at: None,
        }
    }
}

/// Working days (Monday–Friday, UTC, fractional) between `from` and `to`:
/// weekend time does not count. Zero when `to` is not after `from`.
pub fn waiting_working_days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    if to <= from {
        return 0.0;
    }
    let mut seconds = 0i64;
    let mut at = from;
    while at < to {
        let next_midnight = (at.date_naive() + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc())
            .unwrap_or(to);
        let end = next_midnight.min(to);
        if !matches!(at.weekday(), Weekday::Sat | Weekday::Sun) {
            seconds += (end - at).num_seconds();
        }
        at = end;
    }
    seconds as f64 / 86_400.0
}

/// A week's requests and where they stand.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestSummary {
    pub total: usize,
    pub accepted: usize,
    pub postponed: usize,
    pub declined: usize,
    pub duplicate: usize,
    /// Waiting or waiting for information.
    pub waiting: usize,
    /// "7 requests: 2 accepted, 3 postponed, 1 declined, 1 waiting".
    pub sentence: String,
}

impl RequestSummary {
    pub fn of(requests: &[Request]) -> Self {
        let count =
            |f: &dyn Fn(RequestStatus) -> bool| requests.iter().filter(|r| f(r.status)).count();
        let mut s = RequestSummary {
            total: requests.len(),
            accepted: count(&|s| s == RequestStatus::Accepted),
            postponed: count(&|s| s == RequestStatus::Postponed),
            declined: count(&|s| s == RequestStatus::Declined),
            duplicate: count(&|s| s == RequestStatus::Duplicate),
            waiting: count(&|s| s.is_pending()),
            sentence: String::new(),
        };
        let parts: Vec<String> = [
            (s.accepted, "accepted"),
            (s.postponed, "postponed"),
            (s.declined, "declined"),
            (s.duplicate, "merged as duplicates"),
            (s.waiting, "waiting"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
        s.sentence = match s.total {
            0 => "no requests".to_owned(),
            1 => format!("1 request: {}", parts.join(", ")),
            n => format!("{n} requests: {}", parts.join(", ")),
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn full() -> Answers {
        Answers {
            business_goal: Some("close books sooner".into()),
            success_measure: Some("3 days".into()),
            deadline: Some("June: audit".into()),
            if_not_done: Some("manual work".into()),
        }
    }

    fn request(answers: Answers) -> Request {
        let mut n = NewRequest::new(Uuid::nil(), "Export CSV", "lee", RequestSource::Web);
        n.answers = answers;
        n.into_request(Uuid::from_u128(1), at(2026, 3, 2, 9), &Matrix::default())
            .unwrap()
    }

    fn input(kind: RequestDecisionKind) -> DecisionInput {
        DecisionInput {
            kind,
            reason: String::new(),
            postponed_until: None,
            duplicate_of: None,
            version: None,
            priority: None,
            size: None,
            size_max: None,
        }
    }

    #[test]
    fn unanswered_questions_are_listed_in_order_and_block_acceptance_only() {
        let mut a = Answers {
            success_measure: Some("  ".into()),
            deadline: Some("by June".into()),
            ..Answers::default()
        };
        assert_eq!(
            a.unanswered(),
            vec![
                Question::BusinessGoal,
                Question::SuccessMeasure,
                Question::IfNotDone
            ]
        );
        let r = request(a.clone());
        let err = r
            .decide(
                &input(RequestDecisionKind::Accept),
                "maria",
                at(2026, 3, 3, 9),
            )
            .unwrap_err();
        assert_eq!(
            err.fields(),
            vec![
                "answers.business_goal",
                "answers.success_measure",
                "answers.if_not_done"
            ]
        );
        // Postponing and declining (with a reason) are allowed.
        let p = r
            .decide(
                &input(RequestDecisionKind::Postpone),
                "maria",
                at(2026, 3, 3, 9),
            )
            .unwrap();
        assert_eq!((p.status, p.version), (RequestStatus::Postponed, 2));
        let err = r
            .decide(
                &input(RequestDecisionKind::Decline),
                "maria",
                at(2026, 3, 3, 9),
            )
            .unwrap_err();
        assert_eq!(err.fields(), vec!["reason"]);
        let mut d = input(RequestDecisionKind::Decline);
        d.reason = "not this quarter".into();
        assert_eq!(
            r.decide(&d, "maria", at(2026, 3, 3, 9)).unwrap().status,
            RequestStatus::Declined
        );
        a.merge(full());
        let ok = request(a)
            .decide(
                &input(RequestDecisionKind::Accept),
                "maria",
                at(2026, 3, 3, 9),
            )
            .unwrap();
        assert_eq!(ok.status, RequestStatus::Accepted);
        // Closed: no second decision.
        assert!(matches!(
            ok.decide(
                &input(RequestDecisionKind::Postpone),
                "maria",
                at(2026, 3, 3, 9)
            ),
            Err(DomainError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn criticality_follows_the_written_rules() {
        let m = Matrix::default();
        let c = criticality(
            RequestUrgency::Outage,
            Some(Level::Low),
            Some(Level::High),
            &m,
        );
        assert_eq!(
            (c.priority, c.page, c.route.as_str()),
            (Priority::P0, true, "now")
        );
        let c = criticality(RequestUrgency::Security, None, None, &m);
        assert!(c.page && c.rule.starts_with("security issue → P0 now"));
        let c = criticality(
            RequestUrgency::Normal,
            Some(Level::Medium),
            Some(Level::Low),
            &m,
        );
        assert_eq!((c.priority, c.page), (Priority::P1, false));
        assert_eq!(
            c.rule,
            "matrix: impact medium × complexity low → P1; decided at the next sync"
        );
        let c = criticality(RequestUrgency::Normal, Some(Level::High), None, &m);
        assert_eq!((c.priority, c.route.as_str()), (Priority::P2, "next_sync"));
    }

    #[test]
    fn channels_need_their_reply_address() {
        let mut n = NewRequest::new(Uuid::nil(), "x", "lee", RequestSource::Slack);
        let err = n
            .clone()
            .into_request(Uuid::nil(), at(2026, 3, 2, 9), &Matrix::default())
            .unwrap_err();
        assert_eq!(err.fields(), vec!["reply.slack_channel"]);
        n.reply.slack_response_url = Some("https://hooks.slack.test/x".into());
        assert!(
            n.into_request(Uuid::nil(), at(2026, 3, 2, 9), &Matrix::default())
                .is_ok()
        );
        let n = NewRequest::new(Uuid::nil(), "x", "lee", RequestSource::Email);
        let err = n
            .into_request(Uuid::nil(), at(2026, 3, 2, 9), &Matrix::default())
            .unwrap_err();
        assert_eq!(err.fields(), vec!["reply.email_address"]);
        let n = NewRequest::new(Uuid::nil(), " ", "", RequestSource::Web);
        let err = n
            .into_request(Uuid::nil(), at(2026, 3, 2, 9), &Matrix::default())
            .unwrap_err();
        assert_eq!(err.fields(), vec!["title", "requester"]);
    }

    #[test]
    fn the_week_in_one_sentence() {
        let mut rs = Vec::new();
        for (status, n) in [
            (RequestStatus::Accepted, 2),
            (RequestStatus::Postponed, 3),
            (RequestStatus::Declined, 1),
            (RequestStatus::NeedsInfo, 1),
        ] {
            for _ in 0..n {
                let mut r = request(Answers::default());
                r.status = status;
                rs.push(r);
            }
        }
        let s = RequestSummary::of(&rs);
        assert_eq!(
            s.sentence,
            "7 requests: 2 accepted, 3 postponed, 1 declined, 1 waiting"
        );
        assert_eq!(
            RequestSummary::of(&rs[..1]).sentence,
            "1 request: 1 accepted"
        );
        assert_eq!(RequestSummary::of(&[]).sentence, "no requests");
    }

    #[test]
    fn waiting_time_skips_weekends() {
        // Friday 12:00 → Monday 12:00: half of Friday and half of Monday.
        assert_eq!(
            waiting_working_days(at(2026, 3, 6, 12), at(2026, 3, 9, 12)),
            1.0
        );
        assert_eq!(
            waiting_working_days(at(2026, 3, 2, 0), at(2026, 3, 4, 0)),
            2.0
        );
        assert_eq!(
            waiting_working_days(at(2026, 3, 7, 0), at(2026, 3, 9, 0)),
            0.0
        );
        assert_eq!(
            waiting_working_days(at(2026, 3, 9, 0), at(2026, 3, 2, 0)),
            0.0
        );
    }

    #[test]
    fn notifications_say_what_was_decided() {
        let r = request(Answers::default());
        let n = Notification::about(
            &r,
            NotificationKind::Received,
            Uuid::nil(),
            at(2026, 3, 2, 9),
        );
        assert!(
            n.body.contains("Still open: What business goal"),
            "{}",
            n.body
        );
        let mut d = input(RequestDecisionKind::Postpone);
        d.postponed_until = NaiveDate::from_ymd_opt(2026, 4, 1);
        let r = r.decide(&d, "maria", at(2026, 3, 3, 9)).unwrap();
        let n = Notification::about(
            &r,
            NotificationKind::Decided,
            Uuid::nil(),
            at(2026, 3, 3, 9),
        );
        assert_eq!(n.subject, "Request postpone: Export CSV");
        assert_eq!(
            n.body,
            "Your request \"Export CSV\" was postponed to 2026-04-01."
        );
        assert_eq!(n.decision, Some(RequestDecisionKind::Postpone));
    }
}
