//! `tandem request list|show|submit|decide`: the triage queue, one
//! request, submitting one (source `api`: a script's), and deciding, through
//! the same `tandem_app::requests` functions as `/api/v1/requests`.

use clap::Subcommand;
use tandem_app::Settings;
use tandem_app::requests::{self, PlacementInput, QueueFilter};
use tandem_domain::request::{
    Answers, DecisionInput, NewRequest, RequestDecisionKind, RequestSource, RequestStatus,
    RequestUrgency,
};
use tandem_domain::risk::Level;
use tandem_domain::work_item::Priority;
use tandem_store::Store;
use uuid::Uuid;

use crate::commands::{print_json, table};
use crate::names::{self, explain};
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Take one e-mail (RFC 5322, from standard input) as a request, or as
    /// a reply to one.
    #[command(
        after_help = "Example:\n  tandem request mail --team payments < message.eml\n  \
                      # /etc/aliases: requests: \"|/usr/local/bin/tandem request mail --team payments\""
    )]
    Mail {
        #[command(flatten)]
        args: crate::request_mail::MailArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// The triage queue: pending requests, the most urgent first, with the
    /// waiting time against the target.
    #[command(
        after_help = "Example:\n  tandem request list --team payments --source slack --format json"
    )]
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Only this source: web, api, slack, email.
        #[arg(long)]
        source: Option<RequestSource>,
        /// Only this criticality: P0 … P3.
        #[arg(long)]
        priority: Option<Priority>,
        /// Only this status (default: waiting and needs_info).
        #[arg(long)]
        status: Option<RequestStatus>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// One request: questions, criticality, waiting time, messages, and the
    /// cost of yes at a priority and size.
    #[command(
        after_help = "Example:\n  tandem request show 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b --cost --priority P1 --size 5 --size-max 12"
    )]
    Show {
        /// Request id.
        id: String,
        /// Also re-run the team's forecasts with the request inserted.
        #[arg(long)]
        cost: bool,
        #[arg(long)]
        priority: Option<Priority>,
        /// Items (the bottom of a range).
        #[arg(long)]
        size: Option<u32>,
        /// The top of a size range.
        #[arg(long)]
        size_max: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Submit a request (recorded with source `api`).
    #[command(
        after_help = "Example:\n  tandem request submit --team payments --title \"Export invoices as CSV\" --requester lee@example.com \\\n    \
                            --business-goal \"Close the books sooner\" --success-measure \"3-day close\" \\\n    \
                            --deadline \"By 30 June: the audit\" --if-not-done \"Manual copying\" --impact medium --complexity low"
    )]
    Submit {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        requester: String,
        #[arg(long, default_value = "")]
        description: String,
        /// normal, outage or security (outage and security are P0 now).
        #[arg(long, default_value = "normal")]
        urgency: RequestUrgency,
        #[arg(long)]
        impact: Option<Level>,
        #[arg(long)]
        complexity: Option<Level>,
        /// What business goal does this serve?
        #[arg(long)]
        business_goal: Option<String>,
        /// How will success be measured?
        #[arg(long)]
        success_measure: Option<String>,
        /// By when is it needed, and why then?
        #[arg(long)]
        deadline: Option<String>,
        /// What happens if it is not done?
        #[arg(long)]
        if_not_done: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Decide a request: accept, postpone, decline, duplicate, ask_info.
    #[command(
        after_help = "Example:\n  tandem request decide 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b postpone --as ana --until 2027-02-01 --reason \"After the migration\""
    )]
    Decide {
        /// Request id.
        id: String,
        kind: RequestDecisionKind,
        /// Who decides.
        #[arg(long = "as", value_name = "NAME")]
        by: String,
        /// Why (required to decline).
        #[arg(long, default_value = "")]
        reason: String,
        /// postpone: to this day (default: the next sync).
        #[arg(long, value_name = "YYYY-MM-DD")]
        until: Option<chrono::NaiveDate>,
        /// duplicate: the request this one duplicates.
        #[arg(long, value_name = "ID")]
        duplicate_of: Option<Uuid>,
        /// The version decided from (refused if the request changed since).
        #[arg(long)]
        version: Option<i32>,
        #[arg(long)]
        priority: Option<Priority>,
        #[arg(long)]
        size: Option<u32>,
        #[arg(long)]
        size_max: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
}

fn request_id(raw: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(raw).map_err(|_| {
        anyhow::Error::new(tandem_app::AppError::NotFound(format!(
            "no request has the id {raw:?}"
        )))
    })
}

/// `tandem request …`.
pub async fn request(
    store: &Store,
    settings: &Settings,
    command: RequestCommand,
) -> anyhow::Result<()> {
    match command {
        RequestCommand::Mail { args, format } => {
            crate::request_mail::mail(store, settings, args, format.format).await?
        }
        RequestCommand::List {
            team,
            source,
            priority,
            status,
            format,
        } => {
            let team_id = match team {
                Some(t) => Some(names::team(store, &t, "--team").await?.id),
                None => None,
            };
            let filter = QueueFilter {
                team_id,
                source,
                priority,
                statuses: status.into_iter().collect(),
            };
            let q = requests::queue(store, settings, &filter)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&q)?,
                Format::Table if q.entries.is_empty() => println!("No requests."),
                Format::Table => {
                    let mut t = table(&[
                        "id",
                        "team",
                        "title",
                        "from",
                        "source",
                        "priority",
                        "status",
                        "open questions",
                        "waiting (working days)",
                    ]);
                    for e in &q.entries {
                        t.add_row(vec![
                            e.id.to_string(),
                            e.team.clone(),
                            e.title.clone(),
                            e.requester.clone(),
                            e.source.to_string(),
                            format!("{}{}", e.priority, if e.page { " page now" } else { "" }),
                            e.status.to_string(),
                            e.unanswered.to_string(),
                            format!(
                                "{}{}",
                                e.waiting_working_days,
                                if e.over_target { " over target" } else { "" }
                            ),
                        ]);
                    }
                    println!("{t}");
                    println!(
                        "Target: {} working days; {} over target.",
                        q.target_working_days, q.over_target
                    );
                }
            }
        }
        RequestCommand::Show {
            id,
            cost,
            priority,
            size,
            size_max,
            format,
        } => {
            let id = request_id(&id)?;
            let v = requests::show(store, settings, id).await.map_err(explain)?;
            let c = if cost || priority.is_some() || size.is_some() || size_max.is_some() {
                let at = PlacementInput {
                    priority,
                    size,
                    size_max,
                };
                Some(
                    requests::cost_of_yes(store, settings, id, at, chrono::Utc::now().date_naive())
                        .await
                        .map_err(explain)?,
                )
            } else {
                None
            };
            match format.format {
                Format::Json => print_json(&serde_json::json!({"request": v, "cost_of_yes": c}))?,
                Format::Table => {
                    let r = &v.request;
                    println!("{} ({}, {})", r.title, v.team.key, r.status);
                    println!(
                        "From {} via {} on {}",
                        r.requester,
                        r.source,
                        r.created_at.date_naive()
                    );
                    println!(
                        "Criticality: {} — {}",
                        v.criticality.priority, v.criticality.rule
                    );
                    println!(
                        "Waiting: {} working days{}",
                        v.waiting_working_days,
                        if v.over_target { " (over target)" } else { "" }
                    );
                    for q in &v.questions {
                        println!(
                            "{} {}",
                            q.text,
                            q.answer.as_deref().unwrap_or("(unanswered)")
                        );
                    }
                    if let Some(d) = &r.decision {
                        println!(
                            "Decision: {} by {} on {}{}",
                            d.kind,
                            d.decided_by,
                            d.decided_at.date_naive(),
                            if d.reason.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", d.reason)
                            }
                        );
                    }
                    for n in &v.notifications {
                        println!("Message ({}): {}", n.source, n.body);
                    }
                    for n in &v.to_managers {
                        let to = n.reply.email_address.as_deref().unwrap_or("?");
                        let state = match (&n.delivered_at, &n.last_error) {
                            (Some(at), _) => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
                            (None, Some(e)) => format!("failed ({} attempts): {e}", n.attempts),
                            (None, None) => "pending".to_owned(),
                        };
                        println!("To the manager {to} ({}): {state}", n.source);
                    }
                    if let Some(c) = &c {
                        for l in c.lines() {
                            println!("{l}");
                        }
                        for s in &c.could_postpone {
                            let items: Vec<String> = s
                                .postpone
                                .iter()
                                .map(|i| format!("{} ({})", i.title, i.priority))
                                .collect();
                            println!("To make room for {}: postpone {}", s.goal, items.join(", "));
                        }
                    }
                }
            }
        }
        RequestCommand::Submit {
            team,
            title,
            requester,
            description,
            urgency,
            impact,
            complexity,
            business_goal,
            success_measure,
            deadline,
            if_not_done,
            format,
        } => {
            let team = names::team(store, &team, "--team").await?;
            let mut n = NewRequest::new(team.id, title, requester, RequestSource::Api);
            n.description = description;
            n.urgency = urgency;
            n.impact = impact;
            n.complexity = complexity;
            n.answers = Answers {
                business_goal,
                success_measure,
                deadline,
                if_not_done,
            };
            let r = requests::submit(store, settings, n)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&r)?,
                Format::Table => {
                    println!("Request {} submitted ({}, {}).", r.id, r.priority, r.status)
                }
            }
        }
        RequestCommand::Decide {
            id,
            kind,
            by,
            reason,
            until,
            duplicate_of,
            version,
            priority,
            size,
            size_max,
            format,
        } => {
            let id = request_id(&id)?;
            let input = DecisionInput {
                kind,
                reason,
                postponed_until: until,
                duplicate_of,
                version,
                priority,
                size,
                size_max,
            };
            let r = requests::decide(store, settings, id, input, &by)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&r)?,
                Format::Table => {
                    println!("{}", r.decision_message());
                    if let Some(d) = &r.decision {
                        for l in &d.cost_of_yes {
                            println!("{l}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
