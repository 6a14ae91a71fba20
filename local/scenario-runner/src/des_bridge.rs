//! FRED's decision port in the local runner: every decision goes through DES's real handler as
//! the request `lambda_http` makes of a Lambda function URL event, and the answer is read the
//! way FRED's HTTP client reads it — the `has-decision` header first, the body only when it is
//! `true`.
//!
//! A FRED batch goes to DES as one batch request (a JSON array of the events), read the same
//! way: the per-event flags of `has-decision` first, the body only when some flag needs it.
//!
//! The bridge builds that request directly ([`decision_request`]), as the runner hands the SQS
//! stages their `SqsEvent`s without Lambda's JSON: parsing the event JSON is the runtime's part,
//! and `rewards bench` measures it apart. [`function_url_request`] and [`to_request`] are the
//! JSON path, for the tests and that measurement; a test checks both give DES the same request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lambda_http::http::{header, Method};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};
use rewards_shared::decision::batch;
use rewards_shared::model::Decision;
use rewards_shared::ports::{Asked, Clock, DecisionError, DesRequests};
use serde_json::json;

/// Calls DES's handler in process, through its HTTP shape.
pub struct DesBridge<C> {
    des: Arc<des::Handler<C>>,
    requests: Arc<AtomicU64>,
}

impl<C> DesBridge<C> {
    /// A bridge to `des`.
    pub fn new(des: Arc<des::Handler<C>>) -> Self {
        DesBridge {
            des,
            requests: Arc::default(),
        }
    }

    /// The count of requests sent to DES so far (each one a Lambda invocation of DES), shared.
    pub fn requests(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.requests)
    }
}

/// The function URL event for `POST /decisions` with `body`, as Lambda delivers it.
pub fn function_url_request(body: &str, correlation_id: &str) -> serde_json::Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/decisions",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/cloudevents+json",
            "x-correlation-id": correlation_id,
            "host": HOST
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local-des",
            "domainName": HOST,
            "domainPrefix": "local-des",
            "http": {
                "method": "POST",
                "path": "/decisions",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "rewards-local"
            },
            "requestId": correlation_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1_795_255_200_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Turns a function URL event into the request DES's handler takes.
pub fn to_request(event: serde_json::Value) -> Result<Request, String> {
    let lambda: LambdaRequest = serde_json::from_value(event).map_err(|e| e.to_string())?;
    Ok(Request::from(lambda))
}

/// DES's function URL host in the local runner.
const HOST: &str = "local-des.lambda-url.eu-west-1.on.aws";

/// The request DES's handler gets for `body` (a CloudEvent) sent to `POST /decisions`: what
/// `lambda_http` makes of [`function_url_request`], built without the JSON.
pub fn decision_request(body: String, correlation_id: &str) -> Result<Request, String> {
    lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri(format!("https://{HOST}/decisions"))
        .header(header::CONTENT_TYPE, "application/cloudevents+json")
        .header("x-correlation-id", correlation_id)
        .header(header::HOST, HOST)
        .body(Body::Text(body))
        .map_err(|e| e.to_string())
}

/// The request DES's handler gets for a batch `body` (a JSON array of CloudEvents).
pub fn batch_request(body: String, correlation_id: &str) -> Result<Request, String> {
    let mut request = decision_request(body, correlation_id)?;
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(batch::CONTENT_TYPE),
    );
    Ok(request)
}

impl<C: Clock> DesBridge<C> {
    /// One batch request through DES's handler: each event's answer, or why the whole request
    /// failed (`Err(true)` when DES refused it as a bad request).
    async fn ask_batch(
        &self,
        bodies: &[&str],
        correlation_id: &str,
    ) -> Result<Vec<batch::Answer>, (bool, String)> {
        let request =
            batch_request(batch::request_body(bodies), correlation_id).map_err(|e| (false, e))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self.des.handle(request).await;
        let status = response.status().as_u16();
        if status != 200 {
            return Err((
                status == 400,
                format!("status {status}: {}", body_text(response.body())),
            ));
        }
        let flags = response
            .headers()
            .get("has-decision")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| (false, "no has-decision header".to_owned()))
            .and_then(|value| batch::parse_header(value).map_err(|e| (false, e)))?;
        batch::answers(&flags, bodies.len(), || {
            serde_json::from_str(&body_text(response.body())).map_err(|e| e.to_string())
        })
        .map_err(|e| (false, format!("malformed batch answer: {e}")))
    }
}

impl<C: Clock> DesRequests for DesBridge<C> {
    /// One batch request for `chunk` (at most [`batch::MAX_EVENTS`] events): each event's
    /// result. A bad request is asked again one event at a time.
    async fn decide_chunk(
        &self,
        chunk: &[Asked<'_>],
    ) -> Vec<Result<Option<Decision>, DecisionError>> {
        let bodies: Vec<&str> = chunk.iter().map(|event| event.body).collect();
        let answers = self
            .ask_batch(&bodies, &chunk[0].envelope.correlation_id)
            .await;
        match answers {
            Ok(answers) => chunk
                .iter()
                .zip(answers)
                .map(|(event, answer)| event.result_of(answer))
                .collect(),
            Err((true, _)) => {
                let mut results = Vec::with_capacity(chunk.len());
                for event in chunk {
                    results.push(self.decide_one(event).await);
                }
                results
            }
            Err((false, reason)) => chunk
                .iter()
                .map(|event| {
                    Err(DecisionError::Unavailable {
                        event_id: event.envelope.id.clone(),
                        reason: reason.clone(),
                    })
                })
                .collect(),
        }
    }

    /// One event in the single form, its body sent as received.
    async fn decide_one(&self, event: &Asked<'_>) -> Result<Option<Decision>, DecisionError> {
        let envelope = event.envelope;
        let unavailable = |reason: String| DecisionError::Unavailable {
            event_id: envelope.id.clone(),
            reason,
        };
        let request = decision_request(event.body.to_owned(), &envelope.correlation_id)
            .map_err(unavailable)?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self.des.handle(request).await;
        let status = response.status().as_u16();
        if status == 400 {
            return Err(DecisionError::Rejected {
                event_id: envelope.id.clone(),
                reason: body_text(response.body()),
            });
        }
        if status != 200 {
            return Err(unavailable(format!("status {status}")));
        }
        let has_decision = response
            .headers()
            .get("has-decision")
            .and_then(|value| value.to_str().ok())
            == Some("true");
        if !has_decision {
            return Ok(None);
        }
        serde_json::from_str(&body_text(response.body()))
            .map(Some)
            .map_err(|e| unavailable(format!("malformed decision: {e}")))
    }
}

fn body_text(body: &Body) -> String {
    match body {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_direct_request_is_what_lambda_http_makes_of_the_event_json() {
        let body = r#"{"specversion":"1.0","id":"e1"}"#;
        let direct = decision_request(body.to_owned(), "corr-1").expect("direct");
        let parsed = to_request(function_url_request(body, "corr-1")).expect("parsed");
        assert_eq!(direct.method(), parsed.method());
        assert_eq!(direct.uri().path(), parsed.uri().path());
        assert_eq!(direct.uri().host(), parsed.uri().host());
        for name in ["content-type", "x-correlation-id", "host"] {
            assert_eq!(
                direct.headers().get(name),
                parsed.headers().get(name),
                "{name}"
            );
        }
        assert_eq!(body_text(direct.body()), body_text(parsed.body()));
        assert_eq!(body_text(direct.body()), body);
    }
}
