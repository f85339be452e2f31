//! Rates and their resolution.
//!
//! A rate is a unit price of a service valid on `[valid_from, valid_to)`. The rate for a
//! position is the one valid **on its work date** from the most specific level:
//! 1. the booking's own override;
//! 2. the contract's rates, 3. the project's rates, 4. the customer's rates — within each
//!    of these: service + user, then service, then user, then default;
//! 5. the user's default sales rate; 6. the catalog service's default price.
//!
//! Entries without a service (user-only and default entries, and the user's default
//! sales rate) are hourly rates: they apply only to services measured in hours, never to
//! kilometres or material. If two entries of the same key overlap, the one that started
//! last wins.
//!
//! Surcharges (percentages for work starting on weekends, public holidays or outside
//! business hours) are defined per owner (contract, project, customer, or company-wide).
//! The set that applies is the first owner, walking from the winning rate's level towards
//! the company-wide set, that defines any surcharge valid on the work date; of its
//! surcharges whose condition holds, the highest percentage applies (they do not add up).
//! Surcharges apply to hourly services only and never to a booking's override price.
//!
//! A missing rate is an error ([`RateError::Missing`]), never a zero price.

use crate::catalog::{Catalog, Unit};
use crate::currency::Currency;
use crate::customer::str_enum;
use crate::money;
use crate::serde_fmt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Time, Weekday};

/// Who a rate card entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum RateOwner {
    /// A contract's rate set.
    Contract(i64),
    /// A project's rates.
    Project(i64),
    /// A customer's rates.
    Customer(i64),
}

impl RateOwner {
    fn key(self) -> (u8, i64) {
        match self {
            RateOwner::Contract(id) => (0, id),
            RateOwner::Project(id) => (1, id),
            RateOwner::Customer(id) => (2, id),
        }
    }
}

/// One price on a rate card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateEntry {
    /// Entry id (reported by the resolution).
    pub id: i64,
    /// Card the entry belongs to.
    pub owner: RateOwner,
    /// Service the price is for; `None` = any hourly service.
    pub service_id: Option<i64>,
    /// User the price is for; `None` = any user.
    pub user_id: Option<i64>,
    /// Price per unit of the service.
    pub unit_price: Decimal,
    /// Currency of the price.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Currency,
    /// First day of validity.
    #[serde(with = "serde_fmt::date")]
    pub valid_from: Date,
    /// First day no longer valid; `None` = open-ended.
    #[serde(with = "serde_fmt::date::option", default)]
    pub valid_to: Option<Date>,
}

impl RateEntry {
    /// Whether the entry is valid on `date`.
    pub fn valid_on(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date < to)
    }
}

/// Level of the precedence a resolved rate came from, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RateLevel {
    /// The booking's own override price.
    Override,
    /// The contract's rate set.
    Contract,
    /// The project's rates.
    Project,
    /// The customer's rates.
    Customer,
    /// The user's default hourly sales rate.
    UserDefault,
    /// The catalog service's default price.
    CatalogDefault,
}

str_enum!(RateLevel {
    Override => "override",
    Contract => "contract",
    Project => "project",
    Customer => "customer",
    UserDefault => "user_default",
    CatalogDefault => "catalog_default",
});

/// Specificity of an entry within a card level, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RateScope {
    /// Entry for this service and this user.
    ServiceUser,
    /// Entry for this service, any user.
    Service,
    /// Entry for this user, any hourly service.
    User,
    /// Card default for any hourly service.
    Default,
}

str_enum!(RateScope { ServiceUser => "service_user", Service => "service", User => "user", Default => "default" });

/// Condition under which a surcharge applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SurchargeKind {
    /// Work date is a Saturday or Sunday.
    Weekend,
    /// Work date is a public holiday of the calendar.
    Holiday,
    /// Start time is before the business day starts or at/after it ends.
    OutsideBusinessHours,
}

str_enum!(SurchargeKind { Weekend => "weekend", Holiday => "holiday", OutsideBusinessHours => "outside_business_hours" });

/// Who a surcharge definition belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum SurchargeOwner {
    /// A contract's surcharges.
    Contract(i64),
    /// A project's surcharges.
    Project(i64),
    /// A customer's surcharges.
    Customer(i64),
    /// Company-wide surcharges (kept in the [`WorkCalendar`]).
    Global,
}

/// A percentage surcharge on hourly rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Surcharge {
    /// Definition id.
    pub id: i64,
    /// Owner of the definition.
    pub owner: SurchargeOwner,
    /// Condition.
    pub kind: SurchargeKind,
    /// Percentage added to the rate, e.g. `50` for +50 %.
    pub percent: Decimal,
    /// First day of validity.
    #[serde(with = "serde_fmt::date")]
    pub valid_from: Date,
    /// First day no longer valid; `None` = open-ended.
    #[serde(with = "serde_fmt::date::option", default)]
    pub valid_to: Option<Date>,
}

impl Surcharge {
    fn valid_on(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date < to)
    }
}

/// Public holidays, business hours and the company-wide surcharges.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    holidays: Vec<Date>,
    /// Start of the business day.
    pub business_start: Time,
    /// End of the business day (exclusive).
    pub business_end: Time,
    global_surcharges: Vec<Surcharge>,
}

impl Default for WorkCalendar {
    fn default() -> Self {
        WorkCalendar::new(
            Vec::new(),
            Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT),
            Time::from_hms(18, 0, 0).unwrap_or(Time::MIDNIGHT),
            Vec::new(),
        )
    }
}

impl WorkCalendar {
    /// A calendar with the given holidays, business hours `[start, end)` and company-wide
    /// surcharges (their owner is treated as [`SurchargeOwner::Global`]).
    pub fn new(
        mut holidays: Vec<Date>,
        business_start: Time,
        business_end: Time,
        global_surcharges: Vec<Surcharge>,
    ) -> Self {
        holidays.sort_unstable();
        holidays.dedup();
        WorkCalendar { holidays, business_start, business_end, global_surcharges }
    }

    /// Whether `date` is a public holiday.
    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.binary_search(&date).is_ok()
    }

    /// Whether the surcharge condition holds for work on `date` starting at `start`.
    pub fn condition_holds(&self, kind: SurchargeKind, date: Date, start: Option<Time>) -> bool {
        match kind {
            SurchargeKind::Weekend => matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
            SurchargeKind::Holiday => self.is_holiday(date),
            SurchargeKind::OutsideBusinessHours => {
                start.is_some_and(|t| t < self.business_start || t >= self.business_end)
            }
        }
    }
}

/// Internal cost rate and default sales rate of an employee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRates {
    /// User id.
    pub user_id: i64,
    /// Internal cost per hour (company currency), for profitability.
    pub internal_cost_rate: Option<Decimal>,
    /// Default hourly sales rate (company currency), level 5 of the resolution.
    pub default_sales_rate: Option<Decimal>,
}

/// Users' rates indexed by user id.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    users: Vec<UserRates>,
}

impl UserDirectory {
    /// Builds the index; a later duplicate id replaces an earlier one.
    pub fn new(mut users: Vec<UserRates>) -> Self {
        users.reverse();
        users.sort_by_key(|u| u.user_id);
        users.dedup_by_key(|u| u.user_id);
        UserDirectory { users }
    }

    /// Rates of the user `id`.
    pub fn get(&self, id: i64) -> Option<&UserRates> {
        self.users.binary_search_by_key(&id, |u| u.user_id).ok().and_then(|i| self.users.get(i))
    }
}

/// Everything shared by all customers that rate resolution needs.
#[derive(Debug, Clone, Copy)]
pub struct RateContext<'a> {
    /// Service catalog.
    pub catalog: &'a Catalog,
    /// Users' default sales rates.
    pub users: &'a UserDirectory,
    /// Holidays, business hours, company-wide surcharges.
    pub calendar: &'a WorkCalendar,
    /// Currency of catalog prices and users' default sales rates.
    pub company_currency: Currency,
}

/// What to find a rate for.
#[derive(Debug, Clone, PartialEq)]
pub struct RateQuery {
    /// Customer whose rates apply.
    pub customer_id: i64,
    /// Contract the position is billed under, if any.
    pub contract_id: Option<i64>,
    /// Project of the position, if any.
    pub project_id: Option<i64>,
    /// Service to price.
    pub service_id: i64,
    /// User who did the work (`None` for material).
    pub user_id: Option<i64>,
    /// Work date: the rate valid on this date is used.
    pub date: Date,
    /// Start time of the work, for the business-hours surcharge.
    pub start_time: Option<Time>,
    /// The booking's own override price, if any.
    pub override_price: Option<Decimal>,
    /// Currency of the override price (the invoice currency).
    pub override_currency: Currency,
}

/// A surcharge that was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedSurcharge {
    /// Definition id.
    pub surcharge_id: i64,
    /// Condition that held.
    pub kind: SurchargeKind,
    /// Percentage added.
    pub percent: Decimal,
}

/// The resolved rate and why it won.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateResolution {
    /// Level of the winning price.
    pub level: RateLevel,
    /// Scope of the winning card entry (card levels only).
    pub scope: Option<RateScope>,
    /// Id of the contract/project/customer/user/service whose price won.
    pub owner_id: Option<i64>,
    /// Id of the winning rate card entry (card levels only).
    pub entry_id: Option<i64>,
    /// Currency of the price.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Currency,
    /// Price before surcharge.
    pub base_price: Decimal,
    /// Surcharge applied, if any.
    pub surcharge: Option<AppliedSurcharge>,
    /// Price per unit including the surcharge (unrounded).
    pub unit_price: Decimal,
}

/// A price that applies to a query, as listed by [`RateBook::candidates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateCandidate {
    /// Level of the price.
    pub level: RateLevel,
    /// Scope of the card entry (card levels only).
    pub scope: Option<RateScope>,
    /// Id of the contract/project/customer/user/service the price belongs to.
    pub owner_id: Option<i64>,
    /// Id of the rate card entry (card levels only).
    pub entry_id: Option<i64>,
    /// Currency of the price.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Currency,
    /// Price per unit before any surcharge.
    pub unit_price: Decimal,
}

/// Why no rate could be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// No level has a price for the service, user and date.
    #[error("no rate for service {service_id} (user {user_id:?}) valid on {date}")]
    Missing {
        /// Service.
        service_id: i64,
        /// User.
        user_id: Option<i64>,
        /// Work date.
        date: Date,
    },
    /// The service is not in the catalog.
    #[error("service {0} is not in the catalog")]
    UnknownService(i64),
    /// Applying the surcharge overflowed.
    #[error("rate arithmetic overflowed")]
    Overflow,
}

type CardKey = (u8, i64, Option<i64>, Option<i64>);

/// One customer's rate cards (contract, project and customer levels) and surcharges,
/// indexed for resolution by `(owner, service, user)` with entries sorted by validity.
#[derive(Debug, Clone, Default)]
pub struct RateBook {
    entries: Vec<RateEntry>,
    index: Vec<(CardKey, usize, usize)>,
    surcharges: Vec<Surcharge>,
}

fn card_key(e: &RateEntry) -> CardKey {
    let (l, id) = e.owner.key();
    (l, id, e.service_id, e.user_id)
}

impl RateBook {
    /// Indexes rate entries and (non-global) surcharge definitions.
    pub fn new(mut entries: Vec<RateEntry>, surcharges: Vec<Surcharge>) -> Self {
        entries.sort_by(|a, b| card_key(a).cmp(&card_key(b)).then(a.valid_from.cmp(&b.valid_from)));
        let mut index: Vec<(CardKey, usize, usize)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let k = card_key(e);
            match index.last_mut() {
                Some((lk, _, end)) if *lk == k => *end = i + 1,
                _ => index.push((k, i, i + 1)),
            }
        }
        RateBook { entries, index, surcharges }
    }

    /// All entries, sorted by owner, service, user and validity start.
    pub fn entries(&self) -> &[RateEntry] {
        &self.entries
    }

    fn find(&self, key: CardKey, date: Date) -> Option<&RateEntry> {
        let pos = self.index.binary_search_by(|(k, _, _)| k.cmp(&key)).ok()?;
        let &(_, start, end) = self.index.get(pos)?;
        let slice = self.entries.get(start..end)?;
        let upto = slice.partition_point(|e| e.valid_from <= date);
        slice.get(..upto)?.iter().rev().find(|e| e.valid_on(date))
    }

    fn card(
        &self,
        owner: RateOwner,
        service: i64,
        user: Option<i64>,
        hourly: bool,
        date: Date,
    ) -> Option<(RateScope, &RateEntry)> {
        let (l, id) = owner.key();
        if let Some(u) = user {
            if let Some(e) = self.find((l, id, Some(service), Some(u)), date) {
                return Some((RateScope::ServiceUser, e));
            }
        }
        if let Some(e) = self.find((l, id, Some(service), None), date) {
            return Some((RateScope::Service, e));
        }
        if !hourly {
            return None;
        }
        if let Some(u) = user {
            if let Some(e) = self.find((l, id, None, Some(u)), date) {
                return Some((RateScope::User, e));
            }
        }
        self.find((l, id, None, None), date).map(|e| (RateScope::Default, e))
    }

    fn surcharge(
        &self,
        ctx: &RateContext<'_>,
        chain: &[Option<SurchargeOwner>],
        date: Date,
        start: Option<Time>,
    ) -> Option<AppliedSurcharge> {
        for owner in chain.iter().flatten() {
            let global = *owner == SurchargeOwner::Global;
            let defs: &[Surcharge] = if global { &ctx.calendar.global_surcharges } else { &self.surcharges };
            let mut any = false;
            let mut best: Option<&Surcharge> = None;
            for s in defs.iter().filter(|s| (global || s.owner == *owner) && s.valid_on(date)) {
                any = true;
                if ctx.calendar.condition_holds(s.kind, date, start) && best.is_none_or(|b| s.percent > b.percent) {
                    best = Some(s);
                }
            }
            if any {
                return best.map(|s| AppliedSurcharge { surcharge_id: s.id, kind: s.kind, percent: s.percent });
            }
        }
        None
    }

    /// Every price valid for `q` on its work date, in precedence order (override, card
    /// levels by scope, user default, catalog price). The first candidate is the price
    /// [`RateBook::resolve`] uses before surcharges; an empty list means a missing rate.
    pub fn candidates(&self, ctx: &RateContext<'_>, q: &RateQuery) -> Vec<RateCandidate> {
        let Some(service) = ctx.catalog.get(q.service_id) else { return Vec::new() };
        let hourly = service.unit == Unit::Hour;
        let mut out = Vec::new();
        if let Some(p) = q.override_price {
            out.push(RateCandidate {
                level: RateLevel::Override,
                scope: None,
                owner_id: None,
                entry_id: None,
                currency: q.override_currency,
                unit_price: p,
            });
        }
        let cards = [
            (q.contract_id.map(RateOwner::Contract), RateLevel::Contract),
            (q.project_id.map(RateOwner::Project), RateLevel::Project),
            (Some(RateOwner::Customer(q.customer_id)), RateLevel::Customer),
        ];
        for (owner, level) in cards {
            let Some(owner) = owner else { continue };
            let (l, id) = owner.key();
            let keys = [
                (RateScope::ServiceUser, Some(q.service_id), q.user_id, q.user_id.is_some()),
                (RateScope::Service, Some(q.service_id), None, true),
                (RateScope::User, None, q.user_id, hourly && q.user_id.is_some()),
                (RateScope::Default, None, None, hourly),
            ];
            for (scope, service_id, user_id, applies) in keys {
                if !applies {
                    continue;
                }
                if let Some(e) = self.find((l, id, service_id, user_id), q.date) {
                    out.push(RateCandidate {
                        level,
                        scope: Some(scope),
                        owner_id: Some(id),
                        entry_id: Some(e.id),
                        currency: e.currency,
                        unit_price: e.unit_price,
                    });
                }
            }
        }
        let fallback = |level, owner_id, unit_price| RateCandidate {
            level,
            scope: None,
            owner_id: Some(owner_id),
            entry_id: None,
            currency: ctx.company_currency,
            unit_price,
        };
        if hourly {
            if let Some(u) = q.user_id {
                if let Some(p) = ctx.users.get(u).and_then(|r| r.default_sales_rate) {
                    out.push(fallback(RateLevel::UserDefault, u, p));
                }
            }
        }
        if let Some(p) = service.default_price {
            out.push(fallback(RateLevel::CatalogDefault, service.id, p));
        }
        out
    }

    /// Resolves the rate for `q` by the precedence in the module documentation and
    /// explains which level and entry won.
    pub fn resolve(&self, ctx: &RateContext<'_>, q: &RateQuery) -> Result<RateResolution, RateError> {
        let service = ctx.catalog.get(q.service_id).ok_or(RateError::UnknownService(q.service_id))?;
        let hourly = service.unit == Unit::Hour;
        if let Some(p) = q.override_price {
            return Ok(RateResolution {
                level: RateLevel::Override,
                scope: None,
                owner_id: None,
                entry_id: None,
                currency: q.override_currency,
                base_price: p,
                surcharge: None,
                unit_price: p,
            });
        }
        // Surcharge owners from most to least specific; a winner at level i starts at i.
        let chain = [
            q.contract_id.map(SurchargeOwner::Contract),
            q.project_id.map(SurchargeOwner::Project),
            Some(SurchargeOwner::Customer(q.customer_id)),
            Some(SurchargeOwner::Global),
        ];
        let cards = [
            (q.contract_id.map(RateOwner::Contract), RateLevel::Contract, 0),
            (q.project_id.map(RateOwner::Project), RateLevel::Project, 1),
            (Some(RateOwner::Customer(q.customer_id)), RateLevel::Customer, 2),
        ];
        let mut res = None;
        for (owner, level, chain_start) in cards {
            let Some(owner) = owner else { continue };
            if let Some((scope, e)) = self.card(owner, q.service_id, q.user_id, hourly, q.date) {
                res = Some((
                    RateResolution {
                        level,
                        scope: Some(scope),
                        owner_id: Some(owner.key().1),
                        entry_id: Some(e.id),
                        currency: e.currency,
                        base_price: e.unit_price,
                        surcharge: None,
                        unit_price: e.unit_price,
                    },
                    chain_start,
                ));
                break;
            }
        }
        let fallback = |level, owner_id, price| RateResolution {
            level,
            scope: None,
            owner_id: Some(owner_id),
            entry_id: None,
            currency: ctx.company_currency,
            base_price: price,
            surcharge: None,
            unit_price: price,
        };
        if res.is_none() && hourly {
            if let Some(u) = q.user_id {
                if let Some(p) = ctx.users.get(u).and_then(|r| r.default_sales_rate) {
                    res = Some((fallback(RateLevel::UserDefault, u, p), 2));
                }
            }
        }
        if res.is_none() {
            if let Some(p) = service.default_price {
                res = Some((fallback(RateLevel::CatalogDefault, service.id, p), 2));
            }
        }
        let Some((mut r, chain_start)) = res else {
            return Err(RateError::Missing { service_id: q.service_id, user_id: q.user_id, date: q.date });
        };
        if hourly {
            if let Some(s) = self.surcharge(ctx, chain.get(chain_start..).unwrap_or(&[]), q.date, q.start_time) {
                r.unit_price = money::add_percent(r.base_price, s.percent).ok_or(RateError::Overflow)?;
                r.surcharge = Some(s);
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Service, ServiceKind};
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    fn entry(id: i64, owner: RateOwner, service_id: Option<i64>, user_id: Option<i64>, price: &str) -> RateEntry {
        RateEntry {
            id,
            owner,
            service_id,
            user_id,
            unit_price: d(price),
            currency: Currency::EUR,
            valid_from: date!(2026 - 01 - 01),
            valid_to: None,
        }
    }

    #[test]
    fn candidates_list_every_applicable_price_with_the_resolved_one_first() {
        let catalog = Catalog::new(vec![Service {
            id: 1,
            code: "REMOTE".into(),
            name: "Remote support".into(),
            unit: Unit::Hour,
            default_price: Some(d("80")),
            vat_rate: d("19"),
            billable_by_default: true,
            kind: ServiceKind::Work,
        }]);
        let users = UserDirectory::new(vec![UserRates {
            user_id: 7,
            internal_cost_rate: None,
            default_sales_rate: Some(d("85")),
        }]);
        let calendar = WorkCalendar::default();
        let ctx =
            RateContext { catalog: &catalog, users: &users, calendar: &calendar, company_currency: Currency::EUR };
        let book = RateBook::new(
            vec![
                entry(1, RateOwner::Customer(100), None, None, "90"),
                entry(2, RateOwner::Customer(100), Some(1), None, "95"),
                entry(3, RateOwner::Project(5), None, Some(7), "100"),
                entry(4, RateOwner::Customer(999), Some(1), None, "1"),
            ],
            Vec::new(),
        );
        let q = RateQuery {
            customer_id: 100,
            contract_id: None,
            project_id: Some(5),
            service_id: 1,
            user_id: Some(7),
            date: date!(2026 - 03 - 02),
            start_time: None,
            override_price: None,
            override_currency: Currency::EUR,
        };
        let c = book.candidates(&ctx, &q);
        let levels: Vec<_> = c.iter().map(|c| (c.level, c.entry_id)).collect();
        assert_eq!(
            levels,
            vec![
                (RateLevel::Project, Some(3)),
                (RateLevel::Customer, Some(2)),
                (RateLevel::Customer, Some(1)),
                (RateLevel::UserDefault, None),
                (RateLevel::CatalogDefault, None),
            ]
        );
        let r = book.resolve(&ctx, &q);
        assert_eq!(r.map(|r| (r.level, r.entry_id)), Ok((RateLevel::Project, Some(3))));
        let mut before = q.clone();
        before.date = date!(2025 - 12 - 31);
        assert_eq!(book.candidates(&ctx, &before).len(), 2, "only user default and catalog price before 2026");
    }
}
