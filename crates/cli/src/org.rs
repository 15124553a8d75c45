//! `tandem team|member|project`: setting an organisation up from the command
//! line. Each command calls the `tandem_app::org` function the API handler
//! for the same thing calls, so refusals read the same and nothing is stored
//! when one is refused.

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;
use tandem_app::paging::all;
use tandem_app::{AppError, org};
use tandem_domain::project::{NewProject, Project, ProjectPatch, ServiceScope};
use tandem_domain::team::{NewTeam, Team, TeamPatch};
use tandem_domain::user::User;
use tandem_store::{ListQuery, Store};

use crate::commands::{print_json, table};
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// List teams.
    #[command(after_help = "Example:\n  tandem team list --format json")]
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show a team with its members and projects.
    #[command(after_help = "Example:\n  tandem team show payments")]
    Show {
        /// Team key or id.
        team: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Create a team.
    #[command(
        after_help = "Example:\n  tandem team create --key payments --name Payments --timezone Europe/Berlin"
    )]
    Create {
        /// Short, unique, URL-safe key, e.g. `payments`.
        #[arg(long)]
        key: String,
        #[arg(long)]
        name: String,
        /// IANA time zone for schedules and week boundaries (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a team's name or time zone (the key stays).
    #[command(after_help = "Example:\n  tandem team update payments --name \"Payments & Billing\"")]
    Update {
        /// Team key or id.
        team: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        timezone: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// List a team's members.
    #[command(after_help = "Example:\n  tandem member list --team payments")]
    List {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Add a user (see `tandem user add`) to a team; adding again changes nothing.
    #[command(after_help = "Example:\n  tandem member add --team payments ana")]
    Add {
        /// Team key or id.
        #[arg(long)]
        team: String,
        username: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Remove a user from a team.
    #[command(after_help = "Example:\n  tandem member remove --team payments ana")]
    Remove {
        /// Team key or id.
        #[arg(long)]
        team: String,
        username: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List projects.
    #[command(after_help = "Example:\n  tandem project list --team payments")]
    List {
        /// Only this team's (key or id).
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show a project with its repositories, services and service scopes.
    #[command(after_help = "Example:\n  tandem project show payments-api")]
    Show {
        /// Project key or id.
        project: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Create a project in a team, with its repositories and services.
    #[command(
        after_help = "Example:\n  tandem project create --team payments --key payments-api --name \"Payments API\" \\\n    --repo acme/mono --service api --service worker"
    )]
    Create {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// Short, unique, URL-safe key, e.g. `payments-api`.
        #[arg(long)]
        key: String,
        #[arg(long)]
        name: String,
        /// A repository (`owner/name`, or a GitLab path); repeat for more.
        #[arg(long = "repo", value_name = "REPO")]
        repos: Vec<String>,
        /// A service as deployments and incidents name it; repeat for more.
        #[arg(long = "service", value_name = "SERVICE")]
        services: Vec<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a project's name; `--repo`/`--service` replace its whole list
    /// (use add-repo/add-service to add one).
    #[command(
        after_help = "Example:\n  tandem project update payments-api --name \"Payments\" --service api --service worker"
    )]
    Update {
        /// Project key or id.
        project: String,
        #[arg(long)]
        name: Option<String>,
        /// The repositories, replacing the listed ones; repeat for more.
        #[arg(long = "repo", value_name = "REPO")]
        repos: Vec<String>,
        /// The services, replacing the listed ones; repeat for more.
        #[arg(long = "service", value_name = "SERVICE")]
        services: Vec<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Add a repository to a project (already listed: nothing changes).
    #[command(after_help = "Example:\n  tandem project add-repo payments-api acme/payments-web")]
    AddRepo {
        /// Project key or id.
        project: String,
        /// `owner/name` (GitHub) or `group/subgroup/name` (GitLab).
        repo: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Add a service to a project (already listed: nothing changes).
    #[command(after_help = "Example:\n  tandem project add-service payments-api worker")]
    AddService {
        /// Project key or id.
        project: String,
        /// The service as deployments and incidents name it.
        service: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Service scopes: which paths of which repository make a service (a
    /// monorepo), so its deployments count only those commits.
    #[command(subcommand)]
    Scope(ScopeCommand),
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// List a project's service scopes.
    #[command(after_help = "Example:\n  tandem project scope list payments-api")]
    List {
        /// Project key or id.
        project: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Scope a service to path prefixes of a repository, replacing its
    /// earlier scope; no `--prefix` means the whole repository. Its
    /// deployments are attributed again.
    #[command(
        after_help = "Example:\n  tandem project scope set payments-api --service api --repo acme/mono --prefix services/api/"
    )]
    Set {
        /// Project key or id.
        project: String,
        /// One of the project's services.
        #[arg(long)]
        service: String,
        /// One of the project's repositories.
        #[arg(long)]
        repo: String,
        /// A path prefix relative to the repository root; repeat for more.
        #[arg(long = "prefix", value_name = "PREFIX")]
        prefixes: Vec<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Remove a service's scope: its deployments count the whole repository again.
    #[command(after_help = "Example:\n  tandem project scope remove payments-api --service api")]
    Remove {
        /// Project key or id.
        project: String,
        #[arg(long)]
        service: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// An application error with every broken rule listed (the error's own
/// message shows only the first).
pub(crate) fn app_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(errors) => anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        // The conflict stays in the chain, so the exit code says "conflict".
        AppError::Conflict { ref field, .. } => {
            let on = match field {
                Some(f) => format!("conflict on {f}"),
                None => "conflict".to_owned(),
            };
            anyhow::Error::new(e).context(on)
        }
        other => anyhow!(other),
    }
}

/// `tandem team …`.
pub async fn team(store: &Store, command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::List { format } => {
            let teams = all(ListQuery::default(), |q| async move {
                store.list_teams(&q).await
            })
            .await?;
            match format.format {
                Format::Json => print_json(&teams)?,
                Format::Table => println!("{}", teams_table(&teams)),
            }
        }
        TeamCommand::Show { team, format } => {
            let team = org::find_team(store, &team).await.map_err(app_error)?;
            let members = org::members(store, &team.id.to_string())
                .await
                .map_err(app_error)?;
            let projects = projects_of(store, Some(&team)).await?;
            match format.format {
                Format::Json => print_json(&json!({
                    "team": team, "members": members, "projects": projects
                }))?,
                Format::Table => {
                    println!("{} ({}), time zone {}", team.name, team.key, team.timezone);
                    println!("Id: {}", team.id);
                    println!("Members:");
                    println!("{}", users_table(&members));
                    println!("Projects:");
                    println!("{}", projects_table(&projects));
                }
            }
        }
        TeamCommand::Create {
            key,
            name,
            timezone,
            format,
        } => {
            let team = org::create_team(
                store,
                NewTeam {
                    key,
                    name,
                    timezone,
                },
            )
            .await
            .map_err(app_error)?;
            print_team(&team, "created", format.format)?;
        }
        TeamCommand::Update {
            team,
            name,
            timezone,
            format,
        } => {
            if name.is_none() && timezone.is_none() {
                anyhow::bail!("nothing to change: give --name or --timezone");
            }
            let team = org::update_team(store, &team, TeamPatch { name, timezone })
                .await
                .map_err(app_error)?;
            print_team(&team, "updated", format.format)?;
        }
    }
    Ok(())
}

/// `tandem member …`.
pub async fn member(store: &Store, command: MemberCommand) -> anyhow::Result<()> {
    match command {
        MemberCommand::List { team, format } => {
            let members = org::members(store, &team).await.map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&members)?,
                Format::Table => println!("{}", users_table(&members)),
            }
        }
        MemberCommand::Add {
            team,
            username,
            format,
        } => {
            let user = org::add_member(store, &team, &username)
                .await
                .map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&json!({"team": team, "member": user}))?,
                Format::Table => println!("{} is a member of team {team}", user.username),
            }
        }
        MemberCommand::Remove {
            team,
            username,
            format,
        } => {
            org::remove_member(store, &team, &username)
                .await
                .map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&json!({"team": team, "removed": username}))?,
                Format::Table => println!("removed {username} from team {team}"),
            }
        }
    }
    Ok(())
}

/// `tandem project …`.
pub async fn project(store: &Store, command: ProjectCommand) -> anyhow::Result<()> {
    match command {
        ProjectCommand::List { team, format } => {
            let team = match team {
                Some(t) => Some(org::find_team(store, &t).await.map_err(app_error)?),
                None => None,
            };
            let projects = projects_of(store, team.as_ref()).await?;
            match format.format {
                Format::Json => print_json(&projects)?,
                Format::Table => println!("{}", projects_table(&projects)),
            }
        }
        ProjectCommand::Show { project, format } => {
            let project = org::find_project(store, &project)
                .await
                .map_err(app_error)?;
            let scopes = org::service_scopes(store, &project.id.to_string())
                .await
                .map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&json!({"project": project, "scopes": scopes}))?,
                Format::Table => {
                    println!("{} ({})", project.name, project.key);
                    println!("Id: {}", project.id);
                    println!("Repositories: {}", listed(&project.repositories));
                    println!("Services: {}", listed(&project.services));
                    println!("Service scopes:");
                    println!("{}", scopes_table(&scopes));
                }
            }
        }
        ProjectCommand::Create {
            team,
            key,
            name,
            repos,
            services,
            format,
        } => {
            let team = org::find_team(store, &team).await.map_err(app_error)?;
            let project = org::create_project(
                store,
                NewProject {
                    team_id: team.id,
                    key,
                    name,
                    repositories: repos,
                    services,
                },
            )
            .await
            .map_err(app_error)?;
            print_project(&project, "created", format.format)?;
        }
        ProjectCommand::Update {
            project,
            name,
            repos,
            services,
            format,
        } => {
            if name.is_none() && repos.is_empty() && services.is_empty() {
                anyhow::bail!("nothing to change: give --name, --repo or --service");
            }
            let patch = ProjectPatch {
                name,
                repositories: (!repos.is_empty()).then_some(repos),
                services: (!services.is_empty()).then_some(services),
            };
            let project = org::update_project(store, &project, patch)
                .await
                .map_err(app_error)?;
            print_project(&project, "updated", format.format)?;
        }
        ProjectCommand::AddRepo {
            project,
            repo,
            format,
        } => {
            let project = org::add_repository(store, &project, &repo)
                .await
                .map_err(app_error)?;
            print_project(&project, "updated", format.format)?;
        }
        ProjectCommand::AddService {
            project,
            service,
            format,
        } => {
            let project = org::add_service(store, &project, &service)
                .await
                .map_err(app_error)?;
            print_project(&project, "updated", format.format)?;
        }
        ProjectCommand::Scope(c) => scope(store, c).await?,
    }
    Ok(())
}

async fn scope(store: &Store, command: ScopeCommand) -> anyhow::Result<()> {
    match command {
        ScopeCommand::List { project, format } => {
            let scopes = org::service_scopes(store, &project)
                .await
                .map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&scopes)?,
                Format::Table => println!("{}", scopes_table(&scopes)),
            }
        }
        ScopeCommand::Set {
            project,
            service,
            repo,
            prefixes,
            format,
        } => {
            let scope = org::set_service_scope(
                store,
                &project,
                ServiceScope {
                    service,
                    repo,
                    path_prefixes: prefixes,
                },
            )
            .await
            .map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&scope)?,
                Format::Table => println!(
                    "scoped service {} of project {project} to {}: {}; its deployments will be attributed again",
                    scope.service,
                    scope.repo,
                    prefixes_text(&scope.path_prefixes)
                ),
            }
        }
        ScopeCommand::Remove {
            project,
            service,
            format,
        } => {
            org::remove_service_scope(store, &project, &service)
                .await
                .map_err(app_error)?;
            match format.format {
                Format::Json => {
                    print_json(&json!({"project": project, "removed_scope_of": service}))?
                }
                Format::Table => println!(
                    "removed the scope of service {service} of project {project}; its deployments count the whole repository again"
                ),
            }
        }
    }
    Ok(())
}

async fn projects_of(store: &Store, team: Option<&Team>) -> anyhow::Result<Vec<Project>> {
    let q = ListQuery {
        team_id: team.map(|t| t.id),
        ..ListQuery::default()
    };
    Ok(all(q, |q| async move { store.list_projects(&q).await }).await?)
}

fn print_team(team: &Team, done: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(team),
        Format::Table => {
            println!(
                "{done} team {} ({}, time zone {})",
                team.key, team.name, team.timezone
            );
            Ok(())
        }
    }
}

fn print_project(project: &Project, done: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(project),
        Format::Table => {
            println!(
                "{done} project {} ({}); repositories: {}; services: {}",
                project.key,
                project.name,
                listed(&project.repositories),
                listed(&project.services)
            );
            Ok(())
        }
    }
}

fn teams_table(teams: &[Team]) -> crate::output::Table {
    let mut t = table(&["key", "name", "time zone", "id"]);
    for team in teams {
        t.add_row(vec![
            team.key.clone(),
            team.name.clone(),
            team.timezone.clone(),
            team.id.to_string(),
        ]);
    }
    t
}

fn users_table(users: &[User]) -> crate::output::Table {
    let mut t = table(&["username", "name", "role", "disabled"]);
    for u in users {
        t.add_row(vec![
            u.username.clone(),
            u.display_name.clone(),
            u.role.to_string(),
            if u.disabled { "yes" } else { "no" }.to_owned(),
        ]);
    }
    t
}

fn projects_table(projects: &[Project]) -> crate::output::Table {
    let mut t = table(&["key", "name", "repositories", "services"]);
    for p in projects {
        t.add_row(vec![
            p.key.clone(),
            p.name.clone(),
            p.repositories.join("\n"),
            p.services.join("\n"),
        ]);
    }
    t
}

fn scopes_table(scopes: &[ServiceScope]) -> crate::output::Table {
    let mut t = table(&["service", "repository", "path prefixes"]);
    for s in scopes {
        t.add_row(vec![
            s.service.clone(),
            s.repo.clone(),
            prefixes_text(&s.path_prefixes),
        ]);
    }
    t
}

fn prefixes_text(prefixes: &[String]) -> String {
    if prefixes.is_empty() {
        "(the whole repository)".to_owned()
    } else {
        prefixes.join(", ")
    }
}

fn listed(values: &[String]) -> String {
    if values.is_empty() {
        "—".to_owned()
    } else {
        values.join(", ")
    }
}
