//! `tandem-bench-cost-of-yes`: how long the cost of yes
//! (`tandem_domain::cost_of_yes::run`) takes for a team with `--goals` goals
//! in flight at `--trials` trials, the target being under 200 ms for
//! 10 goals at 10,000 trials. The reference, measured in the same run on the
//! same data, is one plain team forecast (`forecast::forecast` over the same
//! goals): the cost of yes is that forecast run twice (before and after),
//! three times for a size range.
//!
//! The data is synthetic and fixed: twelve weeks of history at two to four
//! items a working day, goals of 20 to 110 remaining items with deadlines,
//! every third growing weekly. Nothing here asserts a duration.

use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate};
use clap::Parser;
use tandem_bench::stats::upper_median_ms;
use tandem_domain::cost_of_yes::{self, Placement};
use tandem_domain::forecast::{self, ScopeGrowth, SimulationSettings, Target};
use tandem_domain::work_item::Priority;

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench-cost-of-yes",
    about = "The cost of yes against one team forecast."
)]
struct Args {
    #[arg(long, default_value_t = 10)]
    goals: usize,
    #[arg(long, default_value_t = 10_000)]
    trials: u32,
    #[arg(long, default_value_t = 21)]
    reps: usize,
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid date")
}

fn history() -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = today() - Days::new(84);
    let mut n = 0u32;
    while d < today() {
        if d.weekday().num_days_from_monday() < 5 {
            n += 1;
            for _ in 0..(2 + n % 3) {
                out.push(d);
            }
        }
        d = d.succ_opt().expect("a next day");
    }
    out
}

fn goals(n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| Target {
            key: format!("goal-{i}"),
            remaining: 20 + (i as u32 * 37) % 91,
            deadline: Some(today() + Days::new(30 + (i as u64 * 11) % 120)),
            growth: if i % 3 == 0 {
                ScopeGrowth::Weekly {
                    added_per_week: vec![0, 1, 2, 1, 3, 0],
                }
            } else {
                ScopeGrowth::None
            },
            milestones: Vec::new(),
        })
        .collect()
}

fn time(reps: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f(); // warm up
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let h = history();
    let targets = goals(args.goals);
    let titles: Vec<String> = targets.iter().map(|t| t.key.clone()).collect();
    let settings = SimulationSettings {
        trials: args.trials,
        ..SimulationSettings::default()
    };
    let reference = time(args.reps, || {
        std::hint::black_box(
            forecast::forecast(today(), &h, &targets, &settings).expect("forecast"),
        );
    });
    let run = |size_max: Option<u32>| {
        let p = Placement {
            priority: Priority::P1,
            size: 8,
            size_max,
        };
        time(args.reps, || {
            std::hint::black_box(
                cost_of_yes::run(today(), &h, &targets, &titles, p, &settings).expect("cost"),
            );
        })
    };
    let single = run(None);
    let range = run(Some(20));
    let r = upper_median_ms(&reference).unwrap_or_default();
    let s = upper_median_ms(&single).unwrap_or_default();
    let g = upper_median_ms(&range).unwrap_or_default();
    println!(
        "Command: target/release/tandem-bench-cost-of-yes --goals {} --trials {} --reps {}\n",
        args.goals, args.trials, args.reps
    );
    println!("| workload | median ms | × reference |");
    println!("|---|---:|---:|");
    println!(
        "| reference: one team forecast ({} goals) | {r:.1} | 1.0 |",
        args.goals
    );
    println!(
        "| cost of yes, 8 items at P1 (2 forecasts) | {s:.1} | {:.2} |",
        s / r
    );
    println!(
        "| cost of yes, 8–20 items at P1 (3 forecasts) | {g:.1} | {:.2} |",
        g / r
    );
    Ok(())
}
