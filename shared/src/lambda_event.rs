//! The SQS and MSK events Lambda invokes the functions with, decoded lean: only what a stage
//! reads, every other member of Lambda's JSON skipped unread.
//!
//! - SQS: each message's `messageId`, `body`, and of its `attributes` only
//!   `ApproximateReceiveCount` and `MessageGroupId`. Not read: the receipt handle, the MD5
//!   digests, the message attributes (no stage reads them: the CloudEvent type is in the body),
//!   the queue ARN and region.
//! - MSK: the `eventSource` (MSQ tells its two triggers apart by it) and, per record, `topic`,
//!   `partition`, `offset`, `timestamp`, `value` and `headers`. Not read: the key, the timestamp
//!   type, the cluster ARN and bootstrap servers.
//!
//! `aws_lambda_events`' full `SqsEvent` builds a map of every attribute and message attribute
//! of every message; these types skip them, which roughly halves the time and the allocations
//! of decoding an SQS event (README, "Performance"). The members own their text: the runtime
//! client deserialises the event from a buffer it does not keep (`LambdaEvent<T>` needs
//! `T: DeserializeOwned`), and a body, being JSON inside JSON, always has escapes to undo.
//!
//! `From` conversions take `aws_lambda_events`' types (the local runner and tests build events
//! as Lambda delivers them and hand the handlers these).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Lambda's SQS event: a batch of messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SqsEvent {
    /// The messages, in the order SQS delivered them.
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

impl SqsEvent {
    /// An event of these messages (Lambda's own or lean ones), in their order.
    pub fn of<M: Into<SqsMessage>>(messages: impl IntoIterator<Item = M>) -> Self {
        SqsEvent {
            records: messages.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a stage reads of one SQS message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    /// The message id (what a partial batch response names).
    #[serde(default)]
    pub message_id: Option<String>,
    /// The body, as sent.
    #[serde(default)]
    pub body: Option<String>,
    /// The two system attributes a stage reads.
    #[serde(default)]
    pub attributes: SqsAttributes,
}

/// The SQS system attributes a stage reads, as Lambda gives them (text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsAttributes {
    /// How many times SQS delivered the message, as text (`"1"` on the first delivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_receive_count: Option<String>,
    /// The message group of a FIFO queue's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

impl From<aws_lambda_events::event::sqs::SqsMessage> for SqsMessage {
    fn from(mut message: aws_lambda_events::event::sqs::SqsMessage) -> Self {
        SqsMessage {
            message_id: message.message_id,
            body: message.body,
            attributes: SqsAttributes {
                approximate_receive_count: message.attributes.remove(crate::sqs::RECEIVE_COUNT),
                message_group_id: message.attributes.remove(crate::sqs::MESSAGE_GROUP_ID),
            },
        }
    }
}

impl From<aws_lambda_events::event::sqs::SqsEvent> for SqsEvent {
    fn from(event: aws_lambda_events::event::sqs::SqsEvent) -> Self {
        SqsEvent::of(event.records)
    }
}

/// What [`crate::sqs`]'s accessors read of a message, from the lean type or from
/// `aws_lambda_events`' full one (which the local runner's queues hand around).
pub trait SqsRecord {
    /// The message id, if Lambda gave one.
    fn message_id(&self) -> Option<&str>;
    /// The body, if any.
    fn body(&self) -> Option<&str>;
    /// The `ApproximateReceiveCount` attribute, as text.
    fn receive_count_attribute(&self) -> Option<&str>;
    /// The `MessageGroupId` attribute.
    fn message_group_attribute(&self) -> Option<&str>;
}

impl SqsRecord for SqsMessage {
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
    fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }
    fn receive_count_attribute(&self) -> Option<&str> {
        self.attributes.approximate_receive_count.as_deref()
    }
    fn message_group_attribute(&self) -> Option<&str> {
        self.attributes.message_group_id.as_deref()
    }
}

impl SqsRecord for aws_lambda_events::event::sqs::SqsMessage {
    fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
    fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }
    fn receive_count_attribute(&self) -> Option<&str> {
        self.attributes
            .get(crate::sqs::RECEIVE_COUNT)
            .map(String::as_str)
    }
    fn message_group_attribute(&self) -> Option<&str> {
        self.attributes
            .get(crate::sqs::MESSAGE_GROUP_ID)
            .map(String::as_str)
    }
}

/// Lambda's MSK event: records grouped by `topic-partition`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaEvent {
    /// `aws:kafka` from MSK (`SelfManagedKafka` from a self-managed cluster).
    #[serde(default)]
    pub event_source: Option<String>,
    /// The records, under their `topic-partition` key.
    #[serde(default)]
    pub records: HashMap<String, Vec<KafkaRecord>>,
}

/// What a stage reads of one Kafka record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRecord {
    /// The topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// The partition.
    #[serde(default)]
    pub partition: i64,
    /// The offset within the partition.
    #[serde(default)]
    pub offset: i64,
    /// When the producer (or the broker) stamped the record, in milliseconds since the epoch
    /// (0 when absent). Lambda writes a number; text (as `aws_lambda_events` writes it) and
    /// fractions are read too.
    #[serde(default, deserialize_with = "millis")]
    pub timestamp: i64,
    /// The value, base64-encoded.
    #[serde(default)]
    pub value: Option<String>,
    /// The headers: one single-entry map per header, its value as bytes.
    #[serde(default)]
    pub headers: Vec<HashMap<String, Vec<i8>>>,
}

/// Milliseconds as a JSON number or as text; anything else (or unparsable text) reads as 0,
/// since no stage fails a record for its timestamp. A visitor, not an untagged enum: no
/// buffering, no allocation.
fn millis<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Millis;

    impl<'de> serde::de::Visitor<'de> for Millis {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("milliseconds as a number or as text")
        }
        fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<i64, E> {
            Ok(millis)
        }
        fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<i64, E> {
            Ok(i64::try_from(millis).unwrap_or(0))
        }
        fn visit_f64<E: serde::de::Error>(self, millis: f64) -> Result<i64, E> {
            Ok(millis as i64)
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<i64, E> {
            let text = text.trim();
            Ok(text
                .parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().map(|m| m as i64))
                .unwrap_or(0))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<i64, E> {
            Ok(0)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<i64, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(0)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<i64, A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(0)
        }
    }

    deserializer.deserialize_any(Millis)
}

impl From<aws_lambda_events::event::kafka::KafkaRecord> for KafkaRecord {
    fn from(record: aws_lambda_events::event::kafka::KafkaRecord) -> Self {
        KafkaRecord {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp.0.timestamp_millis(),
            value: record.value,
            headers: record.headers,
        }
    }
}

impl From<aws_lambda_events::event::kafka::KafkaEvent> for KafkaEvent {
    fn from(event: aws_lambda_events::event::kafka::KafkaEvent) -> Self {
        KafkaEvent {
            event_source: event.event_source,
            records: event
                .records
                .into_iter()
                .map(|(group, records)| (group, records.into_iter().map(Into::into).collect()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(path: &str) -> String {
        let path = format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every sample event under `events/{dir}` whose JSON has `member` at its top level.
    fn samples_with(dir: &str, member: &str) -> Vec<(String, String)> {
        let root = format!("{}/../events/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut found: Vec<(String, String)> = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{root}: {e}"))
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .map(|path| {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(&path).expect("readable sample");
                (name, text)
            })
            .filter(|(_, text)| {
                serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .is_some_and(|value| value.get(member).is_some())
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn every_sample_sqs_event_reads_as_the_full_type_does() {
        let mut checked = 0;
        for dir in ["tim", "fred", "bcg", "msq"] {
            for (name, text) in samples_with(dir, "Records") {
                let full: aws_lambda_events::event::sqs::SqsEvent =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                let lean: SqsEvent =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(lean, SqsEvent::from(full), "{name}");
                assert!(
                    lean.records.iter().all(|m| m.body.is_some()),
                    "{name}: bodies read"
                );
                checked += 1;
            }
        }
        assert!(checked >= 4, "only {checked} sample SQS events found");
    }

    #[test]
    fn every_sample_msk_event_reads_as_the_full_type_does() {
        let mut checked = 0;
        for dir in ["dec", "msq"] {
            for (name, text) in samples_with(dir, "eventSource")
                .into_iter()
                .filter(|(_, text)| text.contains("aws:kafka"))
            {
                let full: aws_lambda_events::event::kafka::KafkaEvent =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                let lean: KafkaEvent =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(lean, KafkaEvent::from(full), "{name}");
                assert!(!lean.records.is_empty(), "{name}: records read");
                checked += 1;
            }
        }
        assert!(checked >= 2, "only {checked} sample MSK events found");
    }

    #[test]
    fn a_fifo_message_keeps_its_receive_count_and_group() {
        let text = r#"{"Records": [{"messageId": "m-1", "receiptHandle": "r",
            "body": "{\"a\":1}", "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q.fifo", "awsRegion": "eu-west-1",
            "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1",
              "MessageGroupId": "g-7", "SequenceNumber": "18", "MessageDeduplicationId": "d"},
            "messageAttributes": {"ce-type": {"stringValue": "t", "dataType": "String",
              "stringListValues": [], "binaryListValues": []}}}]}"#;
        let event: SqsEvent = serde_json::from_str(text).expect("Lambda's FIFO shape parses");
        let message = &event.records[0];
        assert_eq!(message.message_id.as_deref(), Some("m-1"));
        assert_eq!(message.body.as_deref(), Some("{\"a\":1}"));
        assert_eq!(
            message.attributes.approximate_receive_count.as_deref(),
            Some("3")
        );
        assert_eq!(message.attributes.message_group_id.as_deref(), Some("g-7"));
    }

    #[test]
    fn an_msk_timestamp_reads_as_a_number_or_as_text() {
        let read = |timestamp: &str| {
            let text = format!(
                r#"{{"eventSource": "aws:kafka", "records": {{"t-0": [{{"topic": "t",
                "partition": 0, "offset": 1, "timestamp": {timestamp}, "value": "e30="}}]}}}}"#
            );
            let event: KafkaEvent = serde_json::from_str(&text).expect("parses");
            event.records["t-0"][0].timestamp
        };
        assert_eq!(read("1545084650987"), 1_545_084_650_987);
        assert_eq!(read("\"1545084650987\""), 1_545_084_650_987);
        assert_eq!(read("1545084650987.0"), 1_545_084_650_987);
        assert_eq!(read("\"0\""), 0);
        assert_eq!(read("null"), 0);
        assert_eq!(read("\"soon\""), 0);
        let full = crate::kafka::encode_record("t", 0, 1, b"{}", &[]);
        let text = serde_json::to_string(&full).expect("the full record writes");
        let lean: KafkaRecord =
            serde_json::from_str(&text).expect("what aws_lambda_events writes reads back");
        assert_eq!(lean, KafkaRecord::from(full));
    }

    #[test]
    fn an_msk_record_keeps_its_timestamp_and_headers() {
        let event: KafkaEvent =
            serde_json::from_str(&sample("dec/msk-cpp-activity.json")).expect("the sample parses");
        let record = event.records.values().flatten().next().expect("a record");
        assert!(record.timestamp > 0, "timestamp read: {record:?}");
        assert!(record.value.is_some());
        assert_eq!(event.event_source.as_deref(), Some("aws:kafka"));
    }
}
