//! The demo organisation's engineering history: commits on each
//! repository's main branch, the pull requests that brought them (merge
//! commits and squash merges), reviews, CI pipelines with coverage,
//! staging and production deployments, incidents (linked to their
//! deployment, or only near it in time) and rollbacks.
//!
//! Like [`crate::organisation`], a pure function of `today` and the demo's
//! projects: the same inputs give the same history. The three teams deploy
//! at different rhythms so their delivery metrics land in different DORA
//! levels: Payments every working day with few failures, Growth a few times
//! a week, Platform about weekly with more incidents that take longer to
//! restore.
//!
//! A repository with several services (Checkout's `checkout-web` and
//! `checkout-bff`, Users' `users-api` and `users-search`) is a monorepo: each service owns a folder, every change
//! touches one folder, and a [`ServiceScope`] names the folder so a
//! deployment of one service ships only its own commits.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

use crate::{HISTORY_DAYS, Rng, is_weekend};
use tandem_domain::engineering::{
    Deployment, DeploymentStatus, Incident, Pipeline, PipelineStatus, PrCommit, PrState,
    PullRequest, Review, ReviewState,
};
use tandem_domain::git::{Commit, CommitSource, FileChange};
use tandem_domain::project::Project;

/// The `source` of demo deployments, incidents, pull requests and pipelines.
pub const SOURCE: &str = "demo";

/// A service's folder in a monorepo.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceScope {
    pub project_id: Uuid,
    pub service: String,
    pub repo: String,
    pub path_prefixes: Vec<String>,
}

/// Everything the engineering history consists of.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Engineering {
    pub commits: Vec<Commit>,
    pub pull_requests: Vec<PullRequest>,
    /// `(repo, pull request number, review)`.
    pub reviews: Vec<(String, i64, Review)>,
    pub pipelines: Vec<Pipeline>,
    pub deployments: Vec<Deployment>,
    pub incidents: Vec<Incident>,
    pub scopes: Vec<ServiceScope>,
}

/// How a team works, for the generator.
struct Rhythm {
    /// Pull requests merged per repository and working day, inclusive range.
    prs_per_day: (i64, i64),
    /// Chance that a service with new changes deploys to production today.
    deploy_chance: f64,
    /// Chance that a production deployment fails outright.
    failed_deploy: f64,
    /// Chance that a successful production deployment causes an incident.
    incident: f64,
    /// Hours to restore, inclusive range.
    restore_hours: (i64, i64),
    /// Share of pull requests squash-merged (the rest get a merge commit).
    squash: f64,
}

fn rhythm(team_index: usize) -> Rhythm {
    match team_index {
        0 => Rhythm {
            prs_per_day: (0, 3),
            deploy_chance: 0.9,
            failed_deploy: 0.03,
            incident: 0.04,
            restore_hours: (1, 6),
            squash: 0.7,
        },
        1 => Rhythm {
            prs_per_day: (0, 2),
            deploy_chance: 0.45,
            failed_deploy: 0.05,
            incident: 0.10,
            restore_hours: (2, 20),
            squash: 0.3,
        },
        _ => Rhythm {
            prs_per_day: (0, 2),
            deploy_chance: 0.2,
            failed_deploy: 0.08,
            incident: 0.18,
            restore_hours: (6, 60),
            squash: 0.5,
        },
    }
}

const AUTHORS: [(&str, &str); 7] = [
    ("Maria Keller", "maria@example.com"),
    ("Sam Okafor", "sam@example.com"),
    ("Ana Lima", "ana@example.com"),
    ("Tom Becker", "tom@example.com"),
    ("Yuki Tanaka", "yuki@example.com"),
    ("Omar Haddad", "omar@example.com"),
    ("Priya Nair", "priya@example.com"),
];

const CHANGES: [&str; 12] = [
    "Validate input before saving",
    "Add retry with backoff to the client",
    "Cache lookups for the hot path",
    "Fix off-by-one in paging",
    "Log the request id on failures",
    "Split the handler into smaller functions",
    "Add a metric for queue depth",
    "Remove the unused feature flag",
    "Tighten the timeout on outbound calls",
    "Handle the empty list case",
    "Upgrade the HTTP client",
    "Add tests for the error paths",
];

/// Ids for demo deployments and incidents, shaped like version-7 UUIDs and
/// apart from the organisation's own counter.
const ID_PREFIX: u128 = 0x0191_0000_0000_7000_8000_0000_0000_0000;

struct Gen {
    rng: Rng,
    next_id: u128,
    out: Engineering,
}

/// One service as the generator sees it.
struct Service {
    project: Uuid,
    name: String,
    /// The folder it owns when its repository holds several services.
    folder: Option<String>,
    /// The main-branch head it last shipped to production, and when.
    deployed: Option<String>,
    /// Changes merged that production does not run yet.
    pending: bool,
    deploy_seq: u32,
}

/// One repository's main branch.
struct Repo {
    name: String,
    team: usize,
    head: Option<String>,
    next_pr: i64,
    services: Vec<Service>,
}

/// The engineering history of `projects` (the demo organisation's, whose
/// index in `team_ids` says which team they belong to) as of `today`.
pub fn engineering(today: NaiveDate, team_ids: &[Uuid], projects: &[Project]) -> Engineering {
    let mut g = Gen {
        rng: Rng(0x7A4D_E3D0_2026_0E06),
        next_id: 0,
        out: Engineering::default(),
    };
    let mut repos = Vec::new();
    for p in projects {
        let team = team_ids.iter().position(|t| *t == p.team_id).unwrap_or(0);
        for (r, name) in p.repositories.iter().enumerate() {
            // Services map onto repositories in order; extra services share
            // the last repository (a monorepo).
            let services: Vec<&String> = p
                .services
                .iter()
                .enumerate()
                .filter(|(s, _)| (*s).min(p.repositories.len() - 1) == r)
                .map(|(_, s)| s)
                .collect();
            let mono = services.len() > 1;
            let services = services
                .into_iter()
                .map(|s| Service {
                    project: p.id,
                    name: s.clone(),
                    folder: mono.then(|| format!("{s}/")),
                    deployed: None,
                    pending: false,
                    deploy_seq: 0,
                })
                .collect::<Vec<_>>();
            for s in &services {
                if let Some(folder) = &s.folder {
                    g.out.scopes.push(ServiceScope {
                        project_id: p.id,
                        service: s.name.clone(),
                        repo: name.clone(),
                        path_prefixes: vec![folder.clone()],
                    });
                }
            }
            repos.push(Repo {
                name: name.clone(),
                team,
                head: None,
                next_pr: 100 + 37 * repos.len() as i64,
                services,
            });
        }
    }
    for repo in &mut repos {
        g.root_commit(repo, today - Duration::days(HISTORY_DAYS + 30));
    }
    for back in (1..=HISTORY_DAYS).rev() {
        let day = today - Duration::days(back);
        if is_weekend(day) {
            continue;
        }
        for repo in &mut repos {
            g.work_day(repo, day);
        }
    }
    g.out
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time"))
        .and_utc()
}

impl Gen {
    fn id(&mut self) -> Uuid {
        self.next_id += 1;
        Uuid::from_u128(ID_PREFIX | self.next_id)
    }

    fn sha(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64() as u32
        )
    }

    fn hours(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(self.rng.range(lo * 60, hi * 60))
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        repo: &str,
        parents: Vec<String>,
        authored_at: DateTime<Utc>,
        committed_at: DateTime<Utc>,
        subject: String,
        files: Vec<FileChange>,
    ) -> String {
        let sha = self.sha();
        let (name, email) = *self.rng.pick(&AUTHORS);
        let additions = files.iter().map(|f| f.additions).sum();
        let deletions = files.iter().map(|f| f.deletions).sum();
        self.out.commits.push(Commit {
            repo: repo.to_owned(),
            sha: sha.clone(),
            author_name: name.to_owned(),
            author_email: email.to_owned(),
            authored_at,
            author_offset: 60,
            committed_at,
            committer_offset: 60,
            subject,
            parent_count: parents.len() as i32,
            parents,
            additions: Some(additions),
            deletions: Some(deletions),
            files,
            source: CommitSource::Git,
        });
        sha
    }

    fn files(&mut self, folder: &str) -> Vec<FileChange> {
        let n = self.rng.range(1, 4);
        (0..n)
            .map(|i| FileChange {
                path: format!("{folder}src/module_{}.rs", self.rng.range(1, 30) * 10 + i),
                additions: self.rng.range(1, 120),
                deletions: self.rng.range(0, 60),
            })
            .collect()
    }

    fn root_commit(&mut self, repo: &mut Repo, day: NaiveDate) {
        let when = at(day, 9, 0);
        let files = vec![FileChange {
            path: "README.md".into(),
            additions: 12,
            deletions: 0,
        }];
        let sha = self.commit(
            &repo.name,
            Vec::new(),
            when,
            when,
            "Initial commit".into(),
            files,
        );
        repo.head = Some(sha);
    }

    fn work_day(&mut self, repo: &mut Repo, day: NaiveDate) {
        let rhythm = rhythm(repo.team);
        let merges = self.rng.range(rhythm.prs_per_day.0, rhythm.prs_per_day.1);
        // Which services changed today (a monorepo change touches one).
        let mut touched = vec![false; repo.services.len()];
        for m in 0..merges {
            let s = self.rng.range(0, repo.services.len() as i64 - 1) as usize;
            touched[s] = true;
            let folder = repo.services[s].folder.clone().unwrap_or_default();
            let merged_at = at(day, 11 + 2 * m as u32, self.rng.range(0, 59) as u32);
            self.pull_request(repo, &folder, merged_at, &rhythm);
        }
        // Staging on every change; production when the team ships today and
        // the service has changes that production does not run yet.
        for (s, touched) in touched.into_iter().enumerate() {
            let head = repo.head.clone().expect("every repository has a root");
            if touched {
                repo.services[s].pending = true;
                self.deploy(repo, s, day, &head, "staging", 16);
            }
            if repo.services[s].pending && self.rng.chance(rhythm.deploy_chance) {
                self.production(repo, s, day, &head, &rhythm);
            }
        }
    }

    fn pull_request(
        &mut self,
        repo: &mut Repo,
        folder: &str,
        merged_at: DateTime<Utc>,
        r: &Rhythm,
    ) {
        let number = repo.next_pr;
        repo.next_pr += 1;
        let base = repo.head.clone().expect("every repository has a root");
        let approved_at = merged_at - self.hours(0, 3);
        let first_review_at = approved_at - self.hours(0, 6);
        let created_at = first_review_at - self.hours(1, 20);
        let title = self.rng.pick(&CHANGES).to_string();
        let n = self.rng.range(1, 4);
        let mut authored = created_at - self.hours(2, 60);
        let mut parent = base.clone();
        let mut pr_commits = Vec::new();
        let mut all_files = Vec::new();
        for i in 0..n {
            let files = self.files(folder);
            all_files.extend(files.iter().cloned());
            let subject = if i == 0 {
                title.clone()
            } else {
                format!("{title}: review fixes")
            };
            let sha = self.commit(&repo.name, vec![parent], authored, authored, subject, files);
            pr_commits.push(PrCommit {
                sha: sha.clone(),
                authored_at: authored,
            });
            parent = sha;
            authored = (authored + self.hours(1, 8)).min(created_at - Duration::minutes(5));
        }
        let squash = self.rng.chance(r.squash);
        let merge_sha = if squash {
            // One new commit on main; the branch's commits are not reachable
            // from it, so attribution goes through the pull request.
            self.commit(
                &repo.name,
                vec![base],
                merged_at,
                merged_at,
                format!("{title} (#{number})"),
                all_files,
            )
        } else {
            self.commit(
                &repo.name,
                vec![base, parent.clone()],
                merged_at,
                merged_at,
                format!("Merge pull request #{number}"),
                Vec::new(),
            )
        };
        repo.head = Some(merge_sha.clone());
        self.out.pull_requests.push(PullRequest {
            repo: repo.name.clone(),
            number,
            source: SOURCE.into(),
            title,
            state: PrState::Merged,
            draft: false,
            base_branch: "main".into(),
            head_sha: Some(parent),
            merge_commit_sha: Some(merge_sha.clone()),
            created_at,
            ready_at: Some(created_at),
            first_commit_at: pr_commits.iter().map(|c| c.authored_at).min(),
            first_review_at: Some(first_review_at),
            approved_at: Some(approved_at),
            merged_at: Some(merged_at),
            closed_at: Some(merged_at),
            updated_at: merged_at,
            commits: pr_commits,
        });
        let reviews = [
            (ReviewState::Commented, first_review_at),
            (ReviewState::Approved, approved_at),
        ];
        for (k, (state, submitted_at)) in reviews.into_iter().enumerate() {
            self.out.reviews.push((
                repo.name.clone(),
                number,
                Review {
                    review_id: format!("{number}-{k}"),
                    state,
                    submitted_at,
                },
            ));
        }
        let coverage = 72.0 + 8.0 * self.rng.unit() + repo.team as f64;
        self.out.pipelines.push(Pipeline {
            source: SOURCE.into(),
            external_id: format!("{}#{number}", repo.name),
            repo: repo.name.clone(),
            sha: Some(merge_sha),
            branch: Some("main".into()),
            status: PipelineStatus::Success,
            started_at: merged_at + Duration::minutes(1),
            finished_at: Some(merged_at + Duration::minutes(self.rng.range(6, 25))),
            coverage: Some((coverage * 10.0).round() / 10.0),
        });
    }

    fn deploy(
        &mut self,
        repo: &mut Repo,
        s: usize,
        day: NaiveDate,
        sha: &str,
        environment: &str,
        hour: u32,
    ) -> Deployment {
        let service = &mut repo.services[s];
        service.deploy_seq += 1;
        let started_at = at(day, hour, self.rng.range(0, 40) as u32);
        let d = Deployment {
            id: self.id(),
            source: SOURCE.into(),
            external_id: format!("{}-{environment}-{}", service.name, service.deploy_seq),
            project_id: service.project,
            service: service.name.clone(),
            environment: environment.into(),
            status: DeploymentStatus::Success,
            repo: Some(repo.name.clone()),
            sha: Some(sha.to_owned()),
            is_rollback: false,
            explicit_commits: Vec::new(),
            started_at,
            finished_at: Some(started_at + Duration::minutes(self.rng.range(3, 15))),
            created_at: started_at,
            updated_at: started_at,
        };
        self.out.deployments.push(d.clone());
        d
    }

    fn production(&mut self, repo: &mut Repo, s: usize, day: NaiveDate, head: &str, r: &Rhythm) {
        let mut d = self.deploy(repo, s, day, head, "production", 17);
        if self.rng.chance(r.failed_deploy) {
            // Failed before it went live: it ships nothing, the next one will.
            let last = self.out.deployments.last_mut().expect("just pushed");
            last.status = DeploymentStatus::Failure;
            return;
        }
        let previous = repo.services[s].deployed.replace(head.to_owned());
        repo.services[s].pending = false;
        if !self.rng.chance(r.incident) {
            return;
        }
        let finished = d.finished_at.expect("demo deployments finish");
        let opened_at = finished + self.hours(1, 6);
        let restore = self.hours(r.restore_hours.0, r.restore_hours.1);
        let linked = self.rng.chance(0.6);
        let service = repo.services[s].name.clone();
        let incident = Incident {
            id: self.id(),
            source: SOURCE.into(),
            external_id: format!("INC-{}", 1000 + self.out.incidents.len()),
            project_id: repo.services[s].project,
            service: Some(service.clone()),
            title: format!("{service}: error rate above threshold"),
            severity: if self.rng.chance(0.3) { "sev1" } else { "sev2" }.into(),
            opened_at,
            resolved_at: Some(opened_at + restore),
            caused_by: linked.then(|| d.external_id.clone()),
            created_at: opened_at,
            updated_at: opened_at + restore,
        };
        self.out.incidents.push(incident);
        // Some incidents are mitigated by rolling back to what ran before.
        if let Some(previous) = previous.filter(|_| self.rng.chance(0.3)) {
            let service = &mut repo.services[s];
            service.deploy_seq += 1;
            service.deployed = Some(previous.clone());
            let started_at = opened_at + Duration::minutes(20);
            d = Deployment {
                id: self.id(),
                external_id: format!("{}-production-{}", service.name, service.deploy_seq),
                sha: Some(previous),
                is_rollback: true,
                started_at,
                finished_at: Some(started_at + Duration::minutes(5)),
                created_at: started_at,
                updated_at: started_at,
                ..d
            };
            self.out.deployments.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::organisation;

    fn build(today: NaiveDate) -> Engineering {
        let org = organisation(today);
        let teams: Vec<Uuid> = org.teams.iter().map(|t| t.id).collect();
        engineering(today, &teams, &org.projects)
    }

    #[test]
    fn deterministic_and_valid() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let a = build(today);
        assert_eq!(a, build(today));
        let midnight = at(today, 0, 0);
        let shas: HashSet<(&str, &str)> = a
            .commits
            .iter()
            .map(|c| (c.repo.as_str(), c.sha.as_str()))
            .collect();
        assert_eq!(shas.len(), a.commits.len(), "shas are unique");
        for c in &a.commits {
            c.validate().unwrap();
            assert!(c.authored_at < midnight);
            for p in &c.parents {
                assert!(shas.contains(&(c.repo.as_str(), p.as_str())));
            }
        }
        for pr in &a.pull_requests {
            pr.validate().unwrap();
            assert!(pr.created_at <= pr.first_review_at.unwrap());
            assert!(pr.first_review_at <= pr.approved_at);
            assert!(pr.approved_at <= pr.merged_at);
            for c in &pr.commits {
                assert!(c.authored_at < pr.created_at);
            }
        }
        for d in &a.deployments {
            d.validate().unwrap();
            let sha = d.sha.as_deref().unwrap();
            assert!(shas.contains(&(d.repo.as_deref().unwrap(), sha)));
            assert!(d.finished_at.unwrap() < midnight);
        }
        for i in &a.incidents {
            i.validate().unwrap();
        }
        for p in &a.pipelines {
            p.validate().unwrap();
        }
        // Checkout and Users are monorepos with two scoped services each.
        let mut scoped: Vec<(&str, &str)> = a
            .scopes
            .iter()
            .map(|s| (s.repo.as_str(), s.service.as_str()))
            .collect();
        scoped.sort();
        assert_eq!(
            scoped,
            [
                ("acme/checkout-web", "checkout-bff"),
                ("acme/checkout-web", "checkout-web"),
                ("acme/users-api", "users-api"),
                ("acme/users-api", "users-search"),
            ]
        );
    }

    #[test]
    fn teams_ship_at_different_rhythms() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let org = organisation(today);
        let e = build(today);
        let per_team = |key: &str| {
            let team = org.teams.iter().find(|t| t.key == key).unwrap().id;
            let projects: HashSet<Uuid> = org
                .projects
                .iter()
                .filter(|p| p.team_id == team)
                .map(|p| p.id)
                .collect();
            let prod = |d: &&Deployment| {
                projects.contains(&d.project_id)
                    && d.environment == "production"
                    && d.status == DeploymentStatus::Success
            };
            let deploys = e.deployments.iter().filter(prod).count();
            let incidents = e
                .incidents
                .iter()
                .filter(|i| projects.contains(&i.project_id))
                .count();
            (deploys, incidents)
        };
        let (pay, pay_inc) = per_team("payments");
        let (plat, plat_inc) = per_team("platform");
        assert!(pay > 3 * plat, "payments {pay} vs platform {plat}");
        assert!(pay_inc > 0 && plat_inc > 0);
        assert!(
            (plat_inc as f64 / plat as f64) > (pay_inc as f64 / pay as f64),
            "platform fails more often"
        );
    }
}
