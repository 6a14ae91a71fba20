//! What was expected, and what was delivered.
//!
//! A **logical message** is `(accountId, promoCode, attemptId, messageType, sequence)`: what
//! the customer is meant to see once. What a customer saw is the OSG stand-in's log
//! ([`MemoryOnsiteGateway::delivered`]), each message traced to its logical message through
//! its correlation id and the generator's [`Catalog`] — not through its message id, so a
//! message shown under two ids is caught.
//!
//! The clean run (no fault) tells which logical messages are **expected**: the ones its
//! customers saw. In the faulty run each expected message is either delivered, or accounted
//! for by the contract, or **lost**:
//!
//! - **spent**: an award MSQ held whose attempt got a delete instruction (tombstone) with a
//!   later sequence (spec section 5);
//! - **replaced in MSQ**: MSQ held it, and then a newer message of the same kind for the same
//!   attempt, which replaces it (spec section 5);
//! - **expired**: MSQ held it and the reward expired before the customer came back;
//! - **superseded at TIM**: TIM never applied its activity, because a newer activity of the
//!   same key was applied first (reordered deliveries): TIM drops an event whose sequence is
//!   not above the stored one, whatever its status (spec section 4). An activity TIM did
//!   apply must yield its message: if it does not, the message is lost.
//!
//! Everything else not delivered is lost. **Shown twice** is a logical message the customer
//! saw under two message ids, or an award first shown after MSQ deleted it. A repeat of one
//! message id (OSG dedupes on it) is counted, and allowed.
//!
//! The [`Journal`] records, through [`Observed`] wrappers placed under the fault wrappers (so
//! only effects that really happened are seen), what TIM applied, what MSQ held and deleted,
//! and when each message id was first shown.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rewards_shared::model::{DeleteInstruction, MessageType, OnsiteMessage, QueuedMessage};
use rewards_shared::ports::{
    Delivery, MemoryOnsiteGateway, MessageStore, MessageStoreError, OnsiteError, OnsiteGateway,
    Outcome, PendingQuery, PutResult, StateKey, StateUpdate, TimStateError, TimStateStore,
    TombstoneResult, WriteResult,
};
use serde::Serialize;

use super::generator::Catalog;
use scenario_runner::report::Trace;

mod compare;
pub use compare::{compare, Figures};

/// What the customer is meant to see once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalMessage {
    /// The customer.
    pub account_id: String,
    /// The promotion.
    pub promo_code: String,
    /// The attempt.
    pub attempt_id: String,
    /// The kind of message.
    pub message_type: MessageType,
    /// The activity's sequence (0 for EPPM unqualifications).
    pub sequence: u64,
}

impl std::fmt::Display for LogicalMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{} {} #{}",
            self.account_id, self.promo_code, self.attempt_id, self.message_type, self.sequence
        )
    }
}

/// `(accountId, promoCode, attemptId)`.
type AttemptKey = (String, String, String);

#[derive(Debug, Default, Clone)]
struct JournalState {
    tick: u64,
    tim_applied: HashSet<(AttemptKey, u64)>,
    tim_highest: HashMap<AttemptKey, u64>,
    msq_offered: HashMap<LogicalMessage, Option<DateTime<Utc>>>,
    msq_held: HashMap<(AttemptKey, MessageType), u64>,
    tombstones: HashMap<AttemptKey, (u64, u64)>,
    shown_at: HashMap<String, u64>,
}

/// The effects one run really had, as seen under the fault wrappers.
#[derive(Debug, Default)]
pub struct Journal {
    state: Mutex<JournalState>,
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut JournalState) -> R) -> R {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    fn snapshot(&self) -> JournalState {
        self.with(|state| state.clone())
    }
}

/// A port whose effects are written in a [`Journal`].
#[derive(Debug, Clone)]
pub struct Observed<P> {
    inner: P,
    journal: Arc<Journal>,
}

impl<P> Observed<P> {
    /// `inner`, journalled in `journal`.
    pub fn new(inner: P, journal: Arc<Journal>) -> Self {
        Observed { inner, journal }
    }
}

fn attempt_key(account_id: &str, promo_code: &str, attempt_id: &str) -> AttemptKey {
    (
        account_id.to_owned(),
        promo_code.to_owned(),
        attempt_id.to_owned(),
    )
}

fn queued_logical(queued: &QueuedMessage) -> LogicalMessage {
    LogicalMessage {
        account_id: queued.message.account_id.clone(),
        promo_code: queued.message.promo_code.clone(),
        attempt_id: queued.attempt_id.clone(),
        message_type: queued.message.message_type,
        sequence: queued.sequence,
    }
}

impl<S: TimStateStore> TimStateStore for Observed<S> {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        let result = self.inner.advance(key, update).await;
        if let Ok(WriteResult::Applied { .. }) = &result {
            let attempt = attempt_key(&key.account_id, &key.promo_code, &key.attempt_id);
            self.journal.with(|state| {
                let highest = state.tim_highest.entry(attempt.clone()).or_insert(0);
                *highest = (*highest).max(update.sequence);
                state.tim_applied.insert((attempt, update.sequence));
            });
        }
        result
    }
}

impl<S: MessageStore> MessageStore for Observed<S> {
    async fn put(&self, message: &QueuedMessage) -> Result<PutResult, MessageStoreError> {
        let result = self.inner.put(message).await;
        if result.is_ok() {
            let logical = queued_logical(message);
            let item = (
                attempt_key(
                    &logical.account_id,
                    &logical.promo_code,
                    &logical.attempt_id,
                ),
                logical.message_type,
            );
            self.journal.with(|state| {
                if let Ok(PutResult::Stored { .. }) = &result {
                    let held = state.msq_held.entry(item).or_insert(0);
                    *held = (*held).max(message.sequence);
                }
                state
                    .msq_offered
                    .insert(logical, message.message.expires_at);
            });
        }
        result
    }

    async fn tombstone(
        &self,
        instruction: &DeleteInstruction,
    ) -> Result<TombstoneResult, MessageStoreError> {
        let result = self.inner.tombstone(instruction).await;
        if let Ok(TombstoneResult::Deleted | TombstoneResult::Placed) = &result {
            let attempt = attempt_key(
                &instruction.account_id,
                &instruction.promo_code,
                &instruction.attempt_id,
            );
            self.journal.with(|state| {
                state.tick += 1;
                let tick = state.tick;
                let held = state
                    .msq_held
                    .entry((attempt.clone(), MessageType::RewardAwarded))
                    .or_insert(0);
                *held = (*held).max(instruction.sequence);
                state
                    .tombstones
                    .entry(attempt)
                    .or_insert((instruction.sequence, tick));
            });
        }
        result
    }

    async fn pending(
        &self,
        query: PendingQuery<'_>,
    ) -> Result<Vec<QueuedMessage>, MessageStoreError> {
        self.inner.pending(query).await
    }

    async fn mark_delivered(&self, message: &QueuedMessage) -> Result<bool, MessageStoreError> {
        self.inner.mark_delivered(message).await
    }
}

impl<G: OnsiteGateway> OnsiteGateway for Observed<G> {
    async fn deliver(&self, message: &OnsiteMessage) -> Result<Delivery, OnsiteError> {
        let result = self.inner.deliver(message).await;
        if let Ok(Delivery::Delivered) = &result {
            self.journal.with(|state| {
                state.tick += 1;
                let tick = state.tick;
                state
                    .shown_at
                    .entry(message.message_id.clone())
                    .or_insert(tick);
            });
        }
        result
    }
}

/// What one run left behind.
#[derive(Debug)]
pub struct RunRecord {
    shown: Vec<OnsiteMessage>,
    repeats: u64,
    journal: JournalState,
    /// Dead letters by `stage reason` (the reason up to its first `:`).
    pub dead_lettered: BTreeMap<String, u64>,
    end: DateTime<Utc>,
}

/// Collects a run's dead letters from its trace as it goes.
#[derive(Debug, Default)]
pub struct DeadLetterTally {
    counts: BTreeMap<String, u64>,
}

impl DeadLetterTally {
    /// Counts the dead-lettered outcomes of `trace`.
    pub fn absorb(&mut self, trace: Vec<Trace>) {
        for entry in trace {
            if let Trace::Outcome(Outcome::DeadLettered { stage, reason }) = entry {
                let kind = reason.split(':').next().unwrap_or(&reason).trim();
                *self.counts.entry(format!("{stage} {kind}")).or_insert(0) += 1;
            }
        }
    }
}

impl RunRecord {
    /// The record of a run: what `onsite` showed, the journal, the dead letters, and the
    /// clock at the end.
    pub fn new(
        onsite: &MemoryOnsiteGateway,
        journal: &Journal,
        dead_letters: DeadLetterTally,
        end: DateTime<Utc>,
    ) -> Self {
        RunRecord {
            shown: onsite.delivered(),
            repeats: onsite.repeats(),
            journal: journal.snapshot(),
            dead_lettered: dead_letters.counts,
            end,
        }
    }

    /// Messages the customers saw.
    pub fn shown(&self) -> usize {
        self.shown.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Origin;
    use rewards_shared::model::DeliveryFormat;

    fn shown(id: &str, correlation: &str, message_type: MessageType) -> OnsiteMessage {
        OnsiteMessage {
            message_id: id.into(),
            account_id: "1".into(),
            brand: "skybet".into(),
            message_type,
            format: DeliveryFormat::Toast,
            title: "t".into(),
            body: "b".into(),
            promo_code: "P".into(),
            promo_url: "u".into(),
            correlation_id: correlation.into(),
            expires_at: None,
        }
    }

    fn record(shown: Vec<OnsiteMessage>, journal: JournalState) -> RunRecord {
        RunRecord {
            shown,
            repeats: 0,
            journal,
            dead_lettered: BTreeMap::new(),
            end: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn catalog() -> Catalog {
        (1..=3)
            .map(|sequence| {
                (
                    format!("c{sequence}"),
                    Origin {
                        account_id: "1".into(),
                        promo_code: "P".into(),
                        attempt_id: "A".into(),
                        sequence,
                    },
                )
            })
            .collect()
    }

    fn key() -> AttemptKey {
        attempt_key("1", "P", "A")
    }

    #[test]
    fn a_message_tim_applied_but_nobody_saw_is_lost() {
        let clean = record(
            vec![
                shown("m1", "c1", MessageType::OptIn),
                shown("m2", "c2", MessageType::Progress),
            ],
            JournalState::default(),
        );
        let mut journal = JournalState::default();
        journal.tim_applied.insert((key(), 1));
        journal.tim_applied.insert((key(), 2));
        journal.tim_highest.insert(key(), 2);
        let faulty = record(vec![shown("m2", "c2", MessageType::Progress)], journal);
        let figures = compare(&clean, &faulty, &catalog());
        assert_eq!(
            (figures.expected, figures.delivered, figures.lost),
            (2, 1, 1)
        );
        assert!(!figures.passed());

        // Had TIM never applied it because sequence 2 came first, the contract drops it.
        let mut journal = faulty.journal.clone();
        journal.tim_applied.remove(&(key(), 1));
        let faulty = record(faulty.shown.clone(), journal);
        let figures = compare(&clean, &faulty, &catalog());
        assert_eq!((figures.lost, figures.superseded_at_tim), (0, 1));
        assert!(figures.passed());
    }

    #[test]
    fn one_logical_message_under_two_ids_is_shown_twice() {
        let clean = record(
            vec![shown("m1", "c1", MessageType::OptIn)],
            JournalState::default(),
        );
        let faulty = record(
            vec![
                shown("m1", "c1", MessageType::OptIn),
                shown("other-id", "c1", MessageType::OptIn),
            ],
            JournalState::default(),
        );
        let figures = compare(&clean, &faulty, &catalog());
        assert_eq!(figures.shown_twice, 1);
        assert!(!figures.passed());
    }

    #[test]
    fn an_award_shown_after_its_deletion_is_shown_twice_and_one_held_then_deleted_is_spent() {
        let clean = record(
            vec![shown("m2", "c2", MessageType::RewardAwarded)],
            JournalState::default(),
        );
        let mut journal = JournalState::default();
        journal.tombstones.insert(key(), (3, 1));
        journal.shown_at.insert("m2".into(), 2);
        let faulty = record(vec![shown("m2", "c2", MessageType::RewardAwarded)], journal);
        assert_eq!(compare(&clean, &faulty, &catalog()).shown_twice, 1);

        let mut journal = JournalState::default();
        journal.tombstones.insert(key(), (3, 1));
        journal.msq_offered.insert(
            LogicalMessage {
                account_id: "1".into(),
                promo_code: "P".into(),
                attempt_id: "A".into(),
                message_type: MessageType::RewardAwarded,
                sequence: 2,
            },
            None,
        );
        let faulty = record(Vec::new(), journal);
        let figures = compare(&clean, &faulty, &catalog());
        assert_eq!((figures.spent, figures.lost), (1, 0));
    }
}
