//! The progress rule: an `IN_PROGRESS` event is worth a message only when some reward moved.
//!
//! Progress is stored per `rewardSchemeId`. "Some `current` is above the stored one" compares
//! each of the event's entries with the stored value of its own scheme; a scheme never seen
//! compares against 0. Otherwise the event is dropped (`no-progress`).

use rewards_shared::model::EnrichedActivity;
use rewards_shared::ports::RewardState;

/// True when some entry of `activity` is above the stored `current` of its scheme in
/// `previous` (`None`: the key's first event).
pub fn progressed(activity: &EnrichedActivity, previous: Option<&RewardState>) -> bool {
    activity.reward_progress.iter().any(|progress| {
        let stored = previous
            .and_then(|state| state.progress.get(&progress.reward_scheme_id))
            .copied()
            .unwrap_or(0);
        progress.current > stored
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::model::EnrichedProgress;
    use rewards_shared::testing::fixtures;

    fn activity(entries: &[(&str, u64)]) -> EnrichedActivity {
        EnrichedActivity {
            reward_progress: entries
                .iter()
                .map(|(scheme, current)| EnrichedProgress {
                    reward_scheme_id: (*scheme).into(),
                    current: *current,
                    ..fixtures::progress()
                })
                .collect(),
            ..fixtures::enriched_activity()
        }
    }

    fn stored(entries: &[(&str, u64)]) -> RewardState {
        RewardState {
            progress: entries
                .iter()
                .map(|(scheme, current)| ((*scheme).to_owned(), *current))
                .collect(),
            ..RewardState::default()
        }
    }

    #[test]
    fn a_first_event_progressed_when_some_current_is_above_zero() {
        assert!(progressed(&activity(&[("rs", 1)]), None));
        assert!(!progressed(&activity(&[("rs", 0)]), None));
        assert!(!progressed(&activity(&[]), None));
    }

    #[test]
    fn each_entry_compares_with_its_own_scheme() {
        let before = stored(&[("rs", 3), ("rs-2", 5)]);
        assert!(!progressed(&activity(&[("rs", 3)]), Some(&before)));
        assert!(!progressed(
            &activity(&[("rs", 2), ("rs-2", 5)]),
            Some(&before)
        ));
        assert!(progressed(
            &activity(&[("rs", 3), ("rs-2", 6)]),
            Some(&before)
        ));
        // A scheme never seen compares against 0.
        assert!(progressed(
            &activity(&[("rs", 3), ("rs-3", 1)]),
            Some(&before)
        ));
    }
}
