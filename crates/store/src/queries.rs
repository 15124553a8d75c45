//! Every storage operation. Query text is shared by both engines (SQLite
//! accepts PostgreSQL's `$n` parameters); `on_pool!` compiles each body once
//! per engine so values bind with each engine's native types.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use tandem_domain::decision::Decision;
use tandem_domain::goal::{Goal, GoalChange, GoalVersion};
use tandem_domain::metric::{Metric, MetricPoint};
use tandem_domain::project::Project;
use tandem_domain::risk::Risk;
use tandem_domain::stage::Stage;
use tandem_domain::team::Team;
use tandem_domain::user::{ApiToken, User};
use tandem_domain::work_item::WorkItem;
use uuid::Uuid;

use crate::rows::*;
use crate::engine::{ITEM_COLS, RISK_COLS, RISK_UPDATE, bind_risk, bind_work_item, sql};
use crate::{BeginWrite, ListQuery, Page, Result, Store, StoreError, on_pool, page};

/// Tables that other rows may reference.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    Teams,
    Users,
    Projects,
    Goals,
    Stages,
    Metrics,
}

impl Table {
    fn exists_sql(self) -> &'static str {
        match self {
            Table::Teams => "SELECT COUNT(*) FROM teams WHERE id = $1",
            Table::Users => "SELECT COUNT(*) FROM users WHERE id = $1",
            Table::Projects => "SELECT COUNT(*) FROM projects WHERE id = $1",
            Table::Goals => "SELECT COUNT(*) FROM goals WHERE id = $1",
            Table::Stages => "SELECT COUNT(*) FROM stages WHERE id = $1",
            Table::Metrics => "SELECT COUNT(*) FROM metrics WHERE id = $1",
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Table::Teams => "team",
            Table::Users => "user",
            Table::Projects => "project",
            Table::Goals => "goal",
            Table::Stages => "stage",
            Table::Metrics => "metric",
        }
    }
}

/// Checks that each referenced id exists, naming the field of the first that
/// does not. Runs inside the caller's transaction.
macro_rules! ensure_refs {
    ($conn:expr, [$(($field:expr, $table:expr, $id:expr)),* $(,)?]) => {{
        $(
            if let Some(id) = $id {
                let (n,): (i64,) = sqlx::query_as($table.exists_sql())
                    .bind(id)
                    .fetch_one(&mut *$conn)
                    .await?;
                if n == 0 {
                    return Err(StoreError::MissingReference {
                        field: $field.to_owned(),
                        message: format!("{} {} does not exist", $table.entity(), id),
                    });
                }
            }
        )*
    }};
}

const TEAM_COLS: &str = "id, key, name, timezone, created_at, updated_at";
const USER_COLS: &str =
    "id, username, display_name, email, role, disabled, created_at, password_hash";
const TOKEN_COLS: &str =
    "id, name, prefix, role, created_by, created_at, last_used_at, revoked_at, token_hash";
const PROJECT_COLS: &str = "id, team_id, key, name, repositories, services, created_at, updated_at";
const GOAL_COLS: &str = "id, team_id, project_id, title, business_goal, technical_tasks, \
     hypotheses, success_metrics, parties, timeline, status, version, agreed_at, agreed_by, \
     created_at, updated_at";
const VERSION_COLS: &str = "goal_id, version, changed_at, changed_by, action, changes";
const STAGE_COLS: &str =
    "id, goal_id, name, description, position, starts_on, ends_on, created_at, updated_at";
const METRIC_COLS: &str =
    "id, key, name, description, unit, direction, audience, team_id, created_at, updated_at";
const DECISION_COLS: &str = "id, team_id, goal_id, title, context, options, decision, \
     consequences, decided_by, decided_at, created_at, updated_at";

/// Rows per multi-row INSERT on the bulk paths (well under SQLite's limit of
/// 32,766 bound parameters).
const BULK_ROWS: usize = 500;

fn select(cols: &str, table: &str, filter: &str) -> sqlx::AssertSqlSafe<String> {
    sql(format!("SELECT {cols} FROM {table} WHERE {filter}"))
}

impl Store {
    // ---- teams -----------------------------------------------------------

    pub async fn create_team(&self, t: &Team) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO teams (id, key, name, timezone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(t.id)
            .bind(&t.key)
            .bind(&t.name)
            .bind(&t.timezone)
            .bind(t.created_at)
            .bind(t.updated_at)
            .execute(pool)
            .await
            .map_err(StoreError::unique("key", || {
                format!("a team with key {:?}", t.key)
            }))?;
        });
        Ok(())
    }

    pub async fn get_team(&self, id: Uuid) -> Result<Team> {
        let row: Option<TeamRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(TEAM_COLS, "teams", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Team::from)
            .ok_or_else(|| StoreError::not_found("team", id))
    }

    pub async fn get_team_by_key(&self, key: &str) -> Result<Team> {
        let row: Option<TeamRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(TEAM_COLS, "teams", "key = $1"))
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.map(Team::from)
            .ok_or_else(|| StoreError::not_found("team", key))
    }

    pub async fn list_teams(&self, q: &ListQuery) -> Result<Page<Team>> {
        let limit = q.limit();
        let rows: Vec<TeamRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {TEAM_COLS} FROM teams WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
            )))
            .bind(q.after)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(
            rows.into_iter().map(Team::from).collect(),
            limit,
            |t| t.id,
        ))
    }

    pub async fn update_team(&self, t: &Team) -> Result<()> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE teams SET name = $2, timezone = $3, updated_at = $4 WHERE id = $1")
                .bind(t.id)
                .bind(&t.name)
                .bind(&t.timezone)
                .bind(t.updated_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(done, "team", t.id)
    }

    // ---- users, memberships, tokens, sessions ----------------------------

    pub async fn create_user(&self, u: &User, password_hash: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, username, display_name, email, role, disabled, created_at, password_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(u.id)
            .bind(&u.username)
            .bind(&u.display_name)
            .bind(&u.email)
            .bind(u.role.as_str())
            .bind(u.disabled)
            .bind(u.created_at)
            .bind(password_hash)
            .execute(pool)
            .await
            .map_err(StoreError::unique("username", || {
                format!("a user named {:?}", u.username)
            }))?;
        });
        Ok(())
    }

    pub async fn get_user(&self, id: Uuid) -> Result<User> {
        let row: Option<UserRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(USER_COLS, "users", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("user", id))?
            .try_into()
    }

    /// The user and their password hash, for signing in.
    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<(User, String)>> {
        let row: Option<UserRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(USER_COLS, "users", "username = $1"))
                .bind(username)
                .fetch_optional(pool)
                .await?
        });
        row.map(|r| {
            let hash = r.password_hash.clone();
            User::try_from(r).map(|u| (u, hash))
        })
        .transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {USER_COLS} FROM users ORDER BY username"
            )))
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    pub async fn count_users(&self) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    pub async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("UPDATE users SET disabled = $2 WHERE username = $1")
                .bind(username)
                .bind(disabled)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if disabled {
                // A disabled user's sessions end at once.
                sqlx::query(
                    "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = $1)",
                )
                .bind(username)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            n
        });
        found(done, "user", username)
    }

    pub async fn set_password_hash(&self, user_id: Uuid, password_hash: &str) -> Result<()> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                .bind(user_id)
                .bind(password_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(done, "user", user_id)
    }

    pub async fn add_member(&self, team_id: Uuid, user_id: Uuid) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(team_id)),
                    ("user_id", Table::Users, Some(user_id)),
                ]
            );
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(team_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every (team, user) membership, ordered.
    pub async fn list_memberships(&self) -> Result<Vec<(Uuid, Uuid)>> {
        let rows: Vec<(Uuid, Uuid)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn create_token(&self, t: &ApiToken, token_hash: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_tokens (id, name, prefix, role, created_by, created_at, last_used_at, revoked_at, token_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(t.id)
            .bind(&t.name)
            .bind(&t.prefix)
            .bind(t.role.as_str())
            .bind(t.created_by)
            .bind(t.created_at)
            .bind(t.last_used_at)
            .bind(t.revoked_at)
            .bind(token_hash)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The live (not revoked) token with this hash.
    pub async fn find_token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row: Option<TokenRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(
                TOKEN_COLS,
                "api_tokens",
                "token_hash = $1 AND revoked_at IS NULL",
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(ApiToken::try_from).transpose()
    }

    /// Records use at most once a minute per token, to keep reads cheap.
    pub async fn touch_token(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let stale_before = now - chrono::Duration::minutes(1);
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(id)
            .bind(now)
            .bind(stale_before)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"
            )))
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// Revokes a token; revoking twice keeps the first time.
    pub async fn revoke_token(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        let done = on_pool!(self, |pool| {
            sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(done, "token", id)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // Sweep expired sessions while we are here; cheap with the index.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The enabled user owning an unexpired session.
    pub async fn find_session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.username, u.display_name, u.email, u.role, u.disabled, u.created_at, u.password_hash \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        row.map(User::try_from).transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    // ---- projects --------------------------------------------------------

    pub async fn create_project(&self, p: &Project) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("team_id", Table::Teams, Some(p.team_id))]);
            sqlx::query(
                "INSERT INTO projects (id, team_id, key, name, repositories, services, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(p.id)
            .bind(p.team_id)
            .bind(&p.key)
            .bind(&p.name)
            .bind(Json(&p.repositories))
            .bind(Json(&p.services))
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::unique("key", || format!("a project with key {:?}", p.key)))?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_project(&self, id: Uuid) -> Result<Project> {
        let row: Option<ProjectRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(PROJECT_COLS, "projects", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Project::from)
            .ok_or_else(|| StoreError::not_found("project", id))
    }

    pub async fn get_project_by_key(&self, key: &str) -> Result<Project> {
        let row: Option<ProjectRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(PROJECT_COLS, "projects", "key = $1"))
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.map(Project::from)
            .ok_or_else(|| StoreError::not_found("project", key))
    }

    pub async fn list_projects(&self, q: &ListQuery) -> Result<Page<Project>> {
        let limit = q.limit();
        let rows: Vec<ProjectRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) ORDER BY id LIMIT $3"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(
            rows.into_iter().map(Project::from).collect(),
            limit,
            |p| p.id,
        ))
    }

    pub async fn update_project(&self, p: &Project) -> Result<()> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE projects SET name = $2, repositories = $3, services = $4, updated_at = $5 WHERE id = $1",
            )
            .bind(p.id)
            .bind(&p.name)
            .bind(Json(&p.repositories))
            .bind(Json(&p.services))
            .bind(p.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(done, "project", p.id)
    }

    // ---- goals -------------------------------------------------------------

    pub async fn create_goal(&self, g: &Goal) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(g.team_id)),
                    ("project_id", Table::Projects, g.project_id),
                ]
            );
            insert_goal!(&mut *tx, g);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_goal(&self, id: Uuid) -> Result<Goal> {
        let row: Option<GoalRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(GOAL_COLS, "goals", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("goal", id))?
            .try_into()
    }

    pub async fn list_goals(&self, q: &ListQuery) -> Result<Page<Goal>> {
        let limit = q.limit();
        let rows: Vec<GoalRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {GOAL_COLS} FROM goals WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR project_id = $3) \
                 AND ($4 IS NULL OR status = $4) ORDER BY id LIMIT $5"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.project_id)
            .bind(q.status.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |g| g.id))
    }

    /// Saves a changed goal and its version entry atomically. `read_version`
    /// is the version the change was computed from: when another writer got
    /// there first, nothing is saved and `Stale` is returned.
    pub async fn save_goal_change(&self, change: &GoalChange, read_version: i32) -> Result<()> {
        let g = &change.goal;
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("project_id", Table::Projects, g.project_id)]);
            let n = sqlx::query(
                "UPDATE goals SET project_id = $2, title = $3, business_goal = $4, technical_tasks = $5, \
                 hypotheses = $6, success_metrics = $7, parties = $8, timeline = $9, status = $10, \
                 version = $11, agreed_at = $12, agreed_by = $13, updated_at = $14 \
                 WHERE id = $1 AND version = $15",
            )
            .bind(g.id)
            .bind(g.project_id)
            .bind(&g.title)
            .bind(&g.business_goal)
            .bind(&g.technical_tasks)
            .bind(Json(&g.hypotheses))
            .bind(Json(&g.success_metrics))
            .bind(Json(&g.parties))
            .bind(Json(&g.timeline))
            .bind(g.status.as_str())
            .bind(g.version)
            .bind(g.agreed_at)
            .bind(&g.agreed_by)
            .bind(g.updated_at)
            .bind(read_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                let (exists,): (i64,) = sqlx::query_as(Table::Goals.exists_sql())
                    .bind(g.id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Err(if exists == 0 {
                    StoreError::not_found("goal", g.id)
                } else {
                    StoreError::Stale(format!(
                        "goal {} changed since version {read_version} was read; reload and try again",
                        g.id
                    ))
                });
            }
            if let Some(v) = &change.version {
                insert_version!(&mut *tx, v);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn list_goal_versions(&self, goal_id: Uuid) -> Result<Vec<GoalVersion>> {
        let rows: Vec<GoalVersionRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {VERSION_COLS} FROM goal_versions WHERE goal_id = $1 ORDER BY version"
            )))
            .bind(goal_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(GoalVersion::from).collect())
    }

    // ---- stages ------------------------------------------------------------

    /// Creates a stage; `position` 0 means "after the last stage of the goal".
    pub async fn create_stage(&self, s: &Stage) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("goal_id", Table::Goals, Some(s.goal_id))]);
            insert_stage!(&mut *tx, s);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The position after the goal's last stage.
    pub async fn next_stage_position(&self, goal_id: Uuid) -> Result<i32> {
        let (max,): (Option<i32>,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT MAX(position) FROM stages WHERE goal_id = $1")
                .bind(goal_id)
                .fetch_one(pool)
                .await?
        });
        Ok(max.unwrap_or(0) + 1)
    }

    pub async fn get_stage(&self, id: Uuid) -> Result<Stage> {
        let row: Option<StageRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(STAGE_COLS, "stages", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Stage::from)
            .ok_or_else(|| StoreError::not_found("stage", id))
    }

    pub async fn list_stages(&self, q: &ListQuery) -> Result<Page<Stage>> {
        let limit = q.limit();
        let rows: Vec<StageRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {STAGE_COLS} FROM stages WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR goal_id = $2) \
                 AND ($3 IS NULL OR goal_id IN (SELECT id FROM goals WHERE team_id = $3)) \
                 ORDER BY id LIMIT $4"
            )))
            .bind(q.after)
            .bind(q.goal_id)
            .bind(q.team_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(
            rows.into_iter().map(Stage::from).collect(),
            limit,
            |s| s.id,
        ))
    }

    pub async fn update_stage(&self, s: &Stage) -> Result<()> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE stages SET name = $2, description = $3, position = $4, starts_on = $5, \
                 ends_on = $6, updated_at = $7 WHERE id = $1",
            )
            .bind(s.id)
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.position)
            .bind(s.starts_on)
            .bind(s.ends_on)
            .bind(s.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(done, "stage", s.id)
    }

    // ---- work items --------------------------------------------------------

    pub async fn create_work_item(&self, w: &WorkItem) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(w.team_id)),
                    ("project_id", Table::Projects, w.project_id),
                    ("goal_id", Table::Goals, w.goal_id),
                    ("stage_id", Table::Stages, w.stage_id),
                ]
            );
            insert_item!(&mut *tx, w);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_work_item(&self, id: Uuid) -> Result<WorkItem> {
        let row: Option<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(ITEM_COLS, "work_items", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("work item", id))?
            .try_into()
    }

    /// The item with this external key, in any source.
    pub async fn get_work_item_by_key(&self, key: &str) -> Result<WorkItem> {
        let row: Option<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE external_key = $1 ORDER BY id LIMIT 1"
            )))
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or_else(|| StoreError::not_found("work item", key))?
            .try_into()
    }

    pub async fn list_work_items(&self, q: &ListQuery) -> Result<Page<WorkItem>> {
        let limit = q.limit();
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR project_id = $3) \
                 AND ($4 IS NULL OR goal_id = $4) AND ($5 IS NULL OR stage_id = $5) \
                 AND ($6 IS NULL OR state = $6) AND ($7 IS NULL OR kind = $7) \
                 ORDER BY id LIMIT $8"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.project_id)
            .bind(q.goal_id)
            .bind(q.stage_id)
            .bind(q.status.as_deref())
            .bind(q.kind.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |w| w.id))
    }

    pub async fn update_work_item(&self, w: &WorkItem) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("project_id", Table::Projects, w.project_id),
                    ("goal_id", Table::Goals, w.goal_id),
                    ("stage_id", Table::Stages, w.stage_id),
                ]
            );
            // `$n` as in `ITEM_COLS`; team, key, source and creation stay.
            let n = bind_work_item(
                sqlx::query(
                    "UPDATE work_items SET project_id = $3, goal_id = $4, stage_id = $5, title = $6, \
                     kind = $7, priority = $8, impact = $9, complexity = $10, state = $11, context = $12, \
                     scores = $13, started_at = $17, done_at = $18, updated_at = $19 WHERE id = $1",
                ),
                w,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        });
        found(done, "work item", w.id)
    }

    // ---- risks -------------------------------------------------------------

    pub async fn create_risk(&self, r: &Risk) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(r.team_id)),
                    ("goal_id", Table::Goals, r.goal_id),
                    ("stage_id", Table::Stages, r.stage_id),
                ]
            );
            insert_risk!(&mut *tx, r);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_risk(&self, id: Uuid) -> Result<Risk> {
        let row: Option<RiskRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(RISK_COLS, "risks", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("risk", id))?
            .try_into()
    }

    pub async fn list_risks(&self, q: &ListQuery) -> Result<Page<Risk>> {
        let limit = q.limit();
        let rows: Vec<RiskRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {RISK_COLS} FROM risks WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR goal_id = $3) \
                 AND ($4 IS NULL OR stage_id = $4) AND ($5 IS NULL OR status = $5) \
                 ORDER BY id LIMIT $6"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.goal_id)
            .bind(q.stage_id)
            .bind(q.status.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |r| r.id))
    }

    pub async fn update_risk(&self, r: &Risk) -> Result<()> {
        let done = on_pool!(self, |pool| {
            // The people's edit: the owner, not the goal or stage.
            bind_risk(sqlx::query(sql(format!("{RISK_UPDATE}, owner = $10 WHERE id = $1"))), r)
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(done, "risk", r.id)
    }

    // ---- metrics and points ------------------------------------------------

    pub async fn create_metric(&self, m: &Metric) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("team_id", Table::Teams, m.team_id)]);
            insert_metric!(&mut *tx, m);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_metric(&self, id: Uuid) -> Result<Metric> {
        let row: Option<MetricRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(METRIC_COLS, "metrics", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("metric", id))?
            .try_into()
    }

    pub async fn get_metric_by_key(&self, key: &str) -> Result<Metric> {
        let row: Option<MetricRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(METRIC_COLS, "metrics", "key = $1"))
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("metric", key))?
            .try_into()
    }

    pub async fn list_metrics(&self, q: &ListQuery) -> Result<Page<Metric>> {
        let limit = q.limit();
        let rows: Vec<MetricRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {METRIC_COLS} FROM metrics WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR audience = $3) \
                 ORDER BY id LIMIT $4"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.audience.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |m| m.id))
    }

    pub async fn update_metric(&self, m: &Metric) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("team_id", Table::Teams, m.team_id)]);
            let n = sqlx::query(
                "UPDATE metrics SET name = $2, description = $3, unit = $4, direction = $5, audience = $6, \
                 team_id = $7, updated_at = $8 WHERE id = $1",
            )
            .bind(m.id)
            .bind(&m.name)
            .bind(&m.description)
            .bind(&m.unit)
            .bind(m.direction.as_str())
            .bind(m.audience.as_str())
            .bind(m.team_id)
            .bind(m.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        });
        found(done, "metric", m.id)
    }

    /// Writes points in batches, in one transaction; a point at an instant
    /// that already has one replaces its value.
    pub async fn upsert_points(&self, points: &[MetricPoint]) -> Result<u64> {
        if points.is_empty() {
            return Ok(0);
        }
        // One row per (metric, instant), the last value winning: PostgreSQL
        // refuses to update a row twice in one statement, SQLite would not.
        let mut seen = std::collections::HashSet::new();
        let mut points: Vec<&MetricPoint> = points
            .iter()
            .rev()
            .filter(|p| seen.insert((p.metric_id, p.at)))
            .collect();
        points.reverse();
        let mut metric_ids: Vec<Uuid> = points.iter().map(|p| p.metric_id).collect();
        metric_ids.sort();
        metric_ids.dedup();
        let written = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for id in &metric_ids {
                ensure_refs!(tx, [("metric_id", Table::Metrics, Some(*id))]);
            }
            let mut written = 0;
            for chunk in points.chunks(BULK_ROWS) {
                let mut qb = QueryBuilder::new("INSERT INTO metric_points (metric_id, at, value) ");
                qb.push_values(chunk, |mut b, p| {
                    b.push_bind(p.metric_id)
                        .push_bind(p.at)
                        .push_bind(point_value(p.value));
                });
                qb.push(" ON CONFLICT (metric_id, at) DO UPDATE SET value = excluded.value");
                written += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            written
        });
        Ok(written)
    }

    /// Points of a metric in `[from, to)`, oldest first, at most `limit`.
    pub async fn list_points(
        &self,
        metric_id: Uuid,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<MetricPoint>> {
        let rows: Vec<PointRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT metric_id, at, value FROM metric_points WHERE metric_id = $1 \
                 AND ($2 IS NULL OR at >= $2) AND ($3 IS NULL OR at < $3) ORDER BY at LIMIT $4",
            )
            .bind(metric_id)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(MetricPoint::from).collect())
    }

    // ---- decisions ---------------------------------------------------------

    pub async fn create_decision(&self, d: &Decision) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(d.team_id)),
                    ("goal_id", Table::Goals, d.goal_id),
                ]
            );
            insert_decision!(&mut *tx, d);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_decision(&self, id: Uuid) -> Result<Decision> {
        let row: Option<DecisionRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(DECISION_COLS, "decisions", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Decision::from)
            .ok_or_else(|| StoreError::not_found("decision", id))
    }

    pub async fn list_decisions(&self, q: &ListQuery) -> Result<Page<Decision>> {
        let limit = q.limit();
        let rows: Vec<DecisionRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {DECISION_COLS} FROM decisions WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR goal_id = $3) \
                 ORDER BY id LIMIT $4"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.goal_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(
            rows.into_iter().map(Decision::from).collect(),
            limit,
            |d| d.id,
        ))
    }

    pub async fn update_decision(&self, d: &Decision) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("goal_id", Table::Goals, d.goal_id)]);
            let n = sqlx::query(
                "UPDATE decisions SET goal_id = $2, title = $3, context = $4, options = $5, decision = $6, \
                 consequences = $7, decided_by = $8, updated_at = $9 WHERE id = $1",
            )
            .bind(d.id)
            .bind(d.goal_id)
            .bind(&d.title)
            .bind(&d.context)
            .bind(Json(&d.options))
            .bind(&d.decision)
            .bind(&d.consequences)
            .bind(&d.decided_by)
            .bind(d.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        });
        found(done, "decision", d.id)
    }
}

/// The value to store for a metric point: `-0.0` becomes `0.0`. SQLite
/// writes integral REALs as integers and so loses the sign, PostgreSQL keeps
/// it; storing `0.0` makes both engines read back (and export) the same.
pub(crate) fn point_value(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value }
}

/// Scores as stored: NULL when none are given.
fn found(rows: u64, entity: &'static str, id: impl ToString) -> Result<()> {
    if rows == 0 {
        Err(StoreError::not_found(entity, id))
    } else {
        Ok(())
    }
}

// ---- planning: unpaged reads for the backlog, plans, debt and context -------

impl Store {
    /// Every open item (todo, in progress, blocked) of a team, by id.
    pub async fn list_open_work_items(&self, team_id: Uuid) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE team_id = $1 \
                 AND state IN ('todo', 'in_progress', 'blocked') ORDER BY id"
            )))
            .bind(team_id)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// The team's items done at or after `since`, oldest `done_at` first.
    pub async fn list_done_work_items(
        &self,
        team_id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE team_id = $1 AND state = 'done' \
                 AND done_at >= $2 ORDER BY done_at, id"
            )))
            .bind(team_id)
            .bind(since)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// Every item of a goal, in any state, by id.
    pub async fn list_goal_work_items(&self, goal_id: Uuid) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE goal_id = $1 ORDER BY id"
            )))
            .bind(goal_id)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// Every stage of a goal, in position order.
    pub async fn list_goal_stages(&self, goal_id: Uuid) -> Result<Vec<Stage>> {
        let rows: Vec<StageRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {STAGE_COLS} FROM stages WHERE goal_id = $1 ORDER BY position, id"
            )))
            .bind(goal_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(Stage::from).collect())
    }

    /// The most recent point of a metric, if it has any.
    pub async fn latest_point(
        &self,
        metric_id: Uuid,
        at_or_before: Option<DateTime<Utc>>,
    ) -> Result<Option<MetricPoint>> {
        let row: Option<PointRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT metric_id, at, value FROM metric_points WHERE metric_id = $1 \
                 AND ($2 IS NULL OR at <= $2) ORDER BY at DESC LIMIT 1",
            )
            .bind(metric_id)
            .bind(at_or_before)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(MetricPoint::from))
    }
}
