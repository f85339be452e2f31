//! Invoice engine throughput: proposes invoices for 1 M bookings over 5 k customers.
//!
//! Data is generated deterministically (fixed-seed LCG) in chunks of customers, the way
//! the persistence layer streams one customer at a time; only the engine is timed.
//! Mix per customer: 200 bookings (7 % with a `km` custom field), 5 expenses; 40 %
//! time and material, 25 % flat fee, 20 % prepaid hours with tiers, 15 % prepaid budget;
//! detail levels rotate per booking / ticket / service.
//!
//! Run: `CARGO_TARGET_DIR=/tmp/target-domain cargo bench -p domain --bench engine`

use domain::catalog::{Catalog, Service, ServiceKind, Unit};
use domain::contract::{CarryOver, Contract, ContractTerms, Coverage, FeeTiming, Overage, OverageTier};
use domain::engine::{BillingContext, ContractInput, CustomerInput, CustomerSettings, Engine};
use domain::period::PeriodKind;
use domain::position::{Booking, CustomFieldMapping, CustomFieldValue, Expense, TicketRef};
use domain::rates::{
    RateBook, RateEntry, RateOwner, Surcharge, SurchargeKind, SurchargeOwner, UserDirectory, UserRates, WorkCalendar,
};
use domain::rounding::{RoundingMode, RoundingRule};
use domain::{Currency, InvoiceDetail, VatTreatment};
use rust_decimal::Decimal;
use std::time::{Duration, Instant};
use time::{Date, Month, Time};

const CUSTOMERS: i64 = 5_000;
const BOOKINGS_PER_CUSTOMER: i64 = 200;
const EXPENSES_PER_CUSTOMER: i64 = 5;
const CHUNK: i64 = 250;
const USERS: i64 = 50;
const SERVICES: i64 = 8; // 1..=6 hourly work, 7 km, 8 material

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn date(y: i32, m: Month, d: u8) -> Date {
    Date::from_calendar_date(y, m, d).expect("valid bench date")
}

fn context() -> BillingContext {
    let mut services: Vec<Service> = (1..=6)
        .map(|id| Service {
            id,
            code: format!("W{id}"),
            name: format!("Work type {id}"),
            unit: Unit::Hour,
            default_price: Some(Decimal::new(8000 + id * 500, 2)),
            vat_rate: Decimal::from(19),
            billable_by_default: true,
            kind: ServiceKind::Work,
        })
        .collect();
    services.push(Service {
        id: 7,
        code: "KM".into(),
        name: "Kilometres".into(),
        unit: Unit::Km,
        default_price: Some(Decimal::new(50, 2)),
        vat_rate: Decimal::from(19),
        billable_by_default: true,
        kind: ServiceKind::Travel,
    });
    services.push(Service {
        id: 8,
        code: "HDD".into(),
        name: "Hard disk 1 TB".into(),
        unit: Unit::Piece,
        default_price: Some(Decimal::new(8900, 2)),
        vat_rate: Decimal::from(19),
        billable_by_default: true,
        kind: ServiceKind::Material,
    });
    let users = (1..=USERS)
        .map(|u| UserRates {
            user_id: u,
            internal_cost_rate: Some(Decimal::from(35 + u % 20)),
            default_sales_rate: (u % 3 == 0).then(|| Decimal::from(90 + u % 10)),
        })
        .collect();
    let surcharges = vec![
        Surcharge {
            id: 1,
            owner: SurchargeOwner::Global,
            kind: SurchargeKind::Weekend,
            percent: Decimal::from(50),
            valid_from: date(2020, Month::January, 1),
            valid_to: None,
        },
        Surcharge {
            id: 2,
            owner: SurchargeOwner::Global,
            kind: SurchargeKind::Holiday,
            percent: Decimal::from(100),
            valid_from: date(2020, Month::January, 1),
            valid_to: None,
        },
        Surcharge {
            id: 3,
            owner: SurchargeOwner::Global,
            kind: SurchargeKind::OutsideBusinessHours,
            percent: Decimal::from(25),
            valid_from: date(2020, Month::January, 1),
            valid_to: None,
        },
    ];
    BillingContext {
        catalog: Catalog::new(services),
        users: UserDirectory::new(users),
        calendar: WorkCalendar::new(
            vec![date(2026, Month::January, 1), date(2026, Month::April, 6), date(2026, Month::May, 1)],
            Time::from_hms(8, 0, 0).expect("time"),
            Time::from_hms(18, 0, 0).expect("time"),
            surcharges,
        ),
        custom_field_mappings: vec![CustomFieldMapping { field_id: 1, service_id: 7 }],
        company_currency: Currency::EUR,
        max_fee_periods: domain::engine::DEFAULT_MAX_FEE_PERIODS,
    }
}

fn customer_input(rng: &mut Lcg, customer_id: i64, next_id: &mut i64) -> CustomerInput {
    let start = date(2026, Month::January, 1);
    let period_end = date(2026, Month::March, 31);
    let kind = rng.below(100);
    let contract_id = customer_id * 10;
    let terms = match kind {
        0..=39 => ContractTerms::TimeAndMaterial,
        40..=64 => ContractTerms::FlatFee,
        65..=84 => ContractTerms::PrepaidHours {
            hours_per_period: Decimal::from(10 + rng.below(20)),
            carry_over: CarryOver::Carry { cap: Some(Decimal::from(5)), expiry_periods: Some(2) },
            overage: Overage::Tiers(vec![
                OverageTier { up_to_hours: Some(Decimal::from(5)), unit_price: Decimal::from(90) },
                OverageTier { up_to_hours: None, unit_price: Decimal::from(110) },
            ]),
        },
        _ => ContractTerms::PrepaidBudget { budget_per_period: Decimal::from(3000), carry_over: CarryOver::None },
    };
    let contract = Contract {
        id: contract_id,
        customer_id,
        number: format!("V-{contract_id}"),
        name: "Service agreement".into(),
        start,
        end_date: None,
        period: PeriodKind::Monthly,
        fee_timing: FeeTiming::InAdvance,
        fee: if matches!(terms, ContractTerms::TimeAndMaterial) { Decimal::ZERO } else { Decimal::from(500) },
        fee_vat_rate: Decimal::from(19),
        coverage: if kind.is_multiple_of(2) { Coverage::AllWork } else { Coverage::Services(vec![1, 2, 3]) },
        rounding: None,
        separate_invoice: kind.is_multiple_of(7),
        quota_thresholds: vec![80, 100],
        terms,
    };
    let mut rates = vec![
        RateEntry {
            id: 1,
            owner: RateOwner::Customer(customer_id),
            service_id: None,
            user_id: None,
            unit_price: Decimal::from(95),
            currency: Currency::EUR,
            valid_from: date(2020, Month::January, 1),
            valid_to: None,
        },
        RateEntry {
            id: 2,
            owner: RateOwner::Customer(customer_id),
            service_id: Some(2),
            user_id: None,
            unit_price: Decimal::from(120),
            currency: Currency::EUR,
            valid_from: date(2020, Month::January, 1),
            valid_to: Some(date(2026, Month::February, 15)),
        },
        RateEntry {
            id: 3,
            owner: RateOwner::Customer(customer_id),
            service_id: Some(2),
            user_id: None,
            unit_price: Decimal::from(125),
            currency: Currency::EUR,
            valid_from: date(2026, Month::February, 15),
            valid_to: None,
        },
        RateEntry {
            id: 4,
            owner: RateOwner::Contract(contract_id),
            service_id: Some(1),
            user_id: None,
            unit_price: Decimal::new(9600, 2),
            currency: Currency::EUR,
            valid_from: date(2020, Month::January, 1),
            valid_to: None,
        },
        RateEntry {
            id: 5,
            owner: RateOwner::Project(customer_id),
            service_id: Some(3),
            user_id: Some(1 + customer_id % USERS),
            unit_price: Decimal::from(105),
            currency: Currency::EUR,
            valid_from: date(2020, Month::January, 1),
            valid_to: None,
        },
    ];
    rates.push(RateEntry {
        id: 6,
        owner: RateOwner::Customer(customer_id),
        service_id: Some(7),
        user_id: None,
        unit_price: Decimal::new(45, 2),
        currency: Currency::EUR,
        valid_from: date(2020, Month::January, 1),
        valid_to: None,
    });
    let bookings = (0..BOOKINGS_PER_CUSTOMER)
        .map(|i| {
            *next_id += 1;
            let ticket = rng.below(25) as i64;
            let km = rng.below(100) < 7;
            Booking {
                id: *next_id,
                customer_id,
                user_id: 1 + rng.below(USERS as u64) as i64,
                work_date: start + time::Duration::days(rng.below(90) as i64),
                start_time: Time::from_hms(7 + rng.below(14) as u8, (rng.below(4) * 15) as u8, 0).ok(),
                minutes: 5 + rng.below(180) as u32,
                service_id: 1 + rng.below(6) as i64,
                description: format!("Fixed issue {i}"),
                ticket: (ticket > 0).then(|| TicketRef {
                    id: customer_id * 100 + ticket,
                    number: format!("T-2026-{:06}", customer_id * 100 + ticket),
                }),
                project_id: (i % 4 == 0).then_some(customer_id),
                contract_id: None,
                billable: rng.below(20) != 0,
                covered_by_contract: false,
                billed_as_extra: false,
                rate_override: (rng.below(200) == 0).then(|| Decimal::from(70)),
                custom_fields: if km {
                    vec![CustomFieldValue { field_id: 1, value: Decimal::from(10 + rng.below(90)) }]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let expenses = (0..EXPENSES_PER_CUSTOMER)
        .map(|i| {
            *next_id += 1;
            Expense {
                id: *next_id,
                customer_id,
                date: start + time::Duration::days(rng.below(90) as i64),
                service_id: Some(SERVICES),
                description: format!("Hardware {i}"),
                quantity: Decimal::from(1 + rng.below(3)),
                unit: Unit::Piece,
                unit_price: None,
                currency: None,
                vat_rate: None,
                billable: true,
                ticket: None,
                project_id: None,
                contract_id: None,
                user_id: None,
                billed_as_extra: false,
            }
        })
        .collect();
    let detail =
        [InvoiceDetail::PerBooking, InvoiceDetail::PerTicket, InvoiceDetail::PerService][(customer_id % 3) as usize];
    CustomerInput {
        customer: CustomerSettings {
            id: customer_id,
            currency: Currency::EUR,
            vat_treatment: if customer_id % 10 == 0 { VatTreatment::EuReverseCharge } else { VatTreatment::Domestic },
            invoice_detail: detail,
            rounding: RoundingRule { increment_minutes: 15, minimum_minutes: 15, mode: RoundingMode::Up },
        },
        period_start: Some(start),
        period_end,
        contracts: vec![ContractInput { contract, ledger: Vec::new(), billed_fee_periods: Default::default() }],
        rates: RateBook::new(rates, Vec::new()),
        bookings,
        expenses,
        partial: false,
    }
}

fn main() {
    let ctx = context();
    let engine = Engine::new(&ctx);
    let mut rng = Lcg(0x4b6f_6e74_6f72);
    let mut next_id = 0i64;
    let mut elapsed = Duration::ZERO;
    let (mut proposals, mut lines, mut problems, mut net) = (0usize, 0usize, 0usize, Decimal::ZERO);
    let mut customer = 1;
    while customer <= CUSTOMERS {
        let chunk: Vec<CustomerInput> = (customer..(customer + CHUNK).min(CUSTOMERS + 1))
            .map(|c| customer_input(&mut rng, c, &mut next_id))
            .collect();
        customer += CHUNK;
        let t = Instant::now();
        let out: Vec<_> = engine.compute_iter(chunk.iter()).collect();
        elapsed += t.elapsed();
        for c in &out {
            problems += c.problems.len();
            for p in &c.proposals {
                proposals += 1;
                lines += p.lines.len();
                net += p.totals.net;
            }
        }
        std::hint::black_box(out);
    }
    let bookings = CUSTOMERS * BOOKINGS_PER_CUSTOMER;
    println!("engine: {bookings} bookings + {} expenses over {CUSTOMERS} customers", CUSTOMERS * EXPENSES_PER_CUSTOMER);
    println!("engine: {proposals} proposals, {lines} lines, {problems} problems, net total {net}");
    println!(
        "engine: computed in {:.3} s ({:.0} bookings/s, single thread)",
        elapsed.as_secs_f64(),
        bookings as f64 / elapsed.as_secs_f64()
    );
}
