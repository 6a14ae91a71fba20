//! The CSL client: `GET {CSL_URL}/templates/{brand}/{messageType}?locale={locale}`.
//!
//! 404 means CSL has no template for that locale (the caller falls back to the brand's
//! default locale); 5xx, 429, time-outs and connection failures are retried with bounded
//! backoff; a 200 whose body is not a template is malformed. Wrap it in
//! [`crate::ports::CachedTemplates`]: templates change rarely.

use std::sync::Arc;
use std::time::Instant;

use super::client::HttpCallError;
use super::pph::path_segment;
use super::retry::RetryPolicy;
use super::stats::CallStats;
use crate::error::Retryable;
use crate::model::MessageType;
use crate::ports::{Template, TemplateError, TemplateSource};

/// Client of the content service.
#[derive(Clone)]
pub struct CslClient {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    retry: RetryPolicy,
    stats: Arc<CallStats>,
}

impl CslClient {
    /// A client of the service at `base_url`, sharing `client`'s connection pool.
    pub fn new(
        client: reqwest::Client,
        base_url: impl Into<String>,
        api_key: Option<String>,
        retry: RetryPolicy,
    ) -> Self {
        CslClient {
            client,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key,
            retry,
            stats: Arc::new(CallStats::default()),
        }
    }

    /// Latency and errors of the calls made.
    pub fn stats(&self) -> Arc<CallStats> {
        Arc::clone(&self.stats)
    }

    async fn fetch_once(&self, url: &str) -> Result<Option<Template>, HttpCallError> {
        let mut request = self.client.get(url).header("accept", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("x-api-key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| HttpCallError::from_reqwest(url, &e))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(HttpCallError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| HttpCallError::from_reqwest(url, &e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HttpCallError::MalformedBody {
                url: url.to_owned(),
                reason: e.to_string(),
            })
    }
}

impl TemplateSource for CslClient {
    async fn template(
        &self,
        brand: &str,
        message_type: MessageType,
        locale: &str,
    ) -> Result<Option<Arc<Template>>, TemplateError> {
        let url = format!(
            "{}/templates/{}/{}?locale={}",
            self.base_url,
            path_segment(brand),
            message_type.as_str(),
            path_segment(locale)
        );
        let started = Instant::now();
        let result = self.retry.run(|| self.fetch_once(&url)).await;
        self.stats.record(started.elapsed(), result.is_err());
        match result {
            Ok(template) => Ok(template.map(Arc::new)),
            Err(error) if error.is_retryable() || matches!(error, HttpCallError::Status { .. }) => {
                Err(TemplateError::Unavailable {
                    brand: brand.to_owned(),
                    message_type,
                    locale: locale.to_owned(),
                    reason: error.to_string(),
                })
            }
            Err(error) => Err(TemplateError::Malformed {
                brand: brand.to_owned(),
                message_type,
                locale: locale.to_owned(),
                reason: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::http::HttpSettings;
    use crate::testing::{ScriptedResponse, ScriptedServer};

    const TEMPLATE: &str =
        r#"{"title": "Keep going!", "body": "{{current}} of {{target}} done in {{promoName}}"}"#;

    fn client(url: &str) -> CslClient {
        let settings = HttpSettings {
            request_timeout: Duration::from_millis(200),
            ..HttpSettings::default()
        };
        let retry = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        CslClient::new(
            settings.build().expect("client"),
            url,
            Some("key".into()),
            retry,
        )
    }

    #[tokio::test]
    async fn ok_returns_the_template() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, TEMPLATE)])
            .await
            .expect("server");
        let template = client(server.url())
            .template("skybet", MessageType::Progress, "en-GB")
            .await
            .expect("ok")
            .expect("some");
        assert_eq!(template.title, "Keep going!");
        let requests = server.requests();
        assert_eq!(requests[0].path, "/templates/skybet/PROGRESS?locale=en-GB");
        assert_eq!(requests[0].header("x-api-key"), Some("key"));
    }

    #[tokio::test]
    async fn not_found_is_no_template_for_the_locale() {
        let server = ScriptedServer::start(vec![]).await.expect("server");
        let found = client(server.url())
            .template("skybet", MessageType::OptIn, "fr FR")
            .await
            .expect("ok");
        assert!(found.is_none());
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/templates/skybet/OPT_IN?locale=fr%20FR");
    }

    #[tokio::test]
    async fn server_error_then_ok_is_retried() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::status(500),
            ScriptedResponse::json(200, TEMPLATE),
        ])
        .await
        .expect("server");
        assert!(client(server.url())
            .template("skybet", MessageType::Progress, "en-GB")
            .await
            .expect("ok")
            .is_some());
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn time_outs_outlive_the_retries_as_unavailable() {
        let slow = ScriptedResponse::json(200, TEMPLATE).delayed(Duration::from_millis(500));
        let server = ScriptedServer::start_with_fallback(vec![], slow)
            .await
            .expect("server");
        let error = client(server.url())
            .template("skybet", MessageType::Progress, "en-GB")
            .await
            .expect_err("timeout");
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("timed out"), "{error}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn malformed_body_is_not_retried() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, r#"{"title": 1}"#)])
            .await
            .expect("server");
        let error = client(server.url())
            .template("skybet", MessageType::Progress, "en-GB")
            .await
            .expect_err("malformed");
        assert!(matches!(error, TemplateError::Malformed { .. }), "{error}");
        assert_eq!(server.requests().len(), 1);
    }
}
