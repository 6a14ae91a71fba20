//! How [`super::SqsTransport`] polls, and the SQS calls that failed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

    pub(super) fn push(&self, error: TransportError) {
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
