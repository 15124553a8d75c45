//! The demo's team pulse: each member's weekly answers (workload and focus,
//! 1–5, sometimes a note) for the [`PULSE_WEEKS`] full weeks before
//! `today`'s, drawn from a seeded generator of its own so that adding them
//! changes nothing else in the demo.
//!
//! Each team has a story the trend should tell: Payments, carrying the
//! incidents, feels its workload rise and its focus fall; Growth is
//! steady; Platform's focus recovers once its focus blocks hold. About one
//! answer in eight is missing, so a week of a small team can fall under
//! the anonymity threshold of three answers, as real weeks do.
//!
//! The answers are given to the app's own answer path by the loader
//! (`tandem_app::demo::load`), which stores them without identity and then
//! closes the ended weeks, so nothing links an answer to a person.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::data::{GROWTH, PAYMENTS, PLATFORM, TEAMS};
use super::{Demo, Rng, work_time};

/// Full weeks of pulse answers before the current week.
pub const PULSE_WEEKS: i64 = 8;

/// Its own seed: the rest of the demo does not move when this changes.
const PULSE_SEED: u64 = 0x7A4D_E3D0_2026_0050;

/// One person's answer to one week's pulse.
#[derive(Debug, Clone, PartialEq)]
pub struct PulseAnswer {
    pub team_id: Uuid,
    pub user_id: Uuid,
    /// When it was given: a Thursday or Friday afternoon of its week, in
    /// the team's zone.
    pub at: DateTime<Utc>,
    pub workload: i64,
    pub focus: i64,
    pub note: Option<&'static str>,
}

/// Notes people leave, by team.
fn notes(team: usize) -> &'static [&'static str] {
    match team {
        PAYMENTS => &[
            "Two incidents on the payouts worker ate Tuesday and Wednesday",
            "Too many urgent asks from sales this week",
            "On call and the SEPA release in the same week",
        ],
        GROWTH => &[
            "The experiment review took most of Monday",
            "Good week: long blocks for the onboarding work",
        ],
        PLATFORM => &[
            "The new focus blocks held: no meetings before lunch",
            "Cluster upgrade needed everyone on Thursday",
        ],
        _ => &[],
    }
}

/// (workload, focus) a team's week `w` (0: the oldest) centres on.
fn centre(team: usize, w: i64) -> (f64, f64) {
    let w = w as f64 / (PULSE_WEEKS - 1).max(1) as f64;
    match team {
        PAYMENTS => (3.2 + 1.3 * w, 3.4 - 1.4 * w),
        PLATFORM => (3.4 - 0.4 * w, 2.2 + 1.6 * w),
        GROWTH => (3.0, 3.6),
        _ => (3.0, 3.0),
    }
}

fn rating(rng: &mut Rng, centre: f64) -> i64 {
    let v = centre + (rng.unit() - 0.5) * 1.6;
    (v.round() as i64).clamp(1, 5)
}

/// The answers of the [`PULSE_WEEKS`] full weeks before the week of
/// `today`, in time order per team.
pub fn answers(today: NaiveDate, demo: &Demo) -> Vec<PulseAnswer> {
    let mut rng = Rng(PULSE_SEED);
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let mut out = Vec::new();
    for (t, team) in demo.teams.iter().enumerate() {
        let spec = &TEAMS[t];
        let members: Vec<Uuid> = demo
            .memberships
            .iter()
            .filter(|(team_id, _)| *team_id == team.id)
            .map(|(_, user_id)| *user_id)
            .collect();
        for w in 0..PULSE_WEEKS {
            let monday = this_monday - Duration::weeks(PULSE_WEEKS - w);
            let (workload, focus) = centre(t, w);
            for user_id in &members {
                if rng.chance(0.12) {
                    continue;
                }
                let day = monday + Duration::days(rng.range(3, 4));
                let at = spec.utc(work_time(&mut rng, day, 13, 17));
                let note = rng.chance(0.2).then(|| *rng.pick(notes(t)));
                out.push(PulseAnswer {
                    team_id: team.id,
                    user_id: *user_id,
                    at,
                    workload: rating(&mut rng, workload),
                    focus: rating(&mut rng, focus),
                    note,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()
    }

    #[test]
    fn answers_are_in_past_full_weeks_by_members_and_in_range() {
        let demo = crate::organisation(today());
        let answers = answers(today(), &demo);
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let first = monday - Duration::weeks(PULSE_WEEKS);
        assert!(!answers.is_empty());
        for a in &answers {
            let day = a.at.date_naive();
            assert!(day >= first && day < monday, "{a:?} is outside the weeks");
            assert!(demo.memberships.contains(&(a.team_id, a.user_id)));
            assert!((1..=5).contains(&a.workload) && (1..=5).contains(&a.focus));
        }
        assert_eq!(answers, super::answers(today(), &demo), "deterministic");
    }

    #[test]
    fn payments_focus_falls_and_platform_focus_recovers() {
        let demo = crate::organisation(today());
        let answers = answers(today(), &demo);
        let mean_focus = |team: usize, weeks: std::ops::Range<i64>| {
            let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
            let id = demo.teams[team].id;
            let picked: Vec<f64> = answers
                .iter()
                .filter(|a| a.team_id == id)
                .filter(|a| {
                    let back = (monday - a.at.date_naive()).num_days() / 7;
                    weeks.contains(&(PULSE_WEEKS - 1 - back))
                })
                .map(|a| a.focus as f64)
                .collect();
            picked.iter().sum::<f64>() / picked.len() as f64
        };
        assert!(mean_focus(PAYMENTS, 0..3) > mean_focus(PAYMENTS, 5..8));
        assert!(mean_focus(PLATFORM, 0..3) < mean_focus(PLATFORM, 5..8));
    }
}
