//! A chaotic [`Transport`]: SQS as it behaves on a bad day, on the runner's own [`Queues`] (so
//! it delivers, settles and dead-letters exactly as the runner does), with only what SQS
//! allows each kind of queue to do:
//!
//! - **Standard queues, reordered deliveries**: each slot of a received batch is, with the
//!   given share, filled from a random place in the queue instead of its head (best-effort
//!   order).
//! - **Standard queues, duplicated deliveries**: each received message is, with the given
//!   share, also left in the queue, to be received again later under the same SQS message id
//!   (at-least-once).
//! - **FIFO queues, interleaved groups**: a slot is, with the given share, filled from the
//!   head of a random message group instead of the queue's head. Within a group the order is
//!   kept, a failed message comes back before the rest of its group, and no message is
//!   delivered twice but by a redelivery.
//! - **FIFO queues, copies after the deduplication window**: a copy of a message (same
//!   deduplication id) that a stage sends again — when it handles its input again after a
//!   crash or a failure — is, with the given share, taken as sent after the five-minute
//!   window and delivered as a new message; the others are dropped, as SQS drops them.
//! - **Crashes between side effects**: with the crash share, the handler dies after a random
//!   number of its side effects (see [`Faults::arm_crash`]) — none, some, or all of them, before
//!   the batch was acknowledged — so the whole batch comes again with its receive count raised,
//!   whatever the handler answered.
//!
//! It also checks the handlers: a FIFO batch answer reporting a message but not a later one of
//! its group would let SQS deliver that one first; each such answer is counted
//! ([`TransportCounts::out_of_group_order`]) and fails the chaos run.
//!
//! As with the real redrive policy, a message received [`MAX_RECEIVE_COUNT`] times that fails
//! again goes to the dead-letter queue.
//!
//! [`MAX_RECEIVE_COUNT`]: scenario_runner::queues::MAX_RECEIVE_COUNT

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rewards_shared::ports::{Destination, MemoryPublisher};
use serde::Serialize;

use super::faults::Faults;
use scenario_runner::backend::{BatchReceipt, Transport};
use scenario_runner::queues::{batch_size, out_of_group_order, sqs_event, Queued, Queues};

/// What the transport did to the deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportCounts {
    /// Batches received.
    pub batches: u64,
    /// Messages received (copies and redeliveries included).
    pub receives: u64,
    /// Deliveries taken out of order (standard queues), or from another group than the head's
    /// (FIFO queues).
    pub reordered: u64,
    /// Messages left in a standard queue to be delivered again.
    pub duplicated: u64,
    /// Copies a FIFO queue dropped within the deduplication window.
    pub deduplicated: u64,
    /// Copies a FIFO queue took as new, sent after the deduplication window.
    pub late_copies: u64,
    /// Invocations whose handler crashed before the batch was acknowledged.
    pub crashed_batches: u64,
    /// Messages put back by a crash or a reported failure.
    pub redelivered: u64,
    /// Messages moved to a dead-letter queue after their last receive.
    pub dead_lettered: u64,
    /// FIFO messages a handler let through while an earlier message of their group failed.
    pub out_of_group_order: u64,
}

/// A received batch, to settle.
#[derive(Debug)]
pub struct Receipt {
    messages: Vec<Queued>,
    crashed: bool,
}

/// Chaotic queues fed from the shared [`MemoryPublisher`].
pub struct ChaosTransport {
    publisher: Arc<MemoryPublisher>,
    faults: Arc<Faults>,
    share: f64,
    crash_share: f64,
    enabled: bool,
    rng: ChaCha8Rng,
    queues: Queues,
    counts: TransportCounts,
}

impl ChaosTransport {
    /// Queues fed by `publisher`, reordering and duplicating deliveries at `share`, and
    /// crashing handlers at `crash_share` of the batches through `faults`' crash switch.
    pub fn new(
        publisher: Arc<MemoryPublisher>,
        faults: Arc<Faults>,
        share: f64,
        crash_share: f64,
        seed: u64,
    ) -> Self {
        ChaosTransport {
            publisher,
            faults,
            share: share.clamp(0.0, 1.0),
            crash_share: crash_share.clamp(0.0, 1.0),
            enabled: true,
            rng: ChaCha8Rng::seed_from_u64(seed),
            queues: Queues::new(),
            counts: TransportCounts::default(),
        }
    }

    /// Turns the chaos on or off (off: well-behaved queues).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// What the transport did so far.
    pub fn counts(&self) -> TransportCounts {
        self.counts
    }

    fn roll(&mut self, share: f64) -> bool {
        self.enabled && share > 0.0 && self.rng.random_bool(share)
    }

    /// The position of the next message to deliver from `destination`.
    fn next_position(&mut self, destination: Destination) -> usize {
        if self.queues.len(destination) < 2 || !self.roll(self.share) {
            return 0;
        }
        let deliverable = self.queues.deliverable(destination);
        if deliverable.len() < 2 {
            return 0;
        }
        self.counts.reordered += 1;
        deliverable[self.rng.random_range(1..deliverable.len())]
    }
}

impl Transport for ChaosTransport {
    type Receipt = Receipt;

    async fn collect(&mut self, now: DateTime<Utc>) {
        for message in self.publisher.take_all() {
            let late = self.queues.is_duplicate(&message, now) && self.roll(self.share);
            if late {
                self.counts.late_copies += 1;
            }
            if !self.queues.accept_one(message, now, late) {
                self.counts.deduplicated += 1;
            }
        }
    }

    async fn receive(
        &mut self,
        destination: Destination,
    ) -> Option<(SqsEvent, BatchReceipt<Receipt>)> {
        let size = batch_size(destination);
        let mut batch: Vec<Queued> = Vec::with_capacity(size.min(self.queues.len(destination)));
        while batch.len() < size && self.queues.len(destination) > 0 {
            let position = self.next_position(destination);
            let Some(queued) = self.queues.take(destination, position) else {
                break;
            };
            if destination.is_fifo() {
                batch.push(queued);
                continue;
            }
            // Never the same SQS message twice in one batch: a copy waits for a later one.
            if batch.iter().any(|b| b.message_id == queued.message_id) {
                let mut back = queued;
                back.receive_count -= 1;
                self.queues.put_back(destination, vec![back]);
                break;
            }
            if self.roll(self.share) {
                self.counts.duplicated += 1;
                let mut copy = queued.clone();
                copy.receive_count -= 1;
                self.queues.put_back(destination, vec![copy]);
            }
            batch.push(queued);
        }
        if batch.is_empty() {
            return None;
        }
        self.counts.batches += 1;
        self.counts.receives += batch.len() as u64;
        let crashed = self.roll(self.crash_share);
        if crashed {
            let budget = self.rng.random_range(0..=batch.len() * 2);
            self.faults.arm_crash(budget);
            self.counts.crashed_batches += 1;
        }
        let event = sqs_event(destination, &batch);
        let receipt = Receipt {
            messages: batch,
            crashed,
        };
        Some((event, BatchReceipt::new(destination, receipt)))
    }

    async fn settle(
        &mut self,
        batch: BatchReceipt<Receipt>,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        let (destination, receipt) = (batch.destination, batch.receipt);
        let back: Vec<Queued> = if receipt.crashed {
            self.faults.disarm_crash();
            receipt.messages
        } else {
            if destination.is_fifo() {
                let broken = out_of_group_order(&receipt.messages, response);
                self.counts.out_of_group_order += broken.len() as u64;
            }
            receipt
                .messages
                .into_iter()
                .filter(|queued| scenario_runner::queues::reported(response, &queued.message_id))
                .collect()
        };
        let count = back.len() as u64;
        let dead = self.queues.put_back(destination, back);
        self.counts.dead_lettered += dead.len() as u64;
        self.counts.redelivered += count - dead.len() as u64;
        dead
    }

    async fn is_idle(&mut self) -> bool {
        self.queues.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultShares;
    use rewards_shared::envelope::EventType;
    use rewards_shared::ports::{OutgoingMessage, Publisher};
    use rewards_shared::sqs::{batch_response, message_group};
    use scenario_runner::queues::MAX_RECEIVE_COUNT;

    fn now() -> DateTime<Utc> {
        "2026-11-18T10:00:00Z".parse().expect("date")
    }

    fn message(destination: Destination, i: usize, group: Option<&str>) -> OutgoingMessage {
        OutgoingMessage {
            destination,
            id: format!("e{i:03}"),
            event_type: EventType::Decided,
            correlation_id: "c".into(),
            body: format!("{i}"),
            group: group.map(str::to_owned),
            deduplication_id: None,
        }
    }

    async fn fed(
        destination: Destination,
        share: f64,
        crash_share: f64,
        count: usize,
    ) -> (ChaosTransport, Arc<MemoryPublisher>) {
        let publisher = Arc::new(MemoryPublisher::new());
        let groups = ["a", "b", "c", "d"];
        let messages = (0..count)
            .map(|i| message(destination, i, Some(groups[i % groups.len()])))
            .collect();
        publisher.publish(messages).await.expect("published");
        let faults = Faults::new(FaultShares::NONE, 1);
        let mut transport =
            ChaosTransport::new(Arc::clone(&publisher), faults, share, crash_share, 42);
        transport.collect(now()).await;
        (transport, publisher)
    }

    async fn drain(
        transport: &mut ChaosTransport,
        destination: Destination,
    ) -> Vec<(String, String)> {
        let mut delivered = Vec::new();
        while let Some((event, receipt)) = transport.receive(destination).await {
            delivered.extend(event.records.iter().map(|m| {
                (
                    message_group(m).unwrap_or_default().to_owned(),
                    m.body.clone().unwrap_or_default(),
                )
            }));
            transport
                .settle(receipt, &SqsBatchResponse::default())
                .await;
        }
        delivered
    }

    fn bodies(delivered: &[(String, String)]) -> Vec<String> {
        delivered.iter().map(|(_, body)| body.clone()).collect()
    }

    #[tokio::test]
    async fn without_chaos_a_queue_delivers_in_order() {
        for destination in [Destination::MsqInbound, Destination::DecidedEvents] {
            let (mut transport, _) = fed(destination, 0.0, 0.0, 25).await;
            let delivered = bodies(&drain(&mut transport, destination).await);
            let expected: Vec<String> = (0..25).map(|i| i.to_string()).collect();
            assert_eq!(delivered, expected);
        }
    }

    #[tokio::test]
    async fn chaos_reorders_and_duplicates_a_standard_queue_and_loses_nothing() {
        let (mut transport, _) = fed(Destination::MsqInbound, 0.3, 0.0, 200).await;
        let delivered = bodies(&drain(&mut transport, Destination::MsqInbound).await);
        let counts = transport.counts();
        assert!(counts.reordered > 0 && counts.duplicated > 0, "{counts:?}");
        assert_eq!(delivered.len() as u64, 200 + counts.duplicated);
        let mut distinct = delivered.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 200);
        assert_ne!(
            delivered[..20],
            (0..20).map(|i| i.to_string()).collect::<Vec<_>>()[..]
        );
    }

    #[tokio::test]
    async fn chaos_interleaves_fifo_groups_but_keeps_each_group_in_order() {
        let (mut transport, _) = fed(Destination::DecidedEvents, 0.5, 0.0, 200).await;
        let delivered = drain(&mut transport, Destination::DecidedEvents).await;
        let counts = transport.counts();
        assert!(counts.reordered > 0, "{counts:?}");
        assert_eq!(counts.duplicated, 0, "a FIFO queue delivers once");
        assert_eq!(delivered.len(), 200);
        assert_ne!(
            bodies(&delivered)[..20],
            (0..20).map(|i| i.to_string()).collect::<Vec<_>>()[..]
        );
        for group in ["a", "b", "c", "d"] {
            let order: Vec<usize> = delivered
                .iter()
                .filter(|(g, _)| g == group)
                .filter_map(|(_, body)| body.parse().ok())
                .collect();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(order, sorted, "group {group} in order");
        }
    }

    #[tokio::test]
    async fn a_fifo_copy_is_dropped_in_the_window_or_taken_as_late_by_chance() {
        for (share, late) in [(0.0, 0), (1.0, 5)] {
            let (mut transport, publisher) = fed(Destination::DecidedEvents, share, 0.0, 5).await;
            let copies = (0..5)
                .map(|i| message(Destination::DecidedEvents, i, Some("a")))
                .collect();
            publisher.publish(copies).await.expect("published");
            transport.collect(now()).await;
            let counts = transport.counts();
            assert_eq!(counts.late_copies, late);
            assert_eq!(counts.deduplicated, 5 - late);
            let delivered = drain(&mut transport, Destination::DecidedEvents).await;
            assert_eq!(delivered.len() as u64, 5 + late);
        }
    }

    #[tokio::test]
    async fn a_handler_breaking_its_group_order_is_counted() {
        let (mut transport, _) = fed(Destination::DecidedEvents, 0.0, 0.0, 8).await;
        let (event, receipt) = transport
            .receive(Destination::DecidedEvents)
            .await
            .expect("batch");
        // Message 0 (group a) fails; message 4 (group a, later) is not reported.
        let first = event.records[0].message_id.clone().unwrap_or_default();
        transport.settle(receipt, &batch_response([first])).await;
        assert_eq!(transport.counts().out_of_group_order, 1);
    }

    #[tokio::test]
    async fn a_crashed_batch_comes_again_with_its_receive_count_raised() {
        let (mut transport, _) = fed(Destination::MsqInbound, 0.0, 1.0, 3).await;
        let mut counts = Vec::new();
        for _ in 0..MAX_RECEIVE_COUNT {
            let (event, receipt) = transport
                .receive(Destination::MsqInbound)
                .await
                .expect("batch");
            counts.push(rewards_shared::sqs::receive_count(&event.records[0]));
            let dead = transport
                .settle(receipt, &SqsBatchResponse::default())
                .await;
            if counts.len() as u32 == MAX_RECEIVE_COUNT {
                assert_eq!(dead.len(), 3, "past the redrive limit");
            }
        }
        assert_eq!(counts, [1, 2, 3, 4, 5]);
        assert!(transport.is_idle().await);
    }
}
