//! TIM: dedupes enriched activities by `(accountId, promoCode, attemptId)` and applies the
//! reward state rules (spec section 4) with one conditional DynamoDB write per event and no read.
//!
//! - [`config`]: the environment variables TIM reads.
//! - [`rules`]: the state rules, one file each (tag filter, progress, redelivery) around the
//!   rule table, as pure functions of the activity and the previous state.
//! - [`record`]: one record: decode, filter, write, decide, build the outgoing events.
//! - [`handler`]: the batch: records of a key in sequence order, keys concurrently (bounded),
//!   effects published in one call, bad records dead-lettered, transient failures reported.
#![deny(missing_docs)]

pub mod config;
pub mod handler;
pub mod record;
pub mod rules;

pub use config::Config;
pub use handler::Handler;
