//! Monte Carlo forecasts: hand-checked cases with constant throughput (where
//! every trial is the same and the answer can be worked out on paper), and
//! properties over random histories and targets.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use proptest::prelude::*;
use proptest::sample::select;

use tandem_domain::DomainError;
use tandem_domain::forecast::{
    Forecast, Milestone, ScopeGrowth, Sharing, SimulationSettings, StageWork, Target,
    TargetForecast, forecast,
};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Thursday.
fn today() -> NaiveDate {
    day(2026, 11, 26)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `per_day` items done on every working day of the default window.
fn constant_history(per_day: usize, holidays: &[NaiveDate]) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    for back in 1..=84u64 {
        let d = today() - Days::new(back);
        if !is_weekend(d) && !holidays.contains(&d) {
            dates.extend(std::iter::repeat_n(d, per_day));
        }
    }
    dates
}

fn target(key: &str, remaining: u32) -> Target {
    Target {
        key: key.to_owned(),
        remaining,
        deadline: None,
        growth: ScopeGrowth::None,
        milestones: Vec::new(),
    }
}

fn ready(f: Forecast) -> Vec<TargetForecast> {
    match f {
        Forecast::Ready { targets, .. } => targets,
        other => panic!("expected a ready forecast, got {other:?}"),
    }
}

fn run(
    done: &[NaiveDate],
    targets: &[Target],
    settings: &SimulationSettings,
) -> Vec<TargetForecast> {
    ready(forecast(today(), done, targets, settings).unwrap())
}

fn all_percentiles(t: &TargetForecast) -> [Option<NaiveDate>; 4] {
    [t.p50, t.p70, t.p85, t.p95]
}

// ---------------------------------------------------------------------------
// Hand-checked cases
// ---------------------------------------------------------------------------

#[test]
fn two_a_day_and_ten_remaining_is_done_on_the_fifth_working_day() {
    let done = constant_history(2, &[]);
    let t = &run(&done, &[target("g", 10)], &SimulationSettings::default())[0];
    // Fri 27, Mon 30 (weekend skipped), Tue 1, Wed 2, Thu 3 December.
    assert_eq!(all_percentiles(t), [Some(day(2026, 12, 3)); 4]);
    assert_eq!(t.finished_within_horizon, 1.0);
    assert_eq!(t.on_time_probability, None);
    assert_eq!(t.cut_line, None);
}

#[test]
fn holidays_are_skipped_in_the_future_and_in_the_history() {
    // A holiday in the window (with no work on it) and one ahead.
    let past = day(2026, 11, 11);
    let ahead = day(2026, 12, 1);
    let done = constant_history(2, &[past]);
    let settings = SimulationSettings {
        holidays: vec![ahead, past],
        ..SimulationSettings::default()
    };
    let f = forecast(today(), &done, &[target("g", 10)], &settings).unwrap();
    let Forecast::Ready { basis, targets } = f else {
        panic!("not ready")
    };
    // 84 days = 12 weeks = 60 weekdays, one of them a holiday.
    assert_eq!(basis.working_days_in_window, 59);
    assert_eq!(basis.done_in_window, 118);
    assert_eq!(basis.mean_per_working_day, 2.0);
    assert_eq!(basis.window_start, day(2026, 9, 3));
    assert_eq!(basis.window_end, day(2026, 11, 25));
    // Fri 27, Mon 30, (Tue 1 off), Wed 2, Thu 3, Fri 4.
    assert_eq!(all_percentiles(&targets[0]), [Some(day(2026, 12, 4)); 4]);
    // Without the holiday setting, the zero day on 11 Nov is a sample, so
    // some trials are slower.
    let t = &run(&done, &[target("g", 10)], &SimulationSettings::default())[0];
    assert_eq!(t.p50, Some(day(2026, 12, 3)));
    assert!(t.p95 > t.p50);
}

#[test]
fn a_deadline_too_early_has_probability_zero_and_a_cut_line_of_what_fits() {
    let done = constant_history(2, &[]);
    let with_deadline = |deadline| Target {
        deadline: Some(deadline),
        ..target("g", 10)
    };
    let settings = SimulationSettings::default();
    // Tuesday 1 December: three working days (Fri, Mon, Tue) → 6 items.
    let t = &run(&done, &[with_deadline(day(2026, 12, 1))], &settings)[0];
    assert_eq!(t.on_time_probability, Some(0.0));
    assert_eq!(t.cut_line, Some(6));
    // A Saturday deadline: only Friday's work counts.
    let t = &run(&done, &[with_deadline(day(2026, 11, 28))], &settings)[0];
    assert_eq!((t.on_time_probability, t.cut_line), (Some(0.0), Some(2)));
    // Today: nothing more gets done.
    let t = &run(&done, &[with_deadline(today())], &settings)[0];
    assert_eq!((t.on_time_probability, t.cut_line), (Some(0.0), Some(0)));
    // Already passed.
    let t = &run(&done, &[with_deadline(day(2026, 11, 20))], &settings)[0];
    assert_eq!((t.on_time_probability, t.cut_line), (Some(0.0), Some(0)));
    // Exactly the finishing day, and later: certain, and all of it fits.
    for deadline in [day(2026, 12, 3), day(2027, 6, 1)] {
        let t = &run(&done, &[with_deadline(deadline)], &settings)[0];
        assert_eq!((t.on_time_probability, t.cut_line), (Some(1.0), Some(10)));
    }
}

#[test]
fn two_days_in_three_gives_geometric_dates() {
    // Two items on two working days out of three, none on the third: each
    // simulated day finishes two items with probability 2/3, so two items
    // take a geometric number of days: P(by day n) = 1 - 3^-n = .667, .889,
    // .963, .988.
    let mut done = Vec::new();
    let mut working = 0;
    for back in 1..=84u64 {
        let d = today() - Days::new(back);
        if !is_weekend(d) {
            working += 1;
            if working % 3 != 0 {
                done.extend([d, d]);
            }
        }
    }
    let goal = Target {
        deadline: Some(day(2026, 12, 1)), // day 3
        ..target("g", 2)
    };
    let t = &run(&done, &[goal], &SimulationSettings::default())[0];
    assert_eq!(
        all_percentiles(t),
        [
            Some(day(2026, 11, 27)),
            Some(day(2026, 11, 30)),
            Some(day(2026, 11, 30)),
            Some(day(2026, 12, 1)),
        ]
    );
    let p = t.on_time_probability.unwrap();
    assert!((p - 26.0 / 27.0).abs() < 0.015, "{p}");
    // 100 items by Wed 2 Dec (day 4): 2 × Binomial(4, 2/3) are done, and
    // P(≥ 2) = 80/81, P(≥ 4) = 72/81, P(≥ 6) = 48/81, P(≥ 8) = 16/81.
    let big = Target {
        deadline: Some(day(2026, 12, 2)),
        ..target("g", 100)
    };
    let cut = |confidence| {
        let settings = SimulationSettings {
            confidence,
            ..SimulationSettings::default()
        };
        run(&done, std::slice::from_ref(&big), &settings)[0].cut_line
    };
    assert_eq!(cut(0.999), Some(0));
    assert_eq!(cut(0.95), Some(2));
    assert_eq!(cut(0.85), Some(4));
    assert_eq!(cut(0.5), Some(6));
    assert_eq!(cut(0.15), Some(8));
}

#[test]
fn fewer_than_ten_items_in_the_window_is_too_little_history() {
    // Nine in the window; older items, items done today and later ones do
    // not count.
    let mut done: Vec<NaiveDate> = (1..=9).map(|i| day(2026, 11, 2) + Days::new(i)).collect();
    done.extend([day(2026, 9, 2), day(2026, 1, 5), today(), day(2026, 11, 27)]);
    let f = forecast(
        today(),
        &done,
        &[target("g", 10)],
        &SimulationSettings::default(),
    )
    .unwrap();
    assert_eq!(
        f,
        Forecast::TooLittleHistory {
            done_in_window: 9,
            needed: 10,
            window_start: day(2026, 9, 3),
            window_end: day(2026, 11, 25),
        }
    );
    assert_eq!(f.targets(), None);
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["outcome"], "too_little_history");
    assert_eq!(json["done_in_window"], 9);
    // The first day of the window counts; a tenth item makes it ready.
    done.push(day(2026, 9, 3));
    let f = forecast(
        today(),
        &done,
        &[target("g", 10)],
        &SimulationSettings::default(),
    )
    .unwrap();
    assert!(f.targets().is_some());
}

#[test]
fn zero_remaining_is_done_today() {
    let done = constant_history(1, &[]);
    let t = Target {
        deadline: Some(today()),
        ..target("g", 0)
    };
    let r = &run(&done, &[t], &SimulationSettings::default())[0];
    assert_eq!(all_percentiles(r), [Some(today()); 4]);
    assert_eq!((r.on_time_probability, r.cut_line), (Some(1.0), Some(0)));
}

#[test]
fn stages_get_their_own_dates_from_the_same_simulation() {
    let done = constant_history(2, &[]);
    let goal = Target::staged(
        "g",
        Some(day(2026, 12, 2)),
        ScopeGrowth::None,
        &[
            StageWork {
                key: "design".into(),
                remaining: 4,
                deadline: Some(day(2026, 11, 30)),
            },
            StageWork {
                key: "build".into(),
                remaining: 6,
                deadline: Some(day(2026, 12, 1)),
            },
        ],
    );
    assert_eq!(goal.remaining, 10);
    assert_eq!(goal.milestones[1].cumulative_items, 10);
    let t = &run(&done, &[goal], &SimulationSettings::default())[0];
    assert_eq!(all_percentiles(t), [Some(day(2026, 12, 3)); 4]);
    let [design, build] = &t.milestones[..] else {
        panic!("two milestones")
    };
    assert_eq!(design.key, "design");
    assert_eq!(design.p50, Some(day(2026, 11, 30)));
    assert_eq!(
        (design.on_time_probability, design.cut_line),
        (Some(1.0), Some(4))
    );
    assert_eq!(build.p95, Some(day(2026, 12, 3)));
    // By Tuesday 1 Dec, 6 of the 10 items through "build" are done.
    assert_eq!(
        (build.on_time_probability, build.cut_line),
        (Some(0.0), Some(6))
    );
    assert_eq!((t.on_time_probability, t.cut_line), (Some(0.0), Some(8)));
}

#[test]
fn goals_in_flight_share_the_throughput_evenly_by_default() {
    let done = constant_history(2, &[]);
    let goals = [target("small", 4), target("big", 10)];
    // Even: one item a day each until "small" is done on day 4 (Wed 2 Dec);
    // then "big" gets both: 4 + 2 × 3 = 10 on day 7 (Mon 7 Dec).
    let r = run(&done, &goals, &SimulationSettings::default());
    assert_eq!(all_percentiles(&r[0]), [Some(day(2026, 12, 2)); 4]);
    assert_eq!(all_percentiles(&r[1]), [Some(day(2026, 12, 7)); 4]);
    // In order: "small" has the team for two days; "big" ends the same day.
    let in_order = SimulationSettings {
        sharing: Sharing::InOrder,
        ..SimulationSettings::default()
    };
    let r = run(&done, &goals, &in_order);
    assert_eq!(all_percentiles(&r[0]), [Some(day(2026, 11, 30)); 4]);
    assert_eq!(all_percentiles(&r[1]), [Some(day(2026, 12, 7)); 4]);
    // The order given is the priority: reversed, "small" waits for "big".
    let r = run(&done, &[goals[1].clone(), goals[0].clone()], &in_order);
    assert_eq!(r[0].p50, Some(day(2026, 12, 3)));
    assert_eq!(r[1].p50, Some(day(2026, 12, 7)));
}

#[test]
fn an_odd_daily_throughput_alternates_between_goals() {
    // Three a day over two goals of 6: the turn carries over from day to
    // day (A B A | B A B | ...), so both are done after 4 days.
    let done = constant_history(3, &[]);
    let r = run(
        &done,
        &[target("a", 6), target("b", 6)],
        &SimulationSettings::default(),
    );
    assert_eq!(r[0].p50, Some(day(2026, 12, 2)));
    assert_eq!(r[1].p50, Some(day(2026, 12, 2)));
    // 7 and 5: "b" gets its fifth item on day 4 (items 2, 4, 6, 8, 10 of 12:
    // the 10th, on day 4), "a" its seventh on day 4 as well (item 12).
    let r = run(
        &done,
        &[target("a", 7), target("b", 5)],
        &SimulationSettings::default(),
    );
    assert_eq!(r[0].p50, Some(day(2026, 12, 2)));
    assert_eq!(r[1].p50, Some(day(2026, 12, 2)));
    // 2 and 10: "a" is done on day 1 (items 1 and 3), "b" gets the rest.
    let r = run(
        &done,
        &[target("a", 2), target("b", 10)],
        &SimulationSettings::default(),
    );
    assert_eq!(r[0].p50, Some(day(2026, 11, 27)));
    assert_eq!(r[1].p50, Some(day(2026, 12, 2)));
}

#[test]
fn scope_growth_is_added_every_seven_days_and_queues_behind_the_milestones() {
    let done = constant_history(2, &[]);
    let goal = Target {
        deadline: Some(day(2026, 12, 3)),
        growth: ScopeGrowth::Range {
            min_per_week: 5,
            max_per_week: 5,
        },
        milestones: vec![Milestone {
            key: "all of today's scope".into(),
            cumulative_items: 10,
            deadline: None,
        }],
        ..target("g", 10)
    };
    let t = &run(&done, &[goal], &SimulationSettings::default())[0];
    // Thu 3 Dec is 7 days on: 5 items join, so 10 done that day is not
    // enough; 16 ≥ 15 on Tue 8 Dec.
    assert_eq!(all_percentiles(t), [Some(day(2026, 12, 8)); 4]);
    assert_eq!(t.milestones[0].p50, Some(day(2026, 12, 3)));
    // The deadline is missed, but all of the current scope fits by it.
    assert_eq!((t.on_time_probability, t.cut_line), (Some(0.0), Some(10)));
}

#[test]
fn growing_goals_in_flight_are_simulated_item_by_item() {
    let done = constant_history(2, &[]);
    let growing = Target {
        growth: ScopeGrowth::Weekly {
            added_per_week: vec![5, 5, 5],
        },
        ..target("a", 10)
    };
    let r = run(
        &done,
        &[growing, target("b", 10)],
        &SimulationSettings::default(),
    );
    // One item a day each. Thu 3 Dec: "a" grows to 15. Thu 10 Dec: "a" grows
    // to 20 and "b" is done (10). Then "a" gets two a day: 12, 14, 16, 18 by
    // Wed 16; Thu 17 it grows to 25 and reaches 20; 22, 24, 26 on Tue 22.
    assert_eq!(all_percentiles(&r[1]), [Some(day(2026, 12, 10)); 4]);
    assert_eq!(all_percentiles(&r[0]), [Some(day(2026, 12, 22)); 4]);
}

#[test]
fn work_that_does_not_finish_within_the_horizon_has_no_date() {
    // Ten items in twelve weeks; a thousand to go; a 20-day horizon.
    let done: Vec<NaiveDate> = (0..10).map(|i| day(2026, 10, 5) + Days::new(i)).collect();
    let settings = SimulationSettings {
        horizon_working_days: 20,
        ..SimulationSettings::default()
    };
    let goal = Target {
        deadline: Some(day(2030, 1, 1)),
        ..target("g", 1000)
    };
    let f = forecast(today(), &done, &[goal, target("none", 0)], &settings).unwrap();
    let Forecast::Ready { basis, targets } = f else {
        panic!("not ready")
    };
    assert_eq!(basis.horizon_end, day(2026, 12, 24));
    let t = &targets[0];
    assert_eq!(all_percentiles(t), [None; 4]);
    assert_eq!(t.finished_within_horizon, 0.0);
    assert_eq!(t.on_time_probability, Some(0.0));
    assert!(t.cut_line.unwrap() < 1000);
    assert_eq!(targets[1].p95, Some(today()));
}

#[test]
fn the_result_serialises_with_an_outcome_tag() {
    let done = constant_history(2, &[]);
    let f = forecast(
        today(),
        &done,
        &[Target {
            deadline: Some(day(2026, 12, 1)),
            ..target("g", 10)
        }],
        &SimulationSettings::default(),
    )
    .unwrap();
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["outcome"], "ready");
    assert_eq!(json["basis"]["sharing"], "even");
    assert_eq!(json["basis"]["trials"], 10_000);
    let t = &json["targets"][0];
    assert_eq!(t["p85"], "2026-12-03");
    assert_eq!(t["on_time_probability"], 0.0);
    assert_eq!(t["cut_line"], 6);
    // Settings and targets read from JSON (configuration, API bodies).
    let s: SimulationSettings =
        serde_json::from_str(r#"{"trials": 500, "sharing": "in_order"}"#).unwrap();
    assert_eq!(
        (s.trials, s.window_days, s.sharing),
        (500, 84, Sharing::InOrder)
    );
    let g: Target = serde_json::from_str(
        r#"{"key": "g", "remaining": 3, "growth": {"kind": "range", "min_per_week": 0, "max_per_week": 2}}"#,
    )
    .unwrap();
    assert_eq!(
        g.growth,
        ScopeGrowth::Range {
            min_per_week: 0,
            max_per_week: 2
        }
    );
}

#[test]
fn invalid_settings_and_targets_are_named() {
    let done = constant_history(2, &[]);
    let bad = SimulationSettings {
        trials: 0,
        confidence: 1.5,
        window_days: 0,
        min_history: 0,
        horizon_working_days: 0,
        ..SimulationSettings::default()
    };
    let err = forecast(today(), &done, &[], &bad).unwrap_err();
    assert_eq!(
        err.fields(),
        [
            "window_days",
            "trials",
            "min_history",
            "confidence",
            "horizon_working_days"
        ]
    );
    let nan = SimulationSettings {
        confidence: f64::NAN,
        ..SimulationSettings::default()
    };
    assert_eq!(nan.validate().unwrap_err().fields(), ["confidence"]);

    let targets = [
        Target {
            growth: ScopeGrowth::Range {
                min_per_week: 3,
                max_per_week: 1,
            },
            milestones: vec![
                Milestone {
                    key: "m".into(),
                    cumulative_items: 11,
                    deadline: None,
                },
                Milestone {
                    key: "m".into(),
                    cumulative_items: 1,
                    deadline: None,
                },
            ],
            ..target("a", 10)
        },
        target("a", 200_000),
        target(" ", 1),
    ];
    let err = forecast(today(), &done, &targets, &SimulationSettings::default()).unwrap_err();
    assert!(matches!(err, DomainError::Invalid(_)));
    assert_eq!(
        err.fields(),
        [
            "targets[0].growth.min_per_week",
            "targets[0].milestones[0].cumulative_items",
            "targets[0].milestones[1].key",
            "targets[1].remaining",
            "targets[1].key",
            "targets[2].key",
        ]
    );
}

#[test]
fn calls_too_large_to_run_are_refused() {
    use tandem_domain::forecast::{MAX_TARGETS, MAX_TOTAL_ITEMS, MAX_TRIAL_POSTS};
    let done = constant_history(2, &[]);
    let settings = SimulationSettings::default();
    let many: Vec<Target> = (0..=MAX_TARGETS)
        .map(|i| target(&format!("g{i}"), 1))
        .collect();
    let err = forecast(today(), &done, &many, &settings).unwrap_err();
    assert_eq!(err.fields(), ["targets"]);
    let big: Vec<Target> = (0..=MAX_TOTAL_ITEMS / 100_000)
        .map(|i| target(&format!("g{i}"), 100_000))
        .collect();
    let err = forecast(today(), &done, &big, &settings).unwrap_err();
    assert_eq!(err.fields(), ["targets"]);
    assert!(err.to_string().contains("remaining items in all"), "{err}");
    let heavy = SimulationSettings {
        trials: 1_000_000,
        ..SimulationSettings::default()
    };
    let posts = (MAX_TRIAL_POSTS / 1_000_000 + 1) as usize;
    let goals: Vec<Target> = (0..posts).map(|i| target(&format!("g{i}"), 1)).collect();
    let err = forecast(today(), &done, &goals, &heavy).unwrap_err();
    assert_eq!(err.fields(), ["trials"]);
    assert!(forecast(today(), &done, &goals[..posts - 1], &heavy).is_ok());
}

#[test]
fn weekly_growth_from_the_days_items_were_added() {
    let since = day(2026, 11, 2);
    let added = [
        day(2026, 11, 1), // before the goal started: ignored
        day(2026, 11, 2),
        day(2026, 11, 8),
        day(2026, 11, 9),
        day(2026, 11, 20), // third week, not complete yet: ignored
    ];
    assert_eq!(
        ScopeGrowth::weekly_from_history(since, day(2026, 11, 20), &added),
        ScopeGrowth::Weekly {
            added_per_week: vec![2, 1]
        }
    );
    assert_eq!(
        ScopeGrowth::weekly_from_history(since, day(2026, 11, 8), &added),
        ScopeGrowth::None
    );
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// A random history: per working day of the window, 0..=max items, some of
/// them also on weekends.
fn history() -> impl Strategy<Value = Vec<NaiveDate>> {
    (
        1usize..8,
        proptest::collection::vec(0usize..8, 84),
        any::<u64>(),
    )
        .prop_map(|(max, per_day, salt)| {
            let mut dates = Vec::new();
            for (back, n) in per_day.into_iter().enumerate() {
                let d = today() - Days::new(back as u64 + 1);
                dates.extend(std::iter::repeat_n(d, n % (max + 1)));
            }
            // At least the minimum history, whatever the draw.
            dates.extend(std::iter::repeat_n(day(2026, 11, 2), 10));
            // A salt-dependent shuffle: order must not matter.
            let k = (salt as usize) % dates.len().max(1);
            dates.rotate_left(k);
            dates
        })
}

fn growth() -> impl Strategy<Value = ScopeGrowth> {
    prop_oneof![
        2 => Just(ScopeGrowth::None),
        1 => proptest::collection::vec(0u32..6, 1..6)
            .prop_map(|added_per_week| ScopeGrowth::Weekly { added_per_week }),
        1 => (0u32..3, 0u32..4).prop_map(|(min, extra)| ScopeGrowth::Range {
            min_per_week: min,
            max_per_week: min + extra,
        }),
    ]
}

fn deadline() -> impl Strategy<Value = Option<NaiveDate>> {
    proptest::option::weighted(
        0.8,
        (-5i64..120).prop_map(|d| today() + chrono::Duration::days(d)),
    )
}

fn a_target(key: &'static str) -> impl Strategy<Value = Target> {
    (
        0u32..150,
        deadline(),
        growth(),
        proptest::collection::vec((0u32..=100, deadline()), 0..3),
    )
        .prop_map(move |(remaining, deadline, growth, marks)| Target {
            key: key.to_owned(),
            remaining,
            deadline,
            growth,
            milestones: marks
                .into_iter()
                .enumerate()
                .map(|(j, (pct, deadline))| Milestone {
                    key: format!("m{j}"),
                    cumulative_items: remaining * pct / 100,
                    deadline,
                })
                .collect(),
        })
}

fn targets() -> impl Strategy<Value = Vec<Target>> {
    prop_oneof![
        a_target("a").prop_map(|t| vec![t]),
        (a_target("a"), a_target("b"), a_target("c")).prop_map(|(a, b, c)| vec![a, b, c]),
    ]
}

fn settings() -> impl Strategy<Value = SimulationSettings> {
    (select(Sharing::ALL.to_vec()), 0.5f64..=1.0).prop_map(|(sharing, confidence)| {
        SimulationSettings {
            trials: 400,
            sharing,
            confidence,
            ..SimulationSettings::default()
        }
    })
}

/// Every date of a forecast, in a fixed order.
fn dates(targets: &[TargetForecast]) -> Vec<Option<NaiveDate>> {
    let mut all = Vec::new();
    for t in targets {
        all.extend(all_percentiles(t));
        for m in &t.milestones {
            all.extend([m.p50, m.p70, m.p85, m.p95]);
        }
    }
    all
}

/// `None` (not within the horizon) is later than any date.
fn not_earlier(later: Option<NaiveDate>, earlier: Option<NaiveDate>) -> bool {
    match (later, earlier) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(l), Some(e)) => l >= e,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn more_remaining_work_never_gives_an_earlier_date(
        done in history(),
        targets in targets(),
        which in 0usize..3,
        extra in 1u32..40,
        settings in settings(),
    ) {
        let before = run(&done, &targets, &settings);
        let mut more = targets.clone();
        let i = which % more.len();
        more[i].remaining += extra;
        let after = run(&done, &more, &settings);
        for (a, b) in dates(&after).into_iter().zip(dates(&before)) {
            prop_assert!(not_earlier(a, b), "{a:?} is earlier than {b:?}");
        }
        for (a, b) in after.iter().zip(&before) {
            prop_assert!(a.on_time_probability <= b.on_time_probability);
        }
    }

    #[test]
    fn zero_remaining_work_is_done_today(
        done in history(),
        deadline in deadline(),
        settings in settings(),
    ) {
        let t = Target { deadline, ..target("g", 0) };
        let r = &run(&done, &[t], &settings)[0];
        prop_assert_eq!(all_percentiles(r), [Some(today()); 4]);
        let expected = deadline.map(|d| if d >= today() { 1.0 } else { 0.0 });
        prop_assert_eq!(r.on_time_probability, expected);
        prop_assert_eq!(r.cut_line, deadline.map(|_| 0));
    }

    #[test]
    fn the_same_input_gives_the_same_output_whatever_the_order_of_history(
        done in history(),
        targets in targets(),
        settings in settings(),
    ) {
        let first = forecast(today(), &done, &targets, &settings).unwrap();
        prop_assert_eq!(&forecast(today(), &done, &targets, &settings).unwrap(), &first);
        let mut reversed = done.clone();
        reversed.reverse();
        prop_assert_eq!(&forecast(today(), &reversed, &targets, &settings).unwrap(), &first);
    }

    #[test]
    fn percentiles_are_ordered_and_stages_come_before_their_goal(
        done in history(),
        targets in targets(),
        settings in settings(),
    ) {
        for t in run(&done, &targets, &settings) {
            let p = all_percentiles(&t);
            for w in p.windows(2) {
                prop_assert!(not_earlier(w[1], w[0]), "{p:?}");
            }
            prop_assert!(p[0].is_none_or(|d| d >= today()));
            for m in &t.milestones {
                let q = [m.p50, m.p70, m.p85, m.p95];
                for w in q.windows(2) {
                    prop_assert!(not_earlier(w[1], w[0]), "{q:?}");
                }
                for (goal, stage) in p.iter().zip(q) {
                    prop_assert!(not_earlier(*goal, stage));
                }
            }
        }
    }

    #[test]
    fn the_cut_line_is_at_most_the_remaining_work_and_grows_with_the_deadline(
        done in history(),
        targets in targets(),
        settings in settings(),
        first in 0i64..60,
        later in 0i64..60,
    ) {
        let with_deadline = |offset: i64| -> Vec<Target> {
            targets
                .iter()
                .map(|t| Target {
                    deadline: Some(today() + chrono::Duration::days(offset)),
                    ..t.clone()
                })
                .collect()
        };
        let early = run(&done, &with_deadline(first), &settings);
        let late = run(&done, &with_deadline(first + later), &settings);
        for (e, l) in early.iter().zip(&late) {
            let (ce, cl) = (e.cut_line.unwrap(), l.cut_line.unwrap());
            prop_assert!(ce <= e.remaining);
            prop_assert!(ce <= cl, "cut line {ce} then {cl}");
            prop_assert!(e.on_time_probability <= l.on_time_probability);
            let p = e.on_time_probability.unwrap();
            prop_assert!((0.0..=1.0).contains(&p));
            // Everything fits exactly when the deadline is met often enough.
            if p >= settings.confidence + 1e-9 {
                prop_assert_eq!(ce, e.remaining);
            }
            for m in &e.milestones {
                prop_assert!(m.cut_line.is_none_or(|c| c <= m.cumulative_items));
            }
        }
    }
}
