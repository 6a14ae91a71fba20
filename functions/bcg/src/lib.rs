//! BCG: renders decided reward events into onsite messages and delivers them through OSG, or
//! queues them to MSQ (spec section 5).
//!
//! Triggered by SQS `decided-events` (`rewards.decided`). For each event:
//!
//! 1. drop it as `expired` when the reward's expiry (the latest `expirationDate` of its
//!    progress entries) is at or before now, and as `no-delivery-preference` when DES gave
//!    none;
//! 2. render title and body from the CSL template of (brand, message type, locale) — the
//!    activity's locale, else `DEFAULT_LOCALE`, falling back to `DEFAULT_LOCALE` when CSL has
//!    none for the activity's ([`render`]);
//! 3. give it a deterministic `messageId` ([`message_id`]);
//! 4. a `REWARD_AWARDED` message on the cycle start day ([`cycle`]) goes to MSQ, never to OSG;
//!    any other goes to OSG: delivered (outcome `delivered` via `bcg`), or — when the customer
//!    is not onsite or OSG keeps failing — to MSQ (`rewards.message.queue` on
//!    `msq-inbound-queue`, outcome `queued` once it is published). A message is never lost: if
//!    the MSQ queue cannot take it, the record is reported for redelivery.
#![deny(missing_docs)]

pub mod config;
pub mod cycle;
pub mod handler;
pub mod message_id;
pub mod render;

pub use config::Config;
pub use cycle::CycleStart;
pub use handler::{Handler, Settings};
