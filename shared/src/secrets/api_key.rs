//! A partner's API key: none, fixed, or read from a secret and cached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{SecretError, SecretSource};

/// How long a key read from a secret is used before it is read again (a 401/403 reads it
/// again at once).
pub const CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// The JSON field of the secret that holds the key.
pub const API_KEY_FIELD: &str = "apiKey";

/// The API key a service client sends in `x-api-key`.
#[derive(Clone, Default)]
pub enum ApiKey {
    /// No key (services authenticated otherwise, tests).
    #[default]
    None,
    /// A fixed key (the local runner).
    Fixed(String),
    /// A key read from a secret at run time.
    Secret(Arc<SecretApiKey>),
}

impl std::fmt::Debug for ApiKey {
    /// Never prints a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiKey::None => f.write_str("ApiKey::None"),
            ApiKey::Fixed(_) => f.write_str("ApiKey::Fixed(..)"),
            ApiKey::Secret(secret) => write!(f, "ApiKey::Secret({})", secret.secret_id),
        }
    }
}

impl From<Option<String>> for ApiKey {
    fn from(key: Option<String>) -> Self {
        key.map_or(ApiKey::None, ApiKey::Fixed)
    }
}

impl ApiKey {
    /// The key read from `secret_id`'s JSON field [`API_KEY_FIELD`] through `source`.
    pub fn from_secret(source: Arc<dyn SecretSource>, secret_id: impl Into<String>) -> Self {
        ApiKey::Secret(Arc::new(SecretApiKey::new(source, secret_id, CACHE_TTL)))
    }

    /// The key to send now (read from the secret when not cached or expired).
    pub async fn current(&self) -> Result<Option<String>, SecretError> {
        match self {
            ApiKey::None => Ok(None),
            ApiKey::Fixed(key) => Ok(Some(key.clone())),
            ApiKey::Secret(secret) => secret.current().await.map(Some),
        }
    }

    /// After the partner rejected `rejected` (401/403): the secret's current key when it differs
    /// (the key was rotated), else `None` (nothing to try again with).
    pub async fn after_rejection(&self, rejected: &str) -> Result<Option<String>, SecretError> {
        match self {
            ApiKey::None | ApiKey::Fixed(_) => Ok(None),
            ApiKey::Secret(secret) => secret.after_rejection(rejected).await,
        }
    }

    /// True when a rejected key may be replaced by reading the secret again.
    pub fn is_refreshable(&self) -> bool {
        matches!(self, ApiKey::Secret(_))
    }
}

/// A key read from a secret, cached for a while.
pub struct SecretApiKey {
    source: Arc<dyn SecretSource>,
    secret_id: String,
    ttl: Duration,
    cached: Mutex<Option<(String, Instant)>>,
}

impl SecretApiKey {
    /// The key in `secret_id`, cached for `ttl`.
    pub fn new(source: Arc<dyn SecretSource>, secret_id: impl Into<String>, ttl: Duration) -> Self {
        SecretApiKey {
            source,
            secret_id: secret_id.into(),
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The secret's ARN or name.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The cached key, or the secret's current one when none is cached or it expired.
    pub async fn current(&self) -> Result<String, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some((key, read_at)) = cached.as_ref() {
            if read_at.elapsed() < self.ttl {
                return Ok(key.clone());
            }
        }
        let key = self.read().await?;
        *cached = Some((key.clone(), Instant::now()));
        Ok(key)
    }

    /// Reads the secret again unless another call already replaced `rejected`; the new key
    /// when it differs from `rejected`.
    pub async fn after_rejection(&self, rejected: &str) -> Result<Option<String>, SecretError> {
        let mut cached = self.cached.lock().await;
        let key = match cached.as_ref() {
            Some((key, _)) if key != rejected => key.clone(),
            _ => {
                let key = self.read().await?;
                *cached = Some((key.clone(), Instant::now()));
                key
            }
        };
        Ok((key != rejected).then_some(key))
    }

    async fn read(&self) -> Result<String, SecretError> {
        let text = self.source.secret_string(&self.secret_id).await?;
        api_key_of(&self.secret_id, &text)
    }
}

/// The [`API_KEY_FIELD`] of a JSON secret.
pub fn api_key_of(secret_id: &str, secret_string: &str) -> Result<String, SecretError> {
    let malformed = |reason: &str| SecretError::Malformed {
        secret_id: secret_id.to_owned(),
        reason: reason.to_owned(),
    };
    let json: serde_json::Value = serde_json::from_str(secret_string)
        .map_err(|_| malformed("the secret is not a JSON object"))?;
    match json.get(API_KEY_FIELD).and_then(serde_json::Value::as_str) {
        Some(key) if !key.is_empty() => Ok(key.to_owned()),
        _ => Err(malformed("no non-empty string field `apiKey`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecrets;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pph-AbCdEf";

    fn key(secrets: &Arc<MemorySecrets>) -> ApiKey {
        ApiKey::from_secret(Arc::clone(secrets) as Arc<dyn SecretSource>, ARN)
    }

    #[tokio::test]
    async fn the_key_is_read_once_and_cached() {
        let secrets = Arc::new(MemorySecrets::default());
        secrets.put(ARN, r#"{"apiKey": "k1"}"#);
        let key = key(&secrets);
        assert_eq!(key.current().await.unwrap().as_deref(), Some("k1"));
        assert_eq!(key.current().await.unwrap().as_deref(), Some("k1"));
        assert_eq!(secrets.reads(), 1);
    }

    #[tokio::test]
    async fn a_rejected_key_is_replaced_by_the_rotated_one() {
        let secrets = Arc::new(MemorySecrets::default());
        secrets.put(ARN, r#"{"apiKey": "k1"}"#);
        let key = key(&secrets);
        assert_eq!(key.current().await.unwrap().as_deref(), Some("k1"));
        secrets.put(ARN, r#"{"apiKey": "k2"}"#);
        assert_eq!(
            key.after_rejection("k1").await.unwrap().as_deref(),
            Some("k2")
        );
        assert_eq!(key.current().await.unwrap().as_deref(), Some("k2"));
        // A second caller rejected with k1 gets k2 without another read.
        assert_eq!(
            key.after_rejection("k1").await.unwrap().as_deref(),
            Some("k2")
        );
        assert_eq!(secrets.reads(), 2);
    }

    #[tokio::test]
    async fn an_unrotated_key_gives_nothing_to_retry_with() {
        let secrets = Arc::new(MemorySecrets::default());
        secrets.put(ARN, r#"{"apiKey": "k1"}"#);
        let key = key(&secrets);
        key.current().await.unwrap();
        assert_eq!(key.after_rejection("k1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn fixed_and_no_keys_are_not_refreshed() {
        let fixed = ApiKey::from(Some("k".to_owned()));
        assert_eq!(fixed.after_rejection("k").await.unwrap(), None);
        assert!(!fixed.is_refreshable());
        assert_eq!(ApiKey::None.current().await.unwrap(), None);
    }

    #[test]
    fn a_secret_without_the_field_is_malformed() {
        assert!(matches!(
            api_key_of(ARN, r#"{"key": "k"}"#),
            Err(SecretError::Malformed { .. })
        ));
        assert!(matches!(
            api_key_of(ARN, "k"),
            Err(SecretError::Malformed { .. })
        ));
    }

    #[test]
    fn debug_never_prints_the_key() {
        assert!(!format!("{:?}", ApiKey::Fixed("s3cr3t".into())).contains("s3cr3t"));
    }
}
