use tandem_domain::risk::{RiskSource, RiskStatus};
use tandem_domain::risk_check::{CheckSettings, ForecastView, forecast_finding, reconcile};
use tandem_store::EngineKind;
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(check_risks_open_once_update_close_with_history);

async fn check_risks_open_once_update_close_with_history(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let g = goal(t.id, None);
    store.create_goal(&g).await.unwrap();
    let manual = risk(t.id);
    store.create_risk(&manual).await.unwrap();

    let view = |p: f64| ForecastView {
        deadline: date(2026, 12, 15),
        remaining: 10,
        on_time_probability: p,
        p85: Some(date(2026, 12, 20)),
        cut_line: 6,
    };
    let settings = CheckSettings::default();
    let finding = forecast_finding(&g, None, &view(0.5), &settings).unwrap();

    // First run opens the risk; running again changes nothing.
    let changes = reconcile(
        std::slice::from_ref(&finding),
        &store.list_check_risks().await.unwrap(),
        &[t.id],
        at(100),
        Uuid::now_v7,
    );
    assert_eq!(store.apply_risk_changes(&changes).await.unwrap(), 1);
    let raised = store.list_check_risks().await.unwrap();
    assert_eq!(raised.len(), 1, "the manual risk is not a check's");
    assert_eq!(raised[0].source, RiskSource::Forecast);
    assert!(raised[0].drafted_update.contains("New realistic ETA"));
    let again = reconcile(
        std::slice::from_ref(&finding),
        &raised,
        &[t.id],
        at(200),
        Uuid::now_v7,
    );
    assert!(again.is_empty());

    // A second replica that opens the same cause concurrently is skipped.
    let duplicate = reconcile(
        std::slice::from_ref(&finding),
        &[],
        &[t.id],
        at(150),
        Uuid::now_v7,
    );
    assert_eq!(store.apply_risk_changes(&duplicate).await.unwrap(), 0);
    assert_eq!(store.list_check_risks().await.unwrap().len(), 1);

    // Worse forecast: updated in place. Cause gone: closed. History kept.
    let worse = forecast_finding(&g, None, &view(0.1), &settings).unwrap();
    let changes = reconcile(&[worse], &raised, &[t.id], at(300), Uuid::now_v7);
    assert_eq!(store.apply_risk_changes(&changes).await.unwrap(), 1);
    let changes = reconcile(
        &[],
        &store.list_check_risks().await.unwrap(),
        &[t.id],
        at(400),
        Uuid::now_v7,
    );
    assert_eq!(store.apply_risk_changes(&changes).await.unwrap(), 1);
    let closed = store.get_risk(raised[0].id).await.unwrap();
    assert_eq!(
        (closed.status, closed.closed_at),
        (RiskStatus::Closed, Some(at(400)))
    );
    let history = store.list_risk_history(closed.id).await.unwrap();
    let notes: Vec<_> = history
        .iter()
        .map(|h| (h.status.as_str(), h.note.as_str()))
        .collect();
    assert_eq!(
        notes,
        vec![
            ("open", "opened by Tandem's checks"),
            ("open", "updated: the finding changed"),
            ("closed", "closed: the cause went away"),
        ]
    );
    assert_eq!(
        store.get_risk(manual.id).await.unwrap(),
        manual,
        "manual risks are untouched"
    );
    assert_eq!(store.team_work_items(t.id).await.unwrap().len(), 0);
}
