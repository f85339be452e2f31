//! What the bench runs against: a fresh database (a temporary SQLite file, or a new
//! PostgreSQL database), the release `kontor` server as a child process on it, and the
//! trivial actix JSON handler in this process (the ceiling).

use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bootstrap admin the bench starts the server with.
pub const ADMIN_EMAIL: &str = "admin@bench.example";
/// Password of the bootstrap admin.
pub const ADMIN_PASSWORD: &str = "bench-admin-password-1234";

/// The database of one bench run.
pub enum Database {
    Sqlite { url: String },
    Postgres { admin_url: String, name: String, url: String },
}

impl Database {
    /// A new SQLite file in `dir`, or a new database on the PostgreSQL server of `admin_url`.
    pub async fn create(admin_url: Option<&str>, dir: &Path) -> Result<Database, String> {
        let Some(admin_url) = admin_url else {
            return Ok(Database::Sqlite { url: format!("sqlite://{}/kontor.db?mode=rwc", dir.display()) });
        };
        use sqlx::Connection;
        let name = format!("kontor_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|e| format!("cannot connect to --database-url: {e}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot create database {name}: {e}"))?;
        let _ = conn.close().await;
        let url = with_database(admin_url, &name);
        Ok(Database::Postgres { admin_url: admin_url.to_string(), name, url })
    }

    /// The URL the server connects to.
    pub fn url(&self) -> &str {
        match self {
            Database::Sqlite { url } | Database::Postgres { url, .. } => url,
        }
    }

    /// `SQLite` or `PostgreSQL`.
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "SQLite",
            Database::Postgres { .. } => "PostgreSQL",
        }
    }

    /// Drops a PostgreSQL database again (the SQLite file goes with the work directory).
    pub async fn remove(&self) {
        if let Database::Postgres { admin_url, name, .. } = self {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        }
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

/// A free local port (bound and released at once).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// The release server running as a child process.
pub struct Kontor {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl Kontor {
    /// Starts `binary` on `db` with its files and log in `dir` and waits until it is ready.
    /// The caller's `KONTOR_*` settings (workers, pool size, cache TTL …) pass through.
    pub async fn start(binary: &Path, db: &Database, dir: &Path) -> Result<Kontor, String> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let secret = format!("bench-{}-{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let child = Command::new(binary)
            .env("DATABASE_URL", db.url())
            .env("KONTOR_BIND", addr.to_string())
            .env("KONTOR_DATA_DIR", dir.join("data"))
            .env("KONTOR_JWT_SECRET", secret)
            .env("KONTOR_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("KONTOR_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (build it with `cargo build --release`)", binary.display()))?;
        let mut kontor = Kontor { child, addr, log };
        kontor.wait_ready().await?;
        Ok(kontor)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let url = format!("http://{}/readyz", self.addr);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited with {status}; see {}", self.log.display()));
            }
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("the server did not get ready within 60 s; see {}", self.log.display()))
    }

    /// Stops the server.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the trivial handler (`GET /trivial` → `{"ok":true}`) in this process with
/// `workers` worker threads (the server's default when `None`).
pub fn start_trivial(workers: Option<usize>) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind the trivial handler: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut server = HttpServer::new(|| {
        App::new()
            .route("/trivial", web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) }))
    })
    .listen(listener)
    .map_err(|e| format!("cannot start the trivial handler: {e}"))?;
    if let Some(w) = workers {
        server = server.workers(w);
    }
    tokio::spawn(server.run());
    Ok(addr)
}
