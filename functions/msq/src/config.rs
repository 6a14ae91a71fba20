//! MSQ's configuration, from environment variables.

use rewards_shared::config::{CommonConfig, ConfigError, Vars};

/// Every variable [`Config::from_vars`] reads (the SAM template must set each).
pub const VARIABLES: &[&str] = &[
    "BRAND",
    "LOG_LEVEL",
    "METRICS_NAMESPACE",
    "MSQ_TABLE",
    "OSG_URL",
    "OSG_API_KEY_SECRET_ARN",
    "ONLINE_TOPIC",
    "DEAD_LETTER_QUEUE_URL",
    "KAFKA_REPORT_BATCH_ITEM_FAILURES",
];

/// MSQ's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Brand, log level, metrics namespace.
    pub common: CommonConfig,
    /// The message table (`MSQ_TABLE`).
    pub table: String,
    /// OSG's base URL (`OSG_URL`).
    pub osg_url: String,
    /// The Secrets Manager secret (ARN) whose JSON field `apiKey` is OSG's API key
    /// (`OSG_API_KEY_SECRET_ARN`, optional: no key without it), read at run time.
    pub osg_api_key_secret_arn: Option<String>,
    /// The customer-online topic (`ONLINE_TOPIC`); records from another topic are
    /// dead-lettered.
    pub online_topic: String,
    /// MSQ's dead-letter queue (`DEAD_LETTER_QUEUE_URL`).
    pub dead_letter_queue_url: String,
    /// Whether the Kafka event source mapping reads partial batch responses
    /// (`KAFKA_REPORT_BATCH_ITEM_FAILURES`, default `false`: the template sets `true` with
    /// provisioned pollers, where `ReportBatchItemFailures` is on). When `false`, records to
    /// retry fail the whole invocation instead, so none is lost.
    pub kafka_report_batch_item_failures: bool,
}

impl Config {
    /// Reads the configuration; a missing or malformed variable is an error naming it.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            common: CommonConfig::from_vars(vars)?,
            table: vars.required("MSQ_TABLE")?,
            osg_url: vars.url("OSG_URL")?,
            osg_api_key_secret_arn: vars.optional("OSG_API_KEY_SECRET_ARN"),
            online_topic: vars.required("ONLINE_TOPIC")?,
            dead_letter_queue_url: vars.required("DEAD_LETTER_QUEUE_URL")?,
            kafka_report_batch_item_failures: vars
                .parsed_or("KAFKA_REPORT_BATCH_ITEM_FAILURES", false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn vars() -> HashMap<&'static str, &'static str> {
        [
            ("BRAND", "skybet"),
            ("MSQ_TABLE", "msq"),
            ("OSG_URL", "https://osg.test/"),
            ("ONLINE_TOPIC", "dc1.skybet.customer.online"),
            ("DEAD_LETTER_QUEUE_URL", "https://sqs/dlq"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn reads_every_variable() {
        let source = vars();
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.table, "msq");
        assert_eq!(config.osg_url, "https://osg.test");
        assert_eq!(config.osg_api_key_secret_arn, None);
        assert_eq!(config.online_topic, "dc1.skybet.customer.online");
    }

    #[test]
    fn missing_and_malformed_variables_are_named() {
        let mut source = vars();
        source.remove("MSQ_TABLE");
        assert_eq!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Missing { name: "MSQ_TABLE" })
        );
        let mut source = vars();
        source.insert("OSG_URL", "osg.test");
        assert!(matches!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Malformed {
                name: "OSG_URL",
                ..
            })
        ));
    }
}
