//! Storage of rates, surcharges, rounding rules and holidays, and the explained rate resolution.
