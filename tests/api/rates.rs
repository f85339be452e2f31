//! End-to-end tests: rates, surcharges, rounding rules and holidays, and the explained rate resolution.
