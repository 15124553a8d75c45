//! The weekly report as an HTML e-mail and its plain-text alternative.
//!
//! The HTML is written for mail clients, not browsers: table layout 600
//! pixels wide, every style inline (clients drop `<style>` blocks), no
//! scripts, web fonts or external images. Charts are `<img src="cid:…">`
//! references to inline parts the caller attaches ([`ChartRef`]).

use std::fmt::Write as _;

use super::{ReportSection, SectionKind, WeeklyReport};

/// A chart image attached to the e-mail as an inline part.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRef {
    /// The line it illustrates (`metric:<key>`, as in [`super::Trend`]).
    pub line_id: String,
    /// The part's Content-ID, without angle brackets.
    pub cid: String,
    /// Alternative text.
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const FONT: &str = "font-family:Helvetica,Arial,sans-serif;";
const INK: &str = "color:#1f2937;";
const MUTED: &str = "color:#6b7280;";

/// The report as an HTML e-mail. `charts` are shown in the Numbers section,
/// two per row; `link` (the full report) is shown at the end.
pub fn to_html(report: &WeeklyReport, charts: &[ChartRef], link: Option<&str>) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background:#f3f4f6;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"background:#f3f4f6;\">\n\
         <tr><td align=\"center\" style=\"padding:24px 8px;\">\n\
         <table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"width:600px;max-width:600px;background:#ffffff;border:1px solid #e5e7eb;\">\n\
         <tr><td style=\"padding:24px 24px 8px 24px;{FONT}{INK}\">\
         <h1 style=\"margin:0;font-size:22px;line-height:28px;{FONT}{INK}\">{title}</h1>\
         <p style=\"margin:4px 0 0 0;font-size:13px;{FONT}{MUTED}\">Weekly status report · {week}</p></td></tr>\n",
        title = escape(&report.title),
        week = escape(&report.week),
    );
    for s in &report.sections {
        section_html(&mut o, s);
        if s.kind == SectionKind::Numbers && !charts.is_empty() {
            charts_html(&mut o, charts);
        }
    }
    o.push_str(
        "<tr><td style=\"padding:16px 24px 24px 24px;border-top:1px solid #e5e7eb;font-size:12px;",
    );
    o.push_str(FONT);
    o.push_str(MUTED);
    o.push_str("\">");
    if let Some(link) = link {
        let _ = write!(
            o,
            "<a href=\"{url}\" style=\"color:#2563eb;\">Open the full report</a> · ",
            url = escape(link)
        );
    }
    o.push_str("Drafted by Tandem from the team's data and edited by its manager.</td></tr>\n");
    o.push_str("</table>\n</td></tr>\n</table>\n</body>\n</html>\n");
    o
}

fn section_html(o: &mut String, s: &ReportSection) {
    let _ = write!(
        o,
        "<tr><td style=\"padding:16px 24px 0 24px;{FONT}{INK}\">\
         <h2 style=\"margin:0 0 8px 0;font-size:17px;line-height:22px;border-bottom:2px solid #2563eb;padding-bottom:4px;{FONT}{INK}\">{}</h2>",
        escape(&s.heading)
    );
    if let Some(note) = &s.note {
        let _ = write!(
            o,
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\"><tr>\
             <td style=\"padding:8px 12px;background:#eff6ff;border-left:3px solid #2563eb;font-size:14px;line-height:20px;{FONT}{INK}\">{}</td></tr></table>",
            escape(note).replace('\n', "<br>")
        );
    }
    if let Some(empty) = &s.empty_message {
        let _ = write!(
            o,
            "<p style=\"margin:8px 0;font-size:14px;font-style:italic;{FONT}{MUTED}\">{}</p>",
            escape(empty)
        );
    } else {
        o.push_str(
            "<ul style=\"margin:8px 0;padding-left:20px;font-size:14px;line-height:20px;\">",
        );
        for l in &s.lines {
            let text = escape(&l.text);
            if l.children.is_empty() {
                let _ = write!(o, "<li style=\"margin:0 0 4px 0;\">{text}");
            } else {
                let _ = write!(o, "<li style=\"margin:0 0 4px 0;\"><strong>{text}</strong>");
                o.push_str("<ul style=\"margin:4px 0;padding-left:18px;\">");
                for c in &l.children {
                    let _ = write!(
                        o,
                        "<li style=\"margin:0 0 2px 0;\">{}</li>",
                        escape(&c.text)
                    );
                }
                o.push_str("</ul>");
            }
            o.push_str("</li>");
        }
        o.push_str("</ul>");
    }
    o.push_str("</td></tr>\n");
}

fn charts_html(o: &mut String, charts: &[ChartRef]) {
    let _ = write!(
        o,
        "<tr><td style=\"padding:8px 24px 0 24px;{FONT}{INK}\">\
         <p style=\"margin:0 0 4px 0;font-size:13px;{FONT}{MUTED}\">Last 12 weeks</p>\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">"
    );
    for row in charts.chunks(2) {
        o.push_str("<tr>");
        for c in row {
            let _ = write!(
                o,
                "<td width=\"50%\" valign=\"top\" style=\"padding:4px;\">\
                 <img src=\"cid:{cid}\" width=\"{w}\" height=\"{h}\" alt=\"{alt}\" \
                 style=\"display:block;width:{w}px;max-width:100%;height:auto;border:0;\"></td>",
                cid = escape(&c.cid),
                w = c.width,
                h = c.height,
                alt = escape(&c.alt),
            );
        }
        if row.len() == 1 {
            o.push_str("<td width=\"50%\"></td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</table></td></tr>\n");
}

/// The plain-text alternative of the e-mail: the same content, no markup.
pub fn to_text(report: &WeeklyReport, link: Option<&str>) -> String {
    let mut o = format!(
        "{}\n{}\n",
        report.title,
        "=".repeat(report.title.chars().count())
    );
    for s in &report.sections {
        let _ = write!(
            o,
            "\n{}\n{}\n",
            s.heading,
            "-".repeat(s.heading.chars().count())
        );
        if let Some(note) = &s.note {
            let _ = writeln!(o, "{note}\n");
        }
        if let Some(empty) = &s.empty_message {
            let _ = writeln!(o, "{empty}");
            continue;
        }
        for l in &s.lines {
            let _ = writeln!(o, "* {}", l.text);
            for c in &l.children {
                let _ = writeln!(o, "    - {}", c.text);
            }
        }
    }
    if let Some(link) = link {
        let _ = write!(o, "\nFull report: {link}\n");
    }
    o
}
