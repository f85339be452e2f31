//! Generating the bench's data set: customers with projects, contracts (and their covered
//! services, tiers, rate entries, rounding rules), tickets, bookings and expenses in November
//! 2026, deterministic for a seed, written customer chunk by customer chunk.

use super::*;

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
pub(super) struct Generated {
    pub(super) customers: u64,
    pub(super) contracts: u64,
    pub(super) tickets: u64,
    pub(super) bookings: u64,
    pub(super) expenses: u64,
    pub(super) rate_entries: u64,
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
pub(super) async fn generate(conn: &mut Conn, customers: i64, bookings: i64) -> BenchResult<Generated> {
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
