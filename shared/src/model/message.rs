//! The messages between the later stages (spec sections 4–5).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::enriched::EnrichedActivity;
use super::timestamp;
use super::validate::{self, InvalidInput, Validate};

/// The kind of onsite message a reward event becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    /// The customer opted in.
    OptIn,
    /// The customer progressed.
    Progress,
    /// The reward was awarded.
    RewardAwarded,
    /// The customer no longer qualifies.
    Unqualification,
}

impl MessageType {
    /// Every message type.
    pub const ALL: [MessageType; 4] = [
        MessageType::OptIn,
        MessageType::Progress,
        MessageType::RewardAwarded,
        MessageType::Unqualification,
    ];

    /// The wire name (`OPT_IN`, `PROGRESS`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::OptIn => "OPT_IN",
            MessageType::Progress => "PROGRESS",
            MessageType::RewardAwarded => "REWARD_AWARDED",
            MessageType::Unqualification => "UNQUALIFICATION",
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MessageType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        MessageType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| format!("unknown message type `{text}`"))
    }
}

/// How the onsite message is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryFormat {
    /// A small, passing notice.
    Toast,
    /// A full-screen message.
    FullScreen,
}

impl DeliveryFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryFormat::Toast => "TOAST",
            DeliveryFormat::FullScreen => "FULL_SCREEN",
        }
    }
}

/// A relevant reward event (TIM → FRED, and DEC → FRED for EPPM unqualifications): the data of
/// `rewards.relevant` and `rewards.unqualification`.
///
/// A stage that writes one holds the activity it read as `RewardMessage<&EnrichedActivity>`,
/// which serialises exactly as the owned form: the activity is written from where it is, not
/// copied first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewardMessage<A = EnrichedActivity> {
    /// What kind of message it becomes.
    pub message_type: MessageType,
    /// The enriched activity behind it.
    pub activity: A,
}

/// DES's verdict on one reward's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecisionKind {
    /// Worth a message.
    Decision,
    /// Not worth a message.
    NoDecision,
}

/// DES's verdict on one reward progress entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressDecision {
    /// The reward scheme.
    pub reward_scheme_id: String,
    /// The activity type DES decided on.
    pub activity_type: String,
    /// The verdict.
    pub decision: DecisionKind,
}

/// DES's response: the decision for a whole event and its delivery preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// True when any entry has a decision (mirrors the `has-decision` header).
    pub has_decision: bool,
    /// The verdict per reward progress entry.
    pub decisions: Vec<ProgressDecision>,
    /// How to show the message, if the brand has a preference for its type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_preference: Option<DeliveryFormat>,
}

/// A decided reward event (FRED → BCG): the data of `rewards.decided`.
///
/// FRED writes it as `DecidedMessage<&EnrichedActivity>`, borrowing the activity it read (the
/// same JSON as the owned form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedMessage<A = EnrichedActivity> {
    /// What kind of message it becomes.
    pub message_type: MessageType,
    /// The enriched activity behind it.
    pub activity: A,
    /// DES's decision, with the delivery preference.
    pub decision: Decision,
}

/// A rendered onsite message: what BCG and MSQ post to OSG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnsiteMessage {
    /// Deterministic id: the same input always yields the same id; OSG's idempotency key.
    pub message_id: String,
    /// The customer.
    pub account_id: String,
    /// The brand.
    pub brand: String,
    /// The kind of message.
    pub message_type: MessageType,
    /// How to show it.
    pub format: DeliveryFormat,
    /// Rendered title.
    pub title: String,
    /// Rendered body.
    pub body: String,
    /// The promotion.
    pub promo_code: String,
    /// Where the customer reads about the promotion.
    pub promo_url: String,
    /// The chain's correlation id, carried to OSG.
    pub correlation_id: String,
    /// When the reward expires (the message is worthless after).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A message to keep until the customer is online (BCG → MSQ): the data of
/// `rewards.message.queue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedMessage {
    /// The rendered message.
    pub message: OnsiteMessage,
    /// The attempt, part of the MSQ sort key.
    pub attempt_id: String,
    /// The activity's sequence; MSQ writes are conditional on it.
    pub sequence: u64,
    /// When the activity happened: resends go oldest first.
    #[serde(with = "timestamp")]
    pub occurred_at: DateTime<Utc>,
}

/// An instruction to delete the queued award of a promotion attempt (TIM → MSQ): the data of
/// `rewards.message.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteInstruction {
    /// The customer.
    pub account_id: String,
    /// The brand.
    pub brand: String,
    /// The promotion.
    pub promo_code: String,
    /// The attempt.
    pub attempt_id: String,
    /// The sequence of the `REWARD_SPENT` activity; the tombstone keeps it.
    pub sequence: u64,
    /// When the tombstone may go (the reward's expiry).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Validate for RewardMessage {
    /// The activity's bounds.
    fn validate(&self) -> Result<(), InvalidInput> {
        self.activity.validate()
    }
}

impl Validate for DecidedMessage {
    /// The activity's bounds, and as many decisions as progress entries at most.
    fn validate(&self) -> Result<(), InvalidInput> {
        self.activity.validate()?;
        validate::progress_count(self.decision.decisions.len())?;
        for decision in &self.decision.decisions {
            validate::id("decision.rewardSchemeId", &decision.reward_scheme_id)?;
            validate::text("decision.activityType", &decision.activity_type)?;
        }
        Ok(())
    }
}

impl Validate for QueuedMessage {
    /// The identifiers MSQ keys and resends the message by.
    fn validate(&self) -> Result<(), InvalidInput> {
        let message = &self.message;
        validate::id("message.messageId", &message.message_id)?;
        validate::id("message.accountId", &message.account_id)?;
        validate::id("message.brand", &message.brand)?;
        validate::id("message.promoCode", &message.promo_code)?;
        validate::id("attemptId", &self.attempt_id)?;
        validate::bounded_id("message.correlationId", &message.correlation_id)
    }
}

impl Validate for DeleteInstruction {
    /// The identifiers of the attempt.
    fn validate(&self) -> Result<(), InvalidInput> {
        validate::id("accountId", &self.account_id)?;
        validate::id("brand", &self.brand)?;
        validate::id("promoCode", &self.promo_code)?;
        validate::id("attemptId", &self.attempt_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{MAX_ID_CHARS, MAX_REWARD_PROGRESS};

    fn queued() -> QueuedMessage {
        QueuedMessage {
            message: OnsiteMessage {
                message_id: "m".into(),
                account_id: "1".into(),
                brand: "skybet".into(),
                message_type: MessageType::Progress,
                format: DeliveryFormat::Toast,
                title: "t".into(),
                body: "b".into(),
                promo_code: "P".into(),
                promo_url: "u".into(),
                correlation_id: String::new(),
                expires_at: None,
            },
            attempt_id: "A".into(),
            sequence: 1,
            occurred_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn queued_messages_and_delete_instructions_are_bounded() {
        assert_eq!(queued().validate(), Ok(()));
        let mut long = queued();
        long.message.account_id = "1".repeat(MAX_ID_CHARS + 1);
        assert_eq!(
            long.validate().expect_err("too long").to_string(),
            "field `message.accountId` has 129 characters, over the limit of 128"
        );
        let mut empty = queued();
        empty.attempt_id = " ".into();
        assert_eq!(
            empty.validate(),
            Err(InvalidInput::EmptyField { field: "attemptId" })
        );
        let instruction = DeleteInstruction {
            account_id: "1".into(),
            brand: "skybet".into(),
            promo_code: "P".repeat(MAX_ID_CHARS + 1),
            attempt_id: "A".into(),
            sequence: 2,
            expires_at: None,
        };
        assert!(matches!(
            instruction.validate(),
            Err(InvalidInput::TooLong {
                field: "promoCode",
                ..
            })
        ));
    }

    #[test]
    fn a_message_borrowing_its_activity_writes_what_the_owned_one_writes() {
        let activity = crate::testing::fixtures::enriched_activity();
        let owned = RewardMessage {
            message_type: MessageType::Progress,
            activity: activity.clone(),
        };
        let borrowed = RewardMessage {
            message_type: MessageType::Progress,
            activity: &activity,
        };
        let written = serde_json::to_string(&borrowed).expect("borrowed");
        assert_eq!(written, serde_json::to_string(&owned).expect("owned"));
        let read: RewardMessage = serde_json::from_str(&written).expect("reads back");
        assert_eq!(read, owned);

        let decision = Decision {
            has_decision: true,
            decisions: Vec::new(),
            delivery_preference: Some(DeliveryFormat::Toast),
        };
        let owned = DecidedMessage {
            message_type: MessageType::RewardAwarded,
            activity: activity.clone(),
            decision: decision.clone(),
        };
        let borrowed = DecidedMessage {
            message_type: MessageType::RewardAwarded,
            activity: &activity,
            decision,
        };
        assert_eq!(
            serde_json::to_string(&borrowed).expect("borrowed"),
            serde_json::to_string(&owned).expect("owned")
        );
    }

    #[test]
    fn decided_messages_carry_no_more_decisions_than_progress_entries_may_be() {
        let activity: EnrichedActivity = serde_json::from_value(serde_json::json!({
            "activityId": "a", "accountId": "1", "brand": "skybet", "promoCode": "P",
            "attemptId": "A", "sequence": 1, "status": "IN_PROGRESS",
            "occurredAt": "2026-11-16T09:30:00Z", "promoName": "n", "promoUrl": "u",
            "tags": [], "rewardProgress": []
        }))
        .expect("activity");
        let decision = ProgressDecision {
            reward_scheme_id: "rs".into(),
            activity_type: "FREE_SPINS".into(),
            decision: DecisionKind::Decision,
        };
        let decided = DecidedMessage {
            message_type: MessageType::Progress,
            activity,
            decision: Decision {
                has_decision: true,
                decisions: vec![decision; MAX_REWARD_PROGRESS + 1],
                delivery_preference: None,
            },
        };
        assert!(matches!(
            decided.validate(),
            Err(InvalidInput::TooManyProgressEntries { .. })
        ));
    }
}
