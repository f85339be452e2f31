//! Storage of public holidays (the days of the work calendar), keyed by date.

use super::*;

/// A public holiday.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Holiday {
    pub holiday_date: Date,
    pub name: String,
    pub created_at: DbTime,
}

/// Audit-log id of a holiday: its date as `yyyymmdd`.
fn holiday_entity_id(d: Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
}

impl Store {
    /// Holidays in date order after `page.after`, optionally of one year only.
    pub async fn list_holidays(&self, year: Option<i32>, page: &PageRequest<Date>) -> Result<Page<Holiday, Date>> {
        let range = year.and_then(|y| {
            Some((
                Date::from_calendar_date(y, time::Month::January, 1).ok()?,
                Date::from_calendar_date(y, time::Month::December, 31).ok()?,
            ))
        });
        let rows: Vec<Holiday> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM holidays WHERE ($1 IS NULL OR holiday_date >= $1) AND ($2 IS NULL OR holiday_date <= $2) \
             AND ($3 IS NULL OR holiday_date > $3) ORDER BY holiday_date LIMIT $4")
            .bind(range.map(|r| r.0)).bind(range.map(|r| r.1)).bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |h| h.holiday_date))
    }

    /// Sets the holiday on `date` (creating or renaming it); returns it and whether it was created.
    pub async fn put_holiday(&self, date: Date, name: &str, actor: &Actor) -> Result<(Holiday, bool)> {
        let out = in_tx!(self, tx => {
            let before: Option<Holiday> = sqlx::query_as("SELECT * FROM holidays WHERE holiday_date = $1")
                .bind(date).fetch_optional(&mut *tx).await?;
            let after: Holiday = sqlx::query_as(
                "INSERT INTO holidays (holiday_date, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (holiday_date) DO UPDATE SET name = $2 RETURNING *")
                .bind(date).bind(name).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            let action = if before.is_some() { "update" } else { "create" };
            audit!(tx, actor, "holiday", holiday_entity_id(date), action, before.as_ref(), Some(&after));
            (after, before.is_none())
        });
        Ok(out)
    }

    /// Removes the holiday on `date`; [`StoreError::NotFound`] when there is none.
    pub async fn delete_holiday(&self, date: Date, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before: Holiday = sqlx::query_as("SELECT * FROM holidays WHERE holiday_date = $1")
                .bind(date).fetch_one(&mut *tx).await?;
            sqlx::query("DELETE FROM holidays WHERE holiday_date = $1").bind(date).execute(&mut *tx).await?;
            audit!(tx, actor, "holiday", holiday_entity_id(date), "delete", Some(&before), None::<&Holiday>);
        });
        Ok(())
    }
}
