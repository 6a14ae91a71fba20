//! The messages between the later stages (spec sections 4–5).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::enriched::EnrichedActivity;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewardMessage {
    /// What kind of message it becomes.
    pub message_type: MessageType,
    /// The enriched activity behind it.
    pub activity: EnrichedActivity,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedMessage {
    /// What kind of message it becomes.
    pub message_type: MessageType,
    /// The enriched activity behind it.
    pub activity: EnrichedActivity,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}
