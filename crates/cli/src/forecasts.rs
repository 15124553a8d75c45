//! `tandem forecast`, `tandem risks`, `tandem agenda`.

use chrono::Utc;
use tandem_app::Settings;
use tandem_app::forecasting::{self, GoalForecastOutcome};
use tandem_domain::risk::RiskStatus;
use tandem_store::{ListQuery, Store};

use crate::Format;

fn table(headers: &[&str]) -> crate::output::Table {
    crate::output::Table::plain(headers)
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "beyond the horizon".to_owned(), |d| d.to_string())
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{:.0} %", p * 100.0))
}

pub async fn forecast(
    store: &Store,
    settings: &Settings,
    goal: &str,
    format: Format,
) -> anyhow::Result<()> {
    let g = tandem_app::lookup::find_goal(store, goal).await?;
    let id = g.id;
    if g.timeline.deadline.is_none() {
        anyhow::bail!(
            "goal {id} has no deadline (timeline.deadline), so there is no on-time probability to forecast"
        );
    }
    let f = forecasting::forecast_goal(store, id, Utc::now().date_naive(), &settings.forecast)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(&f)?);
        return Ok(());
    }
    println!("{} (deadline {})", f.title, date(f.deadline));
    if !f.sharing_with.is_empty() {
        println!(
            "Shares the team's throughput with: {}",
            f.sharing_with.join("; ")
        );
    }
    match f.forecast {
        GoalForecastOutcome::TooLittleHistory { message, .. } => {
            println!("No forecast: {message}.");
        }
        GoalForecastOutcome::Ready {
            basis,
            goal,
            stages,
        } => {
            println!(
                "From {} items done on {} working days ({} to {}), {} trials.",
                basis.done_in_window,
                basis.working_days_in_window,
                basis.window_start,
                basis.window_end,
                basis.trials
            );
            let mut t = table(&[
                "",
                "remaining",
                "P50",
                "P70",
                "P85",
                "P95",
                "on time",
                "fits by deadline (85 %)",
            ]);
            t.add_row(vec![
                "goal".to_owned(),
                goal.remaining.to_string(),
                date(goal.p50),
                date(goal.p70),
                date(goal.p85),
                date(goal.p95),
                percent(goal.on_time_probability),
                goal.cut_line
                    .map_or_else(|| "—".to_owned(), |c| format!("{c} of {}", goal.remaining)),
            ]);
            for s in &stages {
                let m = &s.forecast;
                t.add_row(vec![
                    format!("stage: {}", s.name),
                    format!("{} (cumulative)", m.cumulative_items),
                    date(m.p50),
                    date(m.p70),
                    date(m.p85),
                    date(m.p95),
                    percent(m.on_time_probability),
                    m.cut_line.map_or_else(|| "—".to_owned(), |c| c.to_string()),
                ]);
            }
            println!("{t}");
            if let (Some(deadline), Some(cut)) = (goal.deadline, goal.cut_line)
                && cut < goal.remaining
            {
                println!(
                    "Cut line: {cut} of the {} remaining items fit by {deadline} at 85 % confidence.",
                    goal.remaining
                );
            }
        }
    }
    Ok(())
}

pub async fn risks(
    store: &Store,
    settings: &Settings,
    team: Option<String>,
    check: bool,
    format: Format,
) -> anyhow::Result<()> {
    if check {
        let report = forecasting::run_checks(store, &settings.forecast, Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!(
            "checks: {} teams, {} findings; opened {}, updated {}, reopened {}, closed {}",
            report.teams_checked,
            report.findings,
            report.opened,
            report.updated,
            report.reopened,
            report.closed
        );
    }
    let mut q = ListQuery {
        status: Some(RiskStatus::Open.to_string()),
        ..ListQuery::default()
    };
    if let Some(team) = team {
        q.team_id = Some(crate::commands::team_id(store, &team).await?);
    }
    let risks = tandem_app::paging::all(q, |q| async move { store.list_risks(&q).await }).await?;
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(&risks)?);
        return Ok(());
    }
    if risks.is_empty() {
        println!("No open risks.");
    }
    for r in &risks {
        println!(
            "● {} [{} likelihood, {} impact, {}]",
            r.title, r.likelihood, r.impact, r.source
        );
        if !r.drafted_update.is_empty() {
            println!("  Drafted update: {}", r.drafted_update);
        } else if !r.plan.is_empty() {
            println!("  Plan: {}", r.plan);
        }
    }
    Ok(())
}

pub async fn agenda(
    store: &Store,
    settings: &Settings,
    team: &str,
    format: Format,
) -> anyhow::Result<()> {
    let team_id = crate::commands::team_id(store, team).await?;
    let a = forecasting::agenda(store, team_id, Utc::now().date_naive(), &settings.forecast)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(&a)?);
        return Ok(());
    }
    println!("Agenda for the next product sync ({})", a.team);
    if let Some(note) = &a.forecast_note {
        println!("Note: {note}");
    }
    println!("\n1. Competing top priorities");
    match &a.competing_top_priorities {
        Some(c) => {
            println!(
                "   {} open P0/P1 items; the team finishes about {} items in two weeks. Which come first?",
                c.open_p0_p1, c.two_week_capacity
            );
            for i in &c.items {
                println!("   - {} {} [{}]", i.priority, i.title, i.state);
            }
        }
        None => println!("   None: P0/P1 work fits the team's two-week capacity."),
    }
    println!("\n2. Risks waiting for a decision");
    if a.risks_awaiting_decision.is_empty() {
        println!("   None.");
    }
    for r in &a.risks_awaiting_decision {
        println!("   - {}", r.title);
    }
    println!("\n3. What to postpone to save a goal at risk");
    if a.postpone_to_save.is_empty() {
        println!("   Nothing: no goal is below 85 % confidence.");
    }
    for p in &a.postpone_to_save {
        println!(
            "   {} (deadline {}, {:.0} % on time): {} of {} remaining items fit; postpone {}:",
            p.goal,
            p.deadline,
            p.on_time_probability * 100.0,
            p.fits,
            p.remaining,
            p.postpone.len()
        );
        for i in &p.postpone {
            println!("   - {} {}", i.priority, i.title);
        }
    }
    println!("\n4. Business requests to decide");
    if a.pending_requests.is_empty() {
        println!("   None waiting.");
    }
    for r in &a.pending_requests {
        let open = r.unanswered().len();
        println!(
            "   - {} {} (from {} via {}, {}{})",
            r.priority,
            r.title,
            r.requester,
            r.source,
            r.status,
            if open > 0 {
                format!(", {open} questions unanswered")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
