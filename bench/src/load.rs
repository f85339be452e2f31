//! The load generator: a fixed number of keep-alive HTTP/1.1 connections (hyper's
//! connection API: no pool, no redirect logic) that each send one request after another
//! for a warm-up and then a measured period, recording every measured latency.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One request shape sent over and over.
#[derive(Clone)]
pub struct Scenario {
    /// Name in the report.
    pub name: &'static str,
    /// Target server.
    pub addr: SocketAddr,
    pub method: Method,
    /// Paths with query, taken in turn (each connection starts at another one): reads of
    /// several records, as a helpdesk's users make them.
    pub paths: Vec<String>,
    /// Extra headers (credentials).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// JSON body (empty for GET).
    pub body: Bytes,
    /// The status a successful answer has.
    pub expect: StatusCode,
    /// Concurrent connections.
    pub connections: usize,
    /// Items one request carries (1, or the bookings of a batch).
    pub items_per_request: u64,
}

/// What a scenario measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Measurement {
    /// Successful requests within the measured period.
    pub requests: u64,
    /// Answers with another status, or transport errors, within the measured period.
    pub errors: u64,
    /// Length of the measured period in seconds.
    pub seconds: f64,
    /// Successful requests per second.
    pub requests_per_sec: f64,
    /// Items per second (requests × items per request).
    pub items_per_sec: f64,
    /// Median latency of successful requests, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency of successful requests, in milliseconds.
    pub p99_ms: f64,
    /// Slowest successful request, in milliseconds.
    pub max_ms: f64,
    /// The first unexpected answer (status and start of the body), for diagnosis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// What one connection saw in the measured period.
#[derive(Default)]
struct ConnectionLog {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `s` for `warmup` (not recorded) and then `measure`.
pub async fn run(s: &Scenario, warmup: Duration, measure: Duration) -> Result<Measurement, String> {
    let measure_from = Instant::now() + warmup;
    let until = measure_from + measure;
    let mut tasks = Vec::with_capacity(s.connections);
    for _ in 0..s.connections {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { connection(&s, measure_from, until).await }));
    }
    let mut all = ConnectionLog::default();
    for task in tasks {
        let log = task.await.map_err(|e| format!("{}: a connection task failed: {e}", s.name))??;
        all.latencies_us.extend(log.latencies_us);
        all.errors += log.errors;
        if all.first_error.is_none() {
            all.first_error = log.first_error;
        }
    }
    all.latencies_us.sort_unstable();
    let seconds = measure.as_secs_f64();
    let requests = all.latencies_us.len() as u64;
    let percentile = |p: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((all.latencies_us.len() as f64 * p).ceil() as usize).clamp(1, all.latencies_us.len()) - 1;
        f64::from(all.latencies_us[i]) / 1000.0
    };
    Ok(Measurement {
        requests,
        errors: all.errors,
        seconds,
        requests_per_sec: requests as f64 / seconds,
        items_per_sec: (requests * s.items_per_request) as f64 / seconds,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        max_ms: percentile(1.0),
        first_error: all.first_error,
    })
}

/// One keep-alive connection sending requests back to back until `until`; it reconnects
/// when the server closes the connection (e.g. after an error answer).
async fn connection(s: &Scenario, measure_from: Instant, until: Instant) -> Result<ConnectionLog, String> {
    let mut log = ConnectionLog::default();
    let host = HeaderValue::from_str(&s.addr.to_string()).map_err(|e| e.to_string())?;
    static CONNECTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut turn = CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed).wrapping_mul(7);
    'connect: while Instant::now() < until {
        let stream = tokio::net::TcpStream::connect(s.addr)
            .await
            .map_err(|e| format!("{}: cannot connect to {}: {e}", s.name, s.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{}: handshake failed: {e}", s.name))?;
        tokio::spawn(conn);
        while Instant::now() < until {
            if sender.ready().await.is_err() {
                continue 'connect;
            }
            let path = &s.paths[turn % s.paths.len()];
            turn = turn.wrapping_add(1);
            let mut req = Request::builder().method(s.method.clone()).uri(path.as_str()).header(HOST, host.clone());
            for (name, value) in &s.headers {
                req = req.header(name, value);
            }
            if !s.body.is_empty() {
                req = req.header(CONTENT_TYPE, "application/json");
            }
            let req = req.body(Full::new(s.body.clone())).map_err(|e| e.to_string())?;
            let started = Instant::now();
            let answer = match sender.send_request(req).await {
                Ok(res) => {
                    let status = res.status();
                    res.into_body().collect().await.map(|b| (status, b.to_bytes())).map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            let recorded = started >= measure_from && Instant::now() <= until;
            match answer {
                Ok((status, _)) if status == s.expect => {
                    if recorded {
                        let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        log.latencies_us.push(us);
                    }
                }
                Ok((status, body)) => {
                    if recorded {
                        log.errors += 1;
                    }
                    log.first_error.get_or_insert_with(|| {
                        let text = String::from_utf8_lossy(&body);
                        format!("{status}: {}", text.chars().take(300).collect::<String>())
                    });
                }
                Err(e) => {
                    if recorded {
                        log.errors += 1;
                    }
                    log.first_error.get_or_insert(e);
                    continue 'connect;
                }
            }
        }
    }
    Ok(log)
}
