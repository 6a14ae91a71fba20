//! The DynamoDB and SQS adapters of the ports, against a real local AWS API (moto server).
//!
//! Run: `scripts/with-moto.sh cargo test -p rewards-tests`. Each test creates its own tables
//! and queues under unique names, so they run in parallel on one server.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::{DateTime, Utc};
use rewards_shared::envelope::EventType;
use rewards_shared::model::{DeleteInstruction, MessageType};
use rewards_shared::ports::message_store::compliance::queued;
use rewards_shared::ports::{
    DeadLetter, DeadLetterSink, Destination, DynamoMessageStore, DynamoTimStateStore, ItemState,
    MessageStore, MessageStoreError, OutgoingMessage, PendingQuery, Publisher, PutResult,
    RewardState, SqsDeadLetters, SqsPublisher, StateKey, StateUpdate, StoredState, TimStateError,
    TimStateStore, TombstoneResult, WriteResult,
};
use rewards_shared::stage::Stage;
use rewards_tests::{
    attribute, counted_dynamodb_client, counted_sqs_client, create_msq_table, create_queue,
    create_tim_table, moto_config, receive, sqs_client_with, unique, CallCounter, RejectEntries,
    MAX_RECEIVE_COUNT,
};

const WAIT: Duration = Duration::from_secs(5);

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("test timestamp")
}

// ---------------------------------------------------------------------------------------------
// SDK configuration

#[tokio::test]
async fn sdk_config_honours_the_environment_and_sets_retries_and_timeouts() {
    let endpoint = rewards_tests::moto_endpoint();
    let config = rewards_shared::aws::sdk_config().await;
    assert_eq!(config.endpoint_url(), Some(endpoint.as_str()));
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    let retry = config.retry_config().expect("retry config");
    assert_eq!(retry.max_attempts(), rewards_shared::aws::MAX_ATTEMPTS);
    assert_eq!(retry.mode(), aws_config::retry::RetryMode::Standard);
    let timeouts = config.timeout_config().expect("timeout config");
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(rewards_shared::aws::ATTEMPT_TIMEOUT)
    );
    assert_eq!(
        timeouts.operation_timeout(),
        Some(rewards_shared::aws::OPERATION_TIMEOUT)
    );
    // Once per cold start: the second call hands out the same configuration.
    let again = rewards_shared::aws::sdk_config().await;
    assert_eq!(again.endpoint_url(), config.endpoint_url());
}

// ---------------------------------------------------------------------------------------------
// TIM state store

fn state_key() -> StateKey {
    StateKey {
        account_id: "10048213".into(),
        promo_code: "WEEKLY-SPINS".into(),
        attempt_id: "2026-W47".into(),
    }
}

fn update(sequence: u64, current: u64, awards: bool) -> StateUpdate {
    StateUpdate {
        sequence,
        event_id: format!("event-{sequence}"),
        progress: BTreeMap::from([("rs-100".to_owned(), current), ("rs-200".to_owned(), 1)]),
        awards,
        expires_at: Some(at("2026-11-23T23:59:59Z")),
        delivery: format!("message-{sequence}"),
    }
}

fn state(sequence: u64, current: u64, award_emitted: bool) -> RewardState {
    RewardState {
        sequence,
        event_id: format!("event-{sequence}"),
        progress: BTreeMap::from([("rs-100".to_owned(), current), ("rs-200".to_owned(), 1)]),
        award_emitted,
    }
}

struct Tim {
    store: DynamoTimStateStore,
    client: aws_sdk_dynamodb::Client,
    counter: CallCounter,
    table: String,
}

async fn tim(grace: chrono::Duration) -> Tim {
    let config = moto_config().await;
    let counter = CallCounter::new();
    let client = counted_dynamodb_client(&config, &counter);
    let table = unique("tim-state");
    create_tim_table(&client, &table).await;
    let store = DynamoTimStateStore::new(client.clone(), table.clone(), grace);
    // Only the store's calls are counted from here.
    let counter_after_setup = counter.total();
    assert!(
        counter_after_setup >= 2,
        "table set-up went through the client"
    );
    Tim {
        store,
        client,
        counter,
        table,
    }
}

impl Tim {
    /// What the store answers a write of `update` with that it finds stale.
    async fn stale(&self, key: &StateKey, update: &StateUpdate) -> StoredState {
        let result = self.store.advance(key, update).await.expect("stale write");
        let WriteResult::Stale { stored } = result else {
            panic!("expected stale, got {result:?}");
        };
        stored
    }

    async fn item(&self, key: &StateKey) -> std::collections::HashMap<String, AttributeValue> {
        self.try_item(key).await.expect("item stored")
    }

    async fn try_item(
        &self,
        key: &StateKey,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.partition_key()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }
}

#[tokio::test]
async fn tim_first_write_has_no_previous_state_and_sets_the_ttl() {
    let tim = tim(chrono::Duration::days(7)).await;
    let result = tim
        .store
        .advance(&state_key(), &update(1, 1, false))
        .await
        .expect("first write");
    assert_eq!(result, WriteResult::Applied { previous: None });

    let item = tim.item(&state_key()).await;
    assert_eq!(
        item["pk"],
        AttributeValue::S("10048213#WEEKLY-SPINS#2026-W47".into())
    );
    assert_eq!(item["sequence"], AttributeValue::N("1".into()));
    assert_eq!(item["awarded"], AttributeValue::Bool(false));
    assert_eq!(item["prevSequence"], AttributeValue::Null(true));
    let expected = (at("2026-11-23T23:59:59Z") + chrono::Duration::days(7)).timestamp();
    assert_eq!(item["expiresAt"], AttributeValue::N(expected.to_string()));
}

#[tokio::test]
async fn tim_ttl_without_expiry_outlasts_msq_s_longest_ttl() {
    let tim = tim(chrono::Duration::hours(48)).await;
    let before = Utc::now();
    let mut no_expiry = update(1, 1, false);
    no_expiry.expires_at = None;
    tim.store
        .advance(&state_key(), &no_expiry)
        .await
        .expect("write");
    let after = Utc::now();
    let AttributeValue::N(text) = &tim.item(&state_key()).await["expiresAt"] else {
        panic!("expiresAt is not a number");
    };
    let expires: i64 = text.parse().expect("epoch seconds");
    let kept = chrono::Duration::hours(48)
        + chrono::Duration::days(rewards_shared::limits::DEFAULT_MAX_MESSAGE_TTL_DAYS);
    assert!(
        (before + kept).timestamp() <= expires && expires <= (after + kept).timestamp(),
        "expiresAt {expires} not within now + MSQ's longest TTL + 48 h"
    );
}

#[tokio::test]
async fn tim_newer_write_returns_the_previous_state_and_keeps_it() {
    let tim = tim(chrono::Duration::days(1)).await;
    let key = state_key();
    tim.store
        .advance(&key, &update(1, 1, false))
        .await
        .expect("write 1");
    let result = tim
        .store
        .advance(&key, &update(3, 4, false))
        .await
        .expect("write 3");
    assert_eq!(
        result,
        WriteResult::Applied {
            previous: Some(state(1, 1, false))
        }
    );
    let result = tim
        .store
        .advance(&key, &update(4, 5, true))
        .await
        .expect("write 4");
    assert_eq!(
        result,
        WriteResult::Applied {
            previous: Some(state(3, 4, false))
        }
    );
    let item = tim.item(&key).await;
    assert_eq!(item["sequence"], AttributeValue::N("4".into()));
    assert_eq!(item["prevSequence"], AttributeValue::N("3".into()));
    assert_eq!(item["prevEventId"], AttributeValue::S("event-3".into()));
    assert_eq!(item["prevAwarded"], AttributeValue::Bool(false));
    assert_eq!(item["awarded"], AttributeValue::Bool(true));
}

#[tokio::test]
async fn tim_equal_or_older_sequence_is_stale_with_the_stored_item_in_one_call() {
    let tim = tim(chrono::Duration::days(1)).await;
    let key = state_key();
    tim.store
        .advance(&key, &update(5, 2, false))
        .await
        .expect("write 5");
    tim.store
        .advance(&key, &update(6, 3, false))
        .await
        .expect("write 6");
    let stored = StoredState {
        current: state(6, 3, false),
        previous: Some(state(5, 2, false)),
        delivery: "message-6".into(),
    };
    let before = tim.counter.count("UpdateItem");
    let before_total = tim.counter.total();
    for sequence in [6, 5, 1] {
        let result = tim
            .store
            .advance(&key, &update(sequence, 9, true))
            .await
            .expect("stale write");
        assert_eq!(
            result,
            WriteResult::Stale {
                stored: stored.clone()
            },
            "sequence {sequence}"
        );
    }
    assert_eq!(
        tim.counter.count("UpdateItem") - before,
        3,
        "one call per stale event, no read after the failed condition"
    );
    assert_eq!(tim.counter.total() - before_total, 3, "and no other call");
    let item = tim.item(&key).await;
    assert_eq!(item["sequence"], AttributeValue::N("6".into()));
    assert_eq!(
        item["awarded"],
        AttributeValue::Bool(false),
        "a stale award writes nothing"
    );
}

#[tokio::test]
async fn tim_meets_the_state_store_contract() {
    let tim = tim(chrono::Duration::days(1)).await;
    rewards_shared::ports::tim_state::compliance::check_all(&tim.store, "").await;
}

/// An item written before progress was kept per reward scheme (one `progress` map, the state
/// before in `prev*`) reads as it is, and the next event sets its own schemes beside it.
#[tokio::test]
async fn tim_reads_an_item_written_before_progress_was_kept_per_scheme() {
    let tim = tim(chrono::Duration::days(1)).await;
    let key = state_key();
    let map = |entries: &[(&str, &str)]| {
        AttributeValue::M(
            entries
                .iter()
                .map(|(scheme, current)| {
                    (
                        (*scheme).to_owned(),
                        AttributeValue::N((*current).to_owned()),
                    )
                })
                .collect(),
        )
    };
    tim.client
        .put_item()
        .table_name(&tim.table)
        .item("pk", AttributeValue::S(key.partition_key()))
        .item("sequence", AttributeValue::N("4".into()))
        .item("eventId", AttributeValue::S("event-4".into()))
        .item("progress", map(&[("a", "3"), ("b", "2")]))
        .item("awarded", AttributeValue::Bool(false))
        .item("prevSequence", AttributeValue::N("3".into()))
        .item("prevEventId", AttributeValue::S("event-3".into()))
        .item("prevProgress", map(&[("a", "3"), ("b", "1")]))
        .item("prevAwarded", AttributeValue::Bool(false))
        .item("prev2Sequence", AttributeValue::Null(true))
        .item("expiresAt", AttributeValue::N("1800000000".into()))
        .send()
        .await
        .expect("legacy item");
    let stored = tim.stale(&key, &update(4, 0, false)).await;
    assert_eq!(
        stored.current.progress,
        BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 2)])
    );
    let previous = stored.previous.expect("the state before");
    assert_eq!(previous.sequence, 3);
    assert_eq!(
        previous.progress,
        BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 1)])
    );

    let next = StateUpdate {
        sequence: 5,
        event_id: "event-5".into(),
        progress: BTreeMap::from([("b".to_owned(), 3)]),
        awards: false,
        expires_at: None,
        delivery: "message-5".into(),
    };
    let result = tim.store.advance(&key, &next).await.expect("write 5");
    let WriteResult::Applied {
        previous: Some(previous),
    } = result
    else {
        panic!("expected applied, got {result:?}");
    };
    assert_eq!(
        previous.progress,
        BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 2)])
    );
    let stored = tim.stale(&key, &next).await;
    assert_eq!(
        stored.current.progress,
        BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 3)]),
        "scheme a keeps its value from the map"
    );
    assert_eq!(
        stored.previous.map(|state| state.progress),
        Some(BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 2)])),
        "the state before event 5 reads scheme b from the map"
    );
    let item = tim.item(&key).await;
    assert_eq!(item["progress:b"], AttributeValue::N("3".into()));
    assert_eq!(item["before:b"], AttributeValue::Null(true));
}

#[tokio::test]
async fn tim_awarded_stays_sticky() {
    let tim = tim(chrono::Duration::days(1)).await;
    let key = state_key();
    tim.store
        .advance(&key, &update(1, 5, true))
        .await
        .expect("award");
    let result = tim
        .store
        .advance(&key, &update(2, 5, false))
        .await
        .expect("spent");
    assert_eq!(
        result,
        WriteResult::Applied {
            previous: Some(state(1, 5, true))
        }
    );
    let result = tim
        .store
        .advance(&key, &update(3, 0, false))
        .await
        .expect("expired");
    assert_eq!(
        result,
        WriteResult::Applied {
            previous: Some(state(2, 5, true))
        },
        "an event after the award keeps the key awarded"
    );
    let stored = tim.stale(&key, &update(2, 5, true)).await;
    assert!(stored.current.award_emitted);
    assert!(stored
        .previous
        .is_some_and(|previous| previous.award_emitted));
}

#[tokio::test]
async fn tim_missing_table_is_rejected_naming_the_error() {
    let config = moto_config().await;
    let store = DynamoTimStateStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique("no-such-table"),
        chrono::Duration::days(1),
    );
    let error = store
        .advance(&state_key(), &update(1, 1, false))
        .await
        .expect_err("no table");
    let TimStateError::Rejected { key, reason } = &error else {
        panic!("expected rejected, got {error:?}");
    };
    assert_eq!(key, "10048213#WEEKLY-SPINS#2026-W47");
    assert!(reason.contains("ResourceNotFoundException"), "{reason}");
}

/// Identifiers holding the key separator, the escape character and other odd characters.
const ODD_IDS: [&str; 7] = ["WEEK#1", "a/b", "100%", "%23", "what?", "two words", "Ü-😀"];

#[tokio::test]
async fn tim_keys_of_different_tuples_never_collide_whatever_the_ids_hold() {
    let tim = tim(chrono::Duration::days(7)).await;
    let key = |account: &str, promo: &str, attempt: &str| StateKey {
        account_id: account.into(),
        promo_code: promo.into(),
        attempt_id: attempt.into(),
    };
    // These shared one partition key when components were joined with a bare `#`.
    let colliding = [
        key("1", "P#X", "A"),
        key("1#P", "X", "A"),
        key("1", "P", "X#A"),
    ];
    let odd: Vec<StateKey> = ODD_IDS
        .iter()
        .map(|id| key(id, &format!("{id}#P"), id))
        .collect();
    for (index, key) in colliding.iter().chain(&odd).enumerate() {
        let sequence = index as u64 + 1;
        let result = tim
            .store
            .advance(key, &update(sequence, 1, false))
            .await
            .expect("write");
        assert_eq!(
            result,
            WriteResult::Applied { previous: None },
            "{key:?} is a key of its own"
        );
        assert_eq!(
            tim.item(key).await["sequence"],
            AttributeValue::N(sequence.to_string())
        );
    }
    assert_eq!(
        colliding[0].partition_key(),
        "1#P%23X#A",
        "a `#` inside an id is escaped"
    );
}

#[tokio::test]
async fn tim_unreachable_endpoint_is_unavailable() {
    let config = moto_config().await;
    // A port nothing listens on: connections are refused, the SDK retries, then gives up.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let conf = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let store = DynamoTimStateStore::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        "tim".into(),
        chrono::Duration::days(1),
    );
    let error = store
        .advance(&state_key(), &update(1, 1, false))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(error, TimStateError::Unavailable { .. }),
        "expected unavailable, got {error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// MSQ message store

struct Msq {
    store: DynamoMessageStore,
    client: aws_sdk_dynamodb::Client,
    table: String,
}

async fn msq() -> Msq {
    let config = moto_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("msq-messages");
    create_msq_table(&client, &table).await;
    Msq {
        store: DynamoMessageStore::new(client.clone(), table.clone()),
        client,
        table,
    }
}

impl Msq {
    async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }
}

const NOW: &str = "2026-11-18T10:00:00Z";

fn delete(sequence: u64) -> DeleteInstruction {
    DeleteInstruction {
        account_id: "10048213".into(),
        brand: "skybet".into(),
        promo_code: "WEEKLY-SPINS".into(),
        attempt_id: "2026-W47".into(),
        sequence,
        expires_at: Some(at("2026-11-23T23:59:59Z")),
    }
}

const PK: &str = "skybet#10048213";

#[tokio::test]
async fn msq_meets_the_message_store_contract() {
    let msq = msq().await;
    rewards_shared::ports::message_store::compliance::check_all(&msq.store, "").await;
}

#[tokio::test]
async fn msq_put_replace_repeat_and_older() {
    let msq = msq().await;
    let first = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::Progress,
        3,
        "2026-11-16T09:30:00Z",
    );
    assert_eq!(
        msq.store.put(&first).await.expect("put"),
        PutResult::Stored { replaced: false }
    );
    let sk = "WEEKLY-SPINS#2026-W47#PROGRESS";
    let item = msq.item(PK, sk).await.expect("stored");
    assert_eq!(item["state"], AttributeValue::S("queued".into()));
    assert_eq!(item["sequence"], AttributeValue::N("3".into()));
    assert_eq!(
        item["expiresAt"],
        AttributeValue::N(at("2026-11-23T23:59:59Z").timestamp().to_string())
    );

    let newer = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::Progress,
        4,
        "2026-11-16T09:40:00Z",
    );
    assert_eq!(
        msq.store.put(&newer).await.expect("put newer"),
        PutResult::Stored { replaced: true }
    );
    assert_eq!(
        msq.store.put(&newer).await.expect("repeat"),
        PutResult::NotNewer {
            state: ItemState::Queued
        }
    );
    assert_eq!(
        msq.store.put(&first).await.expect("older"),
        PutResult::NotNewer {
            state: ItemState::Queued
        }
    );
    let pending = msq
        .store
        .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
        .await
        .expect("pending");
    assert_eq!(pending, vec![newer]);
}

#[tokio::test]
async fn msq_tombstone_before_the_award_blocks_it() {
    let msq = msq().await;
    assert_eq!(
        msq.store.tombstone(&delete(9)).await.expect("tombstone"),
        TombstoneResult::Placed
    );
    let award = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::RewardAwarded,
        8,
        "2026-11-16T09:30:00Z",
    );
    assert_eq!(
        msq.store.put(&award).await.expect("late award"),
        PutResult::NotNewer {
            state: ItemState::Tombstone
        }
    );
    assert_eq!(
        msq.store.tombstone(&delete(9)).await.expect("repeat"),
        TombstoneResult::NotNewer
    );
    let item = msq
        .item(PK, "WEEKLY-SPINS#2026-W47#REWARD_AWARDED")
        .await
        .expect("tombstone stored");
    assert_eq!(item["state"], AttributeValue::S("tombstone".into()));
    assert_eq!(item["sequence"], AttributeValue::N("9".into()));
    assert!(!item.contains_key("message"));
    assert!(msq
        .store
        .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
        .await
        .expect("pending")
        .is_empty());
}

#[tokio::test]
async fn msq_tombstone_after_the_award_deletes_it() {
    let msq = msq().await;
    let award = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::RewardAwarded,
        8,
        "2026-11-16T09:30:00Z",
    );
    let progress = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::Progress,
        7,
        "2026-11-16T09:20:00Z",
    );
    msq.store.put(&award).await.expect("award");
    msq.store.put(&progress).await.expect("progress");
    assert_eq!(
        msq.store.tombstone(&delete(9)).await.expect("tombstone"),
        TombstoneResult::Deleted
    );
    assert_eq!(
        msq.store
            .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
            .await
            .expect("pending"),
        vec![progress],
        "only the award is removed"
    );
    // An older instruction changes nothing.
    assert_eq!(
        msq.store.tombstone(&delete(2)).await.expect("older"),
        TombstoneResult::NotNewer
    );
}

#[tokio::test]
async fn msq_pending_is_oldest_first_and_skips_expired_delivered_and_others() {
    let msq = msq().await;
    let late = queued(
        "10048213",
        "PROMO-A",
        MessageType::Progress,
        2,
        "2026-11-17T12:00:00Z",
    );
    let early = queued(
        "10048213",
        "PROMO-B",
        MessageType::OptIn,
        1,
        "2026-11-16T08:00:00Z",
    );
    let middle = queued(
        "10048213",
        "PROMO-C",
        MessageType::Unqualification,
        5,
        "2026-11-16T20:00:00Z",
    );
    let mut expired = queued(
        "10048213",
        "PROMO-D",
        MessageType::Progress,
        3,
        "2026-11-15T08:00:00Z",
    );
    expired.message.expires_at = Some(at("2026-11-18T09:59:59Z"));
    let no_expiry = {
        let mut message = queued(
            "10048213",
            "PROMO-E",
            MessageType::OptIn,
            4,
            "2026-11-17T13:00:00Z",
        );
        message.message.expires_at = None;
        message
    };
    let delivered = queued(
        "10048213",
        "PROMO-F",
        MessageType::Progress,
        6,
        "2026-11-15T00:00:00Z",
    );
    let other_customer = queued(
        "999",
        "PROMO-A",
        MessageType::Progress,
        2,
        "2026-11-15T00:00:00Z",
    );
    for message in [
        &late,
        &early,
        &middle,
        &expired,
        &no_expiry,
        &delivered,
        &other_customer,
    ] {
        msq.store.put(message).await.expect("put");
    }
    assert!(msq.store.mark_delivered(&delivered).await.expect("mark"));

    let pending = msq
        .store
        .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
        .await
        .expect("pending");
    assert_eq!(pending, vec![early, middle, late, no_expiry]);
    // The expired item is still in the table (TTL deletes late): the filter is the store's.
    assert!(msq.item(PK, "PROMO-D#2026-W47#PROGRESS").await.is_some());
}

#[tokio::test]
async fn msq_pending_reads_every_page() {
    let config = moto_config().await;
    let counter = CallCounter::new();
    let client = counted_dynamodb_client(&config, &counter);
    let table = unique("msq-messages");
    create_msq_table(&client, &table).await;
    let store = DynamoMessageStore::new(client, table);
    // Five items of ~300 KB: over the 1 MB a Query page holds, so two pages at least.
    let mut expected = Vec::new();
    for i in 0..5u64 {
        let mut message = queued(
            "10048213",
            &format!("PROMO-{i}"),
            MessageType::Progress,
            i + 1,
            &format!("2026-11-16T0{i}:00:00Z"),
        );
        message.message.body = "b".repeat(300_000);
        store.put(&message).await.expect("put");
        expected.push(message);
    }
    let pending = store
        .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
        .await
        .expect("pending");
    assert_eq!(pending, expected);
    assert!(
        counter.count("Query") >= 2,
        "expected several pages, got {} Query calls",
        counter.count("Query")
    );
}

#[tokio::test]
async fn msq_mark_delivered_only_when_the_item_still_holds_the_message() {
    let msq = msq().await;
    let sent = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::Progress,
        3,
        "2026-11-16T09:30:00Z",
    );
    let replacement = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::Progress,
        4,
        "2026-11-16T09:40:00Z",
    );
    msq.store.put(&sent).await.expect("put");
    // A newer message replaced it while OSG was taking the old one.
    msq.store.put(&replacement).await.expect("replace");
    assert!(!msq.store.mark_delivered(&sent).await.expect("mark stale"));
    assert_eq!(
        msq.store
            .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
            .await
            .expect("pending"),
        vec![replacement.clone()],
        "the replacement survives"
    );
    assert!(msq.store.mark_delivered(&replacement).await.expect("mark"));
    assert!(!msq.store.mark_delivered(&replacement).await.expect("again"));
    let item = msq
        .item(PK, "WEEKLY-SPINS#2026-W47#PROGRESS")
        .await
        .expect("marker");
    assert_eq!(item["state"], AttributeValue::S("delivered".into()));
    assert!(!item.contains_key("message"));
    // The marker blocks a late repeat of the delivered message.
    assert_eq!(
        msq.store.put(&replacement).await.expect("repeat"),
        PutResult::NotNewer {
            state: ItemState::Delivered
        }
    );
    // A message never stored is not marked.
    let never = queued(
        "10048213",
        "OTHER",
        MessageType::Progress,
        1,
        "2026-11-16T09:30:00Z",
    );
    assert!(!msq.store.mark_delivered(&never).await.expect("absent"));
}

#[tokio::test]
async fn msq_keeps_messages_of_ids_holding_separators_apart() {
    let msq = msq().await;
    let with_attempt = |promo: &str, attempt: &str, sequence: u64| {
        let mut message = queued(
            "10048213",
            promo,
            MessageType::RewardAwarded,
            sequence,
            "2026-11-16T09:30:00Z",
        );
        message.attempt_id = attempt.into();
        message.message.message_id = format!("msg-{promo}-{attempt}");
        message
    };
    // Promo `WEEK#1` + attempt `A` and promo `WEEK` + attempt `1#A`: two messages.
    let first = with_attempt("WEEK#1", "A", 5);
    let second = with_attempt("WEEK", "1#A", 3);
    for message in [&first, &second] {
        assert_eq!(
            msq.store.put(message).await.expect("put"),
            PutResult::Stored { replaced: false }
        );
    }
    assert!(msq.item(PK, "WEEK%231#A#REWARD_AWARDED").await.is_some());
    assert!(msq.item(PK, "WEEK#1%23A#REWARD_AWARDED").await.is_some());
    let pending = msq
        .store
        .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
        .await
        .expect("pending");
    assert_eq!(pending.len(), 2, "both kept");
    // A delete instruction for one attempt leaves the other alone.
    let mut instruction = delete(9);
    instruction.promo_code = "WEEK".into();
    instruction.attempt_id = "1#A".into();
    assert_eq!(
        msq.store.tombstone(&instruction).await.expect("tombstone"),
        TombstoneResult::Deleted
    );
    let pending = msq
        .store
        .pending(PendingQuery::new("skybet", "10048213", at(NOW)))
        .await
        .expect("pending");
    assert_eq!(pending, vec![first]);
}

#[tokio::test]
async fn msq_stores_resends_and_deletes_for_odd_ids() {
    let msq = msq().await;
    for id in ODD_IDS {
        let mut message = queued(id, id, MessageType::Progress, 1, "2026-11-16T09:30:00Z");
        message.message.brand = format!("{id}-brand");
        message.attempt_id = id.into();
        assert_eq!(
            msq.store.put(&message).await.expect("put"),
            PutResult::Stored { replaced: false },
            "{id}"
        );
        let pending = msq
            .store
            .pending(PendingQuery::new(&message.message.brand, id, at(NOW)))
            .await
            .expect("pending");
        assert_eq!(pending, vec![message.clone()], "{id}");
        assert!(
            msq.store.mark_delivered(&message).await.expect("mark"),
            "{id}"
        );
        assert!(msq
            .store
            .pending(PendingQuery::new(&message.message.brand, id, at(NOW)))
            .await
            .expect("pending")
            .is_empty());
    }
}

#[tokio::test]
async fn msq_missing_table_is_rejected_naming_the_key() {
    let config = moto_config().await;
    let store = DynamoMessageStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique("no-such-table"),
    );
    let message = queued(
        "10048213",
        "WEEKLY-SPINS",
        MessageType::Progress,
        3,
        "2026-11-16T09:30:00Z",
    );
    let error = store.put(&message).await.expect_err("no table");
    let MessageStoreError::Rejected { key, reason } = &error else {
        panic!("expected rejected, got {error:?}");
    };
    assert_eq!(key, "skybet#10048213/WEEKLY-SPINS#2026-W47#PROGRESS");
    assert!(reason.contains("ResourceNotFoundException"), "{reason}");
}

// ---------------------------------------------------------------------------------------------
// SQS publisher

fn outgoing(destination: Destination, id: &str, body: String) -> OutgoingMessage {
    OutgoingMessage {
        group: None,
        deduplication_id: None,
        destination,
        id: id.into(),
        event_type: EventType::Relevant,
        correlation_id: format!("corr-{id}"),
        body,
    }
}

fn body_of(id: &str, padding: usize) -> String {
    serde_json::json!({"id": id, "pad": "p".repeat(padding)}).to_string()
}

fn body_id(message: &aws_sdk_sqs::types::Message) -> String {
    let json: serde_json::Value =
        serde_json::from_str(message.body().expect("body")).expect("JSON body");
    json["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn publisher_sends_25_messages_in_3_batches_with_attributes() {
    let config = moto_config().await;
    let counter = CallCounter::new();
    let client = counted_sqs_client(&config, &counter);
    let queue = create_queue(&client, &unique("relevant-events")).await;
    let publisher = SqsPublisher::new(
        client.clone(),
        [(Destination::RelevantEvents, queue.url.clone())],
    );
    let messages: Vec<OutgoingMessage> = (0..25)
        .map(|i| {
            outgoing(
                Destination::RelevantEvents,
                &format!("event:{i}/with odd chars"),
                body_of(&i.to_string(), 10),
            )
        })
        .collect();
    publisher.publish(messages).await.expect("published");
    assert_eq!(counter.count("SendMessageBatch"), 3);

    let received = receive(&client, &queue.url, 25, WAIT).await;
    assert_eq!(received.len(), 25);
    let mut ids: Vec<u32> = received
        .iter()
        .map(|m| body_id(m).parse().expect("number"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..25).collect::<Vec<_>>());
    for message in &received {
        let id = body_id(message);
        assert_eq!(attribute(message, "ce-type"), Some("rewards.relevant"));
        assert_eq!(
            attribute(message, "correlation-id").map(str::to_owned),
            Some(format!("corr-event:{id}/with odd chars"))
        );
    }
}

#[tokio::test]
async fn publisher_splits_batches_by_size() {
    let config = moto_config().await;
    let counter = CallCounter::new();
    let client = counted_sqs_client(&config, &counter);
    let queue = create_queue(&client, &unique("decided-events")).await;
    let publisher = SqsPublisher::new(
        client.clone(),
        [(Destination::DecidedEvents, queue.url.clone())],
    );
    // Four messages of ~100 KiB: two fit in 256 KiB, three do not.
    let messages: Vec<OutgoingMessage> = (0..4)
        .map(|i| {
            outgoing(
                Destination::DecidedEvents,
                &format!("big-{i}"),
                body_of(&i.to_string(), 100 * 1024),
            )
        })
        .collect();
    publisher.publish(messages).await.expect("published");
    assert_eq!(counter.count("SendMessageBatch"), 2);
    assert_eq!(receive(&client, &queue.url, 4, WAIT).await.len(), 4);
}

#[tokio::test]
async fn publisher_rejects_an_oversize_message_alone_without_calling_sqs_for_it() {
    let config = moto_config().await;
    let counter = CallCounter::new();
    let client = counted_sqs_client(&config, &counter);
    let queue = create_queue(&client, &unique("msq-inbound")).await;
    let publisher = SqsPublisher::new(
        client.clone(),
        [(Destination::MsqInbound, queue.url.clone())],
    );
    let huge = body_of("huge", 262_144);
    let huge_size = huge.len()
        + "ce-type".len()
        + "String".len()
        + "rewards.relevant".len()
        + "correlation-id".len()
        + "String".len()
        + "corr-huge".len();
    let error = publisher
        .publish(vec![
            outgoing(Destination::MsqInbound, "small-1", body_of("small-1", 10)),
            outgoing(Destination::MsqInbound, "huge", huge),
            outgoing(Destination::MsqInbound, "small-2", body_of("small-2", 10)),
        ])
        .await
        .expect_err("one message too big");
    assert_eq!(error.failed.len(), 1);
    let failed = &error.failed[0];
    assert_eq!(failed.id, "huge");
    assert!(!failed.retryable);
    assert_eq!(
        failed.reason,
        format!("message huge is {huge_size} bytes, over the SQS limit of 262144")
    );
    assert_eq!(counter.count("SendMessageBatch"), 1);
    let mut ids: Vec<String> = receive(&client, &queue.url, 2, WAIT)
        .await
        .iter()
        .map(body_id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["small-1", "small-2"]);
}

#[tokio::test]
async fn publisher_reports_the_entries_sqs_rejects_in_a_partial_batch() {
    let config = moto_config().await;
    let counter = CallCounter::new();
    let client = sqs_client_with(
        &config,
        &counter,
        RejectEntries {
            marker: "REJECT-ME".into(),
        },
    );
    let queue = create_queue(&client, &unique("relevant-events")).await;
    let publisher = SqsPublisher::new(
        client.clone(),
        [(Destination::RelevantEvents, queue.url.clone())],
    );
    let error = publisher
        .publish(vec![
            outgoing(Destination::RelevantEvents, "ok-1", body_of("ok-1", 10)),
            outgoing(Destination::RelevantEvents, "bad", body_of("REJECT-ME", 10)),
            outgoing(Destination::RelevantEvents, "ok-2", body_of("ok-2", 10)),
        ])
        .await
        .expect_err("one entry rejected");
    assert_eq!(error.failed.len(), 1);
    let failed = &error.failed[0];
    assert_eq!(failed.id, "bad");
    assert!(!failed.retryable, "a sender fault is not retried");
    assert!(
        failed
            .reason
            .contains("InvalidParameterValue (sender fault)"),
        "{}",
        failed.reason
    );
    assert_eq!(
        counter.count("SendMessageBatch"),
        1,
        "sender faults are not sent again"
    );
    let mut ids: Vec<String> = receive(&client, &queue.url, 2, WAIT)
        .await
        .iter()
        .map(body_id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["ok-1", "ok-2"]);
}

#[tokio::test]
async fn publisher_fails_unknown_destinations_and_missing_queues_alone() {
    let config = moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = create_queue(&client, &unique("relevant-events")).await;
    let missing_url = format!("{}-gone", queue.url);
    let publisher = SqsPublisher::new(
        client.clone(),
        [
            (Destination::RelevantEvents, queue.url.clone()),
            (Destination::DecidedEvents, missing_url),
        ],
    );
    let error = publisher
        .publish(vec![
            outgoing(Destination::RelevantEvents, "ok", body_of("ok", 10)),
            outgoing(Destination::MsqDelete, "nowhere", body_of("nowhere", 10)),
            outgoing(Destination::DecidedEvents, "gone", body_of("gone", 10)),
        ])
        .await
        .expect_err("two messages fail");
    let mut failed = error.failed.clone();
    failed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].id, "gone");
    assert!(!failed[0].retryable);
    // SQS's JSON protocol names it `QueueDoesNotExist`, with the query-compatible code
    // `AWS.SimpleQueueService.NonExistentQueue` (the one moto sends).
    assert!(
        failed[0].reason.contains("QueueDoesNotExist")
            || failed[0].reason.contains("NonExistentQueue"),
        "{}",
        failed[0].reason
    );
    assert_eq!(failed[1].id, "nowhere");
    assert!(!failed[1].retryable);
    assert_eq!(
        failed[1].reason,
        "no queue URL configured for destination msq-inbound-delete"
    );
    let received = receive(&client, &queue.url, 1, WAIT).await;
    assert_eq!(received.iter().map(body_id).collect::<Vec<_>>(), vec!["ok"]);
}

// ---------------------------------------------------------------------------------------------
// Dead letters and redrive

#[tokio::test]
async fn dead_letters_carry_the_record_and_its_attributes() {
    let config = moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = create_queue(&client, &unique("dec-dlq")).await;
    let sink = SqsDeadLetters::new(client.clone(), queue.url.clone());
    let letters: Vec<DeadLetter> = (0..12)
        .map(|i| DeadLetter {
            stage: Stage::Dec,
            reason: format!("invalid-input: record {i} is not JSON"),
            source: format!("dc1.skybet.cpp.activity/0@{i}"),
            payload: format!("{{not json {i}"),
        })
        .chain([
            DeadLetter {
                stage: Stage::Tim,
                reason: "invalid-input: control character".into(),
                source: "sqs-message-1".into(),
                payload: "bad\u{0}record".into(),
            },
            DeadLetter {
                stage: Stage::Dec,
                reason: "invalid-input: empty record".into(),
                source: "dc1.skybet.cpp.activity/1@7".into(),
                payload: String::new(),
            },
        ])
        .collect();
    sink.send(letters).await.expect("sent");

    let received = receive(&client, &queue.url, 14, WAIT).await;
    assert_eq!(received.len(), 14);
    let plain = received
        .iter()
        .find(|m| m.body() == Some("{not json 3"))
        .expect("letter 3");
    assert_eq!(attribute(plain, "stage"), Some("dec"));
    assert_eq!(
        attribute(plain, "reason"),
        Some("invalid-input: record 3 is not JSON")
    );
    assert_eq!(
        attribute(plain, "source"),
        Some("dc1.skybet.cpp.activity/0@3")
    );
    assert_eq!(attribute(plain, "payload-bytes"), Some("11"));
    let control = received
        .iter()
        .find(|m| attribute(m, "source") == Some("sqs-message-1"))
        .expect("control-character letter");
    assert_eq!(control.body(), Some("bad\u{FFFD}record"));
    assert_eq!(attribute(control, "stage"), Some("tim"));
    assert_eq!(attribute(control, "payload-note"), Some("sanitized"));
    let empty = received
        .iter()
        .find(|m| attribute(m, "source") == Some("dc1.skybet.cpp.activity/1@7"))
        .expect("empty letter");
    assert_eq!(empty.body(), Some("(empty record)"));
    assert_eq!(attribute(empty, "payload-bytes"), Some("0"));
}

#[tokio::test]
async fn a_message_received_max_receive_count_times_moves_to_the_dlq() {
    let config = moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = create_queue(&client, &unique("cpp-enriched")).await;
    let publisher = SqsPublisher::new(
        client.clone(),
        [(Destination::EnrichedEvents, queue.url.clone())],
    );
    publisher
        .publish(vec![outgoing(
            Destination::EnrichedEvents,
            "poison",
            body_of("poison", 10),
        )])
        .await
        .expect("published");

    // A consumer that fails every time: it receives the message and never deletes it; the
    // visibility time-out of 0 makes it visible again at once.
    let mut receives = 0;
    for _ in 0..(MAX_RECEIVE_COUNT + 3) {
        let output = client
            .receive_message()
            .queue_url(&queue.url)
            .visibility_timeout(0)
            .max_number_of_messages(1)
            .send()
            .await
            .expect("receive");
        if output.messages.unwrap_or_default().is_empty() {
            break;
        }
        receives += 1;
    }
    assert_eq!(
        receives, MAX_RECEIVE_COUNT as usize,
        "received maxReceiveCount times"
    );

    let dead = receive(&client, &queue.dlq_url, 1, WAIT).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(body_id(&dead[0]), "poison");
    assert_eq!(attribute(&dead[0], "ce-type"), Some("rewards.relevant"));
}

// ---------------------------------------------------------------------------------------------
// The publisher's and the dead-letter sink's contracts, as the in-memory ones meet them

/// What arrived in the queues of an [`SqsPublisher`], read back from SQS.
struct SqsInbox {
    client: aws_sdk_sqs::Client,
    urls: BTreeMap<Destination, String>,
}

impl rewards_shared::ports::publisher::compliance::Inbox for SqsInbox {
    async fn arrived(
        &self,
        destination: Destination,
    ) -> Vec<rewards_shared::ports::publisher::compliance::Arrived> {
        let Some(url) = self.urls.get(&destination) else {
            return Vec::new();
        };
        let system = |message: &aws_sdk_sqs::types::Message, name| {
            message
                .attributes()
                .and_then(|attributes| attributes.get(&name).cloned())
        };
        rewards_tests::drain_queue(&self.client, url)
            .await
            .iter()
            .map(
                |message| rewards_shared::ports::publisher::compliance::Arrived {
                    body: message.body().unwrap_or_default().to_owned(),
                    event_type: attribute(message, "ce-type").unwrap_or_default().to_owned(),
                    group: system(message, MessageSystemAttributeName::MessageGroupId),
                    deduplication_id: system(
                        message,
                        MessageSystemAttributeName::MessageDeduplicationId,
                    ),
                },
            )
            .collect()
    }
}

#[tokio::test]
async fn publisher_meets_the_publisher_contract() {
    let config = moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let standard = create_queue(&client, &unique("msq-inbound-queue")).await;
    let fifo = rewards_tests::create_fifo_queue(&client, &unique("decided-events")).await;
    let urls = BTreeMap::from([
        (Destination::MsqInbound, standard.url),
        (Destination::DecidedEvents, fifo.url),
    ]);
    let publisher = SqsPublisher::new(client.clone(), urls.clone());
    let inbox = SqsInbox { client, urls };
    rewards_shared::ports::publisher::compliance::check_all(&publisher, &inbox, "").await;
}

/// What arrived in a dead-letter queue, read back from SQS.
struct SqsLetterbox {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl rewards_shared::ports::dead_letter::compliance::Letterbox for SqsLetterbox {
    async fn arrived(&self) -> Vec<DeadLetter> {
        rewards_tests::drain_queue(&self.client, &self.url)
            .await
            .iter()
            .map(|message| DeadLetter {
                stage: match attribute(message, "stage") {
                    Some("dec") => Stage::Dec,
                    Some("tim") => Stage::Tim,
                    Some("fred") => Stage::Fred,
                    Some("des") => Stage::Des,
                    Some("bcg") => Stage::Bcg,
                    _ => Stage::Msq,
                },
                reason: attribute(message, "reason").unwrap_or_default().to_owned(),
                source: attribute(message, "source").unwrap_or_default().to_owned(),
                payload: message.body().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

#[tokio::test]
async fn dead_letters_meet_the_dead_letter_sink_contract_on_standard_and_fifo_queues() {
    let config = moto_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let standard = create_queue(&client, &unique("bcg")).await;
    let fifo = rewards_tests::create_fifo_queue(&client, &unique("bcg")).await;
    for url in [standard.dlq_url, fifo.dlq_url] {
        let sink = SqsDeadLetters::new(client.clone(), url.clone());
        let letterbox = SqsLetterbox {
            client: client.clone(),
            url,
        };
        rewards_shared::ports::dead_letter::compliance::check_all(&sink, &letterbox, "").await;
    }
}
