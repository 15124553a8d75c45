//! `tandem kpi list|show|create|update`, `tandem kpi point add`,
//! `tandem kpi import` and `tandem kpi source set|show|remove|run` (points
//! collected from a PromQL or read-only SQL query, `app::kpi_sources`): KPI series (the `metrics` entity of
//! `/api/v1/metrics`) and their points, through the same `tandem_app::kpis`
//! functions as the API. Delivery metrics are `tandem metrics` (metrics.rs).

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use tandem_app::paging::all;
use tandem_app::settings::Settings;
use tandem_domain::frontline::{KpiSourceKind, KpiSourceSpec};
use tandem_domain::metric::{
    Audience, ComputedFrom, Direction, Metric, MetricPatch, NewMetric, NewPoint,
};
use tandem_store::{ListQuery, Store};

use crate::commands::{print_json, table};
use crate::decisions::parse_instant;
use crate::names::{self, explain};
use crate::risks::parse;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum KpiCommand {
    /// List KPI series.
    #[command(after_help = "Example:\n  tandem kpi list --audience business")]
    List {
        /// Only this team's series (key or id).
        #[arg(long)]
        team: Option<String>,
        /// team or business.
        #[arg(long, value_parser = parse::<Audience>)]
        audience: Option<Audience>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show a series and its points, oldest first.
    #[command(
        after_help = "Example:\n  tandem kpi show checkout-conversion --from 2026-01-01 --format json"
    )]
    Show {
        /// Series key or id.
        series: String,
        /// From this day or instant (included).
        #[arg(long, value_parser = parse_instant)]
        from: Option<DateTime<Utc>>,
        /// Until this day or instant (excluded).
        #[arg(long, value_parser = parse_instant)]
        to: Option<DateTime<Utc>>,
        /// At most this many points (1–10000).
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Create a series.
    #[command(
        after_help = "Example:\n  tandem kpi create --key checkout-conversion --name \"Checkout conversion\" \\\n    \
                            --unit % --direction up --audience business --team payments"
    )]
    Create {
        /// Unique key, e.g. checkout-conversion.
        #[arg(long)]
        key: String,
        #[arg(long)]
        name: String,
        /// Which way is better: up or down.
        #[arg(long, value_parser = parse::<Direction>)]
        direction: Direction,
        /// Who it is for: team or business.
        #[arg(long, value_parser = parse::<Audience>)]
        audience: Audience,
        #[arg(long, default_value = "")]
        unit: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The team it belongs to (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Compute it from the team's delivery data instead of typed points:
        /// deployment-frequency, lead-time, time-to-restore or
        /// change-failure-rate (needs --team; the figure is the DORA panel's).
        #[arg(long, value_parser = parse::<ComputedFrom>)]
        computed_from: Option<ComputedFrom>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a series; parts not given stay (the key never changes).
    #[command(
        after_help = "Example:\n  tandem kpi update checkout-conversion --name \"Checkout conversion (web)\" --audience team"
    )]
    Update {
        /// Series key or id.
        series: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, value_parser = parse::<Direction>)]
        direction: Option<Direction>,
        #[arg(long, value_parser = parse::<Audience>)]
        audience: Option<Audience>,
        /// Move it to this team (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Bind it to one of the team's delivery metrics:
        /// deployment-frequency, lead-time, time-to-restore or
        /// change-failure-rate.
        #[arg(long, value_parser = parse::<ComputedFrom>)]
        computed_from: Option<ComputedFrom>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Points of a series.
    #[command(subcommand)]
    Point(PointCommand),
    /// Where a series' points are collected from on a schedule (a PromQL
    /// or read-only SQL query) instead of being typed.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Import points from a CSV of date,value rows (a `date,value` header is
    /// optional). Every row is checked first: a bad row is named by line and
    /// column and nothing is stored. A date already stored gets the new value.
    #[command(
        after_help = "Example:\n  printf 'date,value\\n2026-11-02,3.1\\n2026-11-09,3.4\\n' > points.csv\n  \
                            tandem kpi import checkout-conversion points.csv"
    )]
    Import {
        /// Series key or id.
        series: String,
        /// The CSV file ("-" for standard input).
        file: PathBuf,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum PointCommand {
    /// Add a point (a point already stored at that instant gets the new value).
    #[command(
        after_help = "Example:\n  tandem kpi point add checkout-conversion --at 2026-11-16 --value 3.6"
    )]
    Add {
        /// Series key or id.
        series: String,
        /// YYYY-MM-DD (midnight UTC) or an RFC 3339 instant.
        #[arg(long, value_parser = parse_instant)]
        at: DateTime<Utc>,
        #[arg(long, allow_negative_numbers = true, value_parser = parse_value)]
        value: f64,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Feed a series from a query every interval (replaces its source). The
    /// first run is due at once; `serve` runs it, or `tandem kpi source run`.
    #[command(
        after_help = "Examples:\n  tandem kpi source set error-rate --promql 'sum(rate(http_errors_total[1h]))' \\\n    \
                            --url http://prometheus:9090 --every 3600\n  \
                            tandem kpi source set open-orders --sql 'SELECT count(*) FROM orders WHERE open' \\\n    \
                            --url postgres://reader@db/shop --every 600"
    )]
    Set {
        /// Series key or id.
        series: String,
        /// A PromQL expression giving one number.
        #[arg(long, conflicts_with = "sql", required_unless_present = "sql")]
        promql: Option<String>,
        /// One read-only SQL statement; the first column of the first row.
        #[arg(long)]
        sql: Option<String>,
        /// The Prometheus root or the postgres:// URL.
        #[arg(long)]
        url: String,
        /// Seconds between runs (60 to 86400).
        #[arg(long, default_value_t = 3600)]
        every: u32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show a series' source: query, schedule, last success, last error.
    #[command(after_help = "Example:\n  tandem kpi source show error-rate")]
    Show {
        /// Series key or id.
        series: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Stop collecting a series (its points stay).
    #[command(after_help = "Example:\n  tandem kpi source remove error-rate")]
    Remove {
        /// Series key or id.
        series: String,
    },
    /// Run a series' query now and store its point (or its error).
    #[command(after_help = "Example:\n  tandem kpi source run error-rate")]
    Run {
        /// Series key or id.
        series: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

fn print_source(s: &tandem_app::kpi_sources::SourcedKpi, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(s),
        Format::Table => {
            let src = &s.source;
            println!(
                "{}: {} every {} s from {}",
                s.metric, src.spec.kind, src.spec.interval_seconds, src.spec.url
            );
            println!("query: {}", src.spec.query);
            println!(
                "last success: {}",
                src.last_success_at.map_or_else(
                    || "never".to_owned(),
                    |at| format!(
                        "{} (value {})",
                        at.to_rfc3339(),
                        src.last_value.map_or_else(String::new, |v| v.to_string())
                    )
                )
            );
            if let Some(e) = &src.last_error {
                println!("last error: {e} ({} failed runs in a row)", src.failures);
            }
            println!("next run: {}", src.next_run_at.to_rfc3339());
            Ok(())
        }
    }
}

/// A finite number.
fn parse_value(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number")),
    }
}

/// `tandem kpi …`.
pub async fn kpi(store: &Store, settings: &Settings, command: KpiCommand) -> anyhow::Result<()> {
    use tandem_app::kpi_sources;
    match command {
        KpiCommand::Source(SourceCommand::Set {
            series,
            promql,
            sql,
            url,
            every,
            format,
        }) => {
            let (kind, query) = match (promql, sql) {
                (Some(q), None) => (KpiSourceKind::Promql, q),
                (None, Some(q)) => (KpiSourceKind::Postgres, q),
                _ => anyhow::bail!("give one of --promql or --sql"),
            };
            let spec = KpiSourceSpec {
                kind,
                url,
                query,
                interval_seconds: every,
            };
            let s = kpi_sources::set(store, &series, spec, Utc::now())
                .await
                .map_err(explain)?;
            print_source(&s, format.format)?;
        }
        KpiCommand::Source(SourceCommand::Show { series, format }) => {
            let s = kpi_sources::get(store, &series).await.map_err(explain)?;
            print_source(&s, format.format)?;
        }
        KpiCommand::Source(SourceCommand::Remove { series }) => {
            kpi_sources::remove(store, &series).await.map_err(explain)?;
            println!("{series}: no longer collected; its points stay");
        }
        KpiCommand::Source(SourceCommand::Run { series, format }) => {
            let s = kpi_sources::run_now(store, settings, &series, Utc::now())
                .await
                .map_err(explain)?;
            print_source(&s, format.format)?;
            if let Some(e) = &s.source.last_error {
                anyhow::bail!("the query failed: {e}");
            }
        }
        KpiCommand::List {
            team,
            audience,
            format,
        } => {
            let mut q = ListQuery::default();
            if let Some(team) = team {
                q.team_id = Some(names::team(store, &team, "--team").await?.id);
            }
            q.audience = audience.map(|a| a.to_string());
            let series = all(q, |q| async move { store.list_metrics(&q).await }).await?;
            match format.format {
                Format::Json => print_json(&series)?,
                Format::Table if series.is_empty() => println!("No KPI series."),
                Format::Table => {
                    let mut t = table(&["key", "name", "unit", "better", "audience"]);
                    for m in &series {
                        t.add_row(vec![
                            m.key.clone(),
                            m.name.clone(),
                            m.unit.clone(),
                            m.direction.better_word().to_owned(),
                            m.audience.to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        KpiCommand::Show {
            series,
            from,
            to,
            limit,
            format,
        } => {
            let m = names::series(store, &series).await?;
            let points = tandem_app::kpis::points(store, &m, from, to, limit)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&json!({"series": m, "points": points}))?,
                Format::Table => {
                    print_series(&m);
                    if points.is_empty() {
                        println!("No points.");
                    } else {
                        let mut t = table(&["at", "value"]);
                        for p in &points {
                            t.add_row(vec![p.at.to_rfc3339(), p.value.to_string()]);
                        }
                        println!("{t}");
                    }
                }
            }
        }
        KpiCommand::Create {
            key,
            name,
            direction,
            audience,
            unit,
            description,
            team,
            computed_from,
            format,
        } => {
            let team_id = match team {
                Some(t) => Some(names::team(store, &t, "--team").await?.id),
                None => None,
            };
            let input = NewMetric {
                key,
                name,
                description,
                unit,
                direction,
                audience,
                team_id,
                computed_from,
            };
            let m = tandem_app::kpis::create(store, input)
                .await
                .map_err(explain)?;
            done(&m, format.format, "created")?;
        }
        KpiCommand::Update {
            series,
            name,
            description,
            unit,
            direction,
            audience,
            team,
            computed_from,
            format,
        } => {
            let m = names::series(store, &series).await?;
            let team_id = match team {
                Some(t) => Some(names::team(store, &t, "--team").await?.id),
                None => None,
            };
            let patch = MetricPatch {
                name,
                description,
                unit,
                direction,
                audience,
                team_id,
                computed_from,
            };
            if patch.name.is_none()
                && patch.description.is_none()
                && patch.unit.is_none()
                && patch.direction.is_none()
                && patch.audience.is_none()
                && patch.team_id.is_none()
                && patch.computed_from.is_none()
            {
                anyhow::bail!(
                    "nothing to change: give --name, --description, --unit, --direction, --audience, --team or --computed-from"
                );
            }
            let m = tandem_app::kpis::update(store, m, patch)
                .await
                .map_err(explain)?;
            done(&m, format.format, "updated")?;
        }
        KpiCommand::Point(PointCommand::Add {
            series,
            at,
            value,
            format,
        }) => {
            let m = names::series(store, &series).await?;
            tandem_app::kpis::write_points(store, &m, vec![NewPoint { at, value }])
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&json!({"series": m.key, "at": at, "value": value}))?,
                Format::Table => println!("{}: {value} at {}", m.key, at.to_rfc3339()),
            }
        }
        KpiCommand::Import {
            series,
            file,
            format,
        } => {
            let m = names::series(store, &series).await?;
            let refused = || format!("{} was not imported; nothing was stored", file.display());
            let written = if file.as_os_str() == "-" {
                tandem_app::kpis::import_csv(store, &m, std::io::stdin().lock()).await
            } else {
                let f = std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))?;
                tandem_app::kpis::import_csv(store, &m, std::io::BufReader::new(f)).await
            }
            .map_err(explain)
            .with_context(refused)?;
            match format.format {
                Format::Json => print_json(&json!({"series": m.key, "written": written}))?,
                Format::Table => println!("imported {written} points into {}", m.key),
            }
        }
    }
    Ok(())
}

fn done(m: &Metric, format: Format, what: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(m),
        Format::Table => {
            println!("{what} KPI series {} ({})", m.key, m.name);
            Ok(())
        }
    }
}

fn print_series(m: &Metric) {
    println!("{} ({})", m.name, m.key);
    println!(
        "Unit: {}  {} is better  Audience: {}",
        if m.unit.is_empty() { "—" } else { &m.unit },
        m.direction.better_word(),
        m.audience
    );
    if !m.description.is_empty() {
        println!("{}", m.description);
    }
}
