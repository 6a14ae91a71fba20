//! The publisher's contract, as cases every adapter must pass: the in-memory publisher in its
//! unit tests, the SQS one against a local SQS (`tests/aws_adapters.rs`). The same cases, so
//! the two cannot drift apart. An [`Inbox`] reads back what arrived at a destination's queue.

use std::future::Future;

use super::{Destination, OutgoingMessage, Publisher};
use crate::envelope::EventType;

/// A message as it arrived in a destination's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrived {
    /// The body.
    pub body: String,
    /// The CloudEvent type it carries as an attribute.
    pub event_type: String,
    /// Its message group (FIFO queues).
    pub group: Option<String>,
    /// Its deduplication id (FIFO queues).
    pub deduplication_id: Option<String>,
}

/// Reads what arrived at a destination's queue since the last read.
pub trait Inbox {
    /// The messages that arrived at `destination`'s queue, in order.
    fn arrived(&self, destination: Destination) -> impl Future<Output = Vec<Arrived>>;
}

fn message(destination: Destination, id: &str, group: Option<&str>) -> OutgoingMessage {
    OutgoingMessage {
        destination,
        id: id.to_owned(),
        event_type: EventType::Decided,
        correlation_id: "corr-1".into(),
        body: format!("{{\"id\":\"{id}\"}}"),
        group: group.map(str::to_owned),
        deduplication_id: None,
    }
}

/// Every message reaches its destination's queue, with its type as an attribute (in any order:
/// one call's messages are independent — a group's order is kept by sending one message of a
/// group per call, `effects::publish_in_group_order`).
pub async fn every_message_reaches_its_queue<P: Publisher, I: Inbox>(
    publisher: &P,
    inbox: &I,
    prefix: &str,
) {
    let sent: Vec<OutgoingMessage> = (0..12)
        .map(|i| message(Destination::MsqInbound, &format!("{prefix}m{i}"), None))
        .collect();
    publisher
        .publish(sent.clone())
        .await
        .unwrap_or_else(|error| panic!("publish: {error}"));
    let arrived = inbox.arrived(Destination::MsqInbound).await;
    let mut bodies: Vec<&str> = arrived.iter().map(|a| a.body.as_str()).collect();
    let mut expected: Vec<&str> = sent.iter().map(|m| m.body.as_str()).collect();
    bodies.sort_unstable();
    expected.sort_unstable();
    assert_eq!(bodies, expected);
    assert!(arrived.iter().all(|a| a.event_type == "rewards.decided"));
}

/// A message for a FIFO queue arrives with its group and its deduplication id (the CloudEvent
/// id unless the stage set another).
pub async fn a_fifo_message_carries_its_group_and_deduplication_id<P: Publisher, I: Inbox>(
    publisher: &P,
    inbox: &I,
    prefix: &str,
) {
    let plain = message(
        Destination::DecidedEvents,
        &format!("{prefix}f1"),
        Some("g1"),
    );
    let chosen = message(
        Destination::DecidedEvents,
        &format!("{prefix}f2"),
        Some("g2"),
    )
    .deduplicated_by(format!("{prefix}position-7"));
    publisher
        .publish(vec![plain.clone(), chosen.clone()])
        .await
        .unwrap_or_else(|error| panic!("publish: {error}"));
    let arrived = inbox.arrived(Destination::DecidedEvents).await;
    let seen: Vec<(Option<&str>, Option<&str>)> = arrived
        .iter()
        .map(|a| (a.group.as_deref(), a.deduplication_id.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some("g1"), Some(plain.id.as_str())),
            (Some("g2"), Some(format!("{prefix}position-7").as_str())),
        ]
    );
}

/// A message for a FIFO queue without a group fails alone, not retryable; the others go.
pub async fn a_fifo_message_without_a_group_fails_alone<P: Publisher, I: Inbox>(
    publisher: &P,
    inbox: &I,
    prefix: &str,
) {
    let lost = message(
        Destination::DecidedEvents,
        &format!("{prefix}nogroup"),
        None,
    );
    let fine = message(
        Destination::DecidedEvents,
        &format!("{prefix}grouped"),
        Some("g"),
    );
    let error = publisher
        .publish(vec![lost.clone(), fine.clone()])
        .await
        .expect_err("a FIFO message without a group fails");
    assert_eq!(error.failed.len(), 1, "{error}");
    assert_eq!(error.failed[0].id, lost.id);
    assert!(!error.failed[0].retryable);
    let arrived = inbox.arrived(Destination::DecidedEvents).await;
    let bodies: Vec<&str> = arrived.iter().map(|a| a.body.as_str()).collect();
    assert_eq!(bodies, vec![fine.body.as_str()]);
}

/// Runs every case, with ids under `prefix`.
pub async fn check_all<P: Publisher, I: Inbox>(publisher: &P, inbox: &I, prefix: &str) {
    every_message_reaches_its_queue(publisher, inbox, prefix).await;
    a_fifo_message_carries_its_group_and_deduplication_id(publisher, inbox, prefix).await;
    a_fifo_message_without_a_group_fails_alone(publisher, inbox, prefix).await;
}
