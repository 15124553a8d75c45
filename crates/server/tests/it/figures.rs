//! One definition per number, across the pages, the API and the weekly
//! report (issue 13): a KPI bound to a delivery metric shows the DORA
//! panel's figure on its card, as its goal's current value and in the
//! report; future weeks are refused; stakeholders read approved reports
//! only; the business sees the decisions asked of it first.

use chrono::{Datelike, Duration, Utc};
use serde_json::Value;
use tandem_store::EngineKind;

use crate::pages::{Browser, csrf_of};
use crate::support::TestApp;

tandem_testkit::per_engine!(
    a_bound_kpi_shows_one_figure_everywhere,
    delivery_figures_come_from_one_cache_that_follows_new_data,
    future_weeks_are_refused_and_drafts_stay_with_the_team,
    decisions_come_first_in_plain_words,
);

const DEMO_PASSWORD: &str = tandem_app::demo::DEMO_PASSWORD;

/// The text of the first `class="value">…<` after `marker` in `html`.
fn value_after(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not on the page"));
    let rest = &html[at..];
    let v = rest.find("class=\"value\">").expect("a value") + "class=\"value\">".len();
    rest[v..][..rest[v..].find('<').unwrap()].trim().to_owned()
}

/// The leading number of "3.17 deploys" / "3.17 a week".
fn leading_number(text: &str) -> f64 {
    text.split_whitespace()
        .next()
        .unwrap()
        .replace(',', "")
        .replace('−', "-")
        .parse()
        .unwrap_or_else(|_| panic!("no number in {text:?}"))
}

fn last_week() -> String {
    let w = (Utc::now().date_naive() - Duration::days(7)).iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

async fn a_bound_kpi_shows_one_figure_everywhere(engine: EngineKind) {
    let app = TestApp::start_full_demo(engine).await;
    let mut b = Browser::new(&app);
    b.sign_in("maria", DEMO_PASSWORD).await;

    // The team page: the KPI card and the DORA panel.
    let team = b.get("/teams/platform").await;
    assert_eq!(team.status, 200, "{}", team.body);
    let card = value_after(&team.body, "id=\"kpi-platform-deploys-per-week\"");
    let dora = value_after(&team.body, "id=\"dora\"");
    assert!(dora.ends_with("a week"), "{dora}");
    let per_week = leading_number(&dora);
    assert!(per_week > 0.0, "the demo's platform team deploys: {dora}");
    // Before binding, the card showed the typed series' last point (4).
    assert_eq!(
        leading_number(&card),
        per_week,
        "card {card:?} vs DORA {dora:?}"
    );
    assert!(team.body.contains("the same figure as the DORA panel"));

    // The API's DORA figure over the same window (this week and the 11
    // before it).
    let today = Utc::now().date_naive();
    let since = tandem_app::kpis::monday(today) - Duration::weeks(11);
    let api = app
        .get(
            &app.member,
            &format!("/api/v1/metrics/dora?team=platform&since={since}&until={today}"),
        )
        .await
        .ok(200)
        .body;
    let api_per_week = api["deployment_frequency"]["per_week"].as_f64().unwrap();
    assert_eq!((api_per_week * 100.0).round() / 100.0, per_week);

    // The goal that measures it: its current value is the same figure.
    let goals = app
        .get(&app.member, "/api/v1/goals?team=platform&limit=500")
        .await
        .ok(200);
    let goal = goals
        .items()
        .iter()
        .find(|g| g["title"].as_str().unwrap().contains("platform deploys"))
        .expect("the demo's deploys goal")
        .clone();
    let page = b
        .get(&format!("/goals/{}", goal["id"].as_str().unwrap()))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("{card} (a week, last 12 weeks)")),
        "the goal's Now is the card's {card}"
    );

    // The weekly report: the KPI's line is the week's deployments, the
    // number in the DORA line of the same report.
    let report = app
        .get(
            &app.manager,
            &format!("/api/v1/teams/platform/reports/weekly?week={}", last_week()),
        )
        .await
        .ok(200)
        .body;
    let lines: Vec<&Value> = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap())
        .collect();
    let text_of = |id: &str| {
        lines
            .iter()
            .find(|l| l["id"] == id)
            .unwrap_or_else(|| panic!("no line {id}"))["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let kpi_line = text_of("metric:platform-deploys-per-week");
    let dora_line = text_of("dora:deployment_frequency");
    let deployments = match dora_line.strip_prefix("Deployments: ") {
        Some(rest) if rest.starts_with("none") => 0.0,
        Some(rest) => leading_number(rest),
        None => panic!("{dora_line}"),
    };
    let kpi = kpi_line
        .strip_prefix("Platform deploys per week: ")
        .map(leading_number)
        .unwrap_or_else(|| panic!("{kpi_line}"));
    assert_eq!(kpi, deployments, "{kpi_line} / {dora_line}");
    // Its trend ends with the same week's value, and no week is invented.
    let trend = report["trends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["line_id"] == "metric:platform-deploys-per-week")
        .expect("a trend of the bound KPI");
    let points = trend["points"].as_array().unwrap();
    assert_eq!(points.last().unwrap()["week"], last_week());
    assert_eq!(points.last().unwrap()["value"].as_f64().unwrap(), kpi);
    assert!(points.len() <= 12);
}

/// The deployments count of the team page's DORA note: "N deployments on …".
fn team_page_deployments(html: &str) -> u64 {
    let at = html.find("id=\"dora\"").expect("the DORA panel");
    let rest = &html[at..];
    let note = rest.find("class=\"target\">").expect("its note") + "class=\"target\">".len();
    let text = &rest[note..][..rest[note..].find('<').unwrap()];
    assert!(text.contains(" deployments on "), "{text}");
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// The count of the explain page's deployments table: "<h2 …>N deployments</h2>".
fn explained_deployments(html: &str) -> u64 {
    let at = html
        .find(" deployments</h2>")
        .unwrap_or_else(|| panic!("no deployments table: {html}"));
    let start = html[..at].rfind('>').unwrap() + 1;
    html[start..at].trim().parse().unwrap()
}

/// The sum of the weekly values of `measure` in a team metrics CSV, and
/// how many weeks it has.
fn csv_sum(csv: &str, measure: &str) -> (f64, usize) {
    let mut sum = 0.0;
    let mut weeks = 0;
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols[1] == measure {
            sum += cols.last().unwrap().parse::<f64>().unwrap();
            weeks += 1;
        }
    }
    (sum, weeks)
}

/// The team page, its explain page and the team's CSV feed show the same
/// deployments from one cached computation (web::figures); a deployment
/// that arrives is on all three at the next request (the cache keys on the
/// stored facts' version), without waiting for the cache to expire.
async fn delivery_figures_come_from_one_cache_that_follows_new_data(engine: EngineKind) {
    let app = TestApp::start_full_demo(engine).await;
    let mut b = Browser::new(&app);
    b.sign_in("maria", DEMO_PASSWORD).await;
    let measure = "platform-deploys-per-week";

    let mut seen = Vec::new();
    for round in 0..2 {
        let team = b.get("/teams/platform").await;
        assert_eq!(team.status, 200, "{}", team.body);
        let on_team_page = team_page_deployments(&team.body);
        let card = leading_number(&value_after(&team.body, &format!("id=\"kpi-{measure}\"")));
        let dora = leading_number(&value_after(&team.body, "id=\"dora\""));
        assert_eq!(card, dora, "the card is the DORA panel's figure");
        let explain = b.get("/teams/platform/explain/deployment-frequency").await;
        assert_eq!(explain.status, 200, "{}", explain.body);
        let explained = explained_deployments(&explain.body);
        let csv = b.get("/api/v1/teams/platform/metrics.csv").await;
        assert_eq!(csv.status, 200, "{}", csv.body);
        let (in_csv, weeks) = csv_sum(&csv.body, measure);
        assert!(weeks > 0 && weeks <= 12, "{weeks} weeks");
        assert_eq!(
            (on_team_page, explained, in_csv),
            (on_team_page, on_team_page, on_team_page as f64),
            "round {round}: team page, explain page and CSV count the same deployments"
        );
        seen.push(on_team_page);
        if round == 0 {
            // A new production deployment of a Platform service, now.
            let projects = app
                .get(&app.member, "/api/v1/projects?team=platform&limit=500")
                .await
                .ok(200);
            let service = projects
                .items()
                .iter()
                .flat_map(|p| p["services"].as_array().cloned().unwrap_or_default())
                .next()
                .expect("a platform service")
                .as_str()
                .unwrap()
                .to_owned();
            let now = Utc::now();
            app.post(
                &app.member,
                "/api/v1/events/deployments",
                serde_json::json!({"id": "pages13-new", "service": service,
                    "environment": "production",
                    "started_at": (now - Duration::minutes(5)).to_rfc3339(),
                    "finished_at": (now - Duration::minutes(1)).to_rfc3339(),
                    "status": "success"}),
            )
            .await
            .ok(200);
        }
    }
    assert_eq!(seen[1], seen[0] + 1, "the new deployment shows at once");
}

async fn future_weeks_are_refused_and_drafts_stay_with_the_team(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let future = {
        let w = (Utc::now().date_naive() + Duration::weeks(14)).iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    };
    // The API, the page and approval all refuse a week that has not begun.
    app.get(
        &app.manager,
        &format!("/api/v1/teams/platform/reports/weekly?week={future}"),
    )
    .await
    .err_field(422, "invalid", "week");
    app.post(
        &app.manager,
        &format!("/api/v1/teams/platform/reports/{future}/approve"),
        serde_json::json!({}),
    )
    .await
    .err_field(422, "invalid", "week");
    let mut maria = Browser::new(&app);
    maria.sign_in("maria", DEMO_PASSWORD).await;
    let page = maria.get(&format!("/reports/platform/{future}")).await;
    assert_eq!(page.status, 422, "{}", page.body);

    // A stakeholder cannot read last week's report until it is approved.
    let week = last_week();
    let path = format!("/reports/payments/{week}");
    let mut lee = Browser::new(&app);
    lee.sign_in("lee", DEMO_PASSWORD).await;
    assert_eq!(lee.get(&path).await.status, 404);
    app.get(
        &app.stakeholder,
        &format!("/api/v1/teams/payments/reports/weekly?week={week}"),
    )
    .await
    .err(404, "not_found");
    app.get(
        &app.stakeholder,
        &format!("/api/v1/teams/payments/reports/{week}/draft"),
    )
    .await
    .err(404, "not_found");

    // The manager's page opens with the update: summary, then asks, then
    // the detail; with no channel configured there is no Send button, and
    // the reason is in plain words.
    let page = maria.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let at = |s: &str| page.body.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(at(">Summary<") < at(">Decisions needed<"));
    assert!(at(">Decisions needed<") < at(">Done<"));
    // The editor sits beside the report, not under it.
    assert!(at("id=\"editor\"") < at("This report as Markdown") + 2000);
    let csrf = csrf_of(&page.body);
    let approved = maria
        .post(&format!("{path}/approve"), &[("csrf", &csrf)])
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let page = maria.get(&path).await;
    assert!(page.body.contains("Status: approved."));
    assert!(
        page.body
            .contains("id=\"send\" disabled aria-describedby=\"send-note\""),
        "Send is disabled without a channel"
    );
    assert!(page.body.contains("id=\"send-note\""));
    assert!(
        page.body
            .contains("no e-mail, Slack or webhook delivery is set up")
    );

    // Approved: now the stakeholder reads it.
    let read = lee.get(&path).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(!read.body.contains("id=\"editor\""));
    app.get(
        &app.stakeholder,
        &format!("/api/v1/teams/payments/reports/weekly?week={week}"),
    )
    .await
    .ok(200);
}

async fn decisions_come_first_in_plain_words(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let mut lee = Browser::new(&app);
    lee.sign_in("lee", DEMO_PASSWORD).await;
    let page = lee.get("/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = &page.body;
    // The asks open the page, before the goals and the KPIs.
    let asks = html.find("Needs your decision").expect("the asks");
    assert!(asks < html.find("Goals in flight").unwrap());
    assert!(html.find("Goals in flight").unwrap() < html.find("Key figures").unwrap());
    assert!(html.contains("href=\"/agenda\""));
    // No statistics jargon or ISO weeks for the business.
    assert!(!html.contains("P85"), "P85 on the overview");
    assert!(html.contains("85 % likely by "));
    assert!(
        !html.contains(">Weekly reports 20"),
        "an ISO week in the words"
    );
    assert!(html.contains("Weekly reports for the week of "));
    // A percentage KPI moves in points.
    assert!(html.contains(" points in "), "a % KPI's change in points");

    // The agenda page: every team's asks, and the decisions taken.
    let agenda = lee.get("/agenda").await;
    assert_eq!(agenda.status, 200, "{}", agenda.body);
    assert!(agenda.body.contains("Decisions taken"));
    for team in ["Payments", "Growth", "Platform"] {
        assert!(agenda.body.contains(&format!(">{team}</h2>")), "{team}");
    }

    // A goal with a blocked item says its forecast assumes it unblocks,
    // next to the figure, on the overview and on the goal page.
    let items = app
        .get(&app.member, "/api/v1/work-items?status=blocked&limit=500")
        .await
        .ok(200);
    let blocked = items
        .items()
        .iter()
        .find(|i| i["goal_id"].is_string())
        .expect("a blocked item of a goal in the demo")
        .clone();
    let goal = blocked["goal_id"].as_str().unwrap();
    let page = lee.get(&format!("/goals/{goal}")).await;
    assert_eq!(page.status, 200);
    let forecast_at = page.body.find("id=\"goal-forecast\"").unwrap();
    let pill = &page.body[forecast_at..][..page.body[forecast_at..].find("</span>").unwrap()];
    assert!(pill.contains("forecast assumes blocked"), "{pill}");
    // Stakeholders get no coaching notes meant for the team.
    assert!(
        !page.body.contains("split it"),
        "a coaching note shown to a stakeholder"
    );
}
