//! DES's HTTP handler (Lambda function URL, API Gateway v2 payload).

use chrono::{DateTime, Utc};
use lambda_http::http::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use rewards_shared::decision::{self, batch, DeliveryPreferences};
use rewards_shared::envelope::{Envelope, EventType};
use rewards_shared::limits::MAX_RECORD_BYTES;
use rewards_shared::model::{Decision, InvalidInput, RewardMessage, Validate as _};
use rewards_shared::ports::Clock;
use rewards_shared::telemetry::{Recorder, Telemetry};
use serde_json::value::RawValue;

/// The one route.
pub const DECISIONS_PATH: &str = "/decisions";

/// The response header saying whether the event has a decision.
pub const HAS_DECISION: HeaderName = HeaderName::from_static("has-decision");

/// The event types DES decides on.
pub const INPUT_TYPES: [EventType; 2] = [EventType::Relevant, EventType::Unqualification];

/// DES's handler.
pub struct Handler<C> {
    preferences: DeliveryPreferences,
    clock: C,
    telemetry: Telemetry,
}

impl<C: Clock> Handler<C> {
    /// A handler deciding with these delivery preferences.
    pub fn new(preferences: DeliveryPreferences, clock: C, telemetry: Telemetry) -> Self {
        Handler {
            preferences,
            clock,
            telemetry,
        }
    }

    /// Answers one request; never fails (errors are JSON responses).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let recorder = self.telemetry.recorder();
        recorder.count("RecordsIn", 1.0);
        let correlation_id = request
            .headers()
            .get("x-correlation-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!(
            "record",
            stage = "des",
            correlation_id = %correlation_id,
            event_id = tracing::field::Empty,
        );
        let response = span.in_scope(|| self.respond(&request, self.clock.now(), &recorder));
        if !response.status().is_success() {
            recorder.count("BadRequests", 1.0);
        }
        recorder.flush();
        response
    }

    fn respond(
        &self,
        request: &Request,
        now: DateTime<Utc>,
        recorder: &Recorder<'_>,
    ) -> Response<Body> {
        let path = request.uri().path();
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        if path != DECISIONS_PATH {
            return error(StatusCode::NOT_FOUND, &format!("no route for `{path}`"));
        }
        if request.method() != Method::POST {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("method {} not allowed; use POST", request.method()),
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let bytes: &[u8] = request.body().as_ref();
        if is_batch(bytes) {
            return self.respond_batch(bytes, now, recorder);
        }
        let envelope = match read_event(bytes) {
            Ok(envelope) => envelope,
            Err((status, reason)) => {
                tracing::warn!(reason = %reason, "bad request");
                return error(status, &format!("invalid-input: {reason}"));
            }
        };
        let span = tracing::Span::current();
        span.record("correlation_id", envelope.correlation_id.as_str());
        span.record("event_id", envelope.id.as_str());
        let decision = self.decide(&envelope, now, recorder);
        let has_decision = if decision.has_decision {
            HeaderValue::from_static("true")
        } else {
            HeaderValue::from_static("false")
        };
        match serde_json::to_string(&decision) {
            Ok(body) => {
                let mut response = json(StatusCode::OK, body);
                response.headers_mut().insert(HAS_DECISION, has_decision);
                response
            }
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot encode the decision: {e}"),
            ),
        }
    }

    /// Decides one event that was read, recording its latency and verdict.
    fn decide(
        &self,
        envelope: &Envelope<RewardMessage>,
        now: DateTime<Utc>,
        recorder: &Recorder<'_>,
    ) -> Decision {
        recorder.latency(envelope.latency_at(now));
        let decision = decision::decide(&envelope.data, &envelope.brand, &self.preferences);
        recorder.count(
            if decision.has_decision {
                "Decisions"
            } else {
                "NoDecisions"
            },
            1.0,
        );
        // DEBUG: the verdict is in the `Decisions`/`NoDecisions` metrics and in the outcome
        // line at the chain's end (`delivered`, `queued`, or `dropped` with `no-decision`).
        tracing::debug!(
            has_decision = decision.has_decision,
            message_type = %envelope.data.message_type,
            event_id = %envelope.id,
            correlation_id = %envelope.correlation_id,
            "decided"
        );
        decision
    }

    /// Answers a batch (`decision::batch`): one flag per event in `has-decision`, and a body
    /// holding the decisions of the decided events and the reasons of the unreadable ones.
    fn respond_batch(
        &self,
        bytes: &[u8],
        now: DateTime<Utc>,
        recorder: &Recorder<'_>,
    ) -> Response<Body> {
        let events = match read_batch(bytes) {
            Ok(events) => events,
            Err((status, reason)) => {
                tracing::warn!(reason = %reason, "bad batch request");
                return error(status, &format!("invalid-input: {reason}"));
            }
        };
        recorder.count("RecordsIn", events.len().saturating_sub(1) as f64);
        recorder.count("BatchRequests", 1.0);
        let mut flags = Vec::with_capacity(events.len());
        let mut body = batch::Body::default();
        for event in events {
            match read_event(event.get().as_bytes()) {
                Ok(envelope) => {
                    let decision = self.decide(&envelope, now, recorder);
                    if decision.has_decision {
                        flags.push(batch::Flag::Decided);
                        body.decisions.push(decision);
                    } else {
                        flags.push(batch::Flag::NoDecision);
                    }
                }
                Err((_, reason)) => {
                    tracing::warn!(reason = %reason, "bad event in a batch");
                    recorder.count("BadEvents", 1.0);
                    flags.push(batch::Flag::Invalid);
                    body.errors.push(format!("invalid-input: {reason}"));
                }
            }
        }
        let header = HeaderValue::from_str(&batch::header(&flags));
        match (serde_json::to_string(&body), header) {
            (Ok(body), Ok(header)) => {
                let mut response = json(StatusCode::OK, body);
                response.headers_mut().insert(HAS_DECISION, header);
                response
            }
            (Err(e), _) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot encode the decisions: {e}"),
            ),
            (_, Err(e)) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot write the flags: {e}"),
            ),
        }
    }
}

/// Whether a request body is a batch: its first character that is not white space is `[`.
fn is_batch(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Reads a batch request body as the JSON text of each event (each read on its own after).
fn read_batch(bytes: &[u8]) -> Result<Vec<&RawValue>, (StatusCode, String)> {
    if bytes.len() > batch::MAX_BYTES {
        let reason = InvalidInput::Oversized {
            bytes: bytes.len(),
            limit: batch::MAX_BYTES,
        };
        return Err((StatusCode::PAYLOAD_TOO_LARGE, reason.to_string()));
    }
    let events: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("not a JSON array of CloudEvents: {e}"),
        )
    })?;
    if events.is_empty() || events.len() > batch::MAX_EVENTS {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "a batch holds 1 to {} events, not {}",
                batch::MAX_EVENTS,
                events.len()
            ),
        ));
    }
    Ok(events)
}

/// Reads the request body as a CloudEvent DES decides on; the error is the status and what
/// is wrong.
fn read_event(bytes: &[u8]) -> Result<Envelope<RewardMessage>, (StatusCode, String)> {
    if bytes.len() > MAX_RECORD_BYTES {
        let reason = InvalidInput::Oversized {
            bytes: bytes.len(),
            limit: MAX_RECORD_BYTES,
        };
        return Err((StatusCode::PAYLOAD_TOO_LARGE, reason.to_string()));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err((StatusCode::BAD_REQUEST, InvalidInput::Empty.to_string()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let reason = InvalidInput::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        };
        (StatusCode::BAD_REQUEST, reason.to_string())
    })?;
    let envelope: Envelope<RewardMessage> = Envelope::decode(text, &INPUT_TYPES)
        .map_err(|e| (StatusCode::BAD_REQUEST, InvalidInput::from(e).to_string()))?;
    envelope
        .data
        .validate()
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(envelope)
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, serde_json::json!({ "error": message }).to_string())
}

#[cfg(test)]
mod tests;
