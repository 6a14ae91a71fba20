//! The tests of the batch handler, against the in-memory ports.

use std::time::Duration;

use super::*;
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::kafka::{encode_event, encode_record};
use rewards_shared::model::EnrichedActivity;
use rewards_shared::ports::{
    CachedPromotions, Destination, ManualClock, MemoryDeadLetters, MemoryOutcomes,
    MemoryPromotions, MemoryPublisher,
};
use rewards_shared::ports::{Outcome, PublishError};
use rewards_shared::telemetry::Telemetry;
use rewards_shared::testing::fixtures::promotion;

const CPP_TOPIC: &str = "dc1.skybet.cpp.activity";
const EPPM_TOPIC: &str = "dc1.skybet.eppm.activity";

fn cpp(activity_id: &str, promo: &str) -> String {
    format!(
        r#"{{"activityId": "{activity_id}", "accountId": "10048213", "brand": "skybet", "promoCode": "{promo}",
        "attemptId": "2026-W47", "sequence": 12, "status": "IN_PROGRESS", "occurredAt": "2026-11-16T09:30:00.000Z",
        "locale": "en-GB", "rewardProgress": [{{"rewardSchemeId": "rs-100", "activityType": "FREE_SPINS",
        "current": 3, "target": 5, "status": "IN_PROGRESS"}}]}}"#
    )
}

const EPPM: &str = r#"{"eventId": "e-1", "accountId": "10048213", "brand": "skybet", "promoCode": "WEEKLY-SPINS",
    "attemptId": "2026-W47", "week": 1, "reason": "NO_QUALIFYING_BET", "occurredAt": "2026-11-16T09:30:00.000Z"}"#;

struct Fixture {
    source: Arc<MemoryPromotions>,
    publisher: Arc<MemoryPublisher>,
    dead_letters: Arc<MemoryDeadLetters>,
    outcomes: Arc<MemoryOutcomes>,
}

type TestHandler<S> = Handler<S, Arc<MemoryPublisher>, Arc<MemoryDeadLetters>, ManualClock>;

fn fixture() -> (
    Fixture,
    TestHandler<CachedPromotions<Arc<MemoryPromotions>>>,
) {
    let fixture = Fixture {
        source: Arc::new(MemoryPromotions::new([
            promotion("WEEKLY-SPINS"),
            promotion("DAILY"),
        ])),
        publisher: Arc::new(MemoryPublisher::new()),
        dead_letters: Arc::new(MemoryDeadLetters::new()),
        outcomes: Arc::new(MemoryOutcomes::new()),
    };
    let handler = with_source(
        &fixture,
        CachedPromotions::new(Arc::clone(&fixture.source), Duration::from_secs(60)),
    );
    (fixture, handler)
}

fn with_source<S: PromotionSource>(fixture: &Fixture, source: S) -> TestHandler<S> {
    Handler::new(
        CPP_TOPIC,
        EPPM_TOPIC,
        source,
        CommonPorts::new(
            Arc::clone(&fixture.publisher),
            Arc::clone(&fixture.dead_letters),
            ManualClock::new("2026-11-16T09:30:01Z".parse().expect("date")),
            Telemetry::for_tests(Stage::Dec, fixture.outcomes.clone()),
        ),
    )
}

#[tokio::test]
async fn one_bad_record_among_good_ones_goes_alone_to_the_dead_letter_queue() {
    let (fixture, handler) = fixture();
    let oversized = vec![b' '; rewards_shared::limits::MAX_RECORD_BYTES + 1];
    let event = encode_event(vec![
        encode_record(
            CPP_TOPIC,
            0,
            1,
            cpp("a-1", "WEEKLY-SPINS").as_bytes(),
            &[("correlationid", "corr-1")],
        ),
        encode_record(CPP_TOPIC, 0, 2, &[0xff, 0x00], &[]),
        encode_record(CPP_TOPIC, 0, 3, b"not json", &[]),
        encode_record(
            CPP_TOPIC,
            0,
            4,
            cpp("a-4", "WEEKLY-SPINS")
                .replace("\"sequence\": 12,", "")
                .as_bytes(),
            &[],
        ),
        encode_record(
            CPP_TOPIC,
            0,
            5,
            cpp("a-5", "WEEKLY-SPINS")
                .replace("\"IN_PROGRESS\", \"occurredAt\"", "\"WON\", \"occurredAt\"")
                .as_bytes(),
            &[],
        ),
        encode_record(CPP_TOPIC, 0, 6, &oversized, &[]),
        encode_record(CPP_TOPIC, 1, 7, cpp("a-7", "NO-SUCH-PROMO").as_bytes(), &[]),
        encode_record(EPPM_TOPIC, 0, 8, EPPM.as_bytes(), &[]),
        encode_record(CPP_TOPIC, 1, 9, cpp("a-9", "DAILY").as_bytes(), &[]),
    ]);

    handler
        .handle(&event)
        .await
        .expect("bad records do not fail the batch");

    let enriched = fixture.publisher.take(Destination::EnrichedEvents);
    let ids: Vec<String> = enriched
        .iter()
        .map(|message| {
            Envelope::<EnrichedActivity>::decode(&message.body, &[EventType::ActivityEnriched])
                .expect("CloudEvent")
                .data
                .activity_id
        })
        .collect();
    assert_eq!(ids, vec!["a-1", "a-9"]);
    assert_eq!(enriched[0].correlation_id, "corr-1");
    assert_eq!(
        fixture
            .publisher
            .take(Destination::UnqualificationEvents)
            .len(),
        1
    );
    assert_eq!(
        fixture.publisher.calls(),
        2,
        "publishing is batched: a-1 and a-9 in one call, then the EPPM unqualification, \
         second of a-1's attempt"
    );

    let letters = fixture.dead_letters.take();
    let reasons: Vec<(&str, &str)> = letters
        .iter()
        .map(|l| (l.source.as_str(), l.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    assert!(
        reasons[0].1.starts_with("invalid-input: not UTF-8"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].1.starts_with("invalid-input: malformed JSON"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].1.contains("missing field `sequence`"),
        "{reasons:?}"
    );
    assert!(
        reasons[3].1.contains("unknown variant `WON`"),
        "{reasons:?}"
    );
    assert!(
        reasons[4].1.starts_with("invalid-input: record of"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[5],
        ("dc1.skybet.cpp.activity/1@7", "unknown-promotion")
    );
    assert!(
        letters[2].payload.contains("a-4"),
        "the original record is kept"
    );

    let dead = fixture.outcomes.take();
    assert_eq!(dead.len(), 6);
    assert!(dead.iter().all(|o| matches!(
        o,
        Outcome::DeadLettered {
            stage: Stage::Dec,
            ..
        }
    )));
}

#[tokio::test]
async fn a_warm_handler_asks_pph_once_per_promo_code() {
    let (fixture, handler) = fixture();
    for offset in 0..3 {
        let event = encode_event(vec![
            encode_record(
                CPP_TOPIC,
                0,
                offset * 2,
                cpp("a", "WEEKLY-SPINS").as_bytes(),
                &[],
            ),
            encode_record(
                CPP_TOPIC,
                0,
                offset * 2 + 1,
                cpp("b", "WEEKLY-SPINS").as_bytes(),
                &[],
            ),
        ]);
        handler.handle(&event).await.expect("handled");
    }
    assert_eq!(fixture.source.calls(), 1);
    assert_eq!(fixture.publisher.take(Destination::EnrichedEvents).len(), 6);
}

struct DownPph;

impl PromotionSource for DownPph {
    async fn promotion(&self, promo_code: &str) -> Result<Arc<Promotion>, PromotionError> {
        Err(PromotionError::Unavailable {
            promo_code: promo_code.into(),
            reason: "503".into(),
        })
    }
}

#[tokio::test]
async fn pph_outage_reports_its_records_for_retry_after_dead_lettering_the_bad() {
    let (fixture, _) = fixture();
    let handler = with_source(&fixture, DownPph);
    let event = encode_event(vec![
        encode_record(CPP_TOPIC, 0, 1, cpp("a-1", "WEEKLY-SPINS").as_bytes(), &[]),
        encode_record(CPP_TOPIC, 0, 2, b"not json", &[]),
    ]);
    let response = handler.handle(&event).await.expect("partial response");
    assert_eq!(
        serde_json::to_value(&response).expect("json"),
        serde_json::json!({"batchItemFailures": [
            {"itemIdentifier": {"partition": format!("{CPP_TOPIC}-0"), "offset": 1}}
        ]}),
        "only the record PPH could not enrich is retried"
    );
    assert_eq!(fixture.dead_letters.take().len(), 1);
}

struct RejectingPph;

impl PromotionSource for RejectingPph {
    async fn promotion(&self, promo_code: &str) -> Result<Arc<Promotion>, PromotionError> {
        Err(PromotionError::AuthRejected {
            promo_code: promo_code.into(),
            reason: "status 401".into(),
        })
    }
}

#[tokio::test]
async fn a_rejected_pph_key_dead_letters_the_records_instead_of_stalling_the_partition() {
    let (fixture, _) = fixture();
    let handler = with_source(&fixture, RejectingPph);
    let event = encode_event(vec![encode_record(
        CPP_TOPIC,
        3,
        41,
        cpp("a-1", "WEEKLY-SPINS").as_bytes(),
        &[],
    )]);
    let response = handler.handle(&event).await.expect("handled");
    assert!(
        response.is_success(),
        "a configuration fault is not retried"
    );
    let letters = fixture.dead_letters.take();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "partner-auth-rejected");
    assert_eq!(
        letters[0].source,
        format!("{CPP_TOPIC}/3@41"),
        "kept for the redrive"
    );
}

/// Fails every message it is given, with `reason`, retryable or not.
struct FailingPublisher {
    reason: &'static str,
    retryable: bool,
}

impl Publisher for FailingPublisher {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        Err(PublishError::all(&messages, self.reason, self.retryable))
    }
}

/// The fixture's handler, publishing through `publisher` instead.
fn with_publisher(
    fixture: &Fixture,
    publisher: FailingPublisher,
) -> Handler<Arc<MemoryPromotions>, FailingPublisher, Arc<MemoryDeadLetters>, ManualClock> {
    Handler::new(
        CPP_TOPIC,
        EPPM_TOPIC,
        Arc::clone(&fixture.source),
        CommonPorts::new(
            publisher,
            Arc::clone(&fixture.dead_letters),
            ManualClock::new("2026-11-16T09:30:01Z".parse().expect("date")),
            Telemetry::for_tests(Stage::Dec, fixture.outcomes.clone()),
        ),
    )
}

#[tokio::test]
async fn publish_failure_reports_the_unpublished_records() {
    let fixture = fixture().0;
    let handler = with_publisher(
        &fixture,
        FailingPublisher {
            reason: "throttled",
            retryable: true,
        },
    );
    let event = encode_event(vec![encode_record(
        CPP_TOPIC,
        0,
        1,
        cpp("a-1", "WEEKLY-SPINS").as_bytes(),
        &[],
    )]);
    let response = handler.handle(&event).await.expect("partial response");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(response.batch_item_failures[0].item_identifier.offset, 1);
}

#[tokio::test]
async fn a_message_sqs_refuses_dead_letters_its_record_with_source_and_payload() {
    let fixture = fixture().0;
    // As SQS refuses a message it can never take.
    let handler = with_publisher(
        &fixture,
        FailingPublisher {
            reason: "message too long",
            retryable: false,
        },
    );
    let value = cpp("a-1", "WEEKLY-SPINS");
    let event = encode_event(vec![encode_record(CPP_TOPIC, 2, 17, value.as_bytes(), &[])]);
    let response = handler.handle(&event).await.expect("handled");
    assert!(response.batch_item_failures.is_empty(), "not retried");
    let letters = fixture.dead_letters.take();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "invalid-input: message too long");
    assert_eq!(letters[0].source, format!("{CPP_TOPIC}/2@17"));
    assert_eq!(letters[0].payload, value);
}

#[tokio::test]
async fn an_unknown_reward_scheme_is_kept_counted_and_published() {
    let fixture = fixture().0;
    let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
    let handler = Handler::new(
        CPP_TOPIC,
        EPPM_TOPIC,
        Arc::clone(&fixture.source),
        CommonPorts::new(
            Arc::clone(&fixture.publisher),
            Arc::clone(&fixture.dead_letters),
            ManualClock::new("2026-11-16T09:30:01Z".parse().expect("date")),
            Telemetry::new(
                Stage::Dec,
                "skybet",
                "RewardMessaging",
                fixture.outcomes.clone(),
                rewards_shared::telemetry::MetricsOut::Memory(Arc::clone(&kept)),
            ),
        ),
    );
    let value = cpp("a-1", "WEEKLY-SPINS").replace(
        "\"status\": \"IN_PROGRESS\"}]",
        "\"status\": \"COMPLETED\"}, {\"rewardSchemeId\": \"rs-404\", \"current\": 1}]",
    );
    assert!(value.contains("rs-404"), "{value}");
    let event = encode_event(vec![encode_record(CPP_TOPIC, 0, 1, value.as_bytes(), &[])]);
    handler.handle(&event).await.expect("handled");

    assert!(fixture.dead_letters.take().is_empty(), "not invalid input");
    let enriched = fixture.publisher.take(Destination::EnrichedEvents);
    let envelope =
        Envelope::<EnrichedActivity>::decode(&enriched[0].body, &[EventType::ActivityEnriched])
            .expect("CloudEvent");
    let schemes: Vec<(&str, &str, &str)> = envelope
        .data
        .reward_progress
        .iter()
        .map(|p| {
            (
                p.reward_scheme_id.as_str(),
                p.reward_type.as_str(),
                p.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        schemes,
        vec![("rs-100", "FREE_SPINS", "COMPLETED"), ("rs-404", "", "")]
    );
    let metrics = kept.lock().expect("metrics").join("\n");
    assert!(metrics.contains("\"UnknownRewardScheme\":1"), "{metrics}");
}
