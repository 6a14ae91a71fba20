//! Every sample Lambda event in `events/<function>/` goes through its function's real handler
//! (with the in-memory ports) and does what its name says.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rewards_shared::decision::DeliveryPreferences;
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::lambda_event::KafkaEvent;
use rewards_shared::lambda_event::SqsEvent;
use rewards_shared::model::{DecidedMessage, MessageType, Promotion, RewardMessage};
use rewards_shared::ports::{
    Clock, CommonPorts, Destination, ItemState, LocalDecisions, ManualClock, MemoryDeadLetters,
    MemoryMessageStore, MemoryOnsiteGateway, MemoryOutcomes, MemoryPromotions, MemoryPublisher,
    MemoryTemplates, MemoryTimStateStore, MessageStore, Outcome, PendingQuery, Template,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Telemetry;
use rewards_shared::testing::fixtures;

fn events(function: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(function);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sample events in {}", dir.display());
    files
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not the Lambda event shape: {e}", path.display()))
}

fn promotion() -> Promotion {
    Promotion {
        promo_url: "https://example.test/promo/weekly-spins".into(),
        tags: vec!["tim".into(), "weekly".into()],
        ..fixtures::promotion(fixtures::PROMO_CODE)
    }
}

fn clock() -> ManualClock {
    ManualClock::new("2026-11-16T09:30:01Z".parse().expect("date"))
}

#[tokio::test]
async fn dec_samples_are_enriched_or_dead_lettered() {
    for file in events("dec") {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let event: KafkaEvent = read(&file);
        let publisher = Arc::new(MemoryPublisher::new());
        let dead_letters = Arc::new(MemoryDeadLetters::new());
        let handler = dec::Handler::new(
            "dc1.skybet.cpp.activity",
            "dc1.skybet.eppm.activity",
            MemoryPromotions::new([promotion()]),
            CommonPorts::new(
                Arc::clone(&publisher),
                Arc::clone(&dead_letters),
                clock(),
                Telemetry::for_tests(Stage::Dec, Arc::new(MemoryOutcomes::new())),
            ),
        );
        handler
            .handle(&event)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let enriched = publisher.take(Destination::EnrichedEvents);
        let unqualifications = publisher.take(Destination::UnqualificationEvents);
        let letters = dead_letters.take();
        match name.as_str() {
            "msk-cpp-activity.json" => {
                assert_eq!(
                    (enriched.len(), unqualifications.len(), letters.len()),
                    (1, 0, 0),
                    "{name}"
                );
                assert_eq!(
                    enriched[0].correlation_id, "c0ffee00-0000-4000-8000-000000000001",
                    "the header is kept"
                );
            }
            "msk-eppm-activity.json" => {
                assert_eq!(
                    (enriched.len(), unqualifications.len(), letters.len()),
                    (0, 1, 0),
                    "{name}"
                )
            }
            "msk-cpp-with-bad-record.json" => {
                assert_eq!((enriched.len(), letters.len()), (1, 1), "{name}");
                assert!(
                    letters[0]
                        .reason
                        .starts_with("invalid-input: malformed JSON"),
                    "{}",
                    letters[0].reason
                );
            }
            other => panic!("events/dec/{other} has no expectation in this test: add one"),
        }
    }
}

#[tokio::test]
async fn tim_samples_are_applied() {
    for file in events("tim") {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let event: SqsEvent = read(&file);
        let publisher = Arc::new(MemoryPublisher::new());
        let handler = tim::Handler::new(
            "tim",
            MemoryTimStateStore::new(),
            CommonPorts::new(
                Arc::clone(&publisher),
                MemoryDeadLetters::new(),
                clock(),
                Telemetry::for_tests(Stage::Tim, Arc::new(MemoryOutcomes::new())),
            ),
        );
        let response = handler.handle(&event).await;
        assert!(response.batch_item_failures.is_empty(), "{name}");
        match name.as_str() {
            "sqs-cpp-enriched-events.json" => {
                let relevant = publisher.take(Destination::RelevantEvents);
                assert_eq!(relevant.len(), 1, "{name}");
                let envelope =
                    Envelope::<RewardMessage>::decode(&relevant[0].body, &[EventType::Relevant])
                        .expect("relevant");
                assert_eq!(envelope.data.message_type, MessageType::Progress);
                assert_eq!(
                    envelope.correlation_id,
                    "c0ffee00-0000-4000-8000-000000000001"
                );
            }
            other => panic!("events/tim/{other} has no expectation in this test: add one"),
        }
    }
}

fn decided_types(publisher: &MemoryPublisher) -> Vec<MessageType> {
    publisher
        .take(Destination::DecidedEvents)
        .iter()
        .map(|message| {
            Envelope::<DecidedMessage>::decode(&message.body, &[EventType::Decided])
                .expect("decided")
                .data
                .message_type
        })
        .collect()
}

#[tokio::test]
async fn fred_samples_are_decided() {
    for file in events("fred") {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let event: SqsEvent = read(&file);
        let publisher = Arc::new(MemoryPublisher::new());
        let handler = fred::Handler::new(
            fred::FredFilter::default(),
            LocalDecisions::new(DeliveryPreferences::default()),
            CommonPorts::new(
                Arc::clone(&publisher),
                MemoryDeadLetters::new(),
                clock(),
                Telemetry::for_tests(Stage::Fred, Arc::new(MemoryOutcomes::new())),
            ),
        );
        let response = handler.handle(event).await;
        assert!(response.batch_item_failures.is_empty(), "{name}");
        let expected = match name.as_str() {
            "sqs-relevant-events.json" => MessageType::Progress,
            "sqs-relevant-unqualification-events.json" => MessageType::Unqualification,
            other => panic!("events/fred/{other} has no expectation in this test: add one"),
        };
        assert_eq!(decided_types(&publisher), vec![expected], "{name}");
    }
}

#[tokio::test]
async fn bcg_samples_are_delivered() {
    for file in events("bcg") {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let event: SqsEvent = read(&file);
        let templates = MemoryTemplates::new();
        let template = |title: &str, body: &str| Template {
            title: title.into(),
            body: body.into(),
        };
        templates.insert(
            "skybet",
            MessageType::Progress,
            "en-GB",
            template(
                "Keep going!",
                "{{current}} of {{target}} done in {{promoName}}",
            ),
        );
        let onsite = Arc::new(MemoryOnsiteGateway::new(["10048213"]));
        let handler = bcg::Handler::new(
            bcg::Settings::default(),
            templates,
            Arc::clone(&onsite),
            CommonPorts::new(
                MemoryPublisher::new(),
                MemoryDeadLetters::new(),
                clock(),
                Telemetry::for_tests(Stage::Bcg, Arc::new(MemoryOutcomes::new())),
            ),
        );
        let response = handler.handle(event).await;
        assert!(response.batch_item_failures.is_empty(), "{name}");
        match name.as_str() {
            "sqs-decided-events.json" => {
                let delivered = onsite.delivered();
                assert_eq!(delivered.len(), 1, "{name}");
                assert_eq!(delivered[0].body, "3 of 5 done in Weekly Spins");
                assert_eq!(
                    delivered[0].correlation_id,
                    "c0ffee00-0000-4000-8000-000000000001"
                );
            }
            other => panic!("events/bcg/{other} has no expectation in this test: add one"),
        }
    }
}

#[tokio::test]
async fn msq_samples_are_stored_deleted_and_resent() {
    // One store and one OSG for the three triggers, in the order a customer would see them:
    // the queued message is stored, resent when the customer comes online, and the delete
    // instruction (for the award of the same attempt) leaves a tombstone.
    let store = Arc::new(MemoryMessageStore::new());
    let onsite = Arc::new(MemoryOnsiteGateway::new(["10048213"]));
    let outcomes = Arc::new(MemoryOutcomes::new());
    let handler = msq::Handler::new(
        Arc::clone(&store),
        Arc::clone(&onsite),
        MemoryDeadLetters::new(),
        clock(),
        Telemetry::for_tests(Stage::Msq, outcomes.clone()),
    )
    .with_online_topic("dc1.skybet.customer.online");
    let mut files = events("msq");
    // Queue first, then online, then delete.
    files.sort_by_key(|file| {
        let name = file.to_string_lossy();
        (!name.contains("inbound-queue"), !name.contains("online"))
    });
    for file in files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let event: msq::MsqEvent = read(&file);
        let response = handler
            .handle(event)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let msq::MsqResponse::Sqs(response) = &response {
            assert!(response.batch_item_failures.is_empty(), "{name}");
        }
        match name.as_str() {
            "sqs-msq-inbound-queue.json" => {
                let pending = store
                    .pending(PendingQuery::new("skybet", "10048213", clock().now()))
                    .await
                    .expect("store");
                assert_eq!(pending.len(), 1, "{name}");
            }
            "msk-customer-online.json" => {
                assert_eq!(
                    onsite.delivered().len(),
                    1,
                    "{name}: the queued message is resent"
                );
                let pending = store
                    .pending(PendingQuery::new("skybet", "10048213", clock().now()))
                    .await
                    .expect("store");
                assert!(pending.is_empty(), "{name}");
            }
            "sqs-msq-inbound-delete.json" => {
                let state = store.state("skybet#10048213", "WEEKLY-SPINS#2026-W47#REWARD_AWARDED");
                assert_eq!(state, Some(ItemState::Tombstone), "{name}");
            }
            other => panic!("events/msq/{other} has no expectation in this test: add one"),
        }
    }
    assert!(outcomes.take().iter().any(|o| matches!(
        o,
        Outcome::Delivered {
            via: Stage::Msq,
            ..
        }
    )));
}
