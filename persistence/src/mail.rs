//! E-mail: the outbox every notification and every report sent by hand is written to, which
//! is also the mail log (`GET /mail-log`).
//!
//! Mails follow from events exactly once: the webhook fan-out queues each event that may
//! cause mail (`mail_queue`, in the transaction that hands the event out,
//! [`Store::fan_out_events`]), and [`Store::derive_mails`] turns a queued event into one mail
//! per recipient in the transaction that takes it off the queue. The mail dispatcher of any
//! node claims due mails for a lease ([`Store::claim_mails`]) and records each attempt
//! ([`Store::record_mail_attempt`]): at least once, never lost across restarts.

use crate::audit::Actor;
use crate::events::Event;
use crate::page::{Page, PageRequest};
use crate::tickets::{insert_timeline, NewTimelineEntry};
use crate::types::DbTime;
use crate::{Backend, Result, Store, StoreError};
use domain::notification::{project_step_is_mailed, Language, MailText, Notification};
use domain::project::{ProjectStatus, Responsible};
use domain::quota::ThresholdCrossing;
use domain::ticket::TicketStatus;
use rust_decimal::Decimal;
use std::time::Duration;

/// The event types that may cause mail.
pub const MAIL_EVENT_TYPES: [&str; 5] = [
    "project.status_changed",
    "project.estimate_exceeded",
    "contract.quota_threshold",
    "ticket.status_changed",
    "invoice.issued",
];

/// What the installation mails beyond the notifications every installation sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailRules {
    /// Mail issued invoices to the customer's billing address (`KONTOR_MAIL_INVOICES`).
    pub invoices: bool,
}

/// A mail in the log (without its attachment's bytes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct MailMessage {
    pub id: i64,
    /// The event it tells of; `None` for a report sent by hand.
    pub event_id: Option<i64>,
    /// `project_step`, `estimate_exceeded`, `quota_threshold`, `ticket_status`,
    /// `invoice_issued` or `report`.
    pub kind: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub recipient: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub attachment_type: Option<String>,
    /// The invoice document format rendered when the mail is sent.
    pub attachment_render: Option<String>,
    /// `pending`, `sent`, `failed` (given up) or `not_configured` (no SMTP server set).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DbTime,
    pub last_error: Option<String>,
    pub sent_at: Option<DbTime>,
    pub created_by: Option<i64>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// A file attached to a mail: given, or (for an invoice) rendered when sent.
#[derive(Debug, Clone, PartialEq)]
pub struct MailAttachment {
    pub name: String,
    pub media_type: String,
    /// The invoice document format to render (`pdf`, `zugferd`, `xrechnung-cii`, `isdoc`).
    pub render: Option<String>,
    pub content: Option<Vec<u8>>,
}

/// A mail to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMail {
    pub kind: &'static str,
    pub entity_type: &'static str,
    pub entity_id: i64,
    pub recipient: String,
    pub language: Language,
    pub text: MailText,
    pub attachment: Option<MailAttachment>,
}

/// The event recording mails sent by hand on their subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SentByHand {
    /// e.g. `report.sent`.
    pub event_type: &'static str,
    pub entity_type: &'static str,
    pub entity_id: i64,
    /// The event's data; `mail_ids` is added.
    pub payload: serde_json::Value,
}

/// A claimed mail: what the dispatcher sends.
#[derive(Debug, Clone)]
pub struct MailJob {
    pub message: MailMessage,
    /// The attachment's bytes when stored with the mail.
    pub attachment: Option<Vec<u8>>,
}

/// How an attempt to send a mail ended.
#[derive(Debug, Clone, PartialEq)]
pub enum MailOutcome {
    Sent,
    /// Failed for now (server down, a 4xx answer); try again after the wait.
    RetryAfter(Duration, String),
    /// Failed for good (a 5xx answer, the retry schedule used up, no document).
    Failed(String),
    /// No SMTP server is configured: recorded, to be retried by hand once one is.
    NotConfigured,
}

/// Which mails to list.
#[derive(Debug, Clone, Default)]
pub struct MailFilter {
    pub status: Option<String>,
    pub entity: Option<(String, i64)>,
    pub recipient: Option<String>,
}

/// A person who gets internal notifications.
type Reader = (String, String);

const MAIL_COLUMNS: &str = "id, event_id, kind, entity_type, entity_id, recipient, language, subject, body, \
    attachment_name, attachment_type, attachment_render, status, attempts, next_attempt_at, last_error, sent_at, \
    created_by, created_at, updated_at";

/// Inserts mail `$m` (`&NewMail`) inside `$tx`, due now; the new id, `None` when the event
/// already has this mail.
macro_rules! insert_mail {
    ($tx:expr, $event_id:expr, $m:expr, $created_by:expr) => {{
        let m: &NewMail = $m;
        let now = DbTime::now();
        let a = m.attachment.as_ref();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO mail_messages (event_id, kind, entity_type, entity_id, recipient, language, subject, body, \
             attachment_name, attachment_type, attachment_render, attachment, status, attempts, next_attempt_at, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, \
             $13, $14, $13, $13) ON CONFLICT (event_id, kind, recipient) DO NOTHING RETURNING id",
        )
        .bind($event_id)
        .bind(m.kind)
        .bind(m.entity_type)
        .bind(m.entity_id)
        .bind(&m.recipient)
        .bind(m.language.as_str())
        .bind(&m.text.subject)
        .bind(&m.text.body)
        .bind(a.map(|a| a.name.clone()))
        .bind(a.map(|a| a.media_type.clone()))
        .bind(a.and_then(|a| a.render.clone()))
        .bind(a.and_then(|a| a.content.clone()))
        .bind(now)
        .bind($created_by)
        .fetch_optional(&mut *$tx)
        .await?;
        id
    }};
}

impl Store {
    /// Writes mails sent by hand (a report to any recipients) and, in the same transaction,
    /// the event recording it on its subject (`report.sent`, with the ids of the mails);
    /// returns the mails.
    pub async fn send_mails(
        &self,
        mails: &[NewMail],
        created_by: Option<i64>,
        sent: &SentByHand,
    ) -> Result<Vec<MailMessage>> {
        let ids = in_tx!(self, tx => {
            let mut ids = Vec::with_capacity(mails.len());
            for m in mails {
                ids.push(insert_mail!(tx, None::<i64>, m, created_by));
            }
            let mut payload = sent.payload.clone();
            payload["mail_ids"] = serde_json::json!(ids.iter().flatten().collect::<Vec<_>>());
            emit_event!(tx, sent.event_type, sent.entity_type, sent.entity_id, &payload);
            ids
        });
        self.mails_by_id(&ids.into_iter().flatten().collect::<Vec<_>>()).await
    }

    /// The mails with these ids, in id order, in one query.
    async fn mails_by_id(&self, ids: &[i64]) -> Result<Vec<MailMessage>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The ids are integers.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        Ok(with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {MAIL_COLUMNS} FROM mail_messages WHERE id IN ({list}) ORDER BY id")).fetch_all(pool).await?))
    }

    /// One mail of the log.
    pub async fn get_mail(&self, id: i64) -> Result<MailMessage> {
        Ok(with_pool!(self, pool => sqlx::query_as(&format!("SELECT {MAIL_COLUMNS} FROM mail_messages WHERE id = $1"))
            .bind(id).fetch_one(pool).await?))
    }

    /// The mail log, newest first (before mail id `page.after`).
    pub async fn list_mails(&self, f: &MailFilter, page: &PageRequest<i64>) -> Result<Page<MailMessage, i64>> {
        let (entity_type, entity_id) = f.entity.clone().unzip();
        let rows: Vec<MailMessage> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {MAIL_COLUMNS} FROM mail_messages WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR entity_type = $2) \
             AND ($3 IS NULL OR entity_id = $3) AND ($4 IS NULL OR recipient = $4) AND ($5 IS NULL OR id < $5) \
             ORDER BY id DESC LIMIT $6"))
            .bind(&f.status).bind(entity_type).bind(entity_id).bind(&f.recipient).bind(page.after)
            .bind(i64::from(page.limit) + 1).fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |m| m.id))
    }

    /// Makes a mail due now with a fresh retry schedule (a failed or not configured one, or
    /// a sent one to send again).
    pub async fn retry_mail(&self, id: i64) -> Result<MailMessage> {
        let now = DbTime::now();
        let found: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "UPDATE mail_messages SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, \
             updated_at = $1 WHERE id = $2 RETURNING id")
            .bind(now).bind(id).fetch_optional(pool).await?);
        found.ok_or(StoreError::NotFound)?;
        self.get_mail(id).await
    }

    /// Turns up to `limit` queued events into their mails, each in the transaction that takes
    /// it off the queue (another node that read the same event finds it gone and writes
    /// nothing). The number of events handled.
    pub async fn derive_mails(&self, limit: i64, rules: MailRules) -> Result<usize> {
        let queued: Vec<Event> = with_pool!(self, pool => sqlx::query_as(
            "SELECT e.* FROM mail_queue q JOIN events e ON e.id = q.event_id ORDER BY q.event_id LIMIT $1")
            .bind(limit).fetch_all(pool).await?);
        for event in &queued {
            let mails = self.mails_of(event, rules).await?;
            in_tx!(self, tx => {
                let taken = sqlx::query("DELETE FROM mail_queue WHERE event_id = $1").bind(event.id)
                    .execute(&mut *tx).await?.rows_affected();
                if taken == 1 {
                    for m in &mails {
                        let written = insert_mail!(tx, Some(event.id), m, None::<i64>);
                        // What the client was told stays on the ticket's timeline.
                        if written.is_some() && m.kind == "ticket_status" {
                            let sent = NewTimelineEntry {
                                entry_type: "correspondence".into(),
                                visibility: "customer".into(),
                                channel: Some("email_out".into()),
                                to_addr: Some(m.recipient.clone()),
                                subject: Some(m.text.subject.clone()),
                                body: Some(m.text.body.clone()),
                                ..Default::default()
                            };
                            insert_timeline!(tx, m.entity_id, sent, None::<i64>, None::<&str>, None::<&str>, &Actor::system());
                        }
                    }
                }
            });
        }
        Ok(queued.len())
    }

    /// Claims up to `limit` due mails for `lease` (other dispatchers skip them until then).
    pub async fn claim_mails(&self, limit: i64, lease: Duration) -> Result<Vec<MailJob>> {
        let due = "status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)";
        let skip_locked = if self.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let any_due: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(&format!(
            "SELECT id FROM mail_messages WHERE {} LIMIT 1", due.replace("$2", "$1")))
            .bind(DbTime::now()).fetch_optional(pool).await?);
        if any_due.is_none() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE mail_messages SET lease_until = $1 WHERE id IN (SELECT id FROM mail_messages WHERE {due} \
             ORDER BY next_attempt_at, id LIMIT $3{skip_locked}) RETURNING id"
        );
        let claimed: Vec<i64> = with_pool!(self, pool => sqlx::query_scalar(&sql)
            .bind(DbTime::from(DbTime::now().0 + lease)).bind(DbTime::now()).bind(limit).fetch_all(pool).await?);
        // The batch's mails in one query, in id order (`RETURNING` follows no `ORDER BY`: mails
        // go out in the order they were written), and the stored attachments in another.
        let messages = self.mails_by_id(&claimed).await?;
        let mut attachments: std::collections::HashMap<i64, Vec<u8>> = std::collections::HashMap::new();
        if messages.iter().any(|m| m.attachment_name.is_some() && m.attachment_render.is_none()) {
            let list = claimed.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let rows: Vec<(i64, Vec<u8>)> = with_pool!(self, pool => sqlx::query_as(&format!(
                "SELECT id, attachment FROM mail_messages WHERE id IN ({list}) AND attachment IS NOT NULL"))
                .fetch_all(pool).await?);
            attachments.extend(rows);
        }
        Ok(messages
            .into_iter()
            .map(|message| MailJob { attachment: attachments.remove(&message.id), message })
            .collect())
    }

    /// Records an attempt of a claimed mail.
    pub async fn record_mail_attempt(&self, id: i64, outcome: &MailOutcome) -> Result<()> {
        let now = DbTime::now();
        let (status, next, error, sent) = match outcome {
            MailOutcome::Sent => ("sent", now, None, Some(now)),
            MailOutcome::RetryAfter(wait, e) => ("pending", DbTime::from(now.0 + *wait), Some(e.as_str()), None),
            MailOutcome::Failed(e) => ("failed", now, Some(e.as_str()), None),
            MailOutcome::NotConfigured => {
                ("not_configured", now, Some("no SMTP server configured (KONTOR_SMTP_URL)"), None)
            }
        };
        with_pool!(self, pool => sqlx::query(
            "UPDATE mail_messages SET status = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL, \
             last_error = $3, sent_at = COALESCE($4, sent_at), updated_at = $5 WHERE id = $6")
            .bind(status).bind(next).bind(error).bind(sent).bind(now).bind(id).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// The mails an event causes: recipients and texts as of now.
    async fn mails_of(&self, e: &Event, rules: MailRules) -> Result<Vec<NewMail>> {
        // An unreadable payload causes no mail (and never blocks the queue).
        let p: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
        let mail = |kind, entity_type, (recipient, lang): Reader, n: &Notification, attachment| {
            let language = lang.parse().unwrap_or_default();
            NewMail {
                kind,
                entity_type,
                entity_id: e.entity_id,
                recipient,
                language,
                text: n.render(language),
                attachment,
            }
        };
        let out = match e.event_type.as_str() {
            "project.status_changed" => {
                let status = |k: &str| serde_json::from_value::<ProjectStatus>(p[k].clone()).ok();
                let (Some(from), Some(to)) = (status("from"), status("to")) else { return Ok(Vec::new()) };
                if !project_step_is_mailed(from, to) {
                    return Ok(Vec::new());
                }
                // Whoever took the step knows: only the others responsible next are told.
                let actor = p["changed_by_id"].as_i64();
                let readers = match serde_json::from_value::<Responsible>(p["notify"].clone()) {
                    Ok(Responsible::BillingOffice) => self.billing_office(actor).await?,
                    Ok(_) => match p["notify_user_id"].as_i64().filter(|id| Some(*id) != actor) {
                        Some(id) => self.reader(Some(id)).await?.into_iter().collect(),
                        None => Vec::new(),
                    },
                    Err(_) => Vec::new(),
                };
                let n = Notification::ProjectStep {
                    project: p["project_name"].as_str().unwrap_or_default().to_string(),
                    from,
                    to,
                    changed_by: p["changed_by"].as_str().unwrap_or_default().to_string(),
                };
                readers.into_iter().map(|r| mail("project_step", "project", r, &n, None)).collect()
            }
            "project.estimate_exceeded" => {
                let row: Option<(String, Option<i64>, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(
                    "SELECT name, account_manager_id, project_manager_id FROM projects WHERE id = $1")
                    .bind(e.entity_id).fetch_optional(pool).await?);
                let Some((project, account_manager, project_manager)) = row else { return Ok(Vec::new()) };
                let hours = |k: &str| p[k].as_str().and_then(|s| s.parse::<Decimal>().ok()).unwrap_or_default();
                let n = Notification::EstimateExceeded {
                    project,
                    estimate_hours: hours("estimate_hours"),
                    actual_hours: hours("actual_hours"),
                };
                let reader = match self.reader(account_manager).await? {
                    Some(r) => Some(r),
                    None => self.reader(project_manager).await?,
                };
                reader.into_iter().map(|r| mail("estimate_exceeded", "project", r, &n, None)).collect()
            }
            "contract.quota_threshold" => {
                let Ok(c) = serde_json::from_str::<ThresholdCrossing>(&e.payload) else { return Ok(Vec::new()) };
                let row: Option<(String, String, String, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(
                    "SELECT k.number, k.name, c.name, c.account_manager_id FROM contracts k \
                     JOIN customers c ON c.id = k.customer_id WHERE k.id = $1")
                    .bind(c.contract_id).fetch_optional(pool).await?);
                let Some((number, name, customer, account_manager)) = row else { return Ok(Vec::new()) };
                let n = Notification::QuotaThreshold {
                    contract: format!("{number} „{name}“"),
                    customer,
                    threshold_percent: c.threshold_percent,
                    used: c.used,
                    available: c.available,
                    period_start: c.period.start,
                    period_end: c.period.end.previous_day().unwrap_or(c.period.end),
                };
                let readers = match self.reader(account_manager).await? {
                    Some(r) => vec![r],
                    None => self.billing_office(None).await?,
                };
                readers.into_iter().map(|r| mail("quota_threshold", "contract", r, &n, None)).collect()
            }
            "ticket.status_changed" => {
                let Ok(to) = serde_json::from_value::<TicketStatus>(p["to"].clone()) else { return Ok(Vec::new()) };
                #[derive(sqlx::FromRow)]
                struct Row {
                    number: String,
                    title: String,
                    email: Option<String>,
                    language: Option<String>,
                    keep_client_informed: Option<bool>,
                }
                let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(
                    "SELECT t.number, t.title, k.email, c.language, c.keep_client_informed FROM tickets t \
                     LEFT JOIN customers c ON c.id = t.customer_id LEFT JOIN customer_contacts k ON k.id = t.contact_id \
                     WHERE t.id = $1")
                    .bind(e.entity_id).fetch_optional(pool).await?);
                let Some(Row {
                    number,
                    title,
                    email: Some(email),
                    language: Some(lang),
                    keep_client_informed: Some(true),
                }) = row
                else {
                    return Ok(Vec::new());
                };
                let notes = self.notes_for_customer(e.entity_id, e.created_at).await?;
                let n = Notification::TicketStatus { number, title, to, notes };
                vec![mail("ticket_status", "ticket", (email, lang), &n, None)]
            }
            "invoice.issued" if rules.invoices => {
                let row: Option<(Option<String>, String, String, Option<time::Date>)> = with_pool!(self, pool => sqlx::query_as(
                    "SELECT c.billing_email, c.language, c.document_format, i.due_date FROM invoices i \
                     JOIN customers c ON c.id = i.customer_id WHERE i.id = $1")
                    .bind(e.entity_id).fetch_optional(pool).await?);
                let Some((Some(email), lang, format, due_date)) = row else { return Ok(Vec::new()) };
                let number = p["number"].as_str().unwrap_or_default().to_string();
                let (render, media_type, extension) = match format.as_str() {
                    "xrechnung_cii" => ("xrechnung-cii", "application/xml", "xml"),
                    "isdoc" => ("isdoc", "application/xml", "isdoc"),
                    "zugferd" => ("zugferd", "application/pdf", "pdf"),
                    _ => ("pdf", "application/pdf", "pdf"),
                };
                let file =
                    format!("{}.{extension}", number.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
                let seller = self.seller_profile().await.ok().and_then(|s| s.profile.legal_name);
                let n = Notification::InvoiceIssued {
                    number,
                    seller: seller.unwrap_or_default(),
                    gross: p["gross"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default(),
                    currency: p["currency"].as_str().unwrap_or_default().to_string(),
                    due_date,
                    attachment: Some(file.clone()),
                };
                let attachment = MailAttachment {
                    name: file,
                    media_type: media_type.into(),
                    render: Some(render.into()),
                    content: None,
                };
                vec![mail("invoice_issued", "invoice", (email, lang), &n, Some(attachment))]
            }
            _ => Vec::new(),
        };
        Ok(out)
    }

    /// The e-mail and language of an active user.
    async fn reader(&self, user_id: Option<i64>) -> Result<Option<Reader>> {
        let Some(id) = user_id else { return Ok(None) };
        Ok(with_pool!(self, pool => sqlx::query_as("SELECT email, language FROM users WHERE id = $1 AND active")
            .bind(id).fetch_optional(pool).await?))
    }

    /// Every active user with the role `billing` but `except`.
    async fn billing_office(&self, except: Option<i64>) -> Result<Vec<Reader>> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT email, language FROM users WHERE active AND (',' || roles || ',') LIKE '%,billing,%' \
             AND ($1 IS NULL OR id <> $1) ORDER BY id")
            .bind(except).fetch_all(pool).await?))
    }

    /// The customer-visible notes of a ticket written since its status change before the one
    /// at `at` (the news its contact has not been told yet), oldest first.
    async fn notes_for_customer(&self, ticket_id: i64, at: DbTime) -> Result<Vec<String>> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT body FROM ticket_timeline WHERE ticket_id = $1 AND entry_type = 'note' AND visibility = 'customer' \
             AND body IS NOT NULL AND created_at <= $2 AND id > COALESCE((SELECT id FROM ticket_timeline \
             WHERE ticket_id = $1 AND entry_type = 'status_change' AND created_at <= $2 ORDER BY id DESC LIMIT 1 OFFSET 1), 0) \
             ORDER BY id LIMIT 20")
            .bind(ticket_id).bind(at).fetch_all(pool).await?))
    }
}
