//! `/agenda`: what the business is asked to decide, team by team, in plain
//! sentences — goals at risk with their options (ship what fits by the
//! deadline, or move the date), risks nobody has decided on, too many top
//! priorities for the team's capacity — from `tandem_app::forecasting::agenda`
//! (the engine behind `/api/v1/agenda`), and the decisions already recorded
//! (`/api/v1/decisions`), newest first. Stakeholders may read it: it is a
//! business page. The overview opens with the first few asks.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tandem_domain::team::Team;
use tandem_store::ListQuery;

use super::cache::PageCache;
use super::data::{self, Forecasts};
use super::overview::{Ask, all_teams};
use super::view::{self, Nav};
use super::{PageResult, Viewer, render};
use crate::AppState;
use tandem_app::forecasting::Agenda;
use tandem_app::{forecasting, paging};

/// The Monday of `d`'s week.
pub fn monday(d: NaiveDate) -> NaiveDate {
    tandem_app::kpis::monday(d)
}

/// What `team` is asked to decide this week, in plain sentences, most
/// pressing first: goals at risk, then competing top priorities, then risks
/// awaiting a decision; with the agenda they come from. The team's forecast
/// is made once ([`data::team_forecast`]) for the agenda and the sentences.
pub async fn asks(
    state: &AppState,
    cache: &PageCache,
    team: &Team,
    today: NaiveDate,
) -> PageResult<(Agenda, Vec<Ask>)> {
    let store = &state.store;
    let tf = data::team_forecast(state, cache, team.id, today).await?;
    let agenda = forecasting::agenda_of(store, &tf, today).await?;
    let forecasts = Forecasts::of(tf.clone());
    let mut out = Vec::new();
    let mut goals = Vec::new();
    for s in &agenda.postpone_to_save {
        // The goal as the forecast read it (it is one of the team's goals
        // in flight), else as stored.
        match tf.goals.iter().find(|g| g.goal.id == s.goal_id) {
            Some(g) => goals.push(g.goal.clone()),
            None => goals.push(store.get_goal(s.goal_id).await?),
        }
    }
    for (s, goal) in agenda.postpone_to_save.iter().zip(&goals) {
        let likely = forecasts
            .target(goal)
            .and_then(|t| t.p85)
            .map_or_else(String::new, |p| {
                format!("; 85 % likely by {}", view::day(p))
            });
        let owner = goal
            .parties
            .owner
            .as_deref()
            .map_or_else(String::new, |o| format!(" Owner: {o}."));
        out.push(Ask {
            team: team.name.clone(),
            text: format!(
                "{}: {} likely by the deadline {}{likely}. Options: ship {} of the {} remaining items by {}, or move the date.{owner}",
                s.goal,
                view::percent(s.on_time_probability),
                view::day(s.deadline),
                s.fits,
                s.remaining,
                view::day(s.deadline),
            ),
            href: format!("/goals/{}", s.goal_id),
        });
    }
    if let Some(c) = &agenda.competing_top_priorities {
        out.push(Ask {
            team: team.name.clone(),
            text: format!(
                "{} urgent (P0/P1) items are open, more than {} finishes in two weeks (about {}): which come first?",
                c.open_p0_p1,
                team.name,
                view::number(c.two_week_capacity)
            ),
            href: format!("/agenda?team={}", team.key),
        });
    }
    for r in &agenda.risks_awaiting_decision {
        let plan = if r.plan.trim().is_empty() {
            String::new()
        } else {
            format!(" Proposed: {}", r.plan.trim())
        };
        out.push(Ask {
            team: team.name.clone(),
            text: format!(
                "Risk “{}” ({} likelihood, {} impact) awaits a decision.{plan}",
                r.title, r.likelihood, r.impact
            ),
            href: r.goal_id.map_or_else(
                || format!("/agenda?team={}", team.key),
                |g| format!("/goals/{g}"),
            ),
        });
    }
    Ok((agenda, out))
}

#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub team: String,
    pub title: String,
    pub decision: String,
    pub by: String,
    pub when: String,
    pub goal: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct TeamAgenda {
    pub name: String,
    pub key: String,
    pub asks: Vec<Ask>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Template)]
#[template(path = "agenda.html")]
pub struct AgendaPage {
    pub nav: Nav,
    pub as_of: String,
    pub teams: Vec<TeamAgenda>,
    pub decisions: Vec<DecisionRow>,
    pub filter: String,
}

#[derive(Debug, Deserialize)]
pub struct AgendaQuery {
    pub team: Option<String>,
}

/// `GET /agenda[?team=KEY]`.
pub async fn page(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    viewer: Viewer,
    Query(q): Query<AgendaQuery>,
) -> PageResult<Response> {
    // Only a team's key reaches the cache key (a typed value never grows it).
    let filter = match q.team.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            tandem_app::lookup::team(&state.store, t)
                .await
                .map_err(crate::http::error::ApiError::from)?
                .key
        }
        None => String::new(),
    };
    let cached = cache
        .get_or_try(format!("agenda:{filter}"), || {
            build(&state, &cache, filter.clone())
        })
        .await?;
    let mut page = (*cached).clone();
    page.nav = viewer.nav("agenda");
    render(&page)
}

async fn build(state: &AppState, cache: &PageCache, filter: String) -> PageResult<AgendaPage> {
    let store = &state.store;
    let now = Utc::now();
    let today = now.date_naive();
    let mut teams = all_teams(state).await?;
    if !filter.is_empty() {
        teams.retain(|t| t.key == filter);
    }
    let mut out = Vec::new();
    for t in &teams {
        let (agenda, asks) = asks(state, cache, t, today).await?;
        out.push(TeamAgenda {
            name: t.name.clone(),
            key: t.key.clone(),
            asks,
            note: agenda
                .forecast_note
                .map(|n| format!("No deadline checks for {}: {n}.", t.name)),
        });
    }
    let mut listed = Vec::new();
    for t in &teams {
        let of_team = paging::all(
            ListQuery {
                team_id: Some(t.id),
                ..ListQuery::default()
            },
            |q| async move { store.list_decisions(&q).await },
        )
        .await?;
        listed.push((t, of_team));
    }
    // Every goal's title in one query, not one per decision.
    let mut goal_ids: Vec<_> = listed
        .iter()
        .flat_map(|(_, ds)| ds.iter().filter_map(|d| d.goal_id))
        .collect();
    goal_ids.sort();
    goal_ids.dedup();
    let titles = store.goal_titles(&goal_ids).await?;
    let mut decisions = Vec::new();
    for (t, of_team) in listed {
        for d in of_team {
            let goal = d
                .goal_id
                .and_then(|g| titles.get(&g).map(|title| (g.to_string(), title.clone())));
            decisions.push((
                d.decided_at,
                DecisionRow {
                    team: t.name.clone(),
                    title: d.title,
                    decision: d.decision,
                    by: d.decided_by.unwrap_or_else(|| "–".to_owned()),
                    when: view::day(d.decided_at.date_naive()),
                    goal,
                },
            ));
        }
    }
    decisions.sort_by_key(|d| std::cmp::Reverse(d.0));
    Ok(AgendaPage {
        nav: Nav::placeholder(),
        as_of: view::instant(now),
        teams: out,
        decisions: decisions.into_iter().map(|d| d.1).collect(),
        filter,
    })
}
