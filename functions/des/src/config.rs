//! DES's configuration, from environment variables.

use rewards_shared::config::{CommonConfig, ConfigError, Vars};
use rewards_shared::decision::DeliveryPreferences;

/// Every variable [`Config::from_vars`] reads (the SAM template must set each).
pub const VARIABLES: &[&str] = &[
    "BRAND",
    "LOG_LEVEL",
    "METRICS_NAMESPACE",
    "DELIVERY_PREFERENCES",
];

/// DES's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Brand, log level, metrics namespace.
    pub common: CommonConfig,
    /// Per-brand overrides of the delivery preference (`DELIVERY_PREFERENCES`, JSON; absent or
    /// `{}`: the defaults). See [`rewards_shared::decision`] for the semantics.
    pub preferences: DeliveryPreferences,
}

impl Config {
    /// Reads the configuration; a missing or malformed variable is an error naming it.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let preferences = match vars.optional("DELIVERY_PREFERENCES") {
            None => DeliveryPreferences::default(),
            Some(json) => {
                DeliveryPreferences::from_json(&json).map_err(|reason| ConfigError::Malformed {
                    name: "DELIVERY_PREFERENCES",
                    reason,
                })?
            }
        };
        Ok(Config {
            common: CommonConfig::from_vars(vars)?,
            preferences,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use rewards_shared::model::{DeliveryFormat, MessageType};

    #[test]
    fn absent_preferences_keep_the_defaults() {
        let source: HashMap<&str, &str> = [("BRAND", "skybet")].into_iter().collect();
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(config.preferences, DeliveryPreferences::default());
    }

    #[test]
    fn preferences_are_read_from_json() {
        let source: HashMap<&str, &str> = [
            ("BRAND", "skybet"),
            (
                "DELIVERY_PREFERENCES",
                r#"{"skybet": {"PROGRESS": "FULL_SCREEN"}}"#,
            ),
        ]
        .into_iter()
        .collect();
        let config = Config::from_vars(&Vars::new(&source)).expect("config");
        assert_eq!(
            config
                .preferences
                .preference("skybet", MessageType::Progress),
            Some(DeliveryFormat::FullScreen)
        );
    }

    #[test]
    fn malformed_preferences_are_named() {
        let source: HashMap<&str, &str> = [
            ("BRAND", "skybet"),
            (
                "DELIVERY_PREFERENCES",
                r#"{"skybet": {"PROGRESS": "BANNER"}}"#,
            ),
        ]
        .into_iter()
        .collect();
        let error = Config::from_vars(&Vars::new(&source)).expect_err("malformed");
        assert!(matches!(
            error,
            ConfigError::Malformed {
                name: "DELIVERY_PREFERENCES",
                ..
            }
        ));
    }
}
