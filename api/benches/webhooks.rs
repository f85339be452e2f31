//! Webhook dispatcher throughput (issue 14's target: ≥ 500 deliveries/s on one node): N
//! events for one webhook, sent by the real dispatcher to a local receiver (a trivial actix
//! handler answering 204), on SQLite (or `BENCH_DATABASE_URL`), release build.
//! Run: `cargo bench -p api --bench webhooks` (`BENCH_DELIVERIES=5000` by default).

use actix_web::{web, App, HttpResponse, HttpServer};
use api::config::WebhookSettings;
use api::webhook_dispatch::Dispatcher;
use persistence::webhooks::WebhookData;
use persistence::{Actor, Store, StoreOptions};
use std::time::{Duration, Instant};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let n: i64 = std::env::var("BENCH_DELIVERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let dir = std::env::temp_dir().join(format!("kontor-webhook-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let url =
        std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}/bench.db?mode=rwc", dir.display()));
    let store = Store::open(&StoreOptions { url, max_connections: Some(8) }).await.expect("open the store");
    store.migrate().await.expect("migrate");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("port").port();
    let server =
        HttpServer::new(|| App::new().route("/hook", web::post().to(|| async { HttpResponse::NoContent().finish() })))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
    tokio::spawn(server);

    let data = WebhookData {
        url: format!("http://127.0.0.1:{port}/hook"),
        description: None,
        event_types: vec!["*".into()],
        active: true,
    };
    let hook =
        store.create_webhook(&data, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &Actor::system()).await.expect("webhook");
    let t = Instant::now();
    for _ in 0..n {
        store.ping_webhook(hook.id).await.expect("queue a delivery");
    }
    println!("webhooks: queued {n} deliveries in {:.2} s", t.elapsed().as_secs_f64());

    let settings = WebhookSettings {
        allow_private: true,
        retry_schedule: domain::webhook::DEFAULT_SCHEDULE.to_vec(),
        disable_after: Duration::from_secs(5 * 86400),
        poll_interval: Duration::from_millis(10),
        lease: Duration::from_secs(60),
    };
    let t = Instant::now();
    let dispatcher = tokio::spawn(Dispatcher::new(store.clone(), settings).run());
    loop {
        let page = persistence::PageRequest { limit: 1, after: None };
        let newest = store.list_deliveries(hook.id, &page).await.expect("deliveries");
        // Deliveries are claimed oldest first: the newest one succeeds last.
        if newest.items.first().is_some_and(|d| d.status == "succeeded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    dispatcher.abort();
    println!(
        "webhooks: delivered {n} signed events in {secs:.2} s = {:.0} deliveries/s (target >= 500)",
        n as f64 / secs
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
