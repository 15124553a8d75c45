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

/// A share 0–1 as a whole percentage.
pub fn percent(share: f64) -> String {
    format!("{:.0} %", (share * 100.0).clamp(-999.0, 999.0))
}

/// "26 Nov 2026".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// "26 Nov 2026 14:05 UTC".
pub fn instant(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y %H:%M UTC").to_string()
}

/// An optional date, or a dash.
pub fn maybe_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "–".to_owned(), date)
}

/// A status word for people: `in_progress` → "in progress".
pub fn words(s: impl std::fmt::Display) -> String {
    s.to_string().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// From a goal's forecast (P50 and P85) and its deadline.
    pub fn from_forecast(
        p50: Option<NaiveDate>,
        p85: Option<NaiveDate>,
        deadline: Option<NaiveDate>,
    ) -> Self {
        let Some(deadline) = deadline else {
            return match p85 {
                Some(p) => ForecastCell::unknown(
                    format!("P85 {}", date(p)),
                    "85 % likely done by this day; the goal has no deadline",
                ),
                None => ForecastCell::unknown("no deadline", "the goal has no deadline"),
            };
        };
        match (p50, p85) {
            (_, Some(p)) if p <= deadline => ForecastCell {
                class: "good",
                text: format!("P85 {}", date(p)),
                detail: format!(
                    "on track: 85 % likely done by {}, deadline {}",
                    date(p),
                    date(deadline)
                ),
            },
            (Some(m), p) if m <= deadline => ForecastCell {
                class: "warn",
                text: format!("P85 {}", maybe_date(p)),
                detail: format!(
                    "at risk: the median forecast {} meets the deadline {}, the 85 % forecast {} does not",
                    date(m),
                    date(deadline),
                    maybe_date(p)
                ),
            },
            (m, p) => ForecastCell {
                class: "bad",
                text: format!(
                    "P85 {}",
                    p.map_or_else(|| "beyond horizon".to_owned(), date)
                ),
                detail: format!(
                    "late: even the median forecast ({}) is after the deadline {}",
                    m.map_or_else(|| "beyond the horizon".to_owned(), date),
                    date(deadline)
                ),
            },
        }
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
