//! Business-case tests of the invoice engine (worked examples of the billing issue).

use super::*;
use crate::catalog::{Service, ServiceKind};
use crate::contract::{CarryOver, ContractTerms, Coverage, FeeTiming, Overage, OverageTier};
use crate::period::PeriodKind;
use crate::position::{CustomFieldValue, TicketRef};
use crate::quota::{QuotaEntryKind, QuotaUnit};
use crate::rates::{
    RateEntry, RateError, RateLevel, RateOwner, RateQuery, RateScope, Surcharge, SurchargeOwner, UserRates,
};
use std::str::FromStr;
use time::macros::{date, time};
use time::Time;

pub(super) const REMOTE: i64 = 1;
pub(super) const ONSITE: i64 = 2;
pub(super) const KM: i64 = 3;
pub(super) const DISK: i64 = 4;
pub(super) const USER: i64 = 10;
pub(super) const CUSTOMER: i64 = 100;
pub(super) const KM_FIELD: i64 = 501;

pub(super) fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn service(id: i64, name: &str, unit: Unit, price: Option<&str>, kind: ServiceKind) -> Service {
    Service {
        id,
        code: name.to_uppercase(),
        name: name.into(),
        unit,
        default_price: price.map(d),
        vat_rate: d("19"),
        billable_by_default: true,
        kind,
    }
}

pub(super) fn ctx() -> BillingContext {
    BillingContext {
        catalog: Catalog::new(vec![
            service(REMOTE, "Remote support", Unit::Hour, None, ServiceKind::Work),
            service(ONSITE, "On-site work", Unit::Hour, None, ServiceKind::Work),
            service(KM, "Kilometres", Unit::Km, Some("0.50"), ServiceKind::Travel),
            service(DISK, "Hard disk 1 TB", Unit::Piece, Some("89.00"), ServiceKind::Material),
        ]),
        users: UserDirectory::new(vec![UserRates {
            user_id: USER,
            internal_cost_rate: Some(d("40")),
            default_sales_rate: None,
        }]),
        calendar: WorkCalendar::new(
            vec![date!(2026 - 01 - 01), date!(2026 - 12 - 25)],
            time!(8:00),
            time!(18:00),
            Vec::new(),
        ),
        custom_field_mappings: vec![CustomFieldMapping { field_id: KM_FIELD, service_id: KM }],
        company_currency: Currency::EUR,
        max_fee_periods: crate::engine::DEFAULT_MAX_FEE_PERIODS,
    }
}

pub(super) fn customer(detail: InvoiceDetail) -> CustomerSettings {
    CustomerSettings {
        id: CUSTOMER,
        currency: Currency::EUR,
        vat_treatment: VatTreatment::Domestic,
        invoice_detail: detail,
        rounding: RoundingRule::EXACT,
    }
}

pub(super) fn booking(id: i64, date: Date, minutes: u32, service_id: i64) -> Booking {
    Booking {
        id,
        customer_id: CUSTOMER,
        user_id: USER,
        work_date: date,
        start_time: Some(time!(10:00)),
        minutes,
        service_id,
        description: format!("Activity {id}"),
        ticket: Some(TicketRef { id: 1000 + id % 3, number: format!("T-2026-{:06}", 1000 + id % 3) }),
        project_id: None,
        contract_id: None,
        billable: true,
        covered_by_contract: false,
        billed_as_extra: false,
        rate_override: None,
        custom_fields: Vec::new(),
    }
}

pub(super) fn rate(
    id: i64,
    owner: RateOwner,
    service_id: Option<i64>,
    user_id: Option<i64>,
    price: &str,
    from: Date,
    to: Option<Date>,
) -> RateEntry {
    RateEntry {
        id,
        owner,
        service_id,
        user_id,
        unit_price: d(price),
        currency: Currency::EUR,
        valid_from: from,
        valid_to: to,
    }
}

/// Customer card: remote 96.00/h, on-site 120.00/h.
pub(super) fn customer_rates() -> Vec<RateEntry> {
    vec![
        rate(1, RateOwner::Customer(CUSTOMER), Some(REMOTE), None, "96.00", date!(2020 - 01 - 01), None),
        rate(2, RateOwner::Customer(CUSTOMER), Some(ONSITE), None, "120.00", date!(2020 - 01 - 01), None),
    ]
}

pub(super) fn input(
    detail: InvoiceDetail,
    period_end: Date,
    contracts: Vec<ContractInput>,
    rates: Vec<RateEntry>,
    bookings: Vec<Booking>,
    expenses: Vec<Expense>,
) -> CustomerInput {
    CustomerInput {
        customer: customer(detail),
        period_start: None,
        period_end,
        contracts,
        rates: RateBook::new(rates, Vec::new()),
        bookings,
        expenses,
        partial: false,
    }
}

pub(super) fn contract(id: i64, terms: ContractTerms, fee: &str, period: PeriodKind) -> Contract {
    Contract {
        id,
        customer_id: CUSTOMER,
        number: format!("V-{id}"),
        name: "Support".into(),
        start: date!(2026 - 01 - 01),
        end_date: None,
        period,
        fee_timing: FeeTiming::InAdvance,
        fee: d(fee),
        fee_vat_rate: d("19"),
        coverage: Coverage::AllWork,
        rounding: None,
        separate_invoice: false,
        quota_thresholds: vec![80, 100],
        terms,
    }
}

fn expense(id: i64, date: Date, service_id: Option<i64>, qty: &str) -> Expense {
    Expense {
        id,
        customer_id: CUSTOMER,
        date,
        service_id,
        description: format!("Expense {id}"),
        quantity: d(qty),
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
}

fn only(b: &CustomerBilling) -> &InvoiceProposal {
    assert!(b.problems.is_empty(), "unexpected problems: {:?}", b.problems);
    assert_eq!(b.proposals.len(), 1, "{:?}", b.proposals);
    &b.proposals[0]
}

fn hours(n: u32) -> u32 {
    n * 60
}

#[test]
fn seven_minutes_remote_support_rounds_up_to_a_quarter_hour_and_bills_24_00() {
    let mut inp = input(
        InvoiceDetail::PerBooking,
        date!(2026 - 01 - 31),
        vec![],
        customer_rates(),
        vec![booking(1, date!(2026 - 01 - 12), 7, REMOTE)],
        vec![],
    );
    inp.customer.rounding =
        RoundingRule { increment_minutes: 15, minimum_minutes: 0, mode: crate::rounding::RoundingMode::Up };
    let b = compute_customer(&ctx(), &inp);
    let p = only(&b);
    assert_eq!(p.lines.len(), 1);
    let l = &p.lines[0];
    assert_eq!(l.quantity, d("0.25"));
    assert_eq!(l.minutes, Some(15));
    assert_eq!(l.unit_price, d("96.00"));
    assert_eq!(l.net, d("24.00"));
    assert_eq!(l.positions, vec![PositionRef::Booking { id: 1 }]);
    assert_eq!(l.description, "T-2026-001001 – Remote support: Activity 1");
    assert_eq!(p.totals.net, d("24.00"));
    assert_eq!(p.totals.vat, d("4.56"));
    assert_eq!(p.totals.gross, d("28.56"));
    // The actual minutes are kept next to the billed ones.
    assert_eq!(p.positions[0].actual_minutes, Some(7));
    assert_eq!(p.positions[0].rounded_minutes, Some(15));
}

fn prepaid_contract() -> Contract {
    contract(
        7,
        ContractTerms::PrepaidHours {
            hours_per_period: d("10"),
            carry_over: CarryOver::Carry { cap: Some(d("5")), expiry_periods: None },
            overage: Overage::Tiers(vec![
                OverageTier { up_to_hours: Some(d("5")), unit_price: d("90.00") },
                OverageTier { up_to_hours: None, unit_price: d("110.00") },
            ]),
        },
        "800.00",
        PeriodKind::Monthly,
    )
}

/// Runs one monthly invoice run and feeds its ledger entries and fee state forward.
fn month_run(c: &ContractInput, month_end: Date, bookings: Vec<Booking>) -> (CustomerBilling, ContractInput) {
    let inp = input(InvoiceDetail::PerService, month_end, vec![c.clone()], customer_rates(), bookings, vec![]);
    let out = compute_customer(&ctx(), &inp);
    let mut next = c.clone();
    for p in &out.proposals {
        next.ledger.extend(p.quota_entries.iter().cloned());
        for l in &p.lines {
            for pos in &l.positions {
                if let PositionRef::ContractFee { period_start, .. } = pos {
                    next.billed_fee_periods.insert(*period_start);
                }
            }
        }
    }
    (out, next)
}

fn hour_bookings(first_id: i64, month: time::Month, n: u32) -> Vec<Booking> {
    (0..n)
        .map(|i| {
            booking(
                first_id + i64::from(i),
                Date::from_calendar_date(2026, month, 2 + (i % 25) as u8).unwrap(),
                60,
                REMOTE,
            )
        })
        .collect()
}

fn overage_lines(p: &InvoiceProposal) -> Vec<(Decimal, Decimal, Decimal)> {
    p.lines.iter().filter(|l| l.kind == LineKind::Overage).map(|l| (l.quantity, l.unit_price, l.net)).collect()
}

/// Prepaid 10 h/month for 800.00, carry-over cap 5 h, overage tiers 5 h at 90.00 then 110.00.
///
/// | month    | used | carried in | quota used        | overage               | carried out | invoice net |
/// |----------|------|------------|-------------------|-----------------------|-------------|-------------|
/// | January  |  6 h | 0 h        | 6 h (of 10)       | –                     | 4 h         |    800.00   |
/// | February | 15 h | 4 h        | 4 h carried + 10 h| 1 h × 90.00 = 90.00   | 0 h         |    890.00   |
/// | March    | 22 h | 0 h        | 10 h              | 5 × 90 + 7 × 110 = 1,220.00 | 0 h   |  2,020.00   |
/// | April    |  2 h | 0 h        | 2 h               | –                     | 5 h (cap; 3 h lapse) | 800.00 |
#[test]
fn prepaid_ten_hours_with_five_hour_cap_and_overage_tiers_over_four_months() {
    let c0 = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };

    // January: 6 h used, 4 h carried, no overage.
    let (jan, c1) = month_run(&c0, date!(2026 - 01 - 31), hour_bookings(100, time::Month::January, 6));
    let p = only(&jan);
    assert!(overage_lines(p).is_empty());
    assert_eq!(p.totals.net, d("800.00"));
    let s = &p.quota_summaries[0];
    assert_eq!(
        (s.unit, s.granted, s.used, s.carried_out, s.expired),
        (QuotaUnit::Minutes, d("600"), d("360"), d("240"), d("0"))
    );
    let feb_in = &p.quota_summaries[1];
    assert_eq!(feb_in.period.start, date!(2026 - 02 - 01));
    assert_eq!(feb_in.carried_in, d("240"));
    assert!(p.positions.iter().all(|o| o.status == PositionStatus::Covered));

    // February: 15 h = 4 h carried (consumed first) + 10 h quota + 1 h overage at 90.00.
    let (feb, c2) = month_run(&c1, date!(2026 - 02 - 28), hour_bookings(200, time::Month::February, 15));
    let p = only(&feb);
    assert_eq!(overage_lines(p), vec![(d("1"), d("90.00"), d("90.00"))]);
    assert_eq!(p.totals.net, d("890.00"));
    let s = p.quota_summaries.iter().find(|s| s.period.start == date!(2026 - 02 - 01)).unwrap();
    assert_eq!(
        (s.granted, s.carried_in, s.used, s.overage, s.carried_out, s.remaining),
        (d("600"), d("240"), d("840"), d("60"), d("0"), d("0"))
    );
    let consumed_from_january: Decimal = p
        .quota_entries
        .iter()
        .filter(|e| e.kind == QuotaEntryKind::Consumption && e.origin_period_start == date!(2026 - 01 - 01))
        .map(|e| -e.amount)
        .sum();
    assert_eq!(consumed_from_january, d("240"), "carried hours are consumed first");
    // The first four bookings of February are covered by the carried January hours.
    let first = p.quota_entries.iter().find(|e| e.kind == QuotaEntryKind::Consumption).unwrap();
    assert_eq!(first.origin_period_start, date!(2026 - 01 - 01));

    // March: 22 h = 10 h quota + 12 h overage = 5 × 90.00 + 7 × 110.00 = 1,220.00.
    let (mar, c3) = month_run(&c2, date!(2026 - 03 - 31), hour_bookings(300, time::Month::March, 22));
    let p = only(&mar);
    assert_eq!(overage_lines(p), vec![(d("5"), d("90.00"), d("450.00")), (d("7"), d("110.00"), d("770.00"))]);
    let overage: Decimal = overage_lines(p).iter().map(|l| l.2).sum();
    assert_eq!(overage, d("1220.00"));
    assert_eq!(p.totals.net, d("2020.00"));
    assert_eq!(p.totals.vat, d("383.80"));

    // April: only 2 h used; 8 h unused, but the cap carries only 5 h and 3 h lapse.
    let (apr, _) = month_run(&c3, date!(2026 - 04 - 30), hour_bookings(400, time::Month::April, 2));
    let p = only(&apr);
    let s = p.quota_summaries.iter().find(|s| s.period.start == date!(2026 - 04 - 01)).unwrap();
    assert_eq!((s.used, s.carried_out, s.expired), (d("120"), d("300"), d("180")));
    let may = p.quota_summaries.iter().find(|s| s.period.start == date!(2026 - 05 - 01)).unwrap();
    assert_eq!(may.carried_in, d("300"));
}

#[test]
fn quota_thresholds_of_80_and_100_percent_are_reported_once_with_the_crossing_booking() {
    let c0 = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };
    let (out, _) = month_run(&c0, date!(2026 - 01 - 31), hour_bookings(1, time::Month::January, 11));
    let t: Vec<_> = out.threshold_crossings.iter().map(|t| (t.threshold_percent, t.position)).collect();
    assert_eq!(t, vec![(80, Some(PositionRef::Booking { id: 8 })), (100, Some(PositionRef::Booking { id: 10 }))]);
}

#[test]
fn flat_fee_covers_remote_support_and_bills_on_site_work_and_a_hard_disk_on_top() {
    let mut c = contract(3, ContractTerms::FlatFee, "500.00", PeriodKind::Monthly);
    c.coverage = Coverage::Services(vec![REMOTE]);
    let bookings =
        vec![booking(1, date!(2026 - 01 - 05), hours(3), REMOTE), booking(2, date!(2026 - 01 - 06), hours(1), ONSITE)];
    let expenses = vec![expense(1, date!(2026 - 01 - 06), Some(DISK), "1")];
    let inp = input(
        InvoiceDetail::PerBooking,
        date!(2026 - 01 - 31),
        vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
        customer_rates(),
        bookings,
        expenses,
    );
    let out = compute_customer(&ctx(), &inp);
    let p = only(&out);
    let nets: Vec<(LineKind, Decimal)> = p.lines.iter().map(|l| (l.kind, l.net)).collect();
    assert_eq!(
        nets,
        vec![(LineKind::Fee, d("500.00")), (LineKind::Work, d("120.00")), (LineKind::Expense, d("89.00"))]
    );
    assert_eq!(p.totals.net, d("709.00"), "fee + 209.00");
    // The remote hours are covered: not on a line, but in the proof of service with their value.
    let remote = p.positions.iter().find(|o| o.position == PositionRef::Booking { id: 1 }).unwrap();
    assert_eq!(remote.status, PositionStatus::Covered);
    assert_eq!(remote.covered_minutes, Some(180));
    assert_eq!(remote.covered_value, Some(d("288.00")));
    assert!(p.lines.iter().all(|l| !l.positions.contains(&PositionRef::Booking { id: 1 })));
    assert_eq!(
        p.lines[0].positions,
        vec![PositionRef::ContractFee { contract_id: 3, period_start: date!(2026 - 01 - 01) }]
    );
    // Profitability: fee + extras against 4 h × 40.00 cost.
    let prof = out.profitability.iter().find(|x| x.contract_id == Some(3)).unwrap();
    assert_eq!(
        (prof.revenue, prof.cost, prof.margin, prof.covered_value),
        (d("709.00"), d("160.00"), Some(d("549.00")), d("288.00"))
    );
}

#[test]
fn rate_changed_on_the_15th_bills_earlier_bookings_at_the_old_rate_and_later_ones_at_the_new() {
    let rates = vec![
        rate(
            1,
            RateOwner::Customer(CUSTOMER),
            Some(REMOTE),
            None,
            "96.00",
            date!(2025 - 01 - 01),
            Some(date!(2026 - 01 - 15)),
        ),
        rate(2, RateOwner::Customer(CUSTOMER), Some(REMOTE), None, "100.00", date!(2026 - 01 - 15), None),
    ];
    let bookings = vec![booking(1, date!(2026 - 01 - 14), 60, REMOTE), booking(2, date!(2026 - 01 - 15), 60, REMOTE)];
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), vec![], rates, bookings, vec![]),
    );
    let p = only(&out);
    let prices: Vec<_> = p.lines.iter().map(|l| (l.positions[0], l.unit_price)).collect();
    assert_eq!(
        prices,
        vec![(PositionRef::Booking { id: 1 }, d("96.00")), (PositionRef::Booking { id: 2 }, d("100.00"))]
    );
}

#[test]
fn prepaid_budget_of_1200_at_100_per_hour_draws_down_12_of_13_hours_and_bills_1() {
    let c = contract(
        9,
        ContractTerms::PrepaidBudget { budget_per_period: d("1200.00"), carry_over: CarryOver::None },
        "1200.00",
        PeriodKind::Yearly,
    );
    let rates = vec![rate(1, RateOwner::Contract(9), Some(REMOTE), None, "100.00", date!(2026 - 01 - 01), None)];
    let bookings =
        (0..13).map(|i| booking(i + 1, date!(2026 - 02 - 02) + time::Duration::days(i), 60, REMOTE)).collect();
    let inp = input(
        InvoiceDetail::PerService,
        date!(2026 - 03 - 31),
        vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
        rates,
        bookings,
        vec![],
    );
    let out = compute_customer(&ctx(), &inp);
    let p = only(&out);
    let work: Vec<_> =
        p.lines.iter().filter(|l| l.kind == LineKind::Work).map(|l| (l.quantity, l.net, l.positions.clone())).collect();
    assert_eq!(work, vec![(d("1"), d("100.00"), vec![PositionRef::Booking { id: 13 }])]);
    assert_eq!(p.totals.net, d("1300.00"), "yearly prepayment + 1 h billed");
    let s = &p.quota_summaries[0];
    assert_eq!((s.unit, s.granted, s.used, s.remaining), (QuotaUnit::Money, d("1200.00"), d("1200.00"), d("0.00")));
    let drawn = p.positions.iter().filter(|o| o.status == PositionStatus::Covered).count();
    assert_eq!(drawn, 12);
}

#[test]
fn booking_that_does_not_fit_the_remaining_budget_is_split_at_a_whole_minute() {
    let c = contract(
        9,
        ContractTerms::PrepaidBudget { budget_per_period: d("150.00"), carry_over: CarryOver::None },
        "0",
        PeriodKind::Monthly,
    );
    let rates = vec![rate(1, RateOwner::Customer(CUSTOMER), Some(REMOTE), None, "100.00", date!(2026 - 01 - 01), None)];
    let inp = input(
        InvoiceDetail::PerBooking,
        date!(2026 - 01 - 31),
        vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
        rates,
        vec![booking(1, date!(2026 - 01 - 05), 120, REMOTE)],
        vec![],
    );
    let out = compute_customer(&ctx(), &inp);
    let p = only(&out);
    assert_eq!(p.positions[0].status, PositionStatus::PartlyCovered);
    assert_eq!(p.positions[0].covered_minutes, Some(90));
    assert_eq!(p.positions[0].covered_value, Some(d("150.00")));
    assert_eq!(p.lines[0].minutes, Some(30));
    assert_eq!(p.totals.net, d("50.00"));
}

#[test]
fn forty_two_km_in_a_custom_field_become_a_kilometre_line_at_the_resolved_km_rate() {
    let mut b = booking(1, date!(2026 - 01 - 07), 60, ONSITE);
    b.custom_fields = vec![
        CustomFieldValue { field_id: KM_FIELD, value: d("42") },
        CustomFieldValue { field_id: 999, value: d("5") },
    ];
    let mut rates = customer_rates();
    rates.push(rate(9, RateOwner::Customer(CUSTOMER), Some(KM), None, "0.45", date!(2020 - 01 - 01), None));
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), vec![], rates, vec![b], vec![]),
    );
    let p = only(&out);
    let km = p.lines.iter().find(|l| l.kind == LineKind::Mapped).unwrap();
    assert_eq!((km.quantity, km.unit, km.unit_price, km.net), (d("42"), Unit::Km, d("0.45"), d("18.90")));
    assert_eq!(km.positions, vec![PositionRef::BookingField { booking_id: 1, field_id: KM_FIELD }]);
    assert!(km.description.starts_with("T-2026-001001 – Kilometres"));
    assert_eq!(p.lines.len(), 2, "unmapped fields are not billed");
}

#[test]
fn missing_rate_is_a_blocking_problem_and_never_a_zero_line() {
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            vec![],
            vec![],
            vec![booking(1, date!(2026 - 01 - 07), 60, REMOTE)],
            vec![],
        ),
    );
    assert_eq!(out.problems.len(), 1);
    assert_eq!(out.problems[0].code, ProblemCode::MissingRate);
    assert_eq!(out.problems[0].position, Some(PositionRef::Booking { id: 1 }));
    assert!(!out.is_committable());
    assert!(out.proposals.iter().all(|p| p.lines.is_empty()));
}

#[test]
fn rate_in_another_currency_than_the_invoice_is_a_currency_mismatch() {
    let mut r = customer_rates();
    r[0].currency = Currency::CZK;
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            vec![],
            r,
            vec![booking(1, date!(2026 - 01 - 07), 60, REMOTE)],
            vec![],
        ),
    );
    assert_eq!(out.problems[0].code, ProblemCode::CurrencyMismatch);
    assert_eq!(out.problems[0].code.as_str(), "currency_mismatch");
}

#[test]
fn booking_on_a_ticket_of_an_ended_contract_is_outside_the_contract_period() {
    let mut c = contract(3, ContractTerms::TimeAndMaterial, "0", PeriodKind::Monthly);
    c.end_date = Some(date!(2026 - 01 - 10));
    let mut b = booking(1, date!(2026 - 01 - 20), 60, REMOTE);
    b.contract_id = Some(3);
    let mut other = booking(2, date!(2026 - 01 - 20), 60, REMOTE);
    other.contract_id = Some(77);
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
            customer_rates(),
            vec![b, other],
            vec![],
        ),
    );
    let codes: Vec<_> = out.problems.iter().map(|p| (p.code, p.position)).collect();
    assert_eq!(
        codes,
        vec![
            (ProblemCode::OutsideContractPeriod, Some(PositionRef::Booking { id: 1 })),
            (ProblemCode::UnknownContract, Some(PositionRef::Booking { id: 2 }))
        ]
    );
}

#[test]
fn eu_reverse_charge_customer_is_invoiced_at_zero_percent_with_the_legal_note() {
    let mut inp = input(
        InvoiceDetail::PerBooking,
        date!(2026 - 01 - 31),
        vec![],
        customer_rates(),
        vec![booking(1, date!(2026 - 01 - 07), 60, REMOTE)],
        vec![],
    );
    inp.customer.vat_treatment = VatTreatment::EuReverseCharge;
    let out = compute_customer(&ctx(), &inp);
    let p = only(&out);
    assert_eq!(p.legal_note, Some(LegalNote::ReverseCharge));
    assert_eq!(p.lines[0].vat_rate, Decimal::ZERO);
    assert_eq!((p.totals.net, p.totals.vat, p.totals.gross), (d("96.00"), d("0"), d("96.00")));
}

#[test]
fn per_ticket_detail_sums_a_tickets_bookings_and_keeps_their_activity_texts() {
    let bookings = vec![
        booking(1, date!(2026 - 01 - 05), 10, REMOTE),
        booking(4, date!(2026 - 01 - 06), 10, REMOTE),
        booking(2, date!(2026 - 01 - 06), 30, REMOTE),
    ];
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerTicket, date!(2026 - 01 - 31), vec![], customer_rates(), bookings, vec![]),
    );
    let p = only(&out);
    assert_eq!(p.lines.len(), 2);
    let t1 = &p.lines[0];
    assert_eq!(t1.ticket_id, Some(1001));
    assert_eq!(t1.description, "T-2026-001001 – Remote support: Activity 1; Activity 4");
    assert_eq!((t1.minutes, t1.quantity, t1.net), (Some(20), d("0.3333"), d("32.00")));
    assert_eq!(t1.positions, vec![PositionRef::Booking { id: 1 }, PositionRef::Booking { id: 4 }]);
}

#[test]
fn per_service_detail_makes_one_line_per_service_naming_the_tickets() {
    let bookings = vec![
        booking(1, date!(2026 - 01 - 05), 60, REMOTE),
        booking(2, date!(2026 - 01 - 06), 30, REMOTE),
        booking(3, date!(2026 - 01 - 06), 60, ONSITE),
    ];
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerService, date!(2026 - 01 - 31), vec![], customer_rates(), bookings, vec![]),
    );
    let p = only(&out);
    assert_eq!(p.lines.len(), 2);
    assert_eq!(p.lines[0].description, "Remote support: T-2026-001001 Activity 1; T-2026-001002 Activity 2");
    assert_eq!((p.lines[0].quantity, p.lines[0].net), (d("1.5"), d("144.00")));
    assert_eq!(p.lines[1].net, d("120.00"));
}

#[test]
fn weekend_holiday_and_after_hours_surcharges_apply_the_highest_percentage() {
    let mut c = ctx();
    c.calendar = WorkCalendar::new(
        vec![date!(2026 - 12 - 25)],
        time!(8:00),
        time!(18:00),
        vec![
            Surcharge {
                id: 1,
                owner: SurchargeOwner::Global,
                kind: SurchargeKind::Weekend,
                percent: d("50"),
                valid_from: date!(2020 - 01 - 01),
                valid_to: None,
            },
            Surcharge {
                id: 2,
                owner: SurchargeOwner::Global,
                kind: SurchargeKind::Holiday,
                percent: d("100"),
                valid_from: date!(2020 - 01 - 01),
                valid_to: None,
            },
            Surcharge {
                id: 3,
                owner: SurchargeOwner::Global,
                kind: SurchargeKind::OutsideBusinessHours,
                percent: d("25"),
                valid_from: date!(2020 - 01 - 01),
                valid_to: None,
            },
        ],
    );
    let mut late = booking(3, date!(2026 - 12 - 22), 60, REMOTE); // Tuesday 20:00
    late.start_time = Some(time!(20:00));
    let bookings = vec![
        booking(1, date!(2026 - 12 - 19), 60, REMOTE), // Saturday
        booking(2, date!(2026 - 12 - 25), 60, REMOTE), // Friday, Christmas
        late,
        booking(4, date!(2026 - 12 - 21), 60, REMOTE), // Monday 10:00, no surcharge
    ];
    let out = compute_customer(
        &c,
        &input(InvoiceDetail::PerBooking, date!(2026 - 12 - 31), vec![], customer_rates(), bookings, vec![]),
    );
    let p = only(&out);
    let by_id = |id| p.lines.iter().find(|l| l.positions[0] == PositionRef::Booking { id }).unwrap();
    assert_eq!((by_id(1).unit_price, by_id(1).surcharge), (d("144.00"), Some(SurchargeKind::Weekend)));
    assert_eq!(by_id(2).unit_price, d("192.00"));
    assert_eq!(by_id(3).unit_price, d("120.00"));
    assert!(by_id(3).description.ends_with("(+25 % outside business hours): Activity 3"), "{}", by_id(3).description);
    assert_eq!((by_id(4).unit_price, by_id(4).surcharge), (d("96.00"), None));
}

#[test]
fn contract_with_separate_invoice_gets_its_own_proposal() {
    let mut c = contract(3, ContractTerms::TimeAndMaterial, "0", PeriodKind::Monthly);
    c.separate_invoice = true;
    c.coverage = Coverage::Services(vec![ONSITE]);
    let mut b1 = booking(1, date!(2026 - 01 - 05), 60, REMOTE);
    b1.contract_id = None;
    let mut b2 = booking(2, date!(2026 - 01 - 05), 60, ONSITE);
    b2.contract_id = Some(3);
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
            customer_rates(),
            vec![b1, b2],
            vec![],
        ),
    );
    assert!(out.problems.is_empty());
    // Booking 1 is auto-assigned to the only active contract as well (extras under the
    // contract land in its document).
    assert_eq!(out.proposals.len(), 1);
    assert_eq!(out.proposals[0].contract_id, Some(3));
    assert_eq!(out.proposals[0].lines.len(), 2);
}

#[test]
fn separate_contract_and_uncontracted_work_give_two_proposals() {
    let mut c = contract(3, ContractTerms::FlatFee, "100", PeriodKind::Monthly);
    c.separate_invoice = true;
    c.start = date!(2026 - 01 - 10);
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
            customer_rates(),
            vec![booking(1, date!(2026 - 01 - 05), 60, REMOTE), booking(2, date!(2026 - 01 - 12), 60, REMOTE)],
            vec![],
        ),
    );
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(out.proposals.len(), 2);
    let sep = out.proposals.iter().find(|p| p.contract_id == Some(3)).unwrap();
    // Started on the 10th: 22 of 31 days of the 100.00 fee = 70.97.
    assert_eq!(sep.lines[0].net, d("70.97"));
    assert!(sep.lines[0].description.ends_with("(pro rata 22/31 days)"));
    assert_eq!(sep.positions[0].status, PositionStatus::Covered);
    let combined = out.proposals.iter().find(|p| p.contract_id.is_none()).unwrap();
    assert_eq!(combined.totals.net, d("96.00"));
}

#[test]
fn yearly_fee_in_advance_is_billed_in_january_and_in_arrears_in_december() {
    let adv = contract(1, ContractTerms::FlatFee, "1200", PeriodKind::Yearly);
    let mut arr = contract(2, ContractTerms::FlatFee, "600", PeriodKind::Yearly);
    arr.fee_timing = FeeTiming::InArrears;
    let cis = vec![
        ContractInput { contract: adv, ledger: vec![], billed_fee_periods: Default::default() },
        ContractInput { contract: arr, ledger: vec![], billed_fee_periods: Default::default() },
    ];
    let jan = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), cis.clone(), vec![], vec![], vec![]),
    );
    assert_eq!(only(&jan).totals.net, d("1200"));
    let mut cis_dec = cis;
    cis_dec[0].billed_fee_periods.insert(date!(2026 - 01 - 01));
    let dec = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 12 - 31), cis_dec, vec![], vec![], vec![]),
    );
    assert_eq!(only(&dec).totals.net, d("600"));
}

#[test]
fn non_billable_booking_is_settled_without_a_line_but_costs() {
    let mut b = booking(1, date!(2026 - 01 - 05), 90, REMOTE);
    b.billable = false;
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), vec![], vec![], vec![b], vec![]),
    );
    let p = only(&out);
    assert!(p.lines.is_empty());
    assert_eq!(p.positions[0].status, PositionStatus::NonBillable);
    assert_eq!(out.profitability[0].cost, d("60.00"));
    assert_eq!(out.profitability[0].margin, Some(d("-60.00")));
}

#[test]
fn positions_after_the_period_end_wait_for_a_later_run() {
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            vec![],
            customer_rates(),
            vec![booking(1, date!(2026 - 02 - 01), 60, REMOTE)],
            vec![],
        ),
    );
    assert!(out.proposals.is_empty());
    assert!(out.problems.is_empty());
}

#[test]
fn free_text_expense_needs_a_price_and_a_vat_rate() {
    let mut e = expense(1, date!(2026 - 01 - 05), None, "2");
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), vec![], vec![], vec![], vec![e.clone()]),
    );
    assert_eq!(out.problems[0].code, ProblemCode::MissingRate);
    e.unit_price = Some(d("12.50"));
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), vec![], vec![], vec![], vec![e.clone()]),
    );
    assert_eq!(out.problems[0].code, ProblemCode::MissingVatRate);
    e.vat_rate = Some(d("7"));
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(2026 - 01 - 31), vec![], vec![], vec![], vec![e]),
    );
    let p = only(&out);
    assert_eq!((p.lines[0].description.as_str(), p.lines[0].net, p.vat[0].vat), ("Expense 1", d("25.00"), d("1.75")));
}

#[test]
fn rate_resolution_explains_the_winning_level_and_entry() {
    let c = ctx();
    let rc = c.rate_context();
    let book = RateBook::new(
        vec![
            rate(1, RateOwner::Customer(CUSTOMER), None, None, "80", date!(2020 - 01 - 01), None),
            rate(2, RateOwner::Customer(CUSTOMER), Some(REMOTE), None, "90", date!(2020 - 01 - 01), None),
            rate(3, RateOwner::Project(5), None, Some(USER), "95", date!(2020 - 01 - 01), None),
            rate(4, RateOwner::Contract(7), Some(REMOTE), Some(USER), "99", date!(2020 - 01 - 01), None),
            rate(5, RateOwner::Contract(7), Some(REMOTE), None, "97", date!(2020 - 01 - 01), None),
        ],
        Vec::new(),
    );
    let q = |contract_id, project_id, user_id, service_id, over: Option<&str>| RateQuery {
        customer_id: CUSTOMER,
        contract_id,
        project_id,
        service_id,
        user_id,
        date: date!(2026 - 03 - 01),
        start_time: None,
        override_price: over.map(d),
        override_currency: Currency::EUR,
    };
    let r = book.resolve(&rc, &q(Some(7), Some(5), Some(USER), REMOTE, Some("70"))).unwrap();
    assert_eq!((r.level, r.unit_price), (RateLevel::Override, d("70")));
    let r = book.resolve(&rc, &q(Some(7), Some(5), Some(USER), REMOTE, None)).unwrap();
    assert_eq!(
        (r.level, r.scope, r.entry_id, r.unit_price),
        (RateLevel::Contract, Some(RateScope::ServiceUser), Some(4), d("99"))
    );
    let r = book.resolve(&rc, &q(Some(7), Some(5), Some(11), REMOTE, None)).unwrap();
    assert_eq!((r.scope, r.entry_id), (Some(RateScope::Service), Some(5)));
    let r = book.resolve(&rc, &q(None, Some(5), Some(USER), REMOTE, None)).unwrap();
    assert_eq!(
        (r.level, r.scope, r.owner_id, r.entry_id),
        (RateLevel::Project, Some(RateScope::User), Some(5), Some(3))
    );
    let r = book.resolve(&rc, &q(None, None, Some(USER), ONSITE, None)).unwrap();
    assert_eq!((r.level, r.scope, r.entry_id), (RateLevel::Customer, Some(RateScope::Default), Some(1)));
    // Kilometres: the hourly default entry does not apply, the catalog price does.
    let r = book.resolve(&rc, &q(None, None, Some(USER), KM, None)).unwrap();
    assert_eq!((r.level, r.owner_id, r.unit_price), (RateLevel::CatalogDefault, Some(KM), d("0.50")));
    // User default sales rate before the catalog.
    let mut c2 = ctx();
    c2.users = UserDirectory::new(vec![UserRates {
        user_id: USER,
        internal_cost_rate: None,
        default_sales_rate: Some(d("85")),
    }]);
    let r = RateBook::default().resolve(&c2.rate_context(), &q(None, None, Some(USER), REMOTE, None)).unwrap();
    assert_eq!((r.level, r.owner_id, r.unit_price), (RateLevel::UserDefault, Some(USER), d("85")));
    let e = RateBook::default().resolve(&rc, &q(None, None, Some(USER), REMOTE, None)).unwrap_err();
    assert!(matches!(e, RateError::Missing { service_id: REMOTE, .. }));
}

#[test]
fn contract_surcharges_replace_the_company_wide_ones() {
    let mut c = ctx();
    c.calendar = WorkCalendar::new(
        vec![],
        time!(8:00),
        time!(18:00),
        vec![Surcharge {
            id: 1,
            owner: SurchargeOwner::Global,
            kind: SurchargeKind::Weekend,
            percent: d("50"),
            valid_from: date!(2020 - 01 - 01),
            valid_to: None,
        }],
    );
    let book = RateBook::new(
        vec![rate(4, RateOwner::Contract(7), Some(REMOTE), None, "100", date!(2020 - 01 - 01), None)],
        vec![Surcharge {
            id: 9,
            owner: SurchargeOwner::Contract(7),
            kind: SurchargeKind::Weekend,
            percent: d("20"),
            valid_from: date!(2020 - 01 - 01),
            valid_to: None,
        }],
    );
    let q = RateQuery {
        customer_id: CUSTOMER,
        contract_id: Some(7),
        project_id: None,
        service_id: REMOTE,
        user_id: Some(USER),
        date: date!(2026 - 03 - 01), // Sunday
        start_time: Some(Time::MIDNIGHT),
        override_price: None,
        override_currency: Currency::EUR,
    };
    let r = book.resolve(&c.rate_context(), &q).unwrap();
    assert_eq!((r.base_price, r.unit_price, r.surcharge.map(|s| s.surcharge_id)), (d("100"), d("120"), Some(9)));
}

#[test]
fn late_booking_for_a_closed_quota_period_is_billed_as_overage() {
    let c0 = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };
    let (_, c1) = month_run(&c0, date!(2026 - 01 - 31), hour_bookings(1, time::Month::January, 10));
    // A January booking arrives after January was closed with its quota used up.
    let (feb, _) = month_run(&c1, date!(2026 - 02 - 28), vec![booking(50, date!(2026 - 01 - 30), 60, REMOTE)]);
    let p = only(&feb);
    assert_eq!(overage_lines(p), vec![(d("1"), d("90.00"), d("90.00"))]);
}

#[test]
fn cancelled_invoice_reversal_restores_the_quota_for_rebilling() {
    let c0 = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };
    let inp = input(
        InvoiceDetail::PerService,
        date!(2026 - 01 - 15),
        vec![c0.clone()],
        customer_rates(),
        hour_bookings(1, time::Month::January, 4),
        vec![],
    );
    let first = compute_customer(&ctx(), &inp);
    let entries = first.proposals[0].quota_entries.clone();
    let mut ledger = entries.clone();
    assert_eq!(crate::quota::period_balance(&ledger, 7, date!(2026 - 01 - 01)).remaining(), d("360"));
    ledger.extend(crate::quota::reversal_entries(&entries));
    let b = crate::quota::period_balance(&ledger, 7, date!(2026 - 01 - 01));
    assert_eq!((b.remaining(), b.used, b.granted), (d("600"), d("0"), d("600")));
    // Re-billing the released positions consumes the same quota again, without a second
    // grant, and bills the cancelled invoice's fee anew (no live invoice bills it now).
    let mut again = inp;
    again.contracts[0].ledger = ledger;
    let second = compute_customer(&ctx(), &again);
    let p = only(&second);
    assert!(p.quota_entries.iter().all(|e| e.kind != QuotaEntryKind::Grant));
    assert_eq!(p.quota_summaries[0].remaining, d("360"));
    assert_eq!(p.totals.net, d("800.00"));
    assert_eq!(p.lines, first.proposals[0].lines, "the same document as first billed");
}

/// The defect of issue 16: January (6 h) and February (12 h, 4 of them carried from
/// January) are billed; then January is cancelled. The next run must bill January's fee
/// again and consume January's quota exactly as first billed, leaving February alone.
#[test]
fn a_cancelled_january_is_billed_again_with_its_fee_after_february_was_billed() {
    let c0 = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };
    let jan_bookings = hour_bookings(1, time::Month::January, 6);
    let (jan, c1) = month_run(&c0, date!(2026 - 01 - 31), jan_bookings.clone());
    let (feb, c2) = month_run(&c1, date!(2026 - 02 - 28), hour_bookings(100, time::Month::February, 12));
    assert_eq!(only(&feb).totals.net, d("800.00"), "12 h = 10 h granted + 2 h of the 4 carried");

    // Cancel January: its consumption is reversed, its fee period is no longer billed.
    let mut after_cancel = c2.clone();
    after_cancel.ledger.extend(crate::quota::reversal_entries(&only(&jan).quota_entries));
    after_cancel.billed_fee_periods.remove(&date!(2026 - 01 - 01));
    assert!(after_cancel.billed_fee_periods.contains(&date!(2026 - 02 - 01)));

    for run_end in [date!(2026 - 01 - 31), date!(2026 - 02 - 28), date!(2026 - 03 - 31)] {
        let (again, _) = month_run(&after_cancel, run_end, jan_bookings.clone());
        let p = only(&again);
        let jan_lines: Vec<&InvoiceLine> = p
            .lines
            .iter()
            .filter(|l| !matches!(l.positions.first(), Some(PositionRef::ContractFee { period_start, .. }) if *period_start >= date!(2026 - 02 - 01)))
            .collect();
        assert_eq!(
            jan_lines,
            only(&jan).lines.iter().collect::<Vec<_>>(),
            "January as first billed (run to {run_end})"
        );
        let consumed: Decimal = p
            .quota_entries
            .iter()
            .filter(|e| e.kind == QuotaEntryKind::Consumption && e.period_start == date!(2026 - 01 - 01))
            .map(|e| -e.amount)
            .sum();
        assert_eq!(consumed, d("360"), "6 h covered by January's quota again");
        assert!(overage_lines(p).is_empty());
        assert!(
            !p.quota_entries.iter().any(|e| e.kind == QuotaEntryKind::Grant && e.period_start < date!(2026 - 03 - 01)),
            "no second grant of January or February"
        );
    }
}

#[test]
fn carried_hours_lapse_after_their_expiry_periods() {
    let mut c = prepaid_contract();
    c.terms = ContractTerms::PrepaidHours {
        hours_per_period: d("10"),
        carry_over: CarryOver::Carry { cap: None, expiry_periods: Some(1) },
        overage: Overage::ResolvedRates,
    };
    let c0 = ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() };
    // Nothing used in January and February: January's 10 h are usable in February only.
    let (_, c1) = month_run(&c0, date!(2026 - 01 - 31), vec![]);
    let (feb, _) = month_run(&c1, date!(2026 - 02 - 28), vec![]);
    let p = only(&feb);
    let s = p.quota_summaries.iter().find(|s| s.period.start == date!(2026 - 02 - 01)).unwrap();
    assert_eq!((s.carried_in, s.expired, s.carried_out), (d("600"), d("600"), d("600")));
    let expired_jan: Decimal = p
        .quota_entries
        .iter()
        .filter(|e| e.kind == QuotaEntryKind::Expiry && e.origin_period_start == date!(2026 - 01 - 01))
        .map(|e| -e.amount)
        .sum();
    assert_eq!(expired_jan, d("600"));
}

#[test]
fn prepaid_overage_without_tiers_is_billed_at_the_resolved_rate() {
    let mut c = prepaid_contract();
    c.terms = ContractTerms::PrepaidHours {
        hours_per_period: d("1"),
        carry_over: CarryOver::None,
        overage: Overage::ResolvedRates,
    };
    c.fee = d("0");
    let (out, _) = month_run(
        &ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() },
        date!(2026 - 01 - 31),
        vec![booking(1, date!(2026 - 01 - 05), 90, REMOTE)],
    );
    let p = only(&out);
    assert_eq!(overage_lines(p), vec![(d("0.5"), d("96.00"), d("48.00"))]);
    assert_eq!(p.positions[0].status, PositionStatus::PartlyCovered);
}

#[test]
fn contract_starting_mid_month_gets_a_pro_rated_quota() {
    let mut c = prepaid_contract();
    c.start = date!(2026 - 04 - 16);
    let (out, _) = month_run(
        &ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() },
        date!(2026 - 04 - 30),
        vec![],
    );
    let p = only(&out);
    assert_eq!(p.quota_summaries[0].granted, d("300"));
    assert_eq!(p.lines[0].net, d("400.00"));
}

#[test]
fn work_order_covered_by_the_contract_is_not_billed_even_for_an_unlisted_service() {
    let mut c = contract(3, ContractTerms::FlatFee, "0", PeriodKind::Monthly);
    c.coverage = Coverage::Services(vec![REMOTE]);
    let mut tm = contract(4, ContractTerms::TimeAndMaterial, "0", PeriodKind::Monthly);
    tm.coverage = Coverage::AllWork;
    let mut on_site = booking(1, date!(2026 - 01 - 05), 120, ONSITE);
    on_site.contract_id = Some(3);
    on_site.covered_by_contract = true;
    let mut tm_order = booking(2, date!(2026 - 01 - 06), 60, ONSITE);
    tm_order.contract_id = Some(4);
    tm_order.covered_by_contract = true;
    let mut extra = booking(3, date!(2026 - 01 - 06), 60, ONSITE);
    extra.contract_id = Some(3);
    let contracts = vec![
        ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() },
        ContractInput { contract: tm, ledger: vec![], billed_fee_periods: Default::default() },
    ];
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            contracts,
            customer_rates(),
            vec![on_site, tm_order, extra],
            vec![],
        ),
    );
    let p = only(&out);
    let status: Vec<_> = p.positions.iter().map(|o| (o.position, o.status)).collect();
    assert_eq!(
        status,
        vec![
            (PositionRef::Booking { id: 1 }, PositionStatus::Covered),
            (PositionRef::Booking { id: 2 }, PositionStatus::Covered),
            (PositionRef::Booking { id: 3 }, PositionStatus::Billed),
        ]
    );
    assert_eq!(p.totals.net, d("120.00"), "only the extra service done during the work order is billed");
}

#[test]
fn extra_work_on_a_work_order_is_billed_with_the_fee_even_where_the_contract_covers_it() {
    // A flat fee over all work, and prepaid hours: extras billed as time and material are
    // billed at the resolved rate and consume no quota; an extra expense is not covered.
    let mut flat = contract(3, ContractTerms::FlatFee, "300.00", PeriodKind::Monthly);
    flat.coverage = Coverage::AllWork;
    let mut extra = booking(1, date!(2026 - 01 - 06), 60, ONSITE);
    extra.contract_id = Some(3);
    extra.billed_as_extra = true;
    let mut covered = booking(2, date!(2026 - 01 - 06), 60, ONSITE);
    covered.contract_id = Some(3);
    let mut part = expense(5, date!(2026 - 01 - 06), Some(ONSITE), "1");
    part.contract_id = Some(3);
    part.unit_price = Some(d("40.00"));
    part.billed_as_extra = true;
    let contracts = vec![ContractInput { contract: flat, ledger: vec![], billed_fee_periods: Default::default() }];
    let out = compute_customer(
        &ctx(),
        &input(
            InvoiceDetail::PerBooking,
            date!(2026 - 01 - 31),
            contracts,
            customer_rates(),
            vec![extra, covered],
            vec![part],
        ),
    );
    let p = only(&out);
    let kinds: Vec<_> = p.lines.iter().map(|l| (l.kind, l.net)).collect();
    assert_eq!(
        kinds,
        vec![(LineKind::Fee, d("300.00")), (LineKind::Work, d("120.00")), (LineKind::Expense, d("40.00"))],
        "the fee, the extra hour and the extra part in one document; the covered hour is not billed"
    );

    let mut extra = booking(1, date!(2026 - 01 - 06), 60, REMOTE);
    extra.contract_id = Some(7);
    extra.billed_as_extra = true;
    let c = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };
    let (out, _) = month_run(&c, date!(2026 - 01 - 31), vec![extra]);
    let p = only(&out);
    assert_eq!(p.quota_summaries[0].used, d("0"), "an extra consumes no prepaid hours");
    assert_eq!(p.totals.net, d("896.00"), "fee 800.00 and the extra hour at 96.00");
}

#[test]
fn booking_in_the_last_year_of_the_calendar_is_reported_not_panicking() {
    let b = booking(1, date!(9999 - 12 - 31), 60, REMOTE);
    let out = compute_customer(
        &ctx(),
        &input(InvoiceDetail::PerBooking, date!(9999 - 12 - 31), vec![], customer_rates(), vec![b], vec![]),
    );
    assert_eq!(out.problems[0].code, ProblemCode::DateOutOfRange);
}

/// "Invoice this ticket" on the last day of the month: the ticket's 3 h consume the
/// quota, but neither the 800.00 fee nor the month's close (carry-over) is decided by it —
/// the periodic run that bills the rest of the month does that.
#[test]
fn a_ticket_run_on_the_last_day_bills_no_fee_and_leaves_the_quota_period_open() {
    let c = ContractInput { contract: prepaid_contract(), ledger: vec![], billed_fee_periods: Default::default() };
    let mut inp = input(
        InvoiceDetail::PerBooking,
        date!(2026 - 01 - 31),
        vec![c.clone()],
        customer_rates(),
        vec![booking(1, date!(2026 - 01 - 12), hours(3), REMOTE)],
        vec![],
    );
    inp.partial = true;
    let out = compute_customer(&ctx(), &inp);
    let p = only(&out);
    assert!(p.lines.iter().all(|l| l.kind != LineKind::Fee), "no fee in a partial run: {:?}", p.lines);
    assert_eq!(p.positions[0].covered_minutes, Some(180));
    let kinds: Vec<QuotaEntryKind> = p.quota_entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![QuotaEntryKind::Grant, QuotaEntryKind::Consumption], "January stays open");
    // The periodic run afterwards bills the fee and closes January with the ticket's use.
    let mut later = c;
    later.ledger = p.quota_entries.clone();
    let (periodic, _) =
        month_run(&later, date!(2026 - 01 - 31), vec![booking(2, date!(2026 - 01 - 20), hours(1), REMOTE)]);
    let q = only(&periodic);
    assert!(q.lines.iter().any(|l| l.kind == LineKind::Fee));
    let jan = q.quota_summaries.iter().find(|s| s.period.start == date!(2026 - 01 - 01)).unwrap();
    assert_eq!(jan.used, d("240"), "3 h of the ticket run and 1 h now");
    assert!(jan.closed);
    assert_eq!(jan.carried_out, d("300"), "6 h left, capped at 5 h");
}

#[test]
fn a_contract_with_more_unbilled_fee_periods_than_one_run_may_propose_is_blocked_not_billed() {
    let mut c = contract(4, ContractTerms::FlatFee, "100.00", PeriodKind::Monthly);
    c.start = date!(2000 - 01 - 01);
    let inp = input(
        InvoiceDetail::PerBooking,
        date!(2026 - 11 - 30),
        vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }],
        vec![],
        vec![],
        vec![],
    );
    let out = compute_customer(&ctx(), &inp);
    let codes: Vec<_> = out.problems.iter().map(|p| (p.code, p.contract_id)).collect();
    assert_eq!(codes, vec![(ProblemCode::TooManyFeePeriods, Some(4))]);
    assert!(out.problems[0].message.contains("2000-01-01"), "{}", out.problems[0].message);
    assert!(out.proposals.iter().all(|p| p.lines.is_empty()), "no fee line proposed");
    // With a higher bound the 323 monthly fees are proposed.
    let wide = BillingContext { max_fee_periods: 400, ..ctx() };
    let out = compute_customer(&wide, &inp);
    assert!(out.problems.is_empty());
    assert_eq!(out.proposals[0].lines.len(), 323);
}
