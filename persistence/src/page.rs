//! Keyset pagination: a request says how many rows and after which sort key.

/// What page of a list to read.
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    /// At most this many items (the caller clamps it).
    pub limit: u32,
    /// Continue after this sort key (exclusive); `None` starts at the beginning.
    pub after: Option<K>,
}

/// One page of a list plus the key to continue after, if there is more.
#[derive(Debug, Clone)]
pub struct Page<T, K> {
    /// The rows of this page, in sort order.
    pub items: Vec<T>,
    /// Sort key of the last item when more rows follow.
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that more follow.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(&key) } else { None };
        Page { items: rows, next }
    }
}
