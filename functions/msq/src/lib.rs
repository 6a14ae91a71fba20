//! MSQ: keeps onsite messages for customers who are offline and resends them when they come
//! online (spec section 5).
//!
//! One Lambda, three triggers, one entry point ([`Handler::handle`] on an [`MsqEvent`]):
//!
//! - SQS `msq-inbound-queue` (`rewards.message.queue`): the message is stored
//!   ([`rewards_shared::ports::MessageStore::put`]); a newer message of the same kind replaces
//!   the older one, a repeat or older one is a no-op. BCG already recorded the `queued`
//!   outcome, so MSQ records none (only metrics).
//! - SQS `msq-inbound-delete` (`rewards.message.delete`): the queued `REWARD_AWARDED` message
//!   of the attempt is removed and a tombstone left (outcome `deleted` when one was removed),
//!   so an award that arrives later is not queued.
//! - MSK `{dc}.{brand}.customer.online` ([`rewards_shared::model::CustomerOnline`]): the
//!   customer's unexpired messages are resent through OSG oldest first ([`rules::resend`]), each
//!   keeping its `messageId`; each is marked delivered only after OSG answered 200 (outcome
//!   `delivered` via `msq`); a 404 stops the resend.
//!
//! SQS records are dispatched by CloudEvent type, so one handler serves both queues; bad
//! records go to MSQ's dead-letter queue and transient failures are reported in
//! `batchItemFailures`. For MSK, a bad record is dead-lettered and a transient failure fails
//! the invocation ([`MsqError`]) so the batch is redelivered; resending is idempotent (only
//! still-queued messages are sent, and OSG dedupes by `messageId`).
#![deny(missing_docs)]

pub mod config;
pub mod event;
pub mod handler;
pub mod rules;

pub use config::Config;
pub use event::{MsqError, MsqEvent, MsqResponse};
pub use handler::Handler;
