//! The PPH client: `GET {PPH_URL}/promotions/{promoCode}`.
//!
//! 404 is an unknown promotion (not retried); 5xx, 429, time-outs and connection failures are
//! retried with bounded backoff; a 200 whose body is not a promotion is malformed (not
//! retried). Wrap it in [`crate::ports::CachedPromotions`]: promotion data is static.

use std::sync::Arc;
use std::time::Instant;

use super::client::HttpCallError;
use super::retry::RetryPolicy;
use super::stats::CallStats;
use crate::error::Retryable;
use crate::model::Promotion;
use crate::ports::{PromotionError, PromotionSource};

/// Client of the promotion service.
#[derive(Clone)]
pub struct PphClient {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    retry: RetryPolicy,
    stats: Arc<CallStats>,
}

impl PphClient {
    /// A client of the service at `base_url`, sharing `client`'s connection pool.
    pub fn new(
        client: reqwest::Client,
        base_url: impl Into<String>,
        api_key: Option<String>,
        retry: RetryPolicy,
    ) -> Self {
        PphClient {
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

    async fn fetch_once(&self, url: &str) -> Result<Option<Promotion>, HttpCallError> {
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

/// Encodes a path segment (promo codes are free text).
pub(crate) fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

impl PromotionSource for PphClient {
    async fn promotion(&self, promo_code: &str) -> Result<Arc<Promotion>, PromotionError> {
        let url = format!("{}/promotions/{}", self.base_url, path_segment(promo_code));
        let started = Instant::now();
        let result = self.retry.run(|| self.fetch_once(&url)).await;
        self.stats.record(started.elapsed(), result.is_err());
        match result {
            Ok(Some(promotion)) => Ok(Arc::new(promotion)),
            Ok(None) => Err(PromotionError::Unknown {
                promo_code: promo_code.to_owned(),
            }),
            Err(error) if error.is_retryable() || matches!(error, HttpCallError::Status { .. }) => {
                // Other 4xx (401, 403…) are an operational fault, not bad data: fail the
                // invocation so the record comes again once it is fixed.
                Err(PromotionError::Unavailable {
                    promo_code: promo_code.to_owned(),
                    reason: error.to_string(),
                })
            }
            Err(error) => Err(PromotionError::Malformed {
                promo_code: promo_code.to_owned(),
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

    const PROMOTION: &str = r#"{"promoCode": "WEEKLY-SPINS", "promoName": "Weekly Spins",
        "promoUrl": "https://example.test/promo/weekly-spins", "tags": ["tim", "weekly"],
        "brand": "skybet", "rewardSchemes": [{"rewardSchemeId": "rs-100", "products": ["casino"],
        "rewardType": "FREE_SPINS", "productRewardType": "CASINO_FREE_SPINS",
        "tierDefinition": {"tiers": [{"threshold": 5, "reward": "10 free spins"}]},
        "expirationDate": "2026-11-23T23:59:59.000Z"}]}"#;

    fn client(url: &str) -> PphClient {
        let settings = HttpSettings {
            request_timeout: Duration::from_millis(200),
            ..HttpSettings::default()
        };
        let retry = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        PphClient::new(
            settings.build().expect("client"),
            url,
            Some("key".into()),
            retry,
        )
    }

    #[tokio::test]
    async fn ok_returns_the_promotion() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, PROMOTION)])
            .await
            .expect("server");
        let promotion = client(server.url())
            .promotion("WEEKLY-SPINS")
            .await
            .expect("promotion");
        assert_eq!(promotion.promo_name, "Weekly Spins");
        let requests = server.requests();
        assert_eq!(requests[0].path, "/promotions/WEEKLY-SPINS");
        assert_eq!(requests[0].header("x-api-key"), Some("key"));
    }

    #[tokio::test]
    async fn not_found_is_unknown_and_not_retried() {
        let server = ScriptedServer::start(vec![]).await.expect("server");
        let error = client(server.url())
            .promotion("NOPE")
            .await
            .expect_err("unknown");
        assert_eq!(
            error,
            PromotionError::Unknown {
                promo_code: "NOPE".into()
            }
        );
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn server_error_then_ok_is_retried() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::status(503),
            ScriptedResponse::json(200, PROMOTION),
        ])
        .await
        .expect("server");
        assert!(client(server.url()).promotion("WEEKLY-SPINS").await.is_ok());
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn time_outs_outlive_the_retries_as_unavailable() {
        let slow = ScriptedResponse::json(200, PROMOTION).delayed(Duration::from_millis(500));
        let server = ScriptedServer::start_with_fallback(vec![], slow)
            .await
            .expect("server");
        let error = client(server.url())
            .promotion("WEEKLY-SPINS")
            .await
            .expect_err("timeout");
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("timed out"), "{error}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn malformed_body_is_not_retried() {
        let server =
            ScriptedServer::start(vec![ScriptedResponse::json(200, r#"{"promoCode": 1}"#)])
                .await
                .expect("server");
        let error = client(server.url())
            .promotion("WEEKLY-SPINS")
            .await
            .expect_err("malformed");
        assert!(matches!(error, PromotionError::Malformed { .. }), "{error}");
        assert_eq!(server.requests().len(), 1);
    }

    #[test]
    fn promo_codes_are_path_encoded() {
        assert_eq!(path_segment("A B/C"), "A%20B%2FC");
    }
}
