//! Promotions for generated runs (the bench's mix, the chaos run), built one way.

use chrono::{DateTime, Utc};
use rewards_shared::model::{Promotion, RewardScheme, TierDefinition};
use serde_json::json;

/// What a generated promotion's reward schemes are: `(reward type, first tier's threshold)`
/// each, all with the same tier `reward` text and expiry.
pub struct GeneratedSchemes<'a> {
    /// One entry per scheme, in order.
    pub schemes: Vec<(&'a str, u64)>,
    /// The text of each scheme's one tier's `reward`.
    pub reward: &'a str,
    /// When every scheme's reward expires.
    pub expires: DateTime<Utc>,
}

/// Generated promotion number `number` of `brand`: code `PROMO-{number}` and scheme ids
/// `rs-{number}-{scheme}` with the number zero-padded to `width` digits, a name and a page
/// after it, `casino` products, and the schemes `schemes` describes.
pub fn promotion(
    number: usize,
    width: usize,
    brand: &str,
    tags: Vec<String>,
    schemes: GeneratedSchemes<'_>,
) -> Promotion {
    Promotion {
        promo_code: format!("PROMO-{number:0width$}"),
        promo_name: format!("Promotion {number}"),
        promo_url: format!("https://example.test/promo/{number}"),
        tags,
        brand: brand.to_owned(),
        reward_schemes: schemes
            .schemes
            .into_iter()
            .enumerate()
            .map(|(scheme, (reward_type, threshold))| RewardScheme {
                reward_scheme_id: format!("rs-{number:0width$}-{scheme}"),
                products: vec!["casino".to_owned()],
                reward_type: reward_type.to_owned(),
                product_reward_type: format!("CASINO_{reward_type}"),
                tier_definition: TierDefinition::from(
                    json!({"tiers": [{"threshold": threshold, "reward": schemes.reward}]}),
                ),
                expiration_date: Some(schemes.expires),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_padded_and_schemes_numbered_in_order() {
        let expires = DateTime::<Utc>::UNIX_EPOCH;
        let schemes = GeneratedSchemes {
            schemes: vec![("FREE_SPINS", 3), ("CASHBACK", 8)],
            reward: "a reward",
            expires,
        };
        let promotion = promotion(7, 3, "skybet", vec!["tim".to_owned()], schemes);
        assert_eq!(promotion.promo_code, "PROMO-007");
        assert_eq!(promotion.promo_name, "Promotion 7");
        let ids: Vec<&str> = promotion
            .reward_schemes
            .iter()
            .map(|scheme| scheme.reward_scheme_id.as_str())
            .collect();
        assert_eq!(ids, ["rs-007-0", "rs-007-1"]);
        assert_eq!(
            promotion.reward_schemes[1].product_reward_type,
            "CASINO_CASHBACK"
        );
        assert_eq!(
            promotion.reward_schemes[1]
                .tier_definition
                .first_threshold(),
            Some(8)
        );
    }
}
