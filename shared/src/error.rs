//! The classification every error of the pipeline answers to.

/// Whether a failure may go away by itself (and so is worth a retry or a redelivery).
///
/// Transient failures (5xx, time-outs, throttling) are reported back to the event source so the
/// record comes again; permanent ones (bad input, unknown promotion) go to the dead-letter queue
/// at once, since no retry can fix them.
pub trait Retryable {
    /// True when retrying the same operation later may succeed.
    fn is_retryable(&self) -> bool;
}
