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
//! Smaller: `BENCH_CUSTOMERS=500 BENCH_BOOKINGS=100000`. `BENCH_KEEP=1` keeps the database
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
use sqlx::{Connection, Postgres, Row, Sqlite};
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

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

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

/// The per-customer tables in foreign-key order: when one buffer is full, all are flushed
/// in this order, so parents are always inserted before their children.
struct Tables {
    bulks: Vec<Bulk>,
}

impl Tables {
    async fn push(&mut self, conn: &mut Conn, table: usize, row: Vec<Val>) -> BenchResult<()> {
        let bulk = &mut self.bulks[table];
        assert_eq!(row.len(), bulk.ncols, "{}: column count", bulk.table);
        bulk.rows.push(row);
        if bulk.rows.len() >= bulk.max_rows {
            self.flush(conn).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &mut Conn) -> BenchResult<()> {
        for b in &mut self.bulks {
            b.flush(conn).await?;
        }
        Ok(())
    }
}

const CUSTOMERS_T: usize = 0;
const PROJECTS_T: usize = 1;
const CONTRACTS_T: usize = 2;
const COVERED_T: usize = 3;
const TIERS_T: usize = 4;
const RATES_T: usize = 5;
const ROUNDING_T: usize = 6;
const TICKETS_T: usize = 7;
const BOOKINGS_T: usize = 8;
const EXPENSES_T: usize = 9;

/// What was generated.
#[derive(Default)]
struct Generated {
    customers: u64,
    contracts: u64,
    tickets: u64,
    bookings: u64,
    expenses: u64,
    rate_entries: u64,
}

const ACTIVITIES: &[&str] = &[
    "Fixed mail delivery",
    "Printer driver update",
    "Firewall rule change",
    "Backup restore test",
    "User onboarding",
    "VPN troubleshooting",
    "Server patching",
    "Network cabling",
];

/// Generates the whole data set through `conn`, customer chunk by customer chunk (one
/// transaction each, parents before children so foreign keys hold at every statement).
async fn generate(conn: &mut Conn, customers: i64, bookings: i64) -> BenchResult<Generated> {
    let pg = conn.is_postgres();
    let now = DbTime(datetime!(2026-11-30 18:00:00 UTC));
    let mut rng = Lcg(0x4b6f_6e74_6f72);
    let mut out = Generated::default();

    // Shared reference data.
    conn.begin().await?;
    let mut users = Bulk::new(
        "users",
        "id, email, name, password_hash, roles, weekly_capacity_hours, internal_cost_rate, default_sales_rate, \
         active, version, created_at, updated_at",
        pg,
    );
    for u in 1..=USERS {
        let row = vec![
            Val::I(u),
            Val::S(format!("tech{u}@bench.example")),
            Val::S(format!("Technician {u}")),
            Val::St("!bench-no-login"),
            Val::St("agent"),
            dec(40, 0),
            Val::NDec(Some(ExactDecimal(Decimal::from(35 + u % 20)))),
            Val::NDec((u % 3 == 0).then(|| ExactDecimal(Decimal::from(90 + u % 10)))),
            Val::B(true),
            Val::I(1),
            Val::Ts(now),
            Val::Ts(now),
        ];
        users.push(conn, row).await?;
    }
    users.flush(conn).await?;
    let mut services = Bulk::new(
        "services",
        "id, code, name, unit, kind, default_price, vat_rate, billable_by_default, version, created_at, updated_at",
        pg,
    );
    let catalog: [(&str, &str, &str, &str, i64); 8] = [
        ("REMOTE", "Remote support", "hour", "work", 9500),
        ("ONSITE", "On-site work", "hour", "work", 11500),
        ("TRAVEL", "Travel time", "hour", "travel", 6500),
        ("CONSULT", "Consulting", "hour", "work", 12500),
        ("DEV", "Development", "hour", "work", 10500),
        ("DOC", "Documentation", "hour", "work", 8000),
        ("KM", "Kilometres", "km", "travel", 50),
        ("HDD1TB", "Hard disk 1 TB", "piece", "material", 8900),
    ];
    for (i, (code, name, unit, kind, price)) in catalog.into_iter().enumerate() {
        let row = vec![
            Val::I(i as i64 + 1),
            Val::St(code),
            Val::St(name),
            Val::St(unit),
            Val::St(kind),
            Val::NDec(Some(ExactDecimal(Decimal::new(price, 2)))),
            dec(19, 0),
            Val::B(true),
            Val::I(1),
            Val::Ts(now),
            Val::Ts(now),
        ];
        services.push(conn, row).await?;
    }
    services.flush(conn).await?;
    let mut fields = Bulk::new(
        "custom_field_definitions",
        "id, entity, field_key, label, field_type, required, min_value, billing_service_id, version, created_at, \
         updated_at",
        pg,
    );
    let row = vec![
        Val::I(KM_FIELD),
        Val::St("booking"),
        Val::St("km"),
        Val::St("Kilometres driven"),
        Val::St("number"),
        Val::B(false),
        Val::NDec(Some(ExactDecimal(Decimal::ZERO))),
        Val::NI(Some(KM_SERVICE)),
        Val::I(1),
        Val::Ts(now),
        Val::Ts(now),
    ];
    fields.push(conn, row).await?;
    fields.flush(conn).await?;
    let mut surcharges =
        Bulk::new("surcharges", "owner_type, owner_id, kind, percent, valid_from, version, created_at, updated_at", pg);
    for (kind, pct) in [("weekend", 50), ("holiday", 100), ("outside_business_hours", 25)] {
        let row = vec![
            Val::St("global"),
            Val::I(0),
            Val::St(kind),
            dec(pct, 0),
            Val::D(date!(2020 - 01 - 01)),
            Val::I(1),
            Val::Ts(now),
            Val::Ts(now),
        ];
        surcharges.push(conn, row).await?;
    }
    surcharges.flush(conn).await?;
    conn.insert(
        "holidays",
        "holiday_date, name, created_at",
        vec![vec![Val::D(date!(2026 - 11 - 18)), Val::St("Buss- und Bettag"), Val::Ts(now)]],
    )
    .await?;
    let mut rounding = Bulk::new(
        "rounding_rules",
        "owner_type, owner_id, increment_minutes, minimum_minutes, mode, version, created_at, updated_at",
        pg,
    );
    rounding
        .push(
            conn,
            vec![
                Val::St("global"),
                Val::I(0),
                Val::I(15),
                Val::I(15),
                Val::St("up"),
                Val::I(1),
                Val::Ts(now),
                Val::Ts(now),
            ],
        )
        .await?;
    rounding.flush(conn).await?;
    conn.exec("COMMIT").await?;

    // Bookings per customer: weights 1..=7, allocated so that the total is exact.
    let weights: Vec<u64> = (0..customers).map(|_| 1 + rng.below(7)).collect();
    let weight_total: u64 = weights.iter().sum();
    let mut cumulative = 0u64;
    let mut allocated = 0i64;

    let customers_b = Bulk::new(
        "customers",
        "id, number, name, address_street, address_postal_code, address_city, address_country, vat_id, \
         billing_email, currency, payment_terms_days, vat_treatment, billing_mode, invoice_detail, version, \
         created_at, updated_at",
        pg,
    );
    let projects_b = Bulk::new(
        "projects",
        "id, name, internal, customer_id, project_manager_id, status, version, created_at, updated_at",
        pg,
    );
    let contracts_b = Bulk::new(
        "contracts",
        "id, customer_id, number, name, kind, start_date, billing_period, fee_timing, fee, fee_vat_rate, \
         covers_all_work, separate_invoice, quota_thresholds, rounding_increment_minutes, rounding_minimum_minutes, \
         rounding_mode, hours_per_period, budget_per_period, carry_over, carry_over_cap, carry_over_expiry_periods, \
         overage, version, created_at, updated_at",
        pg,
    );
    let covered_b = Bulk::new("contract_services", "contract_id, service_id", pg);
    let tiers_b = Bulk::new("contract_overage_tiers", "contract_id, position, up_to_hours, unit_price", pg);
    let rates_b = Bulk::new(
        "rate_entries",
        "owner_type, owner_id, service_id, user_id, unit_price, currency, valid_from, valid_to, version, created_at, \
         updated_at",
        pg,
    );
    let tickets_b = Bulk::new(
        "tickets",
        "id, number, ticket_type, title, customer_id, project_id, contract_id, priority, status, source, created_by, \
         version, created_at, updated_at",
        pg,
    );
    let bookings_b = Bulk::new(
        "bookings",
        "user_id, work_date, start_time, duration_minutes, service_id, description, customer_id, ticket_id, \
         project_id, billable, rate_override, custom_fields, created_by, version, created_at, updated_at",
        pg,
    );
    let expenses_b = Bulk::new(
        "expenses",
        "user_id, expense_date, service_id, description, quantity, unit, unit_price, vat_rate, billable, \
         customer_id, ticket_id, created_by, version, created_at, updated_at",
        pg,
    );

    let customer_rounding = Bulk::new(
        "rounding_rules",
        "owner_type, owner_id, increment_minutes, minimum_minutes, mode, version, created_at, updated_at",
        pg,
    );
    let mut t = Tables {
        bulks: vec![
            customers_b,
            projects_b,
            contracts_b,
            covered_b,
            tiers_b,
            rates_b,
            customer_rounding,
            tickets_b,
            bookings_b,
            expenses_b,
        ],
    };
    let mut next_ticket = 0i64;
    let mut first = 1i64;
    while first <= customers {
        let last = (first + CHUNK - 1).min(customers);
        conn.begin().await?;
        for c in first..=last {
            let immediate = c % 20 == 0;
            let vat = match rng.below(100) {
                0..=79 => "domestic",
                80..=94 => "eu_reverse_charge",
                _ => "export",
            };
            let detail = ["per_booking", "per_ticket", "per_service"][(c % 3) as usize];
            let row = vec![
                Val::I(c),
                Val::S(format!("{}", 10_000 + c)),
                Val::S(format!("Customer {c} GmbH")),
                Val::S(format!("Hauptstrasse {}", 1 + c % 200)),
                Val::S(format!("{:05}", 10_000 + c % 89_999)),
                Val::St("Berlin"),
                Val::St(if vat == "domestic" {
                    "DE"
                } else if vat == "export" {
                    "CH"
                } else {
                    "AT"
                }),
                Val::NS((vat == "eu_reverse_charge").then(|| format!("ATU{:08}", c))),
                Val::S(format!("billing@customer{c}.example")),
                Val::St("EUR"),
                Val::I([14, 30, 10][(c % 3) as usize]),
                Val::St(vat),
                Val::St(if immediate { "immediate" } else { "period_end" }),
                Val::St(detail),
                Val::I(1),
                Val::Ts(now),
                Val::Ts(now),
            ];
            t.push(conn, CUSTOMERS_T, row).await?;
            out.customers += 1;
            let project_status = if c % 50 == 0 { "manager_done" } else { "open" };
            let row = vec![
                Val::I(c),
                Val::S(format!("Rollout {c}")),
                Val::B(false),
                Val::I(c),
                Val::NI(Some(1 + c % USERS)),
                Val::St(project_status),
                Val::I(1),
                Val::Ts(now),
                Val::Ts(now),
            ];
            t.push(conn, PROJECTS_T, row).await?;

            // The contract (id = customer id), for 90 % of the customers.
            let kind = match rng.below(100) {
                0..=34 => Some("time_and_material"),
                35..=59 => Some("flat_fee"),
                60..=79 => Some("prepaid_hours"),
                80..=89 => Some("prepaid_budget"),
                _ => None,
            };
            let has_contract = kind.is_some();
            if let Some(kind) = kind {
                let quarterly = rng.chance(15);
                let start = if quarterly {
                    date!(2026 - 10 - 01)
                } else {
                    match rng.below(10) {
                        0..=6 => date!(2026 - 11 - 01),
                        7 | 8 => date!(2026 - 10 - 01),
                        _ => date!(2026 - 09 - 01),
                    }
                };
                let all_work = rng.chance(50);
                let own_rounding = rng.chance(20);
                let fee = match kind {
                    "time_and_material" => 0,
                    "flat_fee" => 250 + 50 * rng.below(10) as i64,
                    "prepaid_hours" => 900,
                    _ => 3_000,
                };
                let (hours, budget, carry, cap, expiry, overage) = match kind {
                    "prepaid_hours" => {
                        let tiers = rng.chance(70);
                        (
                            Some(10 + rng.below(20) as i64),
                            None,
                            "carry",
                            Some(ExactDecimal(Decimal::from(5))),
                            Some(2),
                            if tiers { "tiers" } else { "resolved_rates" },
                        )
                    }
                    "prepaid_budget" => {
                        if rng.chance(50) {
                            (
                                None,
                                Some(3_000),
                                "carry",
                                Some(ExactDecimal(Decimal::from(1_000))),
                                None,
                                "resolved_rates",
                            )
                        } else {
                            (None, Some(3_000), "none", None, None, "resolved_rates")
                        }
                    }
                    _ => (None, None, "none", None, None, "resolved_rates"),
                };
                let row = vec![
                    Val::I(c),
                    Val::I(c),
                    Val::S(format!("V-2026-{c:05}")),
                    Val::St(if kind == "time_and_material" { "Hourly support" } else { "Service agreement" }),
                    Val::St(kind),
                    Val::D(start),
                    Val::St(if quarterly { "quarterly" } else { "monthly" }),
                    Val::St(if rng.chance(80) { "in_advance" } else { "in_arrears" }),
                    dec(fee, 0),
                    dec(19, 0),
                    Val::B(all_work),
                    Val::B(c % 7 == 0),
                    Val::St("[80,100]"),
                    Val::NI(own_rounding.then_some(15)),
                    Val::NI(own_rounding.then_some(15)),
                    Val::NS(own_rounding.then(|| "up".to_string())),
                    Val::NDec(hours.map(|h| ExactDecimal(Decimal::from(h)))),
                    Val::NDec(budget.map(|b| ExactDecimal(Decimal::from(b)))),
                    Val::St(carry),
                    Val::NDec(cap),
                    Val::NI(expiry),
                    Val::St(overage),
                    Val::I(1),
                    Val::Ts(now),
                    Val::Ts(now),
                ];
                t.push(conn, CONTRACTS_T, row).await?;
                out.contracts += 1;
                if !all_work {
                    for s in [1, 2, 3] {
                        t.push(conn, COVERED_T, vec![Val::I(c), Val::I(s)]).await?;
                    }
                }
                if overage == "tiers" {
                    t.push(
                        conn,
                        TIERS_T,
                        vec![Val::I(c), Val::I(1), Val::NDec(Some(ExactDecimal(Decimal::from(5)))), dec(90, 0)],
                    )
                    .await?;
                    t.push(conn, TIERS_T, vec![Val::I(c), Val::I(2), Val::NDec(None), dec(110, 0)]).await?;
                }
            }

            // Rate entries: customer default, a service price change mid-month, km, a
            // contract price for remote support, a project price for one technician.
            let rate = |owner: &'static str,
                        owner_id: i64,
                        service: Option<i64>,
                        user: Option<i64>,
                        price: Val,
                        from: Date,
                        to: Option<Date>| {
                vec![
                    Val::St(owner),
                    Val::I(owner_id),
                    Val::NI(service),
                    Val::NI(user),
                    price,
                    Val::St("EUR"),
                    Val::D(from),
                    Val::ND(to),
                    Val::I(1),
                    Val::Ts(now),
                    Val::Ts(now),
                ]
            };
            let old = date!(2020 - 01 - 01);
            let change = date!(2026 - 11 - 16);
            let mut rows = vec![
                rate("customer", c, None, None, dec(95, 0), old, None),
                rate("customer", c, Some(2), None, dec(120, 0), old, Some(change)),
                rate("customer", c, Some(2), None, dec(125, 0), change, None),
                rate("customer", c, Some(KM_SERVICE), None, dec(45, 2), old, None),
                rate("project", c, Some(3), Some(1 + c % USERS), dec(105, 0), old, None),
            ];
            if has_contract {
                rows.push(rate("contract", c, Some(1), None, dec(9600, 2), old, None));
                if c % 4 == 0 {
                    rows.push(rate("contract", c, None, Some(1 + (c + 7) % USERS), dec(99, 0), old, None));
                }
            }
            for r in rows {
                t.push(conn, RATES_T, r).await?;
                out.rate_entries += 1;
            }
            if c % 10 == 3 {
                t.push(
                    conn,
                    ROUNDING_T,
                    vec![
                        Val::St("customer"),
                        Val::I(c),
                        Val::I(6),
                        Val::I(6),
                        Val::St("nearest"),
                        Val::I(1),
                        Val::Ts(now),
                        Val::Ts(now),
                    ],
                )
                .await?;
            }

            // Tickets: immediate customers are billed per resolved ticket, so theirs are
            // all resolved or closed (everything billable ends up billed).
            let first_ticket = next_ticket + 1;
            for k in 0..TICKETS_PER_CUSTOMER {
                next_ticket += 1;
                let status = if immediate {
                    ["resolved", "closed"][(k % 2) as usize]
                } else {
                    ["open", "in_progress", "waiting", "resolved", "closed"][rng.below(5) as usize]
                };
                let row = vec![
                    Val::I(next_ticket),
                    Val::S(format!("T-2026-{next_ticket:06}")),
                    Val::St("ticket"),
                    Val::S(format!("Request {k} of customer {c}")),
                    Val::I(c),
                    Val::NI((k % 6 == 0).then_some(c)),
                    Val::NI((has_contract && k % 5 == 0).then_some(c)),
                    Val::St("normal"),
                    Val::St(status),
                    Val::St("api"),
                    Val::St("bench"),
                    Val::I(1),
                    Val::Ts(now),
                    Val::Ts(now),
                ];
                t.push(conn, TICKETS_T, row).await?;
                out.tickets += 1;
            }

            // Bookings of the month.
            cumulative += weights[(c - 1) as usize];
            let upto = ((bookings as u128 * cumulative as u128) / weight_total as u128) as i64;
            let n = upto - allocated;
            allocated = upto;
            for i in 0..n {
                let on_ticket = rng.chance(85);
                let ticket = first_ticket + rng.below(TICKETS_PER_CUSTOMER as u64) as i64;
                let km = rng.chance(7);
                let start_time = if rng.chance(90) {
                    Time::from_hms(7 + rng.below(14) as u8, (rng.below(4) * 15) as u8, 0).ok()
                } else {
                    None
                };
                let row = vec![
                    Val::I(1 + rng.below(USERS as u64) as i64),
                    Val::D(PERIOD_START + time::Duration::days(rng.below(30) as i64)),
                    Val::NT(start_time),
                    Val::I(5 + rng.below(180) as i64),
                    Val::I(1 + rng.below(6) as i64),
                    Val::S(format!("{} #{i}", ACTIVITIES[rng.below(ACTIVITIES.len() as u64) as usize])),
                    Val::I(c),
                    Val::NI(on_ticket.then_some(ticket)),
                    Val::NI((i % 4 == 0).then_some(c)),
                    Val::B(rng.below(20) != 0),
                    Val::NDec((rng.below(200) == 0).then(|| ExactDecimal(Decimal::from(70)))),
                    Val::S(if km { format!("{{\"km\":{}}}", 10 + rng.below(90)) } else { "{}".to_string() }),
                    Val::St("bench"),
                    Val::I(1),
                    Val::Ts(now),
                    Val::Ts(now),
                ];
                t.push(conn, BOOKINGS_T, row).await?;
                out.bookings += 1;
            }
            for i in 0..EXPENSES_PER_CUSTOMER {
                let row = vec![
                    Val::NI(Some(1 + rng.below(USERS as u64) as i64)),
                    Val::D(PERIOD_START + time::Duration::days(rng.below(30) as i64)),
                    Val::NI(Some(HDD_SERVICE)),
                    Val::S(format!("Hard disk 1 TB, slot {i}")),
                    dec(1 + rng.below(3) as i64, 0),
                    Val::St("piece"),
                    dec(8900, 2),
                    dec(19, 0),
                    Val::B(rng.below(10) != 0),
                    Val::I(c),
                    Val::NI((i % 2 == 0).then_some(first_ticket + i)),
                    Val::St("bench"),
                    Val::I(1),
                    Val::Ts(now),
                    Val::Ts(now),
                ];
                t.push(conn, EXPENSES_T, row).await?;
                out.expenses += 1;
            }
        }
        t.flush(conn).await?;
        conn.exec("COMMIT").await?;
        first = last + 1;
    }
    assert_eq!(out.bookings as i64, bookings, "bookings allocated");
    if pg {
        // Explicit ids: move the sequences past them.
        for t in ["users", "services", "custom_field_definitions", "customers", "projects", "contracts", "tickets"] {
            conn.exec(&format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"))
                .await?;
        }
    }
    Ok(out)
}

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
/// must also read, price and write the documents; it is compared with this.
async fn stamp_floor(conn: &mut Conn) -> BenchResult<(Duration, i64)> {
    let now = if conn.is_postgres() { "now()" } else { "'2026-12-01T00:00:00.000000Z'" };
    conn.begin().await?;
    conn.exec(&format!(
        "INSERT INTO invoices (kind, status, customer_id, currency, period_end, net, vat, gross, vat_breakdown, \
         quota_summaries, threshold_crossings, version, created_at, updated_at) \
         SELECT 'invoice', 'draft', MIN(id), 'EUR', '2026-11-30', '0', '0', '0', '[]', '[]', '[]', 1, {now}, {now} \
         FROM customers"
    ))
    .await?;
    let holder = conn.scalar("SELECT MAX(id) FROM invoices").await?;
    let t = Instant::now();
    conn.exec(&format!("UPDATE bookings SET invoice_id = {holder} WHERE invoice_id IS NULL")).await?;
    conn.exec(&format!("UPDATE expenses SET invoice_id = {holder} WHERE invoice_id IS NULL")).await?;
    let elapsed = t.elapsed();
    let positions = conn
        .scalar(&format!(
            "SELECT (SELECT COUNT(*) FROM bookings WHERE invoice_id = {holder}) \
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

/// Peak resident set size of this process in MB (`VmHWM`).
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets `VmHWM` to the current RSS (Linux `clear_refs` 5); false where not permitted.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The database of the run, removed when dropped.
enum BenchDb {
    Sqlite { dir: std::path::PathBuf },
    Postgres { admin_url: String, name: String },
}

impl BenchDb {
    async fn create() -> BenchResult<(BenchDb, String)> {
        let name = format!("kontor_bench_{}", uuid::Uuid::new_v4().simple());
        match std::env::var("BENCH_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
                if let Some(ms) = std::env::var("BENCH_PG_AUTO_EXPLAIN_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
                    sqlx::query(&format!("ALTER DATABASE {name} SET session_preload_libraries = 'auto_explain'"))
                        .execute(&mut conn)
                        .await?;
                    sqlx::query(&format!("ALTER DATABASE {name} SET auto_explain.log_min_duration = '{ms}ms'"))
                        .execute(&mut conn)
                        .await?;
                }
                let _ = conn.close().await;
                let base = admin_url.split('?').next().unwrap_or(&admin_url);
                let server = &base[..base.rfind('/').unwrap_or(base.len())];
                let url = format!("{server}/{name}");
                Ok((BenchDb::Postgres { admin_url, name }, url))
            }
            None => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}/kontor.db?mode=rwc", dir.display());
                Ok((BenchDb::Sqlite { dir }, url))
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if std::env::var_os("BENCH_KEEP").is_some() {
            match self {
                BenchDb::Sqlite { dir } => println!("invoice_run: BENCH_KEEP: database kept in {}", dir.display()),
                BenchDb::Postgres { name, .. } => println!("invoice_run: BENCH_KEEP: database {name} kept"),
            }
            return;
        }
        match self {
            BenchDb::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            BenchDb::Postgres { admin_url, name } => {
                let (url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        rt.block_on(async {
                            if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                    .execute(&mut conn)
                                    .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
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
    // row versions away so that the run starts from the same pages).
    let (floor, floor_positions) = stamp_floor(&mut conn).await?;
    if conn.is_postgres() {
        conn.exec("VACUUM ANALYZE").await?;
    }
    println!(
        "{tag}: stamp floor (one UPDATE setting an invoice id on {floor_positions} open bookings and expenses; \
         rolled back): {:.2} s = {:.1} x aggregate",
        secs(floor),
        secs(floor) / secs(agg_best)
    );

    // 4. The committed all-customer run.
    let actor = Actor::system();
    let t = Instant::now();
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
    let run_time = t.elapsed();
    let r = &result.run;
    println!(
        "{tag}: committed run: {} customers planned, {} billed, {} blocked, {} drafts, {} positions reserved, \
         {} projects billed in {:.1} s (setup and customer list {:.2} s)",
        plan.customers.len(),
        r.customers_billed,
        r.customers_blocked,
        r.invoices_created,
        r.positions_reserved,
        result.projects_billed.len(),
        secs(run_time),
        secs(prepared)
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
        "{tag}: issued {} drafts ({lines} lines, {issued_positions} positions; {settlements} settlements) in {:.1} s",
        drafts,
        secs(issue_time)
    );
    assert_eq!(issued_positions, r.positions_reserved, "every reserved position issued");
    let ratio = secs(run_time) / secs(floor);
    let issue_ratio = secs(issue_time) / secs(floor);
    println!(
        "{tag}: committed run = {ratio:.1} x stamp floor (target <= 3), issuing all drafts = {issue_ratio:.1} x \
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
        .scalar(&format!("SELECT COUNT(*) FROM bookings WHERE billable AND NOT (COALESCE(invoice_id, 0) {BILLED})"))
        .await?;
    let unbilled_expenses = conn
        .scalar(&format!("SELECT COUNT(*) FROM expenses WHERE billable AND NOT (COALESCE(invoice_id, 0) {BILLED})"))
        .await?;
    let billed_bookings = conn.scalar(&format!("SELECT COUNT(*) FROM bookings WHERE invoice_id {BILLED}")).await?;
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
            "SELECT id, invoice_id, version FROM bookings UNION ALL SELECT -id, invoice_id, version FROM expenses ORDER BY 1",
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
