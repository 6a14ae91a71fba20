//! [`SqsTransport`]: the stages' queues on SQS, polled the way Lambda's event source mapping
//! polls them.
//!
//! - **Receive**: `ReceiveMessage` of at most ten messages, no long polling, the queue's short
//!   visibility time-out, every system attribute (so `ApproximateReceiveCount` is SQS's own)
//!   and every message attribute. The messages become Lambda's `SqsEvent` records as they are:
//!   `messageId`, `receiptHandle`, `body`, `md5OfBody`, `attributes`, `messageAttributes`,
//!   `eventSource: aws:sqs`, the queue's `eventSourceARN` and the region.
//! - **Settle**: `DeleteMessageBatch` of what the handler did not report; the reported
//!   failures stay where they are and SQS delivers them again after the visibility time-out.
//!   A failure received `maxReceiveCount` times is moved by SQS to the dead-letter queue on
//!   its next receive; the transport waits for that (it polls the queue once the message is
//!   visible again, keeping whatever else it receives for the next batch, as a poller would)
//!   and reports only what it then finds in the dead-letter queue.
//! - **Idle** when no message is buffered and every input queue reports zero messages
//!   visible, in flight and delayed (`ApproximateNumberOfMessages`, `…NotVisible`,
//!   `…Delayed`), [`TransportSettings::idle_confirmations`] times in a row. While messages are
//!   in flight and nothing arrives, each check waits [`TransportSettings::poll_interval`]
//!   first, so the drain loop does not spin.
//!
//! A failed SQS call (after the SDK's retries) is recorded in the shared [`Faults`]; after
//! [`TransportSettings::max_consecutive_faults`] in a row the transport reports itself idle so
//! the run can stop and say why.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, QueueAttributeName,
};
use rewards_shared::aws::classify::classify;
use rewards_shared::ports::Destination;
use tokio::time::Instant;

use super::resources::{Queue, RunResources};
use scenario_runner::backend::Transport;
use scenario_runner::queues::{batch_size, Queued, SQS_CALL_ENTRIES};

/// How the transport polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSettings {
    /// The input queues' visibility time-out (as created): when a reported failure is
    /// visible again.
    pub visibility_timeout: Duration,
    /// Receives before SQS moves a message to its dead-letter queue.
    pub max_receive_count: u32,
    /// Wait between checks while messages are in flight and none arrives.
    pub poll_interval: Duration,
    /// Checks in a row that must find every queue empty before the pipeline counts as idle
    /// (SQS's counts are approximate; a local endpoint's are exact).
    pub idle_confirmations: u32,
    /// Longest wait for a message SQS should move to a dead-letter queue to show up there,
    /// once it is visible again.
    pub dead_letter_wait: Duration,
    /// Failed SQS calls in a row after which the transport gives up.
    pub max_consecutive_faults: u32,
}

impl TransportSettings {
    /// Settings for a local endpoint (moto): exact counts, fast polls.
    pub fn local(visibility_timeout: Duration, max_receive_count: u32) -> Self {
        TransportSettings {
            visibility_timeout,
            max_receive_count,
            poll_interval: Duration::from_millis(100),
            idle_confirmations: 1,
            dead_letter_wait: Duration::from_secs(10),
            max_consecutive_faults: 5,
        }
    }

    /// Settings for AWS: counts are approximate and short polls sample, so idleness is
    /// confirmed three times a second apart and dead letters are awaited longer.
    pub fn aws(visibility_timeout: Duration, max_receive_count: u32) -> Self {
        TransportSettings {
            visibility_timeout,
            max_receive_count,
            poll_interval: Duration::from_secs(1),
            idle_confirmations: 3,
            dead_letter_wait: Duration::from_secs(60),
            max_consecutive_faults: 5,
        }
    }
}

/// An SQS call the transport made failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on queue {queue} failed: {reason}")]
pub struct TransportError {
    /// The call, e.g. `ReceiveMessage`.
    pub operation: &'static str,
    /// The queue's name.
    pub queue: String,
    /// What SQS (or the connection) said.
    pub reason: String,
}

/// The transport's failed calls, shared with whoever runs the pipeline.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<TransportError>>>);

impl Faults {
    /// No faults yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&self, error: TransportError) {
        tracing::error!(error = %error, "SQS transport call failed");
        if let Ok(mut faults) = self.0.lock() {
            faults.push(error);
        }
    }

    /// The faults since the last call.
    pub fn take(&self) -> Vec<TransportError> {
        self.0
            .lock()
            .map(|mut faults| std::mem::take(&mut *faults))
            .unwrap_or_default()
    }
}

/// One received message, and when it was received.
#[derive(Debug, Clone)]
pub struct Received {
    message: Message,
    at: Instant,
}

impl Received {
    fn id(&self) -> &str {
        self.message.message_id().unwrap_or_default()
    }

    fn receive_count(&self) -> u32 {
        self.message
            .attributes()
            .and_then(|attributes| {
                attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount)
            })
            .and_then(|count| count.parse().ok())
            .unwrap_or(1)
    }

    fn queued(&self) -> Queued {
        let attribute = |name: MessageSystemAttributeName| {
            self.message
                .attributes()
                .and_then(|attributes| attributes.get(&name).cloned())
        };
        Queued {
            message_id: self.id().to_owned(),
            body: self.message.body().unwrap_or_default().to_owned(),
            receive_count: self.receive_count(),
            group: attribute(MessageSystemAttributeName::MessageGroupId),
            deduplication_id: attribute(MessageSystemAttributeName::MessageDeduplicationId)
                .unwrap_or_default(),
        }
    }
}

/// A received batch, settled after the handler ran.
#[derive(Debug, Clone)]
pub struct Receipt {
    messages: Vec<Received>,
}

/// A failure SQS is due to move to a dead-letter queue.
#[derive(Debug, Clone)]
struct Doomed {
    queued: Queued,
    visible_again: Instant,
}

/// The pipeline's queues on SQS (see the module documentation).
pub struct SqsTransport {
    client: aws_sdk_sqs::Client,
    region: String,
    resources: RunResources,
    settings: TransportSettings,
    buffer: BTreeMap<Destination, VecDeque<Received>>,
    doomed: BTreeMap<Destination, Vec<Doomed>>,
    active: bool,
    idle_streak: u32,
    consecutive_faults: u32,
    faults: Faults,
}

impl SqsTransport {
    /// A transport over the run's queues in `region`, recording failed calls in `faults`.
    pub fn new(
        client: aws_sdk_sqs::Client,
        region: String,
        resources: RunResources,
        settings: TransportSettings,
        faults: Faults,
    ) -> Self {
        SqsTransport {
            client,
            region,
            resources,
            settings,
            buffer: BTreeMap::new(),
            doomed: BTreeMap::new(),
            active: true,
            idle_streak: 0,
            consecutive_faults: 0,
            faults,
        }
    }

    fn fault(&mut self, operation: &'static str, queue: &str, reason: String) {
        self.consecutive_faults += 1;
        self.faults.push(TransportError {
            operation,
            queue: queue.to_owned(),
            reason,
        });
    }

    /// `ReceiveMessage` on `queue`, hiding what it returns for `visibility`.
    async fn receive_from(
        &mut self,
        queue: &Queue,
        visibility: Duration,
    ) -> Result<Vec<Message>, ()> {
        let seconds = i32::try_from(visibility.as_secs()).unwrap_or(i32::MAX);
        let result = self
            .client
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(SQS_CALL_ENTRIES as i32)
            .wait_time_seconds(0)
            .visibility_timeout(seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        match result {
            Ok(output) => {
                self.consecutive_faults = 0;
                Ok(output.messages.unwrap_or_default())
            }
            Err(error) => {
                let reason = classify("ReceiveMessage", &error).into_reason();
                self.fault("ReceiveMessage", &queue.name, reason);
                Err(())
            }
        }
    }

    /// Receives the next messages of `destination` from SQS.
    async fn poll(&mut self, destination: Destination) -> Vec<Received> {
        let Some(queue) = self.resources.queue(destination).cloned() else {
            return Vec::new();
        };
        let visibility = self.settings.visibility_timeout;
        let messages = self
            .receive_from(&queue, visibility)
            .await
            .unwrap_or_default();
        let at = Instant::now();
        messages
            .into_iter()
            .map(|message| Received { message, at })
            .collect()
    }

    fn event(&self, destination: Destination, batch: &[Received]) -> SqsEvent {
        let arn = self
            .resources
            .queue(destination)
            .map(|queue| queue.arn.clone())
            .unwrap_or_default();
        let mut event = SqsEvent::default();
        event.records = batch
            .iter()
            .map(|received| lambda_record(&received.message, &arn, &self.region))
            .collect();
        event
    }

    /// Deletes `messages` from `destination`'s queue.
    async fn delete(&mut self, destination: Destination, messages: &[&Received]) {
        let Some(queue) = self.resources.queue(destination).cloned() else {
            return;
        };
        for chunk in messages.chunks(SQS_CALL_ENTRIES) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(index, received)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("d{index}"))
                        .receipt_handle(received.message.receipt_handle().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect();
            let result = self
                .client
                .delete_message_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(output) => {
                    self.consecutive_faults = 0;
                    for failed in output.failed() {
                        let id = failed
                            .id()
                            .strip_prefix('d')
                            .and_then(|index| index.parse::<usize>().ok())
                            .and_then(|index| chunk.get(index))
                            .map_or("?", |received| received.id());
                        let reason = format!(
                            "message {id}: {} {}",
                            failed.code(),
                            failed.message().unwrap_or_default()
                        );
                        self.fault("DeleteMessageBatch", &queue.name, reason);
                    }
                }
                Err(error) => {
                    let reason = classify("DeleteMessageBatch", &error).into_reason();
                    self.fault("DeleteMessageBatch", &queue.name, reason);
                }
            }
        }
    }

    /// Looks through `destination`'s dead-letter queue for the messages `wanted` and returns
    /// the ids found. Every message looked at is hidden while the scan goes on and made
    /// visible again after it, so the dead-letter queue is left as it was.
    async fn scan_dead_letters(
        &mut self,
        destination: Destination,
        wanted: &HashSet<String>,
    ) -> HashSet<String> {
        let mut found = HashSet::new();
        let Some(queue) = self.resources.dead_letter_queue_of(destination).cloned() else {
            return found;
        };
        let mut seen: Vec<String> = Vec::new();
        while found.len() < wanted.len() {
            let Ok(batch) = self.receive_from(&queue, Duration::from_secs(30)).await else {
                break;
            };
            if batch.is_empty() {
                break;
            }
            for message in batch {
                let id = message.message_id().unwrap_or_default();
                if wanted.contains(id) {
                    found.insert(id.to_owned());
                }
                if let Some(handle) = message.receipt_handle() {
                    seen.push(handle.to_owned());
                }
            }
        }
        for chunk in seen.chunks(SQS_CALL_ENTRIES) {
            let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(index, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("v{index}"))
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let result = self
                .client
                .change_message_visibility_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send()
                .await;
            if let Err(error) = result {
                let reason = classify("ChangeMessageVisibilityBatch", &error).into_reason();
                self.fault("ChangeMessageVisibilityBatch", &queue.name, reason);
            }
        }
        found
    }

    /// Waits for the failures of `destination` SQS is due to move to the dead-letter queue,
    /// and returns those found there. Does nothing while messages of `destination` are
    /// buffered: they were received first and are handled first; a later settle looks again.
    async fn await_dead_letters(&mut self, destination: Destination) -> Vec<Queued> {
        let pending = self.doomed.get(&destination).map_or(0, Vec::len);
        let buffered = self.buffer.get(&destination).map_or(0, VecDeque::len);
        if pending == 0 || buffered > 0 {
            return Vec::new();
        }
        let ready = self
            .doomed
            .get(&destination)
            .and_then(|doomed| doomed.iter().map(|d| d.visible_again).max());
        if let Some(ready) = ready {
            // A little past the time-out: SQS (and moto) count it from their own receive.
            tokio::time::sleep_until(ready + Duration::from_millis(100)).await;
        }
        let deadline = Instant::now() + self.settings.dead_letter_wait;
        let mut moved = Vec::new();
        loop {
            // Only a receive makes SQS move a message past its receive limit.
            let received = self.poll(destination).await;
            let got = !received.is_empty();
            self.buffer.entry(destination).or_default().extend(received);
            let wanted: HashSet<String> = self
                .doomed
                .get(&destination)
                .map(|doomed| doomed.iter().map(|d| d.queued.message_id.clone()).collect())
                .unwrap_or_default();
            let found = self.scan_dead_letters(destination, &wanted).await;
            if let Some(doomed) = self.doomed.get_mut(&destination) {
                let (arrived, left): (Vec<Doomed>, Vec<Doomed>) = std::mem::take(doomed)
                    .into_iter()
                    .partition(|d| found.contains(&d.queued.message_id));
                *doomed = left;
                moved.extend(arrived.into_iter().map(|d| d.queued));
            }
            let left = self.doomed.get(&destination).map_or(0, Vec::len);
            if left == 0 || got {
                break;
            }
            if Instant::now() >= deadline
                || self.consecutive_faults >= self.settings.max_consecutive_faults
            {
                tracing::warn!(
                    queue = destination.queue_name(),
                    messages = left,
                    "messages past their receive limit have not reached the dead-letter queue yet"
                );
                break;
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
        moved
    }

    /// The number of messages in `queue`: visible, in flight and delayed.
    async fn depth(&mut self, queue: &Queue) -> Result<u64, ()> {
        let result = self
            .client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await;
        match result {
            Ok(output) => {
                self.consecutive_faults = 0;
                Ok(output
                    .attributes()
                    .map(|attributes| {
                        attributes
                            .values()
                            .filter_map(|count| count.parse::<u64>().ok())
                            .sum()
                    })
                    .unwrap_or(0))
            }
            Err(error) => {
                let reason = classify("GetQueueAttributes", &error).into_reason();
                self.fault("GetQueueAttributes", &queue.name, reason);
                Err(())
            }
        }
    }
}

impl Transport for SqsTransport {
    type Receipt = Receipt;

    async fn collect(&mut self, _now: chrono::DateTime<chrono::Utc>) {
        // The stages' publisher sends straight to SQS: nothing to take in.
        self.active = true;
    }

    async fn receive(&mut self, destination: Destination) -> Option<(SqsEvent, Receipt)> {
        let buffered = self.buffer.entry(destination).or_default();
        let batch: Vec<Received> = if buffered.is_empty() {
            self.poll(destination).await
        } else {
            let take = buffered.len().min(batch_size(destination));
            buffered.drain(..take).collect()
        };
        if batch.is_empty() {
            return None;
        }
        self.active = true;
        let event = self.event(destination, &batch);
        Some((event, Receipt { messages: batch }))
    }

    async fn settle(
        &mut self,
        destination: Destination,
        receipt: Receipt,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect();
        let (failures, succeeded): (Vec<&Received>, Vec<&Received>) = receipt
            .messages
            .iter()
            .partition(|received| failed.contains(received.id()));
        self.delete(destination, &succeeded).await;
        for received in failures {
            if received.receive_count() >= self.settings.max_receive_count {
                self.doomed.entry(destination).or_default().push(Doomed {
                    queued: received.queued(),
                    visible_again: received.at + self.settings.visibility_timeout,
                });
            }
        }
        self.await_dead_letters(destination).await
    }

    async fn is_idle(&mut self) -> bool {
        if self.consecutive_faults >= self.settings.max_consecutive_faults {
            return true;
        }
        if self.buffer.values().any(|buffered| !buffered.is_empty()) {
            self.idle_streak = 0;
            return false;
        }
        if !std::mem::replace(&mut self.active, false) {
            tokio::time::sleep(self.settings.poll_interval).await;
        }
        let queues: Vec<Queue> = self.resources.queues.values().cloned().collect();
        let mut total = 0;
        for queue in &queues {
            match self.depth(queue).await {
                Ok(depth) => total += depth,
                Err(()) => {
                    self.idle_streak = 0;
                    return self.consecutive_faults >= self.settings.max_consecutive_faults;
                }
            }
        }
        if total > 0 {
            self.idle_streak = 0;
            return false;
        }
        self.idle_streak += 1;
        if self.idle_streak >= self.settings.idle_confirmations {
            self.idle_streak = 0;
            true
        } else {
            false
        }
    }
}

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
    use super::*;
    use aws_sdk_sqs::types::MessageAttributeValue;

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
