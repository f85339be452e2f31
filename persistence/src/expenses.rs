//! Storage of expenses and material lines (catalog items or free text) on tickets and
//! projects. Like bookings, a billed expense is locked.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use time::Date;

/// The writable fields of an expense (`customer_id` is derived from ticket or project).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ExpenseData {
    pub user_id: Option<i64>,
    pub expense_date: Date,
    pub service_id: Option<i64>,
    pub description: String,
    pub quantity: ExactDecimal,
    pub unit: String,
    pub unit_price: ExactDecimal,
    pub vat_rate: ExactDecimal,
    pub billable: bool,
    pub customer_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
}

/// A stored expense.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Expense {
    pub id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: ExpenseData,
    /// `open`, `reserved` (on a draft invoice) or `billed`; only open expenses change.
    pub state: String,
    pub created_by: String,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// Which expenses to list.
#[derive(Debug, Clone, Default)]
pub struct ExpenseFilter {
    pub user_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub billable: Option<bool>,
    pub state: Option<String>,
}

const EXPENSE_COLUMNS: &str = "user_id, expense_date, service_id, description, quantity, unit, unit_price, vat_rate, \
    billable, customer_id, ticket_id, project_id, task_id";

/// Inside `$tx`: inserts expense `$d` (`&ExpenseData`) recorded by `$actor`, with its audit
/// record, and evaluates to the stored [`Expense`].
macro_rules! insert_expense {
    ($tx:expr, $d:expr, $actor:expr) => {{
        let d: &$crate::expenses::ExpenseData = $d;
        let expense: $crate::expenses::Expense = $crate::expenses::bind_expense_data!(
            sqlx::query_as(
                "INSERT INTO expenses (user_id, expense_date, service_id, description, quantity, unit, unit_price, \
                 vat_rate, billable, customer_id, ticket_id, project_id, task_id, created_by, version, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15) \
                 RETURNING *, 'open' AS state"
            ),
            d
        )
        .bind(&$actor.name)
        .bind($crate::types::DbTime::now())
        .fetch_one(&mut *$tx)
        .await
        .map_err($crate::StoreError::from)?;
        audit!($tx, $actor, "expense", expense.id, "create", None::<&$crate::expenses::Expense>, Some(&expense));
        expense
    }};
}
pub(crate) use insert_expense;

macro_rules! bind_expense_data {
    ($q:expr, $d:expr) => {
        $q.bind($d.user_id)
            .bind($d.expense_date)
            .bind($d.service_id)
            .bind(&$d.description)
            .bind($d.quantity)
            .bind(&$d.unit)
            .bind($d.unit_price)
            .bind($d.vat_rate)
            .bind($d.billable)
            .bind($d.customer_id)
            .bind($d.ticket_id)
            .bind($d.project_id)
            .bind($d.task_id)
    };
}
pub(crate) use bind_expense_data;

impl Store {
    /// Records an expense.
    pub async fn create_expense(&self, d: &ExpenseData, actor: &Actor) -> Result<Expense> {
        let expense = in_tx!(self, tx => insert_expense!(tx, d, actor));
        Ok(expense)
    }

    /// The expense with this id.
    pub async fn get_expense(&self, id: i64) -> Result<Expense> {
        with_pool!(self, pool => Ok(sqlx::query_as(concat!("SELECT *, ", crate::holdings::held_state!("expenses"), " AS state FROM expenses WHERE id = $1")).bind(id).fetch_one(pool).await?))
    }

    /// Expenses by date, newest first; `after` is the (date, id) of the last one seen.
    pub async fn list_expenses(
        &self,
        f: &ExpenseFilter,
        page: &PageRequest<(Date, i64)>,
    ) -> Result<Page<Expense, (Date, i64)>> {
        let (after_date, after_id) = match page.after {
            Some((d, id)) => (Some(d), id),
            None => (None, 0),
        };
        let rows: Vec<Expense> = with_pool!(self, pool => sqlx::query_as(
            concat!("SELECT *, ", crate::holdings::held_state!("expenses"), " AS state FROM expenses WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR customer_id = $2) \
             AND ($3 IS NULL OR project_id = $3) AND ($4 IS NULL OR ticket_id = $4) \
             AND ($5 IS NULL OR expense_date >= $5) AND ($6 IS NULL OR expense_date <= $6) \
             AND ($7 IS NULL OR billable = $7) AND ($8 IS NULL OR ", crate::holdings::held_state!("expenses"), " = $8) \
             AND ($9 IS NULL OR expense_date < $9 OR (expense_date = $9 AND id < $10)) \
             ORDER BY expense_date DESC, id DESC LIMIT $11"))
            .bind(f.user_id).bind(f.customer_id).bind(f.project_id).bind(f.ticket_id)
            .bind(f.from).bind(f.to).bind(f.billable).bind(f.state.as_deref())
            .bind(after_date).bind(after_id).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |e| (e.data.expense_date, e.id)))
    }

    /// Applies `change` to an open expense; a billed expense is a conflict.
    pub async fn update_expense<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Expense) -> std::result::Result<ExpenseData, E>,
    ) -> std::result::Result<Expense, E> {
        let sql = format!(
            "UPDATE expenses SET ({EXPENSE_COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13), \
             version = version + 1, updated_at = $14 WHERE id = $15 AND version = $16 AND invoice_id IS NULL RETURNING *, 'open' AS state"
        );
        let expense = in_tx!(self, tx => {
            let before: Expense = sqlx::query_as(concat!("SELECT *, ", crate::holdings::held_state!("expenses"), " AS state FROM expenses WHERE id = $1"))
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            crate::holdings::check_open("expense", &before.state)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let d = change(&before)?;
            let after: Expense = bind_expense_data!(sqlx::query_as(&sql), d)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            audit!(tx, actor, "expense", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(expense)
    }

    /// Deletes an open expense after `allow` approved it; a billed expense is a conflict.
    pub async fn delete_expense<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        allow: impl FnOnce(&Expense) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        in_tx!(self, tx => {
            let before: Expense = sqlx::query_as(concat!("SELECT *, ", crate::holdings::held_state!("expenses"), " AS state FROM expenses WHERE id = $1"))
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            allow(&before)?;
            crate::holdings::check_open("expense", &before.state)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            sqlx::query("DELETE FROM expenses WHERE id = $1 AND invoice_id IS NULL").bind(id).execute(&mut *tx).await.map_err(StoreError::from)?;
            audit!(tx, actor, "expense", id, "delete", Some(&before), None::<&Expense>);
        });
        Ok(())
    }

    /// Sets an expense's billing state (`open`/`reserved`/`billed`) without a run (tests).
    pub async fn set_expense_state(&self, id: i64, state: &str) -> Result<()> {
        self.hold_position(crate::bulk::PositionTable::Expenses, id, state).await
    }
}
