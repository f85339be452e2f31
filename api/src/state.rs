//! Shared application state handed to every handler.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::principal_cache::PrincipalCache;
use crate::tokens::TokenKeys;
use persistence::Store;

/// What handlers share: the store, token keys, the cache of principals, configuration and
/// metrics.
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Access-token signing keys.
    pub tokens: TokenKeys,
    /// Key of the keyed hash over API keys.
    pub api_key_pepper: Vec<u8>,
    /// Recently authenticated principals (no database round trip while fresh).
    pub principals: PrincipalCache,
    /// The configuration the server started with.
    pub config: Config,
    /// The server's metrics (`GET /metrics`).
    pub metrics: Metrics,
}
