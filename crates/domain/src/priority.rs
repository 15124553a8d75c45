//! Prioritisation: the essay's impact × complexity matrix, the rule that a
//! critical production bug is always P0, and an explanation of where every
//! priority came from.
//!
//! The default matrix (impact down, complexity across):
//!
//! | impact \ complexity | low | medium | high |
//! |---------------------|-----|--------|------|
//! | high                | P0  | P1     | P1   |
//! | medium              | P1  | P2     | P2   |
//! | low                 | P2  | P3     | P3   |
//!
//! The corners are the essay's: high impact + low complexity = P0, high +
//! high = P1 (break it into parts), low + low = P2 (quick wins), low + high =
//! P3 (postpone); its examples give medium + high = P2 and low + medium = P3.
//! The other medium cells sit between their neighbours: high + medium is P1
//! (valuable, but not a quick fix), medium + low is P1 (cheap and worth
//! doing soon), medium + medium is P2.
//!
//! A **critical production bug** is a work item of kind `incident` (whatever
//! its ratings), or of kind `bug` rated impact `high`. It is P0 whatever the
//! matrix says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};
use crate::risk::Level;
use crate::work_item::{NewWorkItem, Priority, WorkItem, WorkKind};

/// The matrix as configuration writes it: impact level → complexity level →
/// priority, e.g. `high = { low = "P0", medium = "P1", high = "P1" }`.
pub type MatrixTable = BTreeMap<String, BTreeMap<String, String>>;

/// An organisation's impact × complexity matrix: every one of the nine cells
/// holds a priority. Built only through [`Matrix::from_table`] (or the
/// default), so a `Matrix` is always complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MatrixTable", into = "MatrixTable")]
pub struct Matrix {
    /// `cells[impact][complexity]`, levels indexed low, medium, high.
    cells: [[Priority; 3]; 3],
}

const LEVELS: [Level; 3] = [Level::Low, Level::Medium, Level::High];

fn index(level: Level) -> usize {
    match level {
        Level::Low => 0,
        Level::Medium => 1,
        Level::High => 2,
    }
}

impl Default for Matrix {
    /// The essay's matrix, with the medium cells filled in (see the module
    /// documentation).
    fn default() -> Self {
        use Priority::*;
        Matrix {
            cells: [
                // impact low: complexity low, medium, high
                [P2, P3, P3],
                // impact medium
                [P1, P2, P2],
                // impact high
                [P0, P1, P1],
            ],
        }
    }
}

impl Matrix {
    /// The priority in the cell for this impact and complexity.
    pub fn get(&self, impact: Level, complexity: Level) -> Priority {
        self.cells[index(impact)][index(complexity)]
    }

    /// Reads a configured matrix. Every cell must be present, every level
    /// must be `low`, `medium` or `high` and every priority `P0`–`P3`; each
    /// problem is reported with its cell as `impact.complexity` (e.g.
    /// `high.low`).
    pub fn from_table(table: &MatrixTable) -> Result<Matrix, DomainError> {
        let mut p = Problems::new();
        let mut cells: [[Option<Priority>; 3]; 3] = [[None; 3]; 3];
        for (impact, row) in table {
            let Ok(i) = impact.parse::<Level>() else {
                p.push(
                    impact.clone(),
                    format!("{impact:?} is not an impact level; use low, medium or high"),
                );
                continue;
            };
            for (complexity, priority) in row {
                let cell = format!("{impact}.{complexity}");
                let Ok(c) = complexity.parse::<Level>() else {
                    p.push(
                        cell,
                        format!(
                            "{complexity:?} is not a complexity level; use low, medium or high"
                        ),
                    );
                    continue;
                };
                match priority.parse::<Priority>() {
                    Ok(v) => cells[index(i)][index(c)] = Some(v),
                    Err(e) => p.push(cell, format!("the priority {e}")),
                }
            }
        }
        for i in LEVELS {
            for c in LEVELS {
                let present = table
                    .get(i.as_str())
                    .is_some_and(|row| row.contains_key(c.as_str()));
                if !present {
                    p.push(
                        format!("{i}.{c}"),
                        format!(
                            "the cell for impact {i} × complexity {c} is missing; the matrix needs all nine cells"
                        ),
                    );
                }
            }
        }
        p.into_result()?;
        let mut out = Matrix::default();
        for i in LEVELS {
            for c in LEVELS {
                if let Some(v) = cells[index(i)][index(c)] {
                    out.cells[index(i)][index(c)] = v;
                }
            }
        }
        Ok(out)
    }

    /// The matrix as configuration writes it.
    pub fn to_table(&self) -> MatrixTable {
        LEVELS
            .iter()
            .map(|&i| {
                let row = LEVELS
                    .iter()
                    .map(|&c| (c.to_string(), self.get(i, c).to_string()))
                    .collect();
                (i.to_string(), row)
            })
            .collect()
    }
}

impl TryFrom<MatrixTable> for Matrix {
    type Error = DomainError;

    fn try_from(table: MatrixTable) -> Result<Self, Self::Error> {
        Matrix::from_table(&table)
    }
}

impl From<Matrix> for MatrixTable {
    fn from(m: Matrix) -> Self {
        m.to_table()
    }
}

/// A work item of kind `incident`, or a `bug` rated impact `high`.
pub fn is_critical_production_bug(kind: WorkKind, impact: Option<Level>) -> bool {
    match kind {
        WorkKind::Incident => true,
        WorkKind::Bug => impact == Some(Level::High),
        _ => false,
    }
}

/// Which rule gives a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    CriticalBug,
    Matrix(Level, Level),
}

impl Rule {
    fn describe(self, priority: Priority) -> String {
        match self {
            Rule::CriticalBug => format!("critical production bug → {priority}"),
            Rule::Matrix(i, c) => format!("matrix: impact {i} × complexity {c} → {priority}"),
        }
    }

    fn short(self) -> &'static str {
        match self {
            Rule::CriticalBug => "the critical production bug rule",
            Rule::Matrix(..) => "the matrix",
        }
    }
}

fn rule_for(
    kind: WorkKind,
    impact: Option<Level>,
    complexity: Option<Level>,
    matrix: &Matrix,
) -> Option<(Priority, Rule)> {
    if is_critical_production_bug(kind, impact) {
        return Some((Priority::P0, Rule::CriticalBug));
    }
    let (i, c) = (impact?, complexity?);
    Some((matrix.get(i, c), Rule::Matrix(i, c)))
}

/// The priority the rules give: P0 for a critical production bug, else the
/// matrix cell when both impact and complexity are rated, else none (the
/// item's priority is then whatever a person sets).
pub fn rule_priority(
    kind: WorkKind,
    impact: Option<Level>,
    complexity: Option<Level>,
    matrix: &Matrix,
) -> Option<Priority> {
    rule_for(kind, impact, complexity, matrix).map(|(p, _)| p)
}

/// The priority a new item gets: the one its input names, else what the
/// rules give (none when they give nothing; `into_item` then uses P2).
pub fn default_priority(new: &NewWorkItem, matrix: &Matrix) -> Option<Priority> {
    new.priority
        .or_else(|| rule_priority(new.kind, new.impact, new.complexity, matrix))
}

/// Where an item's priority comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriorityExplanation {
    /// The item's priority.
    pub priority: Priority,
    /// The rule that produced it, in words: `matrix: impact high × complexity
    /// low → P0`, `critical production bug → P0`, `set by hand (matrix would
    /// give P1)` or `no impact/complexity: set by hand`.
    pub rule: String,
    /// What the rules give, when they give anything.
    pub rule_priority: Option<Priority>,
    /// True when the priority differs from what the rules give, or no rule
    /// applies.
    pub set_by_hand: bool,
}

/// Explains an item's priority: the rule that gives it, or that a person set
/// it (and what the rules would have given).
pub fn explain(item: &WorkItem, matrix: &Matrix) -> PriorityExplanation {
    let priority = item.priority;
    match rule_for(item.kind, item.impact, item.complexity, matrix) {
        Some((by_rule, rule)) if by_rule == priority => PriorityExplanation {
            priority,
            rule: rule.describe(priority),
            rule_priority: Some(by_rule),
            set_by_hand: false,
        },
        Some((by_rule, rule)) => PriorityExplanation {
            priority,
            rule: format!("set by hand ({} would give {by_rule})", rule.short()),
            rule_priority: Some(by_rule),
            set_by_hand: true,
        },
        None => PriorityExplanation {
            priority,
            rule: "no impact/complexity: set by hand".to_owned(),
            rule_priority: None,
            set_by_hand: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::{High, Low, Medium};
    use Priority::*;

    fn item(kind: WorkKind, impact: Option<Level>, complexity: Option<Level>) -> WorkItem {
        new(kind, impact, complexity)
            .into_item(uuid::Uuid::nil(), chrono::DateTime::UNIX_EPOCH)
            .unwrap()
    }

    fn new(kind: WorkKind, impact: Option<Level>, complexity: Option<Level>) -> NewWorkItem {
        NewWorkItem {
            impact,
            complexity,
            ..NewWorkItem::new(uuid::Uuid::nil(), "x", kind)
        }
    }

    fn table(rows: &[(&str, &[(&str, &str)])]) -> MatrixTable {
        rows.iter()
            .map(|(i, cells)| {
                (
                    (*i).to_owned(),
                    cells
                        .iter()
                        .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_default_matrix_cell_by_cell() {
        let m = Matrix::default();
        let expected = [
            (High, Low, P0),
            (High, Medium, P1),
            (High, High, P1),
            (Medium, Low, P1),
            (Medium, Medium, P2),
            (Medium, High, P2),
            (Low, Low, P2),
            (Low, Medium, P3),
            (Low, High, P3),
        ];
        for (i, c, p) in expected {
            assert_eq!(m.get(i, c), p, "impact {i} × complexity {c}");
            let mut w = item(WorkKind::Feature, Some(i), Some(c));
            w.priority = p;
            let e = explain(&w, &m);
            assert_eq!(e.rule, format!("matrix: impact {i} × complexity {c} → {p}"));
            assert!(!e.set_by_hand);
        }
    }

    #[test]
    fn critical_production_bugs_are_p0() {
        let m = Matrix::default();
        for (kind, impact, complexity) in [
            (WorkKind::Incident, None, None),
            (WorkKind::Incident, Some(Low), Some(High)),
            (WorkKind::Bug, Some(High), Some(High)),
        ] {
            assert_eq!(rule_priority(kind, impact, complexity, &m), Some(P0));
            let mut w = item(kind, impact, complexity);
            w.priority = P0;
            assert_eq!(explain(&w, &m).rule, "critical production bug → P0");
        }
        // A bug of medium impact follows the matrix.
        assert!(!is_critical_production_bug(WorkKind::Bug, Some(Medium)));
        assert_eq!(
            rule_priority(WorkKind::Bug, Some(Medium), Some(Low), &m),
            Some(P1)
        );
        let mut w = item(WorkKind::Incident, Some(Medium), Some(Low));
        w.priority = P1;
        let e = explain(&w, &m);
        assert_eq!(
            e.rule,
            "set by hand (the critical production bug rule would give P0)"
        );
        assert!(e.set_by_hand);
    }

    #[test]
    fn hand_set_and_unrated_priorities_say_so() {
        let m = Matrix::default();
        let mut w = item(WorkKind::Feature, Some(High), Some(High));
        w.priority = P3;
        let e = explain(&w, &m);
        assert_eq!(e.rule, "set by hand (the matrix would give P1)");
        assert_eq!((e.priority, e.rule_priority), (P3, Some(P1)));

        let w = item(WorkKind::Debt, Some(High), None);
        let e = explain(&w, &m);
        assert_eq!(e.rule, "no impact/complexity: set by hand");
        assert_eq!(e.rule_priority, None);
        assert_eq!(rule_priority(WorkKind::Debt, None, Some(Low), &m), None);
    }

    #[test]
    fn new_items_take_the_rules_priority_unless_given_one() {
        let m = Matrix::default();
        let mut n = new(WorkKind::Feature, Some(High), Some(Low));
        assert_eq!(default_priority(&n, &m), Some(P0));
        n.priority = Some(P3);
        assert_eq!(default_priority(&n, &m), Some(P3));
        assert_eq!(
            default_priority(&new(WorkKind::Feature, Some(High), None), &m),
            None
        );
        assert_eq!(
            default_priority(&new(WorkKind::Incident, None, None), &m),
            Some(P0)
        );
    }

    #[test]
    fn a_configured_matrix_is_used_and_round_trips() {
        let mut t = Matrix::default().to_table();
        t.get_mut("low").unwrap().insert("low".into(), "P3".into());
        t.get_mut("high")
            .unwrap()
            .insert("high".into(), "P0".into());
        let m = Matrix::from_table(&t).unwrap();
        assert_eq!(m.get(Low, Low), P3);
        assert_eq!(m.get(High, High), P0);
        assert_eq!(m.get(Medium, Medium), P2);
        assert_eq!(m.to_table(), t);
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(json["high"]["high"], "P0");
        let back: Matrix = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        let mut w = item(WorkKind::Chore, Some(Low), Some(Low));
        w.priority = P3;
        assert_eq!(
            explain(&w, &m).rule,
            "matrix: impact low × complexity low → P3"
        );
    }

    #[test]
    fn an_invalid_matrix_names_each_bad_cell() {
        let full: Vec<(&str, &str)> = vec![("low", "P2"), ("medium", "P2"), ("high", "P2")];
        // A missing cell.
        let t = table(&[
            ("low", &full),
            ("medium", &full),
            ("high", &[("low", "P0"), ("medium", "P1")]),
        ]);
        let err = Matrix::from_table(&t).unwrap_err();
        assert_eq!(err.fields(), vec!["high.high"]);
        assert!(
            err.to_string()
                .contains("impact high × complexity high is missing")
        );

        // An unknown priority and an unknown complexity.
        let t = table(&[
            ("low", &full),
            ("medium", &[("low", "P5"), ("medium", "P2"), ("high", "P2")]),
            (
                "high",
                &[
                    ("low", "P0"),
                    ("medium", "P1"),
                    ("high", "P1"),
                    ("huge", "P1"),
                ],
            ),
        ]);
        let err = Matrix::from_table(&t).unwrap_err();
        assert_eq!(err.fields(), vec!["high.huge", "medium.low"]);
        assert!(
            err.to_string()
                .contains("\"P5\" is not one of: P0, P1, P2, P3"),
            "{err}"
        );

        // An unknown impact level: its row counts as absent.
        let t = table(&[("low", &full), ("medium", &full), ("critical", &full)]);
        let err = Matrix::from_table(&t).unwrap_err();
        assert_eq!(
            err.fields(),
            vec!["critical", "high.low", "high.medium", "high.high"]
        );
        assert!(serde_json::from_value::<Matrix>(serde_json::json!({"low": {}})).is_err());
    }
}
