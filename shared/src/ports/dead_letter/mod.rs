//! The dead-letter sink port: a bad record goes alone to its stage's dead-letter queue, with
//! the stage and the reason beside it.

#[cfg(any(test, feature = "testing"))]
pub mod compliance;
mod memory;
#[cfg(feature = "sqs")]
mod sqs;

use std::future::Future;

use crate::error::Retryable;
use crate::ports::Outcome;
use crate::stage::Stage;
use crate::telemetry::Recorder;

pub use memory::MemoryDeadLetters;
#[cfg(feature = "sqs")]
pub use sqs::{
    SqsDeadLetters, ATTR_PAYLOAD_BYTES, ATTR_PAYLOAD_NOTE, ATTR_REASON, ATTR_SOURCE, ATTR_STAGE,
};

/// One record that no retry can fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The stage that gave up on it.
    pub stage: Stage,
    /// Why: `invalid-input: …` or `unknown-promotion`.
    pub reason: String,
    /// Where it came from: `topic/partition@offset` for Kafka, the message id for SQS.
    pub source: String,
    /// The original record: the Kafka value or SQS body as received.
    pub payload: String,
}

/// The dead-letter queue could not take the letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dead-letter queue unavailable for {sources:?}: {reason}")]
pub struct DeadLetterError {
    /// Sources of the letters not sent.
    pub sources: Vec<String>,
    /// What happened.
    pub reason: String,
}

impl Retryable for DeadLetterError {
    fn is_retryable(&self) -> bool {
        true
    }
}

/// Sends letters to the stage's dead-letter queue.
pub trait DeadLetterSink: Send + Sync {
    /// Sends every letter.
    fn send(
        &self,
        letters: Vec<DeadLetter>,
    ) -> impl Future<Output = Result<(), DeadLetterError>> + Send;
}

impl<D: DeadLetterSink + ?Sized> DeadLetterSink for std::sync::Arc<D> {
    fn send(
        &self,
        letters: Vec<DeadLetter>,
    ) -> impl Future<Output = Result<(), DeadLetterError>> + Send {
        (**self).send(letters)
    }
}

/// Sends `letters` in one call and, once they are sent, records a `dead-lettered` outcome for
/// each (nothing is sent or recorded for an empty list).
pub async fn send_recorded<D: DeadLetterSink>(
    sink: &D,
    letters: Vec<DeadLetter>,
    recorder: &Recorder<'_>,
) -> Result<(), DeadLetterError> {
    if letters.is_empty() {
        return Ok(());
    }
    let outcomes: Vec<Outcome> = letters
        .iter()
        .map(|letter| {
            tracing::warn!(stage = %letter.stage, source = %letter.source, reason = %letter.reason, "record dead-lettered");
            Outcome::DeadLettered {
                stage: letter.stage,
                reason: letter.reason.clone(),
            }
        })
        .collect();
    sink.send(letters).await?;
    for outcome in outcomes {
        recorder.outcome(outcome);
    }
    Ok(())
}
