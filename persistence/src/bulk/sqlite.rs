//! The bulk writes on SQLite: multi-row `VALUES` statements of a few fixed shapes with
//! anonymous parameters; a document's lines as one row ([`PackedLine`]s).

use super::*;
use crate::store::id_list;
use crate::types::ExactDecimal;
use crate::StoreError;
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// Most rows per multi-row `INSERT` (at most 15 parameters a row: far below SQLite's 32766).
const INSERT_BATCH: usize = 256;
/// Most rows per stamping statement (at most 12 parameters a row).
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
        if rows.is_empty() {
            return Ok(0);
        }
        let mut next = reserve_line_ids(self, rows.len()).await?;
        // One JSON array per document: the lines of consecutive rows of the same document.
        let mut sets = Vec::new();
        for document in rows.chunk_by(|a, b| a.0 == b.0) {
            let packed = PackedLines::numbered(document.iter().map(|&(_, line_no, line)| (line_no, line)))?;
            sets.push((document[0].0, packed.with_ids(next), document.len()));
            next += document.len() as i64;
        }
        store_line_sets(self, sets).await?;
        Ok(rows.len())
    }

    async fn insert_document_lines(&mut self, docs: &[DocumentLines<'_>]) -> Result<usize> {
        let count: usize = docs.iter().map(|d| d.lines.len()).sum();
        if count == 0 {
            return Ok(0);
        }
        let mut next = reserve_line_ids(self, count).await?;
        let mut sets = Vec::with_capacity(docs.len());
        for d in docs.iter().filter(|d| !d.lines.is_empty()) {
            let packed;
            let packed = match d.packed {
                Some(packed) => packed,
                None => {
                    packed = PackedLines::of(d.lines)?;
                    &packed
                }
            };
            sets.push((d.invoice_id, packed.with_ids(next), d.lines.len()));
            next += d.lines.len() as i64;
        }
        store_line_sets(self, sets).await?;
        Ok(count)
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
        let n = pipelined!(
            self,
            rows,
            INSERT_BATCH,
            |len| values_sql(
                "INSERT INTO invoice_quota_entries (invoice_id, contract_id, period_start, origin_period_start, kind, \
                 amount, position) VALUES",
                7,
                len,
                ")",
            ),
            |q, chunk| {
                let mut q = q;
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
                q
            }
        );
        Ok(n as usize)
    }

    async fn hold_bookings(&mut self, rows: &[PositionStamp], arrays: &[(i64, String)]) -> Result<u64> {
        hold_bookings(self, rows, Some(arrays)).await
    }

    async fn stamp(&mut self, table: PositionTable, rows: &[PositionStamp]) -> Result<u64> {
        match table {
            PositionTable::Bookings => hold_bookings(self, rows, None).await,
            PositionTable::Expenses => Ok(pipelined!(
                self,
                rows,
                STAMP_BATCH,
                |len| values_sql(
                    "UPDATE expenses SET invoice_id = v.column3, settled_contract_id = v.column4, \
                     treatment = v.column5, covered_value = v.column6, version = expenses.version + 1 FROM (VALUES",
                    6,
                    len,
                    ")",
                ) + ") AS v WHERE expenses.id = v.column1 AND expenses.version = v.column2 \
                     AND expenses.invoice_id IS NULL",
                |q, chunk| {
                    let mut q = q;
                    for r in chunk {
                        q = bind_stamp(q, r).bind(r.covered_value.map(ExactDecimal));
                    }
                    q
                }
            )),
        }
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

/// A stamp's first columns, as both kinds of position bind them: the position, the version
/// priced, the holding document, the contract and the treatment.
fn bind_stamp<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    r: &'q PositionStamp,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    q.bind(r.id).bind(r.version).bind(r.invoice_id).bind(r.contract_id).bind(r.treatment.map(|t| t.as_str()))
}

/// Holds bookings (`rows`, in the versions priced) on SQLite: a hold each, the settlements in
/// their documents' arrays (`arrays`: built ahead from `rows`, else here), and the booking
/// leaves `open_bookings` (migrations 0026, 0027).
/// Returns how many were held: fewer than `rows` when one was changed, moved or held
/// meanwhile (the caller rolls back).
///
/// 1. The open rows of the customers up to the latest work date held are counted first.
/// 2. A hold per booking still open in the version priced, under the customer and day read
///    (the join finds its open row by key; neither the booking row is read nor written); the
///    key of `booking_holds` keeps a booking in one document.
/// 3. Each document's settlements as one JSON array (appended to one it has already).
/// 4. The open rows leave the list: a customer whose counted rows are exactly the bookings
///    held (the usual case: a run holds everything open up to its end) by its key range,
///    which deletes page by page; one with others open in that range (booked while the run
///    computed, outside a ticket or project scope) row by row, only those now held.
async fn hold_bookings(
    conn: &mut SqliteConnection,
    rows: &[PositionStamp],
    arrays: Option<&[(i64, String)]>,
) -> Result<u64> {
    let Some(until) = rows.iter().map(|r| r.date).max() else { return Ok(0) };
    let mut held: BTreeMap<i64, i64> = BTreeMap::new();
    for r in rows {
        *held.entry(r.customer_id).or_default() += 1;
    }
    let customers: Vec<i64> = held.keys().copied().collect();
    let listed: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT customer_id, COUNT(*) FROM open_bookings WHERE customer_id IN ({}) AND work_date <= ? \
         GROUP BY customer_id",
        id_list(&customers)
    ))
    .persistent(false)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    let inserted = pipelined!(
        conn,
        rows,
        STAMP_BATCH,
        |len| values_sql(
            "INSERT INTO booking_holds (booking_id, invoice_id) SELECT v.column1, v.column3 FROM (VALUES",
            5,
            len,
            ")"
        ) + ") AS v JOIN open_bookings o ON o.customer_id = v.column4 AND o.work_date = v.column5 \
             AND o.booking_id = v.column1 AND o.version = v.column2",
        |q, chunk| {
            let mut q = q;
            for r in chunk {
                q = q.bind(r.id).bind(r.version).bind(r.invoice_id).bind(r.customer_id).bind(r.date);
            }
            q
        }
    );
    if inserted != rows.len() as u64 {
        return Ok(inserted);
    }
    let built;
    let arrays = match arrays {
        Some(arrays) => arrays,
        None => {
            built = settlement_arrays(rows)?;
            &built
        }
    };
    store_settlement_sets(conn, arrays).await?;
    let (whole, partly): (Vec<i64>, Vec<i64>) =
        customers.iter().partition(|c| listed.iter().any(|&(l, n)| l == **c && n == held[*c]));
    // The whole range of a customer that holds all of it, only the rows held of the others
    // (the documents' list is built only then: a run's chunk names its documents 25 k times).
    let mut left = 0;
    for (customers, only_held) in [(&whole, false), (&partly, true)] {
        if customers.is_empty() {
            continue;
        }
        let only = match only_held {
            false => String::new(),
            true => format!(
                " AND booking_id IN (SELECT booking_id FROM booking_settlements WHERE invoice_id IN ({}))",
                id_list(&rows.iter().map(|r| r.invoice_id).collect::<Vec<_>>())
            ),
        };
        let sql =
            format!("DELETE FROM open_bookings WHERE customer_id IN ({}) AND work_date <= ?{only}", id_list(customers));
        left += sqlx::query(&sql).persistent(false).bind(until).execute(&mut *conn).await?.rows_affected();
    }
    if left != inserted {
        return Err(StoreError::Conflict(format!(
            "{inserted} bookings held but {left} left the open list: the list disagrees with the bookings"
        )));
    }
    Ok(inserted)
}

/// The settlements of bookings `rows` as their documents' arrays keep them on SQLite
/// (`(invoice id, JSON array)`, migration 0027), in document order.
pub(crate) fn settlement_arrays(rows: &[PositionStamp]) -> Result<Vec<(i64, String)>> {
    let mut arrays: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    for r in rows {
        let json = arrays.entry(r.invoice_id).or_insert_with(|| b"[".to_vec());
        if json.len() > 1 {
            json.push(b',');
        }
        settlement_entry(json, r)?;
    }
    arrays
        .into_iter()
        .map(|(id, mut json)| {
            json.push(b']');
            String::from_utf8(json).map(|json| (id, json)).map_err(|e| StoreError::Conflict(e.to_string()))
        })
        .collect()
}

/// The `ON CONFLICT` clause of a document's JSON array (`table.column`, keyed by
/// `invoice_id`) that appends the array inserted to the one stored (both as serde writes them).
fn appended(table: &str, column: &str) -> String {
    format!(
        " ON CONFLICT (invoice_id) DO UPDATE SET {column} = CASE {table}.{column} WHEN '[]' THEN excluded.{column} \
         ELSE substr({table}.{column}, 1, length({table}.{column}) - 1) || ',' || substr(excluded.{column}, 2) END"
    )
}

/// Stores documents' settlement arrays ([`settlement_arrays`]), each appended to an array
/// its document has already.
async fn store_settlement_sets(conn: &mut SqliteConnection, sets: &[(i64, String)]) -> Result<()> {
    in_chunks!(sets, INSERT_BATCH, |chunk| {
        let sql =
            values_sql("INSERT INTO booking_settlement_sets (invoice_id, settlements) VALUES", 2, chunk.len(), ")")
                + &appended("booking_settlement_sets", "settlements");
        let mut q = sqlx::query(&sql);
        for (id, json) in chunk {
            q = q.bind(id).bind(json);
        }
        q.execute(&mut *conn).await?.rows_affected()
    });
    Ok(())
}

/// A booking's settlement as its document's array keeps it: `[booking_id, position_version,
/// settled_contract_id, treatment, actual_minutes, rounded_minutes, covered_minutes,
/// covered_value (text), settled_fields]`.
fn settlement_entry(json: &mut Vec<u8>, r: &PositionStamp) -> Result<()> {
    let head = (
        r.id,
        r.version,
        r.contract_id,
        r.treatment.map(|t| t.as_str()),
        r.actual,
        r.rounded,
        r.covered,
        r.covered_value.map(|d| d.to_string()),
    );
    serde_json::to_writer(&mut *json, &head)?;
    // `…]` → `…,fields]`: the fields are JSON text already.
    json.pop();
    json.push(b',');
    json.extend_from_slice(r.fields.as_deref().unwrap_or("null").as_bytes());
    json.push(b']');
    Ok(())
}

/// `n` new line ids, ascending: the first (the transaction holds the write lock).
async fn reserve_line_ids(conn: &mut SqliteConnection, n: usize) -> Result<i64> {
    let next: i64 = sqlx::query_scalar("UPDATE invoice_line_ids SET next = next + ? RETURNING next")
        .bind(n as i64)
        .fetch_one(&mut *conn)
        .await?;
    Ok(next - n as i64)
}

/// Stores the JSON arrays of lines `(invoice id, array, lines in it)` of documents; a document
/// that has lines already gets the new ones appended (to the text: both are arrays as serde
/// writes them) and counted.
async fn store_line_sets(conn: &mut SqliteConnection, sets: Vec<(i64, Vec<u8>, usize)>) -> Result<()> {
    let sets = sets
        .into_iter()
        .map(|(id, json, count)| {
            String::from_utf8(json)
                .map(|json| (id, json, count as i64))
                .map_err(|e| StoreError::Conflict(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    in_chunks!(sets, INSERT_BATCH, |chunk| {
        let sql =
            values_sql("INSERT INTO invoice_line_sets (invoice_id, lines, line_count) VALUES", 3, chunk.len(), ")")
                + &appended("invoice_line_sets", "lines")
                + ", line_count = invoice_line_sets.line_count + excluded.line_count";
        let mut q = sqlx::query(&sql);
        for (id, json, count) in chunk {
            q = q.bind(id).bind(json).bind(count);
        }
        q.execute(&mut *conn).await?.rows_affected()
    });
    Ok(())
}

/// A document's lines serialized ahead (by a run, off the writer's path) but for their ids,
/// which are given out when they are stored: each line's [`PackedLine`] after its id.
#[derive(Debug, Default)]
pub(crate) struct PackedLines {
    tails: Vec<u8>,
    ends: Vec<usize>,
}

impl PackedLines {
    /// The lines of a new document, numbered from 1.
    pub(crate) fn of(lines: &[InvoiceLine]) -> Result<PackedLines> {
        Self::numbered(lines.iter().enumerate().map(|(k, line)| (k as i64 + 1, line)))
    }

    /// Lines with their numbers `(line number, line)`.
    fn numbered<'a>(lines: impl ExactSizeIterator<Item = (i64, &'a InvoiceLine)>) -> Result<PackedLines> {
        let mut packed = PackedLines { tails: Vec::new(), ends: Vec::with_capacity(lines.len()) };
        for (line_no, line) in lines {
            let start = packed.tails.len();
            serde_json::to_writer(&mut packed.tails, &PackedLine(0, line_no, line))?;
            // `[0,…]` → `,…]`: the id goes in front when it is known.
            packed.tails.drain(start..start + 2);
            packed.ends.push(packed.tails.len());
        }
        Ok(packed)
    }

    /// Whether these are `lines` serialized (as many).
    pub(crate) fn fits(&self, lines: &[InvoiceLine]) -> bool {
        self.ends.len() == lines.len()
    }

    /// The document's JSON array of lines, the lines' ids ascending from `first`.
    fn with_ids(&self, first: i64) -> Vec<u8> {
        use std::io::Write;
        let mut json = Vec::with_capacity(self.tails.len() + self.ends.len() * 12 + 2);
        json.push(b'[');
        let mut start = 0;
        for (k, &end) in self.ends.iter().enumerate() {
            if k > 0 {
                json.push(b',');
            }
            // Writing to a Vec cannot fail.
            let _ = write!(json, "[{}", first + k as i64);
            json.extend_from_slice(&self.tails[start..end]);
            start = end;
        }
        json.push(b']');
        json
    }
}

/// A line as SQLite keeps it in its document's `invoice_line_sets.lines` (id, line number,
/// line): a JSON array of the `invoice_lines` view's columns after `invoice_id`, decimals as
/// their exact text.
struct PackedLine<'a>(i64, i64, &'a InvoiceLine);

impl serde::Serialize for PackedLine<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        /// A decimal as `ExactDecimal` stores it in SQLite (its scale kept).
        struct Exact<'a>(&'a Decimal);
        impl serde::Serialize for Exact<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        let PackedLine(id, line_no, l) = *self;
        let mut t = s.serialize_tuple(15)?;
        t.serialize_element(&id)?;
        t.serialize_element(&line_no)?;
        t.serialize_element(l.kind.as_str())?;
        t.serialize_element(&l.description)?;
        t.serialize_element(&l.contract_id)?;
        t.serialize_element(&l.service_id)?;
        t.serialize_element(&l.ticket_id)?;
        t.serialize_element(&Exact(&l.quantity))?;
        t.serialize_element(&to_i64(l.minutes))?;
        t.serialize_element(l.unit.as_str())?;
        t.serialize_element(&Exact(&l.unit_price))?;
        t.serialize_element(&Exact(&l.net))?;
        t.serialize_element(&Exact(&l.vat_rate))?;
        t.serialize_element(&l.surcharge.map(|s| s.as_str()))?;
        t.serialize_element(&l.positions)?;
        t.end()
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
    fn lines_serialized_ahead_get_their_ids_as_if_serialized_when_stored() {
        use domain::catalog::Unit;
        use domain::engine::LineKind;
        use domain::position::PositionRef;
        let line = |k: i64| InvoiceLine {
            kind: LineKind::Work,
            description: format!("Remote \"support\" {k} – Ü"),
            contract_id: Some(k),
            service_id: None,
            ticket_id: Some(7),
            quantity: Decimal::new(150, 2),
            minutes: Some(90),
            unit: Unit::Hour,
            unit_price: Decimal::new(10000, 2),
            net: Decimal::new(15000, 2),
            vat_rate: Decimal::from(19),
            surcharge: None,
            positions: vec![PositionRef::Booking { id: k }, PositionRef::Expense { id: 10 * k }],
        };
        let lines: Vec<InvoiceLine> = (1..=3).map(line).collect();
        let ahead = PackedLines::of(&lines).unwrap().with_ids(41);
        let mut when_stored = b"[".to_vec();
        for (k, l) in lines.iter().enumerate() {
            if k > 0 {
                when_stored.push(b',');
            }
            serde_json::to_writer(&mut when_stored, &PackedLine(41 + k as i64, k as i64 + 1, l)).unwrap();
        }
        when_stored.push(b']');
        assert_eq!(String::from_utf8(ahead).unwrap(), String::from_utf8(when_stored).unwrap());
        let text = String::from_utf8(PackedLines::of(&lines[..1]).unwrap().with_ids(7)).unwrap();
        assert!(
            text.starts_with(r#"[[7,1,"work","Remote \"support\" 1 – Ü",1,null,7,"1.50",90,"hour","100.00""#),
            "{text}"
        );
        assert_eq!(PackedLines::of(&[]).unwrap().with_ids(1), b"[]");
    }

    #[test]
    fn values_statements_use_anonymous_parameters() {
        assert_eq!(values_sql("INSERT INTO t (a, b) VALUES", 2, 2, ")"), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        assert_eq!(values_sql("X", 1, 1, ", TRUE)"), "X (?, TRUE)");
    }
}
