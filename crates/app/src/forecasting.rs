//! Forecasts and Tandem's risk checks over stored data. The maths lives in
//! the domain (`forecast`, `risk_check`); this module gathers the inputs from
//! the store, runs them, and stores what the checks decide. The API, the
//! pages, the CLI and the background check loop (`jobs::risk_checks`) call
//! these; failures are `AppError`s.
//!
//! Dates: a work item counts as done on the UTC date of its `done_at`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tandem_domain::forecast::{
    self, Forecast, MilestoneForecast, ScopeGrowth, SimulationSettings as Model, StageWork, Target,
    TargetForecast,
};
use tandem_domain::goal::{Goal, GoalStatus};
use tandem_domain::risk::{Risk, RiskStatus};
use tandem_domain::risk_check::{self, CheckSettings, Finding, ForecastView, RiskChange};
use tandem_domain::stage::Stage;
use tandem_domain::team::Team;
use tandem_domain::work_item::{WorkItem, WorkState};
use tandem_store::{ListQuery, Store};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::paging::all;
use crate::settings::ForecastSettings;

/// A goal being worked on, with what is left of it.
#[derive(Debug, Clone)]
pub struct GoalInFlight {
    pub goal: Goal,
    /// Its stages, in order.
    pub stages: Vec<Stage>,
    /// Its open items (not done, not cancelled).
    pub open_items: Vec<WorkItem>,
}

/// One team's goals in flight, forecast together on the team's throughput.
#[derive(Debug, Clone)]
pub struct TeamForecast {
    pub team: Team,
    pub goals: Vec<GoalInFlight>,
    pub items: Vec<WorkItem>,
    pub forecast: Forecast,
    /// What the forecast ran on: one target per goal, in `goals` order…
    pub targets: Vec<Target>,
    /// …and the days the team's items were done.
    pub done_dates: Vec<NaiveDate>,
}

/// A goal's forecast as the API and CLI show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GoalForecast {
    pub goal_id: Uuid,
    pub title: String,
    pub deadline: Option<NaiveDate>,
    /// The goals of the team forecast together (they share throughput).
    pub sharing_with: Vec<String>,
    pub forecast: GoalForecastOutcome,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GoalForecastOutcome {
    /// Too few items were done recently to forecast from: no date is given.
    TooLittleHistory {
        done_in_window: usize,
        needed: usize,
        message: String,
    },
    Ready {
        basis: forecast::ForecastBasis,
        goal: TargetForecast,
        /// Each stage with open work, in order.
        stages: Vec<StageForecast>,
    },
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StageForecast {
    pub stage_id: Uuid,
    pub name: String,
    #[serde(flatten)]
    pub forecast: MilestoneForecast,
}

/// The simulation settings of the team forecasts.
pub fn model(cfg: &ForecastSettings) -> Model {
    Model {
        window_days: cfg.window_days,
        trials: cfg.trials,
        holidays: cfg.holidays.clone(),
        ..Model::default()
    }
}

fn is_open(item: &WorkItem) -> bool {
    !matches!(item.state, WorkState::Done | WorkState::Cancelled)
}

/// Forecasts every agreed or in-progress goal of a team together.
pub async fn forecast_team(
    store: &Store,
    team_id: Uuid,
    today: NaiveDate,
    cfg: &ForecastSettings,
) -> AppResult<TeamForecast> {
    let team = store.get_team(team_id).await?;
    let items = store.team_work_items(team_id).await?;
    let mut goals = Vec::new();
    for status in [GoalStatus::InProgress, GoalStatus::Agreed] {
        let q = ListQuery {
            team_id: Some(team_id),
            status: Some(status.to_string()),
            limit: ListQuery::MAX_LIMIT,
            ..ListQuery::default()
        };
        goals.extend(store.list_goals(&q).await?.items);
    }
    // Earliest deadline first; goals without one last.
    goals.sort_by_key(|g| (g.timeline.deadline.is_none(), g.timeline.deadline, g.id));
    let mut in_flight = Vec::new();
    for goal in goals {
        let stages = store.list_goal_stages(goal.id).await?;
        let open_items = items
            .iter()
            .filter(|i| i.goal_id == Some(goal.id) && is_open(i))
            .cloned()
            .collect();
        in_flight.push(GoalInFlight {
            goal,
            stages,
            open_items,
        });
    }
    // Throughput days are the team's local days (docs/metrics.md, "Time
    // zones"): an item done at 23:30 in Sydney counts on that Sydney day.
    let tz = team.zone();
    let done_dates: Vec<NaiveDate> = items
        .iter()
        .filter_map(|i| i.done_at.map(|d| tandem_domain::time::local_date(d, tz)))
        .collect();
    let targets: Vec<Target> = in_flight
        .iter()
        .map(|g| target(g, &items, today, tz))
        .collect();
    // Tens of milliseconds of CPU for a busy team: keep it off the async
    // workers so requests in flight are not held up.
    let settings = model(cfg);
    let (forecast, targets, done_dates) = tokio::task::spawn_blocking(move || {
        forecast::forecast(today, &done_dates, &targets, &settings)
            .map(|f| (f, targets, done_dates))
    })
    .await
    .map_err(|e| AppError::Unexpected(e.into()))??;
    Ok(TeamForecast {
        team,
        goals: in_flight,
        items,
        forecast,
        targets,
        done_dates,
    })
}

/// A goal as a forecast target: its stages as milestones (open items without
/// a stage come last), growing as the goal has grown since it started.
fn target(g: &GoalInFlight, all_items: &[WorkItem], today: NaiveDate, tz: chrono_tz::Tz) -> Target {
    let day = |at| tandem_domain::time::local_date(at, tz);
    let stages: Vec<StageWork> = g
        .stages
        .iter()
        .map(|s| StageWork {
            key: s.id.to_string(),
            remaining: count(g.open_items.iter().filter(|i| i.stage_id == Some(s.id))),
            deadline: s.ends_on,
        })
        .filter(|s| s.remaining > 0)
        .collect();
    let since = g
        .goal
        .timeline
        .starts_on
        .or(g.goal.agreed_at.map(day))
        .unwrap_or(day(g.goal.created_at));
    let added_on: Vec<NaiveDate> = all_items
        .iter()
        .filter(|i| i.goal_id == Some(g.goal.id))
        .map(|i| day(i.created_at))
        .collect();
    let growth = ScopeGrowth::weekly_from_history(since, today, &added_on);
    let mut t = Target::staged(
        g.goal.id.to_string(),
        g.goal.timeline.deadline,
        growth,
        &stages,
    );
    t.remaining += count(g.open_items.iter().filter(|i| {
        i.stage_id
            .is_none_or(|s| !g.stages.iter().any(|st| st.id == s))
    }));
    t
}

fn count<'a>(items: impl Iterator<Item = &'a WorkItem>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

/// The forecast of one goal, shared with the other goals of its team.
pub async fn forecast_goal(
    store: &Store,
    goal_id: Uuid,
    today: NaiveDate,
    cfg: &ForecastSettings,
) -> AppResult<GoalForecast> {
    let goal = store.get_goal(goal_id).await?;
    if !matches!(goal.status, GoalStatus::Agreed | GoalStatus::InProgress) {
        return Err(AppError::Conflict {
            message: format!(
                "goal {} is {}; forecasts are made for agreed and in-progress goals",
                goal.id, goal.status
            ),
            field: Some("status".into()),
        });
    }
    let team = forecast_team(store, goal.team_id, today, cfg).await?;
    let sharing_with = team
        .goals
        .iter()
        .filter(|g| g.goal.id != goal.id)
        .map(|g| g.goal.title.clone())
        .collect();
    let outcome = match &team.forecast {
        Forecast::TooLittleHistory {
            done_in_window,
            needed,
            window_start,
            window_end,
        } => GoalForecastOutcome::TooLittleHistory {
            done_in_window: *done_in_window,
            needed: *needed,
            message: format!(
                "only {done_in_window} items were done between {window_start} and {window_end}; \
                 at least {needed} are needed to forecast from the team's own throughput"
            ),
        },
        Forecast::Ready { basis, targets } => {
            let key = goal.id.to_string();
            let gf = targets
                .iter()
                .find(|t| t.key == key)
                .cloned()
                .ok_or_else(|| {
                    AppError::Unexpected(anyhow::anyhow!(
                        "goal {key} missing from its team forecast"
                    ))
                })?;
            let g = team.goals.iter().find(|g| g.goal.id == goal.id);
            let stages = gf
                .milestones
                .iter()
                .filter_map(|m| {
                    let stage = g?.stages.iter().find(|s| s.id.to_string() == m.key)?;
                    Some(StageForecast {
                        stage_id: stage.id,
                        name: stage.name.clone(),
                        forecast: m.clone(),
                    })
                })
                .collect();
            GoalForecastOutcome::Ready {
                basis: basis.clone(),
                goal: gf,
                stages,
            }
        }
    };
    Ok(GoalForecast {
        goal_id: goal.id,
        title: goal.title.clone(),
        deadline: goal.timeline.deadline,
        sharing_with,
        forecast: outcome,
    })
}

/// What one run of the checks did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CheckReport {
    pub teams_checked: usize,
    /// Teams whose history is too short for a forecast (their deadline
    /// checks were skipped; stale and blocked work was still checked).
    pub teams_without_forecast: Vec<String>,
    pub findings: usize,
    pub opened: usize,
    pub updated: usize,
    pub reopened: usize,
    pub closed: usize,
}

/// The findings of one team: deadlines at risk from its forecast, and stale
/// and blocked work.
fn team_findings(tf: &TeamForecast, now: DateTime<Utc>, settings: &CheckSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Forecast::Ready { targets, .. } = &tf.forecast {
        for g in &tf.goals {
            let key = g.goal.id.to_string();
            let Some(t) = targets.iter().find(|t| t.key == key) else {
                continue;
            };
            if let Some(view) = view(
                t.deadline,
                t.remaining,
                t.on_time_probability,
                t.p85,
                t.cut_line,
            ) {
                out.extend(risk_check::forecast_finding(&g.goal, None, &view, settings));
            }
            for m in &t.milestones {
                let Some(stage) = g.stages.iter().find(|s| s.id.to_string() == m.key) else {
                    continue;
                };
                let stage_remaining = g
                    .open_items
                    .iter()
                    .filter(|i| i.stage_id == Some(stage.id))
                    .count();
                let remaining = u32::try_from(stage_remaining).unwrap_or(u32::MAX);
                if let Some(view) = view(
                    m.deadline,
                    remaining,
                    m.on_time_probability,
                    m.p85,
                    m.cut_line,
                ) {
                    out.extend(risk_check::forecast_finding(
                        &g.goal,
                        Some(stage),
                        &view,
                        settings,
                    ));
                }
            }
        }
    }
    let open: Vec<WorkItem> = tf.items.iter().filter(|i| is_open(i)).cloned().collect();
    out.extend(risk_check::work_findings(&open, now, settings));
    out
}

fn view(
    deadline: Option<NaiveDate>,
    remaining: u32,
    probability: Option<f64>,
    p85: Option<NaiveDate>,
    cut_line: Option<u32>,
) -> Option<ForecastView> {
    Some(ForecastView {
        deadline: deadline?,
        remaining,
        on_time_probability: probability?,
        p85,
        cut_line: cut_line.unwrap_or(0).min(remaining),
    })
}

/// Runs the checks for every team and stores what they decide.
pub async fn run_checks(
    store: &Store,
    cfg: &ForecastSettings,
    now: DateTime<Utc>,
) -> AppResult<CheckReport> {
    let settings = CheckSettings {
        on_time_threshold: cfg.on_time_threshold,
        stale_days: cfg.stale_days,
    };
    let mut report = CheckReport::default();
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    let teams = all(ListQuery::default(), |q| async move {
        store.list_teams(&q).await
    })
    .await?;
    for team in &teams {
        let today = tandem_domain::time::local_date(now, team.zone());
        let tf = forecast_team(store, team.id, today, cfg).await?;
        if matches!(tf.forecast, Forecast::TooLittleHistory { .. }) {
            report.teams_without_forecast.push(team.key.clone());
        }
        findings.extend(team_findings(&tf, now, &settings));
        checked.push(team.id);
    }
    let existing = store.list_check_risks().await?;
    let changes = risk_check::reconcile(&findings, &existing, &checked, now, Uuid::now_v7);
    for c in &changes {
        match c {
            RiskChange::Open(_) => report.opened += 1,
            RiskChange::Update(_) => report.updated += 1,
            RiskChange::Reopen(_) => report.reopened += 1,
            RiskChange::Close(_) => report.closed += 1,
        }
    }
    store.apply_risk_changes(&changes).await?;
    report.teams_checked = checked.len();
    report.findings = findings.len();
    Ok(report)
}

/// What to decide at the next product sync.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agenda {
    pub team: String,
    /// Open P0/P1 items, when there are more than the team finishes in two
    /// weeks at its median pace: they compete for the same capacity.
    pub competing_top_priorities: Option<CompetingWork>,
    /// Open risks nobody has started to mitigate.
    pub risks_awaiting_decision: Vec<Risk>,
    /// For each goal at risk, the lowest-priority open items whose
    /// postponement brings it back to 85 % confidence.
    pub postpone_to_save: Vec<PostponeSuggestion>,
    /// Set when the team's history is too short to forecast.
    pub forecast_note: Option<String>,
    /// Business requests waiting for a decision (or for information), and
    /// those postponed to the next sync or to a day that has come, oldest
    /// first: decided at this sync.
    pub pending_requests: Vec<tandem_domain::request::Request>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompetingWork {
    pub open_p0_p1: usize,
    /// Items the team finishes in ten working days at its mean pace.
    pub two_week_capacity: f64,
    pub items: Vec<WorkItem>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostponeSuggestion {
    pub goal_id: Uuid,
    pub goal: String,
    pub deadline: NaiveDate,
    pub on_time_probability: f64,
    pub remaining: u32,
    /// Items that fit by the deadline at 85 % confidence.
    pub fits: u32,
    pub postpone: Vec<WorkItem>,
}

pub async fn agenda(
    store: &Store,
    team_id: Uuid,
    today: NaiveDate,
    cfg: &ForecastSettings,
) -> AppResult<Agenda> {
    let tf = forecast_team(store, team_id, today, cfg).await?;
    agenda_of(store, &tf, today).await
}

/// [`agenda`] from a team forecast already made ([`forecast_team`] of the
/// same day): pages that show the forecast and the agenda make it once.
pub async fn agenda_of(store: &Store, tf: &TeamForecast, today: NaiveDate) -> AppResult<Agenda> {
    let team_id = tf.team.id;
    let q = ListQuery {
        team_id: Some(team_id),
        status: Some(RiskStatus::Open.to_string()),
        limit: ListQuery::MAX_LIMIT,
        ..ListQuery::default()
    };
    let risks_awaiting_decision = store.list_risks(&q).await?.items;
    let mut agenda = Agenda {
        team: tf.team.key.clone(),
        competing_top_priorities: None,
        risks_awaiting_decision,
        postpone_to_save: Vec::new(),
        forecast_note: None,
        pending_requests: pending_requests(store, team_id, today).await?,
    };
    match &tf.forecast {
        Forecast::TooLittleHistory {
            done_in_window,
            needed,
            ..
        } => {
            agenda.forecast_note = Some(format!(
                "only {done_in_window} items done in the window ({needed} needed): no capacity or deadline checks"
            ));
        }
        Forecast::Ready { basis, targets } => {
            use tandem_domain::work_item::Priority;
            let capacity = basis.mean_per_working_day * 10.0;
            let mut top: Vec<WorkItem> = tf
                .items
                .iter()
                .filter(|i| is_open(i) && matches!(i.priority, Priority::P0 | Priority::P1))
                .cloned()
                .collect();
            if top.len() as f64 > capacity {
                top.sort_by_key(|i| (i.priority, i.created_at));
                agenda.competing_top_priorities = Some(CompetingWork {
                    open_p0_p1: top.len(),
                    two_week_capacity: (capacity * 10.0).round() / 10.0,
                    items: top,
                });
            }
            agenda.postpone_to_save = postpone_to_save(&tf.goals, targets);
        }
    }
    Ok(agenda)
}

/// A team's requests waiting for a decision or for information, and those
/// postponed to the next sync (no date) or to a day at or before `today`
/// (issue 14 §5: postponed requests come back to the sync). (Read from the
/// store directly: `requests` builds on this module.)
async fn pending_requests(
    store: &Store,
    team_id: Uuid,
    today: NaiveDate,
) -> AppResult<Vec<tandem_domain::request::Request>> {
    use tandem_domain::request::RequestStatus;
    let mut f = tandem_store::RequestFilter {
        team_id: Some(team_id),
        statuses: vec![
            RequestStatus::Waiting,
            RequestStatus::NeedsInfo,
            RequestStatus::Postponed,
        ],
        limit: 500,
        ..Default::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.list_requests(&f).await?;
        out.extend(page.items.into_iter().filter(|r| {
            r.status != RequestStatus::Postponed
                || r.decision
                    .as_ref()
                    .and_then(|d| d.postponed_until)
                    .is_none_or(|d| d <= today)
        }));
        match page.next_cursor {
            Some(c) => f.after = Some(c),
            None => return Ok(out),
        }
    }
}

/// For each goal below 85 % on time, the lowest-priority open items whose
/// postponement brings it back to 85 % confidence (the agenda's rule; the
/// cost of yes lists the same for the forecast with a request inserted).
pub fn postpone_to_save(
    goals: &[GoalInFlight],
    targets: &[TargetForecast],
) -> Vec<PostponeSuggestion> {
    let mut out = Vec::new();
    for g in goals {
        let key = g.goal.id.to_string();
        let Some(t) = targets.iter().find(|t| t.key == key) else {
            continue;
        };
        let (Some(deadline), Some(p), Some(fits)) = (t.deadline, t.on_time_probability, t.cut_line)
        else {
            continue;
        };
        if p >= 0.85 || fits >= t.remaining {
            continue;
        }
        let mut candidates = g.open_items.clone();
        // Lowest priority first, then the newest: what is least
        // needed and least started goes first.
        candidates.sort_by_key(|i| {
            (
                std::cmp::Reverse(i.priority),
                i.state == WorkState::InProgress,
                std::cmp::Reverse(i.created_at),
            )
        });
        let n = usize::try_from(t.remaining - fits).unwrap_or(usize::MAX);
        out.push(PostponeSuggestion {
            goal_id: g.goal.id,
            goal: g.goal.title.clone(),
            deadline,
            on_time_probability: p,
            remaining: t.remaining,
            fits,
            postpone: candidates.into_iter().take(n).collect(),
        });
    }
    out
}

/// Goal achievement over a period (see docs/metrics.md).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Achievement {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Agreed goals whose deadline falls in `[from, to)`.
    pub due: usize,
    pub achieved: usize,
    /// achieved ÷ due; absent when no goal was due.
    pub rate: Option<f64>,
    pub goals: Vec<GoalAchievement>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GoalAchievement {
    pub goal_id: Uuid,
    pub title: String,
    pub deadline: NaiveDate,
    pub achieved: bool,
    /// Success metrics with no series or no value by the deadline: they
    /// count as not met ("if you can't measure a metric, it doesn't exist").
    pub unmeasured: Vec<String>,
}

/// Which agreed goals due in `[from, to)` met every success metric by their
/// deadline, judged on the latest value of each metric's series at or before
/// the end of the deadline day (UTC).
pub async fn achievement(
    store: &Store,
    team_id: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Achievement> {
    if to <= from {
        return Err(AppError::bad_field(
            "to",
            format!("{to} is not after from ({from})"),
        ));
    }
    let by_team = ListQuery {
        team_id,
        ..ListQuery::default()
    };
    let listed = all(by_team, |q| async move { store.list_goals(&q).await }).await?;
    let mut outcomes = Vec::new();
    let mut goals = Vec::new();
    for goal in listed {
        let Some(deadline) = goal.timeline.deadline else {
            continue;
        };
        if goal.agreed_at.is_none() || deadline < from || deadline >= to {
            continue;
        }
        let mut achieved = !goal.success_metrics.is_empty();
        let mut unmeasured = Vec::new();
        for m in &goal.success_metrics {
            let due = m.deadline.unwrap_or(deadline);
            let end_of_day = due
                .succ_opt()
                .unwrap_or(due)
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc());
            let value = match &m.metric_key {
                Some(key) => match store.get_metric_by_key(key).await {
                    Ok(series) => store
                        .latest_point(
                            series.id,
                            end_of_day.map(|e| e - chrono::Duration::microseconds(1)),
                        )
                        .await?
                        .map(|p| p.value),
                    Err(tandem_store::StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            match value.and_then(|v| m.is_met(v)) {
                Some(met) => achieved &= met,
                None => {
                    achieved = false;
                    unmeasured.push(m.metric.clone());
                }
            }
        }
        outcomes.push(tandem_domain::goal::GoalOutcome {
            goal_id: goal.id,
            deadline,
            achieved,
        });
        goals.push(GoalAchievement {
            goal_id: goal.id,
            title: goal.title,
            deadline,
            achieved,
            unmeasured,
        });
    }
    Ok(Achievement {
        from,
        to,
        due: goals.len(),
        achieved: goals.iter().filter(|g| g.achieved).count(),
        rate: tandem_domain::goal::achievement_rate(&outcomes, from, to),
        goals,
    })
}
