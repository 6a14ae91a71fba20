//! MSQ's message store port: messages kept for customers who are offline (spec section 5).
//!
//! Items are keyed by customer (`pk = {brand}#{accountId}`) and by kind of message
//! (`sk = {promoCode}#{attemptId}#{messageType}`), each component escaped by [`crate::keys`]
//! so that a `#` inside an identifier cannot split it, so a newer message of a kind replaces
//! the older one. Every write is conditional on `sequence`: it happens only when the item is absent
//! or holds a lower sequence, so a repeat is a no-op. An item is in one of three states:
//!
//! - `queued`: a message waiting for the customer;
//! - `delivered`: a marker left after OSG took the message, so a late repeat of the same
//!   message is not queued again;
//! - `tombstone`: left by a delete instruction (the reward was spent), so an award that
//!   arrives later with an older sequence is not queued.
//!
//! Items expire with the reward (`expiresAt`, the table's TTL attribute; MSQ gives a message
//! whose reward never expires its maximum TTL before storing it); since DynamoDB deletes
//! expired items late, readers skip them themselves.

#[cfg(any(test, feature = "testing"))]
pub mod compliance;
#[cfg(feature = "dynamodb")]
mod dynamodb;
mod memory;

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::error::Retryable;
use crate::keys;
use crate::model::{DeleteInstruction, MessageType, QueuedMessage};

#[cfg(feature = "dynamodb")]
pub use dynamodb::DynamoMessageStore;
pub use memory::MemoryMessageStore;

/// The partition key of a customer: `{brand}#{accountId}`, components escaped
/// ([`keys::join`]).
pub fn partition_key(brand: &str, account_id: &str) -> String {
    keys::join(&[brand, account_id])
}

/// The sort key of a kind of message: `{promoCode}#{attemptId}#{messageType}`, components
/// escaped ([`keys::join`]).
pub fn sort_key(promo_code: &str, attempt_id: &str, message_type: MessageType) -> String {
    keys::join(&[promo_code, attempt_id, message_type.as_str()])
}

/// The state of a stored item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    /// A message waiting for the customer.
    Queued,
    /// OSG took the message; the marker blocks a repeat.
    Delivered,
    /// The reward was spent; the marker blocks an older award.
    Tombstone,
}

impl ItemState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Delivered => "delivered",
            ItemState::Tombstone => "tombstone",
        }
    }
}

/// The answer to [`MessageStore::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutResult {
    /// Stored; `replaced` says whether an older message of the same kind was queued.
    Stored {
        /// An older queued message was replaced.
        replaced: bool,
    },
    /// Not stored: the item holds this sequence or a newer one, in the given state (a
    /// repeat, an older message, or one blocked by a tombstone).
    NotNewer {
        /// The stored item's state.
        state: ItemState,
    },
}

/// The answer to [`MessageStore::tombstone`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TombstoneResult {
    /// A queued award was removed and the tombstone left in its place.
    Deleted,
    /// No award was queued; the tombstone is left for one that may come later.
    Placed,
    /// The item already holds this sequence or a newer one: nothing changed.
    NotNewer,
}

/// A failure of the message store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageStoreError {
    /// Throttled, 5xx or timed out: retry.
    #[error("message store unavailable for {key}: {reason}")]
    Unavailable {
        /// `pk/sk` of the item.
        key: String,
        /// What happened.
        reason: String,
    },
    /// Anything else (a corrupt item, permissions): named, not retried.
    #[error("message store rejected {key}: {reason}")]
    Rejected {
        /// `pk/sk` of the item.
        key: String,
        /// What happened.
        reason: String,
    },
}

impl Retryable for MessageStoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, MessageStoreError::Unavailable { .. })
    }
}

/// Which messages are wanted from the store: the customer's, still worth showing at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingQuery<'a> {
    /// The brand the customer plays on.
    pub brand: &'a str,
    /// The customer.
    pub account_id: &'a str,
    /// Messages that expired by then are left out.
    pub now: DateTime<Utc>,
}

impl<'a> PendingQuery<'a> {
    /// The messages of `account_id` on `brand` that have not expired at `now`.
    pub fn new(brand: &'a str, account_id: &'a str, now: DateTime<Utc>) -> Self {
        PendingQuery {
            brand,
            account_id,
            now,
        }
    }

    /// The customer's partition key.
    pub fn partition_key(&self) -> String {
        partition_key(self.brand, self.account_id)
    }
}

/// MSQ's store of messages.
pub trait MessageStore: Send + Sync {
    /// Queues `message`, replacing an older one of its kind, unless the item holds its
    /// sequence or a newer one (one conditional write).
    fn put(
        &self,
        message: &QueuedMessage,
    ) -> impl Future<Output = Result<PutResult, MessageStoreError>> + Send;

    /// Removes the queued `REWARD_AWARDED` message of the instruction's attempt and leaves a
    /// tombstone with the instruction's sequence (one conditional write).
    fn tombstone(
        &self,
        instruction: &DeleteInstruction,
    ) -> impl Future<Output = Result<TombstoneResult, MessageStoreError>> + Send;

    /// The query's customer's queued messages that have not expired at its `now`, oldest
    /// first (by the activity's time, then sequence).
    fn pending(
        &self,
        query: PendingQuery<'_>,
    ) -> impl Future<Output = Result<Vec<QueuedMessage>, MessageStoreError>> + Send;

    /// After OSG took `message`: replaces it with a `delivered` marker, only if the item still
    /// holds that message (a newer replacement that arrived meanwhile survives). True when the
    /// marker was written.
    fn mark_delivered(
        &self,
        message: &QueuedMessage,
    ) -> impl Future<Output = Result<bool, MessageStoreError>> + Send;
}

impl<S: MessageStore + ?Sized> MessageStore for std::sync::Arc<S> {
    fn put(
        &self,
        message: &QueuedMessage,
    ) -> impl Future<Output = Result<PutResult, MessageStoreError>> + Send {
        (**self).put(message)
    }

    fn tombstone(
        &self,
        instruction: &DeleteInstruction,
    ) -> impl Future<Output = Result<TombstoneResult, MessageStoreError>> + Send {
        (**self).tombstone(instruction)
    }

    fn pending(
        &self,
        query: PendingQuery<'_>,
    ) -> impl Future<Output = Result<Vec<QueuedMessage>, MessageStoreError>> + Send {
        (**self).pending(query)
    }

    fn mark_delivered(
        &self,
        message: &QueuedMessage,
    ) -> impl Future<Output = Result<bool, MessageStoreError>> + Send {
        (**self).mark_delivered(message)
    }
}
