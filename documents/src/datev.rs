//! The DATEV booking batch (`EXTF` Buchungsstapel, header version 700, category 21, format
//! version 13) a German tax advisor imports: one row per document and VAT rate — the gross
//! amount on the customer's debtor account against the revenue account of its VAT kind —
//! written as DATEV's import wants it: Windows-1252, `;`-separated, text in double quotes,
//! decimal comma, CRLF line ends.

use crate::xml::{date_102 as ymd, round2};
use crate::{DocumentError, VatCategory, VatSubtotal};
use rust_decimal::Decimal;
use time::{Date, PrimitiveDateTime};

/// The column names of the rows, up to the buyer's VAT id (column 40); DATEV reads columns by
/// position, later ones may be left out.
pub const COLUMNS: [&str; 40] = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    "Beleginfo - Art 1",
    "Beleginfo - Inhalt 1",
    "Beleginfo - Art 2",
    "Beleginfo - Inhalt 2",
    "Beleginfo - Art 3",
    "Beleginfo - Inhalt 3",
    "Beleginfo - Art 4",
    "Beleginfo - Inhalt 4",
    "Beleginfo - Art 5",
    "Beleginfo - Inhalt 5",
    "Beleginfo - Art 6",
    "Beleginfo - Inhalt 6",
    "Beleginfo - Art 7",
    "Beleginfo - Inhalt 7",
    "Beleginfo - Art 8",
    "Beleginfo - Inhalt 8",
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
];

/// Longest booking text DATEV takes.
const MAX_TEXT: usize = 60;
/// Longest document field 1 (the invoice number).
const MAX_DOCUMENT_FIELD: usize = 36;

/// The batch: who it is for and which days it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevBatch {
    /// Beraternummer (consultant number).
    pub consultant_number: String,
    /// Mandantennummer (client number).
    pub client_number: String,
    /// First day of the fiscal year the batch lies in.
    pub fiscal_year_start: Date,
    /// Length of the general ledger accounts (4 for SKR03).
    pub account_length: u8,
    /// First and last issue date covered.
    pub from: Date,
    pub to: Date,
    /// When the file was made.
    pub created_at: PrimitiveDateTime,
    /// ISO 4217 code of the batch (each row names its own).
    pub currency: String,
    /// Batch label shown in DATEV.
    pub label: String,
}

/// The revenue account per VAT kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevAccounts {
    /// Standard rate (19 %), and any rate other than the reduced one.
    pub standard: String,
    /// Reduced rate (7 %).
    pub reduced: String,
    pub reverse_charge: String,
    pub export: String,
}

/// An issued invoice or credit note as the batch books it. Amounts as stored: a credit
/// note's are negative.
#[derive(Debug, Clone, PartialEq)]
pub struct DatevDocument {
    pub number: String,
    pub issue_date: Date,
    /// The customer's debtor account (digits).
    pub debtor_account: String,
    pub customer_name: String,
    pub vat_category: VatCategory,
    /// The buyer's VAT id (carried on reverse-charge rows).
    pub buyer_vat_id: Option<String>,
    /// ISO 4217 code of its amounts.
    pub currency: String,
    pub vat: Vec<VatSubtotal>,
}

/// One booking row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatevRow {
    /// Positive amount with 2 decimals.
    pub amount: Decimal,
    /// `S` (debit the debtor: an invoice) or `H` (credit it: a credit note).
    pub debit_credit: char,
    pub account: String,
    pub contra_account: String,
    pub date: Date,
    pub document_field: String,
    pub text: String,
    pub eu_vat_id: Option<String>,
    pub currency: String,
}

/// The rows of a document: one per VAT rate with a gross amount, on the debtor against the
/// revenue account of the rate (reduced for 7 %, standard otherwise; reverse charge and
/// export by the document's VAT category).
pub fn rows_of(doc: &DatevDocument, accounts: &DatevAccounts) -> Vec<DatevRow> {
    let seven = Decimal::new(7, 0);
    doc.vat
        .iter()
        .filter_map(|v| {
            let gross = round2(v.net + v.vat);
            if gross.is_zero() {
                return None;
            }
            let contra = match doc.vat_category {
                VatCategory::ReverseCharge => &accounts.reverse_charge,
                VatCategory::Export => &accounts.export,
                VatCategory::Standard if v.rate.normalize() == seven => &accounts.reduced,
                VatCategory::Standard => &accounts.standard,
            };
            let kind = if gross < Decimal::ZERO { "Gutschrift" } else { "Rechnung" };
            Some(DatevRow {
                amount: gross.abs(),
                debit_credit: if gross < Decimal::ZERO { 'H' } else { 'S' },
                account: doc.debtor_account.clone(),
                contra_account: contra.clone(),
                date: doc.issue_date,
                document_field: doc.number.chars().take(MAX_DOCUMENT_FIELD).collect(),
                text: format!("{kind} {} {}", doc.number, doc.customer_name).chars().take(MAX_TEXT).collect(),
                eu_vat_id: match doc.vat_category {
                    VatCategory::ReverseCharge => doc.buyer_vat_id.clone(),
                    _ => None,
                },
                currency: doc.currency.clone(),
            })
        })
        .collect()
}

/// The batch file: header line, column names, the rows; Windows-1252 (characters it lacks
/// become `?`). Fails when the batch spans two fiscal years or a row lies outside it.
pub fn render(batch: &DatevBatch, rows: &[DatevRow]) -> Result<Vec<u8>, DocumentError> {
    let next_year_start = batch.fiscal_year_start.replace_year(batch.fiscal_year_start.year() + 1).ok();
    if batch.to < batch.from
        || batch.from < batch.fiscal_year_start
        || next_year_start.is_some_and(|next| batch.to >= next)
    {
        return Err(DocumentError::Inconsistent(format!(
            "a DATEV batch covers one fiscal year: {} to {} does not lie within the year from {}",
            batch.from, batch.to, batch.fiscal_year_start
        )));
    }
    if let Some(r) = rows.iter().find(|r| r.date < batch.from || r.date > batch.to) {
        return Err(DocumentError::Inconsistent(format!("document {} is dated outside the batch", r.document_field)));
    }
    let mut out = String::with_capacity(512 + rows.len() * 160);
    let created = batch.created_at;
    let stamp = format!(
        "{}{:03}",
        ymd(created.date()) + &format!("{:02}{:02}{:02}", created.hour(), created.minute(), created.second()),
        created.millisecond()
    );
    let header: [String; 31] = [
        text("EXTF"),
        "700".into(),
        "21".into(),
        text("Buchungsstapel"),
        "13".into(),
        stamp,
        String::new(),
        text("RE"),
        text(""),
        text(""),
        batch.consultant_number.clone(),
        batch.client_number.clone(),
        ymd(batch.fiscal_year_start),
        batch.account_length.to_string(),
        ymd(batch.from),
        ymd(batch.to),
        text(&batch.label),
        text(""),
        "1".into(),
        "0".into(),
        "0".into(),
        text(&batch.currency),
        String::new(),
        text(""),
        String::new(),
        String::new(),
        text("03"),
        String::new(),
        String::new(),
        text(""),
        text(""),
    ];
    out.push_str(&header.join(";"));
    out.push_str("\r\n");
    out.push_str(&COLUMNS.join(";"));
    out.push_str("\r\n");
    for r in rows {
        let mut fields = vec![String::new(); COLUMNS.len()];
        fields[0] = amount(r.amount);
        fields[1] = text(&r.debit_credit.to_string());
        fields[2] = text(&r.currency);
        fields[6] = r.account.clone();
        fields[7] = r.contra_account.clone();
        fields[9] = format!("{:02}{:02}", r.date.day(), u8::from(r.date.month()));
        fields[10] = text(&r.document_field);
        fields[13] = text(&r.text);
        fields[39] = r.eu_vat_id.as_deref().map(text).unwrap_or_default();
        out.push_str(&fields.join(";"));
        out.push_str("\r\n");
    }
    Ok(windows_1252(&out))
}

/// A text field: in double quotes, quotes doubled, line breaks and `;` kept out.
fn text(s: &str) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    format!("\"{}\"", clean.replace('"', "\"\""))
}

/// An amount with a decimal comma and 2 places, no sign, no thousands separator.
fn amount(d: Decimal) -> String {
    crate::xml::amount(d.abs()).replace('.', ",")
}

/// The text in Windows-1252; characters that code page lacks become `?`.
fn windows_1252(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use time::macros::{date, datetime};

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn accounts() -> DatevAccounts {
        DatevAccounts {
            standard: "8400".into(),
            reduced: "8300".into(),
            reverse_charge: "8336".into(),
            export: "8338".into(),
        }
    }

    fn batch() -> DatevBatch {
        DatevBatch {
            consultant_number: "1234567".into(),
            client_number: "12345".into(),
            fiscal_year_start: date!(2026 - 01 - 01),
            account_length: 4,
            from: date!(2026 - 12 - 01),
            to: date!(2026 - 12 - 31),
            created_at: datetime!(2026-12-02 08:15:30.250),
            currency: "EUR".into(),
            label: "Kontor Rechnungen".into(),
        }
    }

    fn invoice(vat: Vec<VatSubtotal>, category: VatCategory) -> DatevDocument {
        DatevDocument {
            number: "RE-2026-00017".into(),
            issue_date: date!(2026 - 12 - 01),
            debtor_account: "10001".into(),
            customer_name: "Müller Gebäudetechnik GmbH".into(),
            vat_category: category,
            buyer_vat_id: Some("ATU12345678".into()),
            currency: "EUR".into(),
            vat,
        }
    }

    fn sub(rate: &str, net: &str, vat: &str) -> VatSubtotal {
        VatSubtotal { rate: dec(rate), net: dec(net), vat: dec(vat) }
    }

    #[test]
    fn a_mixed_rate_invoice_books_one_gross_row_per_rate_on_the_automatic_revenue_accounts() {
        let rows = rows_of(
            &invoice(vec![sub("7", "100.00", "7.00"), sub("19", "144.00", "27.36")], VatCategory::Standard),
            &accounts(),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].amount, rows[0].contra_account.as_str(), rows[0].debit_credit),
            (dec("107.00"), "8300", 'S')
        );
        assert_eq!((rows[1].amount, rows[1].contra_account.as_str()), (dec("171.36"), "8400"));
        assert_eq!(rows[1].account, "10001");
        assert_eq!(rows[1].eu_vat_id, None);
    }

    #[test]
    fn a_credit_note_credits_the_debtor_and_reverse_charge_carries_the_buyers_vat_id() {
        let credit = invoice(vec![sub("19", "-144.00", "-27.36")], VatCategory::Standard);
        let rows = rows_of(&credit, &accounts());
        assert_eq!((rows[0].amount, rows[0].debit_credit), (dec("171.36"), 'H'));
        assert!(rows[0].text.starts_with("Gutschrift RE-2026-00017"));
        let rc = rows_of(&invoice(vec![sub("0", "500.00", "0.00")], VatCategory::ReverseCharge), &accounts());
        assert_eq!((rc[0].contra_account.as_str(), rc[0].eu_vat_id.as_deref()), ("8336", Some("ATU12345678")));
        let export = rows_of(&invoice(vec![sub("0", "500.00", "0.00")], VatCategory::Export), &accounts());
        assert_eq!((export[0].contra_account.as_str(), export[0].eu_vat_id.as_deref()), ("8338", None));
    }

    #[test]
    fn the_file_has_the_extf_header_the_columns_and_windows_1252_rows() {
        let rows = rows_of(&invoice(vec![sub("19", "1144.00", "217.36")], VatCategory::Standard), &accounts());
        let bytes = render(&batch(), &rows).unwrap();
        assert!(bytes.contains(&0xFC), "ü as one Windows-1252 byte");
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "header, columns, one row, empty end");
        let header: Vec<&str> = lines[0].split(';').collect();
        assert_eq!(header.len(), 31);
        assert_eq!(&header[..6], ["\"EXTF\"", "700", "21", "\"Buchungsstapel\"", "13", "20261202081530250"]);
        assert_eq!((header[10], header[11], header[12], header[13]), ("1234567", "12345", "20260101", "4"));
        assert_eq!((header[14], header[15], header[21]), ("20261201", "20261231", "\"EUR\""));
        assert_eq!(lines[1].split(';').count(), 40);
        let row: Vec<&str> = lines[2].split(';').collect();
        assert_eq!(row.len(), 40);
        assert_eq!(&row[..3], ["1361,36", "\"S\"", "\"EUR\""]);
        assert_eq!((row[6], row[7], row[9], row[10]), ("10001", "8400", "0112", "\"RE-2026-00017\""));
        assert_eq!(row[13], "\"Rechnung RE-2026-00017 Müller Gebäudetechnik GmbH\"");
    }

    #[test]
    fn text_is_quoted_and_characters_windows_1252_lacks_become_question_marks() {
        let mut doc = invoice(vec![sub("19", "10.00", "1.90")], VatCategory::Standard);
        doc.customer_name = "Dvořák \"Praha\"".into();
        let bytes = render(&batch(), &rows_of(&doc, &accounts())).unwrap();
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(text.contains("\"Rechnung RE-2026-00017 Dvo?ák \"\"Praha\"\"\""), "{text}");
    }

    #[test]
    fn a_batch_spanning_two_fiscal_years_or_a_row_outside_it_is_refused() {
        let mut b = batch();
        b.to = date!(2027 - 01 - 05);
        assert!(matches!(render(&b, &[]), Err(DocumentError::Inconsistent(_))));
        let mut row = rows_of(&invoice(vec![sub("19", "10.00", "1.90")], VatCategory::Standard), &accounts());
        row[0].date = date!(2026 - 11 - 30);
        assert!(matches!(render(&batch(), &row), Err(DocumentError::Inconsistent(_))));
    }
}
