//! Work items from Jira's CSV export ("Export issues → CSV (all fields)"),
//! mapped by the same functions as the REST import (`crate::jira`).
//!
//! Columns are read by position: the export repeats names (one `Labels`
//! column per label, one `Sprint` per sprint), so every `Labels` column is
//! read and the first of any other name is used. Needed: `Summary`,
//! `Issue key`, `Issue Type`, `Status`, `Created`. Read when present:
//! `Issue id`, `Status Category` (newer exports), `Priority`, `Resolution`,
//! `Updated`, `Resolved`, `Parent` / `Parent id` / `Parent key`,
//! `Custom field (Epic Link)`, `Labels`, `Status Category Changed`. A parent
//! named by issue id is looked up among the rows; when it is not there, or
//! the file has no parent column, the stored link is left as it is.
//!
//! The export has no changelog, so the flow times are approximate: started
//! = `Status Category Changed` of an item in progress now (the last time it
//! changed category, not the first start), nothing for a done item; done =
//! `Resolved`, else `Status Category Changed`. Without a `Status Category`
//! column the category comes from `Resolved` (set → done) and the status
//! name (To Do, Open, Backlog, New, Selected for Development → to do; any
//! other → in progress).
//!
//! Dates are in the exporting user's format and zone (default
//! `%d/%b/%y %l:%M %p`, `12/Mar/24 3:15 PM`, in UTC). Every row is checked
//! first; a file with any bad row stores nothing, and the error names each
//! bad row's line and column.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use tandem_domain::project::Project;
use tandem_store::{ParentLink, Store};
use uuid::Uuid;

use crate::jira::{self, Category, Issue};

/// Jira's default export date format (`dd/MMM/yy h:mm a`).
pub const DEFAULT_DATE_FORMAT: &str = "%d/%b/%y %l:%M %p";

/// At most this many problems are listed in one error.
const MAX_PROBLEMS: usize = 20;

/// What to import.
#[derive(Debug, Clone)]
pub struct JiraCsvImport {
    /// A chrono format of the export's dates.
    pub date_format: String,
    /// The zone the export's dates are in.
    pub timezone: chrono_tz::Tz,
    pub debt_types: Vec<String>,
    pub epic_goals: Vec<(String, Uuid)>,
}

/// One problem of a file: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// The column's name, when the problem is in a cell.
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c:?}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JiraCsvError {
    #[error(
        "the file is not a Jira CSV export; nothing was stored:\n  {}{}",
        .problems.iter().take(MAX_PROBLEMS).map(ToString::to_string).collect::<Vec<_>>().join("\n  "),
        if .problems.len() > MAX_PROBLEMS { format!("\n  … and {} more", .problems.len() - MAX_PROBLEMS) } else { String::new() }
    )]
    Invalid { problems: Vec<CsvProblem> },
    #[error("--epic-goal: {0}")]
    EpicGoal(String),
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JiraCsvSummary {
    /// Rows read, and of them epics (not stored as work items).
    pub rows: u64,
    pub epics: u64,
    /// Work items inserted or changed in this run.
    pub stored: u64,
    /// Parent links added, changed or removed.
    pub parent_links: u64,
    /// Parents named by an id not in the file (their links are not stored).
    pub unresolved_parents: u64,
    /// Items whose goal `--epic-goal` set.
    pub goal_links: u64,
    pub seconds: f64,
}

/// The export's columns, by position.
struct Columns {
    summary: usize,
    key: usize,
    id: Option<usize>,
    issue_type: usize,
    status: usize,
    category: Option<usize>,
    priority: Option<usize>,
    resolution: Option<usize>,
    created: usize,
    updated: Option<usize>,
    resolved: Option<usize>,
    parent: Vec<usize>,
    labels: Vec<usize>,
    category_changed: Option<usize>,
    names: Vec<String>,
}

impl Columns {
    fn read(header: &csv::StringRecord) -> Result<Columns, Vec<CsvProblem>> {
        let names: Vec<String> = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let find = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        let all = |name: &str| -> Vec<usize> {
            names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.eq_ignore_ascii_case(name))
                .map(|(i, _)| i)
                .collect()
        };
        let mut problems = Vec::new();
        let mut need = |name: &str| {
            find(name).unwrap_or_else(|| {
                problems.push(CsvProblem {
                    line: 1,
                    column: Some(name.to_owned()),
                    message: "the header has no such column".to_owned(),
                });
                0
            })
        };
        let summary = need("Summary");
        let key = need("Issue key");
        let issue_type = need("Issue Type");
        let status = need("Status");
        let created = need("Created");
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut parent = Vec::new();
        for name in [
            "Parent key",
            "Parent",
            "Parent id",
            "Custom field (Epic Link)",
        ] {
            parent.extend(all(name));
        }
        Ok(Columns {
            summary,
            key,
            id: find("Issue id"),
            issue_type,
            status,
            category: find("Status Category"),
            priority: find("Priority"),
            resolution: find("Resolution"),
            created,
            updated: find("Updated"),
            resolved: find("Resolved"),
            parent,
            labels: all("Labels"),
            category_changed: find("Status Category Changed"),
            names,
        })
    }
}

/// Status names that are "to do" when the export has no category column.
const TODO_NAMES: [&str; 5] = [
    "to do",
    "open",
    "backlog",
    "new",
    "selected for development",
];

/// An issue of the file before its parent is resolved.
struct Row {
    issue: Issue,
    id: Option<String>,
    parent_ref: Option<String>,
}

/// The 1-based line of the file a byte offset is on (the csv crate's own
/// line count does not count line breaks inside quoted cells). With CRLF
/// endings a record's position can be the `\n` ending the previous line:
/// line breaks at the offset belong before the record. Offsets only grow, so
/// each call counts from where the previous one stopped.
struct Lines<'a> {
    data: &'a [u8],
    counted_to: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(data: &'a [u8]) -> Self {
        Lines {
            data,
            counted_to: 0,
            line: 1,
        }
    }

    fn at(&mut self, byte: u64) -> u64 {
        let data = self.data;
        let mut end = (byte as usize).min(data.len());
        while end < data.len() && matches!(data[end], b'\r' | b'\n') {
            end += 1;
        }
        if end > self.counted_to {
            self.line += data[self.counted_to..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.counted_to = end;
        }
        self.line
    }
}

/// Whether a parent reference is an issue key (`PAY-12`) rather than an id.
fn is_key(text: &str) -> bool {
    text.split_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    })
}

/// Parses a whole export: every row checked, every problem reported.
pub fn parse(data: &[u8], what: &JiraCsvImport) -> Result<Vec<Issue>, Vec<CsvProblem>> {
    parse_counting(data, what).map(|(issues, _)| issues)
}

/// [`parse`], and how many parents were named by an id that no row has
/// (those links cannot be stored: the key is unknown).
fn parse_counting(data: &[u8], what: &JiraCsvImport) -> Result<(Vec<Issue>, u64), Vec<CsvProblem>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(data);
    let header = reader.headers().cloned().map_err(|e| {
        vec![CsvProblem {
            line: 1,
            column: None,
            message: format!("cannot read the header: {e}"),
        }]
    })?;
    let cols = Columns::read(&header)?;
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut lines = Lines::new(data);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| lines.at(p.byte())).unwrap_or(0);
                problems.push(CsvProblem {
                    line,
                    column: None,
                    message: format!("not CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| lines.at(p.byte())).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match row(&record, line, &cols, what) {
            Ok(r) => rows.push(r),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // A parent named by id (newer exports) is looked up among the rows.
    let keys_by_id: HashMap<String, String> = rows
        .iter()
        .filter_map(|r| r.id.clone().map(|id| (id, r.issue.key.clone())))
        .collect();
    let mut unresolved = 0;
    let issues = rows
        .into_iter()
        .map(|mut r| {
            r.issue.parent = match r.parent_ref {
                // No parent column: the file does not say.
                _ if cols.parent.is_empty() => ParentLink::Unknown,
                None => ParentLink::Detached,
                Some(p) if is_key(&p) => ParentLink::Key(p),
                Some(p) => match keys_by_id.get(&p) {
                    Some(key) => ParentLink::Key(key.clone()),
                    None => {
                        unresolved += 1;
                        ParentLink::Unknown
                    }
                },
            };
            r.issue
        })
        .collect();
    Ok((issues, unresolved))
}

fn row(
    record: &csv::StringRecord,
    line: u64,
    cols: &Columns,
    what: &JiraCsvImport,
) -> Result<Row, Vec<CsvProblem>> {
    let mut problems = Vec::new();
    let cell = |i: usize| record.get(i).map(str::trim).unwrap_or_default();
    let opt = |i: Option<usize>| i.map(cell).filter(|c| !c.is_empty());
    let mut problem = |i: usize, message: String| {
        problems.push(CsvProblem {
            line,
            column: Some(cols.names[i].clone()),
            message,
        })
    };
    let required = |i: usize, problem: &mut dyn FnMut(usize, String)| {
        let v = cell(i);
        if v.is_empty() {
            problem(i, "is empty".to_owned());
        }
        v.to_owned()
    };
    let key = required(cols.key, &mut problem);
    let summary = required(cols.summary, &mut problem);
    let issue_type = required(cols.issue_type, &mut problem);
    let status = required(cols.status, &mut problem);
    let time = |i: Option<usize>, problem: &mut dyn FnMut(usize, String)| {
        let i = i?;
        let v = cell(i);
        if v.is_empty() {
            return None;
        }
        match parse_date(v, &what.date_format, what.timezone) {
            Ok(t) => Some(t),
            Err(m) => {
                problem(i, m);
                None
            }
        }
    };
    let created = time(Some(cols.created), &mut problem);
    if cell(cols.created).is_empty() {
        problem(cols.created, "is empty".to_owned());
    }
    let updated = time(cols.updated, &mut problem);
    let resolved = time(cols.resolved, &mut problem);
    let category_changed = time(cols.category_changed, &mut problem);
    let category = match cols.category {
        Some(i) if !cell(i).is_empty() => {
            let v = cell(i);
            let c = Category::parse(v);
            if c.is_none() {
                problem(
                    i,
                    format!("{v:?} is not a status category (To Do, In Progress or Done)"),
                );
            }
            c
        }
        _ if resolved.is_some() => Some(Category::Done),
        _ if TODO_NAMES.iter().any(|n| status.eq_ignore_ascii_case(n)) => Some(Category::New),
        _ => Some(Category::Indeterminate),
    };
    let (Some(created), Some(category), true) = (created, category, problems.is_empty()) else {
        return Err(problems);
    };
    let started = match category {
        Category::Indeterminate => category_changed,
        _ => None,
    };
    let done = match category {
        Category::Done => resolved.or(category_changed),
        _ => None,
    };
    let labels = cols
        .labels
        .iter()
        .map(|&i| cell(i))
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let parent_ref = cols
        .parent
        .iter()
        .map(|&i| cell(i))
        .find(|p| !p.is_empty())
        .map(str::to_owned);
    Ok(Row {
        issue: Issue {
            key,
            summary,
            issue_type,
            labels,
            category,
            resolution: opt(cols.resolution).map(str::to_owned),
            priority: opt(cols.priority).map(str::to_owned),
            created,
            updated: updated.unwrap_or(created),
            started,
            done,
            parent: ParentLink::Unknown,
        },
        id: opt(cols.id).map(str::to_owned),
        parent_ref,
    })
}

/// Parses `--timezone`: an IANA zone name.
pub fn timezone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "--timezone: {text:?} is not a time zone (an IANA name such as UTC or Europe/Berlin)"
        )
    })
}

/// A date of the export in `format`, read in `tz`.
pub fn parse_date(text: &str, format: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let local = NaiveDateTime::parse_from_str(text, format).map_err(|e| {
        format!("{text:?} is not a date in the format {format:?} ({e}; see --date-format)")
    })?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{text:?} does not exist in the time zone {tz} (a clock change)"))
}

/// Imports an export into `project`: all rows or, when any is bad, none.
pub async fn import(
    store: &Store,
    project: &Project,
    data: &[u8],
    what: &JiraCsvImport,
) -> Result<JiraCsvSummary, JiraCsvError> {
    let started = Instant::now();
    jira::check_epic_goals(store, project, &what.epic_goals)
        .await
        .map_err(JiraCsvError::EpicGoal)?;
    let (issues, unresolved_parents) =
        parse_counting(data, what).map_err(|problems| JiraCsvError::Invalid { problems })?;
    let mut summary = JiraCsvSummary {
        rows: issues.len() as u64,
        unresolved_parents,
        ..Default::default()
    };
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for issue in &issues {
        match jira::work_item(issue, project, &what.debt_types, Uuid::now_v7()) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => summary.epics += 1,
            Err(e) => problems.push(CsvProblem {
                line: 0,
                column: None,
                message: format!("{}: {e}", issue.key),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(JiraCsvError::Invalid { problems });
    }
    let wrote = store.upsert_tracked_items(&items).await?;
    summary.stored = wrote.items;
    summary.parent_links = wrote.parents;
    summary.goal_links = jira::link_epic_goals(store, &what.epic_goals).await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_domain::work_item::WorkKind;

    fn what() -> JiraCsvImport {
        JiraCsvImport {
            date_format: DEFAULT_DATE_FORMAT.to_owned(),
            timezone: chrono_tz::UTC,
            debt_types: jira::debt_types(jira::DEFAULT_DEBT_TYPES),
            epic_goals: vec![],
        }
    }

    #[test]
    fn reads_jira_dates() {
        let t = parse_date("12/Mar/24 3:15 PM", DEFAULT_DATE_FORMAT, chrono_tz::UTC).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-12T15:15:00+00:00");
        let t = parse_date(
            "02/Jan/24 11:05 AM",
            DEFAULT_DATE_FORMAT,
            chrono_tz::Europe::Berlin,
        )
        .unwrap();
        assert_eq!(t.to_rfc3339(), "2024-01-02T10:05:00+00:00");
        let e = parse_date("2024-03-12", DEFAULT_DATE_FORMAT, chrono_tz::UTC).unwrap_err();
        assert!(e.contains("--date-format"), "{e}");
    }

    #[test]
    fn reads_columns_by_position() {
        let csv = "Summary,Issue key,Issue id,Issue Type,Status,Labels,Labels,Sprint,Sprint,Created,Resolved,Parent\n\
                   Fix login,PAY-2,10002,Task,In Progress,backend,tech-debt,S1,S2,01/Mar/24 9:00 AM,,10001\n\
                   Payments v2,PAY-1,10001,Epic,To Do,,,,,01/Mar/24 8:00 AM,,\n\
                   Old bug,PAY-3,10003,Bug,Closed,,,,,01/Feb/24 8:00 AM,03/Feb/24 5:30 PM,PAY-1\n";
        let issues = parse(csv.as_bytes(), &what()).unwrap();
        assert_eq!(issues.len(), 3);
        let fix = &issues[0];
        assert_eq!(fix.labels, vec!["backend", "tech-debt"]);
        assert_eq!(fix.parent, ParentLink::Key("PAY-1".into()));
        assert_eq!(fix.category, Category::Indeterminate);
        assert_eq!(
            jira::kind(&fix.issue_type, &fix.labels, &what().debt_types),
            Some(WorkKind::Debt)
        );
        assert_eq!(issues[1].category, Category::New);
        assert_eq!(issues[2].category, Category::Done);
        assert_eq!(
            issues[2].done.unwrap().to_rfc3339(),
            "2024-02-03T17:30:00+00:00"
        );
        assert_eq!(issues[2].parent, ParentLink::Key("PAY-1".into()));
        assert_eq!(issues[1].parent, ParentLink::Detached);

        // A parent id not in the file, and a file without parent columns:
        // the stored link is left as it is.
        let csv = "Summary,Issue key,Issue id,Issue Type,Status,Created,Parent\n\
                   A,PAY-9,10009,Story,To Do,01/Mar/24 9:00 AM,99999\n";
        let (issues, unresolved) = parse_counting(csv.as_bytes(), &what()).unwrap();
        assert_eq!((&issues[0].parent, unresolved), (&ParentLink::Unknown, 1));
        let csv =
            "Summary,Issue key,Issue Type,Status,Created\nA,PAY-9,Story,To Do,01/Mar/24 9:00 AM\n";
        assert_eq!(
            parse(csv.as_bytes(), &what()).unwrap()[0].parent,
            ParentLink::Unknown
        );
    }

    #[test]
    fn every_bad_cell_is_named() {
        let csv = "Summary,Issue key,Issue Type,Status,Status Category,Created\n\
                   A,PAY-1,Story,Done,Done,2024-03-01\n\
                   B,PAY-2,Story,Done,Finished,01/Mar/24 9:00 AM\n\
                   ,PAY-3,Story,Done,Done,01/Mar/24 9:00 AM\n";
        let problems = parse(csv.as_bytes(), &what()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("line 2, column \"Created\": \"2024-03-01\""),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("line 3, column \"Status Category\""),
            "{text:?}"
        );
        assert_eq!(text[2], "line 4, column \"Summary\": is empty");
        let crlf = csv.replace('\n', "\r\n");
        let problems = parse(crlf.as_bytes(), &what()).unwrap_err();
        assert_eq!(
            problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        let missing = parse(b"Summary,Key\nx,y\n", &what()).unwrap_err();
        assert!(missing.iter().any(
            |p| p.to_string() == "line 1, column \"Issue key\": the header has no such column"
        ));
    }
}
