//! The test harness: every test gets the real server on a random port with a fresh
//! database — a new SQLite file, or a new PostgreSQL database when `TEST_DATABASE_URL`
//! is set — and a client with helpers per resource.

use api::{Application, Config};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use std::net::TcpListener;

/// Bootstrap admin of every test server.
pub const ADMIN_EMAIL: &str = "admin@test.example";
/// Password of the bootstrap admin.
pub const ADMIN_PASSWORD: &str = "admin-password-1234";
/// JWT secret of every test server (tests mint tokens with it).
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
/// Every scope an API client can hold.
pub const EVERY_SCOPE: [&str; 8] = [
    "customers:read",
    "customers:write",
    "tickets:read",
    "tickets:write",
    "bookings:read",
    "bookings:write",
    "invoices:read",
    "invoices:export",
];

/// Password given to users created by [`TestApp::user_with_roles`].
pub const USER_PASSWORD: &str = "user-password-1234";

/// A fresh database, removed again when the test ends.
pub enum TestDb {
    Sqlite { dir: std::path::PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates the database; returns it with its URL.
    pub async fn create() -> (TestDb, String) {
        let unique = format!("kontor_test_{}", uuid::Uuid::new_v4().simple());
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {unique}")).execute(&mut conn).await.expect("create test db");
                let _ = conn.close().await;
                let url = with_database(&admin_url, &unique);
                (TestDb::Postgres { admin_url, name: unique }, url)
            }
            None => {
                let dir = std::env::temp_dir().join(&unique);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}/kontor.db?mode=rwc", dir.display());
                (TestDb::Sqlite { dir }, url)
            }
        }
    }

    /// Whether this test runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { admin_url, name } => {
                let (url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: use a thread with its own runtime.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            use sqlx::Connection;
                            if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                    .execute(&mut conn)
                                    .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// Plain HTTP client (no redirects followed).
    pub client: reqwest::Client,
    /// Access token of the bootstrap admin.
    pub admin_token: String,
    /// The test's database (kept alive for the test's duration).
    pub db: TestDb,
    /// URL of the test's database (for direct store access, e.g. to mark positions billed).
    pub database_url: String,
    /// `http://127.0.0.1:<port>` of the separate metrics listener, when the test asked for
    /// one (`metrics_bind`).
    pub metrics_address: Option<String>,
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `adjust` has changed the test configuration, with a complete
/// seller profile (documents can be issued).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_app_without_seller_profile(adjust).await;
    crate::company::store_complete_profile(&app).await;
    app
}

/// Starts a server as [`spawn_app_with`] does, but with no seller profile stored: nothing can
/// be issued until one is.
pub async fn spawn_app_without_seller_profile(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let (db, url) = TestDb::create().await;
    let db_url = url.clone();
    let mut config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(db_url.clone()),
        "KONTOR_JWT_SECRET" => Some(JWT_SECRET.into()),
        "KONTOR_ADMIN_EMAIL" => Some(ADMIN_EMAIL.into()),
        "KONTOR_ADMIN_PASSWORD" => Some(ADMIN_PASSWORD.into()),
        "KONTOR_WORKERS" => Some("1".into()),
        "KONTOR_DB_MAX_CONNECTIONS" => Some("4".into()),
        "KONTOR_JOB_POLL_MS" => Some("20".into()),
        // Webhooks go to the tests' receivers on 127.0.0.1, and retry quickly.
        "KONTOR_WEBHOOK_ALLOW_PRIVATE" => Some("true".into()),
        "KONTOR_WEBHOOK_POLL_MS" => Some("20".into()),
        "KONTOR_WEBHOOK_RETRY_SCHEDULE" => Some("100ms,200ms,300ms".into()),
        "KONTOR_MAIL_POLL_MS" => Some("20".into()),
        "KONTOR_MAIL_RETRY_SCHEDULE" => Some("100ms,200ms,300ms".into()),
        // Work orders are generated when a test asks (`scheduler_interval` to test the
        // background generator).
        "KONTOR_SCHEDULER" => Some("false".into()),
        _ => None,
    })
    .expect("test configuration is valid");
    adjust(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
    let app = Application::build_with_listener(config, listener).await.expect("server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    // Idle connections are dropped before the server's keep-alive (5 s) closes them: a test
    // that spends seconds between two requests (validating a PDF on a loaded machine) would
    // otherwise send on a connection the server is just closing (hyper: IncompleteMessage).
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client");
    let mut test_app = TestApp { address, client, admin_token: String::new(), db, database_url: url, metrics_address };
    test_app.admin_token = test_app.token_for(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    test_app
}

impl TestApp {
    /// A store on the test's database, for what the API deliberately does not offer
    /// (e.g. marking a booking billed before invoicing exists).
    pub async fn store(&self) -> persistence::Store {
        persistence::Store::open(&persistence::StoreOptions {
            url: self.database_url.clone(),
            max_connections: Some(2),
        })
        .await
        .expect("open the test store")
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with an optional bearer credential.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let rb = self.client.request(method, self.url(path));
        match token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// GET with a bearer credential.
    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token)).send().await.expect("request")
    }

    /// POST a JSON body with a bearer credential.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token)).json(body).send().await.expect("request")
    }

    /// PATCH a JSON body with a bearer credential and an optional `If-Match`.
    pub async fn patch(&self, path: &str, token: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut rb = self.request(Method::PATCH, path, Some(token)).json(body);
        if let Some(tag) = if_match {
            rb = rb.header("if-match", tag);
        }
        rb.send().await.expect("request")
    }

    /// DELETE with a bearer credential.
    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token)).send().await.expect("request")
    }

    /// POST /auth/login.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// Logs in and returns the access token.
    pub async fn token_for(&self, email: &str, password: &str) -> String {
        let res = self.login(email, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email} failed");
        let body: Value = res.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    /// Creates a user with these roles (as admin) and returns (id, access token).
    pub async fn user_with_roles(&self, roles: &[&str]) -> (i64, String) {
        let email = format!("{}-{}@test.example", roles.join("-"), uuid::Uuid::new_v4().simple());
        let res = self
            .post(
                "/api/v1/users",
                &self.admin_token,
                &json!({"email": email, "name": "Test User", "password": USER_PASSWORD, "roles": roles}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "create user: {}", res.text().await.unwrap_or_default());
        let user: Value = res.json().await.expect("json");
        (user["id"].as_i64().expect("id"), self.token_for(&email, USER_PASSWORD).await)
    }

    /// Creates an API client with these scopes (as admin) and returns (id, key).
    pub async fn api_key(&self, scopes: &[&str]) -> (i64, String) {
        let res = self
            .post("/api/v1/api-clients", &self.admin_token, &json!({"name": "Test client", "scopes": scopes}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "create api client: {}", res.text().await.unwrap_or_default());
        let body: Value = res.json().await.expect("json");
        (body["id"].as_i64().expect("id"), body["key"].as_str().expect("key").to_string())
    }

    /// Creates a customer as admin; panics unless 201.
    pub async fn create_customer(&self, body: Value) -> Value {
        let res = self.post("/api/v1/customers", &self.admin_token, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "create customer: {}", res.text().await.unwrap_or_default());
        res.json().await.expect("json")
    }

    /// Commits an invoice run as admin (`body` must say `mode: commit`) and returns the
    /// finished run: a 201 as it is, a 202 (runs over all customers are jobs) by
    /// following its Location until the run has finished ([`TestApp::wait_for_job`]).
    pub async fn commit_run_and_wait(&self, body: &Value) -> Value {
        let res = self.post("/api/v1/invoice-runs", &self.admin_token, body).await;
        match res.status() {
            StatusCode::CREATED | StatusCode::OK => res.json().await.expect("json"),
            StatusCode::ACCEPTED => {
                let location = location_of(&res);
                let queued: Value = res.json().await.expect("json");
                assert!(["queued", "running"].contains(&queued["status"].as_str().unwrap_or("")), "{queued}");
                self.wait_for_job(&location).await
            }
            other => panic!("commit: {other} {}", res.text().await.unwrap_or_default()),
        }
    }

    /// Polls a job resource (a run, a run's issue job) as admin until its `status` is no
    /// longer `queued` or `running`; returns it. Panics after 60 s.
    pub async fn wait_for_job(&self, location: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let res = self.get(location, &self.admin_token).await;
            assert_eq!(res.status(), StatusCode::OK, "poll {location}");
            let unfinished = res.headers().contains_key("retry-after");
            let job: Value = res.json().await.expect("json");
            let status = job["status"].as_str().unwrap_or("").to_string();
            if !["queued", "running"].contains(&status.as_str()) {
                assert!(!unfinished, "a finished job has no Retry-After: {job}");
                return job;
            }
            assert!(unfinished, "an unfinished job says when to poll again: {job}");
            assert!(std::time::Instant::now() < deadline, "job at {location} did not finish: {job}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Number of audit entries (all, or of one entity type).
    pub async fn audit_count(&self, entity_type: Option<&str>) -> usize {
        let mut total = 0;
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/api/v1/audit-log?limit=200".to_string();
            if let Some(t) = entity_type {
                path.push_str(&format!("&entity_type={t}"));
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: Value = self.get(&path, &self.admin_token).await.json().await.expect("json");
            total += page["items"].as_array().map(Vec::len).unwrap_or(0);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return total,
            }
        }
    }

    /// All customers visible with this query (follows every page).
    pub async fn all_customers(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/customers?{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let res = self.get(&path, &self.admin_token).await;
            assert_eq!(res.status(), StatusCode::OK);
            let page: Value = res.json().await.expect("json");
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

/// The `Location` header of a response (panics without one).
pub fn location_of(res: &Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location header").to_string()
}

/// Reads a problem response and checks its status and media type.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "unexpected status");
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(ct.starts_with("application/problem+json"), "content type was {ct}");
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(body["status"].as_u64(), Some(status.as_u16() as u64));
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("urn:kontor:problem:")), "{body}");
    body
}

/// Field names of a validation problem.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}
