//! `tandem kpi list|show|create|update`, `tandem kpi point add` and
//! `tandem kpi import`: KPI series (the `metrics` entity of
//! `/api/v1/metrics`) and their points, through the same `tandem_app::kpis`
//! functions as the API. Delivery metrics are `tandem metrics` (metrics.rs).

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use tandem_app::paging::all;
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

/// A finite number.
fn parse_value(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number")),
    }
}

/// `tandem kpi …`.
pub async fn kpi(store: &Store, command: KpiCommand) -> anyhow::Result<()> {
    match command {
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
