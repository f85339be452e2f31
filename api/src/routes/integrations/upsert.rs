//! The two idempotent upserts every helpdesk push goes through — a ticket by the helpdesk's
//! id, a time entry by the helpdesk's id — shared by the generic endpoints and the Zammad
//! webhook. Both are safe under concurrency: the database's unique keys (a ticket's external
//! system and id; `external_bookings`) let one of two racing creations win, and the loser
//! updates what the winner created.

use crate::auth::Principal;
use crate::error::{ApiError, FieldError};
use crate::routes::bookings::{booking_user, build_booking, BookingDraft};
use crate::routes::custom_fields::validate_custom_fields;
use crate::routes::tickets::check_references;
use crate::state::AppState;
use domain::custom_field::CustomFieldEntity;
use domain::helpdesk::{choose_customer, customer_mail_domain, CustomerMatch, NoCustomer, UpsertResult};
use domain::ticket::{Priority, TicketSource, TicketStatus, TicketType};
use persistence::bookings::Booking;
use persistence::tickets::{Ticket, TicketData};
use persistence::types::JsonText;
use persistence::{Actor, StoreError};
use time::Date;

/// A ticket as a helpdesk pushes it; `None` fields keep what Kontor has.
#[derive(Debug, Clone, Default)]
pub(crate) struct PushedTicket {
    pub title: String,
    pub description: Option<String>,
    /// The description of a new ticket when `description` is absent (never applied to an
    /// existing one).
    pub new_description: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    /// Values to look up as a customer's `helpdesk_ref`, in order.
    pub customer_refs: Vec<String>,
    /// The requester: e-mail and name.
    pub contact: Option<(String, Option<String>)>,
    pub external_url: Option<String>,
}

/// What a ticket upsert did.
pub(crate) struct TicketUpserted {
    pub ticket: Ticket,
    pub result: UpsertResult,
    pub customer_match: CustomerMatch,
}

/// A time entry as a helpdesk pushes it.
#[derive(Debug, Clone)]
pub(crate) struct PushedTimeEntry {
    pub ticket_external_id: String,
    pub user_email: String,
    pub service_code: String,
    pub work_date: Date,
    pub duration_minutes: i64,
    pub description: String,
    /// `None`: the service's default when created, unchanged when updated.
    pub billable: Option<bool>,
}

/// How often an upsert is tried when racing pushes of the same record keep changing it.
const ATTEMPTS: usize = 5;

/// Creates or updates the ticket `system` knows as `external_id`.
pub(crate) async fn upsert_ticket(
    state: &AppState,
    actor: &Actor,
    system: &str,
    external_id: &str,
    t: PushedTicket,
) -> Result<TicketUpserted, ApiError> {
    // A creation that lost a race to another request's becomes an update; an update that
    // lost one is applied again to what the other wrote (the last push wins).
    for _ in 0..ATTEMPTS {
        if let Some(current) = state.store.ticket_by_external(system, external_id).await? {
            match update_ticket(state, actor, current, &t).await {
                Err(ApiError::PreconditionFailed) => continue,
                done => return done,
            }
        }
        let (customer_id, customer_match) = match_customer(state, &t).await?;
        let mut data = TicketData {
            ticket_type: t.ticket_type.unwrap_or(TicketType::Ticket),
            title: t.title.clone(),
            description: t.description.clone().or_else(|| t.new_description.clone()),
            customer_id: Some(customer_id),
            contact_id: contact_of(state, actor, customer_id, &t).await?,
            project_id: None,
            task_id: None,
            contract_id: None,
            assignee_user_id: None,
            assignee_team_id: None,
            priority: t.priority.unwrap_or(Priority::Normal),
            due_date: None,
            estimate_minutes: None,
            source: TicketSource::Helpdesk,
            external_system: Some(system.to_string()),
            external_id: Some(external_id.to_string()),
            external_url: t.external_url.clone(),
            custom_fields: JsonText(serde_json::json!({})),
        };
        check_references(state, &mut data).await?;
        data.custom_fields = JsonText(serde_json::Value::Object(
            validate_custom_fields(state, CustomFieldEntity::Ticket, &data.custom_fields.0).await?,
        ));
        match state.store.create_ticket(&data, actor).await {
            Ok(ticket) => {
                let ticket = match t.status.filter(|s| *s != ticket.status) {
                    Some(to) => set_status(state, actor, ticket.id, to).await.map_err(stale_push)?,
                    None => ticket,
                };
                return Ok(TicketUpserted { ticket, result: UpsertResult::Created, customer_match });
            }
            Err(StoreError::Duplicate(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(stale_push(ApiError::PreconditionFailed))
}

/// Applies a push to an existing ticket: the fields sent, then the status. A ticket keeps its
/// customer (move it in Kontor); one without a customer gets the matched one, if any. The
/// push is merged into the ticket as it is when written (not as it was read), so racing
/// pushes do not fail each other: the last one wins.
async fn update_ticket(
    state: &AppState,
    actor: &Actor,
    current: Ticket,
    t: &PushedTicket,
) -> Result<TicketUpserted, ApiError> {
    let customer_id = match current.data.customer_id {
        Some(c) => Some(c),
        None => match_customer(state, t).await.ok().map(|(id, _)| id),
    };
    let contact_id = match (customer_id, &t.contact) {
        (Some(c), Some(_)) => contact_of(state, actor, c, t).await?,
        _ => None,
    };
    let merge = |d: &TicketData| {
        let mut d = d.clone();
        d.title = t.title.clone();
        d.description = t.description.clone().or(d.description);
        d.priority = t.priority.unwrap_or(d.priority);
        d.ticket_type = t.ticket_type.unwrap_or(d.ticket_type);
        d.external_url = t.external_url.clone().or(d.external_url);
        d.customer_id = d.customer_id.or(customer_id);
        if d.customer_id == customer_id {
            d.contact_id = contact_id.or(d.contact_id);
        }
        d
    };
    let mut result = UpsertResult::Unchanged;
    let mut ticket = current;
    let mut checked = merge(&ticket.data);
    if checked != ticket.data {
        check_references(state, &mut checked).await?;
        ticket = state
            .store
            .update_ticket(ticket.id, None, actor, |fresh: &Ticket| -> Result<TicketData, ApiError> {
                Ok(merge(&fresh.data))
            })
            .await?;
        result = UpsertResult::Updated;
    }
    if let Some(to) = t.status.filter(|s| *s != ticket.status) {
        ticket = set_status(state, actor, ticket.id, to).await?;
        result = UpsertResult::Updated;
    }
    Ok(TicketUpserted { ticket, result, customer_match: CustomerMatch::Existing })
}

/// Sets the status the helpdesk reports. The helpdesk owns the ticket's life, so any status
/// is taken (recorded on the timeline as usual); a resolved ticket of a customer billed per
/// ticket is billed as after `POST /tickets/{id}/status`.
async fn set_status(state: &AppState, actor: &Actor, ticket_id: i64, to: TicketStatus) -> Result<Ticket, ApiError> {
    let (ticket, _) = state
        .store
        .change_ticket_status(ticket_id, None, None, actor, |_: &Ticket| -> Result<TicketStatus, ApiError> { Ok(to) })
        .await?;
    crate::routes::tickets::after_status_change(state, &ticket, actor).await;
    Ok(ticket)
}

/// A version conflict while pushing means another push changed the ticket a moment ago.
fn stale_push(e: ApiError) -> ApiError {
    match e {
        ApiError::PreconditionFailed => {
            ApiError::Conflict("the record changed while this push was applied; push it again".into())
        }
        other => other,
    }
}

/// The customer of a new pushed ticket, or 422 naming the ways to match one.
async fn match_customer(state: &AppState, t: &PushedTicket) -> Result<(i64, CustomerMatch), ApiError> {
    let mut by_ref = Vec::new();
    for r in t.customer_refs.iter().filter(|r| !r.trim().is_empty()) {
        by_ref.extend(state.store.customers_by_helpdesk_ref(r).await?);
    }
    let domain = t.contact.as_ref().and_then(|(email, _)| customer_mail_domain(email));
    let by_domain = match &domain {
        Some(d) if by_ref.is_empty() => state.store.customers_by_mail_domain(d).await?,
        _ => vec![],
    };
    choose_customer(&by_ref, &by_domain).map_err(|e| {
        let refs = t.customer_refs.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(" or ");
        let detail = match e {
            NoCustomer::Unmatched => format!(
                "no customer matches this ticket: set a customer's helpdesk_ref to {}, or give one of its contacts \
                 (or its billing e-mail) an address at {}",
                if refs.is_empty() { "the helpdesk's organization reference (and send it)".into() } else { refs },
                domain.map(|d| format!("`{d}`")).unwrap_or_else(|| "the requester's company domain".into())
            ),
            NoCustomer::Ambiguous(how, ids) => format!(
                "several customers match this ticket by {}: {}; give one of them a unique helpdesk_ref",
                match how {
                    CustomerMatch::HelpdeskRef => "helpdesk_ref",
                    _ => "e-mail domain",
                },
                ids.iter().map(|id| format!("/api/v1/customers/{id}")).collect::<Vec<_>>().join(", ")
            ),
        };
        ApiError::Validation(vec![FieldError::new("customer_ref", "unmatched_customer", detail)])
    })
}

/// The contact of `customer_id` with the pushed requester's e-mail, created when missing.
async fn contact_of(
    state: &AppState,
    actor: &Actor,
    customer_id: i64,
    t: &PushedTicket,
) -> Result<Option<i64>, ApiError> {
    let Some((email, name)) = &t.contact else { return Ok(None) };
    let data = persistence::ContactData {
        name: name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| email.clone()),
        email: Some(email.trim().to_lowercase()),
        phone: None,
        position: None,
    };
    Ok(Some(state.store.contact_for_email(customer_id, &data, actor).await?))
}

/// What a time-entry upsert did, with the booking as it now is.
pub(crate) struct TimeEntryUpserted {
    pub booking: Booking,
    pub result: UpsertResult,
}

/// Creates or updates the booking of `system`'s time entry `external_id`. An entry whose
/// booking is on an invoice is 409 and unchanged — unless the push says what the booking
/// already says (helpdesks resend their entries), which is `unchanged`.
pub(crate) async fn upsert_time_entry(
    state: &AppState,
    p: &Principal,
    actor: &Actor,
    system: &str,
    external_id: &str,
    e: &PushedTimeEntry,
) -> Result<TimeEntryUpserted, ApiError> {
    let mut errors = Vec::new();
    let ticket = state.store.ticket_by_external(system, &e.ticket_external_id).await?;
    if ticket.is_none() {
        errors.push(FieldError::new(
            "ticket_external_id",
            "unknown_reference",
            format!("no ticket of `{system}` has this id; push the ticket first"),
        ));
    }
    let user = state.store.user_by_email(&e.user_email).await?;
    if user.is_none() {
        errors.push(FieldError::new("user_email", "unknown_reference", "no Kontor user has this e-mail address"));
    }
    let service = state.store.service_by_code(&e.service_code).await?;
    if service.is_none() {
        errors.push(FieldError::new("service_code", "unknown_reference", "no catalog service has this code"));
    }
    let (Some(ticket), Some((user_id, _)), Some(service_id)) = (ticket, user, service) else {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        return Err(ApiError::Validation(errors));
    };
    let user_id = booking_user(state, p, Some(user_id)).await.map_err(|e| rename(e, "user_id", "user_email"))?;
    for _ in 0..ATTEMPTS {
        let current = state.store.external_booking(system, external_id).await?;
        let draft = BookingDraft {
            user_id,
            work_date: e.work_date,
            duration: Some(e.duration_minutes),
            start: None,
            end: None,
            service_id,
            description: e.description.clone(),
            ticket_id: Some(ticket.id),
            project_id: None,
            task_id: None,
            billable: e.billable.or(current.as_ref().map(|b| b.data.billable)),
            override_changed: false,
            rate_override: current.as_ref().and_then(|b| b.data.rate_override).map(|r| crate::dto::DecimalString(r.0)),
            custom_fields: match &current {
                Some(b) => Err(b.data.custom_fields.0.clone()),
                None => Ok(serde_json::json!({})),
            },
        };
        let data = build_booking(state, p, draft).await.map_err(|e| rename(e, "service_id", "service_code"))?;
        let Some(current) = current else {
            match state.store.create_external_booking(system, external_id, &data, actor).await {
                Ok(booking) => return Ok(TimeEntryUpserted { booking, result: UpsertResult::Created }),
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if data == current.data {
            return Ok(TimeEntryUpserted { booking: current, result: UpsertResult::Unchanged });
        }
        // A booking on an invoice is refused (409) by the update itself.
        let updated = state
            .store
            .update_booking(current.id, None, actor, |_: &Booking| -> Result<_, ApiError> { Ok(data) })
            .await;
        match updated {
            Ok(booking) => return Ok(TimeEntryUpserted { booking, result: UpsertResult::Updated }),
            Err(ApiError::PreconditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(stale_push(ApiError::PreconditionFailed))
}

/// Names a booking field's problem after the pushed field it came from.
fn rename(e: ApiError, from: &str, to: &str) -> ApiError {
    match e {
        ApiError::Validation(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|mut f| {
                    if f.field == from {
                        f.field = to.to_string();
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}
