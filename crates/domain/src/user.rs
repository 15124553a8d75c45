//! Users, roles and what each role may do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::{string_enum, text};

string_enum! {
    /// What a person or token may do. Ordered from least to most powerful.
    Role {
        /// Reads business views: goals, stages, risks, KPIs, decisions, reports.
        Stakeholder => "stakeholder",
        /// Reads everything about their teams' work.
        Member => "member",
        /// Writes team data: goals, items, risks, metrics.
        Manager => "manager",
        /// Manages users, tokens and settings.
        Admin => "admin",
    }
}

impl Role {
    /// True when this role includes everything `needed` may do.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A user to create; the password is hashed by the caller before storage.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub role: Role,
}

impl NewUser {
    pub fn into_user(self, id: Uuid, now: DateTime<Utc>) -> Result<User, DomainError> {
        let mut p = Problems::new();
        p.check(validate_username(&self.username));
        if let Some(name) = &self.display_name {
            p.check(text::required("display_name", name));
        }
        if let Some(email) = &self.email {
            p.check(text::line("email", email, text::SHORT));
            if !email.contains('@') || email.trim() != email {
                p.push("email", format!("{email:?} is not an e-mail address"));
            }
        }
        p.into_result()?;
        Ok(User {
            id,
            display_name: self.display_name.unwrap_or_else(|| self.username.clone()),
            username: self.username,
            email: self.email,
            role: self.role,
            disabled: false,
            created_at: crate::time::micros(now),
        })
    }
}

/// Usernames: 1-64 of lowercase letters, digits, `.`, `_`, `-`.
pub fn validate_username(username: &str) -> Result<(), crate::FieldError> {
    text::key("username", username)
}

/// The minimum length of a password chosen by a person.
pub const MIN_PASSWORD_LEN: usize = 12;

pub fn validate_password(password: &str) -> Result<(), DomainError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(DomainError::invalid(
            "password",
            format!("is {len} characters long; at least {MIN_PASSWORD_LEN} are required"),
        ));
    }
    if len > 1024 {
        return Err(DomainError::invalid(
            "password",
            "is longer than 1024 characters",
        ));
    }
    Ok(())
}

/// An API token as listed: never the secret, only its prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, to recognise it in lists.
    pub prefix: String,
    pub role: Role,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.allows(Role::Manager));
        assert!(Role::Manager.allows(Role::Member));
        assert!(!Role::Stakeholder.allows(Role::Member));
        assert!(!Role::Member.allows(Role::Manager));
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.contains("stakeholder, member, manager, admin"), "{err}");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough password").is_ok());
    }
}
