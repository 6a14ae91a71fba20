//! DES's decision logic (spec section 5), pure: no I/O, no clock.
//!
//! - Each reward progress entry whose `activityType` is `FREE_SPINS`, `FREE_BET` or
//!   `GAMING_BONUS` is a `DECISION`, any other a `NO_DECISION`; the event has a decision when
//!   any entry has one (an event without entries has none).
//! - The delivery preference depends on the message type, with per-brand overrides
//!   ([`delivery_preference`]).
//!
//! One file per rule: [`activity_type`] (which entries are a decision), [`delivery_preference`]
//! (the format per message type and brand), and [`batch`] (the wire format of a batch of
//! decisions).

pub mod activity_type;
pub mod batch;
pub mod delivery_preference;

pub use activity_type::{decide_activity_type, DECISION_ACTIVITY_TYPES};
pub use delivery_preference::{default_preference, DeliveryPreferences};

use crate::model::{Decision, DecisionKind, ProgressDecision, RewardMessage};

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
mod tests {
    use super::*;
    use crate::model::MessageType;
    use crate::testing::fixtures::reward_message as message;

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
}
