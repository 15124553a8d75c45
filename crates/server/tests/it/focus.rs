//! Focus time through the API (issue 15), on both engines: a team's policy
//! (422 naming the field, managers only), calendar feeds from a file and from
//! a local HTTP stand-in that honours `If-None-Match` (a second refresh is a
//! 304), the week's figures equal to the hand-computed ones of
//! `crates/domain/tests/focus_fixtures.rs`, a malformed feed that names its
//! line and keeps the last good data, and the privacy rule: feeds are for
//! managers, the team's figures are aggregates, `/focus/me` is one's own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::json;
use tandem_store::EngineKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::pages::{Browser, csrf_of};
use crate::support::TestApp;

tandem_testkit::per_engine!(policy_calendars_and_figures);

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../domain/tests/fixtures/calendar")
        .join(name)
        .canonicalize()
        .unwrap()
}

/// Serves `body` with `ETag: "v1"`, answering 304 to `If-None-Match: "v1"`.
/// Counts (requests, 304s).
async fn ics_server(body: String) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ben.ics", listener.local_addr().unwrap());
    let (hits, not_modified) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (h, n) = (hits.clone(), not_modified.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let mut len = 0;
            while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => len += k,
                }
            }
            h.fetch_add(1, Ordering::SeqCst);
            let head = String::from_utf8_lossy(&buf[..len]).to_ascii_lowercase();
            let reply = if head.contains("if-none-match: \"v1\"") {
                n.fetch_add(1, Ordering::SeqCst);
                "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n".to_owned()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/calendar; charset=utf-8\r\nETag: \"v1\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = sock.write_all(reply.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (url, hits, not_modified)
}

async fn policy_calendars_and_figures(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.create(
        "/api/v1/teams",
        json!({"key": "platform", "name": "Platform", "timezone": "Europe/Berlin"}),
    )
    .await;
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
            Method::PUT,
            &app.admin,
            &format!("/api/v1/teams/platform/members/{name}"),
            None,
        )
        .await
        .ok(200);
    }

    // The policy: defaults, validation naming the field, managers only.
    let p = app
        .get(&app.member, "/api/v1/teams/platform/policy")
        .await
        .ok(200)
        .body;
    assert_eq!(p["focus_start"], "09:00");
    assert_eq!(p["evening_cutoff"], "18:00");
    let bad = app
        .call(
            Method::PUT,
            &app.manager,
            "/api/v1/teams/platform/policy",
            Some(json!({"focus_start": "13:00", "focus_end": "12:00"})),
        )
        .await;
    bad.err_field(422, "invalid", "focus_end");
    let bad = app
        .call(
            Method::PUT,
            &app.manager,
            "/api/v1/teams/platform/policy",
            Some(json!({"evening_cutoff": "25:00"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    app.call(
        Method::PUT,
        &app.member,
        "/api/v1/teams/platform/policy",
        Some(json!({})),
    )
    .await
    .err(403, "forbidden");
    let set = app
        .call(
            Method::PUT,
            &app.manager,
            "/api/v1/teams/platform/policy",
            Some(json!({"max_meeting_minutes_per_day": 240})),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(set["focus_end"], "12:00");

    // Feeds: the Google team calendar and eva's iCloud export as files, ben's
    // Outlook calendar over HTTP with an ETag.
    let dir = tempfile::tempdir().unwrap();
    let eva_file = dir.path().join("eva.ics");
    std::fs::copy(fixture("icloud-eva.ics"), &eva_file).unwrap();
    let (url, hits, not_modified) =
        ics_server(std::fs::read_to_string(fixture("outlook-ben.ics")).unwrap()).await;
    let feeds = "/api/v1/teams/platform/calendars";
    app.post(
        &app.manager,
        feeds,
        json!({"source": fixture("google-team.ics")}),
    )
    .await
    .ok(201);
    app.post(&app.manager, feeds, json!({"source": url, "user": "ben"}))
        .await
        .ok(201);
    app.post(
        &app.manager,
        feeds,
        json!({"source": eva_file, "user": "eva"}),
    )
    .await
    .ok(201);
    app.post(&app.manager, feeds, json!({"source": "calendar.ics"}))
        .await
        .err_field(422, "invalid", "source");
    app.post(
        &app.manager,
        feeds,
        json!({"source": "https://x.test/a.ics", "user": "nobody"}),
    )
    .await
    .err_field(422, "invalid", "user");
    app.get(&app.member, feeds).await.err(403, "forbidden");

    let done = app
        .post(
            &app.manager,
            "/api/v1/teams/platform/calendars/refresh",
            json!(null),
        )
        .await
        .ok(200)
        .body;
    let outcomes: Vec<&str> = done
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["updated", "updated", "updated"], "{done}");
    assert!(
        done[0]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("without end"),
        "{done}"
    );

    let week = app
        .get(&app.member, "/api/v1/teams/platform/focus?week=2026-03-11")
        .await
        .ok(200)
        .body;
    assert_eq!(week["week_start"], "2026-03-09");
    assert_eq!(week["person_days"], 25);
    assert_eq!(week["meeting_minutes"], 1185);
    assert_eq!(week["focus_kept_minutes"], 4230);
    assert_eq!(
        week["breaches"],
        json!({"evening": 6, "focus_block": 10, "meeting_load": 1, "no_meeting_day": 0})
    );
    assert_eq!(
        week["series"][1]["text"],
        "Team sync (Tue 18:30) breaks the evening rule for 5 people; moving it to 17:00 removes 5 breaches"
    );
    // No names anywhere in the team's figures.
    for name in ["ana", "ben", "cleo", "dan", "eva@"] {
        assert!(!week.to_string().contains(name), "{name} in {week}");
    }

    // A second refresh: the HTTP feed answers 304; a broken file keeps its last good data.
    std::fs::write(&eva_file, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026-03-09\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
    let done = app
        .post(
            &app.manager,
            "/api/v1/teams/platform/calendars/refresh",
            json!(null),
        )
        .await
        .ok(200)
        .body;
    let outcomes: Vec<&str> = done
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["updated", "not_modified", "failed"], "{done}");
    assert!(
        done[2]["error"].as_str().unwrap().contains("line 5"),
        "{done}"
    );
    assert_eq!(
        (
            hits.load(Ordering::SeqCst),
            not_modified.load(Ordering::SeqCst)
        ),
        (2, 1)
    );
    let listed = app.get(&app.manager, feeds).await.ok(200).body;
    assert!(
        listed[2]["last_error"]
            .as_str()
            .unwrap()
            .contains("line 5: DTSTART"),
        "{listed}"
    );
    let again = app
        .get(&app.member, "/api/v1/teams/platform/focus?week=2026-03-11")
        .await
        .ok(200)
        .body;
    assert_eq!(again, week, "the last good data stays in use");
    app.get(&app.member, "/api/v1/teams/platform/focus?week=11.03.2026")
        .await
        .err(400, "bad_request");

    // One's own figures: eva signed in.
    let reply = app.sign_in("eva", "a long enough password").await.ok(200);
    let cookie = reply
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mine = app
        .send(app.with_cookie(
            Method::GET,
            "/api/v1/teams/platform/focus/me?week=2026-03-09",
            &cookie,
        ))
        .await
        .ok(200)
        .body;
    assert_eq!(mine["people"], 1);
    assert_eq!(
        mine["breaches"],
        json!({"evening": 2, "focus_block": 1, "meeting_load": 1, "no_meeting_day": 0})
    );
    // A token has no person.
    app.get(&app.member, "/api/v1/teams/platform/focus/me")
        .await
        .err(403, "forbidden");
    let trend = app
        .get(&app.member, "/api/v1/teams/platform/focus/trend")
        .await
        .ok(200)
        .body;
    assert_eq!(trend.as_array().unwrap().len(), 12);

    // The weekly report's focus line: the same figures (4230 of 4500 kept
    // minutes over 5 people = 14.1 h of 15 h; 17 breaches; the standup's
    // 6 focus-block breaches are the most).
    let report = app
        .get(
            &app.manager,
            "/api/v1/teams/platform/reports/weekly?week=2026-W11",
        )
        .await
        .ok(200)
        .body;
    let focus_line = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap())
        .find(|l| l["id"] == "focus")
        .unwrap_or_else(|| panic!("no focus line in {report}"))["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        focus_line
            .starts_with("Focus: 14.1 h of 15 h kept per person; 17 breaches, 6 from Standup"),
        "{focus_line}"
    );

    // An unknown time zone is refused naming the field.
    app.patch(
        &app.manager,
        "/api/v1/teams/platform",
        json!({"timezone": "Mars/Olympus"}),
    )
    .await
    .err_field(422, "invalid", "timezone");

    // The pages: the team's figures without names, one's own, the set-up.
    let mut b = Browser::new(&app);
    b.sign_in("eva", "a long enough password").await;
    let page = b.get("/teams/platform/focus?week=2026-03-11").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("14.1 h of 15 h"), "{}", page.body);
    assert!(
        page.body
            .contains("Team sync (Tue 18:30) breaks the evening rule for 5 people")
    );
    assert!(page.body.contains("id=\"focus-trend\""));
    for name in ["ana@", "ben@", "cleo@", "dan@", "eva@"] {
        assert!(!page.body.contains(name), "{name} on the team page");
    }
    let mine = b.get("/teams/platform/focus/me?week=2026-03-09").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(mine.body.contains("My focus time"));
    // eva's week: 4 breaches, her Monday over the limit.
    assert!(
        element_text(&mine.body, "focus-figures").contains(">4<"),
        "{}",
        mine.body
    );
    assert_eq!(b.get("/setup/teams/platform/focus").await.status, 403);
    assert_eq!(
        b.get("/teams/platform/focus?week=9.3.2026").await.status,
        400
    );

    let mut m = Browser::new(&app);
    m.sign_in("admin", crate::support::ADMIN_PASSWORD).await;
    let setup = m.get("/setup/teams/platform/focus").await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(
        setup.body.contains("line 5: DTSTART"),
        "the last error with its line"
    );
    assert!(
        setup.body.contains("without end"),
        "the capped series' warning"
    );
    let csrf = csrf_of(&setup.body);
    // A refused policy names each field and stores nothing.
    let bad = m
        .post(
            "/setup/teams/platform/focus/policy",
            &[
                ("csrf", &csrf),
                ("timezone", "Europe/Atlantis"),
                ("evening_cutoff", "6pm"),
                ("focus_start", "12:00"),
                ("focus_end", "09:00"),
                ("max_meeting_hours", "4"),
                ("work_start", "09:00"),
                ("work_end", "18:00"),
                ("work_days", "mon"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"policy-timezone-error\""));
    assert!(bad.body.contains("id=\"policy-evening-error\""));
    let t = app.store().await.get_team_by_key("platform").await.unwrap();
    assert_eq!(t.timezone, "Europe/Berlin");
    // A good one: every rule from the form.
    let saved = m
        .post(
            "/setup/teams/platform/focus/policy",
            &[
                ("csrf", &csrf),
                ("timezone", "Europe/Berlin"),
                ("evening_cutoff", "17:00"),
                ("incidents_exempt", "yes"),
                ("focus_start", "09:00"),
                ("focus_end", "11:00"),
                ("focus_days", "mon"),
                ("focus_days", "tue"),
                ("max_meeting_hours", "3.5"),
                ("no_meeting_day", "wed"),
                ("work_start", "08:30"),
                ("work_end", "17:30"),
                ("work_days", "mon"),
                ("work_days", "tue"),
                ("work_days", "wed"),
                ("work_days", "thu"),
            ],
        )
        .await;
    assert_eq!(
        saved.location.as_deref(),
        Some("/setup/teams/platform/focus?done=policy-saved"),
        "{}",
        saved.body
    );
    let p = app
        .get(&app.member, "/api/v1/teams/platform/policy")
        .await
        .ok(200)
        .body;
    assert_eq!(
        p,
        json!({"evening_cutoff": "17:00", "incidents_exempt": true,
               "focus_start": "09:00", "focus_end": "11:00", "focus_days": ["mon", "tue"],
               "max_meeting_minutes_per_day": 210, "no_meeting_day": "wed",
               "work_start": "08:30", "work_end": "17:30",
               "work_days": ["mon", "tue", "wed", "thu"]})
    );
    // Feeds: a refused one named, one removed.
    let refused = m
        .post(
            "/setup/teams/platform/focus/feeds",
            &[("csrf", &csrf), ("source", "calendar.ics"), ("user", "")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"feed-source-error\""));
    let first = app.get(&app.manager, feeds).await.ok(200).body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = m
        .post(
            "/setup/teams/platform/focus/feeds/remove",
            &[("csrf", &csrf), ("feed", &first)],
        )
        .await;
    assert_eq!(
        removed.location.as_deref(),
        Some("/setup/teams/platform/focus?done=feed-removed")
    );
    assert_eq!(
        app.get(&app.manager, feeds)
            .await
            .ok(200)
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let refreshed = m
        .post(
            "/setup/teams/platform/focus/feeds/refresh",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        refreshed.location.as_deref(),
        Some("/setup/teams/platform/focus?done=feeds-refreshed")
    );
    // The weekly pulse from the same page: a threshold below three and an
    // unreadable time are refused, each named, nothing stored; a good form
    // is what the API then answers.
    let pulse = "/api/v1/teams/platform/pulse/config";
    let before = app.get(&app.manager, pulse).await.ok(200).body;
    let refused = m
        .post(
            "/setup/teams/platform/focus/pulse",
            &[
                ("csrf", &csrf),
                ("enabled", "yes"),
                ("day", "thu"),
                ("time", "3pm"),
                ("min_answers", "2"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("id=\"pulse-time-error\""));
    let refused = m
        .post(
            "/setup/teams/platform/focus/pulse",
            &[
                ("csrf", &csrf),
                ("day", "thu"),
                ("time", "15:00"),
                ("min_answers", "2"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("id=\"pulse-min-error\""));
    assert_eq!(app.get(&app.manager, pulse).await.ok(200).body, before);
    let saved = m
        .post(
            "/setup/teams/platform/focus/pulse",
            &[
                ("csrf", &csrf),
                ("enabled", "yes"),
                ("day", "thu"),
                ("time", "15:30"),
                ("min_answers", "4"),
            ],
        )
        .await;
    assert_eq!(
        saved.location.as_deref(),
        Some("/setup/teams/platform/focus?done=pulse-saved"),
        "{}",
        saved.body
    );
    assert_eq!(
        app.get(&app.manager, pulse).await.ok(200).body,
        json!({"enabled": true, "day": "thu", "time": "15:30", "min_answers": 4})
    );
    let page = m.get("/setup/teams/platform/focus").await;
    assert!(
        page.body.contains(
            "id=\"pulse-enabled\" name=\"enabled\" type=\"checkbox\" value=\"yes\" checked"
        )
    );
    assert!(
        page.body
            .contains("<option value=\"thu\" selected>Thursday</option>")
    );
}

/// The text of the element with `id` up to its closing `</ul>`.
fn element_text<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("id=\"{id}\"")).expect("the element");
    let end = at + html[at..].find("</ul>").expect("its end");
    &html[at..end]
}
