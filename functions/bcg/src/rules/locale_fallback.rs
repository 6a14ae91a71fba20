//! The locale fallback rule: BCG renders from the CSL template of the activity's locale (or
//! the default locale when the activity has none), and falls back to the brand's template for
//! the default locale when CSL has none for the activity's.
//!
//! Locales compare case-insensitively: `pt-br` finds the `pt-BR` template. A missing template
//! in both locales is a configuration gap in CSL, not a bad record: the record is retried (and
//! reaches the dead-letter queue through the queue's redrive policy if the gap outlives
//! `maxReceiveCount`) rather than dead-lettered at once.

use std::sync::Arc;

use rewards_shared::locale;
use rewards_shared::model::MessageType;
use rewards_shared::ports::{Template, TemplateQuery, TemplateSource};
use rewards_shared::sqs::RecordFailure;

/// The locales to try, in order: the activity's (canonical; the default when it has none or an
/// empty one), then the default one when it differs.
pub fn candidates(locale: Option<&str>, default_locale: &str) -> Vec<String> {
    let default = locale::canonical(default_locale);
    let locale = locale
        .map(locale::canonical)
        .filter(|locale| !locale.is_empty())
        .unwrap_or_else(|| default.clone());
    if locale == default {
        vec![locale]
    } else {
        vec![locale, default]
    }
}

/// The template of (`brand`, `message_type`) for the first of [`candidates`] CSL has. A CSL
/// failure, or no template in any candidate locale, is a [`RecordFailure::Retry`].
pub async fn template<T: TemplateSource>(
    templates: &T,
    brand: &str,
    message_type: MessageType,
    locale: Option<&str>,
    default_locale: &str,
) -> Result<Arc<Template>, RecordFailure> {
    let tried = candidates(locale, default_locale);
    for candidate in &tried {
        match templates
            .template(TemplateQuery::new(brand, message_type, candidate))
            .await
        {
            Ok(Some(template)) => {
                if *candidate != tried[0] {
                    tracing::info!(
                        locale = tried[0].as_str(),
                        fallback = candidate.as_str(),
                        "template fell back to the default locale"
                    );
                }
                return Ok(template);
            }
            Ok(None) => {}
            Err(error) => return Err(RecordFailure::retry(error)),
        }
    }
    tracing::error!(brand, message_type = %message_type, locales = ?tried, "no CSL template");
    Err(RecordFailure::retry(format!(
        "no template for {brand}/{message_type} in locale {}",
        tried.join(" or ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::ports::MemoryTemplates;

    #[test]
    fn the_activity_locale_comes_first_then_the_default() {
        assert_eq!(candidates(Some("fr-FR"), "en-GB"), vec!["fr-FR", "en-GB"]);
    }

    #[test]
    fn locales_are_canonical_and_the_default_is_tried_once() {
        assert_eq!(candidates(Some("de-de"), "en-GB"), vec!["de-DE", "en-GB"]);
        assert_eq!(candidates(Some("en-gb"), "en-GB"), vec!["en-GB"]);
        assert_eq!(candidates(None, "en-gb"), vec!["en-GB"]);
        assert_eq!(candidates(Some("  "), "en-GB"), vec!["en-GB"]);
    }

    fn templates() -> MemoryTemplates {
        let templates = MemoryTemplates::new();
        for (locale, title) in [("en-GB", "Keep going!"), ("de-DE", "Weiter so!")] {
            templates.insert(
                "skybet",
                MessageType::Progress,
                locale,
                Template {
                    title: title.into(),
                    body: String::new(),
                },
            );
        }
        templates
    }

    async fn title(locale: Option<&str>) -> Result<String, RecordFailure> {
        let template = template(
            &templates(),
            "skybet",
            MessageType::Progress,
            locale,
            "en-GB",
        )
        .await?;
        Ok(template.title.clone())
    }

    #[tokio::test]
    async fn a_missing_locale_falls_back_to_the_default_one() {
        assert_eq!(
            title(Some("de-de")).await.ok().as_deref(),
            Some("Weiter so!")
        );
        assert_eq!(
            title(Some("fr-FR")).await.ok().as_deref(),
            Some("Keep going!")
        );
        assert_eq!(title(None).await.ok().as_deref(), Some("Keep going!"));
    }

    #[tokio::test]
    async fn no_template_in_either_locale_is_retried() {
        let missing = template(
            &templates(),
            "skybet",
            MessageType::OptIn,
            Some("fr-FR"),
            "en-GB",
        )
        .await;
        assert!(
            matches!(missing, Err(RecordFailure::Retry { .. })),
            "{missing:?}"
        );
    }
}
