//! `/sign-in` and `/sign-out`: the same cookie sessions the API's
//! `POST /api/v1/session` creates.
//!
//! The sign-in form has its own CSRF token (no session exists yet): a random
//! pre-session value in an HttpOnly, `SameSite=Strict` cookie scoped to
//! `/sign-in` keys it, so another site cannot sign a browser in to an account
//! of its choosing.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::{PageForm, PageResult, Viewer, csrf, render_status, see_other};
use crate::AppState;
use crate::http::auth;
use crate::http::error::ApiError;

const PRE_SESSION_COOKIE: &str = "tandem_pre_session";

#[derive(Debug, Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub csrf: String,
    pub next: String,
    pub username: String,
    pub error: Option<String>,
    pub username_error: Option<String>,
    pub password_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextParam {
    #[serde(default)]
    pub next: Option<String>,
}

/// A local path to go back to after signing in; anything else (another
/// host, a scheme-relative `//host`, backslashes) becomes `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn pre_session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{PRE_SESSION_COOKIE}={value}; Path=/sign-in; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

/// The form, with a pre-session cookie to key its token.
fn form_response(
    state: &AppState,
    status: StatusCode,
    pre_session: Option<String>,
    mut page: SignInPage,
) -> PageResult<Response> {
    let (value, fresh) = match pre_session {
        Some(v) => (v, false),
        None => (auth::new_secret().map_err(ApiError::from)?, true),
    };
    page.csrf = csrf::token(&value, csrf::SIGN_IN_PURPOSE);
    let mut response = render_status(status, &page)?;
    if fresh {
        let cookie = pre_session_cookie(&value, 3600, state.settings.secure_cookies());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// `GET /sign-in`: the form (or, when already signed in, straight on).
pub async fn form(
    State(state): State<AppState>,
    Query(params): Query<NextParam>,
    mut parts: Parts,
) -> PageResult<Response> {
    let next = safe_next(params.next.as_deref());
    if <Viewer as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state)
        .await
        .is_ok()
    {
        return Ok(see_other(&next));
    }
    let page = SignInPage {
        csrf: String::new(),
        next,
        username: String::new(),
        error: None,
        username_error: None,
        password_error: None,
    };
    form_response(
        &state,
        StatusCode::OK,
        auth::cookie(&parts, PRE_SESSION_COOKIE),
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    pub csrf: String,
    pub next: String,
    pub username: String,
    pub password: String,
}

/// `POST /sign-in`: checks the form's token and the password, starts a
/// session, and goes on to `next`. Errors show the form again with what was
/// typed (never the password).
pub async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    PageForm(input): PageForm<SignInForm>,
) -> PageResult<Response> {
    let pre_session = auth::cookie(&parts, PRE_SESSION_COOKIE);
    let mut page = SignInPage {
        csrf: String::new(),
        next: safe_next(Some(&input.next)),
        username: input.username.trim().to_owned(),
        error: None,
        username_error: None,
        password_error: None,
    };
    let token_ok = auth::same_origin(&parts)
        && pre_session
            .as_deref()
            .is_some_and(|p| csrf::verify(p, csrf::SIGN_IN_PURPOSE, &input.csrf));
    if !token_ok {
        page.error = Some(
            "This sign-in form expired or did not come from this site. Please sign in again."
                .into(),
        );
        return form_response(&state, StatusCode::FORBIDDEN, None, page);
    }
    if page.username.is_empty() {
        page.username_error = Some("Enter your username.".into());
    }
    if input.password.is_empty() {
        page.password_error = Some("Enter your password.".into());
    }
    if page.username_error.is_some() || page.password_error.is_some() {
        return form_response(&state, StatusCode::UNPROCESSABLE_ENTITY, pre_session, page);
    }
    let client = auth::client_address(&parts);
    let user =
        match auth::throttled_sign_in(&state, &page.username, &input.password, client.as_deref())
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) => {
                page.error = Some("Wrong username or password.".into());
                return form_response(&state, StatusCode::UNAUTHORIZED, pre_session, page);
            }
            Err(ApiError::TooManyRequests { retry_after, .. }) => {
                page.error = Some(format!(
                    "Too many failed sign-ins. Try again in {retry_after} seconds."
                ));
                let mut response =
                    form_response(&state, StatusCode::TOO_MANY_REQUESTS, pre_session, page)?;
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                return Ok(response);
            }
            Err(e) => return Err(e.into()),
        };
    let session = auth::start_session(&state, user.id).await?;
    let secure = state.settings.secure_cookies();
    let mut response = see_other(&page.next);
    for cookie in [session, pre_session_cookie("", 0, secure)] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// `POST /sign-out`: ends the session and goes to the sign-in page.
pub async fn sign_out(
    State(state): State<AppState>,
    viewer: Viewer,
    parts: Parts,
    PageForm(input): PageForm<CsrfOnly>,
) -> PageResult<Response> {
    viewer.check_csrf(&input.csrf)?;
    if let Some(secret) = auth::session_cookie(&parts) {
        state
            .store
            .delete_session(&auth::secret_hash(&secret))
            .await
            .map_err(ApiError::from)?;
    }
    let mut response = see_other("/sign-in");
    if let Ok(v) =
        HeaderValue::from_str(&auth::session_clear_cookie(state.settings.secure_cookies()))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/goals/1?x=2")), "/goals/1?x=2");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
