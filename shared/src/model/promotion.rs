//! Promotion data as PPH serves it (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A promotion, as `GET {PPH_URL}/promotions/{promoCode}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The promotion's code.
    pub promo_code: String,
    /// Its display name.
    pub promo_name: String,
    /// Where the customer reads about it.
    pub promo_url: String,
    /// Tags; TIM keeps only promotions tagged with its filter tag.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The brand it belongs to.
    pub brand: String,
    /// Its reward schemes.
    #[serde(default)]
    pub reward_schemes: Vec<RewardScheme>,
}

impl Promotion {
    /// The reward scheme with this id, if the promotion has it.
    pub fn scheme(&self, reward_scheme_id: &str) -> Option<&RewardScheme> {
        self.reward_schemes
            .iter()
            .find(|scheme| scheme.reward_scheme_id == reward_scheme_id)
    }
}

/// One reward scheme of a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewardScheme {
    /// The scheme's id, as reward progress entries name it.
    pub reward_scheme_id: String,
    /// Products the reward applies to.
    #[serde(default)]
    pub products: Vec<String>,
    /// Kind of reward (for example `FREE_SPINS`).
    pub reward_type: String,
    /// Product-specific kind of reward.
    pub product_reward_type: String,
    /// The tiers of the reward.
    pub tier_definition: TierDefinition,
    /// When the reward expires.
    pub expiration_date: DateTime<Utc>,
}

/// The tiers of a reward scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TierDefinition {
    /// Tiers, lowest first.
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

/// One tier: reach `threshold`, get `reward`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// Progress needed.
    pub threshold: u64,
    /// What the customer gets.
    pub reward: String,
}
