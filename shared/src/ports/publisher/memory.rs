//! In-memory publisher: messages wait in per-destination queues until taken.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use super::{Destination, FailedMessage, OutgoingMessage, PublishError, Publisher};

/// Messages kept per destination, in publish order; counts publish calls.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    queues: Mutex<BTreeMap<Destination, VecDeque<OutgoingMessage>>>,
    calls: Mutex<u64>,
}

impl MemoryPublisher {
    /// An empty publisher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every message published to `destination` so far.
    pub fn take(&self, destination: Destination) -> Vec<OutgoingMessage> {
        self.queues
            .lock()
            .map(|mut queues| {
                queues
                    .get_mut(&destination)
                    .map(|queue| queue.drain(..).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Takes every message published so far, to any destination.
    pub fn take_all(&self) -> Vec<OutgoingMessage> {
        Destination::ALL
            .into_iter()
            .flat_map(|destination| self.take(destination))
            .collect()
    }

    /// How many publish calls were made.
    pub fn calls(&self) -> u64 {
        self.calls.lock().map(|calls| *calls).unwrap_or(0)
    }
}

impl Publisher for MemoryPublisher {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls += 1;
        }
        let mut queues = self
            .queues
            .lock()
            .map_err(|_| PublishError::all(&messages, "publisher lock poisoned", true))?;
        let mut failed = Vec::new();
        for message in messages {
            // As SQS refuses it: a FIFO queue takes no message without a group.
            if message.destination.is_fifo() && message.group.is_none() {
                failed.push(FailedMessage {
                    reason: format!(
                        "message {} has no message group, which FIFO queue {} needs",
                        message.id,
                        message.destination.queue_name()
                    ),
                    id: message.id,
                    retryable: false,
                });
                continue;
            }
            queues
                .entry(message.destination)
                .or_default()
                .push_back(message);
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(PublishError { failed })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::compliance::{self, Arrived, Inbox};
    use super::*;

    impl Inbox for MemoryPublisher {
        async fn arrived(&self, destination: Destination) -> Vec<Arrived> {
            self.take(destination)
                .into_iter()
                .map(|message| Arrived {
                    deduplication_id: message
                        .group
                        .is_some()
                        .then(|| message.deduplication_id().to_owned()),
                    body: message.body,
                    event_type: message.event_type.as_str().to_owned(),
                    group: message.group,
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn meets_the_publisher_contract() {
        let publisher = MemoryPublisher::new();
        compliance::check_all(&publisher, &publisher, "").await;
    }
}
