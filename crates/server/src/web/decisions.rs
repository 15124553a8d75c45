//! `/decisions`: the decisions log — every recorded decision, newest first,
//! filtered by team and goal (`?team=KEY&goal=ID`), with who decided, when,
//! why and what changed; `/decisions.md` downloads the same list as Markdown
//! (`tandem_domain::decision::log_markdown`). A business page: stakeholders
//! read it. Read from the store each time (the list is small and a decision
//! just recorded must show at once).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tandem_domain::decision::{LogEntry, log_markdown};
use tandem_domain::team::Team;
use tandem_store::ListQuery;
use uuid::Uuid;

use super::overview::all_teams;
use super::view::{self, Nav};
use super::{PageError, PageResult, Viewer, render};
use crate::AppState;
use tandem_app::paging;

#[derive(Debug, Clone)]
pub struct LogRow {
    pub team: String,
    pub title: String,
    pub decision: String,
    pub why: String,
    pub figures: String,
    pub consequences: String,
    pub by: String,
    pub when: String,
    pub goal: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Template)]
#[template(path = "decisions.html")]
pub struct DecisionsPage {
    pub nav: Nav,
    pub as_of: String,
    pub teams: Vec<Choice>,
    pub goals: Vec<Choice>,
    pub rows: Vec<LogRow>,
    pub filtered: bool,
    pub export_href: String,
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    pub team: Option<String>,
    pub goal: Option<String>,
}

/// The log's entries for the filter, newest first, and the filter resolved
/// (team key, goal id).
/// The log's entries (newest first), the team filter's key, the goal
/// filter, and every team (for the filter's choices): four queries
/// whatever the number of decisions (the goals' titles in one).
async fn entries(
    state: &AppState,
    q: &LogQuery,
) -> PageResult<(Vec<LogEntry>, Option<String>, Option<Uuid>, Vec<Team>)> {
    let store = &state.store;
    let teams = all_teams(state).await?;
    let team = match q.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(
            teams
                .iter()
                .find(|x| x.key == t || Uuid::try_parse(t).ok() == Some(x.id))
                .cloned()
                .ok_or_else(|| PageError::not_found(format!("There is no team {t}.")))?,
        ),
        None => None,
    };
    let goal = match q.goal.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => Some(
            Uuid::try_parse(g)
                .map_err(|_| PageError::not_found(format!("There is no goal {g}.")))?,
        ),
        None => None,
    };
    let listed = paging::all(
        ListQuery {
            team_id: team.as_ref().map(|t| t.id),
            goal_id: goal,
            ..ListQuery::default()
        },
        |q| async move { store.list_decisions(&q).await },
    )
    .await?;
    let mut goal_ids: Vec<Uuid> = listed.iter().filter_map(|d| d.goal_id).collect();
    goal_ids.sort();
    goal_ids.dedup();
    let goal_titles = store.goal_titles(&goal_ids).await?;
    let mut out = Vec::new();
    for d in listed {
        let goal = d.goal_id.and_then(|g| goal_titles.get(&g).cloned());
        let team = teams
            .iter()
            .find(|t| t.id == d.team_id)
            .map_or_else(|| "–".to_owned(), |t| t.name.clone());
        out.push(LogEntry {
            decision: d,
            team,
            goal,
        });
    }
    out.sort_by_key(|e| std::cmp::Reverse((e.decision.decided_at, e.decision.id)));
    Ok((out, team.map(|t| t.key), goal, teams))
}

fn query_string(team: &Option<String>, goal: &Option<Uuid>) -> String {
    let mut pairs = Vec::new();
    if let Some(t) = team {
        pairs.push(("team", t.clone()));
    }
    if let Some(g) = goal {
        pairs.push(("goal", g.to_string()));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// `GET /decisions[?team=KEY][&goal=ID]`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<LogQuery>,
) -> PageResult<Response> {
    let (entries, team, goal, teams) = entries(&state, &q).await?;
    let teams = teams
        .into_iter()
        .map(|t| Choice {
            selected: team.as_deref() == Some(t.key.as_str()),
            value: t.key,
            label: t.name,
        })
        .collect();
    let mut goals: Vec<Choice> = Vec::new();
    for e in &entries {
        if let (Some(id), Some(title)) = (e.decision.goal_id, &e.goal)
            && !goals.iter().any(|g| g.value == id.to_string())
        {
            goals.push(Choice {
                value: id.to_string(),
                label: title.clone(),
                selected: goal == Some(id),
            });
        }
    }
    goals.sort_by(|a, b| a.label.cmp(&b.label));
    let rows = entries
        .into_iter()
        .map(|e| {
            let d = e.decision;
            let (why, figures) = match d.context.split_once("\n\n") {
                Some((why, rest)) => (why.trim().to_owned(), rest.trim().to_owned()),
                None => (d.context.trim().to_owned(), String::new()),
            };
            LogRow {
                team: e.team,
                title: d.title,
                decision: d.decision,
                why,
                figures,
                consequences: d.consequences,
                by: d.decided_by.unwrap_or_else(|| "–".to_owned()),
                when: format!(
                    "{} {}",
                    view::day(d.decided_at.date_naive()),
                    d.decided_at.format("%H:%M UTC")
                ),
                goal: d.goal_id.zip(e.goal).map(|(id, t)| (id.to_string(), t)),
            }
        })
        .collect();
    render(&DecisionsPage {
        nav: viewer.nav("decisions"),
        as_of: view::instant(Utc::now()),
        teams,
        goals,
        rows,
        filtered: team.is_some() || goal.is_some(),
        export_href: format!("/decisions.md{}", query_string(&team, &goal)),
    })
}

/// `GET /decisions.md[?team=KEY][&goal=ID]`: the same list as a Markdown
/// download.
pub async fn markdown(
    State(state): State<AppState>,
    _viewer: Viewer,
    Query(q): Query<LogQuery>,
) -> PageResult<Response> {
    let (entries, team, _, _) = entries(&state, &q).await?;
    let title = match &team {
        Some(t) => format!("Decisions — {t}"),
        None => "Decisions".to_owned(),
    };
    let filename = match &team {
        Some(t) => format!("decisions-{t}.md"),
        None => "decisions.md".to_owned(),
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        log_markdown(&title, &entries),
    )
        .into_response())
}
