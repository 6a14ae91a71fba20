//! TIM's state store on DynamoDB: one `UpdateItem` per event, no read.
//!
//! Table: partition key `pk` (S) = [`StateKey::partition_key`], no sort key; TTL attribute
//! `expiresAt`. One item per key:
//!
//! | attribute | type | holds |
//! |---|---|---|
//! | `pk` | S | `{accountId}#{promoCode}#{attemptId}`, each component escaped |
//! | `sequence`, `eventId`, `awarded` | N, S, BOOL | the latest event's sequence and id; whether an award was emitted |
//! | `progress:{rewardSchemeId}` | N | `current` of that scheme, from the latest event that named it |
//! | `touched` | L of S | the schemes the latest event named |
//! | `delivery` | S | the SQS `messageId` of the message that carried the latest event |
//! | `before:{rewardSchemeId}` | N or NULL | for each scheme the latest event named: its value before that event (NULL: none) |
//! | `prevSequence`, `prevEventId`, `prevAwarded` | N, S, BOOL, or NULL | the same three before the latest event |
//! | `expiresAt` | N | epoch seconds: the reward's expiry (or now) plus the grace period |
//!
//! One attribute per scheme lets an event set its own schemes and leave the others as they
//! are, with no read: `SET` on a top-level attribute always works, where a path into a map
//! attribute fails on an item that does not exist yet.
//!
//! The write is conditional on `attribute_not_exists(pk) OR sequence < :sequence`. Its update
//! expression first copies what the event overwrites into the `prev*` and `before:*`
//! attributes — right-hand sides read the item as it was before the update, and
//! `if_not_exists(…, NULL)` gives NULL where there was nothing — then sets the new state. The
//! copies come first in the expression, so even an implementation applying actions in order
//! (some emulators do) reads the old values. `awarded` is sticky: an award sets it, any other
//! event keeps it (`if_not_exists(awarded, false)`).
//!
//! `ReturnValues=ALL_OLD` gives the previous state when the write happens, and
//! `ReturnValuesOnConditionCheckFailure=ALL_OLD` gives the stored item when it does not, so the
//! stale case needs no second call. The state before the latest event is the latest one with
//! each `touched` scheme set back to its `before:*` value.
//!
//! Items written before progress was kept per scheme hold it in one map attribute, `progress`
//! (the latest event's entries), and the state before in `prevProgress`. They read as they
//! are: the map's schemes are the stored values of the schemes with no attribute of their own,
//! and while an item has no `touched` list, `prevProgress` is the progress before its latest
//! event. New writes never change either map (items also keep the `prev2*` and
//! `unpublished:*` attributes of earlier versions until their TTL; they are not read).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::Utc;

use super::{
    RewardState, StateKey, StateUpdate, StoredState, TimStateError, TimStateStore, WriteResult,
};
use crate::aws::classify::{classify, AwsFailure};

/// The table's partition key attribute.
pub const ATTR_PK: &str = "pk";
/// The TTL attribute (epoch seconds).
pub const ATTR_EXPIRES_AT: &str = "expiresAt";

const SEQUENCE: &str = "sequence";
const EVENT_ID: &str = "eventId";
const AWARDED: &str = "awarded";
const TOUCHED: &str = "touched";
const DELIVERY: &str = "delivery";
const PREV_SEQUENCE: &str = "prevSequence";
const PREV_EVENT_ID: &str = "prevEventId";
const PREV_AWARDED: &str = "prevAwarded";
/// Per-scheme progress: `progress:{rewardSchemeId}`.
const PROGRESS_PREFIX: &str = "progress:";
/// Per-scheme value before the latest event: `before:{rewardSchemeId}`.
const BEFORE_PREFIX: &str = "before:";
/// The progress map of items written before progress was kept per scheme.
const LEGACY_PROGRESS: &str = "progress";
/// The progress map before the latest event, in those items.
const LEGACY_PREV_PROGRESS: &str = "prevProgress";

const CONDITION: &str = "attribute_not_exists(#pk) OR #sequence < :sequence";

/// [`TimStateStore`] on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoTimStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_grace: chrono::Duration,
}

impl DynamoTimStateStore {
    /// A store on `table`, keeping each state until the reward's expiry plus `ttl_grace` (or,
    /// for a reward without expiry, as long as MSQ keeps its messages — the default maximum
    /// TTL — plus `ttl_grace` after its latest event, so a spend always finds its award).
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: String,
        ttl_grace: chrono::Duration,
    ) -> Self {
        DynamoTimStateStore {
            client,
            table,
            ttl_grace,
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn expires_at(&self, update: &StateUpdate) -> i64 {
        let base = update.expires_at.unwrap_or_else(|| {
            Utc::now() + chrono::Duration::days(crate::limits::DEFAULT_MAX_MESSAGE_TTL_DAYS)
        });
        base.checked_add_signed(self.ttl_grace)
            .unwrap_or(base)
            .timestamp()
    }
}

type Item = HashMap<String, AttributeValue>;

/// A stored item that does not read as a state.
fn corrupt(key: &str, what: String) -> TimStateError {
    TimStateError::Rejected {
        key: key.to_owned(),
        reason: format!("stored item is corrupt: {what}"),
    }
}

/// A number attribute: `None` when absent or NULL.
fn number(
    value: Option<&AttributeValue>,
    name: &str,
    key: &str,
) -> Result<Option<u64>, TimStateError> {
    match value {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| corrupt(key, format!("`{name}` is not a count: {text}"))),
        Some(other) => Err(corrupt(key, format!("`{name}` is {other:?}, not a number"))),
    }
}

fn text(item: &Item, name: &str, key: &str) -> Result<String, TimStateError> {
    match item.get(name) {
        Some(AttributeValue::S(text)) => Ok(text.clone()),
        None | Some(AttributeValue::Null(_)) => Ok(String::new()),
        Some(other) => Err(corrupt(key, format!("`{name}` is {other:?}"))),
    }
}

fn flag(item: &Item, name: &str, key: &str) -> Result<bool, TimStateError> {
    match item.get(name) {
        Some(AttributeValue::Bool(flag)) => Ok(*flag),
        None | Some(AttributeValue::Null(_)) => Ok(false),
        Some(other) => Err(corrupt(key, format!("`{name}` is {other:?}"))),
    }
}

/// A progress map attribute (items written before progress was kept per scheme).
fn progress_map(
    item: &Item,
    name: &str,
    key: &str,
) -> Result<BTreeMap<String, u64>, TimStateError> {
    match item.get(name) {
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(scheme, value)| {
                number(Some(value), &format!("{name}.{scheme}"), key)
                    .map(|current| (scheme.clone(), current.unwrap_or(0)))
            })
            .collect(),
        None | Some(AttributeValue::Null(_)) => Ok(BTreeMap::new()),
        Some(other) => Err(corrupt(key, format!("`{name}` is {other:?}"))),
    }
}

/// The stored progress: the legacy map's schemes, overridden by the per-scheme attributes.
fn progress(item: &Item, key: &str) -> Result<BTreeMap<String, u64>, TimStateError> {
    let mut progress = progress_map(item, LEGACY_PROGRESS, key)?;
    for (name, value) in item {
        if let Some(scheme) = name.strip_prefix(PROGRESS_PREFIX) {
            if let Some(current) = number(Some(value), name, key)? {
                progress.insert(scheme.to_owned(), current);
            }
        }
    }
    Ok(progress)
}

/// The latest state; `None` when the item has no sequence (no item).
fn current(item: &Item, key: &str) -> Result<Option<RewardState>, TimStateError> {
    let Some(sequence) = number(item.get(SEQUENCE), SEQUENCE, key)? else {
        return Ok(None);
    };
    Ok(Some(RewardState {
        sequence,
        event_id: text(item, EVENT_ID, key)?,
        progress: progress(item, key)?,
        award_emitted: flag(item, AWARDED, key)?,
    }))
}

/// The schemes the latest event named; `None` on an item written before they were listed.
fn touched(item: &Item, key: &str) -> Result<Option<Vec<String>>, TimStateError> {
    match item.get(TOUCHED) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|value| match value {
                AttributeValue::S(scheme) => Ok(scheme.clone()),
                other => Err(corrupt(key, format!("`{TOUCHED}` holds {other:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(corrupt(key, format!("`{TOUCHED}` is {other:?}"))),
    }
}

/// The state before the latest event; `None` when the latest was the key's first.
fn previous(
    item: &Item,
    current: &RewardState,
    key: &str,
) -> Result<Option<RewardState>, TimStateError> {
    let Some(sequence) = number(item.get(PREV_SEQUENCE), PREV_SEQUENCE, key)? else {
        return Ok(None);
    };
    let progress = match touched(item, key)? {
        Some(schemes) => {
            let legacy = progress_map(item, LEGACY_PROGRESS, key)?;
            let mut progress = current.progress.clone();
            for scheme in schemes {
                let name = format!("{BEFORE_PREFIX}{scheme}");
                // NULL: the scheme had no attribute of its own before the event, so its value
                // was the legacy map's, if any.
                match number(item.get(&name), &name, key)? {
                    Some(before) => progress.insert(scheme, before),
                    None => match legacy.get(&scheme) {
                        Some(&before) => progress.insert(scheme, before),
                        None => progress.remove(&scheme),
                    },
                };
            }
            progress
        }
        None => progress_map(item, LEGACY_PREV_PROGRESS, key)?,
    };
    Ok(Some(RewardState {
        sequence,
        event_id: text(item, PREV_EVENT_ID, key)?,
        progress,
        award_emitted: flag(item, PREV_AWARDED, key)?,
    }))
}

/// The update expression and its names and values for `update`.
struct Expression {
    text: String,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

fn expression(update: &StateUpdate, expires_at: i64) -> Expression {
    let mut copies = vec![
        "#prevSequence = if_not_exists(#sequence, :null)".to_owned(),
        "#prevEventId = if_not_exists(#eventId, :null)".to_owned(),
        "#prevAwarded = if_not_exists(#awarded, :null)".to_owned(),
    ];
    let mut sets = vec![
        "#sequence = :sequence".to_owned(),
        "#eventId = :eventId".to_owned(),
        "#touched = :touched".to_owned(),
        "#delivery = :delivery".to_owned(),
        "#expiresAt = :expiresAt".to_owned(),
        if update.awards {
            "#awarded = :true".to_owned()
        } else {
            "#awarded = if_not_exists(#awarded, :false)".to_owned()
        },
    ];
    let mut names: Vec<(String, String)> = [
        ("#pk", ATTR_PK),
        ("#sequence", SEQUENCE),
        ("#eventId", EVENT_ID),
        ("#awarded", AWARDED),
        ("#touched", TOUCHED),
        ("#delivery", DELIVERY),
        ("#prevSequence", PREV_SEQUENCE),
        ("#prevEventId", PREV_EVENT_ID),
        ("#prevAwarded", PREV_AWARDED),
        ("#expiresAt", ATTR_EXPIRES_AT),
    ]
    .map(|(placeholder, name)| (placeholder.to_owned(), name.to_owned()))
    .into();
    let mut values: Vec<(String, AttributeValue)> = vec![
        (
            ":sequence".into(),
            AttributeValue::N(update.sequence.to_string()),
        ),
        (
            ":eventId".into(),
            AttributeValue::S(update.event_id.clone()),
        ),
        (
            ":touched".into(),
            AttributeValue::L(
                update
                    .progress
                    .keys()
                    .map(|scheme| AttributeValue::S(scheme.clone()))
                    .collect(),
            ),
        ),
        (
            ":delivery".into(),
            AttributeValue::S(update.delivery.clone()),
        ),
        (
            ":expiresAt".into(),
            AttributeValue::N(expires_at.to_string()),
        ),
        (":null".into(), AttributeValue::Null(true)),
        // DynamoDB refuses unused expression values: only the branch taken gets its value.
        if update.awards {
            (":true".into(), AttributeValue::Bool(true))
        } else {
            (":false".into(), AttributeValue::Bool(false))
        },
    ];
    for (index, (scheme, current)) in update.progress.iter().enumerate() {
        copies.push(format!("#b{index} = if_not_exists(#p{index}, :null)"));
        sets.push(format!("#p{index} = :p{index}"));
        names.push((format!("#p{index}"), format!("{PROGRESS_PREFIX}{scheme}")));
        names.push((format!("#b{index}"), format!("{BEFORE_PREFIX}{scheme}")));
        values.push((format!(":p{index}"), AttributeValue::N(current.to_string())));
    }
    copies.extend(sets);
    Expression {
        text: format!("SET {}", copies.join(", ")),
        names,
        values,
    }
}

fn failure(key: &str, failure: AwsFailure) -> TimStateError {
    match failure {
        AwsFailure::Unavailable(reason) => TimStateError::Unavailable {
            key: key.to_owned(),
            reason,
        },
        AwsFailure::Rejected(reason) => TimStateError::Rejected {
            key: key.to_owned(),
            reason,
        },
    }
}

impl TimStateStore for DynamoTimStateStore {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        let pk = key.partition_key();
        let expression = expression(update, self.expires_at(update));
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PK, AttributeValue::S(pk.clone()))
            .condition_expression(CONDITION)
            .update_expression(expression.text)
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (placeholder, name) in expression.names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in expression.values {
            request = request.expression_attribute_values(placeholder, value);
        }
        match request.send().await {
            Ok(output) => {
                let previous = match output.attributes() {
                    Some(old) => current(old, &pk)?,
                    None => None,
                };
                Ok(WriteResult::Applied { previous })
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let item = failed.item().ok_or_else(|| TimStateError::Rejected {
                        key: pk.clone(),
                        reason: "condition failed but the stored item was not returned \
                                 (ReturnValuesOnConditionCheckFailure unsupported?)"
                            .into(),
                    })?;
                    let current = current(item, &pk)?
                        .ok_or_else(|| corrupt(&pk, "the stored item has no `sequence`".into()))?;
                    let previous = previous(item, &current, &pk)?;
                    let delivery = text(item, DELIVERY, &pk)?;
                    Ok(WriteResult::Stale {
                        stored: StoredState {
                            current,
                            previous,
                            delivery,
                        },
                    })
                }
                _ => Err(failure(&pk, classify("UpdateItem", &error))),
            },
        }
    }
}
