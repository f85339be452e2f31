//! Pricing at resolved rates: rate resolution with its blocking problems (missing rate,
//! unknown service, currency mismatch, overflow), the rate query of a booking, hourly
//! pieces with their surcharge, and custom-field quantities billed as mapped services.

use super::run::{problem, BookingCtx, Piece, Qty, Run, Src};
use super::{LineKind, PositionOutcome, PositionStatus, ProblemCode};
use crate::catalog::Unit;
use crate::contract::ContractTerms;
use crate::money;
use crate::position::{Booking, PositionRef};
use crate::rates::{RateError, RateQuery, RateResolution, SurchargeKind};
use rust_decimal::Decimal;

impl<'a> Run<'a> {
    pub(super) fn resolve(&mut self, q: &RateQuery, pos: PositionRef) -> Result<RateResolution, ()> {
        match self.input.rates.resolve(&self.rc, q) {
            Ok(r) if r.currency != self.currency => {
                self.problems.push(problem(
                    ProblemCode::CurrencyMismatch,
                    Some(pos),
                    q.contract_id,
                    format!(
                        "rate for service {} is in {} ({} level) but the invoice is in {}",
                        q.service_id, r.currency, r.level, self.currency
                    ),
                ));
                Err(())
            }
            Ok(r) => Ok(r),
            Err(e) => {
                let code = match e {
                    RateError::Missing { .. } => ProblemCode::MissingRate,
                    RateError::UnknownService(_) => ProblemCode::UnknownService,
                    RateError::Overflow => ProblemCode::AmountOverflow,
                };
                self.problems.push(problem(code, Some(pos), q.contract_id, e.to_string()));
                Err(())
            }
        }
    }

    pub(super) fn booking_query(
        &self,
        b: &Booking,
        service_id: i64,
        contract_id: Option<i64>,
        with_override: bool,
    ) -> RateQuery {
        RateQuery {
            customer_id: self.input.customer.id,
            contract_id,
            project_id: b.project_id,
            service_id,
            user_id: Some(b.user_id),
            date: b.work_date,
            start_time: b.start_time,
            override_price: if with_override { b.rate_override } else { None },
            override_currency: self.currency,
        }
    }

    pub(super) fn time_piece(
        &mut self,
        bc: BookingCtx<'a>,
        kind: LineKind,
        minutes: u64,
        price: Decimal,
        surcharge: Option<(SurchargeKind, Decimal)>,
    ) {
        let BookingCtx { bi, service, ci, group } = bc;
        if minutes == 0 {
            return;
        }
        let b = &self.input.bookings[bi];
        let contract_id = ci.and_then(|ci| self.contract(ci)).map(|c| c.id);
        self.pieces.push(Piece {
            group,
            kind,
            position: PositionRef::Booking { id: b.id },
            contract_id,
            service_id: Some(service.id),
            src: Src::Booking(bi),
            unit: Unit::Hour,
            unit_price: price,
            vat_rate: self.vat_rate(service.vat_rate),
            qty: Qty::Minutes(minutes),
            surcharge,
        });
        let value = money::minutes_value(minutes, price).unwrap_or_default();
        self.add_revenue(ci, b.work_date, value, Decimal::ZERO);
    }

    pub(super) fn mapped_fields(&mut self, bi: usize, ci: Option<usize>, group: usize) {
        let input = self.input;
        let b = &input.bookings[bi];
        for cf in &b.custom_fields {
            let Some(m) = self.ctx.custom_field_mappings.iter().find(|m| m.field_id == cf.field_id) else { continue };
            let pos = PositionRef::BookingField { booking_id: b.id, field_id: cf.field_id };
            if cf.value.is_zero() {
                continue;
            }
            if cf.value.is_sign_negative() {
                self.problems.push(problem(
                    ProblemCode::InvalidQuantity,
                    Some(pos),
                    None,
                    format!("custom field {} of booking {} is negative", cf.field_id, b.id),
                ));
                continue;
            }
            let Some(service) = self.ctx.catalog.get(m.service_id) else {
                self.problems.push(problem(
                    ProblemCode::UnknownService,
                    Some(pos),
                    None,
                    format!("mapped service {} is not in the catalog", m.service_id),
                ));
                continue;
            };
            let contract = ci.and_then(|ci| self.contract(ci));
            let mut outcome = PositionOutcome {
                position: pos,
                contract_id: contract.map(|c| c.id),
                status: PositionStatus::Billed,
                actual_minutes: None,
                rounded_minutes: None,
                covered_minutes: None,
                covered_value: None,
            };
            if contract
                .is_some_and(|c| matches!(c.terms, ContractTerms::FlatFee) && c.coverage.covers(service.id, false))
            {
                outcome.status = PositionStatus::Covered;
                self.push_outcome(group, outcome);
                continue;
            }
            let q = self.booking_query(b, service.id, contract.map(|c| c.id), false);
            let Ok(r) = self.resolve(&q, pos) else { continue };
            self.pieces.push(Piece {
                group,
                kind: LineKind::Mapped,
                position: pos,
                contract_id: contract.map(|c| c.id),
                service_id: Some(service.id),
                src: Src::Booking(bi),
                unit: service.unit,
                unit_price: r.unit_price,
                vat_rate: self.vat_rate(service.vat_rate),
                qty: Qty::Amount(cf.value),
                surcharge: None,
            });
            let value = cf.value.checked_mul(r.unit_price).unwrap_or_default();
            self.add_revenue(ci, b.work_date, value, Decimal::ZERO);
            self.push_outcome(group, outcome);
        }
    }
}
