//! Unit tests of the DORA metrics: percentiles, histograms, levels, ranges and the report.

use super::*;

#[test]
fn medians_and_nearest_rank_percentiles() {
    assert_eq!(median(&mut []), None);
    assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    // 10 values 1..=10: P85 is rank ⌈8.5⌉ = 9 → 9.
    let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&mut v, 85.0), Some(9.0));
    assert_eq!(percentile(&mut [7.0], 85.0), Some(7.0));
}

#[test]
fn histograms_are_within_one_percent_and_merge() {
    let values = [
        0.5,
        1.0,
        59.0,
        3600.0,
        86_400.0,
        7.0 * 86_400.0,
        400.0 * 86_400.0,
    ];
    for v in values {
        let h = {
            let mut h = Histogram::default();
            h.add(v);
            h
        };
        let got = h.median().unwrap();
        if v < 1.0 {
            assert_eq!(got, 0.0);
        } else {
            assert!((got - v).abs() / v <= 0.01, "{v} read back as {got}");
        }
    }
    let mut a = Histogram::default();
    let mut b = Histogram::default();
    for v in [10.0, 20.0, 30.0] {
        a.add(v);
    }
    for v in [40.0, 50.0] {
        b.add(v);
    }
    a.merge(&b);
    assert_eq!(a.count(), 5);
    let m = a.median().unwrap();
    assert!((m - 30.0).abs() / 30.0 <= 0.01);
    let p = a.percentile(85.0).unwrap();
    assert!((p - 50.0).abs() / 50.0 <= 0.01);
    assert_eq!(Histogram::decode(&a.encode()), Some(a.clone()));
    assert_eq!(Histogram::decode(&[1, 2, 3]), None);
}

#[test]
fn levels_follow_the_2023_thresholds() {
    assert_eq!(frequency_level(3.0), Level::Elite);
    assert_eq!(frequency_level(1.0 / 7.0), Level::High);
    assert_eq!(frequency_level(1.0 / 20.0), Level::Medium);
    assert_eq!(frequency_level(1.0 / 60.0), Level::Low);
    assert_eq!(lead_time_level(23.0 * HOUR), Level::Elite);
    assert_eq!(lead_time_level(DAY), Level::High);
    assert_eq!(lead_time_level(8.0 * DAY), Level::Medium);
    assert_eq!(lead_time_level(31.0 * DAY), Level::Low);
    assert_eq!(failure_rate_level(0.05), Level::Elite);
    assert_eq!(failure_rate_level(0.1), Level::High);
    assert_eq!(failure_rate_level(0.15), Level::Medium);
    assert_eq!(failure_rate_level(0.5), Level::Low);
    assert_eq!(restore_level(59.0 * 60.0), Level::Elite);
    assert_eq!(restore_level(23.0 * HOUR), Level::High);
    assert_eq!(restore_level(WEEK), Level::Medium);
    assert_eq!(restore_level(8.0 * DAY), Level::Low);
}

/// Time to restore from the day rollups: exact values when given, else
/// the days' histograms (within 1 %), with the precision said; counts
/// per bucket come from the days either way.
#[test]
fn time_to_restore_from_day_rollups() {
    let d = |day: u32| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
    let range = Range::new(d(2), d(15), Bucket::Week).unwrap();
    let scope = MetricScope {
        project_ids: vec![],
        service: None,
        environment: "production".into(),
    };
    // Day 3: restored in 1 h and 3 h, one still open; day 10: 10 h.
    let values = [(d(3), HOUR), (d(3), 3.0 * HOUR), (d(10), 10.0 * HOUR)];
    let mut day3 = IncidentDay {
        day: d(3),
        incidents: 3,
        resolved: 2,
        ..IncidentDay::default()
    };
    day3.restore.add(HOUR);
    day3.restore.add(3.0 * HOUR);
    let mut day10 = IncidentDay {
        day: d(10),
        incidents: 1,
        resolved: 1,
        ..IncidentDay::default()
    };
    day10.restore.add(10.0 * HOUR);
    let mut inputs = DoraInputs {
        incident_days: vec![day3, day10],
        exact_restore: Some(values.to_vec()),
        ..DoraInputs::default()
    };
    let exact = report(&scope, &range, &inputs);
    assert_eq!(exact.time_to_restore.incidents, 4);
    assert_eq!(exact.time_to_restore.resolved, 3);
    assert_eq!(exact.time_to_restore.median_hours, Some(3.0));
    assert_eq!(exact.time_to_restore.precision, "exact");
    assert_eq!(exact.buckets[0].incidents, 3);
    assert_eq!(exact.buckets[0].restore_median_hours, Some(2.0));
    assert_eq!(exact.buckets[1].restore_median_hours, Some(10.0));

    inputs.exact_restore = None;
    let approx = report(&scope, &range, &inputs);
    assert_eq!(approx.time_to_restore.incidents, 4);
    assert_eq!(approx.time_to_restore.precision, "histogram (within 1 %)");
    let m = approx.time_to_restore.median_hours.unwrap();
    assert!((m - 3.0).abs() / 3.0 <= 0.01, "{m}");
    let w2 = approx.buckets[1].restore_median_hours.unwrap();
    assert!((w2 - 10.0).abs() / 10.0 <= 0.01, "{w2}");
}

#[test]
fn throughput_days_are_the_teams_local_days_across_dst() {
    // Sydney leaves summer time on Sunday 2026-04-05 at 03:00 (UTC+11 ->
    // UTC+10): that local day has 25 hours, 4 Apr 13:00Z .. 5 Apr 14:00Z.
    let sydney: chrono_tz::Tz = "Australia/Sydney".parse().unwrap();
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let fact = |n: u128, done: &str| ItemFact {
        id: Uuid::from_u128(n),
        title: format!("item {n}"),
        kind: crate::work_item::WorkKind::Feature,
        state: crate::work_item::WorkState::Done,
        created_at: at("2026-03-01T00:00:00Z"),
        started_at: None,
        done_at: Some(at(done)),
    };
    let items = [
        fact(1, "2026-04-04T12:30:00Z"), // Sat 4 Apr 23:30 (UTC+11)
        fact(2, "2026-04-04T13:30:00Z"), // Sun 5 Apr 00:30: UTC says the 4th
        fact(3, "2026-04-05T13:30:00Z"), // Sun 5 Apr 23:30 (UTC+10): the 25th hour's day
        fact(4, "2026-04-05T14:30:00Z"), // Mon 6 Apr 00:30: UTC says the 5th
    ];
    let range = Range::new(d("2026-04-04"), d("2026-04-06"), Bucket::Day)
        .unwrap()
        .in_zone(sydney);
    assert_eq!(range.at(d("2026-04-05")), at("2026-04-04T13:00:00Z"));
    assert_eq!(range.at(d("2026-04-06")), at("2026-04-05T14:00:00Z"));
    let flow = flow_report(&range, &items, 20.0);
    let done: Vec<(NaiveDate, u64)> = flow.buckets.iter().map(|b| (b.start, b.done)).collect();
    assert_eq!(
        done,
        [
            (d("2026-04-04"), 1),
            (d("2026-04-05"), 2),
            (d("2026-04-06"), 1)
        ]
    );
    // The same range in UTC days puts items 2 and 4 a day earlier.
    let utc = Range::new(d("2026-04-04"), d("2026-04-06"), Bucket::Day).unwrap();
    let done: Vec<u64> = flow_report(&utc, &items, 20.0)
        .buckets
        .iter()
        .map(|b| b.done)
        .collect();
    assert_eq!(done, [2, 2, 0]);
}
