//! The CloudEvent envelope between stages (spec section 2).
//!
//! Every message between stages is a CloudEvent 1.0 in structured JSON mode, built and read
//! with `cloudevents-sdk`. [`Envelope`] is its typed view: the required attributes, the `brand`
//! and `correlationid` extensions, the stage timestamps (`tsorigin`, `tsdec`, …) and the typed
//! data. [`Envelope::next`] builds the event a stage emits from the one it received, carrying
//! the brand, correlation id, subject and timestamps and adding the stage's own.
//!
//! [`Envelope::decode`] and [`Envelope::encode`] go through the SQS structured-mode binding
//! (the `binding` module): the body is parsed once and written once, the SDK still building
//! and validating the [`Event`] (its builder), and visiting it for the writer (its
//! protocol-binding API, `cloudevents::message`). The SDK's serde path
//! ([`Envelope::decode_via_event_serde`], [`Envelope::encode_via_event_serde`]) is the fallback
//! for unusual input and the reference the binding is tested against.

mod binding;

use chrono::{DateTime, SecondsFormat, Utc};
use cloudevents::event::ExtensionValue;
use cloudevents::message::BinaryDeserializer;
use cloudevents::{AttributesReader, AttributesWriter, Data, Event, EventBuilder, EventBuilderV10};
use serde::de::DeserializeOwned;
use serde::Serialize;

use self::binding::StructuredJsonWriter;

use crate::limits::MAX_ID_CHARS;
use crate::model::InvalidInput;
use crate::stage::Stage;

/// Extension carrying the brand.
pub const EXT_BRAND: &str = "brand";
/// Extension carrying the chain's correlation id.
pub const EXT_CORRELATION_ID: &str = "correlationid";
/// Extension carrying the origin time (the activity's `occurredAt`).
pub const EXT_TS_ORIGIN: &str = "tsorigin";

/// The CloudEvent types between stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// DEC → TIM: `rewards.activity.enriched`.
    ActivityEnriched,
    /// DEC/TIM → FRED: `rewards.unqualification`.
    Unqualification,
    /// TIM → FRED: `rewards.relevant`.
    Relevant,
    /// FRED → BCG: `rewards.decided`.
    Decided,
    /// BCG → MSQ: `rewards.message.queue`.
    MessageQueue,
    /// TIM → MSQ: `rewards.message.delete`.
    MessageDelete,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 6] = [
        EventType::ActivityEnriched,
        EventType::Unqualification,
        EventType::Relevant,
        EventType::Decided,
        EventType::MessageQueue,
        EventType::MessageDelete,
    ];

    /// The CloudEvent `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ActivityEnriched => "rewards.activity.enriched",
            EventType::Unqualification => "rewards.unqualification",
            EventType::Relevant => "rewards.relevant",
            EventType::Decided => "rewards.decided",
            EventType::MessageQueue => "rewards.message.queue",
            EventType::MessageDelete => "rewards.message.delete",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        EventType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// The times an event was seen: at its origin and by each stage that handled it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageTimestamps {
    /// The activity's `occurredAt`.
    pub origin: Option<DateTime<Utc>>,
    stages: Vec<(Stage, DateTime<Utc>)>,
}

impl StageTimestamps {
    /// Timestamps starting at the given origin.
    pub fn from_origin(origin: DateTime<Utc>) -> Self {
        StageTimestamps {
            origin: Some(origin),
            stages: Vec::new(),
        }
    }

    /// When `stage` handled the event, if it did.
    pub fn at(&self, stage: Stage) -> Option<DateTime<Utc>> {
        self.stages
            .iter()
            .find(|(seen, _)| *seen == stage)
            .map(|(_, at)| *at)
    }

    /// Records that `stage` handled the event at `at` (replacing an earlier record of it).
    pub fn stamp(&mut self, stage: Stage, at: DateTime<Utc>) {
        self.stages.retain(|(seen, _)| *seen != stage);
        self.stages.push((stage, at));
        self.stages.sort_by_key(|(seen, _)| *seen);
    }

    /// The latest time any stage (or the origin) handled the event.
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        self.stages.iter().map(|(_, at)| *at).max().or(self.origin)
    }

    /// Every stage timestamp, in chain order.
    pub fn stages(&self) -> impl Iterator<Item = (Stage, DateTime<Utc>)> + '_ {
        self.stages.iter().copied()
    }
}

/// Latencies of one event at one stage, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Since the activity happened.
    pub from_origin_ms: Option<i64>,
    /// Since the previous stage handled the event.
    pub from_previous_ms: Option<i64>,
}

/// Why a CloudEvent could not be read as the envelope a stage expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not a structured-mode CloudEvent.
    #[error("not a CloudEvent: {0}")]
    NotACloudEvent(String),
    /// A required attribute or extension is missing.
    #[error("CloudEvent `{id}` lacks `{attribute}`")]
    Missing {
        /// The event's id.
        id: String,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute has a value the pipeline does not know.
    #[error("CloudEvent `{id}` has `{attribute}` = `{value}`")]
    Unexpected {
        /// The event's id.
        id: String,
        /// The attribute.
        attribute: &'static str,
        /// Its value.
        value: String,
    },
    /// The data is not of the expected shape.
    #[error("CloudEvent `{id}` data: {reason}")]
    Data {
        /// The event's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// An identifying attribute is longer than [`MAX_ID_CHARS`].
    #[error(
        "CloudEvent `{id}` has `{attribute}` of {chars} characters, over the limit of {limit}"
    )]
    TooLong {
        /// The event's id (cut to 64 characters when it is the long one).
        id: String,
        /// The attribute.
        attribute: &'static str,
        /// Its length.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// The event could not be built (an invalid attribute value).
    #[error("cannot build CloudEvent `{id}`: {reason}")]
    Build {
        /// The event's id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<EnvelopeError> for InvalidInput {
    fn from(error: EnvelopeError) -> Self {
        InvalidInput::Envelope(error.to_string())
    }
}

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

/// An envelope of one of two payloads, told apart by the event type: for a queue that carries
/// two kinds of event (the award's path carries its delete instruction too).
#[derive(Debug, Clone, PartialEq)]
pub enum OneOf<A, B> {
    /// An event of the first kind.
    First(Envelope<A>),
    /// An event of the second kind.
    Second(Envelope<B>),
}

impl<A: DeserializeOwned, B: DeserializeOwned> OneOf<A, B> {
    /// Reads an SQS body as an envelope of `A` (one of the `first` types) or of `B` (one of the
    /// `second` types). The first kind is the common one and costs one read; the second is
    /// read when the first does not fit. An error names what is wrong with the body as the
    /// kind its type says it is.
    pub fn decode(
        body: &str,
        first: &[EventType],
        second: &[EventType],
    ) -> Result<Self, EnvelopeError> {
        let first_error = match Envelope::<A>::decode(body, first) {
            Ok(envelope) => return Ok(OneOf::First(envelope)),
            Err(error) => error,
        };
        match Envelope::<B>::decode(body, second) {
            Ok(envelope) => Ok(OneOf::Second(envelope)),
            Err(EnvelopeError::Unexpected {
                attribute: "type", ..
            }) => Err(first_error),
            Err(second_error) => Err(second_error),
        }
    }
}

/// What every incoming envelope tells about itself, for its record's span and latencies.
pub trait Traced {
    /// The event's id.
    fn id(&self) -> &str;
    /// The chain's correlation id.
    fn correlation_id(&self) -> &str;
    /// The latencies at a stage handling it at `now`.
    fn latency_at(&self, now: DateTime<Utc>) -> Latency;
}

impl<T> Traced for Envelope<T> {
    fn id(&self) -> &str {
        &self.id
    }

    fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    fn latency_at(&self, now: DateTime<Utc>) -> Latency {
        Envelope::latency_at(self, now)
    }
}

impl<A, B> Traced for OneOf<A, B> {
    fn id(&self) -> &str {
        match self {
            OneOf::First(envelope) => &envelope.id,
            OneOf::Second(envelope) => &envelope.id,
        }
    }

    fn correlation_id(&self) -> &str {
        match self {
            OneOf::First(envelope) => &envelope.correlation_id,
            OneOf::Second(envelope) => &envelope.correlation_id,
        }
    }

    fn latency_at(&self, now: DateTime<Utc>) -> Latency {
        match self {
            OneOf::First(envelope) => envelope.latency_at(now),
            OneOf::Second(envelope) => envelope.latency_at(now),
        }
    }
}

/// The room the serialised data of an envelope starts with: an enriched activity is about 1 KB.
const DATA_CAPACITY: usize = 1024;

/// Formats a timestamp as the envelope carries it: RFC 3339 with milliseconds, in UTC.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
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

    /// The SQS body of this envelope: the CloudEvent in structured JSON mode.
    ///
    /// The SDK's builder builds the event with the data already serialised to JSON bytes, and
    /// the binding writes the body from the SDK's visit of that event: the body the SDK's
    /// serializer writes, without the detour of the data through a `serde_json::Value`.
    pub fn encode(&self) -> Result<String, EnvelopeError> {
        let mut data = Vec::with_capacity(DATA_CAPACITY);
        serde_json::to_writer(&mut data, &self.data).map_err(|e| self.build_error(e))?;
        let writer = StructuredJsonWriter::with_capacity(data.len() + self.attributes_len());
        self.build_event(data)?
            .deserialize_binary(writer)
            .map_err(|e| self.build_error(e))
    }

    /// The SQS body of this envelope written by the SDK's serializer (`impl Serialize for
    /// Event`) from [`Envelope::to_cloudevent`]: what [`Envelope::encode`] did before the
    /// binding, kept as its reference (tests, benches).
    pub fn encode_via_event_serde(&self) -> Result<String, EnvelopeError> {
        let event = self.to_cloudevent()?;
        serde_json::to_string(&event).map_err(|e| self.build_error(e))
    }

    /// About how long the members other than `data` are in the body (a capacity hint).
    fn attributes_len(&self) -> usize {
        const PER_TIMESTAMP: usize = r#","tsorigin":"2026-11-16T09:30:00.000Z""#.len();
        const FIXED: usize = concat!(
            r#"{"specversion":"1.0","id":"","type":"rewards.activity.enriched","source":"","#,
            r#""datacontenttype":"application/json","subject":"","#,
            r#""time":"2026-11-16T09:30:00.000000000Z","data":,"brand":"","correlationid":""}"#,
        )
        .len();
        FIXED
            + self.id.len()
            + self.source.len()
            + self.subject.len()
            + self.brand.len()
            + self.correlation_id.len()
            + PER_TIMESTAMP * (1 + self.timestamps.stages.len())
    }

    fn build_error(&self, reason: impl ToString) -> EnvelopeError {
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

impl<T: DeserializeOwned> Envelope<T> {
    /// Reads an SQS body (a structured-mode CloudEvent) as an envelope of `T`, checking that its
    /// type is one of `expected`.
    ///
    /// The binding parses the body once, the SDK's builder builds and validates the event from
    /// its attributes and extensions, and the data is deserialised straight into `T`; a body of
    /// unusual shape, or one the binding cannot read, goes through the SDK's serde path
    /// ([`Envelope::decode_via_event_serde`]), which gives the same envelope or the same error
    /// as before the binding.
    pub fn decode(body: &str, expected: &[EventType]) -> Result<Self, EnvelopeError> {
        match binding::read_structured::<T>(body) {
            Some((mut event, data)) => Ok(Context::take(&mut event, expected)?.with_data(data)),
            None => Self::decode_via_event_serde(body, expected),
        }
    }

    /// Reads an SQS body with the SDK's deserializer (`impl Deserialize for Event`), then
    /// [`Envelope::from_cloudevent`]: the fallback of [`Envelope::decode`] and its reference.
    pub fn decode_via_event_serde(
        body: &str,
        expected: &[EventType],
    ) -> Result<Self, EnvelopeError> {
        let event: Event =
            serde_json::from_str(body).map_err(|e| EnvelopeError::NotACloudEvent(e.to_string()))?;
        Self::from_cloudevent(event, expected)
    }

    /// Reads a CloudEvent as an envelope of `T`, checking that its type is one of `expected`.
    pub fn from_cloudevent(
        mut event: Event,
        expected: &[EventType],
    ) -> Result<Self, EnvelopeError> {
        let context = Context::take(&mut event, expected)?;
        let data_error = |reason: String| EnvelopeError::Data {
            id: context.id.clone(),
            reason,
        };
        let data = match event.take_data().2 {
            Some(Data::Json(value)) => serde_json::from_value(value),
            Some(Data::String(text)) => serde_json::from_str(&text),
            Some(Data::Binary(bytes)) => serde_json::from_slice(&bytes),
            None => {
                return Err(EnvelopeError::Missing {
                    id: context.id,
                    attribute: "data",
                })
            }
        }
        .map_err(|e| data_error(e.to_string()))?;
        Ok(context.with_data(data))
    }
}

/// Everything of an envelope but its data, read and checked from a CloudEvent.
struct Context {
    id: String,
    source: String,
    event_type: EventType,
    subject: String,
    time: DateTime<Utc>,
    brand: String,
    correlation_id: String,
    timestamps: StageTimestamps,
}

impl Context {
    /// Reads the attributes and extensions of `event`, checking that its type is one of
    /// `expected`, that the required ones are there and that the identifying ones are not too
    /// long. Once every check passed, the `id`, `source` and `subject` are moved out of the
    /// event (left empty), not copied.
    fn take(event: &mut Event, expected: &[EventType]) -> Result<Self, EnvelopeError> {
        let id = event.id();
        let missing = |attribute: &'static str| EnvelopeError::Missing {
            id: id.to_owned(),
            attribute,
        };
        let event_type = EventType::parse(event.ty())
            .filter(|kind| expected.contains(kind))
            .ok_or_else(|| EnvelopeError::Unexpected {
                id: id.to_owned(),
                attribute: "type",
                value: event.ty().to_owned(),
            })?;
        let subject = event.subject().ok_or_else(|| missing("subject"))?;
        let time = *event.time().ok_or_else(|| missing("time"))?;
        let extensions = Extensions::of(event);
        let brand = extensions.brand.ok_or_else(|| missing(EXT_BRAND))?;
        let correlation_id = extensions
            .correlation_id
            .ok_or_else(|| missing(EXT_CORRELATION_ID))?;
        for (attribute, value) in [
            ("id", id),
            ("subject", subject),
            (EXT_BRAND, brand),
            (EXT_CORRELATION_ID, correlation_id),
        ] {
            let chars = value.chars().count();
            if chars > MAX_ID_CHARS {
                return Err(EnvelopeError::TooLong {
                    id: id.chars().take(64).collect(),
                    attribute,
                    chars,
                    limit: MAX_ID_CHARS,
                });
            }
        }
        let timestamps = extensions.timestamps(id)?;
        let brand = brand.to_owned();
        let correlation_id = correlation_id.to_owned();
        Ok(Context {
            id: event.set_id(String::new()),
            source: event.set_source(String::new()),
            event_type,
            subject: event.set_subject(None::<String>).unwrap_or_default(),
            time,
            brand,
            correlation_id,
            timestamps,
        })
    }

    fn with_data<T>(self, data: T) -> Envelope<T> {
        Envelope {
            id: self.id,
            source: self.source,
            event_type: self.event_type,
            subject: self.subject,
            time: self.time,
            brand: self.brand,
            correlation_id: self.correlation_id,
            timestamps: self.timestamps,
            data,
        }
    }
}

/// The string extensions the envelope reads, found in one pass over the event's extensions
/// (an extension of another type counts as absent).
struct Extensions<'a> {
    brand: Option<&'a str>,
    correlation_id: Option<&'a str>,
    origin: Option<&'a str>,
    /// Per stage, in [`Stage::ALL`] order.
    stages: [Option<&'a str>; Stage::ALL.len()],
}

impl<'a> Extensions<'a> {
    fn of(event: &'a Event) -> Self {
        let mut found = Extensions {
            brand: None,
            correlation_id: None,
            origin: None,
            stages: [None; Stage::ALL.len()],
        };
        for (name, value) in event.iter_extensions() {
            let ExtensionValue::String(value) = value else {
                continue;
            };
            let slot = match name {
                EXT_BRAND => &mut found.brand,
                EXT_CORRELATION_ID => &mut found.correlation_id,
                EXT_TS_ORIGIN => &mut found.origin,
                _ => match Stage::ALL
                    .iter()
                    .position(|stage| stage.timestamp_extension() == name)
                {
                    Some(index) => &mut found.stages[index],
                    None => continue,
                },
            };
            *slot = Some(value.as_str());
        }
        found
    }

    /// The stage timestamps; the first unreadable one (origin, then chain order) is an error.
    fn timestamps(&self, id: &str) -> Result<StageTimestamps, EnvelopeError> {
        let parse = |attribute: &'static str, text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| EnvelopeError::Unexpected {
                    id: id.to_owned(),
                    attribute,
                    value: text.to_owned(),
                })
        };
        let origin = self
            .origin
            .map(|text| parse(EXT_TS_ORIGIN, text))
            .transpose()?;
        let mut stages = Vec::with_capacity(self.stages.iter().flatten().count());
        // `Stage::ALL` is in chain order, the order `StageTimestamps` keeps.
        for (stage, text) in Stage::ALL.into_iter().zip(self.stages) {
            if let Some(text) = text {
                stages.push((stage, parse(stage.timestamp_extension(), text)?));
            }
        }
        Ok(StageTimestamps { origin, stages })
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
