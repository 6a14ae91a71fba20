//! The publisher on SQS: `SendMessageBatch` per destination queue.
//!
//! - Batches of at most 10 entries and 256 KiB in all; the batches of a call go out
//!   concurrently. Entry ids are `m{index}` (SQS wants at most 80 characters of `[A-Za-z0-9_-]`,
//!   which a CloudEvent id need not be), mapped back to the CloudEvent id on failure.
//! - Each message carries the message attributes `ce-type` (the CloudEvent type) and
//!   `correlation-id`, so queues can be inspected and filtered without parsing bodies.
//! - Entries SQS failed on its side (`SenderFault == false`) are sent again, a bounded number
//!   of times; what is still not sent is reported as [`FailedMessage`]s: retryable when the
//!   fault was SQS's (or a time-out, throttling, 5xx), not when the request was wrong.
//! - To a FIFO queue (its URL ends in `.fifo`), each message goes with its `MessageGroupId`
//!   ([`OutgoingMessage::group`]) and `MessageDeduplicationId`
//!   ([`OutgoingMessage::deduplication_id`]); a message without a group fails alone, not
//!   retryable. The order of a group's messages is the caller's to keep: one message per
//!   group per call (`effects::publish_in_group_order`).
//! - Checked before any call, each failing alone and not retryable: a message over SQS's
//!   limit (256 KiB, attributes included), a body with characters SQS refuses, a destination
//!   with no queue URL configured.

use std::collections::BTreeMap;

use super::{Destination, FailedMessage, OutgoingMessage, PublishError, Publisher};
use crate::aws::sqs_batch::{self, is_fifo_queue, Entry, Fifo, MAX_MESSAGE_BYTES};

/// Message attribute carrying the CloudEvent type.
pub const ATTR_CE_TYPE: &str = "ce-type";
/// Message attribute carrying the chain's correlation id.
pub const ATTR_CORRELATION_ID: &str = "correlation-id";

/// Publishes to SQS queues, one URL per destination.
#[derive(Debug, Clone)]
pub struct SqsPublisher {
    client: aws_sdk_sqs::Client,
    queues: BTreeMap<Destination, String>,
}

impl SqsPublisher {
    /// A publisher sending each destination's messages to its queue URL. A destination with
    /// no URL fails its messages (not retryable).
    pub fn new(
        client: aws_sdk_sqs::Client,
        queues: impl IntoIterator<Item = (Destination, String)>,
    ) -> Self {
        SqsPublisher {
            client,
            queues: queues.into_iter().collect(),
        }
    }

    /// The queue URL of `destination`, if configured.
    pub fn queue_url(&self, destination: Destination) -> Option<&str> {
        self.queues.get(&destination).map(String::as_str)
    }
}

fn attributes(message: &OutgoingMessage) -> Vec<(&'static str, String)> {
    let mut attributes = vec![(ATTR_CE_TYPE, message.event_type.as_str().to_owned())];
    // SQS refuses an empty attribute value; an empty correlation id is left out.
    if !message.correlation_id.is_empty() {
        attributes.push((ATTR_CORRELATION_ID, message.correlation_id.clone()));
    }
    attributes
}

/// Why `message` cannot go to SQS at all, if it cannot.
fn precheck(message: &OutgoingMessage, attributes: &[(&'static str, String)]) -> Option<String> {
    let size = sqs_batch::message_size(&message.body, attributes);
    if size > MAX_MESSAGE_BYTES {
        return Some(format!(
            "message {} is {size} bytes, over the SQS limit of {MAX_MESSAGE_BYTES}",
            message.id
        ));
    }
    if message.body.is_empty() {
        return Some(format!("message {} has an empty body", message.id));
    }
    let texts = std::iter::once(message.body.as_str())
        .chain(attributes.iter().map(|(_, value)| value.as_str()));
    for text in texts {
        if let Some((offset, c)) = sqs_batch::first_disallowed_char(text) {
            return Some(format!(
                "message {} holds U+{:04X} at byte {offset}, which SQS refuses",
                message.id, c as u32
            ));
        }
    }
    None
}

impl Publisher for SqsPublisher {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        let mut failed = Vec::new();
        let mut by_queue: BTreeMap<Destination, (&str, Vec<Entry>)> = BTreeMap::new();
        for (index, message) in messages.iter().enumerate() {
            let Some(url) = self.queue_url(message.destination) else {
                failed.push(FailedMessage {
                    id: message.id.clone(),
                    reason: format!(
                        "no queue URL configured for destination {}",
                        message.destination.queue_name()
                    ),
                    retryable: false,
                });
                continue;
            };
            let attributes = attributes(message);
            if let Some(reason) = precheck(message, &attributes) {
                failed.push(FailedMessage {
                    id: message.id.clone(),
                    reason,
                    retryable: false,
                });
                continue;
            }
            let fifo = if is_fifo_queue(url) {
                let Some(group) = message.group.clone() else {
                    failed.push(FailedMessage {
                        id: message.id.clone(),
                        reason: format!(
                            "message {} has no message group, which FIFO queue {} needs",
                            message.id,
                            message.destination.queue_name()
                        ),
                        retryable: false,
                    });
                    continue;
                };
                Some(Fifo {
                    group,
                    deduplication_id: message.deduplication_id().to_owned(),
                })
            } else {
                None
            };
            by_queue
                .entry(message.destination)
                .or_insert_with(|| (url, Vec::new()))
                .1
                .push(Entry {
                    index,
                    body: message.body.clone(),
                    attributes,
                    fifo,
                });
        }
        let sends = by_queue
            .into_values()
            .map(|(url, entries)| sqs_batch::send_all(&self.client, url, entries));
        for failure in futures::future::join_all(sends).await.into_iter().flatten() {
            let id = messages
                .get(failure.index)
                .map_or_else(|| format!("#{}", failure.index), |m| m.id.clone());
            failed.push(FailedMessage {
                id,
                reason: failure.reason,
                retryable: failure.retryable,
            });
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(PublishError { failed })
        }
    }
}
