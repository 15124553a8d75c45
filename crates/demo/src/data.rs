//! The demo organisation as data: its teams and their vocabulary, people,
//! metrics, goals with their stages and version steps, risks and decisions.
//! Plain Rust statics, read by the builder in the crate root; nothing here
//! draws a random number.
//!
//! Days are relative to `today` (negative: in the past).

use super::*;

#[derive(Debug)]
pub(super) struct TeamSpec {
    pub(super) key: &'static str,
    pub(super) name: &'static str,
    pub(super) timezone: &'static str,
    /// Standard-time offset from UTC in hours (daylight saving is ignored).
    pub(super) utc_offset: i64,
    /// Tracker key prefix, as in `PAY-412`.
    pub(super) prefix: &'static str,
    pub(super) first_key: u32,
    pub(super) manager: &'static str,
    /// Items done per ordinary week, inclusive range.
    pub(super) weekly: (i64, i64),
    /// A holiday week with little output.
    pub(super) quiet_week: usize,
    pub(super) projects: [ProjectSpec; 2],
    pub(super) vocab: Vocab,
}

impl TeamSpec {
    pub(super) fn utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        tandem_domain::time::micros((local - Duration::hours(self.utc_offset)).and_utc())
    }
}

#[derive(Debug)]
pub(super) struct ProjectSpec {
    pub(super) key: &'static str,
    pub(super) name: &'static str,
    pub(super) repositories: &'static [&'static str],
    pub(super) services: &'static [&'static str],
}

#[derive(Debug)]
pub(super) struct Vocab {
    pub(super) features: &'static [&'static str],
    pub(super) bugs: &'static [&'static str],
    pub(super) debts: &'static [&'static str],
    pub(super) chores: &'static [&'static str],
    pub(super) incidents: &'static [&'static str],
    /// Screens and pages, for feature and bug templates.
    pub(super) pages: &'static [&'static str],
    /// Code components, for debt and chore templates.
    pub(super) components: &'static [&'static str],
}

pub(super) const PAYMENTS: usize = 0;
pub(super) const GROWTH: usize = 1;
pub(super) const PLATFORM: usize = 2;

pub(super) static TEAMS: [TeamSpec; 3] = [
    TeamSpec {
        key: "payments",
        name: "Payments",
        timezone: "Europe/Berlin",
        utc_offset: 1,
        prefix: "PAY",
        first_key: 412,
        manager: "maria",
        weekly: (4, 8),
        quiet_week: 21,
        projects: [
            ProjectSpec {
                key: "payments-api",
                name: "Payments API",
                repositories: &["acme/payments-api", "acme/payments-worker"],
                services: &["payments-api", "payments-worker"],
            },
            ProjectSpec {
                key: "checkout",
                name: "Checkout",
                repositories: &["acme/checkout-web"],
                services: &["checkout-web", "checkout-bff"],
            },
        ],
        vocab: Vocab {
            features: &[
                "Add SEPA Direct Debit as a payment method",
                "Show the VAT breakdown on receipt e-mails",
                "Expose refund status in the merchant API",
                "Support partial refunds from the admin panel",
                "Add a 3-D Secure challenge fallback",
                "Send a webhook on chargebacks",
                "Export the monthly settlement report as CSV",
                "Let merchants set a statement descriptor",
                "Retry failed payouts automatically",
                "Add iDEAL for Dutch buyers",
                "Add invoice download to order history",
                "Accept gift cards at checkout",
                "Add rate-limit headers to the payments API",
                "Upload dispute evidence from the dashboard",
            ],
            bugs: &[
                "Fix rounding of JPY refunds",
                "Fix missing receipt after a declined-then-approved card",
                "Fix crash on an empty basket",
                "Fix 500 on refunds for deleted customers",
                "Fix wrong currency symbol for CHF",
                "Fix coupon applied twice on reload",
                "Fix payouts failing for IBANs with spaces",
                "Fix duplicate webhook deliveries after deploys",
            ],
            debts: &[
                "Upgrade the PSP SDK to v5",
                "Remove the legacy v1 charge endpoint",
                "Split the checkout bundle by route",
                "Move payment config to environment variables",
                "Delete stale feature flags in checkout",
                "Add contract tests for the PSP client",
                "Migrate payments-worker to the new job queue",
                "Replace hand-written SQL in refunds",
            ],
            chores: &[
                "Renew the PCI DSS self-assessment",
                "Rotate PSP API keys",
                "Bump Node.js to 22 in checkout-web",
                "Clean up test merchants in staging",
            ],
            incidents: &[
                "Payments API returned 502 after a deploy",
                "Checkout down: CDN certificate expired",
                "PSP timeouts during the spring sale",
                "Payout job stuck for six hours",
                "Refund webhooks delayed by a queue backlog",
            ],
            pages: &[
                "refund list",
                "payout report",
                "dispute list",
                "settlement report",
                "merchant dashboard",
                "order history",
                "invoice list",
                "transaction list",
            ],
            components: &[
                "refund service",
                "payout job",
                "card vault client",
                "PSP adapter",
                "receipt mailer",
                "checkout form",
            ],
        },
    },
    TeamSpec {
        key: "growth",
        name: "Growth",
        timezone: "America/New_York",
        utc_offset: -5,
        prefix: "GRO",
        first_key: 1203,
        manager: "maria",
        weekly: (5, 8),
        quiet_week: 8,
        projects: [
            ProjectSpec {
                key: "onboarding",
                name: "Onboarding",
                repositories: &["acme/onboarding-web"],
                services: &["onboarding-web"],
            },
            ProjectSpec {
                key: "experiments",
                name: "Experiments",
                repositories: &["acme/experiment-service", "acme/growth-emails"],
                services: &["experiment-service", "email-scheduler"],
            },
        ],
        vocab: Vocab {
            features: &[
                "Add Google sign-in to the sign-up form",
                "Show a product tour on first login",
                "Send a welcome e-mail series",
                "Add annual billing to the pricing page",
                "Show usage limits in the trial banner",
                "Invite teammates during onboarding",
                "Capture UTM parameters at sign-up",
                "A/B test the pricing page headline",
                "Add a plan comparison table",
                "Nudge inactive trials on day 5",
                "Let users pick a use case at sign-up",
                "Show customer logos on the landing page",
            ],
            bugs: &[
                "Fix sign-up failing for e-mails with a plus sign",
                "Fix the trial banner showing after upgrade",
                "Fix double welcome e-mails",
                "Fix experiment assignment changing on reload",
                "Fix broken unsubscribe link",
                "Fix UTM parameters lost after redirect",
                "Fix pricing page currency for Canadian visitors",
                "Fix invite links expiring too early",
            ],
            debts: &[
                "Remove finished experiments from the code",
                "Move e-mail templates to the template service",
                "Upgrade the analytics SDK",
                "Remove jQuery from the landing page builder",
                "Add types to the event tracker",
                "Consolidate three feature flag clients into one",
                "Delete the old pricing page",
                "Cut the sign-up bundle size",
            ],
            chores: &[
                "Renew the e-mail sending domain certificate",
                "Archive last quarter's experiments",
                "Update the cookie consent texts",
                "Review GDPR data retention for leads",
            ],
            incidents: &[
                "Sign-up form down after a CDN change",
                "Welcome e-mails stuck in the queue",
                "Experiment service returning 500s",
                "Pricing page showing wrong prices",
                "Tracking pixel slowing the landing page",
            ],
            pages: &[
                "experiment list",
                "campaign list",
                "referral report",
                "lead list",
                "cohort report",
                "sign-up report",
                "A/B test results page",
                "trial accounts list",
            ],
            components: &[
                "experiment service",
                "e-mail scheduler",
                "event tracker",
                "feature flag client",
                "CRM sync",
                "landing page builder",
            ],
        },
    },
    TeamSpec {
        key: "platform",
        name: "Platform",
        timezone: "Europe/London",
        utc_offset: 0,
        prefix: "PLT",
        first_key: 730,
        manager: "priya",
        weekly: (4, 7),
        quiet_week: 14,
        projects: [
            ProjectSpec {
                key: "users-service",
                name: "Users service",
                repositories: &["acme/users-api"],
                services: &["users-api", "users-search"],
            },
            ProjectSpec {
                key: "infrastructure",
                name: "Infrastructure",
                repositories: &["acme/infrastructure", "acme/deploy-tools"],
                services: &["ingress", "ci-runners"],
            },
        ],
        vocab: Vocab {
            features: &[
                "Add SSO login to the admin console",
                "Expose per-endpoint latency in Grafana",
                "Add audit log export",
                "Self-service API keys for partners",
                "Add rate limits per API key",
                "Publish a public status page",
                "Add canary deploys to the pipeline",
                "Show deploy history per service",
                "Add a service catalogue",
                "Page on-call only for customer-facing alerts",
                "Add blue-green deploys for ingress",
                "Give analysts read-only database access",
            ],
            bugs: &[
                "Fix token refresh race in the auth gateway",
                "Fix log shipper dropping lines on rotation",
                "Fix flaky users-api integration tests",
                "Fix wrong role shown for invited users",
                "Fix ingress returning 404 during deploys",
                "Fix search missing users with accented names",
                "Fix CI cache misses on main",
                "Fix time zone of audit log entries",
            ],
            debts: &[
                "Upgrade Postgres from 14 to 16",
                "Move Terraform state to the new bucket",
                "Remove the legacy session store",
                "Upgrade Kubernetes to 1.31",
                "Replace the cron server with scheduled jobs",
                "Delete the unused v1 users API",
                "Pin base images by digest",
                "Split the users-api test suite",
            ],
            chores: &[
                "Rotate the database passwords",
                "Renew TLS certificates for internal services",
                "Clean up unused cloud volumes",
                "Review the on-call schedule for the holidays",
            ],
            incidents: &[
                "Users API down after a bad migration",
                "Ingress certificate expired",
                "Search index rebuild overloaded the database",
                "CI runners out of disk",
                "Memory leak in the auth gateway",
            ],
            pages: &[
                "admin user list",
                "audit log viewer",
                "API key list",
                "incident list",
                "service catalogue",
                "deploy dashboard",
                "on-call schedule",
                "alert list",
            ],
            components: &[
                "users API",
                "auth gateway",
                "search indexer",
                "deploy pipeline",
                "Terraform modules",
                "log shipper",
            ],
        },
    },
];

#[derive(Debug)]
pub(super) struct UserSpec {
    pub(super) username: &'static str,
    pub(super) display_name: &'static str,
    pub(super) role: Role,
    pub(super) teams: &'static [usize],
}

pub(super) static USERS: &[UserSpec] = &[
    UserSpec {
        username: "maria",
        display_name: "Maria Keller",
        role: Role::Manager,
        teams: &[PAYMENTS, GROWTH],
    },
    UserSpec {
        username: "priya",
        display_name: "Priya Nair",
        role: Role::Manager,
        teams: &[PLATFORM],
    },
    UserSpec {
        username: "sam",
        display_name: "Sam Okafor",
        role: Role::Member,
        teams: &[PAYMENTS],
    },
    UserSpec {
        username: "ana",
        display_name: "Ana Ruiz",
        role: Role::Member,
        teams: &[PAYMENTS],
    },
    UserSpec {
        username: "tom",
        display_name: "Tom Becker",
        role: Role::Member,
        teams: &[GROWTH],
    },
    UserSpec {
        username: "yuki",
        display_name: "Yuki Tanaka",
        role: Role::Member,
        teams: &[GROWTH, PLATFORM],
    },
    UserSpec {
        username: "omar",
        display_name: "Omar Haddad",
        role: Role::Member,
        teams: &[PLATFORM],
    },
    UserSpec {
        username: "lee",
        display_name: "Lee Chen",
        role: Role::Stakeholder,
        teams: &[PAYMENTS, GROWTH],
    },
    UserSpec {
        username: "nora",
        display_name: "Nora Lindqvist",
        role: Role::Stakeholder,
        teams: &[GROWTH, PLATFORM],
    },
];

#[derive(Debug)]
pub(super) struct MetricSpec {
    pub(super) key: &'static str,
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) unit: &'static str,
    pub(super) direction: Direction,
    pub(super) audience: Audience,
    pub(super) team: Option<usize>,
    /// `(day relative to today, value)` keypoints, linearly interpolated.
    pub(super) curve: &'static [(i64, f64)],
    pub(super) noise: f64,
    pub(super) decimals: i32,
    /// Bound to a delivery metric computed from the team's deployments:
    /// such a series has no typed points (the curve is unused).
    pub(super) computed: Option<ComputedFrom>,
}

impl MetricSpec {
    pub(super) fn value_at(&self, day: i64) -> f64 {
        let first = self.curve[0];
        let last = self.curve[self.curve.len() - 1];
        if day <= first.0 {
            return first.1;
        }
        if day >= last.0 {
            return last.1;
        }
        for pair in self.curve.windows(2) {
            let ((d0, v0), (d1, v1)) = (pair[0], pair[1]);
            if day <= d1 {
                return v0 + (v1 - v0) * (day - d0) as f64 / (d1 - d0) as f64;
            }
        }
        last.1
    }

    pub(super) fn round(&self, v: f64) -> f64 {
        let scale = 10f64.powi(self.decimals);
        ((v * scale).round() / scale).max(0.0)
    }
}

pub(super) static METRICS: &[MetricSpec] = &[
    MetricSpec {
        key: "checkout-conversion",
        name: "Checkout conversion",
        description: "Share of checkout sessions that end in a paid order, per week.",
        unit: "%",
        direction: Direction::Up,
        audience: Audience::Business,
        team: Some(PAYMENTS),
        curve: &[(-182, 2.06), (-70, 2.1), (-30, 2.19), (0, 2.38)],
        noise: 0.03,
        decimals: 2,
        computed: None,
    },
    MetricSpec {
        key: "users-p95-latency",
        name: "p95 latency of /users",
        description: "95th percentile response time of GET /users over the week.",
        unit: "ms",
        direction: Direction::Down,
        audience: Audience::Business,
        team: Some(PLATFORM),
        curve: &[
            (-182, 470.0),
            (-58, 505.0),
            (-38, 445.0),
            (-20, 380.0),
            (0, 335.0),
        ],
        noise: 12.0,
        decimals: 0,
        computed: None,
    },
    MetricSpec {
        key: "monthly-active-users",
        name: "Monthly active users",
        description: "Distinct users active in the 30 days before the point.",
        unit: "users",
        direction: Direction::Up,
        audience: Audience::Business,
        team: None,
        curve: &[(-182, 44_100.0), (-9, 48_000.0), (0, 48_300.0)],
        noise: 350.0,
        decimals: 0,
        computed: None,
    },
    MetricSpec {
        key: "support-tickets",
        name: "Support tickets per week",
        description: "New support tickets opened during the week, all channels.",
        unit: "tickets",
        direction: Direction::Down,
        audience: Audience::Business,
        team: None,
        curve: &[(-182, 322.0), (-105, 318.0), (-60, 262.0), (0, 247.0)],
        noise: 14.0,
        decimals: 0,
        computed: None,
    },
    MetricSpec {
        key: "onboarding-drop-off",
        name: "Onboarding drop-off",
        description: "Share of new sign-ups who do not finish onboarding within 7 days.",
        unit: "%",
        direction: Direction::Down,
        audience: Audience::Business,
        team: Some(GROWTH),
        curve: &[(-182, 38.4), (-130, 38.0), (0, 37.2)],
        noise: 0.8,
        decimals: 1,
        computed: None,
    },
    MetricSpec {
        key: "double-charges",
        name: "Double charges per week",
        description: "Orders charged more than once, found by the nightly ledger check.",
        unit: "charges",
        direction: Direction::Down,
        audience: Audience::Team,
        team: Some(PAYMENTS),
        curve: &[
            (-182, 13.0),
            (-166, 12.0),
            (-140, 6.0),
            (-118, 0.5),
            (0, 0.2),
        ],
        noise: 1.2,
        decimals: 0,
        computed: None,
    },
    MetricSpec {
        key: "login-support-tickets",
        name: "Failed-login support tickets per week",
        description: "Support tickets tagged 'cannot log in' opened during the week.",
        unit: "tickets",
        direction: Direction::Down,
        audience: Audience::Team,
        team: Some(PLATFORM),
        curve: &[(-182, 117.0), (-110, 121.0), (-60, 57.0), (0, 51.0)],
        noise: 6.0,
        decimals: 0,
        computed: None,
    },
    MetricSpec {
        key: "payments-deploys-per-week",
        name: "Payments deploys per week",
        description: "Production deployments of Payments services during the week.",
        unit: "deploys",
        direction: Direction::Up,
        audience: Audience::Team,
        team: Some(PAYMENTS),
        curve: &[(-182, 5.0), (0, 6.5)],
        noise: 1.5,
        decimals: 0,
        computed: Some(ComputedFrom::DeploymentFrequency),
    },
    MetricSpec {
        key: "growth-deploys-per-week",
        name: "Growth deploys per week",
        description: "Production deployments of Growth services during the week.",
        unit: "deploys",
        direction: Direction::Up,
        audience: Audience::Team,
        team: Some(GROWTH),
        curve: &[(-182, 8.0), (0, 9.0)],
        noise: 2.0,
        decimals: 0,
        computed: Some(ComputedFrom::DeploymentFrequency),
    },
    MetricSpec {
        key: "platform-deploys-per-week",
        name: "Platform deploys per week",
        description: "Production deployments of Platform services during the week.",
        unit: "deploys",
        direction: Direction::Up,
        audience: Audience::Team,
        team: Some(PLATFORM),
        curve: &[(-182, 3.2), (0, 4.0)],
        noise: 1.0,
        decimals: 0,
        computed: Some(ComputedFrom::DeploymentFrequency),
    },
];

pub(super) fn metric_spec(key: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.key == key)
}

#[derive(Debug)]
pub(super) struct TargetSpec {
    pub(super) metric: &'static str,
    pub(super) key: Option<&'static str>,
    pub(super) baseline: Option<f64>,
    pub(super) target: Option<f64>,
    pub(super) direction: Direction,
    pub(super) unit: &'static str,
    /// Whether the metric names the goal's deadline as its own.
    pub(super) with_deadline: bool,
}

/// What happens to a goal after it is created, on a day relative to today.
#[derive(Debug)]
pub(super) enum Step {
    Agree(i64),
    Start(i64),
    Complete(i64),
    Drop(i64),
    /// A post-agreement edit: the deadline moves to `to`.
    MoveDeadline {
        day: i64,
        to: i64,
    },
    AddHypothesis {
        day: i64,
        text: &'static str,
    },
    SetTechnicalTasks {
        day: i64,
        text: &'static str,
    },
}

impl Step {
    pub(super) fn day(&self) -> i64 {
        match *self {
            Step::Agree(d) | Step::Start(d) | Step::Complete(d) | Step::Drop(d) => d,
            Step::MoveDeadline { day, .. }
            | Step::AddHypothesis { day, .. }
            | Step::SetTechnicalTasks { day, .. } => day,
        }
    }
}

#[derive(Debug)]
pub(super) struct StageSpec {
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) items: &'static [(&'static str, WorkKind)],
}

#[derive(Debug)]
pub(super) struct GoalSpec {
    pub(super) team: usize,
    pub(super) project: usize,
    pub(super) title: &'static str,
    pub(super) business_goal: &'static str,
    pub(super) technical_tasks: &'static str,
    pub(super) hypotheses: &'static [&'static str],
    /// Context for linked work items.
    pub(super) why: &'static str,
    pub(super) impact: &'static str,
    pub(super) targets: &'static [TargetSpec],
    pub(super) owner: Option<&'static str>,
    pub(super) requester: Option<&'static str>,
    pub(super) contributors: &'static [&'static str],
    pub(super) starts_on: Option<i64>,
    pub(super) deadline: Option<i64>,
    pub(super) created: i64,
    pub(super) steps: &'static [Step],
    pub(super) stages: &'static [StageSpec],
}

pub(super) const G_DOUBLE_CHARGES: usize = 0;
pub(super) const G_CHECKOUT: usize = 1;
pub(super) const G_MAU: usize = 3;
pub(super) const G_ONBOARDING: usize = 4;
pub(super) const G_LATENCY: usize = 6;
pub(super) const G_DEPLOYS: usize = 8;

pub(super) static GOALS: &[GoalSpec] = &[
    // 0: done
    GoalSpec {
        team: PAYMENTS,
        project: 0,
        title: "Stop double charges on payment retries",
        business_goal: "Customers who are charged twice when a payment is retried call support and ask for a refund; each case costs a refund, a ticket and sometimes a chargeback fee. Finance wants double charges gone before the Q3 audit.",
        technical_tasks: "Send an idempotency key with every charge request, deduplicate retries in payments-worker, and refund past double charges automatically.",
        hypotheses: &[
            "Most double charges come from our own retries after a gateway timeout, not from the PSP.",
        ],
        why: "Double charges cost refunds, support tickets and chargeback fees, and Finance needs them gone before the Q3 audit.",
        impact: "Double charges drop to zero; refunds and related tickets drop with them.",
        targets: &[TargetSpec {
            metric: "Double charges per week",
            key: Some("double-charges"),
            baseline: Some(12.0),
            target: Some(0.0),
            direction: Direction::Down,
            unit: "charges",
            with_deadline: true,
        }],
        owner: Some("Maria Keller"),
        requester: Some("Lee Chen"),
        contributors: &["Sam Okafor", "Ana Ruiz"],
        starts_on: Some(-160),
        deadline: Some(-110),
        created: -172,
        steps: &[Step::Agree(-166), Step::Start(-160), Step::Complete(-117)],
        stages: &[
            StageSpec {
                name: "Idempotency keys on the charge API",
                description: "Every charge request carries a key; a replayed key returns the original response.",
                start: -160,
                end: -147,
                items: &[
                    ("Fix double charge on retry", WorkKind::Bug),
                    ("Add idempotency keys to POST /charges", WorkKind::Feature),
                    ("Keep idempotency keys for 24 hours", WorkKind::Feature),
                    (
                        "Return the original response for replayed keys",
                        WorkKind::Feature,
                    ),
                ],
            },
            StageSpec {
                name: "Deduplicate retries in the worker",
                description: "payments-worker drops a retry whose charge already succeeded.",
                start: -146,
                end: -133,
                items: &[
                    (
                        "Deduplicate retry jobs in payments-worker",
                        WorkKind::Feature,
                    ),
                    ("Add jitter to charge retries", WorkKind::Debt),
                    ("Alert on duplicate charge attempts", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "Refund past double charges",
                description: "Find historical double charges in the ledger and refund them before customers dispute.",
                start: -132,
                end: -119,
                items: &[
                    (
                        "Find historical double charges in the ledger",
                        WorkKind::Chore,
                    ),
                    (
                        "Refund historical double charges automatically",
                        WorkKind::Feature,
                    ),
                    (
                        "E-mail affected customers about their refund",
                        WorkKind::Feature,
                    ),
                ],
            },
        ],
    },
    // 1: in progress, with a moved deadline and one 3-week stage
    GoalSpec {
        team: PAYMENTS,
        project: 1,
        title: "Raise checkout conversion from 2.1 % to 2.6 %",
        business_goal: "Sales sees buyers abandon the four-step checkout on mobile. Raising conversion from 2.1 % to 2.6 % is worth about €40k a month at current traffic.",
        technical_tasks: "Measure the funnel step by step, build a one-page checkout behind a feature flag, remember returning buyers' cards, and A/B test before rolling out.",
        hypotheses: &[
            "Most buyers drop off at the address step on mobile.",
            "Returning buyers convert better when their card is remembered.",
        ],
        why: "Buyers abandon the four-step checkout on mobile; the business expects +0.5 points of conversion (about €40k a month).",
        impact: "Fewer abandoned checkouts, above all on mobile.",
        targets: &[TargetSpec {
            metric: "Checkout conversion",
            key: Some("checkout-conversion"),
            baseline: Some(2.1),
            target: Some(2.6),
            direction: Direction::Up,
            unit: "%",
            with_deadline: true,
        }],
        owner: Some("Maria Keller"),
        requester: Some("Lee Chen"),
        contributors: &["Ana Ruiz", "Sam Okafor"],
        starts_on: Some(-66),
        deadline: Some(10),
        created: -78,
        steps: &[
            Step::Agree(-70),
            Step::Start(-66),
            Step::MoveDeadline { day: -20, to: 31 },
        ],
        stages: &[
            StageSpec {
                name: "Measure the checkout funnel",
                description: "Know where buyers drop off before changing anything.",
                start: -66,
                end: -57,
                items: &[
                    ("Track each checkout step as an event", WorkKind::Feature),
                    ("Build the checkout funnel dashboard", WorkKind::Feature),
                    ("Fix missing checkout events on iOS Safari", WorkKind::Bug),
                ],
            },
            StageSpec {
                name: "One-page checkout behind a flag",
                description: "Address, shipping and payment on one page, behind a feature flag. Planned as one stage; it ran three weeks.",
                start: -56,
                end: -36,
                items: &[
                    (
                        "Merge address and shipping into one step",
                        WorkKind::Feature,
                    ),
                    (
                        "Inline the card form on the summary page",
                        WorkKind::Feature,
                    ),
                    (
                        "Put the one-page checkout behind a feature flag",
                        WorkKind::Chore,
                    ),
                    ("Validate postcodes as the buyer types", WorkKind::Feature),
                    ("Keep the basket when the session expires", WorkKind::Bug),
                ],
            },
            StageSpec {
                name: "Remember returning buyers' cards",
                description: "Saved cards, with the buyer's consent, for one-click payment.",
                start: -35,
                end: -22,
                items: &[
                    (
                        "Save cards in the vault with buyer consent",
                        WorkKind::Feature,
                    ),
                    ("Show saved cards on the summary page", WorkKind::Feature),
                    (
                        "Delete saved cards from account settings",
                        WorkKind::Feature,
                    ),
                ],
            },
            StageSpec {
                name: "A/B test and roll out",
                description: "Half the traffic on the new checkout until the result is clear, then everyone.",
                start: -7,
                end: 6,
                items: &[
                    ("Split checkout traffic 50/50", WorkKind::Feature),
                    (
                        "Report conversion per variant every week",
                        WorkKind::Feature,
                    ),
                    (
                        "Roll the winning variant out to all buyers",
                        WorkKind::Feature,
                    ),
                    ("Remove the old multi-step checkout", WorkKind::Debt),
                ],
            },
        ],
    },
    // 2: draft, not yet agreeable
    GoalSpec {
        team: PAYMENTS,
        project: 1,
        title: "Offer Apple Pay and Google Pay at checkout",
        business_goal: "Mobile buyers ask for wallet payments and two competitors offer them.",
        technical_tasks: "",
        hypotheses: &["Wallet payments raise mobile conversion more than any form change."],
        why: "",
        impact: "",
        targets: &[TargetSpec {
            metric: "Mobile checkout conversion",
            key: Some("checkout-conversion"),
            baseline: None,
            target: None,
            direction: Direction::Up,
            unit: "%",
            with_deadline: false,
        }],
        owner: Some("Maria Keller"),
        requester: Some("Lee Chen"),
        contributors: &[],
        starts_on: None,
        deadline: None,
        created: -12,
        steps: &[Step::SetTechnicalTasks {
            day: -5,
            text: "Add the PSP's wallet buttons to the summary page; verify the domain with Apple.",
        }],
        stages: &[],
    },
    // 3: agreed, starts soon
    GoalSpec {
        team: GROWTH,
        project: 1,
        title: "Grow monthly active users from 48k to 60k",
        business_goal: "The plan for next year assumes 60k monthly active users by the end of the half. We are at 48k and grow about 1 % a month on our own.",
        technical_tasks: "Launch a referral invite flow, win back dormant users with re-engagement e-mails, and measure each channel separately.",
        hypotheses: &[
            "Invited users activate twice as often as users from ads.",
            "A third of dormant users come back after a relevant e-mail.",
        ],
        why: "The plan for next year needs 60k monthly active users; organic growth alone reaches about 52k.",
        impact: "More activated users from referrals and win-back e-mails.",
        targets: &[TargetSpec {
            metric: "Monthly active users",
            key: Some("monthly-active-users"),
            baseline: Some(48_000.0),
            target: Some(60_000.0),
            direction: Direction::Up,
            unit: "users",
            with_deadline: true,
        }],
        owner: Some("Maria Keller"),
        requester: Some("Nora Lindqvist"),
        contributors: &["Tom Becker", "Yuki Tanaka"],
        starts_on: Some(3),
        deadline: Some(150),
        created: -30,
        steps: &[Step::Agree(-9)],
        stages: &[
            StageSpec {
                name: "Referral invite flow",
                description: "Personal invite links with a reward for both sides.",
                start: 3,
                end: 16,
                items: &[
                    ("Generate personal referral links", WorkKind::Feature),
                    ("Reward both sides of a referral", WorkKind::Feature),
                    ("Block self-referrals", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "Re-engagement e-mails",
                description: "A short e-mail series for users dormant for 30 days.",
                start: 17,
                end: 30,
                items: &[
                    ("Segment users dormant for 30 days", WorkKind::Feature),
                    ("Send the win-back e-mail series", WorkKind::Feature),
                    ("Track returns per e-mail", WorkKind::Feature),
                ],
            },
        ],
    },
    // 4: dropped after it had started
    GoalSpec {
        team: GROWTH,
        project: 0,
        title: "Cut onboarding drop-off from 38 % to 25 %",
        business_goal: "Nearly four in ten sign-ups never finish onboarding. Product wants a shorter flow so more trials become customers.",
        technical_tasks: "Shorten onboarding from seven screens to three, defer optional profile fields, and add progress hints.",
        hypotheses: &[
            "Users drop off at the company-details screen because they do not have the data at hand.",
        ],
        why: "Nearly four in ten sign-ups never finish onboarding.",
        impact: "More trials reach the product and become customers.",
        targets: &[TargetSpec {
            metric: "Onboarding drop-off",
            key: Some("onboarding-drop-off"),
            baseline: Some(38.0),
            target: Some(25.0),
            direction: Direction::Down,
            unit: "%",
            with_deadline: true,
        }],
        owner: Some("Maria Keller"),
        requester: Some("Nora Lindqvist"),
        contributors: &["Tom Becker"],
        starts_on: Some(-125),
        deadline: Some(-60),
        created: -140,
        steps: &[Step::Agree(-131), Step::Start(-125), Step::Drop(-88)],
        stages: &[
            StageSpec {
                name: "Interview users who dropped off",
                description: "Ten interviews and a one-question survey to learn why people leave.",
                start: -125,
                end: -112,
                items: &[
                    ("Recruit ten users who dropped off", WorkKind::Chore),
                    (
                        "Tag drop-off reasons in the interview notes",
                        WorkKind::Chore,
                    ),
                    ("Add a drop-off reason survey", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "Three-screen onboarding prototype",
                description: "Seven screens become three; optional fields move to later.",
                start: -111,
                end: -98,
                items: &[
                    ("Prototype the three-screen onboarding", WorkKind::Feature),
                    ("Defer optional profile fields", WorkKind::Feature),
                    ("Add progress hints to onboarding", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "Roll out the new onboarding",
                description: "Release to all new sign-ups and compare drop-off.",
                start: -97,
                end: -84,
                items: &[
                    (
                        "Move company details after the first project",
                        WorkKind::Feature,
                    ),
                    (
                        "Release the new onboarding to 10 % of sign-ups",
                        WorkKind::Feature,
                    ),
                    (
                        "Compare drop-off between old and new onboarding",
                        WorkKind::Feature,
                    ),
                    ("Remove the seven-screen onboarding", WorkKind::Debt),
                ],
            },
        ],
    },
    // 5: draft with gaps
    GoalSpec {
        team: GROWTH,
        project: 0,
        title: "Localise sign-up for Spanish and Portuguese speakers",
        business_goal: "",
        technical_tasks: "Translate the sign-up and onboarding screens; detect the browser language.",
        hypotheses: &[],
        why: "",
        impact: "",
        targets: &[TargetSpec {
            metric: "Sign-ups from Spain, Portugal and Brazil",
            key: None,
            baseline: None,
            target: None,
            direction: Direction::Up,
            unit: "sign-ups",
            with_deadline: false,
        }],
        owner: None,
        requester: Some("Nora Lindqvist"),
        contributors: &[],
        starts_on: None,
        deadline: None,
        created: -20,
        steps: &[],
        stages: &[],
    },
    // 6: in progress, with a post-agreement edit
    GoalSpec {
        team: PLATFORM,
        project: 0,
        title: "Cut p95 latency of /users from 500 ms to 300 ms",
        business_goal: "The new account dashboard loads the user list on every visit. At 500 ms p95 it feels slow; the business expects 5 % more dashboard conversions once it is fast.",
        technical_tasks: "Profile the endpoint, cache the /users list, paginate and trim the payload, and move user search to a read replica.",
        hypotheses: &[
            "Half of the time goes to the N+1 query that loads roles.",
            "A 60-second cache is acceptable for the list view.",
        ],
        why: "The /users endpoint feeds the new dashboard; the business expects 5 % more conversions when it is fast. The current 500 ms p95 hurts the experience.",
        impact: "Faster dashboard loads and 5 % more dashboard conversions.",
        targets: &[TargetSpec {
            metric: "p95 latency of /users",
            key: Some("users-p95-latency"),
            baseline: Some(500.0),
            target: Some(300.0),
            direction: Direction::Down,
            unit: "ms",
            with_deadline: true,
        }],
        owner: Some("Priya Nair"),
        requester: Some("Nora Lindqvist"),
        contributors: &["Omar Haddad", "Yuki Tanaka"],
        starts_on: Some(-51),
        deadline: Some(21),
        created: -60,
        steps: &[
            Step::Agree(-55),
            Step::Start(-51),
            Step::AddHypothesis {
                day: -30,
                text: "User search can move to a read replica without complaints about stale results.",
            },
        ],
        stages: &[
            StageSpec {
                name: "Profile and trace /users",
                description: "Find where the 500 ms go before optimising anything.",
                start: -51,
                end: -38,
                items: &[
                    ("Add tracing spans to /users", WorkKind::Feature),
                    ("Fix the N+1 query that loads user roles", WorkKind::Bug),
                    (
                        "Publish a p95 latency panel per endpoint",
                        WorkKind::Feature,
                    ),
                ],
            },
            StageSpec {
                name: "Cache the /users list",
                description: "A 60-second cache in Redis, invalidated on profile changes.",
                start: -37,
                end: -24,
                items: &[
                    ("Cache the /users list", WorkKind::Feature),
                    (
                        "Invalidate the /users cache on profile updates",
                        WorkKind::Feature,
                    ),
                    ("Load test the cached /users endpoint", WorkKind::Chore),
                ],
            },
            StageSpec {
                name: "Paginate and trim the payload",
                description: "Cursor pagination and only the fields the dashboard shows.",
                start: -23,
                end: -10,
                items: &[
                    ("Paginate /users with cursors", WorkKind::Feature),
                    ("Drop unused fields from the /users payload", WorkKind::Debt),
                    ("Update API clients to follow cursors", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "User search on a read replica",
                description: "Search traffic leaves the primary database.",
                start: -9,
                end: 4,
                items: &[
                    ("Route user search to the read replica", WorkKind::Feature),
                    ("Alert on replica lag above 5 seconds", WorkKind::Feature),
                    ("Remove the old search index job", WorkKind::Debt),
                ],
            },
            // Planned after the fact, and too much for the time left: this is
            // the demo's goal at risk, which the forecast flags.
            StageSpec {
                name: "Move the dashboard to the new /users",
                description: "Every dashboard widget reads the paginated, cached endpoint.",
                start: 5,
                end: 18,
                items: &[
                    (
                        "Switch the team widget to paginated /users",
                        WorkKind::Feature,
                    ),
                    (
                        "Switch the activity widget to paginated /users",
                        WorkKind::Feature,
                    ),
                    (
                        "Switch the billing widget to paginated /users",
                        WorkKind::Feature,
                    ),
                    (
                        "Switch the permissions widget to paginated /users",
                        WorkKind::Feature,
                    ),
                    (
                        "Switch the invitations widget to paginated /users",
                        WorkKind::Feature,
                    ),
                    (
                        "Switch the audit widget to paginated /users",
                        WorkKind::Feature,
                    ),
                    (
                        "Prefetch the first /users page on dashboard load",
                        WorkKind::Feature,
                    ),
                    ("Show a skeleton while /users loads", WorkKind::Feature),
                    ("Cache user avatars at the edge", WorkKind::Feature),
                    ("Trim role names from the dashboard payload", WorkKind::Debt),
                    ("Remove the legacy /users/all endpoint", WorkKind::Debt),
                    ("Load test the dashboard with 10k users", WorkKind::Chore),
                    ("Add a p95 budget check to CI for /users", WorkKind::Chore),
                    (
                        "Document the /users pagination for API clients",
                        WorkKind::Chore,
                    ),
                    (
                        "Measure dashboard conversions after the switch",
                        WorkKind::Feature,
                    ),
                    ("Retire the old dashboard query path", WorkKind::Debt),
                ],
            },
        ],
    },
    // 7: done
    GoalSpec {
        team: PLATFORM,
        project: 0,
        title: "Halve failed-login support tickets from 120 to 60 a week",
        business_goal: "Support handles about 120 tickets a week from users who cannot log in, mostly password-reset e-mails that never arrive. Each ticket costs an agent ten minutes.",
        technical_tasks: "Fix password-reset e-mail delivery, add a self-service unlock, and show clearer login errors.",
        hypotheses: &["Most failed-login tickets come from reset e-mails caught by spam filters."],
        why: "Support spends about 20 hours a week on users who cannot log in.",
        impact: "Half as many failed-login tickets; support time goes to real problems.",
        targets: &[TargetSpec {
            metric: "Failed-login support tickets per week",
            key: Some("login-support-tickets"),
            baseline: Some(120.0),
            target: Some(60.0),
            direction: Direction::Down,
            unit: "tickets",
            with_deadline: true,
        }],
        owner: Some("Priya Nair"),
        requester: Some("Dana Wu (Support)"),
        contributors: &["Omar Haddad"],
        starts_on: Some(-105),
        deadline: Some(-55),
        created: -116,
        steps: &[Step::Agree(-110), Step::Start(-105), Step::Complete(-60)],
        stages: &[
            StageSpec {
                name: "Fix reset e-mail delivery",
                description: "Reset e-mails arrive within a minute and are not marked as spam.",
                start: -105,
                end: -92,
                items: &[
                    (
                        "Send reset e-mails through the transactional provider",
                        WorkKind::Feature,
                    ),
                    ("Set up SPF and DKIM for the login domain", WorkKind::Chore),
                    ("Fix reset links expiring after 5 minutes", WorkKind::Bug),
                ],
            },
            StageSpec {
                name: "Self-service account unlock",
                description: "Locked users unlock their account by e-mail without a ticket.",
                start: -91,
                end: -78,
                items: &[
                    ("Let locked users unlock by e-mail", WorkKind::Feature),
                    ("Rate-limit unlock requests", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "Clearer login errors",
                description: "Say why a login failed and what to do next.",
                start: -77,
                end: -64,
                items: &[
                    ("Explain why a login failed", WorkKind::Feature),
                    (
                        "Link to password reset from the login error",
                        WorkKind::Feature,
                    ),
                    ("Fix the lockout counter not resetting", WorkKind::Bug),
                ],
            },
        ],
    },
    // 8: agreed, starts soon
    GoalSpec {
        team: PLATFORM,
        project: 1,
        title: "Raise platform deploys from 3 to 10 a week",
        business_goal: "Changes wait for the weekly release train; product wants fixes live the day they are merged.",
        technical_tasks: "Move users-api to trunk-based merges, automate canary analysis, and deploy on every merge.",
        hypotheses: &["We deploy rarely because a person has to watch every canary."],
        why: "Product wants fixes live the day they are merged, not after the weekly release train.",
        impact: "Smaller, more frequent deploys; fixes reach users within a day.",
        targets: &[TargetSpec {
            metric: "Deploys per week",
            key: Some("platform-deploys-per-week"),
            baseline: Some(3.0),
            target: Some(10.0),
            direction: Direction::Up,
            unit: "deploys",
            with_deadline: true,
        }],
        owner: Some("Priya Nair"),
        requester: Some("Nora Lindqvist"),
        contributors: &["Omar Haddad"],
        starts_on: Some(2),
        deadline: Some(60),
        created: -21,
        steps: &[Step::Agree(-6)],
        stages: &[
            StageSpec {
                name: "Trunk-based merges",
                description: "Short-lived branches, a merge queue and a protected main.",
                start: 2,
                end: 15,
                items: &[
                    ("Protect main and require green pipelines", WorkKind::Chore),
                    ("Delete the release branches", WorkKind::Chore),
                    ("Add a merge queue to users-api", WorkKind::Feature),
                ],
            },
            StageSpec {
                name: "Automated canary",
                description: "The pipeline judges the canary and rolls back on its own.",
                start: 16,
                end: 29,
                items: &[
                    (
                        "Compare the canary error rate automatically",
                        WorkKind::Feature,
                    ),
                    (
                        "Roll back a failed canary without a person",
                        WorkKind::Feature,
                    ),
                ],
            },
        ],
    },
];

#[derive(Debug)]
pub(super) struct RiskSpec {
    pub(super) team: usize,
    pub(super) goal: Option<usize>,
    /// Index of the stage within the goal.
    pub(super) stage: Option<usize>,
    pub(super) title: &'static str,
    pub(super) description: &'static str,
    pub(super) likelihood: Level,
    pub(super) impact: Level,
    pub(super) plan: &'static str,
    pub(super) owner: &'static str,
    pub(super) schedule_impact_days: i32,
    pub(super) created: i64,
    pub(super) changes: &'static [(i64, RiskStatus)],
}

pub(super) static RISKS: &[RiskSpec] = &[
    RiskSpec {
        team: PAYMENTS,
        goal: Some(G_DOUBLE_CHARGES),
        stage: Some(2),
        title: "Refunding old double charges may trigger chargebacks",
        description: "Customers who already disputed a charge could be refunded twice.",
        likelihood: Level::Medium,
        impact: Level::Medium,
        plan: "Match refunds against open disputes first; e-mail customers before refunding.",
        owner: "Ana Ruiz",
        schedule_impact_days: 5,
        created: -140,
        changes: &[(-133, RiskStatus::Mitigating), (-117, RiskStatus::Closed)],
    },
    RiskSpec {
        team: PAYMENTS,
        goal: None,
        stage: None,
        title: "PSP sandbox outages block integration tests",
        description: "The PSP sandbox was down four times last quarter; every outage blocks merges for hours.",
        likelihood: Level::High,
        impact: Level::Low,
        plan: "Record PSP responses and replay them in CI; keep one nightly run against the real sandbox.",
        owner: "Sam Okafor",
        schedule_impact_days: 2,
        created: -90,
        changes: &[],
    },
    RiskSpec {
        team: PAYMENTS,
        goal: Some(G_CHECKOUT),
        stage: Some(3),
        title: "The A/B test may need more traffic to reach a clear result",
        description: "At 2 % conversion, a 0.3-point lift needs about three weeks of traffic per variant.",
        likelihood: Level::Medium,
        impact: Level::High,
        plan: "Run the test in all markets, not only Germany; agree the decision rule with Sales up front.",
        owner: "Maria Keller",
        schedule_impact_days: 14,
        created: -25,
        changes: &[(-20, RiskStatus::Mitigating)],
    },
    RiskSpec {
        team: GROWTH,
        goal: Some(G_MAU),
        stage: Some(0),
        title: "Referral rewards could attract fraud",
        description: "Paid rewards invite fake accounts that inflate sign-ups but not active users.",
        likelihood: Level::Medium,
        impact: Level::High,
        plan: "Cap rewards per account, hold rewards for 14 days, block self-referrals.",
        owner: "Tom Becker",
        schedule_impact_days: 7,
        created: -9,
        changes: &[],
    },
    RiskSpec {
        team: GROWTH,
        goal: Some(G_MAU),
        stage: Some(1),
        title: "E-mail provider contract ends before the win-back series",
        description: "The marketing e-mail contract ends next month; renewal is with procurement.",
        likelihood: Level::Low,
        impact: Level::Medium,
        plan: "Procurement is renewing; the transactional provider is the fallback.",
        owner: "Maria Keller",
        schedule_impact_days: 10,
        created: -8,
        changes: &[],
    },
    RiskSpec {
        team: PLATFORM,
        goal: Some(G_LATENCY),
        stage: Some(3),
        title: "Read-replica lag could serve stale search results",
        description: "Under peak load the replica lags up to 20 seconds behind the primary.",
        likelihood: Level::Medium,
        impact: Level::Medium,
        plan: "Alert on lag above 5 seconds and fall back to the primary when it is exceeded.",
        owner: "Omar Haddad",
        schedule_impact_days: 5,
        created: -20,
        changes: &[(-12, RiskStatus::Mitigating)],
    },
    RiskSpec {
        team: PLATFORM,
        goal: Some(G_DEPLOYS),
        stage: None,
        title: "Only one engineer knows the deploy pipeline",
        description: "If Omar is away, nobody can change or repair the pipeline.",
        likelihood: Level::High,
        impact: Level::High,
        plan: "Pair on every pipeline change and write the runbook before the canary work starts.",
        owner: "Priya Nair",
        schedule_impact_days: 10,
        created: -6,
        changes: &[],
    },
];

#[derive(Debug)]
pub(super) struct DecisionSpec {
    pub(super) team: usize,
    pub(super) goal: Option<usize>,
    pub(super) title: &'static str,
    pub(super) context: &'static str,
    pub(super) options: &'static [&'static str],
    pub(super) decision: &'static str,
    pub(super) consequences: &'static str,
    pub(super) decided_by: &'static str,
    pub(super) day: i64,
}

pub(super) static DECISIONS: &[DecisionSpec] = &[
    DecisionSpec {
        team: PAYMENTS,
        goal: Some(G_DOUBLE_CHARGES),
        title: "Use idempotency keys rather than a distributed lock",
        context: "Retries after gateway timeouts create second charges. The charge API must be safe to retry.",
        options: &[
            "A distributed lock per order in Redis",
            "An idempotency key per charge request, stored in Postgres",
            "Ask the PSP to deduplicate",
        ],
        decision: "Idempotency keys stored in Postgres for 24 hours; a replayed key returns the original response.",
        consequences: "Clients must send a key; the v1 endpoint is deprecated. No new infrastructure.",
        decided_by: "Maria Keller",
        day: -158,
    },
    DecisionSpec {
        team: PAYMENTS,
        goal: Some(G_CHECKOUT),
        title: "Ship the one-page checkout behind a feature flag",
        context: "The one-page checkout changes every step buyers see; a big-bang release would hide which change helped.",
        options: &[
            "Release to everyone at once",
            "Release behind a flag and A/B test",
        ],
        decision: "Behind a flag, tested 50/50 against the old checkout before anyone else gets it.",
        consequences: "Two checkouts to maintain for a few weeks; the result is measurable.",
        decided_by: "Maria Keller",
        day: -57,
    },
    DecisionSpec {
        team: GROWTH,
        goal: Some(G_ONBOARDING),
        title: "Pause the onboarding redesign",
        context: "Interviews showed most drop-off comes from users who signed up by mistake via the pricing page; the new flow moved drop-off by less than a point.",
        options: &[
            "Finish the redesign as planned",
            "Pause it and put the team on activation of invited users",
        ],
        decision: "Pause the redesign; keep the deferred profile fields, drop the rest.",
        consequences: "The onboarding goal is dropped; the team moves to the monthly-active-users goal.",
        decided_by: "Nora Lindqvist",
        day: -88,
    },
    DecisionSpec {
        team: GROWTH,
        goal: Some(G_MAU),
        title: "Build referral codes in-house",
        context: "Referral vendors charge per conversion and need our user data.",
        options: &[
            "Buy a referral vendor",
            "Build referral codes on the experiment service",
        ],
        decision: "Build in-house on the experiment service; revisit if fraud handling grows.",
        consequences: "Two weeks of work; no user data leaves our systems.",
        decided_by: "Maria Keller",
        day: -7,
    },
    DecisionSpec {
        team: PLATFORM,
        goal: Some(G_LATENCY),
        title: "Cache /users for 60 seconds in Redis",
        context: "Tracing showed the list is read 40 times for every change.",
        options: &[
            "No cache; optimise the queries only",
            "A 60-second Redis cache invalidated on profile updates",
            "An HTTP cache at the CDN",
        ],
        decision: "A 60-second Redis cache, invalidated on profile updates.",
        consequences: "Lists may be a minute old; profile pages read the primary.",
        decided_by: "Priya Nair",
        day: -38,
    },
    DecisionSpec {
        team: PLATFORM,
        goal: Some(G_LATENCY),
        title: "Serve user search from a Postgres read replica, not Elasticsearch",
        context: "Search is 30 % of /users load; a search cluster would be a new system to run.",
        options: &[
            "Elasticsearch cluster",
            "Postgres read replica with trigram indexes",
        ],
        decision: "A Postgres read replica with trigram indexes.",
        consequences: "Replica lag must be watched; no new system to operate.",
        decided_by: "Priya Nair",
        day: -13,
    },
];
