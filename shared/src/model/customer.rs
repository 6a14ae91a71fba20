//! The customer-online event (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tolerant;
use super::validate::{self, InvalidInput, Validate};

/// A customer came online: MSQ resends what it queued for them.
///
/// Required: `accountId`. A missing `brand` is the stack's brand; a missing or unreadable
/// `onlineAt` is the Kafka record's timestamp (MSQ fills both in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerOnline {
    /// The customer.
    #[serde(deserialize_with = "tolerant::id")]
    pub account_id: String,
    /// The brand; empty when absent.
    #[serde(default, deserialize_with = "tolerant::optional_id")]
    pub brand: String,
    /// When the customer came online, if the record says so readably.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tolerant::lenient_timestamp"
    )]
    pub online_at: Option<DateTime<Utc>>,
}

impl Validate for CustomerOnline {
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::id("accountId", &self.account_id)?;
        validate::id("brand", &self.brand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_account_is_required() {
        let online: CustomerOnline =
            tolerant::parse(r#"{"accountId": "1", "onlineAt": "yesterday", "x": 1}"#)
                .expect("reads");
        assert_eq!((online.brand.as_str(), online.online_at), ("", None));
        let error =
            tolerant::parse::<CustomerOnline>(r#"{"brand": "skybet"}"#).expect_err("no account");
        assert!(error.to_string().contains("accountId"), "{error}");
    }
}
