//! Custom fields: definitions and the validation of values on write.
