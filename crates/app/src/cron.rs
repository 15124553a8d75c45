//! Parsing the report schedule's words: 5-field cron expressions (minute
//! first) and IANA time zone names. Its own module so that `settings` can
//! check `[report] schedule` without importing the report's scheduler.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Parses a 5-field cron expression (minute first).
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "{expr:?} has {fields} fields; write 5, minute first: minute hour day-of-month \
             month day-of-week (e.g. \"0 16 * * 5\" for Fridays at 16:00)"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("{expr:?} is not a valid cron expression: {e}"))
}

/// Parses an IANA time zone name such as `Europe/Berlin`.
pub fn parse_tz(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone (e.g. Europe/Berlin, UTC)"))
}
