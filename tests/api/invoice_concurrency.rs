//! Reliability of invoicing under concurrency and crashes, with the real `kontor` binary:
//! two server processes on one database — PostgreSQL when `TEST_DATABASE_URL` is set, else
//! one SQLite file in WAL mode — commit invoice runs, issue drafts and cancel invoices at
//! the same time; afterwards the invariants are checked in the database itself. A failing
//! last step of issuing and a SIGKILL in the middle of issuing leave every invoice wholly a
//! draft or wholly issued, and the numbers stay gapless. Nodes of one deployment may also
//! start at the same moment on a fresh database.

use crate::books::{check_books, DocRow};
use crate::cluster::{Cluster, Reply, Sql};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Last day of the service period of every run here (the bookings are in November 2026).
const PERIOD_END: &str = "2026-11-30";

/// Reads the accounting feed from the database until `done`, as an accounting system
/// polling it would, and checks that no read ever shows a gap (a later feed position
/// visible before an earlier one). Returns how many reads it made.
async fn watch_feed(sql: &Sql, done: &AtomicBool) -> usize {
    let mut reads = 0;
    while !done.load(Ordering::Acquire) {
        let seqs: Vec<i64> = on_sql!(sql, pool => sqlx::query_scalar(
            "SELECT feed_seq FROM invoices WHERE feed_seq IS NOT NULL ORDER BY feed_seq")
            .fetch_all(pool).await.expect("read the feed"));
        let m = seqs.len() as i64;
        assert_eq!(seqs, (1..=m).collect::<Vec<_>>(), "a feed reader never sees a gap");
        reads += 1;
        tokio::task::yield_now().await;
    }
    reads
}

fn commit_body(scope: &str, scope_id: Option<i64>) -> Value {
    json!({"mode": "commit", "scope": scope, "scope_id": scope_id, "period_end": PERIOD_END})
}

/// The statuses of two answers to the same request, sorted.
fn statuses(a: &Reply, b: &Reply) -> (u16, u16) {
    let (x, y) = (a.status.as_u16(), b.status.as_u16());
    (x.min(y), x.max(y))
}

const CUSTOMERS: usize = 6;
const ROUNDS: usize = 10;
/// Committed runs fired at once per round.
const RUNS_PER_ROUND: usize = 5;

/// What the rounds of the two-node test saw.
#[derive(Debug, Default)]
struct RoundStats {
    runs_with_drafts: usize,
    concurrent_changes: usize,
    double_issues: usize,
    double_cancels: usize,
    feed_reads: usize,
}

/// Both nodes cancel invoice `id` at once: one credit note, the other node gets 409.
fn check_double_cancel(replies: &[Reply], stats: &mut RoundStats) {
    if let [a, b] = replies {
        assert_eq!(statuses(a, b), (201, 409), "one node cancels, the other is refused: {a:?} {b:?}");
        assert!(a.is_problem() || b.is_problem(), "{a:?} {b:?}");
        stats.double_cancels += 1;
    }
}

/// Committed runs on both nodes at once — all customers, and single customers (one of them
/// on both nodes) — while both nodes cancel `cancel` (an earlier invoice). Afterwards every
/// draft is reported by one run, and work still open was given up by every run covering its
/// customer (it kept changing under them) or reopened by the cancellation.
async fn commit_runs_at_once(
    c: &Cluster,
    customers: &[i64],
    round: usize,
    cancel: Option<i64>,
    stats: &mut RoundStats,
) {
    let (first, second) = (customers[round % customers.len()], customers[(round + 1) % customers.len()]);
    let runs: [(usize, Option<i64>); RUNS_PER_ROUND] =
        [(0, None), (1, None), (0, Some(first)), (1, Some(first)), (1, Some(second))];
    let run_calls = runs.iter().map(|&(node, customer)| {
        let body = commit_body(if customer.is_some() { "customer" } else { "all" }, customer);
        c.post(node, "/api/v1/invoice-runs", Some(body))
    });
    let cancel_calls = cancel.into_iter().flat_map(|id| {
        let body = json!({"reason": format!("round {round}")});
        [0, 1].map(|node| c.post(node, &format!("/api/v1/invoices/{id}/cancel"), Some(body.clone())))
    });
    let (run_replies, cancel_replies) = tokio::join!(join_all(run_calls), join_all(cancel_calls));
    check_double_cancel(&cancel_replies, stats);
    // Runs over all customers are jobs (202): wait until they have finished.
    let mut finished = Vec::new();
    for (&(node, _), r) in runs.iter().zip(run_replies) {
        assert!([StatusCode::CREATED, StatusCode::ACCEPTED].contains(&r.status), "round {round}: {r:?}");
        finished.push(c.finished_run(node, r).await);
    }
    let run_replies = finished;
    let mut created = BTreeSet::new();
    let mut gave_up: Vec<(Option<i64>, BTreeSet<i64>)> = Vec::new();
    for (&(_, scope), r) in runs.iter().zip(&run_replies) {
        assert_eq!(r.body["status"], "succeeded", "round {round}: {r:?}");
        if r.body["invoices_created"].as_i64() > Some(0) {
            stats.runs_with_drafts += 1;
        }
        for id in r.body["invoice_ids"].as_array().expect("invoice_ids") {
            assert!(created.insert(id.as_i64().expect("id")), "draft {id} is reported by two runs");
        }
        let problems = r.body["problems"].as_array().expect("problems");
        let changed: BTreeSet<i64> = problems
            .iter()
            .filter(|p| p["code"] == "concurrent_change")
            .filter_map(|p| p["customer_id"].as_i64())
            .collect();
        assert_eq!(changed.len(), problems.len(), "no problem but concurrent change: {problems:?}");
        stats.concurrent_changes += changed.len();
        gave_up.push((scope, changed));
    }
    let books = c.sql.books().await;
    check_books(&books);
    let reopened: BTreeSet<i64> =
        books.positions.iter().filter(|p| Some(p.invoice_id) == cancel).filter_map(|p| p.booking_id).collect();
    for b in books.bookings.iter().filter(|b| b.state == "open" && !reopened.contains(&b.id)) {
        let customer = b.customer_id.expect("customer of the booking");
        for (scope, changed) in &gave_up {
            if scope.is_none_or(|s| s == customer) {
                assert!(changed.contains(&customer), "booking {b:?} was left open by a run that did not give up");
            }
        }
    }
}

/// Every draft is issued by both nodes at once — exactly one wins, the other gets 409 —
/// while both nodes cancel `cancel` and an accounting system reads the feed.
async fn issue_drafts_twice_at_once(c: &Cluster, cancel: Option<i64>, stats: &mut RoundStats) {
    let books = c.sql.books().await;
    let drafts: Vec<i64> = books.docs.values().filter(|d| d.status == "draft").map(|d| d.id).collect();
    let issue_calls =
        drafts.iter().flat_map(|id| [0, 1].map(|node| c.post(node, &format!("/api/v1/invoices/{id}/issue"), None)));
    let cancel_calls = cancel
        .into_iter()
        .flat_map(|id| [0, 1].map(|node| c.post(node, &format!("/api/v1/invoices/{id}/cancel"), None)));
    let done = AtomicBool::new(false);
    let work = async {
        let replies = tokio::join!(join_all(issue_calls), join_all(cancel_calls));
        done.store(true, Ordering::Release);
        replies
    };
    let ((issue_replies, cancel_replies), reads) = tokio::join!(work, watch_feed(&c.sql, &done));
    stats.feed_reads += reads;
    for (id, pair) in drafts.iter().zip(issue_replies.chunks(2)) {
        let [a, b] = pair else { unreachable!("two answers per draft") };
        assert_eq!(statuses(a, b), (200, 409), "draft {id}: one node issues it, the other is refused: {a:?} {b:?}");
        let (winner, loser) = if a.status == StatusCode::OK { (a, b) } else { (b, a) };
        assert_eq!(winner.body["status"], "issued");
        assert!(winner.body["number"].is_string(), "{winner:?}");
        assert!(loser.is_problem(), "{loser:?}");
        stats.double_issues += 1;
    }
    check_double_cancel(&cancel_replies, stats);
    let tally = check_books(&c.sql.books().await);
    assert_eq!(tally.drafts, 0, "every draft was issued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_running_issuing_and_cancelling_at_once_bill_every_position_once_with_gapless_numbers() {
    let cluster = Cluster::start(2).await;
    let c = &cluster;
    let started = Instant::now();
    let service = c.service().await;
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        customers.push(c.customer_with_ticket(i % 2, &format!("Kunde {i} GmbH")).await);
    }
    let customer_ids: Vec<i64> = customers.iter().map(|&(id, _)| id).collect();
    let mut stats = RoundStats::default();
    for round in 0..ROUNDS {
        // Fresh work for every customer, booked through either node at once.
        let bookings = customers.iter().enumerate().flat_map(|(i, &(_, ticket))| {
            (0..2).map(move |j| c.book((i + j) % 2, service, ticket, round + 1, 30 + 15 * j as i64))
        });
        join_all(bookings).await;
        // The oldest and the newest issued invoice are cancelled during the round.
        let books = c.sql.books().await;
        let issued: Vec<i64> =
            books.docs.values().filter(|d| d.kind == "invoice" && d.status == "issued").map(|d| d.id).collect();
        let (oldest, newest) = (issued.first().copied(), issued.last().copied().filter(|_| issued.len() > 1));
        commit_runs_at_once(c, &customer_ids, round, oldest, &mut stats).await;
        issue_drafts_twice_at_once(c, newest, &mut stats).await;
    }

    // All work is billed once; the counters stand at the documents numbered.
    let books = c.sql.books().await;
    let tally = check_books(&books);
    assert!(tally.cancelled > 0 && tally.credit_notes == tally.cancelled, "{tally:?}");
    assert!(books.bookings.iter().all(|b| b.state != "reserved"), "no draft is left");

    // The database itself holds a booking in one document only (PostgreSQL: one `invoice_id`
    // column on the booking, taken only while empty; SQLite: one settlement row per booking) …
    let held = books.positions.iter().find(|p| p.active && p.booking_id.is_some()).expect("an active position");
    let other = books.docs.values().find(|d| d.kind == "invoice" && d.id != held.invoice_id).expect("another invoice");
    match &c.sql {
        Sql::Postgres(pool) => {
            let restamp = sqlx::query("UPDATE bookings SET invoice_id = $1 WHERE id = $2 AND invoice_id IS NULL")
                .bind(other.id)
                .bind(held.booking_id)
                .execute(pool)
                .await;
            assert_eq!(restamp.expect("the update runs").rows_affected(), 0, "a held booking is not stamped again");
        }
        Sql::Sqlite(pool) => {
            let second = sqlx::query("INSERT INTO booking_holds (booking_id, invoice_id) VALUES ($1, $2)")
                .bind(held.booking_id)
                .bind(other.id)
                .execute(pool)
                .await;
            let err = second.expect_err("a held booking is not held again");
            assert_eq!(
                err.as_database_error().map(|e| e.kind()),
                Some(sqlx::error::ErrorKind::UniqueViolation),
                "{err}"
            );
        }
    }
    // … refuses a holder naming no document …
    let dangling = on_sql!(&c.sql, pool => sqlx::query(match &c.sql {
            Sql::Postgres(_) => "UPDATE bookings SET invoice_id = $1 WHERE id = $2",
            // A document's settlements name it (the holds follow them: migrations/sqlite/0027).
            Sql::Sqlite(_) => {
                "UPDATE booking_settlement_sets SET invoice_id = $1 \
                 WHERE invoice_id = (SELECT invoice_id FROM booking_holds WHERE booking_id = $2)"
            }
        })
        .bind(i64::MAX).bind(held.booking_id).execute(pool).await.map(|_| ()));
    let err = dangling.expect_err("a stamp must name an existing document");
    assert_eq!(err.as_database_error().map(|e| e.kind()), Some(sqlx::error::ErrorKind::ForeignKeyViolation), "{err}");
    // … and a number used twice in a series and year.
    let numbered: Vec<&DocRow> = books.docs.values().filter(|d| d.series.as_deref() == Some("RE")).collect();
    let (a, b) = (numbered[0], numbered[1]);
    let update = on_sql!(&c.sql, pool => sqlx::query("UPDATE invoices SET number_seq = $1 WHERE id = $2")
        .bind(a.number_seq).bind(b.id).execute(pool).await.map(|_| ()));
    let err = update.expect_err("a number used twice is refused");
    assert_eq!(err.as_database_error().map(|e| e.kind()), Some(sqlx::error::ErrorKind::UniqueViolation), "{err}");
    assert_eq!(c.sql.books().await, books, "the refused writes changed nothing");

    println!(
        "{}: {ROUNDS} rounds on two nodes in {:.1?}: {} invoices, {} cancelled by credit notes, {} drafts issued by \
         both nodes at once (one 409 each), {} double cancellations, {} of {} runs created drafts, {} customers given \
         up by a run after repeated concurrent changes, {} feed reads without a gap",
        c.backend(),
        started.elapsed(),
        tally.issued + tally.cancelled,
        tally.cancelled,
        stats.double_issues,
        stats.double_cancels,
        stats.runs_with_drafts,
        ROUNDS * RUNS_PER_ROUND,
        stats.concurrent_changes,
        stats.feed_reads
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_retried_with_the_same_idempotency_key_on_either_node_creates_nothing_new() {
    let cluster = Cluster::start(2).await;
    let c = &cluster;
    let service = c.service().await;
    let mut customers = Vec::new();
    for i in 0..3 {
        let (customer, ticket) = c.customer_with_ticket(i % 2, &format!("Retry {i} GmbH")).await;
        c.book(0, service, ticket, 3, 60).await;
        c.book(1, service, ticket, 4, 30).await;
        customers.push(customer);
    }
    let runs = "/api/v1/invoice-runs";
    let commit = |node: usize, customer: i64, key: &str| {
        c.request(node, Method::POST, runs, Some(commit_body("customer", Some(customer))), Some(key))
    };
    let drafts_of = |customer: i64| format!("SELECT COUNT(*) FROM invoices WHERE customer_id = {customer}");

    // A retry on the other node replays the first answer: the key is stored in the database.
    let first = commit(0, customers[0], "run-2026-11-a").await.expect("commit");
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert!(!first.replayed);
    let retry = commit(1, customers[0], "run-2026-11-a").await.expect("retry");
    assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
    assert!(retry.replayed, "the other node replays the stored answer");
    assert_eq!(retry.body, first.body);
    assert_eq!(c.sql.count(&drafts_of(customers[0])).await, 1, "one draft only");
    assert_eq!(c.sql.count("SELECT COUNT(*) FROM invoice_runs").await, 1, "one run only");

    // Both nodes at once with one key: one run; the other answer is the replay or "still in
    // progress" (409), and a later retry replays.
    let (a, b) = tokio::join!(commit(0, customers[1], "run-2026-11-b"), commit(1, customers[1], "run-2026-11-b"));
    let (a, b) = (a.expect("commit on node 0"), b.expect("commit on node 1"));
    let fresh: Vec<&Reply> = [&a, &b].into_iter().filter(|r| r.status == StatusCode::CREATED && !r.replayed).collect();
    assert_eq!(fresh.len(), 1, "exactly one node runs it: {a:?} {b:?}");
    let run_id = fresh[0].body["id"].clone();
    for r in [&a, &b].into_iter().filter(|r| r.replayed || r.status != StatusCode::CREATED) {
        match r.status {
            StatusCode::CREATED => assert_eq!(r.body["id"], run_id, "{r:?}"),
            StatusCode::CONFLICT => {
                assert!(r.is_problem());
                assert_eq!(r.body["type"], "urn:kontor:problem:idempotency-key-in-progress", "{r:?}");
            }
            _ => panic!("unexpected answer {r:?}"),
        }
    }
    let later = commit(1, customers[1], "run-2026-11-b").await.expect("retry");
    assert!(later.replayed && later.body["id"] == run_id, "{later:?}");
    assert_eq!(c.sql.count(&drafts_of(customers[1])).await, 1, "one draft only");
    assert_eq!(c.sql.count("SELECT COUNT(*) FROM invoice_runs").await, 2);

    // A commit whose request died after its drafts were stored — the run record still
    // `running`, the key released as after a failed request — is continued by the retry on
    // the other node: the same run, nothing new.
    let third = commit(0, customers[2], "run-2026-11-c").await.expect("commit");
    assert_eq!(third.status, StatusCode::CREATED);
    c.sql
        .run("UPDATE invoice_runs SET status = 'running', finished_at = NULL WHERE idempotency_key = 'run-2026-11-c'")
        .await;
    c.sql.run("DELETE FROM idempotency_keys WHERE idem_key = 'run-2026-11-c'").await;
    // (The job worker of either node may take the interrupted run over first: then the
    // retry answers with that run, 202 while it runs, followed until it has finished.)
    let continued = commit(1, customers[2], "run-2026-11-c").await.expect("retry");
    let continued = c.finished_run(1, continued).await;
    assert_eq!(continued.body["id"], third.body["id"], "the same run is continued");
    assert_eq!(continued.body["status"], "succeeded");
    match continued.status {
        StatusCode::CREATED => assert_eq!(continued.body["invoice_ids"], json!([]), "no new draft"),
        StatusCode::OK => assert_eq!(continued.body["invoice_ids"], third.body["invoice_ids"], "no new draft"),
        _ => panic!("unexpected answer {continued:?}"),
    }
    assert_eq!(continued.body["invoices_created"], 1);
    assert_eq!(continued.body["positions_reserved"], 2);
    assert_eq!(c.sql.count(&drafts_of(customers[2])).await, 1, "one draft only");
    assert_eq!(c.sql.count("SELECT COUNT(*) FROM invoice_runs").await, 3);

    // The same key with another request is refused on the other node too.
    let mut other = commit_body("customer", Some(customers[0]));
    other["period_end"] = json!("2026-11-15");
    let reused = c.request(1, Method::POST, runs, Some(other), Some("run-2026-11-a")).await.expect("reuse");
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY, "{reused:?}");
    assert!(reused.is_problem());
    let tally = check_books(&c.sql.books().await);
    assert_eq!(tally.drafts, 3);
}

/// Makes inserting the `invoice.issued` event — the last step of issuing — fail.
async fn break_issued_events(sql: &Sql) {
    match sql {
        Sql::Postgres(_) => {
            sql.run(
                "CREATE FUNCTION test_refuse_issued_event() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'boom: invoice.issued refused by the test'; END $$; \
                 CREATE TRIGGER test_refuse_issued_event BEFORE INSERT ON events FOR EACH ROW \
                 WHEN (NEW.event_type = 'invoice.issued') EXECUTE FUNCTION test_refuse_issued_event();",
            )
            .await
        }
        Sql::Sqlite(_) => {
            sql.run(
                "CREATE TRIGGER test_refuse_issued_event BEFORE INSERT ON events \
                 WHEN NEW.event_type = 'invoice.issued' BEGIN SELECT RAISE(ABORT, 'boom'); END",
            )
            .await
        }
    }
}

async fn repair_issued_events(sql: &Sql) {
    match sql {
        Sql::Postgres(_) => {
            sql.run("DROP TRIGGER test_refuse_issued_event ON events; DROP FUNCTION test_refuse_issued_event();").await
        }
        Sql::Sqlite(_) => sql.run("DROP TRIGGER test_refuse_issued_event").await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_failing_at_its_last_step_leaves_the_draft_as_it_was_and_gives_the_number_back() {
    let c = Cluster::start(1).await;
    let service = c.service().await;
    let customer =
        c.created(0, "/api/v1/customers", json!({"name": "Prepaid GmbH"})).await["id"].as_i64().expect("customer id");
    let contract = c
        .created(
            0,
            "/api/v1/contracts",
            json!({"customer_id": customer, "name": "Support 10 h", "kind": "prepaid_hours",
                   "start_date": "2026-11-01", "billing_period": "monthly", "fee": "800.00", "hours_per_period": "10"}),
        )
        .await["id"]
        .clone();
    let ticket = c
        .created(0, "/api/v1/tickets", json!({"title": "Mail", "customer_id": customer, "contract_id": contract}))
        .await["id"]
        .as_i64()
        .expect("ticket id");
    c.book(0, service, ticket, 5, 90).await;
    c.book(0, service, ticket, 6, 45).await;
    let run = c.created(0, "/api/v1/invoice-runs", commit_body("customer", Some(customer))).await;
    let draft = run["invoice_ids"][0].as_i64().expect("a draft");
    let quota_entries =
        c.sql.count(&format!("SELECT COUNT(*) FROM invoice_quota_entries WHERE invoice_id = {draft}")).await;
    assert!(quota_entries > 0, "the draft carries quota-ledger entries to write at issue");
    let before = c.sql.books().await;
    check_books(&before);
    assert_eq!(before.ledger_entries, 0);

    break_issued_events(&c.sql).await;
    let failed = c.post(0, &format!("/api/v1/invoices/{draft}/issue"), None).await;
    assert!(failed.status.is_server_error(), "a database failure is a 5xx: {failed:?}");
    assert!(failed.is_problem(), "{failed:?}");
    assert_eq!(failed.body["status"].as_u64(), Some(u64::from(failed.status.as_u16())));
    let after = c.sql.books().await;
    assert_eq!(after, before, "nothing of the issue stayed: still a draft, bookings reserved, no ledger, no counter");
    assert_eq!(after.docs[&draft].status, "draft");
    assert!(after.bookings.iter().all(|b| b.state == "reserved"));

    repair_issued_events(&c.sql).await;
    let issued = c.post(0, &format!("/api/v1/invoices/{draft}/issue"), None).await;
    assert_eq!(issued.status, StatusCode::OK, "{issued:?}");
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(issued.body["number"], format!("RE-{year}-00001"), "the failed issue gave its number back");
    let books = c.sql.books().await;
    check_books(&books);
    assert_eq!(books.ledger_entries, quota_entries, "the ledger is written once");
    assert_eq!(books.issued_events, 1);
    assert!(books.bookings.iter().all(|b| b.state == "billed"));
}

const KILL_DRAFTS: usize = 80;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_issuing_leaves_every_invoice_wholly_draft_or_wholly_issued() {
    let mut c = Cluster::start(2).await;
    let service = c.service().await;
    let setup = (0..KILL_DRAFTS).map(|i| {
        let c = &c;
        async move {
            let (_, ticket) = c.customer_with_ticket(i % 2, &format!("Kill {i} GmbH")).await;
            c.book((i + 1) % 2, service, ticket, 10, 60).await;
        }
    });
    join_all(setup).await;
    let run = c.committed(1, commit_body("all", None)).await;
    let drafts: Vec<i64> = run["invoice_ids"].as_array().expect("ids").iter().filter_map(Value::as_i64).collect();
    assert_eq!(drafts.len(), KILL_DRAFTS);

    // Node 0 is asked to issue every draft, node 1 every other one, all at once; node 0 is
    // killed as soon as it has issued a few.
    let (ok_tx, mut ok_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut on_node0 = Vec::new();
    let mut on_node1 = Vec::new();
    for (i, id) in drafts.iter().enumerate() {
        let path = format!("/api/v1/invoices/{id}/issue");
        let call = c.request(0, Method::POST, &path, None, None);
        let ok_tx = ok_tx.clone();
        on_node0.push(tokio::spawn(async move {
            let r = call.await;
            if r.as_ref().is_ok_and(|r| r.status == StatusCode::OK) {
                let _ = ok_tx.send(());
            }
            r
        }));
        if i % 2 == 1 {
            on_node1.push(tokio::spawn(c.request(1, Method::POST, &path, None, None)));
        }
    }
    drop(ok_tx);
    for _ in 0..5 {
        tokio::time::timeout(Duration::from_secs(30), ok_rx.recv())
            .await
            .expect("node 0 issues drafts")
            .expect("node 0 issued five drafts");
    }
    c.nodes[0].kill();
    let mut cut_off = 0;
    for h in on_node0 {
        match h.await.expect("task") {
            Ok(r) => assert!([StatusCode::OK, StatusCode::CONFLICT].contains(&r.status), "{r:?}"),
            Err(_) => cut_off += 1,
        }
    }
    assert!(cut_off > 0, "the kill cut requests in flight");
    for h in on_node1 {
        let r = h.await.expect("task").expect("node 1 keeps serving");
        assert!([StatusCode::OK, StatusCode::CONFLICT].contains(&r.status), "node 1: {r:?}");
    }
    // Every invoice is wholly draft or wholly issued (check_books). Usually drafts are left
    // for the restarted node; on a fast machine both nodes may have issued them all before
    // the kill took effect, and the restart below then finds nothing left.
    let after_kill = check_books(&c.sql.books().await);
    assert!(after_kill.issued >= 5, "{after_kill:?}");

    // Restarted, node 0 issues the rest; the numbers continue without a gap.
    c.nodes[0].boot().await;
    let books = c.sql.books().await;
    let rest: Vec<i64> = books.docs.values().filter(|d| d.status == "draft").map(|d| d.id).collect();
    let replies = join_all(rest.iter().map(|id| c.post(0, &format!("/api/v1/invoices/{id}/issue"), None))).await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    let tally = check_books(&c.sql.books().await);
    assert_eq!((tally.drafts, tally.issued), (0, KILL_DRAFTS));
    println!(
        "{}: node 0 killed with {cut_off} issue requests in flight; {} drafts were left, issued after the restart",
        c.backend(),
        rest.len()
    );
}

const DATED_PAIRS: usize = 12;

/// `2 * DATED_PAIRS` drafts (one customer each, October work).
async fn dated_drafts(c: &Cluster) -> Vec<i64> {
    let service = c.service().await;
    let setup = (0..2 * DATED_PAIRS).map(|i| async move {
        let (_, ticket) = c.customer_with_ticket(i % 2, &format!("Dated {i} GmbH")).await;
        c.book_on((i + 1) % 2, service, ticket, "2026-10-05", 60).await;
    });
    join_all(setup).await;
    let body = json!({"mode": "commit", "scope": "all", "period_end": "2026-10-31"});
    let run = c.committed(0, body).await;
    let drafts: Vec<i64> = run["invoice_ids"].as_array().expect("ids").iter().filter_map(Value::as_i64).collect();
    assert_eq!(drafts.len(), 2 * DATED_PAIRS);
    drafts
}

/// Pair by pair, node 0 dates its document (`action` on the first invoice of the pair) a
/// day later than node 1 dates the one it creates at the same moment (`action` on the
/// second). Sequentially the earlier date after the later one is a 409; at once, one of the
/// two may be refused — but the numbers must never run against the dates.
async fn date_pairs_at_once(c: &Cluster, invoices: &[i64], action: &str, first_day: time::Date) -> (usize, usize) {
    let (mut both, mut refused) = (0, 0);
    for (k, pair) in invoices.chunks(2).enumerate() {
        let early = first_day + time::Duration::days(2 * k as i64);
        let late = early + time::Duration::days(1);
        let act = |node: usize, id: i64, date: time::Date| {
            c.post(node, &format!("/api/v1/invoices/{id}/{action}"), Some(json!({"issue_date": date.to_string()})))
        };
        let (a, b) = tokio::join!(act(0, pair[0], late), act(1, pair[1], early));
        for r in [&a, &b] {
            assert!(r.status.is_success() || r.status == StatusCode::CONFLICT, "{r:?}");
        }
        if a.status.is_success() && b.status.is_success() {
            both += 1;
        } else {
            refused += 1;
        }
    }
    (both, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_numbers_follow_the_issue_dates_also_when_two_nodes_issue_at_once() {
    let cluster = Cluster::start(2).await;
    let c = &cluster;
    let drafts = dated_drafts(c).await;
    let (both, refused) = date_pairs_at_once(c, &drafts, "issue", time::macros::date!(2026 - 11 - 01)).await;
    println!(
        "{}: {DATED_PAIRS} pairs of drafts dated and issued at once: {both} both issued, {refused} with one refused",
        c.backend()
    );
    check_books(&c.sql.books().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_note_numbers_follow_their_dates_also_when_two_nodes_cancel_at_once() {
    let cluster = Cluster::start(2).await;
    let c = &cluster;
    let drafts = dated_drafts(c).await;
    for id in &drafts {
        let r = c.post(0, &format!("/api/v1/invoices/{id}/issue"), Some(json!({"issue_date": "2026-11-01"}))).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    let (both, refused) = date_pairs_at_once(c, &drafts, "cancel", time::macros::date!(2026 - 11 - 02)).await;
    println!("{}: {DATED_PAIRS} pairs of invoices cancelled at once with dated credit notes: {both} both cancelled, {refused} with one refused", c.backend());
    check_books(&c.sql.books().await);
}

/// Makes deleting invoice lines — a middle step of deleting a draft, after its checks —
/// take a second (PostgreSQL only: SQLite runs one writer at a time, so no other
/// transaction can commit in between anyway). Returns whether it did.
async fn slow_down_line_deletes(sql: &Sql) -> bool {
    match sql {
        Sql::Postgres(_) => {
            sql.run(
                "CREATE FUNCTION test_slow_line_delete() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$; \
                 CREATE TRIGGER test_slow_line_delete BEFORE DELETE ON invoice_lines \
                 FOR EACH STATEMENT EXECUTE FUNCTION test_slow_line_delete();",
            )
            .await;
            true
        }
        Sql::Sqlite(_) => false,
    }
}

/// Waits until a session of the test database sleeps in the slowed-down step.
async fn wait_for_sleeping_delete(sql: &Sql) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let sleeping = sql
            .count(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event = 'PgSleep'",
            )
            .await;
        if sleeping > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the draft's deletion never reached its slowed-down step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_deleted_while_the_other_node_bills_more_work_of_its_contract_leaves_no_draft_counting_its_quota() {
    let cluster = Cluster::start(2).await;
    let c = &cluster;
    let service = c.service().await;
    let customer = c.created(0, "/api/v1/customers", json!({"name": "Quota GmbH"})).await["id"].as_i64().expect("id");
    let contract = c
        .created(
            0,
            "/api/v1/contracts",
            json!({"customer_id": customer, "name": "Support 10 h", "kind": "prepaid_hours",
                   "start_date": "2026-11-01", "billing_period": "monthly", "fee": "800.00", "hours_per_period": "10",
                   "overage": {"type": "tiers", "tiers": [{"up_to_hours": null, "unit_price": "110.00"}]}}),
        )
        .await["id"]
        .clone();
    let ticket = c
        .created(0, "/api/v1/tickets", json!({"title": "Servers", "customer_id": customer, "contract_id": contract}))
        .await["id"]
        .as_i64()
        .expect("ticket id");
    // The first draft uses 8 of the 10 prepaid hours; 4 more hours are booked afterwards.
    c.book(0, service, ticket, 3, 480).await;
    let first = c.created(0, "/api/v1/invoice-runs", commit_body("customer", Some(customer))).await;
    let first = first["invoice_ids"][0].as_i64().expect("first draft");
    c.book(1, service, ticket, 10, 240).await;

    // Node 0 deletes the first draft while node 1 commits a run for the customer.
    let slowed = slow_down_line_deletes(&c.sql).await;
    let delete = tokio::spawn(c.request(0, Method::DELETE, &format!("/api/v1/invoices/{first}"), None, None));
    if slowed {
        wait_for_sleeping_delete(&c.sql).await;
    }
    let run = c.post(1, "/api/v1/invoice-runs", Some(commit_body("customer", Some(customer)))).await;
    assert_eq!(run.status, StatusCode::CREATED, "{run:?}");
    let delete = delete.await.expect("task").expect("delete answered");
    assert!([StatusCode::NO_CONTENT, StatusCode::CONFLICT].contains(&delete.status), "{delete:?}");

    // Either the deletion was refused because the later draft builds on it, or no draft
    // left counts the deleted draft's 8 hours (and bills overage for them).
    check_books(&c.sql.books().await);
    if delete.status == StatusCode::NO_CONTENT {
        let drafts = c.sql.rows::<(i64,)>(&format!("SELECT id FROM invoices WHERE customer_id = {customer}")).await;
        for (id,) in drafts {
            let r = c.request(1, Method::GET, &format!("/api/v1/invoices/{id}"), None, None).await.expect("read");
            for s in r.body["quota_summaries"].as_array().expect("quota summaries") {
                assert_eq!(
                    s["used"], s["used_by_this_run"],
                    "draft {id} counts quota used by the deleted draft {first}: {s}; its lines: {}",
                    r.body["lines"]
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_started_at_the_same_moment_on_a_fresh_database_both_come_up_with_one_admin() {
    // The outcome depends on timing: five fresh databases, two nodes started at once on each.
    for _ in 0..5 {
        let c = Cluster::start_with(2, true).await;
        for node in 0..2 {
            let r = c.request(node, Method::GET, "/api/v1/customers", None, None).await.expect("answer");
            assert_eq!(r.status, StatusCode::OK, "{r:?}");
        }
        assert_eq!(c.sql.count("SELECT COUNT(*) FROM users").await, 1, "one bootstrap admin");
    }
}
