//! BCG: renders decided reward events into onsite messages and delivers them through OSG, or
//! queues them to MSQ (spec section 5).
//!
//! Triggered by SQS `decided-events` (`rewards.decided`). For each event:
//!
//! 1. drop it as `expired` when the reward's expiry (the latest `expirationDate` of its
//!    progress entries) is at or before now ([`rules::expired`]), and as
//!    `no-delivery-preference` when DES gave none ([`rules::no_delivery_preference`]);
//! 2. render title and body ([`render`]) from the CSL template of (brand, message type,
//!    locale) — the activity's locale, else `DEFAULT_LOCALE`, falling back to `DEFAULT_LOCALE`
//!    when CSL has none for the activity's ([`rules::locale_fallback`]);
//! 3. give it a deterministic `messageId` ([`rules::message_id`]);
//! 4. a `REWARD_AWARDED` message on the cycle start day ([`rules::cycle_start`]) goes to MSQ,
//!    never to OSG; any other goes to OSG ([`rules::osg_or_msq`]): delivered (outcome `delivered` via `bcg`), or — when the customer
//!    is not onsite or OSG keeps failing — to MSQ (`rewards.message.queue` on
//!    `msq-inbound-queue`, outcome `queued` once it is published). A message is never lost: if
//!    the MSQ queue cannot take it, the record is reported for redelivery.
#![deny(missing_docs)]

pub mod config;
pub mod handler;
pub mod render;
pub mod rules;

pub use config::Config;
pub use handler::{Handler, Settings};
pub use rules::cycle_start::CycleStart;
