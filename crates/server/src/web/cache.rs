//! A short-lived cache of what the heavy pages compute (forecasts, charts,
//! delivery metrics), so that many people opening the overview at once cost
//! one computation, not one each.
//!
//! - Entries live [`TTL`]; a page is at most that old. Who is looking (the
//!   header, the CSRF token) and anything a form changes (report drafts) is
//!   never cached.
//! - Concurrent requests for a missing or expired entry wait for one
//!   computation (a `OnceCell` per entry) instead of all computing it.
//! - A failed computation is not cached: the next request tries again.
//! - Per process: replicas each keep their own; nothing is shared.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// How long a page's data is reused.
pub const TTL: Duration = Duration::from_secs(30);

/// Entries beyond this many are dropped (oldest first) on insert.
const MAX_ENTRIES: usize = 1000;

type Slot = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

#[derive(Debug, Default, Clone)]
pub struct PageCache {
    entries: Arc<Mutex<HashMap<String, (Instant, Slot)>>>,
}

impl PageCache {
    /// Forgets every entry: a form of this process changed what pages show
    /// (a decision moved a goal), so the next request computes afresh.
    /// Other replicas keep theirs until [`TTL`].
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The value cached under `key`, computing it with `make` when missing
    /// or older than [`TTL`].
    pub async fn get_or_try<T, E, F, Fut>(&self, key: String, make: F) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let slot = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match entries.get(&key) {
                Some((at, slot)) if now.duration_since(*at) < TTL => slot.clone(),
                _ => {
                    if entries.len() >= MAX_ENTRIES {
                        entries.retain(|_, (at, _)| now.duration_since(*at) < TTL);
                        if entries.len() >= MAX_ENTRIES {
                            entries.clear();
                        }
                    }
                    let slot: Slot = Arc::default();
                    entries.insert(key.clone(), (now, slot.clone()));
                    slot
                }
            }
        };
        let value = slot
            .get_or_try_init(|| async {
                make()
                    .await
                    .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>)
            })
            .await;
        match value {
            Ok(v) => Ok(v
                .clone()
                .downcast::<T>()
                .unwrap_or_else(|_| unreachable!("one key, one type: {key}"))),
            Err(e) => {
                // Do not keep a failure: the next request computes again.
                let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
                if entries
                    .get(&key)
                    .is_some_and(|(_, s)| Arc::ptr_eq(s, &slot))
                {
                    entries.remove(&key);
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_computation_for_concurrent_requests_and_failures_are_not_kept() {
        let cache = PageCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, runs) = (cache.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_try("k".into(), || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(42u32)
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(*t.await.unwrap().unwrap(), 42);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let failed: Result<Arc<u32>, &str> =
            cache.get_or_try("f".into(), || async { Err("no") }).await;
        assert!(failed.is_err());
        let ok: Result<Arc<u32>, &str> = cache.get_or_try("f".into(), || async { Ok(7) }).await;
        assert_eq!(*ok.unwrap(), 7);
    }
}
