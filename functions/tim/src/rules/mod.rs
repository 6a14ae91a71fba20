//! The reward state rules of spec section 4, as a pure function.
//!
//! | status | emits | message type |
//! |---|---|---|
//! | `OPTED_IN` | `relevant-events` | `OPT_IN` |
//! | `IN_PROGRESS` | `relevant-events` if some `current` is above the stored one, else drop (`no-progress`) | `PROGRESS` |
//! | `REWARD_AWARDED` | `relevant-events`, first time only for the key (a repeat is a `duplicate`) | `REWARD_AWARDED` |
//! | `REWARD_SPENT` | a delete instruction to `msq-inbound-delete`, if an award was emitted for the key | — |
//! | `UNQUALIFIED` | `relevant-unqualification-events` | `UNQUALIFICATION` |
//! | `EXPIRED` | nothing (state only) | — |
//!
//! Before these rules come the tag filter ([`tag_filter`]) and the sequence check (the state
//! store's conditional write: an event not above the stored sequence is a `duplicate`, unless
//! it is a [`redelivery`]). An `IN_PROGRESS` event emits only if it [`progress`]ed.

pub mod progress;
pub mod redelivery;
pub mod tag_filter;

use std::collections::BTreeMap;

use rewards_shared::model::{ActivityStatus, EnrichedActivity, MessageType};
use rewards_shared::ports::{DropReason, RewardState, StateUpdate};

/// What TIM does with an event whose sequence is newer than the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Emit a message of this type (`UNQUALIFICATION` to the unqualification queue, the others
    /// to `relevant-events`).
    Emit(MessageType),
    /// Send a delete instruction to MSQ.
    Delete,
    /// Drop the event.
    Drop(DropReason),
    /// Keep the state only.
    Nothing,
}

/// The rule table, applied to `activity` given the state before it (`None` for the first
/// event of the key).
pub fn verdict(activity: &EnrichedActivity, previous: Option<&RewardState>) -> Verdict {
    let award_emitted = previous.is_some_and(|state| state.award_emitted);
    match activity.status {
        ActivityStatus::OptedIn => Verdict::Emit(MessageType::OptIn),
        ActivityStatus::InProgress => {
            if progress::progressed(activity, previous) {
                Verdict::Emit(MessageType::Progress)
            } else {
                Verdict::Drop(DropReason::NoProgress)
            }
        }
        ActivityStatus::RewardAwarded if award_emitted => Verdict::Drop(DropReason::Duplicate),
        ActivityStatus::RewardAwarded => Verdict::Emit(MessageType::RewardAwarded),
        ActivityStatus::RewardSpent if award_emitted => Verdict::Delete,
        ActivityStatus::RewardSpent => Verdict::Nothing,
        ActivityStatus::Unqualified => Verdict::Emit(MessageType::Unqualification),
        ActivityStatus::Expired => Verdict::Nothing,
    }
}

/// The state TIM writes for `activity` (CloudEvent `event_id`), carried by the queue message
/// `delivery`.
pub fn state_update(activity: &EnrichedActivity, event_id: &str, delivery: &str) -> StateUpdate {
    StateUpdate {
        sequence: activity.sequence,
        event_id: event_id.to_owned(),
        progress: activity
            .reward_progress
            .iter()
            .map(|progress| (progress.reward_scheme_id.clone(), progress.current))
            .collect::<BTreeMap<_, _>>(),
        awards: activity.status == ActivityStatus::RewardAwarded,
        expires_at: activity.expires_at(),
        delivery: delivery.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::model::EnrichedProgress;
    use rewards_shared::testing::fixtures;

    fn activity(status: ActivityStatus, current: u64) -> EnrichedActivity {
        EnrichedActivity {
            sequence: 2,
            status,
            reward_progress: vec![EnrichedProgress {
                reward_scheme_id: "rs".into(),
                current,
                status: status.into(),
                ..fixtures::progress()
            }],
            ..fixtures::enriched_activity()
        }
    }

    fn state(current: u64, award_emitted: bool) -> RewardState {
        RewardState {
            sequence: 1,
            event_id: "e".into(),
            progress: [("rs".to_owned(), current)].into(),
            award_emitted,
        }
    }

    #[test]
    fn opted_in_emits_opt_in() {
        assert_eq!(
            verdict(&activity(ActivityStatus::OptedIn, 0), None),
            Verdict::Emit(MessageType::OptIn)
        );
    }

    #[test]
    fn in_progress_emits_only_when_some_current_grew() {
        let progress = activity(ActivityStatus::InProgress, 3);
        assert_eq!(
            verdict(&progress, None),
            Verdict::Emit(MessageType::Progress)
        );
        assert_eq!(
            verdict(&progress, Some(&state(2, false))),
            Verdict::Emit(MessageType::Progress)
        );
        assert_eq!(
            verdict(&progress, Some(&state(3, false))),
            Verdict::Drop(DropReason::NoProgress)
        );
        assert_eq!(
            verdict(&progress, Some(&state(4, false))),
            Verdict::Drop(DropReason::NoProgress)
        );
        assert_eq!(
            verdict(&activity(ActivityStatus::InProgress, 0), None),
            Verdict::Drop(DropReason::NoProgress)
        );
    }

    #[test]
    fn in_progress_compares_each_scheme_with_its_own_stored_current() {
        let mut progress = activity(ActivityStatus::InProgress, 3);
        let mut other = progress.reward_progress[0].clone();
        other.reward_scheme_id = "rs-2".into();
        other.current = 1;
        progress.reward_progress.push(other);
        // rs stays at 3, rs-2 is new at 1: progress.
        assert_eq!(
            verdict(&progress, Some(&state(3, false))),
            Verdict::Emit(MessageType::Progress)
        );
    }

    #[test]
    fn award_emits_the_first_time_only() {
        let award = activity(ActivityStatus::RewardAwarded, 5);
        assert_eq!(
            verdict(&award, None),
            Verdict::Emit(MessageType::RewardAwarded)
        );
        assert_eq!(
            verdict(&award, Some(&state(4, false))),
            Verdict::Emit(MessageType::RewardAwarded)
        );
        assert_eq!(
            verdict(&award, Some(&state(5, true))),
            Verdict::Drop(DropReason::Duplicate)
        );
    }

    #[test]
    fn spent_deletes_only_after_an_award() {
        let spent = activity(ActivityStatus::RewardSpent, 5);
        assert_eq!(verdict(&spent, Some(&state(5, true))), Verdict::Delete);
        assert_eq!(verdict(&spent, Some(&state(5, false))), Verdict::Nothing);
        assert_eq!(verdict(&spent, None), Verdict::Nothing);
    }

    #[test]
    fn unqualified_emits_an_unqualification_and_expired_nothing() {
        assert_eq!(
            verdict(
                &activity(ActivityStatus::Unqualified, 0),
                Some(&state(3, true))
            ),
            Verdict::Emit(MessageType::Unqualification)
        );
        assert_eq!(
            verdict(
                &activity(ActivityStatus::Expired, 0),
                Some(&state(3, false))
            ),
            Verdict::Nothing
        );
    }

    #[test]
    fn state_update_marks_awards_and_carries_progress_and_expiry() {
        let award = state_update(&activity(ActivityStatus::RewardAwarded, 5), "e-2", "m-2");
        assert!(award.awards);
        assert_eq!(award.sequence, 2);
        assert_eq!(award.progress.get("rs"), Some(&5));
        assert!(award.expires_at.is_some());
        assert!(!state_update(&activity(ActivityStatus::RewardSpent, 5), "e-3", "m-3").awards);
    }
}
