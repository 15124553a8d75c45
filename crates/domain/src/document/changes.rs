//! Goal versions in words: what changed, as lines a person reads
//! ("timeline.deadline: 2026-12-01 → 2026-12-15"), and the net change
//! between any two versions.
//!
//! A [`GoalVersion`] records whole agreement fields (`timeline`,
//! `success_metrics`, …) before and after. [`describe`] walks into them and
//! names the leaves that differ; lists of names and hypotheses are described
//! as additions and removals, multi-line text as removed and added lines.
//!
//! [`between`] compares two versions without rebuilding the goal: each
//! version's changes start from the state the version before it left, so for
//! every field touched between `from` and `to` the net change is the `before`
//! of its first change after `from` and the `after` of its last change up to
//! `to` (and nothing, if those are equal).

use serde_json::Value;

use crate::error::DomainError;
use crate::goal::{FieldChange, GoalVersion};

/// Fields of nested objects in the order people read them; others follow
/// alphabetically.
const KEY_ORDER: [&str; 11] = [
    "metric",
    "metric_key",
    "baseline",
    "target",
    "direction",
    "unit",
    "deadline",
    "starts_on",
    "owner",
    "requester",
    "contributors",
];

/// Readable lines for a version's changes, in the order of the changes.
pub fn describe(changes: &[FieldChange]) -> Vec<String> {
    let mut out = Vec::new();
    for c in changes {
        describe_value(&c.field, &c.before, &c.after, &mut out);
    }
    out
}

fn describe_value(path: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_by_key(|k| {
                (
                    KEY_ORDER
                        .iter()
                        .position(|o| o == k)
                        .unwrap_or(KEY_ORDER.len()),
                    k.as_str(),
                )
            });
            keys.dedup();
            for k in keys {
                describe_value(
                    &format!("{path}.{k}"),
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(Value::is_string) => {
            describe_list(path, a, b, out);
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let item = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => describe_value(&item, x, y, out),
                    (None, Some(y)) => out.push(format!("{item}: added {}", summary(y))),
                    (Some(x), None) => out.push(format!("{item}: removed {}", summary(x))),
                    (None, None) => {}
                }
            }
        }
        (Value::String(a), Value::String(b)) if a.contains('\n') || b.contains('\n') => {
            out.push(format!("{path}:"));
            let (a, b): (Vec<&str>, Vec<&str>) = (a.split('\n').collect(), b.split('\n').collect());
            for edit in sequence_diff(&a, &b) {
                match edit {
                    Edit::Removed(line) => out.push(format!("  - {line}")),
                    Edit::Added(line) => out.push(format!("  + {line}")),
                    Edit::Kept(_) => {}
                }
            }
        }
        _ => out.push(format!("{path}: {} → {}", scalar(before), scalar(after))),
    }
}

/// A list of texts (hypotheses, contributors): what was added and removed
/// (an entry that moved shows as removed and added).
fn describe_list(path: &str, a: &[Value], b: &[Value], out: &mut Vec<String>) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let (a, b): (Vec<String>, Vec<String>) =
        (a.iter().map(text).collect(), b.iter().map(text).collect());
    for edit in sequence_diff(&a, &b) {
        match edit {
            Edit::Removed(s) => out.push(format!("{path}: removed {}", quoted(s))),
            Edit::Added(s) => out.push(format!("{path}: added {}", quoted(s))),
            Edit::Kept(_) => {}
        }
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace(['\r', '\n'], " "))
}

/// One value on one line: strings as they are, numbers as people write them,
/// nothing as "none".
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::String(s) if s.is_empty() => "\"\"".to_owned(),
        Value::String(s) => s.replace(['\r', '\n'], " "),
        Value::Number(n) => n
            .as_f64()
            .map(super::number)
            .unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// A short description of a list entry, e.g. a success metric.
fn summary(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return scalar(v);
    };
    let Some(metric) = m.get("metric").and_then(Value::as_str) else {
        return v.to_string();
    };
    let mut parts = Vec::new();
    for key in ["baseline", "target"] {
        if let Some(n) = m.get(key).filter(|n| !n.is_null()) {
            parts.push(format!("{key} {}", scalar(n)));
        }
    }
    if let Some(u) = m
        .get("unit")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        parts.push(u.to_owned());
    }
    if let Some(d) = m.get("deadline").and_then(Value::as_str) {
        parts.push(format!("by {d}"));
    }
    if parts.is_empty() {
        quoted(metric)
    } else {
        format!("{} ({})", quoted(metric), parts.join(", "))
    }
}

#[derive(Debug, PartialEq)]
enum Edit<'a, T> {
    Kept(&'a T),
    Removed(&'a T),
    Added(&'a T),
}

/// The edits that turn `a` into `b`: a longest common subsequence after the
/// common prefix and suffix; for very long inputs, the middle is simply
/// removed and added.
fn sequence_diff<'a, T: PartialEq>(a: &'a [T], b: &'a [T]) -> Vec<Edit<'a, T>> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<Edit<'a, T>> = a[..prefix].iter().map(Edit::Kept).collect();
    if ma.len().saturating_mul(mb.len()) > 4_000_000 {
        out.extend(ma.iter().map(Edit::Removed));
        out.extend(mb.iter().map(Edit::Added));
    } else {
        // lcs[i][j]: the LCS length of ma[i..] and mb[j..].
        let (n, m) = (ma.len(), mb.len());
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        let at = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[at(i, j)] = if ma[i] == mb[j] {
                    lcs[at(i + 1, j + 1)] + 1
                } else {
                    lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && ma[i] == mb[j] {
                out.push(Edit::Kept(&ma[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
                out.push(Edit::Removed(&ma[i]));
                i += 1;
            } else {
                out.push(Edit::Added(&mb[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(Edit::Kept));
    out
}

/// The net change from version `from` to version `to` of one goal, given its
/// recorded versions (any order). Version 0 is the goal as it was just before
/// it was agreed (draft edits are not versioned); `from` may be after `to`,
/// which gives the change back. Errors name `from` or `to` when a version
/// does not exist.
pub fn between(
    versions: &[GoalVersion],
    from: i32,
    to: i32,
) -> Result<Vec<FieldChange>, DomainError> {
    let latest = versions.iter().map(|v| v.version).max().unwrap_or(0);
    for (field, v) in [("from", from), ("to", to)] {
        if !(0..=latest).contains(&v) {
            return Err(DomainError::invalid(
                field,
                format!("there is no version {v}; the goal has versions 0 to {latest}"),
            ));
        }
    }
    let (low, high) = (from.min(to), from.max(to));
    let mut chain: Vec<&GoalVersion> = versions
        .iter()
        .filter(|v| v.version > low && v.version <= high)
        .collect();
    chain.sort_by_key(|v| v.version);
    for (expected, v) in
        (low + 1..=high).zip(chain.iter().map(|v| v.version).chain(std::iter::repeat(-1)))
    {
        if v != expected {
            return Err(DomainError::invalid(
                "versions",
                format!("version {expected} is missing from the goal's history"),
            ));
        }
    }
    let mut net: Vec<FieldChange> = Vec::new();
    for v in chain {
        for c in &v.changes {
            match net.iter_mut().find(|n| n.field == c.field) {
                Some(n) => n.after = c.after.clone(),
                None => net.push(c.clone()),
            }
        }
    }
    net.retain(|c| c.before != c.after);
    if from > to {
        for c in &mut net {
            std::mem::swap(&mut c.before, &mut c.after);
        }
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use uuid::Uuid;

    fn change(field: &str, before: Value, after: Value) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            before,
            after,
        }
    }

    fn version(n: i32, changes: Vec<FieldChange>) -> GoalVersion {
        GoalVersion {
            goal_id: Uuid::nil(),
            version: n,
            changed_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
            changed_by: "ana".into(),
            action: if n == 1 { "agree" } else { "edit" }.into(),
            changes,
        }
    }

    fn metric(target: f64) -> Value {
        json!({"metric": "p95 latency", "metric_key": null, "baseline": 500.0, "target": target,
               "direction": "down", "unit": "ms", "deadline": "2026-12-15"})
    }

    #[test]
    fn describes_leaves_lists_and_text() {
        let lines = describe(&[
            change("title", json!("Faster list"), json!("Fast list")),
            change(
                "timeline",
                json!({"starts_on": null, "deadline": "2026-12-01"}),
                json!({"starts_on": "2026-11-01", "deadline": "2026-12-15"}),
            ),
            change(
                "success_metrics",
                json!([metric(300.0)]),
                json!([metric(250.0), metric(200.0)]),
            ),
            change("hypotheses", json!(["a", "b"]), json!(["b", "c"])),
            change(
                "parties",
                json!({"owner": "Ana", "requester": null, "contributors": ["Cy"]}),
                json!({"owner": "Bo", "requester": null, "contributors": ["Cy", "Di"]}),
            ),
            change(
                "business_goal",
                json!("one\ntwo\nthree"),
                json!("one\n2\nthree\nfour"),
            ),
            change("status", json!("draft"), json!("agreed")),
        ]);
        assert_eq!(
            lines,
            vec![
                "title: Faster list → Fast list",
                "timeline.deadline: 2026-12-01 → 2026-12-15",
                "timeline.starts_on: none → 2026-11-01",
                "success_metrics[0].target: 300 → 250",
                "success_metrics[1]: added \"p95 latency\" (baseline 500, target 200, ms, by 2026-12-15)",
                "hypotheses: removed \"a\"",
                "hypotheses: added \"c\"",
                "parties.owner: Ana → Bo",
                "parties.contributors: added \"Di\"",
                "business_goal:",
                "  - two",
                "  + 2",
                "  + four",
                "status: draft → agreed",
            ]
        );
        assert_eq!(
            describe(&[change("hypotheses", json!(["a", "b"]), json!(["b", "a"]))]),
            vec!["hypotheses: removed \"a\"", "hypotheses: added \"a\""]
        );
    }

    #[test]
    fn between_composes_the_chain_both_ways() {
        let versions = vec![
            version(3, vec![change("title", json!("B"), json!("C"))]),
            version(1, vec![change("status", json!("draft"), json!("agreed"))]),
            version(
                2,
                vec![
                    change("title", json!("A"), json!("B")),
                    change(
                        "timeline",
                        json!({"deadline": "2026-12-01"}),
                        json!({"deadline": "2026-12-15"}),
                    ),
                ],
            ),
            version(
                4,
                vec![change(
                    "timeline",
                    json!({"deadline": "2026-12-15"}),
                    json!({"deadline": "2026-12-01"}),
                )],
            ),
        ];
        assert_eq!(
            between(&versions, 1, 3).unwrap(),
            vec![
                change("title", json!("A"), json!("C")),
                change(
                    "timeline",
                    json!({"deadline": "2026-12-01"}),
                    json!({"deadline": "2026-12-15"})
                ),
            ]
        );
        // Moved and moved back: no net change.
        assert_eq!(
            between(&versions, 1, 4).unwrap(),
            vec![change("title", json!("A"), json!("C"))]
        );
        assert_eq!(
            between(&versions, 3, 1).unwrap()[0],
            change("title", json!("C"), json!("A"))
        );
        assert_eq!(
            between(&versions, 0, 1).unwrap(),
            vec![change("status", json!("draft"), json!("agreed"))]
        );
        assert_eq!(between(&versions, 2, 2).unwrap(), vec![]);
        assert_eq!(between(&versions, 0, 9).unwrap_err().fields(), vec!["to"]);
        assert_eq!(
            between(&versions, -1, 2).unwrap_err().fields(),
            vec!["from"]
        );
        assert_eq!(
            between(&versions[1..], 0, 4).unwrap_err().fields(),
            vec!["versions"]
        );
    }
}
