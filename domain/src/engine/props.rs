//! Property tests of the invoice engine.

use super::tests::{booking, contract, ctx, d, input, rate, CUSTOMER, ONSITE, REMOTE};
use super::*;
use crate::contract::{CarryOver, ContractTerms, Coverage, Overage, OverageTier};
use crate::money;
use crate::period::PeriodKind;
use crate::position::TicketRef;
use crate::quota::QuotaEntryKind;
use crate::rates::RateOwner;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use time::macros::date;

fn detail_of(i: u8) -> InvoiceDetail {
    [InvoiceDetail::PerBooking, InvoiceDetail::PerTicket, InvoiceDetail::PerService][usize::from(i % 3)]
}

fn cents(c: u32) -> Decimal {
    Decimal::new(i64::from(c), 2)
}

/// (day offset in 2026, minutes, service is remote, ticket, billable)
type RawBooking = (u16, u32, bool, u8, bool);

fn raw_bookings(max: usize) -> impl Strategy<Value = Vec<RawBooking>> {
    prop::collection::vec((0u16..365, 0u32..600, any::<bool>(), 0u8..5, prop::bool::weighted(0.9)), 0..max)
}

fn make_bookings(raw: &[RawBooking]) -> Vec<Booking> {
    raw.iter()
        .enumerate()
        .map(|(i, &(day, minutes, remote, ticket, billable))| {
            let mut b = booking(
                i as i64 + 1,
                date!(2026 - 01 - 01) + time::Duration::days(i64::from(day)),
                minutes,
                if remote { REMOTE } else { ONSITE },
            );
            b.ticket = (ticket > 0).then(|| TicketRef { id: i64::from(ticket), number: format!("T-{ticket}") });
            b.billable = billable;
            b
        })
        .collect()
}

/// (quantity in hundredths, price in cents, VAT rate index)
fn raw_expenses() -> impl Strategy<Value = Vec<(u32, u32, u8)>> {
    prop::collection::vec((1u32..100_000, 0u32..1_000_000, 0u8..4), 0..8)
}

fn make_expenses(raw: &[(u32, u32, u8)]) -> Vec<Expense> {
    raw.iter()
        .enumerate()
        .map(|(i, &(q, p, v))| Expense {
            id: i as i64 + 1,
            customer_id: CUSTOMER,
            date: date!(2026 - 03 - 01),
            service_id: None,
            description: format!("Item {i}"),
            quantity: cents(q),
            unit: Unit::Piece,
            unit_price: Some(cents(p)),
            currency: None,
            vat_rate: Some([d("0"), d("7"), d("19"), d("21")][usize::from(v)]),
            billable: true,
            ticket: None,
            project_id: None,
            contract_id: None,
            user_id: None,
            billed_as_extra: false,
        })
        .collect()
}

fn rates(remote: u32, onsite: u32) -> Vec<crate::rates::RateEntry> {
    vec![
        rate(
            1,
            RateOwner::Customer(CUSTOMER),
            Some(REMOTE),
            None,
            &cents(remote).to_string(),
            date!(2020 - 01 - 01),
            None,
        ),
        rate(
            2,
            RateOwner::Customer(CUSTOMER),
            Some(ONSITE),
            None,
            &cents(onsite).to_string(),
            date!(2020 - 01 - 01),
            None,
        ),
    ]
}

fn all_line_positions(out: &CustomerBilling) -> Vec<PositionRef> {
    out.proposals.iter().flat_map(|p| p.lines.iter().flat_map(|l| l.positions.iter().copied())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn line_nets_sum_to_the_net_total_and_vat_is_computed_per_rate(
        raw in raw_bookings(40), exp in raw_expenses(), detail in 0u8..3, remote in 1u32..30_000, onsite in 1u32..30_000
    ) {
        let out = compute_customer(&ctx(), &input(detail_of(detail), date!(2026 - 12 - 31), vec![], rates(remote, onsite), make_bookings(&raw), make_expenses(&exp)));
        prop_assert!(out.problems.is_empty(), "{:?}", out.problems);
        for p in &out.proposals {
            let sum: Decimal = p.lines.iter().map(|l| l.net).sum();
            prop_assert_eq!(sum, p.totals.net);
            let mut per_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
            for l in &p.lines {
                *per_rate.entry(l.vat_rate.normalize()).or_default() += l.net;
                let expected = match l.minutes {
                    Some(m) => money::round_to_minor(Decimal::from(m) * l.unit_price / Decimal::from(60), Currency::EUR),
                    None => money::round_to_minor(l.quantity * l.unit_price, Currency::EUR),
                };
                prop_assert_eq!(l.net, expected);
            }
            prop_assert_eq!(per_rate.len(), p.vat.len());
            for (v, (rate, net)) in p.vat.iter().zip(per_rate) {
                prop_assert_eq!(v.rate, rate);
                prop_assert_eq!(v.net, net);
                prop_assert_eq!(v.vat, money::round_to_minor(net * rate / Decimal::ONE_HUNDRED, Currency::EUR));
            }
            let vat: Decimal = p.vat.iter().map(|v| v.vat).sum();
            prop_assert_eq!(p.totals.vat, vat);
            prop_assert_eq!(p.totals.gross, p.totals.net + vat);
        }
    }

    #[test]
    fn no_position_appears_in_two_lines_or_two_proposals(
        raw in raw_bookings(40), exp in raw_expenses(), detail in 0u8..3, flat in any::<bool>(), separate in any::<bool>()
    ) {
        let mut c = contract(3, if flat { ContractTerms::FlatFee } else { ContractTerms::TimeAndMaterial }, "250", PeriodKind::Monthly);
        c.start = date!(2026 - 03 - 01);
        c.end_date = Some(date!(2026 - 09 - 30));
        c.coverage = Coverage::Services(vec![REMOTE]);
        c.separate_invoice = separate;
        let contracts = vec![ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() }];
        let out = compute_customer(&ctx(), &input(detail_of(detail), date!(2026 - 12 - 31), contracts, rates(9600, 12000), make_bookings(&raw), make_expenses(&exp)));
        prop_assert!(out.problems.is_empty(), "{:?}", out.problems);
        let lines = all_line_positions(&out);
        let unique: HashSet<_> = lines.iter().collect();
        prop_assert_eq!(unique.len(), lines.len());
        let settled: Vec<PositionRef> = out.proposals.iter().flat_map(|p| p.positions.iter().map(|o| o.position)).collect();
        let unique_settled: HashSet<_> = settled.iter().collect();
        prop_assert_eq!(unique_settled.len(), settled.len());
        // Every billed line position is settled in the same proposal.
        for p in &out.proposals {
            let own: HashSet<_> = p.positions.iter().map(|o| o.position).collect();
            for l in &p.lines {
                for pos in &l.positions {
                    let is_fee = matches!(pos, PositionRef::ContractFee { .. });
                    prop_assert!(is_fee || own.contains(pos), "{:?} not settled", pos);
                }
            }
        }
        // Every input booking is settled exactly once.
        prop_assert_eq!(settled.iter().filter(|p| matches!(p, PositionRef::Booking { .. })).count(), raw.len());
    }

    /// Split runs: for time and material with per-booking lines, billing the positions in
    /// two runs nets exactly what one run nets. (Per-ticket/per-service lines round once
    /// per line, and contracts bill fees and close quota periods per run, so there a
    /// split may differ; see the engine documentation.)
    #[test]
    fn time_and_material_billed_in_two_runs_nets_the_same_as_in_one(
        raw in raw_bookings(40), exp in raw_expenses(), split in prop::collection::vec(any::<bool>(), 40), remote in 1u32..30_000
    ) {
        let bookings = make_bookings(&raw);
        let expenses = make_expenses(&exp);
        let (a, b): (Vec<_>, Vec<_>) = bookings.iter().cloned().enumerate().partition(|(i, _)| split.get(*i).copied().unwrap_or(false));
        let (ea, eb): (Vec<_>, Vec<_>) = expenses.iter().cloned().partition(|e| e.id % 2 == 0);
        let strip = |v: Vec<(usize, Booking)>| v.into_iter().map(|x| x.1).collect::<Vec<_>>();
        let net = |bk: Vec<Booking>, ex: Vec<Expense>| -> Decimal {
            compute_customer(&ctx(), &input(InvoiceDetail::PerBooking, date!(2026 - 12 - 31), vec![], rates(remote, 12000), bk, ex))
                .proposals.iter().map(|p| p.totals.net).sum()
        };
        let once = net(bookings.clone(), expenses.clone());
        let twice = net(strip(a), ea) + net(strip(b), eb);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn quota_consumption_never_exceeds_grant_plus_carried_and_carry_never_exceeds_cap(
        quota_h in 0u32..20,
        cap_h in prop::option::of(0u32..10),
        expiry in prop::option::of(0u32..3),
        carry in any::<bool>(),
        months in prop::collection::vec(prop::collection::vec(0u32..400, 0..12), 1..8),
    ) {
        let mut c = contract(
            7,
            ContractTerms::PrepaidHours {
                hours_per_period: Decimal::from(quota_h),
                carry_over: if carry { CarryOver::Carry { cap: cap_h.map(Decimal::from), expiry_periods: expiry } } else { CarryOver::None },
                overage: Overage::Tiers(vec![OverageTier { up_to_hours: Some(d("3")), unit_price: d("90") }, OverageTier { up_to_hours: None, unit_price: d("110") }]),
            },
            "800",
            PeriodKind::Monthly,
        );
        c.start = date!(2026 - 01 - 11);
        let mut ci = ContractInput { contract: c, ledger: vec![], billed_fee_periods: Default::default() };
        let mut id = 0;
        for (m, minutes) in months.iter().enumerate() {
            let month = Period::containing(PeriodKind::Monthly, date!(2026 - 01 - 15) + time::Duration::days(31 * m as i64)).unwrap();
            let bookings: Vec<Booking> = minutes.iter().enumerate().map(|(k, &mins)| {
                id += 1;
                booking(id, (month.start + time::Duration::days(k as i64 * 2)).max(date!(2026 - 01 - 11)), mins, REMOTE)
            }).collect();
            let booked: u64 = bookings.iter().filter(|b| b.work_date >= date!(2026 - 01 - 11)).map(|b| u64::from(b.minutes)).sum();
            let out = compute_customer(&ctx(), &input(InvoiceDetail::PerService, month.last_day().unwrap(), vec![ci.clone()], rates(9600, 12000), bookings, vec![]));
            prop_assert!(out.problems.is_empty(), "{:?}", out.problems);
            // Every booked minute is either consumed or billed as overage.
            let consumed: Decimal = out.proposals.iter().flat_map(|p| &p.quota_entries).filter(|e| e.kind == QuotaEntryKind::Consumption).map(|e| -e.amount).sum();
            let overage: u64 = out.proposals.iter().flat_map(|p| &p.lines).filter(|l| l.kind == LineKind::Overage).filter_map(|l| l.minutes).sum();
            prop_assert_eq!(consumed + Decimal::from(overage), Decimal::from(booked));
            for p in &out.proposals {
                ci.ledger.extend(p.quota_entries.iter().cloned());
            }
            ci.billed_fee_periods.insert(month.start);
        }
        let mut periods: BTreeMap<Date, (Decimal, Decimal, Decimal)> = BTreeMap::new();
        for e in &ci.ledger {
            let s = periods.entry(e.period_start).or_default();
            match e.kind {
                QuotaEntryKind::Grant => s.0 += e.amount,
                QuotaEntryKind::CarryIn => s.1 += e.amount,
                QuotaEntryKind::Consumption => s.2 -= e.amount,
                _ => {}
            }
        }
        for (start, (grant, carried, consumed)) in periods {
            prop_assert!(consumed <= grant + carried, "{start}: {consumed} > {grant} + {carried}");
            prop_assert!(grant <= Decimal::from(quota_h * 60));
            if let Some(cap) = cap_h {
                prop_assert!(carried <= Decimal::from(cap * 60), "{start}: carried {carried} > cap {cap} h");
            }
            if !carry {
                prop_assert_eq!(carried, Decimal::ZERO);
            }
            let b = crate::quota::period_balance(&ci.ledger, 7, start);
            prop_assert!(b.buckets.iter().all(|(_, a)| *a >= Decimal::ZERO));
        }
    }

    #[test]
    fn arbitrary_inputs_never_panic(
        raw in raw_bookings(10),
        price in any::<i64>(),
        scale in 0u32..28,
        qty in any::<i64>(),
        minutes in any::<u32>(),
    ) {
        let huge = Decimal::new(price, scale);
        let mut bookings = make_bookings(&raw);
        if let Some(b) = bookings.first_mut() {
            b.minutes = minutes;
            b.rate_override = Some(huge);
        }
        let mut exp = make_expenses(&[(1, 1, 1)]);
        exp[0].quantity = Decimal::new(qty, 0);
        exp[0].unit_price = Some(Decimal::MAX);
        let _ = compute_customer(&ctx(), &input(InvoiceDetail::PerService, date!(2026 - 12 - 31), vec![], rates(9600, 12000), bookings, exp));
    }
}
