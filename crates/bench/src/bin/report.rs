//! `tandem-bench-report`: how long one team's weekly report takes, from the
//! store to every rendered form: gathering the week from SQLite (12 weeks of
//! metric points for the trends) and assembling it with the draft's edits
//! (`reporting::edited`), then rendering Markdown, the HTML e-mail with one
//! PNG trend chart per metric, the plain-text part, Slack blocks and JSON
//! (`reporting::render`). On the demo organisation (a year of history),
//! team `payments`, last week. Medians over `--reps`; nothing is asserted.

use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, Utc};
use clap::Parser;
use tandem_bench::stats::upper_median_ms;

#[derive(Parser)]
struct Args {
    /// Timed repetitions (after one warm-up).
    #[arg(long, default_value_t = 30)]
    reps: usize,
    /// Team key.
    #[arg(long, default_value = "payments")]
    team: String,
    /// Also write the rendered forms and the chart PNGs into this directory.
    #[arg(long)]
    dump: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = tandem_store::Store::connect(&url, &Default::default()).await?;
    store.migrate().await?;
    tandem_app::demo::load(&store, Utc::now().date_naive()).await?;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tandem.example.toml");
    let settings = tandem_app::Settings::load_from(
        Some(std::path::Path::new(example)),
        &[("TANDEM_DATABASE__URL".to_owned(), url.clone())],
    )?;
    let team = store
        .get_team_by_key(&args.team)
        .await
        .with_context(|| format!("no team {:?} in the demo", args.team))?;
    let week = (Utc::now().date_naive() - chrono::Duration::days(7)).iso_week();
    let (mut gather, mut render, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut sizes = (0, 0, 0);
    for rep in 0..=args.reps {
        let t0 = Instant::now();
        let (_, report) = tandem_app::report::edited(&store, &settings, team.id, week)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let t1 = Instant::now();
        let r = tandem_app::report::render(&report, Some("https://tandem.example/r"))?;
        let t2 = Instant::now();
        sizes = (
            r.charts.len(),
            r.charts.iter().map(|c| c.png.len()).sum::<usize>(),
            r.html.len() + r.markdown.len() + r.text.len(),
        );
        if rep == 0
            && let Some(dir) = &args.dump
        {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join("report.html"), &r.html)?;
            std::fs::write(dir.join("report.md"), &r.markdown)?;
            std::fs::write(dir.join("report.txt"), &r.text)?;
            std::fs::write(
                dir.join("slack.json"),
                serde_json::to_string_pretty(&r.slack)?,
            )?;
            for (i, c) in r.charts.iter().enumerate() {
                std::fs::write(dir.join(format!("chart{i}.png")), &c.png)?;
            }
        }
        if rep > 0 {
            gather.push(t1 - t0);
            render.push(t2 - t1);
            total.push(t2 - t0);
        }
    }
    println!(
        "weekly report of {} for {}-W{:02}: {} charts ({} bytes of PNG), {} bytes of text",
        args.team,
        week.year(),
        week.week(),
        sizes.0,
        sizes.1,
        sizes.2
    );
    println!("| step | median |\n|---|---|");
    println!(
        "| gather + assemble (SQLite) | {:.1} ms |",
        upper_median_ms(&gather).unwrap_or(f64::NAN)
    );
    println!(
        "| render all formats + charts | {:.1} ms |",
        upper_median_ms(&render).unwrap_or(f64::NAN)
    );
    println!(
        "| total | {:.1} ms |",
        upper_median_ms(&total).unwrap_or(f64::NAN)
    );
    Ok(())
}
