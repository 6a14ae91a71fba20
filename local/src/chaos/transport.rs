//! A chaotic [`Transport`]: SQS as it behaves on a bad day.
//!
//! - **Reordered deliveries**: each slot of a received batch is, with the given share, filled
//!   from a random place in the queue instead of its head (a standard queue's best-effort
//!   order).
//! - **Duplicated deliveries**: each received message is, with the given share, also left in
//!   the queue, to be received again later under the same SQS message id (at-least-once).
//! - **Crashes between side effects**: with the crash share, the handler dies after a random
//!   number of its side effects (see [`Faults::arm_crash`]) — some outputs published, some
//!   not, before the batch was acknowledged — so the whole batch comes again with its receive
//!   count raised, whatever the handler answered.
//!
//! As with the real redrive policy, a message received [`MAX_RECEIVE_COUNT`] times that fails
//! again goes to the dead-letter queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rewards_shared::ports::{Destination, MemoryPublisher};
use serde::Serialize;

use super::faults::Faults;
use crate::backend::Transport;
use crate::transport::{reported, sqs_event, Queued, BATCH_SIZE, MAX_RECEIVE_COUNT};

/// What the transport did to the deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportCounts {
    /// Batches received.
    pub batches: u64,
    /// Messages received (copies and redeliveries included).
    pub receives: u64,
    /// Deliveries taken out of order.
    pub reordered: u64,
    /// Messages left in the queue to be delivered again.
    pub duplicated: u64,
    /// Invocations whose handler crashed before the batch was acknowledged.
    pub crashed_batches: u64,
    /// Messages put back by a crash or a reported failure.
    pub redelivered: u64,
    /// Messages moved to a dead-letter queue after their last receive.
    pub dead_lettered: u64,
}

/// A received batch, to settle.
#[derive(Debug)]
pub struct Receipt {
    messages: Vec<Queued>,
    crashed: bool,
}

/// Chaotic in-memory queues fed from the shared [`MemoryPublisher`].
pub struct ChaosTransport {
    publisher: Arc<MemoryPublisher>,
    faults: Arc<Faults>,
    share: f64,
    crash_share: f64,
    enabled: bool,
    rng: ChaCha8Rng,
    queues: BTreeMap<Destination, VecDeque<Queued>>,
    next_id: u64,
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
            queues: BTreeMap::new(),
            next_id: 0,
            counts: TransportCounts::default(),
        }
    }

    /// Turns the chaos on or off (off: a well-behaved FIFO queue).
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
}

impl Transport for ChaosTransport {
    type Receipt = Receipt;

    async fn collect(&mut self) {
        for message in self.publisher.take_all() {
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

    async fn receive(&mut self, destination: Destination) -> Option<(SqsEvent, Receipt)> {
        let available = self.queues.get(&destination).map_or(0, VecDeque::len);
        if available == 0 {
            return None;
        }
        let mut batch: Vec<Queued> = Vec::with_capacity(available.min(BATCH_SIZE));
        while batch.len() < BATCH_SIZE {
            let len = self.queues.get(&destination).map_or(0, VecDeque::len);
            if len == 0 {
                break;
            }
            let index = if len > 1 && self.roll(self.share) {
                self.counts.reordered += 1;
                self.rng.random_range(1..len)
            } else {
                0
            };
            let Some(mut queued) = self
                .queues
                .get_mut(&destination)
                .and_then(|queue| queue.remove(index))
            else {
                break;
            };
            // Never the same SQS message twice in one batch: a copy waits for a later one.
            if batch.iter().any(|b| b.message_id == queued.message_id) {
                if let Some(queue) = self.queues.get_mut(&destination) {
                    queue.push_back(queued);
                }
                break;
            }
            queued.receive_count += 1;
            if self.roll(self.share) {
                self.counts.duplicated += 1;
                if let Some(queue) = self.queues.get_mut(&destination) {
                    queue.push_back(queued.clone());
                }
            }
            batch.push(queued);
        }
        self.counts.batches += 1;
        self.counts.receives += batch.len() as u64;
        let crashed = self.roll(self.crash_share);
        if crashed {
            let budget = self.rng.random_range(0..=batch.len() * 2);
            self.faults.arm_crash(budget);
            self.counts.crashed_batches += 1;
        }
        Some((
            sqs_event(destination, &batch),
            Receipt {
                messages: batch,
                crashed,
            },
        ))
    }

    async fn settle(
        &mut self,
        destination: Destination,
        receipt: Receipt,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        if receipt.crashed {
            self.faults.disarm_crash();
        }
        let mut dead = Vec::new();
        for queued in receipt.messages {
            if !receipt.crashed && !reported(response, &queued.message_id) {
                continue;
            }
            if queued.receive_count >= MAX_RECEIVE_COUNT {
                self.counts.dead_lettered += 1;
                dead.push(queued);
            } else {
                self.counts.redelivered += 1;
                self.queues
                    .entry(destination)
                    .or_default()
                    .push_back(queued);
            }
        }
        dead
    }

    async fn is_idle(&mut self) -> bool {
        self.queues.values().all(VecDeque::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::faults::FaultShares;
    use rewards_shared::envelope::EventType;
    use rewards_shared::ports::{OutgoingMessage, Publisher};

    async fn fed(share: f64, crash_share: f64, count: usize) -> ChaosTransport {
        let publisher = Arc::new(MemoryPublisher::new());
        let messages = (0..count)
            .map(|i| OutgoingMessage {
                destination: Destination::DecidedEvents,
                id: format!("e{i:03}"),
                event_type: EventType::Decided,
                correlation_id: "c".into(),
                body: format!("{i}"),
            })
            .collect();
        publisher.publish(messages).await.expect("published");
        let faults = Faults::new(FaultShares::NONE, 1);
        let mut transport = ChaosTransport::new(publisher, faults, share, crash_share, 42);
        transport.collect().await;
        transport
    }

    async fn drain(transport: &mut ChaosTransport) -> Vec<String> {
        let mut bodies = Vec::new();
        while let Some((event, receipt)) = transport.receive(Destination::DecidedEvents).await {
            bodies.extend(event.records.iter().filter_map(|m| m.body.clone()));
            transport
                .settle(
                    Destination::DecidedEvents,
                    receipt,
                    &SqsBatchResponse::default(),
                )
                .await;
        }
        bodies
    }

    #[tokio::test]
    async fn without_chaos_it_is_a_fifo_queue() {
        let mut transport = fed(0.0, 0.0, 25).await;
        let bodies = drain(&mut transport).await;
        let expected: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        assert_eq!(bodies, expected);
    }

    #[tokio::test]
    async fn chaos_reorders_duplicates_and_loses_nothing() {
        let mut transport = fed(0.3, 0.0, 200).await;
        let bodies = drain(&mut transport).await;
        let counts = transport.counts();
        assert!(counts.reordered > 0 && counts.duplicated > 0, "{counts:?}");
        assert_eq!(bodies.len() as u64, 200 + counts.duplicated);
        let mut distinct = bodies.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 200);
        assert_ne!(
            bodies[..20],
            (0..20).map(|i| i.to_string()).collect::<Vec<_>>()[..]
        );
    }

    #[tokio::test]
    async fn a_crashed_batch_comes_again_with_its_receive_count_raised() {
        let mut transport = fed(0.0, 1.0, 3).await;
        let mut counts = Vec::new();
        for _ in 0..MAX_RECEIVE_COUNT {
            let (event, receipt) = transport
                .receive(Destination::DecidedEvents)
                .await
                .expect("batch");
            counts.push(rewards_shared::sqs::receive_count(&event.records[0]));
            let dead = transport
                .settle(
                    Destination::DecidedEvents,
                    receipt,
                    &SqsBatchResponse::default(),
                )
                .await;
            if counts.len() as u32 == MAX_RECEIVE_COUNT {
                assert_eq!(dead.len(), 3, "past the redrive limit");
            }
        }
        assert_eq!(counts, [1, 2, 3, 4, 5]);
        assert!(transport.is_idle().await);
    }
}
