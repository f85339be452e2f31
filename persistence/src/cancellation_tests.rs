//! Calls dropped mid-statement (a client that disconnects, a timeout, a run's task that is
//! stopped): whatever a dropped call had started is finished or rolled back, and the store
//! keeps answering — on the reader connections, the pool, the booking writer and inside
//! draft transactions.

use crate::billing::BillingSetup;
use crate::bookings::{BookingData, BookingFilter};
use crate::invoices::tests::{batch, compute, count, seed};
use crate::invoices::DraftOutcome;
use crate::page::PageRequest;
use crate::test_support::fresh_store;
use crate::types::JsonText;
use crate::{Actor, Store};
use std::time::Duration;
use time::macros::date;

/// Long enough for any call on an idle test database; a call still waiting then hangs.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

fn new_booking(i: u64) -> BookingData {
    BookingData {
        user_id: 1,
        work_date: date!(2026 - 11 - 10),
        start_time: None,
        end_time: None,
        duration_minutes: 15 + (i % 4) as i64 * 15,
        service_id: 1,
        description: format!("Support #{i}"),
        customer_id: Some(1),
        ticket_id: None,
        project_id: None,
        task_id: None,
        billable: true,
        rate_override: None,
        custom_fields: JsonText(serde_json::json!({})),
    }
}

/// One round of the hot calls, each given at most `budget` before it is dropped (`None`:
/// all the time it needs, which must be [`ANSWER_WITHIN`]). Returns how many bookings were
/// answered as created.
async fn round(store: &Store, setup: &BillingSetup, i: u64, budget: Option<Duration>) -> usize {
    let limit = budget.unwrap_or(ANSWER_WITHIN);
    let must_answer = budget.is_none();
    let mut created = 0;
    let listed = tokio::time::timeout(
        limit,
        store.list_bookings(&BookingFilter::default(), &PageRequest { limit: 50, after: None }),
    )
    .await;
    assert!(!must_answer || listed.is_ok(), "listing bookings hangs after dropped calls");
    let read = tokio::time::timeout(limit, store.get_booking(1)).await;
    assert!(!must_answer || read.is_ok(), "reading a booking hangs after dropped calls");
    let actor = Actor::system();
    let data = new_booking(i);
    match tokio::time::timeout(limit, store.create_booking(&data, &actor)).await {
        Ok(res) => {
            res.expect("create a booking");
            created += 1;
        }
        Err(_) => assert!(!must_answer, "creating a booking hangs after dropped calls"),
    }
    let drafted = tokio::time::timeout(limit, async {
        let (cr, billing) = compute(setup, store).await;
        store.create_drafts(&batch(&cr, &billing, &actor)).await.expect("store drafts")
    })
    .await;
    match drafted {
        Ok(DraftOutcome::Created { .. } | DraftOutcome::Stale) => {}
        Err(_) => assert!(!must_answer, "storing drafts hangs after dropped calls"),
    }
    created
}

#[tokio::test]
async fn calls_dropped_mid_statement_leave_the_store_answering_and_every_write_whole() {
    let test = fresh_store().await;
    let store = &test.store;
    seed(store).await;
    let setup = BillingSetup::load(store).await.unwrap();
    // Deterministic budgets from nothing to a few milliseconds: calls are dropped before,
    // during and after their statements, transactions and hand-offs.
    let mut lcg = 0x2545_f491_4f6c_dd1d_u64;
    let mut answered = 0;
    for i in 0..150u64 {
        lcg = lcg.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let budget = Duration::from_micros((lcg >> 33) % 3000);
        answered += round(store, &setup, i, Some(budget)).await;
        if i % 25 == 24 {
            answered += round(store, &setup, 1000 + i, None).await;
        }
    }
    answered += round(store, &setup, 2000, None).await;
    // Every write is whole: a booking created (answered or not) has its audit entry, a
    // draft its audit entry, and no position is held twice.
    let bookings = count(store, "SELECT COUNT(*) FROM bookings").await;
    assert!(bookings >= 3 + answered as i64, "{bookings} bookings, {answered} answered as created");
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'booking' AND action = 'create'").await,
        bookings - 3,
        "one audit entry per booking written (the seed's three have none)"
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'invoice' AND action = 'create'").await,
        count(store, "SELECT COUNT(*) FROM invoices").await,
    );
    assert_eq!(
        count(
            store,
            "SELECT COUNT(*) FROM booking_settlements s \
             WHERE NOT EXISTS (SELECT 1 FROM invoices i WHERE i.id = s.invoice_id)"
        )
        .await,
        0,
        "every held booking is held by a stored draft"
    );
    test.remove().await;
}
