//! Property tests for the demo organisation: valid by the domain's own rules
//! and deterministic, whatever `today` is. (Moved from the domain's rules
//! tests with the demo.)

use chrono::{Duration, NaiveDate};
use proptest::prelude::*;

use tandem_domain::goal::GoalStatus;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The demo organisation is valid and deterministic whatever `today` is.
    #[test]
    fn demo_is_valid_on_any_day(offset in 0i64..36_500) {
        let today = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(offset);
        let demo = tandem_demo::organisation(today);
        prop_assert_eq!(&demo, &tandem_demo::organisation(today));
        for g in &demo.goals {
            prop_assert!(g.validate().is_ok());
            if g.status != GoalStatus::Draft {
                prop_assert_eq!(g.agreement_gaps(), vec![]);
            }
        }
        for i in &demo.work_items {
            prop_assert!(i.validate().is_ok(), "{:?}", i.validate());
        }
        for s in &demo.stages {
            prop_assert!(s.validate().is_ok());
        }
        for r in &demo.risks {
            prop_assert!(r.validate().is_ok());
        }
        for d in &demo.decisions {
            prop_assert!(d.validate().is_ok());
        }
    }
}
