//! FRED's configuration, from environment variables.

use rewards_shared::config::{CommonConfig, ConfigError, StageQueues, Vars};
use rewards_shared::ports::Destination;

use crate::rules::not_configured::FredFilter;

/// Every variable [`Config::from_vars`] reads (the SAM template must set each).
pub const VARIABLES: &[&str] = &[
    "BRAND",
    "LOG_LEVEL",
    "METRICS_NAMESPACE",
    "FRED_CONFIG",
    "DES_URL",
    "DECIDED_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
];

/// FRED's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Brand, log level, metrics namespace.
    pub common: CommonConfig,
    /// The filter (`FRED_CONFIG`, JSON; absent: everything passes).
    pub filter: FredFilter,
    /// DES's function URL, without a trailing slash (`DES_URL`); FRED posts to
    /// `{DES_URL}/decisions`.
    pub des_url: String,
    /// The queue FRED publishes to, `decided-events` (`DECIDED_QUEUE_URL`), and FRED's
    /// dead-letter queue.
    pub queues: StageQueues,
}

impl Config {
    /// Reads the configuration; a missing or malformed variable is an error naming it.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_vars(vars)?,
            filter: vars.json_or_default("FRED_CONFIG")?,
            des_url: vars.url("DES_URL")?,
            queues: vars.queues(&[(Destination::DecidedEvents, "DECIDED_QUEUE_URL")])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use rewards_shared::model::MessageType;

    fn vars(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        [
            ("BRAND", "skybet"),
            ("DES_URL", "https://des.test/"),
            ("DECIDED_QUEUE_URL", "https://sqs/decided"),
            ("DEAD_LETTER_QUEUE_URL", "https://sqs/dlq"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect()
    }

    #[test]
    fn absent_filter_passes_everything() {
        let source = vars(&[]);
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.filter, FredFilter::default());
        assert_eq!(config.des_url, "https://des.test");
    }

    #[test]
    fn filter_is_read_from_json() {
        let source = vars(&[("FRED_CONFIG", r#"{"messageTypes": ["OPT_IN"]}"#)]);
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert!(config.filter.passes(MessageType::OptIn, "skybet", "P"));
        assert!(!config.filter.passes(MessageType::Progress, "skybet", "P"));
    }

    #[test]
    fn malformed_filter_is_named() {
        let source = vars(&[("FRED_CONFIG", r#"{"messageTypes": "#)]);
        let error = Config::from_vars(&Vars::new(&source)).expect_err("malformed");
        assert!(matches!(
            error,
            ConfigError::Malformed {
                name: "FRED_CONFIG",
                ..
            }
        ));
    }

    #[test]
    fn missing_des_url_is_named() {
        let mut source = vars(&[]);
        source.remove("DES_URL");
        assert_eq!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Missing { name: "DES_URL" })
        );
    }

    #[test]
    fn variables_lists_every_variable_read() {
        for name in [
            "BRAND",
            "FRED_CONFIG",
            "DES_URL",
            "DECIDED_QUEUE_URL",
            "DEAD_LETTER_QUEUE_URL",
        ] {
            assert!(VARIABLES.contains(&name), "{name}");
        }
    }
}
