//! E-mailed requests (ADR 0022): a raw message from the IMAP mailbox or an
//! MTA pipe (`tandem request mail`) is stored byte for byte, then parsed
//! (`mail-parser`) into a new request, or into a reply added to the
//! request its thread belongs to; decisions go back as threaded replies
//! through `[report.smtp]` ([`deliver`]).
//!
//! Rules:
//! - Stored before anything else, once per Message-ID (else the SHA-256 of
//!   the bytes): a message seen again is a `Duplicate` and changes nothing.
//! - A message that cannot become a request (unparseable MIME, no sender,
//!   no or an unknown team) is kept raw with state `broken` and the reason;
//!   never dropped. A failure of Tandem itself (the database) leaves it
//!   `received`; the lease runs out and [`retry_abandoned`] works on it again.
//! - Threading: a message whose `In-Reply-To` or `References` names a
//!   Message-ID of a request's thread is a reply to that request; every
//!   Message-ID received or sent is added to the thread.

use anyhow::{Context, anyhow};
use chrono::{DateTime, Duration, Utc};
use lettre::AsyncTransport;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use mail_parser::MessageParser;
use sha2::{Digest, Sha256};
use tandem_domain::intake::{self, InboundMail, IntakeForm, MailSource, MailState};
use tandem_domain::request::{Answers, Notification, ReplyAddress, RequestSource};
use tandem_store::Store;
use uuid::Uuid;

use super::Requester;
use crate::settings::Settings;
use crate::{AppError, AppResult};

/// How long one replica may work on a received message before another may.
const LEASE: Duration = Duration::minutes(5);

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Receipt {
    /// A new request.
    Request { mail: Uuid, request: Uuid },
    /// Added to an existing request (a reply in its thread).
    Reply { mail: Uuid, request: Uuid },
    /// Kept raw and flagged.
    Broken { mail: Uuid, reason: String },
    /// Seen before: nothing done.
    Duplicate { dedupe_key: String },
}

/// The key a message is stored once under: its Message-ID, else the
/// SHA-256 of its bytes.
pub fn dedupe_key(raw: &[u8]) -> (String, Option<String>) {
    let id = MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(intake::bare_message_id))
        .filter(|id| !id.is_empty());
    match id {
        Some(id) => (id.clone(), Some(id)),
        None => (format!("sha256:{}", hex::encode(Sha256::digest(raw))), None),
    }
}

/// Stores a raw message and works on it; `team` is the team (key or id) a
/// new request goes to (`None`: `[requests.imap] team`).
pub async fn receive(
    store: &Store,
    settings: &Settings,
    raw: Vec<u8>,
    source: MailSource,
    team: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Receipt> {
    let (key, message_id) = dedupe_key(&raw);
    let headers = MessageParser::default().parse_headers(&raw);
    let sender = headers
        .as_ref()
        .and_then(|m| m.from()?.first()?.address().map(str::to_owned))
        .unwrap_or_default();
    let subject = headers
        .as_ref()
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or_default();
    let mail = InboundMail {
        id: Uuid::now_v7(),
        dedupe_key: key.clone(),
        message_id,
        source,
        sender,
        subject,
        raw,
        state: MailState::Received,
        error: String::new(),
        request_id: None,
        team: team
            .map(str::to_owned)
            .or_else(|| super::imap_settings(settings).and_then(|i| i.team.clone())),
        received_at: now,
    };
    if store
        .insert_inbound_mail(&mail, now + LEASE)
        .await?
        .is_none()
    {
        return Ok(Receipt::Duplicate { dedupe_key: key });
    }
    work(store, settings, &mail, now).await
}

/// Works on stored messages left `received` by a replica that stopped
/// (their lease ran out); returns what became of each.
pub async fn retry_abandoned(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> AppResult<Vec<Receipt>> {
    let mut out = Vec::new();
    for id in store.abandoned_inbound_mails(now).await? {
        if !store.claim_inbound_mail(id, now, now + LEASE).await? {
            continue;
        }
        if let Some(mail) = store.inbound_mail(id).await? {
            out.push(work(store, settings, &mail, now).await?);
        }
    }
    Ok(out)
}

/// Why a message cannot become a request (kept, flagged).
struct Broken(String);

enum Worked {
    Request(Uuid),
    Reply(Uuid),
}

async fn work(
    store: &Store,
    settings: &Settings,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> AppResult<Receipt> {
    let result = interpret(store, settings, mail, now).await?;
    let (state, error, request) = match &result {
        Ok(Worked::Request(r)) => (MailState::Request, String::new(), Some(*r)),
        Ok(Worked::Reply(r)) => (MailState::Reply, String::new(), Some(*r)),
        Err(Broken(reason)) => (MailState::Broken, reason.clone(), None),
    };
    store
        .finish_inbound_mail(mail.id, state, &error, request)
        .await?;
    Ok(match result {
        Ok(Worked::Request(request)) => Receipt::Request {
            mail: mail.id,
            request,
        },
        Ok(Worked::Reply(request)) => Receipt::Reply {
            mail: mail.id,
            request,
        },
        Err(Broken(reason)) => {
            tracing::warn!(mail = %mail.id, reason, "an e-mail could not become a request; kept raw and flagged");
            Receipt::Broken {
                mail: mail.id,
                reason,
            }
        }
    })
}

/// The message as a request or a reply; `Err(Broken)` for what the sender
/// got wrong, `AppError` for what Tandem did (retried).
async fn interpret(
    store: &Store,
    settings: &Settings,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> AppResult<Result<Worked, Broken>> {
    let Some(message) = MessageParser::default().parse(&mail.raw) else {
        return Ok(Err(Broken("not a MIME message".into())));
    };
    if message.headers().is_empty() {
        return Ok(Err(Broken("no headers: not a MIME message".into())));
    }
    let Some(from) = message.from().and_then(|a| a.first()) else {
        return Ok(Err(Broken("no From address".into())));
    };
    let Some(address) = from.address().map(str::to_owned) else {
        return Ok(Err(Broken("no From address".into())));
    };
    let body = message
        .body_text(0)
        .map(|b| b.into_owned())
        .unwrap_or_default();
    let mut thread: Vec<String> = Vec::new();
    for h in [message.in_reply_to(), message.references()] {
        if let Some(ids) = h.as_text_list() {
            thread.extend(ids.iter().map(|i| intake::bare_message_id(i)));
        }
    }
    let requester = Requester {
        name: from.name().unwrap_or(&address).to_owned(),
        email: Some(address.clone()),
        slack_user: None,
    };
    let subject = message.subject().unwrap_or("").trim().to_owned();

    if !thread.is_empty()
        && let Some(request) = store.mail_thread_request(&thread).await?
    {
        let text = intake::reply_text(&body);
        let answers = intake::parse_answers(&text);
        if answers != Answers::default() {
            match crate::requests::answer(store, request, answers, None).await {
                Ok(_) => {}
                Err(e @ AppError::Unexpected(_)) => return Err(e),
                // A closed request takes no more answers; the reply stays
                // linked to it.
                Err(e) => {
                    tracing::info!(error = %e, %request, "a reply's answers were not added")
                }
            }
        }
        if let Some(id) = &mail.message_id {
            store.add_mail_thread_id(id, request, now).await?;
        }
        return Ok(Ok(Worked::Reply(request)));
    }

    let Some(team) = mail.team.clone() else {
        return Ok(Err(Broken(
            "no team: set [requests.imap] team, or give --team to `tandem request mail`".into(),
        )));
    };
    let text = intake::reply_text(&body);
    let form = IntakeForm {
        team: Some(team),
        title: intake::title_from(if subject.is_empty() { &text } else { &subject }),
        details: text.clone(),
        answers: intake::parse_answers(&text),
    };
    if form.title.is_empty() {
        return Ok(Err(Broken("neither a subject nor any text".into())));
    }
    let reply = ReplyAddress {
        email_address: Some(address),
        email_message_id: mail.message_id.clone(),
        email_subject: Some(if subject.is_empty() {
            form.title.clone()
        } else {
            subject
        }),
        ..ReplyAddress::default()
    };
    let submitted = super::submit(
        store,
        settings,
        RequestSource::Email,
        form,
        requester,
        reply,
        mail.message_id.clone(),
    )
    .await;
    let request = match submitted {
        Ok(r) => r.id,
        Err(e @ AppError::Unexpected(_)) => return Err(e),
        Err(e) => return Ok(Err(Broken(e.to_string()))),
    };
    if let Some(id) = &mail.message_id {
        store.add_mail_thread_id(id, request, now).await?;
    }
    Ok(Ok(Worked::Request(request)))
}

/// Sends one outbox message to an e-mail requester as a reply in the
/// request's thread (`In-Reply-To`/`References` its first message), through
/// `[report.smtp]`; its Message-ID joins the thread, so an answer to it is
/// a reply to the request.
pub async fn deliver(
    store: &Store,
    settings: &Settings,
    n: &Notification,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let smtp = settings.report.smtp.as_ref().ok_or_else(|| {
        AppError::Unexpected(anyhow!(
            "[report.smtp] is not configured: Tandem cannot answer e-mailed requests"
        ))
    })?;
    let address = n.reply.email_address.as_deref().ok_or_else(|| {
        AppError::Unexpected(anyhow!(
            "request {} came by e-mail without an address to answer",
            n.request_id
        ))
    })?;
    let request = store.get_request(n.request_id).await?;
    let text = super::message_text(n, Some(&request), true);
    let from: Mailbox = smtp.from.parse().context("report.smtp.from")?;
    let to: Mailbox = address
        .parse()
        .with_context(|| format!("{address:?} is not an e-mail address"))?;
    let id = format!("{}@{}", Uuid::now_v7(), from.email.domain());
    let subject = match &n.reply.email_subject {
        Some(s) => intake::reply_subject(s),
        None => n.subject.clone(),
    };
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{id}>")));
    if let Some(reply_to) = super::imap_settings(settings).and_then(|i| i.reply_to.as_deref()) {
        builder = builder.reply_to(reply_to.parse().context("requests.imap.reply_to")?);
    }
    if let Some(first) = &n.reply.email_message_id {
        builder = builder
            .in_reply_to(format!("<{first}>"))
            .references(format!("<{first}>"));
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .context("building the e-mail")?;
    // In the thread before it is sent: an answer may come back at once.
    store.add_mail_thread_id(&id, n.request_id, now).await?;
    crate::smtp::smtp_transport(smtp, settings.report.timeout_seconds)?
        .send(message)
        .await
        .with_context(|| format!("SMTP {}:{}", smtp.host, smtp.port))?;
    Ok(())
}
