//! Storage of webhooks and their deliveries: the webhooks admins register, the fan-out of the
//! event outbox into one delivery per webhook and event ([`Store::fan_out_events`]), the
//! claim of due deliveries by one dispatcher at a time ([`Store::claim_deliveries`]: a lease,
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL) and the record of every attempt
//! ([`Store::record_attempt`]). At least once: an event is marked `delivered_at` in the same
//! transaction that creates its deliveries, and a delivery stays due until an attempt
//! succeeded or the retry schedule is used up — a crash in between only repeats an attempt.

use crate::audit::Actor;
use crate::events::Event;
use crate::page::{Page, PageRequest};
use crate::types::DbTime;
use crate::{Backend, Result, Store, StoreError};
use std::time::Duration;

/// The writable fields of a webhook.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookData {
    pub url: String,
    pub description: Option<String>,
    /// Event-type patterns (`invoice.issued`, `invoice.*`, `*`).
    pub event_types: Vec<String>,
    pub active: bool,
}

/// A stored webhook. Its secrets are never serialized (audit entries and answers leave them
/// out).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Webhook {
    pub id: i64,
    #[serde(flatten)]
    pub data: WebhookData,
    #[serde(skip)]
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    #[serde(skip)]
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DbTime>,
    /// Events after this id are delivered (none from before the webhook existed).
    pub first_event_id: i64,
    /// First failed attempt of the current streak of failures.
    pub failing_since: Option<DbTime>,
    /// Why the dispatcher switched the webhook off.
    pub disabled_reason: Option<String>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl Webhook {
    /// The secrets that sign a message at `now`: the current one, and the previous one
    /// during its grace period.
    pub fn signing_secrets(&self, now: DbTime) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(s), Some(until)) = (&self.previous_secret, &self.previous_secret_until) {
            if until.0 > now.0 {
                out.push(s);
            }
        }
        out
    }
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    url: String,
    description: Option<String>,
    event_types: String,
    active: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<DbTime>,
    first_event_id: i64,
    failing_since: Option<DbTime>,
    disabled_reason: Option<String>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> Result<Webhook> {
        Ok(Webhook {
            id: r.id,
            data: WebhookData {
                url: r.url,
                description: r.description,
                event_types: serde_json::from_str(&r.event_types)?,
                active: r.active,
            },
            secret: r.secret,
            previous_secret: r.previous_secret,
            previous_secret_until: r.previous_secret_until,
            first_event_id: r.first_event_id,
            failing_since: r.failing_since,
            disabled_reason: r.disabled_reason,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A delivery of one event to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed` (the schedule used up).
    pub status: String,
    pub attempts: i64,
    /// When a pending delivery is tried next.
    pub next_attempt_at: DbTime,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    #[sqlx(skip)]
    pub log: Vec<Attempt>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub delivery_id: i64,
    pub attempt: i64,
    /// The receiver's HTTP status; `None` when no answer came.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why no answer came (timeout, refused, private address, …).
    pub error: Option<String>,
    pub attempted_at: DbTime,
}

/// A claimed delivery: what the dispatcher sends and to whom.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery_id: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    pub webhook: Webhook,
    pub event: Event,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// A 2xx answer.
    Succeeded,
    /// Failed; try again after this wait.
    RetryAfter(Duration),
    /// Failed and the schedule is used up.
    Failed,
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.webhook_id, d.event_id, e.event_type, d.status, d.attempts, \
     d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at \
     FROM webhook_deliveries d JOIN events e ON e.id = d.event_id";

fn later(d: Duration) -> DbTime {
    DbTime::from(DbTime::now().0 + d)
}

/// The events that may make tickets billed: a document that holds positions became final.
const BILLING_EVENTS: [&str; 2] = ["invoice.issued", crate::invoices::SETTLED_EVENT];

/// The event types the fan-out reads even when no webhook wants them, as an SQL list:
/// [`BILLING_EVENTS`] and those that may cause mail.
static ALWAYS_READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    BILLING_EVENTS
        .into_iter()
        .chain(crate::mail::MAIL_EVENT_TYPES)
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ")
});

/// Most [`BILLING_EVENTS`] one fan-out transaction derives `ticket.billed` from.
const ISSUED_PER_BATCH: usize = 16;

impl Store {
    /// Registers a webhook with its signing secret; it receives the events written from now on.
    pub async fn create_webhook(&self, data: &WebhookData, secret: &str, actor: &Actor) -> Result<Webhook> {
        let hook = in_tx!(self, tx => {
            let row: WebhookRow = sqlx::query_as(
                "INSERT INTO webhooks (url, description, event_types, active, secret, first_event_id, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(id), 0) FROM events), 1, $6, $6) \
                 RETURNING *")
                .bind(&data.url).bind(&data.description).bind(serde_json::to_string(&data.event_types)?)
                .bind(data.active).bind(secret).bind(DbTime::now()).fetch_one(&mut *tx).await?;
            let hook = Webhook::try_from(row)?;
            audit!(tx, actor, "webhook", hook.id, "create", None::<&Webhook>, Some(&hook));
            hook
        });
        Ok(hook)
    }

    /// The webhook with this id.
    pub async fn get_webhook(&self, id: i64) -> Result<Webhook> {
        let row: WebhookRow = with_pool!(self, pool => sqlx::query_as("SELECT * FROM webhooks WHERE id = $1")
            .bind(id).fetch_one(pool).await?);
        row.try_into()
    }

    /// Every webhook, in id order.
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>> {
        let rows: Vec<WebhookRow> = with_pool!(self, pool => sqlx::query_as("SELECT * FROM webhooks ORDER BY id")
            .fetch_all(pool).await?);
        rows.into_iter().map(Webhook::try_from).collect()
    }

    /// Replaces the writable fields while the webhook still has `version`. Switching a webhook
    /// on again clears why it was switched off and its failure streak.
    pub async fn update_webhook(&self, id: i64, version: i64, data: &WebhookData, actor: &Actor) -> Result<Webhook> {
        self.change_webhook(id, Some(version), actor, "update", |before| {
            let reactivated = data.active && !before.data.active;
            Webhook {
                data: data.clone(),
                disabled_reason: if reactivated { None } else { before.disabled_reason.clone() },
                failing_since: if reactivated { None } else { before.failing_since },
                ..before.clone()
            }
        })
        .await
    }

    /// Replaces the signing secret; the old one keeps signing (as a second signature) until
    /// `grace` from now.
    pub async fn rotate_webhook_secret(
        &self,
        id: i64,
        secret: &str,
        grace: Duration,
        actor: &Actor,
    ) -> Result<Webhook> {
        self.change_webhook(id, None, actor, "rotate_secret", |before| Webhook {
            secret: secret.to_string(),
            previous_secret: Some(before.secret.clone()),
            previous_secret_until: Some(later(grace)),
            ..before.clone()
        })
        .await
    }

    async fn change_webhook(
        &self,
        id: i64,
        version: Option<i64>,
        actor: &Actor,
        action: &str,
        change: impl FnOnce(&Webhook) -> Webhook,
    ) -> Result<Webhook> {
        let hook = in_tx!(self, tx => {
            let row: WebhookRow = sqlx::query_as("SELECT * FROM webhooks WHERE id = $1").bind(id)
                .fetch_one(&mut *tx).await?;
            let before = Webhook::try_from(row)?;
            if version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            let h = change(&before);
            let row: WebhookRow = sqlx::query_as(
                "UPDATE webhooks SET url = $1, description = $2, event_types = $3, active = $4, secret = $5, \
                 previous_secret = $6, previous_secret_until = $7, failing_since = $8, disabled_reason = $9, \
                 version = version + 1, updated_at = $10 WHERE id = $11 RETURNING *")
                .bind(&h.data.url).bind(&h.data.description).bind(serde_json::to_string(&h.data.event_types)?)
                .bind(h.data.active).bind(&h.secret).bind(&h.previous_secret).bind(h.previous_secret_until)
                .bind(h.failing_since).bind(&h.disabled_reason).bind(DbTime::now()).bind(id)
                .fetch_one(&mut *tx).await?;
            let after = Webhook::try_from(row)?;
            audit!(tx, actor, "webhook", id, action, Some(&before), Some(&after));
            after
        });
        Ok(hook)
    }

    /// Deletes a webhook with its deliveries and their log.
    pub async fn delete_webhook(&self, id: i64, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let row: WebhookRow = sqlx::query_as("SELECT * FROM webhooks WHERE id = $1").bind(id)
                .fetch_one(&mut *tx).await?;
            let before = Webhook::try_from(row)?;
            sqlx::query("DELETE FROM webhook_attempts WHERE delivery_id IN \
                         (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "webhook", id, "delete", Some(&before), None::<&Webhook>);
        });
        Ok(())
    }

    /// Turns up to `limit` undelivered events (oldest first) into a delivery for every active
    /// webhook that wants them and was registered before them, and marks them delivered —
    /// in one transaction, so an event is fanned out exactly once. The number of events.
    pub async fn fan_out_events(&self, limit: i64) -> Result<usize> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!("SELECT * FROM events WHERE delivered_at IS NULL ORDER BY id LIMIT $1{lock}");
        // Events no active webhook can want (none registered before them) are marked in one
        // statement, without reading them or taking a writer's turn: with no webhook at all,
        // that is every event, and the writers next to it (thousands of bookings a second)
        // barely notice.
        let pending = || async {
            let id: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
                "SELECT id FROM events WHERE delivered_at IS NULL LIMIT 1").fetch_optional(pool).await?);
            Ok::<bool, StoreError>(id.is_some())
        };
        if !pending().await? {
            return Ok(0);
        }
        // `invoice.issued|settled` are always read: they may make tickets billed (see below); so is every
        // event that may cause mail (it is queued for the mail dispatcher below).
        let unwanted = with_pool!(self, pool => sqlx::query(&format!(
            "UPDATE events SET delivered_at = $1 WHERE delivered_at IS NULL AND event_type NOT IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM webhooks WHERE active AND first_event_id < events.id)", *ALWAYS_READ))
            .bind(DbTime::now()).execute(pool).await.map(|r| r.rows_affected())?);
        if !pending().await? {
            return Ok(usize::try_from(unwanted).unwrap_or(usize::MAX));
        }
        let tickets_billed = crate::invoices::tickets_billed::sql_for(&self.db);
        let n = in_tx!(self, tx => {
            let mut events: Vec<Event> = sqlx::query_as(&sql).bind(limit).fetch_all(&mut *tx).await?;
            // Each `invoice.issued|settled` reads its document's bookings (a few ms for a large one):
            // a batch takes at most `ISSUED_PER_BATCH` of them, so that this transaction (and
            // on SQLite the writer's turn) stays short after a large issue job.
            if let Some((cut, _)) =
                events.iter().enumerate().filter(|(_, e)| BILLING_EVENTS.contains(&e.event_type.as_str())).nth(ISSUED_PER_BATCH)
            {
                events.truncate(cut);
            }
            if events.is_empty() {
                0
            } else {
                // `ticket.billed` follows from `invoice.issued|settled`, derived here exactly once (in
                // the transaction that hands the event out) instead of in the issuing one,
                // which stays as short as it was.
                let issued: Vec<i64> = events.iter()
                    .filter(|e| BILLING_EVENTS.contains(&e.event_type.as_str())).map(|e| e.entity_id).collect();
                if !issued.is_empty() {
                    crate::invoices::tickets_billed::record_tickets_billed!(tx, tickets_billed, &issued, DbTime::now());
                }
                // Mail follows from the same events exactly once: queued here, taken off the
                // queue by the transaction that writes the mails (`Store::derive_mails`).
                for e in events.iter().filter(|e| crate::mail::MAIL_EVENT_TYPES.contains(&e.event_type.as_str())) {
                    sqlx::query("INSERT INTO mail_queue (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING")
                        .bind(e.id).execute(&mut *tx).await?;
                }
                let rows: Vec<WebhookRow> = sqlx::query_as("SELECT * FROM webhooks WHERE active")
                    .fetch_all(&mut *tx).await?;
                let hooks = rows.into_iter().map(Webhook::try_from).collect::<Result<Vec<_>>>()?;
                let now = DbTime::now();
                for e in &events {
                    for h in hooks.iter().filter(|h| e.id > h.first_event_id && domain::webhook::wants(&h.data.event_types, &e.event_type)) {
                        sqlx::query(
                            "INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, next_attempt_at, \
                             created_at, updated_at) VALUES ($1, $2, 'pending', 0, $3, $3, $3) \
                             ON CONFLICT (webhook_id, event_id) DO NOTHING")
                            .bind(h.id).bind(e.id).bind(now).execute(&mut *tx).await?;
                    }
                }
                // One statement marks the batch: the write lock is held briefly (bookings are
                // written next to it at thousands per second). The ids are integers read above.
                let ids = events.iter().map(|e| e.id.to_string()).collect::<Vec<_>>().join(",");
                sqlx::query(&format!("UPDATE events SET delivered_at = $1 WHERE id IN ({ids})")).bind(now)
                    .execute(&mut *tx).await?;
                events.len()
            }
        });
        Ok(n)
    }

    /// Claims up to `limit` due deliveries for `lease` (other dispatchers skip them until
    /// then), oldest due first.
    pub async fn claim_deliveries(&self, limit: i64, lease: Duration) -> Result<Vec<DeliveryJob>> {
        let due = "status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)";
        let sql = match self.backend() {
            Backend::Postgres => format!(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM webhook_deliveries \
                 WHERE {due} ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, webhook_id, event_id, attempts"
            ),
            Backend::Sqlite => format!(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM webhook_deliveries \
                 WHERE {due} ORDER BY next_attempt_at, id LIMIT $3) RETURNING id, webhook_id, event_id, attempts"
            ),
        };
        // Look before claiming: an idle dispatcher only reads (on SQLite an UPDATE would take
        // the write lock even when it matches nothing).
        let any_due: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(&format!(
            "SELECT id FROM webhook_deliveries WHERE {} LIMIT 1", due.replace("$2", "$1")))
            .bind(DbTime::now()).fetch_optional(pool).await?);
        if any_due.is_none() {
            return Ok(Vec::new());
        }
        let mut claimed: Vec<(i64, i64, i64, i64)> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(later(lease)).bind(DbTime::now()).bind(limit).fetch_all(pool).await?);
        // `RETURNING` follows no `ORDER BY`: oldest deliveries first.
        claimed.sort_unstable();
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // The claimed deliveries' events in one query and each webhook once (a batch names
        // few webhooks), not two reads per delivery. The ids are integers read above.
        let ids = claimed.iter().map(|c| c.2.to_string()).collect::<Vec<_>>().join(",");
        let events: Vec<Event> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT * FROM events WHERE id IN ({ids})")).fetch_all(pool).await?);
        let events: std::collections::HashMap<i64, Event> = events.into_iter().map(|e| (e.id, e)).collect();
        let mut webhooks: std::collections::HashMap<i64, Webhook> = std::collections::HashMap::new();
        let mut jobs = Vec::with_capacity(claimed.len());
        for (delivery_id, webhook_id, event_id, attempts) in claimed {
            let webhook = match webhooks.get(&webhook_id) {
                Some(w) => w.clone(),
                None => {
                    let w = self.get_webhook(webhook_id).await?;
                    webhooks.insert(webhook_id, w.clone());
                    w
                }
            };
            // One event may go to several webhooks in a batch: each delivery gets its copy.
            let event = events.get(&event_id).cloned().ok_or(StoreError::NotFound)?;
            jobs.push(DeliveryJob { delivery_id, attempts, webhook, event });
        }
        Ok(jobs)
    }

    /// Records an attempt of a claimed delivery and what follows from it: done, due again
    /// later, or failed for good. A failure starts or continues the webhook's failure streak;
    /// once it lasts `disable_after`, the webhook is switched off (event `webhook.disabled`).
    /// A success ends the streak.
    pub async fn record_attempt(
        &self,
        job: &DeliveryJob,
        attempt: &Attempt,
        outcome: &AttemptOutcome,
        disable_after: Duration,
    ) -> Result<()> {
        let now = DbTime::now();
        let (status, next) = match outcome {
            AttemptOutcome::Succeeded => ("succeeded", now),
            AttemptOutcome::RetryAfter(wait) => ("pending", later(*wait)),
            AttemptOutcome::Failed => ("failed", now),
        };
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, response_excerpt, error, \
                 attempted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(job.delivery_id).bind(attempt.attempt).bind(attempt.status_code).bind(attempt.latency_ms)
                .bind(&attempt.response_excerpt).bind(&attempt.error).bind(attempt.attempted_at)
                .execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, \
                 last_status_code = $4, last_error = $5, updated_at = $6 WHERE id = $7")
                .bind(status).bind(attempt.attempt).bind(next).bind(attempt.status_code).bind(&attempt.error)
                .bind(now).bind(job.delivery_id).execute(&mut *tx).await?;
            if *outcome == AttemptOutcome::Succeeded {
                sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                    .bind(job.webhook.id).execute(&mut *tx).await?;
            } else {
                let since: Option<DbTime> = sqlx::query_scalar(
                    "UPDATE webhooks SET failing_since = COALESCE(failing_since, $1) WHERE id = $2 RETURNING failing_since")
                    .bind(now).bind(job.webhook.id).fetch_optional(&mut *tx).await?.flatten();
                let failing_for = since.map(|s| (now.0 - s.0).unsigned_abs()).unwrap_or_default();
                if domain::webhook::should_disable(failing_for, disable_after) {
                    let reason = format!(
                        "switched off after failing for {} min without a success (last: {})",
                        failing_for.as_secs() / 60,
                        attempt.error.clone().or(attempt.status_code.map(|c| format!("HTTP {c}"))).unwrap_or_default()
                    );
                    let switched: Option<i64> = sqlx::query_scalar(
                        "UPDATE webhooks SET active = FALSE, disabled_reason = $1, version = version + 1, updated_at = $2 \
                         WHERE id = $3 AND active RETURNING id")
                        .bind(&reason).bind(now).bind(job.webhook.id).fetch_optional(&mut *tx).await?;
                    if switched.is_some() {
                        emit_event!(tx, "webhook.disabled", "webhook", job.webhook.id,
                            &serde_json::json!({"id": job.webhook.id, "url": job.webhook.data.url, "reason": reason}));
                    }
                }
            }
        });
        Ok(())
    }

    /// The deliveries of a webhook, newest first (after delivery id `page.after`), each with
    /// its attempts.
    pub async fn list_deliveries(&self, webhook_id: i64, page: &PageRequest<i64>) -> Result<Page<Delivery, i64>> {
        let sql = format!(
            "{DELIVERY_SELECT} WHERE d.webhook_id = $1 AND ($2 IS NULL OR d.id < $2) ORDER BY d.id DESC LIMIT $3"
        );
        let rows: Vec<Delivery> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(webhook_id).bind(page.after).bind(i64::from(page.limit) + 1).fetch_all(pool).await?);
        let mut page = Page::from_overfetch(rows, page.limit, |d| d.id);
        for d in &mut page.items {
            d.log = with_pool!(self, pool => sqlx::query_as(
                "SELECT delivery_id, attempt, status_code, latency_ms, response_excerpt, error, attempted_at \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id")
                .bind(d.id).fetch_all(pool).await?);
        }
        Ok(page)
    }

    /// Makes a delivery of this webhook due now with a fresh retry schedule (also a failed
    /// or succeeded one: the receiver gets the event again).
    pub async fn retry_delivery(&self, webhook_id: i64, delivery_id: i64) -> Result<Delivery> {
        let now = DbTime::now();
        let updated: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, updated_at = $1 \
             WHERE id = $2 AND webhook_id = $3 RETURNING id")
            .bind(now).bind(delivery_id).bind(webhook_id).fetch_optional(pool).await?);
        updated.ok_or(StoreError::NotFound)?;
        let sql = format!("{DELIVERY_SELECT} WHERE d.id = $1");
        Ok(with_pool!(self, pool => sqlx::query_as(&sql).bind(delivery_id).fetch_one(pool).await?))
    }

    /// A `webhook.ping` event for this webhook alone, delivered like any other.
    pub async fn ping_webhook(&self, webhook_id: i64) -> Result<i64> {
        let now = DbTime::now();
        let id = in_tx!(self, tx => {
            let url: String = sqlx::query_scalar("SELECT url FROM webhooks WHERE id = $1").bind(webhook_id)
                .fetch_one(&mut *tx).await?;
            let payload = serde_json::json!({"webhook_id": webhook_id, "url": url}).to_string();
            let event_id: i64 = sqlx::query_scalar(
                "INSERT INTO events (event_type, entity_type, entity_id, payload, created_at, delivered_at) \
                 VALUES ('webhook.ping', 'webhook', $1, $2, $3, $3) RETURNING id")
                .bind(webhook_id).bind(payload).bind(now).fetch_one(&mut *tx).await?;
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, next_attempt_at, created_at, \
                 updated_at) VALUES ($1, $2, 'pending', 0, $3, $3, $3) RETURNING id")
                .bind(webhook_id).bind(event_id).bind(now).fetch_one(&mut *tx).await?
        });
        Ok(id)
    }
}
