//! `http-bench`: measures the release `kontor` server over HTTP against a trivial actix
//! JSON handler started in the same run, and judges the figures by the targets of
//! issue 12. See README "Benchmarks" for how to run it.

mod load;
mod report;
mod seed;
mod server;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::{Method, StatusCode};
use load::Scenario;
use report::{names, Report, ScenarioResult};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: http-bench [options]
  --server PATH          the kontor binary (default $KONTOR_BENCH_SERVER or target/release/kontor)
  --database-url URL     PostgreSQL server to run on (a fresh database is created and dropped);
                         default: a fresh SQLite file in a temporary directory
  --duration SECS        measured seconds per scenario (default 10)
  --warmup SECS          warm-up seconds per scenario, not measured (default 2)
  --client-threads N     threads of the load generator (default: CPUs)
  --json                 print the report as JSON
The server gets the caller's KONTOR_* settings (e.g. KONTOR_WORKERS, KONTOR_DB_MAX_CONNECTIONS,
KONTOR_PRINCIPAL_CACHE_TTL); the trivial handler gets KONTOR_WORKERS worker threads too.";

/// Command-line options.
struct Options {
    server: PathBuf,
    database_url: Option<String>,
    measure: Duration,
    warmup: Duration,
    client_threads: usize,
    json: bool,
}

fn parse_args() -> Result<Options, String> {
    let default_server =
        std::env::var("KONTOR_BENCH_SERVER").ok().filter(|s| !s.is_empty()).unwrap_or("target/release/kontor".into());
    let mut o = Options {
        server: PathBuf::from(default_server),
        database_url: None,
        measure: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        client_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let seconds = |name: &str, v: String| -> Result<Duration, String> {
            v.parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && *s <= 3600.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{name}: `{v}` is not a number of seconds"))
        };
        match arg.as_str() {
            "--server" => o.server = PathBuf::from(value("--server")?),
            "--database-url" => o.database_url = Some(value("--database-url")?),
            "--duration" => o.measure = seconds("--duration", value("--duration")?)?,
            "--warmup" => o.warmup = seconds("--warmup", value("--warmup")?)?,
            "--client-threads" => {
                let v = value("--client-threads")?;
                o.client_threads = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| format!("--client-threads: `{v}` is not 1 to 64"))?;
            }
            "--json" => o.json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    if o.database_url.as_deref().is_some_and(|u| !u.starts_with("postgres")) {
        return Err("--database-url must be a postgres:// URL (SQLite is the default)".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(options.client_threads).enable_all().build();
    let result = match runtime {
        Ok(rt) => rt.block_on(run(&options)),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    match result {
        Ok(report) => {
            if options.json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                report.print_text();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("http-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prepares the database and servers, runs every scenario and cleans up.
async fn run(o: &Options) -> Result<Report, String> {
    let dir = std::env::temp_dir().join(format!("kontor-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let db = server::Database::create(o.database_url.as_deref(), &dir).await?;
    let outcome = match server::Kontor::start(&o.server, &db, &dir).await {
        Ok(kontor) => {
            let log = kontor.log.clone();
            let outcome = scenarios(o, &kontor, db.backend()).await;
            kontor.stop();
            outcome.map_err(|e| format!("{e} (server log: {})", log.display()))
        }
        Err(e) => Err(e),
    };
    db.remove().await;
    if outcome.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

fn header(name: HeaderName, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    Ok((name, HeaderValue::from_str(value).map_err(|e| e.to_string())?))
}

fn say(o: &Options, line: &str) {
    if !o.json {
        eprintln!("{line}");
    }
}

async fn scenarios(o: &Options, kontor: &server::Kontor, backend: &'static str) -> Result<Report, String> {
    let workers = std::env::var("KONTOR_WORKERS").ok().and_then(|w| w.parse().ok());
    let trivial_addr = server::start_trivial(workers)?;
    say(o, &format!("seeding {backend} through the API …"));
    let seed = seed::seed(kontor.addr).await?;
    let jwt = header(AUTHORIZATION, &format!("Bearer {}", seed.admin_token))?;
    let key = header(AUTHORIZATION, &format!("Bearer {}", seed.api_key))?;
    let technician = header(AUTHORIZATION, &format!("Bearer {}", seed.technician_token))?;
    let get = |name, addr, paths: Vec<String>, auth: &(HeaderName, HeaderValue)| Scenario {
        name,
        addr,
        method: Method::GET,
        paths,
        headers: vec![auth.clone()],
        body: Bytes::new(),
        expect: StatusCode::OK,
        connections: 64,
        items_per_request: 1,
    };
    // Every seeded ticket in turn: a shared read of many callers is not one row for all.
    let tickets: Vec<String> = seed.ticket_ids.iter().map(|id| format!("/api/v1/tickets/{id}")).collect();
    let mut trivial = get(names::TRIVIAL, trivial_addr, vec!["/trivial".into()], &jwt);
    trivial.headers.clear();
    // Kontor's own HTTP floor: its middleware and access log, no credential, no database.
    let mut health = get(names::HEALTH, kontor.addr, vec!["/healthz".into()], &jwt);
    health.headers.clear();
    let single_booking = serde_json::to_vec(&seed::booking(&seed, false)).map_err(|e| e.to_string())?;
    let batch: Vec<_> = (0..1000).map(|_| seed::booking(&seed, true)).collect();
    let batch = serde_json::to_vec(&serde_json::json!({ "bookings": batch })).map_err(|e| e.to_string())?;
    let post = Scenario {
        name: names::BOOKING_POST,
        addr: kontor.addr,
        method: Method::POST,
        paths: vec!["/api/v1/bookings".into()],
        headers: vec![technician],
        body: Bytes::from(single_booking),
        expect: StatusCode::CREATED,
        connections: 16,
        items_per_request: 1,
    };
    let batch = Scenario {
        name: names::BOOKING_BATCH,
        paths: vec!["/api/v1/bookings/batch".into()],
        headers: vec![key.clone()],
        body: Bytes::from(batch),
        connections: 4,
        items_per_request: 1000,
        ..post.clone()
    };
    // Reads first; the booking list last, when the writes have filled the table.
    let plan = vec![
        trivial,
        health,
        get(names::TICKET_JWT, kontor.addr, tickets.clone(), &jwt),
        get(names::TICKET_KEY, kontor.addr, tickets, &key),
        get(names::TICKET_LIST, kontor.addr, vec!["/api/v1/tickets?limit=50".into()], &jwt),
        post,
        batch,
        get(names::BOOKING_LIST, kontor.addr, vec!["/api/v1/bookings?limit=50".into()], &jwt),
    ];
    let client = seed::Client::new(kontor.addr);
    let mut results = Vec::new();
    for s in plan {
        say(o, &format!("{} ({} connections) …", s.name, s.connections));
        if s.name == names::BOOKING_BATCH {
            // Another branch adds the endpoint: probe once before measuring it.
            let body: serde_json::Value = serde_json::from_slice(&s.body).map_err(|e| e.to_string())?;
            let (status, answer) = client.post(&s.paths[0], Some(seed.api_key.as_str()), &body).await?;
            if matches!(status, reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::METHOD_NOT_ALLOWED) {
                say(o, "batch: not available");
                results.push(ScenarioResult {
                    name: s.name,
                    connections: s.connections,
                    measurement: None,
                    note: Some("batch: not available".into()),
                });
                continue;
            }
            if status.as_u16() != s.expect.as_u16() {
                return Err(format!("POST {} answered {status}: {answer}", s.paths[0]));
            }
        }
        let measurement = load::run(&s, o.warmup, o.measure).await?;
        let note = (s.name == names::BOOKING_LIST).then(|| "measured after the writes above filled the table".into());
        results.push(ScenarioResult { name: s.name, connections: s.connections, measurement: Some(measurement), note });
    }
    let mut report = Report {
        backend,
        warmup_secs: o.warmup.as_secs_f64(),
        measure_secs: o.measure.as_secs_f64(),
        client_threads: o.client_threads,
        scenarios: results,
        targets: vec![],
    };
    report.judge();
    Ok(report)
}
