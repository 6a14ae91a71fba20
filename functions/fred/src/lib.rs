//! FRED: filters relevant reward events by its configuration, asks DES for a decision and
//! forwards only the events that have one (spec section 5).
//!
//! Triggered by SQS `relevant-events` (`rewards.relevant`) and
//! `relevant-unqualification-events` (`rewards.unqualification`); emits `rewards.decided` to
//! `decided-events`. Drops are `not-configured` (the filter) and `no-decision` (DES answered
//! `has-decision: false`; FRED never parses the body then).
#![deny(missing_docs)]

pub mod config;
pub mod handler;
pub mod rules;

pub use config::Config;
pub use handler::Handler;
pub use rules::not_configured::FredFilter;
