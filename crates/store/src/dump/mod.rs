//! `export` and `import-dump`: every entity as JSON lines, so data moves
//! losslessly between engines (SQLite → PostgreSQL → SQLite).
//!
//! The first line is a header naming the format and version. Each following
//! line is `{"type": …, "data": …}`, in an order that respects references.
//! Export orders rows by key, so exporting the same data twice gives the same
//! bytes. Import validates every line before writing anything, then writes
//! everything in one transaction: a dump loads completely or not at all.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use tandem_domain::decision::Decision;
use tandem_domain::goal::{Goal, GoalVersion};
use tandem_domain::metric::{Metric, MetricPoint};
use tandem_domain::project::Project;
use tandem_domain::risk::Risk;
use tandem_domain::stage::Stage;
use tandem_domain::team::Team;
use tandem_domain::user::{ApiToken, User};
use tandem_domain::work_item::WorkItem;
use uuid::Uuid;

pub(crate) mod tables;

pub use crate::dump::tables::{NOT_DUMPED, dumped_tables};
use crate::dump::tables::{RowCounts, TABLES, TableRow, insert_rows, read_table};
use crate::engine::Engine;
use crate::inserts::*;
use crate::rows::*;
use crate::{BeginSnapshot, BeginWrite, Result, Store, StoreError, on_pool};

pub const EXPORT_FORMAT: &str = "tandem-dump";
/// Version 2 added `row` lines (engineering data, reports, risk history);
/// version 1 dumps still load.
const EXPORT_VERSION: u32 = 2;

/// The tables written as typed records (before the row-by-row `TABLES`).
const ENTITY_TABLES: &[&str] = &[
    "teams",
    "users",
    "team_members",
    "api_tokens",
    "projects",
    "metrics",
    "goals",
    "goal_versions",
    "stages",
    "work_items",
    "risks",
    "decisions",
    "metric_points",
];

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct UserRecord {
    #[serde(flatten)]
    user: User,
    password_hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenRecord {
    #[serde(flatten)]
    token: ApiToken,
    token_hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Membership {
    team_id: Uuid,
    user_id: Uuid,
}

/// One line of a dump.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
enum Record {
    Team(Team),
    User(UserRecord),
    Membership(Membership),
    Token(TokenRecord),
    Project(Project),
    Metric(Metric),
    Goal(Goal),
    GoalVersion(GoalVersion),
    Stage(Stage),
    WorkItem(WorkItem),
    Risk(Risk),
    Decision(Decision),
    MetricPoint(MetricPoint),
    /// A row of the generic events table, removed by migration 0011
    /// (nothing wrote it). Never written; an old dump's `event` lines are
    /// read and skipped, so version 1 and 2 dumps that hold them still load.
    Event(serde_json::Value),
    /// A row of one of `dump_tables::TABLES`.
    Row(TableRow),
}

/// How many records of each type a dump held.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DumpSummary {
    pub teams: u64,
    pub users: u64,
    pub memberships: u64,
    pub tokens: u64,
    pub projects: u64,
    pub metrics: u64,
    pub goals: u64,
    pub goal_versions: u64,
    pub stages: u64,
    pub work_items: u64,
    pub risks: u64,
    pub decisions: u64,
    pub metric_points: u64,
    /// Rows of the tables dumped row by row, per table.
    pub rows: RowCounts,
}

impl DumpSummary {
    fn count(&mut self, r: &Record) {
        let n = match r {
            Record::Team(_) => &mut self.teams,
            Record::User(_) => &mut self.users,
            Record::Membership(_) => &mut self.memberships,
            Record::Token(_) => &mut self.tokens,
            Record::Project(_) => &mut self.projects,
            Record::Metric(_) => &mut self.metrics,
            Record::Goal(_) => &mut self.goals,
            Record::GoalVersion(_) => &mut self.goal_versions,
            Record::Stage(_) => &mut self.stages,
            Record::WorkItem(_) => &mut self.work_items,
            Record::Risk(_) => &mut self.risks,
            Record::Decision(_) => &mut self.decisions,
            Record::MetricPoint(_) => &mut self.metric_points,
            Record::Event(_) => return,
            Record::Row(r) => self.rows.entry(r.table.clone()).or_default(),
        };
        *n += 1;
    }

    pub fn total(&self) -> u64 {
        self.teams
            + self.users
            + self.memberships
            + self.tokens
            + self.projects
            + self.metrics
            + self.goals
            + self.goal_versions
            + self.stages
            + self.work_items
            + self.risks
            + self.decisions
            + self.metric_points
            + self.rows.values().sum::<u64>()
    }
}

/// Writes one record as a line of JSON with every object's keys sorted, so
/// the same data gives the same bytes whatever order a JSON column kept
/// (PostgreSQL's JSONB reorders keys, SQLite keeps them as written) and
/// whether or not serde_json's `preserve_order` feature is unified into the
/// build (a test-only dependency turns it on).
fn write_line(out: &mut dyn Write, r: &Record, summary: &mut DumpSummary) -> Result<()> {
    let value = serde_json::to_value(r).map_err(std::io::Error::other)?;
    let serde_json::Value::Object(mut line) = value else {
        return Err(StoreError::Corrupt(
            "a dump record is not a JSON object".into(),
        ));
    };
    // `type` first, so a dump stays easy to read and grep; `data` sorted.
    let kind = line.remove("type").unwrap_or_default();
    let mut data = line.remove("data").unwrap_or_default();
    data.sort_all_objects();
    out.write_all(b"{\"type\":")?;
    serde_json::to_writer(&mut *out, &kind).map_err(std::io::Error::other)?;
    out.write_all(b",\"data\":")?;
    serde_json::to_writer(&mut *out, &data).map_err(std::io::Error::other)?;
    out.write_all(b"}")?;
    out.write_all(b"\n")?;
    summary.count(r);
    Ok(())
}

impl Store {
    /// Writes every entity as JSON lines to `out`.
    ///
    /// Every table is read inside one read-only transaction over a single
    /// snapshot ([`crate::engine::Db::BEGIN_SNAPSHOT`]), so a dump taken
    /// while the server writes is consistent: a row and the rows it refers
    /// to come from the same moment (`tandem backup` relies on this).
    pub async fn export(&self, out: &mut dyn Write) -> Result<DumpSummary> {
        let mut s = DumpSummary::default();
        let header = Header {
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
        };
        serde_json::to_writer(&mut *out, &header).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;

        on_pool!(self, |pool| {
            let mut tx = pool.begin_snapshot().await?;
            macro_rules! all {
                ($row:ty, $sql:expr) => {{
                    let rows: Vec<$row> = sqlx::query_as($sql).fetch_all(&mut *tx).await?;
                    rows
                }};
            }

            for r in all!(
                TeamRow,
                "SELECT id, key, name, timezone, created_at, updated_at FROM teams ORDER BY id"
            ) {
                write_line(out, &Record::Team(r.into()), &mut s)?;
            }
            for r in all!(
                UserRow,
                "SELECT id, username, display_name, email, role, disabled, created_at, password_hash FROM users ORDER BY id"
            ) {
                let password_hash = r.password_hash.clone();
                let user = User::try_from(r)?;
                write_line(
                    out,
                    &Record::User(UserRecord {
                        user,
                        password_hash,
                    }),
                    &mut s,
                )?;
            }
            let memberships: Vec<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id",
            )
            .fetch_all(&mut *tx)
            .await?;
            for (team_id, user_id) in memberships {
                write_line(
                    out,
                    &Record::Membership(Membership { team_id, user_id }),
                    &mut s,
                )?;
            }
            for r in all!(
                TokenRow,
                "SELECT id, name, prefix, role, created_by, created_at, last_used_at, revoked_at, token_hash FROM api_tokens ORDER BY id"
            ) {
                let token_hash = r.token_hash.clone();
                let token = ApiToken::try_from(r)?;
                write_line(
                    out,
                    &Record::Token(TokenRecord { token, token_hash }),
                    &mut s,
                )?;
            }
            for r in all!(
                ProjectRow,
                "SELECT id, team_id, key, name, repositories, services, created_at, updated_at FROM projects ORDER BY id"
            ) {
                write_line(out, &Record::Project(r.into()), &mut s)?;
            }
            for r in all!(
                MetricRow,
                "SELECT id, key, name, description, unit, direction, audience, team_id, created_at, updated_at, computed_from FROM metrics ORDER BY id"
            ) {
                write_line(out, &Record::Metric(r.try_into()?), &mut s)?;
            }
            for r in all!(
                GoalRow,
                "SELECT id, team_id, project_id, title, business_goal, technical_tasks, hypotheses, success_metrics, parties, timeline, status, version, agreed_at, agreed_by, created_at, updated_at FROM goals ORDER BY id"
            ) {
                write_line(out, &Record::Goal(r.try_into()?), &mut s)?;
            }
            for r in all!(
                GoalVersionRow,
                "SELECT goal_id, version, changed_at, changed_by, action, changes FROM goal_versions ORDER BY goal_id, version"
            ) {
                write_line(out, &Record::GoalVersion(r.into()), &mut s)?;
            }
            for r in all!(
                StageRow,
                "SELECT id, goal_id, name, description, position, starts_on, ends_on, created_at, updated_at FROM stages ORDER BY id"
            ) {
                write_line(out, &Record::Stage(r.into()), &mut s)?;
            }
            for r in all!(
                WorkItemRow,
                "SELECT id, team_id, project_id, goal_id, stage_id, title, kind, priority, impact, complexity, state, context, scores, external_key, source, created_at, started_at, done_at, updated_at FROM work_items ORDER BY id"
            ) {
                write_line(out, &Record::WorkItem(r.try_into()?), &mut s)?;
            }
            for r in all!(
                RiskRow,
                "SELECT id, team_id, goal_id, stage_id, title, description, likelihood, impact, plan, owner, schedule_impact_days, status, source, cause_key, drafted_update, created_at, updated_at, closed_at FROM risks ORDER BY id"
            ) {
                write_line(out, &Record::Risk(r.try_into()?), &mut s)?;
            }
            for r in all!(
                DecisionRow,
                "SELECT id, team_id, goal_id, title, context, options, decision, consequences, decided_by, decided_at, created_at, updated_at FROM decisions ORDER BY id"
            ) {
                write_line(out, &Record::Decision(r.into()), &mut s)?;
            }
            for r in all!(
                PointRow,
                "SELECT metric_id, at, value FROM metric_points ORDER BY metric_id, at"
            ) {
                write_line(out, &Record::MetricPoint(r.into()), &mut s)?;
            }
            for table in TABLES {
                let rows = read_table!(&mut *tx, table);
                for row in rows {
                    write_line(out, &Record::Row(row), &mut s)?;
                }
            }
            tx.commit().await?;
        });
        out.flush()?;
        Ok(s)
    }

    /// The first table a dump covers that holds a row, or `None` when the
    /// database holds no data a dump would carry (what `tandem restore`
    /// requires before it writes anything).
    pub async fn first_table_with_rows(&self) -> Result<Option<String>> {
        for name in dumped_tables() {
            let found: Option<(i32,)> = on_pool!(self, |pool| {
                sqlx::query_as(crate::engine::sql(format!("SELECT 1 FROM {name} LIMIT 1")))
                    .fetch_optional(pool)
                    .await?
            });
            if found.is_some() {
                return Ok(Some(name.to_owned()));
            }
        }
        Ok(None)
    }

    /// Every table of the schema, by name (what the dump's coverage test
    /// compares with [`dumped_tables`] and [`NOT_DUMPED`]).
    pub async fn schema_tables(&self) -> Result<Vec<String>> {
        let names: Vec<(String,)> = match &self.engine {
            Engine::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                )
                .fetch_all(pool)
                .await?
            }
            Engine::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     ORDER BY table_name",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(names.into_iter().map(|(n,)| n).collect())
    }

    /// Reads a dump written by [`Store::export`] and stores all of it in one
    /// transaction. Any invalid line or conflicting row aborts the whole
    /// import and leaves the database unchanged.
    pub async fn import_dump(&self, input: &mut dyn BufRead) -> Result<DumpSummary> {
        let records = parse_dump(input)?;
        let mut s = DumpSummary::default();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut points = Vec::new();
            // Rows by table, in the order of `TABLES` (parents first).
            let mut rows: Vec<Vec<Vec<crate::dump::tables::Val>>> = vec![Vec::new(); TABLES.len()];
            for (line, record) in &records {
                let line = *line;
                let at_line = |e: StoreError| StoreError::Dump {
                    line,
                    message: e.to_string(),
                };
                s.count(record);
                let result: Result<()> = async {
                    match record {
                        Record::Team(t) => {
                            sqlx::query("INSERT INTO teams (id, key, name, timezone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                                .bind(t.id).bind(&t.key).bind(&t.name).bind(&t.timezone).bind(t.created_at).bind(t.updated_at)
                                .execute(&mut *tx).await
                                .map_err(StoreError::unique("key", || format!("a team with key {:?}", t.key)))?;
                        }
                        Record::User(u) => {
                            let (u, hash) = (&u.user, &u.password_hash);
                            sqlx::query("INSERT INTO users (id, username, display_name, email, role, disabled, created_at, password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                                .bind(u.id).bind(&u.username).bind(&u.display_name).bind(&u.email).bind(u.role.as_str()).bind(u.disabled).bind(u.created_at).bind(hash)
                                .execute(&mut *tx).await
                                .map_err(StoreError::unique("username", || format!("a user named {:?}", u.username)))?;
                        }
                        Record::Membership(m) => {
                            sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                                .bind(m.team_id).bind(m.user_id)
                                .execute(&mut *tx).await?;
                        }
                        Record::Token(t) => {
                            let (t, hash) = (&t.token, &t.token_hash);
                            sqlx::query("INSERT INTO api_tokens (id, name, prefix, role, created_by, created_at, last_used_at, revoked_at, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                                .bind(t.id).bind(&t.name).bind(&t.prefix).bind(t.role.as_str()).bind(t.created_by).bind(t.created_at).bind(t.last_used_at).bind(t.revoked_at).bind(hash)
                                .execute(&mut *tx).await
                                .map_err(StoreError::unique("id", || format!("token {}", t.id)))?;
                        }
                        Record::Project(p) => {
                            sqlx::query("INSERT INTO projects (id, team_id, key, name, repositories, services, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                                .bind(p.id).bind(p.team_id).bind(&p.key).bind(&p.name).bind(Json(&p.repositories)).bind(Json(&p.services)).bind(p.created_at).bind(p.updated_at)
                                .execute(&mut *tx).await
                                .map_err(StoreError::unique("key", || format!("a project with key {:?}", p.key)))?;
                        }
                        Record::Metric(m) => insert_metric(&mut tx, m).await?,
                        Record::Goal(g) => insert_goal(&mut tx, g).await?,
                        Record::GoalVersion(v) => insert_version(&mut tx, v).await?,
                        Record::Stage(st) => insert_stage(&mut tx, st).await?,
                        Record::WorkItem(w) => insert_item(&mut tx, w).await?,
                        Record::Risk(r) => insert_risk(&mut tx, r).await?,
                        Record::Decision(d) => insert_decision(&mut tx, d).await?,
                        Record::MetricPoint(p) => points.push((line, p)),
                        Record::Event(_) => {}
                        Record::Row(r) => {
                            // Checked by `parse_dump`; typed again here.
                            let (table, values) = r.typed().map_err(|message| StoreError::Dump { line, message })?;
                            let i = TABLES.iter().position(|t| t.name == table.name).unwrap_or_default();
                            rows[i].push(values);
                        }
                    }
                    Ok(())
                }
                .await;
                result.map_err(|e| at_line(reference_error(e)))?;
            }
            // A failed batch cannot name its line, so check each metric first.
            let mut known = std::collections::HashSet::new();
            for (line, p) in &points {
                if known.insert(p.metric_id) {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM metrics WHERE id = $1")
                        .bind(p.metric_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if n == 0 {
                        return Err(StoreError::Dump {
                            line: *line,
                            message: format!(
                                "metric {} is not in the dump or the database",
                                p.metric_id
                            ),
                        });
                    }
                }
            }
            for chunk in points.chunks(500) {
                let mut qb = QueryBuilder::new("INSERT INTO metric_points (metric_id, at, value) ");
                qb.push_values(chunk, |mut b, (_, p)| {
                    b.push_bind(p.metric_id)
                        .push_bind(p.at)
                        .push_bind(crate::entities::point_value(p.value));
                });
                qb.build()
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| reference_error(e.into()))?;
            }
            for (table, rows) in TABLES.iter().zip(&rows) {
                let result: Result<()> = async {
                    insert_rows!(tx, table, rows);
                    Ok(())
                }
                .await;
                result.map_err(|e| match reference_error(e) {
                    StoreError::MissingReference { message, .. } => StoreError::MissingReference {
                        field: table.name.to_owned(),
                        message,
                    },
                    StoreError::Conflict { message, .. } => StoreError::Conflict {
                        field: table.name.to_owned(),
                        message,
                    },
                    other => other,
                })?;
            }
            tx.commit().await?;
        });
        Ok(s)
    }
}

/// The demo organisation as a dump (the text `export` would write for it),
/// with `password_hash` for every demo user. Loading it with
/// [`Store::import_dump`] validates it and writes it in one transaction.
pub fn demo_dump(org: &tandem_demo::Demo, password_hash: &str) -> String {
    let mut records: Vec<Record> = Vec::new();
    records.extend(org.teams.iter().cloned().map(Record::Team));
    records.extend(org.users.iter().map(|u| {
        Record::User(UserRecord {
            user: u.user.clone(),
            password_hash: password_hash.to_owned(),
        })
    }));
    records.extend(
        org.memberships
            .iter()
            .map(|&(team_id, user_id)| Record::Membership(Membership { team_id, user_id })),
    );
    records.extend(org.projects.iter().cloned().map(Record::Project));
    records.extend(org.metrics.iter().cloned().map(Record::Metric));
    records.extend(org.goals.iter().cloned().map(Record::Goal));
    records.extend(org.goal_versions.iter().cloned().map(Record::GoalVersion));
    records.extend(org.stages.iter().cloned().map(Record::Stage));
    records.extend(org.work_items.iter().cloned().map(Record::WorkItem));
    records.extend(org.risks.iter().cloned().map(Record::Risk));
    records.extend(org.decisions.iter().cloned().map(Record::Decision));
    records.extend(org.points.iter().cloned().map(Record::MetricPoint));
    let header = Header {
        format: EXPORT_FORMAT.to_owned(),
        version: EXPORT_VERSION,
    };
    let mut text = serde_json::to_string(&header).expect("a header serialises");
    text.push('\n');
    for r in &records {
        text.push_str(&serde_json::to_string(r).expect("domain values serialise"));
        text.push('\n');
    }
    text
}

/// Names a broken reference or duplicate row in words.
fn reference_error(e: StoreError) -> StoreError {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
            StoreError::MissingReference {
                field: String::new(),
                message: format!("refers to a row that is not in the dump or the database ({db})"),
            }
        }
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Conflict {
                field: String::new(),
                message: format!("a row with the same key is already stored ({db})"),
            }
        }
        other => other,
    }
}

/// Parses and validates every line before anything is written.
fn parse_dump(input: &mut dyn BufRead) -> Result<Vec<(usize, Record)>> {
    let mut lines = input.lines();
    let header = lines.next().ok_or(StoreError::Dump {
        line: 1,
        message: "the file is empty; expected a tandem-dump header".into(),
    })??;
    let header: Header = serde_json::from_str(&header).map_err(|e| StoreError::Dump {
        line: 1,
        message: format!("not a tandem-dump header: {e}"),
    })?;
    if header.format != EXPORT_FORMAT || !(1..=EXPORT_VERSION).contains(&header.version) {
        return Err(StoreError::Dump {
            line: 1,
            message: format!(
                "format {:?} version {} is not supported (expected {EXPORT_FORMAT:?} version 1 to {EXPORT_VERSION})",
                header.format, header.version
            ),
        });
    }
    let mut records = Vec::new();
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| StoreError::Dump {
            line: line_no,
            message: e.to_string(),
        })?;
        validate(&record).map_err(|e| StoreError::Dump {
            line: line_no,
            message: e.to_string(),
        })?;
        records.push((line_no, record));
    }
    Ok(records)
}

fn validate(r: &Record) -> Result<(), tandem_domain::DomainError> {
    match r {
        Record::Team(t) => t.validate(),
        Record::User(u) => tandem_domain::user::validate_username(&u.user.username)
            .map_err(|e| tandem_domain::DomainError::Invalid(vec![e])),
        Record::Project(p) => p.validate(),
        Record::Metric(m) => m.validate(),
        Record::Goal(g) => g.validate(),
        Record::Stage(s) => s.validate(),
        Record::WorkItem(w) => w.validate(),
        Record::Risk(r) => r.validate(),
        Record::Decision(d) => d.validate(),
        Record::Row(r) => r.typed().map(|_| ()).map_err(|e| {
            tandem_domain::DomainError::Invalid(vec![tandem_domain::error::FieldError::new(
                &r.table, e,
            )])
        }),
        Record::Membership(_)
        | Record::Token(_)
        | Record::GoalVersion(_)
        | Record::MetricPoint(_)
        | Record::Event(_) => Ok(()),
    }
}
