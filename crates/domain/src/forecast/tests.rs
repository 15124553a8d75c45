//! Unit tests of the forecast: the engines agree, the calendar and history rules, determinism.

use super::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn even_thresholds_deal_round_robin() {
    let items = item_thresholds(&[2, 0, 4], Sharing::Even);
    assert_eq!(items, vec![vec![1, 3], vec![], vec![2, 4, 5, 6]]);
    let items = item_thresholds(&[2, 0, 3], Sharing::InOrder);
    assert_eq!(items, vec![vec![1, 2], vec![], vec![3, 4, 5]]);
}

#[test]
fn weekend_work_counts_for_the_previous_working_day() {
    // Window: Mon 2 Nov .. Sun 15 Nov 2026 (today Mon 16 Nov, 14 days).
    let today = day(2026, 11, 16);
    let done = [
        day(2026, 11, 6),
        day(2026, 11, 7),
        day(2026, 11, 8),
        day(2026, 11, 2),
    ];
    let h = history(today, &done, 14, &[]);
    assert_eq!(h.sample, vec![1, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
    assert_eq!(h.done, 4);
    // A window that starts on a weekend: credit goes to the first working day.
    let h = history(day(2026, 11, 12), &[day(2026, 11, 7)], 6, &[]);
    assert_eq!(h.sample, vec![1, 0, 0, 0]);
}

#[test]
fn growth_is_drawn_once_per_seven_days() {
    let today = day(2026, 11, 18); // Wednesday
    let cal = future_working_days(today, 10, &[]);
    assert_eq!(cal[1], day(2026, 11, 19));
    assert_eq!(cal[5], day(2026, 11, 25)); // Wed: 7 days later
    assert_eq!(cal[10], day(2026, 12, 2));
    let draws = week_starts(&cal);
    assert_eq!(draws, vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    // A holiday on the 7th day moves the draw to the next working day.
    let cal = future_working_days(today, 6, &[day(2026, 11, 25)]);
    assert_eq!(week_starts(&cal), vec![0, 0, 0, 0, 0, 1, 0]);
    // Two weeks off: two draws on the first day back.
    let mut off: Vec<NaiveDate> = (19..=30).map(|d| day(2026, 11, d)).collect();
    off.extend((1..=4).map(|d| day(2026, 12, d)));
    let cal = future_working_days(today, 1, &off);
    assert_eq!(cal[1], day(2026, 12, 7));
    assert_eq!(week_starts(&cal), vec![0, 2]);
}

proptest::proptest! {
    /// Counting and keeping the values give the same upper quantile.
    #[test]
    fn both_kinds_of_tail_agree(
        values in proptest::collection::vec(0u64..50, 1..200),
        share in 0.01f64..=1.0,
    ) {
        let trials = values.len() as u32;
        let rank = ((share * f64::from(trials)).ceil() as u64).max(1);
        let mut counts = Tail::new(49, 1_000);
        let mut kept = Tail::new(49, 1);
        proptest::prop_assert!(matches!(counts, Tail::Counts(_)));
        proptest::prop_assert!(matches!(kept, Tail::Values(_)));
        for &v in &values {
            counts.add(v, 1);
            kept.add(v, 1);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let expected = sorted[rank as usize - 1];
        proptest::prop_assert_eq!(counts.at_least(rank), expected);
        proptest::prop_assert_eq!(kept.at_least(rank), expected);
    }
}

mod engines {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        day(2026, 11, 26)
    }

    fn history() -> impl Strategy<Value = Vec<NaiveDate>> {
        proptest::collection::vec(0usize..6, 84).prop_map(|per_day| {
            let mut dates = vec![day(2026, 11, 2); 10];
            for (back, n) in per_day.into_iter().enumerate() {
                let d = today() - Days::new(back as u64 + 1);
                dates.extend(std::iter::repeat_n(d, n));
            }
            dates
        })
    }

    fn deadline() -> impl Strategy<Value = Option<NaiveDate>> {
        proptest::option::of((-3i64..80).prop_map(|d| today() + chrono::Duration::days(d)))
    }

    fn target(key: String, growth: ScopeGrowth) -> impl Strategy<Value = Target> {
        (
            0u32..120,
            deadline(),
            proptest::collection::vec((0u32..=100, deadline()), 0..3),
        )
            .prop_map(move |(remaining, deadline, marks)| Target {
                key: key.clone(),
                remaining,
                deadline,
                growth: growth.clone(),
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

    fn settings() -> impl Strategy<Value = SimulationSettings> {
        (
            proptest::sample::select(Sharing::ALL.to_vec()),
            0.3f64..=1.0,
            5u32..200,
            prop_oneof![Just(40u32), Just(300)],
        )
            .prop_map(
                |(sharing, confidence, horizon, trials)| SimulationSettings {
                    trials,
                    sharing,
                    confidence,
                    horizon_working_days: horizon,
                    ..SimulationSettings::default()
                },
            )
    }

    fn with(
        engine: Engine,
        done: &[NaiveDate],
        targets: &[Target],
        settings: &SimulationSettings,
    ) -> Forecast {
        run(today(), done, targets, settings, Some(engine))
    }

    fn growth() -> impl Strategy<Value = ScopeGrowth> + Clone {
        prop_oneof![
            Just(ScopeGrowth::None),
            proptest::collection::vec(0u32..8, 1..5)
                .prop_map(|added_per_week| ScopeGrowth::Weekly { added_per_week }),
            (0u32..3, 0u32..5).prop_map(|(min, extra)| ScopeGrowth::Range {
                min_per_week: min,
                max_per_week: min + extra,
            }),
        ]
    }

    fn targets(
        growth: impl Strategy<Value = ScopeGrowth> + Clone + 'static,
    ) -> impl Strategy<Value = Vec<Target>> {
        (1usize..6).prop_flat_map(move |k| {
            (0..k)
                .map(|i| {
                    growth
                        .clone()
                        .prop_flat_map(move |g| target(format!("t{i}"), g))
                })
                .collect::<Vec<_>>()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The walk over fixed thresholds, the deferred item engine and
        /// the every-day reference are the same model: same draws, same
        /// answer.
        #[test]
        fn fixed_scope_engines_agree(
            done in history(),
            targets in targets(Just(ScopeGrowth::None)),
            settings in settings(),
        ) {
            let reference = with(Engine::EachDay, &done, &targets, &settings);
            prop_assert_eq!(&with(Engine::Walk, &done, &targets, &settings), &reference);
            prop_assert_eq!(&with(Engine::Items, &done, &targets, &settings), &reference);
        }

        #[test]
        fn growing_targets_engines_agree(
            done in history(),
            targets in targets(growth()),
            settings in settings(),
        ) {
            let reference = with(Engine::EachDay, &done, &targets, &settings);
            prop_assert_eq!(&with(Engine::Items, &done, &targets, &settings), &reference);
            if targets.len() == 1 {
                prop_assert_eq!(&with(Engine::Walk, &done, &targets, &settings), &reference);
            }
        }
    }
}
