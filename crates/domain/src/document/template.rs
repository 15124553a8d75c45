//! Template: a draft agreement to fill in, with the clarifying questions as
//! comments the parser ignores.
//!
//! Part of [`super`] (see its documentation for the layout and the
//! round-trip rules).

use super::*;

/// A draft agreement for `team_key` to fill in: the five parts, with the
/// clarifying questions to ask the business as comments (which the parser
/// ignores). A filled-in template imports as a new draft goal.
pub fn template(team_key: &str) -> String {
    format!(
        r##"+++
# A draft goal agreement for team {team}. Fill in the title, the sections and
# this front matter, then `tandem goal import FILE` creates it as a draft goal
# (or PUT it to /api/v1/goals/{{new id}}/document). Lines starting with `#`
# here, and <!-- comments --> below, are guidance and are ignored.
team = {team_value}
# project = "checkout"          # the project's key, if the goal belongs to one
status = "draft"
version = 0

[timeline]
# starts_on = 2026-11-01
# deadline = 2026-12-15

[parties]
# owner = "Who answers for the goal"        # needed to agree it
# requester = "Who in the business asked for it"
contributors = []

# Success metrics: one [[success_metrics]] block per metric. Agreeing needs at
# least one, each with a baseline, a target and a deadline (its own or the
# timeline's).
#   Which specific metric are we improving?   metric, metric_key
#   What change do we expect?                 baseline, target, direction, unit
#   How will we measure success?              metric_key (the series), deadline
#
# [[success_metrics]]
# metric = "p95 latency of /users"
# metric_key = "users-p95"      # a Tandem metric series, if there is one
# baseline = 500
# target = 300
# direction = "down"            # "up" or "down": which way is better
# unit = "ms"
# deadline = 2026-12-15
+++

<!-- The title: one line, after "# ". -->
# 

## {BUSINESS_GOAL}

<!-- The business goal in the requester's words: what should change for the
business, and why now? ("More conversions" is a start; which conversions?) -->

## {TECHNICAL_TASKS}

<!-- What the team will do, specifically: "optimise API load time", "add
caching (Redis)", "improve monitoring", "A/B test the new flow". -->

## {SUCCESS_METRICS}

<!-- Which specific metrics are we improving? What change do we expect? How
will we measure success? Write them as [[success_metrics]] in the front
matter, which is the source of truth; an exported document shows them here as
a table. -->

## {HYPOTHESES}

<!-- What hypotheses are we testing? One bullet each, e.g.
- Caching the user list brings p95 latency under 300 ms.
-->

## {TIMELINE}

<!-- Set the dates in [timeline] in the front matter. Record the risks to
the timeline in Tandem once the goal exists (POST /api/v1/risks). -->

## {PARTIES}

<!-- Set the owner, the requester and the contributors in [parties] in the
front matter. -->
"##,
        team = team_key.replace(['\r', '\n'], " "),
        team_value = toml_str(team_key),
    )
}
