//! `GET /metrics`: request counters and latency histograms per route pattern and status,
//! pool gauges; served without credentials on the separate metrics listener
//! (`KONTOR_METRICS_BIND`), otherwise on the API port to admins only.

use crate::helpers::{problem, spawn_app, spawn_app_with, TestApp, EVERY_SCOPE};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;

/// One scrape: every sample by its name and labels (`name{a="x",b="y"}` with labels sorted).
struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample without value: {line}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            let key = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"));
                    let mut pairs = split_labels(labels);
                    pairs.sort();
                    format!("{name}{{{}}}", pairs.join(","))
                }
                None => series.to_string(),
            };
            assert!(samples.insert(key, value).is_none(), "duplicate series {series}");
        }
        Scrape(samples)
    }

    /// The sample `name` with exactly these labels (0 when the series does not exist yet).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        pairs.sort();
        let key = if pairs.is_empty() { name.to_string() } else { format!("{name}{{{}}}", pairs.join(",")) };
        self.0.get(&key).copied().unwrap_or(0.0)
    }

    /// Whether any series of `name` exists.
    fn has(&self, name: &str) -> bool {
        self.0.keys().any(|k| k == name || k.starts_with(&format!("{name}{{")))
    }

    /// The histogram buckets `(le, cumulative count)` of `name` with these labels, in order.
    fn buckets(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
        let prefix = format!("{name}_bucket{{");
        let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let mut buckets: Vec<(f64, f64)> = self
            .0
            .iter()
            .filter_map(|(key, value)| {
                let labels = key.strip_prefix(&prefix)?.strip_suffix('}')?;
                let pairs = split_labels(labels);
                let le = pairs.iter().find_map(|p| p.strip_prefix("le=\""))?.trim_end_matches('"');
                let rest: Vec<&String> = pairs.iter().filter(|p| !p.starts_with("le=")).collect();
                let matches = rest.len() == wanted.len() && wanted.iter().all(|w| rest.contains(&w));
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                matches.then_some((le, *value))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

/// `a="x",b="y,z"` into its pairs (commas inside quoted values stay).
fn split_labels(labels: &str) -> Vec<String> {
    let (mut pairs, mut current, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in labels.chars() {
        match c {
            ',' if !quoted => pairs.push(std::mem::take(&mut current)),
            '"' if !escaped => {
                quoted = !quoted;
                current.push(c);
            }
            _ => current.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    if !current.is_empty() {
        pairs.push(current);
    }
    pairs
}

/// Scrapes the metrics listener of `app`.
async fn scrape(app: &TestApp) -> Scrape {
    let address = app.metrics_address.as_ref().expect("the test server has a metrics listener");
    let res = app.client.get(format!("{address}/metrics")).send().await.expect("scrape");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    Scrape::parse(&res.text().await.expect("text"))
}

async fn spawn_app_with_metrics_listener() -> TestApp {
    spawn_app_with(|c| c.metrics_bind = Some("127.0.0.1:0".parse().expect("address"))).await
}

const REQUESTS: &str = "kontor_http_requests_total";
const LATENCY: &str = "kontor_http_request_duration_seconds";

#[tokio::test]
async fn requests_are_counted_per_route_pattern_and_status_never_per_raw_path() {
    let app = spawn_app_with_metrics_listener().await;
    let id = app.create_customer(json!({"name": "Metrik GmbH"})).await["id"].as_i64().expect("id");
    let customer = [("method", "GET"), ("route", "/api/v1/customers/{id}"), ("status", "200")];
    let missing = [("method", "GET"), ("route", "/api/v1/customers/{id}"), ("status", "404")];
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    let before = scrape(&app).await;

    for _ in 0..3 {
        assert_eq!(app.get(&format!("/api/v1/customers/{id}"), &app.admin_token).await.status(), StatusCode::OK);
    }
    for _ in 0..2 {
        problem(app.get("/api/v1/customers/987654321", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
    problem(app.get("/api/v1/no-such-resource/42", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let after = scrape(&app).await;

    assert_eq!(after.value(REQUESTS, &customer) - before.value(REQUESTS, &customer), 3.0);
    assert_eq!(after.value(REQUESTS, &missing) - before.value(REQUESTS, &missing), 2.0);
    assert_eq!(after.value(REQUESTS, &unmatched) - before.value(REQUESTS, &unmatched), 1.0);
    let created = [("method", "POST"), ("route", "/api/v1/customers"), ("status", "201")];
    assert_eq!(after.value(REQUESTS, &created), 1.0);
    for raw in [format!("/api/v1/customers/{id}"), "/api/v1/customers/987654321".into(), "/api/v1/no-such".into()] {
        assert!(!after.0.keys().any(|k| k.contains(&format!("route=\"{raw}"))), "raw path {raw} became a label");
    }

    // The histogram of the same series: ordered cumulative buckets ending in +Inf = count.
    let count = |s: &Scrape| s.value(&format!("{LATENCY}_count"), &customer);
    assert_eq!(count(&after) - count(&before), 3.0);
    let buckets = after.buckets(LATENCY, &customer);
    assert!(buckets.len() >= 10, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "buckets are cumulative: {buckets:?}");
    assert_eq!(buckets.last().copied(), Some((f64::INFINITY, count(&after))));
    let sum = after.value(&format!("{LATENCY}_sum"), &customer);
    assert!(sum > 0.0 && sum < 30.0, "sum of three reads: {sum}");
}

#[tokio::test]
async fn the_database_pool_and_the_build_are_reported_at_scrape_time() {
    let app = spawn_app_with_metrics_listener().await;
    let s = scrape(&app).await;
    // The test server's pool holds at most 4 connections (KONTOR_DB_MAX_CONNECTIONS).
    assert_eq!(s.value("kontor_db_pool_max_connections", &[]), 4.0);
    let (size, idle) = (s.value("kontor_db_pool_connections", &[]), s.value("kontor_db_pool_idle_connections", &[]));
    assert!((1.0..=4.0).contains(&size) && (0.0..=size).contains(&idle), "size {size}, idle {idle}");
    let backend = if app.db.is_postgres() { "postgres" } else { "sqlite" };
    assert_eq!(s.value("kontor_build_info", &[("version", env!("CARGO_PKG_VERSION")), ("backend", backend)]), 1.0);
    assert!(s.value("process_start_time_seconds", &[]) > 1.7e9);
    for name in [
        "kontor_job_queue_depth",
        "kontor_invoice_run_duration_seconds_count",
        "kontor_invoice_run_positions_total",
        "kontor_invoice_run_positions_per_second_count",
    ] {
        assert!(s.has(name), "{name} missing");
    }
}

#[tokio::test]
async fn with_a_metrics_listener_the_api_port_does_not_serve_metrics() {
    let app = spawn_app_with_metrics_listener().await;
    problem(app.request(reqwest::Method::GET, "/metrics", None).send().await.expect("request"), StatusCode::NOT_FOUND)
        .await;
    problem(app.get("/metrics", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    // The listener serves nothing but the metrics.
    let address = app.metrics_address.as_ref().expect("listener");
    let res = app.client.get(format!("{address}/api/v1/customers")).bearer_auth(&app.admin_token).send().await;
    assert_eq!(res.expect("request").status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_metrics_listener_only_admins_read_metrics_on_the_api_port() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    let anonymous = app.request(reqwest::Method::GET, "/metrics", None).send().await.expect("request");
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    problem(app.get("/metrics", &billing).await, StatusCode::FORBIDDEN).await;
    let (_, key) = app.api_key(&EVERY_SCOPE).await;
    problem(app.get("/metrics", &key).await, StatusCode::FORBIDDEN).await;

    let res = app.get("/metrics", &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let s = Scrape::parse(&res.text().await.expect("text"));
    let refused = |status| s.value(REQUESTS, &[("method", "GET"), ("route", "/metrics"), ("status", status)]);
    assert_eq!((refused("401"), refused("403")), (1.0, 2.0));
    assert!(s.value("kontor_db_pool_max_connections", &[]) == 4.0);
}

#[tokio::test]
async fn finished_invoice_runs_are_observed_whether_run_as_jobs_or_at_once() {
    let app = spawn_app_with_metrics_listener().await;
    let customer = app.create_customer(json!({"name": "Lauf GmbH"})).await["id"].as_i64().expect("id");
    let runs = |s: &Scrape| s.value("kontor_invoice_run_duration_seconds_count", &[]);
    let before = scrape(&app).await;
    assert_eq!(runs(&before), 0.0);

    // All customers: a job, observed by the worker when it ends.
    let all = app.commit_run_and_wait(&json!({"mode": "commit", "scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(all["status"], "succeeded", "{all}");
    let mut after_job = scrape(&app).await;
    for _ in 0..50 {
        if runs(&after_job) >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        after_job = scrape(&app).await;
    }
    assert_eq!(runs(&after_job), 1.0);

    // One customer: committed at once (201), observed by the handler.
    let one = app
        .commit_run_and_wait(
            &json!({"mode": "commit", "scope": "customer", "scope_id": customer, "period_end": "2026-11-30"}),
        )
        .await;
    assert_eq!(one["status"], "succeeded", "{one}");
    let after = scrape(&app).await;
    assert_eq!(runs(&after), 2.0);
    assert_eq!(after.value("kontor_invoice_run_positions_total", &[]), 0.0, "nothing was open");
    assert_eq!(after.value("kontor_job_queue_depth", &[]), 0.0, "no job waits");
}
