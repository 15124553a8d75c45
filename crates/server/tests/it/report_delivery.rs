//! Delivering the weekly report to real local receivers: an SMTP sink on
//! loopback (the e-mail is parsed as MIME), an axum receiver standing in for
//! Slack and for the signed webhook; failures logged and retried; the
//! schedule sending exactly once with two replicas on one database.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{Datelike, Utc};
use hmac::{Hmac, KeyInit, Mac};
use mail_parser::{MessageParser, MimeHeaders};
use sha2::Sha256;
use tandem_app::Settings;
use tandem_domain::report::{self, EditRequest};
use tandem_store::{EngineKind, Store};
use tandem_testkit::TestDb;

tandem_testkit::per_engine!(
    a_report_reaches_email_slack_and_the_webhook_once,
    failing_channels_are_retried_and_logged_and_lose_no_edit,
    two_replicas_send_one_scheduled_report,
    sent_reports_are_uploaded_to_s3,
    failed_archive_uploads_are_retried_with_backoff,
    the_schedule_drafts_ahead_holds_for_approval_and_catches_up_once
);

// ---------------------------------------------------------------------------
// Local receivers
// ---------------------------------------------------------------------------

/// The shared SMTP sink (`tandem_testkit::smtp`).
pub(crate) use tandem_testkit::smtp::{Mail, smtp_sink};

/// What the HTTP receiver got, and how it answers.
#[derive(Debug, Default)]
struct Inbox {
    slack: Vec<serde_json::Value>,
    hooks: Vec<(HeaderMap, Bytes)>,
    /// Slack answers 400 this many more times.
    slack_failures: usize,
    /// The webhook answers after this long.
    hook_delay: Duration,
}

type Shared = Arc<Mutex<Inbox>>;

async fn slack(State(inbox): State<Shared>, body: Bytes) -> (StatusCode, &'static str) {
    let mut i = inbox.lock().unwrap();
    if i.slack_failures > 0 {
        i.slack_failures -= 1;
        return (StatusCode::BAD_REQUEST, "invalid_blocks");
    }
    i.slack
        .push(serde_json::from_slice(&body).expect("Slack gets JSON"));
    (StatusCode::OK, "ok")
}

async fn hook(State(inbox): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = inbox.lock().unwrap().hook_delay;
    tokio::time::sleep(delay).await;
    inbox.lock().unwrap().hooks.push((headers, body));
    StatusCode::NO_CONTENT
}

async fn receiver(inbox: Shared) -> String {
    let app = axum::Router::new()
        .route("/slack", axum::routing::post(slack))
        .route("/hook", axum::routing::post(hook))
        .with_state(inbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

const SECRET: &str = "webhook-secret-for-tests";

fn settings(db_url: &str, smtp_port: u16, http: &str, extra: &str) -> Settings {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.toml");
    std::fs::write(
        &path,
        format!(
            "[report]\nemail_to = [\"ana@example.com\", \"ben@example.com\"]\n\
             max_attempts = 3\nretry_base_ms = 10\ntimeout_seconds = 2\n\
             scheduler_interval_seconds = 0\n{extra}\n\
             [report.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"plain\"\n\
             username = \"tandem\"\npassword = \"smtp-pw\"\nfrom = \"Tandem <tandem@example.com>\"\n\
             [report.slack]\nwebhook_url = \"{http}/slack\"\n\
             [report.webhook]\nurl = \"{http}/hook\"\nsecret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let env = vec![("TANDEM_DATABASE__URL".to_owned(), db_url.to_owned())];
    Settings::load_from(Some(&path), &env).expect("settings")
}

async fn demo(engine: EngineKind) -> (TestDb, Store, uuid::Uuid) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    tandem_app::demo::load(&store, Utc::now().date_naive())
        .await
        .unwrap();
    let team = store.get_team_by_key("payments").await.unwrap();
    (db, store, team.id)
}

fn last_week() -> chrono::IsoWeek {
    (Utc::now().date_naive() - chrono::Duration::days(7)).iso_week()
}

fn note(text: &str) -> EditRequest {
    EditRequest {
        notes: [("done".to_owned(), text.to_owned())].into(),
        ..EditRequest::default()
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

async fn a_report_reaches_email_slack_and_the_webhook_once(engine: EngineKind) {
    let (db, store, team) = demo(engine).await;
    let (smtp_port, mails) = smtp_sink().await;
    let inbox: Shared = Arc::default();
    let http = receiver(inbox.clone()).await;
    let s = settings(&db.url, smtp_port, &http, "");
    let week = last_week();
    tandem_app::report::edit_draft(&store, &s, team, week, &note("Quiet but solid week."))
        .await
        .unwrap();

    let result = tandem_app::report::send_week(&store, &s, team, week)
        .await
        .unwrap();
    let summary: Vec<(String, String)> = result
        .outcomes
        .iter()
        .map(|o| (format!("{}:{}", o.channel, o.recipient), o.result.clone()))
        .collect();
    assert!(
        result.outcomes.iter().all(|o| o.result == "sent"),
        "{summary:?}"
    );
    assert_eq!(result.outcomes.len(), 4, "two e-mails, Slack, the webhook");
    assert!(result.archived);

    // The e-mail, parsed as MIME.
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 2, "one message per recipient");
    let (data, _) = store
        .list_report_deliveries(team, &report::week_label(week))
        .await
        .map(|d| (d, ()))
        .unwrap();
    assert_eq!(data.len(), 4);
    let mut to: Vec<&str> = mails.iter().map(|m| m.rcpt[0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["ana@example.com", "ben@example.com"]);
    let archived = store
        .archived_report(team, &report::week_label(week))
        .await
        .unwrap();
    for m in &mails {
        // AUTH PLAIN: \0user\0password, base64.
        assert_eq!(m.auth.as_deref(), Some("AHRhbmRlbQBzbXRwLXB3"));
        let msg = MessageParser::default()
            .parse(&m.data)
            .expect("a MIME message");
        assert_eq!(msg.subject(), Some(archived.title.as_str()));
        assert!(archived.title.starts_with("Payments — week"));
        let to = msg.to().unwrap().first().unwrap().address().unwrap();
        assert_eq!(to, m.rcpt[0]);
        let text = msg.body_text(0).expect("a plain-text part");
        assert!(text.contains("Quiet but solid week."), "{text}");
        assert!(text.contains("Full report: "));
        let html = msg.body_html(0).expect("an HTML part");
        assert!(html.contains("Quiet but solid week."));
        let images: Vec<_> = msg
            .attachments()
            .filter(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
            .collect();
        let trends = archived.report["trends"].as_array().unwrap().len();
        assert!(trends > 0);
        assert_eq!(images.len(), trends, "one inline chart per trend");
        for img in images {
            let cid = img.content_id().expect("a Content-ID");
            assert!(html.contains(&format!("cid:{cid}")), "the HTML shows {cid}");
            let png = image::load_from_memory(img.contents()).expect("a PNG");
            assert_eq!((png.width(), png.height()), (540, 300));
        }
    }

    // Slack and the webhook.
    {
        let inbox = inbox.lock().unwrap();
        assert_eq!(inbox.slack.len(), 1);
        let blocks = inbox.slack[0]["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(inbox.hooks.len(), 1);
        let (headers, body) = &inbox.hooks[0];
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(
            headers["x-tandem-signature-256"].to_str().unwrap(),
            expected
        );
        let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["event"], "weekly_report.sent");
        assert_eq!(payload["team"], "payments");
        assert_eq!(payload["week"], report::week_label(week));
        assert_eq!(
            payload["report"]["sections"][2]["note"],
            "Quiet but solid week."
        );
    }

    // Sending again reaches nobody twice.
    let again = tandem_app::report::send_week(&store, &s, team, week)
        .await
        .unwrap();
    assert!(
        again.outcomes.iter().all(|o| o.result == "skipped"),
        "{again:?}"
    );
    assert_eq!(mails.len(), 2);
    assert_eq!(inbox.lock().unwrap().slack.len(), 1);
    assert_eq!(inbox.lock().unwrap().hooks.len(), 1);
    let draft = store
        .find_draft(team, &report::week_label(week))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(draft.status, report::DraftStatus::Sent);
}

async fn failing_channels_are_retried_and_logged_and_lose_no_edit(engine: EngineKind) {
    let (db, store, team) = demo(engine).await;
    // Nothing listens on the SMTP port: bind one, then drop it.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let inbox: Shared = Arc::new(Mutex::new(Inbox {
        slack_failures: 1,
        hook_delay: Duration::from_secs(5),
        ..Inbox::default()
    }));
    let http = receiver(inbox.clone()).await;
    let s = settings(&db.url, dead_port, &http, "");
    let week = last_week();
    let label = report::week_label(week);
    tandem_app::report::edit_draft(&store, &s, team, week, &note("Keep this note."))
        .await
        .unwrap();

    let result = tandem_app::report::send_week(&store, &s, team, week)
        .await
        .unwrap();
    let by = |channel: &str| {
        result
            .outcomes
            .iter()
            .filter(|o| o.channel.as_str() == channel)
            .collect::<Vec<_>>()
    };
    for o in by("email") {
        assert_eq!((o.result.as_str(), o.attempts), ("failed", 3), "{o:?}");
        assert!(
            o.error.as_deref().unwrap().contains("SMTP 127.0.0.1"),
            "{o:?}"
        );
    }
    // Slack failed once with a 400, then went through: one failing channel
    // blocks nothing else.
    let slack = by("slack");
    assert_eq!((slack[0].result.as_str(), slack[0].attempts), ("sent", 2));
    let hook = by("webhook");
    assert_eq!((hook[0].result.as_str(), hook[0].attempts), ("failed", 3));
    assert!(
        hook[0].error.as_deref().unwrap().contains("timed out"),
        "{hook:?}"
    );

    let log = store.list_report_delivery_log(team, &label).await.unwrap();
    assert_eq!(log.len(), 3 + 3 + 2 + 3, "every attempt is logged");
    assert!(
        log.iter().any(|l| l.message.contains("400 Bad Request")),
        "{log:?}"
    );
    let deliveries = store.list_report_deliveries(team, &label).await.unwrap();
    let failed = deliveries
        .iter()
        .filter(|d| d.status == report::DeliveryStatus::Failed)
        .count();
    assert_eq!(failed, 3);

    // The draft and its edits are intact, and the report is archived (Slack
    // got it).
    let draft = store.find_draft(team, &label).await.unwrap().unwrap();
    assert_eq!(draft.edits.notes.len(), 1);
    assert!(result.archived);

    // The SMTP server comes back: sending again serves only those that failed.
    let (port, mails) = smtp_sink().await;
    inbox.lock().unwrap().hook_delay = Duration::ZERO;
    let s = settings(&db.url, port, &http, "");
    let again = tandem_app::report::send_week(&store, &s, team, week)
        .await
        .unwrap();
    let results: Vec<(&str, &str)> = again
        .outcomes
        .iter()
        .map(|o| (o.channel.as_str(), o.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("email", "sent"),
            ("email", "sent"),
            ("slack", "skipped"),
            ("webhook", "sent")
        ]
    );
    assert_eq!(mails.lock().unwrap().len(), 2);
    assert_eq!(inbox.lock().unwrap().slack.len(), 1);
}

async fn two_replicas_send_one_scheduled_report(engine: EngineKind) {
    let (db, store, team) = demo(engine).await;
    let (smtp_port, mails) = smtp_sink().await;
    let inbox: Shared = Arc::default();
    let http = receiver(inbox.clone()).await;
    // Every minute, sent without approval; the schedulers tick every second.
    let s = settings(&db.url, smtp_port, &http, "");
    store
        .put_report_schedule(&tandem_store::ReportSchedule {
            team_id: team,
            cron: "* * * * *".into(),
            auto_send: true,
            email_to: vec!["ana@example.com".into()],
            updated_at: Some(Utc::now()),
        })
        .await
        .unwrap();
    // A report every minute, whatever the hour (notify.rs tests the timing).
    crate::support::always_open(&store).await;
    let mut s = s;
    s.report.scheduler_interval_seconds = 1;
    // Two replicas, each with its own pool on the same database.
    let mut servers = Vec::new();
    for _ in 0..2 {
        let replica = db.store().await;
        let state = tandem_server::AppState::new(replica, s.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tandem_server::launch(state, listener, async {
            let _ = rx.await;
        }));
        servers.push((tx, task));
    }
    // Wait until the current week's report went out, then a few more ticks.
    // The scheduler's week is the team's, in the team's time zone.
    let tz: chrono_tz::Tz = db
        .store()
        .await
        .get_team(team)
        .await
        .unwrap()
        .timezone
        .parse()
        .unwrap();
    let week = report::week_label(Utc::now().with_timezone(&tz).date_naive().iso_week());
    let mut waited = 0;
    while mails.lock().unwrap().is_empty() && waited < 300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (tx, task) in servers {
        let _ = tx.send(());
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        mails.lock().unwrap().len(),
        1,
        "one e-mail, not one per replica"
    );
    assert_eq!(inbox.lock().unwrap().slack.len(), 1);
    assert_eq!(inbox.lock().unwrap().hooks.len(), 1);
    let store = db.store().await;
    let deliveries = store.list_report_deliveries(team, &week).await.unwrap();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| d.attempts == 1));
    assert!(
        store
            .list_archive(Some(team))
            .await
            .unwrap()
            .iter()
            .any(|a| a.week == week)
    );
}

pub(crate) use tandem_testkit::s3::S3Server;

pub(crate) async fn s3_server() -> S3Server {
    S3Server::start().await
}

async fn sent_reports_are_uploaded_to_s3(engine: EngineKind) {
    let (db, store, team) = demo(engine).await;
    let (smtp_port, _mails) = smtp_sink().await;
    let inbox: Shared = Arc::default();
    let http = receiver(inbox.clone()).await;
    let s3 = s3_server().await;
    // object_store cannot create buckets: a plain HTTP PUT does.
    let bucket = format!("tandem-{}", uuid::Uuid::now_v7().simple());
    let client = reqwest::Client::new();
    let r = client
        .put(format!("{}/{bucket}", s3.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create the bucket: {}", r.status());
    let extra = format!(
        "[report.s3]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\naccess_key_id = \"test\"\n\
         secret_access_key = \"test\"\nallow_http = true\n",
        s3.url
    );
    let s = settings(&db.url, smtp_port, &http, &extra);
    let week = last_week();
    let label = report::week_label(week);
    let result = tandem_app::report::send_week(&store, &s, team, week)
        .await
        .unwrap();
    assert!(result.archived);
    let archived = store.archived_report(team, &label).await.unwrap();
    let prefix = archived.object_prefix.clone().expect("uploaded");
    assert_eq!(prefix, format!("reports/payments/{label}"));
    // Read back with signed requests, as any S3 client would.
    let bucket_store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_endpoint(&s3.url)
        .with_allow_http(true)
        .build()
        .unwrap();
    let get = |name: &str| {
        let path = object_store::path::Path::from(format!("{prefix}/{name}"));
        let store = &bucket_store;
        async move {
            use object_store::ObjectStoreExt;
            store
                .get(&path)
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"))
                .bytes()
                .await
                .unwrap()
        }
    };
    assert_eq!(get("report.md").await, archived.markdown.as_bytes());
    assert_eq!(get("report.html").await, archived.html.as_bytes());
    assert_eq!(get("report.txt").await, archived.text.as_bytes());
    let json: serde_json::Value = serde_json::from_slice(&get("report.json").await).unwrap();
    assert_eq!(json, archived.report);
    let png = get("chart0.png").await;
    assert!(image::load_from_memory(&png).is_ok());

    // A bucket that does not exist: the send still succeeds, the report is
    // archived in the database without an object prefix.
    let extra = format!(
        "[report.s3]\nbucket = \"missing-{bucket}\"\nendpoint = \"{}\"\naccess_key_id = \"test\"\n\
         secret_access_key = \"test\"\nallow_http = true\n",
        s3.url
    );
    let s = settings(&db.url, smtp_port, &http, &extra);
    let other = (Utc::now().date_naive() - chrono::Duration::days(14)).iso_week();
    let result = tandem_app::report::send_week(&store, &s, team, other)
        .await
        .unwrap();
    assert!(result.archived);
    let archived = store
        .archived_report(team, &report::week_label(other))
        .await
        .unwrap();
    assert_eq!(archived.object_prefix, None);
}

/// A `moto_server` of this test's own on `port` (this test stops and
/// starts it, so never the shared one of `TANDEM_TEST_S3_URL`), up.
async fn own_moto(port: u16) -> S3Server {
    S3Server::own(port).await
}

/// Issue 18, defect 8: an archive upload that fails (S3 down while the
/// report is sent) is retried with growing delays until it succeeds, and
/// then the objects are the archived forms. The clock is injected
/// (`retry_due(…, now)`).
async fn failed_archive_uploads_are_retried_with_backoff(engine: EngineKind) {
    use tandem_app::report::archive::{RetryReport, retry_delay, retry_due};
    let (db, store, team) = demo(engine).await;
    let (smtp_port, _mails) = smtp_sink().await;
    let inbox: Shared = Arc::default();
    let http = receiver(inbox.clone()).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bucket = format!("tandem-{}", uuid::Uuid::now_v7().simple());
    let url = format!("http://127.0.0.1:{port}");
    let extra = format!(
        "[report.s3]\nbucket = \"{bucket}\"\nendpoint = \"{url}\"\naccess_key_id = \"test\"\n\
         secret_access_key = \"test\"\nallow_http = true\n"
    );
    let s = settings(&db.url, smtp_port, &http, &extra);
    let week = last_week();
    let label = report::week_label(week);

    // S3 down while the report is sent: delivered and archived in the
    // database, the upload due again in a minute.
    let result = tandem_app::report::send_week(&store, &s, team, week)
        .await
        .unwrap();
    assert!(result.archived);
    let archived = store.archived_report(team, &label).await.unwrap();
    assert_eq!(archived.object_prefix, None);
    let pending = store.pending_archive_uploads().await.unwrap();
    assert_eq!(pending.len(), 1);
    let (id, attempts, due, error) = pending[0].clone();
    assert_eq!((id, attempts), (archived.id, 1));
    assert!(error.contains(&bucket), "{error}");
    let now = Utc::now();
    assert!(due > now && due <= now + retry_delay(1), "{due}");

    // Not due yet: nothing tried.
    assert_eq!(
        retry_due(&store, &s, now).await.unwrap(),
        RetryReport::default()
    );
    // Due, still down: counted, due again after a doubled delay.
    let later = now + retry_delay(1);
    let r = retry_due(&store, &s, later).await.unwrap();
    assert_eq!((r.uploaded, r.failed), (0, 1));
    let (_, attempts, due, _) = store.pending_archive_uploads().await.unwrap()[0].clone();
    assert_eq!(attempts, 2);
    assert_eq!(due, tandem_domain::time::micros(later + retry_delay(2)));

    // S3 back (moto keeps nothing over a restart: the bucket is created
    // again, as an operator would have it).
    let s3 = own_moto(port).await;
    let r = reqwest::Client::new()
        .put(format!("{}/{bucket}", s3.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create the bucket: {}", r.status());
    // Down once more, then up again: the retry waits for its delay.
    drop(s3);
    let r = retry_due(&store, &s, later + retry_delay(2)).await.unwrap();
    assert_eq!((r.uploaded, r.failed), (0, 1));
    let s3 = own_moto(port).await;
    let r = reqwest::Client::new()
        .put(format!("{}/{bucket}", s3.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, attempts, due, _) = store.pending_archive_uploads().await.unwrap()[0].clone();
    assert_eq!(attempts, 3);
    assert_eq!(
        retry_due(&store, &s, due - chrono::Duration::seconds(1))
            .await
            .unwrap(),
        RetryReport::default(),
        "not before its time"
    );
    let r = retry_due(&store, &s, due).await.unwrap();
    assert_eq!(
        (r.uploaded, r.failed),
        (1, 0),
        "{:?}",
        store.pending_archive_uploads().await.unwrap()
    );
    assert!(store.pending_archive_uploads().await.unwrap().is_empty());
    let archived = store.archived_report(team, &label).await.unwrap();
    let prefix = archived
        .object_prefix
        .clone()
        .expect("uploaded on the retry");
    assert_eq!(prefix, format!("reports/payments/{label}"));
    let bucket_store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_endpoint(&s3.url)
        .with_allow_http(true)
        .build()
        .unwrap();
    let get = |name: &str| {
        let path = object_store::path::Path::from(format!("{prefix}/{name}"));
        let store = &bucket_store;
        async move {
            use object_store::ObjectStoreExt;
            store
                .get(&path)
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"))
                .bytes()
                .await
                .unwrap()
        }
    };
    assert_eq!(get("report.md").await, archived.markdown.as_bytes());
    assert_eq!(get("report.html").await, archived.html.as_bytes());
    let json: serde_json::Value = serde_json::from_slice(&get("report.json").await).unwrap();
    assert_eq!(json, archived.report);
    assert!(image::load_from_memory(&get("chart0.png").await).is_ok());
    // Nothing left: the next run does nothing.
    assert_eq!(
        retry_due(&store, &s, due + chrono::Duration::days(1))
            .await
            .unwrap(),
        RetryReport::default()
    );
}

/// The schedule driven with an injected clock (`schedule::tick(…, now)`).
async fn the_schedule_drafts_ahead_holds_for_approval_and_catches_up_once(engine: EngineKind) {
    use chrono::TimeZone;
    use tandem_app::report::schedule::tick;
    let (db, store, team) = demo(engine).await;
    let (smtp_port, mails) = smtp_sink().await;
    let inbox: Shared = Arc::default();
    let http = receiver(inbox.clone()).await;
    let s = settings(&db.url, smtp_port, &http, "");
    let tz = store.get_team(team).await.unwrap().timezone;
    let tz: chrono_tz::Tz = tz.parse().unwrap();
    // Default schedule: Fridays 16:00 in the team's zone, held for approval.
    assert_eq!(s.report.schedule, "0 16 * * 5");
    assert!(!s.report.auto_send);
    let local = |d: u32, h: u32| {
        tz.with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    // (The demo has several teams; each tick serves all of them, so the
    // checks below look at this team's rows.)
    let outcome = |week: &'static str| {
        let store = store.clone();
        async move { store.report_run_outcome(team, week).await.unwrap() }
    };
    // Thursday 20:00: the draft of W47 is created ahead (24 h before).
    let r = tick(&store, &s, "a", local(19, 20)).await.unwrap();
    assert!(r.drafts_created >= 1, "{r:?}");
    assert!(store.find_draft(team, "2026-W47").await.unwrap().is_some());
    assert_eq!(outcome("2026-W47").await, None, "not due yet");
    // Friday 16:01: due, not approved: held, nothing sent, and not again.
    tick(
        &store,
        &s,
        "a",
        local(20, 16) + chrono::Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(outcome("2026-W47").await, Some(Some("held".to_owned())));
    let r = tick(&store, &s, "b", local(20, 17)).await.unwrap();
    assert_eq!(r.sent, 0, "{r:?}");
    assert_eq!(outcome("2026-W47").await, Some(Some("held".to_owned())));
    assert!(mails.lock().unwrap().is_empty());

    // Next week the team sends automatically. The replicas were down at
    // Friday 16:00; at Saturday 09:00 the missed send is caught up once.
    store
        .put_report_schedule(&tandem_store::ReportSchedule {
            team_id: team,
            cron: "0 16 * * 5".into(),
            auto_send: true,
            email_to: vec!["ana@example.com".into()],
            updated_at: Some(Utc::now()),
        })
        .await
        .unwrap();
    let r = tick(&store, &s, "a", local(28, 9)).await.unwrap();
    assert_eq!(r.sent, 1, "only this team sends automatically: {r:?}");
    for (who, day, hour) in [("b", 28, 10), ("a", 29, 12), ("b", 30, 8)] {
        let r = tick(&store, &s, who, local(day, hour)).await.unwrap();
        assert_eq!(r.sent, 0, "{who} {day} {hour}: {r:?}");
    }
    assert_eq!(mails.lock().unwrap().len(), 1);
    assert_eq!(inbox.lock().unwrap().slack.len(), 1);
    let draft = store.find_draft(team, "2026-W48").await.unwrap().unwrap();
    assert_eq!(draft.status, report::DraftStatus::Sent);
    assert_eq!(
        store.report_run_outcome(team, "2026-W48").await.unwrap(),
        Some(Some("sent".to_owned()))
    );
}
