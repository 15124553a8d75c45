//! `/admin/users` and `/admin/tokens`: administration for admins, through
//! the same store functions as the API (`api::admin`). Every form carries
//! the session's CSRF token; a form with errors is shown again with each
//! error next to its field and what was typed (never a password).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use tandem_domain::DomainError;
use tandem_domain::audit::AuditAction;
use tandem_domain::user::{ApiToken, NewUser, Role, User, validate_password};

use super::AdminViewer;
use super::view::{self, Nav};
use super::{PageError, PageForm, PageResult, Viewer, render, render_status, see_other};
use crate::AppState;
use crate::api::new_id;
use crate::http::auth;
use crate::http::error::ApiError;
use tandem_app::credentials::issue_token;

/// Field errors by field name, and an error for the form as a whole.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub fields: HashMap<String, String>,
    pub form: Option<String>,
}

impl FormErrors {
    /// The role a form names, or `None` with the problem noted under `role`.
    fn role(&mut self, raw: &str) -> Option<Role> {
        if raw.trim().is_empty() {
            self.fields
                .insert("role".into(), "Choose a role.".to_owned());
            return None;
        }
        raw.parse::<Role>()
            .map_err(|e| {
                self.fields
                    .insert("role".into(), view::in_words("role", &e))
            })
            .ok()
    }

    pub fn get(&self, field: &str) -> Option<&String> {
        self.fields.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    /// Sorts an API error into field errors; errors that are not about input
    /// are passed through as the page error they are.
    pub fn absorb_api(&mut self, e: ApiError) -> Result<StatusCode, PageError> {
        match e {
            ApiError::Invalid(list) => {
                for fe in list {
                    let words = view::in_words(&fe.field, &fe.message);
                    self.fields.entry(fe.field).or_insert(words);
                }
                Ok(StatusCode::UNPROCESSABLE_ENTITY)
            }
            ApiError::Conflict { message, field } => {
                match field {
                    Some(f) => {
                        let words = view::in_words(&f, &message);
                        self.fields.insert(f, words);
                    }
                    None => self.form = Some(message),
                }
                Ok(StatusCode::CONFLICT)
            }
            ApiError::BadRequest(message, field) => {
                match field {
                    Some(f) => {
                        let words = view::in_words(&f, &message);
                        self.fields.insert(f, words);
                    }
                    None => self.form = Some(message),
                }
                Ok(StatusCode::BAD_REQUEST)
            }
            other => Err(other.into()),
        }
    }
}

#[derive(Debug)]
pub struct RoleOption {
    pub value: &'static str,
    pub selected: bool,
}

/// The role choices, with `selected` chosen (`default` when nothing is).
fn role_options(selected: &str, default: Role) -> Vec<RoleOption> {
    let selected = if selected.is_empty() {
        default.as_str()
    } else {
        selected
    };
    Role::ALL
        .iter()
        .map(|r| RoleOption {
            value: r.as_str(),
            selected: r.as_str() == selected,
        })
        .collect()
}

#[derive(Debug)]
pub struct UserRow {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub created: String,
    pub is_me: bool,
    /// The role choices for this user's role form.
    pub roles: Vec<RoleOption>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserForm {
    pub csrf: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub password: String,
}

#[derive(Debug, Template)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub users: Vec<UserRow>,
    pub form: UserForm,
    pub roles: Vec<RoleOption>,
    pub errors: FormErrors,
    pub notice: Option<String>,
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    form: UserForm,
    errors: FormErrors,
    notice: Option<String>,
) -> PageResult<UsersPage> {
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u: User| UserRow {
            roles: role_options(u.role.as_str(), u.role),
            is_me: u.id == viewer.user.id,
            username: u.username,
            display_name: u.display_name,
            email: u.email.unwrap_or_default(),
            role: u.role.to_string(),
            disabled: u.disabled,
            created: view::instant(u.created_at),
        })
        .collect();
    Ok(UsersPage {
        nav: viewer.nav("users"),
        users,
        roles: role_options(&form.role, Role::Member),
        form,
        errors,
        notice,
    })
}

/// `GET /admin/users`.
pub async fn users(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
) -> PageResult<Response> {
    let page = users_page(
        &state,
        &viewer,
        UserForm::default(),
        FormErrors::default(),
        None,
    );
    render(&page.await?)
}

/// Writes an admin action done through the pages to the audit log.
async fn audit(
    state: &AppState,
    viewer: &Viewer,
    client: &auth::ClientAddress,
    action: AuditAction,
    subject: &str,
    detail: &str,
) -> PageResult<()> {
    tandem_app::audit::record(
        &state.store,
        Utc::now(),
        action,
        &viewer.user.username,
        subject,
        client.0.as_deref(),
        detail,
    )
    .await?;
    Ok(())
}

/// `POST /admin/users`: creates a user.
pub async fn create_user(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    PageForm(mut form): PageForm<UserForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let role = errors.role(&form.role);
    if let Err(DomainError::Invalid(list)) = validate_password(&form.password) {
        for fe in list {
            errors
                .fields
                .insert(fe.field, format!("The password {}", fe.message));
        }
    }
    let new_user = NewUser {
        username: form.username.trim().to_owned(),
        display_name: Some(form.display_name.trim().to_owned()).filter(|s| !s.is_empty()),
        email: Some(form.email.trim().to_owned()).filter(|s| !s.is_empty()),
        role: role.unwrap_or(Role::Member),
    }
    .into_user(new_id(), Utc::now());
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    match new_user {
        Ok(user) if errors.is_empty() => {
            let password = std::mem::take(&mut form.password);
            let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
                .await
                .map_err(|e| ApiError::Unexpected(e.into()))?
                .map_err(ApiError::from)?;
            match state.store.create_user(&user, &hash).await {
                Ok(()) => {
                    let role = format!("role {}", user.role);
                    audit(
                        &state,
                        &viewer,
                        &client,
                        AuditAction::UserCreated,
                        &user.username,
                        &role,
                    )
                    .await?;
                    return Ok(see_other("/admin/users?done=user-created"));
                }
                Err(e) => status = errors.absorb_api(ApiError::from(e))?,
            }
        }
        Ok(_) => {}
        Err(e) => {
            errors.absorb_api(ApiError::from(e))?;
        }
    }
    form.password.clear();
    let page = users_page(&state, &viewer, form, errors, None).await?;
    render_status(status, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

async fn set_disabled(
    state: &AppState,
    viewer: &Viewer,
    client: &auth::ClientAddress,
    username: &str,
    disabled: bool,
) -> PageResult<Response> {
    if disabled && viewer.user.username == username {
        let errors = FormErrors {
            form: Some("You cannot disable yourself.".into()),
            ..FormErrors::default()
        };
        let page = users_page(state, viewer, UserForm::default(), errors, None).await?;
        return render_status(StatusCode::CONFLICT, &page);
    }
    state.store.set_user_disabled(username, disabled).await?;
    let action = if disabled {
        AuditAction::UserDisabled
    } else {
        AuditAction::UserEnabled
    };
    audit(state, viewer, client, action, username, "").await?;
    Ok(see_other(if disabled {
        "/admin/users?done=user-disabled"
    } else {
        "/admin/users?done=user-enabled"
    }))
}

#[derive(Debug, Template)]
#[template(path = "admin_confirm.html")]
pub struct ConfirmPage {
    pub nav: Nav,
    pub title: String,
    pub message: String,
    pub action: String,
    pub button: String,
    pub cancel: String,
}

/// `GET /admin/users/{username}/disable`: asks before disabling (the list's
/// Disable is a link here, not a one-click form).
pub async fn confirm_disable(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path(username): Path<String>,
) -> PageResult<Response> {
    let user = tandem_app::users::get(&state.store, &username).await?;
    render(&ConfirmPage {
        nav: viewer.nav("users"),
        title: format!("Disable {}?", user.username),
        message: format!(
            "{} ({}) will be signed out everywhere and can no longer sign in; their API tokens stop working. You can enable them again later.",
            user.display_name, user.username
        ),
        action: format!("/admin/users/{}/disable", user.username),
        button: format!("Disable {}", user.username),
        cancel: "/admin/users".to_owned(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    pub csrf: String,
    pub role: String,
}

/// `POST /admin/users/{username}/role` (`tandem_app::users::set_role`: the
/// last enabled admin keeps the role).
pub async fn change_role(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    Path(username): Path<String>,
    PageForm(form): PageForm<RoleForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let status = match errors.role(&form.role) {
        Some(role) => match tandem_app::users::set_role(&state.store, &username, role).await {
            Ok(user) => {
                let detail = format!("role {}", user.role);
                audit(
                    &state,
                    &viewer,
                    &client,
                    AuditAction::RoleChanged,
                    &username,
                    &detail,
                )
                .await?;
                return Ok(see_other("/admin/users?done=role-changed"));
            }
            Err(e) => errors.absorb_api(e.into())?,
        },
        None => StatusCode::UNPROCESSABLE_ENTITY,
    };
    errors.form = Some(format!(
        "The role of {username} was not changed: {}",
        errors
            .fields
            .values()
            .cloned()
            .chain(errors.form.clone())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    errors.fields.clear();
    let page = users_page(&state, &viewer, UserForm::default(), errors, None).await?;
    render_status(status, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    pub csrf: String,
    pub password: String,
}

/// `POST /admin/users/{username}/password`: sets a new password and ends
/// the user's sessions (`tandem_app::users::set_password`).
pub async fn change_password(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    Path(username): Path<String>,
    PageForm(form): PageForm<PasswordForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    match tandem_app::users::set_password(&state.store, &username, form.password).await {
        Ok(_) => {
            audit(
                &state,
                &viewer,
                &client,
                AuditAction::PasswordChanged,
                &username,
                "",
            )
            .await?;
            Ok(see_other("/admin/users?done=password-changed"))
        }
        Err(e) => {
            let mut errors = FormErrors::default();
            let status = errors.absorb_api(e.into())?;
            errors.form = Some(format!(
                "The password of {username} was not changed: {}",
                errors
                    .fields
                    .values()
                    .cloned()
                    .chain(errors.form.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            errors.fields.clear();
            let page = users_page(&state, &viewer, UserForm::default(), errors, None).await?;
            render_status(status, &page)
        }
    }
}

/// `POST /admin/users/{username}/disable`: disables the user and ends their sessions.
pub async fn disable_user(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    Path(username): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    set_disabled(&state, &viewer, &client, &username, true).await
}

/// `POST /admin/users/{username}/enable`.
pub async fn enable_user(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    Path(username): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    set_disabled(&state, &viewer, &client, &username, false).await
}

#[derive(Debug)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    pub csrf: String,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Template)]
#[template(path = "admin_tokens.html")]
pub struct TokensPage {
    pub nav: Nav,
    pub tokens: Vec<TokenRow>,
    pub form: TokenForm,
    pub roles: Vec<RoleOption>,
    pub errors: FormErrors,
    /// A token just created: its name and secret, shown this once.
    pub created: Option<(String, String)>,
    pub base_url: String,
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    form: TokenForm,
    errors: FormErrors,
    created: Option<(String, String)>,
) -> PageResult<TokensPage> {
    let tokens = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .map(|t: ApiToken| TokenRow {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            role: t.role.to_string(),
            created: view::instant(t.created_at),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".to_owned(), view::instant),
            revoked: t.revoked_at.map(view::instant),
        })
        .collect();
    Ok(TokensPage {
        nav: viewer.nav("tokens"),
        tokens,
        roles: role_options(&form.role, Role::Stakeholder),
        form,
        errors,
        created,
        base_url: state.settings.server.public_url(),
    })
}

/// The cookie that carries a just-created token's name and secret from the
/// form's post to the page it redirects to (post/redirect/get: a reload
/// shows the list, it does not create a second token). HttpOnly, SameSite
/// Strict, only sent to `/admin/tokens`, five minutes at most, and cleared
/// by the page that shows it: the secret is shown once (ADR 0032).
const NEW_TOKEN_COOKIE: &str = "tandem_new_token";

fn new_token_cookie(value: &str, max_age: u32, secure: bool) -> String {
    format!(
        "{NEW_TOKEN_COOKIE}={value}; Path=/admin/tokens; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The name and secret of a token created by this browser a moment ago.
fn created_token(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == NEW_TOKEN_COOKIE)
        .and_then(|(_, v)| {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(v).ok()?;
            let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            Some((get("name")?, get("secret")?))
        })
        .filter(|(_, secret)| secret.starts_with(tandem_app::credentials::TOKEN_PREFIX))
}

/// `GET /admin/tokens`: the list, and once, the token just created.
pub async fn tokens(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    headers: axum::http::HeaderMap,
) -> PageResult<Response> {
    let created = created_token(&headers);
    let page = tokens_page(
        &state,
        &viewer,
        TokenForm::default(),
        FormErrors::default(),
        created.clone(),
    );
    let mut response = render(&page.await?)?;
    if created.is_some() {
        let secure = state.settings.server.public_url().starts_with("https://");
        if let Ok(v) = axum::http::HeaderValue::from_str(&new_token_cookie("", 0, secure)) {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// `POST /admin/tokens`: creates a token, then redirects to the list, which
/// shows its secret once (see [`NEW_TOKEN_COOKIE`]).
pub async fn create_token(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    PageForm(form): PageForm<TokenForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let role = errors.role(&form.role);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let Some(role) = role {
        match issue_token(&state.store, form.name.trim(), role, Some(viewer.user.id)).await {
            Ok((token, secret)) => {
                let subject = format!("{} ({})", token.name, token.id);
                let role = format!("role {}", token.role);
                audit(
                    &state,
                    &viewer,
                    &client,
                    AuditAction::TokenCreated,
                    &subject,
                    &role,
                )
                .await?;
                let value = serde_urlencoded::to_string([
                    ("name", token.name.as_str()),
                    ("secret", secret.as_str()),
                ])
                .map_err(|e| ApiError::Unexpected(e.into()))?;
                let secure = state.settings.server.public_url().starts_with("https://");
                let mut response = see_other("/admin/tokens?done=token-created");
                response.headers_mut().append(
                    axum::http::header::SET_COOKIE,
                    axum::http::HeaderValue::from_str(&new_token_cookie(&value, 300, secure))
                        .map_err(|e| ApiError::Unexpected(e.into()))?,
                );
                return Ok(response);
            }
            Err(e) => status = errors.absorb_api(e.into())?,
        }
    }
    let page = tokens_page(&state, &viewer, form, errors, None).await?;
    render_status(status, &page)
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    client: auth::ClientAddress,
    Path(id): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let id = uuid::Uuid::try_parse(&id)
        .map_err(|_| PageError::not_found(format!("There is no token {id}.")))?;
    state.store.revoke_token(id, Utc::now()).await?;
    audit(
        &state,
        &viewer,
        &client,
        AuditAction::TokenRevoked,
        &id.to_string(),
        "",
    )
    .await?;
    Ok(see_other("/admin/tokens?done=token-revoked"))
}
