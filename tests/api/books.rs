//! The books of a database — documents, settled positions, bookings' billing states,
//! number counters, ledger and feed — read at a quiet moment ([`Sql::books`]), and every
//! invariant of the invoice storage checked on them ([`check_books`]): what the concurrency
//! and crash tests compare before and after.

use crate::cluster::Sql;
use std::collections::BTreeMap;

/// A document: kind, status, number and feed position, what it cancels or is cancelled by.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct DocRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) status: String,
    pub(crate) customer_id: i64,
    pub(crate) series: Option<String>,
    pub(crate) number_year: Option<i64>,
    pub(crate) number_seq: Option<i64>,
    pub(crate) number: Option<String>,
    pub(crate) issue_date: Option<time::Date>,
    pub(crate) feed_seq: Option<i64>,
    pub(crate) cancels_id: Option<i64>,
    pub(crate) cancelled_by_id: Option<i64>,
}

/// A position a document settles (`settled_positions`), active while the document stands.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct SettledRow {
    pub(crate) invoice_id: i64,
    pub(crate) position_key: String,
    pub(crate) booking_id: Option<i64>,
    pub(crate) active: bool,
}

/// A booking and its billing state (`open`, `reserved`, `billed`) by the document holding it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct BookingRow {
    pub(crate) id: i64,
    pub(crate) customer_id: Option<i64>,
    pub(crate) billable: bool,
    pub(crate) state: String,
}

/// What the database holds about invoicing, read at a quiet moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Books {
    pub(crate) docs: BTreeMap<i64, DocRow>,
    pub(crate) positions: Vec<SettledRow>,
    pub(crate) bookings: Vec<BookingRow>,
    /// `number_sequences` (invoice series and the accounting feed).
    pub(crate) counters: BTreeMap<String, i64>,
    pub(crate) ledger_entries: i64,
    pub(crate) issued_events: i64,
}

impl Sql {
    /// The books as the database holds them now.
    pub(crate) async fn books(&self) -> Books {
        let docs: Vec<DocRow> = self
            .rows(
                "SELECT id, kind, status, customer_id, series, number_year, number_seq, number, issue_date, feed_seq, \
                 cancels_id, cancelled_by_id FROM invoices ORDER BY id",
            )
            .await;
        let positions = self
            .rows(
                "SELECT invoice_id, position_key, booking_id, active FROM settled_positions \
                 ORDER BY invoice_id, position_key",
            )
            .await;
        let bookings = self
            .rows(
                "SELECT b.id, b.customer_id, b.billable, CASE WHEN s.invoice_id IS NULL THEN 'open' \
                 WHEN i.status = 'draft' THEN 'reserved' ELSE 'billed' END AS state \
                 FROM bookings b LEFT JOIN booking_holds s ON s.booking_id = b.id \
                 LEFT JOIN invoices i ON i.id = s.invoice_id ORDER BY b.id",
            )
            .await;
        let counters: Vec<(String, i64)> = self
            .rows(
                "SELECT name, next_value FROM number_sequences WHERE name LIKE 'invoice:%' OR name = 'accounting_feed'",
            )
            .await;
        Books {
            docs: docs.into_iter().map(|d| (d.id, d)).collect(),
            positions,
            bookings,
            counters: counters.into_iter().collect(),
            ledger_entries: self.count("SELECT COUNT(*) FROM quota_ledger").await,
            issued_events: self.count("SELECT COUNT(*) FROM events WHERE event_type = 'invoice.issued'").await,
        }
    }
}

/// How many documents of each kind the books hold.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) drafts: usize,
    pub(crate) issued: usize,
    pub(crate) cancelled: usize,
    pub(crate) credit_notes: usize,
}

/// Checks every invariant of the invoice storage in what the database holds:
/// - no position key is settled by two invoices that are not cancelled, and a position row
///   is active exactly while its invoice is not cancelled;
/// - every billable booking is in at most one such invoice, and its state says which:
///   `reserved` ⇔ in a draft, `billed` ⇔ in an issued (or paid) invoice, `open` ⇔ in none;
/// - drafts have no number; issued documents have `SERIES-YEAR-SEQ`, and per series and
///   year the numbers are 1..N without a gap, the counter stands at N, and the numbers
///   follow the issue dates (a higher number is never dated before a lower one);
/// - the accounting feed positions are 1..M without a gap, its counter at M;
/// - every cancelled invoice has exactly one credit note that refers back to it.
pub(crate) fn check_books(b: &Books) -> Tally {
    let mut tally = Tally::default();
    let status = |id: i64| b.docs.get(&id).map(|d| d.status.as_str()).unwrap_or_else(|| panic!("invoice {id} missing"));
    let mut series: BTreeMap<(String, i64), Vec<(i64, time::Date)>> = BTreeMap::new();
    let mut feed = Vec::new();
    for d in b.docs.values() {
        match (d.kind.as_str(), d.status.as_str()) {
            (_, "draft") => tally.drafts += 1,
            ("credit_note", _) => tally.credit_notes += 1,
            (_, "cancelled") => tally.cancelled += 1,
            _ => tally.issued += 1,
        }
        if d.status == "draft" {
            assert!(
                d.number.is_none() && d.number_seq.is_none() && d.feed_seq.is_none(),
                "a draft has no number: {d:?}"
            );
            continue;
        }
        let (Some(s), Some(year), Some(seq), Some(number)) = (&d.series, d.number_year, d.number_seq, &d.number) else {
            panic!("an issued document has a full number: {d:?}");
        };
        assert_eq!(number, &format!("{s}-{year}-{seq:05}"), "{d:?}");
        let expected_series = if d.kind == "credit_note" { "GS" } else { "RE" };
        assert_eq!(s, expected_series, "{d:?}");
        let date = d.issue_date.unwrap_or_else(|| panic!("an issued document has an issue date: {d:?}"));
        assert_eq!(i64::from(date.year()), year, "the number's year is the issue date's: {d:?}");
        series.entry((s.clone(), year)).or_default().push((seq, date));
        feed.push(d.feed_seq.unwrap_or_else(|| panic!("an issued document is in the feed: {d:?}")));
        if d.kind == "credit_note" {
            let original = d.cancels_id.and_then(|id| b.docs.get(&id));
            assert!(
                original.is_some_and(|o| o.status == "cancelled" && o.cancelled_by_id == Some(d.id)),
                "credit note {d:?} cancels {original:?}"
            );
        } else if d.status == "cancelled" {
            let credit = d.cancelled_by_id.and_then(|id| b.docs.get(&id));
            assert!(
                credit.is_some_and(|c| c.kind == "credit_note" && c.cancels_id == Some(d.id)),
                "cancelled {d:?} has its credit note, got {credit:?}"
            );
        }
    }
    for ((s, year), numbered) in &mut series {
        numbered.sort_unstable();
        let n = numbered.len() as i64;
        let seqs: Vec<i64> = numbered.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "numbers of {s}-{year} are unique and gapless");
        for pair in numbered.windows(2) {
            assert!(
                pair[0].1 <= pair[1].1,
                "numbers of {s}-{year} follow the issue dates: {s}-{year}-{:05} is dated {}, {s}-{year}-{:05} {}",
                pair[0].0,
                pair[0].1,
                pair[1].0,
                pair[1].1
            );
        }
        assert_eq!(b.counters.get(&format!("invoice:{s}:{year}")), Some(&n), "the counter of {s}-{year} stands at {n}");
    }
    for (name, value) in &b.counters {
        if let Some(rest) = name.strip_prefix("invoice:") {
            let (s, year) = rest.split_once(':').expect("invoice:SERIES:YEAR");
            let used = series.get(&(s.to_string(), year.parse().expect("year"))).map_or(0, Vec::len) as i64;
            assert_eq!(*value, used, "counter {name} is not ahead of the documents numbered");
        }
    }
    feed.sort_unstable();
    let m = feed.len() as i64;
    assert_eq!(feed, (1..=m).collect::<Vec<_>>(), "feed positions are unique and gapless");
    assert_eq!(b.counters.get("accounting_feed").copied().unwrap_or(0), m, "the feed counter stands at {m}");

    let mut holders: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for p in &b.positions {
        let cancelled = status(p.invoice_id) == "cancelled";
        assert_eq!(p.active, !cancelled, "a position is active exactly while its invoice is not cancelled: {p:?}");
        if !cancelled {
            holders.entry(p.position_key.as_str()).or_default().push(p.invoice_id);
        }
    }
    for (key, invoices) in &holders {
        assert_eq!(
            invoices.len(),
            1,
            "position {key} is settled by several invoices that are not cancelled: {invoices:?}"
        );
    }
    for bk in b.bookings.iter().filter(|bk| bk.billable) {
        let key = format!("booking:{}", bk.id);
        let expected = match holders.get(key.as_str()).map(|i| status(i[0])) {
            None => "open",
            Some("draft") => "reserved",
            Some("issued") | Some("paid") => "billed",
            Some(other) => panic!("booking {} is held by an invoice in state {other}", bk.id),
        };
        assert_eq!(bk.state, expected, "booking {} (held by {:?})", bk.id, holders.get(key.as_str()));
    }
    tally
}
