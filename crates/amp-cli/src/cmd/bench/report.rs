//! The report of `amp bench`: text (its last line ends in `calls/s`) or
//! one JSON object with the same numbers.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::load::Tally;

/// What a run came to.
pub struct Report {
    /// The server benchmarked.
    pub target: String,
    /// The command called.
    pub command: String,
    /// Connections used.
    pub connections: usize,
    /// Calls in flight in all (split across the connections).
    pub concurrency: usize,
    /// From the first call to the last answer.
    pub elapsed: Duration,
    /// The merged tallies of every connection.
    pub tally: Tally,
}

/// Latency percentiles, in microseconds.
struct Latency {
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
    mean: f64,
}

impl Report {
    /// Calls per second over the run.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.tally.calls() as f64 / secs
        } else {
            0.0
        }
    }

    fn latency(&self) -> Latency {
        let h = &self.tally.latency;
        Latency {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
            mean: h.mean(),
        }
    }

    /// Calls answered with an AMP error.
    pub fn error_count(&self) -> u64 {
        self.tally.errors.values().sum()
    }

    /// Calls that failed on our side (timeouts, lost connections).
    pub fn failure_count(&self) -> u64 {
        self.tally.failures.values().sum()
    }

    /// The report as one JSON object.
    pub fn json(&self) -> serde_json::Value {
        let l = self.latency();
        serde_json::json!({
            "target": self.target,
            "command": self.command,
            "connections": self.connections,
            "concurrency": self.concurrency,
            "calls": self.tally.calls(),
            "answered": self.tally.answered,
            "errors": self.error_count(),
            "errors_by_code": self.tally.errors,
            "failures": self.failure_count(),
            "failures_by_kind": self.tally.failures,
            "connections_lost": self.tally.lost,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "latency_us": {
                "p50": l.p50, "p90": l.p90, "p99": l.p99, "max": l.max, "mean": l.mean,
            },
            "throughput_calls_per_s": self.throughput(),
        })
    }
}

impl fmt::Display for Report {
    /// The text report; its last line is `throughput: N calls/s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.latency();
        writeln!(f, "target:      {} ({})", self.target, self.command)?;
        writeln!(
            f,
            "load:        {} connection(s), {} call(s) in flight in all",
            self.connections, self.concurrency
        )?;
        writeln!(
            f,
            "calls:       {} ({} answered, {} errors, {} failures)",
            self.tally.calls(),
            self.tally.answered,
            self.error_count(),
            self.failure_count()
        )?;
        if !self.tally.errors.is_empty() {
            writeln!(f, "errors:      {}", by_key(&self.tally.errors))?;
        }
        if !self.tally.failures.is_empty() {
            writeln!(f, "failures:    {}", by_key(&self.tally.failures))?;
        }
        if self.tally.lost > 0 {
            writeln!(
                f,
                "lost:        {} connection(s) during the run",
                self.tally.lost
            )?;
        }
        writeln!(f, "elapsed:     {:.3} s", self.elapsed.as_secs_f64())?;
        writeln!(
            f,
            "latency:     p50 {} µs, p90 {} µs, p99 {} µs, max {} µs (mean {:.1} µs)",
            l.p50, l.p90, l.p99, l.max, l.mean
        )?;
        write!(f, "throughput:  {:.1} calls/s", self.throughput())
    }
}

/// `CODE n, CODE n`.
fn by_key(m: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
    parts.join(", ")
}
