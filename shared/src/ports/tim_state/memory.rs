//! In-memory TIM state store, with the same conditional semantics as the DynamoDB one (the
//! same compliance cases run against both: [`super::compliance`]).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{
    RewardState, StateKey, StateUpdate, StoredState, TimStateError, TimStateStore, WriteResult,
};

/// TIM state in a map; counts writes so tests can check "one write per event".
#[derive(Debug, Default)]
pub struct MemoryTimStateStore {
    items: Mutex<HashMap<StateKey, StoredState>>,
    writes: Mutex<u64>,
}

impl MemoryTimStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many conditional writes were made.
    pub fn writes(&self) -> u64 {
        self.writes.lock().map(|writes| *writes).unwrap_or(0)
    }

    /// The stored state of a key.
    pub fn get(&self, key: &StateKey) -> Option<StoredState> {
        self.items.lock().ok()?.get(key).cloned()
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.items.lock().map(|items| items.len()).unwrap_or(0)
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TimStateStore for MemoryTimStateStore {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        if let Ok(mut writes) = self.writes.lock() {
            *writes += 1;
        }
        let mut items = self.items.lock().map_err(|_| TimStateError::Unavailable {
            key: key.partition_key(),
            reason: "store lock poisoned".into(),
        })?;
        let stored = items.get(key);
        if let Some(stored) = stored {
            if update.sequence <= stored.current.sequence {
                return Ok(WriteResult::Stale {
                    stored: stored.clone(),
                });
            }
        }
        let previous = stored.map(|stored| stored.current.clone());
        let mut progress = previous
            .as_ref()
            .map(|state| state.progress.clone())
            .unwrap_or_default();
        progress.extend(
            update
                .progress
                .iter()
                .map(|(scheme, current)| (scheme.clone(), *current)),
        );
        let current = RewardState {
            sequence: update.sequence,
            event_id: update.event_id.clone(),
            progress,
            award_emitted: update.awards
                || previous.as_ref().is_some_and(|state| state.award_emitted),
        };
        items.insert(
            key.clone(),
            StoredState {
                current,
                previous: previous.clone(),
                delivery: update.delivery.clone(),
            },
        );
        Ok(WriteResult::Applied { previous })
    }
}

#[cfg(test)]
mod tests {
    use super::super::compliance;
    use super::*;

    #[tokio::test]
    async fn meets_the_state_store_contract() {
        compliance::check_all(&MemoryTimStateStore::new(), "").await;
    }

    #[tokio::test]
    async fn every_advance_is_one_write() {
        let store = MemoryTimStateStore::new();
        compliance::write_all(&store, &compliance::key(""), &[1, 2, 2, 1]).await;
        assert_eq!(store.writes(), 4);
    }
}
