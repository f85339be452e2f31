//! User accounts: the rules a password must meet, shared by the configuration (the
//! initial admin's password) and authentication (login, password changes).

/// Minimum password length (NIST SP 800-63B recommends at least 8; we ask for 12).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Maximum password length, to bound hashing work.
pub const MAX_PASSWORD_LEN: usize = 1024;
