//! The weekly status report, in four steps with one direction between them:
//! - [`assemble`]: gathers one team's data for an ISO week and applies the
//!   draft's edits (what the API, the pages and the CLI show);
//! - this module: renders a report in every form ([`Rendered`]) and makes
//!   its [`link`];
//! - [`send`]: delivers it to the configured channels and archives it
//!   (with [`archive`] for the S3 copy);
//! - [`schedule`]: drafts and sends it when due.
//!
//! Rule: each step imports only the ones before it (and `settings`).

pub mod archive;
pub mod assemble;
pub mod schedule;
pub mod send;

use chrono::{Datelike, IsoWeek, Utc};
use tandem_domain::report::{self, WeeklyReport};

pub use assemble::{
    DraftView, approve_draft, check_week, draft_view, edit_draft, edited, weekly_full,
};
pub use send::{NO_CHANNEL, SendResult, send_approved, send_week, team_targets};

/// Size of a chart image in the e-mail (drawn at twice this for sharp
/// display on high-density screens).
pub const CHART_DISPLAY: (u32, u32) = (270, 150);

/// A chart drawn for the e-mail.
#[derive(Debug, Clone)]
pub struct RenderedChart {
    pub line_id: String,
    /// Content-ID of the inline part.
    pub cid: String,
    pub png: Vec<u8>,
}

/// Every rendered form of one (edited) report.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub title: String,
    pub markdown: String,
    pub html: String,
    pub text: String,
    pub slack: serde_json::Value,
    pub json: serde_json::Value,
    pub charts: Vec<RenderedChart>,
}

/// Renders `report` in every form, charts included. CPU-bound: async
/// callers run it on the blocking pool.
pub fn render(report: &WeeklyReport, link: Option<&str>) -> anyhow::Result<Rendered> {
    let (w, h) = CHART_DISPLAY;
    let charts = trend_charts(&report.trends, &report.team.key, &report.week)?;
    let refs: Vec<report::ChartRef> = report
        .trends
        .iter()
        .zip(&charts)
        .map(|(t, c)| report::ChartRef {
            line_id: t.line_id.clone(),
            cid: c.cid.clone(),
            alt: format!("{}: the last {} weeks", series(t).caption(), t.points.len()),
            width: w,
            height: h,
        })
        .collect();
    Ok(Rendered {
        title: report.title.clone(),
        markdown: report::to_markdown(report),
        html: report::to_html(report, &refs, link),
        text: report::to_text(report, link),
        slack: report::to_slack(report, link),
        json: serde_json::to_value(report)?,
        charts,
    })
}

fn series(t: &report::Trend) -> crate::charts::Series {
    crate::charts::Series {
        label: t.label.clone(),
        unit: t.unit.clone(),
        points: t.points.iter().map(|p| (p.date, p.value)).collect(),
    }
}

/// The chart of each trend (also drawn again for an archived report, whose
/// charts are not stored: `archive::retry_due`).
pub fn trend_charts(
    trends: &[report::Trend],
    team_key: &str,
    week: &str,
) -> anyhow::Result<Vec<RenderedChart>> {
    let (w, h) = CHART_DISPLAY;
    trends
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(RenderedChart {
                line_id: t.line_id.clone(),
                cid: format!("chart{i}.{team_key}.{week}@tandem"),
                png: crate::charts::trend_png(&series(t), w * 2, h * 2)?,
            })
        })
        .collect()
}

/// Where the full report of a team's week can be read: its web page (sign-in
/// first, then back to it; stakeholders and up may read it).
pub fn link(settings: &crate::Settings, team_key: &str, week: &str) -> String {
    format!("{}/reports/{team_key}/{week}", settings.server.public_url())
}

/// The week a request names, or the current one (in UTC).
pub fn week_or_current(week: Option<&str>) -> Result<IsoWeek, String> {
    match week {
        Some(w) => report::parse_week(w),
        None => Ok(Utc::now().date_naive().iso_week()),
    }
}

/// The week a request names, or the one the team is in now (in its zone:
/// on a Monday morning in Sydney the UTC week is still the last one).
pub fn team_week_or_current(
    week: Option<&str>,
    team: &tandem_domain::team::Team,
) -> Result<IsoWeek, String> {
    match week {
        Some(w) => report::parse_week(w),
        None => Ok(tandem_domain::time::local_date(Utc::now(), team.zone()).iso_week()),
    }
}

/// Whether someone with `role` may read a week's report: members and up
/// always (they write it); stakeholders only once it is approved or sent —
/// a draft is not news yet. The pages and the API both ask here.
pub fn may_read(
    role: tandem_domain::user::Role,
    draft: Option<&tandem_store::ReportDraft>,
) -> bool {
    role.allows(tandem_domain::user::Role::Member)
        || draft.is_some_and(|d| {
            matches!(
                d.status,
                report::DraftStatus::Approved | report::DraftStatus::Sent
            )
        })
}

/// Why [`may_read`] said no, in words.
pub fn not_yet_approved(week: &str) -> String {
    format!("the report of {week} is not approved yet; it can be read once the team approves it")
}
