//! The enriched activity DEC builds from an activity and its promotion (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::activity::{ActivityStatus, CppActivity, EppmActivity, ProgressStatus};
use super::fields::model_struct;
use super::promotion::{Promotion, RewardScheme, TierDefinition};
use super::timestamp;
use super::tolerant;
use super::validate::{self, InvalidInput, ProgressTexts, Validate};

model_struct! {
    /// One reward's progress, enriched with its reward scheme: the entry's progress, then the
    /// scheme's fields. An entry whose scheme the promotion lacks is carried without the
    /// scheme's data (empty lists and texts, no tiers, no expiry: it never expires).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EnrichedProgress {
        /// The reward scheme.
        pub reward_scheme_id: String,
        ..progress,
        ..scheme,
    }
}

impl EnrichedProgress {
    /// An entry with its scheme's data, or without when the scheme is unknown.
    fn new(
        reward_scheme_id: String,
        activity_type: String,
        (current, target): (u64, u64),
        status: ProgressStatus,
        scheme: Option<&RewardScheme>,
    ) -> Self {
        EnrichedProgress {
            reward_scheme_id,
            activity_type,
            current,
            target,
            status,
            products: scheme.map(|s| s.products.clone()).unwrap_or_default(),
            reward_type: scheme.map(|s| s.reward_type.clone()).unwrap_or_default(),
            product_reward_type: scheme
                .map(|s| s.product_reward_type.clone())
                .unwrap_or_default(),
            tier_definition: scheme
                .map(|s| s.tier_definition.clone())
                .unwrap_or_default(),
            expiration_date: scheme.and_then(|s| s.expiration_date),
        }
    }
}

model_struct! {
    /// An activity with its promotion's data: what DEC emits and every later stage carries.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EnrichedActivity {
        /// The activity's id (the EPPM `eventId` for unqualifications from EPPM).
        pub activity_id: String,
        /// The customer.
        pub account_id: String,
        /// The brand: the promotion's, else the activity's.
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
        #[serde(with = "timestamp")]
        pub occurred_at: DateTime<Utc>,
        /// The customer's locale, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub locale: Option<String>,
        ..promotion_details,
        /// Progress per reward, enriched.
        #[serde(default, deserialize_with = "tolerant::null_as_default")]
        pub reward_progress: Vec<EnrichedProgress>,
    }
}

/// A CPP activity enriched, with the progress entries whose scheme the promotion lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrichment {
    /// The enriched activity (unknown-scheme entries kept, not enriched).
    pub activity: EnrichedActivity,
    /// The scheme ids of the entries the promotion has no scheme for, in entry order.
    pub unknown_schemes: Vec<String>,
}

impl EnrichedActivity {
    /// Enriches a CPP activity: each progress entry gets its scheme's data, the activity the
    /// promotion's name, page, tags and brand. An entry whose scheme the promotion lacks is
    /// kept as it is and reported in [`Enrichment::unknown_schemes`].
    pub fn from_cpp(mut activity: CppActivity, promotion: &Promotion) -> Enrichment {
        let mut unknown_schemes = Vec::new();
        let reward_progress = std::mem::take(&mut activity.reward_progress)
            .into_iter()
            .map(|progress| {
                let scheme = promotion.scheme(&progress.reward_scheme_id);
                if scheme.is_none() {
                    unknown_schemes.push(progress.reward_scheme_id.clone());
                }
                EnrichedProgress::new(
                    progress.reward_scheme_id,
                    progress.activity_type,
                    (progress.current, progress.target),
                    progress.status,
                    scheme,
                )
            })
            .collect();
        Enrichment {
            activity: EnrichedActivity::of(activity, promotion, reward_progress),
            unknown_schemes,
        }
    }

    /// Builds the unqualification of an EPPM activity: one progress entry per reward scheme of
    /// the promotion (`activityType` = the scheme's `rewardType`, `current` 0, `target` the
    /// first tier's threshold or 0), status `UNQUALIFIED`, sequence 0.
    pub fn from_eppm(activity: EppmActivity, promotion: &Promotion) -> Self {
        let reward_progress = promotion
            .reward_schemes
            .iter()
            .map(|scheme| {
                EnrichedProgress::new(
                    scheme.reward_scheme_id.clone(),
                    scheme.reward_type.clone(),
                    (0, scheme.tier_definition.first_threshold().unwrap_or(0)),
                    ActivityStatus::Unqualified.into(),
                    Some(scheme),
                )
            })
            .collect();
        let unqualification = CppActivity {
            activity_id: activity.event_id,
            account_id: activity.account_id,
            brand: activity.brand,
            promo_code: activity.promo_code,
            attempt_id: activity.attempt_id,
            sequence: 0,
            status: ActivityStatus::Unqualified,
            occurred_at: activity.occurred_at,
            locale: activity.locale,
            reward_progress: Vec::new(),
        };
        EnrichedActivity::of(unqualification, promotion, reward_progress)
    }

    /// The activity's own fields (its progress aside) with `reward_progress` and the
    /// promotion's name, page, tags and brand (the activity's when the promotion has none).
    fn of(
        activity: CppActivity,
        promotion: &Promotion,
        reward_progress: Vec<EnrichedProgress>,
    ) -> Self {
        EnrichedActivity {
            activity_id: activity.activity_id,
            account_id: activity.account_id,
            brand: brand(promotion, activity.brand),
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
        }
    }

    /// When the message about this activity stops being worth showing: the latest expiry among
    /// its rewards. `None` when it never does: no rewards, or one that never expires (its
    /// scheme has no `expirationDate`, or is unknown to the promotion). Stores keep such
    /// messages for their configured maximum time.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.reward_progress
            .iter()
            .map(|progress| progress.expiration_date)
            .try_fold(None, |latest: Option<DateTime<Utc>>, expiry| {
                expiry.map(|at| Some(latest.map_or(at, |latest| latest.max(at))))
            })
            .flatten()
    }
}

/// The promotion's brand, else the activity's.
fn brand(promotion: &Promotion, activity_brand: String) -> String {
    if promotion.brand.trim().is_empty() {
        activity_brand
    } else {
        promotion.brand.clone()
    }
}

impl Validate for EnrichedActivity {
    /// The bounds DEC checked on the raw activity: an envelope may come from elsewhere.
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::activity(
            &[
                ("activityId", &self.activity_id),
                ("accountId", &self.account_id),
                ("brand", &self.brand),
                ("promoCode", &self.promo_code),
                ("attemptId", &self.attempt_id),
            ],
            self.locale.as_deref(),
            &self.reward_progress,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RewardProgress;
    use crate::testing::fixtures;

    fn promotion() -> Promotion {
        Promotion {
            promo_url: "https://example.test/promo/weekly-spins".into(),
            tags: vec!["tim".into(), "weekly".into()],
            ..fixtures::promotion(fixtures::PROMO_CODE)
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
                status: "COMPLETED".into(),
            }],
        }
    }

    #[test]
    fn cpp_progress_gets_its_scheme_and_the_activity_its_promotion() {
        let enrichment = EnrichedActivity::from_cpp(activity("rs-100"), &promotion());
        assert!(enrichment.unknown_schemes.is_empty());
        let enriched = enrichment.activity;
        assert_eq!(enriched.promo_name, "Weekly Spins");
        assert_eq!(enriched.brand, "skybet");
        assert_eq!(enriched.tags, vec!["tim", "weekly"]);
        let progress = &enriched.reward_progress[0];
        assert_eq!(progress.product_reward_type, "CASINO_FREE_SPINS");
        assert_eq!(progress.products, vec!["casino"]);
        assert_eq!(progress.current, 3);
        assert_eq!(progress.status.as_str(), "COMPLETED", "carried as it is");
        assert_eq!(enriched.expires_at(), progress.expiration_date);
    }

    #[test]
    fn the_activity_brand_stands_in_for_a_promotion_without_one() {
        let mut promotion = promotion();
        promotion.brand = String::new();
        let enriched = EnrichedActivity::from_cpp(activity("rs-100"), &promotion).activity;
        assert_eq!(enriched.brand, "other");
    }

    #[test]
    fn enriched_activities_are_validated_like_raw_ones() {
        let mut enriched = EnrichedActivity::from_cpp(activity("rs-100"), &promotion()).activity;
        assert!(enriched.validate().is_ok());
        enriched.promo_code = String::new();
        assert_eq!(
            enriched.validate(),
            Err(InvalidInput::EmptyField { field: "promoCode" })
        );
    }

    #[test]
    fn an_unknown_scheme_is_kept_not_enriched_and_reported() {
        let enrichment = EnrichedActivity::from_cpp(activity("rs-999"), &promotion());
        assert_eq!(enrichment.unknown_schemes, vec!["rs-999"]);
        let progress = &enrichment.activity.reward_progress[0];
        assert_eq!(
            (
                progress.reward_scheme_id.as_str(),
                progress.current,
                progress.target
            ),
            ("rs-999", 3, 5)
        );
        assert!(progress.products.is_empty() && progress.reward_type.is_empty());
        assert_eq!(progress.expiration_date, None);
        assert_eq!(enrichment.activity.expires_at(), None, "never expires");
    }

    #[test]
    fn the_latest_expiry_counts_and_a_reward_without_one_never_expires() {
        let mut enriched = EnrichedActivity::from_cpp(activity("rs-100"), &promotion()).activity;
        let mut later = enriched.reward_progress[0].clone();
        later.expiration_date = Some("2026-12-01T00:00:00Z".parse().expect("date"));
        enriched.reward_progress.push(later.clone());
        assert_eq!(enriched.expires_at(), later.expiration_date);
        later.expiration_date = None;
        enriched.reward_progress.push(later);
        assert_eq!(enriched.expires_at(), None);
        enriched.reward_progress.clear();
        assert_eq!(enriched.expires_at(), None);
    }

    #[test]
    fn eppm_builds_one_unqualified_entry_per_scheme() {
        let eppm = EppmActivity {
            event_id: "e-1".into(),
            account_id: "10048213".into(),
            brand: "skybet".into(),
            promo_code: "WEEKLY-SPINS".into(),
            attempt_id: "2026-W47".into(),
            week: Some(1),
            reason: Some("NO_QUALIFYING_BET".into()),
            occurred_at: "2026-11-16T09:30:00Z".parse().expect("date"),
            locale: None,
        };
        let mut promotion = promotion();
        let mut second = promotion.reward_schemes[0].clone();
        second.reward_scheme_id = "rs-200".into();
        second.reward_type = "FREE_BET".into();
        second.tier_definition = TierDefinition::default();
        promotion.reward_schemes.push(second);

        let enriched = EnrichedActivity::from_eppm(eppm, &promotion);
        assert_eq!(enriched.status, ActivityStatus::Unqualified);
        assert_eq!(enriched.activity_id, "e-1");
        let entries: Vec<_> = enriched
            .reward_progress
            .iter()
            .map(|p| {
                (
                    p.activity_type.as_str(),
                    p.current,
                    p.target,
                    p.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("FREE_SPINS", 0, 5, "UNQUALIFIED"),
                ("FREE_BET", 0, 0, "UNQUALIFIED")
            ]
        );
    }
}
