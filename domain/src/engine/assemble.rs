//! Assembling the proposals (rule 6 of the engine): pieces grouped into lines by the
//! customer's invoice detail (with the FxHash map that groups them), line descriptions,
//! line nets rounded half-up to the minor unit, one proposal per group with VAT per rate,
//! totals and legal note, and the profitability figures.

use super::run::{problem, Piece, Qty, Run, Src};
use super::{CustomerBilling, InvoiceLine, InvoiceProposal, LegalNote, LineKind, ProblemCode, Profitability};
use crate::catalog::Unit;
use crate::customer::{InvoiceDetail, VatTreatment};
use crate::money;
use crate::position::{PositionRef, TicketRef};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

/// Fast non-cryptographic hasher for internal grouping maps (FxHash).
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl FxHasher {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LineKey {
    group: usize,
    kind: LineKind,
    contract_id: Option<i64>,
    service_id: Option<i64>,
    unit: Unit,
    minutes: bool,
    unit_price: Decimal,
    vat_rate: Decimal,
    ticket: Option<i64>,
    position: Option<PositionRef>,
}

impl<'a> Run<'a> {
    fn line_key(&self, p: &Piece) -> LineKey {
        let detail = self.input.customer.invoice_detail;
        let ticket = self.ticket_of(p.src).map(|t| t.id);
        let free_text = p.service_id.is_none();
        let (ticket, position) = match detail {
            _ if free_text || p.kind == LineKind::Fee => (ticket, Some(p.position)),
            InvoiceDetail::PerBooking => (ticket, Some(p.position)),
            InvoiceDetail::PerTicket => (ticket, None),
            InvoiceDetail::PerService => (None, None),
        };
        LineKey {
            group: p.group,
            kind: p.kind,
            contract_id: p.contract_id,
            service_id: p.service_id,
            unit: p.unit,
            minutes: matches!(p.qty, Qty::Minutes(_)),
            unit_price: p.unit_price,
            vat_rate: p.vat_rate,
            ticket,
            position,
        }
    }

    fn ticket_of(&self, src: Src) -> Option<&'a TicketRef> {
        match src {
            Src::Booking(i) => self.input.bookings.get(i).and_then(|b| b.ticket.as_ref()),
            Src::Expense(i) => self.input.expenses.get(i).and_then(|e| e.ticket.as_ref()),
            Src::Fee { .. } => None,
        }
    }

    /// Activity text of a piece's source.
    fn text_of(&self, src: Src) -> &'a str {
        match src {
            Src::Booking(i) => self.input.bookings.get(i).map_or("", |b| b.description.as_str()),
            Src::Expense(i) => self.input.expenses.get(i).map_or("", |e| e.description.as_str()),
            Src::Fee { .. } => "",
        }
    }

    fn head(&self, p: &Piece, with_ticket: bool) -> String {
        let mut s = String::new();
        if let Src::Fee { contract, period, active, total } = p.src {
            if let Some(c) = self.contract(contract) {
                let last = period.last_day().unwrap_or(period.start);
                let _ = write!(s, "{} {}: fee {} to {}", c.number, c.name, period.start, last);
                if active < total {
                    let _ = write!(s, " (pro rata {active}/{total} days)");
                }
            }
            return s;
        }
        if with_ticket {
            if let Some(t) = self.ticket_of(p.src) {
                let _ = write!(s, "{} – ", t.number);
            }
        }
        match p.service_id.and_then(|id| self.ctx.catalog.get(id)) {
            Some(svc) => s.push_str(&svc.name),
            None => s.push_str(self.text_of(p.src)),
        }
        if p.kind == LineKind::Overage {
            let number = p
                .contract_id
                .and_then(|id| self.contracts.iter().find(|c| c.input.contract.id == id))
                .map_or("", |c| c.input.contract.number.as_str());
            let _ = write!(s, " (overage {number})");
        }
        if let Some((kind, pct)) = p.surcharge {
            let _ = write!(s, " (+{pct} % {})", kind.as_str().replace('_', " "));
        }
        s
    }

    pub(super) fn finish(mut self) -> CustomerBilling {
        const MAX_DESCRIPTION: usize = 1000;
        let detail = self.input.customer.invoice_detail;
        let mut index: FxMap<LineKey, usize> = FxMap::default();
        let mut lines: Vec<(usize, InvoiceLine, Qty)> = Vec::with_capacity(self.pieces.len());
        let pieces = std::mem::take(&mut self.pieces);
        for p in &pieces {
            let key = self.line_key(p);
            let text = self.text_of(p.src);
            let ticket = self.ticket_of(p.src);
            let free_text = p.service_id.is_none();
            let li = match index.get(&key) {
                Some(&li) => li,
                None => {
                    let with_ticket = detail != InvoiceDetail::PerService || free_text;
                    let mut description = self.head(p, with_ticket);
                    if !free_text && !text.is_empty() {
                        description.push_str(": ");
                        if !with_ticket {
                            if let Some(t) = ticket {
                                let _ = write!(description, "{} ", t.number);
                            }
                        }
                        description.push_str(text);
                    }
                    let line = InvoiceLine {
                        kind: p.kind,
                        description,
                        contract_id: p.contract_id,
                        service_id: p.service_id,
                        ticket_id: key.ticket,
                        quantity: Decimal::ZERO,
                        minutes: None,
                        unit: p.unit,
                        unit_price: money::with_minor_units(p.unit_price, self.currency),
                        net: Decimal::ZERO,
                        vat_rate: p.vat_rate,
                        surcharge: p.surcharge.map(|s| s.0),
                        positions: Vec::new(),
                    };
                    let zero = match p.qty {
                        Qty::Minutes(_) => Qty::Minutes(0),
                        Qty::Amount(_) => Qty::Amount(Decimal::ZERO),
                    };
                    lines.push((p.group, line, zero));
                    index.insert(key, lines.len() - 1);
                    lines.len() - 1
                }
            };
            let Some((_, line, qty)) = lines.get_mut(li) else { continue };
            if line.positions.last() != Some(&p.position) {
                line.positions.push(p.position);
                // Later pieces of an aggregated line add their activity text.
                if line.positions.len() > 1 && !text.is_empty() && line.description.len() < MAX_DESCRIPTION {
                    line.description.push_str("; ");
                    if detail == InvoiceDetail::PerService {
                        if let Some(t) = ticket {
                            line.description.push_str(&t.number);
                            line.description.push(' ');
                        }
                    }
                    line.description.push_str(text);
                    if line.description.len() >= MAX_DESCRIPTION {
                        line.description.push_str(" …");
                    }
                }
            }
            *qty = match (*qty, p.qty) {
                (Qty::Minutes(a), Qty::Minutes(b)) => Qty::Minutes(a.saturating_add(b)),
                (Qty::Amount(a), Qty::Amount(b)) => Qty::Amount(a.saturating_add(b)),
                (q, _) => q,
            };
        }
        // Nets.
        let currency = self.currency;
        let mut per_group: Vec<Vec<InvoiceLine>> = (0..self.groups.len()).map(|_| Vec::new()).collect();
        for (g, mut line, qty) in lines {
            let net = match qty {
                Qty::Minutes(m) => {
                    line.minutes = Some(m);
                    line.quantity = money::minutes_to_hours(m);
                    money::minutes_net(m, line.unit_price, currency)
                }
                Qty::Amount(a) => {
                    line.quantity = a;
                    money::line_net(a, line.unit_price, currency)
                }
            };
            match net {
                Some(n) => line.net = n,
                None => {
                    self.problems.push(problem(
                        ProblemCode::AmountOverflow,
                        line.positions.first().copied(),
                        line.contract_id,
                        format!("net of line '{}' overflows", line.description),
                    ));
                    continue;
                }
            }
            if let Some(v) = per_group.get_mut(g) {
                v.push(line);
            }
        }
        let legal_note = match self.input.customer.vat_treatment {
            VatTreatment::Domestic => None,
            VatTreatment::EuReverseCharge => Some(LegalNote::ReverseCharge),
            VatTreatment::Export => Some(LegalNote::Export),
        };
        let mut proposals = Vec::with_capacity(self.groups.len());
        let groups = std::mem::take(&mut self.groups);
        for (group, lines) in groups.into_iter().zip(per_group) {
            if lines.is_empty() && group.outcomes.is_empty() && group.quota_entries.is_empty() {
                continue;
            }
            let net = money::checked_sum(lines.iter().map(|l| l.net));
            let vat = money::vat_breakdown(lines.iter().map(|l| (l.vat_rate, l.net)), currency);
            let totals = match (net, &vat) {
                (Some(n), Some(v)) => money::totals(n, v, currency),
                _ => None,
            };
            let (Some(vat), Some(totals)) = (vat, totals) else {
                self.problems.push(problem(
                    ProblemCode::AmountOverflow,
                    None,
                    group.contract_id,
                    "invoice totals overflow".into(),
                ));
                continue;
            };
            proposals.push(InvoiceProposal {
                customer_id: self.input.customer.id,
                contract_id: group.contract_id,
                currency,
                period_start: self.input.period_start,
                period_end: self.input.period_end,
                lines,
                vat,
                totals,
                legal_note,
                positions: group.outcomes,
                quota_entries: group.quota_entries,
                quota_summaries: group.quota_summaries,
                changes_since_cancelled: Vec::new(),
            });
        }
        let profitability = self
            .profit
            .into_iter()
            .map(|((contract_id, period), a)| {
                let revenue = money::round_to_minor(a.revenue, currency);
                let cost = money::round_to_minor(a.cost, currency);
                Profitability {
                    contract_id,
                    period,
                    revenue,
                    covered_value: money::round_to_minor(a.covered, currency),
                    cost,
                    margin: (currency == self.ctx.company_currency).then(|| revenue.saturating_sub(cost)),
                    cost_complete: a.complete,
                }
            })
            .collect();
        CustomerBilling {
            customer_id: self.input.customer.id,
            proposals,
            problems: self.problems,
            threshold_crossings: self.crossings,
            profitability,
        }
    }
}
