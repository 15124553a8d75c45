//! The application's error: what went wrong in a use case, in words the
//! callers decide on (the scheduler retries on `Conflict`, the CLI prints the
//! message). No HTTP here: the server maps each variant to a status and a JSON
//! body in one place (`tandem_server::http::error`, `impl From<AppError> for ApiError`).
//!
//! Rules: store and domain errors convert with `?` (`From<StoreError>`,
//! `From<DomainError>`) the same way the API always mapped them; anything
//! else unexpected is `Unexpected` (an `anyhow::Error`, logged by the caller).

use tandem_domain::{DomainError, FieldError};
use tandem_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A request parameter (a query part, a path segment) that does not
    /// parse or names nothing: the caller's input, before any rule ran.
    #[error("{message}")]
    BadInput {
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<String>,
    },
    /// Input that parses but breaks a rule; every broken rule is listed.
    #[error("{}", .0.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A bad request parameter, naming it.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// One broken rule on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// A conflict with the current state, optionally naming the field.
    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            field: field.map(str::to_owned),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => AppError::Invalid(errors),
            DomainError::InvalidTransition { .. } => AppError::Conflict {
                message: e.to_string(),
                field: Some("status".into()),
            },
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => AppError::NotFound(e.to_string()),
            StoreError::Conflict { field, message } => AppError::Conflict {
                message,
                field: Some(field),
            },
            StoreError::Stale(message) => AppError::Conflict {
                message,
                field: None,
            },
            StoreError::MissingReference { field, message } => {
                AppError::Invalid(vec![FieldError::new(field, message)])
            }
            StoreError::Domain(d) => d.into(),
            other => AppError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Unexpected(e.into())
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Unexpected(e.into())
    }
}
