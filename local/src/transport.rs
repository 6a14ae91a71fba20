//! In-memory SQS queues between the stages, delivering the way Lambda's event source mapping
//! does: batches of up to [`BATCH_SIZE`] messages as a real `SqsEvent`, reported failures back in the
//! queue with their receive count raised, and after `maxReceiveCount` receives into the
//! queue's dead-letter queue.

use std::collections::{BTreeMap, VecDeque};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use rewards_shared::ports::{Destination, OutgoingMessage};
use rewards_shared::sqs::encode_message;

/// Messages Lambda hands to one invocation: the default of the template's `SqsBatchSize`
/// (tests/template checks that the two agree).
pub const BATCH_SIZE: usize = 100;
/// Entries in one SQS batch call (`ReceiveMessage`, `SendMessageBatch`, `DeleteMessageBatch`,
/// `ChangeMessageVisibilityBatch`): SQS's limit. Lambda's event source mapping gathers a
/// batch of [`BATCH_SIZE`] with several receives, and deletes it with several calls.
pub const SQS_CALL_ENTRIES: usize = 10;
/// Receives before a message moves to the dead-letter queue (the template's redrive policy).
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// A message waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// SQS message id.
    pub message_id: String,
    /// The body: a CloudEvent.
    pub body: String,
    /// Receives so far.
    pub receive_count: u32,
}

/// The queues of the pipeline.
#[derive(Debug, Default)]
pub struct Queues {
    queues: BTreeMap<Destination, VecDeque<Queued>>,
    dead: BTreeMap<Destination, Vec<Queued>>,
    next_id: u64,
}

impl Queues {
    /// Empty queues.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts published messages.
    pub fn accept(&mut self, messages: Vec<OutgoingMessage>) {
        for message in messages {
            self.next_id += 1;
            let queued = Queued {
                message_id: format!("{:08}-{}", self.next_id, message.id),
                body: message.body,
                receive_count: 0,
            };
            self.queues
                .entry(message.destination)
                .or_default()
                .push_back(queued);
        }
    }

    /// True when no queue holds a message.
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(VecDeque::is_empty)
    }

    /// Receives up to [`BATCH_SIZE`] messages of `destination` as Lambda's SQS event.
    pub fn receive(&mut self, destination: Destination) -> Option<(SqsEvent, Vec<Queued>)> {
        let queue = self.queues.get_mut(&destination)?;
        let take = queue.len().min(BATCH_SIZE);
        if take == 0 {
            return None;
        }
        let batch: Vec<Queued> = queue
            .drain(..take)
            .map(|mut queued| {
                queued.receive_count += 1;
                queued
            })
            .collect();
        Some((sqs_event(destination, &batch), batch))
    }

    /// Settles a received batch: reported failures go back (or, past the receive limit, to the
    /// dead-letter queue, returned); the others are deleted.
    pub fn settle(
        &mut self,
        destination: Destination,
        batch: Vec<Queued>,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        let mut dead = Vec::new();
        for queued in batch {
            if !reported(response, &queued.message_id) {
                continue;
            }
            if queued.receive_count >= MAX_RECEIVE_COUNT {
                dead.push(queued.clone());
                self.dead.entry(destination).or_default().push(queued);
            } else {
                self.queues
                    .entry(destination)
                    .or_default()
                    .push_back(queued);
            }
        }
        dead
    }

    /// Messages that ended in `destination`'s dead-letter queue.
    pub fn dead_letters(&self, destination: Destination) -> &[Queued] {
        self.dead.get(&destination).map_or(&[], Vec::as_slice)
    }
}

/// Lambda's SQS event for a batch received from `destination`'s queue.
pub fn sqs_event(destination: Destination, batch: &[Queued]) -> SqsEvent {
    let source = queue_arn(destination);
    let mut event = SqsEvent::default();
    event.records = batch
        .iter()
        .map(|queued| {
            encode_message(
                &queued.message_id,
                &queued.body,
                queued.receive_count,
                &source,
            )
        })
        .collect();
    event
}

/// True when the handler's answer reports `message_id` as a batch item failure.
pub fn reported(response: &SqsBatchResponse, message_id: &str) -> bool {
    response
        .batch_item_failures
        .iter()
        .any(|failure| failure.item_identifier == message_id)
}

/// The ARN Lambda reports as the event source of a queue.
pub fn queue_arn(destination: Destination) -> String {
    format!(
        "arn:aws:sqs:eu-west-1:000000000000:local-rewards-{}",
        destination.queue_name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::envelope::EventType;
    use rewards_shared::sqs::{batch_response, receive_count};

    fn message(id: &str) -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::RelevantEvents,
            id: id.into(),
            event_type: EventType::Relevant,
            correlation_id: "c".into(),
            body: format!("body-{id}"),
        }
    }

    #[test]
    fn batches_are_at_most_the_batch_size_and_failures_come_back_until_the_dead_letter_queue() {
        let mut queues = Queues::new();
        queues.accept(
            (0..BATCH_SIZE + 2)
                .map(|i| message(&i.to_string()))
                .collect(),
        );
        let (event, batch) = queues.receive(Destination::RelevantEvents).expect("batch");
        assert_eq!(event.records.len(), BATCH_SIZE);
        assert_eq!(receive_count(&event.records[0]), 1);
        let failed = batch[0].message_id.clone();
        queues.settle(
            Destination::RelevantEvents,
            batch,
            &batch_response([failed.clone()]),
        );

        let mut dead = Vec::new();
        for _ in 0..MAX_RECEIVE_COUNT + 1 {
            while let Some((_, batch)) = queues.receive(Destination::RelevantEvents) {
                let response = batch_response([failed.clone()]);
                dead.extend(queues.settle(Destination::RelevantEvents, batch, &response));
            }
        }
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].receive_count, MAX_RECEIVE_COUNT);
        assert!(queues.is_empty());
        assert_eq!(queues.dead_letters(Destination::RelevantEvents).len(), 1);
    }
}
