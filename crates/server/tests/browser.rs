//! End-to-end tests of the web pages in a real browser: Debian's headless
//! Chromium driven through WebDriver (`/usr/bin/chromedriver`, started by
//! the test on a free port and stopped at the end) against the real server
//! over the demo organisation, and from an empty database through the
//! set-up pages to a team's DORA numbers.
//!
//! `scripts/test.sh` installs `chromium` and `chromium-driver` when they are
//! missing. Without them this test fails with instructions (it never skips).
//! Screenshots of every page go to `target/screenshots/` (not committed).
//!
//! The browser runs against SQLite only: the pages' store calls run on both
//! engines in `tests/it/pages.rs`, and a second browser run would double the
//! slowest test of the suite without covering anything new.

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Datelike;
use serde_json::json;
use support::{ADMIN_PASSWORD, TestApp};
use tandem_store::EngineKind;
use tandem_testkit::smtp::smtp_sink;
use thirtyfour::prelude::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const DEMO_PASSWORD: &str = tandem_app::demo::DEMO_PASSWORD;

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_chromedriver() -> Driver {
    for program in [CHROMEDRIVER, CHROMIUM] {
        assert!(
            std::path::Path::new(program).exists(),
            "{program} is missing: the browser tests need Debian's chromium and chromium-driver \
             (scripts/test.sh installs them; or apt-get install chromium chromium-driver)"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().expect("a profile directory"),
    };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port} within 10 s");
}

async fn browser(driver: &Driver) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1366,768",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!(
        "--user-data-dir={}",
        driver._profile.path().display()
    ))
    .unwrap();
    WebDriver::new(&driver.url, caps)
        .await
        .expect("start a Chromium session")
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

async fn shot(web: &WebDriver, name: &str) {
    web.screenshot(&screenshots().join(format!("{name}.png")))
        .await
        .expect("save a screenshot");
}

/// axe-core's script (`scripts/test.sh` fetches it into `target/axe/`).
fn axe_source() -> String {
    let path = std::env::var_os("TANDEM_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/axe/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the browser tests need axe-core's axe.min.js (scripts/test.sh fetches it with npm, or set TANDEM_AXE_JS)",
            path.display()
        )
    })
}

/// Runs axe-core (WCAG 2 A and AA rules, colour contrast included) on the
/// current page and fails on any violation, naming the rule and the nodes.
/// Frames are checked as pages of their own (the report's e-mail preview
/// is opened and checked by itself), not from their parent.
async fn axe(web: &WebDriver, name: &str) {
    web.execute(&axe_source(), vec![])
        .await
        .expect("load axe-core");
    let found = web
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {iframes: false, runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}}) \
               .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' — ' \
                 + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))) \
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    let violations: Vec<String> = found.convert().expect("a list of violations");
    assert!(
        violations.is_empty(),
        "{name}: axe violations: {violations:#?}"
    );
}

/// At 358 px (a small phone): nothing reaches past the right edge, no
/// text is cut with an ellipsis, page text is at least 11 px and chart
/// labels are drawn at least 9 px high.
async fn phone_check(web: &WebDriver, name: &str) {
    web.set_window_rect(0, 0, 358, 800)
        .await
        .expect("resize the window");
    let problems: Vec<String> = web
        .execute(
            "const w = document.documentElement.clientWidth; const out = []; \
             for (const e of document.querySelectorAll('main *')) { \
               const r = e.getBoundingClientRect(); const cs = getComputedStyle(e); \
               if (r.width === 0 || cs.visibility === 'hidden' || e.closest('.visually-hidden') || e.closest('svg')) continue; \
               if (r.right > w + 1 && !e.closest('.table-wrap')) out.push('wider than the screen: ' + e.tagName + '.' + e.className); \
               if (cs.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1) out.push('cut: ' + e.tagName + ' ' + e.textContent.trim().slice(0, 40)); \
               if (e.closest('.table-wrap') && e.tagName === 'TD' && r.right > w + 1) out.push('column off screen: ' + e.textContent.trim().slice(0, 40)); \
               const t = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()); \
               if (t && parseFloat(cs.fontSize) < 11) out.push('tiny text: ' + e.tagName + ' ' + cs.fontSize); \
             } \
             for (const t of document.querySelectorAll('main svg text')) { \
               const h = t.getBoundingClientRect().height; \
               if (h > 0 && h < 9) out.push('chart label ' + Math.round(h) + ' px high: ' + t.textContent.slice(0, 30)); \
             } \
             return out.slice(0, 10);",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    shot(web, &format!("{name}-358")).await;
    web.set_window_rect(0, 0, 1366, 768)
        .await
        .expect("resize the window");
    assert!(problems.is_empty(), "{name} at 358 px: {problems:#?}");
}

async fn by_id(web: &WebDriver, id: &str) -> WebElement {
    web.query(By::Id(id))
        .first()
        .await
        .unwrap_or_else(|e| panic!("no element #{id}: {e}"))
}

async fn text_of(web: &WebDriver) -> String {
    web.find(By::Tag("body"))
        .await
        .expect("a body")
        .text()
        .await
        .expect("its text")
}

async fn sign_in(web: &WebDriver, base: &str, username: &str, password: &str) {
    web.goto(format!("{base}/sign-in")).await.unwrap();
    let user = by_id(web, "username").await;
    user.clear().await.unwrap();
    user.send_keys(username).await.unwrap();
    by_id(web, "password")
        .await
        .send_keys(password)
        .await
        .unwrap();
    web.find(By::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(web, "a page after signing in", |p| p != "/sign-in").await;
}

/// Waits (up to 10 s) until the browser is on a page whose path satisfies
/// `ok`: clicks navigate asynchronously.
async fn wait_for_path(web: &WebDriver, what: &str, ok: impl Fn(&str) -> bool) {
    for _ in 0..100 {
        let url = web.current_url().await.unwrap();
        if ok(url.path()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = web.current_url().await.unwrap();
    panic!("the browser did not get to {what}; it is at {url}");
}

async fn sign_out(web: &WebDriver) {
    web.find(By::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    by_id(web, "username").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_in_a_real_browser() {
    let app = TestApp::start_full_demo(EngineKind::Sqlite).await;
    // The demo has no admin user; make one for the administration pages.
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": "root", "role": "admin", "password": ADMIN_PASSWORD}),
    )
    .await
    .ok(201);
    fill_overview(&app).await;
    let item = app
        .get(&app.member, "/api/v1/work-items?team=payments&limit=1")
        .await
        .ok(200);
    let item = item.items()[0]["id"].as_str().unwrap().to_owned();
    let driver = start_chromedriver().await;
    let web = browser(&driver).await;
    // The scenarios run in their own task so that a failure still lets the
    // browser, the driver and the server stop.
    let outcome = tokio::spawn(run(app.base.clone(), web.clone(), item)).await;
    web.quit().await.expect("quit the browser");
    drop(driver);
    app.stop().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the scenarios did not finish: {e}"),
        }
    }
}

/// Tops the demo up to the most the overview promises to fit on one
/// screen: 8 business KPIs and 10 goals in flight, with long names.
async fn fill_overview(app: &TestApp) {
    let metrics = app
        .get(
            &app.stakeholder,
            "/api/v1/metrics?audience=business&limit=500",
        )
        .await
        .ok(200);
    let today = chrono::Utc::now();
    for i in metrics.items().len()..8 {
        let key = format!("extra-kpi-{i}");
        app.post(
            &app.manager,
            "/api/v1/metrics",
            json!({"key": key, "name": format!("Extra business figure number {i} with a long name"),
                   "unit": "%", "direction": "up", "audience": "business"}),
        )
        .await
        .ok(201);
        let points: Vec<_> = (0..84)
            .map(|d| {
                json!({"at": (today - chrono::Duration::days(d)).to_rfc3339(),
                       "value": 40.0 + (d as f64 * 0.37).sin() * 5.0})
            })
            .collect();
        app.post(
            &app.manager,
            &format!("/api/v1/metrics/{key}/points"),
            json!({ "points": points }),
        )
        .await
        .ok(200);
    }
    let in_flight = |status: &'static str| async move {
        app.get(
            &app.stakeholder,
            &format!("/api/v1/goals?status={status}&limit=500"),
        )
        .await
        .ok(200)
        .items()
        .len()
    };
    let have = in_flight("in_progress").await + in_flight("agreed").await;
    let team = app
        .get(&app.member, "/api/v1/teams/growth")
        .await
        .ok(200)
        .body;
    for i in have..10 {
        let goal = app
            .create(
                "/api/v1/goals",
                json!({"team_id": team["id"], "title": format!("An extra goal number {i} whose title is long enough to need more than one line"),
                       "business_goal": "More of what the business asked for"}),
            )
            .await;
        let id = goal["id"].as_str().unwrap().to_owned();
        app.patch(
            &app.manager,
            &format!("/api/v1/goals/{id}"),
            json!({
                "parties": {"owner": "Priya"},
                "success_metrics": [{"metric": "Conversion", "metric_key": "checkout-conversion",
                    "baseline": 2.0, "target": 2.6, "unit": "%", "deadline": "2030-01-01"}],
                "timeline": {"deadline": "2030-01-01"}
            }),
        )
        .await
        .ok(200);
        app.post(
            &app.manager,
            &format!("/api/v1/goals/{id}/agree"),
            json!({}),
        )
        .await
        .ok(200);
    }
}

async fn run(base: String, web: WebDriver, item: String) {
    let base = base.as_str();
    let web = &web;

    // A stranger is sent to sign in; a bad password shows the error and
    // keeps the username.
    web.goto(format!("{base}/")).await.unwrap();
    let url = web.current_url().await.unwrap();
    assert_eq!(url.path(), "/sign-in");
    assert_eq!(url.query(), Some("next=%2F"));
    by_id(web, "username")
        .await
        .send_keys("maria")
        .await
        .unwrap();
    by_id(web, "password")
        .await
        .send_keys("not-her-password")
        .await
        .unwrap();
    web.find(By::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = by_id(web, "form-error").await;
    assert_eq!(error.text().await.unwrap(), "Wrong username or password.");
    assert_eq!(
        by_id(web, "username")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("maria")
    );
    assert_eq!(
        by_id(web, "password")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    shot(web, "sign-in-error").await;

    // A stakeholder signs in and sees the business overview of the demo on
    // one 1366×768 screen.
    sign_in(web, base, "lee", DEMO_PASSWORD).await;
    web.query(By::Css("h1")).first().await.unwrap();
    assert_eq!(web.current_url().await.unwrap().path(), "/");
    assert_eq!(
        web.find(By::Css("h1")).await.unwrap().text().await.unwrap(),
        "Business overview"
    );
    let kpis = web.find_all(By::Css("li.kpi")).await.unwrap();
    assert_eq!(kpis.len(), 8, "KPIs on the overview");
    let charts = web.find_all(By::Css("li.kpi svg")).await.unwrap();
    assert_eq!(charts.len(), kpis.len(), "a trend chart per KPI");
    let goals = web
        .find_all(By::Css("table.goals-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(goals.len(), 10, "goals on the overview");
    let forecasts = web
        .find_all(By::Css("table.goals-table .pill"))
        .await
        .unwrap();
    assert_eq!(forecasts.len(), goals.len());
    // Decisions first: the asks and the goals start on the first screen
    // at 1366×768, with nothing to scroll sideways.
    let layout: Vec<f64> = web
        .execute(
            "return [document.getElementById('asks-h').getBoundingClientRect().top, \
                     document.getElementById('goals-h').getBoundingClientRect().top, \
                     window.innerHeight, \
                     document.documentElement.scrollWidth - window.innerWidth]",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    shot(web, "overview").await;
    assert!(
        layout[0] < layout[1] && layout[1] < layout[2] && layout[3] <= 0.0,
        "asks, then goals, on the first screen: {layout:?}"
    );
    axe(web, "overview").await;
    phone_check(web, "overview").await;
    let body = text_of(web).await;
    assert!(
        !body.contains("Users") && !body.contains("Teams"),
        "no admin or team links for stakeholders"
    );

    // A stakeholder is refused the admin pages.
    for path in ["/admin/users", "/admin/tokens"] {
        web.goto(format!("{base}{path}")).await.unwrap();
        let text = text_of(web).await;
        assert!(text.contains("Forbidden"), "{path}: {text}");
        assert!(text.contains("stakeholder role"), "{path}: {text}");
    }
    shot(web, "admin-refused").await;

    // Open a goal from the overview and see its forecast and burn-up.
    web.goto(format!("{base}/")).await.unwrap();
    let link = web
        .find(By::Css("table.goals-table tbody tr a"))
        .await
        .unwrap();
    let title = link.text().await.unwrap();
    link.click().await.unwrap();
    wait_for_path(web, "the goal page", |p| p.starts_with("/goals/")).await;
    let h1 = web.query(By::Css("h1")).first().await.unwrap();
    assert_eq!(h1.text().await.unwrap(), title);
    let forecast = by_id(web, "goal-forecast").await.text().await.unwrap();
    assert!(
        forecast.starts_with("85 % likely by ") || forecast.starts_with("too little history"),
        "{forecast}"
    );
    assert!(
        !web.find_all(By::Css("figure.chart-wide svg"))
            .await
            .unwrap()
            .is_empty()
    );
    let text = text_of(web).await;
    for part in [
        "1. Business goal",
        "3. Success metrics",
        "5. Responsible parties",
        "Version history",
    ] {
        assert!(text.contains(part), "{part}");
    }
    shot(web, "goal").await;
    axe(web, "goal").await;
    phone_check(web, "goal").await;
    web.goto(format!("{base}/agenda")).await.unwrap();
    assert!(text_of(web).await.contains("Decisions taken"));
    axe(web, "agenda").await;
    web.goto(format!("{base}/reports")).await.unwrap();
    shot(web, "reports").await;
    sign_out(web).await;
    wait_for_path(web, "the sign-in page", |p| p == "/sign-in").await;

    // A manager edits last week's report draft and approves it.
    sign_in(web, base, "maria", DEMO_PASSWORD).await;
    web.query(By::Css("h1")).first().await.unwrap();
    let w = (chrono::Utc::now().date_naive() - chrono::Duration::days(7)).iso_week();
    let week = format!("{}-W{:02}", w.year(), w.week());
    web.goto(format!("{base}/reports/payments/{week}"))
        .await
        .unwrap();
    let note = by_id(web, "note-done").await;
    note.send_keys("Checkout work landed as planned.")
        .await
        .unwrap();
    let boxes = web
        .find_all(By::Css("#editor input[type=checkbox][name=shown]"))
        .await
        .unwrap();
    assert!(!boxes.is_empty(), "the editor lists the report's lines");
    let first = boxes[0].clone();
    let hidden_id = first.attr("value").await.unwrap().unwrap();
    first.click().await.unwrap();
    assert!(!first.is_selected().await.unwrap());
    by_id(web, "save").await.click().await.unwrap();
    web.query(By::ClassName("notice")).first().await.unwrap();
    let text = text_of(web).await;
    assert!(text.contains("Your edits are saved."), "{text}");
    assert!(text.contains("Checkout work landed as planned."));
    let unticked = web
        .find(By::Css(format!(
            "#editor input[type=checkbox][value='{hidden_id}']"
        )))
        .await
        .unwrap();
    assert!(
        !unticked.is_selected().await.unwrap(),
        "the hidden line stays unticked"
    );
    shot(web, "report-draft").await;
    axe(web, "report-draft").await;
    by_id(web, "approve").await.click().await.unwrap();
    // No delivery channel is configured here: the approved page says so
    // in words instead of offering Send.
    let note = by_id(web, "send-note").await.text().await.unwrap();
    assert!(
        note.contains("no e-mail, Slack or webhook delivery"),
        "{note}"
    );
    let send = by_id(web, "send").await;
    assert!(
        !send.is_enabled().await.unwrap(),
        "Send is shown disabled without a channel"
    );
    let status = by_id(web, "report-status").await.text().await.unwrap();
    assert!(status.starts_with("Status: approved."), "{status}");
    assert!(status.contains("Approved by maria"), "{status}");
    shot(web, "report-approved").await;

    // The manager's other pages: the team and a work item.
    web.goto(format!("{base}/teams/payments")).await.unwrap();
    let text = text_of(web).await;
    assert!(text.contains("Tech-debt share"), "{text}");
    let keys = web.find_all(By::Css("#dora li.kpi")).await.unwrap();
    assert_eq!(keys.len(), 4, "the DORA four keys");
    let levels = web.find_all(By::Css("#dora .pill")).await.unwrap();
    assert_eq!(levels.len(), 4);
    // The demo's engineering history: Payments deploys about daily.
    let dora = by_id(web, "dora").await.text().await.unwrap();
    assert!(dora.to_lowercase().contains("elite"), "{dora}");
    shot(web, "team").await;
    axe(web, "team").await;
    web.goto(format!("{base}/work-items/{item}")).await.unwrap();
    assert!(text_of(web).await.contains("Expected impact"));
    shot(web, "work-item").await;
    axe(web, "work-item").await;
    sign_out(web).await;
    wait_for_path(web, "the sign-in page", |p| p == "/sign-in").await;

    // An admin's pages.
    sign_in(web, base, "root", ADMIN_PASSWORD).await;
    web.query(By::Css("h1")).first().await.unwrap();
    web.goto(format!("{base}/admin/users")).await.unwrap();
    assert!(text_of(web).await.contains("maria"));
    shot(web, "admin-users").await;
    web.goto(format!("{base}/admin/tokens")).await.unwrap();
    by_id(web, "name")
        .await
        .send_keys("spreadsheet")
        .await
        .unwrap();
    web.find(By::Css("form[action='/admin/tokens'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let secret = by_id(web, "new-secret").await.text().await.unwrap();
    assert!(secret.starts_with("tdm_"), "{secret}");
    shot(web, "admin-tokens").await;
}

/// Saves a screenshot at 1366×768 and at 390×844 (a phone), and checks
/// the page needs no sideways scrolling at either width. What is drawn
/// inside a chart is clipped by its SVG box, so only the box is measured.
async fn shots(web: &WebDriver, name: &str) {
    for (w, h) in [(390, 844), (1366, 768)] {
        web.set_window_rect(0, 0, w, h)
            .await
            .expect("resize the window");
        // The elements reaching past the right edge, innermost first.
        let wide: Vec<String> = web
            .execute(
                "const w = document.documentElement.clientWidth; \
                 return [...document.querySelectorAll('body *')] \
                   .filter(e => e.getBoundingClientRect().right > w + 1 \
                     && !e.closest('.table-wrap') \
                     && !(e.closest('svg') && e.tagName.toLowerCase() !== 'svg')) \
                   .reverse().slice(0, 5) \
                   .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' \
                     + Math.round(e.getBoundingClientRect().right) + 'px');",
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        let fits: bool = web
            .execute(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        shot(web, &format!("{name}-{w}x{h}")).await;
        assert!(
            fits && wide.is_empty(),
            "{name} scrolls sideways at {w}×{h}: {wide:?}"
        );
    }
}

async fn type_into(web: &WebDriver, id: &str, text: &str) {
    let field = by_id(web, id).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn submit(web: &WebDriver, form_action: &str) {
    web.find(By::Css(format!(
        "form[action='{form_action}'] button[type=submit]"
    )))
    .await
    .unwrap_or_else(|e| panic!("no form posting to {form_action}: {e}"))
    .click()
    .await
    .unwrap();
}

async fn choose(web: &WebDriver, select_id: &str, value: &str) {
    web.find(By::Css(format!("#{select_id} option[value='{value}']")))
        .await
        .unwrap_or_else(|e| panic!("no option {value} in #{select_id}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits for the success message of a form that was just posted (the
/// previous page's notice may still be there, or go stale as it is read:
/// [`wait_notice`] retries both).
async fn notice(web: &WebDriver, expected: &str) {
    wait_notice(web, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_from_an_empty_database_in_a_real_browser() {
    let app = TestApp::start(EngineKind::Sqlite).await;
    let driver = start_chromedriver().await;
    let web = browser(&driver).await;
    let outcome = tokio::spawn(set_up(app.base.clone(), web.clone())).await;
    let checked = match outcome {
        Ok(secret) => {
            deliver_and_read_dora(&app, &web, &secret).await;
            focus_pages(&app, &web).await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    web.quit().await.expect("quit the browser");
    drop(driver);
    app.stop().await;
    if let Err(e) = checked {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the scenario did not finish: {e}"),
        }
    }
}

/// The first admin sets up a team, a member, a project with a scoped
/// service, a GitHub webhook secret and a KPI series; returns the secret.
async fn set_up(base: String, web: WebDriver) -> String {
    let base = base.as_str();
    let web = &web;
    sign_in(web, base, "admin", ADMIN_PASSWORD).await;
    web.find(By::LinkText("Set up"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(web, "the set-up page", |p| p == "/setup").await;
    assert!(text_of(web).await.contains("No teams yet"));
    shots(web, "setup-empty").await;

    // A refused team shows the error next to its field.
    type_into(web, "team-key", "Pay Ments").await;
    type_into(web, "team-name", "Payments").await;
    type_into(web, "team-timezone", "Europe/Berlin").await;
    submit(web, "/setup/teams").await;
    let error = by_id(web, "team-key-error").await.text().await.unwrap();
    assert!(error.contains("is not a valid key"), "{error}");
    shots(web, "setup-team-refused").await;
    type_into(web, "team-key", "payments").await;
    submit(web, "/setup/teams").await;
    wait_for_path(web, "the team's set-up page", |p| {
        p == "/setup/teams/payments"
    })
    .await;
    notice(web, "Team created.").await;

    // A person to add: made under Users, then added to the team.
    web.goto(format!("{base}/admin/users")).await.unwrap();
    type_into(web, "username", "dev").await;
    type_into(web, "password", "a-long-enough-password").await;
    submit(web, "/admin/users").await;
    web.query(By::Id("user-dev")).first().await.unwrap();
    web.goto(format!("{base}/setup/teams/payments"))
        .await
        .unwrap();
    choose(web, "member-username", "dev").await;
    submit(web, "/setup/teams/payments/members").await;
    notice(web, "Member added.").await;

    // A project: a repository of its own and a monorepo with two services.
    type_into(web, "project-key", "payments-api").await;
    type_into(web, "project-name", "Payments API").await;
    type_into(web, "project-repositories", "acme/payments\nacme/mono").await;
    type_into(web, "project-services", "payments\napi").await;
    shots(web, "setup-team").await;
    submit(web, "/setup/teams/payments/projects").await;
    wait_for_path(web, "the project's set-up page", |p| {
        p == "/setup/projects/payments-api"
    })
    .await;
    notice(web, "Project created.").await;

    // The api service is the services/api/ part of the monorepo.
    choose(web, "scope-service", "api").await;
    choose(web, "scope-repo", "acme/mono").await;
    type_into(web, "scope-paths", "services/api/").await;
    submit(web, "/setup/projects/payments-api/scopes").await;
    notice(web, "Service scope saved").await;
    assert!(text_of(web).await.contains("services/api/"));

    // The GitHub webhook: a secret generated and shown once.
    by_id(web, "generate-github").await.click().await.unwrap();
    let secret = by_id(web, "new-secret").await.text().await.unwrap();
    assert_eq!(secret.len(), 64, "{secret}");
    let url = by_id(web, "payload-url").await.text().await.unwrap();
    assert_eq!(url, format!("{base}/webhooks/github"));
    shots(web, "setup-project-secret").await;
    web.goto(format!("{base}/setup/projects/payments-api"))
        .await
        .unwrap();
    let row = by_id(web, "webhook-github").await.text().await.unwrap();
    assert!(row.contains("set on "), "{row}");
    assert!(
        !text_of(web).await.contains(&secret),
        "the secret is shown once"
    );

    // A KPI series and its first point.
    web.goto(format!("{base}/setup/kpis")).await.unwrap();
    type_into(web, "series-key", "checkout-conversion").await;
    type_into(web, "series-name", "Checkout conversion").await;
    type_into(web, "series-unit", "%").await;
    choose(web, "series-team", "payments").await;
    submit(web, "/setup/kpis").await;
    notice(web, "KPI series created.").await;
    type_into(web, "point-value", "2.75").await;
    submit(web, "/setup/kpis/points").await;
    notice(web, "Point added.").await;
    assert!(text_of(web).await.contains("2.75 %"));
    shots(web, "setup-kpis").await;
    secret
}

/// GitHub reports a deployment of acme/payments signed with the secret the
/// page showed; the team's page then has its DORA numbers.
async fn deliver_and_read_dora(app: &TestApp, web: &WebDriver, secret: &str) {
    use hmac::{Hmac, KeyInit, Mac};
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../domain/tests/fixtures/github/deployment_status_success.json"
    ))
    .unwrap();
    let mut payload: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    let started = chrono::Utc::now() - chrono::Duration::days(1);
    let finished = (started + chrono::Duration::minutes(6)).to_rfc3339();
    payload["deployment"]["created_at"] = json!(started.to_rfc3339());
    payload["deployment"]["updated_at"] = json!(finished);
    payload["deployment_status"]["created_at"] = json!(finished);
    payload["deployment_status"]["updated_at"] = json!(finished);
    let body = serde_json::to_vec(&payload).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    app.send(
        app.request(reqwest::Method::POST, "/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", "deployment_status")
            .header("x-github-delivery", "browser-1")
            .header("x-hub-signature-256", signature)
            .body(body),
    )
    .await
    .ok(200);
    web.goto(format!("{}/setup", app.base)).await.unwrap();
    web.find(By::Css("a[href='/teams/payments']"))
        .await
        .unwrap_or_else(|e| panic!("no DORA link: {e}"))
        .click()
        .await
        .unwrap();
    wait_for_path(web, "the team page", |p| p == "/teams/payments").await;
    let dora = by_id(web, "dora").await.text().await.unwrap();
    assert!(dora.contains("Deployment frequency"), "{dora}");
    assert!(dora.contains("1 deployments on 1 of"), "{dora}");
    shots(web, "setup-dora").await;
}

// ---------------------------------------------------------------------------
// Issue 13: the stakeholder's decision and the manager's report, end to end
// ---------------------------------------------------------------------------

/// A stand-in for Slack's incoming webhook: keeps each JSON message and
/// answers `ok`, as Slack does.
async fn slack_stand_in() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) {
    let got: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Default::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/slack",
        axum::routing::post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(v) if v["blocks"].is_array() => {
                        kept.lock().unwrap().push(v);
                        (axum::http::StatusCode::OK, "ok")
                    }
                    _ => (axum::http::StatusCode::BAD_REQUEST, "invalid_payload"),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, got)
}

/// axe-core as [`axe`], and also no colour-contrast check left "needs
/// review" for the page's text (axe cannot always tell: text over an
/// image or a gradient; none may be left on these pages). Labels drawn in
/// a chart are part of an image (`role="img"` with its text alternative and
/// a table of its numbers) and decorative glyphs are `aria-hidden`: axe
/// cannot find their background, so they are not counted here; nor is an
/// empty field (it has no text yet), nor a text area (Chromium reports
/// every filled one "partially obscured"; its ink on white is the inputs'
/// colours, which are checked).
async fn axe_strict(web: &WebDriver, name: &str) {
    axe(web, name).await;
    // A tall window, so that no text is "partially obscured" by the edge
    // of the viewport (axe cannot see past it).
    web.set_window_rect(0, 0, 1366, 6000)
        .await
        .expect("resize the window");
    let review = web
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {iframes: false, runOnly: {type: 'rule', values: ['color-contrast']}}) \
               .then(r => done(r.incomplete.flatMap(v => v.nodes \
                 .filter(n => { const e = document.querySelector(n.target[0]); \
                   return !(e && (e.closest('svg, [aria-hidden=\"true\"]') \
                     || e.matches('textarea') || (e.matches('input') && !e.value))); }) \
                 .slice(0, 5) \
                 .map(n => v.id + ': ' + n.target.join(' ') + ' — ' + (n.any[0] ? n.any[0].message : ''))))) \
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core's contrast rule");
    let review: Vec<String> = review.convert().expect("a list");
    web.set_window_rect(0, 0, 1366, 768)
        .await
        .expect("resize the window");
    assert!(
        review.is_empty(),
        "{name}: colour contrast left for review: {review:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_reports_in_a_real_browser() {
    let (smtp_port, mails) = smtp_sink().await;
    let (slack_url, slack) = slack_stand_in().await;
    let smtp_port = smtp_port.to_string();
    let app = TestApp::start_full_demo_with(
        EngineKind::Sqlite,
        &[
            ("TANDEM_REPORT__EMAIL_TO", "[\"board@example.com\"]"),
            ("TANDEM_REPORT__SMTP__HOST", "127.0.0.1"),
            ("TANDEM_REPORT__SMTP__PORT", &smtp_port),
            ("TANDEM_REPORT__SMTP__SECURITY", "plain"),
            ("TANDEM_REPORT__SMTP__FROM", "Tandem <tandem@example.com>"),
            ("TANDEM_REPORT__SLACK__WEBHOOK_URL", &slack_url),
        ],
    )
    .await;
    // The demo's agenda: a goal at risk, and its team.
    let mut at_risk = None;
    for team in ["growth", "payments", "platform"] {
        let agenda = app
            .get(&app.member, &format!("/api/v1/agenda?team={team}"))
            .await
            .ok(200)
            .body;
        if let Some(s) = agenda["postpone_to_save"]
            .as_array()
            .and_then(|a| a.first())
        {
            at_risk = Some((team.to_owned(), s["goal_id"].as_str().unwrap().to_owned()));
            break;
        }
    }
    let (team, goal) = at_risk.expect("the demo has a goal at risk");
    let driver = start_chromedriver().await;
    let web = browser(&driver).await;
    let outcome = tokio::spawn(decide_and_send(app.base.clone(), web.clone(), team, goal)).await;
    web.quit().await.expect("quit the browser");
    drop(driver);
    app.stop().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the scenarios did not finish: {e}"),
        }
    }
    // The manager's Send reached the SMTP sink and the Slack stand-in, and
    // both carry the stakeholder's decision.
    let mails: Vec<String> = mails
        .lock()
        .unwrap()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.data).into_owned())
        .collect();
    assert_eq!(mails.len(), 1, "one e-mail to the one recipient");
    let mail = mails[0].replace("=\r\n", "");
    assert!(mail.contains("board@example.com"), "{mail}");
    assert!(mail.contains("Decided on"), "the e-mail lists the decision");
    let slack = slack.lock().unwrap().clone();
    assert_eq!(slack.len(), 1, "one Slack message");
    let text = slack[0].to_string();
    assert!(text.contains("Decided on"), "{text}");
    assert!(
        text.contains("Ready for the board."),
        "the manager's note: {text}"
    );
}

async fn decide_and_send(base: String, web: WebDriver, team: String, goal: String) {
    let base = base.as_str();
    let web = &web;
    let w = chrono::Utc::now().date_naive().iso_week();
    let week = format!("{}-W{:02}", w.year(), w.week());

    // The stakeholder: the overview asks; the goal page records the decision.
    sign_in(web, base, "lee", DEMO_PASSWORD).await;
    web.query(By::Css("h1")).first().await.unwrap();
    shots(web, "issue13-overview").await;
    axe_strict(web, "overview").await;
    // The overview shows the first asks; the rest are one click away on
    // the agenda.
    let ask = format!("ul.asks a[href='/goals/{goal}']");
    if web.find_all(By::Css(&ask)).await.unwrap().is_empty() {
        web.find(By::Css("a[href='/agenda']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_path(web, "the agenda", |p| p == "/agenda").await;
    }
    web.find(By::Css(&ask))
        .await
        .expect("the asks name the goal at risk")
        .click()
        .await
        .unwrap();
    wait_for_path(web, "the goal page", |p| p == format!("/goals/{goal}")).await;
    let form = by_id(web, "decide-form").await;
    shots(web, "issue13-goal-decide").await;
    axe_strict(web, "goal with the decision form").await;
    form.find(By::Css("input[value='accept_date']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(
        web,
        "decide-reason",
        "Launch with the whole scope; marketing moves too.",
    )
    .await;
    form.find(By::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    notice(web, "Your decision is recorded").await;
    let versions = text_of(web).await;
    assert!(
        versions.contains("decision by lee"),
        "the goal shows the new version"
    );
    shots(web, "issue13-goal-decided").await;
    axe_strict(web, "goal after the decision").await;

    // The decisions log lists it; the Markdown download is offered.
    web.goto(format!("{base}/decisions?team={team}"))
        .await
        .unwrap();
    let log = by_id(web, "decisions-log").await.text().await.unwrap();
    assert!(log.contains("Launch with the whole scope"), "{log}");
    by_id(web, "export-md").await;
    shots(web, "issue13-decisions-log").await;
    axe_strict(web, "decisions log").await;
    web.goto(format!("{base}/agenda")).await.unwrap();
    axe_strict(web, "agenda").await;
    sign_out(web).await;

    // The manager: this week's draft lists the decision; edit in place,
    // approve, send.
    sign_in(web, base, "maria", DEMO_PASSWORD).await;
    web.query(By::Css("h1")).first().await.unwrap();
    web.goto(format!("{base}/reports/{team}/{week}"))
        .await
        .unwrap();
    let editor = by_id(web, "editor").await.text().await.unwrap();
    assert!(
        editor.contains("Decided on"),
        "the draft lists the decision: {editor}"
    );
    assert!(editor.contains("by lee"), "{editor}");
    type_into(web, "note-summary", "Ready for the board.").await;
    by_id(web, "save").await.click().await.unwrap();
    notice(web, "Your edits are saved.").await;
    let slack = by_id(web, "slack-preview").await.text().await.unwrap();
    assert!(
        slack.contains("Ready for the board."),
        "the Slack preview: {slack}"
    );
    assert!(slack.contains("Decided on"), "{slack}");
    shots(web, "issue13-report-edit").await;
    axe_strict(web, "report editor").await;
    // The e-mail preview is a document of its own: checked by itself.
    web.goto(format!("{base}/reports/{team}/{week}/email"))
        .await
        .unwrap();
    assert!(text_of(web).await.contains("Ready for the board."));
    axe_strict(web, "the e-mail preview").await;
    web.goto(format!("{base}/reports/{team}/{week}"))
        .await
        .unwrap();
    by_id(web, "approve").await.click().await.unwrap();
    notice(web, "The report is approved").await;
    by_id(web, "send").await.click().await.unwrap();
    let outcomes = by_id(web, "outcomes").await.text().await.unwrap();
    assert!(
        outcomes.contains("email board@example.com: sent"),
        "{outcomes}"
    );
    assert!(outcomes.contains("slack"), "{outcomes}");
    shots(web, "issue13-report-sent").await;
    axe_strict(web, "report sent").await;

    // What a figure is made of, from the team page.
    web.goto(format!("{base}/teams/{team}")).await.unwrap();
    axe_strict(web, "team").await;
    web.find(By::Css(format!(
        "a[href='/teams/{team}/explain/deployment-frequency']"
    )))
    .await
    .expect("a how-is-this-computed link")
    .click()
    .await
    .unwrap();
    wait_for_path(web, "the explain page", |p| p.contains("/explain/")).await;
    assert!(text_of(web).await.contains("Definition:"));
    shots(web, "issue13-explain").await;
    axe_strict(web, "explain").await;
    sign_out(web).await;

    // The stakeholder reads the sent report with the decision in it.
    sign_in(web, base, "lee", DEMO_PASSWORD).await;
    web.query(By::Css("h1")).first().await.unwrap();
    web.goto(format!("{base}/reports/{team}/{week}"))
        .await
        .unwrap();
    let report = by_id(web, "report").await.text().await.unwrap();
    assert!(report.contains("Decided on"), "{report}");
    assert!(report.contains("Ready for the board."), "{report}");
    shots(web, "issue13-report-read").await;
    axe_strict(web, "report read by a stakeholder").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_line_pages_in_a_real_browser() {
    let app = TestApp::start_with(
        EngineKind::Sqlite,
        &[
            ("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS", "0"),
            ("TANDEM_KPI_SOURCES__SCHEDULER_INTERVAL_MS", "0"),
        ],
    )
    .await;
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "services": ["payments"]}),
    )
    .await;
    app.post(
        &app.manager,
        "/api/v1/checks",
        json!({"name": "payments-health", "team": "pay", "service": "payments",
               "kind": "tcp", "target": format!("127.0.0.1:{}", free_port()),
               "interval_seconds": 30, "timeout_seconds": 1}),
    )
    .await
    .ok(201);
    app.post(
        &app.manager,
        "/api/v1/checks/payments-health/run",
        json!({}),
    )
    .await
    .ok(200);
    app.post(
        &app.manager,
        "/api/v1/metrics",
        json!({"key": "open-orders", "name": "Open orders", "unit": "", "direction": "up",
               "audience": "business", "team_id": team["id"]}),
    )
    .await
    .ok(201);
    let incident = app.get(&app.member, "/api/v1/incidents").await.ok(200);
    let incident = incident.body[0]["id"].as_str().unwrap().to_owned();
    let driver = start_chromedriver().await;
    let web = browser(&driver).await;
    let outcome = tokio::spawn(front_line(app.base.clone(), web.clone(), incident)).await;
    web.quit().await.expect("quit the browser");
    drop(driver);
    app.stop().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the scenario did not finish: {e}"),
        }
    }
}

/// Checks, the incident page, the status page and the KPI source form,
/// each with axe-core (zero violations), also in their error states.
async fn front_line(base: String, web: WebDriver, incident: String) {
    let base = base.as_str();
    let web = &web;
    sign_in(web, base, "admin", ADMIN_PASSWORD).await;
    web.find(By::LinkText("Checks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(web, "the checks", |p| p == "/checks").await;
    assert!(text_of(web).await.contains("payments-health"));
    axe(web, "checks").await;
    shot(web, "checks").await;

    // A new check with a bad interval: refused next to the field.
    web.goto(format!("{base}/checks/new")).await.unwrap();
    axe(web, "check-new").await;
    type_into(web, "c-name", "search-health").await;
    type_into(web, "c-team", "pay").await;
    type_into(web, "c-service", "payments").await;
    type_into(web, "c-target", "http://127.0.0.1:9/healthz").await;
    type_into(web, "c-interval", "3").await;
    submit(web, "/checks").await;
    let error = by_id(web, "c-interval-error").await;
    assert!(error.text().await.unwrap().contains("out of range"));
    axe(web, "check-new-refused").await;
    type_into(web, "c-interval", "30").await;
    submit(web, "/checks").await;
    notice(web, "Check saved").await;

    web.goto(format!("{base}/checks/payments-health"))
        .await
        .unwrap();
    axe(web, "check-edit").await;
    shot(web, "check-edit").await;

    // The incident: list, page, a business update, the note.
    web.find(By::LinkText("Incidents"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(web, "the incidents", |p| p == "/incidents").await;
    axe(web, "incidents").await;
    web.goto(format!("{base}/incidents/{incident}"))
        .await
        .unwrap();
    assert!(text_of(web).await.contains("Timeline"));
    axe(web, "incident").await;
    shot(web, "incident").await;
    submit(web, &format!("/incidents/{incident}/updates")).await;
    by_id(web, "u-affected-error").await;
    axe(web, "incident-update-refused").await;
    type_into(web, "u-affected", "Card payments fail for some customers.").await;
    type_into(web, "u-doing", "We are restarting the payment gateway.").await;
    submit(web, &format!("/incidents/{incident}/updates")).await;
    notice(web, "Business update stored").await;
    submit(web, &format!("/incidents/{incident}/ack")).await;
    notice(web, "Acknowledged").await;
    axe(web, "incident-acknowledged").await;

    // The status page shows the service and the update.
    web.goto(format!("{base}/status")).await.unwrap();
    let text = text_of(web).await;
    assert!(text.contains("payments"), "{text}");
    assert!(text.contains("Card payments fail"), "{text}");
    axe(web, "status").await;
    shot(web, "status").await;

    // A KPI source, refused then set.
    web.goto(format!("{base}/setup/kpis")).await.unwrap();
    choose(web, "source-kind", "postgres").await;
    type_into(web, "source-url", "postgres://reader@127.0.0.1:9/shop").await;
    type_into(web, "source-query", "DELETE FROM orders").await;
    submit(web, "/setup/kpis/source").await;
    by_id(web, "source-query-error").await;
    axe(web, "kpi-source-refused").await;
    type_into(web, "source-query", "SELECT count(*) FROM orders").await;
    submit(web, "/setup/kpis/source").await;
    notice(web, "Source saved").await;
    axe(web, "kpi-sources").await;
}

/// Waits (up to 10 s) for a success message containing `expected`: after
/// one form's notice, the next form's page may not have replaced it yet.
async fn wait_notice(web: &WebDriver, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(n) = web.find(By::ClassName("notice")).await
            && let Ok(text) = n.text().await
        {
            if text.contains(expected) {
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no notice {expected:?}; the last one said {last:?}");
}

/// Focus time (issue 15): the manager's policy and calendar page (a refused
/// time zone named at its field, a feed added and read), the team's focus
/// page and "my focus", each checked by axe-core and at phone width.
async fn focus_pages(app: &TestApp, web: &WebDriver) {
    let base = app.base.as_str();
    for name in ["ana", "ben", "cleo", "dan", "eva"] {
        app.post(
            &app.admin,
            "/api/v1/users",
            json!({"username": name, "email": format!("{name}@example.com"),
                   "role": "member", "password": "a long enough password"}),
        )
        .await
        .ok(201);
        app.call(
            reqwest::Method::PUT,
            &app.admin,
            &format!("/api/v1/teams/payments/members/{name}"),
            None,
        )
        .await
        .ok(200);
    }
    web.goto(format!("{base}/setup/teams/payments"))
        .await
        .unwrap();
    web.find(By::LinkText("Policy and calendars"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(web, "the policy page", |p| {
        p == "/setup/teams/payments/focus"
    })
    .await;
    axe(web, "setup-focus-empty").await;

    // An unknown zone is named at its field; nothing else is lost.
    type_into(web, "policy-timezone", "Mars/Olympus").await;
    type_into(web, "policy-evening", "17:30").await;
    submit(web, "/setup/teams/payments/focus/policy").await;
    let error = by_id(web, "policy-timezone-error")
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("IANA time zone"), "{error}");
    assert_eq!(
        by_id(web, "policy-evening")
            .await
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("17:30")
    );
    axe(web, "setup-focus-refused").await;
    type_into(web, "policy-timezone", "Europe/Berlin").await;
    type_into(web, "policy-evening", "18:00").await;
    submit(web, "/setup/teams/payments/focus/policy").await;
    wait_notice(web, "Policy saved.").await;

    // The Google-shaped team calendar, as a file on the server.
    let google = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../domain/tests/fixtures/calendar/google-team.ics")
        .canonicalize()
        .unwrap();
    type_into(web, "feed-source", google.to_str().unwrap()).await;
    submit(web, "/setup/teams/payments/focus/feeds").await;
    wait_notice(web, "Calendar feed added.").await;
    submit(web, "/setup/teams/payments/focus/feeds/refresh").await;
    wait_notice(web, "Calendar feeds refreshed").await;
    let feeds = by_id(web, "feeds").await.text().await.unwrap();
    assert!(feeds.contains("ok"), "{feeds}");
    assert!(feeds.contains("without end"), "the capped series: {feeds}");
    axe(web, "setup-focus").await;
    shots(web, "setup-focus").await;

    // The team's week: aggregates, no names.
    web.goto(format!("{base}/teams/payments/focus?week=2026-03-11"))
        .await
        .unwrap();
    let series = by_id(web, "focus-series").await.text().await.unwrap();
    assert!(
        series.contains("Team sync (Tue 18:30) breaks the evening rule for 5 people"),
        "{series}"
    );
    let text = text_of(web).await;
    for name in ["ana@", "ben@", "cleo@", "dan@", "eva@"] {
        assert!(!text.contains(name), "{name} on the team page");
    }
    by_id(web, "focus-trend").await;
    axe(web, "focus").await;
    shots(web, "focus").await;

    // The admin has no e-mail address: "my focus" says why there are no figures.
    web.find(By::LinkText("My focus"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(web, "my focus", |p| p == "/teams/payments/focus/me").await;
    assert!(text_of(web).await.contains("no e-mail address"));
    axe(web, "focus-me-no-email").await;

    // eva's own week.
    sign_out(web).await;
    sign_in(web, base, "eva", "a long enough password").await;
    web.goto(format!("{base}/teams/payments/focus/me?week=2026-03-11"))
        .await
        .unwrap();
    let figures = by_id(web, "focus-figures").await.text().await.unwrap();
    assert!(figures.contains("Policy breaches"), "{figures}");
    axe(web, "focus-me").await;
    shots(web, "focus-me").await;
}
