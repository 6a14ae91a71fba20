//! The redelivery rule: an event TIM already wrote but whose messages were never sent is
//! emitted again, the same; any other event whose sequence is not above the stored one is a
//! `duplicate`.
//!
//! The write and the publish are two effects, and a crash (or a failed publish) between them
//! leaves the state written and the message unsent. SQS then redelivers the record
//! (`ApproximateReceiveCount` > 1) and the write answers "stale" with the stored item. The
//! stored item keeps the state *before* its latest event ([`StoredState::previous`]), written
//! by the same conditional update, so no read is needed: when the item's latest state was
//! written by this very event (same CloudEvent id, same sequence), TIM recomputes the verdict
//! from that earlier state and emits the same events again, with the same ids; downstream
//! effects are idempotent.
//!
//! One state back is enough: TIM's queue is FIFO, grouped by the key, and a failed event is
//! reported with every later event of its key, so no newer event of the key is written before
//! the failed one comes back (docs/decisions.md, "Ordering"). A stale record on its first
//! delivery is a true duplicate (a repeat from Kafka or DEC) and is dropped.

use rewards_shared::envelope::Envelope;
use rewards_shared::model::EnrichedActivity;
use rewards_shared::ports::{RewardState, StoredState};

/// For a redelivered event (`receive_count` > 1) that the stored item shows wrote the latest
/// state, the state before it (`Some(None)` when it was the key's first event). `None` for a
/// true duplicate.
pub fn state_before<'a>(
    stored: &'a StoredState,
    envelope: &Envelope<EnrichedActivity>,
    receive_count: u32,
) -> Option<Option<&'a RewardState>> {
    let written_by_this =
        stored.current.event_id == envelope.id && stored.current.sequence == envelope.data.sequence;
    (receive_count > 1 && written_by_this).then_some(stored.previous.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::envelope::EventType;
    use rewards_shared::stage::Stage;
    use rewards_shared::testing::fixtures;

    fn event(id: &str) -> Envelope<EnrichedActivity> {
        fixtures::envelope(
            id,
            Stage::Dec,
            EventType::ActivityEnriched,
            fixtures::enriched_activity(),
        )
    }

    fn state(event_id: &str, sequence: u64) -> RewardState {
        RewardState {
            sequence,
            event_id: event_id.into(),
            ..RewardState::default()
        }
    }

    fn stored(latest: RewardState, previous: Option<RewardState>) -> StoredState {
        StoredState {
            current: latest,
            previous,
        }
    }

    #[test]
    fn a_redelivery_of_the_latest_writer_gets_the_state_before_it() {
        let before = state("e0", 11);
        let item = stored(state("e1", 12), Some(before.clone()));
        assert_eq!(state_before(&item, &event("e1"), 2), Some(Some(&before)));
        let first = stored(state("e1", 12), None);
        assert_eq!(state_before(&first, &event("e1"), 3), Some(None));
    }

    #[test]
    fn a_first_delivery_or_another_event_is_a_duplicate() {
        let item = stored(state("e1", 12), Some(state("e0", 11)));
        assert_eq!(state_before(&item, &event("e1"), 1), None);
        assert_eq!(state_before(&item, &event("e2"), 2), None);
        let same_id_other_sequence = stored(state("e1", 13), None);
        assert_eq!(state_before(&same_id_other_sequence, &event("e1"), 2), None);
    }
}
