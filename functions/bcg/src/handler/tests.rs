//! The tests of the batch handler, against the in-memory ports.

use super::*;
use aws_lambda_events::event::sqs::SqsMessage;
use rewards_shared::model::MessageType;
use rewards_shared::model::{
    ActivityStatus, Decision, DecisionKind, DeliveryFormat, EnrichedActivity, ProgressDecision,
};
use rewards_shared::ports::{
    FailedMessage, ManualClock, MemoryDeadLetters, MemoryOnsiteGateway, MemoryOutcomes,
    MemoryPublisher, MemoryTemplates, PublishError, Template,
};
use rewards_shared::sqs::encode_message;
use rewards_shared::telemetry::Telemetry;
use rewards_shared::testing::fixtures::{self, at, failed_ids, sqs_event as event, ACCOUNT};
use std::sync::Arc;

/// A Wednesday.
const WEDNESDAY: &str = "2026-11-18T10:00:00Z";
/// A Monday (London).
const MONDAY: &str = "2026-11-16T10:00:00Z";

fn decided(
    id: &str,
    message_type: MessageType,
    preference: Option<DeliveryFormat>,
    locale: Option<&str>,
) -> Envelope<DecidedMessage> {
    let data = DecidedMessage {
        message_type,
        activity: EnrichedActivity {
            activity_id: format!("act-{id}"),
            locale: locale.map(str::to_owned),
            ..fixtures::enriched_activity()
        },
        decision: Decision {
            has_decision: true,
            decisions: vec![ProgressDecision {
                reward_scheme_id: "rs-100".into(),
                activity_type: "FREE_SPINS".into(),
                decision: DecisionKind::Decision,
            }],
            delivery_preference: preference,
        },
    };
    fixtures::envelope(id, Stage::Fred, EventType::Decided, data)
}

fn progress(id: &str) -> Envelope<DecidedMessage> {
    decided(
        id,
        MessageType::Progress,
        Some(DeliveryFormat::Toast),
        Some("en-GB"),
    )
}

fn award(id: &str) -> Envelope<DecidedMessage> {
    decided(
        id,
        MessageType::RewardAwarded,
        Some(DeliveryFormat::FullScreen),
        Some("en-GB"),
    )
}

fn sqs_message(id: &str, envelope: &Envelope<DecidedMessage>) -> SqsMessage {
    encode_message(id, &envelope.encode().expect("encodes"), 1, "arn:decided")
}

fn templates() -> Arc<MemoryTemplates> {
    let templates = MemoryTemplates::new();
    for (kind, title) in [
        (MessageType::Progress, "Keep going!"),
        (MessageType::RewardAwarded, "You won!"),
        (MessageType::Unqualification, "Sorry"),
    ] {
        templates.insert(
            "skybet",
            kind,
            "en-GB",
            Template {
                title: title.into(),
                body: "{{current}} of {{target}} done in {{promoName}}".into(),
            },
        );
    }
    templates.insert(
        "skybet",
        MessageType::Progress,
        "de-DE",
        Template {
            title: "Weiter so!".into(),
            body: "{{current}} von {{target}}".into(),
        },
    );
    Arc::new(templates)
}

struct Fixture<P> {
    handler: Handler<
        Arc<MemoryTemplates>,
        Arc<MemoryOnsiteGateway>,
        P,
        Arc<MemoryDeadLetters>,
        ManualClock,
    >,
    onsite: Arc<MemoryOnsiteGateway>,
    dead_letters: Arc<MemoryDeadLetters>,
    outcomes: Arc<MemoryOutcomes>,
    clock: ManualClock,
}

fn fixture_with<P: Publisher>(settings: Settings, publisher: P, online: bool) -> Fixture<P> {
    let onsite = Arc::new(if online {
        MemoryOnsiteGateway::new([ACCOUNT])
    } else {
        MemoryOnsiteGateway::default()
    });
    let dead_letters = Arc::new(MemoryDeadLetters::new());
    let outcomes = Arc::new(MemoryOutcomes::new());
    let clock = ManualClock::new(at(WEDNESDAY));
    let handler = Handler::new(
        settings,
        templates(),
        Arc::clone(&onsite),
        CommonPorts::new(
            publisher,
            Arc::clone(&dead_letters),
            clock.clone(),
            Telemetry::for_tests(Stage::Bcg, outcomes.clone()),
        ),
    );
    Fixture {
        handler,
        onsite,
        dead_letters,
        outcomes,
        clock,
    }
}

fn fixture(online: bool) -> (Fixture<Arc<MemoryPublisher>>, Arc<MemoryPublisher>) {
    let publisher = Arc::new(MemoryPublisher::new());
    (
        fixture_with(Settings::default(), Arc::clone(&publisher), online),
        publisher,
    )
}

fn queued_messages(publisher: &MemoryPublisher) -> Vec<Envelope<QueuedMessage>> {
    publisher
        .take(Destination::MsqInbound)
        .iter()
        .map(|m| {
            Envelope::<QueuedMessage>::decode(&m.body, &[EventType::MessageQueue])
                .expect("queued event")
        })
        .collect()
}

#[tokio::test]
async fn online_customer_gets_the_rendered_message_from_bcg() {
    let (f, publisher) = fixture(true);
    let input = progress("e1");
    let response = f
        .handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    assert!(failed_ids(&response).is_empty());
    let delivered = f.onsite.delivered();
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(message.title, "Keep going!");
    assert_eq!(message.body, "3 of 5 done in Weekly Spins");
    assert_eq!(message.format, DeliveryFormat::Toast);
    assert_eq!(message.correlation_id, "corr-e1");
    assert_eq!(message.expires_at, Some(at("2026-11-23T23:59:59Z")));
    assert_eq!(
        message.message_id,
        message_id(&input.data.activity, MessageType::Progress)
    );
    assert_eq!(
        f.outcomes.take(),
        vec![Outcome::Delivered {
            account_id: ACCOUNT.into(),
            message_type: MessageType::Progress,
            message_id: message.message_id.clone(),
            via: Stage::Bcg,
            format: DeliveryFormat::Toast,
            title: "Keep going!".into(),
            body: "3 of 5 done in Weekly Spins".into(),
        }]
    );
    assert_eq!(publisher.calls(), 0);
}

#[tokio::test]
async fn offline_customer_is_queued_to_msq() {
    let (f, publisher) = fixture(false);
    let input = progress("e1");
    let response = f
        .handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    assert!(failed_ids(&response).is_empty());
    let queued = queued_messages(&publisher);
    assert_eq!(queued.len(), 1);
    let queued = &queued[0];
    assert_eq!(queued.id, derived_id(&["bcg", "e1"]));
    assert_eq!(queued.correlation_id, "corr-e1");
    assert_eq!(queued.timestamps.at(Stage::Bcg), Some(at(WEDNESDAY)));
    assert_eq!(queued.data.sequence, 12);
    assert_eq!(queued.data.attempt_id, "2026-W47");
    assert_eq!(queued.data.message.body, "3 of 5 done in Weekly Spins");
    assert_eq!(
        f.outcomes.take(),
        vec![Outcome::Queued {
            account_id: ACCOUNT.into(),
            message_type: MessageType::Progress,
            message_id: queued.data.message.message_id.clone(),
        }]
    );
}

#[tokio::test]
async fn osg_failing_after_retries_queues_to_msq() {
    let (f, publisher) = fixture(true);
    f.onsite.fail_next(1);
    f.handler
        .handle(event(vec![sqs_message("m1", &progress("e1"))]))
        .await;
    assert_eq!(queued_messages(&publisher).len(), 1);
    assert!(matches!(f.outcomes.take()[..], [Outcome::Queued { .. }]));
    assert!(f.onsite.delivered().is_empty());
}

#[tokio::test]
async fn awards_on_the_cycle_start_day_go_to_msq_never_osg() {
    let (f, publisher) = fixture(true);
    f.clock.set(at(MONDAY));
    let mut unqualification = decided(
        "e3",
        MessageType::Unqualification,
        Some(DeliveryFormat::Toast),
        None,
    );
    unqualification.data.activity.status = ActivityStatus::Unqualified;
    f.handler
        .handle(event(vec![
            sqs_message("m1", &award("e1")),
            sqs_message("m2", &progress("e2")),
            sqs_message("m3", &unqualification),
        ]))
        .await;
    let queued = queued_messages(&publisher);
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0].data.message.message_type,
        MessageType::RewardAwarded
    );
    assert_eq!(queued[0].data.message.format, DeliveryFormat::FullScreen);
    let delivered: Vec<_> = f
        .onsite
        .delivered()
        .iter()
        .map(|m| m.message_type)
        .collect();
    assert_eq!(
        delivered,
        vec![MessageType::Progress, MessageType::Unqualification]
    );
    // Any other day the award goes straight to OSG.
    f.clock.set(at(WEDNESDAY));
    f.handler
        .handle(event(vec![sqs_message("m4", &award("e4"))]))
        .await;
    assert!(queued_messages(&publisher).is_empty());
    assert_eq!(f.onsite.delivered().len(), 3);
}

#[tokio::test]
async fn cycle_start_day_is_read_in_the_configured_zone() {
    // Sunday 20:00 UTC: Sunday in London, Monday 07:00 in Sydney.
    let sunday_evening_utc = at("2026-11-22T20:00:00Z");
    let sydney = Settings {
        default_locale: "en-GB".into(),
        cycle: CycleStart {
            weekday: chrono::Weekday::Mon,
            time_zone: chrono_tz::Australia::Sydney,
        },
    };
    for (settings, expect_queued) in [(Settings::default(), false), (sydney, true)] {
        let publisher = Arc::new(MemoryPublisher::new());
        let f = fixture_with(settings, Arc::clone(&publisher), true);
        f.clock.set(sunday_evening_utc);
        f.handler
            .handle(event(vec![sqs_message("m1", &award("e1"))]))
            .await;
        assert_eq!(
            queued_messages(&publisher).len(),
            usize::from(expect_queued)
        );
        assert_eq!(f.onsite.delivered().len(), usize::from(!expect_queued));
    }
}

#[tokio::test]
async fn expired_rewards_are_dropped() {
    let (f, publisher) = fixture(true);
    for now in ["2026-11-23T23:59:59Z", "2026-11-24T00:00:00Z"] {
        f.clock.set(at(now));
        f.handler
            .handle(event(vec![sqs_message("m1", &progress("e1"))]))
            .await;
        assert_eq!(
            f.outcomes.take(),
            vec![Outcome::Dropped {
                stage: Stage::Bcg,
                reason: DropReason::Expired,
                account_id: Some(ACCOUNT.into()),
            }]
        );
    }
    // A second before expiry it still goes.
    f.clock.set(at("2026-11-23T23:59:58Z"));
    f.handler
        .handle(event(vec![sqs_message("m1", &progress("e1"))]))
        .await;
    assert_eq!(f.onsite.delivered().len(), 1);
    assert_eq!(publisher.calls(), 0);
}

#[tokio::test]
async fn no_delivery_preference_is_dropped() {
    let (f, _) = fixture(true);
    let input = decided("e1", MessageType::OptIn, None, Some("en-GB"));
    f.handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    assert_eq!(
        f.outcomes.take(),
        vec![Outcome::Dropped {
            stage: Stage::Bcg,
            reason: DropReason::NoDeliveryPreference,
            account_id: Some(ACCOUNT.into()),
        }]
    );
    assert_eq!(f.onsite.calls(), 0);
}

/// `de-de` finds the `de-DE` template: locales compare case-insensitively.
#[tokio::test]
async fn locale_falls_back_to_the_default() {
    let (f, _) = fixture(true);
    let german = decided(
        "e1",
        MessageType::Progress,
        Some(DeliveryFormat::Toast),
        Some("de-de"),
    );
    let mut french = decided(
        "e2",
        MessageType::Progress,
        Some(DeliveryFormat::Toast),
        Some("fr-FR"),
    );
    french.data.activity.sequence = 13;
    let none = decided(
        "e3",
        MessageType::RewardAwarded,
        Some(DeliveryFormat::FullScreen),
        None,
    );
    f.handler
        .handle(event(vec![
            sqs_message("m1", &german),
            sqs_message("m2", &french),
            sqs_message("m3", &none),
        ]))
        .await;
    let titles: Vec<_> = f
        .onsite
        .delivered()
        .iter()
        .map(|m| m.title.clone())
        .collect();
    assert_eq!(titles, vec!["Weiter so!", "Keep going!", "You won!"]);
}

#[tokio::test]
async fn no_template_at_all_is_retried_not_lost() {
    let (f, publisher) = fixture(true);
    let input = decided(
        "e1",
        MessageType::OptIn,
        Some(DeliveryFormat::Toast),
        Some("fr-FR"),
    );
    let response = f
        .handler
        .handle(event(vec![
            sqs_message("m1", &input),
            sqs_message("m2", &progress("e2")),
        ]))
        .await;
    assert_eq!(failed_ids(&response), vec!["m1"]);
    assert!(f.dead_letters.take().is_empty());
    assert_eq!(f.onsite.delivered().len(), 1);
    assert_eq!(publisher.calls(), 0);
}

struct FailingPublisher;

impl Publisher for FailingPublisher {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        Err(PublishError {
            failed: messages
                .iter()
                .map(|m| FailedMessage {
                    id: m.id.clone(),
                    reason: "throttled".into(),
                    retryable: true,
                })
                .collect(),
        })
    }
}

#[tokio::test]
async fn msq_queue_unavailable_fails_the_record_for_redelivery() {
    let f = fixture_with(Settings::default(), FailingPublisher, false);
    let response = f
        .handler
        .handle(event(vec![sqs_message("m1", &progress("e1"))]))
        .await;
    assert_eq!(failed_ids(&response), vec!["m1"]);
    assert!(
        f.outcomes.take().is_empty(),
        "no queued outcome when not queued"
    );
}

#[tokio::test]
async fn one_bad_record_does_not_stop_the_good_ones() {
    let (f, publisher) = fixture(false);
    let wrong_type = {
        let mut e = progress("e9");
        e.event_type = EventType::Relevant;
        e
    };
    let response = f
        .handler
        .handle(event(vec![
            sqs_message("m1", &progress("e1")),
            encode_message("m2", "{\"specversion\": \"1.0\"}", 1, "arn:decided"),
            sqs_message("m3", &wrong_type),
            sqs_message("m4", &award("e4")),
        ]))
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(
        publisher.calls(),
        2,
        "the two messages of one attempt's group go out one after the other"
    );
    assert_eq!(queued_messages(&publisher).len(), 2);
    let letters = f.dead_letters.take();
    let sources: Vec<_> = letters.iter().map(|l| l.source.as_str()).collect();
    assert_eq!(sources, vec!["m2", "m3"]);
    assert!(letters
        .iter()
        .all(|l| l.reason.starts_with("invalid-input: ")));
}

#[tokio::test]
async fn redelivered_event_yields_the_same_message_id() {
    let (f, publisher) = fixture(false);
    let input = progress("e1");
    f.handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    f.handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    let queued = queued_messages(&publisher);
    assert_eq!(queued[0].id, queued[1].id);
    assert_eq!(
        queued[0].data.message.message_id,
        queued[1].data.message.message_id
    );
}

mod instrumented {
    //! The handler as BCG's main wires it (CSL cached and counted, outcomes logged), with
    //! in-memory ports, metrics kept in memory and logs captured in the functions' format.

    use std::sync::Mutex;
    use std::time::Duration;

    use rewards_shared::ports::{CachedTemplates, LogOutcomes};
    use rewards_shared::telemetry::MetricsOut;
    use rewards_shared::testing::CapturedLogs;
    use serde_json::{json, Value};
    use tracing::Instrument;

    use super::*;

    type Instrumented = Handler<
        Arc<CachedTemplates<Arc<MemoryTemplates>>>,
        Arc<MemoryOnsiteGateway>,
        Arc<MemoryPublisher>,
        Arc<MemoryDeadLetters>,
        ManualClock,
    >;

    fn handler() -> (Instrumented, Arc<Mutex<Vec<String>>>) {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let templates = Arc::new(CachedTemplates::new(templates(), Duration::from_secs(300)));
        let counted = Arc::clone(&templates);
        let telemetry = Telemetry::new(
            Stage::Bcg,
            "skybet",
            "RewardMessaging",
            Arc::new(LogOutcomes),
            MetricsOut::Memory(Arc::clone(&kept)),
        )
        .with_cache(move || counted.stats());
        let handler = Handler::new(
            Settings::default(),
            templates,
            Arc::new(MemoryOnsiteGateway::new([ACCOUNT])),
            CommonPorts::new(
                Arc::new(MemoryPublisher::new()),
                Arc::new(MemoryDeadLetters::new()),
                ManualClock::new(at(WEDNESDAY)),
                telemetry,
            ),
        );
        (handler, kept)
    }

    /// One record delivered, one queued (its customer is not onsite), one dropped.
    fn mixed_batch() -> SqsEvent {
        let delivered = progress("e1");
        let mut queued = progress("e2");
        queued.subject = "20000001".into();
        queued.data.activity.account_id = "20000001".into();
        let dropped = decided("e3", MessageType::Progress, None, Some("en-GB"));
        event(vec![
            sqs_message("m1", &delivered),
            sqs_message("m2", &queued),
            sqs_message("m3", &dropped),
        ])
    }

    #[tokio::test]
    async fn metrics_are_emf_documents_by_stage_and_brand_and_by_reason_for_drops() {
        let (handler, kept) = handler();
        let response = handler.handle(mixed_batch()).await;
        assert!(response.batch_item_failures.is_empty());
        let documents: Vec<Value> = kept
            .lock()
            .expect("kept")
            .iter()
            .map(|document| serde_json::from_str(document).expect("JSON document"))
            .collect();
        assert_eq!(documents.len(), 2, "{documents:?}");

        let main = &documents[0];
        let directive = &main["_aws"]["CloudWatchMetrics"][0];
        assert!(main["_aws"]["Timestamp"].is_i64());
        assert_eq!(directive["Namespace"], "RewardMessaging");
        assert_eq!(directive["Dimensions"], json!([["Stage", "Brand"]]));
        assert_eq!(main["Stage"], "bcg");
        assert_eq!(main["Brand"], "skybet");
        for (name, value) in [
            ("RecordsIn", 3.0),
            ("Delivered", 1.0),
            ("Queued", 1.0),
            ("Emitted", 1.0),
        ] {
            assert_eq!(main[name], value, "{name}");
        }
        let lookups =
            main["CacheHits"].as_f64().unwrap_or(0.0) + main["CacheMisses"].as_f64().unwrap_or(0.0);
        assert_eq!(lookups, 2.0, "one template look-up per rendered message");
        assert_eq!(main["CacheMisses"], 1.0, "the second look-up is a hit");
        assert_eq!(
            main["LatencyFromOriginMs"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(
            main["LatencyFromPreviousStageMs"].as_array().map(Vec::len),
            Some(3)
        );
        for definition in directive["Metrics"].as_array().expect("metrics") {
            let name = definition["Name"].as_str().expect("name");
            match definition["Unit"].as_str() {
                Some("Count") => assert!(main[name].is_number(), "{name}"),
                Some("Milliseconds") => assert!(main[name].is_array(), "{name}"),
                unit => panic!("{name} has unit {unit:?}"),
            }
        }

        let dropped = &documents[1];
        assert_eq!(
            dropped["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stage", "Brand", "Reason"]])
        );
        assert_eq!(
            dropped["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Dropped", "Unit": "Count"}])
        );
        assert_eq!(dropped["Stage"], "bcg");
        assert_eq!(dropped["Brand"], "skybet");
        assert_eq!(dropped["Reason"], "no-delivery-preference");
        assert_eq!(dropped["Dropped"], 1.0);
    }

    #[tokio::test]
    async fn every_log_line_is_json_within_the_request_and_record_spans() {
        let (handler, _) = handler();
        let captured = CapturedLogs::default();
        let _logs = captured.install("info");
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-1".into();
        let invoke = lambda_runtime::layers::trace::request_span(&context);
        handler.handle(mixed_batch()).instrument(invoke).await;

        let lines = captured.lines().expect("every line is JSON");
        let outcomes: Vec<&str> = lines
            .iter()
            .filter_map(|line| line["outcome"].as_str())
            .collect();
        assert_eq!(outcomes.len(), 3, "{lines:?}");
        for outcome in ["delivered", "queued", "dropped"] {
            assert!(outcomes.contains(&outcome), "{outcome} in {outcomes:?}");
        }
        for line in &lines {
            let spans = line["spans"].as_array().expect("spans");
            assert_eq!(spans[0]["name"], "Lambda runtime invoke", "{line}");
            assert_eq!(spans[0]["requestId"], "req-1", "{line}");
            let record = spans
                .iter()
                .find(|span| span["name"] == "record")
                .unwrap_or_else(|| panic!("no record span: {line}"));
            assert_eq!(record["stage"], "bcg", "{line}");
            let correlation_id = record["correlation_id"].as_str().unwrap_or_default();
            assert!(correlation_id.starts_with("corr-e"), "{line}");
            let event_id = record["event_id"].as_str().unwrap_or_default();
            assert!(!event_id.is_empty(), "{line}");
        }
    }
}
