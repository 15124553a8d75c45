//! Tandem's own process, HTTP and background-job metrics, in one
//! process-wide `prometheus-client` registry (ADR 0020), encoded by
//! `GET /metrics` ahead of the computed gauges (`crate::exported`).
//!
//! - HTTP: the server's middleware calls [`record_request`] with the route
//!   template (`/api/v1/goals/{id}`, never the concrete path, so the label
//!   set stays bounded), the method and the status.
//! - Jobs: every background loop in `crate::jobs` calls [`record_job`] once
//!   per run with its name and outcome.
//! - Process: CPU seconds, resident memory, open file descriptors, threads
//!   and start time, read from `/proc/self` at scrape time (absent on
//!   systems without `/proc`).
//!
//! Counters are per process: with several replicas, Prometheus scrapes each
//! and sums (`sum by (route) (rate(...))`).

use std::sync::OnceLock;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Buckets of the request duration histogram, in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
}

/// The process-wide registry and its families.
#[derive(Debug)]
struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    job_runs: Family<JobLabels, Counter>,
    job_failures: Family<JobLabels, Counter>,
}

fn global() -> &'static Telemetry {
    static GLOBAL: OnceLock<Telemetry> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "tandem_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(DURATION_BUCKETS)
            });
        registry.register(
            "tandem_http_request_duration_seconds",
            "Time from receiving a request to its response headers, by method and route template",
            durations.clone(),
        );
        let job_runs = Family::<JobLabels, Counter>::default();
        registry.register(
            "tandem_job_runs",
            "Background job runs finished (successful or not), by job",
            job_runs.clone(),
        );
        let job_failures = Family::<JobLabels, Counter>::default();
        registry.register(
            "tandem_job_failures",
            "Background job runs that failed, by job",
            job_failures.clone(),
        );
        registry.register_collector(Box::new(Process::start()));
        Telemetry {
            registry,
            requests,
            durations,
            job_runs,
            job_failures,
        }
    })
}

/// Counts one answered request. `route` is the matched route template, or
/// `unmatched` for requests no route took.
pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    let t = global();
    t.requests
        .get_or_create(&RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status: status.to_string(),
        })
        .inc();
    t.durations
        .get_or_create(&RouteLabels {
            method: method.to_owned(),
            route: route.to_owned(),
        })
        .observe(seconds);
}

/// Counts one finished run of a background job.
pub fn record_job(job: &str, ok: bool) {
    let t = global();
    let labels = JobLabels {
        job: job.to_owned(),
    };
    t.job_runs.get_or_create(&labels).inc();
    if !ok {
        t.job_failures.get_or_create(&labels).inc();
    } else {
        // Present from the first run, so `rate(failures)` has a series.
        let _ = t.job_failures.get_or_create(&labels);
    }
}

/// Appends the own metrics in the text exposition format (without the
/// closing `# EOF`).
pub fn encode(out: &mut String) -> std::fmt::Result {
    prometheus_client::encoding::text::encode_registry(out, &global().registry)
}

/// The process's resources, read from `/proc/self` at each scrape.
#[derive(Debug)]
struct Process {
    start_time_seconds: f64,
}

impl Process {
    fn start() -> Process {
        let start_time_seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Process { start_time_seconds }
    }
}

/// Linux reports CPU time in clock ticks of `USER_HZ`, 100 on every
/// architecture's user-space ABI.
const USER_HZ: f64 = 100.0;

/// utime + stime of `/proc/self/stat`, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields after it follow ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// A `Name:   value kB` line of `/proc/self/status`.
fn status_field(status: &str, name: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        if let Some(cpu) = cpu_seconds() {
            let c = ConstCounter::new(cpu);
            let m = encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time spent, in seconds",
                None,
                c.metric_type(),
            )?;
            c.encode(m)?;
        }
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, v: f64| {
            let g = ConstGauge::new(v);
            let m = encoder.encode_descriptor(name, help, None, g.metric_type())?;
            g.encode(m)
        };
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(kb) = status_field(&status, "VmRSS:") {
                gauge(
                    &mut encoder,
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes",
                    kb * 1024.0,
                )?;
            }
            if let Some(n) = status_field(&status, "Threads:") {
                gauge(&mut encoder, "process_threads", "OS threads", n)?;
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors",
                dir.count() as f64,
            )?;
        }
        gauge(
            &mut encoder,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            self.start_time_seconds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_jobs_are_counted_by_their_labels() {
        record_request("GET", "/api/v1/goals/{id}", 200, 0.02);
        record_job("unit-test-job", false);
        let mut out = String::new();
        encode(&mut out).unwrap();
        assert!(
            out.contains(
                r#"tandem_http_requests_total{method="GET",route="/api/v1/goals/{id}",status="200"}"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"tandem_job_failures_total{job="unit-test-job"} 1"#),
            "{out}"
        );
        assert!(out.contains("process_start_time_seconds"), "{out}");
    }

    #[test]
    fn cpu_time_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds().is_some());
        }
    }
}
