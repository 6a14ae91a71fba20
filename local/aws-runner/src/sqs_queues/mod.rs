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

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, QueueAttributeName,
};
use rewards_shared::aws::classify::classify;
use rewards_shared::ports::Destination;
use tokio::time::Instant;

mod lambda_record;
mod settings;

pub use lambda_record::lambda_record;
pub use settings::{Faults, TransportError, TransportSettings};

use crate::resources::{Queue, RunResources};
use scenario_runner::backend::{BatchReceipt, Transport};
use scenario_runner::queues::{batch_size, Queued, SQS_CALL_ENTRIES};

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

    async fn receive(
        &mut self,
        destination: Destination,
    ) -> Option<(SqsEvent, BatchReceipt<Receipt>)> {
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
        Some((
            event,
            BatchReceipt::new(destination, Receipt { messages: batch }),
        ))
    }

    async fn settle(
        &mut self,
        batch: BatchReceipt<Receipt>,
        response: &SqsBatchResponse,
    ) -> Vec<Queued> {
        let destination = batch.destination;
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect();
        let (failures, succeeded): (Vec<&Received>, Vec<&Received>) = batch
            .receipt
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
