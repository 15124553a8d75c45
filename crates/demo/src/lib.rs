//! A demo organisation: three teams with about six months of history, built
//! only from the domain's own constructors and rules.
//!
//! Its own crate (`tandem-demo`), so the demo's static data ([`data`], plain
//! Rust) stays out of the pure domain crate; it depends on `tandem-domain`
//! only, never the other way round. Users: the server's demo loader, the
//! store's `demo_dump`, tests and benchmarks.
//!
//! [`organisation`] is a pure function of `today`: the same date gives the
//! same data, byte for byte. The only randomness is a small seeded
//! SplitMix64 generator defined here. It shapes demo data and nothing else;
//! it is not cryptographically secure and must never be used for secrets.
//!
//! Conventions:
//! - Every instant is before `today` 00:00 UTC, so the history never runs
//!   into the future whatever the caller's clock says.
//! - Ids come from a counter, `0190…-7xxx-8xxx-…`: they look like UUIDs and,
//!   within each kind of entity, sort in creation order (storage lists by id).
//! - Working hours are computed in each team's standard-time UTC offset; the
//!   demo ignores daylight saving, which only shifts times by an hour.
//! - Goals get their version history by really calling [`Goal::transition`]
//!   and [`Goal::apply`], so the versions are exactly what the domain produces.

mod data;
pub mod engineering;
pub mod pulse;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use uuid::Uuid;

use tandem_domain::decision::{Decision, NewDecision};
use tandem_domain::goal::{
    Goal, GoalPatch, GoalTransition, GoalVersion, NewGoal, Parties, SuccessMetric, Timeline,
};
use tandem_domain::metric::{
    Audience, ComputedFrom, Direction, Metric, MetricPoint, NewMetric, NewPoint,
};
use tandem_domain::project::{NewProject, Project};
use tandem_domain::risk::{Level, NewRisk, Risk, RiskPatch, RiskStatus};
use tandem_domain::stage::{NewStage, Stage};
use tandem_domain::team::{NewTeam, Team};
use tandem_domain::user::{NewUser, Role, User};
use tandem_domain::work_item::{NewWorkItem, Priority, WorkContext, WorkItem, WorkKind, WorkState};

use crate::data::*;

/// Days of work-item history, ending the day before `today`.
pub const HISTORY_DAYS: i64 = 182;
/// Weeks of history (and of weekly metric points).
pub const WEEKS: usize = 26;
/// The `source` of every demo work item.
pub const SOURCE: &str = "demo";

/// Everything the demo organisation consists of, in creation order.
#[derive(Debug, Clone, PartialEq)]
pub struct Demo {
    pub teams: Vec<Team>,
    pub users: Vec<DemoUser>,
    /// `(team id, user id)` pairs.
    pub memberships: Vec<(Uuid, Uuid)>,
    pub projects: Vec<Project>,
    pub goals: Vec<Goal>,
    pub goal_versions: Vec<GoalVersion>,
    pub stages: Vec<Stage>,
    pub work_items: Vec<WorkItem>,
    pub risks: Vec<Risk>,
    pub metrics: Vec<Metric>,
    pub points: Vec<MetricPoint>,
    pub decisions: Vec<Decision>,
}

/// A demo person. There is no password here: the caller sets one.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoUser {
    pub user: User,
}

/// Builds the demo organisation as of `today`.
pub fn organisation(today: NaiveDate) -> Demo {
    Builder::new(today).build()
}

// ---------------------------------------------------------------------------
// Randomness and ids
// ---------------------------------------------------------------------------

/// The fixed seed: the demo looks the same every time.
const SEED: u64 = 0x7A4D_E3D0_2026_0001;

/// SplitMix64 (Steele, Lea, Flood 2014). Deterministic and fast; NOT a
/// cryptographic generator. Used only to shape demo data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (the modulo bias is irrelevant for demo data).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.range(0, i64::from(total) - 1) as u32;
        for (item, weight) in items {
            if roll < *weight {
                return *item;
            }
            roll -= weight;
        }
        items[items.len() - 1].0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.range(0, i as i64) as usize;
            items.swap(i, j);
        }
    }
}

/// Counter-based ids shaped like version-7 UUIDs, increasing in the order
/// they are handed out.
#[derive(Debug)]
struct Ids(u128);

const ID_PREFIX: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0000;

impl Ids {
    fn next(&mut self) -> Uuid {
        self.0 += 1;
        Uuid::from_u128(ID_PREFIX | self.0)
    }
}

// ---------------------------------------------------------------------------
// Time helpers
// ---------------------------------------------------------------------------

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The date `n` weekdays before `d`.
fn weekdays_back(mut d: NaiveDate, n: i64) -> NaiveDate {
    let mut left = n;
    while left > 0 {
        d -= Duration::days(1);
        if !is_weekend(d) {
            left -= 1;
        }
    }
    d
}

/// A local time on `day` between `from:00` and `to:59`.
fn work_time(rng: &mut Rng, day: NaiveDate, from: i64, to: i64) -> NaiveDateTime {
    let hour = rng.range(from, to) as u32;
    let minute = rng.range(0, 59) as u32;
    let second = rng.range(0, 59) as u32;
    day.and_hms_opt(hour, minute, second)
        .expect("hours and minutes in range")
}

fn minutes_since_nine(t: NaiveDateTime) -> i64 {
    (i64::from(t.hour()) - 9) * 60 + i64::from(t.minute())
}

/// Created, started and done times of a finished item done on `done_day`.
fn done_times(
    rng: &mut Rng,
    kind: WorkKind,
    done_day: NaiveDate,
    earliest_start: NaiveDate,
    earliest_created: NaiveDate,
) -> (NaiveDateTime, NaiveDateTime, NaiveDateTime) {
    if kind == WorkKind::Incident {
        let created = work_time(rng, done_day, 9, 13);
        let started = created + Duration::minutes(rng.range(3, 25));
        let done = started + Duration::minutes(rng.range(20, 280));
        return (created, started, done);
    }
    let done = work_time(rng, done_day, 10, 17);
    let cycle = rng.weighted(cycle_weights(kind));
    let mut start_day = weekdays_back(done_day, cycle).max(earliest_start);
    while is_weekend(start_day) && start_day < done_day {
        start_day += Duration::days(1);
    }
    let started = if start_day >= done_day {
        let room = minutes_since_nine(done);
        done - Duration::minutes(rng.range(30, room.min(240)))
    } else {
        work_time(rng, start_day, 9, 16)
    };
    let wait = rng.weighted(wait_weights(kind));
    let created_day = weekdays_back(start_day, wait)
        .max(earliest_created)
        .min(start_day);
    let created = if created_day >= started.date() {
        let room = minutes_since_nine(started);
        if room >= 15 {
            started - Duration::minutes(rng.range(5, room.min(90)))
        } else {
            work_time(rng, weekdays_back(started.date(), 1), 14, 17)
        }
    } else {
        work_time(rng, created_day, 9, 17)
    };
    (created, started, done)
}

/// Working days from start to done.
fn cycle_weights(kind: WorkKind) -> &'static [(i64, u32)] {
    match kind {
        WorkKind::Feature => &[
            (0, 5),
            (1, 15),
            (2, 20),
            (3, 20),
            (4, 15),
            (6, 12),
            (9, 8),
            (12, 5),
        ],
        WorkKind::Bug => &[(0, 30), (1, 30), (2, 20), (3, 12), (5, 8)],
        WorkKind::Debt => &[(1, 20), (2, 25), (3, 25), (5, 20), (8, 10)],
        WorkKind::Chore | WorkKind::Incident => &[(0, 50), (1, 35), (2, 15)],
    }
}

/// Working days from created to started.
fn wait_weights(kind: WorkKind) -> &'static [(i64, u32)] {
    match kind {
        WorkKind::Feature => &[(1, 10), (3, 20), (5, 20), (10, 20), (20, 20), (35, 10)],
        WorkKind::Bug => &[(0, 40), (1, 30), (3, 20), (10, 10)],
        WorkKind::Debt => &[(5, 20), (10, 25), (20, 25), (40, 20), (60, 10)],
        WorkKind::Chore | WorkKind::Incident => &[(0, 30), (2, 30), (5, 25), (10, 15)],
    }
}

// ---------------------------------------------------------------------------
// Kinds, priorities and titles
// ---------------------------------------------------------------------------

/// The mix of generic work: drawn from a shuffled deck rather than one
/// item at a time, so every team ends up close to these shares (debt about
/// 18 %, incidents 2 %) instead of wherever chance takes it.
const KIND_DECK: &[(WorkKind, usize)] = &[
    (WorkKind::Feature, 26),
    (WorkKind::Bug, 10),
    (WorkKind::Debt, 9),
    (WorkKind::Chore, 4),
    (WorkKind::Incident, 1),
];

#[derive(Debug, Default)]
struct KindDeck(Vec<WorkKind>);

impl KindDeck {
    fn draw(&mut self, rng: &mut Rng) -> WorkKind {
        if self.0.is_empty() {
            for &(kind, n) in KIND_DECK {
                self.0.extend(std::iter::repeat_n(kind, n));
            }
            rng.shuffle(&mut self.0);
        }
        self.0.pop().expect("the deck was just filled")
    }
}

/// Impact and complexity as a team would rate them.
fn levels(rng: &mut Rng, kind: WorkKind) -> (Level, Level) {
    use Level::*;
    match kind {
        WorkKind::Incident => (
            rng.weighted(&[(High, 8), (Medium, 2)]),
            rng.weighted(&[(Low, 7), (Medium, 3)]),
        ),
        WorkKind::Feature => {
            let impact = rng.weighted(&[(High, 25), (Medium, 50), (Low, 25)]);
            let complexity = rng.weighted(&[(Low, 25), (Medium, 50), (High, 25)]);
            // High impact for little effort is rare in feature work.
            let complexity = if (impact, complexity) == (High, Low) {
                Medium
            } else {
                complexity
            };
            (impact, complexity)
        }
        WorkKind::Bug => (
            rng.weighted(&[(High, 6), (Medium, 52), (Low, 42)]),
            rng.weighted(&[(Low, 60), (Medium, 35), (High, 5)]),
        ),
        WorkKind::Debt => (
            rng.weighted(&[(Medium, 55), (Low, 45)]),
            rng.weighted(&[(Low, 15), (Medium, 50), (High, 35)]),
        ),
        WorkKind::Chore => (
            rng.weighted(&[(Low, 70), (Medium, 30)]),
            rng.weighted(&[(Low, 80), (Medium, 20)]),
        ),
    }
}

/// The essay's impact × complexity matrix: a critical, easy fix is P0, a
/// valuable but hard feature P1, a medium refactoring P2, a "cool" extra P3.
fn priority(kind: WorkKind, impact: Level, complexity: Level) -> Priority {
    // The organisation's rules (the essay's matrix), as a manager using
    // Tandem would get them.
    tandem_domain::priority::rule_priority(
        kind,
        Some(impact),
        Some(complexity),
        &tandem_domain::priority::Matrix::default(),
    )
    .unwrap_or(Priority::P2)
}

const FEATURE_TEMPLATES: &[&str] = &[
    "Add filters to the {}",
    "Add CSV export to the {}",
    "Add search to the {}",
    "Paginate the {}",
    "Localise the {}",
    "Add keyboard shortcuts to the {}",
    "Add an empty state to the {}",
    "Show the last-updated time on the {}",
    "Add bulk actions to the {}",
    "Make the {} usable with a screen reader",
    "Add a date-range picker to the {}",
    "Show totals on the {}",
    "Remember the sort order on the {}",
    "Add a print view of the {}",
    "Link to the {} from the main menu",
    "Track usage of the {}",
];

const BUG_TEMPLATES: &[&str] = &[
    "Fix wrong totals on the {}",
    "Fix broken sorting on the {}",
    "Fix missing translations on the {}",
    "Fix stale data on the {}",
    "Fix layout shift on the {} on mobile",
    "Fix wrong time zone on the {}",
    "Fix 500 error on the {} with an empty filter",
    "Fix slow first load of the {}",
];

const DEBT_TEMPLATES: &[&str] = &[
    "Add tests for the {}",
    "Remove dead code in the {}",
    "Add tracing to the {}",
    "Upgrade dependencies of the {}",
    "Split the {} into smaller modules",
    "Replace polling in the {} with events",
    "Remove deprecated API calls from the {}",
    "Add structured logging to the {}",
];

const CHORE_TEMPLATES: &[&str] = &[
    "Update the on-call runbook for the {}",
    "Rotate credentials of the {}",
    "Clean up alerts for the {}",
    "Review access to the {}",
];

const INCIDENT_TEMPLATES: &[&str] = &[
    "Elevated error rate on {}",
    "High latency on {}",
    "{} ran out of memory",
    "Failed deploy of {} rolled back",
];

const BUG_WHY: &[&str] = &[
    "Reported by support.",
    "Found in the error tracker.",
    "Reported by a customer.",
    "Found during exploratory testing.",
];

/// Hands out titles for one team without repeating itself: curated titles
/// first, then templates over the team's own nouns, each in a shuffled order.
#[derive(Debug)]
struct Titles {
    /// Per kind, a stack: the next title is popped from the end.
    queues: Vec<(WorkKind, Vec<String>)>,
    used: BTreeSet<String>,
}

impl Titles {
    fn new(rng: &mut Rng, team: &'static TeamSpec) -> Self {
        let v = &team.vocab;
        let services: Vec<&str> = team
            .projects
            .iter()
            .flat_map(|p| p.services.iter().copied())
            .collect();
        type Source<'a> = (WorkKind, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
        let sources: [Source; 5] = [
            (WorkKind::Feature, v.features, FEATURE_TEMPLATES, v.pages),
            (WorkKind::Bug, v.bugs, BUG_TEMPLATES, v.pages),
            (WorkKind::Debt, v.debts, DEBT_TEMPLATES, v.components),
            (WorkKind::Chore, v.chores, CHORE_TEMPLATES, v.components),
            (
                WorkKind::Incident,
                v.incidents,
                INCIDENT_TEMPLATES,
                &services,
            ),
        ];
        let queues = sources
            .into_iter()
            .map(|(kind, curated, templates, nouns)| {
                let mut templated: Vec<String> = templates
                    .iter()
                    .flat_map(|t| nouns.iter().map(move |n| t.replace("{}", n)))
                    .collect();
                let mut curated: Vec<String> = curated.iter().map(|s| s.to_string()).collect();
                rng.shuffle(&mut templated);
                rng.shuffle(&mut curated);
                templated.extend(curated);
                (kind, templated)
            })
            .collect();
        Self {
            queues,
            used: BTreeSet::new(),
        }
    }

    /// Reserves a title that stage plans use, so no generic item takes it.
    fn reserve(&mut self, title: &str) {
        self.used.insert(title.to_owned());
    }

    fn take(&mut self, rng: &mut Rng, kind: WorkKind, day: NaiveDate) -> String {
        if kind == WorkKind::Chore && rng.chance(0.3) {
            let title = format!("Weekly dependency updates, week {}", day.iso_week().week());
            if self.used.insert(title.clone()) {
                return title;
            }
        }
        let queue = self
            .queues
            .iter_mut()
            .find(|(k, _)| *k == kind)
            .map(|(_, q)| q)
            .expect("every kind has a queue");
        let mut last = None;
        while let Some(title) = queue.pop() {
            if self.used.insert(title.clone()) {
                return title;
            }
            last = Some(title);
        }
        // Only reached if a team ever needs more titles than the templates give.
        let base = last.unwrap_or_else(|| format!("Follow-up {kind} work"));
        let mut n = 2;
        loop {
            let title = format!("{base} (follow-up {n})");
            if self.used.insert(title.clone()) {
                return title;
            }
            n += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Builder {
    today: NaiveDate,
    rng: Rng,
    ids: Ids,
}

/// A goal as built, with what work items need to link to it.
#[derive(Debug)]
struct BuiltGoal {
    /// Index into `GOALS`.
    index: usize,
    spec: &'static GoalSpec,
    id: Uuid,
    project_id: Uuid,
    agreed_day: Option<i64>,
    dropped_day: Option<i64>,
    /// Stage ids by position - 1.
    stage_ids: Vec<Uuid>,
}

#[derive(Debug)]
struct ItemDraft {
    team: usize,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    item: NewWorkItem,
}

/// Day offsets when the team was set up, before the history starts.
const SETUP_DAY: i64 = -300;

impl Builder {
    fn new(today: NaiveDate) -> Self {
        Self {
            today,
            rng: Rng(SEED),
            ids: Ids(0),
        }
    }

    fn date(&self, day: i64) -> NaiveDate {
        self.today + Duration::days(day)
    }

    fn day_of(&self, date: NaiveDate) -> i64 {
        (date - self.today).num_days()
    }

    /// A working-hours instant for `team` on `day`.
    fn at(&mut self, team: usize, day: i64, from: i64, to: i64) -> DateTime<Utc> {
        let date = self.date(day);
        TEAMS[team].utc(work_time(&mut self.rng, date, from, to))
    }

    fn build(mut self) -> Demo {
        let teams = self.teams();
        let (users, memberships) = self.users(&teams);
        let projects = self.projects(&teams);
        let (metrics, points) = self.metrics(&teams);
        let (goals, goal_versions, mut built) = self.goals(&teams, &projects);
        let stages = self.stages(&mut built);
        let risks = self.risks(&teams, &built);
        let decisions = self.decisions(&teams, &built);
        let work_items = self.work_items(&teams, &projects, &built);
        Demo {
            teams,
            users,
            memberships,
            projects,
            goals,
            goal_versions,
            stages,
            work_items,
            risks,
            metrics,
            points,
            decisions,
        }
    }

    fn teams(&mut self) -> Vec<Team> {
        TEAMS
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let now = self.at(i, SETUP_DAY, 9, 10);
                NewTeam {
                    key: spec.key.to_owned(),
                    name: spec.name.to_owned(),
                    timezone: Some(spec.timezone.to_owned()),
                }
                .into_team(self.ids.next(), now)
                .expect("demo team is valid")
            })
            .collect()
    }

    fn users(&mut self, teams: &[Team]) -> (Vec<DemoUser>, Vec<(Uuid, Uuid)>) {
        let mut users = Vec::new();
        for (i, spec) in USERS.iter().enumerate() {
            let now = self.at(PAYMENTS, SETUP_DAY, 11, 11) + Duration::minutes(i as i64);
            let user = NewUser {
                username: spec.username.to_owned(),
                display_name: Some(spec.display_name.to_owned()),
                email: Some(format!("{}@acme.example", spec.username)),
                role: spec.role,
            }
            .into_user(self.ids.next(), now)
            .expect("demo user is valid");
            users.push(DemoUser { user });
        }
        let mut memberships = Vec::new();
        for (t, team) in teams.iter().enumerate() {
            for (spec, user) in USERS.iter().zip(&users) {
                if spec.teams.contains(&t) {
                    memberships.push((team.id, user.user.id));
                }
            }
        }
        (users, memberships)
    }

    fn projects(&mut self, teams: &[Team]) -> Vec<Project> {
        let mut projects = Vec::new();
        for (t, team) in teams.iter().enumerate() {
            for spec in &TEAMS[t].projects {
                let now = self.at(t, SETUP_DAY + 1, 9, 16);
                let project = NewProject {
                    team_id: team.id,
                    key: spec.key.to_owned(),
                    name: spec.name.to_owned(),
                    repositories: spec.repositories.iter().map(|s| s.to_string()).collect(),
                    services: spec.services.iter().map(|s| s.to_string()).collect(),
                }
                .into_project(self.ids.next(), now)
                .expect("demo project is valid");
                projects.push(project);
            }
        }
        projects
    }

    fn metrics(&mut self, teams: &[Team]) -> (Vec<Metric>, Vec<MetricPoint>) {
        let last_monday =
            self.today - Duration::days(i64::from(self.today.weekday().num_days_from_monday()));
        let mut metrics = Vec::new();
        let mut points = Vec::new();
        for (i, spec) in METRICS.iter().enumerate() {
            let now = self.at(spec.team.unwrap_or(PAYMENTS), SETUP_DAY + 2, 10, 10)
                + Duration::minutes(i as i64 * 3);
            let metric = NewMetric {
                key: spec.key.to_owned(),
                name: spec.name.to_owned(),
                description: spec.description.to_owned(),
                unit: spec.unit.to_owned(),
                direction: spec.direction,
                audience: spec.audience,
                team_id: spec.team.map(|t| teams[t].id),
                computed_from: spec.computed,
            }
            .into_metric(self.ids.next(), now)
            .expect("demo metric is valid");
            // The noise is drawn for every series alike, so binding one does
            // not change the others' values.
            for k in 0..WEEKS {
                let monday = last_monday - Duration::days(7 * (WEEKS - 1 - k) as i64);
                let day = self.day_of(monday);
                let noise = (self.rng.unit() * 2.0 - 1.0) * spec.noise;
                let value = spec.round(spec.value_at(day) + noise);
                if spec.computed.is_some() {
                    continue;
                }
                let at = monday.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
                points.push(
                    NewPoint { at, value }
                        .into_point(metric.id, k)
                        .expect("demo point is finite"),
                );
            }
            metrics.push(metric);
        }
        (metrics, points)
    }

    fn goals(
        &mut self,
        teams: &[Team],
        projects: &[Project],
    ) -> (Vec<Goal>, Vec<GoalVersion>, Vec<BuiltGoal>) {
        // Ids in creation order.
        let mut order: Vec<usize> = (0..GOALS.len()).collect();
        order.sort_by_key(|&g| GOALS[g].created);
        let mut ids = vec![Uuid::nil(); GOALS.len()];
        for &g in &order {
            ids[g] = self.ids.next();
        }

        let mut goals = Vec::new();
        let mut versions = Vec::new();
        let mut built = Vec::new();
        for &g in &order {
            let spec = &GOALS[g];
            let team = spec.team;
            let manager = TEAMS[team].manager;
            let project_id = projects[team * 2 + spec.project].id;
            let deadline = spec.deadline.map(|d| self.date(d));
            let created = self.at(team, spec.created, 9, 16);
            let mut goal = NewGoal {
                team_id: teams[team].id,
                project_id: Some(project_id),
                title: spec.title.to_owned(),
                business_goal: spec.business_goal.to_owned(),
                technical_tasks: spec.technical_tasks.to_owned(),
                hypotheses: spec.hypotheses.iter().map(|s| s.to_string()).collect(),
                success_metrics: spec
                    .targets
                    .iter()
                    .map(|t| SuccessMetric {
                        metric: t.metric.to_owned(),
                        metric_key: t.key.map(str::to_owned),
                        baseline: t.baseline,
                        target: t.target,
                        direction: t.direction,
                        unit: t.unit.to_owned(),
                        deadline: if t.with_deadline { deadline } else { None },
                    })
                    .collect(),
                parties: Parties {
                    owner: spec.owner.map(str::to_owned),
                    requester: spec.requester.map(str::to_owned),
                    contributors: spec.contributors.iter().map(|s| s.to_string()).collect(),
                },
                timeline: Timeline {
                    starts_on: spec.starts_on.map(|d| self.date(d)),
                    deadline,
                },
            }
            .into_goal(ids[g], created)
            .expect("demo goal is valid");

            let mut agreed_day = None;
            let mut dropped_day = None;
            for step in spec.steps {
                let now = self.at(team, step.day(), 10, 16);
                let change = match *step {
                    Step::Agree(d) => {
                        agreed_day = Some(d);
                        goal.transition(GoalTransition::Agree, manager, now)
                    }
                    Step::Start(_) => goal.transition(GoalTransition::Start, manager, now),
                    Step::Complete(_) => goal.transition(GoalTransition::Complete, manager, now),
                    Step::Drop(d) => {
                        dropped_day = Some(d);
                        goal.transition(GoalTransition::Drop, manager, now)
                    }
                    Step::MoveDeadline { to, .. } => {
                        let to = Some(self.date(to));
                        let metrics = goal
                            .success_metrics
                            .iter()
                            .map(|m| SuccessMetric {
                                deadline: m.deadline.and(to),
                                ..m.clone()
                            })
                            .collect();
                        let patch = GoalPatch {
                            success_metrics: Some(metrics),
                            timeline: Some(Timeline {
                                deadline: to,
                                ..goal.timeline.clone()
                            }),
                            ..GoalPatch::default()
                        };
                        goal.apply(patch, manager, now)
                    }
                    Step::AddHypothesis { text, .. } => {
                        let mut hypotheses = goal.hypotheses.clone();
                        hypotheses.push(text.to_owned());
                        let patch = GoalPatch {
                            hypotheses: Some(hypotheses),
                            ..GoalPatch::default()
                        };
                        goal.apply(patch, manager, now)
                    }
                    Step::SetTechnicalTasks { text, .. } => {
                        let patch = GoalPatch {
                            technical_tasks: Some(text.to_owned()),
                            ..GoalPatch::default()
                        };
                        goal.apply(patch, manager, now)
                    }
                }
                .expect("demo goal step is allowed");
                goal = change.goal;
                versions.extend(change.version);
            }
            built.push(BuiltGoal {
                index: g,
                spec,
                id: goal.id,
                project_id,
                agreed_day,
                dropped_day,
                stage_ids: Vec::new(),
            });
            goals.push(goal);
        }
        (goals, versions, built)
    }

    /// Stages are planned right after agreement.
    fn stages(&mut self, built: &mut [BuiltGoal]) -> Vec<Stage> {
        let mut drafts = Vec::new();
        for (b, goal) in built.iter().enumerate() {
            let Some(agreed) = goal.agreed_day else {
                continue;
            };
            let base = self.at(goal.spec.team, agreed, 14, 15);
            for (i, spec) in goal.spec.stages.iter().enumerate() {
                let now = base + Duration::minutes(5 * (i as i64 + 1));
                drafts.push((now, b, i, spec));
            }
        }
        drafts.sort_by_key(|d| d.0);
        let mut stages = Vec::new();
        for (now, b, i, spec) in drafts {
            let position = i as i32 + 1;
            let stage = NewStage {
                goal_id: built[b].id,
                name: spec.name.to_owned(),
                description: spec.description.to_owned(),
                position: Some(position),
                starts_on: Some(self.date(spec.start)),
                ends_on: Some(self.date(spec.end)),
            }
            .into_stage(self.ids.next(), position, now)
            .expect("demo stage is valid");
            let ids = &mut built[b].stage_ids;
            if ids.len() < position as usize {
                ids.resize(position as usize, Uuid::nil());
            }
            ids[i] = stage.id;
            stages.push(stage);
        }
        stages
    }

    fn built_goal(built: &[BuiltGoal], spec: usize) -> &BuiltGoal {
        built
            .iter()
            .find(|b| b.index == spec)
            .expect("every goal spec is built")
    }

    fn risks(&mut self, teams: &[Team], built: &[BuiltGoal]) -> Vec<Risk> {
        let mut order: Vec<&RiskSpec> = RISKS.iter().collect();
        order.sort_by_key(|r| r.created);
        let mut risks = Vec::new();
        for spec in order {
            let goal = spec.goal.map(|g| Self::built_goal(built, g));
            let now = self.at(spec.team, spec.created, 9, 17);
            let mut risk = NewRisk {
                team_id: teams[spec.team].id,
                goal_id: goal.map(|g| g.id),
                stage_id: goal.zip(spec.stage).map(|(g, s)| g.stage_ids[s]),
                title: spec.title.to_owned(),
                description: spec.description.to_owned(),
                likelihood: spec.likelihood,
                impact: spec.impact,
                plan: spec.plan.to_owned(),
                owner: Some(spec.owner.to_owned()),
                schedule_impact_days: spec.schedule_impact_days,
            }
            .into_risk(self.ids.next(), now)
            .expect("demo risk is valid");
            for &(day, status) in spec.changes {
                let now = self.at(spec.team, day, 17, 17);
                risk.apply(
                    RiskPatch {
                        status: Some(status),
                        ..RiskPatch::default()
                    },
                    now,
                )
                .expect("demo risk change is valid");
            }
            risks.push(risk);
        }
        risks
    }

    fn decisions(&mut self, teams: &[Team], built: &[BuiltGoal]) -> Vec<Decision> {
        let mut order: Vec<&DecisionSpec> = DECISIONS.iter().collect();
        order.sort_by_key(|d| d.day);
        let mut decisions = Vec::new();
        for spec in order {
            let now = self.at(spec.team, spec.day, 15, 17);
            let decision = NewDecision {
                team_id: teams[spec.team].id,
                goal_id: spec.goal.map(|g| Self::built_goal(built, g).id),
                title: spec.title.to_owned(),
                context: spec.context.to_owned(),
                options: spec.options.iter().map(|s| s.to_string()).collect(),
                decision: spec.decision.to_owned(),
                consequences: spec.consequences.to_owned(),
                decided_by: Some(spec.decided_by.to_owned()),
                decided_at: Some(now),
            }
            .into_decision(self.ids.next(), now)
            .expect("demo decision is valid");
            decisions.push(decision);
        }
        decisions
    }

    fn work_items(
        &mut self,
        teams: &[Team],
        projects: &[Project],
        built: &[BuiltGoal],
    ) -> Vec<WorkItem> {
        let mut drafts = Vec::new();
        for t in 0..TEAMS.len() {
            self.team_items(t, teams, projects, built, &mut drafts);
        }
        // Ids and tracker keys in creation order.
        drafts.sort_by_key(|d| d.created);
        let mut next_key: Vec<u32> = TEAMS.iter().map(|t| t.first_key).collect();
        drafts
            .into_iter()
            .map(|mut d| {
                d.item.external_key =
                    Some(format!("{}-{}", TEAMS[d.team].prefix, next_key[d.team]));
                next_key[d.team] += 1;
                d.item
                    .into_item(self.ids.next(), d.updated)
                    .expect("demo work item is valid")
            })
            .collect()
    }

    fn team_items(
        &mut self,
        t: usize,
        teams: &[Team],
        projects: &[Project],
        built: &[BuiltGoal],
        out: &mut Vec<ItemDraft>,
    ) {
        let team = &TEAMS[t];
        let team_id = teams[t].id;
        let team_projects = [projects[2 * t].id, projects[2 * t + 1].id];
        let mut titles = Titles::new(&mut self.rng, team);
        let mut deck = KindDeck::default();
        let far_past = self.date(SETUP_DAY + 10);
        let yesterday = self.date(-1);
        let mut done_per_week = [0i64; WEEKS];
        let mut has_blocked = false;

        let new_item = |project: Uuid, title: String, kind: WorkKind| NewWorkItem {
            project_id: Some(project),
            source: Some(SOURCE.to_owned()),
            ..NewWorkItem::new(team_id, title, kind)
        };

        // 1. The planned work of every goal's stages.
        for goal in built.iter().filter(|g| g.spec.team == t) {
            for (s, stage) in goal.spec.stages.iter().enumerate() {
                for (title, _) in stage.items {
                    titles.reserve(title);
                }
                let Some(&stage_id) = goal.stage_ids.get(s) else {
                    continue;
                };
                let n = stage.items.len() as i64;
                let len = stage.end - stage.start + 1;
                for (i, &(title, kind)) in stage.items.iter().enumerate() {
                    let mut planned = self.date(stage.start + (i as i64 + 1) * len / (n + 1));
                    while is_weekend(planned) {
                        planned -= Duration::days(1);
                    }
                    if planned < self.date(stage.start) {
                        planned = self.date(stage.start);
                        while is_weekend(planned) {
                            planned += Duration::days(1);
                        }
                    }
                    let planned_day = self.day_of(planned);
                    let (impact, complexity) = match kind {
                        WorkKind::Feature => (
                            self.rng.weighted(&[(Level::High, 6), (Level::Medium, 4)]),
                            self.rng.weighted(&[(Level::Medium, 6), (Level::High, 4)]),
                        ),
                        other => levels(&mut self.rng, other),
                    };
                    let mut item = new_item(goal.project_id, title.to_owned(), kind);
                    item.goal_id = Some(goal.id);
                    item.stage_id = Some(stage_id);
                    item.impact = Some(impact);
                    item.complexity = Some(complexity);
                    item.priority = Some(priority(kind, impact, complexity));
                    let earliest_created = self.date(goal.agreed_day.unwrap_or(goal.spec.created));

                    let cancelled_on = goal.dropped_day.filter(|&d| planned_day >= d);
                    let draft = if let Some(drop_day) = cancelled_on {
                        let created_day = stage
                            .start
                            .min(drop_day - 1)
                            .max(goal.agreed_day.unwrap_or(drop_day - 1));
                        let created = self.at(t, created_day, 9, 11);
                        let cancelled = self.at(t, drop_day, 17, 17);
                        item.state = Some(WorkState::Cancelled);
                        item.context = self.goal_context(goal, created);
                        item.created_at = Some(created);
                        ItemDraft {
                            team: t,
                            created,
                            updated: cancelled,
                            item,
                        }
                    } else if planned_day < 0 {
                        let stage_start = self.date(stage.start);
                        let (created, started, done) =
                            done_times(&mut self.rng, kind, planned, stage_start, earliest_created);
                        let (created, started, done) =
                            (team.utc(created), team.utc(started), team.utc(done));
                        if let Ok(w) = usize::try_from(planned_day + HISTORY_DAYS)
                            && let Some(slot) = done_per_week.get_mut(w / 7)
                        {
                            *slot += 1;
                        }
                        item.state = Some(WorkState::Done);
                        item.context = self.goal_context(goal, created);
                        item.created_at = Some(created);
                        item.started_at = Some(started);
                        item.done_at = Some(done);
                        ItemDraft {
                            team: t,
                            created,
                            updated: done,
                            item,
                        }
                    } else if stage.start < 0 {
                        // The current stage: what is left is under way or next.
                        let in_progress = !out.iter().any(|d| {
                            d.item.stage_id == Some(stage_id)
                                && d.item.state == Some(WorkState::InProgress)
                        });
                        let back = self.rng.range(1, 3);
                        let created_day = weekdays_back(self.date(stage.start.max(-10)), back);
                        let created = team.utc(work_time(&mut self.rng, created_day, 9, 17));
                        item.created_at = Some(created);
                        item.context = self.goal_context(goal, created);
                        if in_progress {
                            let back = self.rng.range(1, 3);
                            let start_day = weekdays_back(self.today, back);
                            let started = team.utc(work_time(&mut self.rng, start_day, 9, 16));
                            item.state = Some(WorkState::InProgress);
                            item.started_at = Some(started.max(created + Duration::hours(1)));
                            let started = item.started_at.expect("just set");
                            ItemDraft {
                                team: t,
                                created,
                                updated: started,
                                item,
                            }
                        } else if !has_blocked {
                            has_blocked = true;
                            let started = team
                                .utc(work_time(
                                    &mut self.rng,
                                    weekdays_back(self.today, 4),
                                    9,
                                    12,
                                ))
                                .max(created + Duration::hours(1));
                            let blocked = team
                                .utc(work_time(
                                    &mut self.rng,
                                    weekdays_back(self.today, 2),
                                    9,
                                    17,
                                ))
                                .max(started + Duration::hours(1));
                            item.state = Some(WorkState::Blocked);
                            item.started_at = Some(started);
                            ItemDraft {
                                team: t,
                                created,
                                updated: blocked,
                                item,
                            }
                        } else {
                            item.state = Some(WorkState::Todo);
                            ItemDraft {
                                team: t,
                                created,
                                updated: created,
                                item,
                            }
                        }
                    } else {
                        // A future stage: planned, not started.
                        let day = weekdays_back(self.today, self.rng.range(1, 3))
                            .max(self.date(goal.agreed_day.unwrap_or(-1)));
                        let created = team.utc(work_time(&mut self.rng, day, 9, 17));
                        item.state = Some(WorkState::Todo);
                        item.created_at = Some(created);
                        item.context = self.goal_context(goal, created);
                        ItemDraft {
                            team: t,
                            created,
                            updated: created,
                            item,
                        }
                    };
                    out.push(draft);
                }
            }
        }

        // 2. Everything else the team finished, week by week.
        for (w, stage_done) in done_per_week.iter().enumerate() {
            let week_start = -HISTORY_DAYS + 7 * w as i64;
            let target = if w == team.quiet_week {
                self.rng.range(2, 3)
            } else {
                self.rng.range(team.weekly.0, team.weekly.1)
            };
            let weekdays: Vec<i64> = (week_start..week_start + 7)
                .filter(|&d| !is_weekend(self.date(d)))
                .collect();
            for _ in 0..(target - stage_done).max(0) {
                let kind = deck.draw(&mut self.rng);
                let mut day = week_start + self.rng.range(0, 6);
                if kind != WorkKind::Incident && is_weekend(self.date(day)) {
                    day = *self.rng.pick(&weekdays);
                }
                let day = self.date(day);
                let (created, started, done) =
                    done_times(&mut self.rng, kind, day, far_past, far_past);
                let (created, started, done) =
                    (team.utc(created), team.utc(started), team.utc(done));
                let title = titles.take(&mut self.rng, kind, day);
                let project = *self.rng.pick(&team_projects);
                let mut item = new_item(project, title, kind);
                self.rate(&mut item, kind);
                item.context = self.generic_context(kind);
                item.state = Some(WorkState::Done);
                item.created_at = Some(created);
                item.started_at = Some(started);
                item.done_at = Some(done);
                out.push(ItemDraft {
                    team: t,
                    created,
                    updated: done,
                    item,
                });
            }
        }

        // 3. Work on hand today, and a few things that were abandoned.
        let in_progress = self.rng.range(2, 3);
        let todo = self.rng.range(5, 8);
        let cancelled = self.rng.range(3, 4);
        let blocked = if has_blocked { 0 } else { 1 };
        for n in 0..(in_progress + blocked + todo + cancelled) {
            // Incidents are over by the time anyone looks.
            let kind = match deck.draw(&mut self.rng) {
                WorkKind::Incident => WorkKind::Bug,
                kind => kind,
            };
            let state = if n < in_progress {
                WorkState::InProgress
            } else if n < in_progress + blocked {
                WorkState::Blocked
            } else if n < in_progress + blocked + todo {
                WorkState::Todo
            } else {
                WorkState::Cancelled
            };
            let title = titles.take(&mut self.rng, kind, yesterday);
            let project = *self.rng.pick(&team_projects);
            let mut item = new_item(project, title, kind);
            self.rate(&mut item, kind);
            item.context = self.generic_context(kind);
            item.state = Some(state);
            let (created, started, updated) = match state {
                WorkState::InProgress => {
                    let start_day = weekdays_back(self.today, self.rng.range(1, 4));
                    let created_day = weekdays_back(start_day, self.rng.range(1, 15));
                    let created = team.utc(work_time(&mut self.rng, created_day, 9, 17));
                    let started = team.utc(work_time(&mut self.rng, start_day, 9, 12));
                    (
                        created,
                        Some(started),
                        started + Duration::hours(self.rng.range(1, 5)),
                    )
                }
                WorkState::Blocked => {
                    let start_day = weekdays_back(self.today, self.rng.range(5, 8));
                    let created_day = weekdays_back(start_day, self.rng.range(1, 10));
                    let created = team.utc(work_time(&mut self.rng, created_day, 9, 17));
                    let started = team.utc(work_time(&mut self.rng, start_day, 9, 17));
                    let blocked_day = weekdays_back(self.today, self.rng.range(1, 3));
                    let blocked = team.utc(work_time(&mut self.rng, blocked_day, 9, 17));
                    (created, Some(started), blocked)
                }
                WorkState::Todo => {
                    let created_day = weekdays_back(self.today, self.rng.range(1, 20));
                    let created = team.utc(work_time(&mut self.rng, created_day, 9, 17));
                    (created, None, created)
                }
                _ => {
                    let offset = self.rng.range(-170, -10);
                    let day = self.date(offset);
                    let cancel_day = weekdays_back(day, 1);
                    let start_day = weekdays_back(cancel_day, self.rng.range(1, 3));
                    let created_day = weekdays_back(start_day, self.rng.range(2, 20));
                    let created = team.utc(work_time(&mut self.rng, created_day, 9, 17));
                    let started = self
                        .rng
                        .chance(0.5)
                        .then(|| team.utc(work_time(&mut self.rng, start_day, 9, 17)));
                    let cancelled = team.utc(work_time(&mut self.rng, cancel_day, 9, 17));
                    (created, started, cancelled)
                }
            };
            item.created_at = Some(created);
            item.started_at = started;
            out.push(ItemDraft {
                team: t,
                created,
                updated,
                item,
            });
        }
    }

    /// Impact, complexity and the priority the matrix gives them.
    fn rate(&mut self, item: &mut NewWorkItem, kind: WorkKind) {
        let (impact, complexity) = levels(&mut self.rng, kind);
        item.impact = Some(impact);
        item.complexity = Some(complexity);
        item.priority = Some(priority(kind, impact, complexity));
    }

    fn generic_context(&mut self, kind: WorkKind) -> WorkContext {
        match kind {
            WorkKind::Bug => WorkContext {
                why: (*self.rng.pick(BUG_WHY)).to_owned(),
                ..WorkContext::default()
            },
            WorkKind::Incident => WorkContext {
                why: "Customer-facing outage.".to_owned(),
                expected_impact: "Service restored; the postmortem lists follow-ups.".to_owned(),
                ..WorkContext::default()
            },
            _ => WorkContext::default(),
        }
    }

    /// Why / expected impact / current and target value from the goal, with
    /// the current value read off the metric when the item was created.
    fn goal_context(&self, goal: &BuiltGoal, created: DateTime<Utc>) -> WorkContext {
        let target = &goal.spec.targets[0];
        let created_day = self.day_of(created.date_naive());
        let current = target
            .key
            .and_then(metric_spec)
            .map(|m| m.round(m.value_at(created_day)))
            .or(target.baseline);
        let show = |v: Option<f64>| {
            v.map(|v| format!("{v} {}", target.unit))
                .unwrap_or_default()
        };
        WorkContext {
            why: goal.spec.why.to_owned(),
            expected_impact: goal.spec.impact.to_owned(),
            current_value: show(current),
            target_value: show(target.target),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;
    use tandem_domain::goal::GoalStatus;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A few `today`s on different weekdays and around a year end.
    fn todays() -> Vec<NaiveDate> {
        vec![
            day(2026, 11, 2),
            day(2026, 11, 4),
            day(2026, 11, 7),
            day(2026, 11, 8),
            day(2027, 1, 1),
            day(2025, 6, 13),
        ]
    }

    #[test]
    fn is_deterministic() {
        let today = day(2026, 11, 2);
        let a = organisation(today);
        let b = organisation(today);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a, b);
        let later = organisation(day(2026, 11, 3));
        assert_ne!(format!("{a:?}"), format!("{later:?}"));
    }

    #[test]
    fn everything_validates() {
        for today in todays() {
            let d = organisation(today);
            for t in &d.teams {
                t.validate().unwrap();
            }
            for u in &d.users {
                tandem_domain::user::validate_username(&u.user.username).unwrap();
                assert!(u.user.email.as_deref().unwrap().contains('@'));
                assert_ne!(u.user.username, "admin");
            }
            for p in &d.projects {
                p.validate().unwrap();
                assert!(!p.repositories.is_empty() && !p.services.is_empty());
            }
            for g in &d.goals {
                g.validate().unwrap();
                if g.status != GoalStatus::Draft {
                    assert_eq!(g.agreement_gaps(), vec![], "{}", g.title);
                    assert!(g.version >= 1 && g.agreed_at.is_some() && g.agreed_by.is_some());
                    assert!(g.parties.owner.is_some() && g.parties.requester.is_some());
                    assert!(!g.parties.contributors.is_empty() && !g.hypotheses.is_empty());
                    for m in &g.success_metrics {
                        assert!(m.metric_key.is_some() && m.deadline.is_some());
                    }
                } else {
                    assert_eq!(
                        (g.version, g.agreed_at, g.agreed_by.as_deref()),
                        (0, None, None)
                    );
                }
            }
            for s in &d.stages {
                s.validate().unwrap();
            }
            for i in &d.work_items {
                i.validate().unwrap();
                assert_eq!(i.source, SOURCE);
                assert_eq!(
                    i.done_at.is_some(),
                    i.state == WorkState::Done,
                    "{}",
                    i.title
                );
                if matches!(
                    i.state,
                    WorkState::Done | WorkState::InProgress | WorkState::Blocked
                ) {
                    assert!(i.started_at.is_some());
                }
                if i.state == WorkState::Done {
                    assert!(i.created_at < i.started_at.unwrap());
                    assert!(i.started_at < i.done_at);
                    assert_eq!(i.updated_at, i.done_at.unwrap());
                }
                assert!(i.updated_at >= i.created_at);
                if let Some(s) = i.started_at {
                    assert!(i.updated_at >= s);
                }
            }
            for r in &d.risks {
                r.validate().unwrap();
                assert_eq!(r.closed_at.is_some(), r.status == RiskStatus::Closed);
            }
            for m in &d.metrics {
                m.validate().unwrap();
            }
            for p in &d.points {
                assert!(p.value.is_finite() && p.value >= 0.0);
            }
            for x in &d.decisions {
                x.validate().unwrap();
                assert!(x.options.len() >= 2 && !x.context.is_empty());
            }
        }
    }

    fn instants(d: &Demo) -> Vec<DateTime<Utc>> {
        let mut all = Vec::new();
        all.extend(d.teams.iter().flat_map(|t| [t.created_at, t.updated_at]));
        all.extend(d.users.iter().map(|u| u.user.created_at));
        all.extend(d.projects.iter().flat_map(|p| [p.created_at, p.updated_at]));
        for g in &d.goals {
            all.extend([g.created_at, g.updated_at]);
            all.extend(g.agreed_at);
        }
        all.extend(d.goal_versions.iter().map(|v| v.changed_at));
        all.extend(d.stages.iter().flat_map(|s| [s.created_at, s.updated_at]));
        for i in &d.work_items {
            all.extend([i.created_at, i.updated_at]);
            all.extend(i.started_at);
            all.extend(i.done_at);
        }
        for r in &d.risks {
            all.extend([r.created_at, r.updated_at]);
            all.extend(r.closed_at);
        }
        all.extend(d.metrics.iter().flat_map(|m| [m.created_at, m.updated_at]));
        all.extend(d.points.iter().map(|p| p.at));
        all.extend(
            d.decisions
                .iter()
                .flat_map(|x| [x.created_at, x.updated_at, x.decided_at]),
        );
        all
    }

    #[test]
    fn instants_are_in_the_past_and_in_microseconds() {
        for today in todays() {
            let d = organisation(today);
            let midnight = today.and_hms_opt(0, 0, 0).unwrap().and_utc();
            for at in instants(&d) {
                assert!(at <= midnight, "{at} is after {midnight}");
                assert_eq!(tandem_domain::time::micros(at), at);
            }
            // Points are weekly at Monday midnight, 26 per metric.
            for m in &d.metrics {
                let pts: Vec<_> = d.points.iter().filter(|p| p.metric_id == m.id).collect();
                if m.computed_from.is_some() {
                    // Bound to a delivery metric: computed, never typed.
                    assert!(pts.is_empty(), "{} has typed points", m.key);
                    continue;
                }
                assert_eq!(pts.len(), WEEKS);
                for p in pts {
                    assert_eq!(p.at.weekday(), Weekday::Mon);
                    assert_eq!(p.at.time(), chrono::NaiveTime::MIN);
                }
            }
        }
    }

    #[test]
    fn ids_are_unique_and_sorted_in_creation_order() {
        let d = organisation(day(2026, 11, 2));
        let mut ids = Vec::new();
        ids.extend(d.teams.iter().map(|x| x.id));
        ids.extend(d.users.iter().map(|x| x.user.id));
        ids.extend(d.projects.iter().map(|x| x.id));
        ids.extend(d.goals.iter().map(|x| x.id));
        ids.extend(d.stages.iter().map(|x| x.id));
        ids.extend(d.work_items.iter().map(|x| x.id));
        ids.extend(d.risks.iter().map(|x| x.id));
        ids.extend(d.metrics.iter().map(|x| x.id));
        ids.extend(d.decisions.iter().map(|x| x.id));
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
        fn sorted<T>(xs: &[T], key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) {
            for w in xs.windows(2) {
                let (a, b) = (key(&w[0]), key(&w[1]));
                assert!(a.1 < b.1 && a.0 <= b.0, "{a:?} then {b:?}");
            }
        }
        sorted(&d.goals, |x| (x.created_at, x.id));
        sorted(&d.stages, |x| (x.created_at, x.id));
        sorted(&d.work_items, |x| (x.created_at, x.id));
        sorted(&d.risks, |x| (x.created_at, x.id));
        sorted(&d.decisions, |x| (x.created_at, x.id));

        let keys: HashSet<_> = d
            .work_items
            .iter()
            .map(|i| i.external_key.clone().unwrap())
            .collect();
        assert_eq!(keys.len(), d.work_items.len());
    }

    #[test]
    fn foreign_keys_point_inside_the_demo() {
        for today in todays() {
            let d = organisation(today);
            let teams: HashSet<_> = d.teams.iter().map(|x| x.id).collect();
            let users: HashSet<_> = d.users.iter().map(|x| x.user.id).collect();
            let projects: BTreeMap<_, _> = d.projects.iter().map(|x| (x.id, x.team_id)).collect();
            let goals: BTreeMap<_, _> = d.goals.iter().map(|x| (x.id, x)).collect();
            let stages: BTreeMap<_, _> = d.stages.iter().map(|x| (x.id, x.goal_id)).collect();
            let metrics: HashSet<_> = d.metrics.iter().map(|x| x.id).collect();
            let metric_keys: HashSet<_> = d.metrics.iter().map(|x| x.key.as_str()).collect();

            for (t, u) in &d.memberships {
                assert!(teams.contains(t) && users.contains(u));
            }
            for p in &d.projects {
                assert!(teams.contains(&p.team_id));
            }
            for g in &d.goals {
                assert!(teams.contains(&g.team_id));
                let p = g.project_id.unwrap();
                assert_eq!(projects[&p], g.team_id);
                for m in &g.success_metrics {
                    if let Some(k) = &m.metric_key {
                        assert!(metric_keys.contains(k.as_str()), "{k}");
                    }
                }
            }
            for v in &d.goal_versions {
                assert!(goals.contains_key(&v.goal_id));
            }
            for s in &d.stages {
                assert!(goals.contains_key(&s.goal_id));
            }
            for i in &d.work_items {
                assert!(teams.contains(&i.team_id));
                if let Some(p) = i.project_id {
                    assert_eq!(projects[&p], i.team_id);
                }
                if let Some(g) = i.goal_id {
                    assert_eq!(goals[&g].team_id, i.team_id);
                }
                if let Some(s) = i.stage_id {
                    assert_eq!(Some(stages[&s]), i.goal_id);
                }
            }
            for r in &d.risks {
                assert!(teams.contains(&r.team_id));
                if let Some(g) = r.goal_id {
                    assert_eq!(goals[&g].team_id, r.team_id);
                }
                if let Some(s) = r.stage_id {
                    assert_eq!(Some(stages[&s]), r.goal_id);
                }
            }
            for m in &d.metrics {
                if let Some(t) = m.team_id {
                    assert!(teams.contains(&t));
                }
            }
            for p in &d.points {
                assert!(metrics.contains(&p.metric_id));
            }
            for x in &d.decisions {
                assert!(teams.contains(&x.team_id));
                if let Some(g) = x.goal_id {
                    assert_eq!(goals[&g].team_id, x.team_id);
                }
            }
        }
    }

    #[test]
    fn every_state_appears() {
        for today in todays() {
            let d = organisation(today);
            for s in GoalStatus::ALL {
                assert!(d.goals.iter().any(|g| g.status == *s), "goal {s}");
            }
            for s in WorkState::ALL {
                assert!(d.work_items.iter().any(|i| i.state == *s), "item {s}");
            }
            for k in WorkKind::ALL {
                assert!(d.work_items.iter().any(|i| i.kind == *k), "kind {k}");
            }
            for p in Priority::ALL {
                assert!(
                    d.work_items.iter().any(|i| i.priority == *p),
                    "priority {p}"
                );
            }
            for s in RiskStatus::ALL {
                assert!(d.risks.iter().any(|r| r.status == *s), "risk {s}");
            }
            for r in Role::ALL.iter().filter(|r| **r != Role::Admin) {
                assert!(d.users.iter().any(|u| u.user.role == *r), "role {r}");
            }
        }
    }

    #[test]
    fn goal_histories_are_what_the_domain_produced() {
        let d = organisation(day(2026, 11, 2));
        for g in &d.goals {
            let versions: Vec<_> = d
                .goal_versions
                .iter()
                .filter(|v| v.goal_id == g.id)
                .collect();
            let numbers: Vec<i32> = versions.iter().map(|v| v.version).collect();
            assert_eq!(numbers, (1..=g.version).collect::<Vec<_>>(), "{}", g.title);
            if let Some(first) = versions.first() {
                assert_eq!(first.action, "agree");
                assert_eq!(Some(first.changed_at), g.agreed_at);
                assert_eq!(Some(first.changed_by.as_str()), g.agreed_by.as_deref());
            }
            if let Some(last) = versions.last() {
                assert_eq!(last.changed_at, g.updated_at);
            }
            for w in versions.windows(2) {
                assert!(w[0].changed_at < w[1].changed_at);
            }
        }
        let edits: Vec<_> = d
            .goal_versions
            .iter()
            .filter(|v| v.action == "edit")
            .collect();
        assert!(
            edits
                .iter()
                .any(|v| v.changes.iter().any(|c| c.field == "timeline"))
        );
        for action in ["agree", "start", "complete", "drop"] {
            assert!(
                d.goal_versions.iter().any(|v| v.action == action),
                "{action}"
            );
        }
    }

    #[test]
    fn stages_are_short_except_one() {
        for today in todays() {
            let d = organisation(today);
            let long: Vec<_> = d
                .stages
                .iter()
                .filter(|s| s.length_days() > Some(14))
                .collect();
            assert_eq!(long.len(), 1);
            assert_eq!(long[0].length_days(), Some(21));
            for g in d.goals.iter() {
                let mut positions: Vec<i32> = d
                    .stages
                    .iter()
                    .filter(|s| s.goal_id == g.id)
                    .map(|s| s.position)
                    .collect();
                positions.sort();
                if g.status == GoalStatus::Draft {
                    assert!(positions.is_empty());
                } else {
                    assert!((2..=5).contains(&positions.len()), "{}", g.title);
                    assert_eq!(positions, (1..=positions.len() as i32).collect::<Vec<_>>());
                }
            }
        }
    }

    #[test]
    fn throughput_and_mix_look_real() {
        for today in todays() {
            let d = organisation(today);
            let midnight = today.and_hms_opt(0, 0, 0).unwrap().and_utc();
            let window = midnight - Duration::days(HISTORY_DAYS);
            for (t, team) in d.teams.iter().enumerate() {
                let items: Vec<_> = d
                    .work_items
                    .iter()
                    .filter(|i| i.team_id == team.id)
                    .collect();
                let done: Vec<_> = items
                    .iter()
                    .filter(|i| i.state == WorkState::Done && i.done_at.unwrap() >= window)
                    .collect();
                let per_week = done.len() as f64 / WEEKS as f64;
                assert!((4.0..=8.0).contains(&per_week), "{}: {per_week}", team.key);

                let share = |k: WorkKind| {
                    items.iter().filter(|i| i.kind == k).count() as f64 / items.len() as f64
                };
                assert!(share(WorkKind::Feature) > 0.4, "{}", team.key);
                let debt = share(WorkKind::Debt);
                assert!((0.1..=0.25).contains(&debt), "{}: debt {debt}", team.key);
                assert!(share(WorkKind::Incident) < 0.06);
                let p0 = items.iter().filter(|i| i.priority == Priority::P0).count();
                assert!(p0 * 20 < items.len(), "{}: {p0} P0", team.key);

                // Weekdays in the team's own time zone, apart from a few incidents.
                let offset = Duration::hours(TEAMS[t].utc_offset);
                let weekend = done
                    .iter()
                    .filter(|i| is_weekend((i.done_at.unwrap() + offset).date_naive()))
                    .count();
                assert!(
                    weekend * 20 < done.len(),
                    "{}: {weekend} on weekends",
                    team.key
                );

                let titles: HashSet<_> = items.iter().map(|i| i.title.as_str()).collect();
                assert_eq!(titles.len(), items.len(), "{}: repeated titles", team.key);

                let linked = items.iter().filter(|i| i.goal_id.is_some());
                for i in linked {
                    assert!(!i.context.why.is_empty() && !i.context.expected_impact.is_empty());
                    assert!(!i.context.target_value.is_empty(), "{}", i.title);
                }
                for state in [WorkState::InProgress, WorkState::Todo, WorkState::Cancelled] {
                    assert!(
                        items.iter().any(|i| i.state == state),
                        "{}: {state}",
                        team.key
                    );
                }
            }
        }
    }
}
