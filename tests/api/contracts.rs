//! End-to-end tests: contracts: the four kinds, covered services, overage tiers, carry-over, fees.
