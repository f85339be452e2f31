//! Storage of contracts: the four kinds, covered services, overage tiers, carry-over, fees.
