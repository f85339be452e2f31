//! How an invoice or credit note reads in the API ([`InvoiceOut`]): the customer as
//! printed, lines, settled positions, VAT, totals, references, the document formats it
//! can be fetched in, and what may be done with it now.

use super::*;

/// The billed customer as printed on the invoice: frozen at issue, the current record
/// while the invoice is a draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceCustomer {
    pub id: i64,
    /// Customer (debtor) number.
    pub number: String,
    pub name: String,
    pub address: InvoiceAddress,
    pub vat_id: Option<String>,
    pub billing_email: Option<String>,
    /// Debtor number in the accounting system.
    pub accounting_ref: Option<String>,
    pub payment_terms_days: i64,
    /// `domestic`, `eu_reverse_charge` or `export`.
    pub vat_treatment: String,
}

/// Billing address.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceAddress {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

impl From<CustomerSnapshot> for InvoiceCustomer {
    fn from(s: CustomerSnapshot) -> Self {
        InvoiceCustomer {
            id: s.customer_id,
            number: s.number,
            name: s.name,
            address: InvoiceAddress {
                street: s.address_street,
                postal_code: s.address_postal_code,
                city: s.address_city,
                country: s.address_country,
            },
            vat_id: s.vat_id,
            billing_email: s.billing_email,
            accounting_ref: s.accounting_ref,
            payment_terms_days: s.payment_terms_days,
            vat_treatment: s.vat_treatment,
        }
    }
}

/// One invoice line.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineOut {
    pub id: i64,
    /// Order on the invoice.
    pub line_no: i64,
    #[serde(flatten)]
    pub line: InvoiceLine,
}

/// A position the document settles and how: `billed` on a line, `covered` by the
/// contract, `partly_covered`, or `non_billable` — a draft reserves all of them, and
/// issuing it settles them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettledPositionOut {
    pub position: domain::position::PositionRef,
    pub treatment: domain::engine::PositionStatus,
    /// The contract it was billed or covered under.
    pub contract_id: Option<i64>,
    /// Bookings: minutes worked, after rounding, and covered by the contract.
    pub actual_minutes: Option<i64>,
    pub rounded_minutes: Option<i64>,
    pub covered_minutes: Option<i64>,
    /// Value of the covered part at the resolved rate (profitability).
    #[schema(value_type = Option<String>, example = "96.00")]
    pub covered_value: Option<DecimalString>,
}

/// How much of a document an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceDetail {
    /// Header, totals, counts (`GET /invoices?fields=summary`).
    Summary,
    /// With lines (lists, the accounting feed).
    Lines,
    /// With lines and the positions it settles (single documents).
    Full,
}

/// What `GET /invoices` returns per document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceFields {
    /// Everything but the settled positions (default).
    #[default]
    Lines,
    /// Header, totals and counts: no `lines`.
    Summary,
}

/// Another document this one refers to.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentRef {
    pub id: i64,
    pub number: Option<String>,
}

/// An invoice or credit note with everything an accounting system needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceOut {
    pub id: i64,
    /// `invoice`, `credit_note` or `settlement` (a committed proposal without lines: it
    /// settles covered and non-billable positions and closes quota periods but bills
    /// nothing, so it has no number, is never in the accounting feed and is never sent).
    pub kind: InvoiceKind,
    /// `draft`, `issued`, `paid` or `cancelled`; a settlement is `settled` when committed
    /// and `cancelled` once cancelled.
    pub status: InvoiceStatus,
    /// e.g. `RE-2026-00017`; `null` while a draft, and always for a settlement.
    pub number: Option<String>,
    /// Number series (`RE`, credit notes `GS`); set at issue.
    pub series: Option<String>,
    pub customer_id: i64,
    pub customer: InvoiceCustomer,
    /// The contract the invoice is for (a separate-invoice contract or a contract run).
    pub contract_id: Option<i64>,
    /// The run that created the draft.
    pub run_id: Option<i64>,
    /// Created for one ticket ("invoice this ticket", immediate billing).
    pub ticket_id: Option<i64>,
    /// Created for one project.
    pub project_id: Option<i64>,
    /// ISO 4217.
    pub currency: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub issue_date: Option<String>,
    /// Issue date plus the customer's payment terms.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// The lines (absent with `GET /invoices?fields=summary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<InvoiceLineOut>>,
    /// Number of lines.
    pub line_count: usize,
    /// Every position the document settles with its treatment — billed, covered and
    /// non-billable work alike (single-document answers only; the proof of service shows
    /// them with dates and texts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<SettledPositionOut>>,
    /// VAT per rate: the summed nets of the lines with that rate and the VAT on the sum.
    pub vat: Vec<VatAmount>,
    pub totals: Totals,
    /// `reverse_charge` or `export` (0 % VAT).
    pub legal_note: Option<LegalNote>,
    /// The sentence the legal note prints.
    pub legal_note_text: Option<String>,
    pub notes: Option<String>,
    /// The buyer's order reference (purchase order number).
    pub order_reference: Option<String>,
    /// Prepaid quota and budget figures of the contract periods the invoice settles.
    pub quota_summaries: Vec<QuotaSummary>,
    /// Credit note: the invoice it cancels.
    pub cancels: Option<DocumentRef>,
    /// Cancelled invoice: its credit note.
    pub cancelled_by: Option<DocumentRef>,
    /// When an accounting system acknowledged the export.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub exported_at: Option<String>,
    /// The document format the accounting export acknowledged, when it said.
    pub exported_format: Option<String>,
    /// The files an issued invoice or credit note can be fetched as (none for drafts and
    /// settlements): the format, its media type and the link.
    pub documents: Vec<crate::routes::invoice_documents::DocumentLink>,
    #[schema(value_type = Option<String>, format = Date)]
    pub paid_on: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<String>,
    /// What may be done with the document now (`edit`, `delete`, `issue`, `mark_paid`, `cancel`).
    pub allowed_actions: Vec<String>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

list_response!(InvoiceList, InvoiceOut, "A page of invoices and credit notes, newest first.");

/// The sentence a legal note prints.
pub(crate) fn legal_text(n: LegalNote) -> &'static str {
    match n {
        LegalNote::ReverseCharge => {
            "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Council Directive 2006/112/EC)."
        }
        LegalNote::Export => "Export outside the EU: not subject to VAT.",
    }
}

/// The invoice as the API shows it. Drafts show the customer's current record; issued
/// documents the snapshot taken at issue.
pub async fn invoice_out(
    store: &persistence::Store,
    i: Invoice,
    detail: InvoiceDetail,
) -> Result<InvoiceOut, ApiError> {
    let documents = crate::routes::invoice_documents::document_links(&i);
    let customer = match i.customer_snapshot.clone() {
        Some(s) => s,
        None => CustomerSnapshot::of(&store.get_customer(i.customer_id).await?),
    };
    let reference = |id: Option<i64>| async move {
        match id {
            Some(id) => Ok::<_, ApiError>(Some(DocumentRef { id, number: store.get_invoice(id).await?.number })),
            None => Ok(None),
        }
    };
    let cancels = reference(i.cancels_id).await?;
    let cancelled_by = reference(i.cancelled_by_id).await?;
    let positions = match detail {
        InvoiceDetail::Full => Some(
            store
                .invoice_positions(i.id)
                .await?
                .into_iter()
                .map(|p| SettledPositionOut {
                    position: p.position,
                    treatment: p.treatment,
                    contract_id: p.contract_id,
                    actual_minutes: p.actual_minutes,
                    rounded_minutes: p.rounded_minutes,
                    covered_minutes: p.covered_minutes,
                    covered_value: p.covered_value.map(|v| DecimalString::money(v, i.currency)),
                })
                .collect(),
        ),
        _ => None,
    };
    let line_count = i.lines.len();
    let lines = (detail != InvoiceDetail::Summary)
        .then(|| i.lines.into_iter().map(|l| InvoiceLineOut { id: l.id, line_no: l.line_no, line: l.line }).collect());
    Ok(InvoiceOut {
        id: i.id,
        kind: i.kind,
        status: i.status,
        number: i.number,
        series: i.series,
        customer_id: i.customer_id,
        customer: InvoiceCustomer::from(customer),
        contract_id: i.contract_id,
        run_id: i.run_id,
        ticket_id: i.scope_ticket_id,
        project_id: i.scope_project_id,
        currency: i.currency.code().to_string(),
        period_start: i.period_start.map(date_text),
        period_end: date_text(i.period_end),
        issue_date: i.issue_date.map(date_text),
        due_date: i.due_date.map(date_text),
        lines,
        line_count,
        positions,
        vat: i.vat,
        totals: i.totals,
        legal_note: i.legal_note,
        legal_note_text: i.legal_note.map(|n| legal_text(n).to_string()),
        notes: i.notes,
        order_reference: i.order_reference,
        quota_summaries: i.quota_summaries,
        cancels,
        cancelled_by,
        exported_at: i.exported_at.as_ref().map(timestamp),
        exported_format: i.exported_format.clone(),
        documents,
        paid_on: i.paid_on.map(date_text),
        issued_at: i.issued_at.as_ref().map(timestamp),
        cancelled_at: i.cancelled_at.as_ref().map(timestamp),
        allowed_actions: i.status.allowed_actions(i.kind).iter().map(|a| a.as_str().to_string()).collect(),
        version: i.version,
        created_at: timestamp(&i.created_at),
        updated_at: timestamp(&i.updated_at),
    })
}
