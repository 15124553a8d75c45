//! The facts that make a benchmark result comparable: the CPU, the kernel,
//! the load, the commit measured.
//!
//! Rules: every reader answers an empty string rather than failing (a fact
//! that cannot be read is left blank, the run goes on); nothing here is
//! timed.

use std::process::{Command, Stdio};

/// A file's text, trimmed; empty when it cannot be read.
pub fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The CPU's model name from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    read_trimmed("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default()
}

/// The three load averages of `/proc/loadavg`.
pub fn load_average() -> String {
    read_trimmed("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A program's standard output, trimmed; empty when it cannot run or fails.
pub fn output(program: &str, argv: &[&str]) -> String {
    Command::new(program)
        .args(argv)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The short commit of the working directory, `-dirty` when tracked files
/// have changes; empty outside a git checkout.
pub fn git_commit() -> String {
    let commit = output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    if dirty && !commit.is_empty() {
        format!("{commit}-dirty")
    } else {
        commit
    }
}
