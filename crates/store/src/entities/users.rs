//! Users, team memberships, API tokens and sessions.

use super::*;

impl Store {
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

    /// Removes a user from a team; false when they were not a member.
    pub async fn remove_member(&self, team_id: Uuid, user_id: Uuid) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// The members of a team, by username.
    pub async fn team_members(&self, team_id: Uuid) -> Result<Vec<User>> {
        let users = self.list_users().await?;
        let ids: std::collections::HashSet<Uuid> = self
            .list_memberships()
            .await?
            .into_iter()
            .filter(|(t, _)| *t == team_id)
            .map(|(_, u)| u)
            .collect();
        Ok(users.into_iter().filter(|u| ids.contains(&u.id)).collect())
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
}
