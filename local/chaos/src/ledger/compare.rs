//! The clean and the faulty run compared: what was lost, and what was shown twice.

use super::*;

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
