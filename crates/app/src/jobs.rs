//! Background work of `serve`, as plain async loops that `launch` spawns
//! (each returns at once when its setting is 0, and otherwise runs until its
//! task is aborted):
//! - [`risk_checks`]: the forecast risk checks, every
//!   `forecast.check_interval_minutes`;
//! - [`attribution`]: attributing newly arrived deployments and incidents
//!   ahead of the first metric read;
//! - [`prune_deliveries`]: deleting raw webhook deliveries past their
//!   retention, daily, written to `[archive]` first when it is set
//!   (`crate::archive`, ADR 0036);
//! - [`archive_reports`]: writing sent reports to `[archive]`, daily;
//! - [`pr_commits`]: fetching the own commits of merged pull requests
//!   queued by the webhooks (`crate::pr_commits`), every
//!   `maintenance.pr_commits_interval_seconds`;
//! - the calendar refresh is `focus::refresh_loop` (feeds claimed with a
//!   lease, every `calendar.refresh_interval_minutes`);
//! - the report scheduler is `report::schedule::run`;
//! - [`archive_uploads`]: retrying failed S3 uploads of archived reports
//!   (`report::archive::retry_due`, claimed with a lease) when `[report.s3]`
//!   is set;
//! - [`checks`]: syncing `[[checks]]` at start, then the health-check
//!   scheduler (`checks::run::run_due`) every `monitor.scheduler_interval_ms`;
//!   [`check_retention`]: the check data retention prune hourly (raw
//!   results written to `[archive]` first when it is set);
//! - [`alerts`]: the alert outbox sender (`checks::alerts::send_due`) every
//!   `alerts.sender_interval_ms`;
//! - [`request_mailbox`]: polling `[requests.imap]` for e-mailed requests
//!   and retrying stored ones a stopped replica left (`crate::intake`);
//! - [`request_replies`]: telling Slack and e-mail requesters (and the
//!   managers of their teams) what the requests outbox holds for them, and
//!   posting the incidents' business updates waiting in their Slack outbox
//!   (`frontline::deliver_business_updates`), every
//!   `requests.deliver_interval_seconds`;
//! - the pulse pass is `pulse::ask_loop` (closes ended weeks, asks due
//!   teams in Slack; each team's week claimed, ADR 0028);
//! - [`kpi_sources`]: KPI series collected from PromQL or SQL queries
//!   (`crate::kpi_sources::run_due`, claimed under a lease), every
//!   `kpi_sources.scheduler_interval_ms`;
//! - the publishing outbox is `publish::run_loop` (each publisher under a
//!   lease, every `publish.interval_seconds`; ADR 0033);
//! - [`backups`]: the scheduled backup of `backup.schedule` to `backup.to`
//!   and the retention prune after it (`backup::scheduled`, each due time
//!   claimed under a lease; ADR 0035), checked every
//!   `backup.scheduler_interval_seconds`;
//!
//! [`spawn_all`] starts them all.
//!
//! All are safe on several replicas at once: risks are keyed by cause (a
//! second opening is skipped, updates converge), attribution recomputes
//! derived rows from stored facts (the same answer whoever computes it), a
//! prune deletes what every replica would, and report runs and pull request
//! commit fetches are claimed in the database with a lease; an e-mail is
//! stored once per Message-ID and worked on under a lease, and an outbox
//! message is claimed before it is sent (ADR 0022); due checks and alerts are
//! claimed too (ADR 0019).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tandem_store::Store;

use crate::settings::Settings;

/// How often the retention prune runs, first a few minutes after start.
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
const PRUNE_FIRST_AFTER: Duration = Duration::from_secs(5 * 60);

/// Spawns every background loop whose setting is not 0.
pub fn spawn_all(store: &Store, settings: &Arc<Settings>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if settings.monitor.scheduler_interval_ms > 0 {
        tasks.push(tokio::spawn(checks(store.clone(), settings.clone())));
        tasks.push(tokio::spawn(check_retention(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.alerts.sender_interval_ms > 0 {
        tasks.push(tokio::spawn(alerts(store.clone(), settings.clone())));
    }
    if settings.forecast.check_interval_minutes > 0 {
        tasks.push(tokio::spawn(risk_checks(store.clone(), settings.clone())));
    }
    if settings.report.scheduler_interval_seconds > 0 {
        tasks.push(tokio::spawn(crate::report::schedule::run(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.report.s3.is_some() && settings.report.scheduler_interval_seconds > 0 {
        tasks.push(tokio::spawn(archive_uploads(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.maintenance.attribute_interval_seconds > 0 {
        tasks.push(tokio::spawn(attribution(store.clone(), settings.clone())));
    }
    if settings.maintenance.pr_commits_interval_seconds > 0
        && (settings.github.token().is_some() || settings.gitlab.token().is_some())
    {
        tasks.push(tokio::spawn(pr_commits(store.clone(), settings.clone())));
    }
    if settings.calendar.refresh_interval_minutes > 0 {
        tasks.push(tokio::spawn(crate::focus::refresh_loop(
            store.clone(),
            settings.calendar.clone(),
        )));
    }
    if let Some(imap) = crate::intake::imap_settings(settings) {
        tasks.push(tokio::spawn(request_mailbox(
            store.clone(),
            settings.clone(),
            imap.clone(),
        )));
    }
    if settings.requests.deliver_interval_seconds > 0
        && (settings.slack.bot_token.is_some() || settings.report.smtp.is_some())
    {
        tasks.push(tokio::spawn(request_replies(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.pulse.interval_seconds > 0 {
        tasks.push(tokio::spawn(crate::pulse::ask_loop(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.kpi_sources.scheduler_interval_ms > 0 {
        tasks.push(tokio::spawn(kpi_sources(store.clone(), settings.clone())));
    }
    if settings.publish.interval_seconds > 0
        && !crate::publish::configured(&settings.publish).is_empty()
    {
        tasks.push(tokio::spawn(crate::publish::run_loop(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.backup.schedule.is_some() && settings.backup.scheduler_interval_seconds > 0 {
        tasks.push(tokio::spawn(backups(store.clone(), settings.clone())));
    }
    if settings.maintenance.delivery_retention_days > 0 {
        tasks.push(tokio::spawn(prune_deliveries(
            store.clone(),
            settings.clone(),
        )));
    }
    if settings.archive.to.is_some() && settings.archive.reports {
        tasks.push(tokio::spawn(archive_reports(
            store.clone(),
            settings.clone(),
        )));
    }
    tasks
}

/// Stores `[[checks]]`, then claims and runs due health checks every
/// `monitor.scheduler_interval_ms`, as a replica of its own name; prunes
/// check data past its retention hourly.
pub async fn checks(store: Store, settings: Arc<Settings>) {
    if let Err(e) = crate::checks::sync_config(&store, &settings, Utc::now()).await {
        tracing::error!(error = %e, "the [[checks]] of the configuration could not be stored");
    }
    let owner = format!("replica-{}", uuid::Uuid::now_v7());
    let runner = match crate::checks::run::Runner::for_settings(
        owner,
        settings.monitor.concurrency,
        &settings.monitor,
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the check runner could not start");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(
        settings.monitor.scheduler_interval_ms,
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = crate::checks::run::run_due(&store, &settings, &runner, Utc::now()).await {
            tracing::warn!(error = %e, "claiming due checks failed; retrying at the next tick");
        }
    }
}

/// Deletes check data past its retention hourly, first an hour after
/// start; with `[archive]` the raw results are written to the archive
/// first (a failed upload leaves them for the next hour, and the rollups
/// are pruned anyway). Apart from the checks loop, so that an S3 upload
/// never delays a due check.
pub async fn check_retention(store: Store, settings: Arc<Settings>) {
    let every = Duration::from_secs(3600);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = prune_checks(&store, &settings, Utc::now()).await;
        crate::telemetry::record_job("check_retention", result.is_ok());
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "check data past retention deleted"),
            Err(e) => tracing::warn!(error = %e, "pruning check data failed; retrying in an hour"),
        }
    }
}

/// Deletes check results and rollups past their retention, the raw results
/// written to `[archive]` first when it takes them; rows deleted.
pub async fn prune_checks(
    store: &Store,
    settings: &Settings,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<u64> {
    if settings.archive.checks
        && let Some(archive) = crate::archive::Archive::configured(settings)?
    {
        let before = crate::archive::check_results_cutoff(settings, now);
        let archived = crate::archive::archive_check_results(store, &archive, before).await;
        let rollups = crate::checks::prune_rollups(store, settings, now).await?;
        return Ok(archived?.deleted + rollups);
    }
    Ok(crate::checks::prune(store, settings, now).await?)
}

/// Sends due alerts every `alerts.sender_interval_ms`.
pub async fn alerts(store: Store, settings: Arc<Settings>) {
    let owner = format!("replica-{}", uuid::Uuid::now_v7());
    let client = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the alert sender could not start");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(settings.alerts.sender_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) =
            crate::checks::alerts::send_due(&store, &settings, &client, &owner, Utc::now()).await
        {
            tracing::warn!(error = %e, "sending alerts failed; retrying at the next tick");
        }
    }
}

/// Claims and runs due KPI sources every `kpi_sources.scheduler_interval_ms`.
pub async fn kpi_sources(store: Store, settings: Arc<Settings>) {
    let owner = format!("replica-{}", uuid::Uuid::now_v7());
    let mut tick = tokio::time::interval(Duration::from_millis(
        settings.kpi_sources.scheduler_interval_ms,
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = crate::kpi_sources::run_due(&store, &settings, &owner, Utc::now()).await {
            tracing::warn!(error = %e, "running KPI sources failed; retrying at the next tick");
        }
    }
}

/// Runs the risk checks at start and then every
/// `forecast.check_interval_minutes` (0: never).
pub async fn risk_checks(store: Store, settings: Arc<Settings>) {
    let minutes = settings.forecast.check_interval_minutes;
    if minutes == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(minutes * 60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = crate::forecasting::run_checks(&store, &settings.forecast, Utc::now()).await;
        crate::telemetry::record_job("risk_checks", result.is_ok());
        match result {
            Ok(report) => tracing::info!(?report, "risk checks ran"),
            Err(e) => {
                tracing::warn!(error = %e, "risk checks failed; retrying at the next interval")
            }
        }
    }
}

/// Attributes pending deployments and incidents every
/// `maintenance.attribute_interval_seconds` (0: never), first one interval
/// after start.
pub async fn attribution(store: Store, settings: Arc<Settings>) {
    let seconds = settings.maintenance.attribute_interval_seconds;
    if seconds == 0 {
        return;
    }
    let every = Duration::from_secs(seconds);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = attribute(&store, &settings).await;
        crate::telemetry::record_job("attribution", result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, "background attribution failed; retrying at the next interval");
        }
    }
}

/// Retries failed S3 uploads of archived reports every
/// `report::archive::RETRY_EVERY`.
pub async fn archive_uploads(store: Store, settings: Arc<Settings>) {
    let mut tick = tokio::time::interval(crate::report::archive::RETRY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = crate::report::archive::retry_due(&store, &settings, Utc::now()).await;
        crate::telemetry::record_job("archive_uploads", result.is_ok());
        match result {
            Ok(r) if r == crate::report::archive::RetryReport::default() => {}
            Ok(r) => tracing::info!(?r, "archive uploads retried"),
            Err(e) => {
                tracing::warn!(error = %e, "retrying archive uploads failed; retrying at the next tick")
            }
        }
    }
}

/// Takes the scheduled backup when one is due (`backup::scheduled`),
/// checking every `backup.scheduler_interval_seconds`, as a replica of its
/// own name.
pub async fn backups(store: Store, settings: Arc<Settings>) {
    let owner = format!("replica-{}", uuid::Uuid::now_v7());
    let mut tick = tokio::time::interval(Duration::from_secs(
        settings.backup.scheduler_interval_seconds.max(1),
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // The dump's reader and writer are `dyn Write`/`BufRead` (not
        // `Send`), so the backup runs on a blocking thread of this runtime.
        let handle = tokio::runtime::Handle::current();
        let (s, st, o) = (store.clone(), settings.clone(), owner.clone());
        let result = tokio::task::spawn_blocking(move || {
            handle.block_on(crate::backup::scheduled(&s, &st, &o, Utc::now()))
        })
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("the backup task stopped: {e}").into()));
        match result {
            Ok(None) => {}
            Ok(Some(run)) => match run.outcome {
                Ok((taken, pruned)) => {
                    crate::telemetry::record_job("backup", true);
                    tracing::info!(
                        name = %taken.name,
                        bytes = taken.bytes,
                        records = taken.records,
                        pruned = pruned.deleted.len(),
                        "scheduled backup taken and verified"
                    );
                }
                Err(e) => {
                    crate::telemetry::record_job("backup", false);
                    tracing::warn!(error = %e, due_at = %run.due_at, "the scheduled backup failed; retrying when its lease runs out");
                }
            },
            Err(e) => {
                crate::telemetry::record_job("backup", false);
                tracing::warn!(error = %e, "the backup schedule could not run; retrying at the next tick");
            }
        }
    }
}

/// Works on the queue of pull request commit fetches every
/// `maintenance.pr_commits_interval_seconds` (0: never), as a replica of
/// its own name (claims name it; see `crate::pr_commits`).
pub async fn pr_commits(store: Store, settings: Arc<Settings>) {
    let seconds = settings.maintenance.pr_commits_interval_seconds;
    if seconds == 0 {
        return;
    }
    let owner = format!("replica-{}", uuid::Uuid::now_v7());
    let mut tick = tokio::time::interval(Duration::from_secs(seconds));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = crate::pr_commits::run_due(&store, &settings, &owner, Utc::now()).await;
        crate::telemetry::record_job("pr_commits", result.is_ok());
        match result {
            Ok(r) if r == crate::pr_commits::RunReport::default() => {}
            Ok(r) => tracing::info!(?r, "pull request commits fetched"),
            Err(e) => {
                tracing::warn!(error = %e, "the pull request commit queue failed; retrying at the next interval")
            }
        }
    }
}

/// Polls the requests mailbox every `interval_seconds`, and works on
/// stored e-mails a stopped replica left behind.
pub async fn request_mailbox(
    store: Store,
    settings: Arc<Settings>,
    imap: crate::settings::ImapSettings,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(imap.interval_seconds.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::intake::imap::poll(&store, &settings, &imap, Utc::now()).await {
            Ok(r) if r.is_empty() => {}
            Ok(r) => tracing::info!(messages = r.len(), "requests mailbox read"),
            Err(e) => {
                tracing::warn!(error = %e, "reading the requests mailbox failed; retrying at the next interval")
            }
        }
        if let Err(e) = crate::intake::mail::retry_abandoned(&store, &settings, Utc::now()).await {
            tracing::warn!(error = %e, "working on left e-mails failed; retrying at the next interval");
        }
    }
}

/// Sends the requests outbox's Slack and e-mail messages, and the business
/// updates waiting for Slack, every `requests.deliver_interval_seconds`.
pub async fn request_replies(store: Store, settings: Arc<Settings>) {
    let seconds = settings.requests.deliver_interval_seconds;
    if seconds == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(seconds));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::intake::deliver_pending(&store, &settings).await {
            Ok(d) if d == crate::intake::Delivered::default() => {}
            Ok(d) => tracing::info!(?d, "requesters told"),
            Err(e) => {
                tracing::warn!(error = %e, "telling requesters failed; retrying at the next interval")
            }
        }
        if settings.slack.bot_token.is_none() {
            continue;
        }
        match crate::frontline::deliver_business_updates(&store, &settings).await {
            Ok(d) if d == crate::frontline::UpdatesPosted::default() => {}
            Ok(d) => tracing::info!(?d, "business updates posted to Slack"),
            Err(e) => {
                tracing::warn!(error = %e, "posting business updates failed; retrying at the next interval")
            }
        }
    }
}

/// Deletes raw deliveries older than `maintenance.delivery_retention_days`
/// (0: never) daily, first a few minutes after start, writing them to
/// `[archive]` first when it takes them.
pub async fn prune_deliveries(store: Store, settings: Arc<Settings>) {
    let days = settings.maintenance.delivery_retention_days;
    if days == 0 {
        return;
    }
    let first = tokio::time::Instant::now() + PRUNE_FIRST_AFTER;
    let mut tick = tokio::time::interval_at(first, PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = prune(&store, &settings, Utc::now()).await;
        crate::telemetry::record_job("prune_deliveries", result.is_ok());
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "raw deliveries past retention deleted"),
            Err(e) => tracing::warn!(error = %e, "deleting old raw deliveries failed"),
        }
    }
}

/// Attributes whatever is pending under the configured rules.
pub async fn attribute(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    store.set_metric_rules(&settings.metrics.rules()).await?;
    let n = store.attribute_pending().await?;
    if n > 0 {
        tracing::info!(
            deployments = n,
            seconds = started.elapsed().as_secs_f64(),
            "attributed in the background"
        );
    }
    Ok(())
}

/// Deletes raw deliveries past `maintenance.delivery_retention_days` at
/// `now`; with `[archive]` taking them, each batch is written to the
/// archive first and deleted only once written (a failed upload deletes
/// nothing more). Returns how many were deleted.
pub async fn prune(
    store: &Store,
    settings: &Settings,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<u64> {
    let Some(before) = crate::archive::delivery_cutoff(settings, now) else {
        return Ok(0);
    };
    if settings.archive.deliveries
        && let Some(archive) = crate::archive::Archive::configured(settings)?
    {
        return Ok(crate::archive::archive_deliveries(store, &archive, before)
            .await?
            .deleted);
    }
    Ok(store.prune_deliveries(before).await?)
}

/// Writes the sent reports not yet in `[archive]` there daily, first a few
/// minutes after start (they stay in the database).
pub async fn archive_reports(store: Store, settings: Arc<Settings>) {
    let first = tokio::time::Instant::now() + PRUNE_FIRST_AFTER;
    let mut tick = tokio::time::interval_at(first, PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = async {
            match crate::archive::Archive::configured(&settings)? {
                Some(archive) => crate::archive::archive_reports(&store, &archive).await,
                None => Ok(crate::archive::PassReport::default()),
            }
        }
        .await;
        crate::telemetry::record_job("archive_reports", result.is_ok());
        match result {
            Ok(r) if r.archived == 0 => {}
            Ok(r) => tracing::info!(reports = r.archived, "sent reports written to the archive"),
            Err(e) => {
                tracing::warn!(error = %e, "archiving sent reports failed; retrying tomorrow")
            }
        }
    }
}
