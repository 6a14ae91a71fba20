//! Typed configuration read from environment variables.
//!
//! Each function's `Config` reads its variables through [`Vars`], so a missing or malformed
//! variable is a [`ConfigError`] naming it, at cold start, before the first event. Tests pass a
//! map instead of the process environment.

use std::collections::HashMap;
use std::str::FromStr;

use crate::ports::Destination;

/// A missing or malformed configuration variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or is empty).
    #[error("configuration variable {name} is not set")]
    Missing {
        /// The variable.
        name: &'static str,
    },
    /// A variable's value cannot be used.
    #[error("configuration variable {name} is malformed: {reason}")]
    Malformed {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where configuration variables come from.
pub trait VarSource {
    /// The variable's value, if it is set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl VarSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl VarSource for HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|value| (*value).to_owned())
    }
}

/// Typed reads of configuration variables.
pub struct Vars<'a> {
    source: &'a dyn VarSource,
}

impl<'a> Vars<'a> {
    /// Reads from `source`.
    pub fn new(source: &'a dyn VarSource) -> Self {
        Vars { source }
    }

    /// A variable that may be absent; an empty value counts as absent.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.source
            .var(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// A variable that must be set.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing { name })
    }

    /// A required URL (http or https), without a trailing slash.
    pub fn url(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.required(name)?;
        if !(value.starts_with("http://") || value.starts_with("https://")) {
            return Err(ConfigError::Malformed {
                name,
                reason: format!("`{value}` is not an http(s) URL"),
            });
        }
        Ok(value.trim_end_matches('/').to_owned())
    }

    /// A variable parsed with `FromStr`, or `default` when absent.
    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|e: T::Err| ConfigError::Malformed {
                name,
                reason: format!("`{value}`: {e}"),
            }),
        }
    }

    /// A publishing stage's queues: for each destination the URL in its required variable,
    /// in the order given, then the dead-letter queue (`DEAD_LETTER_QUEUE_URL`).
    pub fn queues(
        &self,
        outputs: &[(Destination, &'static str)],
    ) -> Result<StageQueues, ConfigError> {
        Ok(StageQueues {
            outputs: outputs
                .iter()
                .map(|&(destination, name)| Ok((destination, self.required(name)?)))
                .collect::<Result<_, ConfigError>>()?,
            dead_letter_queue_url: self.required("DEAD_LETTER_QUEUE_URL")?,
        })
    }

    /// A JSON variable, or `T::default()` when absent.
    pub fn json_or_default<T>(&self, name: &'static str) -> Result<T, ConfigError>
    where
        T: serde::de::DeserializeOwned + Default,
    {
        match self.optional(name) {
            None => Ok(T::default()),
            Some(value) => serde_json::from_str(&value).map_err(|e| ConfigError::Malformed {
                name,
                reason: e.to_string(),
            }),
        }
    }
}

/// Where a publishing stage's messages go (DEC, TIM, FRED, BCG): its output queues, and its
/// dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageQueues {
    /// The queues the stage publishes to, by destination.
    pub outputs: Vec<(Destination, String)>,
    /// The stage's dead-letter queue (`DEAD_LETTER_QUEUE_URL`).
    pub dead_letter_queue_url: String,
}

/// Settings every function reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// The brand this stack serves (`BRAND`).
    pub brand: String,
    /// Log level filter (`LOG_LEVEL`, default `info`).
    pub log_level: String,
    /// CloudWatch namespace of the metrics (`METRICS_NAMESPACE`, default `RewardMessaging`).
    pub metrics_namespace: String,
}

impl CommonConfig {
    /// Reads `BRAND`, `LOG_LEVEL` and `METRICS_NAMESPACE`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(CommonConfig {
            brand: vars.required("BRAND")?,
            log_level: vars
                .optional("LOG_LEVEL")
                .unwrap_or_else(|| "info".to_owned())
                .to_lowercase(),
            metrics_namespace: vars
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "RewardMessaging".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn missing_variable_is_named() {
        let source = source(&[]);
        let error = CommonConfig::from_vars(&Vars::new(&source)).expect_err("missing");
        assert_eq!(error.to_string(), "configuration variable BRAND is not set");
    }

    #[test]
    fn empty_counts_as_missing() {
        let source = source(&[("BRAND", "  ")]);
        assert_eq!(
            Vars::new(&source).required("BRAND"),
            Err(ConfigError::Missing { name: "BRAND" })
        );
    }

    #[test]
    fn defaults_apply() {
        let source = source(&[("BRAND", "skybet")]);
        let config = CommonConfig::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.log_level, "info");
        assert_eq!(config.metrics_namespace, "RewardMessaging");
    }

    #[test]
    fn malformed_number_is_named() {
        let source = source(&[("N", "ten")]);
        let error = Vars::new(&source)
            .parsed_or("N", 1u32)
            .expect_err("malformed");
        assert!(matches!(error, ConfigError::Malformed { name: "N", .. }));
        assert!(error.to_string().contains("`ten`"));
    }

    #[test]
    fn url_must_be_http_and_loses_trailing_slash() {
        let source = source(&[("A", "https://pph.test/"), ("B", "pph.test")]);
        let vars = Vars::new(&source);
        assert_eq!(vars.url("A"), Ok("https://pph.test".to_owned()));
        assert!(matches!(
            vars.url("B"),
            Err(ConfigError::Malformed { name: "B", .. })
        ));
    }

    #[test]
    fn malformed_json_is_named() {
        let source = source(&[("J", "{")]);
        let error = Vars::new(&source)
            .json_or_default::<HashMap<String, String>>("J")
            .expect_err("malformed");
        assert!(matches!(error, ConfigError::Malformed { name: "J", .. }));
    }
}
