//! Tandem's domain core: the types every other crate speaks, their validation
//! and the rules between them.
//!
//! Invariants: no I/O, no async, no clock reads (callers pass `now`), no
//! randomness except from an explicit seed. A value that left a constructor or
//! a `validate` function here is valid; storage and HTTP trust it.

pub mod attribution;
pub mod audit;
pub mod backup;
pub mod calendar;
pub mod check;
pub mod cost_of_yes;
pub mod decision;
pub mod document;
pub mod dora;
pub mod engineering;
pub mod error;
pub mod focus;
pub mod forecast;
pub mod frontline;
pub mod git;
pub mod goal;
pub mod intake;
pub mod json_input;
pub mod metric;
pub mod planning;
pub mod policy;
pub mod priority;
pub mod project;
pub mod publish;
pub mod pulse;
pub mod report;
pub mod request;
pub mod risk;
pub mod risk_check;
pub mod stage;
pub mod team;
pub mod text;
pub mod time;
pub mod user;
pub mod webhook;
pub mod work_item;

pub use error::{DomainError, FieldError};

/// Declares a closed set of string values: serde, `Display`, `FromStr` (whose
/// error lists the allowed values) and an OpenAPI schema, from one list.
///
/// The wire names are captured as `tt`, not `literal`: a `literal` fragment
/// reaches derive macros wrapped in an invisible group, which serde sees
/// through but utoipa's attribute parser does not, so the schema listed the
/// Rust variant names (`InProgress`) instead of the wire names
/// (`in_progress`). `tests/string_enum.rs` keeps the two equal.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:tt),+ $(,)? }) => {
        // The derive comes first so `$meta` may hold its helpers (`#[schema(as = …)]`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "{other:?} is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
