//! The figures of a run and the issue-12 targets they are judged by, as a table or JSON.

use crate::load::Measurement;
use serde::Serialize;

/// One scenario's result.
#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub name: &'static str,
    pub connections: usize,
    /// `None` when the endpoint is not available on this server.
    pub measurement: Option<Measurement>,
    /// Why there is no measurement, or what to know about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One target: a measured value against its threshold.
#[derive(Debug, Serialize)]
pub struct Target {
    pub name: String,
    /// The measured value (`None`: the scenario could not run).
    pub value: Option<f64>,
    pub unit: &'static str,
    /// `>=` or `<`.
    pub comparison: &'static str,
    pub threshold: f64,
    /// `None` when not measured.
    pub pass: Option<bool>,
}

impl Target {
    fn at_least(name: impl Into<String>, value: Option<f64>, threshold: f64, unit: &'static str) -> Target {
        Target { name: name.into(), value, unit, comparison: ">=", threshold, pass: value.map(|v| v >= threshold) }
    }
    fn below(name: impl Into<String>, value: Option<f64>, threshold: f64, unit: &'static str) -> Target {
        Target { name: name.into(), value, unit, comparison: "<", threshold, pass: value.map(|v| v < threshold) }
    }
}

/// A whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `SQLite` or `PostgreSQL`.
    pub backend: &'static str,
    pub warmup_secs: f64,
    pub measure_secs: f64,
    pub client_threads: usize,
    pub scenarios: Vec<ScenarioResult>,
    pub targets: Vec<Target>,
}

/// Scenario names the targets refer to.
pub mod names {
    pub const TRIVIAL: &str = "trivial actix JSON handler";
    pub const HEALTH: &str = "GET /healthz (no auth, no DB)";
    pub const TICKET_JWT: &str = "GET /tickets/{id} (JWT)";
    pub const TICKET_KEY: &str = "GET /tickets/{id} (API key)";
    pub const TICKET_LIST: &str = "GET /tickets?limit=50";
    pub const BOOKING_LIST: &str = "GET /bookings?limit=50";
    pub const BOOKING_POST: &str = "POST /bookings";
    pub const BOOKING_BATCH: &str = "POST /bookings/batch (1000)";
}

impl Report {
    fn measured(&self, name: &str) -> Option<&Measurement> {
        self.scenarios.iter().find(|s| s.name == name).and_then(|s| s.measurement.as_ref())
    }

    /// Derives the targets from the scenarios.
    pub fn judge(&mut self) {
        use names::*;
        let rps = |name: &str| self.measured(name).map(|m| m.requests_per_sec);
        let share = if self.backend == "SQLite" { 25.0 } else { 20.0 };
        let ticket_share = match (rps(TICKET_JWT), rps(TRIVIAL)) {
            (Some(t), Some(c)) if c > 0.0 => Some(100.0 * t / c),
            _ => None,
        };
        let key_vs_jwt = match (rps(TICKET_KEY), rps(TICKET_JWT)) {
            (Some(k), Some(j)) if j > 0.0 => Some(100.0 * k / j),
            _ => None,
        };
        let targets = vec![
            Target::at_least(
                format!("GET ticket (JWT) share of the trivial handler ({})", self.backend),
                ticket_share,
                share,
                "%",
            ),
            Target::below(
                "GET ticket (JWT) p99 at 64 connections",
                self.measured(TICKET_JWT).map(|m| m.p99_ms),
                5.0,
                "ms",
            ),
            Target::at_least("GET ticket with an API key vs JWT (within 10 %)", key_vs_jwt, 90.0, "%"),
            Target::at_least("POST /bookings at 16 connections", rps(BOOKING_POST), 5000.0, "req/s"),
            Target::below("POST /bookings p99", self.measured(BOOKING_POST).map(|m| m.p99_ms), 20.0, "ms"),
            Target::at_least(
                "POST /bookings/batch throughput",
                self.measured(BOOKING_BATCH).map(|m| m.items_per_sec),
                30000.0,
                "bookings/s",
            ),
        ];
        self.targets = targets;
    }

    /// The human-readable table.
    pub fn print_text(&self) {
        println!(
            "\nkontor http-bench on {}: {:.0} s measured per scenario after {:.0} s warm-up, {} client threads\n",
            self.backend, self.measure_secs, self.warmup_secs, self.client_threads
        );
        println!(
            "{:<34} {:>5} {:>11} {:>12} {:>8} {:>8} {:>8} {:>7}",
            "scenario", "conns", "req/s", "items/s", "p50 ms", "p99 ms", "max ms", "errors"
        );
        for s in &self.scenarios {
            match &s.measurement {
                Some(m) => println!(
                    "{:<34} {:>5} {:>11.0} {:>12.0} {:>8.2} {:>8.2} {:>8.1} {:>7}",
                    s.name, s.connections, m.requests_per_sec, m.items_per_sec, m.p50_ms, m.p99_ms, m.max_ms, m.errors
                ),
                None => {
                    println!("{:<34} {:>5}  {}", s.name, s.connections, s.note.as_deref().unwrap_or("not measured"))
                }
            }
            if let (Some(_), Some(note)) = (&s.measurement, &s.note) {
                println!("{:<34}        ({note})", "");
            }
            if let Some(e) = s.measurement.as_ref().and_then(|m| m.first_error.as_ref()) {
                println!("{:<34}        first error: {e}", "");
            }
        }
        println!("\ntargets (issue 12)");
        for t in &self.targets {
            let verdict = match t.pass {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "n/a ",
            };
            let value = t.value.map(|v| format!("{v:.1} {}", t.unit)).unwrap_or_else(|| "not available".into());
            println!("  {verdict}  {:<58} {:>18}  (target {} {} {})", t.name, value, t.comparison, t.threshold, t.unit);
        }
    }
}
