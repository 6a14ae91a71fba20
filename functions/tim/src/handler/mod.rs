//! TIM's batch handler for Lambda's SQS event.
//!
//! Records of the same key (one FIFO message group) are applied in sequence order; different
//! keys run concurrently, bounded. The batch goes in rounds: round *n* applies the *n*-th
//! record of every key and publishes the round's effects in one call (a batch with one record
//! per key, the usual case, is one round and one publish call). A key's next record is written
//! only once the previous one's messages are out, so the stored state is never ahead of the
//! published messages by more than one event — which is what TIM's redelivery rule (see
//! [`crate::record`]) can recompute after a crash or a failed publish. When a record of a key
//! fails transiently (its write or its publish), the later records of that key are not applied
//! but reported too, so the group comes again in its order. Bad records go to the dead-letter
//! queue and are not retried; transient failures are reported in `batchItemFailures`, and
//! nothing else is.

use std::collections::{BTreeMap, VecDeque};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use futures::stream::{self, StreamExt};
use rewards_shared::effects::RecordEffects;
use rewards_shared::envelope::Envelope;
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::model::EnrichedActivity;
use rewards_shared::ports::{
    Clock, CommonPorts, DeadLetterSink, Publisher, StateKey, TimStateStore,
};
use rewards_shared::sqs::{self, RecordFailure};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Recorder;
use tracing::Instrument;

use crate::record;

/// Keys applied at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// TIM's handler, generic over its ports.
pub struct Handler<S, P, D, C> {
    filter_tag: String,
    store: S,
    ports: CommonPorts<P, D, C>,
    concurrency: usize,
}

type RecordResult = Result<RecordEffects, RecordFailure>;

impl<S, P, D, C> Handler<S, P, D, C>
where
    S: TimStateStore,
    P: Publisher,
    D: DeadLetterSink,
    C: Clock,
{
    /// A handler keeping only promotions tagged `filter_tag`, publishing with the `ports`'
    /// publisher and bad records to their dead-letter sink.
    pub fn new(filter_tag: impl Into<String>, store: S, ports: CommonPorts<P, D, C>) -> Self {
        Handler {
            filter_tag: filter_tag.into(),
            store,
            ports,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Handles one SQS event; never fails the whole batch.
    pub async fn handle(&self, event: &SqsEvent) -> SqsBatchResponse {
        let recorder = self.ports.telemetry.recorder();
        let messages = &event.records;
        recorder.count("RecordsIn", messages.len() as f64);
        let mut results: Vec<Result<(), RecordFailure>> = vec![Ok(()); messages.len()];

        // Decode, and group the good records by key in sequence order.
        let mut groups: BTreeMap<StateKey, Vec<(usize, Envelope<EnrichedActivity>)>> =
            BTreeMap::new();
        for (index, message) in messages.iter().enumerate() {
            match sqs::body(message).and_then(record::decode) {
                Ok(envelope) => groups
                    .entry(record::key(&envelope.data))
                    .or_default()
                    .push((index, envelope)),
                Err(invalid) => results[index] = Err(RecordFailure::invalid(invalid)),
            }
        }
        let mut keys: Vec<VecDeque<(usize, Envelope<EnrichedActivity>)>> = groups
            .into_values()
            .map(|mut group| {
                group.sort_by_key(|(_, envelope)| envelope.data.sequence);
                group.into()
            })
            .collect();
        while !keys.is_empty() {
            // This round: the next record of every key still going.
            let round: Vec<(usize, Envelope<EnrichedActivity>)> =
                keys.iter_mut().filter_map(VecDeque::pop_front).collect();
            let indexes: Vec<usize> = round.iter().map(|(index, _)| *index).collect();
            let applied: Vec<RecordResult> = stream::iter(round)
                .map(|(index, envelope)| {
                    let message = &messages[index];
                    let delivery = record::Delivery {
                        message_id: sqs::message_id(message),
                        receive_count: sqs::receive_count(message),
                    };
                    self.apply_one(envelope, delivery, &recorder)
                })
                .buffered(self.concurrency.max(1))
                .collect()
                .await;
            let published = self.ports.publish(applied, &recorder).await;
            let mut next = Vec::with_capacity(keys.len());
            for ((index, result), mut rest) in indexes.into_iter().zip(published).zip(keys) {
                // A key whose record failed transiently stops: its later records come again.
                if matches!(result, Err(RecordFailure::Retry { .. })) {
                    let earlier = sqs::message_id(&messages[index]);
                    for (later, _) in rest.drain(..) {
                        results[later] = Err(RecordFailure::behind(earlier));
                    }
                }
                results[index] = result;
                if !rest.is_empty() {
                    next.push(rest);
                }
            }
            keys = next;
        }

        let response = self
            .ports
            .settle(Stage::Tim, messages, results, &recorder)
            .await;
        recorder.flush();
        response
    }

    async fn apply_one(
        &self,
        envelope: Envelope<EnrichedActivity>,
        delivery: record::Delivery<'_>,
        recorder: &Recorder<'_>,
    ) -> RecordResult {
        let now = self.ports.clock.now();
        recorder.latency(envelope.latency_at(now));
        let span = tracing::info_span!("record", stage = "tim", correlation_id = %envelope.correlation_id, event_id = %envelope.id);
        record::apply(&self.store, &envelope, delivery, &self.filter_tag, now)
            .instrument(span)
            .await
    }
}

#[cfg(test)]
mod tests;
