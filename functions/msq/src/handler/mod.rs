//! MSQ's handler: SQS records dispatched by CloudEvent type, MSK customer-online records
//! resent.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use rewards_shared::envelope::{Envelope, EnvelopeError, EventType};
use rewards_shared::kafka::{self, KafkaBatchResponse, Record};
use rewards_shared::lambda_event::{KafkaEvent, SqsEvent};
use rewards_shared::limits::DEFAULT_MAX_MESSAGE_TTL_DAYS;
use rewards_shared::model::{
    self, CustomerOnline, DeleteInstruction, InvalidInput, MessageType, QueuedMessage, Validate,
};
use rewards_shared::ports::dead_letter::send_recorded;
use rewards_shared::ports::{
    Clock, DeadLetterSink, MessageStore, OnsiteGateway, Outcome, PutResult, TombstoneResult,
};
use rewards_shared::sqs::{self, RecordFailure};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::{Recorder, Telemetry};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::event::{MsqError, MsqEvent, MsqResponse};
use crate::rules::resend::{self, End};
use crate::rules::ttl;

/// The event types MSQ reads from SQS.
pub const INPUT_TYPES: [EventType; 2] = [EventType::MessageQueue, EventType::MessageDelete];

/// MSQ's handler, generic over its ports.
pub struct Handler<S, O, L, C> {
    online_topic: Option<String>,
    brand: Option<String>,
    max_ttl: chrono::Duration,
    store: S,
    onsite: O,
    dead_letters: L,
    clock: C,
    telemetry: Telemetry,
}

impl<S, O, L, C> Handler<S, O, L, C>
where
    S: MessageStore,
    O: OnsiteGateway,
    L: DeadLetterSink,
    C: Clock,
{
    /// A handler keeping messages in `store`, resending through `onsite` (OSG) and sending bad
    /// records to `dead_letters`. It accepts customer-online records from any topic unless
    /// [`Handler::with_online_topic`] names one.
    pub fn new(store: S, onsite: O, dead_letters: L, clock: C, telemetry: Telemetry) -> Self {
        Handler {
            online_topic: None,
            brand: None,
            max_ttl: chrono::Duration::days(DEFAULT_MAX_MESSAGE_TTL_DAYS),
            store,
            onsite,
            dead_letters,
            clock,
            telemetry,
        }
    }

    /// Dead-letters customer-online records from any topic but `topic` (`ONLINE_TOPIC`).
    pub fn with_online_topic(mut self, topic: impl Into<String>) -> Self {
        self.online_topic = Some(topic.into());
        self
    }

    /// Resends to customers of `brand` (`BRAND`) when a customer-online record names none.
    pub fn with_brand(mut self, brand: impl Into<String>) -> Self {
        self.brand = Some(brand.into());
        self
    }

    /// Keeps messages and tombstones whose reward never expires for `max_ttl` (default
    /// [`DEFAULT_MAX_MESSAGE_TTL_DAYS`] days).
    pub fn with_max_ttl(mut self, max_ttl: chrono::Duration) -> Self {
        self.max_ttl = max_ttl;
        self
    }

    /// The expiry of something without one of its own: now plus the maximum TTL.
    fn bounded_expiry(
        &self,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        ttl::bounded_expiry(expires_at, now, self.max_ttl)
    }

    /// Handles one invocation: an SQS batch (never fails as a whole) or an MSK batch (its
    /// records whose resend failed transiently reported for retry).
    pub async fn handle(&self, event: MsqEvent) -> Result<MsqResponse, MsqError> {
        match event {
            MsqEvent::Sqs(event) => Ok(MsqResponse::Sqs(self.handle_sqs(event).await)),
            MsqEvent::Kafka(event) => self.handle_kafka(event).await.map(MsqResponse::Kafka),
        }
    }

    /// Handles an SQS batch from `msq-inbound-queue` or `msq-inbound-delete`, record by
    /// record in order.
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        let recorder = self.telemetry.recorder();
        let messages = &event.records;
        recorder.count("RecordsIn", messages.len() as f64);
        let now = self.clock.now();
        // In order, one at a time: a delete and the award it removes may share a batch.
        let results = sqs::each_event(
            Stage::Msq,
            messages,
            |body: &str| Envelope::decode(body, &INPUT_TYPES),
            1,
            now,
            &recorder,
            |envelope: Envelope<serde_json::Value>| {
                let recorder = &recorder;
                async move {
                    match envelope.event_type {
                        EventType::MessageDelete => {
                            let mut instruction: DeleteInstruction = data(&envelope)?;
                            instruction.expires_at =
                                self.bounded_expiry(instruction.expires_at, now);
                            self.delete(&instruction, recorder).await
                        }
                        _ => {
                            let mut queued: QueuedMessage = data(&envelope)?;
                            queued.message.expires_at =
                                self.bounded_expiry(queued.message.expires_at, now);
                            self.store(&queued, recorder).await
                        }
                    }
                }
            },
        )
        .await;
        let response =
            sqs::settle(Stage::Msq, messages, results, &self.dead_letters, &recorder).await;
        recorder.flush();
        response
    }

    /// Stores a queued message. BCG recorded the `queued` outcome already: only metrics here.
    async fn store(
        &self,
        queued: &QueuedMessage,
        recorder: &Recorder<'_>,
    ) -> Result<(), RecordFailure> {
        let message = &queued.message;
        queued.validate().map_err(RecordFailure::invalid)?;
        match self.store.put(queued).await {
            Ok(PutResult::Stored { replaced }) => {
                recorder.count("Stored", 1.0);
                if replaced {
                    recorder.count("Replaced", 1.0);
                }
                tracing::info!(message_id = %message.message_id, replaced, "message stored");
                Ok(())
            }
            Ok(PutResult::NotNewer { state }) => {
                recorder.count("NotStored", 1.0);
                tracing::info!(
                    message_id = %message.message_id,
                    state = state.as_str(),
                    "message not stored: the item holds this sequence or a newer one"
                );
                Ok(())
            }
            // Unavailable or rejected (permissions, a corrupt item): an operational fault, not
            // a bad record. Redelivered, and in the DLQ after maxReceiveCount.
            Err(error) => Err(RecordFailure::retry(error)),
        }
    }

    async fn delete(
        &self,
        instruction: &DeleteInstruction,
        recorder: &Recorder<'_>,
    ) -> Result<(), RecordFailure> {
        instruction.validate().map_err(RecordFailure::invalid)?;
        match self.store.tombstone(instruction).await {
            Ok(TombstoneResult::Deleted) => {
                recorder.outcome(Outcome::Deleted {
                    account_id: instruction.account_id.clone(),
                    message_type: MessageType::RewardAwarded,
                });
                Ok(())
            }
            Ok(TombstoneResult::Placed) => {
                recorder.count("TombstonesPlaced", 1.0);
                tracing::info!("no award queued; tombstone placed");
                Ok(())
            }
            Ok(TombstoneResult::NotNewer) => {
                recorder.count("NotStored", 1.0);
                tracing::info!("delete instruction not newer than the stored item");
                Ok(())
            }
            Err(error) => Err(RecordFailure::retry(error)),
        }
    }

    /// Handles an MSK batch of customer-online records, in order. Bad records are
    /// dead-lettered; the records whose resend failed transiently are reported in the partial
    /// batch response, so Lambda retries just those (bounded, then the S3 on-failure
    /// destination). Fails as a whole only when the dead-letter queue cannot take the bad ones.
    pub async fn handle_kafka(&self, event: KafkaEvent) -> Result<KafkaBatchResponse, MsqError> {
        let recorder = self.telemetry.recorder();
        let records = kafka::records(&event);
        recorder.count("RecordsIn", records.len() as f64);
        let mut letters = Vec::new();
        let mut failures = Vec::new();
        for record in &records {
            let source = record.source();
            let span = tracing::info_span!(
                "record",
                stage = "msq",
                correlation_id = record.header("correlationid").unwrap_or_default(),
                event_id = %source,
            );
            match self.online(record, &recorder).instrument(span).await {
                Ok(()) => {}
                Err(RecordFailure::DeadLetter { reason }) => {
                    letters.push(record.dead_letter(Stage::Msq, reason))
                }
                Err(RecordFailure::Retry { reason }) => {
                    tracing::warn!(source = %source, reason = %reason, "resend failed; the record will be retried");
                    failures.push(record);
                }
            }
        }
        let result = send_recorded(&self.dead_letters, letters, &recorder)
            .await
            .map_err(|e| MsqError::DeadLetters(e.to_string()));
        recorder.count("BatchItemFailures", failures.len() as f64);
        recorder.flush();
        result?;
        Ok(KafkaBatchResponse::failed(failures))
    }

    async fn online(
        &self,
        record: &Record<'_>,
        recorder: &Recorder<'_>,
    ) -> Result<(), RecordFailure> {
        if let Some(expected) = &self.online_topic {
            if record.topic() != expected {
                return Err(RecordFailure::invalid(InvalidInput::Mismatch(format!(
                    "record from topic `{}`, expected `{expected}`",
                    record.topic()
                ))));
            }
        }
        let value = record.value().map_err(RecordFailure::invalid)?;
        let mut online: CustomerOnline = model::parse(&value).map_err(RecordFailure::invalid)?;
        if online.brand.trim().is_empty() {
            online.brand = self.brand.clone().unwrap_or_default();
        }
        online.online_at = online.online_at.or_else(|| record.timestamp());
        online.validate().map_err(RecordFailure::invalid)?;
        let now = self.clock.now();
        tracing::debug!(online_at = ?online.online_at, "customer online; resending");
        let report = resend::resend(
            &self.store,
            &self.onsite,
            &online.brand,
            &online.account_id,
            now,
        )
        .await;
        for queued in report.delivered {
            // Latency since the activity's origin (its `occurredAt`, the chain's `tsorigin`).
            recorder.latency(rewards_shared::envelope::Latency {
                from_origin_ms: Some((now - queued.occurred_at).num_milliseconds()),
                from_previous_ms: None,
            });
            let message = queued.message;
            recorder.outcome(Outcome::Delivered {
                account_id: message.account_id,
                message_type: message.message_type,
                message_id: message.message_id,
                via: Stage::Msq,
                format: message.format,
                title: message.title,
                body: message.body,
            });
        }
        recorder.count("ResendRejected", report.rejected.len() as f64);
        match report.end {
            End::Done => Ok(()),
            End::NotOnsite { left } => {
                recorder.count("ResendStopped", 1.0);
                tracing::info!(left, "customer not onsite; the rest stays queued");
                Ok(())
            }
            End::Failed { reason } => Err(RecordFailure::retry(reason)),
        }
    }
}

/// The envelope's data as `T`; a mismatch is invalid input naming the event.
///
/// Read from the tree in place (`&Value` is a deserializer), not from a copy of it.
fn data<T: DeserializeOwned>(envelope: &Envelope<serde_json::Value>) -> Result<T, RecordFailure> {
    T::deserialize(&envelope.data).map_err(|e| {
        RecordFailure::invalid(EnvelopeError::Data {
            id: envelope.id.clone(),
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests;
