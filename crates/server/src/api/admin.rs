//! Sign-in sessions, the caller's identity, users and API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tandem_domain::audit::{AuditAction, AuditEvent};
use tandem_domain::user::{ApiToken, NewUser, Role, User};

use super::path_id;
use crate::AppState;
use crate::http::auth::RequireAdmin;
use crate::http::auth::{self, Principal};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiJson;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// Signs in with a username and password and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "auth", request_body = SignIn, security(()),
    responses((status = 200, body = User), (status = 401, body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this account or address; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    ApiJson(input): ApiJson<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let client = auth::client_address(&parts);
    let user = auth::throttled_sign_in(&state, &input.username, &input.password, client.as_deref())
        .await?
        .ok_or(ApiError::Unauthorized("wrong username or password"))?;
    let cookie = auth::start_session(&state, user.id).await?;
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
    _: RequireAdmin,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.list_users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    RequireAdmin(who): RequireAdmin,
    client: auth::ClientAddress,
    ApiJson(input): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let new = NewUser {
        username: input.username,
        display_name: input.display_name,
        email: input.email,
        role: input.role,
    };
    let user = tandem_app::users::create(&state.store, new, input.password).await?;
    auth::audit(
        &state,
        &who,
        &client,
        AuditAction::UserCreated,
        &user.username,
        &format!("role {}", user.role),
    )
    .await?;
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
    responses((status = 403, body = ErrorBody, description = "needs the admin role"),
        (status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    RequireAdmin(who): RequireAdmin,
    client: auth::ClientAddress,
    Path(username): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    let user = if patch.disabled {
        tandem_app::users::disable(&state.store, &username, Some(&who.name)).await?
    } else {
        tandem_app::users::enable(&state.store, &username).await?
    };
    let action = if patch.disabled {
        AuditAction::UserDisabled
    } else {
        AuditAction::UserEnabled
    };
    auth::audit(&state, &who, &client, action, &user.username, "").await?;
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
    _: RequireAdmin,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.store.list_tokens().await?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    RequireAdmin(who): RequireAdmin,
    client: auth::ClientAddress,
    ApiJson(input): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (token, secret) = issue_token(&state.store, &input.name, input.role, who.user_id).await?;
    auth::audit(
        &state,
        &who,
        &client,
        AuditAction::TokenCreated,
        &format!("{} ({})", token.name, token.id),
        &format!("role {}", token.role),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

use tandem_app::credentials::issue_token;

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    RequireAdmin(who): RequireAdmin,
    client: auth::ClientAddress,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id("token", &id)?;
    state.store.revoke_token(id, Utc::now()).await?;
    auth::audit(
        &state,
        &who,
        &client,
        AuditAction::TokenRevoked,
        &id.to_string(),
        "",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first: sign-ins (successful and failed) and admin
/// actions (users, tokens, webhook secrets).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = crate::api::Page<AuditEvent>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    _: RequireAdmin,
    crate::http::extract::ApiQuery(params): crate::http::extract::ApiQuery<AuditParams>,
) -> ApiResult<Json<crate::api::Page<AuditEvent>>> {
    let q = crate::api::ListParams {
        limit: params.limit,
        cursor: params.cursor,
        ..Default::default()
    }
    .resolve(&state, &[])
    .await?;
    Ok(Json(
        tandem_app::audit::list(&state.store, &q).await?.into(),
    ))
}

/// Paging of the audit log.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (older events).
    pub cursor: Option<String>,
}
