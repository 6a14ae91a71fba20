//! The publisher port: sends CloudEvents to the next stage's queue.

#[cfg(any(test, feature = "testing"))]
pub mod compliance;
mod memory;
#[cfg(feature = "sqs")]
mod sqs;

use std::future::Future;

use serde::Serialize;

use crate::envelope::{Envelope, EnvelopeError, EventType};
use crate::error::Retryable;

pub use memory::MemoryPublisher;
#[cfg(feature = "sqs")]
pub use sqs::{SqsPublisher, ATTR_CE_TYPE, ATTR_CORRELATION_ID};

/// The queues stages publish to (their URLs come from configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// `cpp-enriched-events`: DEC → TIM.
    EnrichedEvents,
    /// `relevant-events`: TIM → FRED.
    RelevantEvents,
    /// `relevant-unqualification-events`: DEC/TIM → FRED.
    UnqualificationEvents,
    /// `decided-events`: FRED → BCG.
    DecidedEvents,
    /// `msq-inbound-queue`: BCG → MSQ.
    MsqInbound,
    /// `msq-inbound-delete`: BCG → MSQ (delete instructions, after the award before them).
    MsqDelete,
}

impl Destination {
    /// Every destination, in the order of the chain (a queue before the ones its consumer
    /// publishes to).
    pub const ALL: [Destination; 6] = [
        Destination::EnrichedEvents,
        Destination::RelevantEvents,
        Destination::UnqualificationEvents,
        Destination::DecidedEvents,
        Destination::MsqInbound,
        Destination::MsqDelete,
    ];

    /// Whether the queue is an SQS FIFO queue: its messages keep their order within their
    /// message group ([`OutgoingMessage::group`]), and a copy with the same deduplication id
    /// sent within five minutes is dropped by SQS. The queues from DEC to BCG are FIFO: the
    /// path an award and its delete instruction share, and FRED's second input, whose
    /// dead-letter queue FRED shares with the first (docs/decisions.md, "Ordering").
    pub fn is_fifo(self) -> bool {
        matches!(
            self,
            Destination::EnrichedEvents
                | Destination::RelevantEvents
                | Destination::UnqualificationEvents
                | Destination::DecidedEvents
        )
    }

    /// The queue's name (without the stack's `{env}-{brand}-` prefix, and without the `.fifo`
    /// suffix of a FIFO queue).
    pub fn queue_name(self) -> &'static str {
        match self {
            Destination::EnrichedEvents => "cpp-enriched-events",
            Destination::RelevantEvents => "relevant-events",
            Destination::UnqualificationEvents => "relevant-unqualification-events",
            Destination::DecidedEvents => "decided-events",
            Destination::MsqInbound => "msq-inbound-queue",
            Destination::MsqDelete => "msq-inbound-delete",
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Where it goes.
    pub destination: Destination,
    /// The CloudEvent's id (failures are reported by it).
    pub id: String,
    /// The CloudEvent's type (sent as a message attribute).
    pub event_type: EventType,
    /// The chain's correlation id (sent as a message attribute).
    pub correlation_id: String,
    /// The SQS body: the CloudEvent in structured JSON mode.
    pub body: String,
    /// The message group: messages of one group keep their order on a FIFO queue. Every
    /// message about one `(accountId, promoCode, attemptId)` has the same group
    /// ([`group_id`]).
    pub group: Option<String>,
    /// What a FIFO queue deduplicates on (within five minutes); the CloudEvent id unless the
    /// stage sets another ([`OutgoingMessage::deduplicated_by`]).
    pub deduplication_id: Option<String>,
}

impl OutgoingMessage {
    /// The message carrying `envelope` to `destination`.
    pub fn new<T: Serialize>(
        destination: Destination,
        envelope: &Envelope<T>,
    ) -> Result<Self, EnvelopeError> {
        Ok(OutgoingMessage {
            destination,
            id: envelope.id.clone(),
            event_type: envelope.event_type,
            correlation_id: envelope.correlation_id.clone(),
            body: envelope.encode()?,
            group: None,
            deduplication_id: None,
        })
    }

    /// The same message in the group of `(account_id, promo_code, attempt_id)`.
    pub fn in_group(mut self, account_id: &str, promo_code: &str, attempt_id: &str) -> Self {
        self.group = Some(group_id(account_id, promo_code, attempt_id));
        self
    }

    /// The same message, deduplicated by a FIFO queue on `id` instead of the CloudEvent id.
    pub fn deduplicated_by(mut self, id: String) -> Self {
        self.deduplication_id = Some(id);
        self
    }

    /// The id a FIFO queue deduplicates on.
    pub fn deduplication_id(&self) -> &str {
        self.deduplication_id.as_deref().unwrap_or(&self.id)
    }
}

/// The message group of everything about one `(accountId, promoCode, attemptId)`: a UUID
/// derived from the three (SQS allows 128 characters of ASCII punctuation and alphanumerics in
/// a group id, while identifiers may hold any text; the derivation is unambiguous, the
/// components being length-prefixed).
pub fn group_id(account_id: &str, promo_code: &str, attempt_id: &str) -> String {
    crate::ids::derived_id(&["group", account_id, promo_code, attempt_id])
}

/// One message that could not be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMessage {
    /// The CloudEvent id of the message.
    pub id: String,
    /// Why.
    pub reason: String,
    /// Whether sending it again may work (throttling, 5xx) or not (too large, rejected).
    pub retryable: bool,
}

/// Some messages of a publish call were not sent; the others were.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the messages were not published (first: {})", failed.len(), failed.first().map_or("none", |f| f.reason.as_str()))]
pub struct PublishError {
    /// The messages not sent.
    pub failed: Vec<FailedMessage>,
}

impl PublishError {
    /// Every message of `messages` failed for the same reason.
    pub fn all(messages: &[OutgoingMessage], reason: &str, retryable: bool) -> Self {
        PublishError {
            failed: messages
                .iter()
                .map(|message| FailedMessage {
                    id: message.id.clone(),
                    reason: reason.to_owned(),
                    retryable,
                })
                .collect(),
        }
    }
}

impl Retryable for PublishError {
    fn is_retryable(&self) -> bool {
        self.failed.iter().all(|failed| failed.retryable)
    }
}

/// Sends messages to queues, batched.
pub trait Publisher: Send + Sync {
    /// Sends every message; on failure, says which were not sent.
    fn publish(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

impl<P: Publisher + ?Sized> Publisher for std::sync::Arc<P> {
    fn publish(
        &self,
        messages: Vec<OutgoingMessage>,
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).publish(messages)
    }
}
