//! MSQ's rules of the contract (spec section 5):
//!
//! - one message per customer, promotion attempt and message type, a newer one replacing the
//!   older and a repeat a no-op, writes conditional on `sequence`; a delete instruction
//!   removing the attempt's `REWARD_AWARDED` message and leaving a tombstone: the message
//!   store's contract ([`rewards_shared::ports::MessageStore`]), the same for the in-memory
//!   and DynamoDB stores;
//! - [`ttl`]: an item is kept until its reward's expiry, or for the maximum TTL;
//! - [`resend`]: on "customer online", the unexpired messages oldest first through OSG,
//!   each deleted only after a 200, stopping at a 404.

pub mod resend;
pub mod ttl;
