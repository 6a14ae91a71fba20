//! The OSG client: `POST {OSG_URL}/customers/{accountId}/messages`.
//!
//! The body is the [`OnsiteMessage`]; `Idempotency-Key` is its `messageId` (OSG shows a
//! message once however often it is posted) and `x-correlation-id` the chain's correlation
//! id. 200 (any 2xx) is delivered, 404 not onsite; 5xx, 429, time-outs and connection failures
//! are retried with bounded backoff and then reported as unavailable; any other status is a
//! rejection. The response body is not read.

use reqwest::Method;

use super::client::HttpCallError;
use super::service::{api_key_client, path_segment};
use crate::error::Retryable;
use crate::model::OnsiteMessage;
use crate::ports::{Delivery, OnsiteError, OnsiteGateway};

api_key_client!(
    /// Client of the onsite gateway.
    OsgClient
);

impl OsgClient {
    async fn post_once(
        &self,
        url: &str,
        message: &OnsiteMessage,
        body: &str,
    ) -> Result<Delivery, HttpCallError> {
        let request = self
            .service
            .request(Method::POST, url)
            .header("content-type", "application/json")
            .header("idempotency-key", message.message_id.as_str())
            .header("x-correlation-id", message.correlation_id.as_str())
            .body(body.to_owned());
        let status = self.service.send(url, request).await?.status();
        if status.is_success() {
            Ok(Delivery::Delivered)
        } else if status.as_u16() == 404 {
            Ok(Delivery::NotOnsite)
        } else {
            Err(HttpCallError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            })
        }
    }
}

impl OnsiteGateway for OsgClient {
    async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
        let url = self.service.url(&format!(
            "/customers/{}/messages",
            path_segment(&message.account_id)
        ));
        let body = serde_json::to_string(message).map_err(|e| OnsiteError::Rejected {
            message_id: message.message_id.clone(),
            reason: e.to_string(),
        })?;
        let result = self
            .service
            .call(|| self.post_once(&url, message, &body))
            .await;
        result.map_err(|error| {
            if error.is_retryable() {
                OnsiteError::Unavailable {
                    message_id: message.message_id.clone(),
                    reason: error.to_string(),
                }
            } else {
                OnsiteError::Rejected {
                    message_id: message.message_id.clone(),
                    reason: error.to_string(),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{DeliveryFormat, MessageType};
    use crate::testing::{ScriptedResponse, ScriptedServer};

    /// Identifiers with every character that could break a URL path, and their encodings.
    const ODD_IDS: [(&str, &str); 6] = [
        ("WEEK#1", "WEEK%231"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("what?", "what%3F"),
        ("two words", "two%20words"),
        ("Ü-😀", "%C3%9C-%F0%9F%98%80"),
    ];

    fn client(url: &str) -> OsgClient {
        let (client, retry) = crate::http::service::quick();
        OsgClient::new(client, url, Some("key".into()), retry)
    }

    fn message() -> OnsiteMessage {
        OnsiteMessage {
            message_id: "msg-1".into(),
            account_id: "10048213".into(),
            brand: "skybet".into(),
            message_type: MessageType::Progress,
            format: DeliveryFormat::Toast,
            title: "Keep going!".into(),
            body: "3 of 5".into(),
            promo_code: "WEEKLY-SPINS".into(),
            promo_url: "https://example.test/promo".into(),
            correlation_id: "corr-1".into(),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn odd_account_ids_travel_percent_encoded_in_one_path_segment() {
        for (account, encoded) in ODD_IDS {
            let server = ScriptedServer::start(vec![ScriptedResponse::status(200)])
                .await
                .expect("server");
            let mut odd = message();
            odd.account_id = account.into();
            assert_eq!(
                client(server.url()).deliver(&odd).await,
                Ok(Delivery::Delivered)
            );
            assert_eq!(
                server.requests()[0].path,
                format!("/customers/{encoded}/messages")
            );
        }
    }

    #[tokio::test]
    async fn ok_is_delivered_with_idempotency_key_and_correlation_id() {
        let server = ScriptedServer::start(vec![ScriptedResponse::status(200)])
            .await
            .expect("server");
        assert_eq!(
            client(server.url()).deliver(&message()).await,
            Ok(Delivery::Delivered)
        );
        let requests = server.requests();
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/customers/10048213/messages");
        assert_eq!(requests[0].header("idempotency-key"), Some("msg-1"));
        assert_eq!(requests[0].header("x-correlation-id"), Some("corr-1"));
        assert_eq!(requests[0].header("x-api-key"), Some("key"));
        let sent: OnsiteMessage = serde_json::from_str(&requests[0].body).expect("json");
        assert_eq!(sent, message());
    }

    #[tokio::test]
    async fn not_found_is_not_onsite_and_not_retried() {
        let server = ScriptedServer::start(vec![]).await.expect("server");
        assert_eq!(
            client(server.url()).deliver(&message()).await,
            Ok(Delivery::NotOnsite)
        );
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn server_error_then_ok_is_retried_with_the_same_key() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::status(503),
            ScriptedResponse::status(200),
        ])
        .await
        .expect("server");
        assert_eq!(
            client(server.url()).deliver(&message()).await,
            Ok(Delivery::Delivered)
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].header("idempotency-key"), Some("msg-1"));
    }

    #[tokio::test]
    async fn persistent_server_errors_are_unavailable_after_the_retries() {
        let server = ScriptedServer::start_with_fallback(vec![], ScriptedResponse::status(500))
            .await
            .expect("server");
        let error = client(server.url())
            .deliver(&message())
            .await
            .expect_err("5xx");
        assert!(error.is_retryable(), "{error}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn time_outs_outlive_the_retries_as_unavailable() {
        let slow = ScriptedResponse::status(200).delayed(Duration::from_millis(500));
        let server = ScriptedServer::start_with_fallback(vec![], slow)
            .await
            .expect("server");
        let error = client(server.url())
            .deliver(&message())
            .await
            .expect_err("timeout");
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("timed out"), "{error}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn other_client_errors_are_rejected_and_the_body_is_ignored() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::json(200, "not json at all"),
            ScriptedResponse::status(422),
        ])
        .await
        .expect("server");
        let osg = client(server.url());
        assert_eq!(osg.deliver(&message()).await, Ok(Delivery::Delivered));
        let error = osg.deliver(&message()).await.expect_err("422");
        assert!(matches!(error, OnsiteError::Rejected { .. }), "{error}");
        assert_eq!(server.requests().len(), 2);
    }
}
