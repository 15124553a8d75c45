//! INSERT statements shared by the create operations and the dump importer,
//! as macros so each expands against either engine's connection.

macro_rules! insert_goal {
    ($conn:expr, $g:expr) => {{
        let g = $g;
        sqlx::query(
            "INSERT INTO goals (id, team_id, project_id, title, business_goal, technical_tasks, hypotheses, \
             success_metrics, parties, timeline, status, version, agreed_at, agreed_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(g.id)
        .bind(g.team_id)
        .bind(g.project_id)
        .bind(&g.title)
        .bind(&g.business_goal)
        .bind(&g.technical_tasks)
        .bind(sqlx::types::Json(&g.hypotheses))
        .bind(sqlx::types::Json(&g.success_metrics))
        .bind(sqlx::types::Json(&g.parties))
        .bind(sqlx::types::Json(&g.timeline))
        .bind(g.status.as_str())
        .bind(g.version)
        .bind(g.agreed_at)
        .bind(&g.agreed_by)
        .bind(g.created_at)
        .bind(g.updated_at)
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("id", || format!("goal {}", g.id)))?;
    }};
}

macro_rules! insert_version {
    ($conn:expr, $v:expr) => {{
        let v = $v;
        sqlx::query(
            "INSERT INTO goal_versions (goal_id, version, changed_at, changed_by, action, changes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(v.goal_id)
        .bind(v.version)
        .bind(v.changed_at)
        .bind(&v.changed_by)
        .bind(&v.action)
        .bind(sqlx::types::Json(&v.changes))
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("version", || {
            format!("version {} of goal {}", v.version, v.goal_id)
        }))?;
    }};
}

macro_rules! insert_stage {
    ($conn:expr, $s:expr) => {{
        let s = $s;
        sqlx::query(
            "INSERT INTO stages (id, goal_id, name, description, position, starts_on, ends_on, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id)
        .bind(s.goal_id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.position)
        .bind(s.starts_on)
        .bind(s.ends_on)
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("id", || format!("stage {}", s.id)))?;
    }};
}

macro_rules! insert_item {
    ($conn:expr, $w:expr) => {{
        let w = $w;
        $crate::engine::bind_work_item(
            sqlx::query($crate::engine::sql(format!(
                "INSERT INTO work_items ({}) {}",
                $crate::engine::ITEM_COLS,
                $crate::engine::ITEM_VALUES
            ))),
            w,
        )
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("external_key", || match &w.external_key {
            Some(k) => format!("a work item from {} with key {:?}", w.source, k),
            None => format!("work item {}", w.id),
        }))?;
    }};
}

macro_rules! insert_risk {
    ($conn:expr, $r:expr) => {{
        let r = $r;
        $crate::engine::bind_risk(
            sqlx::query($crate::engine::sql(format!(
                "INSERT INTO risks ({}) {}",
                $crate::engine::RISK_COLS,
                $crate::engine::RISK_VALUES
            ))),
            r,
        )
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("cause_key", || match &r.cause_key {
            Some(cause) => format!("a risk raised by {cause}"),
            None => format!("risk {}", r.id),
        }))?;
    }};
}

macro_rules! insert_metric {
    ($conn:expr, $m:expr) => {{
        let m = $m;
        sqlx::query(
            "INSERT INTO metrics (id, key, name, description, unit, direction, audience, team_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(m.id)
        .bind(&m.key)
        .bind(&m.name)
        .bind(&m.description)
        .bind(&m.unit)
        .bind(m.direction.as_str())
        .bind(m.audience.as_str())
        .bind(m.team_id)
        .bind(m.created_at)
        .bind(m.updated_at)
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("key", || format!("a metric with key {:?}", m.key)))?;
    }};
}

macro_rules! insert_decision {
    ($conn:expr, $d:expr) => {{
        let d = $d;
        sqlx::query(
            "INSERT INTO decisions (id, team_id, goal_id, title, context, options, decision, consequences, \
             decided_by, decided_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(d.id)
        .bind(d.team_id)
        .bind(d.goal_id)
        .bind(&d.title)
        .bind(&d.context)
        .bind(sqlx::types::Json(&d.options))
        .bind(&d.decision)
        .bind(&d.consequences)
        .bind(&d.decided_by)
        .bind(d.decided_at)
        .bind(d.created_at)
        .bind(d.updated_at)
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("id", || format!("decision {}", d.id)))?;
    }};
}
