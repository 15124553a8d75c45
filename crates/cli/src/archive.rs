//! `tandem archive run|search` (see `tandem_app::archive`, ADR 0036).

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::Value;
use tandem_app::Settings;
use tandem_app::archive::{self as app, Archive, Found, Kind, Query};
use tandem_store::Store;

use crate::decisions::parse_instant;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Write what is past retention to the archive now, as `serve` does
    /// (raw deliveries past maintenance.delivery_retention_days and raw
    /// check results past monitor.raw_retention_hours, deleted once
    /// written; sent reports not yet archived, kept).
    #[command(after_help = "Example:\n  tandem archive run")]
    Run {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Find archived deliveries, reports or check results by id, time range
    /// or text (only the months that overlap the range are read).
    #[command(
        after_help = "Examples:\n  tandem archive search --kind deliveries --id 3f2a…\n  tandem archive search --kind reports --from 2026-01-01 --to 2026-04-01 payments\n  tandem archive search --kind checks --id api-health --from 2026-11-03T10:00:00Z --to 2026-11-03T11:00:00Z --format json"
    )]
    Search(SearchArgs),
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// deliveries, reports or checks (default: all three).
    #[arg(long, value_parser = parse_kind)]
    kind: Option<Kind>,
    /// A delivery's id or the sender's delivery id; a report's id; a
    /// check's id or name.
    #[arg(long)]
    id: Option<String>,
    /// From this day or instant (included).
    #[arg(long, value_parser = parse_instant)]
    from: Option<DateTime<Utc>>,
    /// Until this day or instant (excluded).
    #[arg(long, value_parser = parse_instant)]
    to: Option<DateTime<Utc>>,
    /// At most this many records.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    limit: u32,
    /// Where to search: s3://BUCKET/PREFIX or a directory (default:
    /// archive.to).
    #[arg(long, value_name = "s3://…|DIR")]
    archive: Option<String>,
    /// Text found (ignoring case) in any of a record's values.
    text: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

pub async fn run(store: &Store, settings: &Settings, format: Format) -> anyhow::Result<()> {
    let r = app::run(store, settings, Utc::now()).await?;
    match format {
        Format::Json => crate::output::print_json(&r)?,
        Format::Table => {
            for (kind, pass) in [
                ("deliveries", &r.deliveries),
                ("checks", &r.checks),
                ("reports", &r.reports),
            ] {
                match pass {
                    Some(p) => println!(
                        "{kind}: {} archived in {} objects, {} deleted from the database",
                        p.archived,
                        p.objects.len(),
                        p.deleted
                    ),
                    None => println!("{kind}: not archived"),
                }
            }
            println!("archive: {}", r.archive);
        }
    }
    Ok(())
}

pub async fn search(settings: &Settings, args: SearchArgs) -> anyhow::Result<()> {
    let SearchArgs {
        kind,
        id,
        from,
        to,
        limit,
        archive,
        text,
        format,
    } = args;
    app::check_range(from, to)?;
    let archive = match archive {
        Some(target) => Archive::open(
            &target,
            "--archive",
            settings
                .archive
                .connection(&settings.backup, &settings.report)
                .as_ref(),
        )?,
        None => Archive::configured(settings)?.ok_or_else(|| {
            tandem_app::AppError::bad_field(
                "--archive",
                "no archive is configured: set archive.to or pass --archive",
            )
        })?,
    };
    let q = Query {
        kinds: kind.into_iter().collect(),
        id,
        from,
        to,
        text,
        limit: limit as usize,
    };
    let m = app::search(&archive, &q).await?;
    match format.format {
        Format::Json => crate::output::print_json(&m)?,
        Format::Table if m.found.is_empty() => println!("Nothing found in {}.", archive.display),
        Format::Table => {
            let mut t = crate::output::table(&["kind", "id", "time", "what"]);
            for f in &m.found {
                t.add_row(vec![
                    f.kind.to_string(),
                    shown_id(f),
                    f.time().to_owned(),
                    summary(f),
                ]);
            }
            println!("{t}");
        }
    }
    if m.truncated {
        eprintln!(
            "more records match: showing the first {limit} (raise --limit or narrow the search)"
        );
    }
    Ok(())
}

fn text<'a>(r: &'a Value, field: &str) -> &'a str {
    r.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn shown_id(f: &Found) -> String {
    match f.kind {
        Kind::Checks => text(&f.record, "check").to_owned(),
        Kind::Deliveries | Kind::Reports => text(&f.record, "id").to_owned(),
    }
}

fn summary(f: &Found) -> String {
    let r = &f.record;
    match f.kind {
        Kind::Deliveries => format!(
            "{} {} {} ({}: {})",
            text(r, "provider"),
            text(r, "event"),
            text(r, "delivery_id"),
            text(r, "outcome"),
            text(r, "detail")
        ),
        Kind::Reports => format!(
            "{} {}: {}",
            text(r, "team"),
            text(r, "week"),
            text(r, "title")
        ),
        Kind::Checks => format!(
            "{} in {} ms{}",
            if r.get("ok").and_then(Value::as_bool) == Some(true) {
                "ok"
            } else {
                "failed"
            },
            r.get("latency_ms")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            match text(r, "message") {
                "" => String::new(),
                m => format!(": {m}"),
            }
        ),
    }
}
