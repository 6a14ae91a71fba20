//! The template source port (CSL), an in-memory source and a TTL cache over any source.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::{CacheStats, TtlCache};
use crate::error::Retryable;
use crate::model::MessageType;

/// A content template: title and body with `{{placeholders}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The title.
    pub title: String,
    /// The body.
    pub body: String,
}

/// Why a template could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// CSL answered with something that is not a template.
    #[error("malformed template {brand}/{message_type}/{locale}: {reason}")]
    Malformed {
        /// The brand.
        brand: String,
        /// The message type.
        message_type: MessageType,
        /// The locale.
        locale: String,
        /// What is wrong.
        reason: String,
    },
    /// CSL failed or timed out, even after retries.
    #[error("CSL unavailable for {brand}/{message_type}/{locale}: {reason}")]
    Unavailable {
        /// The brand.
        brand: String,
        /// The message type.
        message_type: MessageType,
        /// The locale.
        locale: String,
        /// The last failure.
        reason: String,
    },
}

impl TemplateError {
    /// CSL answered `query` with something that is not a template.
    pub fn malformed(query: TemplateQuery<'_>, reason: impl Into<String>) -> Self {
        TemplateError::Malformed {
            brand: query.brand.to_owned(),
            message_type: query.message_type,
            locale: query.locale.to_owned(),
            reason: reason.into(),
        }
    }

    /// CSL failed or timed out on `query`, even after retries.
    pub fn unavailable(query: TemplateQuery<'_>, reason: impl Into<String>) -> Self {
        TemplateError::Unavailable {
            brand: query.brand.to_owned(),
            message_type: query.message_type,
            locale: query.locale.to_owned(),
            reason: reason.into(),
        }
    }
}

impl Retryable for TemplateError {
    fn is_retryable(&self) -> bool {
        matches!(self, TemplateError::Unavailable { .. })
    }
}

/// Which template is wanted: the one of `brand`'s `message_type` messages in `locale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateQuery<'a> {
    /// The brand.
    pub brand: &'a str,
    /// The message type.
    pub message_type: MessageType,
    /// The locale, in any case.
    pub locale: &'a str,
}

impl<'a> TemplateQuery<'a> {
    /// The template of `brand`'s `message_type` messages in `locale`.
    pub fn new(brand: &'a str, message_type: MessageType, locale: &'a str) -> Self {
        TemplateQuery {
            brand,
            message_type,
            locale,
        }
    }

    /// The key the query is held under. Locales compare case-insensitively: the key holds
    /// the canonical case.
    fn key(self) -> TemplateKey {
        (
            self.brand.to_owned(),
            self.message_type,
            crate::locale::canonical(self.locale),
        )
    }
}

/// Where templates come from.
pub trait TemplateSource: Send + Sync {
    /// The template `query` asks for, or `None` when there is none for its locale.
    fn template(
        &self,
        query: TemplateQuery<'_>,
    ) -> impl Future<Output = Result<Option<Arc<Template>>, TemplateError>> + Send;
}

impl<S: TemplateSource + ?Sized> TemplateSource for Arc<S> {
    fn template(
        &self,
        query: TemplateQuery<'_>,
    ) -> impl Future<Output = Result<Option<Arc<Template>>, TemplateError>> + Send {
        (**self).template(query)
    }
}

type TemplateKey = (String, MessageType, String);

/// Templates held in memory (the local runner's CSL, and tests'). Locales match whatever
/// their case (`pt-br` finds a `pt-BR` template).
#[derive(Debug, Default)]
pub struct MemoryTemplates {
    templates: Mutex<HashMap<TemplateKey, Arc<Template>>>,
    calls: Mutex<u64>,
}

impl MemoryTemplates {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a template.
    pub fn insert(&self, brand: &str, message_type: MessageType, locale: &str, template: Template) {
        if let Ok(mut templates) = self.templates.lock() {
            let key = TemplateQuery::new(brand, message_type, locale).key();
            templates.insert(key, Arc::new(template));
        }
    }

    /// How many look-ups were made.
    pub fn calls(&self) -> u64 {
        self.calls.lock().map(|calls| *calls).unwrap_or(0)
    }
}

impl TemplateSource for MemoryTemplates {
    async fn template(
        &self,
        query: TemplateQuery<'_>,
    ) -> Result<Option<Arc<Template>>, TemplateError> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls += 1;
        }
        Ok(self
            .templates
            .lock()
            .ok()
            .and_then(|templates| templates.get(&query.key()).cloned()))
    }
}

/// A TTL cache over a template source. Both answers are cached, "no template for this
/// locale" included: BCG asks for the customer's locale before falling back to the brand's
/// default, and a missing locale would otherwise cost a CSL call per message. A template
/// published later is seen within the TTL. Failures are not cached.
pub struct CachedTemplates<S> {
    source: S,
    cache: TtlCache<TemplateKey, Option<Arc<Template>>>,
}

impl<S> CachedTemplates<S> {
    /// Caches `source`'s answers for `ttl`.
    pub fn new(source: S, ttl: Duration) -> Self {
        CachedTemplates {
            source,
            cache: TtlCache::new(ttl),
        }
    }

    /// Cache hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }
}

impl<S: TemplateSource> TemplateSource for CachedTemplates<S> {
    async fn template(
        &self,
        query: TemplateQuery<'_>,
    ) -> Result<Option<Arc<Template>>, TemplateError> {
        let key = query.key();
        if let Some(template) = self.cache.get(&key) {
            return Ok(template);
        }
        let template = self.source.template(query).await?;
        self.cache.insert(key, template.clone());
        Ok(template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template {
            title: "Keep going!".into(),
            body: "{{current}} of {{target}}".into(),
        }
    }

    #[tokio::test]
    async fn memory_templates_answer_by_brand_type_and_locale() {
        let source = MemoryTemplates::new();
        source.insert("skybet", MessageType::Progress, "en-GB", template());
        let found = source
            .template(TemplateQuery::new("skybet", MessageType::Progress, "en-GB"))
            .await
            .expect("ok");
        assert_eq!(found.as_deref(), Some(&template()));
        for (brand, kind, locale) in [
            ("skybet", MessageType::Progress, "de-DE"),
            ("skybet", MessageType::OptIn, "en-GB"),
            ("other", MessageType::Progress, "en-GB"),
        ] {
            assert_eq!(
                source
                    .template(TemplateQuery::new(brand, kind, locale))
                    .await,
                Ok(None)
            );
        }
        for locale in ["en-gb", "EN-GB", "en_GB"] {
            let found = source
                .template(TemplateQuery::new("skybet", MessageType::Progress, locale))
                .await
                .expect("ok");
            assert_eq!(found.as_deref(), Some(&template()), "{locale}");
        }
    }

    #[tokio::test]
    async fn cache_keeps_templates_and_absences() {
        let source = Arc::new(MemoryTemplates::new());
        source.insert("skybet", MessageType::Progress, "en-GB", template());
        let cached = CachedTemplates::new(Arc::clone(&source), Duration::from_secs(60));
        for _ in 0..3 {
            assert!(cached
                .template(TemplateQuery::new("skybet", MessageType::Progress, "en-GB"))
                .await
                .expect("ok")
                .is_some());
            assert!(cached
                .template(TemplateQuery::new("skybet", MessageType::Progress, "fr-FR"))
                .await
                .expect("ok")
                .is_none());
        }
        assert_eq!(source.calls(), 2);
        assert_eq!(cached.stats(), CacheStats { hits: 4, misses: 2 });
    }
}
