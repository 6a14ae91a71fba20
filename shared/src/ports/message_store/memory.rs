//! In-memory message store, with the same conditional semantics as the DynamoDB one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    partition_key, sort_key, ItemState, MessageStore, MessageStoreError, PendingQuery, PutResult,
    TombstoneResult,
};
use crate::model::{DeleteInstruction, MessageType, QueuedMessage};

type Items = BTreeMap<(String, String), Item>;

#[derive(Debug, Clone)]
struct Item {
    state: ItemState,
    sequence: u64,
    message: Option<QueuedMessage>,
}

/// Items in an ordered map keyed by `(pk, sk)`.
#[derive(Debug, Default)]
pub struct MemoryMessageStore {
    items: Mutex<Items>,
}

impl MemoryMessageStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state of an item, if there is one.
    pub fn state(&self, pk: &str, sk: &str) -> Option<ItemState> {
        let items = self.items.lock().ok()?;
        items
            .get(&(pk.to_owned(), sk.to_owned()))
            .map(|item| item.state)
    }

    fn lock(&self, key: &str) -> Result<std::sync::MutexGuard<'_, Items>, MessageStoreError> {
        self.items
            .lock()
            .map_err(|_| MessageStoreError::Unavailable {
                key: key.to_owned(),
                reason: "lock poisoned".into(),
            })
    }
}

fn message_key(message: &QueuedMessage) -> (String, String) {
    let onsite = &message.message;
    (
        partition_key(&onsite.brand, &onsite.account_id),
        sort_key(&onsite.promo_code, &message.attempt_id, onsite.message_type),
    )
}

impl MessageStore for MemoryMessageStore {
    async fn put(&self, message: &QueuedMessage) -> Result<PutResult, MessageStoreError> {
        let key = message_key(message);
        let mut items = self.lock(&key.0)?;
        if let Some(item) = items.get(&key) {
            if item.sequence >= message.sequence {
                return Ok(PutResult::NotNewer { state: item.state });
            }
        }
        let replaced = items
            .get(&key)
            .is_some_and(|item| item.state == ItemState::Queued);
        items.insert(
            key,
            Item {
                state: ItemState::Queued,
                sequence: message.sequence,
                message: Some(message.clone()),
            },
        );
        Ok(PutResult::Stored { replaced })
    }

    async fn tombstone(
        &self,
        instruction: &DeleteInstruction,
    ) -> Result<TombstoneResult, MessageStoreError> {
        let key = (
            partition_key(&instruction.brand, &instruction.account_id),
            sort_key(
                &instruction.promo_code,
                &instruction.attempt_id,
                MessageType::RewardAwarded,
            ),
        );
        let mut items = self.lock(&key.0)?;
        let previous = items.get(&key).cloned();
        if let Some(item) = &previous {
            if item.sequence >= instruction.sequence {
                return Ok(TombstoneResult::NotNewer);
            }
        }
        items.insert(
            key,
            Item {
                state: ItemState::Tombstone,
                sequence: instruction.sequence,
                message: None,
            },
        );
        Ok(match previous {
            Some(item) if item.state == ItemState::Queued => TombstoneResult::Deleted,
            _ => TombstoneResult::Placed,
        })
    }

    async fn pending(
        &self,
        query: PendingQuery<'_>,
    ) -> Result<Vec<QueuedMessage>, MessageStoreError> {
        let pk = query.partition_key();
        let items = self.lock(&pk)?;
        let mut pending: Vec<QueuedMessage> = items
            .iter()
            .filter(|((item_pk, _), item)| *item_pk == pk && item.state == ItemState::Queued)
            .filter_map(|(_, item)| item.message.clone())
            .filter(|message| {
                message
                    .message
                    .expires_at
                    .is_none_or(|expiry| expiry > query.now)
            })
            .collect();
        pending.sort_by_key(|message| (message.occurred_at, message.sequence));
        Ok(pending)
    }

    async fn mark_delivered(&self, message: &QueuedMessage) -> Result<bool, MessageStoreError> {
        let key = message_key(message);
        let mut items = self.lock(&key.0)?;
        match items.get_mut(&key) {
            Some(item) if item.state == ItemState::Queued && item.sequence == message.sequence => {
                item.state = ItemState::Delivered;
                item.message = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn meets_the_message_store_contract() {
        super::super::compliance::check_all(&MemoryMessageStore::new(), "").await;
    }
}
