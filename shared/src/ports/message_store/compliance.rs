//! The message store's contract, as cases every adapter must pass: the in-memory store in its
//! unit tests, the DynamoDB one against a local DynamoDB (`tests/aws_adapters.rs`). The same
//! cases, so the two cannot drift apart.
//!
//! Each case stores messages only for customers of its own (under the given prefix), so one
//! table serves all.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use super::{ItemState, MessageStore, PendingQuery, PutResult, TombstoneResult};
use crate::model::{DeleteInstruction, DeliveryFormat, MessageType, OnsiteMessage, QueuedMessage};

/// What running a case on a store gives: a future borrowing the store and the prefix.
pub type CaseRun<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// One case of the contract.
pub struct Case<S> {
    /// What it checks.
    pub name: &'static str,
    /// Runs it on a store, for customers under a prefix; panics (naming the case) on a breach.
    pub run: for<'a> fn(&'a S, &'a str) -> CaseRun<'a>,
}

const BRAND: &str = "skybet";
const ATTEMPT: &str = "2026-W47";

fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|error| panic!("date {text}: {error}"))
}

fn now() -> DateTime<Utc> {
    at("2026-11-18T10:00:00Z")
}

/// A queued message of `account`, `promo` (attempt `2026-W47`), expiring on 2026-11-23.
pub fn queued(
    account: &str,
    promo: &str,
    message_type: MessageType,
    sequence: u64,
    occurred_at: &str,
) -> QueuedMessage {
    QueuedMessage {
        message: OnsiteMessage {
            message_id: format!("msg-{promo}-{}-{sequence}", message_type.as_str()),
            account_id: account.into(),
            brand: BRAND.into(),
            message_type,
            format: DeliveryFormat::Toast,
            title: "Keep going!".into(),
            body: format!("{sequence} of 5 done"),
            promo_code: promo.into(),
            promo_url: "https://example.test/promo".into(),
            correlation_id: "corr-1".into(),
            expires_at: Some(at("2026-11-23T23:59:59Z")),
        },
        attempt_id: ATTEMPT.into(),
        sequence,
        occurred_at: at(occurred_at),
    }
}

/// The delete instruction of `account`'s attempt of `promo`.
pub fn delete(account: &str, promo: &str, sequence: u64) -> DeleteInstruction {
    DeleteInstruction {
        account_id: account.into(),
        brand: BRAND.into(),
        promo_code: promo.into(),
        attempt_id: ATTEMPT.into(),
        sequence,
        expires_at: Some(at("2026-11-23T23:59:59Z")),
    }
}

async fn put<S: MessageStore>(store: &S, message: &QueuedMessage) -> PutResult {
    store
        .put(message)
        .await
        .unwrap_or_else(|error| panic!("put {}: {error}", message.message.message_id))
}

async fn tombstone<S: MessageStore>(store: &S, instruction: &DeleteInstruction) -> TombstoneResult {
    store
        .tombstone(instruction)
        .await
        .unwrap_or_else(|error| panic!("tombstone {}: {error}", instruction.sequence))
}

async fn pending<S: MessageStore>(store: &S, account: &str) -> Vec<QueuedMessage> {
    store
        .pending(PendingQuery::new(BRAND, account, now()))
        .await
        .unwrap_or_else(|error| panic!("pending of {account}: {error}"))
}

async fn mark<S: MessageStore>(store: &S, message: &QueuedMessage) -> bool {
    store
        .mark_delivered(message)
        .await
        .unwrap_or_else(|error| panic!("mark {}: {error}", message.message.message_id))
}

fn a_newer_message_replaces_an_older_one_and_repeats_change_nothing<'a, S: MessageStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let account = format!("{prefix}10048213");
        let first = queued(
            &account,
            "P",
            MessageType::Progress,
            3,
            "2026-11-16T09:30:00Z",
        );
        let newer = queued(
            &account,
            "P",
            MessageType::Progress,
            4,
            "2026-11-16T09:40:00Z",
        );
        assert_eq!(
            put(store, &first).await,
            PutResult::Stored { replaced: false }
        );
        assert_eq!(
            put(store, &newer).await,
            PutResult::Stored { replaced: true }
        );
        let queued_state = PutResult::NotNewer {
            state: ItemState::Queued,
        };
        assert_eq!(put(store, &newer).await, queued_state, "a repeat");
        assert_eq!(put(store, &first).await, queued_state, "an older one");
        assert_eq!(pending(store, &account).await, vec![newer]);
    })
}

fn a_tombstone_before_the_award_blocks_it<'a, S: MessageStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let account = format!("{prefix}10048213");
        let instruction = delete(&account, "P", 9);
        assert_eq!(
            tombstone(store, &instruction).await,
            TombstoneResult::Placed
        );
        let award = queued(
            &account,
            "P",
            MessageType::RewardAwarded,
            8,
            "2026-11-16T09:30:00Z",
        );
        assert_eq!(
            put(store, &award).await,
            PutResult::NotNewer {
                state: ItemState::Tombstone
            }
        );
        assert_eq!(
            tombstone(store, &instruction).await,
            TombstoneResult::NotNewer
        );
        assert!(pending(store, &account).await.is_empty());
    })
}

fn a_tombstone_after_the_award_deletes_only_the_award<'a, S: MessageStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let account = format!("{prefix}10048213");
        let award = queued(
            &account,
            "P",
            MessageType::RewardAwarded,
            8,
            "2026-11-16T09:30:00Z",
        );
        let progress = queued(
            &account,
            "P",
            MessageType::Progress,
            7,
            "2026-11-16T09:20:00Z",
        );
        put(store, &award).await;
        put(store, &progress).await;
        assert_eq!(
            tombstone(store, &delete(&account, "P", 9)).await,
            TombstoneResult::Deleted
        );
        assert_eq!(pending(store, &account).await, vec![progress]);
        assert_eq!(
            tombstone(store, &delete(&account, "P", 2)).await,
            TombstoneResult::NotNewer,
            "an older instruction changes nothing"
        );
    })
}

fn pending_is_oldest_first_without_expired_delivered_or_others<'a, S: MessageStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let account = format!("{prefix}10048213");
        let late = queued(
            &account,
            "A",
            MessageType::Progress,
            2,
            "2026-11-17T12:00:00Z",
        );
        let early = queued(&account, "B", MessageType::OptIn, 1, "2026-11-16T08:00:00Z");
        let middle = queued(
            &account,
            "C",
            MessageType::Unqualification,
            5,
            "2026-11-16T20:00:00Z",
        );
        let mut expired = queued(
            &account,
            "D",
            MessageType::Progress,
            3,
            "2026-11-15T08:00:00Z",
        );
        expired.message.expires_at = Some(at("2026-11-18T09:59:59Z"));
        let mut no_expiry = queued(&account, "E", MessageType::OptIn, 4, "2026-11-17T13:00:00Z");
        no_expiry.message.expires_at = None;
        let delivered = queued(
            &account,
            "F",
            MessageType::Progress,
            6,
            "2026-11-15T00:00:00Z",
        );
        let other = queued(
            &format!("{prefix}999"),
            "A",
            MessageType::Progress,
            2,
            "2026-11-15T00:00:00Z",
        );
        for message in [
            &late, &early, &middle, &expired, &no_expiry, &delivered, &other,
        ] {
            put(store, message).await;
        }
        assert!(mark(store, &delivered).await);
        assert_eq!(
            pending(store, &account).await,
            vec![early, middle, late, no_expiry]
        );
    })
}

fn a_delivered_marker_is_left_only_over_the_message_sent<'a, S: MessageStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let account = format!("{prefix}10048213");
        let sent = queued(
            &account,
            "P",
            MessageType::Progress,
            3,
            "2026-11-16T09:30:00Z",
        );
        let replacement = queued(
            &account,
            "P",
            MessageType::Progress,
            4,
            "2026-11-16T09:40:00Z",
        );
        put(store, &sent).await;
        put(store, &replacement).await;
        assert!(!mark(store, &sent).await, "a newer message replaced it");
        assert_eq!(pending(store, &account).await, vec![replacement.clone()]);
        assert!(mark(store, &replacement).await);
        assert!(!mark(store, &replacement).await, "marked already");
        assert_eq!(
            put(store, &replacement).await,
            PutResult::NotNewer {
                state: ItemState::Delivered
            },
            "the marker blocks a late repeat"
        );
        let never = queued(
            &account,
            "OTHER",
            MessageType::Progress,
            1,
            "2026-11-16T09:30:00Z",
        );
        assert!(!mark(store, &never).await, "a message never stored");
    })
}

fn identifiers_of_any_text_never_share_an_item<'a, S: MessageStore>(
    store: &'a S,
    prefix: &'a str,
) -> CaseRun<'a> {
    Box::pin(async move {
        let account = format!("{prefix}a#b/ ?é%");
        let mut first = queued(
            &account,
            "WEEK#1",
            MessageType::Progress,
            1,
            "2026-11-16T09:30:00Z",
        );
        first.attempt_id = "A".into();
        let mut second = queued(
            &account,
            "WEEK",
            MessageType::Progress,
            1,
            "2026-11-16T09:40:00Z",
        );
        second.attempt_id = "1#A".into();
        assert_eq!(
            put(store, &first).await,
            PutResult::Stored { replaced: false }
        );
        assert_eq!(
            put(store, &second).await,
            PutResult::Stored { replaced: false },
            "another promotion and attempt is another item"
        );
        assert_eq!(pending(store, &account).await, vec![first, second]);
    })
}

/// Every case, for a store type.
pub fn cases<S: MessageStore>() -> Vec<Case<S>> {
    vec![
        Case {
            name: "a_newer_message_replaces_an_older_one_and_repeats_change_nothing",
            run: a_newer_message_replaces_an_older_one_and_repeats_change_nothing::<S>,
        },
        Case {
            name: "a_tombstone_before_the_award_blocks_it",
            run: a_tombstone_before_the_award_blocks_it::<S>,
        },
        Case {
            name: "a_tombstone_after_the_award_deletes_only_the_award",
            run: a_tombstone_after_the_award_deletes_only_the_award::<S>,
        },
        Case {
            name: "pending_is_oldest_first_without_expired_delivered_or_others",
            run: pending_is_oldest_first_without_expired_delivered_or_others::<S>,
        },
        Case {
            name: "a_delivered_marker_is_left_only_over_the_message_sent",
            run: a_delivered_marker_is_left_only_over_the_message_sent::<S>,
        },
        Case {
            name: "identifiers_of_any_text_never_share_an_item",
            run: identifiers_of_any_text_never_share_an_item::<S>,
        },
    ]
}

/// Runs every case on `store`, each for customers under `{prefix}{case index}-` (an index
/// rather than the case's name keeps account ids short).
pub async fn check_all<S: MessageStore>(store: &S, prefix: &str) {
    for (index, case) in cases::<S>().into_iter().enumerate() {
        let case_prefix = format!("{prefix}{index}-");
        (case.run)(store, &case_prefix).await;
    }
}
