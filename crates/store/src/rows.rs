//! Row shapes as both engines return them, and their conversion to domain
//! types. Enumerations are stored as their text form; a value the domain does
//! not know is reported as corrupt data rather than guessed.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;
use sqlx::types::Json;
use tandem_domain::decision::Decision;
use tandem_domain::goal::{FieldChange, Goal, GoalVersion, Parties, SuccessMetric, Timeline};
use tandem_domain::metric::{Metric, MetricPoint};
use tandem_domain::project::Project;
use tandem_domain::risk::Risk;
use tandem_domain::stage::Stage;
use tandem_domain::team::Team;
use tandem_domain::user::{ApiToken, User};
use tandem_domain::work_item::{Scores, WorkContext, WorkItem};
use uuid::Uuid;

use crate::StoreError;

fn parse<T: std::str::FromStr<Err = String>>(column: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn parse_opt<T: std::str::FromStr<Err = String>>(
    column: &str,
    value: Option<&str>,
) -> Result<Option<T>, StoreError> {
    value.map(|v| parse(column, v)).transpose()
}

#[derive(FromRow)]
pub(crate) struct TeamRow {
    id: Uuid,
    key: String,
    name: String,
    timezone: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Self {
        Team {
            id: r.id,
            key: r.key,
            name: r.name,
            timezone: r.timezone,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    username: String,
    display_name: String,
    email: Option<String>,
    role: String,
    disabled: bool,
    created_at: DateTime<Utc>,
    pub(crate) password_hash: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            email: r.email,
            role: parse("users.role", &r.role)?,
            disabled: r.disabled,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct TokenRow {
    id: Uuid,
    name: String,
    prefix: String,
    role: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    pub(crate) token_hash: String,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(ApiToken {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            role: parse("api_tokens.role", &r.role)?,
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ProjectRow {
    id: Uuid,
    team_id: Uuid,
    key: String,
    name: String,
    repositories: Json<Vec<String>>,
    services: Json<Vec<String>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            team_id: r.team_id,
            key: r.key,
            name: r.name,
            repositories: r.repositories.0,
            services: r.services.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct GoalRow {
    id: Uuid,
    team_id: Uuid,
    project_id: Option<Uuid>,
    title: String,
    business_goal: String,
    technical_tasks: String,
    hypotheses: Json<Vec<String>>,
    success_metrics: Json<Vec<SuccessMetric>>,
    parties: Json<Parties>,
    timeline: Json<Timeline>,
    status: String,
    version: i32,
    agreed_at: Option<DateTime<Utc>>,
    agreed_by: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<GoalRow> for Goal {
    type Error = StoreError;
    fn try_from(r: GoalRow) -> Result<Self, StoreError> {
        Ok(Goal {
            id: r.id,
            team_id: r.team_id,
            project_id: r.project_id,
            title: r.title,
            business_goal: r.business_goal,
            technical_tasks: r.technical_tasks,
            hypotheses: r.hypotheses.0,
            success_metrics: r.success_metrics.0,
            parties: r.parties.0,
            timeline: r.timeline.0,
            status: parse("goals.status", &r.status)?,
            version: r.version,
            agreed_at: r.agreed_at,
            agreed_by: r.agreed_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct GoalVersionRow {
    goal_id: Uuid,
    version: i32,
    changed_at: DateTime<Utc>,
    changed_by: String,
    action: String,
    changes: Json<Vec<FieldChange>>,
}

impl From<GoalVersionRow> for GoalVersion {
    fn from(r: GoalVersionRow) -> Self {
        GoalVersion {
            goal_id: r.goal_id,
            version: r.version,
            changed_at: r.changed_at,
            changed_by: r.changed_by,
            action: r.action,
            changes: r.changes.0,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct StageRow {
    id: Uuid,
    goal_id: Uuid,
    name: String,
    description: String,
    position: i32,
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<StageRow> for Stage {
    fn from(r: StageRow) -> Self {
        Stage {
            id: r.id,
            goal_id: r.goal_id,
            name: r.name,
            description: r.description,
            position: r.position,
            starts_on: r.starts_on,
            ends_on: r.ends_on,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct WorkItemRow {
    id: Uuid,
    team_id: Uuid,
    project_id: Option<Uuid>,
    goal_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    title: String,
    kind: String,
    priority: String,
    impact: Option<String>,
    complexity: Option<String>,
    state: String,
    context: Json<WorkContext>,
    scores: Option<Json<Scores>>,
    external_key: Option<String>,
    source: String,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<WorkItemRow> for WorkItem {
    type Error = StoreError;
    fn try_from(r: WorkItemRow) -> Result<Self, StoreError> {
        Ok(WorkItem {
            id: r.id,
            team_id: r.team_id,
            project_id: r.project_id,
            goal_id: r.goal_id,
            stage_id: r.stage_id,
            title: r.title,
            kind: parse("work_items.kind", &r.kind)?,
            priority: parse("work_items.priority", &r.priority)?,
            impact: parse_opt("work_items.impact", r.impact.as_deref())?,
            complexity: parse_opt("work_items.complexity", r.complexity.as_deref())?,
            state: parse("work_items.state", &r.state)?,
            context: r.context.0,
            scores: r.scores.map(|s| s.0).unwrap_or_default(),
            external_key: r.external_key,
            source: r.source,
            created_at: r.created_at,
            started_at: r.started_at,
            done_at: r.done_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct RiskRow {
    id: Uuid,
    team_id: Uuid,
    goal_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    title: String,
    description: String,
    likelihood: String,
    impact: String,
    plan: String,
    owner: Option<String>,
    schedule_impact_days: i32,
    status: String,
    source: String,
    cause_key: Option<String>,
    drafted_update: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl TryFrom<RiskRow> for Risk {
    type Error = StoreError;
    fn try_from(r: RiskRow) -> Result<Self, StoreError> {
        Ok(Risk {
            id: r.id,
            team_id: r.team_id,
            goal_id: r.goal_id,
            stage_id: r.stage_id,
            title: r.title,
            description: r.description,
            likelihood: parse("risks.likelihood", &r.likelihood)?,
            impact: parse("risks.impact", &r.impact)?,
            plan: r.plan,
            owner: r.owner,
            schedule_impact_days: r.schedule_impact_days,
            status: parse("risks.status", &r.status)?,
            source: parse("risks.source", &r.source)?,
            cause_key: r.cause_key,
            drafted_update: r.drafted_update,
            created_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MetricRow {
    id: Uuid,
    key: String,
    name: String,
    description: String,
    unit: String,
    direction: String,
    audience: String,
    team_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    computed_from: Option<String>,
}

impl TryFrom<MetricRow> for Metric {
    type Error = StoreError;
    fn try_from(r: MetricRow) -> Result<Self, StoreError> {
        Ok(Metric {
            id: r.id,
            key: r.key,
            name: r.name,
            description: r.description,
            unit: r.unit,
            direction: parse("metrics.direction", &r.direction)?,
            audience: parse("metrics.audience", &r.audience)?,
            team_id: r.team_id,
            computed_from: r
                .computed_from
                .map(|c| parse("metrics.computed_from", &c))
                .transpose()?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PointRow {
    metric_id: Uuid,
    at: DateTime<Utc>,
    value: f64,
}

impl From<PointRow> for MetricPoint {
    fn from(r: PointRow) -> Self {
        MetricPoint {
            metric_id: r.metric_id,
            at: r.at,
            value: r.value,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct DecisionRow {
    id: Uuid,
    team_id: Uuid,
    goal_id: Option<Uuid>,
    title: String,
    context: String,
    options: Json<Vec<String>>,
    decision: String,
    consequences: String,
    decided_by: Option<String>,
    decided_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<DecisionRow> for Decision {
    fn from(r: DecisionRow) -> Self {
        Decision {
            id: r.id,
            team_id: r.team_id,
            goal_id: r.goal_id,
            title: r.title,
            context: r.context,
            options: r.options.0,
            decision: r.decision,
            consequences: r.consequences,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Collects converted rows, failing on the first corrupt one.
pub(crate) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
