//! The bulk writes of invoice runs — a customer's draft lines and quota entries, the stamps
//! that make its bookings and expenses held by a draft, its fee periods; issuing many drafts
//! at once (numbers, ledger, events, audit) — and the history of cancelled documents, in the
//! form each backend writes fastest:
//!
//! - PostgreSQL: one statement per table over `UNNEST` of column arrays (a handful of
//!   parameters whatever the row count; the statement is prepared once per connection);
//! - SQLite: multi-row `VALUES` statements of a few fixed shapes with anonymous parameters.
//!
//! Rows are found by primary key in every update, never by scanning a table.

use crate::audit::Actor;
use crate::types::{DbTime, ExactDecimal};
use crate::Result;
use domain::engine::{InvoiceLine, PositionStatus};
use domain::quota::QuotaEntry;
use rust_decimal::Decimal;
use sqlx::{PgConnection, SqliteConnection};
use time::Date;

/// A table whose rows are invoice positions (held by at most one document: `invoice_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PositionTable {
    Bookings,
    Expenses,
}

/// The stamp a draft writes on a booking or expense it holds: which document holds it and
/// how it settles it. Written only where the row is still open in `version`.
#[derive(Debug, Clone)]
pub(crate) struct PositionStamp {
    pub(crate) id: i64,
    pub(crate) version: i64,
    pub(crate) invoice_id: i64,
    pub(crate) contract_id: Option<i64>,
    /// `None` for a booking whose own minutes the document does not settle (only fields).
    pub(crate) treatment: Option<PositionStatus>,
    pub(crate) actual: Option<i64>,
    pub(crate) rounded: Option<i64>,
    pub(crate) covered: Option<i64>,
    pub(crate) covered_value: Option<Decimal>,
    /// Bookings: the settled custom-field quantities as JSON ([`SettledField`]s).
    pub(crate) fields: Option<String>,
}

/// A custom-field quantity of a booking that a document settles (in `bookings.settled_fields`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SettledField {
    pub(crate) field_id: i64,
    pub(crate) contract_id: Option<i64>,
    pub(crate) treatment: String,
    pub(crate) covered_value: Option<String>,
}

/// One settled position of a document (as `settled_positions` shows it; cancelled documents
/// keep theirs in `invoice_positions`).
#[derive(Debug, Clone)]
pub(crate) struct PositionInsert {
    pub(crate) key: String,
    pub(crate) booking_id: Option<i64>,
    pub(crate) expense_id: Option<i64>,
    pub(crate) fee: Option<(i64, Date)>,
    pub(crate) contract_id: Option<i64>,
    pub(crate) treatment: PositionStatus,
    pub(crate) actual: Option<i64>,
    pub(crate) rounded: Option<i64>,
    pub(crate) covered: Option<i64>,
    pub(crate) covered_value: Option<Decimal>,
    pub(crate) version: Option<i64>,
}

/// One line of a draft: invoice id, line number, the line.
pub(crate) type LineInsert<'a> = (i64, i64, &'a InvoiceLine);

/// What issuing sets on one draft of a batch (series, year, issue date and time are the
/// batch's).
#[derive(Debug, Clone)]
pub(crate) struct IssuedNumber {
    pub(crate) id: i64,
    pub(crate) seq: i64,
    pub(crate) number: String,
    pub(crate) due_date: Date,
    /// The customer snapshot as JSON.
    pub(crate) snapshot: String,
    pub(crate) feed_seq: i64,
}

/// The numbering of a batch of drafts issued together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IssueBatchHead<'a> {
    pub(crate) series: &'a str,
    pub(crate) year: i64,
    pub(crate) issue_date: Date,
    pub(crate) at: DbTime,
    /// The seller profile frozen into every draft of the batch (JSON).
    pub(crate) seller: Option<&'a str>,
}

/// An event to record (`events` row): type, entity type, entity id, payload JSON.
pub(crate) type EventInsert<'a> = (&'a str, &'a str, i64, String);

/// An audit record of one entity (`audit_log` row): entity id, state before and after (JSON).
pub(crate) type AuditInsert = (i64, Option<String>, Option<String>);

/// Bulk writes inside a transaction (`&mut *tx`).
pub(crate) trait BulkWrite {
    /// Inserts invoice lines.
    async fn insert_lines(&mut self, rows: &[LineInsert<'_>]) -> Result<usize>;
    /// Inserts the positions of a cancelled document into the history (`invoice_positions`).
    async fn insert_history(&mut self, rows: &[(i64, PositionInsert)]) -> Result<usize>;
    /// Inserts the quota entries a draft writes when issued (`(invoice id, entry)`).
    async fn insert_quota_entries(&mut self, rows: &[(i64, &QuotaEntry)]) -> Result<usize>;
    /// Stamps the rows of `table` with the document holding them, each only if it is open
    /// (no document) and still in the version computed; returns how many were stamped.
    async fn stamp(&mut self, table: PositionTable, rows: &[PositionStamp]) -> Result<u64>;
    /// Records the fee periods `(invoice id, contract id, period start)` a document bills. A
    /// period another live document bills fails with [`crate::StoreError::Duplicate`].
    async fn insert_fee_periods(&mut self, rows: &[(i64, i64, Date)]) -> Result<usize>;
    /// Issues the drafts `rows` (each only while it is a draft); returns how many were issued.
    async fn issue_drafts(&mut self, head: IssueBatchHead<'_>, rows: &[IssuedNumber]) -> Result<u64>;
    /// Writes the quota entries of the documents `ids` to the ledger, document by document
    /// in the order given (each document's entries in their order).
    async fn write_ledger(&mut self, ids: &[i64], at: DbTime) -> Result<u64>;
    /// Records events, in order, at `at`.
    async fn insert_events(&mut self, rows: &[EventInsert<'_>], at: DbTime) -> Result<u64>;
    /// Records what `actor` did (`action`) to entities of `entity_type`, in order.
    async fn insert_audit(
        &mut self,
        actor: &Actor,
        entity_type: &str,
        action: &str,
        rows: &[AuditInsert],
    ) -> Result<u64>;
}

/// A count of minutes as stored (`None` when absent or beyond `i64`).
pub(crate) fn to_i64(v: Option<u64>) -> Option<i64> {
    v.and_then(|m| i64::try_from(m).ok())
}

fn positions_json(l: &InvoiceLine) -> Result<String> {
    Ok(serde_json::to_string(&l.positions)?)
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: UNNEST over column arrays.

impl BulkWrite for PgConnection {
    async fn insert_lines(&mut self, rows: &[LineInsert<'_>]) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut positions = Vec::with_capacity(rows.len());
        for (_, _, l) in rows {
            positions.push(positions_json(l)?);
        }
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, line_no, kind, description, contract_id, service_id, ticket_id, \
             quantity, minutes, unit, unit_price, net, vat_rate, surcharge, positions) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], \
             $7::BIGINT[], $8::NUMERIC[], $9::BIGINT[], $10::TEXT[], $11::NUMERIC[], $12::NUMERIC[], $13::NUMERIC[], \
             $14::TEXT[], $15::TEXT[])",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.1).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.2.kind.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.2.description.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.2.contract_id).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.2.service_id).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.2.ticket_id).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.2.quantity)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| to_i64(r.2.minutes)).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.2.unit.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.2.unit_price)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.2.net)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.2.vat_rate)).collect::<Vec<ExactDecimal>>())
        .bind(rows.iter().map(|r| r.2.surcharge.map(|s| s.as_str())).collect::<Vec<Option<&str>>>())
        .bind(positions)
        .execute(self)
        .await?;
        Ok(rows.len())
    }

    async fn insert_history(&mut self, rows: &[(i64, PositionInsert)]) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        sqlx::query(
            "INSERT INTO invoice_positions (invoice_id, position_key, booking_id, expense_id, fee_contract_id, \
             fee_period_start, contract_id, treatment, actual_minutes, rounded_minutes, covered_minutes, covered_value, \
             position_version, active) \
             SELECT *, FALSE FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], \
             $6::DATE[], $7::BIGINT[], $8::TEXT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::NUMERIC[], \
             $13::BIGINT[])",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.1.key.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.1.booking_id).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.expense_id).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.fee.map(|f| f.0)).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.fee.map(|f| f.1)).collect::<Vec<Option<Date>>>())
        .bind(rows.iter().map(|r| r.1.contract_id).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.treatment.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.1.actual).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.rounded).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.covered).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.1.covered_value.map(ExactDecimal)).collect::<Vec<Option<ExactDecimal>>>())
        .bind(rows.iter().map(|r| r.1.version).collect::<Vec<Option<i64>>>())
        .execute(self)
        .await?;
        Ok(rows.len())
    }

    async fn insert_quota_entries(&mut self, rows: &[(i64, &QuotaEntry)]) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut positions = Vec::with_capacity(rows.len());
        for (_, e) in rows {
            positions.push(e.position.map(|p| serde_json::to_string(&p)).transpose()?);
        }
        sqlx::query(
            "INSERT INTO invoice_quota_entries (invoice_id, contract_id, period_start, origin_period_start, kind, \
             amount, position) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::DATE[], $4::DATE[], $5::TEXT[], $6::NUMERIC[], \
             $7::TEXT[])",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.1.contract_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.1.period_start).collect::<Vec<Date>>())
        .bind(rows.iter().map(|r| r.1.origin_period_start).collect::<Vec<Date>>())
        .bind(rows.iter().map(|r| r.1.kind.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| ExactDecimal(r.1.amount)).collect::<Vec<ExactDecimal>>())
        .bind(positions)
        .execute(self)
        .await?;
        Ok(rows.len())
    }

    async fn stamp(&mut self, table: PositionTable, rows: &[PositionStamp]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let q = match table {
            PositionTable::Bookings => sqlx::query(
                "UPDATE bookings SET invoice_id = v.invoice_id, settled_contract_id = v.contract_id, \
                 treatment = v.treatment, actual_minutes = v.actual, rounded_minutes = v.rounded, \
                 covered_minutes = v.covered, covered_value = v.covered_value, settled_fields = v.fields, \
                 version = bookings.version + 1 \
                 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::BIGINT[], \
                 $7::BIGINT[], $8::BIGINT[], $9::NUMERIC[], $10::TEXT[]) \
                 AS v(id, version, invoice_id, contract_id, treatment, actual, rounded, covered, covered_value, fields) \
                 WHERE bookings.id = v.id AND bookings.version = v.version AND bookings.invoice_id IS NULL",
            ),
            PositionTable::Expenses => sqlx::query(
                "UPDATE expenses SET invoice_id = v.invoice_id, settled_contract_id = v.contract_id, \
                 treatment = v.treatment, covered_value = v.covered_value, version = expenses.version + 1 \
                 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::NUMERIC[]) \
                 AS v(id, version, invoice_id, contract_id, treatment, covered_value) \
                 WHERE expenses.id = v.id AND expenses.version = v.version AND expenses.invoice_id IS NULL",
            ),
        };
        let q = q
            .bind(rows.iter().map(|r| r.id).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.version).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.invoice_id).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.contract_id).collect::<Vec<Option<i64>>>())
            .bind(rows.iter().map(|r| r.treatment.map(|t| t.as_str())).collect::<Vec<Option<&str>>>());
        let q = match table {
            PositionTable::Bookings => q
                .bind(rows.iter().map(|r| r.actual).collect::<Vec<Option<i64>>>())
                .bind(rows.iter().map(|r| r.rounded).collect::<Vec<Option<i64>>>())
                .bind(rows.iter().map(|r| r.covered).collect::<Vec<Option<i64>>>())
                .bind(rows.iter().map(|r| r.covered_value.map(ExactDecimal)).collect::<Vec<Option<ExactDecimal>>>())
                .bind(rows.iter().map(|r| r.fields.as_deref()).collect::<Vec<Option<&str>>>()),
            PositionTable::Expenses => {
                q.bind(rows.iter().map(|r| r.covered_value.map(ExactDecimal)).collect::<Vec<Option<ExactDecimal>>>())
            }
        };
        Ok(q.execute(self).await?.rows_affected())
    }

    async fn insert_fee_periods(&mut self, rows: &[(i64, i64, Date)]) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        sqlx::query(
            "INSERT INTO contract_fee_periods (invoice_id, contract_id, period_start) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::DATE[])",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.1).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.2).collect::<Vec<Date>>())
        .execute(self)
        .await?;
        Ok(rows.len())
    }

    async fn issue_drafts(&mut self, head: IssueBatchHead<'_>, rows: &[IssuedNumber]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invoices SET status = 'issued', series = $1, number_year = $2, number_seq = v.seq, \
             number = v.number, issue_date = $3, due_date = v.due_date, customer_snapshot = v.snapshot, \
             feed_seq = v.feed_seq, issued_at = $4, seller_snapshot = $11, version = invoices.version + 1, \
             updated_at = $4 FROM UNNEST($5::BIGINT[], $6::BIGINT[], $7::TEXT[], $8::DATE[], $9::TEXT[], $10::BIGINT[]) \
             AS v(id, seq, number, due_date, snapshot, feed_seq) \
             WHERE invoices.id = v.id AND invoices.status = 'draft'",
        )
        .bind(head.series)
        .bind(head.year)
        .bind(head.issue_date)
        .bind(head.at)
        .bind(rows.iter().map(|r| r.id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.seq).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.number.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.due_date).collect::<Vec<Date>>())
        .bind(rows.iter().map(|r| r.snapshot.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.feed_seq).collect::<Vec<i64>>())
        .bind(head.seller)
        .execute(self)
        .await?;
        Ok(done.rows_affected())
    }

    async fn write_ledger(&mut self, ids: &[i64], at: DbTime) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "INSERT INTO quota_ledger (contract_id, period_start, origin_period_start, kind, amount, position, \
             invoice_id, created_at) SELECT q.contract_id, q.period_start, q.origin_period_start, q.kind, q.amount, \
             q.position, q.invoice_id, $2 FROM UNNEST($1::BIGINT[]) WITH ORDINALITY AS d(id, ord) \
             JOIN invoice_quota_entries q ON q.invoice_id = d.id ORDER BY d.ord, q.id",
        )
        .bind(ids)
        .bind(at)
        .execute(self)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_events(&mut self, rows: &[EventInsert<'_>], at: DbTime) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "INSERT INTO events (event_type, entity_type, entity_id, payload, created_at) \
             SELECT e.event_type, e.entity_type, e.entity_id, e.payload, $5 \
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[]) WITH ORDINALITY \
             AS e(event_type, entity_type, entity_id, payload, ord) ORDER BY e.ord",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.1).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.2).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.3.as_str()).collect::<Vec<&str>>())
        .bind(at)
        .execute(self)
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_audit(
        &mut self,
        actor: &Actor,
        entity_type: &str,
        action: &str,
        rows: &[AuditInsert],
    ) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, entity_type, entity_id, action, \
             before_state, after_state, request_id) \
             SELECT $1, $2, $3, $4, $5, a.entity_id, $6, a.before_state, a.after_state, $7 \
             FROM UNNEST($8::BIGINT[], $9::TEXT[], $10::TEXT[]) WITH ORDINALITY \
             AS a(entity_id, before_state, after_state, ord) ORDER BY a.ord",
        )
        .bind(DbTime::now())
        .bind(actor.kind.as_str())
        .bind(actor.id)
        .bind(&actor.name)
        .bind(entity_type)
        .bind(action)
        .bind(actor.request_id.as_deref())
        .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
        .bind(rows.iter().map(|r| r.1.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(rows.iter().map(|r| r.2.as_deref()).collect::<Vec<Option<&str>>>())
        .execute(self)
        .await?;
        Ok(done.rows_affected())
    }
}

// ---------------------------------------------------------------------------------------
// SQLite: multi-row VALUES.

/// Most rows per multi-row `INSERT` (15 parameters a line: far below SQLite's 32766).
const INSERT_BATCH: usize = 256;
/// Most rows per stamping statement (10 parameters a row).
const STAMP_BATCH: usize = 1024;

/// Rows per multi-row statement: `max` while that many are left, then the largest power of
/// two not above what is left — a handful of statement shapes (prepared once per
/// connection) cover any number of rows.
fn batch_len(left: usize, max: usize) -> usize {
    if left >= max {
        max
    } else {
        1 << (usize::BITS - 1 - left.max(1).leading_zeros())
    }
}

/// `items` in consecutive batches of [`batch_len`] rows (one statement each).
pub(crate) fn batches<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (head, tail) = rest.split_at(batch_len(rest.len(), max));
        rest = tail;
        Some(head)
    })
}

/// `head` followed by `rows` groups of `cols` anonymous parameters (`?`), each group closed
/// by `tail` (e.g. `, TRUE)`). sqlx looks every parameter of a SQLite statement up by name
/// (`sqlite3_bind_parameter_name` walks the list of named parameters), which makes binding
/// a statement with many numbered parameters quadratic; anonymous ones bind in order.
pub(crate) fn values_sql(head: &str, cols: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + rows * (cols * 3 + tail.len() + 4));
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { " (?" } else { ", (?" });
        for _ in 1..cols {
            sql.push_str(", ?");
        }
        sql.push_str(tail);
    }
    sql
}

/// Runs `statement(chunk)` over `items` in chunks of [`batch_len`]; sums what each returns.
macro_rules! in_chunks {
    ($items:expr, $max:expr, |$chunk:ident| $statement:expr) => {{
        let mut total = 0u64;
        for $chunk in batches(&$items[..], $max) {
            total += $statement;
        }
        total
    }};
}

/// As [`in_chunks!`], for the large writes of a run on SQLite: the next statement (its SQL
/// for a batch length, `$sql`, and its arguments, `$bind`) is built while the connection's
/// thread executes the current one, so the writer does not wait for the building. Sums the
/// rows each statement affected.
macro_rules! pipelined {
    ($conn:expr, $items:expr, $max:expr, |$len:ident| $sql:expr, |$q:ident, $chunk:ident| $bind:expr) => {{
        let batches: Vec<_> = batches(&$items[..], $max).collect();
        let sqls: Vec<String> = batches
            .iter()
            .map(|b| {
                let $len = b.len();
                $sql
            })
            .collect();
        let build = |i: usize| -> Result<_> {
            let $q = sqlx::query(&sqls[i]);
            let $chunk = batches[i];
            Ok($bind)
        };
        let build = &build;
        let count = batches.len();
        let mut total = 0u64;
        let mut next = if batches.is_empty() { None } else { Some(build(0)?) };
        let mut i = 0;
        while let Some(q) = next.take() {
            i += 1;
            let following = async move {
                match i < count {
                    true => build(i).map(Some),
                    false => Ok(None),
                }
            };
            let (done, built) = futures_util::future::join(q.execute(&mut *$conn), following).await;
            total += done?.rows_affected();
            next = built?;
        }
        total
    }};
}

impl BulkWrite for SqliteConnection {
    async fn insert_lines(&mut self, rows: &[LineInsert<'_>]) -> Result<usize> {
        let n = pipelined!(
            self,
            rows,
            INSERT_BATCH,
            |len| values_sql(
                "INSERT INTO invoice_lines (invoice_id, line_no, kind, description, contract_id, service_id, \
                 ticket_id, quantity, minutes, unit, unit_price, net, vat_rate, surcharge, positions) VALUES",
                15,
                len,
                ")",
            ),
            |q, chunk| {
                let mut q = q;
                for &(id, no, l) in chunk {
                    q = q
                        .bind(id)
                        .bind(no)
                        .bind(l.kind.as_str())
                        .bind(&l.description)
                        .bind(l.contract_id)
                        .bind(l.service_id)
                        .bind(l.ticket_id)
                        .bind(ExactDecimal(l.quantity))
                        .bind(to_i64(l.minutes))
                        .bind(l.unit.as_str())
                        .bind(ExactDecimal(l.unit_price))
                        .bind(ExactDecimal(l.net))
                        .bind(ExactDecimal(l.vat_rate))
                        .bind(l.surcharge.map(|s| s.as_str()))
                        .bind(positions_json(l)?);
                }
                q
            }
        );
        Ok(n as usize)
    }

    async fn insert_history(&mut self, rows: &[(i64, PositionInsert)]) -> Result<usize> {
        let n = in_chunks!(rows, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "INSERT INTO invoice_positions (invoice_id, position_key, booking_id, expense_id, fee_contract_id, \
                 fee_period_start, contract_id, treatment, actual_minutes, rounded_minutes, covered_minutes, \
                 covered_value, position_version, active) VALUES",
                13,
                chunk.len(),
                ", FALSE)",
            );
            let mut q = sqlx::query(&sql);
            for (id, s) in chunk {
                q = q
                    .bind(*id)
                    .bind(&s.key)
                    .bind(s.booking_id)
                    .bind(s.expense_id)
                    .bind(s.fee.map(|f| f.0))
                    .bind(s.fee.map(|f| f.1))
                    .bind(s.contract_id)
                    .bind(s.treatment.as_str())
                    .bind(s.actual)
                    .bind(s.rounded)
                    .bind(s.covered)
                    .bind(s.covered_value.map(ExactDecimal))
                    .bind(s.version);
            }
            q.execute(&mut *self).await?.rows_affected()
        });
        Ok(n as usize)
    }

    async fn insert_quota_entries(&mut self, rows: &[(i64, &QuotaEntry)]) -> Result<usize> {
        let n = in_chunks!(rows, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "INSERT INTO invoice_quota_entries (invoice_id, contract_id, period_start, origin_period_start, kind, \
                 amount, position) VALUES",
                7,
                chunk.len(),
                ")",
            );
            let mut q = sqlx::query(&sql);
            for &(id, e) in chunk {
                q = q
                    .bind(id)
                    .bind(e.contract_id)
                    .bind(e.period_start)
                    .bind(e.origin_period_start)
                    .bind(e.kind.as_str())
                    .bind(ExactDecimal(e.amount))
                    .bind(e.position.map(|p| serde_json::to_string(&p)).transpose()?);
            }
            q.execute(&mut *self).await?.rows_affected()
        });
        Ok(n as usize)
    }

    async fn stamp(&mut self, table: PositionTable, rows: &[PositionStamp]) -> Result<u64> {
        Ok(pipelined!(
            self,
            rows,
            STAMP_BATCH,
            |len| match table {
                PositionTable::Bookings => {
                    values_sql(
                        "UPDATE bookings SET invoice_id = v.column3, settled_contract_id = v.column4, \
                         treatment = v.column5, actual_minutes = v.column6, rounded_minutes = v.column7, \
                         covered_minutes = v.column8, covered_value = v.column9, settled_fields = v.column10, \
                         version = bookings.version + 1 FROM (VALUES",
                        10,
                        len,
                        ")",
                    ) + ") AS v WHERE bookings.id = v.column1 AND bookings.version = v.column2 \
                         AND bookings.invoice_id IS NULL"
                }
                PositionTable::Expenses => {
                    values_sql(
                        "UPDATE expenses SET invoice_id = v.column3, settled_contract_id = v.column4, \
                         treatment = v.column5, covered_value = v.column6, version = expenses.version + 1 FROM (VALUES",
                        6,
                        len,
                        ")",
                    ) + ") AS v WHERE expenses.id = v.column1 AND expenses.version = v.column2 \
                         AND expenses.invoice_id IS NULL"
                }
            },
            |q, chunk| {
                let mut q = q;
                for r in chunk {
                    q = q
                        .bind(r.id)
                        .bind(r.version)
                        .bind(r.invoice_id)
                        .bind(r.contract_id)
                        .bind(r.treatment.map(|t| t.as_str()));
                    q = match table {
                        PositionTable::Bookings => q
                            .bind(r.actual)
                            .bind(r.rounded)
                            .bind(r.covered)
                            .bind(r.covered_value.map(ExactDecimal))
                            .bind(r.fields.as_deref()),
                        PositionTable::Expenses => q.bind(r.covered_value.map(ExactDecimal)),
                    };
                }
                q
            }
        ))
    }

    async fn insert_fee_periods(&mut self, rows: &[(i64, i64, Date)]) -> Result<usize> {
        let n = in_chunks!(rows, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "INSERT INTO contract_fee_periods (invoice_id, contract_id, period_start) VALUES",
                3,
                chunk.len(),
                ")",
            );
            let mut q = sqlx::query(&sql);
            for &(invoice_id, contract_id, period_start) in chunk {
                q = q.bind(invoice_id).bind(contract_id).bind(period_start);
            }
            q.execute(&mut *self).await?.rows_affected()
        });
        Ok(n as usize)
    }

    async fn issue_drafts(&mut self, head: IssueBatchHead<'_>, rows: &[IssuedNumber]) -> Result<u64> {
        Ok(in_chunks!(rows, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "UPDATE invoices SET status = 'issued', series = ?, number_year = ?, number_seq = v.column2, \
                 number = v.column3, issue_date = ?, due_date = v.column4, customer_snapshot = v.column5, \
                 feed_seq = v.column6, issued_at = ?, seller_snapshot = ?, version = invoices.version + 1, \
                 updated_at = ? FROM (VALUES",
                6,
                chunk.len(),
                ")",
            ) + ") AS v WHERE invoices.id = v.column1 AND invoices.status = 'draft'";
            let mut q = sqlx::query(&sql)
                .bind(head.series)
                .bind(head.year)
                .bind(head.issue_date)
                .bind(head.at)
                .bind(head.seller)
                .bind(head.at);
            for r in chunk {
                q = q.bind(r.id).bind(r.seq).bind(&r.number).bind(r.due_date).bind(&r.snapshot).bind(r.feed_seq);
            }
            q.execute(&mut *self).await?.rows_affected()
        }))
    }

    async fn write_ledger(&mut self, ids: &[i64], at: DbTime) -> Result<u64> {
        let mut offset = 0i64;
        Ok(in_chunks!(ids, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "INSERT INTO quota_ledger (contract_id, period_start, origin_period_start, kind, amount, position, \
                 invoice_id, created_at) SELECT q.contract_id, q.period_start, q.origin_period_start, q.kind, q.amount, \
                 q.position, q.invoice_id, ? FROM (VALUES",
                2,
                chunk.len(),
                ")",
            ) + ") AS d JOIN invoice_quota_entries q ON q.invoice_id = d.column1 ORDER BY d.column2, q.id";
            let mut q = sqlx::query(&sql).bind(at);
            for &id in chunk {
                q = q.bind(id).bind(offset);
                offset += 1;
            }
            q.execute(&mut *self).await?.rows_affected()
        }))
    }

    async fn insert_events(&mut self, rows: &[EventInsert<'_>], at: DbTime) -> Result<u64> {
        Ok(in_chunks!(rows, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "INSERT INTO events (event_type, entity_type, entity_id, payload, created_at) VALUES",
                4,
                chunk.len(),
                ", ?)",
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(r.0).bind(r.1).bind(r.2).bind(&r.3).bind(at);
            }
            q.execute(&mut *self).await?.rows_affected()
        }))
    }

    async fn insert_audit(
        &mut self,
        actor: &Actor,
        entity_type: &str,
        action: &str,
        rows: &[AuditInsert],
    ) -> Result<u64> {
        let at = DbTime::now();
        Ok(in_chunks!(rows, INSERT_BATCH, |chunk| {
            let sql = values_sql(
                "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, entity_type, entity_id, action, \
                 before_state, after_state, request_id) VALUES",
                10,
                chunk.len(),
                ")",
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(at)
                    .bind(actor.kind.as_str())
                    .bind(actor.id)
                    .bind(&actor.name)
                    .bind(entity_type)
                    .bind(r.0)
                    .bind(action)
                    .bind(r.1.as_deref())
                    .bind(r.2.as_deref())
                    .bind(actor.request_id.as_deref());
            }
            q.execute(&mut *self).await?.rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_the_maximum_then_powers_of_two() {
        assert_eq!(batch_len(1000, 256), 256);
        assert_eq!(batch_len(200, 256), 128);
        assert_eq!(batch_len(72, 256), 64);
        assert_eq!(batch_len(1, 256), 1);
    }

    #[test]
    fn batches_cover_every_row_once_in_order() {
        let rows: Vec<u32> = (0..1300).collect();
        let lens: Vec<usize> = batches(&rows, 256).map(<[u32]>::len).collect();
        assert_eq!(lens, [256, 256, 256, 256, 256, 16, 4]);
        assert_eq!(batches(&rows, 256).flatten().copied().collect::<Vec<u32>>(), rows);
        assert_eq!(batches::<u32>(&[], 256).count(), 0);
    }

    #[test]
    fn values_statements_use_anonymous_parameters() {
        assert_eq!(values_sql("INSERT INTO t (a, b) VALUES", 2, 2, ")"), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        assert_eq!(values_sql("X", 1, 1, ", TRUE)"), "X (?, TRUE)");
    }
}
