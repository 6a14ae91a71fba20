//! The tests of the batch handler, against the in-memory ports.

use std::sync::Arc;

use super::*;
use aws_lambda_events::event::sqs::SqsMessage;
use rewards_shared::decision::DeliveryPreferences;
use rewards_shared::model::{
    Decision, DeliveryFormat, EnrichedActivity, EnrichedProgress, MessageType,
};
use rewards_shared::ports::Outcome;
use rewards_shared::ports::{
    DecisionError, LocalDecisions, ManualClock, MemoryDeadLetters, MemoryOutcomes, MemoryPublisher,
};
use rewards_shared::sqs::encode_message;
use rewards_shared::telemetry::Telemetry;
use rewards_shared::testing::fixtures::{self, at, failed_ids, sqs_event as event};

fn envelope(
    id: &str,
    message_type: MessageType,
    promo_code: &str,
    activity_type: &str,
) -> Envelope<RewardMessage> {
    let activity = EnrichedActivity {
        activity_id: format!("act-{id}"),
        promo_code: promo_code.into(),
        reward_progress: vec![EnrichedProgress {
            activity_type: activity_type.into(),
            reward_type: activity_type.into(),
            ..fixtures::progress()
        }],
        ..fixtures::enriched_activity()
    };
    let data = RewardMessage {
        message_type,
        activity,
    };
    fixtures::envelope(id, Stage::Tim, EventType::Relevant, data)
}

fn sqs_message(id: &str, envelope: &Envelope<RewardMessage>) -> SqsMessage {
    encode_message(id, &envelope.encode().expect("encodes"), 1, "arn:relevant")
}

struct Fixture<D> {
    handler: Handler<D, Arc<MemoryPublisher>, Arc<MemoryDeadLetters>, ManualClock>,
    publisher: Arc<MemoryPublisher>,
    dead_letters: Arc<MemoryDeadLetters>,
    outcomes: Arc<MemoryOutcomes>,
}

fn fixture<D: DecisionService>(filter: FredFilter, decisions: D) -> Fixture<D> {
    let publisher = Arc::new(MemoryPublisher::new());
    let dead_letters = Arc::new(MemoryDeadLetters::new());
    let outcomes = Arc::new(MemoryOutcomes::new());
    let handler = Handler::new(
        filter,
        decisions,
        CommonPorts::new(
            Arc::clone(&publisher),
            Arc::clone(&dead_letters),
            ManualClock::new(at("2026-11-16T09:30:01Z")),
            Telemetry::for_tests(Stage::Fred, outcomes.clone()),
        ),
    );
    Fixture {
        handler,
        publisher,
        dead_letters,
        outcomes,
    }
}

fn dropped(reason: DropReason) -> Outcome {
    Outcome::Dropped {
        stage: Stage::Fred,
        reason,
        account_id: Some("10048213".into()),
    }
}

#[tokio::test]
async fn decided_events_are_forwarded_in_one_publish_call() {
    let f = fixture(FredFilter::default(), LocalDecisions::default());
    let first = envelope("e1", MessageType::Progress, "P", "FREE_SPINS");
    let second = envelope("e2", MessageType::RewardAwarded, "Q", "FREE_BET");
    let response = f
        .handler
        .handle(event(vec![
            sqs_message("m1", &first),
            sqs_message("m2", &second),
        ]))
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(f.publisher.calls(), 1, "two attempts' groups, one call");
    let sent = f.publisher.take(Destination::DecidedEvents);
    assert_eq!(sent.len(), 2);
    let decided =
        Envelope::<DecidedMessage>::decode(&sent[1].body, &[EventType::Decided]).expect("decided");
    assert_eq!(decided.correlation_id, "corr-e2");
    assert_eq!(decided.id, derived_id(&["fred", "e2"]));
    assert_eq!(
        decided.timestamps.at(Stage::Fred),
        Some(at("2026-11-16T09:30:01Z"))
    );
    assert_eq!(
        decided.timestamps.at(Stage::Tim),
        second.timestamps.at(Stage::Tim)
    );
    assert_eq!(decided.data.message_type, MessageType::RewardAwarded);
    assert!(decided.data.decision.has_decision);
    assert_eq!(
        decided.data.decision.delivery_preference,
        Some(DeliveryFormat::FullScreen)
    );
    assert!(f.outcomes.take().is_empty());
}

#[tokio::test]
async fn same_input_yields_the_same_decided_event_id() {
    let f = fixture(FredFilter::default(), LocalDecisions::default());
    let input = envelope("e1", MessageType::Progress, "P", "FREE_SPINS");
    f.handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    f.handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    let sent = f.publisher.take(Destination::DecidedEvents);
    assert_eq!(sent[0].id, sent[1].id);
}

#[tokio::test]
async fn no_decision_is_dropped_by_fred() {
    let f = fixture(FredFilter::default(), LocalDecisions::default());
    let input = envelope("e1", MessageType::Progress, "P", "CASHBACK");
    let response = f
        .handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    assert!(failed_ids(&response).is_empty());
    assert!(f.publisher.take_all().is_empty());
    assert_eq!(f.publisher.calls(), 0);
    assert_eq!(f.outcomes.take(), vec![dropped(DropReason::NoDecision)]);
}

#[tokio::test]
async fn filtered_events_are_not_configured_and_never_reach_des() {
    struct Unreachable;
    impl DecisionService for Unreachable {
        async fn decide(
            &self,
            _: &Envelope<RewardMessage>,
        ) -> Result<Option<Decision>, DecisionError> {
            panic!("DES must not be called for a filtered event")
        }
    }
    let filter: FredFilter = serde_json::from_str(
        r#"{"messageTypes": ["PROGRESS"], "brands": ["skybet"], "excludedPromoCodes": ["X"]}"#,
    )
    .expect("filter");
    let f = fixture(filter, Unreachable);
    let inputs = [
        envelope("e1", MessageType::OptIn, "P", "FREE_SPINS"),
        envelope("e2", MessageType::Progress, "X", "FREE_SPINS"),
    ];
    let messages: Vec<_> = inputs
        .iter()
        .enumerate()
        .map(|(i, e)| sqs_message(&format!("m{i}"), e))
        .collect();
    f.handler.handle(event(messages)).await;
    assert_eq!(
        f.outcomes.take(),
        vec![
            dropped(DropReason::NotConfigured),
            dropped(DropReason::NotConfigured)
        ]
    );
}

struct Failing(DecisionError);

impl DecisionService for Failing {
    async fn decide(
        &self,
        envelope: &Envelope<RewardMessage>,
    ) -> Result<Option<Decision>, DecisionError> {
        if envelope.id == "bad" {
            Err(self.0.clone())
        } else {
            LocalDecisions::new(DeliveryPreferences::default())
                .decide(envelope)
                .await
        }
    }
}

#[tokio::test]
async fn des_unavailable_fails_that_record_only() {
    let f = fixture(
        FredFilter::default(),
        Failing(DecisionError::Unavailable {
            event_id: "bad".into(),
            reason: "503".into(),
        }),
    );
    let good = envelope("good", MessageType::Progress, "P", "FREE_SPINS");
    let bad = envelope("bad", MessageType::Progress, "P", "FREE_SPINS");
    let response = f
        .handler
        .handle(event(vec![
            sqs_message("m1", &good),
            sqs_message("m2", &bad),
        ]))
        .await;
    assert_eq!(failed_ids(&response), vec!["m2"]);
    assert_eq!(f.publisher.take(Destination::DecidedEvents).len(), 1);
    assert!(f.dead_letters.take().is_empty());
}

#[tokio::test]
async fn des_rejection_is_dead_lettered() {
    let f = fixture(
        FredFilter::default(),
        Failing(DecisionError::Rejected {
            event_id: "bad".into(),
            reason: "400".into(),
        }),
    );
    let bad = envelope("bad", MessageType::Progress, "P", "FREE_SPINS");
    let response = f.handler.handle(event(vec![sqs_message("m1", &bad)])).await;
    assert!(failed_ids(&response).is_empty());
    let letters = f.dead_letters.take();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].reason.starts_with("invalid-input: DES rejected"));
}

#[tokio::test]
async fn one_bad_record_among_good_ones_goes_alone_to_the_dead_letter_queue() {
    let f = fixture(FredFilter::default(), LocalDecisions::default());
    let good = envelope("e1", MessageType::Progress, "P", "FREE_SPINS");
    let wrong_type = {
        let mut e = envelope("e3", MessageType::Progress, "P", "FREE_SPINS");
        e.event_type = EventType::Decided;
        e
    };
    let response = f
        .handler
        .handle(event(vec![
            encode_message("m0", "not json", 1, "arn:q"),
            sqs_message("m1", &good),
            sqs_message("m3", &wrong_type),
        ]))
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(f.publisher.take(Destination::DecidedEvents).len(), 1);
    let letters = f.dead_letters.take();
    let sources: Vec<_> = letters.iter().map(|l| l.source.as_str()).collect();
    assert_eq!(sources, vec!["m0", "m3"]);
    assert!(letters
        .iter()
        .all(|l| l.reason.starts_with("invalid-input: envelope:")));
    let outcomes = f.outcomes.take();
    assert_eq!(outcomes.len(), 2);
    assert!(matches!(
        outcomes[0],
        Outcome::DeadLettered {
            stage: Stage::Fred,
            ..
        }
    ));
}

#[tokio::test]
async fn unqualification_events_are_read_too() {
    let f = fixture(FredFilter::default(), LocalDecisions::default());
    let mut input = envelope("e1", MessageType::Unqualification, "P", "FREE_SPINS");
    input.event_type = EventType::Unqualification;
    f.handler
        .handle(event(vec![sqs_message("m1", &input)]))
        .await;
    assert_eq!(f.publisher.take(Destination::DecidedEvents).len(), 1);
}

#[tokio::test]
async fn has_decision_false_from_des_is_dropped_without_parsing_the_body() {
    use rewards_shared::http::des::HAS_DECISION;
    use rewards_shared::http::{DesClient, HttpSettings, RetryPolicy};
    use rewards_shared::testing::{ScriptedResponse, ScriptedServer};

    let server = ScriptedServer::start(vec![
        ScriptedResponse::json(200, "<html>definitely not a decision")
            .with_header(HAS_DECISION, "false"),
        ScriptedResponse::json(
            200,
            r#"{"hasDecision": true, "decisions": [], "deliveryPreference": "TOAST"}"#,
        )
        .with_header(HAS_DECISION, "true"),
    ])
    .await
    .expect("server");
    let client = HttpSettings::default().build().expect("client");
    let des = DesClient::new(client, server.url(), RetryPolicy::NONE);
    let f = fixture(FredFilter::default(), des);
    let first = envelope("e1", MessageType::Progress, "P", "CASHBACK");
    let second = envelope("e2", MessageType::Progress, "P", "FREE_SPINS");
    let response = f
        .handler
        .handle(event(vec![sqs_message("m1", &first)]))
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(f.outcomes.take(), vec![dropped(DropReason::NoDecision)]);
    assert!(f.publisher.take_all().is_empty());
    f.handler
        .handle(event(vec![sqs_message("m2", &second)]))
        .await;
    assert_eq!(f.publisher.take(Destination::DecidedEvents).len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/decisions");
    assert_eq!(requests[0].header("x-correlation-id"), Some("corr-e1"));
}

#[tokio::test]
async fn des_latency_and_drops_reach_the_emf_metrics() {
    use std::sync::Mutex;

    use rewards_shared::http::des::HAS_DECISION;
    use rewards_shared::http::{DesClient, HttpSettings, RetryPolicy};
    use rewards_shared::telemetry::MetricsOut;
    use rewards_shared::testing::{ScriptedResponse, ScriptedServer};
    use serde_json::{json, Value};

    let server = ScriptedServer::start(vec![ScriptedResponse::json(
        200,
        r#"{"hasDecision": true, "decisions": [], "deliveryPreference": "TOAST"}"#,
    )
    .with_header(HAS_DECISION, "true")])
    .await
    .expect("server");
    let client = HttpSettings::default().build().expect("client");
    let des = DesClient::new(client, server.url(), RetryPolicy::NONE);
    let kept = Arc::new(Mutex::new(Vec::new()));
    let telemetry = Telemetry::new(
        Stage::Fred,
        "skybet",
        "RewardMessaging",
        Arc::new(MemoryOutcomes::new()),
        MetricsOut::Memory(Arc::clone(&kept)),
    )
    .with_call_stats("DesLatencyMs", des.stats());
    let filter: FredFilter =
        serde_json::from_str(r#"{"excludedPromoCodes": ["HIDDEN"]}"#).expect("filter");
    let handler = Handler::new(
        filter,
        des,
        CommonPorts::new(
            Arc::new(MemoryPublisher::new()),
            Arc::new(MemoryDeadLetters::new()),
            ManualClock::new(at("2026-11-16T09:30:01Z")),
            telemetry,
        ),
    );
    let decided = envelope("e1", MessageType::Progress, "P", "FREE_SPINS");
    let hidden = envelope("e2", MessageType::Progress, "HIDDEN", "FREE_SPINS");
    let response = handler
        .handle(event(vec![
            sqs_message("m1", &decided),
            sqs_message("m2", &hidden),
        ]))
        .await;
    assert!(failed_ids(&response).is_empty());

    let documents: Vec<Value> = kept
        .lock()
        .expect("kept")
        .iter()
        .map(|document| serde_json::from_str(document).expect("JSON document"))
        .collect();
    assert_eq!(documents.len(), 2, "{documents:?}");
    let main = &documents[0];
    let directive = &main["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "RewardMessaging");
    assert_eq!(directive["Dimensions"], json!([["Stage", "Brand"]]));
    assert_eq!(
        (&main["Stage"], &main["Brand"]),
        (&json!("fred"), &json!("skybet"))
    );
    assert_eq!(main["RecordsIn"], 2.0);
    assert_eq!(main["Emitted"], 1.0);
    assert_eq!(main["DesLatencyMs"].as_array().map(Vec::len), Some(1));
    assert!(main.get("DownstreamErrors").is_none());
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|definition| definition["Name"].as_str())
        .collect();
    assert!(names.contains(&"DesLatencyMs"), "{names:?}");

    let dropped = &documents[1];
    assert_eq!(
        dropped["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Stage", "Brand", "Reason"]])
    );
    assert_eq!(dropped["Reason"], "not-configured");
    assert_eq!(dropped["Dropped"], 1.0);
}

fn delete_instruction(id: &str) -> Envelope<DeleteInstruction> {
    let award = envelope(id, MessageType::RewardAwarded, "P", "FREE_SPINS");
    let activity = &award.data.activity;
    let instruction = DeleteInstruction {
        account_id: activity.account_id.clone(),
        brand: activity.brand.clone(),
        promo_code: "P".into(),
        attempt_id: activity.attempt_id.clone(),
        sequence: 13,
        expires_at: None,
    };
    award.next(
        Stage::Tim,
        EventType::MessageDelete,
        id.into(),
        at("2026-11-16T09:30:00.500Z"),
        instruction,
    )
}

fn in_group(mut message: SqsMessage, group: &str) -> SqsMessage {
    rewards_shared::sqs::set_message_group(&mut message, group);
    message
}

#[tokio::test]
async fn a_delete_instruction_is_forwarded_behind_its_award_whatever_the_filter() {
    let filter: FredFilter =
        serde_json::from_str(r#"{"messageTypes": ["PROGRESS"]}"#).expect("filter");
    let f = fixture(filter, LocalDecisions::default());
    let award = envelope("award", MessageType::RewardAwarded, "P", "FREE_SPINS");
    let delete = delete_instruction("delete");
    let body = delete.encode().expect("encodes");
    let response = f
        .handler
        .handle(event(vec![
            in_group(sqs_message("m1", &award), "g"),
            in_group(encode_message("m2", &body, 1, "arn:relevant"), "g"),
        ]))
        .await;
    assert!(failed_ids(&response).is_empty());
    let sent = f.publisher.take(Destination::DecidedEvents);
    assert_eq!(
        sent.len(),
        1,
        "the award is not configured; the delete goes on"
    );
    let forwarded =
        Envelope::<DeleteInstruction>::decode(&sent[0].body, &[EventType::MessageDelete])
            .expect("a delete instruction");
    assert_eq!(forwarded.data, delete.data);
    assert_eq!(forwarded.id, derived_id(&["fred", "delete"]));
    assert!(forwarded.timestamps.at(Stage::Fred).is_some());
    assert_eq!(
        sent[0].group.as_deref(),
        Some(rewards_shared::ports::group_id("10048213", "P", "2026-W47").as_str())
    );
}

#[tokio::test]
async fn a_failed_award_holds_back_the_later_messages_of_its_group_only() {
    let f = fixture(
        FredFilter::default(),
        Failing(DecisionError::Unavailable {
            event_id: "bad".into(),
            reason: "503".into(),
        }),
    );
    let award = envelope("bad", MessageType::RewardAwarded, "P", "FREE_SPINS");
    let delete = delete_instruction("delete").encode().expect("encodes");
    let other = envelope("other", MessageType::Progress, "Q", "FREE_SPINS");
    let response = f
        .handler
        .handle(event(vec![
            in_group(sqs_message("m1", &award), "g"),
            in_group(sqs_message("m2", &other), "h"),
            in_group(encode_message("m3", &delete, 1, "arn:relevant"), "g"),
        ]))
        .await;
    assert_eq!(failed_ids(&response), vec!["m1", "m3"]);
    let sent = f.publisher.take(Destination::DecidedEvents);
    assert_eq!(sent.len(), 1, "only the other group's message");
    assert!(f.dead_letters.take().is_empty());
}

#[tokio::test]
async fn a_batch_asks_des_once_and_reads_the_body_only_for_the_decided() {
    use rewards_shared::http::des::HAS_DECISION;
    use rewards_shared::http::{DesClient, HttpSettings, RetryPolicy};
    use rewards_shared::testing::{ScriptedResponse, ScriptedServer};

    let decision = r#"{"hasDecision": true, "decisions": [], "deliveryPreference": "TOAST"}"#;
    let server = ScriptedServer::start(vec![ScriptedResponse::json(
        200,
        format!(r#"{{"decisions": [{decision}, {decision}]}}"#),
    )
    .with_header(HAS_DECISION, "true,false,true")])
    .await
    .expect("server");
    let client = HttpSettings::default().build().expect("client");
    let des = DesClient::new(client, server.url(), RetryPolicy::NONE);
    let filter: FredFilter =
        serde_json::from_str(r#"{"excludedPromoCodes": ["HIDDEN"]}"#).expect("filter");
    let f = fixture(filter, des);
    let inputs = [
        envelope("e1", MessageType::Progress, "P", "FREE_SPINS"),
        envelope("e2", MessageType::Progress, "HIDDEN", "FREE_SPINS"),
        envelope("e3", MessageType::Progress, "P", "CASHBACK"),
        envelope("e4", MessageType::Progress, "P", "FREE_BET"),
    ];
    let mut messages: Vec<SqsMessage> = inputs
        .iter()
        .enumerate()
        .map(|(i, e)| sqs_message(&format!("m{i}"), e))
        .collect();
    messages.insert(2, encode_message("bad", "not json", 1, "arn:q"));
    let response = f.handler.handle(event(messages)).await;
    assert!(failed_ids(&response).is_empty());
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one DES request for the batch");
    let asked: Vec<serde_json::Value> = serde_json::from_str(&requests[0].body).expect("array");
    let ids: Vec<&str> = asked.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, vec!["e1", "e3", "e4"]);
    let sent = f.publisher.take(Destination::DecidedEvents);
    let decided: Vec<String> = sent
        .iter()
        .map(|m| {
            Envelope::<DecidedMessage>::decode(&m.body, &[EventType::Decided])
                .expect("decided")
                .correlation_id
        })
        .collect();
    assert_eq!(decided, vec!["corr-e1", "corr-e4"]);
    assert_eq!(f.dead_letters.take().len(), 1);
    let outcomes = f.outcomes.take();
    assert!(outcomes.contains(&dropped(DropReason::NotConfigured)));
    assert!(outcomes.contains(&dropped(DropReason::NoDecision)));
}

#[tokio::test]
async fn des_unavailable_for_a_batch_retries_only_the_asked_records() {
    use rewards_shared::http::{DesClient, HttpSettings, RetryPolicy};
    use rewards_shared::testing::{ScriptedResponse, ScriptedServer};

    let server = ScriptedServer::start(vec![ScriptedResponse::status(503)])
        .await
        .expect("server");
    let client = HttpSettings::default().build().expect("client");
    let des = DesClient::new(client, server.url(), RetryPolicy::NONE);
    let filter: FredFilter =
        serde_json::from_str(r#"{"excludedPromoCodes": ["HIDDEN"]}"#).expect("filter");
    let f = fixture(filter, des);
    let inputs = [
        envelope("e1", MessageType::Progress, "P", "FREE_SPINS"),
        envelope("e2", MessageType::Progress, "HIDDEN", "FREE_SPINS"),
        envelope("e3", MessageType::Progress, "P", "FREE_BET"),
    ];
    let messages: Vec<_> = inputs
        .iter()
        .enumerate()
        .map(|(i, e)| sqs_message(&format!("m{i}"), e))
        .collect();
    let response = f.handler.handle(event(messages)).await;
    assert_eq!(failed_ids(&response), vec!["m0", "m2"]);
    assert!(f.publisher.take_all().is_empty());
    assert_eq!(f.outcomes.take(), vec![dropped(DropReason::NotConfigured)]);
}
