//! The record Lambda's event source mapping makes of a message received from SQS.

use std::collections::HashMap;

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::Message;

fn binary(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

/// The record Lambda's event source mapping makes of a received message.
pub fn lambda_record(message: &Message, queue_arn: &str, region: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id().map(str::to_owned);
    record.receipt_handle = message.receipt_handle().map(str::to_owned);
    record.body = message.body().map(str::to_owned);
    record.md5_of_body = message.md5_of_body().map(str::to_owned);
    record.md5_of_message_attributes = message.md5_of_message_attributes().map(str::to_owned);
    record.attributes = message
        .attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    record.message_attributes = message
        .message_attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.string_value = value.string_value().map(str::to_owned);
                    attribute.binary_value = value.binary_value().map(|blob| binary(blob.as_ref()));
                    attribute.string_list_values = value.string_list_values().to_vec();
                    attribute.binary_list_values = value
                        .binary_list_values()
                        .iter()
                        .map(|blob| binary(blob.as_ref()))
                        .collect();
                    attribute.data_type = Some(value.data_type().to_owned());
                    (name.clone(), attribute)
                })
                .collect::<HashMap<_, _>>()
        })
        .unwrap_or_default();
    record.event_source = Some("aws:sqs".to_owned());
    record.event_source_arn = Some(queue_arn.to_owned());
    record.aws_region = Some(region.to_owned());
    record
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
    use tokio::time::Instant;

    use super::*;
    use crate::sqs_queues::Received;

    #[test]
    fn a_received_message_becomes_the_record_lambda_delivers() {
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body("{\"id\":\"e\"}")
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "3")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1795255200000")
            .message_attributes(
                "ce-type",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("rewards.decided")
                    .build()
                    .expect("attribute"),
            )
            .build();
        let record = lambda_record(&message, "arn:aws:sqs:eu-west-1:123:q", "eu-west-1");
        assert_eq!(record.message_id.as_deref(), Some("m-1"));
        assert_eq!(record.receipt_handle.as_deref(), Some("rh-1"));
        assert_eq!(rewards_shared::sqs::receive_count(&record), 3);
        assert_eq!(record.attributes["SentTimestamp"], "1795255200000");
        let attribute = &record.message_attributes["ce-type"];
        assert_eq!(attribute.string_value.as_deref(), Some("rewards.decided"));
        assert_eq!(attribute.data_type.as_deref(), Some("String"));
        assert_eq!(
            record.event_source_arn.as_deref(),
            Some("arn:aws:sqs:eu-west-1:123:q")
        );
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));

        let received = Received {
            message,
            at: Instant::now(),
        };
        assert_eq!(received.receive_count(), 3);
        assert_eq!(received.queued().message_id, "m-1");
    }
}
