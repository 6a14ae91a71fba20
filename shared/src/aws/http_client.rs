//! The AWS SDK's HTTP client: reqwest on the process's one TLS configuration
//! ([`super::tls::client_config`]), the same stack the partner-service clients use.
//!
//! The SDK's own default client (hyper-rustls via `aws-smithy-http-client`) cannot be given a
//! rustls configuration: it loads the native roots itself and parses them again for every
//! connector it builds. This adapter lets DynamoDB, SQS and the credential providers share the
//! roots read once, and drops the SDK's second TLS and connection-pool stack from the binaries.
//!
//! What it keeps of the SDK's client:
//!
//! - **Time-outs**: the connector settings' connect and read time-outs become reqwest's; one
//!   reqwest client per distinct settings (in practice one), built when the SDK first asks for
//!   a connector and reused for every request. Attempt and operation time-outs stay the SDK's.
//! - **Error kinds**, which the SDK's retry classifier reads: a time-out is `timeout`, a failure
//!   to connect or any I/O error on the connection is `io` (both retried), a request reqwest
//!   cannot build is `user` (not retried), any other transport failure (the connection closed
//!   before the whole response) is a transient `other`, retried as the SDK retries hyper's
//!   `IncompleteMessage`.
//! - **No redirects, no proxy from the environment** (the SDK's client follows neither), HTTP/1.1
//!   with connection reuse, `TCP_NODELAY`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use super::tls;

/// How long an idle pooled connection is kept (the SDK's client kept them 90 s).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The SDK's HTTP client, on the shared TLS configuration.
pub fn shared_http_client() -> SharedHttpClient {
    SharedHttpClient::new(ReqwestHttpClient::default())
}

/// Hands the SDK one connector per distinct connector settings.
#[derive(Debug, Default)]
struct ReqwestHttpClient {
    connectors: Mutex<Vec<(Key, SharedHttpConnector)>>,
}

/// The settings a connector is built for.
type Key = (Option<Duration>, Option<Duration>);

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(ReqwestConnector::new(key));
        connectors.push((key, connector.clone()));
        connector
    }

    fn validate_base_client_config(
        &self,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder,
        _cfg: &aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        // As the SDK's own client does: read the trust roots while the client is being set up
        // (before the first invocation), and fail there if there are none.
        tls::client_config()?;
        Ok(())
    }
}

/// One reqwest client, or why it could not be built (reported by every call).
#[derive(Debug, Clone)]
struct ReqwestConnector {
    client: Result<reqwest::Client, Arc<str>>,
}

impl ReqwestConnector {
    fn new((connect_timeout, read_timeout): Key) -> Self {
        let client = tls::client_config()
            .map_err(|e| e.to_string())
            .and_then(|config| {
                let mut builder = reqwest::Client::builder()
                    .tls_backend_preconfigured((*config).clone())
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                    .tcp_nodelay(true);
                if let Some(timeout) = connect_timeout {
                    builder = builder.connect_timeout(timeout);
                }
                if let Some(timeout) = read_timeout {
                    builder = builder.read_timeout(timeout);
                }
                builder.build().map_err(|e| e.to_string())
            });
        ReqwestConnector {
            client: client.map_err(Arc::from),
        }
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(reason) => {
                let reason = reason.to_string();
                return HttpConnectorFuture::ready(Err(ConnectorError::user(reason.into())));
            }
        };
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(request)?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let response = http::Response::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK's request as reqwest's. An in-memory body (every DynamoDB and SQS request) is
/// handed over as bytes, so reqwest sets its length; a streaming one is wrapped.
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let body = match body.bytes() {
        Some(bytes) => reqwest::Body::from(bytes.to_vec()),
        None => reqwest::Body::wrap(body),
    };
    reqwest::Request::try_from(http::Request::from_parts(parts, body))
        .map_err(|e| ConnectorError::user(e.into()))
}

/// The SDK's kind of a reqwest failure (see the module documentation).
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_builder() {
        ConnectorError::user(error.into())
    } else if error.is_connect() {
        ConnectorError::io(error.into()).never_connected()
    } else if has_io_source(&error) {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), Some(ErrorKind::TransientError))
    }
}

/// True when an `std::io::Error` is in `error`'s chain (a reset or broken connection).
fn has_io_source(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = error.source();
    while let Some(source) = next {
        if source.is::<std::io::Error>() {
            return true;
        }
        next = source.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn components() -> RuntimeComponents {
        RuntimeComponentsBuilder::for_tests()
            .build()
            .expect("test components")
    }

    fn settings(connect_ms: u64) -> HttpConnectorSettings {
        HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_millis(connect_ms))
            .build()
    }

    #[test]
    fn one_connector_per_settings() {
        let client = ReqwestHttpClient::default();
        let components = components();
        let a = client.http_connector(&settings(1000), &components);
        let b = client.http_connector(&settings(1000), &components);
        let c = client.http_connector(&settings(500), &components);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(client.connectors.lock().expect("lock").len(), 2);
        drop(c);
    }

    /// A server on 127.0.0.1 that answers one request with `answer` and returns what it read.
    async fn one_shot(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut read = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let n = socket.read(&mut buffer).await.expect("read");
                read.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&read);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if read.len() >= end + 4 + length || n == 0 {
                        break;
                    }
                }
            }
            socket.write_all(answer.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&read).into_owned()
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_request_goes_out_and_its_response_comes_back() {
        let (url, server) = one_shot(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
             content-length: 2\r\nx-amzn-requestid: r1\r\n\r\n{}",
        )
        .await;
        let connector = ReqwestConnector::new((Some(Duration::from_secs(1)), None));
        let mut request = HttpRequest::new(SdkBody::from(r#"{"TableName":"t"}"#));
        request.set_uri(url.as_str()).expect("uri");
        request.set_method("POST").expect("method");
        request
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.GetItem");
        let response = connector.call(request).await.expect("response");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("r1"));
        let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
            .collect()
            .await
            .expect("body");
        assert_eq!(&body.into_bytes()[..], b"{}");
        let seen = server.await.expect("server");
        assert!(seen.starts_with("POST / HTTP/1.1\r\n"), "{seen}");
        assert!(
            seen.contains("x-amz-target: DynamoDB_20120810.GetItem"),
            "{seen}"
        );
        assert!(seen.contains("content-length: 17"), "{seen}");
        assert!(seen.ends_with(r#"{"TableName":"t"}"#), "{seen}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        drop(listener);
        let connector = ReqwestConnector::new((Some(Duration::from_secs(1)), None));
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(url.as_str()).expect("uri");
        let error = connector.call(request).await.expect_err("refused");
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let _held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(socket);
        });
        let connector = ReqwestConnector::new((
            Some(Duration::from_secs(1)),
            Some(Duration::from_millis(100)),
        ));
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(url.as_str()).expect("uri");
        let error = connector.call(request).await.expect_err("silent");
        assert!(error.is_timeout(), "{error:?}");
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_response_is_retryable() {
        let (url, server) = one_shot("").await;
        let connector = ReqwestConnector::new((Some(Duration::from_secs(1)), None));
        let mut request = HttpRequest::new(SdkBody::from("x"));
        request.set_uri(url.as_str()).expect("uri");
        request.set_method("POST").expect("method");
        let error = connector.call(request).await.expect_err("closed");
        server.await.expect("server");
        assert!(
            error.is_io() || error.as_other() == Some(ErrorKind::TransientError),
            "{error:?}"
        );
    }

    /// Both clients on the shared TLS configuration, against a real TLS server, by hand:
    ///
    /// ```text
    /// SSL_CERT_FILE=ca.pem REWARDS_TLS_CHECK_URL=https://localhost:8443/ \
    ///   cargo test -p rewards-shared --lib tls_check -- --ignored
    /// ```
    ///
    /// `REWARDS_TLS_CHECK_EXPECT=refused` expects both to refuse the server's certificate (a
    /// trust store without its CA).
    #[tokio::test]
    #[ignore = "needs a TLS server and its CA (REWARDS_TLS_CHECK_URL, SSL_CERT_FILE)"]
    async fn tls_check() {
        let url = std::env::var("REWARDS_TLS_CHECK_URL").expect("REWARDS_TLS_CHECK_URL");
        let refused = std::env::var("REWARDS_TLS_CHECK_EXPECT").as_deref() == Ok("refused");
        let partner = crate::http::HttpSettings::default()
            .build()
            .expect("client");
        let answer = partner.get(&url).send().await;
        let connector = ReqwestConnector::new((Some(Duration::from_secs(2)), None));
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(url.as_str()).expect("uri");
        let sdk = connector.call(request).await;
        if refused {
            let error = answer.expect_err("partner client refuses");
            assert!(format!("{error:?}").contains("UnknownIssuer"), "{error:?}");
            let error = sdk.expect_err("SDK client refuses");
            assert!(format!("{error:?}").contains("UnknownIssuer"), "{error:?}");
        } else {
            assert!(answer.expect("partner client").status().as_u16() < 500);
            assert!(sdk.expect("SDK client").status().as_u16() < 500);
        }
    }
}
