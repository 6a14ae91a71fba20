//! Shared library of the reward messaging pipeline.
//!
//! Everything the six Lambda functions have in common lives here, in modules named after what
//! they are:
//!
//! - [`model`]: the data of the product contract (activities, promotions, messages), as serde
//!   types with closed enums;
//! - [`envelope`]: the CloudEvent envelope between stages, with the stage timestamps;
//! - [`config`]: typed configuration read from environment variables;
//! - [`ports`]: the small traits the stage logic talks through (stores, publisher, dead-letter
//!   sink, clock, HTTP services), each with its in-memory implementation beside the AWS one;
//! - [`http`]: the HTTP clients of the services owned by other teams (PPH, CSL, OSG, DES);
//! - [`kafka`] and [`sqs`]: decoding Lambda's MSK and SQS event shapes, and the per-record
//!   batch driver that turns record results into a partial batch response;
//! - [`telemetry`]: JSON logs and CloudWatch Embedded Metric Format metrics;
//! - `runtime` (feature `runtime`): a function's start-up around its wiring, and the Lambda
//!   invocation loop.
#![deny(missing_docs)]

#[cfg(feature = "allocator")]
pub mod allocator;
#[cfg(feature = "https")]
pub mod aws;
pub mod cache;
pub mod config;
pub mod decision;
pub mod effects;
pub mod envelope;
pub mod error;
pub mod http;
pub mod ids;
pub mod kafka;
pub mod keys;
pub mod lambda_event;
pub mod limits;
pub mod locale;
pub mod model;
pub mod ports;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod secrets;
pub mod sqs;
pub mod stage;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
