//! Logs and metrics for CloudWatch.
//!
//! - [`logging`]: JSON log lines through `tracing`, with the stage, correlation id, CloudEvent
//!   id and Lambda request id from the spans around each record.
//! - [`metrics`]: CloudWatch Embedded Metric Format documents.
//! - [`Recorder`]: what a handler holds for one invocation: outcomes go to the outcome sink
//!   and are counted, and the metrics are flushed as EMF at the end.

pub mod logging;
pub mod metrics;
mod recorder;

pub use recorder::{CacheCounters, MetricsOut, Recorder, Telemetry};
