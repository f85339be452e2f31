//! The service catalog (Leistungen / výkony): what can be billed, in which unit, at which
//! default price and VAT rate.

use crate::customer::str_enum;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Unit in which a service is measured and priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Hours of work (time bookings are measured in minutes and billed in hours).
    Hour,
    /// Kilometres driven.
    Km,
    /// Pieces of material.
    Piece,
    /// A flat amount (fees, call-out charges).
    Flat,
}

str_enum!(Unit { Hour => "hour", Km => "km", Piece => "piece", Flat => "flat" });

/// What kind of performance a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Working time.
    Work,
    /// Travel time or distance.
    Travel,
    /// Material, hardware, licences.
    Material,
    /// Fees (call-out fee, contract fee).
    Fee,
}

str_enum!(ServiceKind { Work => "work", Travel => "travel", Material => "material", Fee => "fee" });

/// A catalog service, e.g. "Remote support" (hour) or "Hard disk 1 TB" (piece).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Service id.
    pub id: i64,
    /// Short code, e.g. `REMOTE`.
    pub code: String,
    /// Name printed on invoice lines.
    pub name: String,
    /// Unit of measure.
    pub unit: Unit,
    /// Default unit price in the company currency (the last level of rate resolution).
    pub default_price: Option<Decimal>,
    /// VAT rate in percent for domestic supplies.
    pub vat_rate: Decimal,
    /// Whether bookings on this service are billable unless marked otherwise.
    pub billable_by_default: bool,
    /// Kind of performance.
    pub kind: ServiceKind,
}

/// The catalog indexed by service id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    services: Vec<Service>,
}

impl Catalog {
    /// Builds the index; a later duplicate id replaces an earlier one.
    pub fn new(mut services: Vec<Service>) -> Self {
        services.sort_by_key(|s| s.id);
        services.reverse();
        services.dedup_by_key(|s| s.id);
        services.reverse();
        Catalog { services }
    }

    /// The service with `id`.
    pub fn get(&self, id: i64) -> Option<&Service> {
        self.services.binary_search_by_key(&id, |s| s.id).ok().and_then(|i| self.services.get(i))
    }

    /// All services, sorted by id.
    pub fn services(&self) -> &[Service] {
        &self.services
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(id: i64, name: &str) -> Service {
        Service {
            id,
            code: name.to_uppercase(),
            name: name.into(),
            unit: Unit::Hour,
            default_price: None,
            vat_rate: Decimal::from(19),
            billable_by_default: true,
            kind: ServiceKind::Work,
        }
    }

    #[test]
    fn catalog_finds_services_by_id_and_keeps_the_last_duplicate() {
        let c = Catalog::new(vec![svc(3, "c"), svc(1, "a"), svc(3, "c2")]);
        assert_eq!(c.get(1).unwrap().name, "a");
        assert_eq!(c.get(3).unwrap().name, "c2");
        assert!(c.get(2).is_none());
        assert_eq!(c.services().len(), 2);
    }
}
