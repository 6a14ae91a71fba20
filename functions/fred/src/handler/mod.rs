//! FRED's batch handler for Lambda's SQS event.
//!
//! A batch is handled in three steps: each record is read and filtered on its own
//! ([`Handler::read`]); the records that need a decision are sent to DES in one request, each
//! as the CloudEvent text it arrived as ([`DecisionService::decide_batch`]); each record's answer becomes its decided event
//! ([`Handler::forward`]). The decided events of the whole batch are published in one call. Bad
//! records go to the dead-letter queue, transient failures (DES or the queue unavailable) are
//! reported in `batchItemFailures`; one record never fails the batch.
//!
//! A delete instruction (a spent reward's) shares relevant-events with the award it deletes,
//! in the award's FIFO group: FRED forwards it to decided-events as it is, without asking DES
//! and whatever its filter says. A record that fails for a retry holds back every later record
//! of its group in the batch ([`sqs::hold_back_behind_failures`]), so nothing of a group is
//! published ahead of what precedes it.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::{DateTime, Utc};
use rewards_shared::effects::{self, RecordEffects};
use rewards_shared::envelope::{Envelope, EventType, OneOf, Traced as _};
use rewards_shared::error::Retryable;
use rewards_shared::ids::derived_id;
use rewards_shared::lambda_event::{SqsEvent, SqsMessage};
use rewards_shared::model::{
    DecidedMessage, Decision, DeleteInstruction, RewardMessage, Validate as _,
};
use rewards_shared::ports::{
    Asked, Clock, CommonPorts, DeadLetterSink, DecisionError, DecisionService, Destination,
    DropReason, OutgoingMessage, Publisher,
};
use rewards_shared::sqs::{self, RecordFailure};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Recorder;

use crate::rules::not_configured::FredFilter;

/// The event types FRED decides on.
pub const INPUT_TYPES: [EventType; 2] = [EventType::Relevant, EventType::Unqualification];
/// The event types FRED forwards as they are.
pub const FORWARDED_TYPES: [EventType; 1] = [EventType::MessageDelete];

/// What became of one record once it was read and filtered.
// The steps of a batch live in one `Vec` for the length of the batch; boxing the envelope would
// cost an allocation per record for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<'a> {
    /// Settled without DES: dropped, or a failure.
    Done(Result<RecordEffects, RecordFailure>),
    /// Needs DES's decision; `span` is the record's.
    Ask {
        /// The event, read and checked.
        envelope: Envelope<RewardMessage>,
        /// The body it was read from (sent to DES as it is).
        body: &'a str,
        /// The record's span.
        span: tracing::Span,
    },
}

/// FRED's handler, generic over its ports.
pub struct Handler<D, P, L, C> {
    filter: FredFilter,
    decisions: D,
    ports: CommonPorts<P, L, C>,
}

impl<D, P, L, C> Handler<D, P, L, C>
where
    D: DecisionService,
    P: Publisher,
    L: DeadLetterSink,
    C: Clock,
{
    /// A handler filtering with `filter`, asking `decisions` (DES), publishing decided events
    /// with the `ports`' publisher and bad records to their dead-letter sink.
    pub fn new(filter: FredFilter, decisions: D, ports: CommonPorts<P, L, C>) -> Self {
        Handler {
            filter,
            decisions,
            ports,
        }
    }

    /// Handles one SQS event; never fails the whole batch. DES is asked once for the records
    /// that need a decision.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let recorder = self.ports.telemetry.recorder();
        let messages = &event.records;
        recorder.count("RecordsIn", messages.len() as f64);
        let now = self.ports.clock.now();
        let steps: Vec<Step> = messages
            .iter()
            .map(|message| self.read(message, now, &recorder))
            .collect::<Vec<_>>();
        let asked: Vec<Asked<'_>> = steps
            .iter()
            .filter_map(|step| match step {
                Step::Ask { envelope, body, .. } => Some(Asked { envelope, body }),
                Step::Done(_) => None,
            })
            .collect::<Vec<_>>();
        let answers = if asked.is_empty() {
            Vec::new()
        } else {
            self.decisions.decide_batch(&asked).await
        };
        let mut answers = answers.into_iter();
        let mut results: Vec<Result<RecordEffects, RecordFailure>> = steps
            .into_iter()
            .map(|step| match step {
                Step::Done(result) => result,
                Step::Ask { envelope, span, .. } => {
                    let answer = answers.next().unwrap_or_else(|| {
                        Err(DecisionError::Unavailable {
                            event_id: envelope.id.clone(),
                            reason: "DES gave fewer answers than events".into(),
                        })
                    });
                    span.in_scope(|| self.forward(&envelope, answer, now))
                }
            })
            .collect();
        // Nothing of a FIFO group goes out after a record of it that failed for a retry (an
        // award whose decision failed keeps its delete instruction back).
        sqs::hold_back_behind_failures(messages, &mut results);
        let results = self.ports.publish(results, &recorder).await;
        let response = self
            .ports
            .settle(Stage::Fred, messages, results, &recorder)
            .await;
        recorder.flush();
        response
    }

    /// Reads one record as a CloudEvent FRED takes and applies the filter, in the record's
    /// span: settled here, or to be asked of DES.
    pub fn read<'a>(
        &self,
        message: &'a SqsMessage,
        now: DateTime<Utc>,
        recorder: &Recorder<'_>,
    ) -> Step<'a> {
        let span = tracing::info_span!(
            "record",
            stage = Stage::Fred.as_str(),
            correlation_id = tracing::field::Empty,
            event_id = tracing::field::Empty,
            message_id = sqs::message_id(message),
        );
        let read = span.in_scope(
            || -> Result<(OneOf<RewardMessage, DeleteInstruction>, &'a str), RecordFailure> {
                let body = sqs::body(message).map_err(RecordFailure::invalid)?;
                let input = OneOf::decode(body, &INPUT_TYPES, &FORWARDED_TYPES)
                    .map_err(RecordFailure::invalid)?;
                span.record("correlation_id", input.correlation_id());
                span.record("event_id", input.id());
                recorder.latency(input.latency_at(now));
                Ok((input, body))
            },
        );
        let envelope = match read {
            Ok((OneOf::First(envelope), body)) => {
                match span.in_scope(|| envelope.data.validate()) {
                    Ok(()) => (envelope, body),
                    Err(invalid) => return Step::Done(Err(RecordFailure::invalid(invalid))),
                }
            }
            Ok((OneOf::Second(delete), _)) => {
                return Step::Done(span.in_scope(|| {
                    effects::pass_on_delete(Stage::Fred, Destination::DecidedEvents, &delete, now)
                }))
            }
            Err(failure) => return Step::Done(Err(failure)),
        };
        let (envelope, body) = envelope;
        let activity = &envelope.data.activity;
        if !self.filter.passes(
            envelope.data.message_type,
            &activity.brand,
            &activity.promo_code,
        ) {
            let dropped = span.in_scope(|| {
                RecordEffects::dropped(Stage::Fred, DropReason::NotConfigured, &activity.account_id)
            });
            return Step::Done(Ok(dropped));
        }
        Step::Ask {
            envelope,
            body,
            span,
        }
    }

    /// One record's result from DES's answer: the decided event, a `no-decision` drop, a
    /// retry or a dead letter.
    pub fn forward(
        &self,
        envelope: &Envelope<RewardMessage>,
        answer: Result<Option<Decision>, DecisionError>,
        now: DateTime<Utc>,
    ) -> Result<RecordEffects, RecordFailure> {
        let data = &envelope.data;
        let activity = &data.activity;
        let decision = match answer {
            Ok(Some(decision)) => decision,
            Ok(None) => {
                return Ok(RecordEffects::dropped(
                    Stage::Fred,
                    DropReason::NoDecision,
                    &activity.account_id,
                ))
            }
            Err(error) if error.is_retryable() => return Err(RecordFailure::retry(error)),
            Err(error) => {
                return Err(RecordFailure::DeadLetter {
                    reason: format!("invalid-input: {error}"),
                })
            }
        };
        let decided = envelope.next(
            Stage::Fred,
            EventType::Decided,
            derived_id(&[Stage::Fred.as_str(), &envelope.id]),
            now,
            DecidedMessage {
                message_type: data.message_type,
                activity,
                decision,
            },
        );
        let message = OutgoingMessage::new(Destination::DecidedEvents, &decided)
            .map_err(RecordFailure::invalid)?
            .in_group(
                &activity.account_id,
                &activity.promo_code,
                &activity.attempt_id,
            );
        Ok(RecordEffects::message(message))
    }
}

#[cfg(test)]
mod tests;
