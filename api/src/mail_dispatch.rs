//! The mail dispatcher: a background task on every node that turns queued events into mails
//! ([`Store::derive_mails`]), claims due mails ([`Store::claim_mails`], one node per mail) and
//! sends them over SMTP with `lettre` (`KONTOR_SMTP_URL`, sender `KONTOR_MAIL_FROM`). An
//! issued invoice's document is rendered when its mail is sent. Without an SMTP server a mail
//! is recorded as `not_configured`, never dropped; a server that is down or answers 4xx is
//! tried again (`KONTOR_MAIL_RETRY_SCHEDULE`), a 5xx answer fails the mail for good.

use crate::config::MailSettings;
use crate::state::AppState;
use actix_web::web;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use persistence::mail::{MailJob, MailOutcome, MailRules};
use std::time::Duration;

/// The waits after the 1st, 2nd, … failed attempt: about a minute to a day.
pub const DEFAULT_SCHEDULE: &[Duration] = &[
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(24 * 3600),
];
/// Queued events turned into mails per round.
const DERIVE: i64 = 100;
/// Mails claimed per round.
const BATCH: i64 = 16;
/// How long a node holds the mails it claimed: longer than a batch's SMTP conversations may
/// take (each command waits at most `TIMEOUT`), so a live node's mail is never sent twice.
const LEASE: Duration = Duration::from_secs(600);
/// Longest wait for the SMTP server per command.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The SMTP transport of a `KONTOR_SMTP_URL`.
pub fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.timeout(Some(TIMEOUT)).build())
}

/// The dispatcher of one node.
pub struct Mailer {
    state: web::Data<AppState>,
    settings: MailSettings,
    /// The server and the sender; `None` when no SMTP server is configured.
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
}

impl Mailer {
    /// A dispatcher sending as `settings` say (checked when the configuration was read).
    pub fn new(state: web::Data<AppState>, settings: MailSettings) -> Mailer {
        let smtp = settings.smtp_url.as_deref().zip(settings.from.as_deref()).and_then(|(url, from)| {
            match (transport(url), from.parse::<Mailbox>()) {
                (Ok(t), Ok(f)) => Some((t, f)),
                _ => None,
            }
        });
        Mailer { state, settings, smtp }
    }

    /// Works until the task is aborted; waits the poll interval whenever a round found
    /// nothing to do.
    pub async fn run(self) {
        crate::webhook_dispatch::poll_rounds("mail dispatcher", self.settings.poll_interval, || self.round()).await
    }

    /// One round; whether it found work.
    async fn round(&self) -> Result<bool, persistence::StoreError> {
        let store = &self.state.store;
        let derived = store.derive_mails(DERIVE, MailRules { invoices: self.settings.invoices }).await?;
        let jobs = store.claim_mails(BATCH, LEASE).await?;
        let claimed = jobs.len();
        for job in jobs {
            let id = job.message.id;
            let outcome = self.send(job).await;
            if let Err(e) = store.record_mail_attempt(id, &outcome).await {
                // The lease runs out and the mail is sent again: at least once.
                tracing::warn!(error = %e, mail = id, "could not record a mail attempt");
            }
        }
        Ok(derived > 0 || claimed > 0)
    }

    /// Sends one mail.
    async fn send(&self, job: MailJob) -> MailOutcome {
        let Some((transport, from)) = &self.smtp else { return MailOutcome::NotConfigured };
        let m = &job.message;
        let to = match m.recipient.parse::<Mailbox>() {
            Ok(to) => to,
            Err(e) => return MailOutcome::Failed(format!("recipient `{}`: {e}", m.recipient)),
        };
        let attachment = match (&m.attachment_name, job.attachment, &m.attachment_render) {
            (Some(name), Some(bytes), _) => Some((name.clone(), bytes)),
            (Some(name), None, Some(format)) => {
                match crate::routes::invoice_documents::issued_file(&self.state, m.entity_id, format).await {
                    Ok(bytes) => Some((name.clone(), bytes)),
                    // The document cannot be made (a field it needs is missing): no retry helps.
                    Err(e @ crate::error::ApiError::Conflict(_)) => {
                        return MailOutcome::Failed(format!("document {name}: {e}"))
                    }
                    Err(e) => return self.retry_or_fail(m.attempts, format!("document {name}: {e}")),
                }
            }
            _ => None,
        };
        let builder = Message::builder().from(from.clone()).to(to).subject(&m.subject);
        let text = SinglePart::plain(m.body.clone());
        let message = match attachment {
            None => builder.singlepart(text),
            Some((name, bytes)) => {
                let media = m.attachment_type.as_deref().unwrap_or("application/octet-stream");
                let media =
                    ContentType::parse(media).unwrap_or(ContentType::parse("application/octet-stream").unwrap());
                builder
                    .multipart(MultiPart::mixed().singlepart(text).singlepart(Attachment::new(name).body(bytes, media)))
            }
        };
        let message = match message {
            Ok(msg) => msg,
            Err(e) => return MailOutcome::Failed(format!("the mail cannot be built: {e}")),
        };
        match transport.send(message).await {
            Ok(_) => MailOutcome::Sent,
            Err(e) if e.is_permanent() => MailOutcome::Failed(format!("refused by the SMTP server: {e}")),
            Err(e) => self.retry_or_fail(m.attempts, format!("SMTP: {e}")),
        }
    }

    /// Try again after the schedule's wait for this attempt, or give up once it is used up.
    fn retry_or_fail(&self, attempts_before: i64, error: String) -> MailOutcome {
        let attempt = u32::try_from(attempts_before + 1).unwrap_or(u32::MAX);
        match domain::webhook::retry_after(&self.settings.retry_schedule, attempt, rand::random()) {
            Some(wait) => MailOutcome::RetryAfter(wait, error),
            None => MailOutcome::Failed(error),
        }
    }
}
