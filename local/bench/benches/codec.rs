//! The decode and encode of each stage's input and output, as each function does them per
//! record, and the Lambda event each function receives (`KafkaEvent`, `SqsEvent`, DES's function
//! URL request), from the sample events under `events/`:
//!
//! | stage | input: Lambda event, then the record | output |
//! |---|---|---|
//! | DEC | MSK event (10 records), a CPP activity | `rewards.activity.enriched` envelope |
//! | TIM | SQS event (10 messages), the enriched envelope | `rewards.relevant` envelope |
//! | FRED | SQS event, the relevant envelope; DES's batch answer | DES batch request, `rewards.decided` envelope |
//! | DES | function URL request (a batch of 10), the batch's events | the batch answer body |
//! | BCG | SQS event, the decided envelope | the onsite message (OSG), `rewards.message.queue` envelope |
//! | MSQ | SQS event, the queued envelope; MSK event, a customer-online record | the onsite message (OSG) |
//!
//! `lean SqsEvent` and `lean KafkaEvent` are the events the functions decode
//! (`rewards_shared::lambda_event`: only what a stage reads), measured beside
//! `aws_lambda_events`' full types; `borrowing SqsEvent` borrows the text where the JSON allows,
//! which the runtime client does not permit (it shows what that would add).
//!
//! Before timing, the bench prints the heap allocations of one run of each operation per record
//! (the functions' allocator, counting: `rewards-shared`'s `allocation-count`): `allocs/record …` lines on stderr.
//!
//! `cargo bench -p bench --bench codec`; `cargo test --all-targets` runs it once.

use std::borrow::Cow;

use aws_lambda_events::event::kafka::KafkaEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::request::LambdaRequest;
use rewards_shared::allocator;
use rewards_shared::decision::{self, batch, DeliveryPreferences};
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::kafka;
use rewards_shared::lambda_event as lean;
use rewards_shared::model::{
    CppActivity, CustomerOnline, DecidedMessage, DeliveryFormat, EnrichedActivity, OnsiteMessage,
    QueuedMessage, RewardMessage,
};
use rewards_shared::sqs::encode_message;
use rewards_shared::stage::Stage;
use scenario_runner::des_bridge::function_url_request;
use serde::Deserialize;

/// Allocations of one call of `f`, divided by `records`.
fn allocations_per_record<R>(records: usize, f: impl FnOnce() -> R) -> f64 {
    let before = allocator::allocations();
    std::hint::black_box(f());
    (allocator::allocations() - before) as f64 / records.max(1) as f64
}

/// Records per Lambda event in these benches (a FIFO batch).
const RECORDS: usize = 10;

fn sample(path: &str) -> String {
    let path = format!("{}/../../events/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn first_body(path: &str) -> String {
    let event: SqsEvent = serde_json::from_str(&sample(path)).expect("SQS sample");
    event
        .records
        .into_iter()
        .find_map(|m| m.body)
        .expect("a body")
}

/// An SQS event of [`RECORDS`] messages with `body`, as Lambda delivers it.
fn sqs_event(body: &str) -> String {
    let mut event = SqsEvent::default();
    event.records = (0..RECORDS)
        .map(|i| encode_message(&format!("m-{i}"), body, 1, "arn:aws:sqs:eu-west-1:1:q.fifo"))
        .collect();
    serde_json::to_string(&event).expect("SQS event")
}

/// An MSK event of [`RECORDS`] records with `value`.
fn msk_event(topic: &str, value: &[u8]) -> String {
    let mut event = KafkaEvent::default();
    event.event_source = Some("aws:kafka".to_owned());
    event.records.insert(
        format!("{topic}-0"),
        (0..RECORDS)
            .map(|i| kafka::encode_record(topic, 0, i as i64, value, &[]))
            .collect(),
    );
    serde_json::to_string(&event).expect("MSK event")
}

/// What a stage reads of an SQS message, borrowed where the JSON allows: what
/// [`lean::SqsEvent`] would gain if the runtime client kept the event's buffer (it does not).
#[derive(Debug, Deserialize)]
struct LeanSqsEvent<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<LeanSqsMessage<'a>>,
}

#[derive(Debug, Deserialize)]
struct LeanSqsMessage<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: Cow<'a, str>,
    #[serde(borrow)]
    body: Cow<'a, str>,
    #[serde(borrow, default)]
    attributes: LeanAttributes<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct LeanAttributes<'a> {
    #[serde(rename = "ApproximateReceiveCount", borrow, default)]
    receive_count: Option<Cow<'a, str>>,
}

fn now() -> DateTime<Utc> {
    "2026-11-16T09:30:02Z".parse().expect("date")
}

fn onsite(decided: &Envelope<DecidedMessage>) -> OnsiteMessage {
    let activity = &decided.data.activity;
    OnsiteMessage {
        message_id: "msg-1".into(),
        account_id: activity.account_id.clone(),
        brand: activity.brand.clone(),
        message_type: decided.data.message_type,
        format: DeliveryFormat::Toast,
        title: "Keep going!".into(),
        body: "3 of 5 done in Weekly Spins".into(),
        promo_code: activity.promo_code.clone(),
        promo_url: activity.promo_url.clone(),
        correlation_id: decided.correlation_id.clone(),
        expires_at: None,
    }
}

fn codec(c: &mut Criterion) {
    // Inputs of each stage.
    let cpp_value = {
        let event: lean::KafkaEvent =
            serde_json::from_str(&sample("dec/msk-cpp-activity.json")).expect("MSK sample");
        let records = kafka::records(&event);
        records[0].value().expect("a value")
    };
    let msk_cpp = msk_event("cpp", cpp_value.as_bytes());
    let online_value =
        r#"{"accountId": "10048213", "brand": "skybet", "onlineAt": "2026-11-18T10:00:00.000Z"}"#;
    let msk_online = msk_event("online", online_value.as_bytes());
    let enriched_body = first_body("tim/sqs-cpp-enriched-events.json");
    let enriched =
        Envelope::<EnrichedActivity>::decode(&enriched_body, &[EventType::ActivityEnriched])
            .expect("enriched sample");
    let relevant_body = first_body("fred/sqs-relevant-events.json");
    let relevant_types = [EventType::Relevant, EventType::Unqualification];
    let relevant =
        Envelope::<RewardMessage>::decode(&relevant_body, &relevant_types).expect("relevant");
    let decided_body = first_body("bcg/sqs-decided-events.json");
    let decided =
        Envelope::<DecidedMessage>::decode(&decided_body, &[EventType::Decided]).expect("decided");
    let queued_body = first_body("msq/sqs-msq-inbound-queue.json");
    let sqs_enriched = sqs_event(&enriched_body);
    let sqs_relevant = sqs_event(&relevant_body);
    let sqs_decided = sqs_event(&decided_body);
    let sqs_queued = sqs_event(&queued_body);
    let des_batch_body = batch::request_body(&[relevant_body.as_str(); RECORDS]);
    let des_request = function_url_request(&des_batch_body, "corr").to_string();
    let decision = decision::decide(
        &relevant.data,
        &relevant.brand,
        &DeliveryPreferences::default(),
    );
    let des_answer = serde_json::to_string(&batch::Body {
        decisions: vec![decision.clone(); RECORDS],
        errors: Vec::new(),
    })
    .expect("answer");

    // RecordEffects, built as each stage builds them.
    let next_relevant = || {
        enriched.next(
            Stage::Tim,
            EventType::Relevant,
            "id".to_owned(),
            now(),
            RewardMessage {
                message_type: rewards_shared::model::MessageType::Progress,
                activity: enriched.data.clone(),
            },
        )
    };
    let next_decided = || {
        relevant.next(
            Stage::Fred,
            EventType::Decided,
            "id".to_owned(),
            now(),
            DecidedMessage {
                message_type: relevant.data.message_type,
                activity: relevant.data.activity.clone(),
                decision: decision.clone(),
            },
        )
    };
    let message = onsite(&decided);
    let next_queued = || {
        decided.next(
            Stage::Bcg,
            EventType::MessageQueue,
            "id".to_owned(),
            now(),
            QueuedMessage {
                message: message.clone(),
                attempt_id: decided.data.activity.attempt_id.clone(),
                sequence: decided.data.activity.sequence,
                occurred_at: decided.data.activity.occurred_at,
            },
        )
    };

    type Op<'a> = (&'a str, usize, Box<dyn Fn() + 'a>);
    let ops: Vec<Op<'_>> = vec![
        (
            "lambda: KafkaEvent (MSK, 10 records)",
            RECORDS,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<KafkaEvent>(&msk_cpp).is_ok());
            }),
        ),
        (
            "lambda: lean KafkaEvent (MSK, 10 records)",
            RECORDS,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<lean::KafkaEvent>(&msk_cpp).is_ok());
            }),
        ),
        (
            "lambda: SqsEvent (10 messages)",
            RECORDS,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<SqsEvent>(&sqs_relevant).is_ok());
            }),
        ),
        (
            "lambda: lean SqsEvent (10 messages)",
            RECORDS,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<lean::SqsEvent>(&sqs_relevant).is_ok());
            }),
        ),
        (
            "lambda: borrowing SqsEvent (10 messages, bench only)",
            RECORDS,
            Box::new(|| {
                let event: LeanSqsEvent<'_> = serde_json::from_str(&sqs_relevant).expect("lean");
                std::hint::black_box((
                    &event.records[0].message_id,
                    &event.records[0].attributes.receive_count,
                    event.records[0].body.len(),
                ));
            }),
        ),
        (
            "lambda: DES function URL request (batch of 10)",
            RECORDS,
            Box::new(|| {
                let request: Result<LambdaRequest, _> = serde_json::from_str(&des_request);
                std::hint::black_box(request.map(lambda_http::Request::from).is_ok());
            }),
        ),
        (
            "dec: parse CPP activity value",
            1,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<CppActivity>(&cpp_value).is_ok());
            }),
        ),
        (
            "dec: encode enriched envelope",
            1,
            Box::new(|| {
                std::hint::black_box(enriched.encode().is_ok());
            }),
        ),
        (
            "tim: decode enriched envelope",
            1,
            Box::new(|| {
                std::hint::black_box(
                    Envelope::<EnrichedActivity>::decode(
                        &enriched_body,
                        &[EventType::ActivityEnriched],
                    )
                    .is_ok(),
                );
            }),
        ),
        (
            "tim: next + encode relevant envelope",
            1,
            Box::new(|| {
                std::hint::black_box(next_relevant().encode().is_ok());
            }),
        ),
        (
            "fred: decode relevant envelope",
            1,
            Box::new(|| {
                std::hint::black_box(
                    Envelope::<RewardMessage>::decode(&relevant_body, &relevant_types).is_ok(),
                );
            }),
        ),
        (
            "fred: DES batch request body from the bodies received (10)",
            RECORDS,
            Box::new(|| {
                let bodies = vec![relevant_body.as_str(); RECORDS];
                std::hint::black_box(batch::request_body(&bodies));
            }),
        ),
        (
            "fred: encode relevant envelope (a DES request's body before)",
            1,
            Box::new(|| {
                std::hint::black_box(relevant.encode().is_ok());
            }),
        ),
        (
            "fred: read DES batch answer (10 decisions)",
            RECORDS,
            Box::new(|| {
                let flags = vec![batch::Flag::Decided; RECORDS];
                std::hint::black_box(
                    batch::answers(&flags, RECORDS, || {
                        serde_json::from_str(&des_answer).map_err(|e| e.to_string())
                    })
                    .is_ok(),
                );
            }),
        ),
        (
            "fred: next + encode decided envelope",
            1,
            Box::new(|| {
                std::hint::black_box(next_decided().encode().is_ok());
            }),
        ),
        (
            "des: decode batch events (10)",
            RECORDS,
            Box::new(|| {
                let events: Vec<&serde_json::value::RawValue> =
                    serde_json::from_str(&des_batch_body).expect("array");
                for event in events {
                    std::hint::black_box(
                        Envelope::<RewardMessage>::decode(event.get(), &relevant_types).is_ok(),
                    );
                }
            }),
        ),
        (
            "des: encode batch answer (10 decisions)",
            RECORDS,
            Box::new(|| {
                let body = batch::Body {
                    decisions: vec![decision.clone(); RECORDS],
                    errors: Vec::new(),
                };
                std::hint::black_box(serde_json::to_string(&body).is_ok());
            }),
        ),
        (
            "bcg: decode decided envelope",
            1,
            Box::new(|| {
                std::hint::black_box(
                    Envelope::<DecidedMessage>::decode(&decided_body, &[EventType::Decided])
                        .is_ok(),
                );
            }),
        ),
        (
            "bcg: encode onsite message (OSG)",
            1,
            Box::new(|| {
                std::hint::black_box(serde_json::to_string(&message).is_ok());
            }),
        ),
        (
            "bcg: next + encode queued envelope",
            1,
            Box::new(|| {
                std::hint::black_box(next_queued().encode().is_ok());
            }),
        ),
        (
            "msq: decode queued envelope",
            1,
            Box::new(|| {
                std::hint::black_box(
                    Envelope::<QueuedMessage>::decode(&queued_body, &[EventType::MessageQueue])
                        .is_ok(),
                );
            }),
        ),
        (
            "msq: parse customer-online value",
            1,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<CustomerOnline>(online_value).is_ok());
            }),
        ),
        (
            "lambda: KafkaEvent (online, 10 records)",
            RECORDS,
            Box::new(|| {
                std::hint::black_box(serde_json::from_str::<KafkaEvent>(&msk_online).is_ok());
            }),
        ),
        (
            "lambda: SqsEvent enriched / decided / queued (10 each)",
            3 * RECORDS,
            Box::new(|| {
                for text in [&sqs_enriched, &sqs_decided, &sqs_queued] {
                    std::hint::black_box(serde_json::from_str::<SqsEvent>(text).is_ok());
                }
            }),
        ),
    ];
    for (name, records, op) in &ops {
        let per_record = allocations_per_record(*records, op);
        eprintln!("allocs/record {per_record:>7.1}  {name}");
    }
    for (name, _, op) in &ops {
        c.bench_function(&format!("codec/{name}"), |b| b.iter(op));
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
