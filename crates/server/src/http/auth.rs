//! Authentication and authorisation.
//!
//! - Passwords, API tokens and session ids are made and checked by
//!   `tandem_app::credentials` (re-exported here).
//! - A request is authenticated by `Authorization: Bearer <token>` or by the
//!   `tandem_session` cookie. Cookie-authenticated API writes must name this
//!   server in `Origin` or `Referer` ([`from_this_site`]; CSRF defence on
//!   top of `SameSite=Lax`); bearer-token writes need no such header.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use chrono::Utc;
use ipnet::IpNet;
use std::net::IpAddr;
use tandem_domain::user::{Role, User};
use uuid::Uuid;

use crate::AppState;
use crate::http::error::ApiError;

pub const SESSION_COOKIE: &str = "tandem_session";

pub use tandem_app::credentials::{
    hash_password, new_password, new_secret, secret_hash, secret_prefix, verify_password,
};

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token(Uuid),
    Session,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub role: Role,
    /// Username, or `token:<name>` for API tokens.
    pub name: String,
    pub user_id: Option<Uuid>,
    pub credential: Credential,
}

impl Principal {
    pub fn from_user(user: &User) -> Self {
        Self {
            role: user.role,
            name: user.username.clone(),
            user_id: Some(user.id),
            credential: Credential::Session,
        }
    }

    /// Refuses the request unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {needed} role; {} has the {} role",
                self.name, self.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| ApiError::Unauthorized("the Authorization header is not text"))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(ApiError::Unauthorized("use Authorization: Bearer <token>"))?
                .trim();
            let found = state.store.find_token(&secret_hash(token)).await?;
            let token = found.ok_or(ApiError::Unauthorized("the token is unknown or revoked"))?;
            // Record use at most once a minute: a write per request would
            // contend for SQLite's write lock and cost PostgreSQL a round trip.
            let now = Utc::now();
            if token
                .last_used_at
                .is_none_or(|at| now - at >= chrono::Duration::minutes(1))
            {
                state.store.touch_token(token.id, now).await?;
            }
            return Ok(Principal {
                role: token.role,
                name: format!("token:{}", token.name),
                user_id: token.created_by,
                credential: Credential::Token(token.id),
            });
        }
        let session = session_cookie(parts).ok_or(ApiError::Unauthorized(
            "send an API token (Authorization: Bearer …) or sign in",
        ))?;
        let user = state
            .store
            .find_session_user(&secret_hash(&session), Utc::now())
            .await?
            .ok_or(ApiError::Unauthorized(
                "the session has expired; sign in again",
            ))?;
        if !is_safe(&parts.method) && !from_this_site(parts, &state.settings.server.public_url()) {
            return Err(ApiError::Forbidden(
                "cross-origin request refused: a write with the session cookie must carry an Origin (or Referer) header naming this server; scripts should use an API token"
                    .into(),
            ));
        }
        Ok(Principal::from_user(&user))
    }
}

/// Role checks as extractors: a handler names the role it needs in its
/// signature (`RequireManager(who): RequireManager`), so it cannot forget the
/// check, and the check runs when the extractor does, before the query or
/// body is parsed (a stakeholder's malformed write gets 403, not 422). Put
/// the extractor right after `State`. Any authenticated [`Principal`] is at
/// least a stakeholder, so stakeholder routes take a plain `Principal`.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident => $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl std::ops::Deref for $name {
            type Target = Principal;
            fn deref(&self) -> &Principal {
                &self.0
            }
        }

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let who = Principal::from_request_parts(parts, state).await?;
                who.require($role)?;
                Ok(Self(who))
            }
        }
    };
}

role_extractor! {
    /// An authenticated caller with at least the member role.
    RequireMember => Role::Member
}
role_extractor! {
    /// An authenticated caller with at least the manager role.
    RequireManager => Role::Manager
}
role_extractor! {
    /// An authenticated caller with the admin role.
    RequireAdmin => Role::Admin
}

/// The value of the cookie `name`, if the request carries one. An empty
/// value (`name=`, what a cleared cookie looks like) is no cookie. The one
/// cookie parser: the API, the pages and the sign-in form all use it.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, SESSION_COOKIE)
}

/// Checks a username and password: the user when both match and the user is
/// not disabled, `None` otherwise (the caller says "wrong username or
/// password" either way). An unknown username is verified against a fixed
/// hash, so timing does not reveal which usernames exist. The one sign-in
/// check: the API's `POST /api/v1/session` and the page `/sign-in` use it.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<User>, ApiError> {
    let found = state.store.find_user_by_username(username).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, state.dummy_hash().await?),
    };
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    Ok(user.filter(|u| ok && !u.disabled))
}

/// The client's address: the connection's peer (`tandem serve` keeps it),
/// or, when that peer is one of `server.trusted_proxies`, the client its
/// `X-Forwarded-For` names ([`forwarded_client`], set by the router's
/// `real_client` layer); none when the router runs without a peer.
pub fn client_address(parts: &Parts) -> Option<String> {
    if let Some(ForwardedClient(ip)) = parts.extensions.get::<ForwardedClient>() {
        return Some(ip.to_string());
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// The client behind trusted proxies, as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedClient(pub IpAddr);

/// The client a request came from when `peer` may be a trusted proxy:
/// `X-Forwarded-For` (every line, in order) read from the right, each hop
/// believed only while the hop that reported it is trusted. The first
/// untrusted address is the client; an entry that is not an address stops
/// the walk at the last trusted hop, and a peer that is not trusted is the
/// client whatever the header says (anyone can send one).
pub fn forwarded_client(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let trusted_hop = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        if !trusted_hop(&client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// `203.0.113.7`, `2001:db8::1`, `203.0.113.7:4711` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// Sets [`ForwardedClient`] on requests whose peer is a trusted proxy.
pub async fn real_client(
    axum::extract::State(trusted): axum::extract::State<std::sync::Arc<Vec<IpNet>>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer
        && trusted.iter().any(|n| n.contains(&peer))
    {
        let lines = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        let client = forwarded_client(peer, &lines, &trusted);
        req.extensions_mut().insert(ForwardedClient(client));
    }
    next.run(req).await
}

/// The client's address as an extractor (never refuses).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

/// Writes an admin action to the audit log (`tandem_app::audit`).
pub async fn audit(
    state: &AppState,
    who: &Principal,
    client: &ClientAddress,
    action: tandem_domain::audit::AuditAction,
    subject: &str,
    detail: &str,
) -> Result<(), ApiError> {
    tandem_app::audit::record(
        &state.store,
        Utc::now(),
        action,
        &who.name,
        subject,
        client.0.as_deref(),
        detail,
    )
    .await?;
    Ok(())
}

/// Checks a sign-in under the throttle (`tandem_app::audit`): refused with
/// 429 and `Retry-After` while the account or the address is locked
/// (without checking the password), else the password is checked and the
/// outcome counted and logged. `None` for a wrong username or password.
pub async fn throttled_sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    client: Option<&str>,
) -> Result<Option<User>, ApiError> {
    let store = &state.store;
    let now = Utc::now();
    if let Some(wait) = tandem_app::audit::sign_in_locked(store, username, client, now).await? {
        return Err(throttled(wait));
    }
    match authenticate(state, username, password).await? {
        Some(user) => {
            tandem_app::audit::sign_in_succeeded(store, &user.username, client, Utc::now()).await?;
            Ok(Some(user))
        }
        None => {
            tandem_app::audit::sign_in_failed(store, username, client, Utc::now()).await?;
            Ok(None)
        }
    }
}

/// The answer to a sign-in refused by the throttle.
pub fn throttled(wait: u64) -> ApiError {
    ApiError::TooManyRequests {
        message: format!("too many failed sign-ins; try again in {wait} s"),
        retry_after: wait,
    }
}

/// Starts a session for `user` (the configured lifetime) and returns the
/// `Set-Cookie` value that carries it.
pub async fn start_session(state: &AppState, user: Uuid) -> Result<String, ApiError> {
    let secret = new_secret()?;
    let now = Utc::now();
    let ttl = chrono::Duration::hours(i64::from(state.settings.auth.session_ttl_hours));
    state
        .store
        .create_session(&secret_hash(&secret), user, now, now + ttl)
        .await?;
    Ok(session_set_cookie(
        &secret,
        ttl.num_seconds(),
        state.settings.secure_cookies(),
    ))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// True when there is no Origin header (not a browser cross-site request) or
/// the Origin's host matches the Host header.
pub fn same_origin(parts: &Parts) -> bool {
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// For writes authenticated by the session cookie: the request must say
/// where it comes from, and that must be this server. The `Origin` header
/// (else the `Referer`'s origin) must be present and equal to the origin the
/// browser addressed (`Host`) or to `public_url`'s. Browsers send Origin on
/// every cross-site and same-site POST, PUT, PATCH and DELETE, so only a
/// request that did not come from a page of this server lacks both; a
/// script holding a session cookie is told to use a token instead.
pub fn from_this_site(parts: &Parts, public_url: &str) -> bool {
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let claimed = match header(header::ORIGIN) {
        Some(origin) => Some(origin.trim_end_matches('/').to_owned()),
        None => header(header::REFERER).and_then(origin_of),
    };
    let Some(claimed) = claimed else {
        return false;
    };
    let Some(claimed_host) = claimed.split_once("://").map(|(_, host)| host) else {
        return false; // "null" (sandboxed or file pages) and anything else
    };
    let same_host = header(header::HOST).is_some_and(|h| claimed_host.eq_ignore_ascii_case(h));
    let public = origin_of(public_url).is_some_and(|p| p.eq_ignore_ascii_case(&claimed));
    same_host || public
}

/// `scheme://host[:port]` of a URL, if it has one.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!scheme.is_empty() && !host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The `Set-Cookie` value for a new session.
pub fn session_set_cookie(secret: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn session_clear_cookie(secure: bool) -> String {
    session_set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = ["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        // The proxy names the client.
        assert_eq!(
            forwarded_client(ip("10.1.2.3"), &["203.0.113.7"], &trusted),
            ip("203.0.113.7")
        );
        // A client that is not a proxy cannot name another address.
        assert_eq!(
            forwarded_client(ip("198.51.100.9"), &["203.0.113.7"], &trusted),
            ip("198.51.100.9")
        );
        // Read from the right: a spoofed left-most entry is not believed,
        // trusted hops are walked through, across header lines.
        assert_eq!(
            forwarded_client(
                ip("10.0.0.1"),
                &["1.1.1.1, 203.0.113.7", "10.9.9.9"],
                &trusted
            ),
            ip("203.0.113.7")
        );
        // Ports and IPv6 forms.
        assert_eq!(
            forwarded_client(ip("::1"), &["[2001:db8::5]:4711"], &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(
            forwarded_client(ip("::1"), &["203.0.113.7:80"], &trusted),
            ip("203.0.113.7")
        );
        // Garbage stops at the last trusted hop; no header: the peer.
        assert_eq!(
            forwarded_client(ip("10.0.0.1"), &["203.0.113.7, unknown"], &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            forwarded_client(ip("10.0.0.1"), &[], &trusted),
            ip("10.0.0.1")
        );
        // Nothing trusted: the peer, always.
        assert_eq!(
            forwarded_client(ip("10.0.0.1"), &["203.0.113.7"], &[]),
            ip("10.0.0.1")
        );
    }

    use super::*;

    #[test]
    fn passwords_verify_and_hash_is_argon2id() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong horse battery", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    fn parts_with_cookies(values: &[&str]) -> Parts {
        let mut request = axum::http::Request::builder();
        for v in values {
            request = request.header(header::COOKIE, *v);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn writes_must_name_this_site() {
        let parts = |headers: &[(&str, &str)]| {
            let mut b = axum::http::Request::builder()
                .method("POST")
                .uri("/api/v1/teams");
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.body(()).unwrap().into_parts().0
        };
        let public = "https://tandem.example.com/";
        let host = ("host", "127.0.0.1:9000");
        assert!(
            !from_this_site(&parts(&[host]), public),
            "no Origin, no Referer"
        );
        assert!(from_this_site(
            &parts(&[host, ("origin", "http://127.0.0.1:9000")]),
            public
        ));
        assert!(from_this_site(
            &parts(&[host, ("origin", "https://tandem.example.com")]),
            public
        ));
        assert!(from_this_site(
            &parts(&[host, ("referer", "http://127.0.0.1:9000/setup/teams?x=1")]),
            public
        ));
        assert!(!from_this_site(&parts(&[host, ("origin", "null")]), public));
        assert!(!from_this_site(
            &parts(&[host, ("origin", "https://evil.example")]),
            public
        ));
        assert!(!from_this_site(
            &parts(&[host, ("referer", "https://evil.example/127.0.0.1:9000")]),
            public
        ));
        assert!(!from_this_site(
            &parts(&[host, ("origin", "https://tandem.example.com.evil.example")]),
            public
        ));
    }

    #[test]
    fn cookies_are_found_and_an_empty_value_is_no_cookie() {
        let parts = parts_with_cookies(&["a=1; tandem_session=tdm_x", "b=2"]);
        assert_eq!(session_cookie(&parts).as_deref(), Some("tdm_x"));
        assert_eq!(cookie(&parts, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&parts, "c"), None);
        // A cleared cookie (`name=`) is no cookie; a later non-empty one wins.
        assert_eq!(
            session_cookie(&parts_with_cookies(&["tandem_session="])),
            None
        );
        assert_eq!(
            session_cookie(&parts_with_cookies(&[
                "tandem_session=; tandem_session=tdm_y"
            ]))
            .as_deref(),
            Some("tdm_y")
        );
        // Names match exactly.
        assert_eq!(
            session_cookie(&parts_with_cookies(&["xtandem_session=tdm_z"])),
            None
        );
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("tdm_") && a.len() == 4 + 43);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert_eq!(secret_prefix(&a).len(), 10);
    }
}
