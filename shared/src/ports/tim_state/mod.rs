//! TIM's state store port: the reward state of one `(accountId, promoCode, attemptId)`.
//!
//! One event costs one conditional write and no read. [`TimStateStore::advance`] writes the
//! event's state only when its sequence is above the stored one, and answers with what was
//! there before — on success the previous state, on a failed condition the stored one — which
//! DynamoDB gives in the same call (`UpdateItem` with `ReturnValues=ALL_OLD` and
//! `ReturnValuesOnConditionCheckFailure=ALL_OLD`).
//!
//! Progress is kept per reward scheme: an event's entries update their own schemes, and a
//! scheme the event does not name keeps its stored value.
//!
//! The stored item also keeps the state *before* its latest event ([`StoredState::previous`]),
//! written by the same update, and the queue message that carried the latest event
//! ([`StoredState::delivery`]), for TIM's redelivery rule (`functions/tim/src/rules/redelivery.rs`
//! explains it and decides with it).

#[cfg(any(test, feature = "testing"))]
pub mod compliance;
#[cfg(feature = "dynamodb")]
mod dynamodb;
mod memory;

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::error::Retryable;

#[cfg(feature = "dynamodb")]
pub use dynamodb::DynamoTimStateStore;
pub use memory::MemoryTimStateStore;

/// The key of a reward state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    /// The customer.
    pub account_id: String,
    /// The promotion.
    pub promo_code: String,
    /// The attempt.
    pub attempt_id: String,
}

impl StateKey {
    /// The partition key value: `{accountId}#{promoCode}#{attemptId}`, components escaped
    /// ([`crate::keys::join`]) so that no two keys share it.
    pub fn partition_key(&self) -> String {
        crate::keys::join(&[&self.account_id, &self.promo_code, &self.attempt_id])
    }
}

impl std::fmt::Display for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.account_id, self.promo_code, self.attempt_id
        )
    }
}

/// The reward state after one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewardState {
    /// The sequence of the event that wrote it.
    pub sequence: u64,
    /// The id of the event that wrote it.
    pub event_id: String,
    /// `current` per reward scheme, as of that event: every scheme seen for the key, each with
    /// the value of the latest event that named it.
    pub progress: BTreeMap<String, u64>,
    /// Whether an award message was emitted for the key.
    pub award_emitted: bool,
}

/// What TIM writes for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateUpdate {
    /// The event's sequence: the write happens only if it is above the stored one.
    pub sequence: u64,
    /// The event's id.
    pub event_id: String,
    /// `current` of each reward scheme the event names (the others keep their stored value).
    pub progress: BTreeMap<String, u64>,
    /// True for an award: marks the key as awarded (it stays awarded).
    pub awards: bool,
    /// The reward's expiry: the store keeps the state until then (plus its grace period).
    pub expires_at: Option<DateTime<Utc>>,
    /// The queue message that carried the event (its SQS `messageId`), kept with the state.
    /// A write that finds its own event stored tells by it whether the stored state came from
    /// this very message — an earlier receive of it, or an attempt of this same write whose
    /// answer was lost and which the SDK retried — or from another copy of the event.
    pub delivery: String,
}

/// The item as stored: the latest state and the one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredState {
    /// State after the latest event.
    pub current: RewardState,
    /// State before the latest event (`None` if it was the key's first).
    pub previous: Option<RewardState>,
    /// The queue message that carried the latest event ([`StateUpdate::delivery`]); empty for
    /// items written before deliveries were kept.
    pub delivery: String,
}

/// The answer to one conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    /// The event was newer: its state is stored. `previous` is what was there before.
    Applied {
        /// The state before this event (`None` for the first event of the key).
        previous: Option<RewardState>,
    },
    /// The event's sequence is not above the stored one: nothing was written.
    Stale {
        /// What is stored.
        stored: StoredState,
    },
}

/// A failure of the state store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimStateError {
    /// Throttled, 5xx or timed out: retry.
    #[error("state store unavailable for {key}: {reason}")]
    Unavailable {
        /// The key written.
        key: String,
        /// What happened.
        reason: String,
    },
    /// Anything else (permissions, validation, a corrupt item): named, not retried.
    #[error("state store rejected {key}: {reason}")]
    Rejected {
        /// The key written.
        key: String,
        /// What happened.
        reason: String,
    },
}

impl Retryable for TimStateError {
    fn is_retryable(&self) -> bool {
        matches!(self, TimStateError::Unavailable { .. })
    }
}

/// TIM's state store.
pub trait TimStateStore: Send + Sync {
    /// Writes `update` for `key` if its sequence is above the stored one (one conditional
    /// write), answering with the state before, or the stored state when it is not newer.
    fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> impl Future<Output = Result<WriteResult, TimStateError>> + Send;
}

impl<S: TimStateStore + ?Sized> TimStateStore for std::sync::Arc<S> {
    fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> impl Future<Output = Result<WriteResult, TimStateError>> + Send {
        (**self).advance(key, update)
    }
}
