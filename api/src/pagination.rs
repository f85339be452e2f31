//! Keyset pagination on the wire: `?limit=&cursor=` in, `{items, next_cursor}` out.
//! A cursor is an opaque base64url token; clients pass it back unchanged.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;

/// Checks `limit` (1 to 200, default 50).
pub fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid("limit", "range", format!("must be from 1 to {MAX_LIMIT}, got {n}"))),
    }
}

/// Encodes the position after which the next page starts.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor produced by [`encode_cursor`] for the same list and sort.
pub fn decode_cursor<K: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    URL_SAFE_NO_PAD.decode(c).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).map(Some).ok_or_else(|| {
        ApiError::invalid("cursor", "invalid_cursor", "not a cursor of this list; pass `next_cursor` back unchanged")
    })
}

/// Declares a list-response type `{items: [...], next_cursor}` for an item type.
macro_rules! list_response {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// The items of this page.
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use list_response;
