//! `/setup/…`: setting an organisation up in the browser, for managers and
//! admins — teams and their members, projects with their repositories,
//! services and service scopes, webhook secrets, and KPI series with their
//! points. Every form calls the same `tandem_app` use case as the API and
//! the CLI (`app::org`, `app::kpi`), so a refusal reads the same everywhere.
//!
//! Invariants (beyond the pages' own, see `web`):
//! - Every page and form needs the manager role ([`ManagerViewer`]), checked
//!   before the form is read; generating a webhook secret needs the admin
//!   role, as `PUT /api/v1/projects/{project}/webhook-secrets/{provider}` does.
//! - Post/redirect/get: a form that worked answers 303 to the page with
//!   `?done=<what>`, which shows a fixed success message (never text taken
//!   from the address). A refused form is shown again (4xx) with each error
//!   in words next to its field and what was typed; nothing is stored.
//! - A generated webhook secret is shown once, in the answer to the post
//!   that made it (as `/admin/tokens` does); afterwards only its date.
//!
//! [`ManagerViewer`]: super::ManagerViewer

pub mod focus;
pub mod kpis;
pub mod projects;
pub mod teams;

use axum::http::StatusCode;
use tandem_app::AppError;

use super::PageResult;
use super::admin::FormErrors;
use crate::http::error::ApiError;

/// The success message a `?done=` code stands for (unknown codes show none).
pub fn notice(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
    let code = pairs.iter().find(|(k, _)| k == "done").map(|(_, v)| v)?;
    let text = match code.as_str() {
        "team-created" => "Team created. Next: add its members and its first project.",
        "team-saved" => "Team saved.",
        "member-added" => "Member added.",
        "member-removed" => "Member removed.",
        "project-created" => {
            "Project created. Next: scope its services if they share a repository, and connect a webhook."
        }
        "project-saved" => "Project saved.",
        "scope-saved" => "Service scope saved; the service's deployments are attributed again.",
        "scope-removed" => {
            "Service scope removed; the service's deployments count the whole repository again."
        }
        "series-created" => "KPI series created. Add its first point below.",
        "point-added" => "Point added.",
        "source-set" => "Source saved: the first run is due now; its outcome shows in the table.",
        "source-removed" => "Source removed: the series' points are typed again.",
        "series-bound" => {
            "The series is now computed from the team's delivery data: its card, goals and reports show the DORA panel's figure."
        }
        other => return focus::done_text(other).map(str::to_owned),
    };
    Some(text.to_owned())
}

/// Sorts a refused use case into field errors next to the form's fields
/// (`repositories[2]` is shown at `repositories`, `points[0].value` at
/// `value`); anything that is not about the input becomes the page error it is.
pub fn absorb(errors: &mut FormErrors, e: AppError) -> PageResult<StatusCode> {
    let status = errors.absorb_api(ApiError::from(e))?;
    let fields = std::mem::take(&mut errors.fields);
    for (field, message) in fields {
        let base = field.split('[').next().unwrap_or(&field);
        let last = field.rsplit('.').next().unwrap_or(base);
        let name = if field.contains('.') { last } else { base };
        errors.fields.entry(name.to_owned()).or_insert(message);
    }
    Ok(status)
}

/// The entries of a list field: one per line (commas also separate),
/// trimmed, empty ones dropped.
pub fn entries(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `Some(trimmed)` unless blank.
pub fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_come_from_fixed_codes_only() {
        assert_eq!(
            notice(Some("done=team-saved")).as_deref(),
            Some("Team saved.")
        );
        assert_eq!(
            notice(Some("x=1&done=point-added")).as_deref(),
            Some("Point added.")
        );
        assert_eq!(notice(Some("done=<script>")), None);
        assert_eq!(notice(Some("%%%")), None);
        assert_eq!(notice(None), None);
    }

    #[test]
    fn list_fields_split_on_lines_and_commas() {
        assert_eq!(
            entries(" acme/api \r\n\nacme/web, acme/ops ,"),
            vec!["acme/api", "acme/web", "acme/ops"]
        );
        assert!(entries("  \n ").is_empty());
    }

    #[test]
    fn indexed_fields_are_shown_at_their_field() {
        let mut errors = FormErrors::default();
        let status = absorb(
            &mut errors,
            AppError::Invalid(vec![
                tandem_domain::FieldError::new("repositories[1]", "listed twice"),
                tandem_domain::FieldError::new("points[0].value", "must be a finite number"),
                tandem_domain::FieldError::new("key", "taken"),
            ]),
        )
        .unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // Shown as sentences (`FormErrors::absorb_api`).
        assert_eq!(errors.get("repositories").unwrap(), "Listed twice.");
        assert_eq!(errors.get("value").unwrap(), "Must be a finite number.");
        assert_eq!(errors.get("key").unwrap(), "Taken.");
    }
}
