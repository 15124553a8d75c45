//! Request extractors that turn every malformed input into an `ApiError`
//! naming what is wrong, instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub use tandem_domain::json_input::{check_storable, check_tree};

use crate::AppState;
use crate::http::error::ApiError;

/// A JSON body. Syntax errors → 400; wrong types, missing or unknown fields,
/// and text the database cannot store (see [`check_storable`]) → 422 naming
/// the field (a dotted path); oversized bodies → 413.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let mime = ct.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
                    || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "expected a JSON body with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(state.settings.server.body_limit_bytes)
            } else {
                ApiError::bad_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON with the path of the failing field. Beyond the type's own
/// rules, every body is refused (422 naming the field) when it has an object
/// with the same key twice (which one would win is not written down
/// anywhere), a number too large for a 64-bit float, a non-zero number that
/// would be stored as 0 or lose its precision (`1e-400`, subnormals), or
/// text the engines cannot store ([`check_storable`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax if message.starts_with("number out of range") => ApiError::invalid(
                if path == "." { "body".to_owned() } else { path },
                "is too large a number (beyond ±1.7976931348623157e308)",
            ),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::bad_request(format!("malformed JSON: {message}"))
            }
            Category::Data => {
                let field = field_of(&path, &message);
                ApiError::invalid(field, strip_position(&message))
            }
        }
    })?;
    // Only whitespace may follow the value.
    de.end()
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    if let Some((field, message)) = check_tree(bytes) {
        let field = if field.is_empty() {
            "body".to_owned()
        } else {
            field
        };
        return Err(ApiError::invalid(field, message));
    }
    Ok(value)
}

/// The field a serde error is about: the path, plus the name in
/// "missing field `x`" / "unknown field `x`" messages (the path of an
/// unknown field already ends with its name; that of a missing one does not).
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name);
    let ends_with = |p: &str, name: &str| p == name || p.ends_with(&format!(".{name}"));
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (p, Some(name)) if ends_with(p, name) => p.to_owned(),
        (p, Some(name))
            if message.starts_with("missing")
                || message.starts_with("unknown")
                || message.starts_with("duplicate") =>
        {
            format!("{p}.{name}")
        }
        (p, _) => p.to_owned(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; unknown, malformed or unstorable parameters → 400
/// naming them.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::bad_request(format!("query string: {e}")))?;
        for (name, value) in &pairs {
            check_storable(name)
                .and_then(|()| check_storable(value))
                .map_err(|e| ApiError::bad_field(name.clone(), format!("{name}: {e}")))?;
        }
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| ApiError::bad_request(format!("query string: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        title: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: i32,
    }

    fn field(body: &str) -> (String, String) {
        match parse_json::<Outer>(body.as_bytes()).unwrap_err() {
            ApiError::Invalid(e) => (e[0].field.clone(), e[0].message.clone()),
            ApiError::BadRequest(m, _) => ("<syntax>".into(), m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_what_the_engines_cannot_store() {
        let field = |body: &str| match parse_json::<Outer>(body.as_bytes()).unwrap_err() {
            ApiError::Invalid(e) => e[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(r#"{"title":"a\u0000b"}"#), "title");
        assert!(
            parse_json::<Outer>(br#"{"title":"a\\u0000b"}"#).is_ok(),
            "an escaped backslash is not NUL"
        );
        assert!(check_storable("-5000-01-01").is_err());
        assert!(check_storable("+10000-01-01T00:00:00Z").is_err());
        assert!(check_storable("9999-12-31T23:00:00-05:00").is_err());
        assert!(check_storable("9999-12-31T23:00:00Z").is_ok());
        assert!(check_storable("2026-01-01").is_ok());
        assert!(check_storable("-5 ms, a title").is_ok());
        let v = serde_json::json!({"a": {"b": [1, "x", {"c": "0000-01-01T00:00:00+01:00"}]}});
        let (path, _) = check_tree(v.to_string().as_bytes()).unwrap();
        assert_eq!(path, "a.b[2].c");
    }

    /// Issue 18, defect 7: what a type does not catch is caught for every
    /// body, naming the field.
    #[test]
    fn repeated_keys_and_numbers_that_cannot_be_stored() {
        let problem = |body: &str| check_tree(body.as_bytes()).map(|(f, _)| f);
        assert_eq!(problem(r#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            problem(r#"{"x": [{"k": 1}, {"k": 1, "k": 2}]}"#).as_deref(),
            Some("x[1].k")
        );
        assert_eq!(
            problem(r#"{"a\u0062": 1, "ab": 2}"#).as_deref(),
            Some("ab"),
            "escaped keys too"
        );
        assert_eq!(
            problem(r#"[{"a": 1}, {"a": 1}]"#),
            None,
            "different objects may share keys"
        );
        assert_eq!(problem(r#"{"v": 1e-400}"#).as_deref(), Some("v"));
        assert_eq!(
            problem(r#"{"p": [1, 2.5, -3e-320]}"#).as_deref(),
            Some("p[2]")
        );
        assert_eq!(
            problem(r#"{"s": "1e-400", "v": 0, "w": 0.0e-999, "x": -0, "y": 2.3e-308}"#),
            None
        );
        assert_eq!(problem(r#"{"s": "a\"1e-400", "n": [true, null, 5]}"#), None);
        let err = parse_json::<Value>(br#"{"points": [{"value": 1e400}]}"#).unwrap_err();
        match err {
            ApiError::Invalid(e) => assert_eq!(e[0].field, "points[0].value"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Outer>(br#"{"title": "a", "title": "b"}"#).unwrap_err() {
            ApiError::Invalid(e) => assert_eq!(e[0].field, "title"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_field() {
        assert_eq!(field("{}").0, "title");
        assert_eq!(field(r#"{"title":"a","extra":1}"#).0, "extra");
        assert_eq!(
            field(r#"{"title":"a","inner":{"n":1,"extra":1}}"#).0,
            "inner.extra"
        );
        assert_eq!(field(r#"{"title":5}"#).0, "title");
        assert_eq!(field(r#"{"title":"a","inner":{"n":"x"}}"#).0, "inner.n");
        assert_eq!(field(r#"{"title":"a","inner":{}}"#).0, "inner.n");
        assert_eq!(field(r#"{"title":"#).0, "<syntax>");
        assert_eq!(field(r#"{"title":"a"} {}"#).0, "<syntax>");
        assert!(parse_json::<Outer>(b" {\"title\":\"a\"}\n ").is_ok());
    }
}
