//! What the persistence benches share: a fresh database (SQLite in a temporary directory,
//! or PostgreSQL with `BENCH_DATABASE_URL`), removed afterwards unless `BENCH_KEEP` is set,
//! and the process's peak memory.

#![allow(dead_code)]

use sqlx::Connection;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Peak resident set size of this process in MB (`VmHWM`).
pub fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time this process has used so far, user and system, in seconds (`/proc/self/stat`,
/// in clock ticks of 10 ms; NaN where not readable). On SQLite, whose threads are all in
/// this process, the difference over a phase is less noisy than its wall time on a busy
/// machine: a change that saves work shows there first.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    match (fields.get(11).and_then(|v| v.parse::<f64>().ok()), fields.get(12).and_then(|v| v.parse::<f64>().ok())) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// Resets `VmHWM` to the current RSS (Linux `clear_refs` 5); false where not permitted.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The database of the run, removed when dropped.
pub enum BenchDb {
    Sqlite { dir: std::path::PathBuf },
    Postgres { admin_url: String, name: String },
}

impl BenchDb {
    pub async fn create() -> BenchResult<(BenchDb, String)> {
        let name = format!("kontor_bench_{}", uuid::Uuid::new_v4().simple());
        match std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
                if let Some(ms) = std::env::var("BENCH_PG_AUTO_EXPLAIN_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
                    sqlx::query(&format!("ALTER DATABASE {name} SET session_preload_libraries = 'auto_explain'"))
                        .execute(&mut conn)
                        .await?;
                    sqlx::query(&format!("ALTER DATABASE {name} SET auto_explain.log_min_duration = '{ms}ms'"))
                        .execute(&mut conn)
                        .await?;
                }
                let _ = conn.close().await;
                let base = admin_url.split('?').next().unwrap_or(&admin_url);
                let server = &base[..base.rfind('/').unwrap_or(base.len())];
                let url = format!("{server}/{name}");
                Ok((BenchDb::Postgres { admin_url, name }, url))
            }
            None => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}/kontor.db?mode=rwc", dir.display());
                Ok((BenchDb::Sqlite { dir }, url))
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if std::env::var_os("BENCH_KEEP").is_some() {
            match self {
                BenchDb::Sqlite { dir } => println!("bench: BENCH_KEEP: database kept in {}", dir.display()),
                BenchDb::Postgres { name, .. } => println!("bench: BENCH_KEEP: database {name} kept"),
            }
            return;
        }
        match self {
            BenchDb::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            BenchDb::Postgres { admin_url, name } => {
                let (url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        rt.block_on(async {
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
