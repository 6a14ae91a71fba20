//! The effects of a record (the messages it emits and the outcomes that hold once they are
//! sent), publishing a batch's effects in one call, and settling each record by what became
//! of its own messages.
//!
//! A stage collects, per record, the messages it emits and the outcomes that hold only once
//! they are sent (BCG's `queued`). [`publish`] sends every record's messages with one
//! [`Publisher::publish`] call; a record whose messages all went records its outcomes, one
//! whose message failed is reported for redelivery (retryable failure) or dead-lettered (a
//! message SQS can never take), and its outcomes are not recorded.
//!
//! This happens after the records' own spans closed, so what is logged here about a record (its
//! outcomes, a message not published) is logged in a `record` span of its own, with the stage
//! and the correlation id and event id of the record's (first) message.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::envelope::{Envelope, EventType};
use crate::ids::derived_id;
use crate::model::{DeleteInstruction, Validate as _};
use crate::ports::{Destination, DropReason, FailedMessage, Outcome, OutgoingMessage, Publisher};
use crate::sqs::RecordFailure;
use crate::stage::Stage;
use crate::telemetry::Recorder;

/// The effects of one record: the messages it emits and the outcomes that hold once they are
/// sent. Built inside the record's span, which it keeps, so what is logged about the record
/// after publishing is logged in that span.
#[derive(Debug, Clone)]
pub struct RecordEffects {
    /// Messages to publish.
    pub messages: Vec<OutgoingMessage>,
    /// Outcomes to record once every message of the record is published.
    pub outcomes: Vec<Outcome>,
    span: tracing::Span,
}

impl Default for RecordEffects {
    fn default() -> Self {
        RecordEffects::new(Vec::new(), Vec::new())
    }
}

impl RecordEffects {
    /// These messages and outcomes, in the current (the record's) span.
    pub fn new(messages: Vec<OutgoingMessage>, outcomes: Vec<Outcome>) -> Self {
        RecordEffects {
            messages,
            outcomes,
            span: tracing::Span::current(),
        }
    }

    /// Nothing to emit.
    pub fn none() -> Self {
        RecordEffects::default()
    }

    /// Nothing to emit: `stage` dropped the event for `reason` (the outcome is recorded with
    /// the batch's others).
    pub fn dropped(stage: Stage, reason: DropReason, account_id: &str) -> Self {
        let outcome = Outcome::Dropped {
            stage,
            reason,
            account_id: Some(account_id.to_owned()),
        };
        RecordEffects::new(Vec::new(), vec![outcome])
    }

    /// One message, no outcome.
    pub fn message(message: OutgoingMessage) -> Self {
        RecordEffects::new(vec![message], Vec::new())
    }
}

/// Publishes every record's messages ([`publish_in_group_order`]: one call, unless a message
/// group has several; none when there are none), records the outcomes of the records fully
/// published and the `Emitted` count, and returns each record's result in order.
pub async fn publish<P: Publisher>(
    publisher: &P,
    results: Vec<Result<RecordEffects, RecordFailure>>,
    recorder: &Recorder<'_>,
) -> Vec<Result<(), RecordFailure>> {
    let mut owners: HashMap<String, usize> = HashMap::new();
    let mut outgoing = Vec::new();
    let mut pending_outcomes: Vec<Vec<Outcome>> = Vec::with_capacity(results.len());
    let mut spans: Vec<tracing::Span> = Vec::with_capacity(results.len());
    let mut settled: Vec<Result<(), RecordFailure>> = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(effects) => {
                spans.push(match effects.messages.first() {
                    _ if !effects.span.is_none() => effects.span.clone(),
                    Some(message) => tracing::info_span!(
                        "record",
                        stage = recorder.stage().as_str(),
                        correlation_id = %message.correlation_id,
                        event_id = %message.id,
                    ),
                    None => tracing::Span::none(),
                });
                for message in effects.messages {
                    owners.insert(message.id.clone(), index);
                    outgoing.push(message);
                }
                pending_outcomes.push(effects.outcomes);
                settled.push(Ok(()));
            }
            Err(failure) => {
                spans.push(tracing::Span::none());
                pending_outcomes.push(Vec::new());
                settled.push(Err(failure));
            }
        }
    }
    if !outgoing.is_empty() {
        let count = outgoing.len();
        let failed = publish_in_group_order(publisher, outgoing).await;
        recorder.count("Emitted", count.saturating_sub(failed.len()) as f64);
        for failure in failed {
            let Some(&index) = owners.get(&failure.id) else {
                continue;
            };
            let Some(slot) = settled.get_mut(index) else {
                continue;
            };
            let _in_record = spans.get(index).map(tracing::Span::enter);
            tracing::warn!(event_id = %failure.id, reason = %failure.reason, retryable = failure.retryable, "message not published");
            *slot = Err(if failure.retryable {
                RecordFailure::retry(failure.reason)
            } else {
                RecordFailure::DeadLetter {
                    reason: format!("invalid-input: {}", failure.reason),
                }
            });
        }
    }
    for ((result, outcomes), span) in settled.iter().zip(pending_outcomes).zip(&spans) {
        if result.is_ok() {
            let _in_record = span.enter();
            for outcome in outcomes {
                recorder.outcome(outcome);
            }
        }
    }
    settled
}

/// A delete instruction passed on by `stage` to `destination` as it is (a new event of the
/// same type, id derived from the incoming one, the stage's timestamp added), in its
/// attempt's message group: how FRED and BCG carry a spent reward's delete instruction along
/// the award's path.
pub fn pass_on_delete(
    stage: Stage,
    destination: Destination,
    envelope: &Envelope<DeleteInstruction>,
    now: DateTime<Utc>,
) -> Result<RecordEffects, RecordFailure> {
    let instruction = &envelope.data;
    instruction.validate().map_err(RecordFailure::invalid)?;
    let passed = envelope.next(
        stage,
        EventType::MessageDelete,
        derived_id(&[stage.as_str(), &envelope.id]),
        now,
        instruction.clone(),
    );
    let message = OutgoingMessage::new(destination, &passed)
        .map_err(RecordFailure::invalid)?
        .in_group(
            &instruction.account_id,
            &instruction.promo_code,
            &instruction.attempt_id,
        );
    Ok(RecordEffects::message(message))
}

/// Sends `messages` keeping each message group's order whatever fails: the messages go in
/// rounds, the first message of every group in the first call, the second in the next, and so
/// on (messages without a group all go in the first), and a group whose message failed sends
/// nothing more — its later messages fail with it, retryable, to be sent again in order when
/// their records come back. A batch with one message per group (the usual case) is one call.
/// Returns the messages not sent.
pub async fn publish_in_group_order<P: Publisher>(
    publisher: &P,
    messages: Vec<OutgoingMessage>,
) -> Vec<FailedMessage> {
    let mut rounds: Vec<Vec<OutgoingMessage>> = Vec::new();
    let mut sent_of_group: HashMap<String, usize> = HashMap::new();
    for message in messages {
        let round = match &message.group {
            Some(group) => {
                let count = sent_of_group.entry(group.clone()).or_insert(0);
                *count += 1;
                *count - 1
            }
            None => 0,
        };
        if rounds.len() <= round {
            rounds.resize_with(round + 1, Vec::new);
        }
        rounds[round].push(message);
    }
    let mut failed: Vec<FailedMessage> = Vec::new();
    let mut stopped: HashMap<String, String> = HashMap::new();
    for round in rounds {
        let (held, going): (Vec<OutgoingMessage>, Vec<OutgoingMessage>) =
            round.into_iter().partition(|message| {
                message
                    .group
                    .as_ref()
                    .is_some_and(|group| stopped.contains_key(group))
            });
        for message in held {
            let earlier = message
                .group
                .as_ref()
                .and_then(|group| stopped.get(group))
                .cloned()
                .unwrap_or_default();
            failed.push(FailedMessage {
                id: message.id,
                reason: format!(
                    "not sent: message {earlier} before it in its group was not published"
                ),
                retryable: true,
            });
        }
        if going.is_empty() {
            continue;
        }
        let groups: HashMap<String, Option<String>> = going
            .iter()
            .map(|message| (message.id.clone(), message.group.clone()))
            .collect();
        if let Err(error) = publisher.publish(going).await {
            for failure in &error.failed {
                if let Some(Some(group)) = groups.get(&failure.id) {
                    stopped
                        .entry(group.clone())
                        .or_insert_with(|| failure.id.clone());
                }
            }
            failed.extend(error.failed);
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::envelope::EventType;
    use crate::model::MessageType;
    use crate::ports::{Destination, MemoryOutcomes, MemoryPublisher, PublishError};
    use crate::telemetry::Telemetry;

    fn message(id: &str) -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::MsqInbound,
            id: id.into(),
            event_type: EventType::MessageQueue,
            correlation_id: "c".into(),
            body: "{}".into(),
            group: None,
            deduplication_id: None,
        }
    }

    fn grouped(id: &str, group: &str) -> OutgoingMessage {
        OutgoingMessage {
            group: Some(group.into()),
            ..message(id)
        }
    }

    fn queued(id: &str) -> Outcome {
        Outcome::Queued {
            account_id: "1".into(),
            message_type: MessageType::Progress,
            message_id: id.into(),
        }
    }

    struct FailingFor(&'static str, bool);

    impl Publisher for FailingFor {
        async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
            let failed: Vec<FailedMessage> = messages
                .iter()
                .filter(|m| m.id == self.0)
                .map(|m| FailedMessage {
                    id: m.id.clone(),
                    reason: "boom".into(),
                    retryable: self.1,
                })
                .collect();
            if failed.is_empty() {
                Ok(())
            } else {
                Err(PublishError { failed })
            }
        }
    }

    #[tokio::test]
    async fn one_call_for_the_batch_and_outcomes_after_success() {
        let publisher = MemoryPublisher::new();
        let outcomes = Arc::new(MemoryOutcomes::new());
        let telemetry = Telemetry::for_tests(Stage::Bcg, outcomes.clone());
        let recorder = telemetry.recorder();
        let results = vec![
            Ok(RecordEffects::new(vec![message("a")], vec![queued("a")])),
            Err(RecordFailure::retry("x")),
            Ok(RecordEffects::none()),
            Ok(RecordEffects::message(message("b"))),
        ];
        let settled = publish(&publisher, results, &recorder).await;
        assert_eq!(publisher.calls(), 1);
        assert_eq!(publisher.take(Destination::MsqInbound).len(), 2);
        assert!(settled[0].is_ok() && settled[1].is_err() && settled[2].is_ok());
        assert_eq!(outcomes.take(), vec![queued("a")]);
    }

    #[tokio::test]
    async fn failed_messages_fail_their_record_only() {
        let outcomes = Arc::new(MemoryOutcomes::new());
        let telemetry = Telemetry::for_tests(Stage::Bcg, outcomes.clone());
        let recorder = telemetry.recorder();
        let results = || {
            vec![
                Ok(RecordEffects::new(vec![message("a")], vec![queued("a")])),
                Ok(RecordEffects::new(vec![message("b")], vec![queued("b")])),
            ]
        };
        let settled = publish(&FailingFor("a", true), results(), &recorder).await;
        assert!(matches!(settled[0], Err(RecordFailure::Retry { .. })));
        assert!(settled[1].is_ok());
        assert_eq!(outcomes.take(), vec![queued("b")]);

        let settled = publish(&FailingFor("b", false), results(), &recorder).await;
        assert_eq!(
            settled[1],
            Err(RecordFailure::DeadLetter {
                reason: "invalid-input: boom".into()
            })
        );

        let publisher = MemoryPublisher::new();
        let settled = publish(&publisher, vec![Ok(RecordEffects::none())], &recorder).await;
        assert_eq!(settled, vec![Ok(())]);
        assert_eq!(publisher.calls(), 0);
    }

    #[tokio::test]
    async fn a_group_sends_in_rounds_and_stops_at_its_first_failure() {
        let publisher = MemoryPublisher::new();
        let messages = vec![
            grouped("a1", "a"),
            grouped("b1", "b"),
            grouped("a2", "a"),
            message("free"),
            grouped("a3", "a"),
        ];
        let failed = publish_in_group_order(&publisher, messages.clone()).await;
        assert!(failed.is_empty());
        assert_eq!(publisher.calls(), 3, "a1 b1 free, then a2, then a3");
        let ids: Vec<String> = publisher
            .take(Destination::MsqInbound)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["a1", "b1", "free", "a2", "a3"]);

        let failed = publish_in_group_order(&FailingFor("a1", true), messages).await;
        let failed: Vec<(&str, bool)> = failed
            .iter()
            .map(|f| (f.id.as_str(), f.retryable))
            .collect();
        assert_eq!(failed, [("a1", true), ("a2", true), ("a3", true)]);
    }
}
