//! Model-based property test of billing over the store: random sequences of book /
//! preview / commit / issue / cancel / delete-draft / mark-paid over four customers — one
//! per contract kind (time and material, flat fee, prepaid hours, prepaid budget) — with
//! the invariants a billing office relies on checked after every step:
//!
//! - no position is in two live (not cancelled) documents; a position's state (`open`,
//!   `reserved`, `billed`) matches the document holding it;
//! - right after a commit up to day E: every booking dated up to E and every fee period
//!   due by E is in exactly one live document (nothing lost, nothing twice);
//! - conservation: after a commit up to the latest day any run reached, the live
//!   documents' nets add up to what one fresh run over all the data bills. Exceptions, by
//!   design (see the engine's module documentation): a prepaid contract that got a booking
//!   for a period an earlier run had already closed (that period no longer absorbs it, so
//!   it is overage instead of covered);
//! - the quota ledger's derived balances equal the sums of its entries and never go
//!   negative; numbers are gapless per series and year; settlements have no number and no
//!   feed position, and no issued invoice lacks lines.
//!
//! Runs on the backend under test (PostgreSQL with `TEST_DATABASE_URL`). One database per
//! test; every case bills its own fresh customers.

use crate::audit::Actor;
use crate::billing::{BillingSetup, InputParams, PositionScope};
use crate::invoice_runs::{RunPlan, RunScope, RunStart, StartedVia};
use crate::invoices::IssueOptions;
use crate::test_support::fresh_store;
use crate::types::{DbTime, ExactDecimal};
use crate::{Store, StoreError};
use domain::engine::compute_customer;
use domain::period::{Period, PeriodKind};
use domain::position::Booking;
use domain::quota::{period_balance, QuotaEntryKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{Date, Month};

/// One step of the model.
#[derive(Debug, Clone)]
enum Op {
    /// Book `minutes` on day `day` of `month` (2026) for customer `customer`.
    Book { customer: usize, month: u8, day: u8, minutes: u16, billable: bool },
    /// Preview the customer up to the end of `month` (writes nothing).
    Preview { customer: usize, month: u8 },
    /// Commit a customer run up to the end of `month`.
    Commit { customer: usize, month: u8 },
    /// Issue the `pick`-th draft of the case.
    Issue { pick: usize },
    /// Cancel the `pick`-th issued/paid invoice or settlement of the case.
    Cancel { pick: usize },
    /// Delete the `pick`-th draft (refused when a later draft builds on it).
    DeleteDraft { pick: usize },
    /// Mark the `pick`-th issued invoice paid.
    MarkPaid { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let customer = 0usize..KINDS.len();
    prop_oneof![
        4 => (customer.clone(), 1u8..=4, 1u8..=28, 1u16..=720, proptest::bool::weighted(0.85))
            .prop_map(|(customer, month, day, minutes, billable)| Op::Book { customer, month, day, minutes, billable }),
        1 => (customer.clone(), 1u8..=4).prop_map(|(customer, month)| Op::Preview { customer, month }),
        3 => (customer, 1u8..=4).prop_map(|(customer, month)| Op::Commit { customer, month }),
        3 => any::<usize>().prop_map(|pick| Op::Issue { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => any::<usize>().prop_map(|pick| Op::DeleteDraft { pick }),
        1 => any::<usize>().prop_map(|pick| Op::MarkPaid { pick }),
    ]
}

/// The contract kinds, one customer each.
const KINDS: [&str; 4] = ["time_and_material", "flat_fee", "prepaid_hours", "prepaid_budget"];

/// Unique customer and contract numbers across the cases of one database.
static NEXT: AtomicI64 = AtomicI64::new(1);

/// What the model knows of one customer.
#[derive(Debug, Default)]
struct ModelCustomer {
    kind: &'static str,
    id: i64,
    contract: i64,
    bookings: Vec<Booking>,
    /// The latest period end any committed run of this customer reached.
    max_end: Option<Date>,
    /// A booking arrived for a quota period a run had already closed.
    late: bool,
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

fn month_end(month: u8) -> Date {
    let m = Month::try_from(month).expect("month");
    Date::from_calendar_date(2026, m, 1).expect("date").replace_day(m.length(2026)).expect("last day")
}

async fn scalar(store: &Store, sql: &str, bind: i64) -> Result<i64, TestCaseError> {
    with_pool!(store, pool => sqlx::query_scalar::<_, i64>(sql).bind(bind).fetch_one(pool).await)
        .map_err(|e| fail(format!("{sql}: {e}")))
}

/// The technician and the service every case books: remote support at 100.00 an hour.
async fn seed_shared(store: &Store) {
    let now = DbTime::now();
    with_pool!(store, pool => {
        sqlx::query(
            "INSERT INTO users (email, name, password_hash, roles, weekly_capacity_hours, active, version, \
             created_at, updated_at) VALUES ('model@x.example', 'Tech', '!', 'agent', $1, TRUE, 1, $2, $2)")
            .bind(ExactDecimal(Decimal::from(40))).bind(now).execute(pool).await.expect("user");
        sqlx::query(
            "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, version, \
             created_at, updated_at) VALUES ('REMOTE', 'Remote support', 'hour', 'work', $1, $2, TRUE, 1, $3, $3)")
            .bind(ExactDecimal(Decimal::new(10000, 2))).bind(ExactDecimal(Decimal::from(19))).bind(now)
            .execute(pool).await.expect("service");
    });
}

/// Four customers (one line per booking), each with a contract of one kind from January.
async fn seed_case(store: &Store) -> Result<Vec<ModelCustomer>, TestCaseError> {
    let now = DbTime::now();
    let mut out = Vec::new();
    for kind in KINDS {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let (fee, hours, budget, carry, cap) = match kind {
            "flat_fee" => (50000, None, None, "none", None),
            "prepaid_hours" => (80000, Some(10), None, "carry", Some(5)),
            "prepaid_budget" => (30000, None, Some(600), "none", None),
            _ => (0, None, None, "none", None),
        };
        let money = |cents: i64| ExactDecimal(Decimal::new(cents, 2));
        let whole = |v: Option<i64>| v.map(|v| ExactDecimal(Decimal::from(v)));
        let ids: Result<(i64, i64), sqlx::Error> = with_pool!(store, pool => async {
            let customer: i64 = sqlx::query_scalar(
                "INSERT INTO customers (number, name, currency, payment_terms_days, vat_treatment, billing_mode, \
                 invoice_detail, version, created_at, updated_at) \
                 VALUES ($1, $2, 'EUR', 14, 'domestic', 'period_end', 'per_booking', 1, $3, $3) RETURNING id")
                .bind(format!("M{n:06}")).bind(format!("Model {kind} {n}")).bind(now).fetch_one(pool).await?;
            let contract: i64 = sqlx::query_scalar(
                "INSERT INTO contracts (customer_id, number, name, kind, start_date, billing_period, fee_timing, fee, \
                 fee_vat_rate, covers_all_work, separate_invoice, hours_per_period, budget_per_period, carry_over, \
                 carry_over_cap, overage, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'monthly', 'in_advance', $6, $12, TRUE, FALSE, $7, $8, $9, $10, \
                 'resolved_rates', 1, $11, $11) RETURNING id")
                .bind(customer).bind(format!("V-M-{n:06}")).bind(kind).bind(kind)
                .bind(Date::from_calendar_date(2026, Month::January, 1).expect("date"))
                .bind(money(fee)).bind(whole(hours)).bind(whole(budget)).bind(carry).bind(whole(cap)).bind(now)
                .bind(ExactDecimal(Decimal::from(19)))
                .fetch_one(pool).await?;
            Ok((customer, contract))
        }.await);
        let (id, contract) = ids.map_err(|e| fail(format!("seed: {e}")))?;
        out.push(ModelCustomer { kind, id, contract, ..ModelCustomer::default() });
    }
    Ok(out)
}

/// Ids of the case's documents of `kind` in one of `statuses`, oldest first.
async fn documents(
    store: &Store,
    customers: &[ModelCustomer],
    kinds: &[&str],
    statuses: &[&str],
) -> Result<Vec<i64>, TestCaseError> {
    let ids: Vec<String> = customers.iter().map(|c| c.id.to_string()).collect();
    let quote = |v: &[&str]| v.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT id FROM invoices WHERE customer_id IN ({}) AND kind IN ({}) AND status IN ({}) ORDER BY id",
        ids.join(","),
        quote(kinds),
        quote(statuses)
    );
    with_pool!(store, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_all(pool).await)
        .map_err(|e| fail(format!("{sql}: {e}")))
}

fn params(end: Date) -> InputParams {
    InputParams {
        period_start: None,
        period_end: end,
        scope: PositionScope::default(),
        contract_id: None,
        partial: false,
        per_booking: false,
    }
}

fn opts() -> IssueOptions {
    IssueOptions { series: "RE".into(), issue_date: Date::from_calendar_date(2026, Month::December, 1).expect("date") }
}

/// Applies one step; `Some(end)` for a commit of customer `c` up to `end`.
async fn apply(
    store: &Store,
    setup: &BillingSetup,
    model: &mut [ModelCustomer],
    op: &Op,
) -> Result<Option<(usize, Date)>, TestCaseError> {
    let actor = Actor::system();
    match *op {
        Op::Book { customer, month, day, minutes, billable } => {
            let m = &mut model[customer];
            let date = Date::from_calendar_date(2026, Month::try_from(month).expect("month"), day).expect("date");
            let id: i64 = with_pool!(store, pool => sqlx::query_scalar(
                "INSERT INTO bookings (user_id, work_date, duration_minutes, service_id, description, customer_id, \
                 billable, created_by, version, created_at, updated_at) \
                 SELECT u.id, $1, $2, s.id, 'work', $3, $4, 'model', 1, $5, $5 \
                 FROM users u, services s WHERE u.email = 'model@x.example' AND s.code = 'REMOTE' RETURNING id")
                .bind(date).bind(i64::from(minutes)).bind(m.id).bind(billable).bind(DbTime::now())
                .fetch_one(pool).await)
            .map_err(|e| fail(format!("book: {e}")))?;
            if m.max_end.is_some_and(|e| e >= month_end(month)) {
                m.late = true;
            }
            m.bookings.push(Booking {
                id,
                customer_id: m.id,
                user_id: 0,
                work_date: date,
                start_time: None,
                minutes: u32::from(minutes),
                service_id: 0,
                description: "work".into(),
                ticket: None,
                project_id: None,
                contract_id: None,
                billable,
                covered_by_contract: false,
                billed_as_extra: false,
                rate_override: None,
                custom_fields: Vec::new(),
            });
            Ok(None)
        }
        Op::Preview { customer, month } => {
            let before = scalar(store, "SELECT COUNT(*) + $1 FROM settled_positions", 0).await?;
            let cr =
                setup.customer_input(store, model[customer].id, params(month_end(month))).await.map_err(store_err)?;
            let billing = compute_customer(&setup.ctx, &cr.input);
            prop_assert!(billing.is_committable(), "preview blocked: {:?}", billing.problems);
            let after = scalar(store, "SELECT COUNT(*) + $1 FROM settled_positions", 0).await?;
            prop_assert_eq!(before, after, "a preview writes nothing");
            Ok(None)
        }
        Op::Commit { customer, month } => {
            let end = month_end(month);
            let plan = RunPlan {
                scope: RunScope::Customer(model[customer].id),
                customers: vec![model[customer].id],
                params: params(end),
            };
            let start = RunStart { via: StartedVia::Api, actor: &actor, idempotency: None };
            let result = store.commit_run(setup, &plan, &start).await.map_err(store_err)?;
            prop_assert!(result.run.problems.0.is_empty(), "run problems: {:?}", result.run.problems);
            Ok(Some((customer, end)))
        }
        Op::Issue { pick } => {
            let drafts = documents(store, model, &["invoice", "settlement"], &["draft"]).await?;
            if let Some(id) = pick_of(&drafts, pick) {
                match store.issue_invoice(id, None, &opts(), &actor).await {
                    // Issued out of order: the earlier draft of the contract comes first.
                    Err(StoreError::Conflict(m)) if m.contains("comes first") => {}
                    other => other.map(|_| ()).map_err(store_err)?,
                }
            }
            Ok(None)
        }
        Op::Cancel { pick } => {
            let done = documents(store, model, &["invoice", "settlement"], &["issued", "paid", "settled"]).await?;
            if let Some(id) = pick_of(&done, pick) {
                store
                    .cancel_invoice(id, None, &IssueOptions { series: "GS".into(), ..opts() }, None, &actor)
                    .await
                    .map_err(store_err)?;
            }
            Ok(None)
        }
        Op::DeleteDraft { pick } => {
            let drafts = documents(store, model, &["invoice", "settlement"], &["draft"]).await?;
            if let Some(id) = pick_of(&drafts, pick) {
                match store.delete_draft(id, None, &actor).await {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(store_err(e)),
                }
            }
            Ok(None)
        }
        Op::MarkPaid { pick } => {
            let issued = documents(store, model, &["invoice"], &["issued"]).await?;
            if let Some(id) = pick_of(&issued, pick) {
                store.mark_invoice_paid(id, None, opts().issue_date, &actor).await.map_err(store_err)?;
            }
            Ok(None)
        }
    }
}

fn pick_of(ids: &[i64], pick: usize) -> Option<i64> {
    (!ids.is_empty()).then(|| ids[pick % ids.len()])
}

fn store_err(e: StoreError) -> TestCaseError {
    fail(format!("store: {e}"))
}

/// Invariants that hold after every step.
async fn check_always(store: &Store, model: &[ModelCustomer]) -> Result<(), TestCaseError> {
    let zero = |sql: &'static str| async move {
        let n = scalar(store, sql, 0).await?;
        prop_assert_eq!(n, 0, "{}", sql);
        Ok::<(), TestCaseError>(())
    };
    zero(
        "SELECT COUNT(*) + $1 FROM (SELECT position_key FROM settled_positions WHERE active \
          GROUP BY position_key HAVING COUNT(*) > 1) t",
    )
    .await?;
    zero(
        "SELECT COUNT(*) + $1 FROM settled_positions p JOIN invoices i ON i.id = p.invoice_id \
          WHERE (p.active AND i.status = 'cancelled') OR (NOT p.active AND i.status <> 'cancelled')",
    )
    .await?;
    // A booking is held only by a live document of its own customer, with a treatment.
    zero(
        "SELECT COUNT(*) + $1 FROM booking_holds h JOIN bookings b ON b.id = h.booking_id \
          JOIN invoices i ON i.id = h.invoice_id \
          LEFT JOIN booking_settlements bs ON bs.invoice_id = h.invoice_id AND bs.booking_id = h.booking_id \
          WHERE i.customer_id <> b.customer_id OR i.status = 'cancelled' OR bs.treatment IS NULL",
    )
    .await?;
    // Every settlement a document lists is the booking's hold (SQLite keeps both: 0027).
    zero(
        "SELECT COUNT(*) + $1 FROM booking_settlements bs LEFT JOIN booking_holds h ON h.booking_id = bs.booking_id \
          WHERE h.invoice_id IS NULL OR h.invoice_id <> bs.invoice_id",
    )
    .await?;
    // Numbers gapless per series and year.
    zero(
        "SELECT COUNT(*) + $1 FROM (SELECT series, number_year FROM invoices WHERE number IS NOT NULL \
          GROUP BY series, number_year HAVING MIN(number_seq) <> 1 OR MAX(number_seq) <> COUNT(*)) t",
    )
    .await?;
    zero(
        "SELECT COUNT(*) + $1 FROM invoices WHERE kind = 'settlement' AND (number IS NOT NULL OR feed_seq IS NOT NULL)",
    )
    .await?;
    zero(
        "SELECT COUNT(*) + $1 FROM invoices i WHERE i.kind = 'invoice' AND i.status <> 'draft' \
          AND NOT EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id)",
    )
    .await?;
    // The ledger: derived balances equal the sums of the entries, and never go negative.
    for m in model {
        let ledger = store.contract_ledger(m.contract).await.map_err(store_err)?;
        let periods: BTreeSet<Date> = ledger.iter().map(|e| e.period_start).collect();
        for p in periods {
            let b = period_balance(&ledger, m.contract, p);
            let sum: Decimal = ledger
                .iter()
                .filter(|e| e.period_start == p && !matches!(e.kind, QuotaEntryKind::Overage | QuotaEntryKind::Close))
                .map(|e| e.amount)
                .sum();
            prop_assert_eq!(b.remaining(), sum, "contract {} period {}", m.contract, p);
            prop_assert!(b.buckets.iter().all(|(_, a)| *a >= Decimal::ZERO), "negative bucket {:?}", b);
            prop_assert!(b.used >= Decimal::ZERO && b.overage >= Decimal::ZERO, "{:?}", b);
        }
    }
    Ok(())
}

/// Invariants right after customer `m` was committed up to `end`.
async fn check_after_commit(
    store: &Store,
    setup: &BillingSetup,
    m: &ModelCustomer,
    end: Date,
) -> Result<(), TestCaseError> {
    for b in m.bookings.iter().filter(|b| b.work_date <= end) {
        let live =
            scalar(store, "SELECT COUNT(*) FROM settled_positions WHERE active AND booking_id = $1", b.id).await?;
        prop_assert_eq!(live, 1, "booking {} of {} up to {} in {} live documents", b.id, b.work_date, end, live);
    }
    let fee_due: Vec<Date> = {
        let mut due = Vec::new();
        let mut p =
            Period::containing(PeriodKind::Monthly, Date::from_calendar_date(2026, Month::January, 1).expect("date"));
        while let Some(period) = p.filter(|p| p.start <= end) {
            due.push(period.start);
            p = period.next(PeriodKind::Monthly);
        }
        due
    };
    let has_fee = m.kind != "time_and_material";
    if has_fee {
        for start in fee_due {
            let live: i64 = with_pool!(store, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM settled_positions WHERE active AND fee_contract_id = $1 AND fee_period_start = $2")
                .bind(m.contract).bind(start).fetch_one(pool).await)
            .map_err(|e| fail(format!("fee count: {e}")))?;
            prop_assert_eq!(
                live,
                1,
                "fee period {} of contract {} due by {} in {} live documents",
                start,
                m.contract,
                end,
                live
            );
        }
    }
    // Conservation against one fresh run over all the data.
    if m.max_end.is_some_and(|max| end >= max) && !m.late {
        let mut fresh = setup.customer_input(store, m.id, params(end)).await.map_err(store_err)?;
        let (user_id, service_id): (i64, i64) = with_pool!(store, pool => sqlx::query_as(
            "SELECT u.id, s.id FROM users u, services s WHERE u.email = 'model@x.example' AND s.code = 'REMOTE'")
            .fetch_one(pool).await)
        .map_err(|e| fail(format!("ids: {e}")))?;
        fresh.input.bookings = m.bookings.iter().map(|b| Booking { user_id, service_id, ..b.clone() }).collect();
        fresh.input.expenses.clear();
        for c in &mut fresh.input.contracts {
            c.ledger.clear();
            c.billed_fee_periods.clear();
        }
        let billing = compute_customer(&setup.ctx, &fresh.input);
        prop_assert!(billing.is_committable(), "{:?}", billing.problems);
        let expected: Decimal = billing.proposals.iter().map(|p| p.totals.net).sum();
        let nets: Vec<ExactDecimal> = with_pool!(store, pool => sqlx::query_scalar(
            "SELECT net FROM invoices WHERE customer_id = $1 AND kind <> 'credit_note' AND status <> 'cancelled'")
            .bind(m.id).fetch_all(pool).await)
        .map_err(|e| fail(format!("nets: {e}")))?;
        let live: Decimal = nets.iter().map(|n| n.0).sum();
        prop_assert_eq!(
            live,
            expected,
            "customer {} ({}): live documents vs. one fresh run up to {}",
            m.id,
            m.contract,
            end
        );
    }
    Ok(())
}

async fn run_case(store: &Store, ops: &[Op]) -> Result<(), TestCaseError> {
    let setup = BillingSetup::load(store).await.map_err(store_err)?;
    let mut model = seed_case(store).await?;
    for op in ops {
        let committed = apply(store, &setup, &mut model, op).await?;
        check_always(store, &model).await?;
        if let Some((c, end)) = committed {
            let m = &mut model[c];
            m.max_end = Some(m.max_end.map_or(end, |e| e.max(end)));
            check_after_commit(store, &setup, &model[c], end).await?;
        }
    }
    Ok(())
}

#[test]
fn no_sequence_of_runs_issues_cancels_and_deletions_loses_or_double_bills_a_position_or_fee() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let test = rt.block_on(fresh_store());
    rt.block_on(seed_shared(&test.store));
    let cases = std::env::var("KONTOR_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24);
    let mut runner =
        TestRunner::new(Config { cases, max_shrink_iters: 2000, failure_persistence: None, ..Config::default() });
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| rt.block_on(run_case(&test.store, &ops)));
    rt.block_on(test.remove());
    if let Err(e) = result {
        panic!("{e}");
    }
}
