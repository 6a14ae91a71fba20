//! Where a Lambda function's SDK configuration comes from: its environment variables, and
//! nothing else.
//!
//! Lambda hands a function everything the SDK needs in its environment: the region
//! (`AWS_REGION`) and the execution role's session credentials (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). aws-config's default chain would look there
//! first too, but it links every other source it could fall back to (profile files, SSO,
//! `credential_process`, web identity with its STS client, ECS and EC2 instance metadata) into
//! every binary. Reading the environment here keeps those out of the functions
//! (docs/decisions.md, "Binary size and cold start").
//!
//! What is read, with aws-config's names and precedence:
//!
//! - **Region**: `AWS_REGION`, else `AWS_DEFAULT_REGION`.
//! - **Credentials** ([`EnvironmentCredentials`]): `AWS_ACCESS_KEY_ID` (or `AWS_ACCESS_KEY`),
//!   `AWS_SECRET_ACCESS_KEY` (or `SECRET_ACCESS_KEY`, `AWS_SECRET_KEY`), `AWS_SESSION_TOKEN`
//!   when set, `AWS_ACCOUNT_ID` when set; read when the SDK asks for them, so a missing key is
//!   an error of the call that needs it (not of the set-up), as with aws-config.
//! - **Endpoints** ([`EnvironmentServiceConfig`]): `AWS_ENDPOINT_URL_<SERVICE>` (the service's
//!   id upper-cased, spaces as `_`: `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_DYNAMODB`), else
//!   `AWS_ENDPOINT_URL`; neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
//!
//! An empty variable counts as unset. Profile files (`~/.aws/config`, `AWS_PROFILE`) are not
//! read: a command-line tool that runs with a developer's usual credentials asks for
//! [`super::load_sdk_config_default_chain`] instead (feature `aws-default-chain`).

use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The name the credentials carry as their provider (aws-config's environment provider's).
pub const CREDENTIALS_PROVIDER_NAME: &str = "Environment";

/// The variable that turns the endpoint variables off.
const IGNORE_ENDPOINT_URLS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// The global endpoint variable.
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// A variable's value, `None` when unset, empty or not Unicode.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The first of `names` that is set.
fn first_var(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| var(name))
}

/// The region: `AWS_REGION`, else `AWS_DEFAULT_REGION`.
pub fn region() -> Option<Region> {
    first_var(&["AWS_REGION", "AWS_DEFAULT_REGION"]).map(Region::new)
}

/// Whether `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true` (any case).
fn endpoint_urls_ignored() -> bool {
    var(IGNORE_ENDPOINT_URLS).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The endpoint every client uses unless its service has its own: `AWS_ENDPOINT_URL`.
pub fn endpoint_url() -> Option<String> {
    if endpoint_urls_ignored() {
        return None;
    }
    var(ENDPOINT_URL)
}

/// Credentials read from the environment each time the SDK asks (it caches them).
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentCredentials;

impl EnvironmentCredentials {
    /// The credentials the environment holds now.
    pub fn load() -> provider::Result {
        let access_key = first_var(&["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]).ok_or_else(|| {
            CredentialsError::not_loaded("environment variable not set: AWS_ACCESS_KEY_ID")
        })?;
        let secret_key = first_var(&[
            "AWS_SECRET_ACCESS_KEY",
            "SECRET_ACCESS_KEY",
            "AWS_SECRET_KEY",
        ])
        .ok_or_else(|| {
            CredentialsError::not_loaded("environment variable not set: AWS_SECRET_ACCESS_KEY")
        })?;
        let mut builder = Credentials::builder()
            .access_key_id(access_key)
            .secret_access_key(secret_key)
            .provider_name(CREDENTIALS_PROVIDER_NAME);
        if let Some(token) = var("AWS_SESSION_TOKEN") {
            builder = builder.session_token(token);
        }
        if let Some(account) = var("AWS_ACCOUNT_ID") {
            builder = builder.account_id(account);
        }
        Ok(builder.build())
    }
}

impl ProvideCredentials for EnvironmentCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(Self::load())
    }
}

/// The per-service settings the SDK clients look up (their endpoint), from the environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentServiceConfig;

impl LoadServiceConfig for EnvironmentServiceConfig {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() == ENDPOINT_URL && endpoint_urls_ignored() {
            return None;
        }
        let service = key.service_id().to_uppercase().replace(' ', "_");
        var(&format!("{}_{service}", key.env())).or_else(|| var(key.env()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The tests of this module change the process's environment: one at a time.
    static ENV: Mutex<()> = Mutex::new(());

    const VARIABLES: &[&str] = &[
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "SECRET_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCOUNT_ID",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ];

    /// Runs `test` with exactly `vars` of [`VARIABLES`] set, then restores the environment.
    fn with_env(vars: &[(&str, &str)], test: impl FnOnce()) {
        let _guard = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let saved: Vec<_> = VARIABLES
            .iter()
            .map(|v| (*v, std::env::var(v).ok()))
            .collect();
        // The lock above keeps this module's tests from racing; no other test of this crate
        // reads these variables.
        for v in VARIABLES {
            std::env::remove_var(v);
        }
        for (name, value) in vars {
            std::env::set_var(name, value);
        }
        test();
        for (name, value) in saved {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }

    fn key(service: &'static str) -> ServiceConfigKey<'static> {
        ServiceConfigKey::builder()
            .service_id(service)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .expect("key")
    }

    #[test]
    fn the_region_is_aws_region_else_aws_default_region() {
        with_env(&[("AWS_DEFAULT_REGION", "eu-west-2")], || {
            assert_eq!(region(), Some(Region::new("eu-west-2")));
        });
        with_env(
            &[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "eu-west-2"),
            ],
            || assert_eq!(region(), Some(Region::new("eu-west-1"))),
        );
        with_env(&[("AWS_REGION", "")], || assert_eq!(region(), None));
    }

    #[test]
    fn credentials_are_the_keys_and_the_session_token() {
        with_env(
            &[
                ("AWS_ACCESS_KEY_ID", "AKID"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_SESSION_TOKEN", "token"),
            ],
            || {
                let credentials = EnvironmentCredentials::load().expect("credentials");
                assert_eq!(credentials.access_key_id(), "AKID");
                assert_eq!(credentials.secret_access_key(), "secret");
                assert_eq!(credentials.session_token(), Some("token"));
                assert_eq!(credentials.expiry(), None);
            },
        );
        with_env(
            &[("AWS_ACCESS_KEY", "AKID"), ("AWS_SECRET_KEY", "secret")],
            || {
                let credentials = EnvironmentCredentials::load().expect("older names");
                assert_eq!(credentials.session_token(), None);
            },
        );
    }

    #[test]
    fn missing_keys_are_not_loaded_errors_naming_the_variable() {
        with_env(&[("AWS_SECRET_ACCESS_KEY", "secret")], || {
            let error = EnvironmentCredentials::load().expect_err("no access key");
            assert!(matches!(error, CredentialsError::CredentialsNotLoaded(_)));
            assert!(format!("{error:?}").contains("AWS_ACCESS_KEY_ID"));
        });
        with_env(&[("AWS_ACCESS_KEY_ID", "AKID")], || {
            let error = EnvironmentCredentials::load().expect_err("no secret key");
            assert!(format!("{error:?}").contains("AWS_SECRET_ACCESS_KEY"));
        });
    }

    #[test]
    fn a_service_endpoint_wins_over_the_global_one() {
        with_env(
            &[
                ("AWS_ENDPOINT_URL", "http://global"),
                ("AWS_ENDPOINT_URL_SQS", "http://sqs"),
            ],
            || {
                let config = EnvironmentServiceConfig;
                assert_eq!(
                    config.load_config(key("SQS")).as_deref(),
                    Some("http://sqs")
                );
                assert_eq!(
                    config.load_config(key("DynamoDB")).as_deref(),
                    Some("http://global")
                );
                assert_eq!(endpoint_url().as_deref(), Some("http://global"));
            },
        );
        with_env(&[], || {
            assert_eq!(EnvironmentServiceConfig.load_config(key("SQS")), None);
            assert_eq!(endpoint_url(), None);
        });
    }

    #[test]
    fn endpoints_can_be_ignored() {
        with_env(
            &[
                ("AWS_ENDPOINT_URL", "http://global"),
                ("AWS_ENDPOINT_URL_SQS", "http://sqs"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
            ],
            || {
                assert_eq!(EnvironmentServiceConfig.load_config(key("SQS")), None);
                assert_eq!(endpoint_url(), None);
            },
        );
    }
}
