//! User administration: add a user, disable or enable one, change a role or
//! a password. The API (`/api/v1/users`) and `tandem user …` both come here.
//!
//! Rules: a password is checked (`validate_password`) and hashed (argon2id,
//! on the blocking pool) here, never stored in clear; disabling a user or
//! changing their password ends their sessions; the last enabled admin
//! cannot be given a lesser role, so someone can always manage users.

use chrono::Utc;
use tandem_domain::user::{NewUser, Role, User, validate_password};
use tandem_store::Store;
use uuid::Uuid;

use crate::credentials::hash_password;
use crate::{AppError, AppResult};

/// Creates a user with `password`.
pub async fn create(store: &Store, input: NewUser, password: String) -> AppResult<User> {
    validate_password(&password)?;
    let user = input.into_user(Uuid::now_v7(), Utc::now())?;
    let hash = hash(password).await?;
    store.create_user(&user, &hash).await?;
    Ok(user)
}

/// The user named `username`.
pub async fn get(store: &Store, username: &str) -> AppResult<User> {
    store
        .find_user_by_username(username)
        .await?
        .map(|(u, _)| u)
        .ok_or_else(|| AppError::NotFound(format!("user {username} was not found")))
}

/// Disables `username` and ends their sessions. `by` is the signed-in
/// user doing it, when there is one: nobody disables themselves.
pub async fn disable(store: &Store, username: &str, by: Option<&str>) -> AppResult<User> {
    if by == Some(username) {
        return Err(AppError::conflict(
            Some("disabled"),
            "you cannot disable yourself",
        ));
    }
    get(store, username).await?;
    store.set_user_disabled(username, true).await?;
    get(store, username).await
}

/// Enables `username` again (their ended sessions stay ended).
pub async fn enable(store: &Store, username: &str) -> AppResult<User> {
    store.set_user_disabled(username, false).await?;
    get(store, username).await
}

/// Gives `username` the role `role`.
pub async fn set_role(store: &Store, username: &str, role: Role) -> AppResult<User> {
    let user = get(store, username).await?;
    if user.role == Role::Admin && role != Role::Admin && !user.disabled {
        ensure_another_admin(store, &user, "role").await?;
    }
    store.set_user_role(username, role).await?;
    get(store, username).await
}

/// Sets `username`'s password and ends their sessions.
pub async fn set_password(store: &Store, username: &str, password: String) -> AppResult<User> {
    validate_password(&password)?;
    let user = get(store, username).await?;
    let hash = hash(password).await?;
    store.set_password_hash(user.id, &hash).await?;
    Ok(user)
}

async fn hash(password: String) -> AppResult<String> {
    Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await??)
}

/// Refuses (naming `field`) when `user` is the only enabled admin.
async fn ensure_another_admin(store: &Store, user: &User, field: &str) -> AppResult<()> {
    let others = store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Admin && !u.disabled && u.id != user.id)
        .count();
    if others == 0 {
        return Err(AppError::conflict(
            Some(field),
            format!(
                "{} is the only enabled admin; make another user admin first",
                user.username
            ),
        ));
    }
    Ok(())
}
