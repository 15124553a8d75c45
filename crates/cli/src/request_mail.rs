//! `tandem request mail [--team T] < message.eml`: one e-mail from an MTA
//! pipe (e.g. a Postfix alias `requests: "|tandem request mail --team
//! payments"`) into the request intake, through the same
//! `tandem_app::intake::mail::receive` as the polled IMAP mailbox (ADR 0022).
//!
//! Exit codes: 0 when the message is stored (a new request, a reply to one,
//! a duplicate, or kept raw and flagged as broken: nothing is lost, so the
//! MTA must not retry); an error (non-zero, `error: …`) when the team named
//! does not exist (checked before anything is stored, so the MTA bounces or
//! retries) or the database cannot take it.

use std::io::Read;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use tandem_app::Settings;
use tandem_app::intake::mail::{self, Receipt};
use tandem_domain::intake::MailSource;
use tandem_store::Store;

use crate::Format;
use crate::output::{print_json, table};

#[derive(Debug, Args)]
pub struct MailArgs {
    /// The team (key or id) a new request goes to; default
    /// `[requests.imap] team`. Replies find their request by thread.
    #[arg(long)]
    pub team: Option<String>,
}

/// Reads one message from standard input and takes it in.
pub async fn mail(
    store: &Store,
    settings: &Settings,
    args: MailArgs,
    format: Format,
) -> anyhow::Result<()> {
    let team = match &args.team {
        Some(t) => Some(tandem_app::lookup::find_team(store, t).await?.key),
        None => None,
    };
    let mut raw = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut raw)
        .context("reading the message from standard input")?;
    if raw.is_empty() {
        anyhow::bail!(
            "no message on standard input: pipe one in (tandem request mail < message.eml)"
        );
    }
    let receipt = mail::receive(
        store,
        settings,
        raw,
        MailSource::Pipe,
        team.as_deref(),
        Utc::now(),
    )
    .await?;
    match format {
        Format::Json => print_json(&receipt),
        Format::Table => {
            let mut t = table(&["outcome", "request", "detail"]);
            let row = match &receipt {
                Receipt::Request { request, .. } => {
                    ["new request".to_owned(), request.to_string(), String::new()]
                }
                Receipt::Reply { request, .. } => {
                    ["reply added".to_owned(), request.to_string(), String::new()]
                }
                Receipt::Broken { mail, reason } => [
                    "kept, flagged broken".to_owned(),
                    String::new(),
                    format!("{reason} (stored as {mail})"),
                ],
                Receipt::Duplicate { dedupe_key } => [
                    "duplicate".to_owned(),
                    String::new(),
                    format!("already received: {dedupe_key}"),
                ],
            };
            t.add_row(row);
            println!("{t}");
            Ok(())
        }
    }
}
