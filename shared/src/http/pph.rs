//! The PPH client: `GET {PPH_URL}/promotions/{promoCode}`.
//!
//! 404 is an unknown promotion (not retried); 5xx, 429, time-outs and connection failures are
//! retried with bounded backoff; a 200 whose body is not a promotion is malformed (not
//! retried). Wrap it in [`crate::ports::CachedPromotions`]: promotion data is static.

use std::sync::Arc;

use super::client::HttpCallError;
use super::service::{api_key_client, path_segment};
use crate::model::Promotion;
use crate::ports::{PromotionError, PromotionSource};

api_key_client!(
    /// Client of the promotion service.
    PphClient
);

impl PromotionSource for PphClient {
    async fn promotion(&self, promo_code: &str) -> Result<Arc<Promotion>, PromotionError> {
        let url = self
            .service
            .url(&format!("/promotions/{}", path_segment(promo_code)));
        let result = self.service.call(|| self.service.get_json(&url)).await;
        match result {
            Ok(Some(promotion)) => Ok(Arc::new(promotion)),
            Ok(None) => Err(PromotionError::Unknown {
                promo_code: promo_code.to_owned(),
            }),
            // A key the service rejects, or one whose secret cannot be read (missing, or no
            // permission): a configuration fault.
            Err(
                error @ (HttpCallError::AuthRejected { .. }
                | HttpCallError::ApiKey {
                    retryable: false, ..
                }),
            ) => Err(PromotionError::AuthRejected {
                promo_code: promo_code.to_owned(),
                reason: error.to_string(),
            }),
            Err(error @ HttpCallError::MalformedBody { .. }) => Err(PromotionError::Malformed {
                promo_code: promo_code.to_owned(),
                reason: error.to_string(),
            }),
            // Time-outs, 5xx, and other statuses (401, 403…: an operational fault, not bad
            // data): fail the invocation so the record comes again once it is fixed.
            Err(error) => Err(PromotionError::Unavailable {
                promo_code: promo_code.to_owned(),
                reason: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Retryable;
    use std::time::Duration;

    use super::*;
    use crate::testing::{ScriptedResponse, ScriptedServer};

    const PROMOTION: &str = r#"{"promoCode": "WEEKLY-SPINS", "promoName": "Weekly Spins",
        "promoUrl": "https://example.test/promo/weekly-spins", "tags": ["tim", "weekly"],
        "brand": "skybet", "rewardSchemes": [{"rewardSchemeId": "rs-100", "products": ["casino"],
        "rewardType": "FREE_SPINS", "productRewardType": "CASINO_FREE_SPINS",
        "tierDefinition": {"tiers": [{"threshold": 5, "reward": "10 free spins"}]},
        "expirationDate": "2026-11-23T23:59:59.000Z"}]}"#;

    /// Identifiers with every character that could break a URL path, and their encodings.
    const ODD_IDS: [(&str, &str); 6] = [
        ("WEEK#1", "WEEK%231"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("what?", "what%3F"),
        ("two words", "two%20words"),
        ("Ü-😀", "%C3%9C-%F0%9F%98%80"),
    ];

    fn client(url: &str) -> PphClient {
        let (client, retry) = crate::http::service::quick();
        PphClient::new(client, url, Some("key".into()), retry)
    }

    #[tokio::test]
    async fn an_unreadable_key_secret_is_a_configuration_fault_not_an_outage() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, PROMOTION)])
            .await
            .expect("server");
        let (client, retry) = crate::http::service::quick();
        let secrets: std::sync::Arc<dyn crate::secrets::SecretSource> =
            std::sync::Arc::new(crate::secrets::MemorySecrets::default());
        let pph = PphClient::new(client, server.url(), None, retry)
            .with_api_key(crate::secrets::ApiKey::from_secret(secrets, "missing"));
        let error = pph.promotion("WEEKLY-SPINS").await.expect_err("no key");
        assert!(
            matches!(error, PromotionError::AuthRejected { .. }),
            "{error:?}"
        );
        assert!(server.requests().is_empty(), "no call without the key");
        assert_eq!(pph.stats().drain().auth_rejected, 1, "alarmed");
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
    async fn odd_promo_codes_travel_percent_encoded_in_one_path_segment() {
        for (code, encoded) in ODD_IDS {
            let body = PROMOTION.replace("WEEKLY-SPINS", &code.replace('"', ""));
            let server = ScriptedServer::start(vec![ScriptedResponse::json(200, body)])
                .await
                .expect("server");
            let promotion = client(server.url())
                .promotion(code)
                .await
                .expect("promotion");
            assert_eq!(promotion.promo_code, code);
            assert_eq!(server.requests()[0].path, format!("/promotions/{encoded}"));
        }
    }

    #[tokio::test]
    async fn a_promotion_with_nulls_and_odd_tiers_reads() {
        let body = r#"{"promoCode": "P", "promoName": null, "promoUrl": null, "tags": null,
            "brand": "skybet", "rewardSchemes": [{"rewardSchemeId": "rs-1",
            "productRewardType": null, "tierDefinition": {"tiers": [{"threshold": 5.0,
            "reward": {"kind": "spins", "count": 10}}]}, "newField": [1]}]}"#;
        let server = ScriptedServer::start(vec![ScriptedResponse::json(200, body)])
            .await
            .expect("server");
        let promotion = client(server.url()).promotion("P").await.expect("reads");
        assert_eq!(promotion.promo_url, "");
        assert_eq!(promotion.reward_schemes[0].expiration_date, None);
        assert_eq!(
            promotion.reward_schemes[0]
                .tier_definition
                .first_threshold(),
            Some(5)
        );
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
            ScriptedServer::start(vec![ScriptedResponse::json(200, r#"{"promoCode": [1]}"#)])
                .await
                .expect("server");
        let error = client(server.url())
            .promotion("WEEKLY-SPINS")
            .await
            .expect_err("malformed");
        assert!(matches!(error, PromotionError::Malformed { .. }), "{error}");
        assert_eq!(server.requests().len(), 1);
    }
}
