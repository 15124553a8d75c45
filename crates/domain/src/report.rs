//! The weekly status report of a team: what was done, what is in progress,
//! the risks, the next steps and the numbers, assembled from stored data for
//! one ISO week. Pure: the caller gathers the data and passes it in.
//!
//! Rules (docs/metrics.md, "Weekly report"):
//! - The week runs from Monday 00:00 to the next Monday 00:00 in the team's
//!   time zone (start included, end excluded; docs/metrics.md, "Time zones").
//! - A metric's value at an instant `t` is its latest point at or before `t`.
//!   The change over the week compares the value at the week's start with the
//!   value at its end, and needs at least one point inside the week; without
//!   one the line says "no data this week".
//! - Every section is always present; an empty one says so in words.
//! - Every line has a stable `id` (`done:<item id>`, `risk:<risk id>`, …) that
//!   a later editing layer (hide, reorder, note) can refer to.

use std::cmp::Reverse;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, IsoWeek, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::goal::{Goal, GoalStatus};
use crate::metric::{Audience, Direction, Metric, MetricPoint};
use crate::risk::{Risk, RiskStatus};
use crate::stage::Stage;
use crate::string_enum;
use crate::team::Team;
use crate::work_item::{WorkItem, WorkKind, WorkState};

mod draft;
mod edit;
mod html;
mod slack;

pub use draft::{Channel, DeliveryStatus, DraftStatus};
pub use edit::{EditRequest, MAX_NOTE_CHARS, ReportEdits, apply};
pub use html::{ChartRef, to_html, to_text};
pub use slack::{SLACK_MAX_BLOCKS, SLACK_MAX_TEXT, to_slack};

/// How many backlog items "Next steps" lists.
pub const BACKLOG_TOP: usize = 5;

/// How many weeks a trend covers (this week and the 11 before it).
pub const TREND_WEEKS: u32 = 12;

/// A goal's forecast, as far as the report shows it. Optional: a report is
/// complete without forecasts.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalForecastSummary {
    pub goal_id: Uuid,
    /// The date the goal is done by with 85 % confidence.
    pub p85: Option<NaiveDate>,
    /// The probability (0–1) of finishing by the deadline.
    pub on_time_probability: Option<f64>,
    /// What to cut to make the deadline, in words.
    pub cut_line: Option<String>,
}

/// Everything the report is made from; the caller gathers it.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub team: Team,
    pub week: IsoWeek,
    /// Every work item of the team.
    pub items: Vec<WorkItem>,
    /// The team's goals.
    pub goals: Vec<Goal>,
    /// The stages of those goals.
    pub stages: Vec<Stage>,
    /// The team's risks (closed ones are skipped).
    pub risks: Vec<Risk>,
    /// Metrics to consider: business ones and the team's own are reported,
    /// others are only used for goals' success metrics.
    pub metrics: Vec<Metric>,
    /// Points of those metrics, in any order.
    pub points: Vec<MetricPoint>,
    /// Per-goal forecasts, when available.
    pub forecasts: Vec<GoalForecastSummary>,
    /// The tech-debt share target, in percent (planning default 20).
    pub debt_target_percent: f64,
    /// The team's DORA four keys over the week (deployments, lead time,
    /// change failure rate, incidents and time to restore), when its
    /// projects have delivery data.
    pub dora: Option<crate::dora::DoraReport>,
    /// The business requests the team received this week, as they stand
    /// now (the Numbers section's "7 requests: 2 accepted, …" line).
    pub requests: Vec<crate::request::Request>,
    /// The decisions recorded for the team during the week (listed in the
    /// Decisions needed section after what is still asked).
    pub decisions: Vec<crate::decision::Decision>,
}

string_enum! {
    /// The sections of a weekly report, in order: the update first (a
    /// summary drafted from the data, the decisions asked of the reader),
    /// then the detail.
    SectionKind {
        Summary => "summary",
        Asks => "asks",
        Done => "done",
        InProgress => "in_progress",
        Risks => "risks",
        NextSteps => "next_steps",
        Numbers => "numbers",
    }
}

/// The team a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportTeam {
    pub id: Uuid,
    pub key: String,
    pub name: String,
}

/// A line under a top-level line (an item under its goal, a risk's update).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SubLine {
    /// Stable id, e.g. `done:<item id>`.
    pub id: String,
    pub text: String,
}

/// A top-level line of a section.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportLine {
    /// Stable id, e.g. `done-goal:<goal id>` or `risk:<risk id>`.
    pub id: String,
    pub text: String,
    pub children: Vec<SubLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportSection {
    pub kind: SectionKind,
    pub heading: String,
    /// What an empty section says ("Nothing finished this week"); `None`
    /// when there are lines.
    pub empty_message: Option<String>,
    /// The editor's note under the heading, if any.
    pub note: Option<String>,
    pub lines: Vec<ReportLine>,
}

/// One week's value of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrendPoint {
    /// ISO week, e.g. `2026-W47`.
    pub week: String,
    /// The week's Monday.
    pub date: NaiveDate,
    /// The metric's value at the end of the week.
    pub value: f64,
}

/// The last [`TREND_WEEKS`] weekly values of a metric in the Numbers
/// section (weeks before its first point are left out). Read back from an
/// archived report's JSON to render its charts again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trend {
    /// The id of the metric's line in the Numbers section (`metric:<key>`).
    pub line_id: String,
    pub label: String,
    pub unit: String,
    pub points: Vec<TrendPoint>,
}

/// A team's weekly status report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WeeklyReport {
    pub team: ReportTeam,
    /// ISO week, e.g. `2026-W47`.
    pub week: String,
    /// Monday 00:00 in the team's time zone.
    pub starts_at: DateTime<Utc>,
    /// The next Monday 00:00 in the team's time zone (excluded).
    pub ends_at: DateTime<Utc>,
    /// "Payments — week 2026-W47 (16–22 Nov)".
    pub title: String,
    /// Always every section, in order: summary, decisions needed, done, in
    /// progress, risks, next steps, numbers.
    pub sections: Vec<ReportSection>,
    /// Weekly trends of the metrics in the Numbers section, in its order.
    pub trends: Vec<Trend>,
}

// ---------------------------------------------------------------------------
// Weeks
// ---------------------------------------------------------------------------

/// `2026-W47`.
pub fn week_label(week: IsoWeek) -> String {
    format!("{}-W{:02}", week.year(), week.week())
}

/// Parses `2026-W47` (also `2026-w47`, `2026W47`).
pub fn parse_week(s: &str) -> Result<IsoWeek, String> {
    let bad = || format!("{s:?} is not an ISO week; write it like 2026-W47");
    let t = s.trim();
    let (year, week) = t
        .split_once(['W', 'w'])
        .ok_or_else(bad)
        .map(|(y, w)| (y.strip_suffix('-').unwrap_or(y), w))?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let week: u32 = week.parse().map_err(|_| bad())?;
    if year.to_string().len() != 4 {
        return Err(bad());
    }
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
        .map(|d| d.iso_week())
        .ok_or_else(|| format!("{year} has no ISO week {week}"))
}

/// The Monday of an ISO week.
pub fn week_start(week: IsoWeek) -> NaiveDate {
    NaiveDate::from_isoywd_opt(week.year(), week.week(), Weekday::Mon)
        .expect("an IsoWeek always has a Monday")
}

/// The instants bounding the week in a team's zone (an IANA name; UTC if it
/// does not parse): local Monday 00:00 and the next local Monday 00:00, so a
/// week across a DST change is 167 or 169 hours long (docs/metrics.md).
pub fn team_week_bounds(week: IsoWeek, timezone: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    crate::focus::week_bounds(week_start(week), tz)
}

/// The instants bounding the week: Monday 00:00 UTC and the next Monday.
pub fn week_bounds(week: IsoWeek) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = week_start(week).and_time(chrono::NaiveTime::MIN).and_utc();
    (start, start + Duration::days(7))
}

/// "16–22 Nov", or "30 Nov–6 Dec" across months.
fn day_range(week: IsoWeek) -> String {
    let mon = week_start(week);
    let sun = mon + Duration::days(6);
    if mon.month() == sun.month() {
        format!("{}–{} {}", mon.day(), sun.day(), sun.format("%b"))
    } else {
        format!(
            "{} {}–{} {}",
            mon.day(),
            mon.format("%b"),
            sun.day(),
            sun.format("%b")
        )
    }
}

// ---------------------------------------------------------------------------
// Assembly
// ---------------------------------------------------------------------------

/// Assembles the report of `input.team` for `input.week`.
pub fn assemble(input: &ReportInput) -> WeeklyReport {
    let (start, end) = team_week_bounds(input.week, &input.team.timezone);
    let week = week_label(input.week);
    WeeklyReport {
        team: ReportTeam {
            id: input.team.id,
            key: input.team.key.clone(),
            name: input.team.name.clone(),
        },
        title: format!(
            "{} — week {week} ({})",
            input.team.name,
            day_range(input.week)
        ),
        week,
        starts_at: start,
        ends_at: end,
        sections: vec![
            summary(input, start, end),
            asks(input),
            done(input, start, end),
            in_progress(input),
            risks(input),
            next_steps(input),
            numbers(input, start, end),
        ],
        trends: trends(input),
    }
}

/// The metrics the Numbers section reports, in its order.
fn reported_metrics(input: &ReportInput) -> Vec<&Metric> {
    let mut metrics: Vec<&Metric> = input
        .metrics
        .iter()
        .filter(|m| m.audience == Audience::Business || m.team_id == Some(input.team.id))
        .collect();
    metrics.sort_by_key(|m| (m.audience != Audience::Business, m.name.clone(), m.id));
    metrics
}

/// Each reported metric's value at the end of each of the last
/// [`TREND_WEEKS`] weeks that has a point of its own (in `(start, end]`, the
/// rule of [`week_change`]); a week without one is left out — a gap stays a
/// gap, no value is carried into it. Metrics without any value are left
/// out.
fn trends(input: &ReportInput) -> Vec<Trend> {
    let monday = week_start(input.week);
    reported_metrics(input)
        .into_iter()
        .filter_map(|m| {
            let series = series(input, m.id);
            let points: Vec<TrendPoint> = (0..TREND_WEEKS)
                .rev()
                .filter_map(|back| {
                    let date = monday - Duration::weeks(i64::from(back));
                    let start = date.and_time(chrono::NaiveTime::MIN).and_utc();
                    let end = start + Duration::days(7);
                    week_change(&series, start, end).map(|c| TrendPoint {
                        week: week_label(date.iso_week()),
                        date,
                        value: c.after,
                    })
                })
                .collect();
            (!points.is_empty()).then(|| Trend {
                line_id: format!("metric:{}", m.key),
                label: m.name.clone(),
                unit: m.unit.clone(),
                points,
            })
        })
        .collect()
}

fn section(kind: SectionKind, heading: &str, empty: &str, lines: Vec<ReportLine>) -> ReportSection {
    ReportSection {
        kind,
        heading: heading.to_owned(),
        empty_message: lines.is_empty().then(|| empty.to_owned()),
        note: None,
        lines,
    }
}

fn item_label(item: &WorkItem) -> String {
    match &item.external_key {
        Some(k) => format!("{k} {}", item.title),
        None => item.title.clone(),
    }
}

/// Goals in a stable order: earliest deadline first, then title, then id.
fn goal_order(g: &Goal) -> (bool, Option<NaiveDate>, String, Uuid) {
    (
        g.timeline.deadline.is_none(),
        g.timeline.deadline,
        g.title.clone(),
        g.id,
    )
}

/// Groups items under their goals (in goal order), then "Other work" for
/// items without a goal (or whose goal is not in the input).
fn by_goal<'a>(
    input: &'a ReportInput,
    items: &[&'a WorkItem],
) -> Vec<(Option<&'a Goal>, Vec<&'a WorkItem>)> {
    let mut goals: Vec<&Goal> = input
        .goals
        .iter()
        .filter(|g| items.iter().any(|i| i.goal_id == Some(g.id)))
        .collect();
    goals.sort_by_key(|g| goal_order(g));
    let mut groups: Vec<(Option<&Goal>, Vec<&WorkItem>)> = goals
        .into_iter()
        .map(|g| {
            let mine = items
                .iter()
                .copied()
                .filter(|i| i.goal_id == Some(g.id))
                .collect();
            (Some(g), mine)
        })
        .collect();
    let other: Vec<&WorkItem> = items
        .iter()
        .copied()
        .filter(|i| {
            !i.goal_id
                .is_some_and(|id| input.goals.iter().any(|g| g.id == id))
        })
        .collect();
    if !other.is_empty() {
        groups.push((None, other));
    }
    groups
}

fn done(input: &ReportInput, start: DateTime<Utc>, end: DateTime<Utc>) -> ReportSection {
    let mut items: Vec<&WorkItem> = input
        .items
        .iter()
        .filter(|i| i.state == WorkState::Done && i.done_at.is_some_and(|d| d >= start && d < end))
        .collect();
    items.sort_by_key(|i| (i.done_at, i.id));
    let lines = by_goal(input, &items)
        .into_iter()
        .map(|(goal, items)| {
            let children = items
                .iter()
                .map(|i| SubLine {
                    id: format!("done:{}", i.id),
                    text: item_label(i),
                })
                .collect();
            match goal {
                Some(g) => ReportLine {
                    id: format!("done-goal:{}", g.id),
                    text: match goal_metric_change(input, g, start, end) {
                        Some(change) => format!("{} — {change}", g.title),
                        None => g.title.clone(),
                    },
                    children,
                },
                None => ReportLine {
                    id: "done-goal:other".to_owned(),
                    text: "Other work".to_owned(),
                    children,
                },
            }
        })
        .collect();
    section(
        SectionKind::Done,
        "Done",
        "Nothing finished this week.",
        lines,
    )
}

/// The change of the goal's first success metric that names a series, e.g.
/// "p95 latency of /users −40 % (500 → 300 ms)"; `None` when the goal has no
/// such metric.
fn goal_metric_change(
    input: &ReportInput,
    goal: &Goal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<String> {
    let sm = goal
        .success_metrics
        .iter()
        .find(|m| m.metric_key.is_some())?;
    let key = sm.metric_key.as_deref()?;
    let label = if sm.metric.trim().is_empty() {
        key
    } else {
        sm.metric.as_str()
    };
    let Some(metric) = input.metrics.iter().find(|m| m.key == key) else {
        return Some(format!("{label}: no data this week"));
    };
    let unit = if metric.unit.is_empty() {
        &sm.unit
    } else {
        &metric.unit
    };
    let series = series(input, metric.id);
    Some(match week_change(&series, start, end) {
        Some(c) => format!("{label} {}", c.describe(unit)),
        None => format!("{label}: no data this week"),
    })
}

/// A metric's points in time order.
fn series(input: &ReportInput, metric_id: Uuid) -> Vec<&MetricPoint> {
    let mut s: Vec<&MetricPoint> = input
        .points
        .iter()
        .filter(|p| p.metric_id == metric_id)
        .collect();
    s.sort_by_key(|p| p.at);
    s
}

/// The latest value at or before `t`.
fn value_at(series: &[&MetricPoint], t: DateTime<Utc>) -> Option<f64> {
    series.iter().rev().find(|p| p.at <= t).map(|p| p.value)
}

/// A metric's change over a week.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// The value at the week's start (`None`: the series starts this week).
    pub before: Option<f64>,
    /// The value at the week's end.
    pub after: f64,
}

impl Change {
    /// The change in percent of `before`; `None` without a non-zero `before`.
    pub fn percent(self) -> Option<f64> {
        match self.before {
            Some(b) if b != 0.0 => Some((self.after - b) / b.abs() * 100.0),
            _ => None,
        }
    }

    /// "−40 % (500 → 300 ms)", "unchanged at 300 ms", "first value 300 ms".
    pub fn describe(self, unit: &str) -> String {
        match self.before {
            None => format!("first value {}", with_unit(self.after, unit)),
            Some(b) if b == self.after => format!("unchanged at {}", with_unit(b, unit)),
            Some(b) if is_percent_unit(unit) => format!(
                "{} ({} → {})",
                signed_points(self.after - b),
                number(b),
                with_unit(self.after, unit)
            ),
            Some(b) => match self.percent() {
                Some(p) => format!(
                    "{} ({} → {})",
                    signed_percent(p),
                    number(b),
                    with_unit(self.after, unit)
                ),
                None => format!("{} → {}", number(b), with_unit(self.after, unit)),
            },
        }
    }

    /// "better" or "worse" for a metric going `direction`; `None` unchanged
    /// or without a previous value.
    pub fn verdict(self, direction: Direction) -> Option<&'static str> {
        let b = self.before?;
        if b == self.after {
            return None;
        }
        let up = self.after > b;
        Some(if up == (direction == Direction::Up) {
            "better"
        } else {
            "worse"
        })
    }
}

/// The change over the week: the value at `start` against the value at
/// `end` (each the latest point at or before the instant), or `None` without a
/// point in `(start, end]`. A point exactly at Monday 00:00 is the value at
/// that boundary, so consecutive weeks' changes add up.
pub fn week_change(
    series: &[&MetricPoint],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<Change> {
    if !series.iter().any(|p| p.at > start && p.at <= end) {
        return None;
    }
    Some(Change {
        before: value_at(series, start),
        after: value_at(series, end)?,
    })
}

/// A value as a person writes it: 500, 12.5, 0.42.
pub fn number(v: f64) -> String {
    let decimals = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s.replace('-', "−")
    }
}

fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        number(v)
    } else {
        format!("{} {unit}", number(v))
    }
}

/// True for a unit that is itself a percentage: its changes are told in
/// points, never as a relative percentage.
pub fn is_percent_unit(unit: &str) -> bool {
    matches!(unit.trim(), "%" | "percent" | "pct")
}

/// "+0.28 points", "−1.5 points".
fn signed_points(d: f64) -> String {
    let sign = if d < 0.0 { "−" } else { "+" };
    format!("{sign}{} points", number(d.abs()))
}

/// "+12 %", "−40 %", "+2.5 %".
fn signed_percent(p: f64) -> String {
    let mag = number(if p.abs() >= 10.0 {
        p.abs().round()
    } else {
        (p.abs() * 10.0).round() / 10.0
    });
    let sign = if p < 0.0 { "−" } else { "+" };
    format!("{sign}{mag} %")
}

/// Done and total items of a stage, cancelled ones left out.
fn stage_progress(input: &ReportInput, stage_id: Uuid) -> (usize, usize) {
    let items = input
        .items
        .iter()
        .filter(|i| i.stage_id == Some(stage_id) && i.state != WorkState::Cancelled);
    let (mut done, mut total) = (0, 0);
    for i in items {
        total += 1;
        if i.state == WorkState::Done {
            done += 1;
        }
    }
    (done, total)
}

fn in_progress(input: &ReportInput) -> ReportSection {
    let mut items: Vec<&WorkItem> = input
        .items
        .iter()
        .filter(|i| matches!(i.state, WorkState::InProgress | WorkState::Blocked))
        .collect();
    items.sort_by_key(|i| (i.priority, i.started_at, i.id));
    let lines = by_goal(input, &items)
        .into_iter()
        .map(|(goal, items)| {
            let children = items
                .iter()
                .map(|i| {
                    let mut text = item_label(i);
                    if i.state == WorkState::Blocked {
                        text.push_str(" (blocked)");
                    }
                    if let Some(stage) = i
                        .stage_id
                        .and_then(|id| input.stages.iter().find(|s| s.id == id))
                    {
                        let (done, total) = stage_progress(input, stage.id);
                        let _ = write!(text, " — stage “{}”: {done}/{total} done", stage.name);
                    }
                    SubLine {
                        id: format!("progress:{}", i.id),
                        text,
                    }
                })
                .collect();
            match goal {
                Some(g) => {
                    let mut text = g.title.clone();
                    if let Some(f) = input.forecasts.iter().find(|f| f.goal_id == g.id) {
                        let summary = forecast_text(f);
                        if !summary.is_empty() {
                            let _ = write!(text, " — forecast: {summary}");
                        }
                    }
                    ReportLine {
                        id: format!("progress-goal:{}", g.id),
                        text,
                        children,
                    }
                }
                None => ReportLine {
                    id: "progress-goal:other".to_owned(),
                    text: "Other work".to_owned(),
                    children,
                },
            }
        })
        .collect();
    section(
        SectionKind::InProgress,
        "In progress",
        "Nothing in progress this week.",
        lines,
    )
}

/// A date as people say it: "Mon 7 Dec".
pub fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

/// The update in a few sentences, drafted from the data: what was
/// finished (and for which goals), how the goals' metrics moved, which
/// goals are on track or at risk (forecast in plain dates), the open risks.
fn summary(input: &ReportInput, start: DateTime<Utc>, end: DateTime<Utc>) -> ReportSection {
    let mut lines = Vec::new();
    let done: Vec<&WorkItem> = input
        .items
        .iter()
        .filter(|i| i.state == WorkState::Done && i.done_at.is_some_and(|d| d >= start && d < end))
        .collect();
    let mut served: Vec<&Goal> = input
        .goals
        .iter()
        .filter(|g| done.iter().any(|i| i.goal_id == Some(g.id)))
        .collect();
    served.sort_by_key(|g| Reverse(done.iter().filter(|i| i.goal_id == Some(g.id)).count()));
    let text = match (done.len(), served.as_slice()) {
        (0, _) => "Nothing was finished this week.".to_owned(),
        (n, []) => format!("The team finished {n} items this week."),
        (n, goals) => format!(
            "The team finished {n} items this week, for {}.",
            goals
                .iter()
                .take(2)
                .map(|g| format!("“{}”", g.title))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    lines.push(ReportLine {
        id: "summary:done".to_owned(),
        text,
        children: Vec::new(),
    });
    let mut goals: Vec<&Goal> = input
        .goals
        .iter()
        .filter(|g| matches!(g.status, GoalStatus::InProgress | GoalStatus::Agreed))
        .collect();
    goals.sort_by_key(|g| goal_order(g));
    for g in &goals {
        if let Some(change) = goal_metric_change(input, g, start, end)
            && !change.ends_with("no data this week")
        {
            lines.push(ReportLine {
                id: format!("summary:metric:{}", g.id),
                text: format!("“{}”: {change}.", g.title),
                children: Vec::new(),
            });
        }
    }
    let mut at_risk = Vec::new();
    let mut on_track = Vec::new();
    for g in &goals {
        let Some(f) = input.forecasts.iter().find(|f| f.goal_id == g.id) else {
            continue;
        };
        let (Some(p), Some(deadline)) = (f.on_time_probability, g.timeline.deadline) else {
            continue;
        };
        let likely = f
            .p85
            .map_or_else(String::new, |d| format!("; 85 % likely by {}", day(d)));
        if p < 0.85 {
            at_risk.push(ReportLine {
                id: format!("summary:forecast:{}", g.id),
                text: format!(
                    "“{}” is at risk: {} % likely by its deadline, {}{likely}.",
                    g.title,
                    number((p * 100.0).round()),
                    day(deadline)
                ),
                children: Vec::new(),
            });
        } else {
            on_track.push(ReportLine {
                id: format!("summary:forecast:{}", g.id),
                text: format!("“{}” is on track for {}{likely}.", g.title, day(deadline)),
                children: Vec::new(),
            });
        }
    }
    lines.extend(at_risk);
    lines.extend(on_track);
    let open: Vec<&Risk> = input
        .risks
        .iter()
        .filter(|r| r.team_id == input.team.id && r.status != RiskStatus::Closed)
        .collect();
    if let Some(top) = open
        .iter()
        .max_by_key(|r| (r.impact, r.likelihood, Reverse(r.created_at)))
    {
        lines.push(ReportLine {
            id: "summary:risks".to_owned(),
            text: format!(
                "{} open risks; the heaviest: “{}” ({} likelihood, {} impact).",
                open.len(),
                top.title,
                top.likelihood,
                top.impact
            ),
            children: Vec::new(),
        });
    }
    section(
        SectionKind::Summary,
        "Summary",
        "Nothing to summarise this week.",
        lines,
    )
}

/// What the reader is asked to decide: for each goal the forecast says
/// will miss its deadline, cut scope to what fits or accept the later date;
/// for each open risk nobody has started to mitigate with a high
/// likelihood or impact, its proposed response.
fn asks(input: &ReportInput) -> ReportSection {
    let mut lines = Vec::new();
    let mut goals: Vec<&Goal> = input
        .goals
        .iter()
        .filter(|g| matches!(g.status, GoalStatus::InProgress | GoalStatus::Agreed))
        .collect();
    goals.sort_by_key(|g| goal_order(g));
    for g in goals {
        let Some(f) = input.forecasts.iter().find(|f| f.goal_id == g.id) else {
            continue;
        };
        if f.on_time_probability.is_none_or(|p| p >= 0.85) {
            continue;
        }
        let date = f.p85.map_or_else(
            || "a later date".to_owned(),
            |d| format!("the new date {}", day(d)),
        );
        let cut = f
            .cut_line
            .as_deref()
            .map_or_else(String::new, |c| format!(" ({c})"));
        lines.push(ReportLine {
            id: format!("ask:goal:{}", g.id),
            text: format!(
                "“{}”: cut scope to what fits{cut}, or accept {date}?",
                g.title
            ),
            children: Vec::new(),
        });
    }
    let mut risks: Vec<&Risk> = input
        .risks
        .iter()
        .filter(|r| {
            r.team_id == input.team.id
                && r.status == RiskStatus::Open
                && (r.likelihood == crate::risk::Level::High
                    || r.impact == crate::risk::Level::High)
        })
        .collect();
    risks.sort_by_key(|r| (Reverse(r.impact), Reverse(r.likelihood), r.created_at, r.id));
    for r in risks {
        let plan = if r.plan.trim().is_empty() {
            "how do we respond?".to_owned()
        } else {
            format!("proposed: {}", r.plan.trim())
        };
        lines.push(ReportLine {
            id: format!("ask:risk:{}", r.id),
            text: format!("“{}” — {plan}", r.title),
            children: Vec::new(),
        });
    }
    let mut decided: Vec<&crate::decision::Decision> = input
        .decisions
        .iter()
        .filter(|d| d.team_id == input.team.id)
        .collect();
    decided.sort_by_key(|d| (d.decided_at, d.id));
    for d in decided {
        let why = d.context.split("\n\n").next().unwrap_or("").trim();
        let by = d
            .decided_by
            .as_deref()
            .map_or_else(String::new, |b| format!(" by {b}"));
        let mut text = format!(
            "Decided on {}{by}: {} — {}",
            day(d.decided_at.date_naive()),
            d.title,
            d.decision.trim()
        );
        if !why.is_empty() {
            let _ = write!(text, " Why: {why}");
        }
        lines.push(ReportLine {
            id: format!("decision:{}", d.id),
            text,
            children: Vec::new(),
        });
    }
    section(
        SectionKind::Asks,
        "Decisions needed",
        "No decision needed this week.",
        lines,
    )
}

/// "85 % likely by Fri 18 Dec; 62 % chance on time; cut line: …".
fn forecast_text(f: &GoalForecastSummary) -> String {
    let mut parts = Vec::new();
    if let Some(d) = f.p85 {
        parts.push(format!("85 % likely done by {}", day(d)));
    }
    if let Some(p) = f.on_time_probability {
        parts.push(format!("{} % chance on time", number((p * 100.0).round())));
    }
    if let Some(c) = f.cut_line.as_deref().filter(|c| !c.trim().is_empty()) {
        parts.push(format!("cut line: {c}"));
    }
    parts.join("; ")
}

fn risks(input: &ReportInput) -> ReportSection {
    let mut risks: Vec<&Risk> = input
        .risks
        .iter()
        .filter(|r| r.team_id == input.team.id && r.status != RiskStatus::Closed)
        .collect();
    risks.sort_by_key(|r| (Reverse(r.impact), Reverse(r.likelihood), r.created_at, r.id));
    let lines = risks
        .into_iter()
        .map(|r| {
            let mut text = format!(
                "{} — {} likelihood, {} impact",
                r.title, r.likelihood, r.impact
            );
            if r.schedule_impact_days > 0 {
                let _ = write!(text, ", about {} days late", r.schedule_impact_days);
            }
            if r.status == RiskStatus::Mitigating {
                text.push_str(" (mitigating)");
            }
            let mut children = Vec::new();
            if !r.drafted_update.trim().is_empty() {
                children.push(SubLine {
                    id: format!("risk-update:{}", r.id),
                    text: r.drafted_update.trim().to_owned(),
                });
            } else if !r.plan.trim().is_empty() {
                children.push(SubLine {
                    id: format!("risk-plan:{}", r.id),
                    text: format!("Plan: {}", r.plan.trim()),
                });
            }
            ReportLine {
                id: format!("risk:{}", r.id),
                text,
                children,
            }
        })
        .collect();
    section(
        SectionKind::Risks,
        "Risks",
        "No open risks this week.",
        lines,
    )
}

/// Next steps. For each goal in progress (in goal order), its next stage:
/// the first stage by position that has open items and none started
/// (no item in progress, blocked or done), with its open items. Then the top
/// of the backlog: the [`BACKLOG_TOP`] first todo items not listed above, by
/// priority then age (oldest first).
fn next_steps(input: &ReportInput) -> ReportSection {
    let mut goals: Vec<&Goal> = input
        .goals
        .iter()
        .filter(|g| g.status == GoalStatus::InProgress)
        .collect();
    goals.sort_by_key(|g| goal_order(g));
    let mut lines = Vec::new();
    let mut listed: Vec<Uuid> = Vec::new();
    for g in goals {
        let mut stages: Vec<&Stage> = input.stages.iter().filter(|s| s.goal_id == g.id).collect();
        stages.sort_by_key(|s| (s.position, s.id));
        let next = stages.into_iter().find_map(|s| {
            let items: Vec<&WorkItem> = input
                .items
                .iter()
                .filter(|i| i.stage_id == Some(s.id) && i.state != WorkState::Cancelled)
                .collect();
            let untouched = items.iter().all(|i| i.state == WorkState::Todo);
            (untouched && !items.is_empty()).then_some((s, items))
        });
        let Some((stage, mut items)) = next else {
            continue;
        };
        items.sort_by_key(|i| (i.priority, i.created_at, i.id));
        listed.extend(items.iter().map(|i| i.id));
        lines.push(ReportLine {
            id: format!("next-stage:{}", stage.id),
            text: format!(
                "{}: next stage “{}” ({} items)",
                g.title,
                stage.name,
                items.len()
            ),
            children: items
                .iter()
                .map(|i| SubLine {
                    id: format!("next:{}", i.id),
                    text: item_label(i),
                })
                .collect(),
        });
    }
    let mut backlog: Vec<&WorkItem> = input
        .items
        .iter()
        .filter(|i| i.state == WorkState::Todo && !listed.contains(&i.id))
        .collect();
    backlog.sort_by_key(|i| (i.priority, i.created_at, i.id));
    if !backlog.is_empty() {
        lines.push(ReportLine {
            id: "next-backlog".to_owned(),
            text: "Top of the backlog".to_owned(),
            children: backlog
                .iter()
                .take(BACKLOG_TOP)
                .map(|i| SubLine {
                    id: format!("backlog:{}", i.id),
                    text: format!("{} ({})", item_label(i), i.priority),
                })
                .collect(),
        });
    }
    section(
        SectionKind::NextSteps,
        "Next steps",
        "No next steps planned: no upcoming stage and an empty backlog.",
        lines,
    )
}

fn numbers(input: &ReportInput, start: DateTime<Utc>, end: DateTime<Utc>) -> ReportSection {
    let mut lines: Vec<ReportLine> = reported_metrics(input)
        .into_iter()
        .map(|m| {
            let series = series(input, m.id);
            let text = match week_change(&series, start, end) {
                None => format!("{}: no data this week", m.name),
                Some(c) => {
                    let mut text = format!("{}: {}", m.name, with_unit(c.after, &m.unit));
                    match (c.before, c.percent()) {
                        (None, _) => text.push_str(" (first value)"),
                        (Some(b), _) if b == c.after => {
                            text.push_str(", unchanged week over week");
                        }
                        (Some(b), p) => {
                            let change = match p {
                                _ if is_percent_unit(&m.unit) => signed_points(c.after - b),
                                Some(p) => signed_percent(p),
                                None => format!("from {}", number(b)),
                            };
                            let verdict = c.verdict(m.direction).unwrap_or_default();
                            let _ = write!(
                                text,
                                ", {change} week over week (was {}), {verdict}",
                                with_unit(b, &m.unit)
                            );
                        }
                    }
                    text
                }
            };
            ReportLine {
                id: format!("metric:{}", m.key),
                text,
                children: Vec::new(),
            }
        })
        .collect();
    if let Some(d) = &input.dora {
        lines.extend(dora_lines(d));
    }
    if !input.requests.is_empty() {
        lines.push(ReportLine {
            id: "requests".to_owned(),
            text: format!(
                "Business requests: {}",
                crate::request::RequestSummary::of(&input.requests).sentence
            ),
            children: Vec::new(),
        });
    }
    lines.push(debt_line(input, start, end));
    section(
        SectionKind::Numbers,
        "Numbers",
        "No numbers this week.",
        lines,
    )
}

/// The DORA four keys of the week, one line each, with their levels; the
/// incidents of the week in the time-to-restore line.
fn dora_lines(d: &crate::dora::DoraReport) -> Vec<ReportLine> {
    let level = |l: Option<crate::dora::Level>| match l {
        Some(l) => format!(" — {l}"),
        None => String::new(),
    };
    let hours = |h: f64| {
        if h >= 48.0 {
            format!("{} days", number(h / 24.0))
        } else {
            format!("{} h", number(h))
        }
    };
    let f = &d.deployment_frequency;
    let mut lines = vec![ReportLine {
        id: "dora:deployment_frequency".to_owned(),
        text: match f.deployments {
            0 => "Deployments: none this week".to_owned(),
            n => format!(
                "Deployments: {n} this week, on {} of {} days{}",
                f.deploy_days,
                f.days,
                level(f.level)
            ),
        },
        children: Vec::new(),
    }];
    let l = &d.lead_time;
    lines.push(ReportLine {
        id: "dora:lead_time".to_owned(),
        text: match l.median_hours {
            Some(m) => format!(
                "Lead time for changes: median {} over {} commits{}",
                hours(m),
                l.commits,
                level(l.level)
            ),
            None => "Lead time for changes: no commits shipped this week".to_owned(),
        },
        children: Vec::new(),
    });
    let c = &d.change_failure_rate;
    lines.push(ReportLine {
        id: "dora:change_failure_rate".to_owned(),
        text: match c.rate {
            Some(r) => format!(
                "Change failure rate: {} % ({} of {} changes){}",
                number((r * 100.0).round()),
                c.failed,
                c.changes,
                level(c.level)
            ),
            None => "Change failure rate: no changes deployed this week".to_owned(),
        },
        children: Vec::new(),
    });
    let r = &d.time_to_restore;
    lines.push(ReportLine {
        id: "dora:incidents".to_owned(),
        text: match (r.incidents, r.median_hours) {
            (0, _) => "Incidents: none this week".to_owned(),
            (n, Some(m)) => format!(
                "Incidents: {n} this week, {} resolved; median time to restore {}{}",
                r.resolved,
                hours(m),
                level(r.level)
            ),
            (n, None) => format!("Incidents: {n} this week, {} resolved", r.resolved),
        },
        children: Vec::new(),
    });
    lines
}

/// Tech-debt share of the items done in the week, against the target.
fn debt_line(input: &ReportInput, start: DateTime<Utc>, end: DateTime<Utc>) -> ReportLine {
    let done: Vec<&WorkItem> = input
        .items
        .iter()
        .filter(|i| i.state == WorkState::Done && i.done_at.is_some_and(|d| d >= start && d < end))
        .collect();
    let debt = done.iter().filter(|i| i.kind == WorkKind::Debt).count();
    let target = number(input.debt_target_percent);
    let text = if done.is_empty() {
        format!("Tech debt: no items done this week (target {target} %)")
    } else {
        let share = debt as f64 * 100.0 / done.len() as f64;
        let verdict = if share >= input.debt_target_percent {
            "on target"
        } else {
            "below target"
        };
        format!(
            "Tech debt: {debt} of {} items done this week ({} %), target {target} % — {verdict}",
            done.len(),
            number(share.round()),
        )
    };
    ReportLine {
        id: "numbers:debt".to_owned(),
        text,
        children: Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// The report as a Markdown status update.
pub fn to_markdown(report: &WeeklyReport) -> String {
    let mut out = format!("# {}\n", report.title);
    for s in &report.sections {
        let _ = write!(out, "\n## {}\n\n", s.heading);
        if let Some(note) = &s.note {
            let _ = write!(out, "> {}\n\n", note.replace('\n', "\n> "));
        }
        if let Some(empty) = &s.empty_message {
            let _ = writeln!(out, "_{empty}_");
            continue;
        }
        for line in &s.lines {
            if line.children.is_empty() {
                let _ = writeln!(out, "- {}", line.text);
            } else {
                let _ = writeln!(out, "- **{}**", line.text);
            }
            for c in &line.children {
                let _ = writeln!(out, "  - {}", c.text);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
