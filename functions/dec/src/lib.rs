//! DEC: the first stage. Reads CPP and EPPM activities from MSK, enriches them with promotion
//! data from PPH and emits CloudEvents: CPP activities to `cpp-enriched-events` (for TIM), EPPM
//! week-one unqualifications to `relevant-unqualification-events` (for FRED).
//!
//! - [`config`]: the environment variables DEC reads.
//! - [`decode`]: a Kafka record to a validated activity, or the reason it is bad.
//! - [`enrich`]: an activity and its promotion to the outgoing CloudEvent.
//! - [`handler`]: the batch: decode, fetch each promotion once, enrich, publish, dead-letter.
#![deny(missing_docs)]

pub mod config;
pub mod decode;
pub mod enrich;
pub mod handler;

pub use config::Config;
pub use handler::{DecError, Handler};
