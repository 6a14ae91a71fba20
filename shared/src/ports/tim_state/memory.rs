//! In-memory TIM state store, with the same conditional semantics as the DynamoDB one.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{
    RewardState, StateKey, StateUpdate, StoredState, TimStateError, TimStateStore, Unpublished,
    WriteResult,
};

/// TIM state in a map; counts writes so tests can check "one write per event".
#[derive(Debug, Default)]
pub struct MemoryTimStateStore {
    items: Mutex<HashMap<StateKey, StoredState>>,
    /// The marks of [`TimStateStore::mark_unpublished`], by key and event id.
    unpublished: Mutex<HashMap<(StateKey, String), Option<RewardState>>>,
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
                let unpublished =
                    self.unpublished.lock().ok().and_then(|marks| {
                        marks.get(&(key.clone(), update.event_id.clone())).cloned()
                    });
                return Ok(WriteResult::Stale {
                    stored: StoredState {
                        unpublished,
                        ..stored.clone()
                    },
                });
            }
        }
        let previous = stored.map(|stored| stored.current.clone());
        let earlier = Some(stored.and_then(|stored| stored.previous.clone()));
        let award_emitted =
            update.awards || previous.as_ref().is_some_and(|state| state.award_emitted);
        let current = RewardState {
            sequence: update.sequence,
            event_id: update.event_id.clone(),
            progress: update.progress.clone(),
            award_emitted,
        };
        items.insert(
            key.clone(),
            StoredState {
                current,
                previous: previous.clone(),
                earlier,
                unpublished: None,
            },
        );
        Ok(WriteResult::Applied { previous })
    }

    async fn mark_unpublished(&self, unpublished: &Unpublished) -> Result<(), TimStateError> {
        if let Ok(mut writes) = self.writes.lock() {
            *writes += 1;
        }
        let exists = self
            .items
            .lock()
            .map(|items| items.contains_key(&unpublished.key))
            .unwrap_or(false);
        if !exists {
            return Ok(());
        }
        let mut marks = self
            .unpublished
            .lock()
            .map_err(|_| TimStateError::Unavailable {
                key: unpublished.key.partition_key(),
                reason: "store lock poisoned".into(),
            })?;
        marks.insert(
            (unpublished.key.clone(), unpublished.event_id.clone()),
            unpublished.before.clone(),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StateKey {
        StateKey {
            account_id: "1".into(),
            promo_code: "P".into(),
            attempt_id: "A".into(),
        }
    }

    fn update(sequence: u64, awards: bool) -> StateUpdate {
        StateUpdate {
            sequence,
            event_id: format!("e{sequence}"),
            progress: [("rs".to_owned(), sequence)].into(),
            awards,
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn first_write_has_no_previous_state() {
        let store = MemoryTimStateStore::new();
        let result = store
            .advance(&key(), &update(1, false))
            .await
            .expect("write");
        assert_eq!(result, WriteResult::Applied { previous: None });
    }

    #[tokio::test]
    async fn newer_write_returns_the_previous_state() {
        let store = MemoryTimStateStore::new();
        store
            .advance(&key(), &update(1, true))
            .await
            .expect("write");
        let result = store
            .advance(&key(), &update(2, false))
            .await
            .expect("write");
        let WriteResult::Applied {
            previous: Some(previous),
        } = result
        else {
            panic!("expected applied with previous, got {result:?}");
        };
        assert_eq!(previous.sequence, 1);
        assert!(previous.award_emitted);
        let stored = store.get(&key()).expect("stored");
        assert!(stored.current.award_emitted, "awarded stays awarded");
        assert_eq!(stored.previous.map(|p| p.sequence), Some(1));
        assert_eq!(stored.earlier, Some(None), "sequence 1 was the first");
        store
            .advance(&key(), &update(3, false))
            .await
            .expect("write");
        let stored = store.get(&key()).expect("stored");
        assert_eq!(stored.earlier.flatten().map(|e| e.sequence), Some(1));
    }

    #[tokio::test]
    async fn equal_or_older_sequence_is_stale_and_writes_nothing() {
        let store = MemoryTimStateStore::new();
        store
            .advance(&key(), &update(5, false))
            .await
            .expect("write");
        for sequence in [5, 4] {
            let result = store
                .advance(&key(), &update(sequence, true))
                .await
                .expect("write");
            assert!(
                matches!(result, WriteResult::Stale { ref stored } if stored.current.sequence == 5)
            );
        }
        assert!(!store.get(&key()).expect("stored").current.award_emitted);
        assert_eq!(store.writes(), 3);
    }

    #[tokio::test]
    async fn a_marked_event_finds_its_state_before_however_many_writes_came_since() {
        let store = MemoryTimStateStore::new();
        store
            .advance(&key(), &update(1, false))
            .await
            .expect("write");
        let WriteResult::Applied { previous } = store
            .advance(&key(), &update(2, true))
            .await
            .expect("write")
        else {
            panic!("sequence 2 is newer");
        };
        store
            .mark_unpublished(&Unpublished {
                key: key(),
                event_id: "e2".into(),
                before: previous.clone(),
            })
            .await
            .expect("mark");
        for sequence in 3..=5 {
            store
                .advance(&key(), &update(sequence, false))
                .await
                .expect("write");
        }
        let WriteResult::Stale { stored } = store
            .advance(&key(), &update(2, true))
            .await
            .expect("write")
        else {
            panic!("sequence 2 is stale now");
        };
        assert_eq!(stored.unpublished, Some(previous));
        assert_eq!(stored.current.sequence, 5);
        let WriteResult::Stale { stored } = store
            .advance(&key(), &update(3, false))
            .await
            .expect("write")
        else {
            panic!("sequence 3 is stale");
        };
        assert_eq!(stored.unpublished, None, "only the marked event has a mark");
    }

    #[tokio::test]
    async fn marking_a_key_without_an_item_records_nothing() {
        let store = MemoryTimStateStore::new();
        store
            .mark_unpublished(&Unpublished {
                key: key(),
                event_id: "e1".into(),
                before: None,
            })
            .await
            .expect("mark");
        assert!(store.is_empty());
        let result = store
            .advance(&key(), &update(1, false))
            .await
            .expect("write");
        assert_eq!(result, WriteResult::Applied { previous: None });
    }
}
