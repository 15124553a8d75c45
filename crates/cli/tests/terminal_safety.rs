//! Issue 18, defect 6: control, escape and bidi-override characters never
//! reach a terminal. New text carrying them is refused naming the field;
//! text stored before that (or by any other path) is printed escaped.

use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use tandem_domain::user::{ApiToken, Role};
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};

per_engine!(control_characters_are_refused_and_stored_ones_printed_escaped);

fn tandem(dir: &Path, db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(dir)
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .output()
        .expect("run tandem")
}

/// Bytes a terminal acts on: C0 (except line feed), DEL, the UTF-8 form of
/// C1 controls, and the bidi overrides and isolates.
fn terminal_active(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && tandem_domain::text::unsafe_char(c))
        .collect()
}

async fn control_characters_are_refused_and_stored_ones_printed_escaped(engine: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(engine).await;
    let (d, db) = (dir.path(), test_db.url.as_str());
    let out = tandem(d, db, &["migrate"]);
    assert!(out.status.success(), "{out:?}");

    let hostile = "a\u{7}\u{1b}[31m";
    for args in [
        vec!["token", "create", "--name", hostile, "--role", "member"],
        vec![
            "team",
            "create",
            "--key",
            "pay",
            "--name",
            hostile,
            "--timezone",
            "UTC",
        ],
        vec![
            "team",
            "create",
            "--key",
            "pay",
            "--name",
            "Pay\u{202e}stnem",
            "--timezone",
            "UTC",
        ],
    ] {
        let out = tandem(d, db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(err.starts_with("error: name: contains"), "{args:?}: {err}");
        assert!(err.contains("U+0007") || err.contains("U+202E"), "{err}");
        assert!(
            terminal_active(&err).is_empty(),
            "the error repeats the characters: {err:?}"
        );
    }
    let teams = tandem(d, db, &["team", "list", "--format", "json"]);
    assert_eq!(
        String::from_utf8_lossy(&teams.stdout).trim(),
        "[]",
        "nothing stored"
    );

    // A token named before the rule existed (written straight to storage).
    let store = test_db.store().await;
    let token = ApiToken {
        id: uuid::Uuid::now_v7(),
        name: format!("{hostile}\u{202e}txt\u{9b}"),
        prefix: "tdm_abcdef".into(),
        role: Role::Member,
        created_by: None,
        created_at: tandem_domain::time::micros(Utc::now()),
        last_used_at: None,
        revoked_at: None,
    };
    store
        .create_token(&token, "0".repeat(64).as_str())
        .await
        .unwrap();
    let out = tandem(d, db, &["token", "list"]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        terminal_active(&table).is_empty(),
        "raw characters printed: {table:?}"
    );
    assert!(
        table.contains(r"a\u{7}\u{1b}[31m\u{202e}txt\u{9b}"),
        "the name is shown escaped: {table}"
    );
    // JSON output keeps the stored value exactly (JSON escapes it anyway).
    let out = tandem(d, db, &["token", "list", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["name"], token.name.as_str());
}
