//! The tests of the batch handler, against the in-memory ports.

use std::sync::Arc;

use super::*;
use crate::rules::resend::tests::{at, queued, ACCOUNT};
use aws_lambda_events::event::sqs::SqsMessage;
use rewards_shared::envelope::StageTimestamps;
use rewards_shared::ports::{
    ItemState, ManualClock, MemoryDeadLetters, MemoryMessageStore, MemoryOnsiteGateway,
    MemoryOutcomes, PendingQuery,
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
        .pending(PendingQuery::new(
            "skybet",
            ACCOUNT,
            max - chrono::Duration::seconds(1),
        ))
        .await
        .expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].message.expires_at, Some(max));
    let later = f
        .store
        .pending(PendingQuery::new("skybet", ACCOUNT, max))
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
        .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
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
        .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
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
        .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
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
            .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
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
    let wrong_topic = kafka::encode_record("other.topic", 0, 9, online(ACCOUNT).as_bytes(), &[]);
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
            .pending(PendingQuery::new("skybet", ACCOUNT, at(NOW)))
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
