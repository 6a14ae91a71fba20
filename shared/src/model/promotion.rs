//! Promotion data as PPH serves it (spec section 3).
//!
//! Required: `promoCode` and each scheme's `rewardSchemeId`. Every other field may be absent or
//! `null` (text reads as empty, lists as empty, a scheme without `expirationDate` never
//! expires); unknown fields are ignored; `tierDefinition` is opaque JSON carried as it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::model_struct;
use super::tolerant;

model_struct! {
    /// A promotion, as `GET {PPH_URL}/promotions/{promoCode}` returns it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Promotion {
        /// The promotion's code.
        #[serde(deserialize_with = "tolerant::id")]
        pub promo_code: String,
        ..promotion_details,
        /// The brand it belongs to (empty when PPH has none: the activity's brand is used).
        #[serde(default, deserialize_with = "tolerant::null_as_default")]
        pub brand: String,
        /// Its reward schemes.
        #[serde(default, deserialize_with = "tolerant::null_as_default")]
        pub reward_schemes: Vec<RewardScheme>,
    }
}

impl Promotion {
    /// The reward scheme with this id, if the promotion has it.
    pub fn scheme(&self, reward_scheme_id: &str) -> Option<&RewardScheme> {
        self.reward_schemes
            .iter()
            .find(|scheme| scheme.reward_scheme_id == reward_scheme_id)
    }
}

model_struct! {
    /// One reward scheme of a promotion.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RewardScheme {
        /// The scheme's id, as reward progress entries name it.
        #[serde(deserialize_with = "tolerant::id")]
        pub reward_scheme_id: String,
        ..scheme,
    }
}

/// The tiers of a reward scheme: opaque JSON carried as PPH wrote it (a tier's `reward` may be
/// text or an object, its `threshold` any JSON number). `null` when PPH sent none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct TierDefinition(pub serde_json::Value);

impl TierDefinition {
    /// The first tier's `threshold` as a whole count, if there is one: a fraction rounds up
    /// (reaching 4.5 takes 5); a negative or non-numeric threshold is none.
    pub fn first_threshold(&self) -> Option<u64> {
        let threshold = self.0.get("tiers")?.as_array()?.first()?.get("threshold")?;
        tolerant::count_of(threshold).or_else(|| {
            threshold
                .as_f64()
                .filter(|float| float.is_finite() && *float >= 0.0 && *float <= u64::MAX as f64)
                .map(|float| float.ceil() as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promotion_with_nulls_odd_tiers_and_no_expiry_reads() {
        let promotion: Promotion = tolerant::parse(
            r#"{"promoCode": "P", "promoName": null, "promoUrl": null, "tags": null,
                "brand": "skybet", "owner": "team-x",
                "rewardSchemes": [
                  {"rewardSchemeId": "rs-1", "productRewardType": null, "products": null,
                   "rewardType": "FREE_SPINS",
                   "tierDefinition": {"tiers": [{"threshold": 5.0, "reward": {"spins": 10}}]}},
                  {"rewardSchemeId": "rs-2"}]}"#,
        )
        .expect("reads");
        assert_eq!(promotion.promo_name, "");
        assert!(promotion.tags.is_empty());
        let first = &promotion.reward_schemes[0];
        assert_eq!(first.tier_definition.first_threshold(), Some(5));
        assert_eq!(first.expiration_date, None);
        assert_eq!(
            first.tier_definition.0["tiers"][0]["reward"],
            serde_json::json!({"spins": 10}),
            "carried as it is"
        );
        let second = &promotion.reward_schemes[1];
        assert_eq!(second.tier_definition, TierDefinition::default());
        assert_eq!(second.tier_definition.first_threshold(), None);
    }

    #[test]
    fn required_fields_are_named() {
        let error = tolerant::parse::<Promotion>(r#"{"promoName": "x"}"#).expect_err("no code");
        assert!(error.to_string().contains("promoCode"), "{error}");
        let error = tolerant::parse::<Promotion>(
            r#"{"promoCode": "P", "rewardSchemes": [{"rewardType": "X"}]}"#,
        )
        .expect_err("no scheme id");
        assert!(error.to_string().contains("rewardSchemeId"), "{error}");
    }

    #[test]
    fn thresholds_round_up() {
        let tiers = |threshold: serde_json::Value| {
            TierDefinition(serde_json::json!({"tiers": [{"threshold": threshold}]}))
        };
        assert_eq!(tiers(serde_json::json!(4.5)).first_threshold(), Some(5));
        assert_eq!(tiers(serde_json::json!(3)).first_threshold(), Some(3));
        assert_eq!(tiers(serde_json::json!(-1)).first_threshold(), None);
    }
}
