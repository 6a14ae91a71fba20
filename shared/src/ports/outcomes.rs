//! The outcomes port: where a stage says what became of an event.
//!
//! Each outcome is recorded by the stage where it happens: a drop, a dead letter, a delivery, a
//! queueing or a deletion. In Lambda they become log lines (and metrics, through
//! [`crate::telemetry::Recorder`]); the local runner prints them as the outcome lines of the
//! contract (spec section 7), which is why [`Outcome`] serialises to exactly those.

use std::sync::Mutex;

use serde::Serialize;

use crate::model::{DeliveryFormat, MessageType};
use crate::stage::Stage;

/// Why a stage dropped an event (spec sections 4, 5 and 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// TIM: the promotion lacks the filter tag.
    Filtered,
    /// TIM: the sequence is not above the stored one, or the award was already sent.
    Duplicate,
    /// TIM: no reward progressed.
    NoProgress,
    /// FRED: the message type, brand or promotion is not configured.
    NotConfigured,
    /// FRED: DES has no decision.
    NoDecision,
    /// BCG: the reward has expired.
    Expired,
    /// BCG: no delivery preference for the message type.
    NoDeliveryPreference,
}

impl DropReason {
    /// The reason as outcome lines and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Filtered => "filtered",
            DropReason::Duplicate => "duplicate",
            DropReason::NoProgress => "no-progress",
            DropReason::NotConfigured => "not-configured",
            DropReason::NoDecision => "no-decision",
            DropReason::Expired => "expired",
            DropReason::NoDeliveryPreference => "no-delivery-preference",
        }
    }
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// OSG showed the message to the customer.
    #[serde(rename_all = "camelCase")]
    Delivered {
        /// The customer.
        account_id: String,
        /// The kind of message.
        message_type: MessageType,
        /// The deterministic message id.
        message_id: String,
        /// `bcg` for a direct delivery, `msq` for a resend.
        via: Stage,
        /// How it was shown.
        format: DeliveryFormat,
        /// Rendered title.
        title: String,
        /// Rendered body.
        body: String,
    },
    /// The message waits in MSQ until the customer is online.
    #[serde(rename_all = "camelCase")]
    Queued {
        /// The customer.
        account_id: String,
        /// The kind of message.
        message_type: MessageType,
        /// The deterministic message id.
        message_id: String,
    },
    /// A stage dropped the event.
    #[serde(rename_all = "camelCase")]
    Dropped {
        /// The stage.
        stage: Stage,
        /// Why.
        reason: DropReason,
        /// The customer, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        account_id: Option<String>,
    },
    /// MSQ removed a queued message on instruction (the reward was spent first).
    #[serde(rename_all = "camelCase")]
    Deleted {
        /// The customer.
        account_id: String,
        /// The kind of message removed.
        message_type: MessageType,
    },
    /// A record went to the stage's dead-letter queue.
    #[serde(rename = "dead-lettered")]
    DeadLettered {
        /// The stage.
        stage: Stage,
        /// `invalid-input: …` or `unknown-promotion`.
        reason: String,
    },
}

/// Receives outcomes.
pub trait OutcomeSink: Send + Sync {
    /// Records one outcome.
    fn record(&self, outcome: Outcome);
}

/// Logs each outcome as a structured line (production).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogOutcomes;

impl OutcomeSink for LogOutcomes {
    fn record(&self, outcome: Outcome) {
        match &outcome {
            Outcome::Delivered {
                account_id,
                message_type,
                message_id,
                via,
                ..
            } => tracing::info!(
                outcome = "delivered", account_id = %account_id, message_type = %message_type,
                message_id = %message_id, via = %via, "message delivered"
            ),
            Outcome::Queued {
                account_id,
                message_type,
                message_id,
            } => tracing::info!(
                outcome = "queued", account_id = %account_id, message_type = %message_type,
                message_id = %message_id, "message queued"
            ),
            Outcome::Dropped {
                stage,
                reason,
                account_id,
            } => tracing::info!(
                outcome = "dropped", stage = %stage, reason = reason.as_str(),
                account_id = account_id.as_deref().unwrap_or(""), "event dropped"
            ),
            Outcome::Deleted {
                account_id,
                message_type,
            } => tracing::info!(
                outcome = "deleted", account_id = %account_id, message_type = %message_type,
                "queued message deleted"
            ),
            Outcome::DeadLettered { stage, reason } => tracing::warn!(
                outcome = "dead-lettered", stage = %stage, reason = %reason,
                "record dead-lettered"
            ),
        }
    }
}

/// Keeps outcomes in order (tests, the local runner).
#[derive(Debug, Default)]
pub struct MemoryOutcomes {
    outcomes: Mutex<Vec<Outcome>>,
}

impl MemoryOutcomes {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the outcomes recorded so far.
    pub fn take(&self) -> Vec<Outcome> {
        self.outcomes
            .lock()
            .map(|mut outcomes| std::mem::take(&mut *outcomes))
            .unwrap_or_default()
    }
}

impl OutcomeSink for MemoryOutcomes {
    fn record(&self, outcome: Outcome) {
        if let Ok(mut outcomes) = self.outcomes.lock() {
            outcomes.push(outcome);
        }
    }
}

impl<S: OutcomeSink + ?Sized> OutcomeSink for std::sync::Arc<S> {
    fn record(&self, outcome: Outcome) {
        (**self).record(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialise_to_the_contract_lines() {
        let dropped = Outcome::Dropped {
            stage: Stage::Tim,
            reason: DropReason::NoProgress,
            account_id: Some("1".into()),
        };
        assert_eq!(
            serde_json::to_string(&dropped).expect("json"),
            r#"{"outcome":"dropped","stage":"tim","reason":"no-progress","accountId":"1"}"#
        );
        let delivered = Outcome::Delivered {
            account_id: "1".into(),
            message_type: MessageType::RewardAwarded,
            message_id: "m".into(),
            via: Stage::Msq,
            format: DeliveryFormat::FullScreen,
            title: "t".into(),
            body: "b".into(),
        };
        assert_eq!(
            serde_json::to_string(&delivered).expect("json"),
            r#"{"outcome":"delivered","accountId":"1","messageType":"REWARD_AWARDED","messageId":"m","via":"msq","format":"FULL_SCREEN","title":"t","body":"b"}"#
        );
        let dead = Outcome::DeadLettered {
            stage: Stage::Dec,
            reason: "unknown-promotion".into(),
        };
        assert_eq!(
            serde_json::to_string(&dead).expect("json"),
            r#"{"outcome":"dead-lettered","stage":"dec","reason":"unknown-promotion"}"#
        );
    }
}
