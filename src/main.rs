//! The `kontor` binary: `kontor` serves the API; `kontor openapi` prints the OpenAPI
//! document as YAML (how `openapi.yaml` is regenerated), `kontor openapi --json` as JSON.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("openapi") if args.get(1).is_some_and(|a| a == "--json") => {
            println!("{}", api::openapi::json());
            ExitCode::SUCCESS
        }
        Some("openapi") => {
            print!("{}", api::openapi::yaml());
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") | Some("help") => {
            println!("usage: kontor [serve|openapi]\n  serve    run the API server (default); configured by KONTOR_* and DATABASE_URL\n  openapi  print the OpenAPI document (YAML; `openapi --json`: as served at /openapi.json)");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("kontor: unknown command `{other}` (try `kontor --help`)");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let config = match api::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kontor: {e}");
            return ExitCode::from(2);
        }
    };
    api::init_tracing(config.log_format);
    tracing::info!(bind = %config.bind, database = %config.redacted_database_url(), "starting kontor");
    let app = match api::Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("kontor: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(port = app.port(), "listening; API docs at /docs");
    if let Some(port) = app.metrics_port() {
        tracing::info!(port, "metrics listener serves /metrics (KONTOR_METRICS_BIND)");
    }
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kontor: server error: {e}");
            ExitCode::from(1)
        }
    }
}
