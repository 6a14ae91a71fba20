//! Every sample Lambda event in `events/<function>/` goes through its function's real handler
//! (with the in-memory ports) and does what its name says.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lambda_events::event::kafka::KafkaEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::model::{MessageType, Promotion, RewardMessage};
use rewards_shared::ports::{
    Destination, ManualClock, MemoryDeadLetters, MemoryOutcomes, MemoryPromotions, MemoryPublisher,
    MemoryTimStateStore,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::Telemetry;

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
    serde_json::from_str(
        r#"{"promoCode": "WEEKLY-SPINS", "promoName": "Weekly Spins", "promoUrl": "https://example.test/promo/weekly-spins",
            "tags": ["tim", "weekly"], "brand": "skybet",
            "rewardSchemes": [{"rewardSchemeId": "rs-100", "products": ["casino"], "rewardType": "FREE_SPINS",
              "productRewardType": "CASINO_FREE_SPINS", "tierDefinition": {"tiers": [{"threshold": 5, "reward": "10 free spins"}]},
              "expirationDate": "2026-11-23T23:59:59.000Z"}]}"#,
    )
    .expect("promotion")
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
            Arc::clone(&publisher),
            Arc::clone(&dead_letters),
            clock(),
            Telemetry::for_tests(Stage::Dec, Arc::new(MemoryOutcomes::new())),
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
            Arc::clone(&publisher),
            MemoryDeadLetters::new(),
            clock(),
            Telemetry::for_tests(Stage::Tim, Arc::new(MemoryOutcomes::new())),
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
