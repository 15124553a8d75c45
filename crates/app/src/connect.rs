//! Connecting a GitHub organisation or GitLab group (`tandem connect`):
//! which of its repositories go to which project ([`plan`]), creating the
//! missing team and projects and listing the repositories on them, the
//! webhook secrets, and the webhooks themselves ([`apply`]).
//!
//! Rules:
//! - Everything is checked before anything is written: a mapping naming a
//!   repository the organisation does not have, or a project key that is
//!   not one, is refused whole ([`plan`]).
//! - Secrets: a project keeps the webhook secret it has (its existing
//!   hooks keep working); a project without one gets the run's new secret
//!   (stored as `tandem webhook-secret set` stores it).
//! - Hooks: when every mapped project has the same secret, one hook on the
//!   organisation or group serves them all; otherwise, or when the token may
//!   not set one there, one hook per repository. A hook already pointing at
//!   Tandem's address is updated (so its secret matches the stored one),
//!   never duplicated. What the token may not set (401, 403, 404) is
//!   returned as instructions to paste, with the URL, the secret and the
//!   events; any other failure stops the run.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;
use tandem_domain::engineering::Provider;
use tandem_domain::project::NewProject;
use tandem_domain::team::NewTeam;
use tandem_importers::backfill::BackfillError;
use tandem_importers::hosting::{
    GITHUB_EVENTS, GITLAB_EVENTS, HookTarget, Remote, RemoteRepository,
};
use tandem_store::Store;

use crate::{AppError, AppResult, lookup, org};

/// Which repositories go where.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Repository (full name, or its last segment) → project key.
    pub explicit: Vec<(String, String)>,
    /// Every other repository goes to this project.
    pub all_to: Option<String>,
    /// Archived repositories are left out unless named or this is set.
    pub include_archived: bool,
}

/// One repository and the project it goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub repo: String,
    pub project: String,
}

/// The repositories mapped to projects, and the ones left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub assignments: Vec<Assignment>,
    pub unmapped: Vec<String>,
}

/// Maps `repos` as `mapping` says; refuses a mapping that names no listed
/// repository, or several, or a project key that is not one.
pub fn plan(repos: &[RemoteRepository], mapping: &Mapping) -> AppResult<Plan> {
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    for (name, project) in &mapping.explicit {
        tandem_domain::text::key("--map", project)
            .map_err(|e| AppError::bad_field("--map", format!("--map: {}", e.message)))?;
        let matches: Vec<&RemoteRepository> = repos
            .iter()
            .filter(|r| {
                r.full_name.eq_ignore_ascii_case(name)
                    || r.full_name
                        .rsplit('/')
                        .next()
                        .is_some_and(|short| short.eq_ignore_ascii_case(name))
            })
            .collect();
        match matches.as_slice() {
            [one] => {
                chosen.insert(one.full_name.clone(), project.clone());
            }
            [] => {
                return Err(AppError::bad_field(
                    "--map",
                    format!("--map: {name:?} is not one of the listed repositories"),
                ));
            }
            _ => {
                return Err(AppError::bad_field(
                    "--map",
                    format!("--map: {name:?} names several repositories; use the full name"),
                ));
            }
        }
    }
    if let Some(all) = &mapping.all_to {
        tandem_domain::text::key("--all-to-project", all).map_err(|e| {
            AppError::bad_field(
                "--all-to-project",
                format!("--all-to-project: {}", e.message),
            )
        })?;
    }
    let mut out = Plan::default();
    for r in repos {
        if let Some(project) = chosen.get(&r.full_name) {
            out.assignments.push(Assignment {
                repo: r.full_name.clone(),
                project: project.clone(),
            });
        } else if let Some(all) = mapping
            .all_to
            .as_ref()
            .filter(|_| !r.archived || mapping.include_archived)
        {
            out.assignments.push(Assignment {
                repo: r.full_name.clone(),
                project: all.clone(),
            });
        } else {
            out.unmapped.push(r.full_name.clone());
        }
    }
    Ok(out)
}

/// What to set up.
#[derive(Debug, Clone)]
pub struct Connect {
    pub provider: Provider,
    /// The organisation (GitHub) or group path (GitLab).
    pub owner: String,
    /// The team of the projects created (created too when missing).
    pub team: Option<String>,
    /// Tandem's address as GitHub or GitLab reaches it.
    pub public_url: String,
    /// Set no hooks: return instructions only.
    pub no_hooks: bool,
}

/// A project the run created or added repositories to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectOutcome {
    pub project: String,
    pub created: bool,
    pub repositories_added: Vec<String>,
}

/// A webhook set, or to be set by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookOutcome {
    /// `organisation`/`group` or `repository`.
    pub scope: String,
    /// The organisation, group or repository.
    pub target: String,
    /// `created`, `updated`, or `manual` (paste the instructions).
    pub status: String,
    /// Why it is manual: the API's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What to paste where the token could not set a hook: one hook on the
/// organisation or group (`owner`), or else one on each repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instructions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub repositories: Vec<String>,
    pub url: String,
    pub content_type: String,
    pub secret: String,
    pub events: Vec<String>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub team_created: bool,
    pub projects: Vec<ProjectOutcome>,
    /// Projects whose webhook secret this run stored.
    pub secrets_set: Vec<String>,
    pub hooks: Vec<HookOutcome>,
    pub instructions: Vec<Instructions>,
}

/// The events a hook must send, as the provider names them.
pub fn events(provider: Provider) -> Vec<String> {
    let list = match provider {
        Provider::Gitlab => GITLAB_EVENTS,
        _ => GITHUB_EVENTS,
    };
    list.iter().map(|e| (*e).to_owned()).collect()
}

/// The receiver's address under `public_url`.
pub fn hook_url(public_url: &str, provider: Provider) -> String {
    format!("{}/webhooks/{provider}", public_url.trim_end_matches('/'))
}

fn no_permission(e: &BackfillError) -> Option<String> {
    match e {
        BackfillError::Rest(r) => r
            .status()
            .filter(|s| matches!(s.as_u16(), 401 | 403 | 404))
            .map(|_| r.to_string()),
        _ => None,
    }
}

/// Lists the organisation's or group's repositories.
pub async fn repositories(remote: &mut Remote, owner: &str) -> AppResult<Vec<RemoteRepository>> {
    remote
        .repositories(owner)
        .await
        .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))
}

/// Creates what the plan needs (team, projects), lists the repositories on
/// their projects, stores the secrets and sets the hooks.
pub async fn apply(
    store: &Store,
    remote: &mut Remote,
    what: &Connect,
    plan: &Plan,
) -> AppResult<Outcome> {
    let mut out = Outcome::default();
    // Check before writing: projects to create need a team.
    let mut missing = Vec::new();
    for a in &plan.assignments {
        if lookup::project(store, &a.project).await.is_err() && !missing.contains(&a.project) {
            missing.push(a.project.clone());
        }
    }
    let team = match (&what.team, missing.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(AppError::bad_field(
                "--team",
                format!(
                    "--team: the projects {} do not exist; name the team to create them in with --team",
                    missing.join(", ")
                ),
            ));
        }
        (Some(key), false) => match lookup::team(store, key).await {
            Ok(t) => Some(t),
            Err(_) => {
                let t = org::create_team(
                    store,
                    NewTeam {
                        key: key.clone(),
                        name: key.clone(),
                        timezone: None,
                    },
                )
                .await
                .map_err(|e| rename(e, "--team"))?;
                out.team_created = true;
                Some(t)
            }
        },
    };
    // Projects and their repositories.
    let mut by_project: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &plan.assignments {
        by_project
            .entry(a.project.clone())
            .or_default()
            .push(a.repo.clone());
    }
    for (key, repos) in &by_project {
        let (project, created) = match lookup::project(store, key).await {
            Ok(p) => (p, false),
            Err(_) => {
                let team = team.as_ref().expect("a team when projects are missing");
                let p = org::create_project(
                    store,
                    NewProject {
                        team_id: team.id,
                        key: key.clone(),
                        name: key.clone(),
                        repositories: Vec::new(),
                        services: Vec::new(),
                    },
                )
                .await?;
                (p, true)
            }
        };
        let mut added = Vec::new();
        for repo in repos {
            if !project.repositories.iter().any(|r| r == repo) {
                org::add_repository(store, &project.id.to_string(), repo).await?;
                added.push(repo.clone());
            }
        }
        out.projects.push(ProjectOutcome {
            project: key.clone(),
            created,
            repositories_added: added,
        });
    }
    // Secrets: kept where set, the run's new one elsewhere.
    let fresh = crate::credentials::new_secret()?;
    let mut secrets: BTreeMap<String, String> = BTreeMap::new();
    for key in by_project.keys() {
        let p = lookup::project(store, key).await?;
        let secret = match store.webhook_secret(p.id, what.provider).await? {
            Some(s) => s,
            None => {
                store
                    .set_webhook_secret(p.id, what.provider, &fresh, Utc::now())
                    .await?;
                out.secrets_set.push(key.clone());
                fresh.clone()
            }
        };
        secrets.insert(key.clone(), secret);
    }
    if plan.assignments.is_empty() {
        return Ok(out);
    }
    hooks(remote, what, plan, &secrets, &mut out).await?;
    Ok(out)
}

fn rename(e: AppError, field: &str) -> AppError {
    match e {
        AppError::Invalid(errors) => AppError::Invalid(
            errors
                .into_iter()
                .map(|mut f| {
                    f.field = field.to_owned();
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

/// Sets (or updates) one hook; `Ok(None)` when the token may not.
async fn set_hook(
    remote: &mut Remote,
    target: &HookTarget,
    url: &str,
    secret: &str,
) -> AppResult<Result<&'static str, String>> {
    let unexpected = |e: BackfillError| AppError::Unexpected(anyhow::Error::new(e));
    let existing = match remote.hooks(target).await {
        Ok(h) => h,
        Err(e) => match no_permission(&e) {
            Some(reason) => return Ok(Err(reason)),
            None => return Err(unexpected(e)),
        },
    };
    let result = match existing.iter().find(|h| h.url == url) {
        Some(h) => remote
            .update_hook(target, h.id, url, secret)
            .await
            .map(|_| "updated"),
        None => remote
            .create_hook(target, url, secret)
            .await
            .map(|_| "created"),
    };
    match result {
        Ok(status) => Ok(Ok(status)),
        Err(e) => match no_permission(&e) {
            Some(reason) => Ok(Err(reason)),
            None => Err(unexpected(e)),
        },
    }
}

async fn hooks(
    remote: &mut Remote,
    what: &Connect,
    plan: &Plan,
    secrets: &BTreeMap<String, String>,
    out: &mut Outcome,
) -> AppResult<()> {
    let url = hook_url(&what.public_url, what.provider);
    let owner_scope = match what.provider {
        Provider::Gitlab => "group",
        _ => "organisation",
    };
    let mut one_secret: Option<&String> = None;
    let shared = secrets.values().all(|s| *one_secret.get_or_insert(s) == s);
    let instructions =
        |owner: Option<String>, repositories: Vec<String>, secret: &str| Instructions {
            owner,
            repositories,
            url: url.clone(),
            content_type: "application/json".to_owned(),
            secret: secret.to_owned(),
            events: events(what.provider),
        };
    if what.no_hooks {
        let mut by_secret: BTreeMap<&String, Vec<String>> = BTreeMap::new();
        for a in &plan.assignments {
            by_secret
                .entry(&secrets[&a.project])
                .or_default()
                .push(a.repo.clone());
        }
        let owner = shared.then(|| what.owner.clone());
        for (secret, repos) in by_secret {
            out.instructions
                .push(instructions(owner.clone(), repos, secret));
        }
        return Ok(());
    }
    let mut owner_refusal = None;
    if shared && let Some(secret) = one_secret {
        let target = HookTarget::Owner(what.owner.clone());
        match set_hook(remote, &target, &url, secret).await? {
            Ok(status) => {
                out.hooks.push(HookOutcome {
                    scope: owner_scope.to_owned(),
                    target: what.owner.clone(),
                    status: status.to_owned(),
                    reason: None,
                });
                return Ok(());
            }
            Err(reason) => owner_refusal = Some(reason),
        }
    }
    let mut manual: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &plan.assignments {
        let secret = &secrets[&a.project];
        let target = HookTarget::Repository(a.repo.clone());
        let (status, reason) = match set_hook(remote, &target, &url, secret).await? {
            Ok(status) => (status, None),
            Err(reason) => {
                manual
                    .entry(secret.clone())
                    .or_default()
                    .push(a.repo.clone());
                ("manual", Some(reason))
            }
        };
        out.hooks.push(HookOutcome {
            scope: "repository".to_owned(),
            target: a.repo.clone(),
            status: status.to_owned(),
            reason,
        });
    }
    if let Some(reason) = owner_refusal.filter(|_| !manual.is_empty()) {
        out.hooks.push(HookOutcome {
            scope: owner_scope.to_owned(),
            target: what.owner.clone(),
            status: "manual".to_owned(),
            reason: Some(reason),
        });
    }
    // With one secret, one hook on the organisation by hand serves every
    // repository whose own hook was refused.
    let owner = shared.then(|| what.owner.clone());
    for (secret, repos) in manual {
        out.instructions
            .push(instructions(owner.clone(), repos, &secret));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repos() -> Vec<RemoteRepository> {
        ["acme/payments-api", "acme/web", "acme/old"]
            .iter()
            .map(|n| RemoteRepository {
                full_name: (*n).to_owned(),
                archived: *n == "acme/old",
            })
            .collect()
    }

    #[test]
    fn maps_explicitly_then_all_to_one_project() {
        let m = Mapping {
            explicit: vec![("payments-api".into(), "payments".into())],
            all_to: Some("platform".into()),
            include_archived: false,
        };
        let p = plan(&repos(), &m).unwrap();
        assert_eq!(
            p.assignments,
            vec![
                Assignment {
                    repo: "acme/payments-api".into(),
                    project: "payments".into()
                },
                Assignment {
                    repo: "acme/web".into(),
                    project: "platform".into()
                },
            ]
        );
        assert_eq!(p.unmapped, vec!["acme/old".to_owned()]);

        let only = Mapping {
            explicit: vec![("acme/web".into(), "web".into())],
            ..Mapping::default()
        };
        let p = plan(&repos(), &only).unwrap();
        assert_eq!(p.assignments.len(), 1);
        assert_eq!(p.unmapped.len(), 2);
    }

    #[test]
    fn refuses_unknown_repositories_and_bad_keys() {
        let bad = |explicit: Vec<(String, String)>, all_to: Option<String>| {
            plan(
                &repos(),
                &Mapping {
                    explicit,
                    all_to,
                    include_archived: false,
                },
            )
            .unwrap_err()
            .to_string()
        };
        let e = bad(vec![("acme/nope".into(), "x".into())], None);
        assert!(e.contains("acme/nope") && e.contains("not one of"), "{e}");
        let e = bad(vec![("web".into(), "Not A Key".into())], None);
        assert!(e.contains("not a valid key"), "{e}");
        let e = bad(vec![], Some("Bad Key".into()));
        assert!(e.contains("not a valid key"), "{e}");
    }
}
