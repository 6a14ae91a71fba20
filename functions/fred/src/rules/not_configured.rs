//! The not-configured rule: FRED's filter (the JSON of `FRED_CONFIG`) names the events that
//! go on; the others are dropped (`not-configured`) without asking DES.
//!
//! ```json
//! {"messageTypes": ["PROGRESS", "REWARD_AWARDED"], "brands": ["skybet"],
//!  "excludedPromoCodes": ["TEST-PROMO"]}
//! ```
//!
//! Every key is optional: an absent (or `null`) `messageTypes` or `brands` lets every message
//! type or brand through, so `{}` (or no `FRED_CONFIG` at all) passes everything; an empty
//! list lets none through. Promo codes in `excludedPromoCodes` are dropped. Matching is exact.
//! Unknown keys and unknown message types are configuration errors, so a typo cannot silently
//! open or close the filter.

use std::collections::BTreeSet;

use rewards_shared::model::MessageType;
use serde::{Deserialize, Serialize};

/// Which events go on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FredFilter {
    /// Message types that go on (`None`: all).
    #[serde(default)]
    pub message_types: Option<BTreeSet<MessageType>>,
    /// Brands that go on (`None`: all).
    #[serde(default)]
    pub brands: Option<BTreeSet<String>>,
    /// Promotions that never go on.
    #[serde(default)]
    pub excluded_promo_codes: BTreeSet<String>,
}

impl FredFilter {
    /// True when an event of this type, brand and promotion goes on.
    pub fn passes(&self, message_type: MessageType, brand: &str, promo_code: &str) -> bool {
        self.message_types
            .as_ref()
            .is_none_or(|types| types.contains(&message_type))
            && self
                .brands
                .as_ref()
                .is_none_or(|brands| brands.contains(brand))
            && !self.excluded_promo_codes.contains(promo_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> FredFilter {
        serde_json::from_str(json).expect("filter parses")
    }

    #[test]
    fn empty_config_passes_everything() {
        let filter = parse("{}");
        assert_eq!(filter, FredFilter::default());
        for message_type in MessageType::ALL {
            assert!(filter.passes(message_type, "any", "ANY"));
        }
    }

    #[test]
    fn message_types_and_brands_not_listed_are_dropped() {
        let filter = parse(r#"{"messageTypes": ["PROGRESS"], "brands": ["skybet"]}"#);
        assert!(filter.passes(MessageType::Progress, "skybet", "P"));
        assert!(!filter.passes(MessageType::OptIn, "skybet", "P"));
        assert!(!filter.passes(MessageType::Progress, "skyvegas", "P"));
    }

    #[test]
    fn excluded_promo_codes_are_dropped() {
        let filter = parse(r#"{"excludedPromoCodes": ["TEST"], "messageTypes": null}"#);
        assert!(!filter.passes(MessageType::Progress, "skybet", "TEST"));
        assert!(filter.passes(MessageType::Progress, "skybet", "WEEKLY-SPINS"));
    }

    #[test]
    fn empty_lists_let_nothing_through() {
        let filter = parse(r#"{"brands": []}"#);
        assert!(!filter.passes(MessageType::Progress, "skybet", "P"));
    }

    #[test]
    fn typos_and_unknown_types_are_errors() {
        assert!(serde_json::from_str::<FredFilter>(r#"{"brand": ["skybet"]}"#).is_err());
        assert!(serde_json::from_str::<FredFilter>(r#"{"messageTypes": ["WIN"]}"#).is_err());
    }
}
