//! Errors raised by domain rules. Each names the field it is about, so the
//! edges (HTTP, CLI) can point the user at exactly what is wrong.

use serde::Serialize;

/// One thing wrong with one field. `field` uses dotted paths with indices,
/// e.g. `success_metrics[0].baseline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks one or more rules; every broken rule is listed.
    #[error("{}", join_messages(.0))]
    Invalid(Vec<FieldError>),
    /// A lifecycle transition that the current state does not allow.
    #[error("cannot {action} a {entity} that is {from}")]
    InvalidTransition {
        entity: &'static str,
        action: &'static str,
        from: String,
    },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// Fields named by this error, in order (empty for transitions).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::Invalid(errors) => errors.iter().map(|e| e.field.as_str()).collect(),
            Self::InvalidTransition { .. } => Vec::new(),
        }
    }
}

fn join_messages(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects field errors and turns them into one `DomainError` at the end.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn check(&mut self, result: Result<(), FieldError>) {
        if let Err(e) = result {
            self.0.push(e);
        }
    }

    pub fn into_result(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}
