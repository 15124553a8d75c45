//! Reading every page of a store listing: the one loop over `next_cursor`
//! that callers use instead of writing their own.
//!
//! Rule: pages are read at the store's largest page size
//! (`ListQuery::MAX_LIMIT`), one after the other, never concurrently.

use tandem_store::{ListQuery, Page, StoreError};

/// Every page of a list.
pub async fn all<T, F, Fut>(base: ListQuery, mut list: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut q = ListQuery {
        limit: ListQuery::MAX_LIMIT,
        ..base
    };
    let mut out = Vec::new();
    loop {
        let page = list(q.clone()).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return Ok(out),
        }
    }
}
