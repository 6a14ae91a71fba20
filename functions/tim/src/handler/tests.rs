//! The tests of the batch handler, against the in-memory ports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use rewards_shared::envelope::{EventType, StageTimestamps};
use rewards_shared::ids::derived_id;
use rewards_shared::model::{
    ActivityStatus, DeleteInstruction, EnrichedProgress, MessageType, RewardMessage,
};
use rewards_shared::ports::{
    Destination, DropReason, ManualClock, MemoryDeadLetters, MemoryOutcomes, MemoryPublisher,
    MemoryTimStateStore, Outcome, OutgoingMessage, PublishError, StateUpdate, TimStateError,
    WriteResult,
};
use rewards_shared::sqs::encode_message;
use rewards_shared::telemetry::Telemetry;
use rewards_shared::testing::fixtures;

fn activity(
    account: &str,
    sequence: u64,
    status: ActivityStatus,
    current: u64,
) -> EnrichedActivity {
    EnrichedActivity {
        activity_id: format!("{account}-{sequence}"),
        account_id: account.into(),
        sequence,
        status,
        tags: vec!["tim".into(), "weekly".into()],
        reward_progress: vec![EnrichedProgress {
            current,
            status: status.into(),
            ..fixtures::progress()
        }],
        ..fixtures::enriched_activity()
    }
}

fn body(activity: &EnrichedActivity) -> String {
    Envelope {
        id: format!("ev-{}", activity.activity_id),
        source: Stage::Dec.source().into(),
        event_type: EventType::ActivityEnriched,
        subject: activity.account_id.clone(),
        time: activity.occurred_at,
        brand: activity.brand.clone(),
        correlation_id: format!("corr-{}", activity.activity_id),
        timestamps: StageTimestamps::from_origin(activity.occurred_at),
        data: activity.clone(),
    }
    .encode()
    .expect("encodes")
}

fn event(bodies: &[String]) -> SqsEvent {
    event_with_count(bodies, 1)
}

fn event_with_count(bodies: &[String], receive_count: u32) -> SqsEvent {
    messages("m", bodies, receive_count)
}

/// Other messages carrying these bodies (ids `{prefix}{i}`): copies of events, not
/// redeliveries of the messages of [`event`].
fn copies(prefix: &str, bodies: &[String]) -> SqsEvent {
    messages(prefix, bodies, 1)
}

fn messages(prefix: &str, bodies: &[String], receive_count: u32) -> SqsEvent {
    SqsEvent::of(bodies.iter().enumerate().map(|(i, body)| {
        encode_message(
            &format!("{prefix}{i}"),
            body,
            receive_count,
            "arn:aws:sqs:eu-west-1:1:cpp-enriched-events",
        )
    }))
}

struct Fixture<S> {
    store: Arc<S>,
    publisher: Arc<MemoryPublisher>,
    dead_letters: Arc<MemoryDeadLetters>,
    outcomes: Arc<MemoryOutcomes>,
}

impl<S: TimStateStore> Fixture<S> {
    fn new(store: S) -> Self {
        Fixture {
            store: Arc::new(store),
            publisher: Arc::new(MemoryPublisher::new()),
            dead_letters: Arc::new(MemoryDeadLetters::new()),
            outcomes: Arc::new(MemoryOutcomes::new()),
        }
    }

    fn handler<P: Publisher>(
        &self,
        publisher: P,
    ) -> Handler<Arc<S>, P, Arc<MemoryDeadLetters>, ManualClock> {
        Handler::new(
            "tim",
            Arc::clone(&self.store),
            CommonPorts::new(
                publisher,
                Arc::clone(&self.dead_letters),
                ManualClock::new("2026-11-16T09:30:01Z".parse().expect("date")),
                Telemetry::for_tests(Stage::Tim, self.outcomes.clone()),
            ),
        )
    }

    /// The message types and sequences sent to relevant-events, without the delete
    /// instructions (which travel there too).
    fn relevant_types(&self) -> Vec<(MessageType, u64)> {
        self.take_relevant().0
    }

    /// What was sent to relevant-events: the messages' types and sequences, and the
    /// delete instructions.
    fn take_relevant(&self) -> (Vec<(MessageType, u64)>, Vec<OutgoingMessage>) {
        let (deletes, messages): (Vec<_>, Vec<_>) = self
            .publisher
            .take(Destination::RelevantEvents)
            .into_iter()
            .partition(|message| message.event_type == EventType::MessageDelete);
        let types = messages
            .iter()
            .map(|message| {
                let envelope =
                    Envelope::<RewardMessage>::decode(&message.body, &[EventType::Relevant])
                        .expect("relevant");
                (envelope.data.message_type, envelope.data.activity.sequence)
            })
            .collect();
        (types, deletes)
    }
}

fn failures(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn applies_the_rule_table_through_a_whole_attempt() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let steps = [
        activity("1", 1, ActivityStatus::OptedIn, 0),
        activity("1", 2, ActivityStatus::InProgress, 3),
        activity("1", 3, ActivityStatus::InProgress, 3),
        activity("1", 4, ActivityStatus::RewardAwarded, 5),
        activity("1", 5, ActivityStatus::RewardAwarded, 5),
        activity("1", 6, ActivityStatus::RewardSpent, 5),
        activity("1", 7, ActivityStatus::Unqualified, 5),
        activity("1", 8, ActivityStatus::Expired, 5),
    ];
    for step in &steps {
        let response = handler.handle(&event(&[body(step)])).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let (types, deletes) = fixture.take_relevant();
    assert_eq!(
        types,
        vec![
            (MessageType::OptIn, 1),
            (MessageType::Progress, 2),
            (MessageType::RewardAwarded, 4)
        ]
    );
    assert_eq!(deletes.len(), 1);
    let delete =
        Envelope::<DeleteInstruction>::decode(&deletes[0].body, &[EventType::MessageDelete])
            .expect("delete");
    assert_eq!(delete.data.sequence, 6);
    assert_eq!(
        delete.timestamps.at(Stage::Tim),
        Some("2026-11-16T09:30:01Z".parse().expect("date"))
    );
    assert_eq!(
        fixture
            .publisher
            .take(Destination::UnqualificationEvents)
            .len(),
        1
    );
    let drops: Vec<_> = fixture
        .outcomes
        .take()
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Dropped { reason, .. } => reason,
            other => panic!("unexpected outcome {other:?}"),
        })
        .collect();
    assert_eq!(drops, vec![DropReason::NoProgress, DropReason::Duplicate]);
    assert_eq!(
        fixture.store.writes(),
        steps.len() as u64,
        "one write per event"
    );
}

#[tokio::test]
async fn stale_and_repeated_sequences_are_duplicates_whatever_their_status() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    handler
        .handle(&event(&[body(&activity(
            "1",
            5,
            ActivityStatus::InProgress,
            2,
        ))]))
        .await;
    handler
        .handle(&copies(
            "copy",
            &[body(&activity("1", 5, ActivityStatus::InProgress, 2))],
        ))
        .await;
    handler
        .handle(&copies(
            "older",
            &[body(&activity("1", 4, ActivityStatus::RewardAwarded, 5))],
        ))
        .await;
    assert_eq!(fixture.relevant_types(), vec![(MessageType::Progress, 5)]);
    let duplicates = fixture
        .outcomes
        .take()
        .into_iter()
        .filter(|o| {
            matches!(
                o,
                Outcome::Dropped {
                    reason: DropReason::Duplicate,
                    ..
                }
            )
        })
        .count();
    assert_eq!(duplicates, 2);
}

#[tokio::test]
async fn events_without_the_filter_tag_are_filtered_without_a_write() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let mut untagged = activity("1", 1, ActivityStatus::OptedIn, 0);
    untagged.tags = vec!["weekly".into()];
    handler.handle(&event(&[body(&untagged)])).await;
    assert_eq!(
        fixture.outcomes.take(),
        vec![Outcome::Dropped {
            stage: Stage::Tim,
            reason: DropReason::Filtered,
            account_id: Some("1".into())
        }]
    );
    assert_eq!(fixture.store.writes(), 0);
}

#[tokio::test]
async fn records_of_a_key_are_applied_in_sequence_order_within_a_batch() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let bodies = [
        body(&activity("1", 3, ActivityStatus::InProgress, 4)),
        body(&activity("2", 1, ActivityStatus::OptedIn, 0)),
        body(&activity("1", 2, ActivityStatus::InProgress, 2)),
    ];
    let response = handler.handle(&event(&bodies)).await;
    assert!(response.batch_item_failures.is_empty());
    let mut emitted = fixture.relevant_types();
    emitted.sort();
    // Sequence 2 then 3: both progressed. Applied in arrival order, 2 would be stale.
    assert_eq!(
        emitted,
        vec![
            (MessageType::OptIn, 1),
            (MessageType::Progress, 2),
            (MessageType::Progress, 3)
        ]
    );
}

#[tokio::test]
async fn a_bad_record_goes_to_the_dead_letter_queue_and_the_others_go_on() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let bodies = [
        "not a cloudevent".to_owned(),
        body(&activity("1", 1, ActivityStatus::OptedIn, 0))
            .replace("rewards.activity.enriched", "rewards.decided"),
        body(&activity("1", 1, ActivityStatus::OptedIn, 0))
            .replace("\"accountId\":\"1\"", "\"accountId\":\"\""),
        body(&activity("2", 1, ActivityStatus::OptedIn, 0)),
    ];
    let response = handler.handle(&event(&bodies)).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "bad input is not retried"
    );
    let letters = fixture.dead_letters.take();
    assert_eq!(
        letters
            .iter()
            .map(|l| l.source.as_str())
            .collect::<Vec<_>>(),
        vec!["m0", "m1", "m2"]
    );
    assert!(
        letters
            .iter()
            .all(|l| l.reason.starts_with("invalid-input: ")),
        "{letters:?}"
    );
    assert!(
        letters[2].reason.contains("accountId"),
        "{}",
        letters[2].reason
    );
    assert_eq!(fixture.relevant_types(), vec![(MessageType::OptIn, 1)]);
}

/// A store that is throttled for one account.
struct ThrottledFor(&'static str, MemoryTimStateStore);

impl TimStateStore for ThrottledFor {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        if key.account_id == self.0 {
            return Err(TimStateError::Unavailable {
                key: key.partition_key(),
                reason: "throttled".into(),
            });
        }
        self.1.advance(key, update).await
    }
}

#[tokio::test]
async fn transient_failures_are_reported_with_the_later_events_of_their_key_and_nothing_else() {
    let fixture = Fixture::new(ThrottledFor("1", MemoryTimStateStore::new()));
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let bodies = [
        body(&activity("1", 1, ActivityStatus::OptedIn, 0)),
        body(&activity("2", 1, ActivityStatus::OptedIn, 0)),
        body(&activity("1", 2, ActivityStatus::InProgress, 1)),
    ];
    let response = handler.handle(&event(&bodies)).await;
    assert_eq!(failures(&response), vec!["m0", "m2"]);
    assert_eq!(fixture.relevant_types(), vec![(MessageType::OptIn, 1)]);
    assert!(fixture.dead_letters.take().is_empty());
}

/// A publisher that fails once, as if the process crashed after the state write.
struct FailOnce(AtomicBool, Arc<MemoryPublisher>);

impl Publisher for FailOnce {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        if !self.0.swap(true, Ordering::SeqCst) {
            return Err(PublishError::all(&messages, "connection reset", true));
        }
        self.1.publish(messages).await
    }
}

#[tokio::test]
async fn a_redelivery_after_a_failed_publish_emits_the_same_event_again() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(FailOnce(
        AtomicBool::new(false),
        Arc::clone(&fixture.publisher),
    ));
    let award = [body(&activity("1", 4, ActivityStatus::RewardAwarded, 5))];

    let first = handler.handle(&event(&award)).await;
    assert_eq!(failures(&first), vec!["m0"]);
    assert!(fixture.relevant_types().is_empty());

    let redelivered = handler.handle(&event_with_count(&award, 2)).await;
    assert!(redelivered.batch_item_failures.is_empty());
    let emitted = fixture.publisher.take(Destination::RelevantEvents);
    assert_eq!(emitted.len(), 1, "the award is not lost");

    // A later, independent copy (another message, first delivery) is a true duplicate.
    handler.handle(&copies("copy", &award)).await;
    assert!(fixture.relevant_types().is_empty());
    assert!(fixture.outcomes.take().contains(&Outcome::Dropped {
        stage: Stage::Tim,
        reason: DropReason::Duplicate,
        account_id: Some("1".into())
    }));
}

/// A store whose first answer is lost: it applies the write, the answer times out, and the
/// SDK sends the same write again, which finds the event already stored.
struct AnswerLost(MemoryTimStateStore);

impl TimStateStore for AnswerLost {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        let _lost = self.0.advance(key, update).await?;
        self.0.advance(key, update).await
    }
}

#[tokio::test]
async fn an_applied_write_whose_answer_was_lost_still_emits() {
    let fixture = Fixture::new(AnswerLost(MemoryTimStateStore::new()));
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let bodies = [
        body(&activity("1", 1, ActivityStatus::OptedIn, 0)),
        body(&activity("1", 2, ActivityStatus::InProgress, 2)),
    ];
    let response = handler.handle(&event(&bodies)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        fixture.relevant_types(),
        vec![(MessageType::OptIn, 1), (MessageType::Progress, 2)],
        "a retried write of the event's own message is no duplicate"
    );
}

/// A publisher that fails the messages of one TIM event id (`tim` of `ev-{activity}`),
/// once.
struct FailOnceFor(String, AtomicBool, Arc<MemoryPublisher>);

impl FailOnceFor {
    fn new(activity_id: &str, publisher: &Arc<MemoryPublisher>) -> Self {
        let event_id = derived_id(&[Stage::Tim.as_str(), &format!("ev-{activity_id}")]);
        FailOnceFor(event_id, AtomicBool::new(false), Arc::clone(publisher))
    }
}

impl Publisher for FailOnceFor {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        let (failing, passing): (Vec<_>, Vec<_>) = messages
            .into_iter()
            .partition(|m| m.id == self.0 && !self.1.load(Ordering::SeqCst));
        if !passing.is_empty() {
            self.2.publish(passing).await?;
        }
        if failing.is_empty() {
            return Ok(());
        }
        self.1.store(true, Ordering::SeqCst);
        Err(PublishError::all(&failing, "ServiceUnavailable", true))
    }
}

/// An older event of a key whose publish failed while a newer event of the same key in the
/// same batch was written would lose its message (its redelivery would find the newer
/// event stored, a duplicate): the newer one waits for the older one's publish.
#[tokio::test]
async fn a_failed_publish_of_an_older_event_of_a_key_does_not_lose_it() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(FailOnceFor::new("1-2", &fixture.publisher));
    let bodies = [
        body(&activity("1", 2, ActivityStatus::InProgress, 2)),
        body(&activity("1", 3, ActivityStatus::InProgress, 4)),
    ];
    let first = handler.handle(&event(&bodies)).await;
    assert_eq!(
        failures(&first),
        vec!["m0", "m1"],
        "the newer event waits for the older"
    );
    let mut emitted = fixture.relevant_types();
    let again = handler.handle(&event_with_count(&bodies, 2)).await;
    assert!(again.batch_item_failures.is_empty());
    emitted.extend(fixture.relevant_types());
    emitted.sort();
    emitted.dedup();
    assert_eq!(
        emitted,
        vec![(MessageType::Progress, 2), (MessageType::Progress, 3)]
    );
}

/// A store that dies (every write fails) after a number of writes, like a process that
/// crashed in the middle of a batch: what it wrote stays written.
struct DiesAfter(std::sync::Mutex<u32>, MemoryTimStateStore);

impl TimStateStore for DiesAfter {
    async fn advance(
        &self,
        key: &StateKey,
        update: &StateUpdate,
    ) -> Result<WriteResult, TimStateError> {
        let alive = self
            .0
            .lock()
            .map(|mut left| {
                let alive = *left > 0;
                *left = left.saturating_sub(1);
                alive
            })
            .unwrap_or(false);
        if !alive {
            return Err(TimStateError::Unavailable {
                key: key.partition_key(),
                reason: "crashed".into(),
            });
        }
        self.1.advance(key, update).await
    }
}

/// A crash after the writes of two events of a key and before their publish would lose
/// the older one's message on redelivery: the newer event is only written once the older
/// one's message is out.
#[tokio::test]
async fn a_crash_between_the_writes_and_the_publish_loses_nothing() {
    let fixture = Fixture::new(DiesAfter(
        std::sync::Mutex::new(2),
        MemoryTimStateStore::new(),
    ));
    // The process dies as it publishes: nothing goes out, nothing more is written.
    let dead = fixture.handler(FailOnce(
        AtomicBool::new(false),
        Arc::clone(&fixture.publisher),
    ));
    let bodies = [
        body(&activity("1", 1, ActivityStatus::OptedIn, 0)),
        body(&activity("1", 2, ActivityStatus::InProgress, 2)),
    ];
    let first = dead.handle(&event(&bodies)).await;
    assert_eq!(failures(&first), vec!["m0", "m1"]);
    assert!(fixture.relevant_types().is_empty());
    if let Ok(mut left) = fixture.store.0.lock() {
        *left = u32::MAX;
    }
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let again = handler.handle(&event_with_count(&bodies, 2)).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(
        fixture.relevant_types(),
        vec![(MessageType::OptIn, 1), (MessageType::Progress, 2)]
    );
}

/// Progress is compared per reward scheme: a scheme the event does not name keeps its
/// stored value, so a later event repeating known progress is `no-progress`, and an
/// opt-in without entries forgets nothing.
#[tokio::test]
async fn progress_is_compared_per_reward_scheme() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let with_progress = |sequence: u64, status, entries: &[(&str, u64)]| {
        let mut activity = activity("1", sequence, status, 0);
        let template = activity.reward_progress[0].clone();
        activity.reward_progress = entries
            .iter()
            .map(|(scheme, current)| EnrichedProgress {
                reward_scheme_id: (*scheme).into(),
                current: *current,
                ..template.clone()
            })
            .collect();
        body(&activity)
    };
    let steps = [
        with_progress(1, ActivityStatus::InProgress, &[("a", 3), ("b", 1)]),
        with_progress(2, ActivityStatus::InProgress, &[("b", 2)]),
        with_progress(3, ActivityStatus::InProgress, &[("a", 3), ("b", 2)]),
        with_progress(4, ActivityStatus::OptedIn, &[]),
        with_progress(5, ActivityStatus::InProgress, &[("a", 3), ("b", 2)]),
        with_progress(6, ActivityStatus::InProgress, &[("a", 4)]),
    ];
    for step in steps {
        handler.handle(&event(&[step])).await;
    }
    assert_eq!(
        fixture.relevant_types(),
        vec![
            (MessageType::Progress, 1),
            (MessageType::Progress, 2),
            (MessageType::OptIn, 4),
            (MessageType::Progress, 6)
        ]
    );
    let no_progress = fixture
        .outcomes
        .take()
        .into_iter()
        .filter(|outcome| {
            matches!(
                outcome,
                Outcome::Dropped {
                    reason: DropReason::NoProgress,
                    ..
                }
            )
        })
        .count();
    assert_eq!(no_progress, 2, "sequences 3 and 5 repeat known progress");
}

/// The delete instruction of a spent reward travels the award's path: to
/// relevant-events, in the award's FIFO group, after it.
#[tokio::test]
async fn a_delete_instruction_follows_its_award_in_the_same_group() {
    let fixture = Fixture::new(MemoryTimStateStore::new());
    let handler = fixture.handler(Arc::clone(&fixture.publisher));
    let bodies = [
        body(&activity("1", 4, ActivityStatus::RewardAwarded, 5)),
        body(&activity("1", 5, ActivityStatus::RewardSpent, 5)),
    ];
    let response = handler.handle(&event(&bodies)).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = fixture.publisher.take(Destination::RelevantEvents);
    let kinds: Vec<EventType> = sent.iter().map(|message| message.event_type).collect();
    assert_eq!(kinds, [EventType::Relevant, EventType::MessageDelete]);
    let group = rewards_shared::ports::group_id("1", "WEEKLY-SPINS", "2026-W47");
    assert!(sent
        .iter()
        .all(|message| message.group.as_deref() == Some(group.as_str())));
    assert!(fixture.publisher.take(Destination::MsqDelete).is_empty());
}
