//! Telling a team's managers that a request arrived, with its cost of yes
//! (issue 14, item 4; ADR 0039). The messages are written into the
//! requests outbox on submission (`requests::submit`, kind `triage`, one a
//! manager) and sent from here by [`super::deliver_pending`], claimed one
//! at a time like the requester's, so replicas never send one twice.
//!
//! What is sent is figured when it is sent: the request as it is then
//! (title, requester, criticality and its rule), its cost of yes at its
//! own priority and the default size (`requests::cost_of_yes`: every goal
//! of the team, on-time probability and P85 date before → after), what
//! could be postponed to make room, and a link to its page.
//!
//! Where it goes: a message of the Slack outbox goes as a direct message to
//! the Slack account with the manager's e-mail address
//! (`users.lookupByEmail`), in Block Kit; when Slack knows no such account
//! it is e-mailed through `[report.smtp]` instead, and fails (tried again
//! after its lease, the error on the request page) when that is not set
//! either. A message of the e-mail outbox is e-mailed. It is never posted
//! to a shared channel: the cost of yes is the manager's to weigh before
//! anyone else reads it.

use anyhow::{Context, anyhow};
use chrono::Utc;
use lettre::AsyncTransport;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use serde_json::{Value, json};
use tandem_domain::cost_of_yes::CostOutcome;
use tandem_domain::request::{Criticality, Notification, Request, RequestSource};
use tandem_store::Store;

use crate::requests::{CostOfYes, PlacementInput};
use crate::settings::Settings;
use crate::slack_api::SlackClient;
use crate::{AppError, AppResult};

/// At most this many postponable items are named per goal.
const POSTPONE_ITEMS: usize = 5;
/// Slack refuses a section text longer than 3,000 characters.
const SECTION_MAX: usize = 2_900;

/// What the message says, figured now.
#[derive(Debug, Clone)]
pub struct ManagerMessage {
    /// The notification's fallback text and the e-mail's body.
    pub text: String,
    /// Block Kit blocks for Slack.
    pub blocks: Value,
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(
        || "no deadline".to_owned(),
        |p| format!("{:.0} %", p * 100.0),
    )
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "beyond the horizon".to_owned(), |d| d.to_string())
}

fn clip(s: &str) -> String {
    if s.chars().count() <= SECTION_MAX {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(SECTION_MAX).collect();
    out.push('…');
    out
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The lines of the cost of yes: one a goal, before → after.
fn cost_lines(cost: &CostOfYes) -> Vec<String> {
    match &cost.cost {
        CostOutcome::TooLittleHistory { message } => vec![message.clone()],
        CostOutcome::Ready { goals, .. } if goals.is_empty() => {
            vec!["No goals in flight: saying yes moves nothing.".to_owned()]
        }
        CostOutcome::Ready { goals, .. } => goals
            .iter()
            .map(|g| {
                let shift = g
                    .p85_shift_days
                    .map(|d| format!(" ({d:+} days)"))
                    .unwrap_or_default();
                format!(
                    "{}: on time {} → {}, P85 {} → {}{shift}",
                    g.title,
                    percent(g.before.on_time_probability),
                    percent(g.after.on_time_probability),
                    date(g.before.p85),
                    date(g.after.p85),
                )
            })
            .collect(),
    }
}

/// The lines of what could be postponed to make room.
fn postpone_lines(cost: &CostOfYes) -> Vec<String> {
    cost.could_postpone
        .iter()
        .filter(|s| !s.postpone.is_empty())
        .map(|s| {
            let mut items: Vec<String> = s
                .postpone
                .iter()
                .take(POSTPONE_ITEMS)
                .map(|i| format!("{} ({})", i.title, i.priority))
                .collect();
            if s.postpone.len() > POSTPONE_ITEMS {
                items.push(format!("and {} more", s.postpone.len() - POSTPONE_ITEMS));
            }
            format!(
                "{} ({} on time by {}): postpone {}",
                s.goal,
                percent(Some(s.on_time_probability)),
                s.deadline,
                items.join(", ")
            )
        })
        .collect()
}

/// The message about `r` with its cost of yes `cost`, linking `url`.
pub fn compose(
    r: &Request,
    team: &str,
    c: &Criticality,
    cost: &CostOfYes,
    url: &str,
) -> ManagerMessage {
    let costs = cost_lines(cost);
    let postpone = postpone_lines(cost);
    let placed = format!(
        "at {} for {} items{}, on {}",
        cost.placement.priority,
        cost.placement.size_max.unwrap_or(cost.placement.size),
        if cost.default_size {
            " (default size)"
        } else {
            ""
        },
        cost.today
    );
    let now = if c.page { " — page now" } else { "" };
    let mut text = format!(
        "New request for {team}: {title}\nRequested by {requester} via {source}.\n\
         Criticality: {p}{now}. {rule}\n\nThe cost of yes ({placed}):\n",
        title = r.title,
        requester = r.requester,
        source = r.source,
        p = c.priority,
        rule = c.rule,
    );
    for l in &costs {
        text.push_str(&format!("- {l}\n"));
    }
    text.push_str("\nCould be postponed to make room:\n");
    if postpone.is_empty() {
        text.push_str("- nothing needs to be\n");
    }
    for l in &postpone {
        text.push_str(&format!("- {l}\n"));
    }
    text.push_str(&format!("\nDecide: {url}\n"));

    let bullets = |lines: &[String]| {
        lines
            .iter()
            .map(|l| format!("• {}", esc(l)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let blocks = json!([
        {"type": "header", "text": {"type": "plain_text",
            "text": clip(&format!("New request: {}", r.title)).chars().take(150).collect::<String>()}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Team*\n{}", esc(team))},
            {"type": "mrkdwn", "text": format!("*Requester*\n{} (via {})", esc(&r.requester), r.source)},
            {"type": "mrkdwn", "text": format!("*Criticality*\n{}{now}", c.priority)},
            {"type": "mrkdwn", "text": format!("*Why*\n{}", esc(&c.rule))},
        ]},
        {"type": "section", "text": {"type": "mrkdwn",
            "text": clip(&format!("*The cost of yes* ({})\n{}", esc(&placed), bullets(&costs)))}},
        {"type": "section", "text": {"type": "mrkdwn",
            "text": clip(&if postpone.is_empty() {
                "*Could be postponed to make room*\nNothing needs to be.".to_owned()
            } else {
                format!("*Could be postponed to make room*\n{}", bullets(&postpone))
            })}},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the request"},
             "url": url, "style": "primary"}
        ]},
    ]);
    ManagerMessage { text, blocks }
}

/// Figures the message of `n` for the request as it is now.
pub async fn figure(
    store: &Store,
    settings: &Settings,
    n: &Notification,
) -> AppResult<ManagerMessage> {
    let r = store.get_request(n.request_id).await?;
    let team = store.get_team(r.team_id).await?;
    let cost = crate::requests::cost_of_yes(
        store,
        settings,
        r.id,
        PlacementInput::default(),
        Utc::now().date_naive(),
    )
    .await?;
    let c = r.criticality(&settings.planning.matrix);
    let url = crate::checks::alerts::request_link(settings, &r);
    Ok(compose(&r, &team.name, &c, &cost, &url))
}

/// Sends one message to a manager (see the module's rules).
pub async fn deliver(store: &Store, settings: &Settings, n: &Notification) -> AppResult<()> {
    let email = n.reply.email_address.as_deref().ok_or_else(|| {
        AppError::Unexpected(anyhow!(
            "the manager's message about request {} has no e-mail address",
            n.request_id
        ))
    })?;
    let m = figure(store, settings, n).await?;
    if n.source == RequestSource::Slack {
        let client = SlackClient::new(&settings.slack)?;
        if let Some(user) = client.lookup_by_email(email).await? {
            return client.post_blocks(&user, &n.subject, &m.blocks).await;
        }
        if settings.report.smtp.is_none() {
            return Err(AppError::Unexpected(anyhow!(
                "Slack has no account with the e-mail address {email}, and [report.smtp] is not configured to mail it"
            )));
        }
    }
    mail(settings, n, email, &m.text).await
}

async fn mail(settings: &Settings, n: &Notification, to: &str, text: &str) -> AppResult<()> {
    let smtp = settings.report.smtp.as_ref().ok_or_else(|| {
        AppError::Unexpected(anyhow!(
            "[report.smtp] is not configured: Tandem cannot mail the manager"
        ))
    })?;
    let from: Mailbox = smtp.from.parse().context("report.smtp.from")?;
    let to: Mailbox = to
        .parse()
        .with_context(|| format!("{to:?} is not an e-mail address"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(n.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_owned())
        .context("building the e-mail")?;
    crate::smtp::smtp_transport(smtp, settings.report.timeout_seconds)?
        .send(message)
        .await
        .with_context(|| format!("SMTP {}:{}", smtp.host, smtp.port))?;
    Ok(())
}
