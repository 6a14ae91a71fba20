//! The tests of the batch handler, against the in-memory ports.

use std::sync::Arc;

use super::*;
use base64::Engine;
use lambda_http::request::LambdaRequest;
use rewards_shared::model::{Decision, DecisionKind, DeliveryFormat, MessageType};
use rewards_shared::ports::{ManualClock, MemoryOutcomes};
use rewards_shared::stage::Stage;
use rewards_shared::testing::fixtures::{self, at};

fn event(message_type: MessageType, activity_types: &[&str]) -> Envelope<RewardMessage> {
    fixtures::envelope(
        "ev-1",
        Stage::Tim,
        EventType::Relevant,
        fixtures::reward_message(message_type, activity_types),
    )
}

/// A request as the Lambda function URL delivers it (payload format 2.0).
fn function_url_request(method: &str, path: &str, body: &str, base64: bool) -> Request {
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        body.to_owned()
    };
    let payload = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/cloudevents+json",
            "host": "abcdefg.lambda-url.eu-west-1.on.aws",
            "x-correlation-id": "corr-1",
            "x-amz-date": "20261116T093000Z"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefg",
            "authorizer": {"iam": {
                "accessKey": "AKIAEXAMPLE", "accountId": "123456789012",
                "callerId": "AROAEXAMPLE:fred", "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": "arn:aws:sts::123456789012:assumed-role/fred/fred",
                "userId": "AROAEXAMPLE:fred"}},
            "domainName": "abcdefg.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefg",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "10.0.0.1", "userAgent": "reqwest"},
            "requestId": "8f2a1c3e-0000-4000-8000-000000000001",
            "routeKey": "$default",
            "stage": "$default",
            "time": "16/Nov/2026:09:30:00 +0000",
            "timeEpoch": 1794821400000u64
        },
        "body": body,
        "isBase64Encoded": base64
    });
    let request: LambdaRequest =
        serde_json::from_value(payload).expect("function URL payload deserialises");
    Request::from(request)
}

fn handler(preferences: DeliveryPreferences) -> Handler<ManualClock> {
    Handler::new(
        preferences,
        ManualClock::new(at("2026-11-16T09:30:01Z")),
        Telemetry::for_tests(Stage::Des, Arc::new(MemoryOutcomes::new())),
    )
}

fn body_json(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).expect("JSON body")
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

async fn decide(
    handler: &Handler<ManualClock>,
    envelope: &Envelope<RewardMessage>,
) -> (Response<Body>, Decision) {
    let body = envelope.encode().expect("encodes");
    let response = handler
        .handle(function_url_request("POST", "/decisions", &body, false))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let decision: Decision =
        serde_json::from_slice(response.body().as_ref()).expect("decision JSON");
    (response, decision)
}

#[tokio::test]
async fn each_known_activity_type_has_a_decision() {
    let handler = handler(DeliveryPreferences::default());
    for activity_type in ["FREE_SPINS", "FREE_BET", "GAMING_BONUS"] {
        let (response, decision) =
            decide(&handler, &event(MessageType::Progress, &[activity_type])).await;
        assert_eq!(header(&response, "has-decision"), Some("true"));
        assert_eq!(header(&response, "content-type"), Some("application/json"));
        assert!(decision.has_decision);
        assert_eq!(decision.decisions[0].decision, DecisionKind::Decision);
        assert_eq!(decision.delivery_preference, Some(DeliveryFormat::Toast));
    }
}

#[tokio::test]
async fn unknown_activity_types_have_none() {
    let handler = handler(DeliveryPreferences::default());
    let (response, decision) = decide(&handler, &event(MessageType::Progress, &["CASHBACK"])).await;
    assert_eq!(header(&response, "has-decision"), Some("false"));
    assert!(!decision.has_decision);
    assert_eq!(decision.decisions[0].decision, DecisionKind::NoDecision);
}

#[tokio::test]
async fn mixed_progress_has_a_decision() {
    let handler = handler(DeliveryPreferences::default());
    let (response, decision) = decide(
        &handler,
        &event(MessageType::RewardAwarded, &["CASHBACK", "GAMING_BONUS"]),
    )
    .await;
    assert_eq!(header(&response, "has-decision"), Some("true"));
    let kinds: Vec<_> = decision.decisions.iter().map(|d| d.decision).collect();
    assert_eq!(
        kinds,
        vec![DecisionKind::NoDecision, DecisionKind::Decision]
    );
    assert_eq!(
        decision.delivery_preference,
        Some(DeliveryFormat::FullScreen)
    );
}

#[tokio::test]
async fn brand_overrides_apply() {
    let preferences =
        DeliveryPreferences::from_json(r#"{"skybet": {"PROGRESS": null}}"#).expect("prefs");
    let handler = handler(preferences);
    let (_, decision) = decide(&handler, &event(MessageType::Progress, &["FREE_BET"])).await;
    assert!(decision.has_decision);
    assert_eq!(decision.delivery_preference, None);
    let json = serde_json::to_value(&decision).expect("json");
    assert!(json.get("deliveryPreference").is_none());
}

#[tokio::test]
async fn base64_bodies_and_unqualifications_are_read() {
    let handler = handler(DeliveryPreferences::default());
    let mut envelope = event(MessageType::Unqualification, &["FREE_SPINS"]);
    envelope.event_type = EventType::Unqualification;
    let body = envelope.encode().expect("encodes");
    let response = handler
        .handle(function_url_request("POST", "/decisions/", &body, true))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "has-decision"), Some("true"));
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_problem() {
    let handler = handler(DeliveryPreferences::default());
    let good = event(MessageType::Progress, &["FREE_SPINS"])
        .encode()
        .expect("encodes");
    let mut wrong_type = event(MessageType::Progress, &["FREE_SPINS"]);
    wrong_type.event_type = EventType::Decided;
    let wrong_type = wrong_type.encode().expect("encodes");
    let mut no_data: serde_json::Value = serde_json::from_str(&good).expect("json");
    if let Some(object) = no_data.as_object_mut() {
        object.remove("data");
    }
    let bad_data = good.replace("\"messageType\":\"PROGRESS\"", "\"messageType\":\"WIN\"");
    let cases = [
        ("", "empty record"),
        ("not json", "not a CloudEvent"),
        ("{\"hello\": 1}", "not a CloudEvent"),
        (wrong_type.as_str(), "`type` = `rewards.decided`"),
        (&no_data.to_string(), "lacks `data`"),
        (&bad_data, "unknown variant `WIN`"),
    ];
    for (body, expected) in cases {
        let response = handler
            .handle(function_url_request("POST", "/decisions", body, false))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(response.headers().get("has-decision").is_none());
        let error = body_json(&response)["error"]
            .as_str()
            .expect("error text")
            .to_owned();
        assert!(error.starts_with("invalid-input: "), "{error}");
        assert!(error.contains(expected), "{error} should name {expected}");
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let handler = handler(DeliveryPreferences::default());
    let body = "x".repeat(MAX_RECORD_BYTES + 1);
    let response = handler
        .handle(function_url_request("POST", "/decisions", &body, false))
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_json(&response)["error"].is_string());
}

#[tokio::test]
async fn wrong_route_is_404_and_wrong_method_405() {
    let handler = handler(DeliveryPreferences::default());
    let response = handler
        .handle(function_url_request("POST", "/other", "{}", false))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(body_json(&response)["error"]
        .as_str()
        .is_some_and(|e| e.contains("/other")));
    let response = handler
        .handle(function_url_request("GET", "/decisions", "", false))
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), Some("POST"));
    assert!(body_json(&response)["error"].is_string());
}

#[tokio::test]
async fn the_sample_function_url_event_is_decided() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/des/function-url-decisions.json"
    );
    let payload = std::fs::read_to_string(path).expect("events/des sample");
    let request: LambdaRequest = serde_json::from_str(&payload).expect("function URL payload");
    let response = handler(DeliveryPreferences::default())
        .handle(Request::from(request))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "has-decision"), Some("true"));
    let decision = body_json(&response);
    assert_eq!(decision["hasDecision"], true);
    assert_eq!(decision["deliveryPreference"], "TOAST");
}

#[tokio::test]
async fn a_batch_answers_one_flag_per_event_and_only_the_decided_in_the_body() {
    let handler = handler(DeliveryPreferences::default());
    let decided = event(MessageType::Progress, &["FREE_SPINS"]);
    let mut none = event(MessageType::Progress, &["CASHBACK"]);
    none.id = "ev-2".into();
    let mut award = event(MessageType::RewardAwarded, &["FREE_BET"]);
    award.id = "ev-3".into();
    let bodies: Vec<String> = [&decided, &none, &award]
        .iter()
        .map(|e| e.encode().expect("encodes"))
        .collect();
    let mut bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    bodies.insert(1, r#"{"not": "an event"}"#);
    let body = format!(" {}", batch::request_body(&bodies));
    let response = handler
        .handle(function_url_request("POST", "/decisions", &body, false))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "has-decision"),
        Some("true,invalid,false,true")
    );
    let answer: batch::Body = serde_json::from_slice(response.body().as_ref()).expect("batch body");
    assert_eq!(answer.decisions.len(), 2);
    assert_eq!(
        answer.decisions[1].delivery_preference,
        Some(DeliveryFormat::FullScreen)
    );
    assert_eq!(answer.errors.len(), 1);
    assert!(
        answer.errors[0].starts_with("invalid-input: "),
        "{:?}",
        answer.errors
    );
}

#[tokio::test]
async fn a_batch_of_no_decisions_has_an_empty_body_of_decisions() {
    let handler = handler(DeliveryPreferences::default());
    let body = batch::request_body(&[event(MessageType::Progress, &["CASHBACK"])
        .encode()
        .expect("encodes")]);
    let response = handler
        .handle(function_url_request("POST", "/decisions", &body, false))
        .await;
    assert_eq!(header(&response, "has-decision"), Some("false"));
    assert_eq!(body_json(&response), serde_json::json!({"decisions": []}));
}

#[tokio::test]
async fn a_malformed_or_empty_or_oversized_batch_is_refused_whole() {
    let handler = handler(DeliveryPreferences::default());
    let one = event(MessageType::Progress, &["FREE_SPINS"])
        .encode()
        .expect("encodes");
    let too_many = batch::request_body(&vec![one.as_str(); batch::MAX_EVENTS + 1]);
    for (body, expected) in [
        ("[", "not a JSON array"),
        ("[]", "1 to 100 events, not 0"),
        (too_many.as_str(), "not 101"),
    ] {
        let response = handler
            .handle(function_url_request("POST", "/decisions", body, false))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(response.headers().get("has-decision").is_none());
        let error = body_json(&response)["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(expected), "{error}");
    }
    let huge = format!("[{}]", " ".repeat(batch::MAX_BYTES));
    let response = handler
        .handle(function_url_request("POST", "/decisions", &huge, false))
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
