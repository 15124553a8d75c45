//! Import rules: what applying a parsed document does to the stored goals
//! (create, update or nothing), decided from the document and the goal as
//! stored; no I/O.
//!
//! Part of [`super`] (see its documentation for the layout and the
//! round-trip rules).

use super::*;

/// What importing a document does to the stored goals.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportPlan {
    /// No goal has the document's id (or it has none): a new draft.
    Create(Goal),
    /// An edit of the stored goal; save it with the stored version as the
    /// read version. `change.version` is set when the goal is under agreement.
    Update(GoalChange),
    /// The document says what the stored goal says.
    Unchanged(Goal),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// The document was exported from another version of the goal than the
    /// stored one.
    #[error(
        "version: the document is version {document}, the stored goal is version {stored}; export it again and re-apply your edit"
    )]
    Stale { document: i32, stored: i32 },
    #[error(transparent)]
    Invalid(#[from] DomainError),
}

/// The team and project a document's keys name, resolved by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub team_id: Uuid,
    pub project_id: Option<Uuid>,
}

/// Decides what importing `doc` does, given the stored goal with the
/// document's id (`None` when there is none).
///
/// - No stored goal: a new draft with the document's id (or `new_id`).
///   Agreement is never imported: a document that says `agreed` still makes
///   a draft, to be agreed in Tandem.
/// - A stored goal: the document's `version` must equal the stored one
///   (otherwise [`ImportError::Stale`], naming `version`); the team, status
///   and sign-off are Tandem's to change and must match; the rest is applied
///   as an edit with [`Goal::apply`], which versions it if the goal is agreed.
pub fn plan_import(
    doc: &GoalDocument,
    stored: Option<&Goal>,
    resolved: Resolved,
    actor: &str,
    now: DateTime<Utc>,
    new_id: Uuid,
) -> Result<ImportPlan, ImportError> {
    let Some(goal) = stored else {
        let goal = NewGoal {
            team_id: resolved.team_id,
            project_id: resolved.project_id,
            title: doc.title.clone(),
            business_goal: doc.business_goal.clone(),
            technical_tasks: doc.technical_tasks.clone(),
            hypotheses: doc.hypotheses.clone(),
            success_metrics: doc.success_metrics.clone(),
            parties: doc.parties.clone(),
            timeline: doc.timeline.clone(),
        }
        .into_goal(doc.id.unwrap_or(new_id), now)?;
        return Ok(ImportPlan::Create(goal));
    };
    if doc.version != goal.version {
        return Err(ImportError::Stale {
            document: doc.version,
            stored: goal.version,
        });
    }
    if resolved.team_id != goal.team_id {
        return Err(DomainError::invalid(
            "team",
            format!(
                "the goal belongs to another team than {:?}; a document cannot move it",
                doc.team
            ),
        )
        .into());
    }
    if doc.status != goal.status {
        return Err(DomainError::invalid(
            "status",
            format!(
                "the document says {}, the stored goal is {}; change the status with agree, start, complete or drop, not in the document",
                doc.status, goal.status
            ),
        )
        .into());
    }
    if doc.agreed_at != goal.agreed_at || doc.agreed_by != goal.agreed_by {
        let field = if doc.agreed_at != goal.agreed_at {
            "agreed_at"
        } else {
            "agreed_by"
        };
        return Err(DomainError::invalid(
            field,
            "is recorded by Tandem when the goal is agreed; keep it as exported",
        )
        .into());
    }
    if goal.project_id.is_some() && resolved.project_id.is_none() {
        return Err(DomainError::invalid(
            "project",
            "a goal's project cannot be removed; keep the project key as exported",
        )
        .into());
    }
    let patch = GoalPatch {
        title: Some(doc.title.clone()),
        project_id: resolved.project_id,
        business_goal: Some(doc.business_goal.clone()),
        technical_tasks: Some(doc.technical_tasks.clone()),
        hypotheses: Some(doc.hypotheses.clone()),
        success_metrics: Some(doc.success_metrics.clone()),
        parties: Some(doc.parties.clone()),
        timeline: Some(doc.timeline.clone()),
    };
    let change = goal.apply(patch, actor, now)?;
    Ok(if change.goal == *goal {
        ImportPlan::Unchanged(change.goal)
    } else {
        ImportPlan::Update(change)
    })
}
