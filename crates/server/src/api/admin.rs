//! Sign-in sessions, the caller's identity, users and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tandem_domain::user::{ApiToken, NewUser, Role, User, validate_password};

use super::{new_id, path_id};
use crate::AppState;
use crate::auth::{self, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// Signs in with a username and password and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "auth", request_body = SignIn, security(()),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let found = state.store.find_user_by_username(&input.username).await?;
    // Verify against a fixed hash when the user is unknown, so timing does not
    // reveal which usernames exist.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, state.dummy_hash().await?),
    };
    let password = input.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => return Err(ApiError::Unauthorized("wrong username or password")),
    };
    let secret = auth::new_secret()?;
    let now = Utc::now();
    let ttl = chrono::Duration::hours(i64::from(state.settings.auth.session_ttl_hours));
    state
        .store
        .create_session(&auth::secret_hash(&secret), user.id, now, now + ttl)
        .await?;
    let cookie =
        auth::session_set_cookie(&secret, ttl.num_seconds(), state.settings.secure_cookies());
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(user)))
}

/// Ends the current session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> ApiResult<impl IntoResponse> {
    if !auth::same_origin(&parts) {
        return Err(ApiError::Forbidden(
            "cross-origin request refused: the Origin header does not match this server".into(),
        ));
    }
    let secret = auth::session_cookie(&parts).ok_or(ApiError::Unauthorized("no session to end"))?;
    state
        .store
        .delete_session(&auth::secret_hash(&secret))
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(
            header::SET_COOKIE,
            auth::session_clear_cookie(state.settings.secure_cookies()),
        )]),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
    pub user: Option<User>,
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Me>> {
    let user = match (who.user_id, &who.credential) {
        (Some(id), auth::Credential::Session) => Some(state.store.get_user(id).await?),
        _ => None,
    };
    Ok(Json(Me {
        name: who.name,
        role: who.role,
        user,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub role: Role,
    pub password: String,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<User>>> {
    who.require(Role::Admin)?;
    Ok(Json(state.store.list_users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    who.require(Role::Admin)?;
    validate_password(&input.password)?;
    let user = NewUser {
        username: input.username,
        display_name: input.display_name,
        email: input.email,
        role: input.role,
    }
    .into_user(new_id(), Utc::now())?;
    let password = input.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ApiError::Unexpected(e.into()))??;
    state.store.create_user(&user, &hash).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub disabled: bool,
}

/// Disables or re-enables a user. Disabling ends their sessions.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "admin", request_body = UserPatch,
    params(("username" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    who: Principal,
    Path(username): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    who.require(Role::Admin)?;
    if patch.disabled && who.name == username {
        return Err(ApiError::Conflict {
            message: "you cannot disable yourself".into(),
            field: Some("disabled".into()),
        });
    }
    state
        .store
        .set_user_disabled(&username, patch.disabled)
        .await?;
    let (user, _) = state
        .store
        .find_user_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {username} was not found")))?;
    Ok(Json(user))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret. Shown only in this response; store it now.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", responses((status = 200, body = Vec<ApiToken>), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<ApiToken>>> {
    who.require(Role::Admin)?;
    Ok(Json(state.store.list_tokens().await?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(input): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    who.require(Role::Admin)?;
    let (token, secret) = issue_token(&state.store, &input.name, input.role, who.user_id).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

pub use tandem_app::credentials::issue_token;

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require(Role::Admin)?;
    state
        .store
        .revoke_token(path_id("token", &id)?, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
