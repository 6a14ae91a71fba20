//! MSQ's invocation payload (an SQS or an MSK event), its response and its error.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use rewards_shared::kafka::{KafkaBatchResponse, UnreportedFailures};
use rewards_shared::lambda_event::{KafkaEvent, SqsEvent};
use serde::{Deserialize, Deserializer, Serialize};

/// What Lambda invokes MSQ with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsqEvent {
    /// From `msq-inbound-queue` or `msq-inbound-delete`.
    Sqs(SqsEvent),
    /// From the customer-online topic.
    Kafka(KafkaEvent),
}

impl<'de> Deserialize<'de> for MsqEvent {
    /// Tells the two apart by `eventSource`: `aws:kafka` (or `SelfManagedKafka`) at the top
    /// level is MSK; an object with `Records` is SQS.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let source = value.get("eventSource").and_then(serde_json::Value::as_str);
        if matches!(source, Some("aws:kafka" | "SelfManagedKafka")) {
            return KafkaEvent::deserialize(value)
                .map(MsqEvent::Kafka)
                .map_err(D::Error::custom);
        }
        if value.get("Records").is_some() {
            return SqsEvent::deserialize(value)
                .map(MsqEvent::Sqs)
                .map_err(D::Error::custom);
        }
        Err(D::Error::custom(
            "neither an SQS event (`Records`) nor an MSK event (`eventSource: aws:kafka`)",
        ))
    }
}

/// What MSQ answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MsqResponse {
    /// The partial batch response of an SQS invocation.
    Sqs(SqsBatchResponse),
    /// The partial batch response of an MSK invocation: the customer-online records to retry.
    Kafka(KafkaBatchResponse),
}

impl MsqResponse {
    /// The response to give Lambda: an SQS answer as it is, an MSK one as
    /// [`KafkaBatchResponse::for_mapping`] makes it for a mapping that does (`reported`) or
    /// does not read partial batch responses.
    pub fn for_mapping(self, reported: bool) -> Result<Self, UnreportedFailures> {
        match self {
            MsqResponse::Kafka(response) => Ok(MsqResponse::Kafka(response.for_mapping(reported)?)),
            sqs => Ok(sqs),
        }
    }
}

/// An MSK invocation that must be redelivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsqError {
    /// Bad records could not be sent to the dead-letter queue.
    #[error("dead-letter queue unavailable: {0}")]
    DeadLetters(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreported_msk_failure_fails_the_invocation_and_sqs_answers_pass_through() {
        let failed: KafkaBatchResponse = serde_json::from_value(serde_json::json!({
            "batchItemFailures": [{"itemIdentifier": {"partition": "online-0", "offset": 7}}]
        }))
        .expect("kafka response");
        let kafka = MsqResponse::Kafka(failed.clone());
        assert_eq!(kafka.clone().for_mapping(true), Ok(kafka.clone()));
        let error = kafka.for_mapping(false).expect_err("unreported failure");
        assert_eq!((error.count, error.offset), (1, 7));
        let sqs = MsqResponse::Sqs(SqsBatchResponse::default());
        assert_eq!(sqs.clone().for_mapping(false), Ok(sqs));
    }

    #[test]
    fn sqs_payload_is_an_sqs_event() {
        let json = r#"{"Records": [{"messageId": "m1", "receiptHandle": "r", "body": "{}",
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:1:prod-skybet-msq-inbound-queue",
            "awsRegion": "eu-west-1"}]}"#;
        let event: MsqEvent = serde_json::from_str(json).expect("parses");
        let MsqEvent::Sqs(event) = event else {
            panic!("not SQS")
        };
        assert_eq!(event.records[0].message_id.as_deref(), Some("m1"));
    }

    #[test]
    fn msk_payload_is_a_kafka_event() {
        let json = r#"{"eventSource": "aws:kafka",
            "eventSourceArn": "arn:aws:kafka:eu-west-1:1:cluster/c/1",
            "bootstrapServers": "b-1:9092",
            "records": {"dc1.skybet.customer.online-0": [{"topic": "dc1.skybet.customer.online",
              "partition": 0, "offset": 5, "timestamp": 1545084650987,
              "timestampType": "CREATE_TIME", "key": null, "value": "e30=", "headers": []}]}}"#;
        let event: MsqEvent = serde_json::from_str(json).expect("parses");
        assert!(matches!(event, MsqEvent::Kafka(_)));
    }

    #[test]
    fn anything_else_is_an_error() {
        assert!(serde_json::from_str::<MsqEvent>(r#"{"hello": 1}"#).is_err());
        assert!(serde_json::from_str::<MsqEvent>("[]").is_err());
    }

    #[test]
    fn responses_serialise_as_lambda_expects() {
        let json =
            serde_json::to_string(&MsqResponse::Sqs(SqsBatchResponse::default())).expect("json");
        assert_eq!(json, r#"{"batchItemFailures":[]}"#);
        assert_eq!(
            serde_json::to_string(&MsqResponse::Kafka(KafkaBatchResponse::default()))
                .expect("json"),
            r#"{"batchItemFailures":[]}"#
        );
    }
}
