//! What every service client shares: one connection pool, the service's base URL, its API key,
//! a retry policy, call statistics, and an optional request signer. The PPH, CSL, OSG and DES
//! clients are each a [`Service`] plus the mapping of their own answers.
//!
//! The API key is added when a request is sent ([`Service::send`]). When it comes from a secret
//! and the service answers 401 or 403, the secret is read again and, if the key changed (it was
//! rotated), the request is sent once more with the new key; a 401/403 that remains is
//! [`HttpCallError::AuthRejected`], counted apart in the call statistics.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

use super::client::HttpCallError;
use super::retry::RetryPolicy;
use super::signer::RequestSigner;
use super::stats::CallStats;
use crate::error::Retryable;
use crate::secrets::{ApiKey, SecretError};

/// One HTTP service: where it is, how to authenticate, how patiently to call it.
#[derive(Clone)]
pub struct Service {
    client: reqwest::Client,
    base_url: String,
    api_key: ApiKey,
    retry: RetryPolicy,
    stats: Arc<CallStats>,
    signer: Option<Arc<dyn RequestSigner>>,
}

impl Service {
    /// The service at `base_url` (a trailing slash is dropped), sharing `client`'s pool; the
    /// API key, when given, goes in `x-api-key` (see [`Service::with_api_key`] for a key read
    /// from a secret).
    pub fn new(
        client: reqwest::Client,
        base_url: impl Into<String>,
        api_key: Option<String>,
        retry: RetryPolicy,
    ) -> Self {
        Service {
            client,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: ApiKey::from(api_key),
            retry,
            stats: Arc::new(CallStats::default()),
            signer: None,
        }
    }

    /// The same service, with `api_key` in `x-api-key` of each request.
    pub fn with_api_key(mut self, api_key: ApiKey) -> Self {
        self.api_key = api_key;
        self
    }

    /// The same service, each request signed by `signer` just before it is sent (each attempt
    /// anew).
    pub fn with_signer(mut self, signer: Arc<dyn RequestSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// `{base_url}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Latency and errors of the calls made.
    pub fn stats(&self) -> Arc<CallStats> {
        Arc::clone(&self.stats)
    }

    /// A request to `url` (the API key is added by [`Service::send`]).
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends a request to `url` with the API key, signed when the service has a signer,
    /// classifying transport failures. A 401/403 to a key read from a secret reads the secret
    /// again and, when the key was rotated, sends the request once more with the new key; a
    /// 401/403 that remains is [`HttpCallError::AuthRejected`].
    pub async fn send(
        &self,
        url: &str,
        request: RequestBuilder,
    ) -> Result<Response, HttpCallError> {
        let key = self.api_key.current().await.map_err(|e| {
            if !e.is_retryable() {
                // The secret is missing or not readable: as much a configuration fault as a
                // rejected key, and alarmed the same way.
                self.stats.record_auth_rejected();
            }
            key_error(url, &e)
        })?;
        let again = if self.api_key.is_refreshable() {
            request.try_clone()
        } else {
            None
        };
        let response = self.send_with_key(url, request, key.as_deref()).await?;
        if !rejects_credentials(&response) {
            return Ok(response);
        }
        let rotated = match (&key, again) {
            (Some(rejected), Some(again)) => self
                .api_key
                .after_rejection(rejected)
                .await
                .map_err(|e| key_error(url, &e))?
                .map(|key| (key, again)),
            _ => None,
        };
        let response = match rotated {
            Some((key, again)) => {
                tracing::info!(url, "API key rejected; sending again with the rotated key");
                self.send_with_key(url, again, Some(&key)).await?
            }
            None => response,
        };
        if rejects_credentials(&response) {
            self.stats.record_auth_rejected();
            return Err(HttpCallError::AuthRejected {
                url: url.to_owned(),
                status: response.status().as_u16(),
            });
        }
        Ok(response)
    }

    async fn send_with_key(
        &self,
        url: &str,
        request: RequestBuilder,
        key: Option<&str>,
    ) -> Result<Response, HttpCallError> {
        let request = match key {
            Some(key) => request.header("x-api-key", key),
            None => request,
        };
        let Some(signer) = &self.signer else {
            return request
                .send()
                .await
                .map_err(|e| HttpCallError::from_reqwest(url, &e));
        };
        let mut request = request
            .build()
            .map_err(|e| HttpCallError::from_reqwest(url, &e))?;
        signer
            .sign(&mut request)
            .await
            .map_err(|e| HttpCallError::Signing {
                url: url.to_owned(),
                reason: e.to_string(),
                retryable: e.is_retryable(),
            })?;
        self.client
            .execute(request)
            .await
            .map_err(|e| HttpCallError::from_reqwest(url, &e))
    }

    /// Runs `attempt` under the retry policy and records the call's latency and outcome.
    pub async fn call<T, F, Fut>(&self, attempt: F) -> Result<T, HttpCallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, HttpCallError>>,
    {
        let started = Instant::now();
        let result = self.retry.run(attempt).await;
        self.stats.record(started.elapsed(), result.is_err());
        result
    }

    /// One `GET` of a JSON resource: 200 parses the body, 404 is `None`, any other status an
    /// error.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<Option<T>, HttpCallError> {
        let request = self
            .request(Method::GET, url)
            .header("accept", "application/json");
        let response = self.send(url, request).await?;
        match response.status().as_u16() {
            200 => read_json(url, response).await.map(Some),
            404 => Ok(None),
            status => Err(HttpCallError::Status {
                url: url.to_owned(),
                status,
            }),
        }
    }
}

/// True for 401 and 403.
fn rejects_credentials(response: &Response) -> bool {
    matches!(response.status().as_u16(), 401 | 403)
}

fn key_error(url: &str, error: &SecretError) -> HttpCallError {
    HttpCallError::ApiKey {
        url: url.to_owned(),
        reason: error.to_string(),
        retryable: error.is_retryable(),
    }
}

/// Reads a response body as JSON of `T`.
pub async fn read_json<T: DeserializeOwned>(
    url: &str,
    response: Response,
) -> Result<T, HttpCallError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| HttpCallError::from_reqwest(url, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| HttpCallError::MalformedBody {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

/// Declares the client of a partner service that authenticates with an API key (PPH, CSL,
/// OSG): a [`Service`] and the constructor, key and statistics methods they all share. The
/// port it implements is written beside it.
macro_rules! api_key_client {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            service: $crate::http::service::Service,
        }

        impl $name {
            /// A client of the service at `base_url`, sharing `client`'s connection pool.
            pub fn new(
                client: reqwest::Client,
                base_url: impl Into<String>,
                api_key: Option<String>,
                retry: $crate::http::RetryPolicy,
            ) -> Self {
                $name {
                    service: $crate::http::service::Service::new(client, base_url, api_key, retry),
                }
            }

            /// A Lambda function's client of the service at `base_url`, sharing `client`'s
            /// connection pool, its API key read at run time from the secret
            /// `api_key_secret_arn` when one is configured, none otherwise (see
            /// [`crate::secrets::api_key_for_lambda`]).
            #[cfg(feature = "secrets")]
            pub fn for_lambda(
                client: reqwest::Client,
                base_url: impl Into<String>,
                api_key_secret_arn: Option<String>,
                retry: $crate::http::RetryPolicy,
                sdk: &aws_types::SdkConfig,
            ) -> Result<Self, $crate::http::SigningError> {
                let api_key =
                    $crate::secrets::api_key_for_lambda(api_key_secret_arn, &client, sdk)?;
                Ok($name::new(client, base_url, None, retry).with_api_key(api_key))
            }

            /// The same client, sending `api_key` (e.g. read from a secret at run time).
            pub fn with_api_key(mut self, api_key: $crate::secrets::ApiKey) -> Self {
                self.service = self.service.with_api_key(api_key);
                self
            }

            /// Latency and errors of the calls made.
            pub fn stats(&self) -> std::sync::Arc<$crate::http::CallStats> {
                self.service.stats()
            }
        }
    };
}
pub(crate) use api_key_client;

/// Encodes a path segment (promo codes, brands, locales and account ids are free text).
pub fn path_segment(text: &str) -> String {
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

/// A client and retry policy quick enough for tests against a scripted server: 200 ms per
/// request, three attempts a few milliseconds apart.
#[cfg(test)]
pub(crate) fn quick() -> (reqwest::Client, RetryPolicy) {
    let settings = super::HttpSettings {
        request_timeout: std::time::Duration::from_millis(200),
        ..super::HttpSettings::default()
    };
    let retry = RetryPolicy {
        attempts: 3,
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(5),
    };
    (settings.build().expect("test client"), retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("A B/C"), "A%20B%2FC");
        assert_eq!(path_segment("en-GB"), "en-GB");
    }

    #[test]
    fn base_url_loses_its_trailing_slash() {
        let (client, retry) = quick();
        let service = Service::new(client, "http://pph.test/", None, retry);
        assert_eq!(service.url("/promotions/X"), "http://pph.test/promotions/X");
    }
}
