//! The signing hook of a [`Service`](super::Service): an optional [`RequestSigner`] that adds
//! authentication headers to each request just before it is sent. Every attempt is signed
//! anew, so a retry carries a fresh date. Without a signer requests go unsigned (the local
//! runner, tests, and the services authenticated by API key).
//!
//! The one implementation is AWS Signature Version 4, in [`super::sigv4`], used by FRED for
//! DES's function URL (`AuthType: AWS_IAM`).

use futures::future::BoxFuture;

use crate::error::Retryable;

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The configuration lacks what signing needs (a region, a credentials provider).
    #[error("cannot sign for `{service}`: {reason}")]
    Config {
        /// The service requests are signed for (`lambda`).
        service: String,
        /// What is missing.
        reason: String,
    },
    /// The credentials provider failed (the container credentials endpoint, STS, …).
    #[error("no credentials to sign for `{service}`: {reason}")]
    Credentials {
        /// The service requests are signed for.
        service: String,
        /// What the provider said.
        reason: String,
    },
    /// The request cannot be signed as built (a streaming body, a header that is not text).
    #[error("cannot sign {url} for `{service}`: {reason}")]
    Request {
        /// The URL of the request.
        url: String,
        /// The service requests are signed for.
        service: String,
        /// What is wrong.
        reason: String,
    },
}

impl Retryable for SigningError {
    /// Only a credentials failure may clear up on its own.
    fn is_retryable(&self) -> bool {
        matches!(self, SigningError::Credentials { .. })
    }
}

/// Signs a request before it is sent.
pub trait RequestSigner: Send + Sync {
    /// Adds the authentication headers to `request` (and nothing else: the method, URL, other
    /// headers and body are sent as they were signed).
    fn sign<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<(), SigningError>>;
}
