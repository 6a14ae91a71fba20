//! Partner API keys read from AWS Secrets Manager at run time.
//!
//! The template gives each function only the ARN of the secret holding a partner's key
//! (`PPH_API_KEY_SECRET_ARN`, …), never the key: the value is read here, on first use, with the
//! function role's `secretsmanager:GetSecretValue` on that one secret, and kept in memory.
//!
//! - [`SecretSource`] is the port (one call: the `SecretString` of a secret); [`SecretsManager`]
//!   is the AWS adapter (a SigV4-signed `GetSecretValue` over the process's HTTP client, no SDK
//!   crate), [`MemorySecrets`] the in-memory one for tests.
//! - [`ApiKey`] is what a service client holds: no key, a fixed key (local runs), or a key read
//!   from a secret ([`SecretApiKey`]), cached for [`api_key::CACHE_TTL`] and read again at once
//!   when the partner answers 401/403, so a rotated key is picked up by the next call.

pub mod api_key;
#[cfg(feature = "secrets")]
pub mod secrets_manager;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use futures::future::BoxFuture;

pub use api_key::{ApiKey, SecretApiKey};
#[cfg(feature = "secrets")]
pub use secrets_manager::SecretsManager;

use crate::error::Retryable;

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager did not answer, throttled, or failed (5xx): may clear up.
    #[error("secret {secret_id}: Secrets Manager unavailable: {reason}")]
    Unavailable {
        /// The secret's ARN or name.
        secret_id: String,
        /// What happened.
        reason: String,
    },
    /// The secret does not exist or the role may not read it: a configuration fault.
    #[error("secret {secret_id}: not readable: {reason}")]
    Denied {
        /// The secret's ARN or name.
        secret_id: String,
        /// Secrets Manager's error type and message.
        reason: String,
    },
    /// The secret has no string value, or not the expected JSON field.
    #[error("secret {secret_id}: malformed: {reason}")]
    Malformed {
        /// The secret's ARN or name.
        secret_id: String,
        /// What is wrong.
        reason: String,
    },
}

impl Retryable for SecretError {
    /// Only an unavailable Secrets Manager may clear up by itself.
    fn is_retryable(&self) -> bool {
        matches!(self, SecretError::Unavailable { .. })
    }
}

/// Where secret values come from.
pub trait SecretSource: Send + Sync {
    /// The current `SecretString` of `secret_id` (an ARN or a name).
    fn secret_string<'a>(
        &'a self,
        secret_id: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretError>>;
}

/// Secrets held in memory, with a count of reads (tests and the local runner).
#[derive(Debug, Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    reads: AtomicU32,
}

impl MemorySecrets {
    /// Sets (or rotates) `secret_id` to `value`.
    pub fn put(&self, secret_id: &str, value: &str) {
        if let Ok(mut values) = self.values.lock() {
            values.insert(secret_id.to_owned(), value.to_owned());
        }
    }

    /// How many reads were made.
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::Relaxed)
    }
}

impl SecretSource for MemorySecrets {
    fn secret_string<'a>(
        &'a self,
        secret_id: &'a str,
    ) -> BoxFuture<'a, Result<String, SecretError>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let value = self
            .values
            .lock()
            .ok()
            .and_then(|values| values.get(secret_id).cloned());
        Box::pin(async move {
            value.ok_or_else(|| SecretError::Denied {
                secret_id: secret_id.to_owned(),
                reason: "ResourceNotFoundException".to_owned(),
            })
        })
    }
}

#[cfg(feature = "secrets")]
/// A Lambda function's key for a partner: read at run time from the secret `secret_arn` when
/// one is configured (through Secrets Manager, with `sdk`'s region, credentials and endpoint),
/// no key otherwise.
pub fn api_key_for_lambda(
    secret_arn: Option<String>,
    http: &reqwest::Client,
    sdk: &aws_types::SdkConfig,
) -> Result<ApiKey, crate::http::SigningError> {
    match secret_arn {
        None => Ok(ApiKey::None),
        Some(arn) => {
            let source = SecretsManager::from_sdk_config(http.clone(), sdk)?;
            Ok(ApiKey::from_secret(std::sync::Arc::new(source), arn))
        }
    }
}
