//! `/setup` (the teams, and a new team) and `/setup/teams/{key}` (a team:
//! its name and time zone, its members, its projects and a new project).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tandem_app::{AppError, lookup, org, paging};
use tandem_domain::project::{NewProject, Project};
use tandem_domain::team::{NewTeam, Team, TeamPatch};
use tandem_store::ListQuery;

use super::{absorb, entries, notice, optional};
use crate::AppState;
use crate::web::admin::FormErrors;
use crate::web::overview::all_teams;
use crate::web::view::Nav;
use crate::web::{ManagerViewer, PageForm, PageResult, Viewer, render, render_status, see_other};

/// Every project, by key.
pub async fn all_projects(state: &AppState) -> PageResult<Vec<Project>> {
    let store = &state.store;
    let mut out = paging::all(ListQuery::default(), |q| async move {
        store.list_projects(&q).await
    })
    .await?;
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

#[derive(Debug)]
pub struct ProjectLink {
    pub key: String,
    pub name: String,
}

#[derive(Debug)]
pub struct TeamRow {
    pub key: String,
    pub name: String,
    pub timezone: String,
    pub members: usize,
    pub projects: Vec<ProjectLink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TeamForm {
    pub csrf: String,
    pub key: String,
    pub name: String,
    pub timezone: String,
}

#[derive(Debug, Template)]
#[template(path = "setup_teams.html")]
pub struct TeamsPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub teams: Vec<TeamRow>,
    pub form: TeamForm,
    pub errors: FormErrors,
}

async fn teams_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    form: TeamForm,
    errors: FormErrors,
) -> PageResult<TeamsPage> {
    let projects = all_projects(state).await?;
    let mut teams = Vec::new();
    for t in all_teams(state).await? {
        let members = state.store.team_members(t.id).await?.len();
        teams.push(TeamRow {
            projects: projects
                .iter()
                .filter(|p| p.team_id == t.id)
                .map(|p| ProjectLink {
                    key: p.key.clone(),
                    name: p.name.clone(),
                })
                .collect(),
            key: t.key,
            name: t.name,
            timezone: t.timezone,
            members,
        });
    }
    Ok(TeamsPage {
        nav: viewer.nav("setup"),
        notice,
        teams,
        form,
        errors,
    })
}

/// `GET /setup`.
pub async fn list(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let form = TeamForm {
        timezone: "UTC".into(),
        ..TeamForm::default()
    };
    let page = teams_page(
        &state,
        &viewer,
        notice(query.as_deref()),
        form,
        FormErrors::default(),
    );
    render(&page.await?)
}

/// `POST /setup/teams`: creates a team.
pub async fn create(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    PageForm(form): PageForm<TeamForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let input = NewTeam {
        key: form.key.trim().to_owned(),
        name: form.name.trim().to_owned(),
        timezone: optional(&form.timezone),
    };
    let mut errors = FormErrors::default();
    let status = match org::create_team(&state.store, input).await {
        Ok(team) => {
            return Ok(see_other(&format!(
                "/setup/teams/{}?done=team-created",
                team.key
            )));
        }
        Err(e) => absorb(&mut errors, e)?,
    };
    let page = teams_page(&state, &viewer, None, form, errors).await?;
    render_status(status, &page)
}

#[derive(Debug)]
pub struct MemberRow {
    pub username: String,
    pub display_name: String,
    pub role: String,
}

#[derive(Debug)]
pub struct UserOption {
    pub username: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MemberForm {
    pub csrf: String,
    pub username: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProjectForm {
    pub csrf: String,
    pub key: String,
    pub name: String,
    pub repositories: String,
    pub services: String,
}

#[derive(Debug)]
pub struct ProjectRow {
    pub key: String,
    pub name: String,
    pub repositories: String,
    pub services: String,
}

/// The team page's forms: what was typed and the errors of the one posted.
#[derive(Debug, Default)]
pub struct TeamForms {
    pub edit: Option<TeamForm>,
    pub edit_errors: FormErrors,
    pub member: MemberForm,
    pub member_errors: FormErrors,
    pub project: ProjectForm,
    pub project_errors: FormErrors,
}

#[derive(Debug, Template)]
#[template(path = "setup_team.html")]
pub struct TeamPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub key: String,
    pub name: String,
    pub members: Vec<MemberRow>,
    /// Active users who are not members yet.
    pub candidates: Vec<UserOption>,
    pub projects: Vec<ProjectRow>,
    pub edit: TeamForm,
    pub f: TeamForms,
    /// Where the team's weekly report goes, channel by channel, in words.
    pub delivery: Vec<String>,
}

async fn team_page(
    state: &AppState,
    viewer: &Viewer,
    team: &Team,
    notice: Option<String>,
    mut f: TeamForms,
) -> PageResult<TeamPage> {
    let members = state.store.team_members(team.id).await?;
    let candidates = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| !u.disabled && !members.iter().any(|m| m.id == u.id))
        .map(|u| UserOption {
            selected: u.username == f.member.username,
            label: if u.display_name.is_empty() || u.display_name == u.username {
                format!("{} ({})", u.username, u.role)
            } else {
                format!("{} — {} ({})", u.username, u.display_name, u.role)
            },
            username: u.username,
        })
        .collect();
    let projects = all_projects(state)
        .await?
        .into_iter()
        .filter(|p| p.team_id == team.id)
        .map(|p| ProjectRow {
            repositories: p.repositories.join(", "),
            services: p.services.join(", "),
            key: p.key,
            name: p.name,
        })
        .collect();
    let edit = f.edit.take().unwrap_or_else(|| TeamForm {
        name: team.name.clone(),
        timezone: team.timezone.clone(),
        ..TeamForm::default()
    });
    let targets = tandem_app::report::team_targets(&state.store, &state.settings, team.id).await?;
    let report = &state.settings.report;
    let emails: Vec<&str> = targets
        .iter()
        .filter(|t| t.channel == tandem_domain::report::Channel::Email)
        .map(|t| t.recipient.as_str())
        .collect();
    let delivery = vec![
        match (report.smtp.is_some(), emails.is_empty()) {
            (true, false) => format!("E-mail: to {}.", emails.join(", ")),
            (true, true) => "E-mail: the mail server is set up, but no recipient is listed for this team's report.".to_owned(),
            (false, _) => "E-mail: not set up. An administrator adds the mail server (the report.smtp section of Tandem's settings file) and the recipients.".to_owned(),
        },
        if report.slack.is_some() {
            "Slack: to the configured channel.".to_owned()
        } else {
            "Slack: not set up. An administrator adds the channel's incoming-webhook address (report.slack).".to_owned()
        },
        if report.webhook.is_some() {
            "Webhook: set up.".to_owned()
        } else {
            "Webhook: not set up (report.webhook).".to_owned()
        },
    ];
    Ok(TeamPage {
        delivery,
        nav: viewer.nav("setup"),
        notice,
        key: team.key.clone(),
        name: team.name.clone(),
        members: members
            .into_iter()
            .map(|u| MemberRow {
                username: u.username,
                display_name: u.display_name,
                role: u.role.to_string(),
            })
            .collect(),
        candidates,
        projects,
        edit,
        f,
    })
}

/// `GET /setup/teams/{key}`.
pub async fn page(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let team = lookup::team(&state.store, &key).await?;
    let page = team_page(
        &state,
        &viewer,
        &team,
        notice(query.as_deref()),
        TeamForms::default(),
    );
    render(&page.await?)
}

/// `POST /setup/teams/{key}`: changes the team's name and time zone.
pub async fn update(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<TeamForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key).await?;
    let patch = TeamPatch {
        name: Some(form.name.trim().to_owned()),
        timezone: Some(form.timezone.trim().to_owned()),
    };
    let mut f = TeamForms::default();
    let status = match org::update_team(&state.store, &team.id.to_string(), patch).await {
        Ok(t) => {
            return Ok(see_other(&format!(
                "/setup/teams/{}?done=team-saved",
                t.key
            )));
        }
        Err(e) => absorb(&mut f.edit_errors, e)?,
    };
    f.edit = Some(form);
    let page = team_page(&state, &viewer, &team, None, f).await?;
    render_status(status, &page)
}

/// `POST /setup/teams/{key}/members`: adds a user to the team.
pub async fn add_member(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<MemberForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key).await?;
    let mut f = TeamForms::default();
    let username = form.username.trim();
    let status = if username.is_empty() {
        f.member_errors
            .fields
            .insert("username".into(), "Choose a user to add.".into());
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match org::add_member(&state.store, &team.id.to_string(), username).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/setup/teams/{}?done=member-added",
                    team.key
                )));
            }
            // The team exists (found above): not found is the user.
            Err(AppError::NotFound(message)) => {
                f.member_errors.fields.insert("username".into(), message);
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Err(e) => absorb(&mut f.member_errors, e)?,
        }
    };
    f.member = form;
    let page = team_page(&state, &viewer, &team, None, f).await?;
    render_status(status, &page)
}

/// `POST /setup/teams/{key}/members/remove`: removes a user from the team.
pub async fn remove_member(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<MemberForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key).await?;
    match org::remove_member(&state.store, &team.id.to_string(), form.username.trim()).await {
        Ok(()) => Ok(see_other(&format!(
            "/setup/teams/{}?done=member-removed",
            team.key
        ))),
        Err(AppError::NotFound(message)) => {
            let mut f = TeamForms::default();
            f.member_errors.form = Some(message);
            let page = team_page(&state, &viewer, &team, None, f).await?;
            render_status(StatusCode::NOT_FOUND, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /setup/teams/{key}/projects`: creates a project in the team.
pub async fn create_project(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<ProjectForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key).await?;
    let input = NewProject {
        team_id: team.id,
        key: form.key.trim().to_owned(),
        name: form.name.trim().to_owned(),
        repositories: entries(&form.repositories),
        services: entries(&form.services),
    };
    let mut f = TeamForms::default();
    let status = match org::create_project(&state.store, input).await {
        Ok(p) => {
            return Ok(see_other(&format!(
                "/setup/projects/{}?done=project-created",
                p.key
            )));
        }
        Err(e) => absorb(&mut f.project_errors, e)?,
    };
    f.project = form;
    let page = team_page(&state, &viewer, &team, None, f).await?;
    render_status(status, &page)
}
