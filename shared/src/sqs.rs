//! Reading Lambda's SQS event, and settling a batch: per-record results become dead letters
//! (bad records, sent alone with their reason) and batch item failures (transient failures,
//! redelivered by SQS) — one bad record never fails a batch.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use tracing::Instrument;

use crate::envelope::Traced;
use crate::lambda_event::{SqsMessage, SqsRecord};
use crate::limits::MAX_RECORD_BYTES;
use crate::model::InvalidInput;
use crate::ports::dead_letter::send_recorded;
use crate::ports::{DeadLetter, DeadLetterSink};
use crate::stage::Stage;
use crate::telemetry::Recorder;

/// The SQS attribute counting deliveries of a message.
pub const RECEIVE_COUNT: &str = "ApproximateReceiveCount";
/// The SQS attribute naming a FIFO queue message's group.
pub const MESSAGE_GROUP_ID: &str = "MessageGroupId";

/// The message's id ("" if Lambda gave none).
pub fn message_id<M: SqsRecord>(message: &M) -> &str {
    message.message_id().unwrap_or_default()
}

/// The message's body, within the size limit.
pub fn body<M: SqsRecord>(message: &M) -> Result<&str, InvalidInput> {
    let body = message.body().ok_or(InvalidInput::Empty)?;
    if body.len() > MAX_RECORD_BYTES {
        return Err(InvalidInput::Oversized {
            bytes: body.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(body)
}

/// How many times SQS delivered the message (1 on the first delivery).
pub fn receive_count<M: SqsRecord>(message: &M) -> u32 {
    message
        .receive_count_attribute()
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

/// The message group of a message from a FIFO queue (`None` from a standard queue).
pub fn message_group<M: SqsRecord>(message: &M) -> Option<&str> {
    message
        .message_group_attribute()
        .filter(|group| !group.is_empty())
}

/// Why one record did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordFailure {
    /// No retry can fix it: it goes to the stage's dead-letter queue with this reason.
    DeadLetter {
        /// `invalid-input: …` or `unknown-promotion`.
        reason: String,
    },
    /// It may work later: report it so SQS redelivers it.
    Retry {
        /// What failed, for the logs.
        reason: String,
    },
}

impl RecordFailure {
    /// A bad record: `invalid-input: {what}`.
    pub fn invalid(what: impl Into<InvalidInput>) -> Self {
        RecordFailure::DeadLetter {
            reason: format!("invalid-input: {}", what.into()),
        }
    }

    /// A transient failure.
    pub fn retry(reason: impl std::fmt::Display) -> Self {
        RecordFailure::Retry {
            reason: reason.to_string(),
        }
    }

    /// A record held back because an earlier message of its FIFO group, `earlier`, failed:
    /// it is reported with it, so SQS delivers the group again in its order.
    pub fn behind(earlier: &str) -> Self {
        RecordFailure::Retry {
            reason: format!("held back behind message {earlier} of its group, which failed"),
        }
    }
}

/// Keeps a FIFO group's order in the batch response: once a message of a group is reported
/// for redelivery, every later message of that group is reported too (whatever became of
/// it), since SQS must deliver them again after it. Messages without a group are left alone.
pub fn hold_back_behind_failures<R>(
    messages: &[SqsMessage],
    results: &mut [Result<R, RecordFailure>],
) {
    let mut failed: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (message, result) in messages.iter().zip(results.iter_mut()) {
        let Some(group) = message_group(message) else {
            continue;
        };
        if let Some(earlier) = failed.get(group) {
            if !matches!(result, Err(RecordFailure::Retry { .. })) {
                *result = Err(RecordFailure::behind(earlier));
            }
        } else if matches!(result, Err(RecordFailure::Retry { .. })) {
            failed.insert(group, message_id(message));
        }
    }
}

/// Turns per-record results (in the order of `messages`) into the batch response: sends the
/// dead letters in one call (if that fails, they are reported for redelivery instead) and
/// reports the transient failures, each with the later messages of its FIFO group
/// ([`hold_back_behind_failures`]).
pub async fn settle<D: DeadLetterSink>(
    stage: Stage,
    messages: &[SqsMessage],
    mut results: Vec<Result<(), RecordFailure>>,
    dead_letters: &D,
    recorder: &Recorder<'_>,
) -> SqsBatchResponse {
    hold_back_behind_failures(messages, &mut results);
    let letters: Vec<(usize, DeadLetter)> = messages
        .iter()
        .zip(&results)
        .enumerate()
        .filter_map(|(index, (message, result))| match result {
            Err(RecordFailure::DeadLetter { reason }) => Some((
                index,
                DeadLetter {
                    stage,
                    reason: reason.clone(),
                    source: message_id(message).to_owned(),
                    payload: message.body.clone().unwrap_or_default(),
                },
            )),
            _ => None,
        })
        .collect();
    let (indexes, letters): (Vec<usize>, Vec<DeadLetter>) = letters.into_iter().unzip();
    if let Err(error) = send_recorded(dead_letters, letters, recorder).await {
        tracing::error!(stage = %stage, error = %error, "dead-letter queue unavailable; records will be retried");
        for index in indexes {
            if let Some(result) = results.get_mut(index) {
                *result = Err(RecordFailure::retry(&error));
            }
        }
        hold_back_behind_failures(messages, &mut results);
    }
    let mut failed_ids = Vec::new();
    for (message, result) in messages.iter().zip(results) {
        if let Err(RecordFailure::Retry { reason }) = result {
            let id = message_id(message);
            if id.is_empty() {
                tracing::error!(stage = %stage, "a failed record has no message id and cannot be reported");
                continue;
            }
            tracing::warn!(stage = %stage, message_id = id, reason = %reason, "record will be retried");
            failed_ids.push(id.to_owned());
        }
    }
    recorder.count("BatchItemFailures", failed_ids.len() as f64);
    batch_response(failed_ids)
}

/// Runs `handle` on each message's body read by `decode` (the queue's
/// [`Envelope::decode`](crate::envelope::Envelope::decode) with the event types it carries, or
/// [`OneOf::decode`](crate::envelope::OneOf::decode) for a queue carrying two kinds of event),
/// at most `concurrency` at once, and returns the results in message order. Each record runs
/// in a `record` span carrying the stage, the SQS message id, the correlation id and the event
/// id, and its latencies are recorded; a body that does not read is `invalid-input`.
///
/// Messages of one FIFO group run one after the other, in their order; once one of them fails
/// for a retry, the group's later messages are not run and fail with it
/// ([`RecordFailure::behind`]), so nothing of a group happens before what precedes it.
pub async fn each_event<E, D, R, F, Fut>(
    stage: Stage,
    messages: &[SqsMessage],
    decode: D,
    concurrency: usize,
    now: DateTime<Utc>,
    recorder: &Recorder<'_>,
    handle: F,
) -> Vec<Result<R, RecordFailure>>
where
    E: Traced,
    D: Fn(&str) -> Result<E, crate::envelope::EnvelopeError>,
    F: Fn(E) -> Fut,
    Fut: Future<Output = Result<R, RecordFailure>>,
{
    let decode = &decode;
    let handle = &handle;
    let one = |index: usize| {
        let message = &messages[index];
        let span = tracing::info_span!(
            "record",
            stage = stage.as_str(),
            correlation_id = tracing::field::Empty,
            event_id = tracing::field::Empty,
            message_id = message_id(message),
        );
        async move {
            let body = body(message).map_err(RecordFailure::invalid)?;
            let envelope = decode(body).map_err(RecordFailure::invalid)?;
            let span = tracing::Span::current();
            span.record("correlation_id", envelope.correlation_id());
            span.record("event_id", envelope.id());
            recorder.latency(envelope.latency_at(now));
            handle(envelope).await
        }
        .instrument(span)
    };
    let one = &one;
    let mut results: Vec<(usize, Result<R, RecordFailure>)> = stream::iter(in_groups(messages))
        .map(|indexes| async move {
            let mut done = Vec::with_capacity(indexes.len());
            let mut failed: Option<&str> = None;
            for index in indexes {
                let message = &messages[index];
                let result = match failed {
                    Some(earlier) => Err(RecordFailure::behind(earlier)),
                    None => one(index).await,
                };
                if failed.is_none() && matches!(result, Err(RecordFailure::Retry { .. })) {
                    failed = Some(message_id(message));
                }
                done.push((index, result));
            }
            done
        })
        .buffer_unordered(concurrency.max(1))
        .flat_map(stream::iter)
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// The indexes of `messages`, one list per FIFO group in message order (a message without a
/// group is a list of its own), the lists in the order of their first message.
fn in_groups(messages: &[SqsMessage]) -> Vec<Vec<usize>> {
    let mut lists: Vec<Vec<usize>> = Vec::new();
    let mut of_group: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (index, message) in messages.iter().enumerate() {
        match message_group(message) {
            Some(group) => match of_group.get(group) {
                Some(&list) => lists[list].push(index),
                None => {
                    of_group.insert(group, lists.len());
                    lists.push(vec![index]);
                }
            },
            None => lists.push(vec![index]),
        }
    }
    lists
}

/// A batch response reporting these message ids as failed.
pub fn batch_response(failed_ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed_ids
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// Marks `message` as one of a FIFO queue's, in `group` (as Lambda delivers it).
pub fn set_message_group(message: &mut aws_lambda_events::event::sqs::SqsMessage, group: &str) {
    message
        .attributes
        .insert(MESSAGE_GROUP_ID.to_owned(), group.to_owned());
}

/// Builds an SQS message as Lambda delivers it, in full (for the local runner, samples and
/// tests; a handler takes it `.into()` a lean [`SqsMessage`]).
pub fn encode_message(
    message_id: &str,
    body: &str,
    receive_count: u32,
    queue_arn: &str,
) -> aws_lambda_events::event::sqs::SqsMessage {
    let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
    message.message_id = Some(message_id.to_owned());
    message.receipt_handle = Some(format!("receipt-{message_id}-{receive_count}"));
    message.body = Some(body.to_owned());
    message.attributes = [
        (RECEIVE_COUNT.to_owned(), receive_count.to_string()),
        ("SentTimestamp".to_owned(), "0".to_owned()),
    ]
    .into_iter()
    .collect();
    message.event_source = Some("aws:sqs".to_owned());
    message.event_source_arn = Some(queue_arn.to_owned());
    message.aws_region = Some("eu-west-1".to_owned());
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MemoryDeadLetters, MemoryOutcomes, Outcome};
    use crate::telemetry::Telemetry;
    use std::sync::Arc;

    #[tokio::test]
    async fn dead_letters_and_retries_are_settled_apart() {
        let messages: Vec<SqsMessage> = vec![
            encode_message("m1", "ok", 1, "arn:q").into(),
            encode_message("m2", "bad", 1, "arn:q").into(),
            encode_message("m3", "later", 1, "arn:q").into(),
        ];
        let results = vec![
            Ok(()),
            Err(RecordFailure::invalid(InvalidInput::Empty)),
            Err(RecordFailure::retry("503")),
        ];
        let sink = MemoryDeadLetters::new();
        let outcomes = Arc::new(MemoryOutcomes::new());
        let telemetry = Telemetry::for_tests(Stage::Tim, outcomes.clone());
        let recorder = telemetry.recorder();
        let response = settle(Stage::Tim, &messages, results, &sink, &recorder).await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["m3"]);
        let letters = sink.take();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].source, "m2");
        assert_eq!(letters[0].payload, "bad");
        assert_eq!(letters[0].reason, "invalid-input: empty record");
        assert_eq!(
            outcomes.take(),
            vec![Outcome::DeadLettered {
                stage: Stage::Tim,
                reason: "invalid-input: empty record".into()
            }]
        );
    }

    #[test]
    fn receive_count_defaults_to_one() {
        let mut message: SqsMessage = encode_message("m", "b", 3, "arn:q").into();
        assert_eq!(receive_count(&message), 3);
        message.attributes.approximate_receive_count = None;
        assert_eq!(receive_count(&message), 1);
    }
}
