//! Settings: defaults in code → `tandem.toml` → `TANDEM_*` environment
//! (`__` for nesting, e.g. `TANDEM_DATABASE__URL`) → `TANDEM_…_FILE`
//! variables whose file holds a secret. Merged once into one typed value.
//!
//! Rule: every `[section]` is defined here (also `[report]`, `[report.s3]`
//! and `[webhooks]`), and this module imports no feature module, so any
//! feature may read the settings without an import circle.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use lettre::message::Mailbox;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tandem_domain::planning;
use tandem_domain::priority::Matrix;
use tandem_domain::webhook::Labels;

/// The commented example printed by `tandem default-config`.
pub const DEFAULT_CONFIG: &str = include_str!("../../server/tandem.example.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub planning: PlanningSettings,
    #[serde(default)]
    pub forecast: ForecastSettings,
    /// The weekly report: schedule, delivery channels, retries.
    #[serde(default)]
    pub report: ReportSettings,
    /// Webhook receivers: body limit, issue labels, release environment.
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// Delivery metrics: attribution and change-failure rules.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// Background work of `serve`: attribution, raw delivery retention.
    #[serde(default)]
    pub maintenance: MaintenanceSettings,
    /// The GitHub API: its root and a token (pull request commits on
    /// merge, `tandem connect github`).
    #[serde(default = "HostingSettings::github")]
    pub github: HostingSettings,
    /// The GitLab API: its root and a token.
    #[serde(default = "HostingSettings::gitlab")]
    pub gitlab: HostingSettings,
    // --- requests ---
    /// Business requests: the triage target, the cost of yes's default size.
    #[serde(default)]
    pub requests: RequestSettings,
    // --- prom ---
    /// `GET /metrics`: the scrape token and how the computed gauges are
    /// cached (ADR 0020).
    #[serde(default)]
    pub prometheus: PrometheusSettings,
    /// The Alertmanager webhook receiver (`POST /webhooks/alertmanager`):
    /// its credentials and the labels that name the service and project.
    #[serde(default)]
    pub alertmanager: AlertmanagerSettings,
    // --- focus ---
    /// Calendar feeds (issue 15): how often `serve` refreshes them.
    #[serde(default)]
    pub calendar: CalendarSettings,
    // --- intake ---
    /// `[slack]`: the Slack app requests come in through (ADR 0022).
    #[serde(default)]
    pub slack: SlackAppSettings,
    // --- checks ---
    /// `[[checks]]`: health checks defined in the file, synced at start.
    #[serde(default)]
    pub checks: Vec<tandem_domain::check::CheckSpec>,
    /// `[monitor]`: the check scheduler, flap window, reminders, retention.
    #[serde(default)]
    pub monitor: MonitorSettings,
    /// `[alerts]`: where check alerts go (`[[alerts.routes]]`), retries,
    /// working hours for quiet hours.
    #[serde(default)]
    pub alerts: AlertSettings,
    // --- publish ---
    /// `tandem backup` / `restore`: where backups go and how many are kept.
    #[serde(default)]
    pub backup: BackupSettings,
    // --- pulse ---
    /// `[pulse]`: how often `serve` checks whether a team's pulse is due.
    #[serde(default)]
    pub pulse: PulseSettings,
    // --- frontline ---
    /// `[status_page]`: who may see the status page (ADR 0031).
    #[serde(default)]
    pub status_page: StatusPageSettings,
    /// `[frontline]`: where an incident's business updates are posted.
    #[serde(default)]
    pub frontline: FrontlineSettings,
    /// `[kpi_sources]`: the scheduler of KPI series collected from PromQL or
    /// SQL queries.
    #[serde(default)]
    pub kpi_sources: KpiSourceSettings,
    /// `[publish]`: agreements, decisions and sent reports published to
    /// git, Notion and Confluence, task context written back to Jira
    /// (issue 17, ADR 0033).
    #[serde(default)]
    pub publish: PublishSettings,
    /// `[archive]`: raw webhook deliveries and check results written to S3
    /// as gzip JSON lines by month before retention deletes them, and sent
    /// reports copied there (`tandem archive search`; ADR 0036).
    #[serde(default)]
    pub archive: ArchiveSettings,
}

/// `[archive]`: where the archive is and what goes into it (ADR 0036).
/// Unset `to`: nothing is archived and retention deletes as before.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSettings {
    /// `s3://BUCKET/PREFIX` or a directory.
    pub to: Option<String>,
    /// Raw webhook deliveries, before `maintenance.delivery_retention_days`
    /// deletes them.
    pub deliveries: bool,
    /// Raw check results, before `monitor.raw_retention_hours` deletes them
    /// (the rollups are sums of these and are not archived).
    pub checks: bool,
    /// Sent reports (they stay in the database too), once a day.
    pub reports: bool,
    /// Endpoint and keys for an `s3://` archive (the bucket and prefix come
    /// from `to`); unset: `[backup.s3]`'s, else `[report.s3]`'s, else the
    /// `AWS_*` environment.
    pub s3: Option<S3Connection>,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            to: None,
            deliveries: true,
            checks: true,
            reports: true,
            s3: None,
        }
    }
}

/// How to reach an S3-compatible service, without a bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Connection {
    /// For S3-compatible services (MinIO, moto, …); AWS when unset.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    /// Also `TANDEM_ARCHIVE__S3__SECRET_ACCESS_KEY_FILE`.
    #[serde(serialize_with = "redact")]
    pub secret_access_key: SecretString,
    /// Allow an `http://` endpoint (local services only).
    #[serde(default)]
    pub allow_http: bool,
}

impl From<&S3Settings> for S3Connection {
    fn from(s: &S3Settings) -> Self {
        S3Connection {
            endpoint: s.endpoint.clone(),
            region: s.region.clone(),
            access_key_id: s.access_key_id.clone(),
            secret_access_key: s.secret_access_key.clone(),
            allow_http: s.allow_http,
        }
    }
}

impl ArchiveSettings {
    /// The S3 connection an `s3://` archive uses: `[archive.s3]`, else
    /// `[backup.s3]`, else `[report.s3]` (`None`: the `AWS_*` environment).
    pub fn connection(
        &self,
        backup: &BackupSettings,
        report: &ReportSettings,
    ) -> Option<S3Connection> {
        self.s3.clone().or_else(|| {
            backup
                .s3
                .as_ref()
                .or(report.s3.as_ref())
                .map(S3Connection::from)
        })
    }
}

/// `[pulse]`: the background pass that closes ended pulse weeks and asks
/// each enabled team's pulse in Slack when it is due (ADR 0028).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PulseSettings {
    /// Seconds between passes (0: never; `tandem pulse ask` by hand).
    pub interval_seconds: u64,
}

impl Default for PulseSettings {
    fn default() -> Self {
        Self {
            interval_seconds: 300,
        }
    }
}

/// `[publish]`: the publishing outbox's pace and retries, and one optional
/// table per publisher; a publisher runs when its table is present.
/// Secrets also come from `TANDEM_PUBLISH__NOTION__TOKEN_FILE`,
/// `TANDEM_PUBLISH__CONFLUENCE__TOKEN_FILE`, `TANDEM_PUBLISH__JIRA__TOKEN_FILE`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishSettings {
    /// How often `serve` enqueues new documents and delivers due
    /// publications, in seconds; 0 leaves it to `tandem publish run`.
    pub interval_seconds: u64,
    /// Attempts of one publication before it is marked failed (`tandem
    /// publish run --retry-failed` puts failed ones back).
    pub max_attempts: u32,
    /// The first retry's wait; doubled after each failure (capped at 1 h).
    pub retry_base_ms: u64,
    /// How long one replica holds a publisher while it delivers.
    pub lease_seconds: u64,
    /// The longest wait for a rate limit's `Retry-After` before the attempt
    /// counts as failed.
    pub max_rate_wait_seconds: u64,
    pub git: Option<PublishGitSettings>,
    pub notion: Option<PublishNotionSettings>,
    pub confluence: Option<PublishConfluenceSettings>,
    pub jira: Option<PublishJiraSettings>,
}

impl Default for PublishSettings {
    fn default() -> Self {
        Self {
            interval_seconds: 60,
            max_attempts: 8,
            retry_base_ms: 30_000,
            lease_seconds: 600,
            max_rate_wait_seconds: 60,
            git: None,
            notion: None,
            confluence: None,
            jira: None,
        }
    }
}

/// `[status_page]`: the status page (`/status` for the organisation,
/// `/status/{team}` per team) is for signed-in people unless made public
/// here. Off by default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusPageSettings {
    /// `/status` (every service) is public: anyone may read it.
    pub public: bool,
    /// Team keys whose `/status/{team}` page is public.
    pub public_teams: Vec<String>,
    /// The page's heading (default: "Service status").
    pub title: Option<String>,
}

impl StatusPageSettings {
    /// Whether the page of `team` (`None`: the organisation's) is public.
    pub fn is_public(&self, team: Option<&str>) -> bool {
        match team {
            None => self.public,
            Some(t) => self.public_teams.iter().any(|p| p == t),
        }
    }
}

/// `[frontline]`: the stakeholders' Slack channels business updates go to
/// (through the `[slack]` app's bot token, `chat.postMessage`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrontlineSettings {
    /// The default channel id (`C0123…`) or name.
    pub business_channel: Option<String>,
    /// Per team key, a channel that replaces the default for its services.
    pub team_channels: std::collections::BTreeMap<String, String>,
}

impl FrontlineSettings {
    /// The channel for an incident of `team` (its own, else the default).
    pub fn channel_for(&self, team: Option<&str>) -> Option<&str> {
        team.and_then(|t| self.team_channels.get(t))
            .or(self.business_channel.as_ref())
            .map(String::as_str)
    }
}

/// `[kpi_sources]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiSourceSettings {
    /// How often due sources are claimed, in milliseconds (0: never).
    pub scheduler_interval_ms: u64,
    /// How long one query may take, in seconds.
    pub timeout_seconds: u64,
}

impl Default for KpiSourceSettings {
    fn default() -> Self {
        Self {
            scheduler_interval_ms: 5_000,
            timeout_seconds: 10,
        }
    }
}

/// `[publish.git]`: the repository agreements and decisions are committed
/// to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishGitSettings {
    /// The remote: a path or URL `git` can clone and push to.
    pub repo: String,
    /// The branch written.
    #[serde(default = "default_git_branch")]
    pub branch: String,
    /// The working clone kept between runs (default: a directory in the
    /// system's temporary directory named after the remote).
    #[serde(default)]
    pub work_dir: Option<std::path::PathBuf>,
    /// The domain of authors' addresses for editors without an e-mail.
    #[serde(default = "default_git_email_domain")]
    pub email_domain: String,
}

fn default_git_branch() -> String {
    "main".to_owned()
}

fn default_git_email_domain() -> String {
    "users.tandem.invalid".to_owned()
}

/// `[publish.notion]`: the database pages are written into.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishNotionSettings {
    #[serde(default = "default_notion_url")]
    pub api_url: String,
    /// The integration's secret (`ntn_…`).
    #[serde(serialize_with = "redact")]
    pub token: SecretString,
    /// The database shared with the integration.
    #[serde(deserialize_with = "id_text")]
    pub database_id: String,
    /// The database's title property.
    #[serde(default = "default_notion_title")]
    pub title_property: String,
    /// The `Notion-Version` header.
    #[serde(default = "default_notion_version")]
    pub version: String,
}

fn default_notion_url() -> String {
    "https://api.notion.com".to_owned()
}

fn default_notion_title() -> String {
    "Name".to_owned()
}

fn default_notion_version() -> String {
    "2022-06-28".to_owned()
}

/// `[publish.confluence]`: Confluence Cloud (REST v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfluenceSettings {
    /// The site, e.g. `https://example.atlassian.net`.
    pub api_url: String,
    pub email: String,
    /// An API token of `email`'s account.
    #[serde(serialize_with = "redact")]
    pub token: SecretString,
    /// The space's numeric id (v2 speaks ids, not keys).
    #[serde(deserialize_with = "id_text")]
    pub space_id: String,
    /// The page the published pages go under.
    #[serde(default, deserialize_with = "id_text_opt")]
    pub parent_id: Option<String>,
}

/// An id given as text or, from the environment, as a number
/// (`TANDEM_PUBLISH__CONFLUENCE__SPACE_ID=98305`).
#[derive(Deserialize)]
#[serde(untagged)]
enum IdText {
    Text(String),
    Number(u64),
}

impl From<IdText> for String {
    fn from(v: IdText) -> String {
        match v {
            IdText::Text(s) => s,
            IdText::Number(n) => n.to_string(),
        }
    }
}

fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    IdText::deserialize(d).map(String::from)
}

fn id_text_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<IdText>::deserialize(d).map(|v| v.map(String::from))
}

/// `[publish.jira]`: where items imported from Jira get their context.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishJiraSettings {
    /// The site, e.g. `https://example.atlassian.net`.
    pub api_url: String,
    pub email: String,
    #[serde(serialize_with = "redact")]
    pub token: SecretString,
}

/// `[backup]`: the default destination of `tandem backup` and `prune`, the
/// retention rule, and the S3 connection for `s3://` destinations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    /// A directory or `s3://BUCKET/PREFIX`; `--to` overrides it.
    pub to: Option<String>,
    /// Keep the newest backup of each of the last this many days (UTC)…
    pub keep_daily: u32,
    /// …ISO weeks…
    pub keep_weekly: u32,
    /// …and months that have a backup. The newest backup is always kept.
    pub keep_monthly: u32,
    /// Endpoint and keys for `s3://` destinations (the bucket and prefix
    /// come from the URL; unset: the `AWS_*` environment, else `[report.s3]`).
    pub s3: Option<S3Settings>,
    /// When `serve` takes a backup to `to` and then prunes it: a 5-field
    /// cron expression in UTC, minute first (`"0 2 * * *"`: daily at
    /// 02:00). Unset: never (`tandem backup` by hand or from cron). Each
    /// due time is taken once across replicas (ADR 0035).
    pub schedule: Option<String>,
    /// How often `serve` checks whether a scheduled backup is due, in
    /// seconds.
    pub scheduler_interval_seconds: u64,
}

impl BackupSettings {
    pub fn check(&self) -> Result<(), String> {
        if let Some(schedule) = &self.schedule {
            crate::cron::parse_cron(schedule).map_err(|e| format!("backup.schedule: {e}"))?;
            if self.to.is_none() {
                return Err(
                    "backup.schedule needs backup.to: a directory or s3://BUCKET/PREFIX".into(),
                );
            }
            if self.scheduler_interval_seconds == 0 {
                return Err("backup.scheduler_interval_seconds must be at least 1".into());
            }
        }
        Ok(())
    }
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            to: None,
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 12,
            s3: None,
            schedule: None,
            scheduler_interval_seconds: 60,
        }
    }
}

/// `[monitor]`: how `serve` runs checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorSettings {
    /// How often due checks are claimed, in milliseconds (0: never).
    pub scheduler_interval_ms: u64,
    /// Checks running at once on one replica.
    pub concurrency: usize,
    /// Most checks claimed in one pass.
    pub batch: i64,
    /// A failure this soon after a recovery reopens the incident.
    pub flap_window_minutes: u32,
    /// First reminder after this long; then doubling up to the maximum.
    pub reminder_minutes: u32,
    pub reminder_max_minutes: u32,
    /// Raw results are kept this long; rollups per grain below.
    pub raw_retention_hours: u32,
    pub minute_retention_days: u32,
    pub hour_retention_days: u32,
    pub day_retention_days: u32,
    /// PEM file of extra trusted roots for `http` and `tls` checks (an
    /// internal CA), added to the system's.
    pub ca_path: Option<String>,
    /// Endpoint and keys for `log` checks on `s3://BUCKET/PREFIX` (the
    /// bucket comes from the target; unset: the `AWS_*` environment).
    pub s3: Option<S3Settings>,
    /// Most bytes a `log` check reads in one run (the rest waits).
    pub log_read_max_bytes: u64,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self {
            scheduler_interval_ms: 1_000,
            concurrency: 256,
            batch: 1_000,
            flap_window_minutes: 30,
            reminder_minutes: 30,
            reminder_max_minutes: 240,
            raw_retention_hours: 48,
            minute_retention_days: 14,
            hour_retention_days: 100,
            day_retention_days: 800,
            ca_path: None,
            s3: None,
            log_read_max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// `[alerts]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    pub routes: Vec<AlertRoute>,
    /// How often due alerts are sent, in milliseconds (0: never).
    pub sender_interval_ms: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub timeout_seconds: u64,
    /// A claim older than this is taken over (its sender died).
    pub claim_stale_minutes: u32,
    /// Deprecated: alerts that are not critical follow the recipient team's
    /// policy (`crate::notify`). When changed from their defaults, these
    /// still give the working days and hours of teams without a policy of
    /// their own, and `serve` warns.
    pub working_days: Vec<String>,
    pub working_start: String,
    pub working_end: String,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            sender_interval_ms: 1_000,
            max_attempts: 5,
            retry_base_ms: 1_000,
            timeout_seconds: 10,
            claim_stale_minutes: 5,
            working_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(str::to_owned)
                .to_vec(),
            working_start: "09:00".to_owned(),
            working_end: "18:00".to_owned(),
        }
    }
}

/// One route: the alerts of `team` (all teams when absent) whose severity
/// is listed (all when empty) go to `to` over `channel`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRoute {
    pub name: String,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub severities: Vec<tandem_domain::check::Severity>,
    pub channel: tandem_domain::check::AlertChannel,
    /// Slack: the incoming-webhook URL; webhook: the URL; e-mail: the
    /// address (sent through `[report.smtp]`).
    #[serde(serialize_with = "redact")]
    pub to: SecretString,
    /// Webhook: the HMAC-SHA256 key of `x-tandem-signature-256`.
    #[serde(default, serialize_with = "redact_opt")]
    pub secret: Option<SecretString>,
}

impl AlertSettings {
    pub fn check(&self) -> Result<(), String> {
        use secrecy::ExposeSecret;
        use tandem_domain::check::AlertChannel;
        let mut names = std::collections::HashSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            if r.name.trim().is_empty() || !names.insert(r.name.as_str()) {
                return Err(format!("alerts.routes[{i}].name: empty or used twice"));
            }
            let to = r.to.expose_secret();
            match r.channel {
                AlertChannel::Slack | AlertChannel::Webhook => {
                    reqwest::Url::parse(to)
                        .map_err(|e| format!("alerts.routes[{i}].to: not a URL: {e}"))?;
                }
                AlertChannel::Email => {
                    to.parse::<Mailbox>().map_err(|e| {
                        format!("alerts.routes[{i}].to: not an e-mail address: {e}")
                    })?;
                }
            }
            if r.channel == AlertChannel::Webhook && r.secret.is_none() {
                return Err(format!(
                    "alerts.routes[{i}].secret: a webhook route needs a signing secret"
                ));
            }
        }
        if self.max_attempts == 0 || self.max_attempts > 20 {
            return Err("alerts.max_attempts must be between 1 and 20".into());
        }
        // Deprecated (crate::notify): still checked, as they still give the
        // working hours of teams without a policy.
        use tandem_domain::policy::{ClockTime, Day};
        for d in &self.working_days {
            d.parse::<Day>()
                .map_err(|e| format!("alerts.working_days: {e}"))?;
        }
        if self.working_days.is_empty() {
            return Err("alerts.working_days: at least one working day is needed".into());
        }
        let start = self
            .working_start
            .parse::<ClockTime>()
            .map_err(|e| format!("alerts.working_start: {e}"))?;
        let end = self
            .working_end
            .parse::<ClockTime>()
            .map_err(|e| format!("alerts.working_end: {e}"))?;
        if start >= end {
            return Err("alerts.working_end: working hours must end after they start".into());
        }
        Ok(())
    }
}

/// `[requests]`: business requests (issue 14).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestSettings {
    /// A request waiting longer than this many working days (Monday–Friday)
    /// for a decision is over target on the triage queue (default 2).
    pub target_working_days: f64,
    /// The size, in items, the cost of yes assumes when none is given
    /// (default 5).
    pub default_size_items: u32,
    /// The mailbox `serve` polls for e-mailed requests (ADR 0022).
    pub imap: Option<ImapSettings>,
    /// How often `serve` sends the outbox's Slack and e-mail messages to
    /// requesters, in seconds (0: never).
    pub deliver_interval_seconds: u64,
}

impl Default for RequestSettings {
    fn default() -> Self {
        Self {
            target_working_days: 2.0,
            default_size_items: tandem_domain::request::DEFAULT_SIZE_ITEMS,
            imap: None,
            deliver_interval_seconds: 5,
        }
    }
}

/// `[slack]`: the Tandem Slack app (deploy/slack/manifest.yml). Without a
/// signing secret `/slack/*` answers 401 to everything.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackAppSettings {
    /// The app's signing secret (Basic Information → App Credentials);
    /// also `TANDEM_SLACK__SIGNING_SECRET_FILE`.
    #[serde(serialize_with = "redact_opt")]
    pub signing_secret: Option<SecretString>,
    /// The bot token (`xoxb-…`, OAuth & Permissions); also
    /// `TANDEM_SLACK__BOT_TOKEN_FILE`.
    #[serde(serialize_with = "redact_opt")]
    pub bot_token: Option<SecretString>,
    /// A file holding the signing secret, read at start.
    pub signing_secret_file: Option<std::path::PathBuf>,
    /// A file holding the bot token, read at start.
    pub bot_token_file: Option<std::path::PathBuf>,
    /// The Web API root (tests point it at a stand-in).
    pub api_url: String,
    /// How old a signed request may be, in seconds (Slack's advice: 300).
    pub replay_window_seconds: u64,
}

impl Default for SlackAppSettings {
    fn default() -> Self {
        Self {
            signing_secret: None,
            bot_token: None,
            signing_secret_file: None,
            bot_token_file: None,
            api_url: "https://slack.com/api".to_owned(),
            replay_window_seconds: 300,
        }
    }
}

impl SlackAppSettings {
    /// Reads `signing_secret_file` and `bot_token_file` into their values.
    fn read_files(&mut self) -> Result<(), SettingsError> {
        for (file, value, name) in [
            (
                &self.signing_secret_file,
                &mut self.signing_secret,
                "signing_secret",
            ),
            (&self.bot_token_file, &mut self.bot_token, "bot_token"),
        ] {
            let Some(path) = file else { continue };
            if value.is_some() {
                return Err(SettingsError::Invalid(format!(
                    "slack: give {name} or {name}_file, not both"
                )));
            }
            let text =
                std::fs::read_to_string(path).map_err(|source| SettingsError::SecretFile {
                    var: format!("slack.{name}_file"),
                    path: path.display().to_string(),
                    source,
                })?;
            let text = text.trim();
            if text.is_empty() {
                return Err(SettingsError::Invalid(format!(
                    "slack.{name}_file: {} is empty",
                    path.display()
                )));
            }
            *value = Some(SecretString::from(text.to_owned()));
        }
        Ok(())
    }
}

/// `[requests.imap]`: the mailbox `serve` polls for e-mailed requests
/// (ADR 0022). Replies go out through `[report.smtp]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    /// 993 with `tls`, else 143.
    #[serde(default)]
    pub port: Option<u16>,
    pub user: String,
    /// Also `TANDEM_REQUESTS__IMAP__PASSWORD_FILE`.
    #[serde(default, serialize_with = "redact_opt")]
    pub password: Option<SecretString>,
    /// A file holding the password, read at start (instead of `password`).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// TLS from the first byte (IMAPS). `false` only for a server on
    /// loopback.
    #[serde(default = "default_true")]
    pub tls: bool,
    /// Seconds between polls.
    #[serde(default = "default_imap_interval")]
    pub interval_seconds: u64,
    /// The team (key) a new e-mailed request goes to.
    #[serde(default)]
    pub team: Option<String>,
    /// The address replies should go to (the polled mailbox's), as
    /// `Reply-To` of Tandem's e-mails; `[report.smtp] from` when unset.
    #[serde(default)]
    pub reply_to: Option<String>,
}

fn default_mailbox() -> String {
    "INBOX".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_imap_interval() -> u64 {
    60
}

impl ImapSettings {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.tls { 993 } else { 143 })
    }

    /// The password, from `password` or `password_file`.
    pub fn password(&self) -> Result<String, SettingsError> {
        use secrecy::ExposeSecret;
        if let Some(p) = &self.password {
            return Ok(p.expose_secret().to_owned());
        }
        let Some(path) = &self.password_file else {
            return Err(SettingsError::Invalid(
                "requests.imap: give password or password_file".into(),
            ));
        };
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::SecretFile {
            var: "requests.imap.password_file".into(),
            path: path.display().to_string(),
            source,
        })?;
        Ok(text.trim_end_matches(['\n', '\r']).to_owned())
    }

    /// The cursor's name for this mailbox: `user@host:port/mailbox`.
    pub fn cursor_name(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.user,
            self.host,
            self.port(),
            self.mailbox
        )
    }

    pub fn check(&self) -> Result<(), String> {
        if self.host.trim().is_empty() || self.user.trim().is_empty() {
            return Err("requests.imap: host and user are required".into());
        }
        if self.password.is_some() == self.password_file.is_some() {
            return Err("requests.imap: give password or password_file (one of them)".into());
        }
        if self.interval_seconds == 0 {
            return Err("requests.imap.interval_seconds must be at least 1".into());
        }
        if let Some(r) = &self.reply_to {
            r.parse::<Mailbox>()
                .map_err(|e| format!("requests.imap.reply_to: {r:?}: {e}"))?;
        }
        Ok(())
    }
}

/// `[prometheus]`: the `GET /metrics` endpoint (ADR 0020, docs/metrics.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusSettings {
    /// The bearer token Prometheus sends (`authorization.credentials` in its
    /// scrape config); also `TANDEM_PROMETHEUS__SCRAPE_TOKEN_FILE`. Without
    /// it, `/metrics` answers only an admin's API token.
    #[serde(serialize_with = "redact_opt")]
    pub scrape_token: Option<SecretString>,
    /// The computed gauges (DORA, incidents, forecasts, debt) are computed
    /// at most once per this many seconds; scrapes in between read the
    /// cached values (at least 1).
    pub refresh_seconds: u64,
    /// The DORA gauges cover the last this many days, today included.
    pub window_days: u32,
    /// Environments the DORA gauges are exported for; empty: only
    /// `metrics.production_environment`.
    pub environments: Vec<String>,
    /// Most checks exported with per-check series (`tandem_check_up`, …;
    /// failing checks first, then by name); the per-service counts
    /// (`tandem_checks`) always cover every check.
    pub check_series_limit: usize,
}

impl Default for PrometheusSettings {
    fn default() -> Self {
        Self {
            scrape_token: None,
            refresh_seconds: 60,
            window_days: 28,
            environments: Vec::new(),
            check_series_limit: 1_000,
        }
    }
}

impl PrometheusSettings {
    /// The scrape token, when one is configured (blank counts as none).
    pub fn scrape_token(&self) -> Option<String> {
        use secrecy::ExposeSecret;
        self.scrape_token
            .as_ref()
            .map(|t| t.expose_secret().trim().to_owned())
            .filter(|t| !t.is_empty())
    }
}

/// `[alertmanager]`: the webhook receiver. Configure a bearer token (the
/// receiver's `http_config.authorization.credentials`) or a username and
/// password (`http_config.basic_auth`); with neither, every delivery is
/// refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerSettings {
    /// Also `TANDEM_ALERTMANAGER__BEARER_TOKEN_FILE`.
    #[serde(serialize_with = "redact_opt")]
    pub bearer_token: Option<SecretString>,
    pub username: Option<String>,
    /// Also `TANDEM_ALERTMANAGER__PASSWORD_FILE`.
    #[serde(serialize_with = "redact_opt")]
    pub password: Option<SecretString>,
    /// The alert label naming the service the incident is on.
    pub service_label: String,
    /// The alert label naming the project (id or key), when the service
    /// alone is ambiguous.
    pub project_label: String,
    /// The alert label giving the incident's severity (default
    /// `warning` when the alert has none).
    pub severity_label: String,
}

impl Default for AlertmanagerSettings {
    fn default() -> Self {
        Self {
            bearer_token: None,
            username: None,
            password: None,
            service_label: "service".to_owned(),
            project_label: "tandem_project".to_owned(),
            severity_label: "severity".to_owned(),
        }
    }
}

impl AlertmanagerSettings {
    /// The bearer token, when one is configured (blank counts as none).
    pub fn bearer_token(&self) -> Option<String> {
        use secrecy::ExposeSecret;
        self.bearer_token
            .as_ref()
            .map(|t| t.expose_secret().trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    /// The basic-auth username and password, when both are configured.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        use secrecy::ExposeSecret;
        let user = self.username.as_deref().filter(|u| !u.is_empty())?;
        let password = self.password.as_ref()?.expose_secret();
        (!password.is_empty()).then(|| (user.to_owned(), password.to_owned()))
    }
}

/// `[calendar]`: the refresh of teams' iCalendar feeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSettings {
    /// How often every feed is refreshed, in minutes (0: only by hand,
    /// `tandem calendar refresh`).
    pub refresh_interval_minutes: u64,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            refresh_interval_minutes: 60,
        }
    }
}

/// `[github]` and `[gitlab]`: one API root and token for the instance.
/// With a token, `serve` fetches the own commits of every merged pull
/// (merge) request a webhook reports (so squash and rebase merges are
/// attributed to their commits), and `tandem connect` uses it by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostingSettings {
    /// `https://api.github.com` (GitHub Enterprise: `https://HOST/api/v3`);
    /// `https://gitlab.com/api/v4` (self-managed: `https://HOST/api/v4`).
    pub api_url: String,
    /// The token (GitHub: read access to pull requests; GitLab: `read_api`).
    /// Also `TANDEM_GITHUB__TOKEN_FILE` / `TANDEM_GITLAB__TOKEN_FILE`.
    #[serde(default, serialize_with = "redact_opt")]
    pub token: Option<SecretString>,
    /// A file holding the token, read at start (instead of `token`).
    #[serde(default)]
    pub token_file: Option<std::path::PathBuf>,
    /// Attempts of one pull request's commit fetch before it is given up
    /// (waits for a rate limit are not attempts).
    #[serde(default = "default_fetch_attempts")]
    pub max_attempts: u32,
}

fn default_fetch_attempts() -> u32 {
    8
}

impl HostingSettings {
    pub fn github() -> Self {
        Self {
            api_url: "https://api.github.com".to_owned(),
            token: None,
            token_file: None,
            max_attempts: default_fetch_attempts(),
        }
    }

    pub fn gitlab() -> Self {
        Self {
            api_url: "https://gitlab.com/api/v4".to_owned(),
            token: None,
            token_file: None,
            max_attempts: default_fetch_attempts(),
        }
    }

    /// The token, when one is configured.
    pub fn token(&self) -> Option<String> {
        use secrecy::ExposeSecret;
        self.token
            .as_ref()
            .map(|t| t.expose_secret().trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    /// Reads `token_file` into `token`; `section` names it in errors.
    fn read_token_file(&mut self, section: &str) -> Result<(), SettingsError> {
        let Some(path) = &self.token_file else {
            return Ok(());
        };
        if self.token.is_some() {
            return Err(SettingsError::Invalid(format!(
                "{section}: give token or token_file, not both"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::SecretFile {
            var: format!("{section}.token_file"),
            path: path.display().to_string(),
            source,
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(SettingsError::Invalid(format!(
                "{section}.token_file: {} is empty",
                path.display()
            )));
        }
        self.token = Some(SecretString::from(token.to_owned()));
        Ok(())
    }

    fn check(&self, section: &str) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.api_url)
            .map_err(|e| format!("{section}.api_url: {:?} is not a URL: {e}", self.api_url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{section}.api_url: use http:// or https://"));
        }
        if !(1..=50).contains(&self.max_attempts) {
            return Err(format!(
                "{section}.max_attempts must be between 1 and 50, not {}",
                self.max_attempts
            ));
        }
        Ok(())
    }
}

/// What `serve` does in the background besides answering requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceSettings {
    /// How often newly arrived deployments and incidents are attributed,
    /// in seconds, so the first metric read after a backfill is fast (0:
    /// only when a metric is read, which always attributes what is pending).
    pub attribute_interval_seconds: u64,
    /// Raw webhook deliveries older than this many days are deleted once a
    /// day; the records derived from them stay (0: keep them forever).
    pub delivery_retention_days: u32,
    /// How often queued pull request commit fetches are worked on, in
    /// seconds (0: never; nothing is queued without a `[github]` or
    /// `[gitlab]` token).
    pub pr_commits_interval_seconds: u64,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            attribute_interval_seconds: 60,
            delivery_retention_days: 90,
            pr_commits_interval_seconds: 30,
        }
    }
}

/// Delivery metrics: the rules of attribution and change failure
/// (`docs/metrics.md`). Changing them recomputes the stored facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// An incident on a service opened this many hours after a production
    /// deployment (and before the next) counts as caused by it.
    pub incident_window_hours: i64,
    /// The first deployment of a service counts the commits authored this
    /// many days before it.
    pub first_deployment_lookback_days: i64,
    /// The environment that is production.
    pub production_environment: String,
    /// Target share of tech debt in percent; absent: `planning.debt_target_percent`.
    pub debt_target_percent: Option<f64>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        let rules = tandem_domain::dora::MetricRules::default();
        Self {
            incident_window_hours: rules.incident_window_hours,
            first_deployment_lookback_days: rules.first_lookback_days,
            production_environment: rules.production_environment,
            debt_target_percent: None,
        }
    }
}

impl MetricsSettings {
    /// The rules the store computes metric facts with.
    pub fn rules(&self) -> tandem_domain::dora::MetricRules {
        tandem_domain::dora::MetricRules {
            first_lookback_days: self.first_deployment_lookback_days,
            incident_window_hours: self.incident_window_hours,
            production_environment: self.production_environment.clone(),
        }
    }
}

/// Forecasts and Tandem's risk checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastSettings {
    /// Days of done work sampled for throughput (default 84: twelve weeks).
    pub window_days: u32,
    /// Monte Carlo trials per forecast.
    pub trials: u32,
    /// Days nobody works (besides weekends), as `YYYY-MM-DD`.
    pub holidays: Vec<chrono::NaiveDate>,
    /// Below this probability of meeting its deadline a goal or stage is at risk.
    pub on_time_threshold: f64,
    /// In-progress work unchanged for this many days raises a risk.
    pub stale_days: i64,
    /// How often `serve` runs the checks, in minutes (0: never; `tandem risks
    /// --check` runs them on demand).
    pub check_interval_minutes: u64,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        Self {
            window_days: 84,
            trials: 10_000,
            holidays: Vec::new(),
            on_time_threshold: 0.70,
            stale_days: 5,
            check_interval_minutes: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://tandem.db` (default) or `postgres://user@host/db`.
    #[serde(serialize_with = "redact")]
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// The address people use to reach Tandem; `https://…` makes session
    /// cookies `Secure`. Unset: `http://` and the listen address (see
    /// [`ServerSettings::public_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For`
    /// names the client. Behind one, every connection comes from the
    /// proxy, so without this the per-address sign-in throttle counts all
    /// clients as one; a header from any other peer is ignored, since
    /// anyone can send it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
}

impl ServerSettings {
    /// The trusted proxies, parsed (`check` has refused bad ones).
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = p.trim();
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!(
                            "server.trusted_proxies[{i}]: {p:?} is not an IP address or a CIDR range (like 10.0.0.0/8)"
                        )
                    })
            })
            .collect()
    }

    /// The base of every link and URL Tandem prints or shows (webhook payload
    /// URLs, report links), without a trailing slash: the configured
    /// `public_url`, else `http://` and the listen address (`serve` sets that
    /// to the address it bound, so port 0 reads right).
    pub fn public_url(&self) -> String {
        match self.public_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
            _ => format!("http://{}", self.listen),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Password for the first admin, used only when the database has no
    /// users. When unset a random one is generated and printed once.
    #[serde(default, serialize_with = "redact_opt")]
    pub admin_password: Option<SecretString>,
    pub admin_username: String,
    pub session_ttl_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `tandem=debug,sqlx=warn`.
    pub level: String,
}

/// Prioritisation and planning rules of the organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningSettings {
    /// Impact → complexity → priority. When given, all nine cells must be;
    /// absent, the essay's matrix applies (`tandem_domain::priority`).
    #[serde(default)]
    pub matrix: Matrix,
    /// The share of throughput to spend on tech debt, in percent.
    pub debt_target_percent: f64,
    /// Stages longer than this many calendar days are flagged.
    pub max_stage_days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[report]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// Default schedule: 5 fields, minute first, in the team's time zone.
    pub schedule: String,
    /// Send when due without approval.
    pub auto_send: bool,
    /// Default e-mail recipients.
    pub email_to: Vec<String>,
    /// Hours before the due time at which the draft is created.
    pub draft_ahead_hours: u32,
    /// How often `serve` looks for due reports (0: never).
    pub scheduler_interval_seconds: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub timeout_seconds: u64,
    pub claim_stale_minutes: u32,
    pub smtp: Option<SmtpSettings>,
    pub slack: Option<SlackSettings>,
    pub webhook: Option<ReportWebhookSettings>,
    /// S3-compatible storage for a copy of every sent report's forms.
    pub s3: Option<S3Settings>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            schedule: "0 16 * * 5".to_owned(),
            auto_send: false,
            email_to: Vec::new(),
            draft_ahead_hours: 24,
            scheduler_interval_seconds: 60,
            max_attempts: 4,
            retry_base_ms: 500,
            timeout_seconds: 10,
            claim_stale_minutes: 15,
            smtp: None,
            slack: None,
            webhook: None,
            s3: None,
        }
    }
}

impl ReportSettings {
    pub fn check(&self) -> Result<(), String> {
        crate::cron::parse_cron(&self.schedule).map_err(|e| format!("report.schedule: {e}"))?;
        if self.max_attempts == 0 || self.max_attempts > 20 {
            return Err("report.max_attempts must be between 1 and 20".into());
        }
        if self.timeout_seconds == 0 {
            return Err("report.timeout_seconds must be at least 1".into());
        }
        for (i, to) in self.email_to.iter().enumerate() {
            to.parse::<Mailbox>().map_err(|e| {
                format!("report.email_to[{i}]: {to:?} is not an e-mail address: {e}")
            })?;
        }
        if let Some(smtp) = &self.smtp {
            smtp.from.parse::<Mailbox>().map_err(|e| {
                format!(
                    "report.smtp.from: {:?} is not an e-mail address: {e}",
                    smtp.from
                )
            })?;
            if smtp.username.is_some() != smtp.password.is_some() {
                return Err("report.smtp: give both username and password, or neither".into());
            }
        }
        if let Some(w) = &self.webhook {
            reqwest::Url::parse(&w.url).map_err(|e| format!("report.webhook.url: {e}"))?;
        }
        Ok(())
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused without it.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS at all: for a relay on loopback only.
    Plain,
}

fn default_port() -> u16 {
    587
}

fn default_security() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_security")]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, serialize_with = "redact_opt")]
    pub password: Option<SecretString>,
    /// The sender, e.g. `Tandem <tandem@example.com>`.
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    #[serde(serialize_with = "redact")]
    pub webhook_url: SecretString,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportWebhookSettings {
    pub url: String,
    #[serde(serialize_with = "redact")]
    pub secret: SecretString,
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

fn default_prefix() -> String {
    "reports".to_owned()
}

/// `[report.s3]`: where sent reports are uploaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    pub bucket: String,
    /// For S3-compatible services (MinIO, moto, …); AWS when unset.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    #[serde(serialize_with = "redact")]
    pub secret_access_key: SecretString,
    /// Key prefix of every upload.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Allow an `http://` endpoint (local services only).
    #[serde(default)]
    pub allow_http: bool,
}

/// `[webhooks]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Largest webhook body accepted, in bytes (25 MiB, GitHub's own cap).
    /// Separate from `server.body_limit_bytes`, which is lower.
    pub body_limit_bytes: usize,
    /// Most bytes of webhook bodies held in memory at once, over every
    /// request being read (64 MiB). A body is read only once its bytes fit;
    /// at least `body_limit_bytes`.
    pub in_flight_bytes: usize,
    /// How long a delivery waits for room among the bytes in flight before
    /// it is answered 503 with `Retry-After` (2000 ms; 0: refuse at once).
    pub in_flight_wait_ms: u64,
    /// An issue with this label is an incident.
    pub incident_label: String,
    /// An issue with this label is a bug (a work item of kind bug).
    pub bug_label: String,
    /// The environment a published release counts as deployed to.
    pub release_environment: String,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 25 * 1024 * 1024,
            in_flight_bytes: 64 * 1024 * 1024,
            in_flight_wait_ms: 2000,
            incident_label: "incident".to_owned(),
            bug_label: "bug".to_owned(),
            release_environment: "production".to_owned(),
        }
    }
}

impl WebhookSettings {
    pub fn check(&self) -> Result<(), String> {
        if self.body_limit_bytes < 1024 {
            return Err("webhooks.body_limit_bytes must be at least 1024".into());
        }
        if self.in_flight_bytes < self.body_limit_bytes {
            return Err(
                "webhooks.in_flight_bytes must be at least webhooks.body_limit_bytes".into(),
            );
        }
        if self.in_flight_bytes > u32::MAX as usize {
            return Err("webhooks.in_flight_bytes must be at most 4294967295".into());
        }
        for (name, v) in [
            ("incident_label", &self.incident_label),
            ("bug_label", &self.bug_label),
            ("release_environment", &self.release_environment),
        ] {
            if v.trim().is_empty() {
                return Err(format!("webhooks.{name} must not be empty"));
            }
        }
        Ok(())
    }

    pub fn labels(&self) -> Labels {
        Labels {
            incident: self.incident_label.clone(),
            bug: self.bug_label.clone(),
        }
    }
}

fn redact<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

fn redact_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("[redacted]"),
        None => s.serialize_none(),
    }
}

/// Plain defaults, serialisable for figment (secrets as plain strings here
/// because they are not secret yet).
#[derive(Serialize)]
struct Defaults {
    database: DefaultDatabase,
    server: ServerSettings,
    auth: DefaultAuth,
    log: LogSettings,
    planning: DefaultPlanning,
}

/// The matrix is left out on purpose: figment would merge a configured
/// matrix cell by cell into the default one, hiding a missing cell.
#[derive(Serialize)]
struct DefaultPlanning {
    debt_target_percent: f64,
    max_stage_days: i64,
}

#[derive(Serialize)]
struct DefaultDatabase {
    url: &'static str,
    max_connections: u32,
}

#[derive(Serialize)]
struct DefaultAuth {
    admin_username: &'static str,
    session_ttl_hours: u32,
}

fn defaults() -> Defaults {
    Defaults {
        database: DefaultDatabase {
            url: "sqlite://tandem.db",
            max_connections: 10,
        },
        server: ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
        },
        auth: DefaultAuth {
            admin_username: "admin",
            session_ttl_hours: 12,
        },
        log: LogSettings {
            format: LogFormat::Text,
            level: "info".to_owned(),
        },
        planning: DefaultPlanning {
            debt_target_percent: planning::DEFAULT_DEBT_TARGET_PERCENT,
            max_stage_days: planning::MAX_STAGE_DAYS,
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: cannot read secret file {path} named by {var}: {source}")]
    SecretFile {
        var: String,
        path: String,
        source: std::io::Error,
    },
}

impl Settings {
    /// Loads settings from defaults, an optional TOML file (it must exist when
    /// named explicitly; `./tandem.toml` is read when present), and the
    /// process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &vars)
    }

    /// As [`Settings::load`] with an explicit environment, for tests.
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, SettingsError> {
        let mut fig = Figment::from(Serialized::defaults(defaults()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(SettingsError::Invalid(format!(
                        "the configuration file {} does not exist",
                        path.display()
                    )));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("tandem.toml")),
        }
        // Environment: TANDEM_SECTION__KEY. `_FILE` variants are read below.
        let plain: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| k.starts_with("TANDEM_") && !k.ends_with("_FILE"))
            .cloned()
            .collect();
        for (key, value) in plain {
            if let Some(path) = env_key_to_path(&key) {
                // As figment's own Env provider does: "8080" is a number,
                // "true" a boolean, anything else stays text. figment
                // 0.10.19's parser panics on a backslash escape after a
                // non-ASCII character (its unescape slices a string at a
                // character index; found by the `config` fuzz target), so
                // such a value is kept as text as it is.
                let value: figment::value::Value = if value.contains('\\') && !value.is_ascii() {
                    figment::value::Value::from(value)
                } else {
                    value.parse().unwrap_or_else(|e| match e {})
                };
                fig = fig.merge(Serialized::global(&path, value));
            }
        }
        for (key, file_path) in env
            .iter()
            .filter(|(k, _)| k.starts_with("TANDEM_") && k.ends_with("_FILE"))
        {
            let var = key.trim_end_matches("_FILE");
            let Some(path) = env_key_to_path(var) else {
                continue;
            };
            let value =
                std::fs::read_to_string(file_path).map_err(|source| SettingsError::SecretFile {
                    var: key.clone(),
                    path: file_path.clone(),
                    source,
                })?;
            fig = fig.merge(Serialized::global(
                &path,
                value.trim_end_matches(['\n', '\r']).to_owned(),
            ));
        }
        let mut settings: Settings = fig
            .extract()
            .map_err(|e| SettingsError::Invalid(describe(e, env)))?;
        settings.github.read_token_file("github")?;
        settings.gitlab.read_token_file("gitlab")?;
        settings.slack.read_files()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if self.database.max_connections == 0 {
            return Err(SettingsError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(SettingsError::Invalid(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        if self.prometheus.refresh_seconds == 0 {
            return Err(SettingsError::Invalid(
                "prometheus.refresh_seconds must be at least 1".into(),
            ));
        }
        if self.prometheus.window_days == 0 || self.prometheus.window_days > 366 {
            return Err(SettingsError::Invalid(
                "prometheus.window_days must be between 1 and 366".into(),
            ));
        }
        for (name, value) in [
            ("service_label", &self.alertmanager.service_label),
            ("project_label", &self.alertmanager.project_label),
            ("severity_label", &self.alertmanager.severity_label),
        ] {
            if value.trim().is_empty() {
                return Err(SettingsError::Invalid(format!(
                    "alertmanager.{name} must name a label"
                )));
            }
        }
        if self.auth.session_ttl_hours == 0 {
            return Err(SettingsError::Invalid(
                "auth.session_ttl_hours must be at least 1".into(),
            ));
        }
        let target = self.planning.debt_target_percent;
        if !(0.0..=100.0).contains(&target) {
            return Err(SettingsError::Invalid(format!(
                "planning.debt_target_percent must be between 0 and 100, not {target}"
            )));
        }
        let f = &self.forecast;
        if !(0.0..=1.0).contains(&f.on_time_threshold) {
            return Err(SettingsError::Invalid(format!(
                "forecast.on_time_threshold is a probability between 0 and 1, not {}",
                f.on_time_threshold
            )));
        }
        if f.window_days < 7 || f.trials == 0 || f.trials > 1_000_000 || f.stale_days < 1 {
            return Err(SettingsError::Invalid(
                "forecast: window_days must be at least 7, trials between 1 and 1000000, stale_days at least 1".into(),
            ));
        }
        let r = &self.requests;
        if !(r.target_working_days > 0.0 && r.target_working_days <= 100.0) {
            return Err(SettingsError::Invalid(format!(
                "requests.target_working_days must be more than 0 and at most 100, not {}",
                r.target_working_days
            )));
        }
        if !(1..=tandem_domain::forecast::MAX_ITEMS).contains(&r.default_size_items) {
            return Err(SettingsError::Invalid(format!(
                "requests.default_size_items must be between 1 and {}, not {}",
                tandem_domain::forecast::MAX_ITEMS,
                r.default_size_items
            )));
        }
        self.server
            .trusted_proxy_nets()
            .map_err(SettingsError::Invalid)?;
        self.report.check().map_err(SettingsError::Invalid)?;
        self.backup.check().map_err(SettingsError::Invalid)?;
        self.webhooks.check().map_err(SettingsError::Invalid)?;
        self.alerts.check().map_err(SettingsError::Invalid)?;
        for (i, c) in self.checks.iter().enumerate() {
            c.validate()
                .map_err(|e| SettingsError::Invalid(format!("checks[{i}] ({}): {e}", c.name)))?;
        }
        self.github
            .check("github")
            .map_err(SettingsError::Invalid)?;
        self.gitlab
            .check("gitlab")
            .map_err(SettingsError::Invalid)?;
        reqwest::Url::parse(&self.slack.api_url)
            .map_err(|e| SettingsError::Invalid(format!("slack.api_url: {e}")))?;
        if let Some(imap) = &self.requests.imap {
            imap.check().map_err(SettingsError::Invalid)?;
        }
        let m = &self.metrics;
        if !(1..=720).contains(&m.incident_window_hours) {
            return Err(SettingsError::Invalid(format!(
                "metrics.incident_window_hours must be between 1 and 720, not {}",
                m.incident_window_hours
            )));
        }
        if !(1..=3650).contains(&m.first_deployment_lookback_days) {
            return Err(SettingsError::Invalid(format!(
                "metrics.first_deployment_lookback_days must be between 1 and 3650, not {}",
                m.first_deployment_lookback_days
            )));
        }
        if m.production_environment.trim().is_empty() {
            return Err(SettingsError::Invalid(
                "metrics.production_environment must name an environment".into(),
            ));
        }
        if let Some(t) = m.debt_target_percent
            && !(0.0..=100.0).contains(&t)
        {
            return Err(SettingsError::Invalid(format!(
                "metrics.debt_target_percent must be between 0 and 100, not {t}"
            )));
        }
        if self.planning.max_stage_days < 1 {
            return Err(SettingsError::Invalid(
                "planning.max_stage_days must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// True when session cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.server.public_url().starts_with("https://")
    }
}

/// `TANDEM_DATABASE__URL` → `database.url`. Variables without a section
/// (`TANDEM_FOO`) are not settings and are ignored.
/// Each of figment's errors said the way a person fixes it: the environment
/// variable or the file and key that holds the bad value, never a source
/// location inside Tandem.
fn describe(errors: figment::Error, env: &[(String, String)]) -> String {
    errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let var = env.iter().map(|(k, _)| k).find(|k| {
                k.starts_with("TANDEM_")
                    && env_key_to_path(k.strip_suffix("_FILE").unwrap_or(k)).as_deref()
                        == Some(key.as_str())
            });
            let file = e.metadata.as_ref().and_then(|m| match &m.source {
                Some(figment::Source::File(path)) => Some(path.display().to_string()),
                _ => None,
            });
            match (var, file) {
                (Some(var), _) => format!("{var} (setting {key}): {}", e.kind),
                (None, Some(file)) => format!("{file}, key {key}: {}", e.kind),
                (None, None) if key.is_empty() => e.kind.to_string(),
                (None, None) => format!("{key}: {}", e.kind),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn env_key_to_path(key: &str) -> Option<String> {
    let rest = key.strip_prefix("TANDEM_")?;
    if !rest.contains("__") {
        return None;
    }
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_archive_takes_its_connection_from_its_own_else_the_backup_else_the_report_s3() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("s3");
        std::fs::write(&secret, "archive-secret\n").unwrap();
        let example = Some(Path::new("../server/tandem.example.toml"));
        let s = Settings::load_from(example, &[]).unwrap();
        assert_eq!(s.archive.to, None);
        assert!(s.archive.deliveries && s.archive.checks && s.archive.reports);
        let report_s3 = [
            ("TANDEM_ARCHIVE__TO", "s3://ops/tandem"),
            ("TANDEM_REPORT__S3__BUCKET", "reports"),
            ("TANDEM_REPORT__S3__ACCESS_KEY_ID", "report-key"),
            ("TANDEM_REPORT__S3__SECRET_ACCESS_KEY", "report-secret"),
        ];
        let s = Settings::load_from(example, &env(&report_s3)).unwrap();
        assert_eq!(s.archive.to.as_deref(), Some("s3://ops/tandem"));
        let c = s.archive.connection(&s.backup, &s.report).unwrap();
        assert_eq!(c.access_key_id, "report-key");
        let mut own = report_s3.to_vec();
        own.extend([
            ("TANDEM_ARCHIVE__S3__ACCESS_KEY_ID", "archive-key"),
            (
                "TANDEM_ARCHIVE__S3__SECRET_ACCESS_KEY_FILE",
                secret.to_str().unwrap(),
            ),
            ("TANDEM_ARCHIVE__CHECKS", "false"),
        ]);
        let s = Settings::load_from(example, &env(&own)).unwrap();
        let c = s.archive.connection(&s.backup, &s.report).unwrap();
        assert_eq!(c.access_key_id, "archive-key");
        assert_eq!(c.secret_access_key.expose_secret(), "archive-secret");
        assert!(!s.archive.checks);
    }

    #[test]
    fn defaults_need_no_file() {
        let s = Settings::load_from(Some(Path::new("../server/tandem.example.toml")), &[]).unwrap();
        assert_eq!(s.database.url.expose_secret(), "sqlite://tandem.db");
        assert_eq!(s.server.body_limit_bytes, 1024 * 1024);
        assert!(!s.secure_cookies());
    }

    #[test]
    fn environment_overrides_and_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "from-a-file-123\n").unwrap();
        let s = Settings::load_from(
            Some(Path::new("../server/tandem.example.toml")),
            &env(&[
                ("TANDEM_DATABASE__URL", "postgres://db/tandem"),
                ("TANDEM_SERVER__LISTEN", "0.0.0.0:9000"),
                ("TANDEM_SERVER__BODY_LIMIT_BYTES", "2048"),
                ("TANDEM_FORECAST__ON_TIME_THRESHOLD", "0.8"),
                ("TANDEM_AUTH__ADMIN_PASSWORD_FILE", secret.to_str().unwrap()),
                ("TANDEM_UNRELATED", "x"),
            ]),
        )
        .unwrap();
        // Numbers in the environment are numbers.
        assert_eq!(s.server.body_limit_bytes, 2048);
        assert_eq!(s.forecast.on_time_threshold, 0.8);
        assert_eq!(s.database.url.expose_secret(), "postgres://db/tandem");
        assert_eq!(s.server.listen.port(), 9000);
        assert_eq!(
            s.auth.admin_password.unwrap().expose_secret(),
            "from-a-file-123"
        );
    }

    #[test]
    fn the_public_url_defaults_to_the_listen_address() {
        let example = Some(Path::new("../server/tandem.example.toml"));
        let s = Settings::load_from(example, &env(&[("TANDEM_SERVER__LISTEN", "0.0.0.0:9000")]))
            .unwrap();
        assert_eq!(s.server.public_url, None);
        assert_eq!(s.server.public_url(), "http://0.0.0.0:9000");
        let s = Settings::load_from(
            example,
            &env(&[
                ("TANDEM_SERVER__LISTEN", "0.0.0.0:9000"),
                ("TANDEM_SERVER__PUBLIC_URL", "https://tandem.example.com/"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.public_url(), "https://tandem.example.com");
        assert!(s.secure_cookies());
    }

    #[test]
    fn publishers_come_from_the_environment_with_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("notion");
        std::fs::write(&token, "ntn_from_a_file\n").unwrap();
        let s = Settings::load_from(
            Some(Path::new("../server/tandem.example.toml")),
            &env(&[
                (
                    "TANDEM_PUBLISH__NOTION__TOKEN_FILE",
                    token.to_str().unwrap(),
                ),
                (
                    "TANDEM_PUBLISH__NOTION__DATABASE_ID",
                    "8e2c8d7a0b4f4b5e9f432d1c0a7b6e11",
                ),
                (
                    "TANDEM_PUBLISH__CONFLUENCE__API_URL",
                    "https://example.atlassian.net",
                ),
                ("TANDEM_PUBLISH__CONFLUENCE__EMAIL", "bot@example.com"),
                ("TANDEM_PUBLISH__CONFLUENCE__TOKEN", "atl-secret"),
                ("TANDEM_PUBLISH__CONFLUENCE__SPACE_ID", "98305"),
            ]),
        )
        .unwrap();
        assert!(s.publish.git.is_none() && s.publish.jira.is_none());
        let n = s.publish.notion.as_ref().unwrap();
        assert_eq!(n.token.expose_secret(), "ntn_from_a_file");
        assert_eq!(n.api_url, "https://api.notion.com");
        let c = s.publish.confluence.as_ref().unwrap();
        // A numeric id from the environment is still an id.
        assert_eq!(c.space_id, "98305");
        assert_eq!(c.parent_id, None);
        let shown = format!("{s:?}") + &serde_json::to_string(&s).unwrap();
        assert!(!shown.contains("atl-secret") && !shown.contains("ntn_from_a_file"));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Settings::load_from(
            Some(Path::new("../server/tandem.example.toml")),
            &env(&[("TANDEM_DATABASE__URL", "postgres://u:hunter2@db/t")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn the_planning_matrix_is_configurable_and_checked_whole() {
        use tandem_domain::risk::Level::{High, Low};
        use tandem_domain::work_item::Priority;
        let s = Settings::load_from(Some(Path::new("../server/tandem.example.toml")), &[]).unwrap();
        assert_eq!(s.planning.matrix, Matrix::default());
        assert_eq!(s.planning.debt_target_percent, 20.0);
        assert_eq!(s.planning.max_stage_days, 14);

        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| {
            let path = dir.path().join("tandem.toml");
            std::fs::write(&path, text).unwrap();
            path
        };
        let custom = write(
            "[planning]\ndebt_target_percent = 15\nmax_stage_days = 10\n[planning.matrix]\n\
             high = { low = \"P0\", medium = \"P0\", high = \"P1\" }\n\
             medium = { low = \"P1\", medium = \"P2\", high = \"P3\" }\n\
             low = { low = \"P3\", medium = \"P3\", high = \"P3\" }\n",
        );
        let s = Settings::load_from(Some(&custom), &[]).unwrap();
        assert_eq!(s.planning.matrix.get(Low, Low), Priority::P3);
        assert_eq!(s.planning.matrix.get(High, Low), Priority::P0);
        assert_eq!(s.planning.debt_target_percent, 15.0);

        let missing =
            write("[planning.matrix]\nhigh = { low = \"P0\", medium = \"P1\", high = \"P1\" }\n");
        let err = Settings::load_from(Some(&missing), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("planning.matrix") && err.contains("medium.low"),
            "{err}"
        );
        assert!(
            err.contains("impact medium × complexity low is missing"),
            "{err}"
        );

        let unknown = write(
            "[planning.matrix]\nhigh = { low = \"P0\", medium = \"P1\", high = \"P9\" }\n\
             medium = { low = \"P1\", medium = \"P2\", high = \"P2\" }\n\
             low = { low = \"P2\", medium = \"P3\", high = \"P3\", huge = \"P3\" }\n",
        );
        let err = Settings::load_from(Some(&unknown), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("high.high") && err.contains("\"P9\" is not one of"),
            "{err}"
        );
        assert!(err.contains("low.huge"), "{err}");

        let err = Settings::load_from(
            Some(Path::new("../server/tandem.example.toml")),
            &env(&[("TANDEM_PLANNING__DEBT_TARGET_PERCENT", "120")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("planning.debt_target_percent"),
            "{err}"
        );
    }

    #[test]
    fn hosting_tokens_come_from_the_file_the_environment_or_a_token_file() {
        let example = Some(Path::new("../server/tandem.example.toml"));
        let s = Settings::load_from(example, &[]).unwrap();
        assert_eq!(s.github.api_url, "https://api.github.com");
        assert_eq!(s.gitlab.api_url, "https://gitlab.com/api/v4");
        assert!(s.github.token().is_none() && s.gitlab.token().is_none());

        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("gh");
        std::fs::write(&secret, "ghp_from_a_file\n").unwrap();
        let s = Settings::load_from(
            example,
            &env(&[
                ("TANDEM_GITHUB__TOKEN_FILE", secret.to_str().unwrap()),
                (
                    "TANDEM_GITLAB__API_URL",
                    "https://gitlab.example.com/api/v4",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.github.token().as_deref(), Some("ghp_from_a_file"));
        assert_eq!(s.gitlab.api_url, "https://gitlab.example.com/api/v4");
        assert!(!format!("{s:?}").contains("ghp_from_a_file"));

        let toml = dir.path().join("tandem.toml");
        std::fs::write(
            &toml,
            format!(
                "[gitlab]\napi_url = \"https://gl.example.com/api/v4\"\ntoken_file = {:?}\n",
                secret
            ),
        )
        .unwrap();
        let s = Settings::load_from(Some(&toml), &[]).unwrap();
        assert_eq!(s.gitlab.token().as_deref(), Some("ghp_from_a_file"));

        std::fs::write(&toml, "[github]\napi_url = \"ftp://x\"\n").unwrap();
        let err = Settings::load_from(Some(&toml), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("github.api_url"), "{err}");
        std::fs::write(
            &toml,
            "[github]\napi_url = \"https://api.github.com\"\ntoken_file = \"/nope/token\"\n",
        )
        .unwrap();
        let err = Settings::load_from(Some(&toml), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("github.token_file") && err.contains("/nope/token"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::load_from(
            Some(Path::new("../server/tandem.example.toml")),
            &env(&[("TANDEM_SERVER__LISTEN", "not-an-address")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        // The variable is named, not where in Tandem the value was merged.
        let err = Settings::load_from(None, &env(&[("TANDEM_DATABASE__MAX_CONNECTIONS", "abc")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TANDEM_DATABASE__MAX_CONNECTIONS (setting database.max_connections)")
                && err.contains("expected u32"),
            "{err}"
        );
        assert!(!err.contains(".rs"), "{err}");
        // The `config` fuzz target's crash (figment panicked): a quoted value
        // with an escape after a non-ASCII character is text, so a number
        // setting refuses it naming the variable, and a text setting takes
        // it as it is.
        let err = Settings::load_from(
            None,
            &env(&[(
                "TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS",
                "\"\u{fffd}\\x\"\\x",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS"),
            "{err}"
        );
        let s = Settings::load_from(
            None,
            &env(&[("TANDEM_DATABASE__URL", "sqlite://Zoë\\n.db")]),
        )
        .unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&s.database.url),
            "sqlite://Zoë\\n.db"
        );
        let err = Settings::load_from(Some(Path::new("/nope/tandem.toml")), &[]).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
