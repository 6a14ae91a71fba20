//! The TIM state store's contract, as cases every adapter must pass: the in-memory store in
//! its unit tests, the DynamoDB one against a local DynamoDB (`tests/aws_adapters.rs`). The
//! same cases, so the two cannot drift apart.
//!
//! Each case writes only keys of its own (under the given prefix), so one table serves all.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::{RewardState, StateKey, StateUpdate, StoredState, TimStateStore, WriteResult};

/// What running a case on a store gives: a future borrowing the store and the prefix.
pub type CaseRun<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// One case of the contract.
pub struct Case<S> {
    /// What it checks.
    pub name: &'static str,
    /// Runs it on a store, with keys under a prefix; panics (naming the case) on a breach.
    pub run: for<'a> fn(&'a S, &'a str) -> CaseRun<'a>,
}

/// The key `{prefix}account` / `promo` / `attempt`.
pub fn key(prefix: &str) -> StateKey {
    StateKey {
        account_id: format!("{prefix}account"),
        promo_code: "promo".into(),
        attempt_id: "attempt".into(),
    }
}

/// An update of `sequence` naming these schemes.
pub fn update(sequence: u64, progress: &[(&str, u64)], awards: bool) -> StateUpdate {
    StateUpdate {
        sequence,
        event_id: format!("event-{sequence}"),
        progress: progress
            .iter()
            .map(|(scheme, current)| ((*scheme).to_owned(), *current))
            .collect(),
        awards,
        expires_at: None,
        delivery: format!("message-{sequence}"),
    }
}

/// Writes updates of these sequences (scheme `rs` at the sequence), answering in order.
pub async fn write_all<S: TimStateStore>(
    store: &S,
    key: &StateKey,
    sequences: &[u64],
) -> Vec<WriteResult> {
    let mut results = Vec::new();
    for &sequence in sequences {
        let result = store
            .advance(key, &update(sequence, &[("rs", sequence)], false))
            .await
            .unwrap_or_else(|error| panic!("write {sequence} of {key}: {error}"));
        results.push(result);
    }
    results
}

async fn advance<S: TimStateStore>(store: &S, key: &StateKey, update: StateUpdate) -> WriteResult {
    store
        .advance(key, &update)
        .await
        .unwrap_or_else(|error| panic!("write {} of {key}: {error}", update.sequence))
}

fn applied_previous(result: WriteResult) -> Option<RewardState> {
    match result {
        WriteResult::Applied { previous } => previous,
        WriteResult::Stale { stored } => panic!("expected the write applied, got stale {stored:?}"),
    }
}

fn stale(result: WriteResult) -> StoredState {
    match result {
        WriteResult::Stale { stored } => stored,
        WriteResult::Applied { previous } => {
            panic!("expected stale, got applied over {previous:?}")
        }
    }
}

fn progress(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
    entries
        .iter()
        .map(|(scheme, current)| ((*scheme).to_owned(), *current))
        .collect()
}

/// Reads the stored item back through a write that cannot apply (sequence 0).
async fn stored<S: TimStateStore>(store: &S, key: &StateKey) -> StoredState {
    stale(advance(store, key, update(0, &[], false)).await)
}

fn first_write_has_no_previous_state<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let key = key(prefix);
        let result = advance(store, &key, update(1, &[("rs", 1)], false)).await;
        assert_eq!(result, WriteResult::Applied { previous: None });
        let item = stored(store, &key).await;
        assert_eq!(item.current.sequence, 1);
        assert_eq!(item.current.event_id, "event-1");
        assert_eq!(item.current.progress, progress(&[("rs", 1)]));
        assert_eq!(item.previous, None);
    })
}

fn a_newer_write_answers_the_state_before_it<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let key = key(prefix);
        advance(store, &key, update(1, &[("rs", 1)], true)).await;
        let previous = applied_previous(advance(store, &key, update(3, &[("rs", 2)], false)).await)
            .expect("a previous state");
        assert_eq!(previous.sequence, 1);
        assert_eq!(previous.event_id, "event-1");
        assert!(previous.award_emitted);
        assert_eq!(previous.progress, progress(&[("rs", 1)]));
        let item = stored(store, &key).await;
        assert_eq!(item.current.sequence, 3);
        assert!(item.current.award_emitted, "an award stays awarded");
        assert_eq!(item.previous, Some(previous));
    })
}

fn an_equal_or_older_sequence_is_stale_and_changes_nothing<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let key = key(prefix);
        advance(store, &key, update(5, &[("rs", 5)], false)).await;
        let before = stored(store, &key).await;
        for sequence in [5, 4] {
            let answer = stale(advance(store, &key, update(sequence, &[("rs", 9)], true)).await);
            assert_eq!(answer, before, "the stale answer is the stored item");
        }
        assert_eq!(stored(store, &key).await, before, "nothing written");
        assert!(!before.current.award_emitted);
    })
}

fn progress_is_kept_per_reward_scheme<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let key = key(prefix);
        advance(store, &key, update(1, &[("a", 3), ("b", 1)], false)).await;
        let previous = applied_previous(advance(store, &key, update(2, &[("b", 2)], false)).await);
        assert_eq!(
            previous.map(|state| state.progress),
            Some(progress(&[("a", 3), ("b", 1)]))
        );
        let previous =
            applied_previous(advance(store, &key, update(3, &[("a", 3), ("b", 2)], false)).await);
        assert_eq!(
            previous.map(|state| state.progress),
            Some(progress(&[("a", 3), ("b", 2)])),
            "a scheme the event did not name keeps its value"
        );
        let previous = applied_previous(advance(store, &key, update(4, &[], false)).await);
        assert_eq!(
            previous.map(|state| state.progress),
            Some(progress(&[("a", 3), ("b", 2)]))
        );
        let item = stored(store, &key).await;
        assert_eq!(
            item.current.progress,
            progress(&[("a", 3), ("b", 2)]),
            "an event without entries keeps every scheme"
        );
    })
}

fn the_stale_answer_carries_the_state_before_the_latest_event<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let key = key(prefix);
        advance(store, &key, update(1, &[("a", 1), ("b", 4)], false)).await;
        advance(store, &key, update(2, &[("a", 2), ("c", 5)], true)).await;
        let answer = stale(advance(store, &key, update(2, &[("a", 2), ("c", 5)], true)).await);
        assert_eq!(answer.current.event_id, "event-2");
        assert_eq!(
            answer.current.progress,
            progress(&[("a", 2), ("b", 4), ("c", 5)])
        );
        assert!(answer.current.award_emitted);
        let previous = answer.previous.expect("the state before event 2");
        assert_eq!(previous.sequence, 1);
        assert_eq!(previous.event_id, "event-1");
        assert_eq!(previous.progress, progress(&[("a", 1), ("b", 4)]));
        assert!(!previous.award_emitted);
    })
}

fn keys_of_any_text_never_share_an_item<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let keys = [
            (format!("{prefix}a#b"), "c", "d"),
            (format!("{prefix}a"), "b#c", "d"),
            (format!("{prefix}a"), "b", "c#d"),
            (format!("{prefix}a%23b"), "c", "d"),
            (format!("{prefix}a/b ?é"), "c/d", "ü ?%"),
        ];
        for (sequence, (account, promo, attempt)) in keys.iter().enumerate() {
            let key = StateKey {
                account_id: account.clone(),
                promo_code: (*promo).to_owned(),
                attempt_id: (*attempt).to_owned(),
            };
            let result = advance(store, &key, update(sequence as u64 + 1, &[], false)).await;
            assert_eq!(
                result,
                WriteResult::Applied { previous: None },
                "{key} met another key's item"
            );
        }
    })
}

fn the_stored_state_names_the_message_that_carried_it<'a, S: TimStateStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let key = key(prefix);
        advance(store, &key, update(1, &[("rs", 1)], false)).await;
        assert_eq!(stored(store, &key).await.delivery, "message-1");
        // The same write again (a retry whose first answer was lost) finds its own message.
        let again = stale(advance(store, &key, update(1, &[("rs", 1)], false)).await);
        assert_eq!(again.delivery, "message-1");
        assert_eq!(again.current.event_id, "event-1");
        let mut other = update(2, &[("rs", 2)], false);
        other.delivery = "another-message".into();
        advance(store, &key, other).await;
        assert_eq!(stored(store, &key).await.delivery, "another-message");
    })
}

/// Every case, for a store type.
pub fn cases<S: TimStateStore>() -> Vec<Case<S>> {
    vec![
        Case {
            name: "first_write_has_no_previous_state",
            run: first_write_has_no_previous_state::<S>,
        },
        Case {
            name: "a_newer_write_answers_the_state_before_it",
            run: a_newer_write_answers_the_state_before_it::<S>,
        },
        Case {
            name: "an_equal_or_older_sequence_is_stale_and_changes_nothing",
            run: an_equal_or_older_sequence_is_stale_and_changes_nothing::<S>,
        },
        Case {
            name: "progress_is_kept_per_reward_scheme",
            run: progress_is_kept_per_reward_scheme::<S>,
        },
        Case {
            name: "the_stale_answer_carries_the_state_before_the_latest_event",
            run: the_stale_answer_carries_the_state_before_the_latest_event::<S>,
        },
        Case {
            name: "the_stored_state_names_the_message_that_carried_it",
            run: the_stored_state_names_the_message_that_carried_it::<S>,
        },
        Case {
            name: "keys_of_any_text_never_share_an_item",
            run: keys_of_any_text_never_share_an_item::<S>,
        },
    ]
}

/// Runs every case on `store`, each under `{prefix}{case name}/`.
pub async fn check_all<S: TimStateStore>(store: &S, prefix: &str) {
    for case in cases::<S>() {
        let case_prefix = format!("{prefix}{}/", case.name);
        (case.run)(store, &case_prefix).await;
    }
}
