//! AWS Signature Version 4 for HTTP calls to AWS endpoints that no SDK client makes: FRED's
//! `POST {DES_URL}/decisions` to DES's function URL (`AuthType: AWS_IAM`, service `lambda`).
//!
//! - The region and the credentials come from the SDK configuration loaded once per cold start
//!   ([`crate::aws::sdk_config`]): the region from `AWS_REGION`, the credentials from the
//!   environment (in Lambda, the function role's session credentials; [`crate::aws::environment`]).
//! - Credentials are cached and fetched again once they expire within [`REFRESH_MARGIN`];
//!   credentials without an expiry are kept for the life of the process.
//! - The canonical request covers the method, the URL, every header set when the request is
//!   signed (`host` included) and the body's SHA-256; `x-amz-date` and `authorization` are
//!   added, and `x-amz-security-token` (signed too) for session credentials.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_types::SdkConfig;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use tokio::sync::Mutex;

use super::signer::{RequestSigner, SigningError};

/// Credentials expiring sooner than this are fetched again before signing.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The service name Lambda function URLs are signed for.
pub const LAMBDA_SERVICE: &str = "lambda";

/// Signs requests with SigV4 for one service in one region.
#[derive(Debug)]
pub struct SigV4Signer {
    service: String,
    region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl SigV4Signer {
    /// A signer for `service` in `region`, with credentials from `provider`.
    pub fn new(
        provider: impl ProvideCredentials + 'static,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        SigV4Signer {
            service: service.into(),
            region: region.into(),
            provider: SharedCredentialsProvider::new(provider),
            cached: Mutex::new(None),
        }
    }

    /// A signer for `service` with the region and the credentials provider of `config`; an
    /// error when it has either none.
    pub fn from_sdk_config(config: &SdkConfig, service: &str) -> Result<Self, SigningError> {
        let missing = |what: &str| SigningError::Config {
            service: service.to_owned(),
            reason: format!("the AWS SDK configuration has no {what} (set AWS_REGION)"),
        };
        let region = config.region().ok_or_else(|| missing("region"))?;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| missing("credentials provider"))?;
        Ok(SigV4Signer::new(provider, region.as_ref(), service))
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The cached credentials, or new ones from the provider when there are none yet or they
    /// expire within [`REFRESH_MARGIN`].
    pub async fn credentials(&self) -> Result<Credentials, SigningError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref().filter(|c| fresh(c, SystemTime::now())) {
            return Ok(credentials.clone());
        }
        let credentials =
            self.provider
                .provide_credentials()
                .await
                .map_err(|e| SigningError::Credentials {
                    service: self.service.clone(),
                    reason: e.to_string(),
                })?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Signs `request` with `credentials` as of `time` and returns the signature (hex).
    pub fn sign_with(
        &self,
        request: &mut reqwest::Request,
        credentials: &Credentials,
        time: SystemTime,
    ) -> Result<String, SigningError> {
        let url = request.url().as_str().to_owned();
        let invalid = |reason: String| SigningError::Request {
            url: url.clone(),
            service: self.service.clone(),
            reason,
        };
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| {
                value
                    .to_str()
                    .map(|value| (name.as_str(), value))
                    .map_err(|_| invalid(format!("header `{name}` is not visible ASCII")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = match request.body() {
            None => SignableBody::Bytes(&[]),
            Some(body) => SignableBody::Bytes(
                body.as_bytes()
                    .ok_or_else(|| invalid("the body is a stream".to_owned()))?,
            ),
        };
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| invalid(e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            request.method().as_str(),
            url.as_str(),
            headers.into_iter(),
            body,
        )
        .map_err(|e| invalid(e.to_string()))?;
        let (instructions, signature) = sign(signable, &params)
            .map_err(|e| invalid(e.to_string()))?
            .into_parts();
        let (headers, _query) = instructions.into_parts();
        for header in headers {
            let name = HeaderName::from_bytes(header.name().as_bytes())
                .map_err(|e| invalid(e.to_string()))?;
            let mut value =
                HeaderValue::from_str(header.value()).map_err(|e| invalid(e.to_string()))?;
            value.set_sensitive(header.sensitive());
            request.headers_mut().insert(name, value);
        }
        Ok(signature)
    }
}

impl RequestSigner for SigV4Signer {
    fn sign<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<(), SigningError>> {
        Box::pin(async move {
            let credentials = self.credentials().await?;
            self.sign_with(request, &credentials, SystemTime::now())
                .map(drop)
        })
    }
}

/// True when `credentials` do not expire within [`REFRESH_MARGIN`] of `now`.
fn fresh(credentials: &Credentials, now: SystemTime) -> bool {
    credentials
        .expiry()
        .is_none_or(|expiry| expiry > now + REFRESH_MARGIN)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use aws_credential_types::provider::future;

    use super::*;
    use crate::http::des::HAS_DECISION;
    use crate::http::DesClient;
    use crate::testing::{RecordedRequest, ScriptedResponse, ScriptedServer};

    const ACCESS_KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// A provider that counts its calls and hands out credentials valid for `valid_for`.
    #[derive(Debug)]
    struct Counting {
        calls: AtomicU32,
        valid_for: Option<Duration>,
        token: Option<&'static str>,
    }

    impl Counting {
        fn new(valid_for: Option<Duration>, token: Option<&'static str>) -> Arc<Self> {
            Arc::new(Counting {
                calls: AtomicU32::new(0),
                valid_for,
                token,
            })
        }
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                ACCESS_KEY,
                SECRET,
                self.token.map(str::to_owned),
                self.valid_for.map(|d| SystemTime::now() + d),
                "test",
            )))
        }
    }

    fn signer(provider: Arc<Counting>) -> SigV4Signer {
        let provider: Arc<dyn ProvideCredentials> = provider;
        SigV4Signer::new(provider, "eu-west-1", LAMBDA_SERVICE)
    }

    fn decided() -> ScriptedResponse {
        ScriptedResponse::json(200, r#"{"hasDecision": true, "decisions": []}"#)
            .with_header(HAS_DECISION, "true")
    }

    fn envelope() -> crate::envelope::Envelope<crate::model::RewardMessage> {
        use crate::envelope::{Envelope, EventType, StageTimestamps};
        use crate::model::MessageType;
        use crate::stage::Stage;
        let now = "2026-11-16T09:30:01Z".parse().expect("date");
        Envelope {
            id: "ev-1".into(),
            source: Stage::Tim.source().into(),
            event_type: EventType::Relevant,
            subject: "10048213".into(),
            time: now,
            brand: "skybet".into(),
            correlation_id: "corr-1".into(),
            timestamps: StageTimestamps::from_origin(now),
            data: crate::testing::fixtures::reward_message(MessageType::Progress, &["FREE_SPINS"]),
        }
    }

    async fn decide_through(signer: Option<Arc<SigV4Signer>>) -> Vec<RecordedRequest> {
        use crate::ports::DecisionService;
        let server = ScriptedServer::start(vec![decided()])
            .await
            .expect("server");
        let (client, retry) = crate::http::service::quick();
        let mut des = DesClient::new(client, server.url(), retry);
        if let Some(signer) = signer {
            des = des.with_signer(signer);
        }
        des.decide(&envelope()).await.expect("decided");
        server.requests()
    }

    /// Signs the request the server received again, as Lambda does on its side, from the
    /// headers the authorization header names and the date it carries.
    fn signature_of_received(request: &RecordedRequest, token: Option<&str>) -> String {
        let authorization = request.header("authorization").expect("authorization");
        let signed: Vec<&str> = authorization
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .expect("signed headers")
            .split(';')
            .collect();
        let date = request.header("x-amz-date").expect("x-amz-date");
        let time = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
            .expect("date format")
            .and_utc();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(time.timestamp() as u64);
        let url = format!(
            "http://{}{}",
            request.header("host").expect("host"),
            request.path
        );
        let mut replay = reqwest::Request::new(
            request.method.parse().expect("method"),
            url.parse().expect("url"),
        );
        for (name, value) in &request.headers {
            let added_by_signing = ["authorization", "x-amz-date", "x-amz-security-token"];
            if signed.contains(&name.as_str()) && !added_by_signing.contains(&name.as_str()) {
                replay.headers_mut().insert(
                    HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    HeaderValue::from_str(value).expect("value"),
                );
            }
        }
        *replay.body_mut() = Some(request.body.clone().into());
        let credentials =
            Credentials::new(ACCESS_KEY, SECRET, token.map(str::to_owned), None, "test");
        signer(Counting::new(None, None))
            .sign_with(&mut replay, &credentials, time)
            .expect("re-signs")
    }

    #[tokio::test]
    async fn des_requests_carry_a_lambda_sigv4_signature_that_verifies() {
        let provider = Counting::new(None, None);
        let requests = decide_through(Some(Arc::new(signer(provider)))).await;
        let request = &requests[0];
        let authorization = request.header("authorization").expect("signed");
        assert!(
            authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/lambda/aws4_request"),
            "{authorization}"
        );
        for header in ["host", "content-type", "x-amz-date", "x-correlation-id"] {
            assert!(
                authorization.contains(header),
                "{header} is signed: {authorization}"
            );
        }
        let date = request.header("x-amz-date").expect("x-amz-date");
        assert_eq!(date.len(), "20261116T093000Z".len(), "{date}");
        assert!(request.header("x-amz-security-token").is_none());
        let signature = authorization
            .rsplit("Signature=")
            .next()
            .expect("signature");
        assert_eq!(signature, signature_of_received(request, None));
    }

    #[tokio::test]
    async fn session_credentials_add_a_signed_security_token() {
        let provider = Counting::new(Some(Duration::from_secs(3600)), Some("session-token"));
        let requests = decide_through(Some(Arc::new(signer(provider)))).await;
        let request = &requests[0];
        assert_eq!(
            request.header("x-amz-security-token"),
            Some("session-token")
        );
        let authorization = request.header("authorization").expect("signed");
        assert!(
            authorization.contains("x-amz-security-token"),
            "{authorization}"
        );
        let signature = authorization
            .rsplit("Signature=")
            .next()
            .expect("signature");
        assert_eq!(
            signature,
            signature_of_received(request, Some("session-token"))
        );
    }

    #[tokio::test]
    async fn without_a_signer_requests_go_unsigned() {
        let requests = decide_through(None).await;
        assert!(requests[0].header("authorization").is_none());
        assert!(requests[0].header("x-amz-date").is_none());
    }

    #[tokio::test]
    async fn credentials_are_cached_until_they_near_expiry() {
        let lasting = Counting::new(Some(Duration::from_secs(3600)), Some("t"));
        let signer_lasting = signer(Arc::clone(&lasting));
        for _ in 0..3 {
            signer_lasting.credentials().await.expect("credentials");
        }
        assert_eq!(lasting.calls.load(Ordering::SeqCst), 1);

        let expiring = Counting::new(Some(Duration::from_secs(60)), Some("t"));
        let signer_expiring = signer(Arc::clone(&expiring));
        for _ in 0..3 {
            signer_expiring.credentials().await.expect("credentials");
        }
        assert_eq!(
            expiring.calls.load(Ordering::SeqCst),
            3,
            "refreshed each time"
        );

        let static_keys = Counting::new(None, None);
        let signer_static = signer(Arc::clone(&static_keys));
        for _ in 0..3 {
            signer_static.credentials().await.expect("credentials");
        }
        assert_eq!(static_keys.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_configuration_without_region_or_credentials_is_named() {
        let config = SdkConfig::builder().build();
        let error = SigV4Signer::from_sdk_config(&config, LAMBDA_SERVICE).expect_err("no region");
        assert!(error.to_string().contains("region"), "{error}");
        let config = SdkConfig::builder()
            .region(aws_types::region::Region::new("eu-west-1"))
            .build();
        let error =
            SigV4Signer::from_sdk_config(&config, LAMBDA_SERVICE).expect_err("no credentials");
        assert!(error.to_string().contains("credentials"), "{error}");
        let config = SdkConfig::builder()
            .region(aws_types::region::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                ACCESS_KEY, SECRET, None, None, "test",
            )))
            .build();
        let signer = SigV4Signer::from_sdk_config(&config, LAMBDA_SERVICE).expect("signer");
        assert_eq!(signer.region(), "eu-west-1");
    }

    #[tokio::test]
    async fn a_failing_provider_is_a_retryable_credentials_error() {
        use crate::error::Retryable;
        #[derive(Debug)]
        struct Failing;
        impl ProvideCredentials for Failing {
            fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                future::ProvideCredentials::ready(Err(
                    aws_credential_types::provider::error::CredentialsError::not_loaded("no role"),
                ))
            }
        }
        let signer = SigV4Signer::new(Failing, "eu-west-1", LAMBDA_SERVICE);
        let error = signer.credentials().await.expect_err("fails");
        assert!(matches!(error, SigningError::Credentials { .. }), "{error}");
        assert!(error.is_retryable());
    }
}
