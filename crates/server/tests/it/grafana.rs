//! The Grafana dashboards shipped in deploy/grafana/dashboards: every file
//! is valid JSON with panels, and every PromQL expression of every panel
//! names only series that Tandem's `GET /metrics` exports (the names are
//! collected from a real scrape).

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::Method;
use serde_json::Value;
use tandem_store::EngineKind;
use tandem_testkit::per_engine;

use crate::support::TestApp;

per_engine!(dashboards_query_only_exported_series);

/// Series names of a classic-format scrape: every `# TYPE` family (with a
/// histogram's `_bucket`, `_sum` and `_count`) and every sample's name.
fn exported(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            names.insert(name.to_owned());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// Operators, modifiers and aggregations (which may be written
/// `sum by (x) (…)`, their parenthesis after the grouping).
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
];

/// The metric names an expression reads: identifiers that are not
/// functions (followed by `(`), keywords, label matchers (`{…}`),
/// grouping labels (`by (…)`), ranges (`[5m]`) or strings.
fn series_in(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut grouping = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => {
                while i < chars.len() && chars[i] != '}' {
                    if chars[i] == '"' {
                        i += 1;
                        while i < chars.len() && chars[i] != '"' {
                            i += 1;
                        }
                    }
                    i += 1;
                }
            }
            '[' => {
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
            }
            ')' => grouping = false,
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_alphanumeric()
                        || chars[i + 1] == '_'
                        || chars[i + 1] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..=i].iter().collect();
                let mut j = i + 1;
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                let call = j < chars.len() && chars[j] == '(';
                let lower = word.to_ascii_lowercase();
                if matches!(lower.as_str(), "by" | "without" | "on" | "ignoring") {
                    grouping = true;
                } else if !call && !grouping && !KEYWORDS.contains(&lower.as_str()) {
                    names.push(word);
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number (and a duration's unit, as in `5m`).
                while i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_alphanumeric() || chars[i + 1] == '.')
                {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    names
}

#[test]
fn the_expression_reader_finds_series_and_nothing_else() {
    assert_eq!(
        series_in(r#"histogram_quantile(0.95, sum by (le, route) (rate(x_bucket{a="}"}[5m])))"#),
        vec!["x_bucket"]
    );
    assert_eq!(
        series_in("time() - a_seconds + sum without (job) (b_total) offset 5m"),
        vec!["a_seconds", "b_total"]
    );
}

async fn dashboards_query_only_exported_series(engine: EngineKind) {
    // The whole demo, so every family has samples (a family without any,
    // e.g. lead time before any commit shipped, is not written at all).
    let app = TestApp::start_full_demo(engine).await;
    // A health check that has run, so the check families have samples: a
    // TCP check of the server's own port.
    let own = app.base.trim_start_matches("http://").to_owned();
    app.post(
        &app.manager,
        "/api/v1/checks",
        serde_json::json!({"name": "own-port", "team": "payments", "service": "payments-api",
               "kind": "tcp", "target": own, "interval_seconds": 3600}),
    )
    .await
    .ok(201);
    let run = app
        .post(
            &app.manager,
            "/api/v1/checks/own-port/run",
            serde_json::json!({}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(run["verdict"]["ok"], true, "{run:#}");
    // Once to count a request (the histogram gets samples), then for names.
    app.send(app.request(Method::GET, "/metrics").bearer_auth(&app.admin))
        .await
        .ok(200);
    let text = app
        .send(app.request(Method::GET, "/metrics").bearer_auth(&app.admin))
        .await
        .ok(200)
        .body
        .as_str()
        .expect("text")
        .to_owned();
    let exported = exported(&text);
    assert!(exported.contains("tandem_dora_deployments"), "{exported:?}");
    assert!(exported.contains("tandem_check_up"), "{exported:?}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("deploy/grafana/dashboards")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let name = file.display().to_string();
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        assert!(
            dashboard["uid"].is_string() && dashboard["title"].is_string(),
            "{name}"
        );
        let panels = dashboard["panels"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no panels"));
        assert!(!panels.is_empty(), "{name}");
        for panel in panels {
            let targets = panel["targets"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: {panel}"));
            assert!(!targets.is_empty(), "{name}: a panel without queries");
            for t in targets {
                let expr = t["expr"].as_str().unwrap_or_else(|| panic!("{name}: {t}"));
                let series = series_in(expr);
                assert!(!series.is_empty(), "{name}: {expr:?} reads no series");
                for s in series {
                    assert!(
                        exported.contains(&s),
                        "{name}: {expr:?} reads {s}, which /metrics does not export"
                    );
                }
            }
        }
    }
}
