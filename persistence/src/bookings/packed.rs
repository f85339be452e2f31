//! The booking list as SQLite hands it over: one row carrying the whole page as a JSON array
//! of arrays. sqlx passes every SQLite row from the connection's thread to the caller's on
//! its own (a wake-up each), which cost a page of 50 bookings far more than reading it; the
//! invoice run's open-position read packs its rows the same way (`billing`).

use super::{Booking, BookingData};
use crate::types::{sqlite_text, DbTime, ExactDecimal, JsonText};
use crate::{Result, StoreError};

/// The columns of [`Packed`], in order, over a row source with the bookings' columns and
/// their `state`.
pub(super) const PACKED_COLUMNS: &str = "json_group_array(json_array(id, user_id, work_date, start_time, end_time, \
     duration_minutes, service_id, description, customer_id, ticket_id, project_id, task_id, billable, rate_override, \
     json(custom_fields), state, created_by, version, created_at, updated_at))";

/// A booking as SQLite packs it into a JSON array (dates, times, instants and decimals as
/// text, flags as 0/1).
#[derive(serde::Deserialize)]
struct Packed(
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    serde_json::Value,
    String,
    String,
    i64,
    String,
    String,
);

/// The bookings of a packed page (`None`: no rows), in the order packed.
pub(super) fn unpack(packed: Option<&str>) -> Result<Vec<Booking>> {
    let rows: Vec<Packed> = serde_json::from_str(packed.unwrap_or("[]"))?;
    rows.into_iter().map(Booking::try_from).collect()
}

impl TryFrom<Packed> for Booking {
    type Error = StoreError;
    fn try_from(p: Packed) -> Result<Booking> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Database(sqlx::Error::Decode(format!("booking {}: {what}: {e}", p.0).into()))
        };
        let time = |t: &Option<String>, what| {
            t.as_deref().map(sqlite_text::time_of_day).transpose().map_err(|e| corrupt(what, &e))
        };
        let instant = |t: &str, what| DbTime::from_sqlite_text(t).map_err(|e| corrupt(what, &e));
        Ok(Booking {
            id: p.0,
            data: BookingData {
                user_id: p.1,
                work_date: sqlite_text::date(&p.2).map_err(|e| corrupt("work_date", &e))?,
                start_time: time(&p.3, "start_time")?,
                end_time: time(&p.4, "end_time")?,
                duration_minutes: p.5,
                service_id: p.6,
                description: p.7,
                customer_id: p.8,
                ticket_id: p.9,
                project_id: p.10,
                task_id: p.11,
                billable: p.12 != 0,
                rate_override: p
                    .13
                    .as_deref()
                    .map(|d| d.parse().map(ExactDecimal))
                    .transpose()
                    .map_err(|e| corrupt("rate_override", &e))?,
                custom_fields: JsonText(p.14),
            },
            state: p.15,
            created_by: p.16,
            version: p.17,
            created_at: instant(&p.18, "created_at")?,
            updated_at: instant(&p.19, "updated_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::bookings::BookingFilter;
    use crate::page::PageRequest;
    use crate::test_support::fresh_store;
    use crate::types::DbTime;

    #[tokio::test]
    async fn a_listed_booking_is_the_booking_as_read_alone_in_every_shape_and_pages_keep_their_order() {
        let test = fresh_store().await;
        let store = &test.store;
        let (user, service): (i64, i64) = with_pool!(store, pool => {
            let user = sqlx::query_scalar(
                "INSERT INTO users (email, name, password_hash, roles, active, version, created_at, updated_at) \
                 VALUES ('t@x.example', 'T', '!', 'agent', TRUE, 1, $1, $1) RETURNING id")
                .bind(DbTime::now()).fetch_one(pool).await.unwrap();
            let service = sqlx::query_scalar(
                "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, version, \
                 created_at, updated_at) VALUES ('S', 'Support', 'hour', 'work', '90', '19', TRUE, 1, $1, $1) RETURNING id")
                .bind(DbTime::now()).fetch_one(pool).await.unwrap();
            (user, service)
        });
        // Bare; with times, a rate override and custom fields (quotes, umlauts, nesting); on
        // two dates, several on the same date (the order within a date is by id).
        for n in 0..7 {
            let full = n % 2 == 1;
            with_pool!(store, pool => sqlx::query(
                "INSERT INTO bookings (user_id, work_date, start_time, end_time, duration_minutes, service_id, \
                 description, billable, rate_override, custom_fields, created_by, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 45, $5, $6, $7, $8, $9, 'api', 1, $10, $10)")
                .bind(user)
                .bind(if n < 4 { time::macros::date!(2026 - 11 - 23) } else { time::macros::date!(2026 - 11 - 24) })
                .bind(full.then_some(time::macros::time!(8:30)))
                .bind(full.then_some(time::macros::time!(9:15:30)))
                .bind(service)
                .bind(format!("Drucker \"{n}\" in Zürich"))
                .bind(full)
                .bind(full.then(|| crate::types::ExactDecimal(rust_decimal::Decimal::new(12_050, 3))))
                .bind(if full { r#"{"km":42,"note":"Zürich \"Nord\"","list":[1,2.5]}"# } else { "{}" })
                .bind(DbTime::now())
                .execute(pool).await.map(|_| ()))
            .unwrap();
        }
        let mut seen = vec![];
        let mut after = None;
        loop {
            let page = store.list_bookings(&BookingFilter::default(), &PageRequest { limit: 3, after }).await.unwrap();
            for b in &page.items {
                assert_eq!(b, &store.get_booking(b.id).await.unwrap(), "booking {}", b.id);
                seen.push((b.data.work_date, b.id));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut newest_first = seen.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, newest_first);
        assert_eq!(seen.len(), 7);
        let only_full = BookingFilter { billable: Some(true), ..BookingFilter::default() };
        let page = store.list_bookings(&only_full, &PageRequest { limit: 50, after: None }).await.unwrap();
        assert_eq!(page.items.len(), 3);
        assert!(page.items.iter().all(|b| b.data.rate_override.is_some() && b.data.start_time.is_some()));
        test.remove().await;
    }
}
