//! The AWS SDK set-up shared by the adapters: one [`SdkConfig`] per cold start, and the
//! DynamoDB and SQS clients built from it.
//!
//! Choices, made for Lambda functions fed by SQS (whose redelivery is the outer retry):
//!
//! - **Where to**: the environment alone ([`environment`]): the region (`AWS_REGION`, then
//!   `AWS_DEFAULT_REGION`), the credentials (the function role's, which Lambda puts in the
//!   environment) and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SQS`,
//!   which point the clients at a local AWS API (moto) in tests and local runs. Nothing here is
//!   hard-coded. aws-config's default chain (profiles, SSO, STS, instance metadata), for
//!   command-line tools run with a developer's usual credentials, is
//!   [`load_sdk_config_default_chain`] behind the feature `aws-default-chain`, so that it is
//!   not linked into the functions.
//! - **Retries**: standard mode (exponential backoff with jitter, a retry quota, throttling
//!   and 5xx and transient I/O errors retried), [`MAX_ATTEMPTS`] attempts in all, backoff from
//!   [`INITIAL_BACKOFF`] up to [`MAX_BACKOFF`]. Few and short: a record that still fails is
//!   reported in `batchItemFailures` and SQS redelivers it later, which beats holding the
//!   whole batch (and the function's time-out) on one slow dependency.
//! - **Time-outs**: [`CONNECT_TIMEOUT`] to connect, [`ATTEMPT_TIMEOUT`] per attempt (DynamoDB
//!   and SQS answer in milliseconds; an attempt taking seconds is stuck and better retried),
//!   [`OPERATION_TIMEOUT`] for an operation with its retries, well under the functions'
//!   time-outs.
//!
//! - **HTTP and TLS**: [`http_client`], reqwest on the process's one TLS configuration
//!   ([`tls`]: the platform's trust roots, read once), shared with the partner-service clients.
//!
//! [`sdk_config`] loads the configuration once per process (one Lambda execution environment,
//! so once per cold start) and hands out clones; clients share its HTTP connection pool.

#[cfg(feature = "aws")]
pub mod classify;
#[cfg(feature = "aws")]
pub mod environment;
#[cfg(feature = "aws")]
pub mod http_client;
#[cfg(feature = "sqs")]
pub(crate) mod sqs_batch;
pub mod tls;

#[cfg(feature = "aws")]
use std::time::Duration;

#[cfg(feature = "aws")]
use aws_credential_types::provider::SharedCredentialsProvider;
#[cfg(feature = "aws")]
use aws_smithy_async::rt::sleep::default_async_sleep;
#[cfg(feature = "aws")]
use aws_smithy_async::time::SystemTimeSource;
#[cfg(feature = "aws")]
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
#[cfg(feature = "aws")]
use aws_smithy_types::retry::RetryConfig;
#[cfg(feature = "aws")]
use aws_smithy_types::timeout::TimeoutConfig;
#[cfg(feature = "aws")]
use aws_types::SdkConfig;
#[cfg(feature = "aws")]
use tokio::sync::OnceCell;

#[cfg(feature = "aws")]
/// Attempts per operation, the first one included.
pub const MAX_ATTEMPTS: u32 = 3;
#[cfg(feature = "aws")]
/// Backoff before the first retry (standard mode randomises it, doubling per attempt).
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
#[cfg(feature = "aws")]
/// Longest backoff between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
#[cfg(feature = "aws")]
/// Time-out to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
#[cfg(feature = "aws")]
/// Time-out of one attempt (request sent to response read).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
#[cfg(feature = "aws")]
/// Time-out of one operation, every attempt and backoff included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(6);

#[cfg(feature = "aws")]
static SDK_CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

#[cfg(feature = "aws")]
/// The retry configuration of every client: standard mode, [`MAX_ATTEMPTS`] attempts.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

#[cfg(feature = "aws")]
/// The time-out configuration of every client.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

#[cfg(feature = "aws")]
/// The SDK configuration, loaded from the environment on the first call (region, credentials,
/// `AWS_ENDPOINT_URL`) with this module's retry and time-out settings; later calls return a
/// clone of it.
pub async fn sdk_config() -> SdkConfig {
    SDK_CONFIG.get_or_init(load_sdk_config).await.clone()
}

#[cfg(feature = "aws")]
/// Loads a new SDK configuration from the environment ([`environment`]), with this module's
/// retry and time-out settings. Functions use [`sdk_config`]; this is for callers that need a
/// configuration of their own (tests running each on its own tokio runtime must not share
/// connection pools).
pub async fn load_sdk_config() -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(
            environment::EnvironmentCredentials,
        ))
        .service_config(environment::EnvironmentServiceConfig)
        .time_source(SystemTimeSource::new())
        .http_client(http_client::shared_http_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    builder.set_region(environment::region());
    builder.set_endpoint_url(environment::endpoint_url());
    builder.set_sleep_impl(default_async_sleep());
    builder.build()
}

#[cfg(feature = "aws-default-chain")]
/// Loads a new SDK configuration through aws-config's default chain (environment, then the
/// profile files with `AWS_PROFILE`, SSO, web identity, container and instance metadata), with
/// this module's HTTP client, retry and time-out settings: for command-line tools that run
/// against an AWS account with a developer's usual credentials. The functions never need it.
pub async fn load_sdk_config_default_chain() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client::shared_http_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

#[cfg(feature = "dynamodb")]
/// A DynamoDB client on `config`.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

#[cfg(feature = "sqs")]
/// An SQS client on `config`.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}
