//! Honest risks: Tandem's own checks, and how their findings become risks.
//!
//! Three checks find trouble: a goal or stage whose forecast says the
//! deadline is at risk (on-time probability below a threshold, or the P85
//! date past the deadline), work in progress that has not changed for days,
//! and blocked work. Each finding has a cause key (`forecast:goal:<id>`,
//! `forecast:stage:<id>`, `stale:item:<id>`, `blocked:item:<id>`).
//! [`reconcile`] compares the findings with the risks already raised and says
//! what to open, update, reopen or close, so running the checks again never
//! duplicates a risk, and a risk closes itself when its cause goes away.
//! Risks people raise by hand (`source = manual`) are never touched.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::goal::Goal;
use crate::risk::{Level, Risk, RiskSource, RiskStatus};
use crate::stage::Stage;
use crate::work_item::{WorkItem, WorkState};

/// Thresholds for the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSettings {
    /// A goal or stage below this probability of finishing by its deadline
    /// is at risk (default 0.70).
    pub on_time_threshold: f64,
    /// In-progress work unchanged for this many days is stale (default 5).
    pub stale_days: i64,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            on_time_threshold: 0.70,
            stale_days: 5,
        }
    }
}

/// What the forecast says about one goal or stage, as the checks need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastView {
    pub deadline: NaiveDate,
    pub remaining: u32,
    pub on_time_probability: f64,
    /// The realistic ETA.
    pub p85: Option<NaiveDate>,
    /// Items that fit by the deadline at 85 % confidence.
    pub cut_line: u32,
}

/// A risk the checks want to exist, keyed by its cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub cause_key: String,
    pub source: RiskSource,
    pub team_id: Uuid,
    pub goal_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub likelihood: Level,
    pub impact: Level,
    pub plan: String,
    pub schedule_impact_days: i32,
    pub drafted_update: String,
}

/// A goal (or a stage of it) at risk, from its forecast.
pub fn forecast_finding(
    goal: &Goal,
    stage: Option<&Stage>,
    view: &ForecastView,
    settings: &CheckSettings,
) -> Option<Finding> {
    let late = view.p85.is_none_or(|eta| eta > view.deadline);
    if view.on_time_probability >= settings.on_time_threshold && !late {
        return None;
    }
    let (subject, cause_key) = match stage {
        Some(s) => (
            format!("stage \"{}\" of \"{}\"", s.name, goal.title),
            format!("forecast:stage:{}", s.id),
        ),
        None => (
            format!("\"{}\"", goal.title),
            format!("forecast:goal:{}", goal.id),
        ),
    };
    let percent = (view.on_time_probability * 100.0).round();
    let slip_days = view
        .p85
        .map(|eta| (eta - view.deadline).num_days().max(0))
        .unwrap_or(0);
    let eta_text = match view.p85 {
        Some(eta) if slip_days > 0 => format!("{eta} (+{slip_days} days)"),
        Some(eta) => format!("{eta}"),
        None => "not within the forecast horizon at the current throughput".to_owned(),
    };
    let alternative = if view.cut_line == 0 {
        "none of the remaining items fits by the deadline at 85 % confidence; move the deadline or add capacity".to_owned()
    } else {
        format!(
            "ship the {} highest-priority of the {} remaining items by {} (85 % confidence) and move the rest to a follow-up",
            view.cut_line, view.remaining, view.deadline
        )
    };
    let plan = "Agree with the requester at the next sync: cut scope to what fits, or accept the new date.".to_owned();
    let drafted_update = format!(
        "Found: at the team's recent throughput, {subject} has a {percent:.0} % chance of finishing by {deadline}. \
         Deadline at risk: {deadline}. Plan: {plan} New realistic ETA (85 % confidence): {eta_text}. \
         Alternative: {alternative}.",
        deadline = view.deadline,
    );
    let likelihood = if view.on_time_probability < 0.3 {
        Level::High
    } else if view.on_time_probability < 0.5 {
        Level::Medium
    } else {
        Level::Low
    };
    Some(Finding {
        cause_key,
        source: RiskSource::Forecast,
        team_id: goal.team_id,
        goal_id: Some(goal.id),
        stage_id: stage.map(|s| s.id),
        title: format!("Deadline at risk: {subject}"),
        description: format!(
            "{} items remain; {percent:.0} % chance of finishing by {}; P85 {}.",
            view.remaining,
            view.deadline,
            view.p85
                .map_or("beyond the horizon".to_owned(), |d| d.to_string()),
        ),
        likelihood,
        impact: if stage.is_some() {
            Level::Medium
        } else {
            Level::High
        },
        plan,
        schedule_impact_days: i32::try_from(slip_days).unwrap_or(i32::MAX).min(3650),
        drafted_update,
    })
}

/// Stale and blocked work among `items`.
pub fn work_findings(
    items: &[WorkItem],
    now: DateTime<Utc>,
    settings: &CheckSettings,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for item in items {
        let label = item
            .external_key
            .as_deref()
            .map_or_else(|| item.title.clone(), |k| format!("{k} {}", item.title));
        // What differs between the causes; the rest comes from the item.
        let (cause, source, likelihood, title, description, plan, drafted_update) = match item.state
        {
            WorkState::Blocked => (
                "blocked",
                RiskSource::Blocked,
                Level::High,
                format!("Blocked: {label}"),
                format!(
                    "{label} is blocked (since {}).",
                    item.updated_at.date_naive()
                ),
                "Name what blocks it and who can unblock it; escalate at the next sync.",
                format!(
                    "Found: {label} is blocked. Plan: find who can unblock it this week. \
                     Alternative: take it out of the current stage and continue with the rest."
                ),
            ),
            WorkState::InProgress => {
                let idle = (now - item.updated_at).num_days();
                if idle < settings.stale_days {
                    continue;
                }
                (
                    "stale",
                    RiskSource::Stale,
                    Level::Medium,
                    format!("No progress for {idle} days: {label}"),
                    format!(
                        "{label} has been in progress without a change since {}.",
                        item.updated_at.date_naive()
                    ),
                    "Ask what is in the way; split the item or pair on it.",
                    format!(
                        "Found: {label} has not moved for {idle} days. Plan: find out what is in the way \
                         and split or pair on it. Alternative: put it back to the backlog and free the capacity."
                    ),
                )
            }
            _ => continue,
        };
        out.push(Finding {
            cause_key: format!("{cause}:item:{}", item.id),
            source,
            team_id: item.team_id,
            goal_id: item.goal_id,
            stage_id: item.stage_id,
            title,
            description,
            likelihood,
            impact: Level::Medium,
            plan: plan.to_owned(),
            schedule_impact_days: 0,
            drafted_update,
        });
    }
    out
}

/// One change to the stored risks, with a note for the risk's history.
#[derive(Debug, Clone, PartialEq)]
pub enum RiskChange {
    Open(Risk),
    Update(Risk),
    Reopen(Risk),
    Close(Risk),
}

impl RiskChange {
    pub fn risk(&self) -> &Risk {
        match self {
            RiskChange::Open(r)
            | RiskChange::Update(r)
            | RiskChange::Reopen(r)
            | RiskChange::Close(r) => r,
        }
    }

    /// A line for the risk's history.
    pub fn note(&self) -> &'static str {
        match self {
            RiskChange::Open(_) => "opened by Tandem's checks",
            RiskChange::Update(_) => "updated: the finding changed",
            RiskChange::Reopen(_) => "reopened: the cause is back",
            RiskChange::Close(_) => "closed: the cause went away",
        }
    }
}

/// What to do so that the stored risks match the findings. `existing` are
/// the risks raised by checks (any status); `checked_teams` limits closing to
/// the teams whose checks ran, so a partial run never closes other teams'
/// risks. `new_id` mints ids for new risks.
pub fn reconcile(
    findings: &[Finding],
    existing: &[Risk],
    checked_teams: &[Uuid],
    now: DateTime<Utc>,
    mut new_id: impl FnMut() -> Uuid,
) -> Vec<RiskChange> {
    let now = crate::time::micros(now);
    let mut changes = Vec::new();
    for f in findings {
        let current = existing
            .iter()
            .find(|r| r.cause_key.as_deref() == Some(f.cause_key.as_str()));
        match current {
            None => changes.push(RiskChange::Open(apply(f, None, now, new_id()))),
            Some(r) if r.status == RiskStatus::Closed => {
                let mut reopened = apply(f, Some(r), now, r.id);
                reopened.status = RiskStatus::Open;
                reopened.closed_at = None;
                changes.push(RiskChange::Reopen(reopened));
            }
            Some(r) => {
                let updated = apply(f, Some(r), now, r.id);
                if differs(&updated, r) {
                    changes.push(RiskChange::Update(updated));
                }
            }
        }
    }
    for r in existing {
        let still_found = r
            .cause_key
            .as_deref()
            .is_some_and(|k| findings.iter().any(|f| f.cause_key == k));
        if r.source != RiskSource::Manual
            && r.status != RiskStatus::Closed
            && !still_found
            && checked_teams.contains(&r.team_id)
        {
            let mut closed = r.clone();
            closed.status = RiskStatus::Closed;
            closed.closed_at = Some(now);
            closed.updated_at = now;
            changes.push(RiskChange::Close(closed));
        }
    }
    changes
}

/// The risk a finding describes; an existing risk keeps its id, creation
/// time, status and the owner and plan people may have set.
fn apply(f: &Finding, existing: Option<&Risk>, now: DateTime<Utc>, id: Uuid) -> Risk {
    Risk {
        id,
        team_id: f.team_id,
        goal_id: f.goal_id,
        stage_id: f.stage_id,
        title: f.title.clone(),
        description: f.description.clone(),
        likelihood: f.likelihood,
        impact: f.impact,
        plan: existing
            .map(|r| r.plan.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| f.plan.clone()),
        owner: existing.and_then(|r| r.owner.clone()),
        schedule_impact_days: f.schedule_impact_days,
        status: existing.map_or(RiskStatus::Open, |r| r.status),
        source: f.source,
        cause_key: Some(f.cause_key.clone()),
        drafted_update: f.drafted_update.clone(),
        created_at: existing.map_or(now, |r| r.created_at),
        updated_at: now,
        closed_at: existing.and_then(|r| r.closed_at),
    }
}

/// True when what the finding says changed (not merely the time).
fn differs(a: &Risk, b: &Risk) -> bool {
    (
        &a.title,
        &a.description,
        a.likelihood,
        a.impact,
        a.schedule_impact_days,
        &a.drafted_update,
    ) != (
        &b.title,
        &b.description,
        b.likelihood,
        b.impact,
        b.schedule_impact_days,
        &b.drafted_update,
    )
}

/// What a goal's forecast does not account for. The forecast (Monte Carlo
/// over the team's throughput) counts a blocked item as ordinary remaining
/// work and ignores risks, so next to a blocked item it promises too much.
/// `items` are the goal's work items, `risks` its open risks. `None` when
/// nothing is blocked. The second value is true when a high-likelihood open
/// risk sits on the goal as well: then an "on track" forecast must not be
/// shown as on track.
pub fn forecast_caveat(items: &[WorkItem], risks: &[Risk]) -> Option<(String, bool)> {
    let blocked: Vec<String> = items
        .iter()
        .filter(|i| i.state == WorkState::Blocked)
        .map(|i| {
            i.external_key
                .clone()
                .unwrap_or_else(|| format!("“{}”", i.title))
        })
        .collect();
    let first = blocked.first()?;
    let names = match blocked.len() {
        1 => format!("blocked {first} unblocks"),
        2 => format!("blocked {first} and {} unblock", blocked[1]),
        n => format!("blocked {first} and {} more items unblock", n - 1),
    };
    let likely_risk = risks
        .iter()
        .any(|r| r.status != RiskStatus::Closed && r.likelihood == Level::High);
    Some((format!("forecast assumes {names}"), likely_risk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goal::{NewGoal, Parties, Timeline};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()
    }

    fn goal() -> Goal {
        NewGoal {
            team_id: Uuid::from_u128(1),
            project_id: None,
            title: "Faster checkout".into(),
            business_goal: "More conversions".into(),
            technical_tasks: String::new(),
            hypotheses: vec![],
            success_metrics: vec![],
            parties: Parties::default(),
            timeline: Timeline::default(),
        }
        .into_goal(Uuid::from_u128(2), now())
        .unwrap()
    }

    fn view(probability: f64, p85: Option<NaiveDate>) -> ForecastView {
        ForecastView {
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15).unwrap(),
            remaining: 20,
            on_time_probability: probability,
            p85,
            cut_line: 12,
        }
    }

    fn ids() -> impl FnMut() -> Uuid {
        let mut n = 100;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    #[test]
    fn a_goal_on_track_raises_nothing() {
        let on_time = view(0.9, NaiveDate::from_ymd_opt(2026, 12, 10));
        assert!(forecast_finding(&goal(), None, &on_time, &CheckSettings::default()).is_none());
    }

    #[test]
    fn a_late_goal_gets_an_honest_drafted_update() {
        let late = view(0.4, NaiveDate::from_ymd_opt(2026, 12, 22));
        let f = forecast_finding(&goal(), None, &late, &CheckSettings::default()).unwrap();
        assert_eq!(f.cause_key, format!("forecast:goal:{}", Uuid::from_u128(2)));
        assert_eq!(f.schedule_impact_days, 7);
        assert_eq!(f.likelihood, Level::Medium);
        let u = &f.drafted_update;
        for part in [
            "Found:",
            "40 % chance",
            "Deadline at risk: 2026-12-15",
            "Plan:",
            "2026-12-22 (+7 days)",
            "Alternative: ship the 12",
        ] {
            assert!(u.contains(part), "{part:?} missing from {u}");
        }
        // P85 past the deadline is enough even when the probability is fine.
        let p85_late = view(0.8, NaiveDate::from_ymd_opt(2026, 12, 16));
        assert!(forecast_finding(&goal(), None, &p85_late, &CheckSettings::default()).is_some());
    }

    #[test]
    fn reconcile_opens_once_updates_and_closes() {
        let g = goal();
        let team = g.team_id;
        let f1 = forecast_finding(
            &g,
            None,
            &view(0.4, NaiveDate::from_ymd_opt(2026, 12, 22)),
            &CheckSettings::default(),
        )
        .unwrap();
        let opened = reconcile(std::slice::from_ref(&f1), &[], &[team], now(), ids());
        assert!(matches!(opened.as_slice(), [RiskChange::Open(_)]));
        let stored = vec![opened[0].risk().clone()];

        // Same finding again: nothing to do (no duplicate, no churn).
        assert!(reconcile(std::slice::from_ref(&f1), &stored, &[team], now(), ids()).is_empty());

        // The forecast worsens: the same risk is updated.
        let f2 = forecast_finding(
            &g,
            None,
            &view(0.2, NaiveDate::from_ymd_opt(2026, 12, 30)),
            &CheckSettings::default(),
        )
        .unwrap();
        let updated = reconcile(std::slice::from_ref(&f2), &stored, &[team], now(), ids());
        match updated.as_slice() {
            [RiskChange::Update(r)] => {
                assert_eq!(r.id, stored[0].id);
                assert_eq!(r.likelihood, Level::High);
                assert_eq!(r.schedule_impact_days, 15);
            }
            other => panic!("{other:?}"),
        }

        // The cause goes away: the risk closes, but only for checked teams.
        assert!(reconcile(&[], &stored, &[Uuid::from_u128(99)], now(), ids()).is_empty());
        let closed = reconcile(&[], &stored, &[team], now(), ids());
        let closed_risk = match closed.as_slice() {
            [RiskChange::Close(r)] => r.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(closed_risk.closed_at, Some(now()));

        // And reopens when the cause is back.
        let reopened = reconcile(
            std::slice::from_ref(&f1),
            &[closed_risk],
            &[team],
            now(),
            ids(),
        );
        match reopened.as_slice() {
            [RiskChange::Reopen(r)] => {
                assert_eq!((r.status, r.closed_at), (RiskStatus::Open, None));
                assert_eq!(r.id, stored[0].id);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn manual_risks_are_never_touched() {
        let mut manual = reconcile(
            &[
                forecast_finding(&goal(), None, &view(0.1, None), &CheckSettings::default())
                    .unwrap(),
            ],
            &[],
            &[Uuid::from_u128(1)],
            now(),
            ids(),
        )[0]
        .risk()
        .clone();
        manual.source = RiskSource::Manual;
        manual.cause_key = None;
        assert!(reconcile(&[], &[manual], &[Uuid::from_u128(1)], now(), ids()).is_empty());
    }

    #[test]
    fn stale_and_blocked_work() {
        use crate::work_item::{NewWorkItem, WorkKind};
        let make = |state| {
            NewWorkItem {
                team_id: Uuid::from_u128(1),
                project_id: None,
                goal_id: None,
                stage_id: None,
                title: "Cache the list".into(),
                kind: WorkKind::Feature,
                priority: None,
                impact: None,
                complexity: None,
                state: Some(state),
                context: Default::default(),
                scores: Default::default(),
                external_key: Some("PAY-7".into()),
                source: None,
                created_at: None,
                started_at: None,
                done_at: None,
            }
            .into_item(Uuid::from_u128(7), now() - chrono::Duration::days(6))
            .unwrap()
        };
        let s = CheckSettings::default();
        let stale = work_findings(&[make(WorkState::InProgress)], now(), &s);
        assert_eq!(stale.len(), 1);
        assert_eq!(
            stale[0].title,
            "No progress for 6 days: PAY-7 Cache the list"
        );
        let fresh = work_findings(
            &[make(WorkState::InProgress)],
            now() - chrono::Duration::days(2),
            &s,
        );
        assert!(fresh.is_empty());
        let blocked = work_findings(&[make(WorkState::Blocked)], now(), &s);
        assert_eq!(
            blocked[0].cause_key,
            format!("blocked:item:{}", Uuid::from_u128(7))
        );
    }
}
