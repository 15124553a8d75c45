//! The one place where errors become HTTP statuses and JSON bodies:
//! `{"error": {"code": …, "message": …, "field": …}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tandem_app::AppError;
use tandem_domain::{DomainError, FieldError};
use tandem_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String, Option<String>),
    #[error("authentication required: {0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("this path does not accept that method; the Allow header lists those it does")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<String>,
    },
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The server cannot take the request now; try again after
    /// `retry_after` seconds (503 with `Retry-After`).
    #[error("{message}")]
    Busy { message: String, retry_after: u64 },
    /// Too many attempts; try again after `retry_after` seconds (429 with
    /// `Retry-After`).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// Input that parses but breaks a rule; every broken rule is listed.
    #[error("{}", .0.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `method_not_allowed`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `invalid`, `too_many_requests`,
    /// `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The input field at fault, as a dotted path, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every broken rule, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into(), None)
    }

    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest(message.into(), Some(field.into()))
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => ApiError::Invalid(errors),
            DomainError::InvalidTransition { .. } => ApiError::Conflict {
                message: e.to_string(),
                field: Some("status".into()),
            },
        }
    }
}

/// The one mapping from the application's errors to HTTP: a bad parameter
/// is 400 naming it, a missing thing 404, a conflict 409, a broken rule 422.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::BadInput { message, field } => ApiError::BadRequest(message, field),
            AppError::NotFound(message) => ApiError::NotFound(message),
            AppError::Conflict { message, field } => ApiError::Conflict { message, field },
            AppError::Invalid(errors) => ApiError::Invalid(errors),
            AppError::Forbidden(message) => ApiError::Forbidden(message),
            AppError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Conflict { field, message } => ApiError::Conflict {
                message,
                field: Some(field),
            },
            StoreError::Stale(message) => ApiError::Conflict {
                message,
                field: None,
            },
            StoreError::MissingReference { field, message } => {
                ApiError::Invalid(vec![FieldError::new(field, message)])
            }
            StoreError::Domain(d) => d.into(),
            other => ApiError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::BadRequest(..) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Unexpected(e) if is_outage(e) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::Unexpected(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let (field, details) = match &self {
            ApiError::BadRequest(_, field) => (field.clone(), Vec::new()),
            ApiError::Conflict { field, .. } => (field.clone(), Vec::new()),
            ApiError::Invalid(errors) => (
                errors.first().map(|e| e.field.clone()),
                if errors.len() > 1 {
                    errors.clone()
                } else {
                    Vec::new()
                },
            ),
            _ => (None, Vec::new()),
        };
        let message = match &self {
            ApiError::Unexpected(e) if status == StatusCode::SERVICE_UNAVAILABLE => {
                match storage_problem(e) {
                    // Does not pass by itself: an operator must act.
                    Some(problem) => {
                        tracing::error!(error = %e, "{problem}: nothing was written");
                        format!("{problem}: nothing was written; try again later")
                    }
                    None => {
                        tracing::warn!(error = %e, "the database is unavailable");
                        "the database is unavailable; try again shortly".to_owned()
                    }
                }
            }
            ApiError::Unexpected(e) => {
                tracing::error!(error = ?e, "request failed");
                "internal error; the server log has the details".to_owned()
            }
            ApiError::Invalid(errors) if errors.len() > 1 => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error: ErrorDetail {
                    code,
                    message,
                    field,
                    details,
                },
            }),
        )
            .into_response();
        if matches!(self, ApiError::Unexpected(_)) && status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        if let ApiError::Busy { retry_after, .. } | ApiError::TooManyRequests { retry_after, .. } =
            &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"tandem\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Whether an unexpected error is the database being away
/// ([`StoreError::is_outage`]) anywhere in its chain: such a request gets
/// 503 with `Retry-After`, not 500, whichever use case it went through.
fn is_outage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_outage)
    })
}

/// What an operator must fix when the database's storage refuses writes
/// ([`StoreError::storage_problem`]) anywhere in the chain.
fn storage_problem(e: &anyhow::Error) -> Option<&'static str> {
    e.chain().find_map(|c| {
        c.downcast_ref::<StoreError>()
            .and_then(StoreError::storage_problem)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18: a request during a database outage is answered 503 with
    /// `Retry-After`, through the store or through a use case.
    #[test]
    fn a_database_outage_is_503_not_500() {
        let outages = [
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Unreachable("PostgreSQL: connection refused".into()),
            StoreError::Database(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())),
        ];
        for e in outages {
            let via_app: ApiError =
                tandem_app::AppError::from(StoreError::Unreachable(e.to_string())).into();
            for err in [ApiError::from(e), via_app] {
                let response = err.into_response();
                assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(response.headers()["retry-after"], "5");
            }
        }
        let bug = ApiError::from(StoreError::Corrupt("x".into())).into_response();
        assert_eq!(bug.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
