//! `/api/v1`: JSON resources. Each handler authenticates (`Principal`),
//! authorises (`require`), parses input into domain types, and calls the
//! store. Reads need at least the stakeholder role (work items: member);
//! writes need manager; users and tokens need admin.

pub mod admin;
pub mod checks;
pub mod delivery_metrics;
pub mod documents;
pub mod events;
pub mod focus;
pub mod forecasts;
pub mod frontline;
pub mod goals;
pub mod metrics;
pub mod org;
pub mod planning;
pub mod publish;
pub mod pulse;
pub mod reports;
pub mod requests;
pub mod work;

use serde::{Deserialize, Serialize};
use tandem_store::ListQuery;
use uuid::Uuid;

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use tandem_app::lookup;

/// One page of results; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> From<tandem_store::Page<T>> for Page<T> {
    fn from(p: tandem_store::Page<T>) -> Self {
        Page {
            items: p.items,
            next_cursor: p.next_cursor.map(|c| c.simple().to_string()),
        }
    }
}

/// Paging and filters accepted by list endpoints. Each endpoint documents
/// which filters apply; others are refused with 400.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Team id or key.
    pub team: Option<String>,
    /// Project id or key.
    pub project: Option<String>,
    /// Goal id.
    pub goal: Option<Uuid>,
    /// Stage id.
    pub stage: Option<Uuid>,
    /// Goal status, work item state, or risk status.
    pub status: Option<String>,
    /// Work item kind.
    pub kind: Option<String>,
    /// Metric audience (`team` or `business`).
    pub audience: Option<String>,
}

/// A filter an endpoint accepts, with how to check its value.
#[derive(Debug, Clone, Copy)]
pub enum Filter {
    Team,
    Project,
    Goal,
    Stage,
    Status(fn(&str) -> Result<(), String>),
    Kind(fn(&str) -> Result<(), String>),
    Audience,
}

/// Checks a text value parses as `T`.
pub fn parses<T: std::str::FromStr<Err = String>>(v: &str) -> Result<(), String> {
    v.parse::<T>().map(|_| ())
}

impl ListParams {
    /// Resolves the filters this endpoint allows into a store query.
    pub async fn resolve(self, state: &AppState, allowed: &[Filter]) -> ApiResult<ListQuery> {
        let has = |f: fn(&Filter) -> bool| allowed.iter().any(f);
        let refuse = |name: &str| {
            ApiError::bad_field(name, format!("this list cannot be filtered by {name}"))
        };
        if let Some(limit) = self.limit
            && !(1..=ListQuery::MAX_LIMIT).contains(&limit)
        {
            return Err(ApiError::bad_field(
                "limit",
                format!("limit must be between 1 and {}", ListQuery::MAX_LIMIT),
            ));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                Uuid::try_parse(c).map_err(|_| {
                    ApiError::bad_field("cursor", "the cursor is not one this API issued")
                })
            })
            .transpose()?;
        let mut q = ListQuery {
            after,
            limit: self.limit.unwrap_or(ListQuery::DEFAULT_LIMIT),
            ..ListQuery::default()
        };
        if let Some(team) = self.team {
            if !has(|f| matches!(f, Filter::Team)) {
                return Err(refuse("team"));
            }
            q.team_id = Some(
                lookup::team(&state.store, &team)
                    .await
                    .map(|t| t.id)
                    .map_err(|e| match ApiError::from(e) {
                        ApiError::NotFound(_) => ApiError::bad_field(
                            "team",
                            format!("no team has the id or key {team:?}"),
                        ),
                        other => other,
                    })?,
            );
        }
        if let Some(project) = self.project {
            if !has(|f| matches!(f, Filter::Project)) {
                return Err(refuse("project"));
            }
            q.project_id = Some(
                lookup::project(&state.store, &project)
                    .await
                    .map(|p| p.id)
                    .map_err(|e| match ApiError::from(e) {
                        ApiError::NotFound(_) => ApiError::bad_field(
                            "project",
                            format!("no project has the id or key {project:?}"),
                        ),
                        other => other,
                    })?,
            );
        }
        if let Some(goal) = self.goal {
            if !has(|f| matches!(f, Filter::Goal)) {
                return Err(refuse("goal"));
            }
            q.goal_id = Some(goal);
        }
        if let Some(stage) = self.stage {
            if !has(|f| matches!(f, Filter::Stage)) {
                return Err(refuse("stage"));
            }
            q.stage_id = Some(stage);
        }
        if let Some(status) = self.status {
            let check = allowed.iter().find_map(|f| match f {
                Filter::Status(c) => Some(*c),
                _ => None,
            });
            let check = check.ok_or_else(|| refuse("status"))?;
            check(&status).map_err(|e| ApiError::bad_field("status", e))?;
            q.status = Some(status);
        }
        if let Some(kind) = self.kind {
            let check = allowed.iter().find_map(|f| match f {
                Filter::Kind(c) => Some(*c),
                _ => None,
            });
            let check = check.ok_or_else(|| refuse("kind"))?;
            check(&kind).map_err(|e| ApiError::bad_field("kind", e))?;
            q.kind = Some(kind);
        }
        if let Some(audience) = self.audience {
            if !has(|f| matches!(f, Filter::Audience)) {
                return Err(refuse("audience"));
            }
            parses::<tandem_domain::metric::Audience>(&audience)
                .map_err(|e| ApiError::bad_field("audience", e))?;
            q.audience = Some(audience);
        }
        Ok(q)
    }
}

/// Parses a path id, answering 404 for anything that is not one.
pub fn path_id(entity: &str, raw: &str) -> ApiResult<Uuid> {
    Uuid::try_parse(raw).map_err(|_| ApiError::NotFound(format!("{entity} {raw} was not found")))
}

/// A new id: UUID v7, so ids sort by creation time (cursor pagination relies
/// on this).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
