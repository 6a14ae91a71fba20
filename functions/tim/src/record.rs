//! One TIM record: decode, filter by tag, one conditional write, the rule table, and the
//! outgoing events.
//!
//! Redeliveries: the write and the publish are two effects, and a crash (or a failed publish)
//! between them leaves the state written and the message unsent. SQS then redelivers the
//! record and the write answers "stale" with the stored item. The same answer comes when the
//! write itself was applied but its answer was lost (a time-out) and the SDK retried it. In
//! both cases the stored item's latest state was written by this very event *carried by this
//! very queue message* (same CloudEvent id, same sequence, same SQS `messageId`): TIM then
//! recomputes the verdict from the state the item keeps from *before* the event and emits the
//! same events again, with the same ids; downstream effects are idempotent. No newer event of
//! the key can have been written meanwhile: TIM's queue is FIFO, grouped by the key, and a
//! failed event is reported with every later event of its key. A stale record that another
//! message carried (a repeat from Kafka or DEC) is a true duplicate and is dropped.
//!
//! Items written before the message was kept with the state name none; for them a redelivery
//! is told by its receive count (above 1), as before.

use chrono::{DateTime, Utc};
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::error::Retryable;
use rewards_shared::ids::derived_id;
use rewards_shared::model::{
    DeleteInstruction, EnrichedActivity, InvalidInput, MessageType, RewardMessage, Validate as _,
};
use rewards_shared::outputs::Outputs;
use rewards_shared::ports::{
    Destination, DropReason, OutgoingMessage, RewardState, StateKey, StoredState, TimStateStore,
    WriteResult,
};
use rewards_shared::sqs::RecordFailure;
use rewards_shared::stage::Stage;

use crate::rules::{state_update, verdict, Verdict};

/// Reads an SQS body as the enriched activity DEC emitted.
pub fn decode(body: &str) -> Result<Envelope<EnrichedActivity>, InvalidInput> {
    let envelope = Envelope::<EnrichedActivity>::decode(body, &[EventType::ActivityEnriched])?;
    envelope.data.validate()?;
    Ok(envelope)
}

/// The state key of an activity.
pub fn key(activity: &EnrichedActivity) -> StateKey {
    StateKey {
        account_id: activity.account_id.clone(),
        promo_code: activity.promo_code.clone(),
        attempt_id: activity.attempt_id.clone(),
    }
}

/// The queue message that carried an event to TIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// Its SQS `messageId`.
    pub message_id: &'a str,
    /// Its `ApproximateReceiveCount` (1 on the first receive).
    pub receive_count: u32,
}

/// Applies one event: the tag filter, one conditional write, the rule table. Returns the
/// events to publish, or the drop outcome.
pub async fn apply<S: TimStateStore>(
    store: &S,
    envelope: &Envelope<EnrichedActivity>,
    delivery: Delivery<'_>,
    filter_tag: &str,
    now: DateTime<Utc>,
) -> Result<Outputs, RecordFailure> {
    let activity = &envelope.data;
    if !activity.tags.iter().any(|tag| tag == filter_tag) {
        return Ok(dropped(activity, DropReason::Filtered));
    }
    let key = key(activity);
    let written = store
        .advance(
            &key,
            &state_update(activity, &envelope.id, delivery.message_id),
        )
        .await
        .map_err(|error| {
            if !error.is_retryable() {
                tracing::error!(key = %key, error = %error, "state store rejected the write");
            }
            RecordFailure::retry(error)
        })?;
    let verdict = match written {
        WriteResult::Applied { previous } => verdict(activity, previous.as_ref()),
        WriteResult::Stale { stored } => {
            let Some(before) = state_before(&stored, envelope, delivery) else {
                return Ok(dropped(activity, DropReason::Duplicate));
            };
            tracing::info!(key = %key, "redelivery of an event already written: emitting its events again");
            verdict(activity, before)
        }
    };
    Ok(match verdict {
        Verdict::Emit(message_type) => Outputs::message(emit(envelope, message_type, now)?),
        Verdict::Delete => Outputs::message(delete(envelope, now)?),
        Verdict::Drop(reason) => dropped(activity, reason),
        Verdict::Nothing => Outputs::none(),
    })
}

/// For an event whose own earlier write the stored item shows as the latest state — written
/// by this event, from this queue message — the state before it (`Some(None)` when it was the
/// key's first event). `None` for a true duplicate.
fn state_before<'a>(
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

fn dropped(activity: &EnrichedActivity, reason: DropReason) -> Outputs {
    Outputs::dropped(Stage::Tim, reason, &activity.account_id)
}

fn emit(
    envelope: &Envelope<EnrichedActivity>,
    message_type: MessageType,
    now: DateTime<Utc>,
) -> Result<OutgoingMessage, RecordFailure> {
    let (event_type, destination) = match message_type {
        MessageType::Unqualification => (
            EventType::Unqualification,
            Destination::UnqualificationEvents,
        ),
        _ => (EventType::Relevant, Destination::RelevantEvents),
    };
    let data = RewardMessage {
        message_type,
        activity: envelope.data.clone(),
    };
    let next = envelope.next(
        Stage::Tim,
        event_type,
        derived_id(&[Stage::Tim.as_str(), &envelope.id]),
        now,
        data,
    );
    let activity = &envelope.data;
    Ok(OutgoingMessage::new(destination, &next)
        .map_err(RecordFailure::invalid)?
        .in_group(
            &activity.account_id,
            &activity.promo_code,
            &activity.attempt_id,
        ))
}

fn delete(
    envelope: &Envelope<EnrichedActivity>,
    now: DateTime<Utc>,
) -> Result<OutgoingMessage, RecordFailure> {
    let activity = &envelope.data;
    let data = DeleteInstruction {
        account_id: activity.account_id.clone(),
        brand: activity.brand.clone(),
        promo_code: activity.promo_code.clone(),
        attempt_id: activity.attempt_id.clone(),
        sequence: activity.sequence,
        expires_at: activity.expires_at(),
    };
    let next = envelope.next(
        Stage::Tim,
        EventType::MessageDelete,
        derived_id(&[Stage::Tim.as_str(), &envelope.id]),
        now,
        data,
    );
    // The delete instruction travels the award's path (relevant-events, FRED, decided-events,
    // BCG) in the award's FIFO group, so it reaches MSQ only after BCG handled the award.
    Ok(OutgoingMessage::new(Destination::RelevantEvents, &next)
        .map_err(RecordFailure::invalid)?
        .in_group(
            &activity.account_id,
            &activity.promo_code,
            &activity.attempt_id,
        ))
}
