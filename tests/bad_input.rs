//! Bad input never panics and is always classified (docs/inputs.md).
//!
//! Every decoder gets arbitrary bytes and near-valid JSON: the valid sample events of
//! `events/<function>/` with one mutation each — a dropped field, a wrong type, a huge number,
//! a long string, an unknown enum value, deep nesting. MSK record values and headers go through
//! DEC's decode and handler and MSQ's online handler; SQS bodies through TIM's decode and the
//! FRED/BCG/MSQ envelopes; request bodies through DES's handler, which answers 200 or 4xx JSON,
//! never 500. Case counts are modest so the suite stays fast.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rewards_shared::decision::DeliveryPreferences;
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::kafka::{encode_event, encode_record, records};
use rewards_shared::model::{
    DecidedMessage, DeleteInstruction, InvalidInput, QueuedMessage, RewardMessage, Validate,
};
use rewards_shared::ports::{
    CommonPorts, ManualClock, MemoryDeadLetters, MemoryMessageStore, MemoryOnsiteGateway,
    MemoryOutcomes, MemoryPromotions, MemoryPublisher,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Telemetry;
use scenario_runner::des_bridge::{function_url_request, to_request};
use serde_json::{json, Value};

const CPP_TOPIC: &str = "dc1.skybet.cpp.activity";
const EPPM_TOPIC: &str = "dc1.skybet.eppm.activity";
const ONLINE_TOPIC: &str = "dc1.skybet.customer.online";

fn sample(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The record values (decoded from base64) of a sample MSK event.
fn msk_values(file: &str) -> Vec<Value> {
    let event = sample(file);
    let mut values = Vec::new();
    for group in event["records"]
        .as_object()
        .into_iter()
        .flat_map(|g| g.values())
    {
        for record in group.as_array().into_iter().flatten() {
            let Some(encoded) = record["value"].as_str() else {
                continue;
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                continue;
            };
            if let Ok(value) = serde_json::from_slice(&bytes) {
                values.push(value);
            }
        }
    }
    assert!(!values.is_empty(), "{file} has JSON records");
    values
}

/// The bodies of a sample SQS event.
fn sqs_bodies(file: &str) -> Vec<Value> {
    let bodies: Vec<Value> = sample(file)["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|record| record["body"].as_str())
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect();
    assert!(!bodies.is_empty(), "{file} has bodies");
    bodies
}

/// One way to spoil a JSON value.
#[derive(Debug, Clone)]
enum Mutation {
    Drop,
    WrongType(u8),
    HugeNumber(bool),
    LongString(usize),
    UnknownEnum,
    DeepNesting(usize),
    Null,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Drop),
        (0u8..4).prop_map(Mutation::WrongType),
        any::<bool>().prop_map(Mutation::HugeNumber),
        prop_oneof![Just(129usize), Just(257), Just(5_000), Just(300_000)]
            .prop_map(Mutation::LongString),
        Just(Mutation::UnknownEnum),
        (10usize..400).prop_map(Mutation::DeepNesting),
        Just(Mutation::Null),
    ]
}

/// Every path to a value inside `value` (object keys and array indexes).
fn paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(json!(key));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(json!(index));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn apply(value: &mut Value, path: &[Value], mutation: &Mutation) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut target = value;
    for step in parents {
        let next = match step {
            Value::String(key) => target.get_mut(key.as_str()),
            Value::Number(index) => index
                .as_u64()
                .and_then(|i| target.get_mut(usize::try_from(i).unwrap_or(usize::MAX))),
            _ => None,
        };
        let Some(next) = next else {
            return;
        };
        target = next;
    }
    let replacement = match mutation {
        Mutation::Drop => {
            match (target, last) {
                (Value::Object(map), Value::String(key)) => {
                    map.remove(key);
                }
                (Value::Array(items), Value::Number(index)) => {
                    if let Some(i) = index.as_u64().and_then(|i| usize::try_from(i).ok()) {
                        if i < items.len() {
                            items.remove(i);
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        Mutation::WrongType(kind) => match kind {
            0 => json!(42),
            1 => json!("text"),
            2 => json!([1, 2]),
            _ => json!({"a": true}),
        },
        Mutation::HugeNumber(negative) => {
            if *negative {
                json!(-1e308)
            } else {
                serde_json::from_str("184467440737095516150000").unwrap_or(json!(u64::MAX))
            }
        }
        Mutation::LongString(len) => json!("x".repeat(*len)),
        Mutation::UnknownEnum => json!("NOT_A_KNOWN_VALUE"),
        Mutation::DeepNesting(depth) => {
            let text = format!("{}1{}", "[".repeat(*depth), "]".repeat(*depth));
            serde_json::from_str(&text).unwrap_or(json!([[[1]]]))
        }
        Mutation::Null => Value::Null,
    };
    let slot = match (target, last) {
        (Value::Object(map), Value::String(key)) => map.get_mut(key.as_str()),
        (Value::Array(items), Value::Number(index)) => index
            .as_u64()
            .and_then(|i| items.get_mut(usize::try_from(i).unwrap_or(usize::MAX))),
        _ => None,
    };
    if let Some(slot) = slot {
        *slot = replacement;
    }
}

/// A sample, spoiled at one path (chosen by `pick`), as text; `raw` mutations (deep nesting
/// beyond serde_json's own depth) are spliced into the text.
fn spoiled(samples: &[Value], pick: usize, at: usize, mutation: &Mutation) -> String {
    let mut value = samples[pick % samples.len()].clone();
    let mut all = Vec::new();
    paths(&value, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return value.to_string();
    }
    let path = &all[at % all.len()];
    if let Mutation::DeepNesting(depth) = mutation {
        if *depth > 100 {
            // Too deep for serde_json to build: splice it in as text.
            apply(&mut value, path, &Mutation::Null);
            let nested = format!("{}1{}", "[".repeat(*depth), "]".repeat(*depth));
            return value.to_string().replacen("null", &nested, 1);
        }
    }
    apply(&mut value, path, mutation);
    value.to_string()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-18T10:00:00Z")
        .map(|at| at.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

/// A dead-letter reason the contract allows.
fn classified(reason: &str) -> bool {
    reason.starts_with("invalid-input: ") || reason == "unknown-promotion"
}

/// DEC on one record: never a panic; the record is either published or dead-lettered with a
/// classified reason.
fn dec_handles(value: &[u8], topic: &str, header: Option<&[u8]>) -> Result<(), TestCaseError> {
    let promotions = sample("scenarios/happy-path.json")["promotions"].clone();
    let promotions: Vec<rewards_shared::model::Promotion> =
        serde_json::from_value(promotions).unwrap_or_default();
    let publisher = Arc::new(MemoryPublisher::new());
    let dead_letters = Arc::new(MemoryDeadLetters::new());
    let outcomes = Arc::new(MemoryOutcomes::new());
    let handler = dec::Handler::new(
        CPP_TOPIC,
        EPPM_TOPIC,
        Arc::new(MemoryPromotions::new(promotions)),
        CommonPorts::new(
            Arc::clone(&publisher),
            Arc::clone(&dead_letters),
            ManualClock::new(now()),
            Telemetry::for_tests(Stage::Dec, outcomes),
        ),
    );
    let mut record = encode_record(topic, 0, 1, value, &[]);
    if let Some(header) = header {
        let bytes = header.iter().map(|b| i8::from_ne_bytes([*b])).collect();
        record.headers = vec![[("correlationid".to_owned(), bytes)].into_iter().collect()];
    }
    let event = encode_event(vec![record]);
    runtime()
        .block_on(handler.handle(&event))
        .map_err(|e| TestCaseError::fail(format!("DEC failed the batch: {e}")))?;
    let letters = dead_letters.take();
    let published = publisher.take_all();
    prop_assert_eq!(letters.len() + published.len(), 1);
    for letter in letters {
        prop_assert!(classified(&letter.reason), "{}", letter.reason);
    }
    Ok(())
}

/// MSQ's online handler on one record: never a panic; dead-lettered with `invalid-input: …`
/// or handled.
fn msq_online_handles(value: &[u8]) -> Result<(), TestCaseError> {
    let dead_letters = Arc::new(MemoryDeadLetters::new());
    let handler = msq::Handler::new(
        Arc::new(MemoryMessageStore::new()),
        Arc::new(MemoryOnsiteGateway::new(["10048213"])),
        Arc::clone(&dead_letters),
        ManualClock::new(now()),
        Telemetry::for_tests(Stage::Msq, Arc::new(MemoryOutcomes::new())),
    )
    .with_online_topic(ONLINE_TOPIC);
    let event = encode_event(vec![encode_record(ONLINE_TOPIC, 0, 1, value, &[])]);
    runtime()
        .block_on(handler.handle_kafka(event))
        .map_err(|e| TestCaseError::fail(format!("MSQ failed the batch: {e}")))?;
    for letter in dead_letters.take() {
        prop_assert!(
            letter.reason.starts_with("invalid-input: "),
            "{}",
            letter.reason
        );
    }
    Ok(())
}

/// Every SQS body decoder: an error, never a panic, and an error whose text is bounded.
fn sqs_decoders_classify(body: &str) -> Result<(), TestCaseError> {
    fn check<T: serde::de::DeserializeOwned + Validate>(
        body: &str,
        expected: &[EventType],
    ) -> Result<(), TestCaseError> {
        match Envelope::<T>::decode(body, expected) {
            Ok(envelope) => {
                let _ = envelope.data.validate();
            }
            Err(error) => {
                let invalid = InvalidInput::from(error).to_string();
                prop_assert!(!invalid.is_empty());
            }
        }
        Ok(())
    }
    let _ = tim::record::decode(body);
    check::<RewardMessage>(body, &[EventType::Relevant, EventType::Unqualification])?;
    check::<DecidedMessage>(body, &[EventType::Decided])?;
    check::<QueuedMessage>(body, &[EventType::MessageQueue])?;
    check::<DeleteInstruction>(body, &[EventType::MessageDelete])?;
    Ok(())
}

/// DES on one body: 200 with `has-decision`, or a 4xx with a JSON error; never a 5xx.
fn des_answers(body: &str) -> Result<(), TestCaseError> {
    let handler = des::Handler::new(
        DeliveryPreferences::default(),
        ManualClock::new(now()),
        Telemetry::for_tests(Stage::Des, Arc::new(MemoryOutcomes::new())),
    );
    let request = to_request(function_url_request(body, "corr"))
        .map_err(|e| TestCaseError::fail(format!("request: {e}")))?;
    let response = runtime().block_on(handler.handle(request));
    let status = response.status().as_u16();
    let text = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        lambda_http::Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("status {status}, not JSON ({e}): {text}")))?;
    match status {
        200 => prop_assert!(response.headers().contains_key("has-decision")),
        400 | 413 => {
            let error = json["error"].as_str().unwrap_or_default();
            prop_assert!(error.starts_with("invalid-input: "), "{}", error);
        }
        other => prop_assert!(false, "status {} for {}", other, text),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dec_classifies_arbitrary_record_values_and_headers(
        value in proptest::collection::vec(any::<u8>(), 0..512),
        header in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        eppm in any::<bool>(),
    ) {
        let topic = if eppm { EPPM_TOPIC } else { CPP_TOPIC };
        dec_handles(&value, topic, header.as_deref())?;
        let event = encode_event(vec![encode_record(topic, 0, 1, &value, &[])]);
        let topics = dec::decode::Topics { cpp: CPP_TOPIC.into(), eppm: EPPM_TOPIC.into() };
        let _ = dec::decode::decode(&records(&event)[0], &topics);
    }

    #[test]
    fn dec_classifies_near_valid_activities(
        pick in any::<usize>(), at in any::<usize>(), mutation in mutation(), eppm in any::<bool>(),
    ) {
        let (samples, topic) = if eppm {
            (msk_values("dec/msk-eppm-activity.json"), EPPM_TOPIC)
        } else {
            (msk_values("dec/msk-cpp-activity.json"), CPP_TOPIC)
        };
        let text = spoiled(&samples, pick, at, &mutation);
        dec_handles(text.as_bytes(), topic, None)?;
    }

    #[test]
    fn msq_online_classifies_arbitrary_and_near_valid_records(
        value in proptest::collection::vec(any::<u8>(), 0..256),
        pick in any::<usize>(), at in any::<usize>(), mutation in mutation(),
    ) {
        msq_online_handles(&value)?;
        let text = spoiled(&msk_values("msq/msk-customer-online.json"), pick, at, &mutation);
        msq_online_handles(text.as_bytes())?;
    }

    #[test]
    fn sqs_bodies_are_classified(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        pick in any::<usize>(), at in any::<usize>(), mutation in mutation(), file in 0usize..6,
    ) {
        sqs_decoders_classify(&String::from_utf8_lossy(&bytes))?;
        let file = [
            "tim/sqs-cpp-enriched-events.json",
            "fred/sqs-relevant-events.json",
            "fred/sqs-relevant-unqualification-events.json",
            "bcg/sqs-decided-events.json",
            "msq/sqs-msq-inbound-queue.json",
            "msq/sqs-msq-inbound-delete.json",
        ][file];
        sqs_decoders_classify(&spoiled(&sqs_bodies(file), pick, at, &mutation))?;
    }

    #[test]
    fn des_answers_every_body_with_json_and_never_500(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        pick in any::<usize>(), at in any::<usize>(), mutation in mutation(),
    ) {
        des_answers(&String::from_utf8_lossy(&bytes))?;
        let request = sample("des/function-url-decisions.json");
        let body: Value = request["body"].as_str()
            .and_then(|body| serde_json::from_str(body).ok())
            .unwrap_or(Value::Null);
        des_answers(&spoiled(&[body], pick, at, &mutation))?;
    }
}

#[test]
fn the_samples_themselves_are_accepted() {
    for value in msk_values("dec/msk-cpp-activity.json") {
        assert!(dec_handles(value.to_string().as_bytes(), CPP_TOPIC, None).is_ok());
    }
    let request = sample("des/function-url-decisions.json");
    let body = request["body"].as_str().unwrap_or_default();
    assert!(des_answers(body).is_ok());
}
