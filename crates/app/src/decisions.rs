//! The decision log: record a decision, edit one. The API
//! (`POST/PATCH /api/v1/decisions`) and `tandem decision create` both come
//! here. [`decide_goal`] is the business's answer to a goal at risk (accept
//! the new date, cut scope to the cut line, add people, drop): the goal page's
//! form and `POST /api/v1/goals/{id}/decision` both come here, and it writes
//! the decision, the goal's new version, the risks it answers and the items
//! it moves in one transaction (`Store::record_goal_decision`).

use chrono::{NaiveDate, Utc};
use tandem_domain::decision::{
    Decision, DecisionPatch, GoalDecisionChoice, GoalDecisionInput, NewDecision,
};
use tandem_domain::forecast::TargetForecast;
use tandem_domain::goal::{FieldChange, Goal, GoalPatch, GoalStatus, GoalTransition, Timeline};
use tandem_domain::report;
use tandem_domain::risk::{Risk, RiskPatch, RiskSource, RiskStatus};
use tandem_domain::work_item::WorkItem;
use tandem_store::{GoalDecisionWrite, ListQuery, Store};
use uuid::Uuid;

use crate::forecasting;
use crate::{AppError, AppResult};

/// Stores a new decision (decided now unless the input says when).
pub async fn create(store: &Store, input: NewDecision) -> AppResult<Decision> {
    let d = input.into_decision(Uuid::now_v7(), Utc::now())?;
    store.create_decision(&d).await?;
    Ok(d)
}

/// Applies `patch` to decision `id`.
pub async fn update(store: &Store, id: Uuid, patch: DecisionPatch) -> AppResult<Decision> {
    let mut d = store.get_decision(id).await?;
    d.apply(patch, Utc::now())?;
    store.update_decision(&d).await?;
    Ok(d)
}

// ---------------------------------------------------------------------------
// A decision about a goal at risk
// ---------------------------------------------------------------------------

/// What recording a decision about a goal changed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = GoalDecisionOutcome)]
pub struct GoalDecisionOutcome {
    pub decision: Decision,
    /// The goal's new version.
    pub goal: Goal,
    /// The risks the decision closed or marked mitigating.
    pub risks: Vec<Risk>,
    /// The items moved out of the goal (cut scope).
    pub moved_items: Vec<WorkItem>,
}

/// The goal's forecast when the decision is taken, in the team's joint
/// forecast (the agenda's and the overview's numbers).
struct ForecastThen {
    target: Option<TargetForecast>,
    postpone: Vec<WorkItem>,
    note: Option<String>,
}

async fn forecast_then(
    store: &Store,
    settings: &crate::Settings,
    goal: &Goal,
    today: NaiveDate,
) -> AppResult<ForecastThen> {
    let tf = forecasting::forecast_team(store, goal.team_id, today, &settings.forecast).await?;
    let Some(targets) = tf.forecast.targets() else {
        return Ok(ForecastThen {
            target: None,
            postpone: Vec::new(),
            note: Some("the team's history is too short to forecast".to_owned()),
        });
    };
    let key = goal.id.to_string();
    let target = targets.iter().find(|t| t.key == key).cloned();
    let postpone = forecasting::postpone_to_save(&tf.goals, targets)
        .into_iter()
        .find(|s| s.goal_id == goal.id)
        .map(|s| s.postpone)
        .unwrap_or_default();
    let note = target
        .is_none()
        .then(|| "the goal has no forecast (it is not agreed or has no open work)".to_owned());
    Ok(ForecastThen {
        target,
        postpone,
        note,
    })
}

/// "2 % likely by the deadline Sun 27 Dec; an even chance by …; 85 % likely
/// by Wed 3 Mar; 7 of the 17 remaining items fit by the deadline."
fn figures(f: &ForecastThen, deadline: Option<NaiveDate>) -> String {
    let Some(t) = &f.target else {
        return f.note.clone().unwrap_or_default();
    };
    let day = |d: Option<NaiveDate>| {
        d.map_or_else(|| "beyond the forecast horizon".to_owned(), report::day)
    };
    let mut parts = Vec::new();
    if let (Some(p), Some(d)) = (t.on_time_probability, deadline) {
        parts.push(format!(
            "{} % likely by the deadline {}",
            (p * 100.0).round(),
            report::day(d)
        ));
    }
    parts.push(format!("an even chance of done by {}", day(t.p50)));
    parts.push(format!("85 % likely by {}", day(t.p85)));
    if let Some(cut) = t.cut_line {
        parts.push(format!(
            "{cut} of the {} remaining items fit by the deadline",
            t.remaining
        ));
    } else {
        parts.push(format!("{} items remain", t.remaining));
    }
    parts.join("; ")
}

fn item_name(i: &WorkItem) -> String {
    match &i.external_key {
        Some(k) => format!("{k} {}", i.title),
        None => i.title.clone(),
    }
}

/// Records what the business decided about goal `goal_id` (accept the new
/// date, cut scope to the cut line, add people, drop it) as `actor`: a
/// decision with who, when, why and the forecast figures of the moment; a
/// new version of the goal; the goal's deadline risks (Tandem's forecast
/// checks, and `input.risk_id`) closed — or marked mitigating when people
/// are added; for a cut, the items beyond the cut line moved out of the goal
/// into the backlog. All of it in one transaction, or nothing.
pub async fn decide_goal(
    store: &Store,
    settings: &crate::Settings,
    goal_id: Uuid,
    input: GoalDecisionInput,
    actor: &str,
) -> AppResult<GoalDecisionOutcome> {
    input.validate()?;
    let now = Utc::now();
    let today = now.date_naive();
    let goal = store.get_goal(goal_id).await?;
    if !matches!(goal.status, GoalStatus::Agreed | GoalStatus::InProgress) {
        return Err(AppError::Conflict {
            message: format!(
                "“{}” is {}: only an agreed goal or one in progress takes a decision",
                goal.title,
                goal.status.to_string().replace('_', " ")
            ),
            field: Some("status".into()),
        });
    }
    let then = forecast_then(store, settings, &goal, today).await?;
    let deadline = goal.timeline.deadline;
    let figures = figures(&then, deadline);
    let reason = input.reason.trim().to_owned();

    let mut moved_items = Vec::new();
    let (change, what) = match input.choice {
        GoalDecisionChoice::AcceptDate => {
            let new = match input
                .new_deadline
                .or(then.target.as_ref().and_then(|t| t.p85))
            {
                Some(d) => d,
                None => {
                    return Err(AppError::bad_field(
                        "new_deadline",
                        "the forecast has no 85 % date for this goal; give the new deadline",
                    ));
                }
            };
            if new < today {
                return Err(AppError::bad_field(
                    "new_deadline",
                    format!("{} is in the past", report::day(new)),
                ));
            }
            if Some(new) == deadline {
                return Err(AppError::bad_field(
                    "new_deadline",
                    format!("the deadline is already {}", report::day(new)),
                ));
            }
            let mut metrics = goal.success_metrics.clone();
            for m in &mut metrics {
                if m.deadline.is_some() && m.deadline == deadline {
                    m.deadline = Some(new);
                }
            }
            let patch = GoalPatch {
                timeline: Some(Timeline {
                    deadline: Some(new),
                    ..goal.timeline.clone()
                }),
                success_metrics: Some(metrics),
                ..GoalPatch::default()
            };
            let what = format!(
                "Accept the new date: the deadline moves from {} to {}.",
                deadline.map_or_else(|| "none".to_owned(), report::day),
                report::day(new)
            );
            (goal.decide(patch, Vec::new(), actor, now)?, what)
        }
        GoalDecisionChoice::CutScope => {
            let (Some(t), false) = (&then.target, then.postpone.is_empty()) else {
                return Err(AppError::bad_field(
                    "choice",
                    "the forecast puts no item beyond the cut line: every remaining item fits by the deadline (or there is no forecast)",
                ));
            };
            let names: Vec<String> = then.postpone.iter().map(item_name).collect();
            for i in &then.postpone {
                let mut moved = i.clone();
                moved.goal_id = None;
                moved.stage_id = None;
                moved.updated_at = tandem_domain::time::micros(now);
                moved_items.push(moved);
            }
            let kept = t
                .remaining
                .saturating_sub(u32::try_from(names.len()).unwrap_or(u32::MAX));
            let extra = vec![FieldChange {
                field: "scope".to_owned(),
                before: serde_json::json!({ "remaining_items": t.remaining }),
                after: serde_json::json!({ "remaining_items": kept, "moved_to_backlog": names }),
            }];
            let what = format!(
                "Cut scope to the cut line: {} items move to the backlog ({}); {kept} remain for {}.",
                names.len(),
                names.join(", "),
                deadline.map_or_else(|| "the deadline".to_owned(), report::day),
            );
            (goal.decide(GoalPatch::default(), extra, actor, now)?, what)
        }
        GoalDecisionChoice::AddPeople => {
            let mut parties = goal.parties.clone();
            let mut added = Vec::new();
            for p in &input.people {
                let p = p.trim().to_owned();
                if !parties.contributors.contains(&p) {
                    parties.contributors.push(p.clone());
                    added.push(p);
                }
            }
            if added.is_empty() {
                return Err(AppError::bad_field(
                    "people",
                    "everyone named already contributes to the goal",
                ));
            }
            let patch = GoalPatch {
                parties: Some(parties),
                ..GoalPatch::default()
            };
            let what = format!("Add people: {} join the goal.", added.join(", "));
            (goal.decide(patch, Vec::new(), actor, now)?, what)
        }
        GoalDecisionChoice::Drop => (
            goal.transition(GoalTransition::Drop, actor, now)?,
            "Drop the goal.".to_owned(),
        ),
    };

    // The risks the decision answers.
    let open = crate::paging::all(
        ListQuery {
            goal_id: Some(goal.id),
            ..ListQuery::default()
        },
        |q| async move { store.list_risks(&q).await },
    )
    .await?;
    let mut answered: Vec<Risk> = open
        .into_iter()
        .filter(|r| r.status != RiskStatus::Closed)
        .filter(|r| {
            input.choice == GoalDecisionChoice::Drop
                || r.source == RiskSource::Forecast
                || Some(r.id) == input.risk_id
        })
        .collect();
    if let Some(id) = input.risk_id
        && !answered.iter().any(|r| r.id == id)
    {
        let r = store
            .get_risk(id)
            .await
            .map_err(|_| AppError::bad_field("risk_id", format!("there is no risk {id}")))?;
        if r.team_id != goal.team_id {
            return Err(AppError::bad_field(
                "risk_id",
                format!("risk “{}” belongs to another team", r.title),
            ));
        }
        if r.status != RiskStatus::Closed {
            answered.push(r);
        }
    }
    for r in &mut answered {
        let patch = if input.choice == GoalDecisionChoice::AddPeople {
            RiskPatch {
                status: Some(RiskStatus::Mitigating),
                plan: Some(what.clone()),
                ..RiskPatch::default()
            }
        } else {
            RiskPatch {
                status: Some(RiskStatus::Closed),
                ..RiskPatch::default()
            }
        };
        r.apply(patch, now)?;
    }

    let mut consequences = Vec::new();
    if let Some(v) = &change.version {
        consequences.push(format!("The goal is now at version {}.", v.version));
    }
    let closed = answered
        .iter()
        .filter(|r| r.status == RiskStatus::Closed)
        .count();
    let mitigating = answered.len() - closed;
    if closed > 0 {
        consequences.push(format!("{closed} risks closed."));
    }
    if mitigating > 0 {
        consequences.push(format!("{mitigating} risks marked mitigating."));
    }
    let options = GoalDecisionChoice::ALL
        .iter()
        .map(|c| c.words().to_owned())
        .collect();
    let decision = NewDecision {
        team_id: goal.team_id,
        goal_id: Some(goal.id),
        title: format!("{}: {}", goal.title, input.choice.words().to_lowercase()),
        context: format!("{reason}\n\nForecast on {}: {figures}.", report::day(today)),
        options,
        decision: what,
        consequences: consequences.join(" "),
        decided_by: Some(actor.to_owned()),
        decided_at: None,
    }
    .into_decision(Uuid::now_v7(), now)?;
    let write = GoalDecisionWrite {
        decision,
        goal: change,
        read_version: goal.version,
        risks: answered,
        items: moved_items,
    };
    store.record_goal_decision(&write).await?;
    Ok(GoalDecisionOutcome {
        decision: write.decision,
        goal: write.goal.goal,
        risks: write.risks,
        moved_items: write.items,
    })
}
