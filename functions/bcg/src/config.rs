//! BCG's configuration, from environment variables.

use std::time::Duration;

use rewards_shared::config::{CommonConfig, ConfigError, StageQueues, Vars};
use rewards_shared::ports::Destination;

use crate::handler::Settings;
use crate::rules::cycle_start::{self as cycle, CycleStart};

/// Every variable [`Config::from_vars`] reads (the SAM template must set each).
pub const VARIABLES: &[&str] = &[
    "BRAND",
    "LOG_LEVEL",
    "METRICS_NAMESPACE",
    "CSL_URL",
    "CSL_API_KEY_SECRET_ARN",
    "OSG_URL",
    "OSG_API_KEY_SECRET_ARN",
    "DEFAULT_LOCALE",
    "CYCLE_START_WEEKDAY",
    "CYCLE_START_TIME_ZONE",
    "MSQ_QUEUE_URL",
    "MSQ_DELETE_QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
];

/// BCG's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Brand, log level, metrics namespace.
    pub common: CommonConfig,
    /// CSL's base URL (`CSL_URL`).
    pub csl_url: String,
    /// The Secrets Manager secret (ARN) whose JSON field `apiKey` is CSL's API key
    /// (`CSL_API_KEY_SECRET_ARN`, optional: no key without it), read at run time.
    pub csl_api_key_secret_arn: Option<String>,
    /// OSG's base URL (`OSG_URL`).
    pub osg_url: String,
    /// The Secrets Manager secret (ARN) whose JSON field `apiKey` is OSG's API key
    /// (`OSG_API_KEY_SECRET_ARN`, optional: no key without it), read at run time.
    pub osg_api_key_secret_arn: Option<String>,
    /// Locale used when the activity has none, and the fallback when CSL has no template for
    /// the activity's (`DEFAULT_LOCALE`, default `en-GB`).
    pub default_locale: String,
    /// The cycle start day (`CYCLE_START_WEEKDAY`, default `MONDAY`;
    /// `CYCLE_START_TIME_ZONE`, default `Europe/London`).
    pub cycle: CycleStart,
    /// The queues BCG publishes to, by destination: `msq-inbound-queue` (`MSQ_QUEUE_URL`) and
    /// `msq-inbound-delete` (`MSQ_DELETE_QUEUE_URL`: delete instructions, forwarded once the
    /// award before them was handled), and BCG's dead-letter queue.
    pub queues: StageQueues,
    /// How long CSL templates (and "no template for this locale") are cached: five minutes,
    /// so a template published or fixed in CSL is seen soon without a call per message.
    pub template_cache_ttl: Duration,
}

impl Config {
    /// Reads the configuration; a missing or malformed variable is an error naming it.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let weekday = match vars.optional("CYCLE_START_WEEKDAY") {
            None => CycleStart::default().weekday,
            Some(text) => cycle::parse_weekday(&text).map_err(|reason| ConfigError::Malformed {
                name: "CYCLE_START_WEEKDAY",
                reason,
            })?,
        };
        let time_zone = match vars.optional("CYCLE_START_TIME_ZONE") {
            None => CycleStart::default().time_zone,
            Some(text) => {
                cycle::parse_time_zone(&text).map_err(|reason| ConfigError::Malformed {
                    name: "CYCLE_START_TIME_ZONE",
                    reason,
                })?
            }
        };
        Ok(Config {
            common: CommonConfig::from_vars(vars)?,
            csl_url: vars.url("CSL_URL")?,
            csl_api_key_secret_arn: vars.optional("CSL_API_KEY_SECRET_ARN"),
            osg_url: vars.url("OSG_URL")?,
            osg_api_key_secret_arn: vars.optional("OSG_API_KEY_SECRET_ARN"),
            default_locale: vars
                .optional("DEFAULT_LOCALE")
                .unwrap_or_else(|| "en-GB".to_owned()),
            cycle: CycleStart { weekday, time_zone },
            queues: vars.queues(&[
                (Destination::MsqInbound, "MSQ_QUEUE_URL"),
                (Destination::MsqDelete, "MSQ_DELETE_QUEUE_URL"),
            ])?,
            template_cache_ttl: Duration::from_secs(300),
        })
    }

    /// The handler's settings.
    pub fn settings(&self) -> Settings {
        Settings {
            default_locale: self.default_locale.clone(),
            cycle: self.cycle,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::Weekday;

    use super::*;

    fn vars(extra: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        [
            ("BRAND", "skybet"),
            ("CSL_URL", "https://csl.test"),
            ("OSG_URL", "https://osg.test/"),
            ("MSQ_QUEUE_URL", "https://sqs/msq"),
            ("MSQ_DELETE_QUEUE_URL", "https://sqs/delete"),
            ("DEAD_LETTER_QUEUE_URL", "https://sqs/dlq"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect()
    }

    #[test]
    fn defaults_apply() {
        let source = vars(&[]);
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.default_locale, "en-GB");
        assert_eq!(config.cycle, CycleStart::default());
        assert_eq!(config.cycle.weekday, Weekday::Mon);
        assert_eq!(config.cycle.time_zone, chrono_tz::Europe::London);
        assert_eq!(config.osg_url, "https://osg.test");
        assert_eq!(config.csl_api_key_secret_arn, None);
    }

    #[test]
    fn cycle_and_keys_are_read() {
        let source = vars(&[
            ("CYCLE_START_WEEKDAY", "SUNDAY"),
            ("CYCLE_START_TIME_ZONE", "Australia/Sydney"),
            ("OSG_API_KEY_SECRET_ARN", "k"),
            ("DEFAULT_LOCALE", "en-AU"),
        ]);
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.cycle.weekday, Weekday::Sun);
        assert_eq!(config.cycle.time_zone, chrono_tz::Australia::Sydney);
        assert_eq!(config.osg_api_key_secret_arn.as_deref(), Some("k"));
        assert_eq!(config.settings().default_locale, "en-AU");
    }

    #[test]
    fn bad_zone_and_weekday_are_named() {
        let source = vars(&[("CYCLE_START_TIME_ZONE", "Europe/Londres")]);
        assert!(matches!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Malformed {
                name: "CYCLE_START_TIME_ZONE",
                ..
            })
        ));
        let source = vars(&[("CYCLE_START_WEEKDAY", "FUNDAY")]);
        assert!(matches!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Malformed {
                name: "CYCLE_START_WEEKDAY",
                ..
            })
        ));
    }

    #[test]
    fn a_zone_the_build_leaves_out_fails_the_configuration() {
        let source = vars(&[("CYCLE_START_TIME_ZONE", "America/New_York")]);
        let result = Config::from_vars(&Vars::new(&source));
        match cycle::ZONE_FILTER {
            Some(_) => match result {
                Err(ConfigError::Malformed {
                    name: "CYCLE_START_TIME_ZONE",
                    reason,
                }) => assert!(reason.contains("CHRONO_TZ_TIMEZONE_FILTER"), "{reason}"),
                other => panic!("expected a malformed time zone, got {other:?}"),
            },
            None => assert!(result.is_ok()),
        }
    }

    #[test]
    fn missing_osg_url_is_named() {
        let mut source = vars(&[]);
        source.remove("OSG_URL");
        assert_eq!(
            Config::from_vars(&Vars::new(&source)),
            Err(ConfigError::Missing { name: "OSG_URL" })
        );
    }
}
