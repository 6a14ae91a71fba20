//! One TIM record: decode, filter by tag ([`crate::rules::tag_filter`]), one conditional
//! write, the rule table ([`crate::rules`]), and the outgoing events. A stale write is a
//! duplicate or a redelivery ([`crate::rules::redelivery`]).

use chrono::{DateTime, Utc};
use rewards_shared::effects::RecordEffects;
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::error::Retryable;
use rewards_shared::ids::derived_id;
use rewards_shared::model::{
    DeleteInstruction, EnrichedActivity, InvalidInput, MessageType, PassedOn, RewardMessage,
    Validate as _,
};
use rewards_shared::ports::{
    Destination, DropReason, OutgoingMessage, StateKey, TimStateStore, WriteResult,
};
use rewards_shared::sqs::RecordFailure;
use rewards_shared::stage::Stage;

use crate::rules::redelivery::state_before;
pub use crate::rules::redelivery::Delivery;
use crate::rules::{state_update, tag_filter, verdict, Verdict};

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

/// Applies one event: the tag filter, one conditional write, the rule table. Returns the
/// events to publish, or the drop outcome.
pub async fn apply<S: TimStateStore>(
    store: &S,
    envelope: &Envelope<EnrichedActivity>,
    delivery: Delivery<'_>,
    filter_tag: &str,
    now: DateTime<Utc>,
) -> Result<RecordEffects, RecordFailure> {
    let activity = &envelope.data;
    if !tag_filter::passes(activity, filter_tag) {
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
        Verdict::Emit(message_type) => RecordEffects::message(emit(envelope, message_type, now)?),
        Verdict::Delete => RecordEffects::message(delete(envelope, now)?),
        Verdict::Drop(reason) => dropped(activity, reason),
        Verdict::Nothing => RecordEffects::none(),
    })
}

fn dropped(activity: &EnrichedActivity, reason: DropReason) -> RecordEffects {
    RecordEffects::dropped(Stage::Tim, reason, &activity.account_id)
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
        activity: PassedOn(&envelope.data),
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
