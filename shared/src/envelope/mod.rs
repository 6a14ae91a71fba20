//! The CloudEvent envelope between stages (spec section 2).
//!
//! Every message between stages is a CloudEvent 1.0 in structured JSON mode, built and read
//! with `cloudevents-sdk`. [`Envelope`] is its typed view: the required attributes, the `brand`
//! and `correlationid` extensions, the stage timestamps (`tsorigin`, `tsdec`, …) and the typed
//! data. [`Envelope::next`] builds the event a stage emits from the one it received, carrying
//! the brand, correlation id, subject and timestamps and adding the stage's own.
//!
//! [`Envelope::decode`] and [`Envelope::encode`] go through the SQS structured-mode binding
//! (the `binding` module): the body is parsed once and written once, straight from and into
//! the typed view, by the rules of the SDK's builder. The SDK's serde path
//! ([`Envelope::decode_via_event_serde`], [`Envelope::encode_via_event_serde`]) and its builder
//! ([`Envelope::to_cloudevent`]) are the fallback for unusual input and the reference the
//! binding is tested against.

mod binding;
mod decode;
mod error;
mod event_type;
mod one_of;
mod timestamps;

pub use error::EnvelopeError;
pub use event_type::EventType;
pub use one_of::{OneOf, Traced};
pub use timestamps::{Latency, StageTimestamps};

use chrono::{DateTime, Utc};
use cloudevents::{Data, Event, EventBuilder, EventBuilderV10};
use serde::Serialize;

use crate::model::timestamp;

use crate::limits::MAX_ID_CHARS;
use crate::model::InvalidInput;
use crate::stage::Stage;

/// Extension carrying the brand.
pub const EXT_BRAND: &str = "brand";
/// Extension carrying the chain's correlation id.
pub const EXT_CORRELATION_ID: &str = "correlationid";
/// Extension carrying the origin time (the activity's `occurredAt`).
pub const EXT_TS_ORIGIN: &str = "tsorigin";

/// A typed CloudEvent between stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<T> {
    /// The event's id (deterministic: see [`crate::ids`]).
    pub id: String,
    /// The stage that emitted it.
    pub source: String,
    /// Its type.
    pub event_type: EventType,
    /// The customer's account id.
    pub subject: String,
    /// When it was emitted.
    pub time: DateTime<Utc>,
    /// The brand.
    pub brand: String,
    /// The chain's correlation id.
    pub correlation_id: String,
    /// When the event was seen at its origin and by each stage.
    pub timestamps: StageTimestamps,
    /// The payload.
    pub data: T,
}

/// Formats a timestamp as the envelope carries it: RFC 3339 with milliseconds, in UTC.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    timestamp::format_millis(at)
}

impl<T> Envelope<T> {
    /// The event the next stage emits: the same subject, brand, correlation id and timestamps,
    /// with `stage`'s own timestamp added.
    pub fn next<U>(
        &self,
        stage: Stage,
        event_type: EventType,
        id: String,
        now: DateTime<Utc>,
        data: U,
    ) -> Envelope<U> {
        let mut timestamps = self.timestamps.clone();
        timestamps.stamp(stage, now);
        Envelope {
            id,
            source: stage.source().to_owned(),
            event_type,
            subject: self.subject.clone(),
            time: now,
            brand: self.brand.clone(),
            correlation_id: self.correlation_id.clone(),
            timestamps,
            data,
        }
    }

    /// The latencies at `stage`, handling the event at `now`: since the origin and since the
    /// latest earlier stage.
    pub fn latency_at(&self, now: DateTime<Utc>) -> Latency {
        let millis = |from: DateTime<Utc>| (now - from).num_milliseconds();
        Latency {
            from_origin_ms: self.timestamps.origin.map(millis),
            from_previous_ms: self.timestamps.latest().map(millis),
        }
    }
}

impl<T: Serialize> Envelope<T> {
    /// The CloudEvent of this envelope (its data a JSON value).
    pub fn to_cloudevent(&self) -> Result<Event, EnvelopeError> {
        let data = serde_json::to_value(&self.data).map_err(|e| self.build_error(e))?;
        self.build_event(data)
    }

    /// The SQS body of this envelope: the CloudEvent in structured JSON mode, written in one
    /// pass with the data serialised into it (the binding's writer): the members the SDK's
    /// serializer writes for [`Envelope::to_cloudevent`]'s event.
    pub fn encode(&self) -> Result<String, EnvelopeError> {
        binding::write_structured(self)
    }

    /// The SQS body of this envelope written by the SDK's serializer (`impl Serialize for
    /// Event`) from [`Envelope::to_cloudevent`]: the reference [`Envelope::encode`] is tested
    /// against (tests, benches).
    pub fn encode_via_event_serde(&self) -> Result<String, EnvelopeError> {
        let event = self.to_cloudevent()?;
        serde_json::to_string(&event).map_err(|e| self.build_error(e))
    }

    pub(crate) fn build_error(&self, reason: impl ToString) -> EnvelopeError {
        EnvelopeError::Build {
            id: self.id.clone(),
            reason: reason.to_string(),
        }
    }

    /// The event of this envelope, built and checked by the SDK's builder, with `data` of
    /// content type `application/json`.
    fn build_event(&self, data: impl Into<Data>) -> Result<Event, EnvelopeError> {
        let mut builder = EventBuilderV10::new()
            .id(self.id.as_str())
            .source(self.source.as_str())
            .ty(self.event_type.as_str())
            .subject(self.subject.as_str())
            .time(self.time)
            .extension(EXT_BRAND, self.brand.as_str())
            .extension(EXT_CORRELATION_ID, self.correlation_id.as_str())
            .data("application/json", data);
        if let Some(origin) = self.timestamps.origin {
            builder = builder.extension(EXT_TS_ORIGIN, format_timestamp(origin));
        }
        for (stage, at) in self.timestamps.stages() {
            builder = builder.extension(stage.timestamp_extension(), format_timestamp(at));
        }
        builder.build().map_err(|e| self.build_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Payload {
        value: u32,
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("test timestamp")
    }

    fn first() -> Envelope<Payload> {
        let mut timestamps = StageTimestamps::from_origin(at("2026-11-16T09:30:00.000Z"));
        timestamps.stamp(Stage::Dec, at("2026-11-16T09:30:00.250Z"));
        Envelope {
            id: "id-1".into(),
            source: Stage::Dec.source().into(),
            event_type: EventType::ActivityEnriched,
            subject: "10048213".into(),
            time: at("2026-11-16T09:30:00.250Z"),
            brand: "skybet".into(),
            correlation_id: "corr-1".into(),
            timestamps,
            data: Payload { value: 7 },
        }
    }

    #[test]
    fn round_trip_keeps_every_attribute_and_timestamp() {
        let envelope = first();
        let body = envelope.encode().expect("encodes");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "rewards.activity.enriched");
        assert_eq!(json["datacontenttype"], "application/json");
        assert_eq!(json["correlationid"], "corr-1");
        assert_eq!(json["tsorigin"], "2026-11-16T09:30:00.000Z");
        assert_eq!(json["tsdec"], "2026-11-16T09:30:00.250Z");
        assert_eq!(json["data"]["value"], 7);

        let decoded =
            Envelope::<Payload>::decode(&body, &[EventType::ActivityEnriched]).expect("decodes");
        assert_eq!(decoded, envelope);
    }

    #[test]
    fn next_carries_timestamps_and_adds_its_own() {
        let envelope = first();
        let now = at("2026-11-16T09:30:01.000Z");
        let next = envelope.next(
            Stage::Tim,
            EventType::Relevant,
            "id-2".into(),
            now,
            Payload { value: 8 },
        );
        assert_eq!(next.correlation_id, "corr-1");
        assert_eq!(next.brand, "skybet");
        assert_eq!(next.timestamps.origin, envelope.timestamps.origin);
        assert_eq!(
            next.timestamps.at(Stage::Dec),
            envelope.timestamps.at(Stage::Dec)
        );
        assert_eq!(next.timestamps.at(Stage::Tim), Some(now));
        let body = next.encode().expect("encodes");
        assert!(
            body.contains("\"tstim\":\"2026-11-16T09:30:01.000Z\""),
            "{body}"
        );
    }

    #[test]
    fn latency_is_measured_from_origin_and_previous_stage() {
        let latency = first().latency_at(at("2026-11-16T09:30:01.000Z"));
        assert_eq!(latency.from_origin_ms, Some(1000));
        assert_eq!(latency.from_previous_ms, Some(750));
    }

    #[test]
    fn unexpected_type_is_rejected() {
        let body = first().encode().expect("encodes");
        let error =
            Envelope::<Payload>::decode(&body, &[EventType::Decided]).expect_err("wrong type");
        assert!(matches!(
            error,
            EnvelopeError::Unexpected {
                attribute: "type",
                ..
            }
        ));
    }

    #[test]
    fn missing_correlation_id_is_named() {
        let body = first()
            .encode()
            .expect("encodes")
            .replace("correlationid", "other");
        let error = Envelope::<Payload>::decode(&body, &[EventType::ActivityEnriched])
            .expect_err("missing");
        assert_eq!(error.to_string(), "CloudEvent `id-1` lacks `correlationid`");
    }

    #[test]
    fn over_long_identifying_attributes_are_named() {
        let mut envelope = first();
        envelope.correlation_id = "c".repeat(MAX_ID_CHARS + 1);
        let body = envelope.encode().expect("encodes");
        let error = Envelope::<Payload>::decode(&body, &[EventType::ActivityEnriched])
            .expect_err("too long");
        assert_eq!(
            error.to_string(),
            "CloudEvent `id-1` has `correlationid` of 129 characters, over the limit of 128"
        );
        let mut envelope = first();
        envelope.id = "i".repeat(10_000);
        let body = envelope.encode().expect("encodes");
        let error = Envelope::<Payload>::decode(&body, &[EventType::ActivityEnriched])
            .expect_err("too long");
        assert!(error.to_string().len() < 200, "{error}");
    }

    #[test]
    fn not_json_is_not_a_cloudevent() {
        let error =
            Envelope::<Payload>::decode("{nope", &[EventType::ActivityEnriched]).expect_err("bad");
        assert!(matches!(error, EnvelopeError::NotACloudEvent(_)));
    }

    #[test]
    fn wrong_data_names_the_event() {
        let body = first()
            .encode()
            .expect("encodes")
            .replace("\"value\":7", "\"value\":\"x\"");
        let error = Envelope::<Payload>::decode(&body, &[EventType::ActivityEnriched])
            .expect_err("bad data");
        assert!(
            error.to_string().starts_with("CloudEvent `id-1` data:"),
            "{error}"
        );
    }
}
