//! What templates share: the page header, the error page, and formatting.

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

/// The page header: who is signed in, what they may open, the sign-out form.
#[derive(Debug, Clone)]
pub struct Nav {
    pub username: String,
    pub role: String,
    pub member: bool,
    /// Managers and admins see "Set up".
    pub manager: bool,
    pub admin: bool,
    pub csrf: String,
    /// Which main link is the current page.
    pub current: &'static str,
    /// What the last form did, in a sentence ([`flash`]).
    pub flash: Option<&'static str>,
}

impl Nav {
    /// A header to replace before rendering (cached pages are stored
    /// without the viewer's).
    pub fn placeholder() -> Nav {
        Nav {
            username: String::new(),
            role: String::new(),
            member: false,
            manager: false,
            admin: false,
            csrf: String::new(),
            current: "",
            flash: None,
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub status: u16,
    pub message: String,
}

/// A number as people read it: no trailing zeros, at most two decimals,
/// thousands grouped.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let rounded = (v * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("−", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A value with its unit: "2.4 %", "310 ms", "12".
pub fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "" => number(v),
        "%" => format!("{} %", number(v)),
        u => format!("{} {u}", number(v)),
    }
}

/// A share 0–1 as a whole percentage, rounded as `tandem_app::kpis::percent`
/// rounds progress (half away from zero), so one share reads the same on
/// every page.
pub fn percent(share: f64) -> String {
    format!("{} %", tandem_app::kpis::percent(share))
}

/// True for a unit that is itself a percentage: its changes are in points.
pub fn is_percent_unit(unit: &str) -> bool {
    matches!(unit.trim(), "%" | "percent" | "pct")
}

/// A change of a value: for a percentage, in points ("0.28 points"), never
/// a relative percentage; otherwise with the unit.
pub fn change_with_unit(v: f64, unit: &str) -> String {
    if is_percent_unit(unit) {
        format!("{} points", number(v))
    } else {
        with_unit(v, unit)
    }
}

/// "26 Nov 2026".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// A date for people who don't speak ISO: "Mon 7 Dec".
pub fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

/// A week by its Monday: "week of 30 Nov".
pub fn week_of(monday: NaiveDate) -> String {
    format!("week of {}", monday.format("%-d %b"))
}

/// "26 Nov 2026 14:05 UTC".
pub fn instant(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y %H:%M UTC").to_string()
}

/// An optional date, or a dash.
pub fn maybe_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "–".to_owned(), date)
}

/// An optional day ("Mon 7 Dec"), or "no date".
pub fn maybe_day(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "no date".to_owned(), day)
}

/// The sentence a page shows after a form succeeded: the form redirects to
/// the page with `?done=<key>` (post/redirect/get), and only the keys listed
/// here show anything (a link cannot put words on the page). The set-up
/// pages keep their own codes (`setup::notice`); none is listed in both.
pub fn flash(key: &str) -> Option<&'static str> {
    Some(match key {
        "decision" => {
            "Your decision is recorded: it is in the decisions log, the goal's version history and the next weekly report."
        }
        "report-saved" => "Your edits are saved.",
        "report-approved" => "The report is approved: stakeholders can read it now.",
        "report-sent" => "The report is sent.",
        "token-created" => "The token is created.",
        "token-revoked" => "The token is revoked: it no longer opens the API.",
        "user-created" => "The user is created.",
        "user-disabled" => "The user is disabled: their sessions and tokens stop working.",
        "user-enabled" => "The user is enabled again.",
        "role-changed" => "The role is changed.",
        "password-changed" => "The password is changed.",
        _ => return None,
    })
}

/// A form field as its label names it: `new_deadline` → "the new deadline".
pub fn field_words(field: &str) -> String {
    match field {
        "reason" => "the reason".to_owned(),
        "new_deadline" => "the new deadline".to_owned(),
        "people" => "who joins".to_owned(),
        "choice" => "the choice".to_owned(),
        "username" => "the user name".to_owned(),
        "display_name" => "the display name".to_owned(),
        "password" => "the password".to_owned(),
        "role" => "the role".to_owned(),
        "name" => "the name".to_owned(),
        "key" => "the key".to_owned(),
        other => format!("the {}", other.replace(['_', '.'], " ")),
    }
}

/// A field's error as a sentence for the form: an empty value says what to
/// fill in ("Fill in the user name.") instead of `"" is not a valid key…`;
/// a quoted value gets typographic quotes; the first letter is capitalised.
pub fn in_words(field: &str, message: &str) -> String {
    let m = message.trim();
    if m.starts_with("\"\" ") || m == "must not be empty" || m.starts_with("must not be empty") {
        return format!("Fill in {}.", field_words(field));
    }
    let m = match m.strip_prefix('"').and_then(|rest| rest.split_once("\" ")) {
        Some((value, rest)) => format!("“{value}” {rest}"),
        None => m.to_owned(),
    };
    let mut chars = m.chars();
    let mut out = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '?', '!']) {
        out.push('.');
    }
    out
}

/// A status word for people: `in_progress` → "in progress".
pub fn words(s: impl std::fmt::Display) -> String {
    s.to_string().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_read_as_sentences() {
        assert_eq!(
            in_words(
                "username",
                "\"\" is not a valid key: use 1-64 lowercase letters"
            ),
            "Fill in the user name."
        );
        assert_eq!(in_words("name", "must not be empty"), "Fill in the name.");
        assert_eq!(
            in_words("key", "\"A b\" is not a valid key: use lowercase letters"),
            "“A b” is not a valid key: use lowercase letters."
        );
        assert_eq!(in_words("role", "is missing"), "Is missing.");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(2.456), "2.46");
        assert_eq!(number(-1200.0), "−1,200");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "–");
        assert_eq!(with_unit(3.1, "%"), "3.1 %");
        assert_eq!(with_unit(310.0, "ms"), "310 ms");
        assert_eq!(percent(0.854), "85 %");
        // One rounding: 72.5 % is 73 % everywhere (format!'s ties-to-even
        // made it 72 on one page and 73 on another).
        assert_eq!(percent(0.725), "73 %");
        assert_eq!(change_with_unit(0.28, "%"), "0.28 points");
    }
}

/// How a forecast reads next to its deadline: a colour class and words.
#[derive(Debug, Clone)]
pub struct ForecastCell {
    /// `good` (P85 on or before the deadline), `warn` (P50 is, P85 is
    /// not), `bad` (even P50 is late, or no finish within the horizon),
    /// `unknown` (no deadline or no forecast).
    pub class: &'static str,
    pub text: String,
    /// Spelled out for screen readers and tooltips.
    pub detail: String,
}

impl ForecastCell {
    pub fn unknown(text: impl Into<String>, detail: impl Into<String>) -> Self {
        ForecastCell {
            class: "unknown",
            text: text.into(),
            detail: detail.into(),
        }
    }

    /// From a goal's forecast (P50 and P85) and its deadline, in plain
    /// words: "85 % likely by Mon 7 Dec", never "P85".
    pub fn from_forecast(
        p50: Option<NaiveDate>,
        p85: Option<NaiveDate>,
        deadline: Option<NaiveDate>,
    ) -> Self {
        let likely = |p: Option<NaiveDate>| match p {
            Some(p) => format!("85 % likely by {}", day(p)),
            None => "not within the forecast horizon".to_owned(),
        };
        let Some(deadline) = deadline else {
            return match p85 {
                Some(p) => ForecastCell::unknown(
                    likely(Some(p)),
                    format!("85 % likely done by {}; the goal has no deadline", date(p)),
                ),
                None => ForecastCell::unknown("no deadline", "the goal has no deadline"),
            };
        };
        match (p50, p85) {
            (_, Some(p)) if p <= deadline => ForecastCell {
                class: "good",
                text: likely(Some(p)),
                detail: format!(
                    "on track: 85 % likely done by {}, deadline {}",
                    date(p),
                    date(deadline)
                ),
            },
            (Some(m), p) if m <= deadline => ForecastCell {
                class: "warn",
                text: likely(p),
                detail: format!(
                    "at risk: an even chance of done by {}, within the deadline {}; 85 % likely only by {}",
                    date(m),
                    date(deadline),
                    maybe_date(p)
                ),
            },
            (m, p) => ForecastCell {
                class: "bad",
                text: likely(p),
                detail: format!(
                    "late: even the even-chance date ({}) is after the deadline {}",
                    m.map_or_else(|| "beyond the horizon".to_owned(), date),
                    date(deadline)
                ),
            },
        }
    }

    /// Adds a caveat the forecast does not account for (a blocked item with
    /// a likely risk): the cell turns to at least "at risk" and says why.
    pub fn with_caveat(mut self, caveat: &str) -> Self {
        if self.class == "good" || self.class == "unknown" {
            self.class = "warn";
        }
        self.text = format!("{} — {caveat}", self.text);
        self.detail = format!("{}; {caveat}", self.detail);
        self
    }
}

/// A risk's weight for ordering: likelihood × impact, then schedule impact.
pub fn risk_weight(r: &tandem_domain::risk::Risk) -> (u8, i32) {
    use tandem_domain::risk::Level;
    let n = |l: Level| match l {
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
    };
    (n(r.likelihood) * n(r.impact), r.schedule_impact_days)
}
