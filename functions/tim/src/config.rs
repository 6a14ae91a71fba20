//! TIM's configuration, from environment variables.

use rewards_shared::config::{CommonConfig, ConfigError, StageQueues, Vars};
use rewards_shared::ports::Destination;

/// Every variable [`Config::from_vars`] reads (the SAM template must set each).
pub const VARIABLES: &[&str] = &[
    "BRAND",
    "LOG_LEVEL",
    "METRICS_NAMESPACE",
    "TIM_FILTER_TAG",
    "TIM_TABLE",
    "TIM_TTL_GRACE_DAYS",
    "RELEVANT_QUEUE_URL",
    "UNQUALIFICATION_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
];

/// TIM's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Brand, log level, metrics namespace.
    pub common: CommonConfig,
    /// Events whose promotion lacks this tag are dropped (`TIM_FILTER_TAG`, default `tim`).
    pub filter_tag: String,
    /// The state table (`TIM_TABLE`).
    pub table: String,
    /// Days the state is kept after the reward expires (`TIM_TTL_GRACE_DAYS`, default 7).
    pub ttl_grace_days: u32,
    /// The queues TIM publishes to, by destination: `relevant-events` (`RELEVANT_QUEUE_URL`;
    /// delete instructions go there too, behind the award they delete) and
    /// `relevant-unqualification-events` (`UNQUALIFICATION_QUEUE_URL`), and TIM's dead-letter
    /// queue.
    pub queues: StageQueues,
}

impl Config {
    /// Reads the configuration; a missing or malformed variable is an error naming it.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_vars(vars)?,
            filter_tag: vars
                .optional("TIM_FILTER_TAG")
                .unwrap_or_else(|| "tim".to_owned()),
            table: vars.required("TIM_TABLE")?,
            ttl_grace_days: vars.parsed_or("TIM_TTL_GRACE_DAYS", 7)?,
            queues: vars.queues(&[
                (Destination::RelevantEvents, "RELEVANT_QUEUE_URL"),
                (
                    Destination::UnqualificationEvents,
                    "UNQUALIFICATION_QUEUE_URL",
                ),
            ])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars() -> HashMap<&'static str, &'static str> {
        [
            ("BRAND", "skybet"),
            ("TIM_TABLE", "tim-state"),
            ("RELEVANT_QUEUE_URL", "https://sqs/relevant"),
            ("UNQUALIFICATION_QUEUE_URL", "https://sqs/unq"),
            ("DEAD_LETTER_QUEUE_URL", "https://sqs/dlq"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn defaults_apply() {
        let source = vars();
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.filter_tag, "tim");
        assert_eq!(config.ttl_grace_days, 7);
    }

    #[test]
    fn missing_and_malformed_variables_are_named() {
        for name in [
            "TIM_TABLE",
            "RELEVANT_QUEUE_URL",
            "UNQUALIFICATION_QUEUE_URL",
            "DEAD_LETTER_QUEUE_URL",
        ] {
            let mut source = vars();
            source.remove(name);
            assert_eq!(
                Config::from_vars(&Vars::new(&source)),
                Err(ConfigError::Missing { name })
            );
            assert!(VARIABLES.contains(&name));
        }
        let mut source = vars();
        source.insert("TIM_TTL_GRACE_DAYS", "a week");
        assert!(matches!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Malformed {
                name: "TIM_TTL_GRACE_DAYS",
                ..
            })
        ));
    }
}
