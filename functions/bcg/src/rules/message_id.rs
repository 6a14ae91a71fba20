//! The onsite message's deterministic id: the same input always yields the same id, so a
//! redelivered event produces the same message and OSG (which dedupes by it) shows it once.

use rewards_shared::ids::derived_id;
use rewards_shared::model::{EnrichedActivity, MessageType};

/// The id of the `message_type` message of `activity`: derived from (brand, accountId,
/// promoCode, attemptId, messageType, sequence).
pub fn message_id(activity: &EnrichedActivity, message_type: MessageType) -> String {
    derived_id(&[
        "onsite-message",
        &activity.brand,
        &activity.account_id,
        &activity.promo_code,
        &activity.attempt_id,
        message_type.as_str(),
        &activity.sequence.to_string(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::testing::fixtures;

    fn activity(sequence: u64) -> EnrichedActivity {
        EnrichedActivity {
            activity_id: format!("a-{sequence}"),
            sequence,
            ..fixtures::enriched_activity()
        }
    }

    #[test]
    fn same_input_same_id() {
        assert_eq!(
            message_id(&activity(12), MessageType::Progress),
            message_id(&activity(12), MessageType::Progress)
        );
        // The activity's own id and content beyond the key do not matter.
        let mut other = activity(12);
        other.activity_id = "replayed".into();
        other.promo_name = "Renamed".into();
        assert_eq!(
            message_id(&activity(12), MessageType::Progress),
            message_id(&other, MessageType::Progress)
        );
    }

    #[test]
    fn each_part_changes_the_id() {
        let base = message_id(&activity(12), MessageType::Progress);
        assert_ne!(base, message_id(&activity(13), MessageType::Progress));
        assert_ne!(base, message_id(&activity(12), MessageType::RewardAwarded));
        for change in [
            |a: &mut EnrichedActivity| a.brand = "skyvegas".into(),
            |a: &mut EnrichedActivity| a.account_id = "2".into(),
            |a: &mut EnrichedActivity| a.promo_code = "OTHER".into(),
            |a: &mut EnrichedActivity| a.attempt_id = "2026-W48".into(),
        ] {
            let mut changed = activity(12);
            change(&mut changed);
            assert_ne!(base, message_id(&changed, MessageType::Progress));
        }
    }
}
