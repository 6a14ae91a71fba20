//! The enriched activity DEC builds from an activity and its promotion (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::activity::{ActivityStatus, CppActivity, EppmActivity};
use super::promotion::{Promotion, TierDefinition};
use super::validate::{self, InvalidInput, Validate};

/// One reward's progress, enriched with its reward scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichedProgress {
    /// The reward scheme.
    pub reward_scheme_id: String,
    /// Free text; DES decides on it.
    pub activity_type: String,
    /// Progress so far.
    pub current: u64,
    /// Progress needed.
    pub target: u64,
    /// Status of this reward.
    pub status: ActivityStatus,
    /// From the scheme: products the reward applies to.
    pub products: Vec<String>,
    /// From the scheme: kind of reward.
    pub reward_type: String,
    /// From the scheme: product-specific kind of reward.
    pub product_reward_type: String,
    /// From the scheme: its tiers.
    pub tier_definition: TierDefinition,
    /// From the scheme: when the reward expires.
    pub expiration_date: DateTime<Utc>,
}

/// An activity with its promotion's data: what DEC emits and every later stage carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichedActivity {
    /// The activity's id (the EPPM `eventId` for unqualifications from EPPM).
    pub activity_id: String,
    /// The customer.
    pub account_id: String,
    /// The brand, from the promotion.
    pub brand: String,
    /// The promotion.
    pub promo_code: String,
    /// The attempt.
    pub attempt_id: String,
    /// The activity's sequence (0 for EPPM, which has none).
    pub sequence: u64,
    /// What happened.
    pub status: ActivityStatus,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The customer's locale, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// From the promotion: its name.
    pub promo_name: String,
    /// From the promotion: its page.
    pub promo_url: String,
    /// From the promotion: its tags.
    pub tags: Vec<String>,
    /// Progress per reward, enriched.
    pub reward_progress: Vec<EnrichedProgress>,
}

/// Why an activity could not be enriched with its promotion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrichmentError {
    /// The activity names a reward scheme the promotion does not have.
    #[error("reward scheme `{reward_scheme_id}` is not in promotion `{promo_code}`")]
    UnknownRewardScheme {
        /// The promotion.
        promo_code: String,
        /// The scheme the activity named.
        reward_scheme_id: String,
    },
}

impl EnrichedActivity {
    /// Enriches a CPP activity: each progress entry gets its scheme's data, the activity the
    /// promotion's name, page, tags and brand.
    pub fn from_cpp(activity: CppActivity, promotion: &Promotion) -> Result<Self, EnrichmentError> {
        let reward_progress = activity
            .reward_progress
            .into_iter()
            .map(|progress| {
                let scheme = promotion
                    .scheme(&progress.reward_scheme_id)
                    .ok_or_else(|| EnrichmentError::UnknownRewardScheme {
                        promo_code: promotion.promo_code.clone(),
                        reward_scheme_id: progress.reward_scheme_id.clone(),
                    })?;
                Ok(EnrichedProgress {
                    reward_scheme_id: progress.reward_scheme_id,
                    activity_type: progress.activity_type,
                    current: progress.current,
                    target: progress.target,
                    status: progress.status,
                    products: scheme.products.clone(),
                    reward_type: scheme.reward_type.clone(),
                    product_reward_type: scheme.product_reward_type.clone(),
                    tier_definition: scheme.tier_definition.clone(),
                    expiration_date: scheme.expiration_date,
                })
            })
            .collect::<Result<Vec<_>, EnrichmentError>>()?;
        Ok(EnrichedActivity {
            activity_id: activity.activity_id,
            account_id: activity.account_id,
            brand: promotion.brand.clone(),
            promo_code: activity.promo_code,
            attempt_id: activity.attempt_id,
            sequence: activity.sequence,
            status: activity.status,
            occurred_at: activity.occurred_at,
            locale: activity.locale,
            promo_name: promotion.promo_name.clone(),
            promo_url: promotion.promo_url.clone(),
            tags: promotion.tags.clone(),
            reward_progress,
        })
    }

    /// Builds the unqualification of an EPPM activity: one progress entry per reward scheme of
    /// the promotion (`activityType` = the scheme's `rewardType`, `current` 0, `target` the
    /// first tier's threshold or 0), status `UNQUALIFIED`, sequence 0.
    pub fn from_eppm(activity: EppmActivity, promotion: &Promotion) -> Self {
        let reward_progress = promotion
            .reward_schemes
            .iter()
            .map(|scheme| EnrichedProgress {
                reward_scheme_id: scheme.reward_scheme_id.clone(),
                activity_type: scheme.reward_type.clone(),
                current: 0,
                target: scheme
                    .tier_definition
                    .tiers
                    .first()
                    .map_or(0, |tier| tier.threshold),
                status: ActivityStatus::Unqualified,
                products: scheme.products.clone(),
                reward_type: scheme.reward_type.clone(),
                product_reward_type: scheme.product_reward_type.clone(),
                tier_definition: scheme.tier_definition.clone(),
                expiration_date: scheme.expiration_date,
            })
            .collect();
        EnrichedActivity {
            activity_id: activity.event_id,
            account_id: activity.account_id,
            brand: promotion.brand.clone(),
            promo_code: activity.promo_code,
            attempt_id: activity.attempt_id,
            sequence: 0,
            status: ActivityStatus::Unqualified,
            occurred_at: activity.occurred_at,
            locale: activity.locale,
            promo_name: promotion.promo_name.clone(),
            promo_url: promotion.promo_url.clone(),
            tags: promotion.tags.clone(),
            reward_progress,
        }
    }

    /// The latest expiry among the rewards, if the activity has any.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.reward_progress
            .iter()
            .map(|progress| progress.expiration_date)
            .max()
    }
}

impl Validate for EnrichedActivity {
    /// The bounds DEC checked on the raw activity: an envelope may come from elsewhere.
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::activity(
            [
                ("activityId", &self.activity_id),
                ("accountId", &self.account_id),
                ("brand", &self.brand),
                ("promoCode", &self.promo_code),
                ("attemptId", &self.attempt_id),
            ],
            self.locale.as_deref(),
            self.reward_progress
                .iter()
                .map(|p| (p.reward_scheme_id.as_str(), p.activity_type.as_str())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RewardProgress, RewardScheme, Tier};

    fn promotion() -> Promotion {
        Promotion {
            promo_code: "WEEKLY-SPINS".into(),
            promo_name: "Weekly Spins".into(),
            promo_url: "https://example.test/promo/weekly-spins".into(),
            tags: vec!["tim".into(), "weekly".into()],
            brand: "skybet".into(),
            reward_schemes: vec![RewardScheme {
                reward_scheme_id: "rs-100".into(),
                products: vec!["casino".into()],
                reward_type: "FREE_SPINS".into(),
                product_reward_type: "CASINO_FREE_SPINS".into(),
                tier_definition: TierDefinition {
                    tiers: vec![Tier {
                        threshold: 5,
                        reward: "10 free spins".into(),
                    }],
                },
                expiration_date: "2026-11-23T23:59:59Z".parse().expect("date"),
            }],
        }
    }

    fn activity(scheme: &str) -> CppActivity {
        CppActivity {
            activity_id: "a-1".into(),
            account_id: "10048213".into(),
            brand: "other".into(),
            promo_code: "WEEKLY-SPINS".into(),
            attempt_id: "2026-W47".into(),
            sequence: 12,
            status: ActivityStatus::InProgress,
            occurred_at: "2026-11-16T09:30:00Z".parse().expect("date"),
            locale: Some("en-GB".into()),
            reward_progress: vec![RewardProgress {
                reward_scheme_id: scheme.into(),
                activity_type: "FREE_SPINS".into(),
                current: 3,
                target: 5,
                status: ActivityStatus::InProgress,
            }],
        }
    }

    #[test]
    fn cpp_progress_gets_its_scheme_and_the_activity_its_promotion() {
        let enriched =
            EnrichedActivity::from_cpp(activity("rs-100"), &promotion()).expect("enriches");
        assert_eq!(enriched.promo_name, "Weekly Spins");
        assert_eq!(enriched.brand, "skybet");
        assert_eq!(enriched.tags, vec!["tim", "weekly"]);
        let progress = &enriched.reward_progress[0];
        assert_eq!(progress.product_reward_type, "CASINO_FREE_SPINS");
        assert_eq!(progress.products, vec!["casino"]);
        assert_eq!(progress.current, 3);
        assert_eq!(enriched.expires_at(), Some(progress.expiration_date));
    }

    #[test]
    fn enriched_activities_are_validated_like_raw_ones() {
        let mut enriched =
            EnrichedActivity::from_cpp(activity("rs-100"), &promotion()).expect("enriches");
        assert!(enriched.validate().is_ok());
        enriched.promo_code = String::new();
        assert_eq!(
            enriched.validate(),
            Err(InvalidInput::EmptyField { field: "promoCode" })
        );
    }

    #[test]
    fn unknown_scheme_is_an_enrichment_error() {
        let error =
            EnrichedActivity::from_cpp(activity("rs-999"), &promotion()).expect_err("unknown");
        assert!(error.to_string().contains("rs-999"));
    }

    #[test]
    fn eppm_builds_one_unqualified_entry_per_scheme() {
        let eppm = EppmActivity {
            event_id: "e-1".into(),
            account_id: "10048213".into(),
            brand: "skybet".into(),
            promo_code: "WEEKLY-SPINS".into(),
            attempt_id: "2026-W47".into(),
            week: 1,
            reason: "NO_QUALIFYING_BET".into(),
            occurred_at: "2026-11-16T09:30:00Z".parse().expect("date"),
            locale: None,
        };
        let mut promotion = promotion();
        let mut second = promotion.reward_schemes[0].clone();
        second.reward_scheme_id = "rs-200".into();
        second.reward_type = "FREE_BET".into();
        second.tier_definition.tiers.clear();
        promotion.reward_schemes.push(second);

        let enriched = EnrichedActivity::from_eppm(eppm, &promotion);
        assert_eq!(enriched.status, ActivityStatus::Unqualified);
        assert_eq!(enriched.activity_id, "e-1");
        let entries: Vec<_> = enriched
            .reward_progress
            .iter()
            .map(|p| (p.activity_type.as_str(), p.current, p.target, p.status))
            .collect();
        assert_eq!(
            entries,
            vec![
                ("FREE_SPINS", 0, 5, ActivityStatus::Unqualified),
                ("FREE_BET", 0, 0, ActivityStatus::Unqualified)
            ]
        );
    }
}
