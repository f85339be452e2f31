//! The bulk writes on PostgreSQL: one statement per table over `UNNEST` of column arrays.

use super::*;
use crate::types::ExactDecimal;
use sqlx::PgConnection;

/// The positions a line bills, as JSON.
fn positions_json(l: &InvoiceLine) -> Result<String> {
    Ok(serde_json::to_string(&l.positions)?)
}

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

    async fn insert_document_lines(&mut self, docs: &[DocumentLines<'_>]) -> Result<usize> {
        let rows: Vec<LineInsert<'_>> = docs
            .iter()
            .flat_map(|d| d.lines.iter().enumerate().map(move |(k, l)| (d.invoice_id, k as i64 + 1, l)))
            .collect();
        self.insert_lines(&rows).await
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

    async fn hold_bookings(&mut self, rows: &[PositionStamp], _arrays: &[(i64, String)]) -> Result<u64> {
        self.stamp(PositionTable::Bookings, rows).await
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
