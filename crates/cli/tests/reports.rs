//! `tandem report weekly|list|show` on the demo organisation (SQLite; the
//! same store code runs on PostgreSQL in the server's API tests).

use std::path::Path;
use std::process::{Command, Output};

use chrono::Datelike;

fn tandem(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(dir)
        .arg("--database")
        .arg(format!("sqlite://{}", dir.join("t.db").display()))
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .output()
        .expect("run tandem")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

#[test]
fn weekly_report_in_every_format_and_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    ok(&tandem(dir.path(), &["demo"]));
    let w = (chrono::Utc::now().date_naive() - chrono::Duration::days(7)).iso_week();
    let week = format!("{}-W{:02}", w.year(), w.week());
    let weekly = |format: &str| {
        ok(&tandem(
            dir.path(),
            &[
                "report", "weekly", "--team", "payments", "--week", &week, "--format", format,
            ],
        ))
    };
    let html = weekly("html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html:.200}");
    assert!(
        html.contains("src=\"cid:chart0.payments."),
        "charts as inline parts"
    );
    assert!(!html.contains("<style"), "inline CSS only");
    let text = weekly("text");
    assert!(text.contains("Numbers\n-------\n"), "{text}");
    assert!(text.contains("Full report: http"), "{text}");
    let slack: serde_json::Value = serde_json::from_str(&weekly("slack")).expect("Slack JSON");
    let blocks = slack["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    assert_eq!(blocks[0]["type"], "header");

    // Nothing was sent yet.
    let list = ok(&tandem(dir.path(), &["report", "list"]));
    assert_eq!(list.trim(), "No report was sent yet.");
    let out = tandem(
        dir.path(),
        &["report", "show", "--team", "payments", "--week", &week],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no report of payments was sent for {week}")),
        "{err}"
    );
    let out = tandem(
        dir.path(),
        &["report", "weekly", "--team", "payments", "--format", "pdf"],
    );
    assert_eq!(out.status.code(), Some(2), "clap names the allowed formats");
}
