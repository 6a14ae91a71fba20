//! The DES client: `POST {DES_URL}/decisions` with the CloudEvent in structured JSON mode.
//!
//! DES answers 200 with the header `has-decision: true|false`. The body (the decision) is read
//! and parsed only when the header is `true`; with `false` it is never parsed, whatever it
//! holds. 400 means DES refused the event (not retried); 5xx, 429, time-outs and connection
//! failures are retried with bounded backoff; a missing header, another status or an
//! unparseable decision is a DES fault, reported as unavailable so the record comes again.
//!
//! A batch ([`DecisionService::decide_batch`]) goes as one `POST /decisions` with a JSON array
//! of the events, each the text it was received as (not encoded again) (at most [`batch::MAX_EVENTS`] per request; more are split), answered with one
//! flag per event in `has-decision` and a body of the decided events' decisions
//! ([`crate::decision::batch`]); the body is read only when some flag is `true` or `invalid`.
//! An `invalid` event is rejected alone. A 400 for the whole batch (which a well-formed batch
//! never gets) is retried one event at a time, so that only the bad event is rejected. The
//! request carries the first event's correlation id; DES logs each event's own.
//!
//! In AWS, DES's function URL takes only SigV4-signed requests (`AuthType: AWS_IAM`): FRED
//! gives the client a [`SigV4Signer`](super::SigV4Signer) for service `lambda`
//! ([`DesClient::with_signer`]). Without one the requests go unsigned (the local runner,
//! tests).

use std::sync::Arc;

use reqwest::Method;

use super::client::HttpCallError;
use super::retry::RetryPolicy;
use super::service::{read_json, Service};
use super::signer::RequestSigner;
use super::stats::CallStats;
use crate::decision::batch;
use crate::envelope::Envelope;
use crate::model::{Decision, RewardMessage};
use crate::ports::{Asked, DecisionError, DesRequests};

/// The response header saying whether the event has a decision.
pub const HAS_DECISION: &str = "has-decision";

/// Client of the decision service.
#[derive(Clone)]
pub struct DesClient {
    service: Service,
    url: String,
}

impl DesClient {
    /// A client of the service at `base_url` (it posts to `{base_url}/decisions`), sharing
    /// `client`'s connection pool.
    pub fn new(client: reqwest::Client, base_url: impl Into<String>, retry: RetryPolicy) -> Self {
        let service = Service::new(client, base_url, None, retry);
        let url = service.url("/decisions");
        DesClient { service, url }
    }

    /// The same client, each request signed by `signer` (each attempt anew).
    pub fn with_signer(mut self, signer: Arc<dyn RequestSigner>) -> Self {
        self.service = self.service.with_signer(signer);
        self
    }

    /// Latency and errors of the calls made.
    pub fn stats(&self) -> Arc<CallStats> {
        self.service.stats()
    }

    async fn post_once(
        &self,
        body: &str,
        correlation_id: &str,
    ) -> Result<Option<Decision>, HttpCallError> {
        let url = self.url.as_str();
        let request = self
            .service
            .request(Method::POST, url)
            .header("content-type", "application/cloudevents+json")
            .header("accept", "application/json")
            .header("x-correlation-id", correlation_id)
            .body(body.to_owned());
        let response = self.service.send(url, request).await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(HttpCallError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let header = response
            .headers()
            .get(HAS_DECISION)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_ascii_lowercase());
        match header.as_deref() {
            Some("false") => Ok(None),
            Some("true") => read_json(url, response).await.map(Some),
            other => Err(HttpCallError::MalformedBody {
                url: url.to_owned(),
                reason: format!("header `{HAS_DECISION}` is {other:?}, not true or false"),
            }),
        }
    }
}

impl DesClient {
    async fn post_batch_once(
        &self,
        body: &str,
        correlation_id: &str,
        expected: usize,
    ) -> Result<Vec<batch::Answer>, HttpCallError> {
        let url = self.url.as_str();
        let request = self
            .service
            .request(Method::POST, url)
            .header("content-type", batch::CONTENT_TYPE)
            .header("accept", "application/json")
            .header("x-correlation-id", correlation_id)
            .body(body.to_owned());
        let response = self.service.send(url, request).await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(HttpCallError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let malformed = |reason: String| HttpCallError::MalformedBody {
            url: url.to_owned(),
            reason,
        };
        let flags = response
            .headers()
            .get(HAS_DECISION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| malformed(format!("header `{HAS_DECISION}` is missing")))
            .and_then(|value| batch::parse_header(value).map_err(&malformed))?;
        if flags.iter().all(|f| *f == batch::Flag::NoDecision) {
            return batch::answers(&flags, expected, || Ok(batch::Body::default()))
                .map_err(malformed);
        }
        let body: batch::Body = read_json(url, response).await?;
        batch::answers(&flags, expected, || Ok(body)).map_err(malformed)
    }

}

impl DesRequests for DesClient {
    /// One batch request for `events` (at most [`batch::MAX_EVENTS`]): each event's result.
    /// A bad request (400) is asked again one event at a time.
    async fn decide_chunk(
        &self,
        events: &[Asked<'_>],
    ) -> Vec<Result<Option<Decision>, DecisionError>> {
        let bodies: Vec<&str> = events.iter().map(|event| event.body).collect();
        let body = batch::request_body(&bodies);
        let Some(first) = events.first() else {
            return Vec::new();
        };
        let answer = self
            .service
            .call(|| self.post_batch_once(&body, &first.envelope.correlation_id, events.len()))
            .await;
        match answer {
            Ok(answers) => events
                .iter()
                .zip(answers)
                .map(|(event, answer)| event.result_of(answer))
                .collect(),
            Err(HttpCallError::Status { status: 400, .. }) if events.len() > 1 => {
                let mut results = Vec::with_capacity(events.len());
                for event in events {
                    results.push(self.decide_one(event).await);
                }
                results
            }
            Err(error) => events
                .iter()
                .map(|event| Err(unavailable(event.envelope, &error)))
                .collect(),
        }
    }

    /// One event in the single form, its body sent as received.
    async fn decide_one(&self, event: &Asked<'_>) -> Result<Option<Decision>, DecisionError> {
        let result = self
            .service
            .call(|| self.post_once(event.body, &event.envelope.correlation_id))
            .await;
        result.map_err(|error| unavailable(event.envelope, &error))
    }
}

/// A failed call as the event's error: 400 rejects it, anything else comes again.
fn unavailable(envelope: &Envelope<RewardMessage>, error: &HttpCallError) -> DecisionError {
    match error {
        HttpCallError::Status { status: 400, .. } => DecisionError::Rejected {
            event_id: envelope.id.clone(),
            reason: error.to_string(),
        },
        // 5xx and time-outs outlived the retries; a 401/403 (signing, permissions) or a
        // malformed answer is DES's or the deployment's fault: the record comes again.
        _ => DecisionError::Unavailable {
            event_id: envelope.id.clone(),
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::envelope::{EventType, StageTimestamps};
    use crate::error::Retryable;
    use crate::model::{DecisionKind, DeliveryFormat, MessageType};
    use crate::ports::DecisionService;
    use crate::stage::Stage;
    use crate::testing::{ScriptedResponse, ScriptedServer};

    const DECISION: &str = r#"{"hasDecision": true, "decisions": [{"rewardSchemeId": "rs-0",
        "activityType": "FREE_SPINS", "decision": "DECISION"}], "deliveryPreference": "TOAST"}"#;

    fn client(url: &str) -> DesClient {
        let (client, retry) = crate::http::service::quick();
        DesClient::new(client, url, retry)
    }

    fn envelope() -> Envelope<RewardMessage> {
        let now: DateTime<Utc> = "2026-11-16T09:30:01Z".parse().expect("date");
        Envelope {
            id: "ev-1".into(),
            source: Stage::Tim.source().into(),
            event_type: EventType::Relevant,
            subject: "10048213".into(),
            time: now,
            brand: "skybet".into(),
            correlation_id: "corr-1".into(),
            timestamps: StageTimestamps::from_origin(now),
            data: crate::testing::fixtures::reward_message(MessageType::Progress, &["FREE_SPINS"]),
        }
    }

    fn decided(body: &str) -> ScriptedResponse {
        ScriptedResponse::json(200, body).with_header(HAS_DECISION, "true")
    }

    #[tokio::test]
    async fn has_decision_true_returns_the_decision() {
        let server = ScriptedServer::start(vec![decided(DECISION)])
            .await
            .expect("server");
        let decision = client(server.url())
            .decide(&envelope())
            .await
            .expect("ok")
            .expect("some");
        assert!(decision.has_decision);
        assert_eq!(decision.decisions[0].decision, DecisionKind::Decision);
        assert_eq!(decision.delivery_preference, Some(DeliveryFormat::Toast));
        let requests = server.requests();
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/decisions");
        assert_eq!(requests[0].header("x-correlation-id"), Some("corr-1"));
        let sent: serde_json::Value = serde_json::from_str(&requests[0].body).expect("json");
        assert_eq!(sent["type"], "rewards.relevant");
        assert_eq!(sent["id"], "ev-1");
    }

    #[tokio::test]
    async fn has_decision_false_never_parses_the_body() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::json(200, "this is {not json").with_header(HAS_DECISION, "false")
        ])
        .await
        .expect("server");
        assert_eq!(client(server.url()).decide(&envelope()).await, Ok(None));
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn bad_request_is_rejected_and_not_retried() {
        let server = ScriptedServer::start(vec![ScriptedResponse::json(400, r#"{"error":"bad"}"#)])
            .await
            .expect("server");
        let error = client(server.url())
            .decide(&envelope())
            .await
            .expect_err("rejected");
        assert!(matches!(error, DecisionError::Rejected { .. }), "{error}");
        assert!(!error.is_retryable());
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn not_found_is_unavailable() {
        let server = ScriptedServer::start(vec![]).await.expect("server");
        let error = client(server.url())
            .decide(&envelope())
            .await
            .expect_err("404");
        assert!(error.is_retryable(), "{error}");
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn server_error_then_ok_is_retried() {
        let server = ScriptedServer::start(vec![ScriptedResponse::status(502), decided(DECISION)])
            .await
            .expect("server");
        assert!(client(server.url())
            .decide(&envelope())
            .await
            .expect("ok")
            .is_some());
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn time_outs_outlive_the_retries_as_unavailable() {
        let slow = decided(DECISION).delayed(Duration::from_millis(500));
        let server = ScriptedServer::start_with_fallback(vec![], slow)
            .await
            .expect("server");
        let error = client(server.url())
            .decide(&envelope())
            .await
            .expect_err("timeout");
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("timed out"), "{error}");
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn malformed_decision_or_missing_header_is_unavailable() {
        let server = ScriptedServer::start(vec![
            decided(r#"{"hasDecision": "yes"}"#),
            ScriptedResponse::json(200, DECISION),
        ])
        .await
        .expect("server");
        let des = client(server.url());
        let error = des.decide(&envelope()).await.expect_err("malformed");
        assert!(error.to_string().contains("malformed body"), "{error}");
        assert!(error.is_retryable());
        let error = des.decide(&envelope()).await.expect_err("no header");
        assert!(error.to_string().contains("has-decision"), "{error}");
        assert_eq!(server.requests().len(), 2);
    }

    fn envelope_with_id(id: &str) -> Envelope<RewardMessage> {
        let mut envelope = envelope();
        envelope.id = id.into();
        envelope.correlation_id = format!("corr-{id}");
        envelope
    }

    #[tokio::test]
    async fn a_batch_is_one_request_read_flag_by_flag() {
        let body = format!(r#"{{"decisions": [{DECISION}], "errors": ["invalid-input: bad"]}}"#);
        let server = ScriptedServer::start(vec![
            ScriptedResponse::json(200, &body).with_header(HAS_DECISION, "false,true,invalid")
        ])
        .await
        .expect("server");
        let events = [
            envelope_with_id("a"),
            envelope_with_id("b"),
            envelope_with_id("c"),
        ];
        let bodies: Vec<String> = events
            .iter()
            .map(|e| e.encode().expect("encodes"))
            .collect();
        let asked: Vec<Asked<'_>> = events
            .iter()
            .zip(&bodies)
            .map(|(envelope, body)| Asked { envelope, body })
            .collect();
        let answers = client(server.url()).decide_batch(&asked).await;
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0], Ok(None));
        assert!(answers[1].as_ref().expect("ok").is_some());
        let rejected = answers[2].as_ref().expect_err("invalid");
        assert!(!rejected.is_retryable());
        assert!(rejected.to_string().contains("`c`"), "{rejected}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].header("content-type"),
            Some(batch::CONTENT_TYPE)
        );
        assert_eq!(requests[0].header("x-correlation-id"), Some("corr-a"));
        let sent: Vec<serde_json::Value> = serde_json::from_str(&requests[0].body).expect("array");
        let ids: Vec<&str> = sent.iter().filter_map(|e| e["id"].as_str()).collect();
        assert_eq!(ids, vec!["a", "b", "c"]);
    }

    #[tokio::test]
    async fn an_all_false_batch_never_parses_the_body() {
        let server =
            ScriptedServer::start(vec![ScriptedResponse::json(200, "<html>not json")
                .with_header(HAS_DECISION, "false,false")])
            .await
            .expect("server");
        let events = [envelope_with_id("a"), envelope_with_id("b")];
        let bodies: Vec<String> = events
            .iter()
            .map(|e| e.encode().expect("encodes"))
            .collect();
        let asked: Vec<Asked<'_>> = events
            .iter()
            .zip(&bodies)
            .map(|(envelope, body)| Asked { envelope, body })
            .collect();
        let answers = client(server.url()).decide_batch(&asked).await;
        assert_eq!(answers, vec![Ok(None), Ok(None)]);
    }

    #[tokio::test]
    async fn a_batch_refused_whole_is_asked_one_event_at_a_time() {
        let server = ScriptedServer::start(vec![
            ScriptedResponse::json(400, r#"{"error":"bad batch"}"#),
            decided(DECISION),
            ScriptedResponse::json(400, r#"{"error":"bad event"}"#),
        ])
        .await
        .expect("server");
        let events = [envelope_with_id("a"), envelope_with_id("b")];
        let bodies: Vec<String> = events
            .iter()
            .map(|e| e.encode().expect("encodes"))
            .collect();
        let asked: Vec<Asked<'_>> = events
            .iter()
            .zip(&bodies)
            .map(|(envelope, body)| Asked { envelope, body })
            .collect();
        let answers = client(server.url()).decide_batch(&asked).await;
        assert!(answers[0].as_ref().expect("ok").is_some());
        assert!(matches!(answers[1], Err(DecisionError::Rejected { .. })));
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn a_failed_or_miscounted_batch_leaves_every_event_unavailable() {
        let server = ScriptedServer::start_with_fallback(
            vec![ScriptedResponse::json(200, "{}").with_header(HAS_DECISION, "true")],
            ScriptedResponse::status(503),
        )
        .await
        .expect("server");
        let events = [envelope_with_id("a"), envelope_with_id("b")];
        let bodies: Vec<String> = events
            .iter()
            .map(|e| e.encode().expect("encodes"))
            .collect();
        let asked: Vec<Asked<'_>> = events
            .iter()
            .zip(&bodies)
            .map(|(envelope, body)| Asked { envelope, body })
            .collect();
        let des = client(server.url());
        for _ in 0..2 {
            let answers = des.decide_batch(&asked).await;
            assert_eq!(answers.len(), 2);
            for (answer, id) in answers.iter().zip(["a", "b"]) {
                let error = answer.as_ref().expect_err("unavailable");
                assert!(error.is_retryable(), "{error}");
                assert!(error.to_string().contains(&format!("`{id}`")), "{error}");
            }
        }
    }
}
