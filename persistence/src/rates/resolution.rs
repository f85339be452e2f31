//! The inputs of rate resolution, read for the invoice run and `/rates/resolve`: a
//! customer's rate book, the work calendar (holidays, business hours, global surcharges),
//! the user directory, the catalog, the company currency and a ticket's contract.

use super::surcharges::{surcharge_rows, SurchargeRow};
use super::*;
use crate::store::per_customer;
use domain::catalog::Catalog;
use domain::rates::{RateBook, UserDirectory, UserRates, WorkCalendar};
use std::collections::HashMap;
use time::Time;

/// Start of the business day for the outside-business-hours surcharge.
pub const BUSINESS_START: Time = time::macros::time!(08:00);
/// End of the business day (exclusive).
pub const BUSINESS_END: Time = time::macros::time!(18:00);
/// Currency of catalog prices and users' rates unless the server setting
/// `company_currency` says otherwise.
pub const DEFAULT_COMPANY_CURRENCY: Currency = Currency::EUR;

impl Store {
    /// One customer's rate book: the rate entries and surcharges of the customer, its
    /// projects and its contracts (company-wide surcharges are in [`Store::work_calendar`]).
    pub async fn rate_book(&self, customer_id: i64) -> Result<RateBook> {
        let mut books = self.rate_books(&[customer_id]).await?;
        Ok(books.remove(&customer_id).unwrap_or_else(|| RateBook::new(Vec::new(), Vec::new())))
    }

    /// [`Store::rate_book`] of each of the customers `ids`, in one query per table.
    pub async fn rate_books(&self, ids: &[i64]) -> Result<HashMap<i64, RateBook>> {
        // One select per owner level (each by the owner index), not one `OR` over all
        // three: that one is a scan of every entry of every customer. `for_customer` names
        // the customer an entry belongs to.
        let list = crate::store::id_list(ids);
        let owned = |table: &str| {
            format!(
                "SELECT t.*, t.owner_id AS for_customer FROM {table} t \
                 WHERE t.owner_type = 'customer' AND t.owner_id IN ({list}) \
                 UNION ALL SELECT t.*, p.customer_id FROM {table} t JOIN projects p ON p.id = t.owner_id \
                 WHERE t.owner_type = 'project' AND t.owner_id IN (SELECT id FROM projects WHERE customer_id IN ({list})) \
                 UNION ALL SELECT t.*, c.customer_id FROM {table} t JOIN contracts c ON c.id = t.owner_id \
                 WHERE t.owner_type = 'contract' AND t.owner_id IN (SELECT id FROM contracts WHERE customer_id IN ({list})) \
                 ORDER BY id"
            )
        };
        let (rates_sql, surcharges_sql) = (owned("rate_entries"), owned("surcharges"));
        let rates: Vec<(i64, RateRow)> = with_pool!(self, pool =>
            per_customer(&sqlx::query(&rates_sql).persistent(false).fetch_all(pool).await?)?);
        let surcharges: Vec<(i64, SurchargeRow)> = with_pool!(self, pool =>
            per_customer(&sqlx::query(&surcharges_sql).persistent(false).fetch_all(pool).await?)?);
        let mut entries: HashMap<i64, Vec<RateEntry>> = HashMap::new();
        for (customer_id, row) in rates {
            entries.entry(customer_id).or_default().push(StoredRateEntry::try_from(row)?.to_domain());
        }
        let mut extra: HashMap<i64, Vec<domain::rates::Surcharge>> = HashMap::new();
        for (customer_id, row) in surcharges {
            extra.entry(customer_id).or_default().push(StoredSurcharge::try_from(row)?.to_domain());
        }
        Ok(ids
            .iter()
            .map(|&id| {
                let book =
                    RateBook::new(entries.remove(&id).unwrap_or_default(), extra.remove(&id).unwrap_or_default());
                (id, book)
            })
            .collect())
    }

    /// Public holidays, business hours (08:00–18:00) and the company-wide surcharges.
    pub async fn work_calendar(&self) -> Result<WorkCalendar> {
        let (days, rows): (Vec<Date>, Vec<SurchargeRow>) = with_pool!(self, pool => {
            let days = sqlx::query_scalar("SELECT holiday_date FROM holidays ORDER BY holiday_date").fetch_all(pool).await?;
            let rows = sqlx::query_as("SELECT * FROM surcharges WHERE owner_type = 'global' ORDER BY id")
                .fetch_all(pool).await?;
            (days, rows)
        });
        let global = surcharge_rows(rows)?.iter().map(StoredSurcharge::to_domain).collect();
        Ok(WorkCalendar::new(days, BUSINESS_START, BUSINESS_END, global))
    }

    /// Every user's internal cost rate and default sales rate.
    pub async fn user_directory(&self) -> Result<UserDirectory> {
        let rows: Vec<(i64, Option<ExactDecimal>, Option<ExactDecimal>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, internal_cost_rate, default_sales_rate FROM users ORDER BY id").fetch_all(pool).await?);
        Ok(UserDirectory::new(
            rows.into_iter()
                .map(|(user_id, cost, sales)| UserRates {
                    user_id,
                    internal_cost_rate: cost.map(|d| d.0),
                    default_sales_rate: sales.map(|d| d.0),
                })
                .collect(),
        ))
    }

    /// The whole service catalog (archived services included) as the engine sees it.
    pub async fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog::new(self.all_services().await?.iter().map(|s| s.to_domain()).collect()))
    }

    /// Currency of catalog prices and users' rates: the server setting
    /// `company_currency`, else [`DEFAULT_COMPANY_CURRENCY`].
    pub async fn company_currency(&self) -> Result<Currency> {
        let code: Option<String> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT value FROM server_settings WHERE key = 'company_currency'").fetch_optional(pool).await?);
        Ok(code.and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_COMPANY_CURRENCY))
    }

    /// The contract a ticket names, if any.
    pub async fn ticket_contract(&self, ticket_id: i64) -> Result<Option<i64>> {
        let row: Option<Option<i64>> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT contract_id FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(pool).await?);
        Ok(row.flatten())
    }
}
