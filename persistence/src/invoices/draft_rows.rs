//! The rows a chunk of drafts starts with, written for the whole chunk at once: the
//! customers' billing versions advanced (one statement) and the invoice rows (one statement
//! per few hundred, with ids reserved first so that each stored row is found by its id).
//! PostgreSQL writes them over `UNNEST` of column arrays, SQLite with multi-row `VALUES`, as
//! the other bulk writes do ([`crate::bulk`]).

use super::InvoiceRow;
use crate::bulk::{batches, values_sql};
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, StoreError};
use rust_decimal::Decimal;
use sqlx::{PgConnection, SqliteConnection};
use time::Date;

/// Invoice rows per SQLite statement (21 parameters a row).
const ROWS_PER_STATEMENT: usize = 256;

/// A new document of a run (a draft or a settlement), its id reserved.
#[derive(Debug)]
pub(super) struct DocumentInsert<'a> {
    pub(super) id: i64,
    pub(super) kind: &'static str,
    pub(super) status: &'static str,
    pub(super) run_id: i64,
    pub(super) customer_id: i64,
    pub(super) contract_id: Option<i64>,
    pub(super) scope_ticket_id: Option<i64>,
    pub(super) scope_project_id: Option<i64>,
    pub(super) currency: &'a str,
    pub(super) period_start: Option<Date>,
    pub(super) period_end: Date,
    pub(super) legal_note: Option<&'static str>,
    pub(super) net: Decimal,
    pub(super) vat: Decimal,
    pub(super) gross: Decimal,
    /// JSON.
    pub(super) vat_breakdown: String,
    /// JSON.
    pub(super) quota_summaries: String,
    /// JSON.
    pub(super) threshold_crossings: String,
}

/// The first writes of drafts, inside a transaction (`&mut *tx`).
pub(super) trait DraftWrite {
    /// Advances the billing version of each customer `(customer id, version read)` by one
    /// where it still is the version read (a customer never changed has version 0 and no
    /// row yet); returns how many customers advanced.
    async fn advance_billing_versions(&mut self, customers: &[(i64, i64)]) -> Result<u64>;
    /// `n` ids for new documents, ascending. SQLite: the transaction holds the write lock
    /// (`BEGIN IMMEDIATE`), so the ids after the highest ever used are this writer's.
    async fn reserve_document_ids(&mut self, n: usize) -> Result<Vec<i64>>;
    /// Inserts the documents (their order reference taken from their contract) and returns
    /// them as stored, in no particular order.
    async fn insert_documents(&mut self, rows: &[DocumentInsert<'_>], at: DbTime) -> Result<Vec<InvoiceRow>>;
}

const INSERT_COLUMNS: &str = "id, kind, status, run_id, customer_id, contract_id, scope_ticket_id, scope_project_id, \
     currency, period_start, period_end, legal_note, net, vat, gross, vat_breakdown, quota_summaries, \
     threshold_crossings, order_reference, version, created_at, updated_at";

impl DraftWrite for SqliteConnection {
    async fn advance_billing_versions(&mut self, customers: &[(i64, i64)]) -> Result<u64> {
        let mut advanced = 0;
        for head in batches(customers, ROWS_PER_STATEMENT) {
            let sql =
                values_sql("INSERT INTO customer_billing_state (customer_id, version) VALUES", 2, head.len(), ")")
                    + " ON CONFLICT (customer_id) DO UPDATE SET version = customer_billing_state.version + 1 \
                   WHERE customer_billing_state.version + 1 = excluded.version";
            let mut q = sqlx::query(&sql);
            for &(customer_id, read) in head {
                q = q.bind(customer_id).bind(read + 1);
            }
            advanced += q.execute(&mut *self).await?.rows_affected();
        }
        Ok(advanced)
    }

    async fn reserve_document_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        let last: i64 = sqlx::query_scalar(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'invoices'), 0), \
             COALESCE((SELECT MAX(id) FROM invoices), 0))",
        )
        .fetch_one(&mut *self)
        .await?;
        Ok((1..=n as i64).map(|i| last + i).collect())
    }

    async fn insert_documents(&mut self, rows: &[DocumentInsert<'_>], at: DbTime) -> Result<Vec<InvoiceRow>> {
        let mut stored = Vec::with_capacity(rows.len());
        for head in batches(rows, ROWS_PER_STATEMENT) {
            let sql = values_sql(
                &format!("INSERT INTO invoices ({INSERT_COLUMNS}) VALUES"),
                18,
                head.len(),
                ", (SELECT order_reference FROM contracts WHERE id = ?), 1, ?, ?)",
            ) + " RETURNING *";
            let mut q = sqlx::query_as::<_, InvoiceRow>(&sql);
            for r in head {
                q = q
                    .bind(r.id)
                    .bind(r.kind)
                    .bind(r.status)
                    .bind(r.run_id)
                    .bind(r.customer_id)
                    .bind(r.contract_id)
                    .bind(r.scope_ticket_id)
                    .bind(r.scope_project_id)
                    .bind(r.currency)
                    .bind(r.period_start)
                    .bind(r.period_end)
                    .bind(r.legal_note)
                    .bind(ExactDecimal(r.net))
                    .bind(ExactDecimal(r.vat))
                    .bind(ExactDecimal(r.gross))
                    .bind(&r.vat_breakdown)
                    .bind(&r.quota_summaries)
                    .bind(&r.threshold_crossings)
                    .bind(r.contract_id)
                    .bind(at)
                    .bind(at);
            }
            stored.extend(q.fetch_all(&mut *self).await?);
        }
        Ok(stored)
    }
}

impl DraftWrite for PgConnection {
    async fn advance_billing_versions(&mut self, customers: &[(i64, i64)]) -> Result<u64> {
        if customers.is_empty() {
            return Ok(0);
        }
        Ok(sqlx::query(
            "INSERT INTO customer_billing_state (customer_id, version) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[]) \
             ON CONFLICT (customer_id) DO UPDATE SET version = customer_billing_state.version + 1 \
             WHERE customer_billing_state.version + 1 = excluded.version",
        )
        .bind(customers.iter().map(|c| c.0).collect::<Vec<i64>>())
        .bind(customers.iter().map(|c| c.1 + 1).collect::<Vec<i64>>())
        .execute(self)
        .await?
        .rows_affected())
    }

    async fn reserve_document_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval('invoices_id_seq') FROM generate_series(1, $1::BIGINT)")
                .bind(n as i64)
                .fetch_all(&mut *self)
                .await?;
        ids.sort_unstable();
        if ids.len() != n {
            return Err(StoreError::Conflict(format!("{n} document ids asked, {} reserved", ids.len())));
        }
        Ok(ids)
    }

    async fn insert_documents(&mut self, rows: &[DocumentInsert<'_>], at: DbTime) -> Result<Vec<InvoiceRow>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let column = |f: fn(&DocumentInsert<'_>) -> Option<i64>| rows.iter().map(f).collect::<Vec<Option<i64>>>();
        Ok(sqlx::query_as::<_, InvoiceRow>(&format!(
            "INSERT INTO invoices ({INSERT_COLUMNS}) \
             SELECT v.*, (SELECT order_reference FROM contracts WHERE id = v.contract_id), 1, $19, $19 \
             FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[], $6::BIGINT[], \
             $7::BIGINT[], $8::BIGINT[], $9::TEXT[], $10::DATE[], $11::DATE[], $12::TEXT[], $13::NUMERIC[], \
             $14::NUMERIC[], $15::NUMERIC[], $16::TEXT[], $17::TEXT[], $18::TEXT[]) \
             AS v(id, kind, status, run_id, customer_id, contract_id, scope_ticket_id, scope_project_id, currency, \
             period_start, period_end, legal_note, net, vat, gross, vat_breakdown, quota_summaries, \
             threshold_crossings) \
             RETURNING *"
        ))
        .bind(rows.iter().map(|r| r.id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.kind).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.status).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.run_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.customer_id).collect::<Vec<i64>>())
        .bind(column(|r| r.contract_id))
        .bind(column(|r| r.scope_ticket_id))
        .bind(column(|r| r.scope_project_id))
        .bind(rows.iter().map(|r| r.currency).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.period_start).collect::<Vec<Option<Date>>>())
        .bind(rows.iter().map(|r| r.period_end).collect::<Vec<Date>>())
        .bind(rows.iter().map(|r| r.legal_note).collect::<Vec<Option<&str>>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.net)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.vat)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.gross)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| r.vat_breakdown.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.quota_summaries.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.threshold_crossings.as_str()).collect::<Vec<&str>>())
        .bind(at)
        .fetch_all(self)
        .await?)
    }
}
