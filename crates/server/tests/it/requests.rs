//! Business requests end to end over HTTP on the demo organisation: a
//! stakeholder submits through the API and the web form, the questions
//! block acceptance, a manager sees the cost of yes on the team's real
//! forecasts, two concurrent decisions give one 200 and one 409, the
//! decision is in the decisions log with its cost-of-yes figures, the
//! accepted request is a draft goal, and the requester sees the answer on
//! the request page.

use serde_json::json;
use tandem_testkit::{EngineKindReexport as EngineKind, per_engine};

use crate::pages::{Browser, csrf_of};
use crate::support::TestApp;

per_engine!(
    a_request_is_submitted_weighed_decided_and_answered,
    the_web_form_and_queue_for_people
);

async fn a_request_is_submitted_weighed_decided_and_answered(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let team = app
        .get(&app.member, "/api/v1/teams/payments")
        .await
        .ok(200)
        .body;
    let team_id = team["id"].as_str().unwrap();

    // Bad input: an unknown team is 422 naming the field; nothing stored.
    app.post(
        &app.stakeholder,
        "/api/v1/requests",
        json!({"team_id": uuid::Uuid::now_v7(), "title": "x"}),
    )
    .await
    .err_field(422, "invalid", "team_id");

    let made = app
        .post(
            &app.stakeholder,
            "/api/v1/requests",
            json!({"team_id": team_id, "title": "Export invoices as CSV", "source": "slack",
                   "answers": {"business_goal": "Close the books two days sooner"},
                   "impact": "medium", "complexity": "low"}),
        )
        .await
        .ok(201);
    let r = &made.body;
    let id = r["id"].as_str().unwrap().to_owned();
    // The API records its own source, whatever the body says.
    assert_eq!(r["source"], "api");
    assert_eq!(r["requester"], "token:stakeholder");
    assert_eq!(
        (r["status"].as_str(), r["priority"].as_str()),
        (Some("waiting"), Some("P1"))
    );

    let shown = app
        .get(&app.stakeholder, &format!("/api/v1/requests/{id}"))
        .await
        .ok(200);
    assert_eq!(
        shown.body["unanswered"],
        json!(["success_measure", "deadline", "if_not_done"])
    );
    assert_eq!(shown.body["criticality"]["route"], "next_sync");
    assert!(
        shown.body["criticality"]["rule"]
            .as_str()
            .unwrap()
            .starts_with("matrix: impact medium × complexity low → P1"),
        "{}",
        shown.body
    );
    let notes = shown.body["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["kind"], "received");
    assert!(
        notes[0]["delivered_at"].is_string(),
        "web/API notes show on the page"
    );

    // The queue: members and managers; stakeholders get 403.
    app.get(&app.stakeholder, "/api/v1/requests")
        .await
        .err(403, "forbidden");
    let q = app
        .get(
            &app.member,
            "/api/v1/requests?team=payments&source=api&priority=P1",
        )
        .await
        .ok(200);
    assert_eq!(q.body["target_working_days"], 2.0);
    assert_eq!(q.body["entries"][0]["id"], id.as_str());
    assert_eq!(q.body["entries"][0]["unanswered"], 3);
    let none = app
        .get(&app.member, "/api/v1/requests?source=email")
        .await
        .ok(200);
    assert!(none.body["entries"].as_array().unwrap().is_empty());
    app.get(&app.member, "/api/v1/requests?status=maybe")
        .await
        .err_field(400, "bad_request", "status");
    app.get(&app.member, "/api/v1/requests?team=nope")
        .await
        .err_field(400, "bad_request", "team");

    // Pending requests are on the sync agenda.
    let agenda = app
        .get(&app.member, "/api/v1/agenda?team=payments")
        .await
        .ok(200);
    let pending = agenda.body["pending_requests"].as_array().unwrap();
    assert!(
        pending.iter().any(|r| r["id"] == id.as_str()),
        "{}",
        agenda.body
    );

    // The cost of yes on the team's real forecasts.
    app.get(&app.member, &format!("/api/v1/requests/{id}/cost-of-yes"))
        .await
        .err(403, "forbidden");
    app.get(
        &app.manager,
        &format!("/api/v1/requests/{id}/cost-of-yes?size=0"),
    )
    .await
    .err_field(422, "invalid", "size");
    let cost = app
        .get(
            &app.manager,
            &format!("/api/v1/requests/{id}/cost-of-yes?priority=P0&size=15&size_max=30"),
        )
        .await
        .ok(200);
    let c = &cost.body;
    assert_eq!(
        c["placement"],
        json!({"priority": "P0", "size": 15, "size_max": 30})
    );
    assert_eq!(c["cost"]["outcome"], "ready", "{c}");
    let goals = c["cost"]["goals"].as_array().unwrap();
    assert!(!goals.is_empty(), "the demo team has goals in flight: {c}");
    let later: Vec<_> = goals
        .iter()
        .filter(|g| g["p85_shift_days"].as_i64().unwrap_or(0) > 0)
        .collect();
    assert!(!later.is_empty(), "30 items at P0 move some goal: {c}");
    for g in goals {
        assert!(
            g["after_low"]["p85"].as_str() <= g["after"]["p85"].as_str(),
            "{g}"
        );
        assert!(g["summary"].as_str().unwrap().contains(" → "), "{g}");
    }
    // Reuse, not a copy: the goal's "before" is the team forecast's.
    let gid = goals[0]["key"].as_str().unwrap();
    let f = app
        .get(&app.manager, &format!("/api/v1/goals/{gid}/forecast"))
        .await
        .ok(200);
    assert_eq!(f.body["forecast"]["goal"]["p85"], goals[0]["before"]["p85"]);

    // Accepting needs all four answers; declining needs a reason.
    let refused = app
        .post(
            &app.manager,
            &format!("/api/v1/requests/{id}/decision"),
            json!({"kind": "accept"}),
        )
        .await;
    let fields: Vec<&str> = refused.err(422, "invalid")["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "answers.success_measure",
            "answers.deadline",
            "answers.if_not_done"
        ]
    );
    app.post(
        &app.manager,
        &format!("/api/v1/requests/{id}/decision"),
        json!({"kind": "decline"}),
    )
    .await
    .err_field(422, "invalid", "reason");
    app.post(
        &app.member,
        &format!("/api/v1/requests/{id}/decision"),
        json!({"kind": "decline", "reason": "no"}),
    )
    .await
    .err(403, "forbidden");

    // The requester answers; the version moves.
    let answered = app
        .post(
            &app.stakeholder,
            &format!("/api/v1/requests/{id}/answers"),
            json!({"version": 1, "answers": {"success_measure": "Close in 3 days instead of 5",
                   "deadline": "By 30 June: the audit starts", "if_not_done": "Two people copy invoices by hand"}}),
        )
        .await
        .ok(200);
    assert_eq!(answered.body["version"], 2);
    app.post(
        &app.stakeholder,
        &format!("/api/v1/requests/{id}/answers"),
        json!({"version": 1, "answers": {}}),
    )
    .await
    .err_field(409, "conflict", "version");

    // Two managers decide at once: one wins, the other gets 409.
    let path = format!("/api/v1/requests/{id}/decision");
    let (a, b) = tokio::join!(
        app.post(
            &app.manager,
            &path,
            json!({"kind": "accept", "version": 2, "reason": "Worth it", "priority": "P1", "size": 8}),
        ),
        app.post(
            &app.admin,
            &path,
            json!({"kind": "decline", "version": 2, "reason": "Not now"}),
        ),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let winner = if a.status == 200 { a } else { b };
    let decided = &winner.body;
    let kind = decided["decision"]["kind"].as_str().unwrap().to_owned();
    // A closed request takes no more decisions.
    app.post(&app.manager, &path, json!({"kind": "postpone"}))
        .await
        .err(409, "conflict");

    // The decisions log has the entry, with who, why and the cost of yes.
    let decision_id = decided["decision"]["decision_id"].as_str().unwrap();
    let entry = app
        .get(&app.member, &format!("/api/v1/decisions/{decision_id}"))
        .await
        .ok(200);
    let consequences = entry.body["consequences"].as_str().unwrap();
    assert!(
        consequences.starts_with("Cost of yes at P"),
        "{consequences}"
    );
    assert!(consequences.contains(" on time, P85 "), "{consequences}");
    assert!(
        entry.body["decision"].as_str().unwrap().contains("Why: "),
        "{}",
        entry.body
    );
    let log = app
        .get(&app.member, "/api/v1/decisions?team=payments&limit=500")
        .await
        .ok(200);
    let with_it = log
        .items()
        .iter()
        .filter(|d| {
            d["title"]
                .as_str()
                .unwrap()
                .contains("Export invoices as CSV")
        })
        .count();
    assert_eq!(with_it, 1, "one decision recorded, not two");
    if kind == "accept" {
        let goal_id = decided["decision"]["goal_id"].as_str().unwrap();
        let g = app
            .get(&app.member, &format!("/api/v1/goals/{goal_id}"))
            .await
            .ok(200);
        assert_eq!(g.body["status"], "draft");
        assert_eq!(g.body["parties"]["requester"], "token:stakeholder");
        assert!(
            g.body["business_goal"]
                .as_str()
                .unwrap()
                .contains("If it is not done: Two people")
        );
        assert_eq!(
            g.body["success_metrics"][0]["metric"],
            "Close in 3 days instead of 5"
        );
        assert_eq!(entry.body["goal_id"], goal_id);
    }

    // The week's requests and their outcome are in the weekly report (the
    // manager's draft: stakeholders read a week once it is approved).
    let report = app
        .get(&app.manager, "/api/v1/teams/payments/reports/weekly")
        .await
        .ok(200);
    let line = report.body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap().iter())
        .find(|l| l["id"] == "requests")
        .unwrap_or_else(|| panic!("no requests line: {}", report.body))["text"]
        .clone();
    let outcome = if kind == "accept" {
        "accepted"
    } else {
        "declined"
    };
    assert_eq!(line, format!("Business requests: 1 request: 1 {outcome}"));
    let agenda = app
        .get(&app.member, "/api/v1/agenda?team=payments")
        .await
        .ok(200);
    assert!(
        agenda.body["pending_requests"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The requester is told on the request page.
    let page = app
        .get(&app.stakeholder, &format!("/api/v1/requests/{id}"))
        .await
        .ok(200);
    let notes = page.body["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1]["kind"], "decided");
    assert_eq!(notes[1]["decision"], kind.as_str());
    app.stop().await;
}

async fn the_web_form_and_queue_for_people(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    crate::pages::make_admin(&app).await;
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": "requester-rae", "role": "stakeholder", "password": "a-long-enough-password"}),
    )
    .await
    .ok(201);
    let mut lee = Browser::new(&app);
    lee.sign_in("requester-rae", "a-long-enough-password").await;
    let form = lee.get("/requests/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = csrf_of(&form.body);
    // Without a CSRF token nothing is stored.
    let forged = lee
        .post(
            "/requests",
            &[("team", "payments"), ("title", "x"), ("urgency", "normal")],
        )
        .await;
    assert_eq!(forged.status, 403);
    // An unknown team is shown next to its field.
    let bad = lee
        .post(
            "/requests",
            &[
                ("csrf", &csrf),
                ("team", "nope"),
                ("title", "Faster refunds"),
                ("urgency", "normal"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("There is no team"), "{}", bad.body);
    let made = lee
        .post(
            "/requests",
            &[
                ("csrf", &csrf),
                ("team", "payments"),
                ("title", "Refunds page is down"),
                ("urgency", "outage"),
                ("business_goal", "Customers get their money back"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let at = made.location.clone().unwrap();
    assert!(at.starts_with("/requests/"));
    let page = lee.get(&at).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("page the on-call path now"),
        "{}",
        page.body
    );
    assert!(page.body.contains("3 unanswered"), "{}", page.body);
    assert!(page.body.contains("Request received: Refunds page is down"));
    // A stakeholder sees no decision form and no queue.
    assert!(!page.body.contains("Record the decision"));
    assert_eq!(lee.get("/requests").await.status, 403);

    let mut boss = Browser::new(&app);
    boss.sign_in("root", crate::support::ADMIN_PASSWORD).await;
    let queue = boss.get("/requests?source=web").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(queue.body.contains("Refunds page is down"));
    assert!(queue.body.contains("page now"));
    let empty = boss.get("/requests?source=slack").await;
    assert!(!empty.body.contains("Refunds page is down"));
    let page = boss.get(&format!("{at}?priority=P0&size=5")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Cost of yes at P0 for 5 items"),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page.body);
    let version = "1";
    let postponed = boss
        .post(
            &format!("{at}/decision"),
            &[
                ("csrf", &csrf),
                ("version", version),
                ("kind", "postpone"),
                ("reason", "After the fix ships"),
            ],
        )
        .await;
    assert_eq!(postponed.status, 303, "{}", postponed.body);
    // The same form again, from the same old version: 409, said on the page.
    let again = boss
        .post(
            &format!("{at}/decision"),
            &[
                ("csrf", &csrf),
                ("version", version),
                ("kind", "decline"),
                ("reason", "No"),
            ],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    let seen = lee.get(&at).await;
    assert!(
        seen.body
            .contains("was postponed to the next product sync. Reason: After the fix ships"),
        "{}",
        seen.body
    );
    app.stop().await;
}

/// After a request from any channel was decided (`outcome`: `declined`,
/// `postponed`, …): the decision carries the cost of yes computed on the
/// team's real forecasts, it is in the decisions log, the weekly report's
/// requests line counts it, and the sync agenda lists it when it was
/// postponed to the next sync (and not otherwise). Shared by the Slack and
/// e-mail channel tests (issue 14's "done when").
pub(crate) async fn decided_everywhere(
    store: &tandem_store::Store,
    settings: &tandem_app::Settings,
    request_id: uuid::Uuid,
    outcome: &str,
) {
    use chrono::{Datelike, Utc};
    let r = store.get_request(request_id).await.unwrap();
    let d = r.decision.clone().expect("decided");
    assert!(
        d.cost_of_yes.iter().any(|l| l.contains(" → ")),
        "the cost of yes on the team's forecasts, goal by goal: {:?}",
        d.cost_of_yes
    );
    let entry = store.get_decision(d.decision_id).await.unwrap();
    assert!(entry.title.contains(&r.title), "{entry:?}");
    assert_eq!(entry.consequences, d.cost_of_yes.join("\n"));

    let team = store.get_team(r.team_id).await.unwrap();
    let tz: chrono_tz::Tz = team.timezone.parse().unwrap();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let report =
        tandem_app::report::assemble::weekly_full(store, settings, team.id, today.iso_week())
            .await
            .unwrap();
    let report = serde_json::to_value(&report).unwrap();
    let line = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap().iter())
        .find(|l| l["id"] == "requests")
        .unwrap_or_else(|| panic!("no requests line: {report}"))["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(line.contains(&format!("1 {outcome}")), "{line}");

    let agenda = tandem_app::forecasting::agenda(store, team.id, today, &settings.forecast)
        .await
        .unwrap();
    let listed = agenda.pending_requests.iter().any(|p| p.id == request_id);
    assert_eq!(
        listed,
        outcome == "postponed",
        "on the agenda only when postponed to the next sync"
    );
}
