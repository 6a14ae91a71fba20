//! Activities as the promotions platforms emit them (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, InvalidInput, Validate};

/// Status of an activity, or of one reward's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivityStatus {
    /// The customer opted in to the promotion.
    OptedIn,
    /// The customer progressed.
    InProgress,
    /// The reward was awarded.
    RewardAwarded,
    /// The customer spent the reward.
    RewardSpent,
    /// The customer no longer qualifies.
    Unqualified,
    /// The promotion attempt expired.
    Expired,
}

/// One reward's progress inside a CPP activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewardProgress {
    /// The reward scheme this progress is for.
    pub reward_scheme_id: String,
    /// Free text; DES knows `FREE_SPINS`, `FREE_BET` and `GAMING_BONUS`.
    pub activity_type: String,
    /// Progress so far.
    pub current: u64,
    /// Progress needed.
    pub target: u64,
    /// Status of this reward.
    pub status: ActivityStatus,
}

/// A CPP activity: the customer's progress in a promotion changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CppActivity {
    /// Unique id of this activity.
    pub activity_id: String,
    /// The customer.
    pub account_id: String,
    /// The brand the customer plays on.
    pub brand: String,
    /// The promotion.
    pub promo_code: String,
    /// The customer's attempt at the promotion (for example the week).
    pub attempt_id: String,
    /// Grows by at least one with each activity of the same (account, promo, attempt).
    pub sequence: u64,
    /// What happened.
    pub status: ActivityStatus,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The customer's locale, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Progress per reward.
    #[serde(default)]
    pub reward_progress: Vec<RewardProgress>,
}

impl Validate for CppActivity {
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

/// An EPPM activity: a week-one unqualification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EppmActivity {
    /// Unique id of this event.
    pub event_id: String,
    /// The customer.
    pub account_id: String,
    /// The brand.
    pub brand: String,
    /// The promotion.
    pub promo_code: String,
    /// The attempt.
    pub attempt_id: String,
    /// The promotion week (1 for EPPM).
    pub week: u32,
    /// Why the customer no longer qualifies.
    pub reason: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The customer's locale, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl Validate for EppmActivity {
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::id("eventId", &self.event_id)?;
        validate::id("accountId", &self.account_id)?;
        validate::id("brand", &self.brand)?;
        validate::id("promoCode", &self.promo_code)?;
        validate::id("attemptId", &self.attempt_id)?;
        validate::text("reason", &self.reason)?;
        if let Some(locale) = &self.locale {
            validate::text("locale", locale)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPP: &str = r#"{
      "activityId": "0f8c2d7e-5b1a-4f7e-9a51-3c2b0e9d1a77", "accountId": "10048213",
      "brand": "skybet", "promoCode": "WEEKLY-SPINS", "attemptId": "2026-W47", "sequence": 12,
      "status": "IN_PROGRESS", "occurredAt": "2026-11-16T09:30:00.000Z", "locale": "en-GB",
      "rewardProgress": [{"rewardSchemeId": "rs-100", "activityType": "FREE_SPINS",
                          "current": 3, "target": 5, "status": "IN_PROGRESS"}]}"#;

    #[test]
    fn parses_the_contract_example() {
        let activity: CppActivity = serde_json::from_str(CPP).expect("contract example parses");
        assert_eq!(activity.status, ActivityStatus::InProgress);
        assert_eq!(activity.reward_progress[0].current, 3);
        assert!(activity.validate().is_ok());
    }

    #[test]
    fn unknown_status_is_an_error() {
        let text = CPP.replace(
            "\"status\": \"IN_PROGRESS\", \"occurredAt\"",
            "\"status\": \"WON\", \"occurredAt\"",
        );
        let error = serde_json::from_str::<CppActivity>(&text).expect_err("unknown status");
        assert!(
            error.to_string().contains("unknown variant `WON`"),
            "{error}"
        );
    }

    #[test]
    fn empty_account_is_invalid() {
        let mut activity: CppActivity = serde_json::from_str(CPP).expect("parses");
        activity.account_id = " ".into();
        assert_eq!(
            activity.validate(),
            Err(InvalidInput::EmptyField { field: "accountId" })
        );
    }

    #[test]
    fn too_many_progress_entries_is_invalid() {
        let mut activity: CppActivity = serde_json::from_str(CPP).expect("parses");
        let entry = activity.reward_progress[0].clone();
        activity.reward_progress = vec![entry; crate::limits::MAX_REWARD_PROGRESS + 1];
        assert!(matches!(
            activity.validate(),
            Err(InvalidInput::TooManyProgressEntries { .. })
        ));
    }
}
