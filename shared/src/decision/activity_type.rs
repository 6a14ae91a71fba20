//! The decision rule: each reward progress entry whose `activityType` is `FREE_SPINS`,
//! `FREE_BET` or `GAMING_BONUS` is a `DECISION`, any other a `NO_DECISION` (exact,
//! case-sensitive match: the values are codes).

use crate::model::DecisionKind;

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

#[cfg(test)]
mod tests {
    use super::super::{decide, DeliveryPreferences};
    use super::*;
    use crate::model::MessageType;
    use crate::testing::fixtures::reward_message as message;

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
}
