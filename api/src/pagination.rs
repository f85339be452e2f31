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

tokio::task_local! {
    /// The list a request reads, set for the request by [`in_list_scope`].
    static LIST: ListScope;
}

/// The path and query of a request; their [`list_fingerprint`] is computed only when a
/// cursor is made or read (most requests never do).
struct ListScope {
    path: String,
    query: String,
    fingerprint: std::cell::OnceCell<String>,
}

impl ListScope {
    fn fingerprint(&self) -> String {
        self.fingerprint.get_or_init(|| list_fingerprint(&self.path, &self.query)).clone()
    }
}

/// A short fingerprint of the list a request reads: the path and every query parameter
/// but `cursor` and `limit`, in a stable order. A cursor carries the fingerprint of the
/// list it was made for, so that it cannot continue another sort or filter.
pub fn list_fingerprint(path: &str, query: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "cursor" && k != "limit")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    for (k, v) in pairs {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([1]);
        h.update(v.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(&h.finalize()[..9])
}

/// Runs `fut` (a request's handling) within the list of `path` and `query`, whose
/// fingerprint [`encode_cursor`] and [`decode_cursor`] use.
pub async fn in_list_scope<F: std::future::Future>(path: String, query: String, fut: F) -> F::Output {
    LIST.scope(ListScope { path, query, fingerprint: std::cell::OnceCell::new() }, fut).await
}

/// A cursor: the position after which the next page starts and the list it belongs to.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor<K> {
    k: K,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<String>,
}

/// Encodes the position after which the next page starts (bound to the current list).
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    let cursor = Cursor { k: key, l: LIST.try_with(ListScope::fingerprint).ok() };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// Decodes a cursor produced by [`encode_cursor`] for the same list, sort and filters; a
/// cursor of another list (or of the same list with another sort or filter) is 422
/// `invalid_cursor`, never a silently empty page.
pub fn decode_cursor<K: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let decoded: Option<Cursor<K>> =
        URL_SAFE_NO_PAD.decode(c).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(decoded) = decoded else {
        return Err(ApiError::invalid(
            "cursor",
            "invalid_cursor",
            "not a cursor of this list; pass `next_cursor` back unchanged",
        ));
    };
    let current = LIST.try_with(ListScope::fingerprint).ok();
    if let (Some(made_for), Some(current)) = (&decoded.l, &current) {
        if made_for != current {
            return Err(ApiError::invalid(
                "cursor",
                "invalid_cursor",
                "the cursor belongs to another list, sort or filter: repeat the query of the first page \
                 with the cursor, or start again without one",
            ));
        }
    }
    Ok(Some(decoded.k))
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
