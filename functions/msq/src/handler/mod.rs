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
        let results = sqs::each_envelope(
            Stage::Msq,
            messages,
            &INPUT_TYPES,
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
fn data<T: DeserializeOwned>(envelope: &Envelope<serde_json::Value>) -> Result<T, RecordFailure> {
    serde_json::from_value(envelope.data.clone()).map_err(|e| {
        RecordFailure::invalid(EnvelopeError::Data {
            id: envelope.id.clone(),
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rules::resend::tests::{at, queued, ACCOUNT};
    use aws_lambda_events::event::sqs::SqsMessage;
    use rewards_shared::envelope::StageTimestamps;
    use rewards_shared::ports::{
        ItemState, ManualClock, MemoryDeadLetters, MemoryMessageStore, MemoryOnsiteGateway,
        MemoryOutcomes,
    };
    use rewards_shared::sqs::encode_message;

    const TOPIC: &str = "dc1.skybet.customer.online";
    const NOW: &str = "2026-11-18T10:00:00Z";

    struct Fixture {
        handler: Handler<
            Arc<MemoryMessageStore>,
            Arc<MemoryOnsiteGateway>,
            Arc<MemoryDeadLetters>,
            ManualClock,
        >,
        store: Arc<MemoryMessageStore>,
        onsite: Arc<MemoryOnsiteGateway>,
        dead_letters: Arc<MemoryDeadLetters>,
        outcomes: Arc<MemoryOutcomes>,
        clock: ManualClock,
    }

    fn fixture() -> Fixture {
        let store = Arc::new(MemoryMessageStore::new());
        let onsite = Arc::new(MemoryOnsiteGateway::default());
        let dead_letters = Arc::new(MemoryDeadLetters::new());
        let outcomes = Arc::new(MemoryOutcomes::new());
        let clock = ManualClock::new(at(NOW));
        let handler = Handler::new(
            Arc::clone(&store),
            Arc::clone(&onsite),
            Arc::clone(&dead_letters),
            clock.clone(),
            Telemetry::for_tests(Stage::Msq, outcomes.clone()),
        )
        .with_online_topic(TOPIC);
        Fixture {
            handler,
            store,
            onsite,
            dead_letters,
            outcomes,
            clock,
        }
    }

    fn envelope<T>(id: &str, event_type: EventType, data: T) -> Envelope<T> {
        let mut timestamps = StageTimestamps::from_origin(at("2026-11-16T09:30:00Z"));
        timestamps.stamp(Stage::Bcg, at("2026-11-16T09:30:01Z"));
        Envelope {
            id: id.into(),
            source: Stage::Bcg.source().into(),
            event_type,
            subject: ACCOUNT.into(),
            time: at("2026-11-16T09:30:01Z"),
            brand: "skybet".into(),
            correlation_id: format!("corr-{id}"),
            timestamps,
            data,
        }
    }

    fn queue_message(id: &str, message: QueuedMessage) -> SqsMessage {
        let body = envelope(id, EventType::MessageQueue, message)
            .encode()
            .expect("encodes");
        encode_message(id, &body, 1, "arn:msq-inbound-queue")
    }

    fn delete_message(id: &str, sequence: u64) -> SqsMessage {
        let instruction = DeleteInstruction {
            account_id: ACCOUNT.into(),
            brand: "skybet".into(),
            promo_code: "A".into(),
            attempt_id: "2026-W47".into(),
            sequence,
            expires_at: Some(at("2026-11-23T23:59:59Z")),
        };
        let body = envelope(id, EventType::MessageDelete, instruction)
            .encode()
            .expect("encodes");
        encode_message(id, &body, 1, "arn:msq-inbound-delete")
    }

    fn sqs(messages: Vec<SqsMessage>) -> MsqEvent {
        let event = SqsEvent::of(messages);
        MsqEvent::Sqs(event)
    }

    fn online_record(offset: i64, value: &str) -> aws_lambda_events::event::kafka::KafkaRecord {
        kafka::encode_record(
            TOPIC,
            0,
            offset,
            value.as_bytes(),
            &[("correlationid", "c")],
        )
    }

    fn online(account: &str) -> String {
        format!(r#"{{"accountId": "{account}", "brand": "skybet", "onlineAt": "{NOW}"}}"#)
    }

    fn kafka(records: Vec<aws_lambda_events::event::kafka::KafkaRecord>) -> MsqEvent {
        MsqEvent::Kafka(kafka::encode_event(records))
    }

    fn failed_ids(response: &MsqResponse) -> Vec<String> {
        match response {
            MsqResponse::Sqs(response) => response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect(),
            MsqResponse::Kafka(_) => panic!("not an SQS response"),
        }
    }

    fn titles(onsite: &MemoryOnsiteGateway) -> Vec<String> {
        onsite.delivered().into_iter().map(|m| m.title).collect()
    }

    fn award(sequence: u64) -> QueuedMessage {
        queued(
            "A",
            MessageType::RewardAwarded,
            sequence,
            "2026-11-16T10:00:00Z",
        )
    }

    #[tokio::test]
    async fn a_message_that_never_expires_is_kept_for_the_maximum_ttl() {
        let f = fixture();
        let mut forever = award(12);
        forever.message.expires_at = None;
        f.handler
            .handle(sqs(vec![queue_message("m1", forever)]))
            .await
            .expect("sqs");
        let max = at(NOW) + chrono::Duration::days(DEFAULT_MAX_MESSAGE_TTL_DAYS);
        let pending = f
            .store
            .pending("skybet", ACCOUNT, max - chrono::Duration::seconds(1))
            .await
            .expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].message.expires_at, Some(max));
        let later = f
            .store
            .pending("skybet", ACCOUNT, max)
            .await
            .expect("pending");
        assert!(later.is_empty(), "gone after the maximum TTL");
    }

    #[tokio::test]
    async fn a_customer_online_record_needs_only_the_account() {
        let f = fixture();
        let f = Fixture {
            handler: f.handler.with_brand("skybet"),
            ..f
        };
        f.handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("sqs");
        f.onsite.set_online(ACCOUNT, true);
        let record = online_record(
            1,
            &format!(r#"{{"accountId": "{ACCOUNT}", "brand": null}}"#),
        );
        f.handler.handle(kafka(vec![record])).await.expect("kafka");
        assert!(f.dead_letters.take().is_empty());
        assert_eq!(
            f.onsite.delivered().len(),
            1,
            "resent under the stack's brand"
        );
    }

    #[tokio::test]
    async fn queued_messages_are_stored_without_a_second_queued_outcome() {
        let f = fixture();
        let response = f
            .handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("ok");
        assert!(failed_ids(&response).is_empty());
        assert!(f.outcomes.take().is_empty());
        assert_eq!(
            f.store
                .state("skybet#10048213", "A#2026-W47#REWARD_AWARDED"),
            Some(ItemState::Queued)
        );
    }

    #[tokio::test]
    async fn a_newer_message_replaces_the_older_and_a_repeat_is_a_no_op() {
        let f = fixture();
        let older = queued("A", MessageType::Progress, 3, "2026-11-16T10:00:00Z");
        let newer = queued("A", MessageType::Progress, 4, "2026-11-16T11:00:00Z");
        f.handler
            .handle(sqs(vec![
                queue_message("m1", older.clone()),
                queue_message("m2", newer.clone()),
                queue_message("m3", older.clone()),
                queue_message("m4", newer.clone()),
            ]))
            .await
            .expect("ok");
        let pending = f
            .store
            .pending("skybet", ACCOUNT, at(NOW))
            .await
            .expect("pending");
        assert_eq!(pending, vec![newer.clone()]);
        // Online: only the newest is resent, once.
        f.onsite.set_online(ACCOUNT, true);
        f.handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("ok");
        assert_eq!(titles(&f.onsite), vec![newer.message.title.clone()]);
        // The same message queued again after delivery is not stored again.
        f.handler
            .handle(sqs(vec![queue_message("m5", newer)]))
            .await
            .expect("ok");
        assert!(f
            .store
            .pending("skybet", ACCOUNT, at(NOW))
            .await
            .expect("pending")
            .is_empty());
    }

    #[tokio::test]
    async fn delete_removes_the_queued_award() {
        let f = fixture();
        f.handler
            .handle(sqs(vec![
                queue_message("m1", award(12)),
                delete_message("d1", 13),
            ]))
            .await
            .expect("ok");
        assert_eq!(
            f.outcomes.take(),
            vec![Outcome::Deleted {
                account_id: ACCOUNT.into(),
                message_type: MessageType::RewardAwarded,
            }]
        );
        assert_eq!(
            f.store
                .state("skybet#10048213", "A#2026-W47#REWARD_AWARDED"),
            Some(ItemState::Tombstone)
        );
        // A repeat of the instruction changes nothing and records nothing.
        f.handler
            .handle(sqs(vec![delete_message("d1", 13)]))
            .await
            .expect("ok");
        assert!(f.outcomes.take().is_empty());
    }

    #[tokio::test]
    async fn delete_before_enqueue_blocks_the_late_award() {
        let f = fixture();
        f.handler
            .handle(sqs(vec![delete_message("d1", 13)]))
            .await
            .expect("ok");
        assert!(f.outcomes.take().is_empty(), "nothing was deleted");
        f.handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("ok");
        assert!(f
            .store
            .pending("skybet", ACCOUNT, at(NOW))
            .await
            .expect("pending")
            .is_empty());
        f.onsite.set_online(ACCOUNT, true);
        f.handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("ok");
        assert!(f.onsite.delivered().is_empty());
        assert!(f.outcomes.take().is_empty());
    }

    #[tokio::test]
    async fn online_resends_oldest_first_via_msq_keeping_message_ids() {
        let f = fixture();
        let progress = queued("B", MessageType::Progress, 3, "2026-11-17T09:00:00Z");
        let first_award = award(12);
        f.handler
            .handle(sqs(vec![
                queue_message("m1", progress.clone()),
                queue_message("m2", first_award.clone()),
            ]))
            .await
            .expect("ok");
        f.onsite.set_online(ACCOUNT, true);
        let response = f
            .handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("ok");
        assert_eq!(response, MsqResponse::Kafka(Default::default()));
        let outcomes = f.outcomes.take();
        let delivered: Vec<_> = outcomes
            .iter()
            .map(|o| match o {
                Outcome::Delivered {
                    message_id, via, ..
                } => (message_id.clone(), *via),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            delivered,
            vec![
                (first_award.message.message_id.clone(), Stage::Msq),
                (progress.message.message_id.clone(), Stage::Msq)
            ]
        );
        // Coming online again resends nothing.
        f.handler
            .handle(kafka(vec![online_record(2, &online(ACCOUNT))]))
            .await
            .expect("ok");
        assert!(f.outcomes.take().is_empty());
    }

    #[tokio::test]
    async fn not_onsite_stops_and_keeps_messages() {
        let f = fixture();
        f.handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("ok");
        f.handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("a 404 is not a failure");
        assert!(f.outcomes.take().is_empty());
        assert_eq!(
            f.store
                .pending("skybet", ACCOUNT, at(NOW))
                .await
                .expect("ok")
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn expired_messages_are_not_resent() {
        let f = fixture();
        f.handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("ok");
        f.clock.set(at("2026-11-24T00:00:00Z"));
        f.onsite.set_online(ACCOUNT, true);
        f.handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("ok");
        assert_eq!(f.onsite.calls(), 0);
        assert!(f.outcomes.take().is_empty());
    }

    #[tokio::test]
    async fn osg_failure_fails_the_invocation_for_redelivery() {
        let f = fixture();
        f.handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("ok");
        f.onsite.set_online(ACCOUNT, true);
        f.onsite.fail_next(1);
        let response = f
            .handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("partial response");
        let MsqResponse::Kafka(response) = response else {
            panic!("not a Kafka response")
        };
        assert_eq!(
            serde_json::to_value(&response).expect("json"),
            serde_json::json!({"batchItemFailures": [
                {"itemIdentifier": {"partition": format!("{TOPIC}-0"), "offset": 1}}
            ]}),
            "the record whose resend failed is retried"
        );
        assert!(f.outcomes.take().is_empty());
        // The redelivery succeeds and sends the message once.
        f.handler
            .handle(kafka(vec![online_record(1, &online(ACCOUNT))]))
            .await
            .expect("ok");
        assert_eq!(f.onsite.delivered().len(), 1);
        assert!(matches!(
            f.outcomes.take()[..],
            [Outcome::Delivered {
                via: Stage::Msq,
                ..
            }]
        ));
    }

    #[tokio::test]
    async fn bad_online_records_are_dead_lettered_and_the_rest_go_on() {
        let f = fixture();
        f.handler
            .handle(sqs(vec![queue_message("m1", award(12))]))
            .await
            .expect("ok");
        f.onsite.set_online(ACCOUNT, true);
        let wrong_topic =
            kafka::encode_record("other.topic", 0, 9, online(ACCOUNT).as_bytes(), &[]);
        f.handler
            .handle(kafka(vec![
                online_record(1, "not json"),
                online_record(
                    2,
                    r#"{"accountId": "", "brand": "skybet", "onlineAt": "2026-11-18T10:00:00Z"}"#,
                ),
                online_record(3, &online(ACCOUNT)),
                wrong_topic,
            ]))
            .await
            .expect("bad records do not fail the batch");
        let letters = f.dead_letters.take();
        let sources: Vec<_> = letters.iter().map(|l| l.source.as_str()).collect();
        assert_eq!(
            sources,
            vec![
                "dc1.skybet.customer.online/0@1",
                "dc1.skybet.customer.online/0@2",
                "other.topic/0@9"
            ]
        );
        assert!(letters
            .iter()
            .all(|l| l.reason.starts_with("invalid-input: ")));
        assert_eq!(letters[0].payload, "not json");
        let outcomes = f.outcomes.take();
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Delivered { .. }))
                .count(),
            1
        );
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(
                    o,
                    Outcome::DeadLettered {
                        stage: Stage::Msq,
                        ..
                    }
                ))
                .count(),
            3
        );
    }

    #[tokio::test]
    async fn one_bad_sqs_record_among_good_ones_goes_alone_to_the_dead_letter_queue() {
        let f = fixture();
        let mut no_account = award(12);
        no_account.message.account_id = " ".into();
        let wrong_data = envelope("w", EventType::MessageDelete, serde_json::json!({"x": 1}))
            .encode()
            .expect("encodes");
        let response = f
            .handler
            .handle(sqs(vec![
                queue_message("m1", queued("B", MessageType::Progress, 1, NOW)),
                encode_message("m2", "{", 1, "arn:q"),
                queue_message("m3", no_account),
                encode_message("m4", &wrong_data, 1, "arn:q"),
                delete_message("m5", 13),
            ]))
            .await
            .expect("ok");
        assert!(failed_ids(&response).is_empty());
        let letters = f.dead_letters.take();
        let sources: Vec<_> = letters.iter().map(|l| l.source.as_str()).collect();
        assert_eq!(sources, vec!["m2", "m3", "m4"]);
        assert!(
            letters[1].reason.contains("message.accountId"),
            "{}",
            letters[1].reason
        );
        assert!(
            letters[2].reason.contains("CloudEvent `w` data"),
            "{}",
            letters[2].reason
        );
        assert_eq!(
            f.store
                .pending("skybet", ACCOUNT, at(NOW))
                .await
                .expect("ok")
                .len(),
            1
        );
        assert_eq!(
            f.store
                .state("skybet#10048213", "A#2026-W47#REWARD_AWARDED"),
            Some(ItemState::Tombstone)
        );
    }

    #[tokio::test]
    async fn raw_lambda_payloads_dispatch_to_the_right_path() {
        let f = fixture();
        let body = envelope("m1", EventType::MessageQueue, award(12))
            .encode()
            .expect("encodes");
        let sqs_json = serde_json::json!({"Records": [{
            "messageId": "m1", "receiptHandle": "r", "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:1:msq-inbound-queue", "awsRegion": "eu-west-1"
        }]});
        let event: MsqEvent = serde_json::from_value(sqs_json).expect("sqs");
        f.handler.handle(event).await.expect("ok");
        f.onsite.set_online(ACCOUNT, true);
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.encode(online(ACCOUNT));
        let kafka_json = serde_json::json!({
            "eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:eu-west-1:1:cluster/c/1",
            "bootstrapServers": "b-1:9092",
            "records": {format!("{TOPIC}-0"): [{"topic": TOPIC, "partition": 0, "offset": 7,
                "timestamp": 1794823200000u64, "timestampType": "CREATE_TIME", "key": null,
                "value": value, "headers": []}]}
        });
        let event: MsqEvent = serde_json::from_value(kafka_json).expect("kafka");
        assert_eq!(
            f.handler.handle(event).await,
            Ok(MsqResponse::Kafka(Default::default()))
        );
        assert_eq!(f.onsite.delivered().len(), 1);
    }
}
