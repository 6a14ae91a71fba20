//! DES's decision logic (spec section 5), pure: no I/O, no clock.
//!
//! - Each reward progress entry whose `activityType` is `FREE_SPINS`, `FREE_BET` or
//!   `GAMING_BONUS` is a `DECISION`, any other a `NO_DECISION`; the event has a decision when
//!   any entry has one (an event without entries has none).
//! - The delivery preference depends on the message type: by default `REWARD_AWARDED` is
//!   `FULL_SCREEN` and every other type `TOAST`. [`DeliveryPreferences`] overrides this per
//!   brand, from the JSON of `DELIVERY_PREFERENCES`:
//!
//! ```json
//! {"skybet": {"PROGRESS": "FULL_SCREEN", "OPT_IN": null}}
//! ```
//!
//! Semantics of an override map: a message type mapped to a format gets that format; a type
//! mapped to `null` gets **no** preference ("a type with no preference configured gets none":
//! BCG then drops its messages as `no-delivery-preference`); a type the brand's map does not
//! name keeps its default, as does every type of a brand that is not in the JSON. So `{}`
//! keeps the defaults, and overriding one type never silently disables the others. Unknown
//! message types or formats are a configuration error.

use std::collections::{BTreeMap, HashMap};

use crate::model::{
    Decision, DecisionKind, DeliveryFormat, MessageType, ProgressDecision, RewardMessage,
};

/// The activity types DES decides to message about.
pub const DECISION_ACTIVITY_TYPES: [&str; 3] = ["FREE_SPINS", "FREE_BET", "GAMING_BONUS"];

/// The verdict for one activity type (exact, case-sensitive match: the values are codes).
pub fn decide_activity_type(activity_type: &str) -> DecisionKind {
    if DECISION_ACTIVITY_TYPES.contains(&activity_type) {
        DecisionKind::Decision
    } else {
        DecisionKind::NoDecision
    }
}

/// The default delivery preference of a message type: `REWARD_AWARDED` full screen, the
/// others toast.
pub fn default_preference(message_type: MessageType) -> DeliveryFormat {
    match message_type {
        MessageType::RewardAwarded => DeliveryFormat::FullScreen,
        MessageType::OptIn | MessageType::Progress | MessageType::Unqualification => {
            DeliveryFormat::Toast
        }
    }
}

/// Per-brand overrides of the delivery preference (see the module docs for the semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryPreferences {
    brands: HashMap<String, BTreeMap<MessageType, Option<DeliveryFormat>>>,
}

impl DeliveryPreferences {
    /// Reads the JSON of `DELIVERY_PREFERENCES`: an object of brands, each an object of
    /// message types to `"TOAST"`, `"FULL_SCREEN"` or `null`. The error says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let raw: HashMap<String, BTreeMap<String, Option<DeliveryFormat>>> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut brands = HashMap::with_capacity(raw.len());
        for (brand, overrides) in raw {
            let mut parsed = BTreeMap::new();
            for (message_type, format) in overrides {
                let message_type: MessageType = message_type
                    .parse()
                    .map_err(|e: String| format!("brand `{brand}`: {e}"))?;
                parsed.insert(message_type, format);
            }
            brands.insert(brand, parsed);
        }
        Ok(DeliveryPreferences { brands })
    }

    /// Sets the preference of one brand's message type (`None`: no preference).
    pub fn set(
        &mut self,
        brand: impl Into<String>,
        message_type: MessageType,
        format: Option<DeliveryFormat>,
    ) {
        self.brands
            .entry(brand.into())
            .or_default()
            .insert(message_type, format);
    }

    /// The preference for `brand`'s messages of `message_type`.
    pub fn preference(&self, brand: &str, message_type: MessageType) -> Option<DeliveryFormat> {
        match self
            .brands
            .get(brand)
            .and_then(|overrides| overrides.get(&message_type))
        {
            Some(configured) => *configured,
            None => Some(default_preference(message_type)),
        }
    }
}

/// DES's decision on a reward message of `brand`.
pub fn decide(message: &RewardMessage, brand: &str, preferences: &DeliveryPreferences) -> Decision {
    let decisions: Vec<ProgressDecision> = message
        .activity
        .reward_progress
        .iter()
        .map(|progress| ProgressDecision {
            reward_scheme_id: progress.reward_scheme_id.clone(),
            activity_type: progress.activity_type.clone(),
            decision: decide_activity_type(&progress.activity_type),
        })
        .collect();
    let has_decision = decisions
        .iter()
        .any(|entry| entry.decision == DecisionKind::Decision);
    Decision {
        has_decision,
        decisions,
        delivery_preference: preferences.preference(brand, message.message_type),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{ActivityStatus, EnrichedActivity, EnrichedProgress, TierDefinition};

    pub(crate) fn progress(scheme: &str, activity_type: &str) -> EnrichedProgress {
        EnrichedProgress {
            reward_scheme_id: scheme.into(),
            activity_type: activity_type.into(),
            current: 3,
            target: 5,
            status: ActivityStatus::InProgress.into(),
            products: vec!["casino".into()],
            reward_type: activity_type.into(),
            product_reward_type: "CASINO_FREE_SPINS".into(),
            tier_definition: TierDefinition::default(),
            expiration_date: Some("2026-11-23T23:59:59Z".parse().expect("date")),
        }
    }

    pub(crate) fn message(message_type: MessageType, types: &[&str]) -> RewardMessage {
        RewardMessage {
            message_type,
            activity: EnrichedActivity {
                activity_id: "a-1".into(),
                account_id: "10048213".into(),
                brand: "skybet".into(),
                promo_code: "WEEKLY-SPINS".into(),
                attempt_id: "2026-W47".into(),
                sequence: 12,
                status: ActivityStatus::InProgress,
                occurred_at: "2026-11-16T09:30:00Z".parse().expect("date"),
                locale: Some("en-GB".into()),
                promo_name: "Weekly Spins".into(),
                promo_url: "https://example.test/promo".into(),
                tags: vec!["tim".into()],
                reward_progress: types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| progress(&format!("rs-{i}"), t))
                    .collect(),
            },
        }
    }

    #[test]
    fn each_known_activity_type_is_a_decision() {
        for activity_type in ["FREE_SPINS", "FREE_BET", "GAMING_BONUS"] {
            let decision = decide(
                &message(MessageType::Progress, &[activity_type]),
                "skybet",
                &DeliveryPreferences::default(),
            );
            assert!(decision.has_decision, "{activity_type}");
            assert_eq!(decision.decisions[0].decision, DecisionKind::Decision);
        }
    }

    #[test]
    fn other_activity_types_are_no_decision() {
        for activity_type in ["CASHBACK", "free_spins", "", "FREE_SPINS "] {
            let decision = decide(
                &message(MessageType::Progress, &[activity_type]),
                "skybet",
                &DeliveryPreferences::default(),
            );
            assert!(!decision.has_decision, "{activity_type:?}");
            assert_eq!(decision.decisions[0].decision, DecisionKind::NoDecision);
        }
    }

    #[test]
    fn mixed_progress_has_a_decision_if_any_entry_has_one() {
        let decision = decide(
            &message(MessageType::Progress, &["CASHBACK", "FREE_BET", "LOYALTY"]),
            "skybet",
            &DeliveryPreferences::default(),
        );
        assert!(decision.has_decision);
        let kinds: Vec<_> = decision.decisions.iter().map(|d| d.decision).collect();
        assert_eq!(
            kinds,
            vec![
                DecisionKind::NoDecision,
                DecisionKind::Decision,
                DecisionKind::NoDecision
            ]
        );
        assert_eq!(decision.decisions[1].reward_scheme_id, "rs-1");
    }

    #[test]
    fn no_progress_entries_is_no_decision() {
        let decision = decide(
            &message(MessageType::Progress, &[]),
            "skybet",
            &DeliveryPreferences::default(),
        );
        assert!(!decision.has_decision);
        assert!(decision.decisions.is_empty());
    }

    #[test]
    fn defaults_are_full_screen_for_awards_and_toast_otherwise() {
        let preferences = DeliveryPreferences::default();
        for message_type in MessageType::ALL {
            let expected = if message_type == MessageType::RewardAwarded {
                DeliveryFormat::FullScreen
            } else {
                DeliveryFormat::Toast
            };
            assert_eq!(
                preferences.preference("skybet", message_type),
                Some(expected)
            );
        }
    }

    #[test]
    fn brand_overrides_set_clear_or_keep_the_default() {
        let preferences = DeliveryPreferences::from_json(
            r#"{"skybet": {"PROGRESS": "FULL_SCREEN", "OPT_IN": null}}"#,
        )
        .expect("parses");
        assert_eq!(
            preferences.preference("skybet", MessageType::Progress),
            Some(DeliveryFormat::FullScreen)
        );
        assert_eq!(preferences.preference("skybet", MessageType::OptIn), None);
        assert_eq!(
            preferences.preference("skybet", MessageType::RewardAwarded),
            Some(DeliveryFormat::FullScreen)
        );
        assert_eq!(
            preferences.preference("skybet", MessageType::Unqualification),
            Some(DeliveryFormat::Toast)
        );
        // Another brand keeps every default.
        assert_eq!(
            preferences.preference("skyvegas", MessageType::OptIn),
            Some(DeliveryFormat::Toast)
        );
        let decision = decide(
            &message(MessageType::OptIn, &["FREE_SPINS"]),
            "skybet",
            &preferences,
        );
        assert!(decision.has_decision);
        assert_eq!(decision.delivery_preference, None);
    }

    #[test]
    fn empty_object_keeps_defaults_and_bad_json_is_named() {
        assert_eq!(
            DeliveryPreferences::from_json("{}").expect("empty"),
            DeliveryPreferences::default()
        );
        let error = DeliveryPreferences::from_json(r#"{"skybet": {"WIN": "TOAST"}}"#)
            .expect_err("unknown type");
        assert!(error.contains("unknown message type `WIN`"), "{error}");
        let error = DeliveryPreferences::from_json(r#"{"skybet": {"PROGRESS": "POPUP"}}"#)
            .expect_err("unknown format");
        assert!(error.contains("POPUP"), "{error}");
        assert!(DeliveryPreferences::from_json("[").is_err());
    }
}
