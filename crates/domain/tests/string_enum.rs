//! Every `string_enum!` is documented as the API speaks it: its OpenAPI
//! schema lists exactly the wire names serde reads and writes, and its schema
//! name is unique (two types sharing one name would make one document the
//! other's values).

use std::collections::BTreeMap;

use serde_json::Value;
use tandem_domain::*;
use utoipa::ToSchema;

/// What the schema of `T` documents: its name and its `enum` values.
fn documented<T: ToSchema>() -> (String, Vec<String>) {
    let schema = serde_json::to_value(T::schema()).expect("a schema serialises");
    let values = schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no enum: {schema}", T::name()))
        .iter()
        .map(|v| v.as_str().expect("a string value").to_owned())
        .collect();
    (T::name().into_owned(), values)
}

/// The wire names of `T`, as serde writes them.
fn wire<T: serde::Serialize>(all: &[T]) -> Vec<String> {
    all.iter()
        .map(|v| match serde_json::to_value(v).expect("serialises") {
            Value::String(s) => s,
            other => panic!("not a string: {other}"),
        })
        .collect()
}

macro_rules! check {
    ($checked:ident, $($ty:ty),+ $(,)?) => {
        $(
            let (name, values) = documented::<$ty>();
            assert_eq!(
                values,
                wire(<$ty>::ALL),
                "{} documents other values than the API speaks",
                stringify!($ty)
            );
            for (value, variant) in values.iter().zip(<$ty>::ALL) {
                assert_eq!(value, variant.as_str());
                assert_eq!(value.parse::<$ty>().as_ref(), Ok(variant));
            }
            if let Some(other) = $checked.insert(name.clone(), stringify!($ty)) {
                panic!("{} and {other} share the schema name {name}", stringify!($ty));
            }
        )+
    };
}

#[test]
fn every_string_enum_is_documented_by_its_wire_names() {
    let mut checked = BTreeMap::new();
    check!(
        checked,
        attribution::Method,
        attribution::Via,
        dora::ExplainMetric,
        dora::Level,
        dora::Bucket,
        engineering::PrState,
        engineering::ReviewState,
        engineering::DeploymentStatus,
        engineering::PipelineStatus,
        engineering::Provider,
        engineering::FetchState,
        intake::MailState,
        intake::MailSource,
        audit::AuditAction,
        check::CheckKind,
        check::CheckStatus,
        check::Severity,
        check::AlertKind,
        check::AlertChannel,
        check::AlertStatus,
        frontline::KpiSourceKind,
        frontline::ServiceState,
        publish::PublishTarget,
        publish::PublicationStatus,
        publish::DocKind,
        engineering::Outcome,
        forecast::Sharing,
        git::CommitSource,
        decision::GoalDecisionChoice,
        goal::GoalStatus,
        goal::GoalTransition,
        metric::Direction,
        metric::Audience,
        metric::ComputedFrom,
        planning::ScoreKind,
        planning::ValueSource,
        policy::Urgency,
        policy::Day,
        focus::Rule,
        report::SectionKind,
        report::DraftStatus,
        report::Channel,
        report::DeliveryStatus,
        request::RequestSource,
        request::RequestStatus,
        request::RequestDecisionKind,
        request::RequestUrgency,
        request::Question,
        request::NotificationKind,
        risk::Level,
        risk::RiskSource,
        risk::RiskStatus,
        user::Role,
        work_item::WorkKind,
        work_item::Priority,
        work_item::WorkState,
    );

    // The list above is every `string_enum!` in the crate.
    let declared = declared_string_enums();
    assert_eq!(
        declared,
        checked.len(),
        "src/ declares {declared} string_enum!s; add the new ones to this test"
    );
}

/// How many `string_enum!` invocations `src/` holds.
fn declared_string_enums() -> usize {
    fn walk(dir: &std::path::Path, count: &mut usize) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, count);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                *count += text.matches("string_enum! {").count();
            }
        }
    }
    let mut count = 0;
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut count,
    );
    count
}

// The macro itself: a multi-word variant keeps its wire name in the schema.
string_enum! {
    /// A test enum.
    Sample {
        InProgress => "in_progress",
        /// Documented variant.
        Done => "done",
    }
}

#[test]
fn the_macro_documents_wire_names() {
    let (name, values) = documented::<Sample>();
    assert_eq!(name, "Sample");
    assert_eq!(values, ["in_progress", "done"]);
    assert_eq!(
        serde_json::to_string(&Sample::InProgress).unwrap(),
        "\"in_progress\""
    );
}
