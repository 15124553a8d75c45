//! INSERT statements shared by the create operations and the dump importer,
//! as macros so each expands against either engine's connection. Columns
//! and bind order come from `engine` (one list per table); each macro adds
//! only the error its unique key turns into.

macro_rules! insert_goal {
    ($conn:expr, $g:expr) => {{
        let g = $g;
        $crate::engine::bind_goal(
            sqlx::query($crate::engine::insert_sql(
                "goals",
                $crate::engine::GOAL_COLS,
            )),
            g,
        )
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("id", || {
            format!("goal {}", g.id)
        }))?;
    }};
}

macro_rules! insert_version {
    ($conn:expr, $v:expr) => {{
        let v = $v;
        $crate::engine::bind_version(
            sqlx::query($crate::engine::insert_sql(
                "goal_versions",
                $crate::engine::VERSION_COLS,
            )),
            v,
        )
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
        $crate::engine::bind_stage(
            sqlx::query($crate::engine::insert_sql(
                "stages",
                $crate::engine::STAGE_COLS,
            )),
            s,
        )
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("id", || {
            format!("stage {}", s.id)
        }))?;
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
        .map_err($crate::StoreError::unique("external_key", || {
            match &w.external_key {
                Some(k) => format!("a work item from {} with key {:?}", w.source, k),
                None => format!("work item {}", w.id),
            }
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
        .map_err($crate::StoreError::unique("cause_key", || {
            match &r.cause_key {
                Some(cause) => format!("a risk raised by {cause}"),
                None => format!("risk {}", r.id),
            }
        }))?;
    }};
}

macro_rules! insert_metric {
    ($conn:expr, $m:expr) => {{
        let m = $m;
        $crate::engine::bind_metric(
            sqlx::query($crate::engine::insert_sql(
                "metrics",
                $crate::engine::METRIC_COLS,
            )),
            m,
        )
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("key", || {
            format!("a metric with key {:?}", m.key)
        }))?;
    }};
}

macro_rules! insert_decision {
    ($conn:expr, $d:expr) => {{
        let d = $d;
        $crate::engine::bind_decision(
            sqlx::query($crate::engine::insert_sql(
                "decisions",
                $crate::engine::DECISION_COLS,
            )),
            d,
        )
        .execute($conn)
        .await
        .map_err($crate::StoreError::unique("id", || {
            format!("decision {}", d.id)
        }))?;
    }};
}
