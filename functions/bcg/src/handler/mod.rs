//! BCG's batch handler for Lambda's SQS event.
//!
//! Each record is handled on its own (decode → drop rules → render → OSG or MSQ); records run
//! concurrently, bounded, since each may wait on CSL and OSG. The MSQ messages of the whole
//! batch are published in one call, and their `queued` outcomes recorded once published.
//! Bad records go to the dead-letter queue; transient failures (CSL unavailable, no template
//! at all, the MSQ queue unavailable) are reported in `batchItemFailures`.
//!
//! A delete instruction (a spent reward's) comes behind its award in the award's FIFO group:
//! BCG forwards it to msq-inbound-delete only once everything before it in the group was
//! handled (delivered, queued or dropped) and published, so MSQ never processes a delete while
//! BCG could still deliver the award it deletes.
//!
//! A missing template (none for the activity's locale nor for the default one) is treated as
//! transient: it is a configuration gap in CSL, not a bad record, so the record is retried
//! (and lands in the DLQ through the queue's redrive policy if the gap outlives
//! `maxReceiveCount`) rather than dead-lettered at once as `invalid-input`.

use crate::render::{render, Placeholders};
use crate::rules::cycle_start::CycleStart;
use crate::rules::expired::is_expired;
use crate::rules::locale_fallback;
use crate::rules::message_id::message_id;
use crate::rules::no_delivery_preference::delivery_format;
use crate::rules::osg_or_msq::{after_osg, QueueReason};
use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::{DateTime, Utc};
use rewards_shared::effects::{self, RecordEffects};
use rewards_shared::envelope::{Envelope, EventType, OneOf};
use rewards_shared::ids::derived_id;
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::model::{
    DecidedMessage, DeleteInstruction, OnsiteMessage, QueuedMessage, Validate as _,
};
use rewards_shared::ports::{
    Clock, CommonPorts, DeadLetterSink, Destination, DropReason, OnsiteGateway, Outcome,
    OutgoingMessage, Publisher, TemplateSource,
};
use rewards_shared::sqs::{self, RecordFailure};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Recorder;

/// Records handled at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// BCG's rules' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Locale used when the activity has none, and the template fallback.
    pub default_locale: String,
    /// The cycle start day.
    pub cycle: CycleStart,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_locale: "en-GB".to_owned(),
            cycle: CycleStart::default(),
        }
    }
}

/// BCG's handler, generic over its ports.
pub struct Handler<T, O, P, L, C> {
    settings: Settings,
    templates: T,
    onsite: O,
    ports: CommonPorts<P, L, C>,
    concurrency: usize,
}

impl<T, O, P, L, C> Handler<T, O, P, L, C>
where
    T: TemplateSource,
    O: OnsiteGateway,
    P: Publisher,
    L: DeadLetterSink,
    C: Clock,
{
    /// A handler rendering from `templates` (CSL), delivering through `onsite` (OSG),
    /// queueing to MSQ with the `ports`' publisher and sending bad records to their
    /// dead-letter sink.
    pub fn new(settings: Settings, templates: T, onsite: O, ports: CommonPorts<P, L, C>) -> Self {
        Handler {
            settings,
            templates,
            onsite,
            ports,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Handles one SQS event; never fails the whole batch.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let recorder = self.ports.telemetry.recorder();
        let messages = &event.records;
        recorder.count("RecordsIn", messages.len() as f64);
        let now = self.ports.clock.now();
        let results = sqs::each_event(
            Stage::Bcg,
            messages,
            |body: &str| OneOf::decode(body, &[EventType::Decided], &[EventType::MessageDelete]),
            self.concurrency,
            now,
            &recorder,
            |input: OneOf<DecidedMessage, DeleteInstruction>| {
                let recorder = &recorder;
                async move {
                    match input {
                        OneOf::First(envelope) => self.deliver(&envelope, now, recorder).await,
                        // Published after the messages of the records before it in its group
                        // (`effects::publish` keeps a group's order), and not at all when one
                        // of those failed.
                        OneOf::Second(envelope) => effects::pass_on_delete(
                            Stage::Bcg,
                            Destination::MsqDelete,
                            &envelope,
                            now,
                        ),
                    }
                }
            },
        )
        .await;
        let results = self.ports.publish(results, &recorder).await;
        let response = self
            .ports
            .settle(Stage::Bcg, messages, results, &recorder)
            .await;
        recorder.flush();
        response
    }

    async fn deliver(
        &self,
        envelope: &Envelope<DecidedMessage>,
        now: DateTime<Utc>,
        recorder: &Recorder<'_>,
    ) -> Result<RecordEffects, RecordFailure> {
        let data = &envelope.data;
        data.validate().map_err(RecordFailure::invalid)?;
        let activity = &data.activity;
        let dropped = |reason| {
            Ok(RecordEffects::dropped(
                Stage::Bcg,
                reason,
                &activity.account_id,
            ))
        };
        if is_expired(activity, now) {
            return dropped(DropReason::Expired);
        }
        let Some(format) = delivery_format(&data.decision) else {
            return dropped(DropReason::NoDeliveryPreference);
        };
        let template = locale_fallback::template(
            &self.templates,
            &activity.brand,
            data.message_type,
            activity.locale.as_deref(),
            &self.settings.default_locale,
        )
        .await?;
        let placeholders = Placeholders::from_activity(activity);
        let message = OnsiteMessage {
            message_id: message_id(activity, data.message_type),
            account_id: activity.account_id.clone(),
            brand: activity.brand.clone(),
            message_type: data.message_type,
            format,
            title: render(&template.title, &placeholders),
            body: render(&template.body, &placeholders),
            promo_code: activity.promo_code.clone(),
            promo_url: activity.promo_url.clone(),
            correlation_id: envelope.correlation_id.clone(),
            expires_at: activity.expires_at(),
        };
        if self.settings.cycle.holds_for_msq(data.message_type, now) {
            return self.queue(envelope, message, now, QueueReason::CycleStart);
        }
        let answer = self.onsite.deliver(&message).await;
        if let Err(error) = &answer {
            tracing::warn!(error = %error, "OSG failed after retries; queueing to MSQ");
        }
        match after_osg(&answer) {
            Some(reason) => self.queue(envelope, message, now, reason),
            None => {
                recorder.outcome(Outcome::Delivered {
                    account_id: message.account_id,
                    message_type: message.message_type,
                    message_id: message.message_id,
                    via: Stage::Bcg,
                    format: message.format,
                    title: message.title,
                    body: message.body,
                });
                Ok(RecordEffects::none())
            }
        }
    }

    fn queue(
        &self,
        envelope: &Envelope<DecidedMessage>,
        message: OnsiteMessage,
        now: DateTime<Utc>,
        reason: QueueReason,
    ) -> Result<RecordEffects, RecordFailure> {
        tracing::info!(reason = reason.as_str(), message_id = %message.message_id, "queueing to MSQ");
        let activity = &envelope.data.activity;
        let outcome = Outcome::Queued {
            account_id: message.account_id.clone(),
            message_type: message.message_type,
            message_id: message.message_id.clone(),
        };
        let queued = envelope.next(
            Stage::Bcg,
            EventType::MessageQueue,
            derived_id(&[Stage::Bcg.as_str(), &envelope.id]),
            now,
            QueuedMessage {
                message,
                attempt_id: activity.attempt_id.clone(),
                sequence: activity.sequence,
                occurred_at: activity.occurred_at,
            },
        );
        let outgoing = OutgoingMessage::new(Destination::MsqInbound, &queued)
            .map_err(RecordFailure::invalid)?
            .in_group(
                &activity.account_id,
                &activity.promo_code,
                &activity.attempt_id,
            );
        Ok(RecordEffects::new(vec![outgoing], vec![outcome]))
    }
}

#[cfg(test)]
mod tests;
