//! The `kontor` binary as an operator runs it: zero-setup start on the embedded SQLite
//! default, clear configuration errors, secrets kept across restarts, graceful SIGTERM.
//! These always use SQLite: they test the binary's own defaults.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn kontor(dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kontor"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KONTOR_BIND", format!("127.0.0.1:{port}"))
        .env("KONTOR_WORKERS", "1")
        .env("RUST_LOG", "warn");
    cmd
}

async fn wait_until_ready(port: u16) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await {
            if res.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("kontor did not become ready on port {port}");
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "kontor did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kontor-process-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn invalid_configuration_stops_start_up_with_one_clear_message() {
    let dir = temp_dir();
    let out = kontor(&dir, free_port())
        .env("KONTOR_BIND", "not-an-address")
        .env("KONTOR_ACCESS_TOKEN_TTL", "soon")
        .env("DATABASE_URL", "postgres://localhost/kontor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid configuration"), "{stderr}");
    assert!(
        stderr.contains("KONTOR_BIND")
            && stderr.contains("KONTOR_ACCESS_TOKEN_TTL")
            && stderr.contains("KONTOR_JWT_SECRET"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unreachable_database_is_reported_without_a_panic() {
    let dir = temp_dir();
    let out = kontor(&dir, free_port())
        .env("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/kontor")
        .env("KONTOR_JWT_SECRET", "x".repeat(40))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("secret"), "the password must be redacted: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn zero_setup_start_keeps_its_secret_across_restarts_and_stops_gracefully() {
    let dir = temp_dir();
    let port = free_port();

    // First start: no configuration at all. The admin's one-time password is printed.
    let mut child = kontor(&dir, port).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let password = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(p) = line.trim().strip_prefix("password:") {
                return p.trim().to_string();
            }
        }
        panic!("no one-time password printed");
    })
    .await
    .unwrap();
    wait_until_ready(port).await;
    assert!(dir.join("data/kontor.db").exists(), "the embedded database is created under data/");
    assert!(dir.join("data/kontor.db-wal").exists(), "SQLite runs in WAL mode");

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@kontor.local", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let res = client
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(&token)
        .json(&json!({"name": "Persistent GmbH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let status = tokio::task::spawn_blocking(move || terminate(&mut child)).await.unwrap();
    assert!(status.success(), "SIGTERM shuts down cleanly: {status:?}");

    // Second start on the same file: no new admin, the generated JWT secret was kept,
    // so the token issued before the restart is still valid, and the data is there.
    let mut child = kontor(&dir, port).stdout(Stdio::piped()).spawn().unwrap();
    wait_until_ready(port).await;
    let res = client.get(format!("{base}/api/v1/customers")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["items"][0]["name"], "Persistent GmbH");
    let status = tokio::task::spawn_blocking(move || {
        let status = terminate(&mut child);
        let mut rest = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut rest).unwrap();
        assert!(!rest.contains("password:"), "no second admin on restart");
        status
    })
    .await
    .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(dir);
}
