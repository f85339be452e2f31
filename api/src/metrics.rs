//! Operational metrics in the Prometheus text format (version 0.0.4): HTTP requests per
//! route pattern, method and status with their latency, the database pool, invoice runs and
//! the job queue, and the build. [`Metrics`] owns the registry (one per server, in
//! [`AppState`]); [`record_requests`] is the middleware that counts every request;
//! [`scrape`] answers `GET /metrics` on the separate metrics listener
//! (`KONTOR_METRICS_BIND`) and [`scrape_as_admin`] on the API port when there is none.
//!
//! Recording is cheap: a request touches two label maps under short read locks (never held
//! across an await) and atomic counters. Labels stay bounded: the route is the pattern the
//! request matched (`/api/v1/tickets/{id}`), never the raw path; unmatched requests share
//! one label, unusual methods another.

use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use domain::access::Permission;
use persistence::{Backend, PoolStatus};
use prometheus_client::encoding::prometheus_text::{encode, CONTENT_TYPE};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Route label of requests that matched no route (404 and the like).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds (seconds) of the request latency buckets.
const REQUEST_SECONDS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Upper bounds (seconds) of the invoice-run duration buckets.
const RUN_SECONDS: [f64; 13] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
/// Upper bounds of the invoice-run throughput buckets (positions per second).
const RUN_POSITIONS_PER_SECOND: [f64; 12] = [100.0, 250.0, 500.0, 1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5];

/// Labels of one HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// Labels of the build-info gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    backend: &'static str,
}

/// The server's metrics. Cheap to clone (all clones record into the same registry), so
/// background work such as invoice-run jobs can hold its own.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    http_requests: Family<RequestLabels, Counter>,
    http_request_seconds: Family<RequestLabels, Histogram, fn() -> Histogram>,
    db_pool_connections: Gauge,
    db_pool_idle_connections: Gauge,
    db_pool_max_connections: Gauge,
    invoice_run_seconds: Histogram,
    invoice_run_positions: Counter,
    invoice_run_positions_per_second: Histogram,
    job_queue_depth: Gauge,
}

impl Metrics {
    /// A registry with every Kontor metric, for a server on `backend`.
    pub fn new(backend: Backend) -> Metrics {
        let mut root = Registry::default();
        let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let start_time = Gauge::<f64, AtomicU64>::default();
        start_time.set(started);
        root.register("process_start_time_seconds", "Start time of the process since the Unix epoch", start_time);

        let registry = root.sub_registry_with_prefix("kontor");
        let backend = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        registry.register(
            "build",
            "Version of the running server and its database backend",
            Info::new(BuildLabels { version: env!("CARGO_PKG_VERSION"), backend }),
        );

        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            http_requests.clone(),
        );
        let http_request_seconds: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(REQUEST_SECONDS));
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to its response head, by method, route pattern and status",
            http_request_seconds.clone(),
        );

        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let db_pool_connections =
            gauge(registry, "db_pool_connections", "Open database connections of this node, idle or in use");
        let db_pool_idle_connections =
            gauge(registry, "db_pool_idle_connections", "Open database connections waiting for work");
        let db_pool_max_connections =
            gauge(registry, "db_pool_max_connections", "Most database connections this node opens");
        let job_queue_depth = gauge(registry, "job_queue_depth", "Background jobs waiting to be run");

        let invoice_run_seconds = Histogram::new(RUN_SECONDS);
        registry.register(
            "invoice_run_duration_seconds",
            "Duration of committed invoice runs",
            invoice_run_seconds.clone(),
        );
        let invoice_run_positions = Counter::default();
        registry.register(
            "invoice_run_positions",
            "Positions put on drafts by committed invoice runs",
            invoice_run_positions.clone(),
        );
        let invoice_run_positions_per_second = Histogram::new(RUN_POSITIONS_PER_SECOND);
        registry.register(
            "invoice_run_positions_per_second",
            "Throughput of committed invoice runs (positions per second of run time)",
            invoice_run_positions_per_second.clone(),
        );

        Metrics {
            registry: Arc::new(root),
            http_requests,
            http_request_seconds,
            db_pool_connections,
            db_pool_idle_connections,
            db_pool_max_connections,
            invoice_run_seconds,
            invoice_run_positions,
            invoice_run_positions_per_second,
            job_queue_depth,
        }
    }

    /// Counts one answered request. `route` is the matched pattern (`None`: unmatched).
    pub fn record_request(&self, method: &Method, route: Option<String>, status: StatusCode, elapsed: Duration) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.unwrap_or_else(|| UNMATCHED_ROUTE.to_string()),
            status: status.as_u16(),
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_request_seconds.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// Records a finished invoice run: how long it took and how many positions it put on
    /// drafts.
    pub fn observe_run(&self, duration: Duration, positions: u64) {
        let seconds = duration.as_secs_f64();
        self.invoice_run_seconds.observe(seconds);
        self.invoice_run_positions.inc_by(positions);
        if seconds > 0.0 {
            self.invoice_run_positions_per_second.observe(positions as f64 / seconds);
        }
    }

    /// Sets how many background jobs wait to be run.
    pub fn set_job_queue_depth(&self, depth: i64) {
        self.job_queue_depth.set(depth);
    }

    /// The exposition of every metric, with the pool gauges taken from `pool`.
    pub fn render(&self, pool: PoolStatus) -> Result<String, std::fmt::Error> {
        self.db_pool_connections.set(i64::from(pool.size));
        self.db_pool_idle_connections.set(i64::from(pool.idle));
        self.db_pool_max_connections.set(i64::from(pool.max));
        let mut text = String::with_capacity(16 * 1024);
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The method label: the standard methods by name, anything else as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every request with its route pattern, method, status and latency.
pub async fn record_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    // The request must not be cloned before routing (the router needs it unshared): the
    // route pattern is read from the response's request afterwards.
    let method = req.method().clone();
    let result = next.call(req).await;
    let (route, status) = match &result {
        Ok(res) => (res.request().match_pattern(), res.status()),
        Err(e) => (None, e.as_response_error().status_code()),
    };
    state.metrics.record_request(&method, route, status, started.elapsed());
    result
}

/// Records a finished run (job or synchronous) in `metrics`: its duration from start to
/// finish and the positions it put on drafts.
pub fn observe_finished_run(metrics: &Metrics, run: &persistence::invoice_runs::InvoiceRun) {
    if let (Some(started), Some(finished)) = (&run.started_at, &run.finished_at) {
        let duration = (finished.0 - started.0).try_into().unwrap_or_default();
        metrics.observe_run(duration, u64::try_from(run.positions_reserved).unwrap_or_default());
    }
}

async fn exposition(state: &AppState) -> Result<HttpResponse, ApiError> {
    // The queue is the database's (shared by every node): read when scraped.
    state.metrics.set_job_queue_depth(state.store.job_queue_depth().await?);
    let text = state
        .metrics
        .render(state.store.pool_status())
        .map_err(|e| ApiError::Internal(format!("cannot encode the metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).insert_header(("cache-control", "no-store")).body(text))
}

/// `GET /metrics` on the metrics listener: no credential, its address is the protection.
pub async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    exposition(&state).await
}

/// Operational metrics (Prometheus text format)
///
/// Request counts and latency histograms per route pattern, method and status, the database
/// pool, invoice-run durations and throughput, the job-queue depth and the build. Served here
/// to admins only while `KONTOR_METRICS_BIND` is unset; with it set, Prometheus scrapes the
/// separate metrics listener without credentials and this path answers 404.
#[utoipa::path(get, path = "/metrics", operation_id = "read_metrics", tag = "operations", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every metric in the Prometheus text exposition format 0.0.4",
         body = String, content_type = "text/plain"),
        (status = 404, description = "Metrics are served on the separate listener (`KONTOR_METRICS_BIND`), not here",
         body = Problem, content_type = "application/problem+json")))]
pub async fn scrape_as_admin(principal: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    principal.require(Permission::ReadMetrics)?;
    exposition(&state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> PoolStatus {
        PoolStatus { size: 3, idle: 2, max: 8 }
    }

    #[test]
    fn requests_are_counted_per_route_pattern_method_and_status() {
        let m = Metrics::new(Backend::Sqlite);
        let route = || Some("/api/v1/tickets/{id}".to_string());
        m.record_request(&Method::GET, route(), StatusCode::OK, Duration::from_micros(700));
        m.record_request(&Method::GET, route(), StatusCode::OK, Duration::from_millis(30));
        m.record_request(&Method::GET, None, StatusCode::NOT_FOUND, Duration::from_micros(10));
        m.record_request(&Method::from_bytes(b"BREW").unwrap(), None, StatusCode::NOT_FOUND, Duration::ZERO);
        let text = m.render(pool()).unwrap();
        let ok = r#"method="GET",route="/api/v1/tickets/{id}",status="200""#;
        assert!(text.contains(&format!("kontor_http_requests_total{{{ok}}} 2\n")), "{text}");
        assert!(text.contains(&format!("kontor_http_request_duration_seconds_bucket{{{ok},le=\"0.001\"}} 1\n")));
        assert!(text.contains(&format!("kontor_http_request_duration_seconds_bucket{{{ok},le=\"+Inf\"}} 2\n")));
        assert!(text.contains(&format!("kontor_http_request_duration_seconds_count{{{ok}}} 2\n")));
        assert!(text.contains(r#"kontor_http_requests_total{method="GET",route="unmatched",status="404"} 1"#));
        assert!(text.contains(r#"kontor_http_requests_total{method="other",route="unmatched",status="404"} 1"#));
    }

    #[test]
    fn pool_runs_queue_and_build_are_exposed() {
        let m = Metrics::new(Backend::Postgres);
        m.observe_run(Duration::from_secs(4), 20_000);
        m.observe_run(Duration::ZERO, 0);
        m.set_job_queue_depth(3);
        let text = m.render(pool()).unwrap();
        for line in [
            "kontor_db_pool_connections 3\n",
            "kontor_db_pool_idle_connections 2\n",
            "kontor_db_pool_max_connections 8\n",
            "kontor_job_queue_depth 3\n",
            "kontor_invoice_run_duration_seconds_count 2\n",
            "kontor_invoice_run_duration_seconds_sum 4.0\n",
            "kontor_invoice_run_positions_total 20000\n",
            "kontor_invoice_run_positions_per_second_bucket{le=\"5000\"} 1\n",
            "kontor_invoice_run_positions_per_second_count 1\n",
        ] {
            assert!(text.contains(line), "{line:?} missing in\n{text}");
        }
        let build = format!("kontor_build_info{{version=\"{}\",backend=\"postgres\"}} 1\n", env!("CARGO_PKG_VERSION"));
        assert!(text.contains(&build), "{text}");
        assert!(text.contains("# TYPE process_start_time_seconds gauge\n"), "{text}");
    }

    /// Not a timed test: prints what recording one request costs (run with `--nocapture`).
    #[test]
    fn recording_a_request_is_cheap() {
        let m = Metrics::new(Backend::Sqlite);
        let routes: Vec<String> = (0..200).map(|i| format!("/api/v1/resource{i}/{{id}}")).collect();
        let rounds = 200_000;
        let started = Instant::now();
        for i in 0..rounds {
            let route = routes[i % routes.len()].clone();
            m.record_request(&Method::GET, Some(route), StatusCode::OK, Duration::from_micros(i as u64 % 5000));
        }
        let per_request = started.elapsed() / rounds as u32;
        println!("recording one request: {per_request:?}");
        assert!(m.render(pool()).unwrap().contains(r#"route="/api/v1/resource0/{id}",status="200"} 1000"#));
    }
}
