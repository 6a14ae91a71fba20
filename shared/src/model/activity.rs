//! Activities as the promotions platforms emit them (spec section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::model_struct;
use super::timestamp;
use super::tolerant;
use super::validate::{self, InvalidInput, ProgressTexts, Validate};
use crate::envelope::format_timestamp;
use crate::ids::derived_id;

/// Status of an activity: the closed set the reward state rules route on (spec section 4).
/// An unknown value fails to parse, and the record is `invalid-input`.
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

impl ActivityStatus {
    /// The wire name (`OPTED_IN`, `IN_PROGRESS`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityStatus::OptedIn => "OPTED_IN",
            ActivityStatus::InProgress => "IN_PROGRESS",
            ActivityStatus::RewardAwarded => "REWARD_AWARDED",
            ActivityStatus::RewardSpent => "REWARD_SPENT",
            ActivityStatus::Unqualified => "UNQUALIFIED",
            ActivityStatus::Expired => "EXPIRED",
        }
    }
}

/// The status of one reward's progress: free text (`IN_PROGRESS`, `COMPLETED`, `ACTIVE`, …),
/// carried and never interpreted. Empty when the entry has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProgressStatus(pub String);

impl ProgressStatus {
    /// Whether the entry carried no status.
    pub fn is_absent(&self) -> bool {
        self.0.is_empty()
    }

    /// The text as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<ActivityStatus> for ProgressStatus {
    fn from(status: ActivityStatus) -> Self {
        ProgressStatus(status.as_str().to_owned())
    }
}

impl From<&str> for ProgressStatus {
    fn from(text: &str) -> Self {
        ProgressStatus(text.to_owned())
    }
}

model_struct! {
    /// One reward's progress inside a CPP activity. Only `rewardSchemeId` is required: it is
    /// the key TIM keeps progress by. A missing `activityType` is empty (DES decides nothing on
    /// it), a missing `current` or `target` is 0.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RewardProgress {
        /// The reward scheme this progress is for.
        #[serde(deserialize_with = "tolerant::id")]
        pub reward_scheme_id: String,
        ..progress,
    }
}

model_struct! {
    /// A CPP activity: the customer's progress in a promotion changed.
    ///
    /// Required: `accountId`, `promoCode`, `attemptId`, `sequence`, `status`, `occurredAt`.
    /// Everything else may be absent or `null`; unknown fields are ignored.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CppActivity {
        /// Unique id of this activity; empty when absent (see
        /// [`CppActivity::derive_missing_id`]).
        #[serde(default, deserialize_with = "tolerant::optional_id")]
        pub activity_id: String,
        ..activity_key,
        /// Grows by at least one with each activity of the same (account, promo, attempt).
        #[serde(deserialize_with = "tolerant::count")]
        pub sequence: u64,
        /// What happened.
        pub status: ActivityStatus,
        /// When it happened.
        #[serde(with = "timestamp")]
        pub occurred_at: DateTime<Utc>,
        /// The customer's locale, when known (else the brand's default locale).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub locale: Option<String>,
        /// Progress per reward; absent or `null` is none.
        #[serde(default, deserialize_with = "tolerant::null_as_default")]
        pub reward_progress: Vec<RewardProgress>,
    }
}

impl CppActivity {
    /// Gives an activity without `activityId` an id derived from what identifies it (the
    /// customer, promotion, attempt, sequence and status), so a redelivery gets the same id.
    pub fn derive_missing_id(&mut self) {
        if self.activity_id.trim().is_empty() {
            self.activity_id = derived_id(&[
                "cpp-activity",
                &self.account_id,
                &self.promo_code,
                &self.attempt_id,
                &self.sequence.to_string(),
                self.status.as_str(),
            ]);
        }
    }
}

impl Validate for CppActivity {
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::activity(
            &[
                ("activityId", &self.activity_id),
                ("accountId", &self.account_id),
                ("promoCode", &self.promo_code),
                ("attemptId", &self.attempt_id),
            ],
            self.locale.as_deref(),
            &self.reward_progress,
        )?;
        validate::bounded_id("brand", &self.brand)
    }
}

model_struct! {
    /// An EPPM activity: a week-one unqualification.
    ///
    /// Required: `accountId`, `promoCode`, `attemptId`, `occurredAt`. `week` and `reason` are
    /// informational: a value that does not read is absent, never an error.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EppmActivity {
        /// Unique id of this event; empty when absent (see
        /// [`EppmActivity::derive_missing_id`]).
        #[serde(default, deserialize_with = "tolerant::optional_id")]
        pub event_id: String,
        ..activity_key,
        /// The promotion week (1 for EPPM): a number or a numeric string.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "tolerant::informational_count"
        )]
        pub week: Option<u64>,
        /// Why the customer no longer qualifies (any text).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "tolerant::informational_text"
        )]
        pub reason: Option<String>,
        /// When it happened.
        #[serde(with = "timestamp")]
        pub occurred_at: DateTime<Utc>,
        /// The customer's locale, when known (else the brand's default locale).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub locale: Option<String>,
    }
}

impl EppmActivity {
    /// Gives an event without `eventId` an id derived from what identifies it (the customer,
    /// promotion, attempt and time), so a redelivery gets the same id.
    pub fn derive_missing_id(&mut self) {
        if self.event_id.trim().is_empty() {
            self.event_id = derived_id(&[
                "eppm-activity",
                &self.account_id,
                &self.promo_code,
                &self.attempt_id,
                &format_timestamp(self.occurred_at),
            ]);
        }
    }
}

impl Validate for EppmActivity {
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::id("eventId", &self.event_id)?;
        validate::id("accountId", &self.account_id)?;
        validate::bounded_id("brand", &self.brand)?;
        validate::id("promoCode", &self.promo_code)?;
        validate::id("attemptId", &self.attempt_id)?;
        if let Some(reason) = &self.reason {
            validate::text("reason", reason)?;
        }
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
    fn a_progress_status_is_free_text_within_the_text_limit() {
        let mut activity: CppActivity = serde_json::from_str(
            &CPP.replace("\"status\": \"IN_PROGRESS\"}", "\"status\": \"COMPLETED\"}"),
        )
        .expect("parses");
        assert_eq!(activity.reward_progress[0].status.as_str(), "COMPLETED");
        assert!(activity.validate().is_ok());
        activity.reward_progress[0].status = "x"
            .repeat(crate::limits::MAX_TEXT_CHARS + 1)
            .as_str()
            .into();
        assert!(matches!(
            activity.validate(),
            Err(InvalidInput::TooLong {
                field: "rewardProgress.status",
                ..
            })
        ));
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
