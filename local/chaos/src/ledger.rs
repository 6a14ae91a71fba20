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
    Outcome, PutResult, StateKey, StateUpdate, TimStateError, TimStateStore, TombstoneResult,
    WriteResult,
};
use serde::Serialize;

use super::generator::Catalog;
use scenario_runner::report::Trace;

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
        brand: &str,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<QueuedMessage>, MessageStoreError> {
        self.inner.pending(brand, account_id, now).await
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

/// The comparison of the faulty run with the clean one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Logical messages the clean run's customers saw.
    pub expected: usize,
    /// Of those, delivered in the faulty run.
    pub delivered: usize,
    /// Expected, not delivered, and not accounted for by the contract.
    pub lost: usize,
    /// Logical messages shown under two ids, and awards shown after MSQ deleted them
    /// (either run).
    pub shown_twice: usize,
    /// Deliveries of a message id already shown (absorbed by OSG's idempotency key).
    pub repeated_attempts: u64,
    /// Expected awards removed by a delete instruction before they were shown.
    pub spent: usize,
    /// Expected messages MSQ replaced by a newer one of the same kind.
    pub replaced_in_msq: usize,
    /// Expected messages that expired in MSQ before the customer came back.
    pub expired: usize,
    /// Expected messages whose activity TIM never applied: a newer one of the key came first.
    pub superseded_at_tim: usize,
    /// Messages delivered in the faulty run that the clean run did not deliver.
    pub unexpected: usize,
    /// Deliveries that cannot be traced to a generated activity (either run).
    pub untraceable: usize,
    /// A few lost messages, for a person to look at.
    pub lost_examples: Vec<String>,
    /// A few messages shown twice.
    pub shown_twice_examples: Vec<String>,
}

impl Figures {
    /// Nothing lost, nothing shown twice, everything traceable.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.shown_twice == 0 && self.untraceable == 0
    }
}

/// The logical messages of `record`'s deliveries, each with its message ids, and how many
/// deliveries could not be traced.
fn logical_deliveries(
    record: &RunRecord,
    catalog: &Catalog,
) -> (BTreeMap<LogicalMessage, Vec<String>>, usize) {
    let mut deliveries: BTreeMap<LogicalMessage, Vec<String>> = BTreeMap::new();
    let mut untraceable = 0;
    for message in &record.shown {
        let origin = catalog.get(&message.correlation_id).filter(|origin| {
            origin.account_id == message.account_id && origin.promo_code == message.promo_code
        });
        let Some(origin) = origin else {
            untraceable += 1;
            continue;
        };
        deliveries
            .entry(LogicalMessage {
                account_id: origin.account_id.clone(),
                promo_code: origin.promo_code.clone(),
                attempt_id: origin.attempt_id.clone(),
                message_type: message.message_type,
                sequence: origin.sequence,
            })
            .or_default()
            .push(message.message_id.clone());
    }
    (deliveries, untraceable)
}

/// Logical messages shown twice in one run: under two ids, or an award shown after its
/// deletion.
fn shown_twice(
    record: &RunRecord,
    deliveries: &BTreeMap<LogicalMessage, Vec<String>>,
) -> Vec<String> {
    let mut twice = Vec::new();
    for (logical, ids) in deliveries {
        if ids.len() > 1 {
            twice.push(format!("{logical} shown under {} ids", ids.len()));
        }
        if logical.message_type != MessageType::RewardAwarded {
            continue;
        }
        let attempt = attempt_key(
            &logical.account_id,
            &logical.promo_code,
            &logical.attempt_id,
        );
        let Some((sequence, deleted_at)) = record.journal.tombstones.get(&attempt) else {
            continue;
        };
        let first_shown = ids
            .iter()
            .filter_map(|id| record.journal.shown_at.get(id))
            .min();
        if *sequence > logical.sequence && first_shown.is_some_and(|shown| shown > deleted_at) {
            twice.push(format!("{logical} shown after it was deleted"));
        }
    }
    twice
}

/// Compares the faulty run with the clean one.
pub fn compare(clean: &RunRecord, faulty: &RunRecord, catalog: &Catalog) -> Figures {
    let (expected, clean_untraceable) = logical_deliveries(clean, catalog);
    let (delivered, faulty_untraceable) = logical_deliveries(faulty, catalog);
    let mut twice = shown_twice(clean, &expected);
    twice.extend(shown_twice(faulty, &delivered));
    let mut figures = Figures {
        expected: expected.len(),
        untraceable: clean_untraceable + faulty_untraceable,
        repeated_attempts: faulty.repeats,
        shown_twice: twice.len(),
        shown_twice_examples: twice.into_iter().take(10).collect(),
        unexpected: delivered
            .keys()
            .filter(|logical| !expected.contains_key(*logical))
            .count(),
        ..Figures::default()
    };
    let journal = &faulty.journal;
    for logical in expected.keys() {
        if delivered.contains_key(logical) {
            figures.delivered += 1;
            continue;
        }
        let attempt = attempt_key(
            &logical.account_id,
            &logical.promo_code,
            &logical.attempt_id,
        );
        if let Some(expires_at) = journal.msq_offered.get(logical) {
            let held = journal
                .msq_held
                .get(&(attempt.clone(), logical.message_type))
                .copied()
                .unwrap_or(0);
            let spent = journal
                .tombstones
                .get(&attempt)
                .is_some_and(|(sequence, _)| *sequence > logical.sequence);
            if logical.message_type == MessageType::RewardAwarded && spent {
                figures.spent += 1;
                continue;
            }
            if held > logical.sequence {
                figures.replaced_in_msq += 1;
                continue;
            }
            if expires_at.is_some_and(|expiry| expiry <= faulty.end) {
                figures.expired += 1;
                continue;
            }
        } else if logical.sequence > 0
            && !journal
                .tim_applied
                .contains(&(attempt.clone(), logical.sequence))
            && journal
                .tim_highest
                .get(&attempt)
                .is_some_and(|highest| *highest > logical.sequence)
        {
            figures.superseded_at_tim += 1;
            continue;
        }
        figures.lost += 1;
        if figures.lost_examples.len() < 10 {
            figures.lost_examples.push(logical.to_string());
        }
    }
    figures
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
