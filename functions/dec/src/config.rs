//! DEC's configuration, from environment variables.

use std::time::Duration;

use rewards_shared::config::{CommonConfig, ConfigError, StageQueues, Vars};
use rewards_shared::ports::Destination;

/// Every variable [`Config::from_vars`] reads (the SAM template must set each).
pub const VARIABLES: &[&str] = &[
    "BRAND",
    "LOG_LEVEL",
    "METRICS_NAMESPACE",
    "CPP_TOPIC",
    "EPPM_TOPIC",
    "PPH_URL",
    "PPH_API_KEY_SECRET_ARN",
    "ENRICHED_QUEUE_URL",
    "UNQUALIFICATION_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
    "KAFKA_REPORT_BATCH_ITEM_FAILURES",
];

/// DEC's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Brand, log level, metrics namespace.
    pub common: CommonConfig,
    /// The topic of CPP activities (`CPP_TOPIC`, e.g. `dc1.skybet.cpp.activity`).
    pub cpp_topic: String,
    /// The topic of EPPM activities (`EPPM_TOPIC`).
    pub eppm_topic: String,
    /// PPH's base URL (`PPH_URL`).
    pub pph_url: String,
    /// The Secrets Manager secret (ARN) whose JSON field `apiKey` is PPH's API key
    /// (`PPH_API_KEY_SECRET_ARN`, optional: no key without it), read at run time.
    pub pph_api_key_secret_arn: Option<String>,
    /// The queues DEC publishes to, by destination: `cpp-enriched-events`
    /// (`ENRICHED_QUEUE_URL`) and `relevant-unqualification-events`
    /// (`UNQUALIFICATION_QUEUE_URL`), and DEC's dead-letter queue.
    pub queues: StageQueues,
    /// Whether the Kafka event source mapping reads partial batch responses
    /// (`KAFKA_REPORT_BATCH_ITEM_FAILURES`, default `false`: the template sets `true` with
    /// provisioned pollers, where `ReportBatchItemFailures` is on). When `false`, records to
    /// retry fail the whole invocation instead, so none is lost.
    pub kafka_report_batch_item_failures: bool,
    /// How long promotions are cached (static data: an hour).
    pub promotion_cache_ttl: Duration,
}

impl Config {
    /// Reads the configuration; a missing or malformed variable is an error naming it.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_vars(vars)?,
            cpp_topic: vars.required("CPP_TOPIC")?,
            eppm_topic: vars.required("EPPM_TOPIC")?,
            pph_url: vars.url("PPH_URL")?,
            pph_api_key_secret_arn: vars.optional("PPH_API_KEY_SECRET_ARN"),
            queues: vars.queues(&[
                (Destination::EnrichedEvents, "ENRICHED_QUEUE_URL"),
                (
                    Destination::UnqualificationEvents,
                    "UNQUALIFICATION_QUEUE_URL",
                ),
            ])?,
            kafka_report_batch_item_failures: vars
                .parsed_or("KAFKA_REPORT_BATCH_ITEM_FAILURES", false)?,
            promotion_cache_ttl: Duration::from_secs(3600),
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
            ("CPP_TOPIC", "dc1.skybet.cpp.activity"),
            ("EPPM_TOPIC", "dc1.skybet.eppm.activity"),
            ("PPH_URL", "https://pph.test"),
            ("ENRICHED_QUEUE_URL", "https://sqs/enriched"),
            ("UNQUALIFICATION_QUEUE_URL", "https://sqs/unq"),
            ("DEAD_LETTER_QUEUE_URL", "https://sqs/dlq"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn reads_every_variable() {
        let source = vars();
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.cpp_topic, "dc1.skybet.cpp.activity");
        assert_eq!(config.pph_api_key_secret_arn, None);
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in [
            "BRAND",
            "CPP_TOPIC",
            "EPPM_TOPIC",
            "PPH_URL",
            "ENRICHED_QUEUE_URL",
            "UNQUALIFICATION_QUEUE_URL",
            "DEAD_LETTER_QUEUE_URL",
        ] {
            let mut source = vars();
            source.remove(name);
            let error = Config::from_vars(&Vars::new(&source)).expect_err(name);
            assert_eq!(error, ConfigError::Missing { name }, "{name}");
            assert!(VARIABLES.contains(&name));
        }
    }

    #[test]
    fn malformed_pph_url_is_named() {
        let mut source = vars();
        source.insert("PPH_URL", "pph");
        let error = Config::from_vars(&Vars::new(&source)).expect_err("malformed");
        assert!(matches!(
            error,
            ConfigError::Malformed {
                name: "PPH_URL",
                ..
            }
        ));
    }
}
