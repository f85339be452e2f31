//! Kontor's HTTP API: actix-web server, authentication, problem responses and the
//! OpenAPI document. [`Application`] builds a ready-to-run server from a [`Config`].

pub mod auth;
pub mod browser;
pub mod config;
pub mod documents;
pub mod dto;
pub mod error;
pub mod event_data;
pub mod extract;
pub mod mail_dispatch;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod principal_cache;
pub mod routes;
pub mod state;
pub mod tokens;
pub mod webhook_dispatch;

pub use config::{Config, ConfigError, LogFormat};

use crate::auth::{hash_password, TokenKeys};
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpResponse, HttpServer};
use persistence::{Actor, NewUser, Store, StoreError, StoreOptions, UserData};
use std::net::TcpListener;
use utoipa_swagger_ui::SwaggerUi;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("{0}")]
    Bootstrap(String),
}

/// A started (not yet awaited) server.
pub struct Application {
    port: u16,
    server: Server,
    /// The separate metrics listener (`KONTOR_METRICS_BIND`) and its port.
    metrics: Option<(u16, Server)>,
    store: Store,
    /// The job worker (invoice runs, issuing a run's drafts), stopped with the server,
    /// and the owner id of its leases.
    worker: (tokio::task::JoinHandle<()>, String),
    /// The webhook dispatcher, stopped with the server (its claimed deliveries' leases
    /// expire and another node or the next start sends them).
    dispatcher: tokio::task::JoinHandle<()>,
    /// The mail dispatcher, stopped with the server (like the webhook dispatcher's, its
    /// claimed mails are sent by the next node or start once their lease ran out).
    mailer: tokio::task::JoinHandle<()>,
    /// The background work-order generator (`KONTOR_SCHEDULER`), stopped with the server.
    scheduler: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Opens the store, bootstraps secrets and the first admin, and binds the listener.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let listener = TcpListener::bind(config.bind)
            .map_err(|source| StartupError::Bind { addr: config.bind.to_string(), source })?;
        Self::build_with_listener(config, listener).await
    }

    /// Like [`Application::build`] on an already bound listener (tests bind port 0).
    pub async fn build_with_listener(config: Config, listener: TcpListener) -> Result<Application, StartupError> {
        let metrics_listener = match config.metrics_bind {
            Some(addr) => {
                Some(TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr: addr.to_string(), source })?)
            }
            None => None,
        };
        let store =
            Store::open(&StoreOptions { url: config.database_url.clone(), max_connections: config.db_max_connections })
                .await?;
        let jwt_secret = match &config.jwt_secret {
            Some(s) => s.clone(),
            None => store.setting_or_init("jwt_secret", &auth::random_token(48)).await?,
        };
        let pepper = match &config.api_key_pepper {
            Some(p) => p.clone(),
            None => store.setting_or_init("api_key_pepper", &auth::random_token(48)).await?,
        };
        bootstrap_admin(&store, &config).await?;
        let port =
            listener.local_addr().map_err(|source| StartupError::Bind { addr: "listener".into(), source })?.port();
        let state = web::Data::new(AppState {
            store: store.clone(),
            tokens: TokenKeys::new(jwt_secret.as_bytes()),
            api_key_pepper: pepper.into_bytes(),
            principals: principal_cache::PrincipalCache::new(config.principal_cache_ttl),
            config: config.clone(),
            metrics: metrics::Metrics::new(store.backend()),
        });
        let metrics = match metrics_listener {
            Some(listener) => Some(metrics_server(state.clone(), listener)?),
            None => None,
        };
        // Without a metrics listener, admins read the metrics on the API port.
        let metrics_on_api_port = config.metrics_bind.is_none();
        let max_body = config.max_body_bytes;
        let cors_origins = config.cors_origins.clone();
        let observed = state.clone();
        let mail_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::JsonConfig::default().limit(max_body))
                .wrap(from_fn(middleware::problem_responses))
                .wrap(from_fn(browser::security_headers))
                .wrap(Condition::new(!cors_origins.is_empty(), browser::cors(&cors_origins)))
                .wrap(from_fn(middleware::request_id_and_log))
                .wrap(from_fn(metrics::record_requests))
                .service(web::resource("/healthz").route(web::get().to(routes::health::healthz)))
                .service(web::resource("/readyz").route(web::get().to(routes::health::readyz)))
                .service(web::resource("/openapi.json").route(web::get().to(openapi_json)))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi-docs.json", openapi::document()))
                .service(web::redirect("/docs", "/docs/"))
                .configure(|cfg| {
                    if metrics_on_api_port {
                        cfg.service(
                            web::resource("/metrics")
                                .wrap(from_fn(middleware::authentication))
                                .route(web::get().to(metrics::scrape_as_admin)),
                        );
                    }
                })
                .service(
                    web::scope("/api/v1")
                        .wrap(from_fn(middleware::list_scope))
                        .wrap(from_fn(middleware::idempotency))
                        .wrap(from_fn(middleware::authentication))
                        .configure(routes::configure_api),
                )
                .default_service(web::to(not_found))
        })
        .shutdown_timeout(30)
        .listen(listener)
        .map_err(|source| StartupError::Bind { addr: config.bind.to_string(), source })?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let worker = persistence::jobs::JobWorker::new(
            store.clone(),
            persistence::jobs::WorkerOptions {
                poll_interval: config.job_poll_interval,
                lease: config.job_lease,
                max_fee_periods: config.max_fee_periods_per_run,
                chunk_pause: config.run_chunk_pause,
                on_run_ended: Some(std::sync::Arc::new(move |run: &persistence::invoice_runs::InvoiceRun| {
                    metrics::observe_finished_run(&observed.metrics, run)
                })),
            },
        );
        let worker_owner = worker.owner().to_string();
        let worker = (tokio::spawn(worker.run()), worker_owner);
        let dispatcher = tokio::spawn(webhook_dispatch::Dispatcher::new(store.clone(), config.webhooks.clone()).run());
        let mailer = tokio::spawn(mail_dispatch::Mailer::new(mail_state, config.mail.clone()).run());
        let scheduler = config
            .scheduler_interval
            .map(|every| tokio::spawn(routes::work_orders::scheduler::run(store.clone(), every)));
        Ok(Application { port, server: server.run(), metrics, store, worker, dispatcher, mailer, scheduler })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, if `KONTOR_METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGINT/SIGTERM (graceful: in-flight requests finish), then stops the
    /// metrics listener and closes the pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (metrics_handle, metrics_server) = match self.metrics {
            Some((_, server)) => (Some(server.handle()), Some(server)),
            None => (None, None),
        };
        let api = async {
            let result = self.server.await;
            if let Some(handle) = metrics_handle {
                handle.stop(true).await;
            }
            result
        };
        let metrics = async {
            if let Some(server) = metrics_server {
                if let Err(e) = server.await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            }
        };
        let (result, ()) = tokio::join!(api, metrics);
        // A job stopped mid-customer rolls that customer back; releasing its lease lets the
        // next worker (another node, or this one after a restart) resume it at once.
        let (worker, owner) = self.worker;
        worker.abort();
        self.dispatcher.abort();
        self.mailer.abort();
        if let Some(scheduler) = self.scheduler {
            scheduler.abort();
        }
        if let Err(e) = self.store.release_leases(&owner).await {
            tracing::warn!(error = %e, "could not release the job worker's leases; they expire by themselves");
        }
        tracing::info!("server stopped; closing database connections");
        self.store.close().await;
        result
    }
}

/// The separate metrics listener: `GET /metrics` only, without credentials, on one worker.
/// It stops with the API server (it does not handle signals itself).
fn metrics_server(state: web::Data<AppState>, listener: TcpListener) -> Result<(u16, Server), StartupError> {
    let bind_error = |source| StartupError::Bind { addr: "metrics listener".into(), source };
    let port = listener.local_addr().map_err(bind_error)?.port();
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).service(web::resource("/metrics").route(web::get().to(metrics::scrape)))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    Ok((port, server))
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(openapi::json())
}

/// Unknown routes: the problem middleware turns this into a 404 problem naming the path.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().finish()
}

/// Creates the first admin on an empty database: from `KONTOR_ADMIN_EMAIL`/`_PASSWORD`,
/// or `admin@kontor.local` with a generated one-time password printed to the log.
async fn bootstrap_admin(store: &Store, config: &Config) -> Result<(), StartupError> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let (email, password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(e), Some(p)) => (e.clone(), p.clone(), false),
        _ => ("admin@kontor.local".to_string(), auth::random_token(18), true),
    };
    let hash = hash_password(password.clone()).await.map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    let new = NewUser {
        data: UserData {
            email: email.clone(),
            name: "Administrator".into(),
            roles: vec![domain::Role::Admin],
            weekly_capacity_hours: rust_decimal::Decimal::from(40),
            internal_cost_rate: None,
            default_sales_rate: None,
            active: true,
            language: Default::default(),
        },
        password_hash: hash,
    };
    match store.create_user(&new, &Actor::system()).await {
        Ok(_) if generated => {
            tracing::warn!(email = %email, "created the first admin with a one-time password; change it after the first login");
            println!("\n  Kontor: first admin created\n    e-mail:   {email}\n    password: {password}\n  (shown once; set KONTOR_ADMIN_EMAIL/KONTOR_ADMIN_PASSWORD to choose them)\n");
            Ok(())
        }
        Ok(_) => {
            tracing::info!(email = %email, "created the first admin from KONTOR_ADMIN_EMAIL");
            Ok(())
        }
        // Another node bootstrapped at the same moment.
        Err(StoreError::Duplicate(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Installs the tracing subscriber (pretty or JSON, level from `RUST_LOG`, default `info`).
/// Colours only on a terminal, and not with `NO_COLOR`: a log file gets plain text.
pub fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let colours = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colours);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
