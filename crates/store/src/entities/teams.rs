//! Teams: create, read, rename, list.

use super::*;

impl Store {
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
}
