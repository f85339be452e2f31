//! The seller profile: who issues Kontor's invoices — legal name, address, tax
//! registration, bank account, contact, the texts printed on every document and the
//! accounting numbers of the tax advisor's export — and what of it an invoice needs before
//! it can be issued as an e-invoice.

use serde::{Deserialize, Serialize};

/// The company that issues the invoices. Every field is optional while the profile is being
/// filled in; [`SellerProfile::missing_for_e_invoice`] says what is still missing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SellerProfile {
    /// Legal name as registered, e.g. "Muster IT GmbH".
    #[serde(default)]
    pub legal_name: Option<String>,
    #[serde(default)]
    pub address_street: Option<String>,
    #[serde(default)]
    pub address_postal_code: Option<String>,
    #[serde(default)]
    pub address_city: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    #[serde(default)]
    pub address_country: Option<String>,
    /// VAT identification number (USt-IdNr.), e.g. `DE123456789`.
    #[serde(default)]
    pub vat_id: Option<String>,
    /// Tax number (Steuernummer).
    #[serde(default)]
    pub tax_number: Option<String>,
    /// Commercial register entry, e.g. "HRB 12345, Amtsgericht München".
    #[serde(default)]
    pub commercial_register: Option<String>,
    /// Account the customers pay to.
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub bic: Option<String>,
    #[serde(default)]
    pub bank_name: Option<String>,
    /// The contact person for invoices.
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    /// The seller's electronic address (XRechnung BT-34), e.g. the invoicing mailbox.
    #[serde(default)]
    pub electronic_address: Option<String>,
    /// Its scheme (EAS code): `EM` e-mail (the default), `9930` German VAT id, `0088` GLN, …
    #[serde(default)]
    pub electronic_address_scheme: Option<String>,
    /// Payment terms printed on invoices, e.g. "Payable within 14 days without deduction".
    #[serde(default)]
    pub payment_terms_text: Option<String>,
    /// Footer lines printed on every page (management, register court, …).
    #[serde(default)]
    pub footer_lines: Vec<String>,
    /// DATEV consultant number (Beraternummer).
    #[serde(default)]
    pub datev_consultant_number: Option<String>,
    /// DATEV client number (Mandantennummer).
    #[serde(default)]
    pub datev_client_number: Option<String>,
    /// Revenue accounts of the accounting export (SKR03 defaults).
    #[serde(default)]
    pub revenue_accounts: RevenueAccounts,
    /// Month (1–12) the fiscal year starts in; absent = January (the calendar year). The
    /// DATEV export covers one fiscal year and names its first day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_year_start_month: Option<u8>,
    /// SHA-256 (hex) of the letterhead logo, absent without one. Set by `PUT` and `DELETE
    /// /settings/company/logo`; `PUT /settings/company` keeps it whatever it is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub logo_sha256: Option<String>,
}

/// The revenue account per kind of VAT of the accounting export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevenueAccounts {
    /// Standard rate (19 % in Germany); SKR03 `8400`.
    pub standard: String,
    /// Reduced rate (7 %); SKR03 `8300`.
    pub reduced: String,
    /// Intra-EU reverse charge; SKR03 `8336`.
    pub reverse_charge: String,
    /// Export outside the EU; SKR03 `8338`.
    pub export: String,
}

impl Default for RevenueAccounts {
    fn default() -> Self {
        RevenueAccounts {
            standard: "8400".into(),
            reduced: "8300".into(),
            reverse_charge: "8336".into(),
            export: "8338".into(),
        }
    }
}

impl SellerProfile {
    /// The first day of the fiscal year `date` lies in (see `fiscal_year_start_month`).
    pub fn fiscal_year_start(&self, date: time::Date) -> time::Date {
        let month = time::Month::try_from(self.fiscal_year_start_month.unwrap_or(1)).unwrap_or(time::Month::January);
        let year = if u8::from(date.month()) >= u8::from(month) { date.year() } else { date.year() - 1 };
        time::Date::from_calendar_date(year, month, 1).unwrap_or(date)
    }

    /// The fields an e-invoice (XRechnung / EN 16931) of this seller needs that are still
    /// empty, by their API names: legal name, postal code, city, country, contact name,
    /// phone and e-mail, electronic address, the IBAN, and a VAT id — or a tax number with
    /// the commercial register entry. (Reverse-charge and export invoices need the VAT id
    /// itself; their documents say so.)
    pub fn missing_for_e_invoice(&self) -> Vec<&'static str> {
        let empty = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        let mut missing = Vec::new();
        let required: [(&'static str, &Option<String>); 9] = [
            ("legal_name", &self.legal_name),
            ("address_postal_code", &self.address_postal_code),
            ("address_city", &self.address_city),
            ("address_country", &self.address_country),
            ("contact_name", &self.contact_name),
            ("contact_phone", &self.contact_phone),
            ("contact_email", &self.contact_email),
            ("electronic_address", &self.electronic_address),
            ("iban", &self.iban),
        ];
        for (name, value) in required {
            if empty(value) {
                missing.push(name);
            }
        }
        if empty(&self.vat_id) && empty(&self.tax_number) {
            missing.push("vat_id");
        } else if empty(&self.vat_id) && empty(&self.commercial_register) {
            // A tax number alone does not identify the seller (EN 16931 BR-CO-26).
            missing.push("commercial_register");
        }
        missing
    }

    /// A complete example profile (a Munich IT service company): what tests, benchmarks and
    /// documentation start from.
    pub fn example() -> SellerProfile {
        SellerProfile {
            legal_name: Some("Muster IT GmbH".into()),
            address_street: Some("Hauptstraße 1".into()),
            address_postal_code: Some("80331".into()),
            address_city: Some("München".into()),
            address_country: Some("DE".into()),
            vat_id: Some("DE123456789".into()),
            iban: Some("DE02120300000000202051".into()),
            contact_name: Some("Erika Muster".into()),
            contact_phone: Some("+49 89 123456".into()),
            contact_email: Some("billing@muster.example".into()),
            electronic_address: Some("billing@muster.example".into()),
            ..SellerProfile::default()
        }
    }

    /// The scheme of the electronic address: as given, else `EM` (e-mail).
    pub fn electronic_address_scheme(&self) -> &str {
        self.electronic_address_scheme.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or("EM")
    }
}

/// Whether `iban` is a well-formed IBAN: country code, check digits, up to 30 letters or
/// digits, and the ISO 13616 mod-97 checksum (spaces are ignored).
pub fn is_valid_iban(iban: &str) -> bool {
    let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = compact.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes[4..].iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let mut remainder: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let value = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fiscal_year_is_the_calendar_year_unless_it_starts_in_another_month() {
        let d = |y, m, day| time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), day).unwrap();
        let calendar = SellerProfile::default();
        assert_eq!(calendar.fiscal_year_start(d(2026, 11, 30)), d(2026, 1, 1));
        assert_eq!(calendar.fiscal_year_start(d(2026, 1, 1)), d(2026, 1, 1));
        let july = SellerProfile { fiscal_year_start_month: Some(7), ..SellerProfile::default() };
        assert_eq!(july.fiscal_year_start(d(2026, 11, 30)), d(2026, 7, 1));
        assert_eq!(july.fiscal_year_start(d(2026, 6, 30)), d(2025, 7, 1));
        assert_eq!(july.fiscal_year_start(d(2026, 7, 1)), d(2026, 7, 1));
    }

    fn complete() -> SellerProfile {
        SellerProfile::example()
    }

    #[test]
    fn a_complete_profile_misses_nothing_for_an_e_invoice() {
        assert!(complete().missing_for_e_invoice().is_empty());
    }

    #[test]
    fn an_empty_profile_lists_every_required_field() {
        let missing = SellerProfile::default().missing_for_e_invoice();
        assert_eq!(
            missing,
            [
                "legal_name",
                "address_postal_code",
                "address_city",
                "address_country",
                "contact_name",
                "contact_phone",
                "contact_email",
                "electronic_address",
                "iban",
                "vat_id"
            ]
        );
    }

    #[test]
    fn a_tax_number_with_the_register_entry_stands_in_for_the_vat_id_and_blank_text_counts_as_missing() {
        let p = SellerProfile { vat_id: None, tax_number: Some("143/123/45678".into()), ..complete() };
        assert_eq!(p.missing_for_e_invoice(), ["commercial_register"]);
        let p = SellerProfile { commercial_register: Some("HRB 12345".into()), ..p };
        assert!(p.missing_for_e_invoice().is_empty());
        let p = SellerProfile { contact_phone: Some("  ".into()), ..complete() };
        assert_eq!(p.missing_for_e_invoice(), ["contact_phone"]);
    }

    #[test]
    fn the_electronic_address_is_an_e_mail_unless_a_scheme_is_given() {
        assert_eq!(complete().electronic_address_scheme(), "EM");
        let p = SellerProfile { electronic_address_scheme: Some("9930".into()), ..complete() };
        assert_eq!(p.electronic_address_scheme(), "9930");
    }

    #[test]
    fn ibans_are_checked_by_their_mod_97_checksum() {
        assert!(is_valid_iban("DE02120300000000202051"));
        assert!(is_valid_iban("DE02 1203 0000 0000 2020 51"));
        assert!(is_valid_iban("CZ6508000000192000145399"));
        assert!(!is_valid_iban("DE03120300000000202051"), "wrong check digits");
        assert!(!is_valid_iban("DE0212030000"), "too short");
        assert!(!is_valid_iban("de02120300000000202051"), "lower case country");
        assert!(!is_valid_iban("DE02-120300000000202051"));
    }

    #[test]
    fn the_revenue_accounts_default_to_skr03() {
        let a = RevenueAccounts::default();
        assert_eq!(
            (a.standard.as_str(), a.reduced.as_str(), a.reverse_charge.as_str(), a.export.as_str()),
            ("8400", "8300", "8336", "8338")
        );
    }
}
