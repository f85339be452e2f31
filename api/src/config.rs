//! Server configuration from `KONTOR_*` environment variables (see the README table).
//!
//! Every problem is collected and reported in one message, so an operator fixes a
//! broken deployment in one go instead of one restart per typo.

use domain::user::MIN_PASSWORD_LEN;
use std::net::SocketAddr;
use std::time::Duration;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Everything the server needs to start.
#[derive(Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Listen address of the separate metrics listener (`GET /metrics`, no credential);
    /// `None` serves `/metrics` on the API port to admins only.
    pub metrics_bind: Option<SocketAddr>,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Directory for documents and other local files.
    pub data_dir: String,
    /// HMAC key for access tokens; `None` means generate and keep it in the (SQLite) database.
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token.
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token.
    pub refresh_token_ttl: Duration,
    /// Bootstrap admin on an empty database.
    pub admin_email: Option<String>,
    /// Password of the bootstrap admin.
    pub admin_password: Option<String>,
    /// Pretty or JSON logs.
    pub log_format: LogFormat,
    /// Database pool size; `None` picks the backend default.
    pub db_max_connections: Option<u32>,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted document upload in bytes.
    pub max_upload_bytes: usize,
    /// HTTP worker threads; `None` uses one per CPU.
    pub workers: Option<usize>,
    /// Key for hashing API keys; `None` means generate and keep it in the database.
    pub api_key_pepper: Option<String>,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    /// Failed logins per account within the window before the account is locked.
    pub login_max_failures_per_account: i64,
    /// Failed logins per client IP against unknown accounts within the window before the
    /// IP is locked.
    pub login_max_failures_per_ip: i64,
    /// Distinct existing accounts one client IP may fail to log in to within the window
    /// before the IP is locked (password spraying).
    pub login_max_accounts_per_ip: i64,
    /// Window of the login rate limit.
    pub login_window: Duration,
    /// Most fee periods one invoice run proposes per contract.
    pub max_fee_periods_per_run: usize,
    /// Most bookings (and, separately, expenses and notes) one ticket or project proof of
    /// service lists; a longer report is 422 `report_too_large` (narrow `from`/`to`).
    pub max_report_entries: usize,
    /// Origins (`https://app.example.com`) whose browser code may call the API (CORS);
    /// empty means no CORS.
    pub cors_origins: Vec<String>,
    /// Pause of the job worker between looks for queued work (`KONTOR_JOB_POLL_MS`).
    pub job_poll_interval: Duration,
    /// Lease of a job held by a worker (`KONTOR_JOB_LEASE_SECONDS`): a dead node's job is
    /// resumed by another worker after at most this long.
    pub job_lease: Duration,
    /// Pause of a run job after each chunk of customers (`KONTOR_RUN_CHUNK_PAUSE_MS`, zero by
    /// default): leaves the database to interactive requests during a large run.
    pub run_chunk_pause: Duration,
    /// How long an authenticated principal is reused without asking the database (zero:
    /// never). Also how long another node's change of a user, session or key may take
    /// to reach this node.
    pub principal_cache_ttl: Duration,
    /// How webhooks are delivered.
    pub webhooks: WebhookSettings,
    /// The Zammad webhook endpoint.
    pub zammad: ZammadSettings,
    /// How mail is sent.
    pub mail: MailSettings,
    /// How often the background work-order generator runs (`KONTOR_SCHEDULER`,
    /// `KONTOR_SCHEDULER_INTERVAL_SECONDS`); `None`: not in this node.
    pub scheduler_interval: Option<Duration>,
}

/// How the mail dispatcher sends (`KONTOR_SMTP_URL`, `KONTOR_MAIL_*`).
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://user:pass@host:465`;
    /// `None`: mail is recorded as `not_configured`.
    pub smtp_url: Option<String>,
    /// Sender of all mail (`KONTOR_MAIL_FROM`, `Kontor <kontor@example.com>`).
    pub from: Option<String>,
    /// Mail issued invoices to the customers' billing addresses (`KONTOR_MAIL_INVOICES`).
    pub invoices: bool,
    /// The waits after the 1st, 2nd, … failed attempt (`KONTOR_MAIL_RETRY_SCHEDULE`).
    pub retry_schedule: Vec<Duration>,
    /// Pause of the dispatcher when it found nothing to do (`KONTOR_MAIL_POLL_MS`).
    pub poll_interval: Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("invoices", &self.invoices)
            .field("retry_schedule", &self.retry_schedule)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

/// The Zammad webhook (`KONTOR_ZAMMAD_*`); without a secret the endpoint is off.
#[derive(Clone)]
pub struct ZammadSettings {
    /// The webhook's "HMAC SHA1 Signature Token" (`KONTOR_ZAMMAD_SECRET`, at least 16 characters).
    pub secret: Option<String>,
    /// Code of the catalog service booked for a time accounting whose type names no service
    /// (`KONTOR_ZAMMAD_SERVICE`).
    pub service_code: Option<String>,
    /// Base URL of the Zammad instance, for the tickets' `external_url` (`KONTOR_ZAMMAD_URL`).
    pub url: Option<String>,
    /// Minutes in one Zammad time unit (`KONTOR_ZAMMAD_TIME_UNIT_MINUTES`, default 1).
    pub time_unit_minutes: rust_decimal::Decimal,
}

impl Default for ZammadSettings {
    /// Off: no secret, no default service, no URL; a time unit is a minute.
    fn default() -> Self {
        ZammadSettings { secret: None, service_code: None, url: None, time_unit_minutes: rust_decimal::Decimal::ONE }
    }
}

impl std::fmt::Debug for ZammadSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZammadSettings")
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("service_code", &self.service_code)
            .field("url", &self.url)
            .field("time_unit_minutes", &self.time_unit_minutes)
            .finish()
    }
}

/// How the webhook dispatcher delivers (`KONTOR_WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliver to loopback and private addresses too (`KONTOR_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
    /// The waits after the 1st, 2nd, … failed attempt (`KONTOR_WEBHOOK_RETRY_SCHEDULE`).
    pub retry_schedule: Vec<Duration>,
    /// A webhook failing this long without a success is switched off
    /// (`KONTOR_WEBHOOK_DISABLE_AFTER`).
    pub disable_after: Duration,
    /// Pause of the dispatcher when it found nothing to do (`KONTOR_WEBHOOK_POLL_MS`).
    pub poll_interval: Duration,
    /// How long a node holds the deliveries it claimed (`KONTOR_WEBHOOK_LEASE_SECONDS`): a
    /// dead node's deliveries are sent by another node (or after a restart) once it ran out.
    pub lease: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("metrics_bind", &self.metrics_bind)
            .field("database_url", &persistence::types::redact(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("admin_email", &self.admin_email)
            .field("log_format", &self.log_format)
            .field("db_max_connections", &self.db_max_connections)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("workers", &self.workers)
            .field("principal_cache_ttl", &self.principal_cache_ttl)
            .finish_non_exhaustive()
    }
}

/// A `true`/`false` (`1`/`0`) variable; absent is false.
fn flag(errors: &mut Vec<String>, key: &str, raw: Option<String>) -> bool {
    match raw.as_deref().map(str::trim) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            errors.push(format!("{key}: `{other}` is not true or false"));
            false
        }
    }
}

/// A retry schedule: comma-separated waits (`1m,5m,30m`), at most 50, none zero.
fn waits(errors: &mut Vec<String>, key: &str, raw: Option<String>, default: &[Duration]) -> Vec<Duration> {
    let Some(raw) = raw else { return default.to_vec() };
    let parsed: Result<Vec<Duration>, _> = raw.split(',').map(|w| humantime::parse_duration(w.trim())).collect();
    match parsed {
        Ok(w) if !w.is_empty() && w.len() <= 50 && w.iter().all(|d| !d.is_zero()) => w,
        _ => {
            errors.push(format!("{key}: `{raw}` is not a list of waits like 1m,5m,30m,2h,5h,10h,24h"));
            default.to_vec()
        }
    }
}

/// Whether `o` is a web origin: `http(s)://host[:port]`, nothing after.
fn is_origin(o: &str) -> bool {
    let Some(rest) = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")) else { return false };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
}

/// One or more configuration variables are invalid.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

/// Default lifetime of a cached principal.
pub const DEFAULT_PRINCIPAL_CACHE_TTL: Duration = Duration::from_secs(5);
/// Longest lifetime of a cached principal: it bounds how late another node's change of a
/// user or key takes effect here.
pub const MAX_PRINCIPAL_CACHE_TTL: Duration = Duration::from_secs(60);

/// Minimum length of a configured JWT secret.
pub const MIN_SECRET_LEN: usize = 32;

impl Config {
    /// `DATABASE_URL` with any password replaced by `***` (for logs).
    pub fn redacted_database_url(&self) -> String {
        persistence::types::redact(&self.database_url)
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration from any variable lookup (used by tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut errors = Vec::new();
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());

        let bind = var("KONTOR_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind.parse::<SocketAddr>().unwrap_or_else(|_| {
            errors.push(format!("KONTOR_BIND: `{bind}` is not an address like 127.0.0.1:8080"));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });

        let metrics_bind = var("KONTOR_METRICS_BIND").and_then(|raw| match raw.trim().parse::<SocketAddr>() {
            Ok(addr) if addr == bind && addr.port() != 0 => {
                errors.push(format!(
                    "KONTOR_METRICS_BIND: `{raw}` is the API address (KONTOR_BIND); choose another port"
                ));
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                errors.push(format!("KONTOR_METRICS_BIND: `{raw}` is not an address like 127.0.0.1:9464"));
                None
            }
        });

        let database_url = var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/kontor.db?mode=rwc".into());
        let is_sqlite = database_url.starts_with("sqlite:");
        let is_postgres = database_url.starts_with("postgres:") || database_url.starts_with("postgresql:");
        if !is_sqlite && !is_postgres {
            errors.push(format!(
                "DATABASE_URL: must start with sqlite:// or postgres://, got `{}`",
                persistence::types::redact(&database_url)
            ));
        }

        let jwt_secret = var("KONTOR_JWT_SECRET");
        match &jwt_secret {
            Some(s) if s.len() < MIN_SECRET_LEN => errors.push(format!(
                "KONTOR_JWT_SECRET: must be at least {MIN_SECRET_LEN} characters (use e.g. `openssl rand -hex 32`)"
            )),
            None if is_postgres => errors.push(
                "KONTOR_JWT_SECRET: required with PostgreSQL so that all API nodes share it \
                 (use e.g. `openssl rand -hex 32`)"
                    .into(),
            ),
            _ => {}
        }

        let mut duration = |k: &str, default: &str| {
            let raw = var(k).unwrap_or_else(|| default.into());
            match humantime::parse_duration(&raw) {
                Ok(d) if d >= Duration::from_secs(1) => d,
                _ => {
                    errors.push(format!("{k}: `{raw}` is not a duration like 15m, 1h or 30d"));
                    humantime::parse_duration(default).unwrap_or(Duration::from_secs(900))
                }
            }
        };
        let access_token_ttl = duration("KONTOR_ACCESS_TOKEN_TTL", "15m");
        let refresh_token_ttl = duration("KONTOR_REFRESH_TOKEN_TTL", "30d");
        let login_window = duration("KONTOR_LOGIN_WINDOW", "15m");
        let webhook_disable_after = duration("KONTOR_WEBHOOK_DISABLE_AFTER", "5d");

        let log_format = match var("KONTOR_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!("KONTOR_LOG_FORMAT: `{other}` is not `pretty` or `json`"));
                LogFormat::Pretty
            }
        };

        let mut number = |k: &str, min: u64, max: u64| -> Option<u64> {
            let raw = var(k)?;
            match raw.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    errors.push(format!("{k}: `{raw}` is not a whole number from {min} to {max}"));
                    None
                }
            }
        };
        let db_max_connections = number("KONTOR_DB_MAX_CONNECTIONS", 1, 1000).map(|n| n as u32);
        let max_body_bytes = number("KONTOR_MAX_BODY_BYTES", 1024, 1 << 30).unwrap_or(1 << 20) as usize;
        let max_upload_bytes = number("KONTOR_MAX_UPLOAD_BYTES", 1024, 1 << 32).unwrap_or(25 << 20) as usize;
        let workers = number("KONTOR_WORKERS", 1, 512).map(|n| n as usize);
        let login_max_failures_per_account =
            number("KONTOR_LOGIN_MAX_FAILURES_PER_ACCOUNT", 1, 1000).unwrap_or(5) as i64;
        let login_max_failures_per_ip = number("KONTOR_LOGIN_MAX_FAILURES_PER_IP", 1, 100_000).unwrap_or(50) as i64;
        let max_fee_periods_per_run = number("KONTOR_MAX_FEE_PERIODS_PER_RUN", 1, 1200)
            .unwrap_or(domain::engine::DEFAULT_MAX_FEE_PERIODS as u64) as usize;
        let max_report_entries = number("KONTOR_MAX_REPORT_ENTRIES", 1, 1_000_000).unwrap_or(10_000) as usize;
        let login_max_accounts_per_ip = number("KONTOR_LOGIN_MAX_ACCOUNTS_PER_IP", 1, 100_000).unwrap_or(10) as i64;
        let job_poll_interval = Duration::from_millis(number("KONTOR_JOB_POLL_MS", 10, 60_000).unwrap_or(200));
        let job_lease = Duration::from_secs(number("KONTOR_JOB_LEASE_SECONDS", 2, 3600).unwrap_or(30));
        let run_chunk_pause = Duration::from_millis(number("KONTOR_RUN_CHUNK_PAUSE_MS", 0, 10_000).unwrap_or(0));
        let webhook_poll_interval = Duration::from_millis(number("KONTOR_WEBHOOK_POLL_MS", 10, 60_000).unwrap_or(1000));
        // Longer than an attempt may take (10 s), so that a live node's attempt is never repeated.
        let webhook_lease = Duration::from_secs(number("KONTOR_WEBHOOK_LEASE_SECONDS", 11, 3600).unwrap_or(60));
        let mail_poll_interval = Duration::from_millis(number("KONTOR_MAIL_POLL_MS", 10, 60_000).unwrap_or(1000));
        let scheduler_every =
            Duration::from_secs(number("KONTOR_SCHEDULER_INTERVAL_SECONDS", 1, 86_400).unwrap_or(3600));

        let trust_proxy_headers = flag(&mut errors, "KONTOR_TRUST_PROXY_HEADERS", var("KONTOR_TRUST_PROXY_HEADERS"));
        let scheduler_on = flag(&mut errors, "KONTOR_SCHEDULER", var("KONTOR_SCHEDULER").or(Some("true".into())));
        let scheduler_interval = scheduler_on.then_some(scheduler_every);

        let admin_email = var("KONTOR_ADMIN_EMAIL").map(|e| e.trim().to_lowercase());
        let admin_password = var("KONTOR_ADMIN_PASSWORD");
        match (&admin_email, &admin_password) {
            (Some(_), None) | (None, Some(_)) => {
                errors.push("KONTOR_ADMIN_EMAIL and KONTOR_ADMIN_PASSWORD must be set together".into())
            }
            (Some(e), Some(p)) => {
                if !e.contains('@') {
                    errors.push(format!("KONTOR_ADMIN_EMAIL: `{e}` is not an e-mail address"));
                }
                if p.chars().count() < MIN_PASSWORD_LEN {
                    errors.push(format!("KONTOR_ADMIN_PASSWORD: must be at least {} characters", MIN_PASSWORD_LEN));
                }
            }
            (None, None) => {}
        }

        let cors_origins: Vec<String> = var("KONTOR_CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        for o in &cors_origins {
            if !is_origin(o) {
                errors.push(format!(
                    "KONTOR_CORS_ORIGINS: `{o}` is not an origin like https://app.example.com (scheme, host, optional port)"
                ));
            }
        }

        let principal_cache_ttl = match var("KONTOR_PRINCIPAL_CACHE_TTL") {
            None => DEFAULT_PRINCIPAL_CACHE_TTL,
            Some(raw) => match humantime::parse_duration(raw.trim()) {
                Ok(d) if d <= MAX_PRINCIPAL_CACHE_TTL => d,
                _ => {
                    errors.push(format!(
                        "KONTOR_PRINCIPAL_CACHE_TTL: `{raw}` is not a duration from 0 (off) to 60s, like 5s or 500ms"
                    ));
                    DEFAULT_PRINCIPAL_CACHE_TTL
                }
            },
        };

        let webhooks = WebhookSettings {
            allow_private: flag(&mut errors, "KONTOR_WEBHOOK_ALLOW_PRIVATE", var("KONTOR_WEBHOOK_ALLOW_PRIVATE")),
            retry_schedule: waits(
                &mut errors,
                "KONTOR_WEBHOOK_RETRY_SCHEDULE",
                var("KONTOR_WEBHOOK_RETRY_SCHEDULE"),
                &domain::webhook::DEFAULT_SCHEDULE,
            ),
            disable_after: webhook_disable_after,
            poll_interval: webhook_poll_interval,
            lease: webhook_lease,
        };

        let mut zammad = ZammadSettings {
            secret: var("KONTOR_ZAMMAD_SECRET"),
            service_code: var("KONTOR_ZAMMAD_SERVICE").map(|c| c.trim().to_string()),
            url: var("KONTOR_ZAMMAD_URL").map(|u| u.trim().trim_end_matches('/').to_string()),
            time_unit_minutes: rust_decimal::Decimal::ONE,
        };
        if let Some(raw) = var("KONTOR_ZAMMAD_TIME_UNIT_MINUTES") {
            match raw.trim().parse::<rust_decimal::Decimal>() {
                Ok(m) if m > rust_decimal::Decimal::ZERO && m <= rust_decimal::Decimal::from(1440) => {
                    zammad.time_unit_minutes = m
                }
                _ => errors.push(format!(
                    "KONTOR_ZAMMAD_TIME_UNIT_MINUTES: `{raw}` is not a number of minutes above 0 and up to 1440 (60: Zammad accounts hours)"
                )),
            }
        }
        if zammad.secret.as_ref().is_some_and(|s| s.len() < 16) {
            errors.push("KONTOR_ZAMMAD_SECRET: must be at least 16 characters".into());
        }
        if zammad.url.as_ref().is_some_and(|u| !u.starts_with("https://") && !u.starts_with("http://")) {
            errors.push("KONTOR_ZAMMAD_URL: must be an http(s) URL like https://helpdesk.example.com".into());
        }

        let mail = MailSettings {
            smtp_url: var("KONTOR_SMTP_URL").map(|u| u.trim().to_string()),
            from: var("KONTOR_MAIL_FROM").map(|f| f.trim().to_string()),
            invoices: flag(&mut errors, "KONTOR_MAIL_INVOICES", var("KONTOR_MAIL_INVOICES")),
            retry_schedule: waits(
                &mut errors,
                "KONTOR_MAIL_RETRY_SCHEDULE",
                var("KONTOR_MAIL_RETRY_SCHEDULE"),
                crate::mail_dispatch::DEFAULT_SCHEDULE,
            ),
            poll_interval: mail_poll_interval,
        };
        if let Some(url) = &mail.smtp_url {
            if let Err(e) = crate::mail_dispatch::transport(url) {
                errors.push(format!("KONTOR_SMTP_URL: {e} (smtp://host:25, smtps://user:pass@host:465)"));
            }
            match &mail.from {
                None => errors.push("KONTOR_MAIL_FROM: required with KONTOR_SMTP_URL (the sender of all mail)".into()),
                Some(f) if f.parse::<lettre::message::Mailbox>().is_err() => {
                    errors.push(format!("KONTOR_MAIL_FROM: `{f}` is not an address like Kontor <kontor@example.com>"))
                }
                Some(_) => {}
            }
        }

        let api_key_pepper = var("KONTOR_API_KEY_PEPPER");
        if api_key_pepper.as_ref().is_some_and(|p| p.len() < MIN_SECRET_LEN) {
            errors.push(format!("KONTOR_API_KEY_PEPPER: must be at least {MIN_SECRET_LEN} characters"));
        }

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Config {
            bind,
            metrics_bind,
            database_url,
            data_dir: var("KONTOR_DATA_DIR").unwrap_or_else(|| "data".into()),
            jwt_secret,
            access_token_ttl,
            refresh_token_ttl,
            admin_email,
            admin_password,
            log_format,
            db_max_connections,
            max_body_bytes,
            max_upload_bytes,
            workers,
            api_key_pepper,
            trust_proxy_headers,
            login_max_failures_per_account,
            login_max_failures_per_ip,
            login_max_accounts_per_ip,
            login_window,
            max_fee_periods_per_run,
            max_report_entries,
            cors_origins,
            job_poll_interval,
            job_lease,
            run_chunk_pause,
            principal_cache_ttl,
            webhooks,
            zammad,
            mail,
            scheduler_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_start_on_embedded_sqlite_at_localhost_8080() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/kontor.db?mode=rwc");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert!(c.jwt_secret.is_none());
    }

    #[test]
    fn cors_origins_are_origins_without_path() {
        let c = cfg(&[("KONTOR_CORS_ORIGINS", " https://app.example.com/, http://localhost:5173 ")]).unwrap();
        assert_eq!(c.cors_origins, vec!["https://app.example.com", "http://localhost:5173"]);
        assert!(cfg(&[]).unwrap().cors_origins.is_empty());
        for bad in ["*", "app.example.com", "https://app.example.com/spa", "ftp://x.example", "https://x:0"] {
            let err = cfg(&[("KONTOR_CORS_ORIGINS", bad)]).unwrap_err();
            assert!(err.to_string().contains("KONTOR_CORS_ORIGINS"), "{bad}: {err}");
        }
    }

    #[test]
    fn mail_goes_out_only_with_a_valid_smtp_url_and_sender() {
        let c = cfg(&[]).unwrap();
        assert!(c.mail.smtp_url.is_none() && !c.mail.invoices);
        assert_eq!(c.mail.retry_schedule.first(), Some(&Duration::from_secs(60)));
        let c = cfg(&[
            ("KONTOR_SMTP_URL", "smtps://user:pw@mail.example.com:465"),
            ("KONTOR_MAIL_FROM", "Kontor <kontor@example.com>"),
            ("KONTOR_MAIL_INVOICES", "true"),
            ("KONTOR_MAIL_RETRY_SCHEDULE", "30s,10m"),
        ])
        .unwrap();
        assert!(c.mail.invoices);
        assert_eq!(c.mail.retry_schedule, vec![Duration::from_secs(30), Duration::from_secs(600)]);
        assert!(!format!("{:?}", c.mail).contains("pw"), "the SMTP password stays out of logs");
        for (vars, named) in [
            (vec![("KONTOR_SMTP_URL", "smtp://mail.example.com")], "KONTOR_MAIL_FROM"),
            (
                vec![("KONTOR_SMTP_URL", "http://mail.example.com"), ("KONTOR_MAIL_FROM", "a@b.example")],
                "KONTOR_SMTP_URL",
            ),
            (
                vec![("KONTOR_SMTP_URL", "smtp://mail.example.com"), ("KONTOR_MAIL_FROM", "not an address")],
                "KONTOR_MAIL_FROM",
            ),
            (vec![("KONTOR_MAIL_INVOICES", "yes")], "KONTOR_MAIL_INVOICES"),
            (vec![("KONTOR_MAIL_RETRY_SCHEDULE", "soon")], "KONTOR_MAIL_RETRY_SCHEDULE"),
        ] {
            let err = cfg(&vars).unwrap_err().to_string();
            assert!(err.contains(named), "{vars:?}: {err}");
        }
    }

    #[test]
    fn every_node_generates_work_orders_hourly_unless_told_otherwise() {
        assert_eq!(cfg(&[]).unwrap().scheduler_interval, Some(Duration::from_secs(3600)));
        let c = cfg(&[("KONTOR_SCHEDULER_INTERVAL_SECONDS", "300")]).unwrap();
        assert_eq!(c.scheduler_interval, Some(Duration::from_secs(300)));
        assert_eq!(cfg(&[("KONTOR_SCHEDULER", "false")]).unwrap().scheduler_interval, None);
        for (key, bad) in [("KONTOR_SCHEDULER", "off"), ("KONTOR_SCHEDULER_INTERVAL_SECONDS", "0")] {
            let err = cfg(&[(key, bad)]).unwrap_err().to_string();
            assert!(err.contains(key), "{key}={bad}: {err}");
        }
    }

    #[test]
    fn metrics_listen_on_their_own_address_only_when_asked() {
        assert_eq!(cfg(&[]).unwrap().metrics_bind, None);
        let c = cfg(&[("KONTOR_METRICS_BIND", "127.0.0.1:9464")]).unwrap();
        assert_eq!(c.metrics_bind, Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        for bad in ["9464", "localhost:9464", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:8080"] {
            let err = cfg(&[("KONTOR_METRICS_BIND", bad)]).unwrap_err();
            assert!(err.to_string().contains("KONTOR_METRICS_BIND"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_principal_cache_lives_five_seconds_unless_set_and_zero_switches_it_off() {
        assert_eq!(cfg(&[]).unwrap().principal_cache_ttl, Duration::from_secs(5));
        assert_eq!(cfg(&[("KONTOR_PRINCIPAL_CACHE_TTL", "0")]).unwrap().principal_cache_ttl, Duration::ZERO);
        assert_eq!(
            cfg(&[("KONTOR_PRINCIPAL_CACHE_TTL", "500ms")]).unwrap().principal_cache_ttl,
            Duration::from_millis(500)
        );
        for bad in ["forever", "-1s", "2m"] {
            let err = cfg(&[("KONTOR_PRINCIPAL_CACHE_TTL", bad)]).unwrap_err();
            assert!(err.to_string().contains("KONTOR_PRINCIPAL_CACHE_TTL"), "{bad}: {err}");
        }
    }

    #[test]
    fn runs_do_not_pause_between_chunks_unless_told_to() {
        assert_eq!(cfg(&[]).unwrap().run_chunk_pause, Duration::ZERO);
        let c = cfg(&[("KONTOR_RUN_CHUNK_PAUSE_MS", "25")]).unwrap();
        assert_eq!(c.run_chunk_pause, Duration::from_millis(25));
        for bad in ["-1", "10001", "1s"] {
            let err = cfg(&[("KONTOR_RUN_CHUNK_PAUSE_MS", bad)]).unwrap_err();
            assert!(err.to_string().contains("KONTOR_RUN_CHUNK_PAUSE_MS"), "{bad}: {err}");
        }
    }

    #[test]
    fn postgres_requires_a_shared_jwt_secret() {
        let err = cfg(&[("DATABASE_URL", "postgres://localhost/kontor")]).unwrap_err();
        assert!(err.to_string().contains("KONTOR_JWT_SECRET"), "{err}");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let err = cfg(&[
            ("KONTOR_BIND", "nonsense"),
            ("KONTOR_ACCESS_TOKEN_TTL", "soon"),
            ("KONTOR_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 4, "{err}");
    }
}
