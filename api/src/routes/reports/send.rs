//! Sending a report by e-mail (`POST /reports/send`): the status or project report printed
//! as its HTML page or as PDF, attached to one mail per recipient with the sender's message;
//! recorded in the mail log and, as the event `report.sent`, on the report's subject.

use super::printed::{self, PrintFormat};
use super::{imprint, project_report, status_report, StatusQuery};
use crate::auth::Principal;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::Json;
use crate::routes::mail_log::MailOut;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::notification::{Language, Notification};
use domain::Permission;
use persistence::mail::{MailAttachment, NewMail, SentByHand};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use validator::ValidateEmail;

/// Most recipients of one report mail.
const MAX_RECIPIENTS: usize = 20;
/// Longest message.
const MAX_MESSAGE: usize = 5000;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// `GET /reports/status`; `params` as its query (`customer_id` | `project_id` |
    /// `contract_id`, `from`, `to`).
    Status,
    /// `GET /projects/{id}/report`; `params`: `{"project_id": …}`.
    Project,
}

/// What a report covers, as its `GET` takes it: for `status` exactly one of `customer_id`,
/// `project_id`, `contract_id` and optionally `from`/`to`; for `project` its `project_id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub contract_id: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
}

/// A report to mail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendReport {
    pub report: ReportKind,
    pub params: ReportParams,
    /// E-mail addresses (1–20; anyone, not only users).
    #[schema(min_items = 1, max_items = 20, example = json!(["it-lead@kunde.example"]))]
    pub recipients: Vec<String>,
    /// Text above the report (at most 5,000 characters).
    #[schema(max_length = 5000)]
    pub message: Option<String>,
    /// Language of the mail and the report (default: the customer's, else German).
    pub language: Option<Language>,
    /// How the attached report is printed: `html` (default, one self-contained page) or
    /// `pdf`.
    pub format: Option<PrintFormat>,
}

/// The mails written, one per recipient, queued for sending.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSent {
    pub mails: Vec<MailOut>,
}

/// The project of a project report: `project_id` and nothing else.
fn project_param(q: &ReportParams) -> Result<i64, ApiError> {
    let mut errors = Vec::new();
    for (field, given) in [
        ("customer_id", q.customer_id.is_some()),
        ("contract_id", q.contract_id.is_some()),
        ("from", q.from.is_some()),
        ("to", q.to.is_some()),
    ] {
        if given {
            errors.push(FieldError::new(format!("params.{field}"), "not_allowed", "not part of the project report"));
        }
    }
    if q.project_id.is_none() {
        errors.push(FieldError::new("params.project_id", "required", "the project to report on"));
    }
    match (q.project_id, errors.is_empty()) {
        (Some(id), true) => Ok(id),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// The report's own field errors renamed `params.<field>`.
fn in_params(e: ApiError) -> ApiError {
    match e {
        ApiError::Validation(fields) => ApiError::Validation(
            fields.into_iter().map(|f| FieldError { field: format!("params.{}", f.field), ..f }).collect(),
        ),
        other => other,
    }
}

/// Send a report by e-mail (admin, billing, manager): the status report or a project report,
/// printed as its HTML page (or as PDF with `format: pdf`) and attached to one mail per recipient with your
/// message. The mails are in the mail log (`entity_type`/`entity_id`: the report's subject)
/// and the event `report.sent` records the sending on the customer, project or contract.
/// Answers the queued mails (sent by the mail dispatcher; without `KONTOR_SMTP_URL` they are
/// recorded as `not_configured`).
#[utoipa::path(operation_id = "send_report", post, path = "/api/v1/reports/send", tag = "reports", request_body = SendReport,
    security(("bearer" = [])),
    responses(
        (status = 202, body = ReportSent),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not admin, billing or manager", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The report's customer, project or contract does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid recipients, message or `params` (named `params.…`)", body = Problem, content_type = "application/problem+json")))]
pub async fn send(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<SendReport>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::SendMail)?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    let mut recipients: Vec<String> = Vec::new();
    for (i, r) in b.recipients.iter().enumerate() {
        let r = r.trim().to_lowercase();
        if r.len() > 254 || !r.validate_email() {
            errors.push(FieldError::new(format!("recipients[{i}]"), "email", "an e-mail address"));
        } else if !recipients.contains(&r) {
            recipients.push(r);
        }
    }
    if b.recipients.is_empty() || b.recipients.len() > MAX_RECIPIENTS {
        errors.push(FieldError::new("recipients", "length", format!("1 to {MAX_RECIPIENTS} addresses")));
    }
    let message = b.message.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_string);
    if message.as_ref().is_some_and(|m| m.chars().count() > MAX_MESSAGE) {
        errors.push(FieldError::new("message", "length", format!("at most {MAX_MESSAGE} characters")));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let customer_language = |id: Option<i64>| {
        let state = state.clone();
        async move {
            match id {
                Some(id) => state.store.get_customer(id).await.map(|c| c.data.language).unwrap_or_default(),
                None => Language::De,
            }
        }
    };
    let format = b.format.unwrap_or(PrintFormat::Html);
    let (title, file, entity_type, entity_id, lang, doc): (String, String, &'static str, i64, Language, _) = match b
        .report
    {
        ReportKind::Status => {
            let p = &b.params;
            let q = StatusQuery {
                customer_id: p.customer_id,
                project_id: p.project_id,
                contract_id: p.contract_id,
                from: p.from,
                to: p.to,
            };
            let r = status_report(&state, &q).await.map_err(in_params)?;
            let lang = match b.language {
                Some(l) => l,
                None => customer_language(r.customer.as_ref().map(|c| c.id)).await,
            };
            let kind = match r.subject.kind.as_str() {
                "customer" => "customer",
                "project" => "project",
                _ => "contract",
            };
            let title = format!("{}: {}", lang.pick("Statusbericht", "Status report"), r.subject.label);
            let file = format!(
                "{}-{kind}-{}-{}.{}",
                lang.pick("statusbericht", "status-report"),
                r.subject.id,
                r.to,
                format.extension()
            );
            (title, file, kind, r.subject.id, lang, printed::status_document(&r, &imprint(&state, lang).await))
        }
        ReportKind::Project => {
            let r = project_report(&state, project_param(&b.params)?).await.map_err(in_params)?;
            let lang = match b.language {
                Some(l) => l,
                None => customer_language(r.customer.as_ref().map(|c| c.id)).await,
            };
            let title = format!("{}: {}", lang.pick("Projektbericht", "Project report"), r.name);
            let file =
                format!("{}-{}.{}", lang.pick("projektbericht", "project-report"), r.project_id, format.extension());
            (title, file, "project", r.project_id, lang, printed::project_document(&r, &imprint(&state, lang).await))
        }
    };
    let actor = p.actor(&req);
    let user_id = match &p {
        Principal::User { id, .. } => Some(*id),
        _ => None,
    };
    let sender = match user_id {
        Some(id) => state.store.get_user(id).await.map(|u| u.name).unwrap_or(actor.name.clone()),
        None => actor.name.clone(),
    };
    let notification = Notification::Report { title, message: message.clone(), sender, attachment: file.clone() };
    let text = notification.render(lang);
    let attachment = MailAttachment {
        name: file,
        media_type: format.media_type().into(),
        render: None,
        content: Some(format.render(&doc)?),
    };
    let mails: Vec<NewMail> = recipients
        .iter()
        .map(|r| NewMail {
            kind: notification.kind(),
            entity_type,
            entity_id,
            recipient: r.clone(),
            language: lang,
            text: text.clone(),
            attachment: Some(attachment.clone()),
        })
        .collect();
    let sent = SentByHand {
        event_type: "report.sent",
        entity_type,
        entity_id,
        payload: serde_json::json!({"report": b.report, "entity_type": entity_type, "entity_id": entity_id,
            "subject": text.subject, "recipients": recipients, "message": message, "sent_by": actor.name}),
    };
    let mails = state.store.send_mails(&mails, user_id, &sent).await?;
    Ok(HttpResponse::Accepted().json(ReportSent { mails: mails.into_iter().map(MailOut::from).collect() }))
}
