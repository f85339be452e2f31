//! Invoice-run benchmark on a real database: a committed all-customer run and the issue of
//! every draft, against the stamp floor (the least any design writes) and a plain SQL
//! aggregate over the same bookings.
//!
//! Generates a deterministic data set (fixed-seed LCG, as in `domain/benches/engine.rs`)
//! with bulk multi-row INSERTs inside transactions: 5 k customers (mixed invoice detail
//! levels, VAT treatments and billing modes), a service catalog (remote / on-site hourly,
//! travel, km, hardware), 50 users with cost rates, contracts of all four kinds for most
//! customers (prepaid hours with carry-over and overage tiers, prepaid budgets, flat fees,
//! time and material; some separate-invoice, some with their own rounding), customer,
//! project and contract rate entries, global surcharges, 25 tickets per customer, 1 M
//! bookings in November 2026 (5 % non-billable, 7 % with a `km` custom field mapped to the
//! km service) and 5 hardware expenses per customer.
//!
//! Then times, on the store as the API uses it (`persistence::Store`):
//! 1. the plain aggregate `SELECT customer_id, service_id, SUM(duration_minutes) FROM
//!    bookings GROUP BY customer_id, service_id` (all rows fetched; best of three), and the
//!    stamp floor: one `UPDATE` setting an invoice id on every open booking and expense
//!    (rolled back);
//! 2. the committed all-customer run (`Store::commit_run`, scope all, November 2026);
//! 3. the issue of every draft it created (an issue job of the run, series `RE`, worked by a
//!    `JobWorker` as the server does);
//!
//! and reports the ratios run / stamp floor (target ≤ 3) and issue / stamp floor (target ≤ 1)
//! and the peak resident memory of the process (target < 256 MB)
//! (`VmHWM`; on PostgreSQL the server's memory is not included). At the end it checks
//! invariants with SQL (every billable booking billed, no position key active twice,
//! invoice numbers 1..N without gaps) and prints a fingerprint of every row the run and the
//! issue wrote (to compare implementations: same data set, same rows).
//!
//! Run (SQLite in a temporary file):
//!     cargo bench -p persistence --bench invoice_run
//! PostgreSQL (a fresh database is created and dropped):
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p persistence --bench invoice_run
//! Smaller: `BENCH_CUSTOMERS=500 BENCH_BOOKINGS=100000`. `BENCH_INTERLEAVE=1` renumbers the
//! bookings day by day with the customers of a day mixed (as entered in production; generated,
//! each customer's bookings are consecutive). `BENCH_KEEP=1` keeps the database
//! afterwards (to inspect query plans). `BENCH_PG_AUTO_EXPLAIN_MS=20` makes PostgreSQL log the
//! plan of every statement slower than 20 ms (`auto_explain`, set on the bench database only).

use futures_util::TryStreamExt;
use persistence::billing::{BillingSetup, InputParams, PositionScope};
use persistence::invoice_runs::{RunPlan, RunScope, RunStart, StartedVia};
use persistence::invoices::IssueOptions;
use persistence::jobs::{JobWorker, WorkerOptions};
use persistence::types::{DbTime, ExactDecimal};
use persistence::{Actor, Store, StoreOptions};
use rust_decimal::Decimal;
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Row, Sqlite};
use std::time::{Duration, Instant};
use time::macros::{date, datetime};
use time::{Date, Time};

const USERS: i64 = 50;
const TICKETS_PER_CUSTOMER: i64 = 25;
const EXPENSES_PER_CUSTOMER: i64 = 5;
/// Customers generated per transaction.
const CHUNK: i64 = 500;
const PERIOD_START: Date = date!(2026 - 11 - 01);
const PERIOD_END: Date = date!(2026 - 11 - 30);
const ISSUE_DATE: Date = date!(2026 - 12 - 01);
const KM_FIELD: i64 = 1;
const KM_SERVICE: i64 = 7;
const HDD_SERVICE: i64 = 8;

mod common;

use common::{peak_mb, reset_peak, BenchDb, BenchResult};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn env_i64(name: &str, default: i64) -> i64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("{name}: not a number"))
        }
        _ => default,
    }
}

fn dec(units: i64, scale: u32) -> Val {
    Val::Dec(ExactDecimal(Decimal::new(units, scale)))
}

/// One bound column value of a generated row.
enum Val {
    I(i64),
    NI(Option<i64>),
    S(String),
    NS(Option<String>),
    St(&'static str),
    B(bool),
    D(Date),
    ND(Option<Date>),
    NT(Option<Time>),
    Dec(ExactDecimal),
    NDec(Option<ExactDecimal>),
    Ts(DbTime),
}

macro_rules! push_row {
    ($b:expr, $row:expr) => {
        for v in $row {
            match v {
                Val::I(x) => $b.push_bind(x),
                Val::NI(x) => $b.push_bind(x),
                Val::S(x) => $b.push_bind(x),
                Val::NS(x) => $b.push_bind(x),
                Val::St(x) => $b.push_bind(x),
                Val::B(x) => $b.push_bind(x),
                Val::D(x) => $b.push_bind(x),
                Val::ND(x) => $b.push_bind(x),
                Val::NT(x) => $b.push_bind(x),
                Val::Dec(x) => $b.push_bind(x),
                Val::NDec(x) => $b.push_bind(x),
                Val::Ts(x) => $b.push_bind(x),
            };
        }
    };
}

/// The bench's own connection (generation, aggregate, checks), next to the store's pool.
enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Postgres($c) => $body,
        }
    };
}

impl Conn {
    fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    async fn exec(&mut self, sql: &str) -> BenchResult<()> {
        on_conn!(self, c => { sqlx::query(sql).execute(&mut **c).await?; });
        Ok(())
    }

    async fn begin(&mut self) -> BenchResult<()> {
        let sql = if self.is_postgres() { "BEGIN" } else { "BEGIN IMMEDIATE" };
        self.exec(sql).await
    }

    async fn scalar(&mut self, sql: &str) -> BenchResult<i64> {
        let v: Option<i64> = on_conn!(self, c => sqlx::query_scalar(sql).fetch_one(&mut **c).await?);
        Ok(v.unwrap_or(0))
    }

    async fn insert(&mut self, table: &str, cols: &str, rows: Vec<Vec<Val>>) -> BenchResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let head = format!("INSERT INTO {table} ({cols}) ");
        match self {
            Conn::Sqlite(c) => {
                let mut qb = sqlx::QueryBuilder::<Sqlite>::new(head);
                qb.push_values(rows, |mut b, row| push_row!(b, row));
                qb.build().execute(&mut **c).await?;
            }
            Conn::Postgres(c) => {
                let mut qb = sqlx::QueryBuilder::<Postgres>::new(head);
                qb.push_values(rows, |mut b, row| push_row!(b, row));
                qb.build().execute(&mut **c).await?;
            }
        }
        Ok(())
    }
}

/// Rows of one table, inserted in multi-row statements below the backend's parameter limit.
struct Bulk {
    table: &'static str,
    cols: &'static str,
    ncols: usize,
    max_rows: usize,
    rows: Vec<Vec<Val>>,
    total: u64,
}

impl Bulk {
    fn new(table: &'static str, cols: &'static str, postgres: bool) -> Bulk {
        let ncols = cols.split(',').count();
        // SQLite: 32766 bound parameters per statement; PostgreSQL: 65535.
        let max_params = if postgres { 65_535 } else { 32_766 };
        let max_rows = (max_params / ncols).min(2_000);
        Bulk { table, cols, ncols, max_rows, rows: Vec::with_capacity(max_rows), total: 0 }
    }

    async fn push(&mut self, conn: &mut Conn, row: Vec<Val>) -> BenchResult<()> {
        assert_eq!(row.len(), self.ncols, "{}: column count", self.table);
        self.rows.push(row);
        if self.rows.len() >= self.max_rows {
            self.flush(conn).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &mut Conn) -> BenchResult<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(self.max_rows));
        self.total += rows.len() as u64;
        conn.insert(self.table, self.cols, rows).await
    }
}

#[path = "invoice_run/data.rs"]
mod data;
use data::generate;

/// The plain aggregate the run is compared with: all rows fetched.
async fn aggregate(conn: &mut Conn) -> BenchResult<(usize, i64)> {
    const SQL: &str = "SELECT customer_id, service_id, CAST(SUM(duration_minutes) AS BIGINT) AS minutes \
                       FROM bookings GROUP BY customer_id, service_id";
    let rows: Vec<(Option<i64>, i64, i64)> = on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(&mut **c).await?);
    Ok((rows.len(), rows.iter().map(|r| r.2).sum()))
}

/// The stamp floor: the least any run must write to record which document holds each
/// position — one plain `UPDATE` setting an invoice id on every open booking and expense (one
/// index each, the foreign key checked), in one transaction, rolled back. A committed run
/// must also read, price and write the documents; it is compared with this. (SQLite keeps
/// a booking's holder in `booking_holds`, not on the row: the floor stamps a column
/// added for it inside the transaction, with a partial index like the one `invoice_id` had.)
async fn stamp_floor(conn: &mut Conn) -> BenchResult<(Duration, i64)> {
    let now = if conn.is_postgres() { "now()" } else { "'2026-12-01T00:00:00.000000Z'" };
    conn.begin().await?;
    let booking_holder = if conn.is_postgres() {
        "invoice_id"
    } else {
        conn.exec("ALTER TABLE bookings ADD COLUMN floor_invoice_id INTEGER REFERENCES invoices(id)").await?;
        conn.exec("CREATE INDEX bookings_floor ON bookings(floor_invoice_id) WHERE floor_invoice_id IS NOT NULL")
            .await?;
        "floor_invoice_id"
    };
    conn.exec(&format!(
        "INSERT INTO invoices (kind, status, customer_id, currency, period_end, net, vat, gross, vat_breakdown, \
         quota_summaries, threshold_crossings, version, created_at, updated_at) \
         SELECT 'invoice', 'draft', MIN(id), 'EUR', '2026-11-30', '0', '0', '0', '[]', '[]', '[]', 1, {now}, {now} \
         FROM customers"
    ))
    .await?;
    let holder = conn.scalar("SELECT MAX(id) FROM invoices").await?;
    let t = Instant::now();
    conn.exec(&format!("UPDATE bookings SET {booking_holder} = {holder} WHERE {booking_holder} IS NULL")).await?;
    conn.exec(&format!("UPDATE expenses SET invoice_id = {holder} WHERE invoice_id IS NULL")).await?;
    let elapsed = t.elapsed();
    let positions = conn
        .scalar(&format!(
            "SELECT (SELECT COUNT(*) FROM bookings WHERE {booking_holder} = {holder}) \
         + (SELECT COUNT(*) FROM expenses WHERE invoice_id = {holder})"
        ))
        .await?;
    conn.exec("ROLLBACK").await?;
    Ok((elapsed, positions))
}

/// FNV-1a over text.
struct Fingerprint(u64);

impl Fingerprint {
    fn new() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
    fn add(&mut self, s: &str) {
        for b in s.as_bytes().iter().chain(std::iter::once(&0x1f)) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Row value as text, whatever its SQL type (decimals and dates decoded to their canonical text).
fn cell_sqlite(row: &sqlx::sqlite::SqliteRow, i: usize) -> String {
    use sqlx::ValueRef;
    let raw = row.try_get_raw(i).expect("column");
    if raw.is_null() {
        return "∅".into();
    }
    if let Ok(v) = row.try_get::<i64, _>(i) {
        return v.to_string();
    }
    let s: String = row.try_get(i).expect("text column");
    // Decimal text: normalise like PostgreSQL NUMERIC keeps it (exact, with scale).
    s
}

fn cell_pg(row: &sqlx::postgres::PgRow, i: usize) -> String {
    use sqlx::{Column, TypeInfo, ValueRef};
    let raw = row.try_get_raw(i).expect("column");
    if raw.is_null() {
        return "∅".into();
    }
    match row.columns()[i].type_info().name() {
        "INT8" | "INT4" | "INT2" => row
            .try_get::<i64, _>(i)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| row.try_get::<i32, _>(i).map(|v| v.to_string()).expect("integer")),
        "BOOL" => (if row.try_get::<bool, _>(i).expect("bool") { "1" } else { "0" }).into(),
        "NUMERIC" => row.try_get::<ExactDecimal, _>(i).expect("numeric").0.to_string(),
        "DATE" => row.try_get::<Date, _>(i).expect("date").to_string(),
        _ => row.try_get::<String, _>(i).expect("text"),
    }
}

/// Fingerprint and row count of a query's rows.
async fn fingerprint(conn: &mut Conn, sql: &str) -> BenchResult<(u64, u64)> {
    let mut fp = Fingerprint::new();
    let mut n = 0u64;
    match conn {
        Conn::Sqlite(c) => {
            let mut rows = sqlx::query(sql).fetch(&mut **c);
            while let Some(row) = rows.try_next().await? {
                for i in 0..row.len() {
                    fp.add(&cell_sqlite(&row, i));
                }
                n += 1;
            }
        }
        Conn::Postgres(c) => {
            let mut rows = sqlx::query(sql).fetch(&mut **c);
            while let Some(row) = rows.try_next().await? {
                for i in 0..row.len() {
                    fp.add(&cell_pg(&row, i));
                }
                n += 1;
            }
        }
    }
    Ok((fp.0, n))
}

/// Renumbers the bookings as a helpdesk enters them — day by day, the customers of a day mixed —
/// instead of customer by customer as generated: each customer's bookings then lie on pages
/// shared with many other customers, as in production, and a chunk's stamps touch most pages
/// of the table. (Nothing references a booking yet; the file or table is rewritten after.)
async fn interleave_bookings(conn: &mut Conn) -> BenchResult<()> {
    let order = "work_date, (id * 7919) % 104729, id";
    if conn.is_postgres() {
        conn.exec(&format!(
            "CREATE TEMP TABLE booking_order AS SELECT id AS old_id, row_number() OVER (ORDER BY {order}) AS new_id \
             FROM bookings"
        ))
        .await?;
        conn.exec("CREATE INDEX ON booking_order (old_id)").await?;
        conn.exec("UPDATE bookings b SET id = -o.new_id FROM booking_order o WHERE o.old_id = b.id").await?;
        conn.exec("UPDATE bookings SET id = -id").await?;
        conn.exec("DROP TABLE booking_order").await?;
        conn.exec("VACUUM FULL bookings").await?;
    } else {
        conn.exec("CREATE TEMP TABLE booking_order (new_id INTEGER PRIMARY KEY, old_id INTEGER NOT NULL UNIQUE)")
            .await?;
        conn.exec(&format!("INSERT INTO booking_order (old_id) SELECT id FROM bookings ORDER BY {order}")).await?;
        conn.exec("UPDATE bookings SET id = -(SELECT new_id FROM booking_order WHERE old_id = bookings.id)").await?;
        conn.exec("UPDATE bookings SET id = -id").await?;
        conn.exec("DROP TABLE booking_order").await?;
        // The open bookings by customer follow the bookings' new ids (no trigger renumbers):
        // listed again by their own trigger, which an update of `version` fires.
        conn.exec("DELETE FROM open_bookings").await?;
        conn.exec("UPDATE bookings SET version = version").await?;
        conn.exec("VACUUM").await?;
    }
    Ok(())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

async fn run() -> BenchResult<()> {
    let customers = env_i64("BENCH_CUSTOMERS", 5_000);
    let bookings = env_i64("BENCH_BOOKINGS", 1_000_000);
    assert!(customers > 0 && bookings >= 0, "BENCH_CUSTOMERS > 0, BENCH_BOOKINGS >= 0");
    let (db, url) = BenchDb::create().await?;
    let backend = match db {
        BenchDb::Sqlite { .. } => "sqlite",
        BenchDb::Postgres { .. } => "postgres",
    };
    let tag = format!("invoice_run[{backend}]");
    println!("{tag}: {customers} customers, {bookings} bookings in November 2026");
    let store = Store::open(&StoreOptions { url: url.clone(), max_connections: None }).await?;
    let mut conn = match db {
        BenchDb::Sqlite { .. } => {
            use std::str::FromStr;
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(opts).await?;
            Conn::Sqlite(pool.acquire().await?)
        }
        BenchDb::Postgres { .. } => {
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await?;
            Conn::Postgres(pool.acquire().await?)
        }
    };

    // 1. Data.
    let t = Instant::now();
    let generated = generate(&mut conn, customers, bookings).await?;
    if env_i64("BENCH_INTERLEAVE", 0) != 0 {
        interleave_bookings(&mut conn).await?;
        println!("{tag}: bookings renumbered by day, the customers of a day interleaved (BENCH_INTERLEAVE)");
    }
    let inserted = t.elapsed();
    let t_analyze = Instant::now();
    if conn.is_postgres() {
        conn.exec("VACUUM ANALYZE").await?;
    } else {
        conn.exec("ANALYZE").await?;
        conn.exec("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    let analyzed = t_analyze.elapsed();
    let generation = t.elapsed();
    println!(
        "{tag}: generated {} customers, {} contracts, {} rate entries, {} tickets, {} bookings, {} expenses in \
         {:.1} s (inserts {:.1} s, analyze {:.1} s)",
        generated.customers,
        generated.contracts,
        generated.rate_entries,
        generated.tickets,
        generated.bookings,
        generated.expenses,
        secs(generation),
        secs(inserted),
        secs(analyzed)
    );
    let peak_generation = peak_mb();
    let peak_reset = reset_peak();

    // 2. The plain aggregate (best of three).
    let mut agg_best = Duration::MAX;
    let (mut agg_rows, mut agg_minutes) = (0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        (agg_rows, agg_minutes) = aggregate(&mut conn).await?;
        agg_best = agg_best.min(t.elapsed());
    }
    println!(
        "{tag}: aggregate (sum of minutes per customer and service): {agg_rows} rows, {agg_minutes} minutes, \
         {:.3} s (best of 3)",
        secs(agg_best)
    );

    // 3. The stamp floor: the least any run writes (rolled back; PostgreSQL then vacuums the
    // row versions away so that the run starts from the same pages; SQLite cuts back the log
    // the floor's transaction spilled its pages into, as after generation — else the run's
    // first write would pay for truncating a log of the size of the table).
    let (floor, floor_positions) = stamp_floor(&mut conn).await?;
    if conn.is_postgres() {
        conn.exec("VACUUM ANALYZE").await?;
    } else {
        conn.exec("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    println!(
        "{tag}: stamp floor (one UPDATE setting an invoice id on {floor_positions} open bookings and expenses; \
         rolled back): {:.2} s = {:.1} x aggregate",
        secs(floor),
        secs(floor) / secs(agg_best)
    );

    // 4. The committed all-customer run.
    let actor = Actor::system();
    let (t, cpu) = (Instant::now(), common::cpu_seconds());
    let setup = BillingSetup::load(&store).await?;
    let to_bill = store.customers_to_bill(PERIOD_END).await?;
    let prepared = t.elapsed();
    let plan = RunPlan {
        scope: RunScope::All,
        customers: to_bill,
        params: InputParams {
            period_start: Some(PERIOD_START),
            period_end: PERIOD_END,
            scope: PositionScope::default(),
            contract_id: None,
            partial: false,
            per_booking: false,
        },
    };
    let start = RunStart { via: StartedVia::Api, actor: &actor, idempotency: None };
    let result = store.commit_run(&setup, &plan, &start).await?;
    let (run_time, run_cpu) = (t.elapsed(), common::cpu_seconds() - cpu);
    let r = &result.run;
    println!(
        "{tag}: committed run: {} customers planned, {} billed, {} blocked, {} drafts, {} positions reserved, \
         {} projects billed in {:.2} s (setup and customer list {:.2} s; CPU of this process {:.2} s)",
        plan.customers.len(),
        r.customers_billed,
        r.customers_blocked,
        r.invoices_created,
        r.positions_reserved,
        result.projects_billed.len(),
        secs(run_time),
        secs(prepared),
        run_cpu
    );
    for p in r.problems.0.iter().take(5) {
        println!("{tag}:   problem: customer {} {}: {}", p.customer_id, p.code, p.message);
    }
    assert_eq!(r.customers_blocked, 0, "no customer blocked");
    assert_eq!(result.invoice_ids.len() as i64, r.invoices_created);

    // 5. Issue every draft (settlements — proposals without lines — are final already) as
    //    the API does: an issue job of the run, worked by a job worker.
    let settlements = conn.scalar("SELECT COUNT(*) FROM invoices WHERE kind = 'settlement'").await?;
    let drafts = conn.scalar("SELECT COUNT(*) FROM invoices WHERE status = 'draft'").await?;
    let opts = IssueOptions { series: "RE".into(), issue_date: ISSUE_DATE };
    // Documents are issued only by a seller with a complete profile.
    store.put_seller_profile(&domain::company::SellerProfile::example(), None, &actor).await?;
    let t = Instant::now();
    let (job, _) = store.queue_run_issue(r.id, &opts, &start).await?;
    let worker = JobWorker::new(
        store.clone(),
        WorkerOptions {
            poll_interval: Duration::from_millis(100),
            lease: Duration::from_secs(60),
            max_fee_periods: 120,
            chunk_pause: Duration::ZERO,
            on_run_ended: None,
        },
    );
    assert!(worker.work_once().await?, "the issue job was worked");
    let issue_time = t.elapsed();
    let job = store.get_run_issue(job.id).await?;
    assert_eq!(job.status, "succeeded", "issue job: {job:?}");
    assert_eq!((job.invoices_issued, job.invoices_skipped), (drafts, 0), "every draft issued: {:?}", job.problems);
    let lines = conn
        .scalar("SELECT COUNT(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.status = 'issued'")
        .await?;
    let issued_positions = conn
        .scalar(
            // Every live position once no draft is left (checked below). (A join of the view
            // with `invoices` is planned as a scan of the view per invoice on PostgreSQL.)
            "SELECT COUNT(*) FROM settled_positions WHERE active",
        )
        .await?;
    println!(
        "{tag}: issued {} drafts ({lines} lines, {issued_positions} positions; {settlements} settlements) in {:.2} s",
        drafts,
        secs(issue_time)
    );
    assert_eq!(issued_positions, r.positions_reserved, "every reserved position issued");
    // The database read of the DATEV export of the issued documents (issue 13: 5,000 in
    // ≤ 2 s end to end; rendering them is `cargo bench -p documents --bench render`).
    let t = Instant::now();
    let exported = store.issued_between(ISSUE_DATE, ISSUE_DATE).await?;
    println!(
        "{tag}: DATEV export read: {} issued documents in {:.0} ms",
        exported.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let ratio = secs(run_time) / secs(floor);
    let issue_ratio = secs(issue_time) / secs(floor);
    println!(
        "{tag}: committed run = {ratio:.2} x stamp floor (target <= 3), issuing all drafts = {issue_ratio:.2} x \
         stamp floor (target <= 1); run / aggregate = {:.1}",
        secs(run_time) / secs(agg_best)
    );
    let peak_run = peak_mb();
    if peak_reset {
        println!(
            "{tag}: peak memory (VmHWM): generation {peak_generation:.0} MB, aggregate + run + issue {peak_run:.0} MB \
             (target < 256 MB)"
        );
    } else {
        println!("{tag}: peak memory (VmHWM): {peak_run:.0} MB (target < 256 MB)");
    }

    // 6. Invariants.
    // Billed: held by an issued document (or a settlement).
    const BILLED: &str = "IN (SELECT id FROM invoices WHERE status IN ('issued', 'paid', 'settled'))";
    let unbilled = conn
        .scalar(&format!(
            "SELECT COUNT(*) FROM bookings b LEFT JOIN booking_holds s ON s.booking_id = b.id \
             WHERE b.billable AND NOT (COALESCE(s.invoice_id, 0) {BILLED})"
        ))
        .await?;
    let unbilled_expenses = conn
        .scalar(&format!("SELECT COUNT(*) FROM expenses WHERE billable AND NOT (COALESCE(invoice_id, 0) {BILLED})"))
        .await?;
    let billed_bookings =
        conn.scalar(&format!("SELECT COUNT(*) FROM booking_settlements WHERE invoice_id {BILLED}")).await?;
    let twice = conn
        .scalar(
            "SELECT COUNT(*) FROM (SELECT position_key FROM settled_positions WHERE active \
             GROUP BY position_key HAVING COUNT(*) > 1) d",
        )
        .await?;
    let drafts_left = conn.scalar("SELECT COUNT(*) FROM invoices WHERE status = 'draft'").await?;
    let n = conn.scalar("SELECT COUNT(*) FROM invoices WHERE series = 'RE' AND number_year = 2026").await?;
    let min = conn.scalar("SELECT MIN(number_seq) FROM invoices WHERE series = 'RE' AND number_year = 2026").await?;
    let max = conn.scalar("SELECT MAX(number_seq) FROM invoices WHERE series = 'RE' AND number_year = 2026").await?;
    let distinct = conn
        .scalar("SELECT COUNT(DISTINCT number_seq) FROM invoices WHERE series = 'RE' AND number_year = 2026")
        .await?;
    let ledger = conn.scalar("SELECT COUNT(*) FROM quota_ledger").await?;
    let draft_quota = conn.scalar("SELECT COUNT(*) FROM invoice_quota_entries").await?;
    println!(
        "{tag}: checks: {unbilled} billable bookings and {unbilled_expenses} billable expenses not billed, \
         {billed_bookings} bookings billed, {twice} position keys active twice, {drafts_left} drafts left, \
         numbers {min}..{max} for {n} invoices ({distinct} distinct), {ledger} ledger entries for {draft_quota} \
         quota entries"
    );
    assert_eq!(unbilled, 0, "every billable booking billed");
    assert_eq!(unbilled_expenses, 0, "every billable expense billed");
    assert_eq!(twice, 0, "no position key active twice");
    assert_eq!(drafts_left, 0, "no draft left");
    assert_eq!(n, drafts, "one number per invoice");
    assert!(n == 0 || (min == 1 && max == n && distinct == n), "numbers 1..N without gaps");
    assert_eq!(ledger, draft_quota, "every quota entry written to the ledger");

    // 7. Fingerprint of what the run and the issue wrote (compare implementations).
    let t = Instant::now();
    // Invoice ids follow the order in which customers' transactions commit, which on
    // PostgreSQL (several customers at once) differs from run to run: the `documents` and
    // `document lines` fingerprints name each document by its customer and its rank among
    // that customer's documents instead, so they compare across runs and backends.
    const BY_CUSTOMER: &str = "(SELECT id, customer_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY id) AS k \
        FROM invoices) d";
    let documents = format!(
        "SELECT d.customer_id, d.k, i.kind, i.status, i.contract_id, i.series, i.number_seq, i.number, i.currency, \
         i.period_start, i.period_end, i.issue_date, i.due_date, i.legal_note, i.net, i.vat, i.gross, i.vat_breakdown, \
         i.quota_summaries, i.threshold_crossings, i.customer_snapshot, i.feed_seq, i.version \
         FROM invoices i JOIN {BY_CUSTOMER} ON d.id = i.id ORDER BY d.customer_id, d.k"
    );
    let document_lines = format!(
        "SELECT d.customer_id, d.k, l.line_no, l.kind, l.description, l.contract_id, l.service_id, l.ticket_id, \
         l.quantity, l.minutes, l.unit, l.unit_price, l.net, l.vat_rate, l.surcharge, l.positions \
         FROM invoice_lines l JOIN {BY_CUSTOMER} ON d.id = l.invoice_id ORDER BY d.customer_id, d.k, l.line_no"
    );
    let tables: [(&str, &str); 10] = [
        ("documents", &documents),
        ("document lines", &document_lines),
        (
            "invoices",
            "SELECT id, kind, status, run_id, customer_id, contract_id, series, number_seq, number, currency, \
             period_start, period_end, issue_date, due_date, legal_note, net, vat, gross, vat_breakdown, \
             quota_summaries, threshold_crossings, customer_snapshot, feed_seq, version FROM invoices ORDER BY id",
        ),
        (
            "invoice_lines",
            "SELECT invoice_id, line_no, kind, description, contract_id, service_id, ticket_id, quantity, minutes, \
             unit, unit_price, net, vat_rate, surcharge, positions FROM invoice_lines ORDER BY invoice_id, id",
        ),
        (
            "settled_positions",
            "SELECT invoice_id, position_key, booking_id, expense_id, fee_contract_id, fee_period_start, contract_id, \
             treatment, actual_minutes, rounded_minutes, covered_minutes, covered_value, active \
             FROM settled_positions ORDER BY invoice_id, position_key",
        ),
        (
            "invoice_quota_entries",
            "SELECT invoice_id, contract_id, period_start, origin_period_start, kind, amount, position \
             FROM invoice_quota_entries ORDER BY invoice_id, id",
        ),
        (
            "quota_ledger",
            "SELECT contract_id, period_start, origin_period_start, kind, amount, position, invoice_id \
             FROM quota_ledger ORDER BY id",
        ),
        (
            "positions held",
            // A booking with the document holding it and the version it was priced in (a
            // PostgreSQL stamp raises the booking's version, a SQLite settlement does not).
            // (Settlements read per document: SQLite keeps them in one array per document.)
            "SELECT s.booking_id, s.invoice_id, s.position_version FROM booking_settlements s \
             UNION ALL SELECT b.id, NULL, b.version FROM bookings b \
             WHERE NOT EXISTS (SELECT 1 FROM booking_holds h WHERE h.booking_id = b.id) \
             UNION ALL SELECT -id, invoice_id, version FROM expenses ORDER BY 1",
        ),
        (
            "events+billing",
            "SELECT event_type, entity_type, entity_id, payload FROM events UNION ALL \
             SELECT 'billing_state', '', customer_id, CAST(version AS TEXT) FROM customer_billing_state ORDER BY 1, 2, 3, 4",
        ),
        (
            "audit_log",
            // Other entities' states carry the time of the change.
            "SELECT actor_type, entity_type, entity_id, action, \
             CASE WHEN entity_type = 'invoice' THEN before_state END, \
             CASE WHEN entity_type = 'invoice' THEN after_state END FROM audit_log ORDER BY id",
        ),
    ];
    let mut fps = Vec::new();
    for (name, sql) in tables {
        let (fp, rows) = fingerprint(&mut conn, sql).await?;
        println!("{tag}: fingerprint {name:<22} {fp:016x} ({rows} rows)");
        fps.push((name, fp, rows));
    }
    println!("{tag}: fingerprints in {:.1} s", secs(t.elapsed()));

    println!();
    println!("| backend  | customers | bookings  | generation s | aggregate s | stamp floor s | committed run s | issue all s | run/floor | issue/floor | peak MB |");
    println!("|----------|-----------|-----------|--------------|-------------|---------------|-----------------|-------------|-----------|-------------|---------|");
    println!(
        "| {backend:<8} | {customers:>9} | {bookings:>9} | {:>12.1} | {:>11.3} | {:>13.2} | {:>15.1} | {:>11.1} | {:>9.1} | {:>11.1} | {:>7.0} |",
        secs(generation),
        secs(agg_best),
        secs(floor),
        secs(run_time),
        secs(issue_time),
        ratio,
        issue_ratio,
        peak_run.max(if peak_reset { peak_generation } else { 0.0 })
    );
    println!();
    drop(conn);
    store.close().await;
    drop(db);
    Ok(())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Err(e) = rt.block_on(run()) {
        eprintln!("invoice_run: {e}");
        std::process::exit(1);
    }
}
