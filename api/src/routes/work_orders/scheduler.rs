//! The background work-order generator of every node (`KONTOR_SCHEDULER`, on by default):
//! every `KONTOR_SCHEDULER_INTERVAL_SECONDS` (an hour by default) it creates the work
//! orders whose creation day has come and announces overdue ones, as `POST
//! /work-orders/generate` does. Nodes running
//! it at the same moment create each order once (the generator locks each schedule).

use persistence::Actor;
use persistence::Store;
use std::time::Duration;

/// Generates due work orders every `interval`, until the task is aborted.
pub async fn run(store: Store, interval: Duration) {
    crate::webhook_dispatch::poll_rounds("work-order generator", interval, || async {
        let today = time::OffsetDateTime::now_utc().date();
        let created = store.generate_work_orders(today, false, &Actor::system()).await?;
        let overdue = store.announce_overdue_work_orders(today).await?;
        if !created.is_empty() || overdue > 0 {
            tracing::info!(created = created.len(), overdue, "work orders generated; overdue ones announced");
        }
        // Never "busy": the next round waits for the interval.
        Ok(false)
    })
    .await
}
