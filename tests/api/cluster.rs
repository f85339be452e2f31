//! A cluster of real `kontor` processes on one database — PostgreSQL when
//! `TEST_DATABASE_URL` is set, else one SQLite file in WAL mode — for the tests of what must
//! hold across nodes and crashes: [`Node`] (start, SIGKILL), [`Cluster`] (nodes, the admin's
//! token, requests), [`Sql`] (direct access to the database) and [`send`].

use crate::helpers::{TestDb, ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::str::FromStr;
use std::time::{Duration, Instant};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// One `kontor` server process.
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) database_url: String,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
    pub(crate) child: Option<Child>,
}

impl Node {
    /// A node of `database_url`, not started yet.
    pub(crate) fn new(name: &str, dir: &Path, database_url: &str) -> Node {
        Node {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            database_url: database_url.to_string(),
            port: 0,
            log: PathBuf::new(),
            child: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts the process on a free port and waits until it serves. A port taken by someone
    /// else between choosing and binding it is retried with another; any other failure to
    /// start fails the test.
    pub(crate) async fn boot(&mut self) {
        for _ in 0..3 {
            self.spawn();
            if self.wait_until_ready().await {
                return;
            }
            if !self.log_text().contains("Address already in use") {
                break;
            }
        }
        panic!("{} did not start:\n{}", self.name, self.log_text());
    }

    /// Waits for a process started by [`Node::spawn`] (a taken port is retried).
    pub(crate) async fn finish_boot(&mut self) {
        if !self.wait_until_ready().await {
            if !self.log_text().contains("Address already in use") {
                panic!("{} did not start:\n{}", self.name, self.log_text());
            }
            self.boot().await;
        }
    }

    /// Starts the process on a free port (without waiting for it).
    pub(crate) fn spawn(&mut self) {
        self.port = free_port();
        self.log = self.dir.join(format!("{}-{}.log", self.name, self.port));
        let out = std::fs::File::create(&self.log).expect("create the log file");
        let err = out.try_clone().expect("log file handle");
        let child = Command::new(env!("CARGO_BIN_EXE_kontor"))
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("KONTOR_BIND", format!("127.0.0.1:{}", self.port))
            .env("DATABASE_URL", &self.database_url)
            .env("KONTOR_DATA_DIR", self.dir.join(format!("{}-data", self.name)))
            .env("KONTOR_JWT_SECRET", JWT_SECRET)
            .env("KONTOR_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("KONTOR_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("KONTOR_WORKERS", "2")
            .env("KONTOR_DB_MAX_CONNECTIONS", "8")
            // Webhooks to the tests' receivers on 127.0.0.1, quick retries, a short lease.
            .env("KONTOR_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("KONTOR_WEBHOOK_POLL_MS", "20")
            .env("KONTOR_WEBHOOK_RETRY_SCHEDULE", "100ms,200ms,300ms")
            .env("KONTOR_WEBHOOK_LEASE_SECONDS", "11")
            // `listening` (info of the binary) tells that this process bound the port.
            .env("RUST_LOG", "warn,kontor=info")
            .env("NO_COLOR", "1")
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start kontor");
        self.child = Some(child);
    }

    /// Waits until this process logged that it listens and `/readyz` answers 200; false
    /// when the process exited first (e.g. the port was taken).
    pub(crate) async fn wait_until_ready(&mut self) -> bool {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => {}
                _ => {
                    self.child = None;
                    return false;
                }
            }
            if self.log_text().contains("listening") {
                if let Ok(res) = client.get(self.url("/readyz")).send().await {
                    if res.status() == StatusCode::OK {
                        return true;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} did not become ready on port {}:\n{}", self.name, self.port, self.log_text());
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, open transactions and connections are cut where they are.
    pub(crate) fn kill(&mut self) {
        let mut child = self.child.take().expect("the node runs");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap the killed node");
        assert_eq!(status.signal(), Some(9), "{} died of SIGKILL: {status:?}", self.name);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Direct access to the test database, to check what the database holds (not what the API
/// says) and to break it on purpose.
pub(crate) enum Sql {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// Runs `$body` with `$pool` bound to the backend's pool.
macro_rules! on_sql {
    ($sql:expr, $pool:ident => $body:expr) => {
        match $sql {
            Sql::Postgres($pool) => $body,
            Sql::Sqlite($pool) => $body,
        }
    };
}

impl Sql {
    pub(crate) async fn connect(url: &str) -> Sql {
        if url.starts_with("sqlite:") {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .expect("SQLite URL")
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(2).connect_with(opts).await;
            Sql::Sqlite(pool.expect("open the SQLite file"))
        } else {
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(url).await;
            Sql::Postgres(pool.expect("connect to the PostgreSQL test database"))
        }
    }

    /// Runs SQL text as it is (DDL, fixed statements).
    pub(crate) async fn run(&self, sql: &str) {
        on_sql!(self, pool => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        on_sql!(self, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// All rows of a query, typed by the caller.
    pub(crate) async fn rows<T>(&self, query: &str) -> Vec<T>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        on_sql!(self, pool => sqlx::query_as(query).fetch_all(pool).await).unwrap_or_else(|e| panic!("{query}: {e}"))
    }
}

/// An HTTP answer, read completely.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) replayed: bool,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn is_problem(&self) -> bool {
        self.content_type.starts_with("application/problem+json")
    }
}

/// One request; owns its arguments so that it can run in a spawned task.
pub(crate) async fn send(
    client: reqwest::Client,
    url: String,
    token: String,
    method: Method,
    body: Option<Value>,
    idempotency_key: Option<String>,
) -> Result<Reply, reqwest::Error> {
    let mut rb = client.request(method, url);
    if !token.is_empty() {
        rb = rb.bearer_auth(token);
    }
    if let Some(b) = &body {
        rb = rb.json(b);
    }
    if let Some(k) = idempotency_key {
        rb = rb.header("idempotency-key", k);
    }
    let res = rb.send().await?;
    let status = res.status();
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (content_type, replayed) = (header("content-type"), header("idempotent-replayed") == "true");
    let bytes = res.bytes().await?;
    Ok(Reply { status, content_type, replayed, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

/// The nodes' working directory (logs, data dirs), removed at the end — also when a node
/// fails to start.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("kontor-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Several nodes on one database, the admin's token (valid on every node: one JWT secret),
/// and direct access to the database.
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<Node>,
    pub(crate) sql: Sql,
    pub(crate) client: reqwest::Client,
    pub(crate) token: String,
    pub(crate) _dir: Scratch,
    pub(crate) db: TestDb,
}

impl Cluster {
    /// A fresh database and `n` nodes on it, started one after the other.
    pub(crate) async fn start(n: usize) -> Cluster {
        Cluster::start_with(n, false).await
    }

    /// A fresh database and `n` nodes on it, started one after the other or all at once.
    pub(crate) async fn start_with(n: usize, at_once: bool) -> Cluster {
        let (db, url) = TestDb::create().await;
        let dir = Scratch::new();
        let mut nodes: Vec<Node> = (0..n).map(|i| Node::new(&format!("node{i}"), &dir.0, &url)).collect();
        if at_once {
            nodes.iter_mut().for_each(Node::spawn);
            for node in &mut nodes {
                node.finish_boot().await;
            }
        } else {
            for node in &mut nodes {
                node.boot().await;
            }
        }
        let sql = Sql::connect(&url).await;
        // Idle connections are dropped before the nodes' keep-alive (5 s) closes them, so a
        // request never goes out on a connection the node is just closing (hyper then reports
        // an incomplete message, seen once on a loaded machine).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let login = send(
            client.clone(),
            nodes[0].url("/api/v1/auth/login"),
            String::new(),
            Method::POST,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            None,
        )
        .await
        .expect("login");
        assert_eq!(login.status, StatusCode::OK, "{login:?}");
        let token = login.body["access_token"].as_str().expect("access token").to_string();
        let profile = send(
            client.clone(),
            nodes[0].url("/api/v1/settings/company"),
            token.clone(),
            Method::PUT,
            Some(crate::company::complete_profile()),
            None,
        )
        .await
        .expect("store the seller profile");
        assert_eq!(profile.status, StatusCode::OK, "{profile:?}");
        Cluster { nodes, sql, client, token, _dir: dir, db }
    }

    pub(crate) fn backend(&self) -> &'static str {
        if self.db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// A request to node `node`; fails only when the node cannot be reached.
    pub(crate) fn request(
        &self,
        node: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> impl std::future::Future<Output = Result<Reply, reqwest::Error>> + Send + 'static {
        let url = self.nodes[node].url(path);
        send(self.client.clone(), url, self.token.clone(), method, body, key.map(str::to_string))
    }

    /// POST to node `node`, which must answer.
    pub(crate) fn post(
        &self,
        node: usize,
        path: &str,
        body: Option<Value>,
    ) -> impl std::future::Future<Output = Reply> + 'static {
        let call = self.request(node, Method::POST, path, body, None);
        let path = path.to_string();
        async move { call.await.unwrap_or_else(|e| panic!("POST {path}: {e}")) }
    }

    /// POST to node `node` that must create something; its body.
    pub(crate) async fn created(&self, node: usize, path: &str, body: Value) -> Value {
        let r = self.post(node, path, Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "POST {path}: {r:?}");
        r.body
    }

    /// A committed run's answer, finished: a 202 (a run over all customers is a job) is
    /// followed on node `node` until the run has finished; other answers as they are.
    pub(crate) async fn finished_run(&self, node: usize, r: Reply) -> Reply {
        if r.status != StatusCode::ACCEPTED {
            return r;
        }
        let path = format!("/api/v1/invoice-runs/{}", r.body["id"]);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let polled = self.request(node, Method::GET, &path, None, None).await.expect("poll the run");
            if !["queued", "running"].contains(&polled.body["status"].as_str().unwrap_or("")) {
                return polled;
            }
            assert!(Instant::now() < deadline, "run {path} did not finish: {polled:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Commits a run on node `node` and returns the finished run (201, or 202 followed).
    pub(crate) async fn committed(&self, node: usize, body: Value) -> Value {
        let r = self.post(node, "/api/v1/invoice-runs", Some(body)).await;
        assert!([StatusCode::CREATED, StatusCode::ACCEPTED].contains(&r.status), "commit: {r:?}");
        let run = self.finished_run(node, r).await;
        assert_eq!(run.body["status"], "succeeded", "{run:?}");
        run.body
    }

    pub(crate) async fn service(&self) -> i64 {
        let body = json!({"code": "REMOTE", "name": "Remote support", "unit": "hour", "kind": "work",
                          "default_price": "96.00", "vat_rate": "19", "billable_by_default": true});
        self.created(0, "/api/v1/services", body).await["id"].as_i64().expect("service id")
    }

    /// A customer billed one line per booking, with one ticket: (customer, ticket).
    pub(crate) async fn customer_with_ticket(&self, node: usize, name: &str) -> (i64, i64) {
        let customer =
            self.created(node, "/api/v1/customers", json!({"name": name, "invoice_detail": "per_booking"})).await["id"]
                .as_i64()
                .expect("customer id");
        let ticket = self
            .created(
                (node + 1) % self.nodes.len(),
                "/api/v1/tickets",
                json!({"title": "Support", "customer_id": customer}),
            )
            .await["id"]
            .as_i64()
            .expect("ticket id");
        (customer, ticket)
    }

    /// Books `minutes` of remote support on `ticket` in November through node `node`.
    pub(crate) async fn book(&self, node: usize, service: i64, ticket: i64, day: usize, minutes: i64) -> i64 {
        self.book_on(node, service, ticket, &format!("2026-11-{day:02}"), minutes).await
    }

    /// Books `minutes` of remote support on `ticket` on `work_date` through node `node`.
    pub(crate) async fn book_on(&self, node: usize, service: i64, ticket: i64, work_date: &str, minutes: i64) -> i64 {
        let body = json!({"work_date": work_date, "duration_minutes": minutes,
                          "service_id": service, "ticket_id": ticket, "description": "Remote session"});
        self.created(node, "/api/v1/bookings", body).await["id"].as_i64().expect("booking id")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        for node in &mut self.nodes {
            if panicking {
                eprintln!("--- log of {} ---\n{}", node.name, node.log_text());
            }
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
