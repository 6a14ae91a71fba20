//! The promotion source port (PPH), an in-memory source and a TTL cache over any source.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cache::TtlCache;
use crate::error::Retryable;
use crate::model::Promotion;

/// Why a promotion could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromotionError {
    /// PPH does not know the promotion (404): not retried.
    #[error("unknown promotion `{promo_code}`")]
    Unknown {
        /// The promotion asked for.
        promo_code: String,
    },
    /// PPH answered with something that is not a promotion: not retried.
    #[error("malformed promotion `{promo_code}`: {reason}")]
    Malformed {
        /// The promotion asked for.
        promo_code: String,
        /// What is wrong.
        reason: String,
    },
    /// PPH rejected DEC's credentials (401/403) even with the key read again from its secret:
    /// a configuration fault, not retried (the record is dead-lettered and replayed once fixed).
    #[error("PPH rejected the credentials for `{promo_code}`: {reason}")]
    AuthRejected {
        /// The promotion asked for.
        promo_code: String,
        /// The rejection.
        reason: String,
    },
    /// PPH failed or timed out, even after retries.
    #[error("PPH unavailable for `{promo_code}`: {reason}")]
    Unavailable {
        /// The promotion asked for.
        promo_code: String,
        /// The last failure.
        reason: String,
    },
}

impl Retryable for PromotionError {
    fn is_retryable(&self) -> bool {
        matches!(self, PromotionError::Unavailable { .. })
    }
}

/// Where promotion data comes from.
pub trait PromotionSource: Send + Sync {
    /// The promotion with this code.
    fn promotion(
        &self,
        promo_code: &str,
    ) -> impl Future<Output = Result<Arc<Promotion>, PromotionError>> + Send;
}

impl<S: PromotionSource + ?Sized> PromotionSource for Arc<S> {
    fn promotion(
        &self,
        promo_code: &str,
    ) -> impl Future<Output = Result<Arc<Promotion>, PromotionError>> + Send {
        (**self).promotion(promo_code)
    }
}

/// Promotions held in memory (the local runner's PPH, and tests').
#[derive(Debug, Default)]
pub struct MemoryPromotions {
    promotions: Mutex<HashMap<String, Arc<Promotion>>>,
    calls: Mutex<u64>,
}

impl MemoryPromotions {
    /// A source serving these promotions.
    pub fn new(promotions: impl IntoIterator<Item = Promotion>) -> Self {
        let source = MemoryPromotions::default();
        for promotion in promotions {
            source.insert(promotion);
        }
        source
    }

    /// Adds or replaces a promotion.
    pub fn insert(&self, promotion: Promotion) {
        if let Ok(mut promotions) = self.promotions.lock() {
            promotions.insert(promotion.promo_code.clone(), Arc::new(promotion));
        }
    }

    /// How many look-ups were made.
    pub fn calls(&self) -> u64 {
        self.calls.lock().map(|calls| *calls).unwrap_or(0)
    }
}

impl PromotionSource for MemoryPromotions {
    async fn promotion(&self, promo_code: &str) -> Result<Arc<Promotion>, PromotionError> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls += 1;
        }
        self.promotions
            .lock()
            .ok()
            .and_then(|promotions| promotions.get(promo_code).cloned())
            .ok_or_else(|| PromotionError::Unknown {
                promo_code: promo_code.to_owned(),
            })
    }
}

/// A TTL cache over a promotion source: promotion data is static, so a warm Lambda asks the
/// source once per promo code and TTL. Unknown promotions are not cached (a promotion may be
/// published after its first activity).
pub struct CachedPromotions<S> {
    source: S,
    cache: TtlCache<String, Arc<Promotion>>,
}

impl<S> CachedPromotions<S> {
    /// Caches `source`'s answers for `ttl`.
    pub fn new(source: S, ttl: Duration) -> Self {
        CachedPromotions {
            source,
            cache: TtlCache::new(ttl),
        }
    }

    /// Cache hits and misses so far.
    pub fn stats(&self) -> crate::cache::CacheStats {
        self.cache.stats()
    }
}

impl<S: PromotionSource> PromotionSource for CachedPromotions<S> {
    async fn promotion(&self, promo_code: &str) -> Result<Arc<Promotion>, PromotionError> {
        if let Some(promotion) = self.cache.get(promo_code) {
            return Ok(promotion);
        }
        let promotion = self.source.promotion(promo_code).await?;
        self.cache
            .insert(promo_code.to_owned(), Arc::clone(&promotion));
        Ok(promotion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixtures::promotion;

    #[tokio::test]
    async fn cache_asks_the_source_once_per_code() {
        let source = Arc::new(MemoryPromotions::new([promotion("A"), promotion("B")]));
        let cached = CachedPromotions::new(Arc::clone(&source), Duration::from_secs(60));
        for _ in 0..3 {
            cached.promotion("A").await.expect("A");
            cached.promotion("B").await.expect("B");
        }
        assert_eq!(source.calls(), 2);
        assert_eq!(cached.stats().hits, 4);
    }

    #[tokio::test]
    async fn unknown_promotions_are_not_cached() {
        let source = Arc::new(MemoryPromotions::new([]));
        let cached = CachedPromotions::new(Arc::clone(&source), Duration::from_secs(60));
        for _ in 0..2 {
            let error = cached.promotion("X").await.expect_err("unknown");
            assert!(!error.is_retryable());
        }
        source.insert(promotion("X"));
        assert!(cached.promotion("X").await.is_ok());
        assert_eq!(source.calls(), 3);
    }
}
