//! Server-rendered pages for people: the business overview, goals, work
//! items, teams, reports and administration (ADR 0003).
//!
//! Invariants:
//! - Every page needs a signed-in user ([`Viewer`], from the session
//!   cookie); without one, or with an expired one, the browser is sent to
//!   `/sign-in?next=<where it was going>`. Bearer tokens are for the API and
//!   are not accepted here.
//! - Every state-changing form carries a CSRF token ([`csrf`]) that is
//!   checked before anything is written; cookie-authenticated writes must
//!   also be same-origin (as in the API).
//! - Pages call the same store and server functions the API calls
//!   (`forecasting`, `reporting`); they never call the API over HTTP.
//! - Stakeholders see business pages only (overview, goals, reports); team
//!   and work item pages need the member role, the set-up pages (`setup`)
//!   the manager role, administration the admin role. No page shows
//!   anything per person.
//! - Templates (`crates/server/templates`) are compiled into the binary by
//!   askama; static files (`crates/server/static`) are embedded.

pub mod admin;
pub mod agenda;
pub mod cache;
pub mod checks;
pub mod csrf;
pub mod data;
pub mod decisions;
pub mod explain;
pub mod feed;
pub mod figures;
pub mod focus;
pub mod goals;
pub mod incidents;
pub mod overview;
pub mod pulse;
pub mod reports;
pub mod requests;
pub mod session;
pub mod setup;
pub mod status;
pub mod teams;
pub mod view;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use tandem_domain::user::{Role, User};

use crate::AppState;
use crate::http::auth;
use crate::http::error::ApiError;

/// The page routes (everything outside `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/agenda", get(agenda::page))
        .route("/decisions", get(decisions::page))
        .route("/decisions.md", get(decisions::markdown))
        .route("/goals/{id}", get(goals::goal_page))
        .route("/goals/{id}/decision", post(goals::decide))
        .route("/work-items/{id}", get(goals::work_item_page))
        .route("/teams", get(teams::list))
        .route("/teams/{key}", get(teams::page))
        .route("/pulse", get(pulse::page).post(pulse::submit))
        .route("/teams/{key}/explain/{metric}", get(explain::page))
        .route("/teams/{key}/focus", get(focus::team_page))
        .route("/teams/{key}/focus/me", get(focus::my_page))
        .route("/reports", get(reports::archive))
        .route("/requests", get(requests::queue).post(requests::submit))
        .route("/requests/new", get(requests::new_form))
        .route("/requests/{id}", get(requests::page))
        .route("/requests/{id}/answers", post(requests::answer))
        .route("/requests/{id}/decision", post(requests::decide))
        .route(
            "/reports/{team}/{week}",
            get(reports::preview).post(reports::edit),
        )
        .route("/reports/{team}/{week}/approve", post(reports::approve))
        .route("/reports/{team}/{week}/email", get(reports::email_preview))
        .route("/reports/{team}/{week}/send", post(reports::send))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route(
            "/admin/users/{username}/disable",
            get(admin::confirm_disable).post(admin::disable_user),
        )
        .route("/admin/users/{username}/role", post(admin::change_role))
        .route(
            "/admin/users/{username}/password",
            post(admin::change_password),
        )
        .route("/admin/users/{username}/enable", post(admin::enable_user))
        .route(
            "/admin/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/setup", get(setup::teams::list))
        .route("/setup/teams", post(setup::teams::create))
        .route(
            "/setup/teams/{key}",
            get(setup::teams::page).post(setup::teams::update),
        )
        .route("/setup/teams/{key}/members", post(setup::teams::add_member))
        .route("/setup/teams/{key}/focus", get(setup::focus::page))
        .route(
            "/setup/teams/{key}/focus/policy",
            post(setup::focus::save_policy),
        )
        .route(
            "/setup/teams/{key}/focus/pulse",
            post(setup::focus::save_pulse),
        )
        .route(
            "/setup/teams/{key}/focus/feeds",
            post(setup::focus::add_feed),
        )
        .route(
            "/setup/teams/{key}/focus/feeds/remove",
            post(setup::focus::remove_feed),
        )
        .route(
            "/setup/teams/{key}/focus/feeds/refresh",
            post(setup::focus::refresh),
        )
        .route(
            "/setup/teams/{key}/members/remove",
            post(setup::teams::remove_member),
        )
        .route(
            "/setup/teams/{key}/projects",
            post(setup::teams::create_project),
        )
        .route(
            "/setup/projects/{key}",
            get(setup::projects::page).post(setup::projects::update),
        )
        .route(
            "/setup/projects/{key}/scopes",
            post(setup::projects::set_scope),
        )
        .route(
            "/setup/projects/{key}/scopes/remove",
            post(setup::projects::remove_scope),
        )
        .route(
            "/setup/projects/{key}/webhook-secrets/{provider}",
            post(setup::projects::generate_secret),
        )
        .route(
            "/setup/kpis",
            get(setup::kpis::page).post(setup::kpis::create_series),
        )
        .route("/setup/kpis/points", post(setup::kpis::add_point))
        .route("/checks", get(checks::list).post(checks::save))
        .route("/checks/new", get(checks::new_form))
        .route("/checks/{name}", get(checks::edit_form))
        .route("/checks/{name}/disable", post(checks::disable))
        .route("/checks/{name}/enable", post(checks::enable))
        .route("/checks/{name}/silence", post(checks::silence))
        .route("/incidents", get(incidents::list))
        .route("/incidents/{id}", get(incidents::show))
        .route("/incidents/{id}/ack", post(incidents::acknowledge))
        .route("/incidents/{id}/resolve", post(incidents::resolve))
        .route("/incidents/{id}/updates", post(incidents::post_update))
        .route("/incidents/{id}/note", post(incidents::save_note))
        // Public when `[status_page]` says so (web::status), else signed in.
        .route("/status", get(status::organisation))
        .route("/status/{team}", get(status::team))
        .route("/setup/kpis/source", post(setup::kpis::set_source))
        .route(
            "/setup/kpis/source/remove",
            post(setup::kpis::remove_source),
        )
        .route("/setup/kpis/computed", post(setup::kpis::bind))
        .route("/sign-in", get(session::form).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/static/{*path}", get(static_file))
}

/// The signed-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: User,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The session id (the CSRF key).
    session: SecretString,
    /// What the form that redirected here did (`?done=<key>`, [`view::flash`]).
    pub flash: Option<&'static str>,
}

impl Viewer {
    /// Refuses the page unless the viewer's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), PageError> {
        if self.user.role.allows(needed) {
            Ok(())
        } else {
            Err(PageError::Status(
                StatusCode::FORBIDDEN,
                format!(
                    "This page needs the {needed} role; you ({}) have the {} role.",
                    self.user.username, self.user.role
                ),
            ))
        }
    }

    /// Checks a submitted form's CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if csrf::verify(
            self.session.expose_secret(),
            csrf::SESSION_PURPOSE,
            submitted,
        ) {
            Ok(())
        } else {
            Err(PageError::Status(
                StatusCode::FORBIDDEN,
                "The form's security token is missing or does not match your session. \
                 Reload the page and submit it again."
                    .into(),
            ))
        }
    }

    /// What the page header needs.
    pub fn nav(&self, current: &'static str) -> view::Nav {
        view::Nav {
            username: self.user.display_name.clone(),
            role: self.user.role.to_string(),
            member: self.user.role.allows(Role::Member),
            manager: self.user.role.allows(Role::Manager),
            admin: self.user.role.allows(Role::Admin),
            csrf: self.csrf.clone(),
            current,
            flash: self.flash,
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let to_sign_in = || PageError::SignIn(return_to(parts));
        let secret = auth::session_cookie(parts).ok_or_else(to_sign_in)?;
        let user = state
            .store
            .find_session_user(&auth::secret_hash(&secret), Utc::now())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(to_sign_in)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) && !auth::same_origin(parts) {
            return Err(PageError::Status(
                StatusCode::FORBIDDEN,
                "Cross-origin form refused: the Origin header does not match this server.".into(),
            ));
        }
        let flash = parts.uri.query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "done")
                .and_then(|(_, v)| view::flash(&v))
        });
        Ok(Viewer {
            user,
            csrf: csrf::token(&secret, csrf::SESSION_PURPOSE),
            session: SecretString::from(secret),
            flash,
        })
    }
}

/// Page-flavoured role checks: a page names the role it needs in its
/// signature (`AdminViewer(viewer): AdminViewer`). Not signed in still means
/// a 303 to the sign-in page; signed in without the role means an HTML 403.
/// The check runs before the form is read. Every signed-in [`Viewer`] is at
/// least a stakeholder, so stakeholder pages take a plain `Viewer`.
macro_rules! role_viewer {
    ($(#[$doc:meta])* $name:ident => $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Viewer);

        impl std::ops::Deref for $name {
            type Target = Viewer;
            fn deref(&self) -> &Viewer {
                &self.0
            }
        }

        impl FromRequestParts<AppState> for $name {
            type Rejection = PageError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, PageError> {
                let viewer = Viewer::from_request_parts(parts, state).await?;
                viewer.require($role)?;
                Ok(Self(viewer))
            }
        }
    };
}

role_viewer! {
    /// A signed-in viewer with at least the member role.
    MemberViewer => Role::Member
}
role_viewer! {
    /// A signed-in viewer with at least the manager role.
    ManagerViewer => Role::Manager
}
role_viewer! {
    /// A signed-in viewer with the admin role.
    AdminViewer => Role::Admin
}

/// Where a request was going, for the sign-in page to send it back to.
/// Only GET requests go back (a form post would be lost anyway).
fn return_to(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned())
    } else {
        "/".to_owned()
    }
}

/// A page that could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session expired): go to the sign-in page, then
    /// back to this path.
    SignIn(String),
    /// A status page with a message for people.
    Status(StatusCode, String),
}

impl PageError {
    pub fn not_found(what: impl Into<String>) -> Self {
        PageError::Status(StatusCode::NOT_FOUND, what.into())
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let status = match &e {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match e {
            ApiError::Unexpected(e) => {
                tracing::error!(error = ?e, "page failed");
                "Something went wrong on the server; the server log has the details.".to_owned()
            }
            other => other.to_string(),
        };
        PageError::Status(status, message)
    }
}

impl From<tandem_app::AppError> for PageError {
    fn from(e: tandem_app::AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tandem_store::StoreError> for PageError {
    fn from(e: tandem_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn(next) => {
                let query =
                    serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                Redirect::to(&format!("/sign-in?{query}")).into_response()
            }
            PageError::Status(status, message) => {
                let page = view::ErrorPage {
                    title: status.canonical_reason().unwrap_or("Error").to_owned(),
                    status: status.as_u16(),
                    message,
                };
                let mut response = match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(e) => {
                        tracing::error!(error = %e, "rendering the error page failed");
                        (status, page.message).into_response()
                    }
                };
                page_headers(response.headers_mut());
                response
            }
        }
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// A form's refusal in words: "`what`. Fill in the reason. Go back, correct
/// it and send it again." — each field's problem as a sentence
/// ([`view::in_words`]), never a parser's message. Other failures are the
/// usual status pages.
pub fn form_error(what: &str, e: tandem_app::AppError) -> PageError {
    use tandem_app::AppError;
    let words = match &e {
        AppError::Invalid(errors) => errors
            .iter()
            .map(|e| view::in_words(&e.field, &e.message))
            .collect::<Vec<_>>()
            .join(" "),
        AppError::BadInput {
            message,
            field: Some(field),
        } => view::in_words(field, message),
        AppError::BadInput {
            message,
            field: None,
        } => message.clone(),
        AppError::Conflict { message, .. } => message.clone(),
        _ => return e.into(),
    };
    let status = match e {
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    PageError::Status(
        status,
        format!("{what}. {words} Go back, correct it and send it again."),
    )
}

/// A submitted HTML form (`application/x-www-form-urlencoded`); a body that
/// is not one becomes a 400 page instead of axum's plain-text rejection.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T> axum::extract::FromRequest<AppState> for PageForm<T>
where
    T: serde::de::DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, PageError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(v)| PageForm(v))
            .map_err(|rejection| {
                PageError::Status(
                    rejection.status(),
                    format!("The form could not be read: {}", rejection.body_text()),
                )
            })
    }
}

/// Renders a template as an HTML response with the pages' security headers.
pub fn render<T: Template>(template: &T) -> PageResult<Response> {
    render_status(StatusCode::OK, template)
}

/// Like [`render`], with a status (a form shown again with its errors).
pub fn render_status<T: Template>(status: StatusCode, template: &T) -> PageResult<Response> {
    let html = template.render().map_err(|e| {
        PageError::from(ApiError::Unexpected(
            anyhow::Error::new(e).context("rendering a page"),
        ))
    })?;
    let mut response = (status, Html(html)).into_response();
    page_headers(response.headers_mut());
    Ok(response)
}

/// Pages are private and not framed; scripts and styles come from this server
/// only (charts are inline SVG, which may carry style attributes).
fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A redirect after a successful form post (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct Assets;

/// `/static/…`: the embedded stylesheet and icons.
async fn static_file(Path(path): Path<String>) -> Response {
    let Some(file) = Assets::get(&path) else {
        return PageError::not_found(format!("There is no static file {path}.")).into_response();
    };
    let mime = match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        file.data,
    )
        .into_response()
}

/// The fallback outside `/api/v1`: an HTML "not found" page for browsers
/// (they ask for `text/html`), the API's JSON 404 for everyone else.
pub async fn not_found(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        PageError::not_found(format!("There is no page at {}.", uri.path())).into_response()
    } else {
        ApiError::NotFound("no such route".into()).into_response()
    }
}
