//! INSERT statements shared by the create operations and the dump importer:
//! one generic function per table, over either engine's transaction. Columns
//! and bind order come from `engine` (one list per table); each function
//! adds only the error its unique key turns into.

use sqlx::Transaction;
use tandem_domain::decision::Decision;
use tandem_domain::goal::{Goal, GoalVersion};
use tandem_domain::metric::Metric;
use tandem_domain::risk::Risk;
use tandem_domain::stage::Stage;
use tandem_domain::work_item::WorkItem;

use crate::engine::{
    DECISION_COLS, Db, GOAL_COLS, ITEM_COLS, METRIC_COLS, RISK_COLS, STAGE_COLS, VERSION_COLS,
    insert_sql,
};
use crate::{Result, StoreError};

pub(crate) async fn insert_goal<D: Db>(tx: &mut Transaction<'_, D>, g: &Goal) -> Result<()> {
    let q = D::bind_goal(sqlx::query(insert_sql("goals", GOAL_COLS)), g);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("id", || format!("goal {}", g.id)))?;
    Ok(())
}

pub(crate) async fn insert_version<D: Db>(
    tx: &mut Transaction<'_, D>,
    v: &GoalVersion,
) -> Result<()> {
    let q = D::bind_version(sqlx::query(insert_sql("goal_versions", VERSION_COLS)), v);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("version", || {
            format!("version {} of goal {}", v.version, v.goal_id)
        }))?;
    Ok(())
}

pub(crate) async fn insert_stage<D: Db>(tx: &mut Transaction<'_, D>, s: &Stage) -> Result<()> {
    let q = D::bind_stage(sqlx::query(insert_sql("stages", STAGE_COLS)), s);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("id", || format!("stage {}", s.id)))?;
    Ok(())
}

pub(crate) async fn insert_item<D: Db>(tx: &mut Transaction<'_, D>, w: &WorkItem) -> Result<()> {
    let q = D::bind_work_item(sqlx::query(insert_sql("work_items", ITEM_COLS)), w);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("external_key", || {
            match &w.external_key {
                Some(k) => format!("a work item from {} with key {:?}", w.source, k),
                None => format!("work item {}", w.id),
            }
        }))?;
    Ok(())
}

pub(crate) async fn insert_risk<D: Db>(tx: &mut Transaction<'_, D>, r: &Risk) -> Result<()> {
    let q = D::bind_risk(sqlx::query(insert_sql("risks", RISK_COLS)), r);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("cause_key", || match &r.cause_key {
            Some(cause) => format!("a risk raised by {cause}"),
            None => format!("risk {}", r.id),
        }))?;
    Ok(())
}

pub(crate) async fn insert_metric<D: Db>(tx: &mut Transaction<'_, D>, m: &Metric) -> Result<()> {
    let q = D::bind_metric(sqlx::query(insert_sql("metrics", METRIC_COLS)), m);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("key", || {
            format!("a metric with key {:?}", m.key)
        }))?;
    Ok(())
}

pub(crate) async fn insert_decision<D: Db>(
    tx: &mut Transaction<'_, D>,
    d: &Decision,
) -> Result<()> {
    let q = D::bind_decision(sqlx::query(insert_sql("decisions", DECISION_COLS)), d);
    D::execute(&mut **tx, q)
        .await
        .map_err(StoreError::unique("id", || format!("decision {}", d.id)))?;
    Ok(())
}
