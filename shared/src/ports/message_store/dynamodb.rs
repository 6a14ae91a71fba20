//! MSQ's message store on DynamoDB.
//!
//! Table: partition key `pk` (S) = [`partition_key`], sort key `sk` (S) = [`sort_key`]; TTL
//! attribute `expiresAt`. One item per customer and kind of message:
//!
//! | attribute | type | holds |
//! |---|---|---|
//! | `pk`, `sk` | S | `{brand}#{accountId}`, `{promoCode}#{attemptId}#{messageType}`, each component escaped ([`crate::keys`]) |
//! | `state` | S | `queued`, `delivered` or `tombstone` |
//! | `sequence` | N | the activity's (or delete instruction's) sequence |
//! | `message` | S | the [`QueuedMessage`] as JSON (queued items only) |
//! | `occurredAt` | S | the activity's time, RFC 3339 (queued items; for people reading the table) |
//! | `expiresAt` | N | epoch seconds of the reward's expiry; absent when it has none |
//!
//! Writes (one call each):
//!
//! - `put` and `tombstone`: `PutItem` conditional on `attribute_not_exists(pk) OR sequence <
//!   :sequence`, with `ReturnValues=ALL_OLD` (was a message queued, so replaced or deleted?)
//!   and `ReturnValuesOnConditionCheckFailure=ALL_OLD` (the state that won);
//! - `mark_delivered`: `UpdateItem` setting `state = delivered` and removing the message,
//!   conditional on `state = queued AND sequence = :sequence`, so a newer message that replaced
//!   it meanwhile survives.
//!
//! `pending` is a strongly consistent `Query` on the customer's partition (every page), keeping
//! queued items whose reward has not expired: DynamoDB deletes expired items up to days late.
//! An item whose message does not read is logged and skipped, so one corrupt item does not
//! hold back the customer's other messages.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::{
    partition_key, sort_key, ItemState, MessageStore, MessageStoreError, PendingQuery, PutResult,
    TombstoneResult,
};
use crate::aws::classify::{classify, AwsFailure, SdkError};
use crate::envelope::format_timestamp;
use crate::model::{DeleteInstruction, MessageType, QueuedMessage};

/// The partition key attribute.
pub const ATTR_PK: &str = "pk";
/// The sort key attribute.
pub const ATTR_SK: &str = "sk";
/// The TTL attribute (epoch seconds).
pub const ATTR_EXPIRES_AT: &str = "expiresAt";

const STATE: &str = "state";
const SEQUENCE: &str = "sequence";
const MESSAGE: &str = "message";
const OCCURRED_AT: &str = "occurredAt";

const NEWER_ONLY: &str = "attribute_not_exists(#pk) OR #sequence < :sequence";

type Item = HashMap<String, AttributeValue>;

/// [`MessageStore`] on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoMessageStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoMessageStore {
    /// A store on `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        DynamoMessageStore { client, table }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A conditional `PutItem` of `item`, newer sequences only: the old item when written,
    /// `Err(Ok(stored))` when the condition failed.
    async fn put_newer(
        &self,
        key: &str,
        item: Item,
        sequence: u64,
    ) -> Result<Result<Option<Item>, Item>, MessageStoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(NEWER_ONLY)
            .expression_attribute_names("#pk", ATTR_PK)
            .expression_attribute_names("#sequence", SEQUENCE)
            .expression_attribute_values(":sequence", AttributeValue::N(sequence.to_string()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Ok(output.attributes)),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let stored =
                        failed
                            .item()
                            .cloned()
                            .ok_or_else(|| MessageStoreError::Rejected {
                                key: key.to_owned(),
                                reason: "condition failed but the stored item was not returned \
                                     (ReturnValuesOnConditionCheckFailure unsupported?)"
                                    .into(),
                            })?;
                    Ok(Err(stored))
                }
                _ => Err(store_error(key, "PutItem", &error)),
            },
        }
    }
}

fn store_error<E>(key: &str, operation: &str, error: &SdkError<E>) -> MessageStoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match classify(operation, error) {
        AwsFailure::Unavailable(reason) => MessageStoreError::Unavailable {
            key: key.to_owned(),
            reason,
        },
        AwsFailure::Rejected(reason) => MessageStoreError::Rejected {
            key: key.to_owned(),
            reason,
        },
    }
}

fn corrupt(key: &str, what: String) -> MessageStoreError {
    MessageStoreError::Rejected {
        key: key.to_owned(),
        reason: format!("stored item is corrupt: {what}"),
    }
}

fn parse_state(text: &str) -> Option<ItemState> {
    [
        ItemState::Queued,
        ItemState::Delivered,
        ItemState::Tombstone,
    ]
    .into_iter()
    .find(|state| state.as_str() == text)
}

fn item_state(item: &Item, key: &str) -> Result<ItemState, MessageStoreError> {
    match item.get(STATE) {
        Some(AttributeValue::S(text)) => {
            parse_state(text).ok_or_else(|| corrupt(key, format!("unknown state `{text}`")))
        }
        other => Err(corrupt(key, format!("`{STATE}` is {other:?}"))),
    }
}

fn message_key(message: &QueuedMessage) -> (String, String) {
    let onsite = &message.message;
    (
        partition_key(&onsite.brand, &onsite.account_id),
        sort_key(&onsite.promo_code, &message.attempt_id, onsite.message_type),
    )
}

fn expires_at(item: &mut Item, at: Option<DateTime<Utc>>) {
    if let Some(at) = at {
        item.insert(
            ATTR_EXPIRES_AT.to_owned(),
            AttributeValue::N(at.timestamp().to_string()),
        );
    }
}

fn base_item(pk: String, sk: String, state: ItemState, sequence: u64) -> Item {
    HashMap::from([
        (ATTR_PK.to_owned(), AttributeValue::S(pk)),
        (ATTR_SK.to_owned(), AttributeValue::S(sk)),
        (
            STATE.to_owned(),
            AttributeValue::S(state.as_str().to_owned()),
        ),
        (SEQUENCE.to_owned(), AttributeValue::N(sequence.to_string())),
    ])
}

/// The queued message of an item, if it is one.
fn queued_message(item: &Item, key: &str) -> Result<Option<QueuedMessage>, MessageStoreError> {
    if item_state(item, key)? != ItemState::Queued {
        return Ok(None);
    }
    match item.get(MESSAGE) {
        Some(AttributeValue::S(json)) => serde_json::from_str(json)
            .map(Some)
            .map_err(|e| corrupt(key, format!("message does not read: {e}"))),
        other => Err(corrupt(key, format!("`{MESSAGE}` is {other:?}"))),
    }
}

fn item_key(item: &Item) -> String {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => value.as_str(),
        _ => "?",
    };
    format!("{}/{}", text(ATTR_PK), text(ATTR_SK))
}

impl MessageStore for DynamoMessageStore {
    async fn put(&self, message: &QueuedMessage) -> Result<PutResult, MessageStoreError> {
        let (pk, sk) = message_key(message);
        let key = format!("{pk}/{sk}");
        let json = serde_json::to_string(message).map_err(|e| MessageStoreError::Rejected {
            key: key.clone(),
            reason: format!("message does not serialise: {e}"),
        })?;
        let mut item = base_item(pk, sk, ItemState::Queued, message.sequence);
        item.insert(MESSAGE.to_owned(), AttributeValue::S(json));
        item.insert(
            OCCURRED_AT.to_owned(),
            AttributeValue::S(format_timestamp(message.occurred_at)),
        );
        expires_at(&mut item, message.message.expires_at);
        match self.put_newer(&key, item, message.sequence).await? {
            Ok(old) => {
                let replaced = match old {
                    Some(old) if !old.is_empty() => item_state(&old, &key)? == ItemState::Queued,
                    _ => false,
                };
                Ok(PutResult::Stored { replaced })
            }
            Err(stored) => Ok(PutResult::NotNewer {
                state: item_state(&stored, &key)?,
            }),
        }
    }

    async fn tombstone(
        &self,
        instruction: &DeleteInstruction,
    ) -> Result<TombstoneResult, MessageStoreError> {
        let pk = partition_key(&instruction.brand, &instruction.account_id);
        let sk = sort_key(
            &instruction.promo_code,
            &instruction.attempt_id,
            MessageType::RewardAwarded,
        );
        let key = format!("{pk}/{sk}");
        let mut item = base_item(pk, sk, ItemState::Tombstone, instruction.sequence);
        expires_at(&mut item, instruction.expires_at);
        match self.put_newer(&key, item, instruction.sequence).await? {
            Ok(Some(old)) if !old.is_empty() && item_state(&old, &key)? == ItemState::Queued => {
                Ok(TombstoneResult::Deleted)
            }
            Ok(_) => Ok(TombstoneResult::Placed),
            Err(_) => Ok(TombstoneResult::NotNewer),
        }
    }

    async fn pending(
        &self,
        query: PendingQuery<'_>,
    ) -> Result<Vec<QueuedMessage>, MessageStoreError> {
        let pk = query.partition_key();
        let mut pending = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", ATTR_PK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| store_error(&pk, "Query", &error))?;
            for item in output.items() {
                let key = item_key(item);
                match queued_message(item, &key) {
                    Ok(Some(message)) => {
                        if message
                            .message
                            .expires_at
                            .is_none_or(|expiry| expiry > query.now)
                        {
                            pending.push(message);
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::error!(%key, %error, "skipping an MSQ item that does not read");
                    }
                }
            }
            match output.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => break,
            }
        }
        pending.sort_by_key(|message| (message.occurred_at, message.sequence));
        Ok(pending)
    }

    async fn mark_delivered(&self, message: &QueuedMessage) -> Result<bool, MessageStoreError> {
        let (pk, sk) = message_key(message);
        let key = format!("{pk}/{sk}");
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PK, AttributeValue::S(pk))
            .key(ATTR_SK, AttributeValue::S(sk))
            .update_expression("SET #state = :delivered REMOVE #message")
            .condition_expression("#state = :queued AND #sequence = :sequence")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#message", MESSAGE)
            .expression_attribute_names("#sequence", SEQUENCE)
            .expression_attribute_values(
                ":delivered",
                AttributeValue::S(ItemState::Delivered.as_str().to_owned()),
            )
            .expression_attribute_values(
                ":queued",
                AttributeValue::S(ItemState::Queued.as_str().to_owned()),
            )
            .expression_attribute_values(
                ":sequence",
                AttributeValue::N(message.sequence.to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(store_error(&key, "UpdateItem", &error)),
            },
        }
    }
}
