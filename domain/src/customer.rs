//! Customer billing settings: how a customer's work is taxed, collected and detailed.

use serde::{Deserialize, Serialize};

/// Default VAT treatment of a customer's invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VatTreatment {
    /// Domestic supply: the service's VAT rate applies.
    Domestic,
    /// Intra-EU B2B supply: 0 % with the reverse-charge legal note.
    EuReverseCharge,
    /// Export outside the EU: 0 %.
    Export,
}

/// When a customer's open work is invoiced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BillingMode {
    /// Collected into the periodic invoice run.
    PeriodEnd,
    /// Each resolved ticket is billed on its own.
    Immediate,
}

/// How finely an invoice itemises the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceDetail {
    /// One line per booking or expense.
    PerBooking,
    /// One line per ticket and service.
    PerTicket,
    /// One line per service.
    PerService,
}

/// The document a customer prefers to receive its invoices as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    /// A PDF for people.
    #[default]
    Pdf,
    /// A PDF with the e-invoice embedded (Factur-X / ZUGFeRD, EN 16931).
    Zugferd,
    /// XRechnung 3.0 in the CII syntax (German public buyers).
    XrechnungCii,
    /// ISDOC 6.0.2 (Czech accounting).
    Isdoc,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            /// The stable wire/storage name.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
            /// Every value, in declaration order.
            pub const ALL: &'static [$t] = &[$(Self::$v),+];
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok(Self::$v),)+
                    other => Err(format!(
                        "`{}` is not one of: {}", other, [$($s),+].join(", ")
                    )),
                }
            }
        }
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(VatTreatment { Domestic => "domestic", EuReverseCharge => "eu_reverse_charge", Export => "export" });
str_enum!(BillingMode { PeriodEnd => "period_end", Immediate => "immediate" });
str_enum!(DocumentFormat { Pdf => "pdf", Zugferd => "zugferd", XrechnungCii => "xrechnung_cii", Isdoc => "isdoc" });
str_enum!(InvoiceDetail { PerBooking => "per_booking", PerTicket => "per_ticket", PerService => "per_service" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_their_wire_names() {
        for v in VatTreatment::ALL {
            assert_eq!(v.as_str().parse::<VatTreatment>().unwrap(), *v);
        }
        for v in BillingMode::ALL {
            assert_eq!(v.as_str().parse::<BillingMode>().unwrap(), *v);
        }
        for v in InvoiceDetail::ALL {
            assert_eq!(v.as_str().parse::<InvoiceDetail>().unwrap(), *v);
        }
        assert!("monthly".parse::<BillingMode>().is_err());
    }
}
