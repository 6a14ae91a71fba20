//! TIM's state store on DynamoDB: one `UpdateItem` per event, no read.
//!
//! Table: partition key `pk` (S) = [`StateKey::partition_key`], no sort key; TTL attribute
//! `expiresAt`. One item per key:
//!
//! | attribute | type | holds |
//! |---|---|---|
//! | `pk` | S | `{accountId}#{promoCode}#{attemptId}` |
//! | `sequence`, `eventId`, `progress`, `awarded` | N, S, M of N, BOOL | the current state |
//! | `prevSequence`, `prevEventId`, `prevProgress`, `prevAwarded` | same, or NULL | the state before |
//! | `prev2Sequence`, `prev2EventId`, `prev2Progress`, `prev2Awarded` | same, or NULL | the state before that |
//! | `expiresAt` | N | epoch seconds: the reward's expiry (or now) plus the grace period |
//! | `unpublished:{eventId}` | M (`sequence`, `eventId`, `progress`, `awarded`), or NULL | the state before an event whose messages could not be published (rare) |
//!
//! The write is conditional on `attribute_not_exists(pk) OR sequence < :sequence`. Its update
//! expression shifts the `prev*` attributes into the `prev2*` ones and the current state into
//! the `prev*` ones — right-hand sides read the item as it was before the update, and
//! `if_not_exists(…, NULL)` gives NULL where there was nothing — then sets the new state. `awarded` is sticky: an award sets it, any other event keeps
//! it (`if_not_exists(awarded, false)`). The `prev*` assignments come first in the expression,
//! so even an implementation applying actions in order (some emulators do) reads the old values.
//!
//! `ReturnValues=ALL_OLD` gives the previous state when the write happens, and
//! `ReturnValuesOnConditionCheckFailure=ALL_OLD` gives the stored item when it does not, so the
//! stale case needs no second call.
//!
//! [`TimStateStore::mark_unpublished`] is one `UpdateItem` (`SET` of the event's
//! `unpublished:{eventId}` attribute, on condition that the item exists), made only when a
//! write's messages could not be published. Later writes leave those attributes alone; they go
//! with the item at its TTL.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::Utc;

use super::{
    RewardState, StateKey, StateUpdate, StoredState, TimStateError, TimStateStore, Unpublished,
    WriteResult,
};
use crate::aws::classify::{classify, AwsFailure};

/// The table's partition key attribute.
pub const ATTR_PK: &str = "pk";
/// The TTL attribute (epoch seconds).
pub const ATTR_EXPIRES_AT: &str = "expiresAt";

const SEQUENCE: &str = "sequence";
const EVENT_ID: &str = "eventId";
const PROGRESS: &str = "progress";
const AWARDED: &str = "awarded";
const PREV_SEQUENCE: &str = "prevSequence";
const PREV_EVENT_ID: &str = "prevEventId";
const PREV_PROGRESS: &str = "prevProgress";
const PREV_AWARDED: &str = "prevAwarded";
const PREV2_SEQUENCE: &str = "prev2Sequence";
const PREV2_EVENT_ID: &str = "prev2EventId";
const PREV2_PROGRESS: &str = "prev2Progress";
const PREV2_AWARDED: &str = "prev2Awarded";

const CONDITION: &str = "attribute_not_exists(#pk) OR #sequence < :sequence";
const STATE_ATTRIBUTES: [&str; 4] = [SEQUENCE, EVENT_ID, PROGRESS, AWARDED];

/// The attribute holding the state before an unpublished event.
fn unpublished_attribute(event_id: &str) -> String {
    format!("unpublished:{event_id}")
}

const UPDATE_PREFIX: &str = "SET #prev2Sequence = if_not_exists(#prevSequence, :null), \
     #prev2EventId = if_not_exists(#prevEventId, :null), \
     #prev2Progress = if_not_exists(#prevProgress, :null), \
     #prev2Awarded = if_not_exists(#prevAwarded, :null), \
     #prevSequence = if_not_exists(#sequence, :null), \
     #prevEventId = if_not_exists(#eventId, :null), \
     #prevProgress = if_not_exists(#progress, :null), \
     #prevAwarded = if_not_exists(#awarded, :null), \
     #sequence = :sequence, #eventId = :eventId, #progress = :progress, \
     #expiresAt = :expiresAt, ";
const SET_AWARDED: &str = "#awarded = :true";
const KEEP_AWARDED: &str = "#awarded = if_not_exists(#awarded, :false)";

/// [`TimStateStore`] on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoTimStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_grace: chrono::Duration,
}

impl DynamoTimStateStore {
    /// A store on `table`, keeping each state until the reward's expiry plus `ttl_grace` (or,
    /// for a reward without expiry, until `ttl_grace` after its latest event).
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
        let base = update.expires_at.unwrap_or_else(Utc::now);
        base.checked_add_signed(self.ttl_grace)
            .unwrap_or(base)
            .timestamp()
    }
}

fn progress_value(progress: &BTreeMap<String, u64>) -> AttributeValue {
    AttributeValue::M(
        progress
            .iter()
            .map(|(scheme, current)| (scheme.clone(), AttributeValue::N(current.to_string())))
            .collect(),
    )
}

type Item = HashMap<String, AttributeValue>;

/// A stored item that does not read as a state.
fn corrupt(key: &str, what: String) -> TimStateError {
    TimStateError::Rejected {
        key: key.to_owned(),
        reason: format!("stored item is corrupt: {what}"),
    }
}

fn number(item: &Item, name: &str, key: &str) -> Result<Option<u64>, TimStateError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| corrupt(key, format!("`{name}` is not a sequence: {text}"))),
        Some(other) => Err(corrupt(key, format!("`{name}` is {other:?}, not a number"))),
    }
}

/// The state held in the attributes `sequence`, `eventId`, `progress`, `awarded` (or their
/// `prev*` twins); `None` when the sequence is absent or NULL.
fn state(item: &Item, names: [&str; 4], key: &str) -> Result<Option<RewardState>, TimStateError> {
    let [sequence, event_id, progress, awarded] = names;
    let Some(sequence) = number(item, sequence, key)? else {
        return Ok(None);
    };
    let event_id = match item.get(event_id) {
        Some(AttributeValue::S(id)) => id.clone(),
        None | Some(AttributeValue::Null(_)) => String::new(),
        Some(other) => return Err(corrupt(key, format!("`{event_id}` is {other:?}"))),
    };
    let progress = match item.get(progress) {
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(scheme, value)| match value {
                AttributeValue::N(text) => {
                    text.parse().map(|n| (scheme.clone(), n)).map_err(|_| {
                        corrupt(
                            key,
                            format!("progress of `{scheme}` is not a count: {text}"),
                        )
                    })
                }
                other => Err(corrupt(key, format!("progress of `{scheme}` is {other:?}"))),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?,
        None | Some(AttributeValue::Null(_)) => BTreeMap::new(),
        Some(other) => return Err(corrupt(key, format!("`{progress}` is {other:?}"))),
    };
    let award_emitted = match item.get(awarded) {
        Some(AttributeValue::Bool(flag)) => *flag,
        None | Some(AttributeValue::Null(_)) => false,
        Some(other) => return Err(corrupt(key, format!("`{awarded}` is {other:?}"))),
    };
    Ok(Some(RewardState {
        sequence,
        event_id,
        progress,
        award_emitted,
    }))
}

fn current(item: &Item, key: &str) -> Result<Option<RewardState>, TimStateError> {
    state(item, STATE_ATTRIBUTES, key)
}

/// The state marked before the unpublished event `event_id`: `None` when unmarked,
/// `Some(None)` when marked as the key's first event.
fn unpublished(
    item: &Item,
    event_id: &str,
    key: &str,
) -> Result<Option<Option<RewardState>>, TimStateError> {
    let name = unpublished_attribute(event_id);
    match item.get(&name) {
        None => Ok(None),
        Some(AttributeValue::Null(_)) => Ok(Some(None)),
        Some(AttributeValue::M(map)) => state(map, STATE_ATTRIBUTES, key).map(Some),
        Some(other) => Err(corrupt(key, format!("`{name}` is {other:?}"))),
    }
}

/// The four attributes of a state, as a map.
fn state_value(state: &RewardState) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (
            SEQUENCE.to_owned(),
            AttributeValue::N(state.sequence.to_string()),
        ),
        (
            EVENT_ID.to_owned(),
            AttributeValue::S(state.event_id.clone()),
        ),
        (PROGRESS.to_owned(), progress_value(&state.progress)),
        (
            AWARDED.to_owned(),
            AttributeValue::Bool(state.award_emitted),
        ),
    ]))
}

fn previous(item: &Item, key: &str) -> Result<Option<RewardState>, TimStateError> {
    state(
        item,
        [PREV_SEQUENCE, PREV_EVENT_ID, PREV_PROGRESS, PREV_AWARDED],
        key,
    )
}

/// The state before `previous`: `Some(None)` when NULL, `None` when the item predates the
/// `prev2*` attributes.
fn earlier(item: &Item, key: &str) -> Result<Option<Option<RewardState>>, TimStateError> {
    if !item.contains_key(PREV2_SEQUENCE) {
        return Ok(None);
    }
    state(
        item,
        [
            PREV2_SEQUENCE,
            PREV2_EVENT_ID,
            PREV2_PROGRESS,
            PREV2_AWARDED,
        ],
        key,
    )
    .map(Some)
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
        let update_expression = format!(
            "{UPDATE_PREFIX}{}",
            if update.awards {
                SET_AWARDED
            } else {
                KEEP_AWARDED
            }
        );
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PK, AttributeValue::S(pk.clone()))
            .condition_expression(CONDITION)
            .update_expression(update_expression)
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .expression_attribute_names("#pk", ATTR_PK)
            .expression_attribute_names("#sequence", SEQUENCE)
            .expression_attribute_names("#eventId", EVENT_ID)
            .expression_attribute_names("#progress", PROGRESS)
            .expression_attribute_names("#awarded", AWARDED)
            .expression_attribute_names("#prevSequence", PREV_SEQUENCE)
            .expression_attribute_names("#prevEventId", PREV_EVENT_ID)
            .expression_attribute_names("#prevProgress", PREV_PROGRESS)
            .expression_attribute_names("#prevAwarded", PREV_AWARDED)
            .expression_attribute_names("#prev2Sequence", PREV2_SEQUENCE)
            .expression_attribute_names("#prev2EventId", PREV2_EVENT_ID)
            .expression_attribute_names("#prev2Progress", PREV2_PROGRESS)
            .expression_attribute_names("#prev2Awarded", PREV2_AWARDED)
            .expression_attribute_names("#expiresAt", ATTR_EXPIRES_AT)
            .expression_attribute_values(
                ":sequence",
                AttributeValue::N(update.sequence.to_string()),
            )
            .expression_attribute_values(":eventId", AttributeValue::S(update.event_id.clone()))
            .expression_attribute_values(":progress", progress_value(&update.progress))
            .expression_attribute_values(
                ":expiresAt",
                AttributeValue::N(self.expires_at(update).to_string()),
            )
            .expression_attribute_values(":null", AttributeValue::Null(true));
        // DynamoDB refuses unused expression values: only the branch taken gets its value.
        request = if update.awards {
            request.expression_attribute_values(":true", AttributeValue::Bool(true))
        } else {
            request.expression_attribute_values(":false", AttributeValue::Bool(false))
        };
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
                    Ok(WriteResult::Stale {
                        stored: StoredState {
                            current,
                            previous: previous(item, &pk)?,
                            earlier: earlier(item, &pk)?,
                            unpublished: unpublished(item, &update.event_id, &pk)?,
                        },
                    })
                }
                _ => Err(failure(&pk, classify("UpdateItem", &error))),
            },
        }
    }

    async fn mark_unpublished(&self, unpublished: &Unpublished) -> Result<(), TimStateError> {
        let pk = unpublished.key.partition_key();
        let before = match &unpublished.before {
            Some(state) => state_value(state),
            None => AttributeValue::Null(true),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PK, AttributeValue::S(pk.clone()))
            .condition_expression("attribute_exists(#pk)")
            .update_expression("SET #unpublished = :before")
            .expression_attribute_names("#pk", ATTR_PK)
            .expression_attribute_names(
                "#unpublished",
                unpublished_attribute(&unpublished.event_id),
            )
            .expression_attribute_values(":before", before)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                // The item is gone (its TTL): the redelivery applies afresh.
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(failure(&pk, classify("UpdateItem", &error))),
            },
        }
    }
}
