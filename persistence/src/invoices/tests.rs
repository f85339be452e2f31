//! Storage tests of drafts, reservation and issuing on the backend under test.

use super::*;
use crate::billing::{BillingSetup, CustomerRun, InputParams, PositionScope};
use crate::test_support::fresh_store;
use domain::engine::compute_customer;
use time::macros::date;

async fn exec(store: &Store, sql: &str) {
    with_pool!(store, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).expect(sql);
}

pub(crate) async fn count(store: &Store, sql: &str) -> i64 {
    with_pool!(store, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect(sql)
}

/// A technician, remote support at 100.00 an hour, a customer with three bookings and a
/// hard disk in November 2026, and a run record.
pub(crate) async fn seed(store: &Store) {
    let now = DbTime::now();
    with_pool!(store, pool => {
        sqlx::query(
            "INSERT INTO users (email, name, password_hash, roles, weekly_capacity_hours, internal_cost_rate, \
             active, version, created_at, updated_at) VALUES ('t@x.example', 'Tech', '!', 'agent', $1, $2, TRUE, 1, $3, $3)")
            .bind(ExactDecimal(Decimal::from(40))).bind(ExactDecimal(Decimal::from(40))).bind(now)
            .execute(pool).await.unwrap();
        sqlx::query(
            "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, version, \
             created_at, updated_at) VALUES ('REMOTE', 'Remote support', 'hour', 'work', $1, $2, TRUE, 1, $3, $3)")
            .bind(ExactDecimal(Decimal::new(10000, 2))).bind(ExactDecimal(Decimal::from(19))).bind(now)
            .execute(pool).await.unwrap();
        sqlx::query(
            "INSERT INTO invoice_runs (started_via, scope, period_end, status, started_by_type, started_by_name, \
             started_at) VALUES ('api', 'all', $1, 'running', 'system', 'system', $2)")
            .bind(date!(2026 - 11 - 30)).bind(now).execute(pool).await.unwrap();
    });
    add_customer(store, "10001").await;
    for (day, minutes) in [(2u8, 30i64), (3, 45), (4, 60)] {
        add_booking(store, 1, Date::from_calendar_date(2026, time::Month::November, day).unwrap(), minutes).await;
    }
    add_expense(store, 1, date!(2026 - 11 - 05), "Hard disk", Decimal::new(8900, 2)).await;
}

/// A customer (domestic, billed at the period's end, per booking), numbered `number`.
async fn add_customer(store: &Store, number: &str) {
    with_pool!(store, pool => sqlx::query(
        "INSERT INTO customers (number, name, currency, payment_terms_days, vat_treatment, billing_mode, \
         invoice_detail, version, created_at, updated_at) \
         VALUES ($1, 'Customer', 'EUR', 14, 'domestic', 'period_end', 'per_booking', 1, $2, $2)")
        .bind(number).bind(DbTime::now()).execute(pool).await.map(|_| ()))
    .unwrap();
}

/// A billable booking of user 1, service 1, for `customer_id`.
async fn add_booking(store: &Store, customer_id: i64, day: Date, minutes: i64) {
    with_pool!(store, pool => sqlx::query(
        "INSERT INTO bookings (user_id, work_date, duration_minutes, service_id, description, customer_id, \
         billable, created_by, version, created_at, updated_at) \
         VALUES (1, $1, $2, 1, 'Support', $3, TRUE, 'test', 1, $4, $4)")
        .bind(day).bind(minutes).bind(customer_id).bind(DbTime::now()).execute(pool).await.map(|_| ()))
    .unwrap();
}

/// A billable expense of one piece at `unit_price` (19 % VAT), of user 1, for `customer_id`.
async fn add_expense(store: &Store, customer_id: i64, day: Date, description: &str, unit_price: Decimal) {
    with_pool!(store, pool => sqlx::query(
        "INSERT INTO expenses (user_id, expense_date, service_id, description, quantity, unit, unit_price, \
         vat_rate, billable, customer_id, created_by, version, created_at, updated_at) \
         VALUES (1, $1, 1, $2, $3, 'piece', $4, $5, TRUE, $6, 'test', 1, $7, $7)")
        .bind(day).bind(description).bind(ExactDecimal(Decimal::ONE)).bind(ExactDecimal(unit_price))
        .bind(ExactDecimal(Decimal::from(19))).bind(customer_id).bind(DbTime::now())
        .execute(pool).await.map(|_| ()))
    .unwrap();
}

pub(crate) async fn compute(setup: &BillingSetup, store: &Store) -> (CustomerRun, CustomerBilling) {
    let params = InputParams {
        period_start: Some(date!(2026 - 11 - 01)),
        period_end: date!(2026 - 11 - 30),
        scope: PositionScope::default(),
        contract_id: None,
        partial: false,
        per_booking: false,
    };
    let cr = setup.customer_input(store, 1, params).await.unwrap();
    let billing = compute_customer(&setup.ctx, &cr.input);
    assert!(billing.is_committable(), "{:?}", billing.problems);
    (cr, billing)
}

/// The drafts of customer 1 computed as `cr` / `billing`, for run 1.
pub(crate) fn batch<'a>(cr: &'a CustomerRun, billing: &'a CustomerBilling, actor: &'a Actor) -> DraftBatch<'a> {
    DraftBatch {
        run_id: 1,
        customer_id: 1,
        billing_version: cr.billing_version,
        billing,
        versions: &cr.versions,
        scope_ticket_id: None,
        scope_project_id: None,
        scope_contract_id: None,
        actor,
        holding: None,
    }
}

async fn drafts(store: &Store, cr: &CustomerRun, billing: &CustomerBilling) -> DraftOutcome {
    let actor = Actor::system();
    store.create_drafts(&batch(cr, billing, &actor)).await.unwrap()
}

/// A run over all customers bills those with open positions up to the period's end (or a
/// contract), found through the indexes over open positions only.
#[tokio::test]
async fn the_customers_to_bill_are_those_with_open_positions_up_to_the_period_end() {
    let test = fresh_store().await;
    let store = &test.store;
    seed(store).await; // customer 1: bookings and an expense in November
    for number in ["10002", "10003", "10004", "10005"] {
        add_customer(store, number).await;
    }
    // Customer 2: a booking in December only; 3: an expense in November only; 4: a booking
    // in November that is billed already.
    add_booking(store, 2, date!(2026 - 12 - 03), 30).await;
    add_booking(store, 4, date!(2026 - 11 - 10), 30).await;
    add_expense(store, 3, date!(2026 - 11 - 10), "Cable", Decimal::new(990, 2)).await;
    let billed = count(store, "SELECT id FROM bookings WHERE customer_id = 4").await;
    store.set_booking_state(billed, "billed").await.unwrap();
    // Customer 5: no position, a flat-fee contract from 15 November (its fees may be due).
    with_pool!(store, pool => sqlx::query(
        "INSERT INTO contracts (customer_id, number, name, kind, start_date, billing_period, fee_timing, fee, \
         fee_vat_rate, covers_all_work, separate_invoice, carry_over, overage, version, created_at, updated_at) \
         VALUES (5, 'V-5', 'Flat', 'flat_fee', $1, 'monthly', 'in_advance', $2, $3, FALSE, FALSE, FALSE, \
         'resolved_rates', 1, $4, $4)")
        .bind(date!(2026 - 11 - 15)).bind(ExactDecimal(Decimal::from(100))).bind(ExactDecimal(Decimal::from(19)))
        .bind(DbTime::now()).execute(pool).await.map(|_| ()))
    .unwrap();

    assert_eq!(store.customers_to_bill(date!(2026 - 11 - 30)).await.unwrap(), [1, 3, 5]);
    assert_eq!(store.customers_to_bill(date!(2026 - 12 - 31)).await.unwrap(), [1, 2, 3, 5]);
    assert_eq!(store.customers_to_bill(date!(2026 - 11 - 01)).await.unwrap(), Vec::<i64>::new());

    // On SQLite the plan seeks the open bookings by customer and the partial index over open
    // expenses (a rewrite that walked every booking of the customers, billed history
    // included, would not use them).
    if let crate::store::Db::Sqlite(pool) = &*store.db {
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {}", crate::billing::CUSTOMERS_TO_BILL))
            .bind(date!(2026 - 11 - 30))
            .fetch_all(pool)
            .await
            .unwrap();
        let plan: String = rows.iter().map(|r| sqlx::Row::get::<String, _>(r, 3) + "\n").collect();
        assert!(
            plan.contains("SEARCH o USING PRIMARY KEY (customer_id=? AND work_date<?)")
                && plan.contains("expenses_open"),
            "{plan}"
        );
    }
}

#[tokio::test]
async fn a_stale_customer_among_several_stored_together_is_the_only_one_left_out() {
    let test = fresh_store().await;
    let store = &test.store;
    seed(store).await;
    let setup = BillingSetup::load(store).await.unwrap();
    // The same computation twice in one chunk: the first takes the positions, the second
    // is stale then. All at once fails; stored apart, only the second is left out.
    let (cr, billing) = compute(&setup, store).await;
    let actor = Actor::system();
    let outcomes =
        store.create_drafts_together(&[batch(&cr, &billing, &actor), batch(&cr, &billing, &actor)]).await.unwrap();
    assert!(matches!(outcomes[0], DraftOutcome::Created { positions: 4, .. }), "{outcomes:?}");
    assert_eq!(outcomes[1], DraftOutcome::Stale);
    assert_eq!(count(store, "SELECT COUNT(*) FROM invoices").await, 1, "the first one's draft, once");
    assert_eq!(count(store, OPEN).await, 0);
    assert_eq!(count(store, "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'invoice'").await, 1);
    assert_eq!(store.billing_version(1).await.unwrap(), cr.billing_version + 1, "advanced once");
}

#[tokio::test]
async fn a_draft_with_more_lines_and_positions_than_one_statement_takes_stores_each_once() {
    let test = fresh_store().await;
    let store = &test.store;
    seed(store).await;
    // 1,300 more bookings, a line each (per-booking detail): lines and stamps span several
    // statements, each built while the one before is executed.
    with_pool!(store, pool => sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1300) \
         INSERT INTO bookings (user_id, work_date, duration_minutes, service_id, description, customer_id, billable, \
         created_by, version, created_at, updated_at) \
         SELECT 1, $1, 15 + (i % 7) * 5, 1, 'Support', 1, TRUE, 'test', 1, $2, $2 FROM n")
        .bind(date!(2026 - 11 - 10)).bind(DbTime::now()).execute(pool).await.map(|_| ()))
    .unwrap();
    // An export customer: no VAT, which is stored as `0.00`, not `0`.
    exec(store, "UPDATE customers SET vat_treatment = 'export' WHERE id = 1").await;
    let setup = BillingSetup::load(store).await.unwrap();
    let (cr, billing) = compute(&setup, store).await;
    let DraftOutcome::Created { invoice_ids, positions } = drafts(store, &cr, &billing).await else {
        panic!("created")
    };
    assert_eq!((invoice_ids.len(), positions), (1, 1304));
    let id = invoice_ids[0];
    assert_eq!(count(store, OPEN).await, 0);
    assert_eq!(
        count(
            store,
            &format!("SELECT COUNT(*) FROM booking_settlements WHERE invoice_id = {id} AND position_version = 1")
        )
        .await,
        1303
    );
    let draft = store.get_invoice(id).await.unwrap();
    assert_eq!(draft.lines.len(), 1304);
    let numbers: Vec<i64> = draft.lines.iter().map(|l| l.line_no).collect();
    assert_eq!(numbers, (1..=1304).collect::<Vec<i64>>(), "every line once, in order");
    let mut held: Vec<PositionRef> = draft.lines.iter().flat_map(|l| l.line.positions.iter().copied()).collect();
    held.sort_by_key(position_key);
    held.dedup();
    assert_eq!(held.len(), 1304, "each position on one line");
    let total: Decimal = draft.lines.iter().map(|l| l.line.net).sum();
    assert_eq!(total, draft.totals.net, "the lines stored are the lines computed");
    let computed = &billing.proposals[0].totals;
    let text = |t: &domain::money::Totals| [t.net.to_string(), t.vat.to_string(), t.gross.to_string()];
    assert_eq!(text(&draft.totals), text(computed), "totals as computed, scale included");
    assert_eq!(draft.totals.vat.to_string(), "0.00");
    test.remove().await;
}

const OPEN: &str = "SELECT (SELECT COUNT(*) FROM open_bookings) \
                    + (SELECT COUNT(*) FROM expenses WHERE invoice_id IS NULL)";

#[tokio::test]
async fn drafts_reserve_exactly_the_versions_computed_and_issuing_bills_them() {
    let test = fresh_store().await;
    let store = &test.store;
    seed(store).await;
    let setup = BillingSetup::load(store).await.unwrap();

    // A booking edited after it was read: nothing is written, compute again.
    let (cr, billing) = compute(&setup, store).await;
    exec(store, "UPDATE bookings SET version = version + 1 WHERE id = 2").await;
    assert_eq!(drafts(store, &cr, &billing).await, DraftOutcome::Stale);
    assert_eq!(count(store, "SELECT COUNT(*) FROM invoices").await, 0);
    assert_eq!(count(store, "SELECT COUNT(*) FROM settled_positions").await, 0);
    assert_eq!(count(store, OPEN).await, 4);
    assert_eq!(store.billing_version(1).await.unwrap(), cr.billing_version, "rolled back");

    // Computed again: one draft reserving the four positions in the versions read.
    let (cr, billing) = compute(&setup, store).await;
    let DraftOutcome::Created { invoice_ids, positions } = drafts(store, &cr, &billing).await else {
        panic!("created")
    };
    assert_eq!((invoice_ids.len(), positions), (1, 4));
    let id = invoice_ids[0];
    assert_eq!(line_count(store, id).await, 4, "one line per position");
    assert_eq!(count(store, OPEN).await, 0);
    let held = format!("SELECT COUNT(*) FROM booking_settlements WHERE invoice_id = {id} AND treatment = 'billed'");
    assert_eq!(count(store, &format!("{held} AND position_version = 1")).await, 2);
    assert_eq!(count(store, &format!("{held} AND position_version = 2")).await, 1);
    assert_eq!(
        count(store, &format!("SELECT COUNT(*) FROM expenses WHERE invoice_id = {id} AND version = 2")).await,
        1
    );
    let draft = store.get_invoice(id).await.unwrap();
    let created: Option<String> = with_pool!(store, pool => sqlx::query_scalar(
        "SELECT after_state FROM audit_log WHERE entity_type = 'invoice' AND entity_id = $1 AND action = 'create'")
        .bind(id).fetch_one(pool).await)
    .unwrap();
    assert_eq!(created, Some(serde_json::to_string(&audit_view(&draft)).unwrap()), "audit of the stored draft");

    // The same computation once more: the billing version moved on.
    assert_eq!(drafts(store, &cr, &billing).await, DraftOutcome::Stale);
    // A position read open but taken by another document before the drafts are stored (in
    // the same version): the stamp only takes open rows, so nothing is written.
    let (release, restore) = match store.backend() {
        crate::Backend::Sqlite => (
            vec![
                "CREATE TABLE held_aside AS SELECT * FROM booking_holds WHERE booking_id = 1".to_string(),
                "DELETE FROM booking_holds WHERE booking_id = 1".into(),
            ],
            vec![
                "INSERT INTO booking_holds SELECT * FROM held_aside".to_string(),
                // As the store holds a booking: off the open list (migration 0026).
                "DELETE FROM open_bookings WHERE booking_id = 1".into(),
                "DROP TABLE held_aside".into(),
            ],
        ),
        crate::Backend::Postgres => (
            vec!["UPDATE bookings SET invoice_id = NULL WHERE id = 1".to_string()],
            vec![format!("UPDATE bookings SET invoice_id = {id} WHERE id = 1")],
        ),
    };
    for sql in &release {
        exec(store, sql).await;
    }
    let (cr, billing) = compute(&setup, store).await;
    for sql in &restore {
        exec(store, sql).await;
    }
    assert_eq!(drafts(store, &cr, &billing).await, DraftOutcome::Stale);
    assert_eq!(count(store, "SELECT COUNT(*) FROM invoices").await, 1);

    // Issuing bills exactly the draft's positions and returns the stored invoice.
    let version_before = store.get_booking(1).await.unwrap().version;
    let opts = IssueOptions { series: "RE".into(), issue_date: date!(2026 - 12 - 01) };
    let issued = store.issue_invoice(id, None, &opts, &Actor::system()).await.unwrap();
    assert_eq!(issued, store.get_invoice(id).await.unwrap());
    assert_eq!(issued.number.as_deref(), Some("RE-2026-00001"));
    assert_eq!(issued.lines, draft.lines);
    let billed =
        "SELECT (SELECT COUNT(*) FROM booking_settlements b JOIN invoices i ON i.id = b.invoice_id WHERE i.status = 'issued') \
                  + (SELECT COUNT(*) FROM expenses e JOIN invoices i ON i.id = e.invoice_id WHERE i.status = 'issued')";
    assert_eq!(count(store, billed).await, 4);
    let issued_booking = store.get_booking(1).await.unwrap();
    assert_eq!(issued_booking.state, "billed", "billed follows from the issued invoice");
    assert_eq!(issued_booking.version, version_before, "issuing writes no position");
    test.remove().await;
}

/// The rows of `sql`, a one-column query, as one JSON text (SQLite: `json_group_array`).
async fn json_text(store: &Store, sql: &str) -> String {
    with_pool!(store, pool => sqlx::query_scalar::<_, String>(sql).fetch_one(pool).await).expect(sql)
}

/// SQLite's open bookings (customer, work date, booking, version) as one JSON text.
const OPEN_ROWS: &str = "SELECT json_group_array(json_array(customer_id, work_date, booking_id, version)) \
                         FROM (SELECT * FROM open_bookings ORDER BY booking_id)";

/// For tests of SQLite's own tables: a fresh store [`seed`]ed, plus booking 4 after the period
/// (it stays open), with the customer's draft created; the draft's ids. `None` (the store
/// removed) on PostgreSQL.
async fn sqlite_with_a_draft() -> Option<(crate::test_support::TestStore, Vec<i64>)> {
    let test = fresh_store().await;
    let store = &test.store;
    if store.backend() != crate::Backend::Sqlite {
        test.remove().await;
        return None;
    }
    seed(store).await;
    add_booking(store, 1, date!(2026 - 12 - 03), 30).await;
    let setup = BillingSetup::load(store).await.unwrap();
    let (cr, billing) = compute(&setup, store).await;
    let DraftOutcome::Created { invoice_ids, positions } = drafts(store, &cr, &billing).await else {
        panic!("created")
    };
    assert_eq!(positions, 4);
    Some((test, invoice_ids))
}

/// The schema SQLite had before migration 0022 moved the bookings' stamps into
/// `booking_settlements`, with the holdings stamped back onto the rows (a stamp raised the
/// booking's version).
const STAMPS_BEFORE_0022: [&str; 21] = [
    "DROP VIEW settled_positions",
    "DROP TRIGGER open_bookings_on_insert",
    "DROP TRIGGER open_bookings_on_change",
    "DROP TRIGGER open_bookings_on_delete",
    "DROP TRIGGER held_bookings_kept",
    "DROP TRIGGER open_bookings_on_release",
    "ALTER TABLE bookings ADD COLUMN invoice_id INTEGER REFERENCES invoices(id)",
    "ALTER TABLE bookings ADD COLUMN settled_contract_id INTEGER",
    "ALTER TABLE bookings ADD COLUMN treatment TEXT",
    "ALTER TABLE bookings ADD COLUMN actual_minutes INTEGER",
    "ALTER TABLE bookings ADD COLUMN rounded_minutes INTEGER",
    "ALTER TABLE bookings ADD COLUMN covered_minutes INTEGER",
    "ALTER TABLE bookings ADD COLUMN covered_value TEXT",
    "ALTER TABLE bookings ADD COLUMN settled_fields TEXT",
    "UPDATE bookings SET invoice_id = s.invoice_id, settled_contract_id = s.settled_contract_id, \
     treatment = s.treatment, actual_minutes = s.actual_minutes, rounded_minutes = s.rounded_minutes, \
     covered_minutes = s.covered_minutes, covered_value = s.covered_value, settled_fields = s.settled_fields, \
     version = s.position_version + 1 FROM booking_settlements s WHERE s.booking_id = bookings.id",
    "DROP VIEW booking_settlements",
    "DROP TABLE booking_settlement_sets",
    "DROP TABLE booking_holds",
    "DROP TABLE open_bookings",
    "CREATE INDEX bookings_open ON bookings(customer_id, work_date) WHERE invoice_id IS NULL; \
     CREATE INDEX bookings_invoice ON bookings(invoice_id) WHERE invoice_id IS NOT NULL",
    "CREATE VIEW settled_positions AS SELECT 1 AS placeholder",
];

/// Bookings held by stamps on their rows (before migration 0022) are held the same once their
/// settlements have a table of their own (0022, clustered by document since 0023): every
/// settled position as it was (the version priced included), the open bookings listed by
/// customer with their versions, and releasing a draft lists its bookings as open again.
#[tokio::test]
async fn bookings_held_by_stamps_read_the_same_once_moved_into_settlements() {
    // PostgreSQL keeps the stamps on the booking rows.
    let Some((test, invoice_ids)) = sqlite_with_a_draft().await else { return };
    let store = &test.store;
    const SETTLED: &str = "SELECT json_group_array(json_array(invoice_id, position_key, contract_id, treatment, \
        actual_minutes, rounded_minutes, covered_minutes, covered_value, position_version, active)) \
        FROM (SELECT * FROM settled_positions ORDER BY position_key)";
    let (settled, open) = (json_text(store, SETTLED).await, json_text(store, OPEN_ROWS).await);
    assert!(settled.contains(r#""booking:1""#) && settled.contains(r#""expense:1""#), "{settled}");
    assert_eq!(open, r#"[[1,"2026-12-03",4,1]]"#);
    // Back to stamps, then the migration — on one connection (see the 0019 test).
    with_pool!(store, pool => {
        let mut conn = pool.acquire().await.unwrap();
        for sql in STAMPS_BEFORE_0022 {
            sqlx::raw_sql(sql).execute(&mut *conn).await.expect(sql);
        }
        assert_eq!(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM bookings WHERE invoice_id IS NOT NULL AND version = 2")
                .fetch_one(&mut *conn).await.unwrap(),
            3,
            "stamped as before"
        );
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0022_booking_settlements.sql"))
            .execute(&mut *conn).await.unwrap();
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0023_settlements_by_document.sql"))
            .execute(&mut *conn).await.unwrap();
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0025_open_bookings_carry_what_runs_read.sql"))
            .execute(&mut *conn).await.unwrap();
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0026_holds_leave_the_open_list_by_range.sql"))
            .execute(&mut *conn).await.unwrap();
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0027_booking_holds.sql"))
            .execute(&mut *conn).await.map(|_| ())
    })
    .unwrap();
    assert_eq!(json_text(store, SETTLED).await, settled, "every settled position as it was");
    assert_eq!(json_text(store, OPEN_ROWS).await, open, "the open booking listed, the held ones not");
    assert_eq!(store.get_booking(1).await.unwrap().state, "reserved");
    assert_eq!(store.get_booking(4).await.unwrap().state, "open");
    // The triggers came with the migration: deleting the draft lists its bookings as open.
    store.delete_draft(invoice_ids[0], None, &Actor::system()).await.unwrap();
    assert_eq!(count(store, "SELECT COUNT(*) FROM open_bookings").await, 4);
    assert_eq!(count(store, "SELECT COUNT(*) FROM booking_settlements").await, 0);
    test.remove().await;
}

/// SQLite holds a booking without a foreign key to it or a write to its row (migrations 0023,
/// 0026): a booking is held only where it is listed open in the version priced (else nothing
/// is held and nothing changes), holding takes its open row off the list — a customer's whole
/// range when it holds everything listed there, else only the bookings held, so one booked
/// meanwhile stays open —, releasing lists the booking again in its version, an edited
/// booking's open row follows it (with what a run reads of it, migration 0025), and a held
/// booking cannot be deleted.
#[tokio::test]
async fn a_booking_is_held_only_where_it_is_listed_open_and_is_not_deleted_while_held() {
    // PostgreSQL holds a booking by its own row's `invoice_id`.
    let Some((test, invoice_ids)) = sqlite_with_a_draft().await else { return };
    let store = &test.store;
    let draft = invoice_ids[0];
    assert_eq!(json_text(store, OPEN_ROWS).await, r#"[[1,"2026-12-03",4,1]]"#);
    let stamp = |booking: i64, date: Date| PositionStamp {
        id: booking,
        version: 1,
        customer_id: 1,
        date,
        invoice_id: draft,
        contract_id: None,
        treatment: Some(PositionStatus::Billed),
        actual: Some(30),
        rounded: Some(30),
        covered: None,
        covered_value: None,
        fields: None,
    };
    let hold = |rows: Vec<PositionStamp>| async move {
        let crate::store::Db::Sqlite(pool) = &*store.db else { unreachable!("SQLite") };
        let mut tx = pool.begin().await.unwrap();
        let held = BulkWrite::stamp(&mut *tx, PositionTable::Bookings, &rows).await.unwrap();
        tx.commit().await.unwrap();
        held
    };
    assert_eq!(hold(vec![stamp(4, date!(2026 - 12 - 04))]).await, 0, "not open on that day");
    assert_eq!(json_text(store, OPEN_ROWS).await, r#"[[1,"2026-12-03",4,1]]"#, "nothing changed");
    assert_eq!(count(store, "SELECT COUNT(*) FROM booking_settlements WHERE booking_id = 4").await, 0);
    // Booked while a run computed: open before the day held, not held.
    add_booking(store, 1, date!(2026 - 12 - 02), 15).await;
    assert_eq!(hold(vec![stamp(4, date!(2026 - 12 - 03))]).await, 1);
    assert_eq!(json_text(store, OPEN_ROWS).await, r#"[[1,"2026-12-02",5,1]]"#, "only the one held left the list");
    assert_eq!(hold(vec![stamp(4, date!(2026 - 12 - 03))]).await, 0, "held already");
    assert_eq!(hold(vec![stamp(5, date!(2026 - 12 - 02))]).await, 1, "all listed up to its day: by range");
    assert_eq!(json_text(store, OPEN_ROWS).await, "[]", "held: no longer listed");
    for booking in [4, 5] {
        // As a draft's edit releases one booking: out of the document's array, the hold follows.
        let release = crate::invoices::booking_release_sql(crate::Backend::Sqlite, true);
        with_pool!(store, pool => sqlx::query(release).bind(draft).bind(booking).execute(pool).await.map(|_| ()))
            .unwrap();
    }
    assert_eq!(count(store, "SELECT COUNT(*) FROM booking_holds WHERE booking_id IN (4, 5)").await, 0);
    exec(store, "UPDATE bookings SET work_date = '2026-12-05', version = version + 1 WHERE id = 4").await;
    assert_eq!(
        json_text(store, OPEN_ROWS).await,
        r#"[[1,"2026-12-05",4,2],[1,"2026-12-02",5,1]]"#,
        "released, one of them then moved"
    );
    // What a run reads of an open booking is carried by its open row (migration 0025).
    exec(store, "UPDATE bookings SET description = 'Backup', duration_minutes = 45, version = 3 WHERE id = 4").await;
    const CARRIED: &str = "SELECT json_group_array(json_array(version, description, duration_minutes, billable)) \
        FROM open_bookings WHERE booking_id = 4";
    assert_eq!(json_text(store, CARRIED).await, r#"[[3,"Backup",45,1]]"#, "edited");
    let deleted =
        with_pool!(store, pool => sqlx::query("DELETE FROM bookings WHERE id = 1").execute(pool).await.map(|_| ()));
    assert!(deleted.expect_err("held").to_string().contains("a document holds the booking"));
    assert_eq!(count(store, "SELECT COUNT(*) FROM bookings").await, 5);
    test.remove().await;
}

/// How many lines `invoice_line_counts` gives document `id`, checked against the lines read.
async fn line_count(store: &Store, id: i64) -> i64 {
    let read = count(store, &format!("SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = {id}")).await;
    let counted = count(store, &format!("SELECT line_count FROM invoice_line_counts WHERE invoice_id = {id}")).await;
    assert_eq!(counted, read, "the count of document {id}'s lines");
    counted
}

/// The line table as it was before migration 0019 moved each document's lines into one row.
const LINE_TABLE_BEFORE_0019: &str = "CREATE TABLE invoice_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT, invoice_id INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL, contract_id INTEGER,
    service_id INTEGER, ticket_id INTEGER, quantity TEXT NOT NULL, minutes INTEGER, unit TEXT NOT NULL,
    unit_price TEXT NOT NULL, net TEXT NOT NULL, vat_rate TEXT NOT NULL, surcharge TEXT,
    positions TEXT NOT NULL DEFAULT '[]')";

#[tokio::test]
async fn lines_kept_in_the_line_table_read_the_same_once_moved_into_their_documents() {
    // PostgreSQL keeps its line table.
    let Some((test, invoice_ids)) = sqlite_with_a_draft().await else { return };
    let store = &test.store;
    let id = invoice_ids[0];
    let lines = |i: &Invoice| serde_json::to_value(&i.lines).unwrap();
    let mut expected = lines(&store.get_invoice(id).await.unwrap());
    assert_eq!(expected.as_array().map(Vec::len), Some(4));
    // The database as it was before the migration: the same lines in the table, with ids
    // as a long-running table has them (40 higher). Then the migration. All on one
    // connection: SQLite compiles a statement against the schema the connection has cached
    // (and checks it only when the statement runs), so on another connection the line
    // table would still be a view.
    let before = [
        "CREATE TABLE kept AS SELECT * FROM invoice_lines",
        "DROP VIEW invoice_line_counts",
        "DROP TRIGGER invoice_lines_delete",
        "DROP VIEW invoice_lines",
        "DROP TABLE invoice_line_sets",
        "DROP TABLE invoice_line_ids",
        LINE_TABLE_BEFORE_0019,
        "INSERT INTO invoice_lines SELECT id + 40, invoice_id, line_no, kind, description, contract_id, service_id, \
         ticket_id, quantity, minutes, unit, unit_price, net, vat_rate, surcharge, positions FROM kept",
        "DROP TABLE kept",
    ];
    for line in expected.as_array_mut().unwrap() {
        line["id"] = (line["id"].as_i64().unwrap() + 40).into();
    }
    with_pool!(store, pool => {
        let mut conn = pool.acquire().await.unwrap();
        for sql in before {
            sqlx::query(sql).execute(&mut *conn).await.expect(sql);
        }
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0019_lines_with_documents.sql"))
            .execute(&mut *conn).await.unwrap();
        sqlx::raw_sql(include_str!("../../../migrations/sqlite/0024_line_counts.sql"))
            .execute(&mut *conn).await.map(|_| ())
    })
    .unwrap();
    let draft = store.get_invoice(id).await.unwrap();
    assert_eq!(lines(&draft), expected, "every line as it was, id included");
    assert_eq!(line_count(store, id).await, 4, "counted by migration 0024");
    // A line added now continues the ids; removing it leaves the others as they were.
    let manual = ManualLine {
        description: "Cable".into(),
        quantity: Decimal::ONE,
        unit: Unit::Piece,
        unit_price: Decimal::new(990, 2),
        vat_rate: Decimal::from(19),
    };
    let draft = store.add_manual_line(id, None, &manual, &Actor::system()).await.unwrap();
    let added = draft.lines.last().unwrap();
    assert_eq!((added.id, added.line_no, added.line.description.as_str()), (44 + 1, 5, "Cable"));
    assert_eq!(line_count(store, id).await, 5, "an appended line counted");
    let (draft, removed) = store.remove_invoice_line(id, added.id, None, &Actor::system()).await.unwrap();
    assert_eq!(removed, vec![45]);
    assert_eq!(lines(&draft), expected);
    assert_eq!(line_count(store, id).await, 4, "a removed line no longer counted");
    // A deleted draft takes its lines along.
    store.delete_draft(id, None, &Actor::system()).await.unwrap();
    assert_eq!(count(store, "SELECT COUNT(*) FROM invoice_lines").await, 0);
    assert_eq!(count(store, "SELECT COUNT(*) FROM invoice_line_sets").await, 0);
    test.remove().await;
}
