//! Reading Lambda's MSK event: records grouped by topic-partition, base64 values, headers as
//! byte arrays.

use crate::lambda_event::{KafkaEvent, KafkaRecord};
use base64::Engine;

use crate::limits::MAX_RECORD_BYTES;
use crate::model::InvalidInput;
use crate::ports::DeadLetter;
use crate::stage::Stage;

/// One Kafka record, with where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The `topic-partition` key Lambda grouped it under.
    pub group: &'a str,
    /// The record.
    pub record: &'a KafkaRecord,
}

impl Record<'_> {
    /// The record's topic (from the record, or the group key without its partition).
    pub fn topic(&self) -> &str {
        self.record.topic.as_deref().unwrap_or_else(|| {
            self.group
                .rsplit_once('-')
                .map_or(self.group, |(topic, _)| topic)
        })
    }

    /// `topic/partition@offset`: names the record in logs and dead letters.
    pub fn source(&self) -> String {
        format!(
            "{}/{}@{}",
            self.topic(),
            self.record.partition,
            self.record.offset
        )
    }

    /// The record's value as text: base64-decoded, within the size limit, UTF-8.
    pub fn value(&self) -> Result<String, InvalidInput> {
        let encoded = self.record.value.as_deref().ok_or(InvalidInput::Empty)?;
        // base64 grows data by 4/3: reject oversized values before decoding them.
        if encoded.len() / 4 * 3 > MAX_RECORD_BYTES {
            return Err(InvalidInput::Oversized {
                bytes: encoded.len() / 4 * 3,
                limit: MAX_RECORD_BYTES,
            });
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| InvalidInput::Json(format!("value is not base64: {e}")))?;
        if bytes.is_empty() {
            return Err(InvalidInput::Empty);
        }
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(InvalidInput::Oversized {
                bytes: bytes.len(),
                limit: MAX_RECORD_BYTES,
            });
        }
        String::from_utf8(bytes).map_err(|e| InvalidInput::NotUtf8 {
            valid_up_to: e.utf8_error().valid_up_to(),
        })
    }

    /// When the producer wrote the record (Kafka's record timestamp), if the record has one.
    pub fn timestamp(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let millis = self.record.timestamp;
        (millis > 0)
            .then(|| chrono::DateTime::from_timestamp_millis(millis))
            .flatten()
    }

    /// The value as it arrived (base64), for dead letters of records that are not text.
    pub fn raw_value(&self) -> &str {
        self.record.value.as_deref().unwrap_or_default()
    }

    /// The dead letter of this record: its value as text when it is text, else as it
    /// arrived (base64).
    pub fn dead_letter(&self, stage: Stage, reason: String) -> DeadLetter {
        DeadLetter {
            stage,
            reason,
            source: self.source(),
            payload: self.value().unwrap_or_else(|_| self.raw_value().to_owned()),
        }
    }

    /// A header's value as UTF-8 text, if present and text (Lambda gives headers as signed
    /// byte arrays).
    pub fn header(&self, name: &str) -> Option<String> {
        self.record
            .headers
            .iter()
            .find_map(|header| header.get(name))
            .and_then(|bytes| {
                let bytes: Vec<u8> = bytes.iter().map(|b| b.to_ne_bytes()[0]).collect();
                String::from_utf8(bytes).ok()
            })
    }
}

/// The answer of a function whose Kafka event source mapping has `ReportBatchItemFailures`:
/// the records that failed, by topic-partition and offset. Lambda retries those (within the
/// mapping's `MaximumRetryAttempts` and `MaximumRecordAgeInSeconds`, bisecting when enabled)
/// and sends them to the on-failure destination once their retries are spent; an empty list
/// means the whole batch succeeded. `aws_lambda_events` has no type for it (it has the SQS and
/// stream ones, whose item identifier is a string).
///
/// ```json
/// {"batchItemFailures": [{"itemIdentifier": {"partition": "topic-0", "offset": 15}}]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBatchResponse {
    /// The failed records.
    pub batch_item_failures: Vec<KafkaBatchItemFailure>,
}

/// One failed Kafka record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBatchItemFailure {
    /// Which record.
    pub item_identifier: KafkaItemIdentifier,
}

/// A Kafka record as Lambda names it in a partial batch response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KafkaItemIdentifier {
    /// The `topic-partition` key the record was grouped under in the event.
    pub partition: String,
    /// The record's offset.
    pub offset: i64,
}

impl KafkaBatchResponse {
    /// A response reporting `records` as failed (each once, in the order given).
    pub fn failed<'a>(records: impl IntoIterator<Item = &'a Record<'a>>) -> Self {
        let mut failures: Vec<KafkaBatchItemFailure> = Vec::new();
        for record in records {
            let failure = KafkaBatchItemFailure {
                item_identifier: KafkaItemIdentifier {
                    partition: record.group.to_owned(),
                    offset: record.record.offset,
                },
            };
            if !failures.contains(&failure) {
                failures.push(failure);
            }
        }
        KafkaBatchResponse {
            batch_item_failures: failures,
        }
    }

    /// True when no record failed.
    pub fn is_success(&self) -> bool {
        self.batch_item_failures.is_empty()
    }

    /// The response to give Lambda: itself when the event source mapping reads partial batch
    /// responses (`reported`), else an error for any failed record, so the whole batch is
    /// retried rather than the failures ignored.
    pub fn for_mapping(self, reported: bool) -> Result<Self, UnreportedFailures> {
        match self.batch_item_failures.first() {
            Some(first) if !reported => Err(UnreportedFailures {
                count: self.batch_item_failures.len(),
                partition: first.item_identifier.partition.clone(),
                offset: first.item_identifier.offset,
            }),
            _ => Ok(self),
        }
    }
}

/// Records failed in a batch whose event source mapping does not read partial batch responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{count} record(s) failed, first {partition}@{offset}; the batch is retried whole")]
pub struct UnreportedFailures {
    /// How many records failed.
    pub count: usize,
    /// The `topic-partition` of the first.
    pub partition: String,
    /// Its offset.
    pub offset: i64,
}

/// Every record of the event, in a stable order: by group, then offset.
pub fn records(event: &KafkaEvent) -> Vec<Record<'_>> {
    let mut groups: Vec<_> = event.records.iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    groups
        .into_iter()
        .flat_map(|(group, records)| {
            records.iter().map(move |record| Record {
                group: group.as_str(),
                record,
            })
        })
        .collect()
}

/// Builds a Kafka record as Lambda delivers it, in full (for the local runner, samples and
/// tests).
pub fn encode_record(
    topic: &str,
    partition: i64,
    offset: i64,
    value: &[u8],
    headers: &[(&str, &str)],
) -> aws_lambda_events::event::kafka::KafkaRecord {
    let mut record = aws_lambda_events::event::kafka::KafkaRecord::default();
    record.topic = Some(topic.to_owned());
    record.partition = partition;
    record.offset = offset;
    record.timestamp_type = Some("CREATE_TIME".to_owned());
    record.value = Some(base64::engine::general_purpose::STANDARD.encode(value));
    record.headers = headers
        .iter()
        .map(|(name, value)| {
            let bytes = value.bytes().map(|b| i8::from_ne_bytes([b])).collect();
            [((*name).to_owned(), bytes)].into_iter().collect()
        })
        .collect();
    record
}

/// The key Lambda groups an MSK event's records under: `{topic}-{partition}`.
pub fn topic_partition(topic: Option<&str>, partition: i64) -> String {
    format!("{}-{partition}", topic.unwrap_or_default())
}

/// Builds the MSK event a handler reads from records (Lambda's own or lean ones), grouped by
/// `topic-partition` as Lambda does.
pub fn encode_event<R: Into<KafkaRecord>>(records: impl IntoIterator<Item = R>) -> KafkaEvent {
    let mut event = KafkaEvent {
        event_source: Some("aws:kafka".to_owned()),
        ..KafkaEvent::default()
    };
    for record in records {
        let record: KafkaRecord = record.into();
        let group = topic_partition(record.topic.as_deref(), record.partition);
        event.records.entry(group).or_default().push(record);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_batch_response_names_topic_partition_and_offset_as_lambda_reads_them() {
        let event = encode_event(vec![
            encode_record("dc1.skybet.cpp.activity", 3, 42, b"{}", &[]),
            encode_record("dc1.skybet.cpp.activity", 3, 43, b"{}", &[]),
        ]);
        let all = records(&event);
        let response = KafkaBatchResponse::failed([&all[1], &all[1]]);
        assert_eq!(
            serde_json::to_value(&response).expect("json"),
            serde_json::json!({"batchItemFailures": [
                {"itemIdentifier": {"partition": "dc1.skybet.cpp.activity-3", "offset": 43}}
            ]})
        );
        assert!(!response.is_success());
        assert!(response.clone().for_mapping(true).is_ok());
        assert_eq!(
            response.for_mapping(false).map_err(|e| e.offset),
            Err(43),
            "without partial batch responses a failure fails the batch"
        );
        assert_eq!(
            serde_json::to_value(KafkaBatchResponse::default()).expect("json"),
            serde_json::json!({"batchItemFailures": []})
        );
    }

    #[test]
    fn decodes_base64_values_and_byte_array_headers() {
        let event = encode_event(vec![encode_record(
            "dc1.skybet.cpp.activity",
            3,
            42,
            "{\"a\":1}".as_bytes(),
            &[("correlationid", "corr-é")],
        )]);
        let records = records(&event);
        assert_eq!(records.len(), 1);
        let record = records[0];
        assert_eq!(record.topic(), "dc1.skybet.cpp.activity");
        assert_eq!(record.source(), "dc1.skybet.cpp.activity/3@42");
        assert_eq!(record.value().expect("value"), "{\"a\":1}");
        assert_eq!(record.header("correlationid").as_deref(), Some("corr-é"));
        assert_eq!(record.header("missing"), None);
    }

    #[test]
    fn parses_lambdas_own_event_shape() {
        let json = r#"{"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:eu-west-1:1:cluster/c/1",
          "bootstrapServers": "b-1:9092",
          "records": {"dc1.skybet.cpp.activity-0": [{"topic": "dc1.skybet.cpp.activity", "partition": 0,
            "offset": 15, "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
            "key": null, "value": "eyJhIjoxfQ==",
            "headers": [{"correlationid": [99, 111, 114, 114]}]}]}}"#;
        let event: KafkaEvent = serde_json::from_str(json).expect("Lambda's shape parses");
        let records = records(&event);
        assert_eq!(records[0].value().expect("value"), "{\"a\":1}");
        assert_eq!(records[0].header("correlationid").as_deref(), Some("corr"));
    }

    #[test]
    fn bad_values_are_classified() {
        let mut record = encode_record("t", 0, 1, &[0xff, 0xfe], &[]);
        let event = encode_event(vec![record.clone()]);
        assert!(matches!(
            records(&event)[0].value(),
            Err(InvalidInput::NotUtf8 { .. })
        ));

        record.value = Some("%%%".into());
        let event = encode_event(vec![record.clone()]);
        assert!(records(&event)[0]
            .value()
            .expect_err("not base64")
            .to_string()
            .contains("base64"));

        record.value = None;
        let event = encode_event(vec![record.clone()]);
        assert_eq!(records(&event)[0].value(), Err(InvalidInput::Empty));

        let big = vec![b'x'; MAX_RECORD_BYTES + 1];
        let event = encode_event(vec![encode_record("t", 0, 2, &big, &[])]);
        assert!(matches!(
            records(&event)[0].value(),
            Err(InvalidInput::Oversized { .. })
        ));
    }

    #[test]
    fn records_come_in_group_then_offset_order() {
        let event = encode_event(vec![
            encode_record("b", 0, 1, b"x", &[]),
            encode_record("a", 0, 7, b"x", &[]),
            encode_record("a", 0, 8, b"x", &[]),
        ]);
        let order: Vec<_> = records(&event).iter().map(Record::source).collect();
        assert_eq!(order, vec!["a/0@7", "a/0@8", "b/0@1"]);
    }
}
