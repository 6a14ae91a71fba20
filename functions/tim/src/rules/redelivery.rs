//! The redelivery rule: an event TIM already wrote but whose messages were never sent is
//! emitted again, the same; any other event whose sequence is not above the stored one is a
//! `duplicate`.
//!
//! The write and the publish are two effects, and a crash (or a failed publish) between them
//! leaves the state written and the message unsent. SQS then redelivers the record and the
//! write answers "stale" with the stored item. The same answer comes when the write itself was
//! applied but its answer was lost (a time-out) and the SDK retried it. In both cases the
//! stored item's latest state was written by this very event *carried by this very queue
//! message* (same CloudEvent id, same sequence, same SQS `messageId`,
//! [`StoredState::delivery`]): TIM then recomputes the verdict from the state the item keeps
//! from *before* the event ([`StoredState::previous`], written by the same conditional update,
//! so no read is needed) and emits the same events again, with the same ids; downstream
//! effects are idempotent. A stale record that another message carried (a repeat from Kafka or
//! DEC) is a true duplicate and is dropped.
//!
//! One state back is enough: TIM's queue is FIFO, grouped by the key, and a failed event is
//! reported with every later event of its key, so no newer event of the key is written before
//! the failed one comes back (docs/decisions.md, "Ordering").
//!
//! Items written before the message was kept with the state name none; for them a redelivery
//! is told by its receive count (above 1).

use rewards_shared::envelope::Envelope;
use rewards_shared::model::EnrichedActivity;
use rewards_shared::ports::{RewardState, StoredState};

/// The queue message that carried an event to TIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// Its SQS `messageId`.
    pub message_id: &'a str,
    /// Its `ApproximateReceiveCount` (1 on the first receive).
    pub receive_count: u32,
}

/// For an event whose own earlier write the stored item shows as the latest state — written
/// by this event, from this queue message — the state before it (`Some(None)` when it was the
/// key's first event). `None` for a true duplicate.
pub fn state_before<'a>(
    stored: &'a StoredState,
    envelope: &Envelope<EnrichedActivity>,
    delivery: Delivery<'_>,
) -> Option<Option<&'a RewardState>> {
    let same_event =
        stored.current.event_id == envelope.id && stored.current.sequence == envelope.data.sequence;
    let same_message = if stored.delivery.is_empty() {
        delivery.receive_count > 1
    } else {
        stored.delivery == delivery.message_id
    };
    (same_event && same_message).then_some(stored.previous.as_ref())
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

    fn stored(latest: RewardState, previous: Option<RewardState>, message: &str) -> StoredState {
        StoredState {
            current: latest,
            previous,
            delivery: message.into(),
        }
    }

    fn from(message_id: &str, receive_count: u32) -> Delivery<'_> {
        Delivery {
            message_id,
            receive_count,
        }
    }

    #[test]
    fn the_message_that_wrote_the_latest_state_gets_the_state_before_it() {
        let before = state("e0", 11);
        let item = stored(state("e1", 12), Some(before.clone()), "m1");
        // A lost write answer retried by the SDK: the first receive still.
        assert_eq!(
            state_before(&item, &event("e1"), from("m1", 1)),
            Some(Some(&before))
        );
        assert_eq!(
            state_before(&item, &event("e1"), from("m1", 2)),
            Some(Some(&before))
        );
        let first = stored(state("e1", 12), None, "m1");
        assert_eq!(
            state_before(&first, &event("e1"), from("m1", 3)),
            Some(None)
        );
    }

    #[test]
    fn the_same_event_from_another_message_or_another_event_is_a_duplicate() {
        let item = stored(state("e1", 12), Some(state("e0", 11)), "m1");
        assert_eq!(state_before(&item, &event("e1"), from("m2", 2)), None);
        assert_eq!(state_before(&item, &event("e2"), from("m1", 2)), None);
        let same_id_other_sequence = stored(state("e1", 13), None, "m1");
        assert_eq!(
            state_before(&same_id_other_sequence, &event("e1"), from("m1", 2)),
            None
        );
    }

    #[test]
    fn an_item_without_its_message_tells_a_redelivery_by_the_receive_count() {
        let item = stored(state("e1", 12), None, "");
        assert_eq!(state_before(&item, &event("e1"), from("m9", 2)), Some(None));
        assert_eq!(state_before(&item, &event("e1"), from("m9", 1)), None);
    }
}
