//! In-memory SQS queues between the stages, delivering the way Lambda's event source mapping
//! does: batches as a real `SqsEvent` (up to [`BATCH_SIZE`] messages from a standard queue, up
//! to [`FIFO_BATCH_SIZE`] from a FIFO one), reported failures back in the queue with their
//! receive count raised, and after `maxReceiveCount` receives into the queue's dead-letter
//! queue.
//!
//! FIFO queues ([`Destination::is_fifo`]) keep what SQS promises and nothing more: a group's
//! messages are delivered in the order they were sent, a failed message comes back before the
//! later messages of its group (which wait for it), and a message whose deduplication id was
//! accepted in the last five minutes ([`DEDUPLICATION_WINDOW`]) is dropped.

use std::collections::{BTreeMap, HashMap, VecDeque};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Duration, Utc};
use rewards_shared::ports::{Destination, OutgoingMessage};
use rewards_shared::sqs::{encode_message, set_message_group};
use rewards_shared::stage::Stage;

/// Messages Lambda hands to one invocation from a standard queue: the default of the
/// template's `SqsBatchSize` (tests/template checks that the two agree).
pub const BATCH_SIZE: usize = 100;
/// Messages Lambda hands to one invocation from a FIFO queue: its most (FIFO event sources
/// take at most 10 and no batching window).
pub const FIFO_BATCH_SIZE: usize = 10;
/// Entries in one SQS batch call (`ReceiveMessage`, `SendMessageBatch`, `DeleteMessageBatch`,
/// `ChangeMessageVisibilityBatch`): SQS's limit. Lambda's event source mapping gathers a
/// batch of [`BATCH_SIZE`] with several receives, and deletes it with several calls.
pub const SQS_CALL_ENTRIES: usize = 10;
/// Receives before a message moves to the dead-letter queue (the template's redrive policy).
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// How long a FIFO queue remembers a deduplication id.
pub const DEDUPLICATION_WINDOW: Duration = Duration::minutes(5);

/// The stage that consumes `destination`'s queue (and whose dead-letter queue it redrives
/// into, as in the stack).
pub fn consumer(destination: Destination) -> Stage {
    match destination {
        Destination::EnrichedEvents => Stage::Tim,
        Destination::RelevantEvents | Destination::UnqualificationEvents => Stage::Fred,
        Destination::DecidedEvents => Stage::Bcg,
        Destination::MsqInbound | Destination::MsqDelete => Stage::Msq,
    }
}

/// The most messages one invocation gets from `destination`'s queue.
pub fn batch_size(destination: Destination) -> usize {
    if destination.is_fifo() {
        FIFO_BATCH_SIZE
    } else {
        BATCH_SIZE
    }
}

/// A message waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// SQS message id.
    pub message_id: String,
    /// The body: a CloudEvent.
    pub body: String,
    /// Receives so far.
    pub receive_count: u32,
    /// Its message group (FIFO queues).
    pub group: Option<String>,
    /// What a FIFO queue deduplicates it on.
    pub deduplication_id: String,
}

/// One queue: its messages in the order SQS would deliver them.
#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Queued>,
    /// FIFO: deduplication ids accepted, and when.
    accepted: HashMap<String, DateTime<Utc>>,
}

/// The queues of the pipeline.
#[derive(Debug, Default)]
pub struct Queues {
    queues: BTreeMap<Destination, Queue>,
    dead: BTreeMap<Destination, Vec<Queued>>,
    next_id: u64,
    deduplicated: u64,
}

impl Queues {
    /// Empty queues.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts messages published at `now`. A FIFO queue drops one whose deduplication id it
    /// accepted within the [`DEDUPLICATION_WINDOW`] before.
    pub fn accept(&mut self, messages: Vec<OutgoingMessage>, now: DateTime<Utc>) {
        for message in messages {
            self.accept_one(message, now, false);
        }
    }

    /// Accepts one message published at `now`; with `late`, a copy of a message sent before
    /// is taken as sent after the deduplication window (a retry that came too late for SQS to
    /// recognise it). Returns whether the queue took it.
    pub fn accept_one(&mut self, message: OutgoingMessage, now: DateTime<Utc>, late: bool) -> bool {
        if !late && self.is_duplicate(&message, now) {
            self.deduplicated += 1;
            return false;
        }
        let destination = message.destination;
        let queue = self.queues.entry(destination).or_default();
        let deduplication_id = message.deduplication_id().to_owned();
        if destination.is_fifo() {
            queue.accepted.insert(deduplication_id.clone(), now);
        }
        self.next_id += 1;
        queue.messages.push_back(Queued {
            message_id: format!("{:08}-{}", self.next_id, message.id),
            body: message.body,
            receive_count: 0,
            group: message.group,
            deduplication_id,
        });
        true
    }

    /// Whether a FIFO queue would drop `message` as a copy, published at `now`.
    pub fn is_duplicate(&self, message: &OutgoingMessage, now: DateTime<Utc>) -> bool {
        message.destination.is_fifo()
            && self
                .queues
                .get(&message.destination)
                .and_then(|queue| queue.accepted.get(message.deduplication_id()))
                .is_some_and(|at| now - *at < DEDUPLICATION_WINDOW)
    }

    /// Messages a FIFO queue dropped as duplicates.
    pub fn deduplicated(&self) -> u64 {
        self.deduplicated
    }

    /// True when no queue holds a message.
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(|queue| queue.messages.is_empty())
    }

    /// How many messages wait in `destination`'s queue.
    pub fn len(&self, destination: Destination) -> usize {
        self.queues
            .get(&destination)
            .map_or(0, |queue| queue.messages.len())
    }

    /// The positions in `destination`'s queue of the messages SQS may deliver next: every
    /// message of a standard queue; on a FIFO queue, the first waiting message of each group
    /// (and every message without a group).
    pub fn deliverable(&self, destination: Destination) -> Vec<usize> {
        let Some(queue) = self.queues.get(&destination) else {
            return Vec::new();
        };
        if !destination.is_fifo() {
            return (0..queue.messages.len()).collect();
        }
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        queue
            .messages
            .iter()
            .enumerate()
            .filter(|(_, queued)| match &queued.group {
                Some(group) => seen.insert(group.as_str()),
                None => true,
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// Takes the message at `position` of `destination`'s queue, its receive count raised.
    pub fn take(&mut self, destination: Destination, position: usize) -> Option<Queued> {
        let mut queued = self
            .queues
            .get_mut(&destination)?
            .messages
            .remove(position)?;
        queued.receive_count += 1;
        Some(queued)
    }

    /// Receives the next batch of `destination` in queue order (up to [`batch_size`]), as
    /// Lambda's SQS event.
    pub fn receive(&mut self, destination: Destination) -> Option<(SqsEvent, Vec<Queued>)> {
        let take = self.len(destination).min(batch_size(destination));
        if take == 0 {
            return None;
        }
        let batch: Vec<Queued> = (0..take)
            .filter_map(|_| self.take(destination, 0))
            .collect();
        Some((sqs_event(destination, &batch), batch))
    }

    /// Settles a received batch: reported failures come back (or, past the receive limit, go
    /// to the dead-letter queue, returned); the others are deleted. On a FIFO queue the failed
    /// messages come back at the head of the queue in their order, so each is delivered again
    /// before the later messages of its group; on a standard queue, at the end.
    pub fn settle(
        &mut self,
        destination: Destination,
        batch: Vec<Queued>,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        let failed = batch
            .into_iter()
            .filter(|queued| reported(response, &queued.message_id))
            .collect();
        self.put_back(destination, failed)
    }

    /// Puts back messages received but not deleted (failed, or in flight when their handler
    /// died), as [`Queues::settle`] does; returns those past the receive limit, now in the
    /// dead-letter queue.
    pub fn put_back(&mut self, destination: Destination, messages: Vec<Queued>) -> Vec<Queued> {
        let mut dead = Vec::new();
        let mut back = Vec::new();
        for queued in messages {
            if queued.receive_count >= MAX_RECEIVE_COUNT {
                dead.push(queued.clone());
                self.dead.entry(destination).or_default().push(queued);
            } else {
                back.push(queued);
            }
        }
        let queue = &mut self.queues.entry(destination).or_default().messages;
        if destination.is_fifo() {
            for queued in back.into_iter().rev() {
                queue.push_front(queued);
            }
        } else {
            queue.extend(back);
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
            let mut message = encode_message(
                &queued.message_id,
                &queued.body,
                queued.receive_count,
                &source,
            );
            if let (true, Some(group)) = (destination.is_fifo(), &queued.group) {
                set_message_group(&mut message, group);
            }
            message
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

/// A FIFO handler's answer that breaks its groups' order: a message reported for redelivery
/// while a later message of its group in the same batch is not (SQS would deliver that one
/// before the failed one comes back). Returns the ids of such later messages.
pub fn out_of_group_order(batch: &[Queued], response: &SqsBatchResponse) -> Vec<String> {
    let mut failed_groups: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut broken = Vec::new();
    for queued in batch {
        let Some(group) = queued.group.as_deref() else {
            continue;
        };
        let failed = reported(response, &queued.message_id);
        if failed {
            failed_groups.insert(group);
        } else if failed_groups.contains(group) {
            broken.push(queued.message_id.clone());
        }
    }
    broken
}

/// The ARN Lambda reports as the event source of a queue.
pub fn queue_arn(destination: Destination) -> String {
    format!(
        "arn:aws:sqs:eu-west-1:000000000000:local-rewards-{}{}",
        destination.queue_name(),
        if destination.is_fifo() { ".fifo" } else { "" }
    )
}
#[cfg(test)]
mod tests {
    use super::*;
    use rewards_shared::envelope::EventType;
    use rewards_shared::sqs::{batch_response, message_group, receive_count};

    fn now() -> DateTime<Utc> {
        "2026-11-18T10:00:00Z".parse().expect("date")
    }

    fn message(id: &str) -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::MsqInbound,
            id: id.into(),
            event_type: EventType::MessageQueue,
            correlation_id: "c".into(),
            body: format!("body-{id}"),
            group: None,
            deduplication_id: None,
        }
    }

    fn fifo(id: &str, group: &str) -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::RelevantEvents,
            group: Some(group.into()),
            ..message(id)
        }
    }

    fn bodies(event: &SqsEvent) -> Vec<String> {
        event
            .records
            .iter()
            .filter_map(|record| record.body.clone())
            .collect()
    }

    #[test]
    fn batches_are_at_most_the_batch_size_and_failures_come_back_until_the_dead_letter_queue() {
        let mut queues = Queues::new();
        queues.accept(
            (0..BATCH_SIZE + 2)
                .map(|i| message(&i.to_string()))
                .collect(),
            now(),
        );
        let (event, batch) = queues.receive(Destination::MsqInbound).expect("batch");
        assert_eq!(event.records.len(), BATCH_SIZE);
        assert_eq!(receive_count(&event.records[0]), 1);
        let failed = batch[0].message_id.clone();
        queues.settle(
            Destination::MsqInbound,
            batch,
            &batch_response([failed.clone()]),
        );

        let mut dead = Vec::new();
        for _ in 0..MAX_RECEIVE_COUNT + 1 {
            while let Some((_, batch)) = queues.receive(Destination::MsqInbound) {
                let response = batch_response([failed.clone()]);
                dead.extend(queues.settle(Destination::MsqInbound, batch, &response));
            }
        }
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].receive_count, MAX_RECEIVE_COUNT);
        assert!(queues.is_empty());
        assert_eq!(queues.dead_letters(Destination::MsqInbound).len(), 1);
    }

    #[test]
    fn a_fifo_queue_delivers_ten_at_a_time_and_a_failure_before_the_rest_of_its_group() {
        let mut queues = Queues::new();
        let sent: Vec<OutgoingMessage> = (0..12)
            .map(|i| fifo(&format!("m{i}"), if i % 2 == 0 { "a" } else { "b" }))
            .collect();
        queues.accept(sent, now());
        let (event, batch) = queues.receive(Destination::RelevantEvents).expect("batch");
        assert_eq!(event.records.len(), FIFO_BATCH_SIZE);
        assert_eq!(message_group(&event.records[0]), Some("a"));
        // m0 (group a) fails, and the handler reports the rest of group a with it.
        let failed: Vec<String> = batch
            .iter()
            .filter(|queued| queued.group.as_deref() == Some("a"))
            .map(|queued| queued.message_id.clone())
            .collect();
        let response = batch_response(failed);
        assert!(out_of_group_order(&batch, &response).is_empty());
        queues.settle(Destination::RelevantEvents, batch, &response);
        let (event, _) = queues.receive(Destination::RelevantEvents).expect("batch");
        assert_eq!(
            bodies(&event)[..6],
            ["body-m0", "body-m2", "body-m4", "body-m6", "body-m8", "body-m10"],
            "group a again from its failed message, in order"
        );
        assert_eq!(receive_count(&event.records[0]), 2);
    }

    #[test]
    fn a_handler_answer_that_skips_a_group_order_is_found() {
        let mut queues = Queues::new();
        queues.accept(vec![fifo("x", "g"), fifo("y", "g"), fifo("z", "h")], now());
        let (_, batch) = queues.receive(Destination::RelevantEvents).expect("batch");
        let first = batch[0].message_id.clone();
        let second = batch[1].message_id.clone();
        let broken = out_of_group_order(&batch, &batch_response([first]));
        assert_eq!(broken, [second]);
    }

    #[test]
    fn a_fifo_queue_drops_a_copy_within_five_minutes_and_takes_it_after() {
        let mut queues = Queues::new();
        queues.accept(vec![fifo("x", "g")], now());
        queues.accept(vec![fifo("x", "g")], now() + Duration::minutes(4));
        assert_eq!(queues.len(Destination::RelevantEvents), 1);
        assert_eq!(queues.deduplicated(), 1);
        queues.accept(vec![fifo("x", "g")], now() + Duration::minutes(6));
        assert_eq!(queues.len(Destination::RelevantEvents), 2);
        // A standard queue keeps every copy.
        queues.accept(vec![message("x"), message("x")], now());
        assert_eq!(queues.len(Destination::MsqInbound), 2);
    }

    #[test]
    fn only_the_head_of_each_fifo_group_is_deliverable() {
        let mut queues = Queues::new();
        queues.accept(
            vec![
                fifo("a1", "a"),
                fifo("a2", "a"),
                fifo("b1", "b"),
                fifo("a3", "a"),
            ],
            now(),
        );
        assert_eq!(queues.deliverable(Destination::RelevantEvents), [0, 2]);
        queues.accept(vec![message("s1"), message("s2")], now());
        assert_eq!(queues.deliverable(Destination::MsqInbound), [0, 1]);
    }
}
