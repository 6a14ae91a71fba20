//! The HTTP client every service client is built on, and the classification of its failures.

use std::time::Duration;

use crate::error::Retryable;

/// Time-outs and pooling of an HTTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, response body included.
    pub request_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_secs(2),
            pool_idle_timeout: Duration::from_secs(50),
        }
    }
}

impl HttpSettings {
    /// A `reqwest` client with these settings: rustls on the process's one TLS configuration
    /// (the platform's trust roots, read once and shared with the AWS SDK's client, see
    /// [`crate::aws::tls`]), connection reuse, time-outs. Build it once per cold start and
    /// share it.
    pub fn build(&self) -> Result<reqwest::Client, BuildError> {
        let tls = crate::aws::tls::client_config()?;
        Ok(reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .tcp_nodelay(true)
            .build()?)
    }
}

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No usable trust roots.
    #[error(transparent)]
    Tls(#[from] crate::aws::tls::TlsError),
    /// reqwest refused the settings.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// One failed HTTP call, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpCallError {
    /// No answer in time.
    #[error("{url}: timed out")]
    Timeout {
        /// The URL called.
        url: String,
    },
    /// The connection failed.
    #[error("{url}: connection failed: {reason}")]
    Connect {
        /// The URL called.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The service answered with an unexpected status.
    #[error("{url}: status {status}")]
    Status {
        /// The URL called.
        url: String,
        /// The status.
        status: u16,
    },
    /// The response body is not what the contract says.
    #[error("{url}: malformed body: {reason}")]
    MalformedBody {
        /// The URL called.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The service rejected the credentials (401/403), after the API key was read again from its
    /// secret: a configuration fault (a wrong or revoked key, a missing permission), not retried.
    #[error("{url}: credentials rejected with status {status}")]
    AuthRejected {
        /// The URL called.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The API key could not be read from its secret.
    #[error("{url}: no API key: {reason}")]
    ApiKey {
        /// The URL called.
        url: String,
        /// What happened.
        reason: String,
        /// Whether it may clear up (Secrets Manager unavailable).
        retryable: bool,
    },
    /// The request could not be signed (no credentials, or a request that cannot be signed).
    #[error("{url}: not signed: {reason}")]
    Signing {
        /// The URL called.
        url: String,
        /// What happened.
        reason: String,
        /// Whether it may clear up (the credentials provider failed).
        retryable: bool,
    },
}

impl HttpCallError {
    /// Classifies a `reqwest` error from a call to `url`.
    pub fn from_reqwest(url: &str, error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            HttpCallError::Timeout {
                url: url.to_owned(),
            }
        } else if let Some(status) = error.status() {
            HttpCallError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            }
        } else if error.is_decode() {
            HttpCallError::MalformedBody {
                url: url.to_owned(),
                reason: error.to_string(),
            }
        } else {
            HttpCallError::Connect {
                url: url.to_owned(),
                reason: error.to_string(),
            }
        }
    }
}

impl Retryable for HttpCallError {
    /// Time-outs, connection failures, 5xx and 429 are worth a retry; other statuses and
    /// malformed bodies are not.
    fn is_retryable(&self) -> bool {
        match self {
            HttpCallError::Timeout { .. } | HttpCallError::Connect { .. } => true,
            HttpCallError::Status { status, .. } => *status >= 500 || *status == 429,
            HttpCallError::MalformedBody { .. } | HttpCallError::AuthRejected { .. } => false,
            HttpCallError::Signing { retryable, .. } | HttpCallError::ApiKey { retryable, .. } => {
                *retryable
            }
        }
    }
}
