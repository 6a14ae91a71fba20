//! The Secrets Manager adapter: `GetSecretValue` as one SigV4-signed JSON call, on the process's
//! HTTP client (no SDK crate for one operation).
//!
//! The endpoint is `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else the SDK configuration's
//! `AWS_ENDPOINT_URL` (moto in tests), else `https://secretsmanager.{region}.amazonaws.com`.

use std::sync::Arc;

use aws_types::SdkConfig;
use futures::future::BoxFuture;
use reqwest::Method;

use super::{SecretError, SecretSource};
use crate::http::{RequestSigner, SigV4Signer, SigningError};

/// The service name Secrets Manager requests are signed for.
pub const SERVICE: &str = "secretsmanager";

/// Client of the Secrets Manager API.
#[derive(Clone)]
pub struct SecretsManager {
    client: reqwest::Client,
    endpoint: String,
    signer: Arc<SigV4Signer>,
}

impl SecretsManager {
    /// A client of the API at `endpoint`, signing with `signer`.
    pub fn new(
        client: reqwest::Client,
        endpoint: impl Into<String>,
        signer: Arc<SigV4Signer>,
    ) -> Self {
        SecretsManager {
            client,
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            signer,
        }
    }

    /// A client with the region, credentials and endpoint of `config` (see the module's
    /// documentation for the endpoint).
    pub fn from_sdk_config(
        client: reqwest::Client,
        config: &SdkConfig,
    ) -> Result<Self, SigningError> {
        let signer = SigV4Signer::from_sdk_config(config, SERVICE)?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .ok()
            .filter(|url| !url.is_empty())
            .or_else(|| config.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| format!("https://secretsmanager.{}.amazonaws.com", signer.region()));
        Ok(SecretsManager::new(client, endpoint, Arc::new(signer)))
    }

    /// One Secrets Manager API call (`action` like `GetSecretValue`, `PutSecretValue`) with a
    /// JSON `body`; its JSON answer.
    pub async fn call(
        &self,
        secret_id: &str,
        action: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, SecretError> {
        let unavailable = |reason: String| SecretError::Unavailable {
            secret_id: secret_id.to_owned(),
            reason,
        };
        let mut request = self
            .client
            .request(Method::POST, format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("secretsmanager.{action}"))
            .body(body.to_string())
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        self.signer
            .sign(&mut request)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if status == 200 {
            return Ok(json);
        }
        let kind = json
            .get("__type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unknown error");
        let reason = format!("status {status}, {kind}");
        if status >= 500 || status == 429 || kind.contains("Throttling") {
            Err(unavailable(reason))
        } else {
            Err(SecretError::Denied {
                secret_id: secret_id.to_owned(),
                reason,
            })
        }
    }
}

impl SecretSource for SecretsManager {
    fn secret_string<'a>(
        &'a self,
        secret_id: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            let body = serde_json::json!({ "SecretId": secret_id });
            let answer = self.call(secret_id, "GetSecretValue", &body).await?;
            answer
                .get("SecretString")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| SecretError::Malformed {
                    secret_id: secret_id.to_owned(),
                    reason: "no SecretString (binary secrets are not supported)".to_owned(),
                })
        })
    }
}
