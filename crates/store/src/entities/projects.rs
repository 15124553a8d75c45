//! Projects: a team's repositories and services.

use super::*;

impl Store {
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
}
