//! Promotion data as PPH serves it (spec section 3).
//!
//! Required: `promoCode` and each scheme's `rewardSchemeId`. Every other field may be absent or
//! `null` (text reads as empty, lists as empty, a scheme without `expirationDate` never
//! expires); unknown fields are ignored; `tierDefinition` is opaque JSON carried as it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::fields::model_struct;
use super::timestamp;
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
/// text or an object, its `threshold` any JSON number). JSON `null` when PPH sent none.
///
/// The JSON is kept as text, not as a tree: every stage reads and writes it as it came, byte
/// for byte (key order, number forms and whitespace included), and only
/// [`TierDefinition::first_threshold`] parses it. `null` and an absent field both read as
/// none (the [`Default`]), which writes as `null`.
///
/// Two definitions are equal when they are the same JSON: the same text, or texts that parse
/// to the same tree (whitespace, member order and number forms aside), so an envelope read
/// through the CloudEvents SDK's path, which writes the tiers again, equals the one the binding
/// read from the same body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TierDefinition(Option<Box<RawValue>>);

impl TierDefinition {
    /// The tiers of `value`, written as compact JSON text; `null` is none.
    pub fn from_value(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => TierDefinition(None),
            // A `Value` always serialises (its map keys are text).
            other => TierDefinition(serde_json::value::to_raw_value(other).ok()),
        }
    }

    /// The JSON text as carried (`null` when there is none).
    pub fn json(&self) -> &str {
        self.0.as_deref().map_or("null", RawValue::get)
    }

    /// The tiers parsed into a JSON tree (`Value::Null` when there are none).
    pub fn to_value(&self) -> serde_json::Value {
        // The text was read as JSON, or written from a `Value`: it parses.
        serde_json::from_str(self.json()).unwrap_or_default()
    }

    /// The first tier's `threshold` as a whole count, if there is one: a fraction rounds up
    /// (reaching 4.5 takes 5); a negative or non-numeric threshold is none.
    pub fn first_threshold(&self) -> Option<u64> {
        self.0.as_ref()?;
        let tiers = self.to_value();
        let threshold = tiers.get("tiers")?.as_array()?.first()?.get("threshold")?;
        tolerant::count_of(threshold).or_else(|| {
            threshold
                .as_f64()
                .filter(|float| float.is_finite() && *float >= 0.0 && *float <= u64::MAX as f64)
                .map(|float| float.ceil() as u64)
        })
    }
}

impl From<serde_json::Value> for TierDefinition {
    fn from(value: serde_json::Value) -> Self {
        TierDefinition::from_value(&value)
    }
}

impl PartialEq for TierDefinition {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json() || self.to_value() == other.to_value()
    }
}

impl Eq for TierDefinition {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_equal_when_they_are_the_same_json() {
        let read = |text: &str| -> TierDefinition { serde_json::from_str(text).expect("JSON") };
        let compact = read(r#"{"tiers":[{"reward":"10 free spins","threshold":5}]}"#);
        let spaced = read(r#"{"tiers": [{"threshold": 5, "reward": "10 free spins"}]}"#);
        assert_eq!(compact, spaced);
        assert_ne!(compact, read(r#"{"tiers": [{"threshold": 6}]}"#));
        assert_ne!(compact, TierDefinition::default());
        assert_eq!(read("null"), TierDefinition::default());
    }

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
            first.tier_definition.to_value()["tiers"][0]["reward"],
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
    fn tiers_are_carried_as_written() {
        let tiers = r#"{"tiers": [{"threshold": 5.0, "reward": {"spins": 10, "a": "\u00e9"}}]}"#;
        let scheme: RewardScheme = tolerant::parse(&format!(
            r#"{{"rewardSchemeId": "rs-1", "tierDefinition": {tiers}}}"#
        ))
        .expect("reads");
        assert_eq!(scheme.tier_definition.json(), tiers);
        let written = serde_json::to_string(&scheme).expect("writes");
        assert!(
            written.contains(&format!(r#""tierDefinition":{tiers}"#)),
            "{written}"
        );
        let again: RewardScheme = serde_json::from_str(&written).expect("reads back");
        assert_eq!(again, scheme);
        let via_tree: RewardScheme =
            serde_json::from_value(serde_json::from_str(&written).expect("JSON"))
                .expect("reads from a tree");
        assert_eq!(via_tree.tier_definition.first_threshold(), Some(5));
    }

    #[test]
    fn absent_and_null_tiers_are_none_and_write_as_null() {
        for scheme in [
            r#"{"rewardSchemeId": "rs-1"}"#,
            r#"{"rewardSchemeId": "rs-1", "tierDefinition": null}"#,
        ] {
            let scheme: RewardScheme = tolerant::parse(scheme).expect("reads");
            assert_eq!(scheme.tier_definition, TierDefinition::default());
            assert_eq!(scheme.tier_definition.json(), "null");
            assert_eq!(scheme.tier_definition.to_value(), serde_json::Value::Null);
            let written = serde_json::to_string(&scheme).expect("writes");
            assert!(written.contains(r#""tierDefinition":null"#), "{written}");
        }
        assert_eq!(
            TierDefinition::from(serde_json::Value::Null),
            TierDefinition::default()
        );
    }

    #[test]
    fn tiers_keep_their_text() {
        let read = |text: &str| -> TierDefinition { serde_json::from_str(text).expect("JSON") };
        assert_eq!(read(r#"{"tiers": []}"#).json(), r#"{"tiers": []}"#);
        assert_eq!(
            TierDefinition::from(serde_json::json!({"tiers": []})).json(),
            r#"{"tiers":[]}"#,
            "a tree is written compact"
        );
    }

    #[test]
    fn thresholds_round_up() {
        let tiers = |threshold: serde_json::Value| {
            TierDefinition::from(serde_json::json!({"tiers": [{"threshold": threshold}]}))
        };
        assert_eq!(tiers(serde_json::json!(4.5)).first_threshold(), Some(5));
        assert_eq!(tiers(serde_json::json!(3)).first_threshold(), Some(3));
        assert_eq!(tiers(serde_json::json!(-1)).first_threshold(), None);
    }
}
