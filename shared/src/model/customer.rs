//! The customer-online event (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, InvalidInput, Validate};

/// A customer came online: MSQ resends what it queued for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerOnline {
    /// The customer.
    pub account_id: String,
    /// The brand.
    pub brand: String,
    /// When the customer came online.
    pub online_at: DateTime<Utc>,
}

impl Validate for CustomerOnline {
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::id("accountId", &self.account_id)?;
        validate::id("brand", &self.brand)
    }
}
