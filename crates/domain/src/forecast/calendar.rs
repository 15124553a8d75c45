//! Calendar and history: working days, the future calendar, week starts and the
//! per-day throughput sample from the done dates.
//!
//! Part of [`super`] (see its documentation for the model); private to it.

use super::*;

pub(super) fn is_working_day(day: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && holidays.binary_search(&day).is_err()
}

/// `days[0]` is today, `days[1..]` the working days after it, at most
/// `count` of them (fewer only at the end of the representable dates).
pub(super) fn future_working_days(
    today: NaiveDate,
    count: u32,
    holidays: &[NaiveDate],
) -> Vec<NaiveDate> {
    let mut days = Vec::with_capacity(count as usize + 1);
    days.push(today);
    let mut day = today;
    while days.len() <= count as usize {
        let Some(next) = day.succ_opt() else { break };
        day = next;
        if is_working_day(day, holidays) {
            days.push(day);
        }
    }
    days
}

/// For each simulated day, how many 7-day periods after today end on it or
/// since the previous working day: the growth draws made that day.
pub(super) fn week_starts(calendar: &[NaiveDate]) -> Vec<u8> {
    let today = calendar[0];
    let week = |d: NaiveDate| (d - today).num_days() / 7;
    let mut v = vec![0u8; calendar.len()];
    for d in 1..calendar.len() {
        v[d] = u8::try_from(week(calendar[d]) - week(calendar[d - 1])).unwrap_or(u8::MAX);
    }
    v
}

#[derive(Debug)]
pub(super) struct History {
    pub(super) window_start: NaiveDate,
    pub(super) window_end: NaiveDate,
    /// Items done on each working day of the window, oldest first.
    pub(super) sample: Vec<u32>,
    pub(super) done: usize,
}

pub(super) fn history(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    window_days: u32,
    holidays: &[NaiveDate],
) -> History {
    let window_start = today
        .checked_sub_days(Days::new(u64::from(window_days)))
        .unwrap_or(NaiveDate::MIN);
    let window_end = today.pred_opt().unwrap_or(today);
    let len = usize::try_from((today - window_start).num_days()).unwrap_or(0);
    let mut per_day = vec![0u32; len];
    for &day in done_dates {
        if day >= window_start && day < today {
            let i = usize::try_from((day - window_start).num_days()).unwrap_or(0);
            per_day[i] = per_day[i].saturating_add(1);
        }
    }
    let mut sample: Vec<u32> = Vec::with_capacity(len);
    let mut before_first = 0u32;
    let mut day = window_start;
    for &count in &per_day {
        if is_working_day(day, holidays) {
            sample.push(count.saturating_add(before_first));
            before_first = 0;
        } else if let Some(last) = sample.last_mut() {
            *last = last.saturating_add(count);
        } else {
            before_first = before_first.saturating_add(count);
        }
        day = day.succ_opt().unwrap_or(day);
    }
    let done = sample.iter().map(|&n| n as usize).sum();
    History {
        window_start,
        window_end,
        sample,
        done,
    }
}
