//! `/reports`: the archive (reports sent, and every team's recent weeks),
//! and `/reports/{team}/{week}`: one team's weekly report for an ISO week as
//! `tandem_app::report` assembles it with the draft's edits (the same report
//! the API, the CLI and the e-mail give), its 12-week trends as charts, and
//! for managers the draft editor: a note per section, lines hidden and
//! reordered, approve, send.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{Datelike, Duration, IsoWeek, Utc};
use tandem_domain::report::{self, DraftStatus, EditRequest, WeeklyReport};
use tandem_domain::team::Team;
use tandem_domain::user::Role;

use super::ManagerViewer;
use super::admin::FormErrors;
use super::cache::PageCache;
use super::data::strip_xml_declaration;
use super::overview::all_teams;
use super::view::{self, Nav};
use super::{PageError, PageForm, PageResult, Viewer, render, render_status, see_other};
use crate::AppState;
use crate::http::error::ApiError;
use axum::Extension;
use tandem_app::charts::{self, Series};
use tandem_app::lookup;

/// How many past weeks the archive lists.
const ARCHIVE_WEEKS: i64 = 12;

#[derive(Debug)]
pub struct WeekLink {
    pub week: String,
    pub label: String,
    pub href: String,
}

#[derive(Debug)]
pub struct TeamReports {
    pub team: String,
    pub weeks: Vec<WeekLink>,
}

#[derive(Debug)]
pub struct SentReport {
    pub title: String,
    pub href: String,
    pub sent: String,
}

#[derive(Debug, Template)]
#[template(path = "reports.html")]
pub struct ArchivePage {
    pub nav: Nav,
    pub sent: Vec<SentReport>,
    pub teams: Vec<TeamReports>,
}

/// `GET /reports`.
pub async fn archive(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let today = Utc::now().date_naive();
    let all = all_teams(&state).await?;
    let mut sent: Vec<SentReport> = state
        .store
        .list_archive(None)
        .await?
        .into_iter()
        .filter_map(|a| {
            let team = all.iter().find(|t| t.id == a.team_id)?;
            Some(SentReport {
                title: a.title,
                href: format!("/reports/{}/{}", team.key, a.week),
                sent: view::instant(a.sent_at),
            })
        })
        .collect();
    sent.sort_by(|a, b| b.sent.cmp(&a.sent));
    let teams = all
        .into_iter()
        .map(|t| TeamReports {
            weeks: (0..ARCHIVE_WEEKS)
                .map(|back| {
                    let day = today - Duration::weeks(back);
                    let w = day.iso_week();
                    let week = format!("{}-W{:02}", w.year(), w.week());
                    let monday =
                        day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                    WeekLink {
                        href: format!("/reports/{}/{week}", t.key),
                        label: if back == 0 {
                            format!("{week} (this week, so far)")
                        } else {
                            format!("{week} (from {})", view::date(monday))
                        },
                        week,
                    }
                })
                .collect(),
            team: t.name,
        })
        .collect();
    render(&ArchivePage {
        nav: viewer.nav("reports"),
        sent,
        teams,
    })
}

#[derive(Debug)]
pub struct LineView {
    pub text: String,
    pub children: Vec<String>,
}

#[derive(Debug)]
pub struct SectionView {
    pub heading: String,
    pub empty_message: Option<String>,
    pub note: Option<String>,
    pub lines: Vec<LineView>,
}

#[derive(Debug, Clone)]
pub struct TrendView {
    pub line_id: String,
    pub label: String,
    pub svg: String,
}

/// One line in the editor: shown or hidden, and its place.
#[derive(Debug)]
pub struct EditLine {
    pub id: String,
    pub text: String,
    pub shown: bool,
    pub position: usize,
    pub children: Vec<EditChild>,
}

#[derive(Debug)]
pub struct EditChild {
    pub id: String,
    pub text: String,
    pub shown: bool,
}

#[derive(Debug)]
pub struct EditSection {
    pub kind: String,
    pub heading: String,
    pub note: String,
    pub lines: Vec<EditLine>,
}

#[derive(Debug, Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub nav: Nav,
    pub title: String,
    pub action: String,
    pub week: String,
    pub status: String,
    pub status_line: String,
    pub sections: Vec<SectionView>,
    pub trends: Vec<TrendView>,
    pub markdown_href: String,
    /// The editor, for managers while the report is not sent.
    pub editor: Option<Vec<EditSection>>,
    pub can_approve: bool,
    pub can_send: bool,
    /// Why there is no Send button: nowhere to send to.
    pub send_note: Option<String>,
    pub errors: FormErrors,
    pub notice: Option<String>,
    pub outcomes: Vec<String>,
    /// The Slack message's blocks beside the editor: (is a header, text).
    pub slack: Vec<(bool, String)>,
    /// Where report delivery is set up (the team's set-up page).
    pub setup_href: String,
}

/// The team and week of a report path.
async fn team_week(state: &AppState, team: &str, week: &str) -> PageResult<(Team, IsoWeek)> {
    let iso = report::parse_week(week).map_err(|e| {
        PageError::Status(
            StatusCode::NOT_FOUND,
            format!("There is no report for {week:?}: {e}"),
        )
    })?;
    let team = lookup::team(&state.store, team)
        .await
        .map_err(ApiError::from)?;
    Ok((team, iso))
}

/// What a report page shows besides the report.
#[derive(Debug, Default)]
struct Extras {
    errors: FormErrors,
    notice: Option<String>,
    outcomes: Vec<String>,
    /// Notes as typed, when a form comes back with errors.
    typed_notes: Option<BTreeMap<String, String>>,
}

/// The week's report as assembled from the data (before the draft's
/// edits) and its trend charts: the expensive part, cached.
async fn assembled(
    state: &AppState,
    cache: &PageCache,
    team: &Team,
    week: IsoWeek,
) -> PageResult<std::sync::Arc<(WeeklyReport, Vec<TrendView>)>> {
    let label = report::week_label(week);
    cache
        .get_or_try(format!("report:{}:{label}", team.id), || async {
            // The same report as the API, the CLI and the e-mail (DORA lines
            // included): one assembly.
            let data =
                tandem_app::report::weekly_full(&state.store, &state.settings, team.id, week)
                    .await?;
            let mut trends = Vec::new();
            for t in &data.trends {
                let series = Series {
                    label: t.label.clone(),
                    unit: t.unit.clone(),
                    points: t.points.iter().map(|p| (p.date, p.value)).collect(),
                };
                trends.push(TrendView {
                    line_id: t.line_id.clone(),
                    label: format!("12-week trend of {}", series.caption()),
                    svg: strip_xml_declaration(
                        charts::trend_svg(&series, 420, 180).map_err(ApiError::from)?,
                    ),
                });
            }
            Ok::<_, PageError>((data, trends))
        })
        .await
}

async fn report_page(
    state: &AppState,
    cache: &PageCache,
    viewer: &Viewer,
    team: &Team,
    week: IsoWeek,
    extras: Extras,
) -> PageResult<ReportPage> {
    let label = report::week_label(week);
    let today = tandem_domain::time::local_date(Utc::now(), team.zone());
    tandem_app::report::check_week(week, today).map_err(ApiError::from)?;
    let draft = state.store.find_draft(team.id, &label).await?;
    // Stakeholders read what the team approved or sent, never a draft.
    if !tandem_app::report::may_read(viewer.user.role, draft.as_ref()) {
        return Err(PageError::not_found(tandem_app::report::not_yet_approved(
            &label,
        )));
    }
    let assembled = assembled(state, cache, team, week).await?;
    let data = &assembled.0;
    let edits = draft.as_ref().map(|d| d.edits.clone()).unwrap_or_default();
    let shown = report::apply(data, &edits);
    let status = draft.as_ref().map_or(DraftStatus::Draft, |d| d.status);
    let status_line = match &draft {
        None => "Not edited yet: this is the report as assembled from the data.".to_owned(),
        Some(d) => match d.status {
            DraftStatus::Draft => format!("Draft, last edited {}.", view::instant(d.updated_at)),
            DraftStatus::Approved => format!(
                "Approved by {} on {}.",
                d.approved_by.as_deref().unwrap_or("someone"),
                d.approved_at.map_or_else(String::new, view::instant)
            ),
            DraftStatus::Sent => format!(
                "Sent on {}.",
                d.sent_at.map_or_else(String::new, view::instant)
            ),
        },
    };
    let manager = viewer.user.role.allows(Role::Manager);
    let has_channel = manager
        && !tandem_app::report::team_targets(&state.store, &state.settings, team.id)
            .await?
            .is_empty();
    let editor = (manager && status != DraftStatus::Sent)
        .then(|| editor_sections(data, &edits, extras.typed_notes.as_ref()));
    let slack = if editor.is_some() {
        slack_blocks(&shown)
    } else {
        Vec::new()
    };
    // The trends of the lines still shown, in the edited order.
    let trends = shown
        .trends
        .iter()
        .filter_map(|t| assembled.1.iter().find(|v| v.line_id == t.line_id).cloned())
        .collect();
    Ok(ReportPage {
        nav: viewer.nav("reports"),
        markdown_href: format!(
            "/api/v1/teams/{}/reports/weekly?week={label}&format=markdown",
            team.key
        ),
        action: format!("/reports/{}/{label}", team.key),
        title: shown.title.clone(),
        week: label,
        status: status.to_string(),
        status_line,
        sections: shown
            .sections
            .into_iter()
            .map(|s| SectionView {
                heading: s.heading,
                empty_message: s.empty_message,
                note: s.note,
                lines: s
                    .lines
                    .into_iter()
                    .map(|l| LineView {
                        text: l.text,
                        children: l.children.into_iter().map(|c| c.text).collect(),
                    })
                    .collect(),
            })
            .collect(),
        trends,
        can_approve: manager && status == DraftStatus::Draft,
        can_send: manager && status == DraftStatus::Approved && has_channel,
        send_note: (manager && status == DraftStatus::Approved && !has_channel).then(|| {
            format!(
                "Nowhere to send this report yet: no e-mail, Slack or webhook delivery is set up for {}.",
                team.name
            )
        }),
        slack,
        setup_href: format!("/setup/teams/{}#delivery-h", team.key),
        editor,
        errors: extras.errors,
        notice: extras.notice,
        outcomes: extras.outcomes,
    })
}

/// The report as the Slack message shows it, block by block: the header,
/// then each section's text (Slack's escapes undone: the page escapes).
fn slack_blocks(shown: &WeeklyReport) -> Vec<(bool, String)> {
    let message = report::to_slack(shown, None);
    let unescape = |t: &str| {
        t.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    message["blocks"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| {
                    let text = b["text"]["text"]
                        .as_str()
                        .or_else(|| b["elements"][0]["text"].as_str())?;
                    Some((b["type"] == "header", unescape(text)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /reports/{team}/{week}/email`: the saved draft as the HTML e-mail
/// (`tandem_domain::report::html::to_html`, the sender's renderer), for the
/// preview frame beside the editor. Managers only (it shows drafts); it may
/// be framed by this site's pages only, and runs nothing.
pub async fn email_preview(
    State(state): State<AppState>,
    ManagerViewer(_viewer): ManagerViewer,
    Extension(cache): Extension<PageCache>,
    Path((team, week)): Path<(String, String)>,
) -> PageResult<Response> {
    let (team, week) = team_week(&state, &team, &week).await?;
    tandem_app::report::check_week(week, Utc::now().date_naive()).map_err(ApiError::from)?;
    let label = report::week_label(week);
    let draft = state.store.find_draft(team.id, &label).await?;
    let assembled = assembled(&state, &cache, &team, week).await?;
    let edits = draft.map(|d| d.edits).unwrap_or_default();
    let shown = report::apply(&assembled.0, &edits);
    let html = report::to_html(&shown, &[], None);
    use axum::http::header;
    use axum::response::IntoResponse;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}

/// Every line of the assembled report, in the editor's order, with whether
/// it is shown.
fn editor_sections(
    data: &WeeklyReport,
    edits: &report::ReportEdits,
    typed: Option<&BTreeMap<String, String>>,
) -> Vec<EditSection> {
    data.sections
        .iter()
        .map(|s| {
            let order = edits.order.get(&s.kind);
            let rank = |id: &str| order.and_then(|o| o.iter().position(|x| x == id));
            let mut lines: Vec<(usize, &report::ReportLine)> = s.lines.iter().enumerate().collect();
            lines.sort_by_key(|(i, l)| (rank(&l.id).is_none(), rank(&l.id), *i));
            let kind = s.kind.to_string();
            EditSection {
                note: typed
                    .and_then(|t| t.get(&kind).cloned())
                    .or_else(|| edits.notes.get(&s.kind).cloned())
                    .unwrap_or_default(),
                kind,
                heading: s.heading.clone(),
                lines: lines
                    .into_iter()
                    .enumerate()
                    .map(|(pos, (_, l))| EditLine {
                        id: l.id.clone(),
                        text: l.text.clone(),
                        shown: !edits.hidden.contains(&l.id),
                        position: pos + 1,
                        children: l
                            .children
                            .iter()
                            .map(|c| EditChild {
                                id: c.id.clone(),
                                text: c.text.clone(),
                                shown: !edits.hidden.contains(&c.id),
                            })
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// `GET /reports/{team}/{week}`.
pub async fn preview(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    viewer: Viewer,
    Path((team, week)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> PageResult<Response> {
    let (team, week) = team_week(&state, &team, &week).await?;
    // The old `?saved` link still says so; forms now redirect with `?done=`.
    let extras = Extras {
        notice: (query.as_deref() == Some("saved")).then(|| "Your edits are saved.".to_owned()),
        ..Extras::default()
    };
    let page = report_page(&state, &cache, &viewer, &team, week, extras).await?;
    render(&page)
}

/// `POST /reports/{team}/{week}`: the editor's form. Fields: `csrf`,
/// `note.<section>` (one per section), `shown` (repeated: the line ids to
/// show; every other line of the form, listed in `line`, is hidden) and
/// `pos.<line id>` (the place of a top-level line in its section).
pub async fn edit(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Extension(cache): Extension<PageCache>,
    Path((team, week)): Path<(String, String)>,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == super::csrf::FIELD)
        .map_or("", |(_, v)| v.as_str());
    viewer.check_csrf(csrf)?;
    let (team, week) = team_week(&state, &team, &week).await?;
    let mut req = EditRequest::default();
    let mut listed: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    // Per section: (position typed, form order, line id).
    let mut places: BTreeMap<String, Vec<(f64, usize, String)>> = BTreeMap::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if let Some(section) = k.strip_prefix("note.") {
            req.notes.insert(section.to_owned(), v.trim().to_owned());
        } else if k == "line" {
            listed.push(v.clone());
        } else if k == "shown" {
            shown.push(v.clone());
        } else if let Some(rest) = k.strip_prefix("pos.")
            && let Some((section, id)) = rest.split_once('.')
        {
            let place = v.trim().parse::<f64>().unwrap_or(f64::MAX);
            places
                .entry(section.to_owned())
                .or_default()
                .push((place, i, id.to_owned()));
        }
    }
    req.hide = listed
        .iter()
        .filter(|id| !shown.contains(id))
        .cloned()
        .collect();
    req.show = shown;
    for (section, mut lines) in places {
        lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        req.order
            .insert(section, lines.into_iter().map(|(_, _, id)| id).collect());
    }
    let result =
        tandem_app::report::edit_draft(&state.store, &state.settings, team.id, week, &req).await;
    let extras = Extras {
        typed_notes: Some(req.notes),
        ..Extras::default()
    };
    let page = ReportAt {
        state: &state,
        cache: &cache,
        viewer: &viewer,
        team: &team,
        week,
    };
    page.after_write(result, "?done=report-saved", extras).await
}

/// A report page a form was posted to.
struct ReportAt<'a> {
    state: &'a AppState,
    cache: &'a PageCache,
    viewer: &'a Viewer,
    team: &'a Team,
    week: IsoWeek,
}

impl ReportAt<'_> {
    /// After a write: on success, back to the report (with `query`); on
    /// failure, the page again with the error and `extras` (what was
    /// typed), under the error's status.
    async fn after_write<T, E: Into<crate::http::error::ApiError>>(
        &self,
        result: Result<T, E>,
        query: &str,
        mut extras: Extras,
    ) -> PageResult<Response> {
        match result {
            Ok(_) => Ok(see_other(&format!(
                "/reports/{}/{}{query}",
                self.team.key,
                report::week_label(self.week)
            ))),
            Err(e) => {
                let status = extras.errors.absorb_api(e.into())?;
                let page = report_page(
                    self.state,
                    self.cache,
                    self.viewer,
                    self.team,
                    self.week,
                    extras,
                )
                .await?;
                render_status(status, &page)
            }
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

/// A manager's post of a report's CSRF-only form: the token checked, then
/// its team and week found.
async fn checked_post(
    state: &AppState,
    viewer: &Viewer,
    form: &CsrfForm,
    team: &str,
    week: &str,
) -> PageResult<(Team, IsoWeek)> {
    viewer.check_csrf(&form.csrf)?;
    team_week(state, team, week).await
}

/// `POST /reports/{team}/{week}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Extension(cache): Extension<PageCache>,
    Path((team, week)): Path<(String, String)>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    let (team, week) = checked_post(&state, &viewer, &form, &team, &week).await?;
    let result =
        tandem_app::report::approve_draft(&state.store, team.id, week, &viewer.user.username).await;
    let page = ReportAt {
        state: &state,
        cache: &cache,
        viewer: &viewer,
        team: &team,
        week,
    };
    page.after_write(result, "?done=report-approved", Extras::default())
        .await
}

/// `POST /reports/{team}/{week}/send`: sends an approved report to the
/// configured channels and shows what happened.
pub async fn send(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Extension(cache): Extension<PageCache>,
    Path((team, week)): Path<(String, String)>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    let (team, week) = checked_post(&state, &viewer, &form, &team, &week).await?;
    let label = report::week_label(week);
    let mut extras = Extras::default();
    let approved = state
        .store
        .find_draft(team.id, &label)
        .await?
        .is_some_and(|d| d.status == DraftStatus::Approved);
    let status = if !approved {
        extras.errors.form = Some(format!("Approve the report of {label} before sending it."));
        StatusCode::CONFLICT
    } else {
        match tandem_app::report::send_week(&state.store, &state.settings, team.id, week).await {
            Ok(result) => {
                extras.notice = Some(if result.archived {
                    "The report was sent and archived.".to_owned()
                } else {
                    "Nothing was delivered; see below. Sending again retries the failed channels."
                        .to_owned()
                });
                extras.outcomes = result
                    .outcomes
                    .iter()
                    .map(|o| {
                        format!(
                            "{} {}: {}{}",
                            o.channel,
                            o.recipient,
                            o.result,
                            o.error
                                .as_ref()
                                .map_or_else(String::new, |e| format!(" ({e})"))
                        )
                    })
                    .collect();
                StatusCode::OK
            }
            Err(e) => extras.errors.absorb_api(e.into())?,
        }
    };
    let page = report_page(&state, &cache, &viewer, &team, week, extras).await?;
    render_status(status, &page)
}
