//! Reading an envelope from an SQS body: the binding first, the SDK's serde path for unusual
//! input, and the context (everything but the data) checked on the way.

use chrono::{DateTime, Utc};
use cloudevents::event::ExtensionValue;
use cloudevents::{AttributesReader, Data, Event};
use serde::de::DeserializeOwned;

use super::*;

impl<T: DeserializeOwned> Envelope<T> {
    /// Reads an SQS body (a structured-mode CloudEvent) as an envelope of `T`, checking that its
    /// type is one of `expected`.
    ///
    /// The binding parses the body once, checks its context by the rules of the SDK's builder
    /// and deserialises the data straight into `T`; a body of unusual shape, or one the binding
    /// cannot read, goes through the SDK's serde path ([`Envelope::decode_via_event_serde`]),
    /// which gives the same envelope or the same error.
    pub fn decode(body: &str, expected: &[EventType]) -> Result<Self, EnvelopeError> {
        match binding::read_structured::<T>(body) {
            Some(read) => {
                let context = Context::check(&read.attributes(), expected)?;
                Ok(context.with_data(read.data))
            }
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
        let context = Context::check(&Attributes::of_event(&event), expected)?;
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

/// The attributes and string extensions of a CloudEvent that the envelope reads, borrowed from
/// wherever the event was read: the SDK's [`Event`] or the binding's body.
pub(super) struct Attributes<'a> {
    /// `id`.
    pub(super) id: &'a str,
    /// `type`.
    pub(super) ty: &'a str,
    /// `source`.
    pub(super) source: &'a str,
    /// `subject`, if present.
    pub(super) subject: Option<&'a str>,
    /// `time`, if present.
    pub(super) time: Option<DateTime<Utc>>,
    /// The string extensions the envelope reads.
    pub(super) extensions: Extensions<'a>,
}

impl<'a> Attributes<'a> {
    /// The attributes of an event the SDK read or built.
    fn of_event(event: &'a Event) -> Self {
        Attributes {
            id: event.id(),
            ty: event.ty(),
            source: event.source().as_str(),
            subject: event.subject(),
            time: event.time().copied(),
            extensions: Extensions::of(event.iter_extensions().filter_map(|(name, value)| {
                match value {
                    ExtensionValue::String(value) => Some((name, value.as_str())),
                    _ => None,
                }
            })),
        }
    }
}

impl Context {
    /// Reads the attributes and extensions of an event, checking that its type is one of
    /// `expected`, that the required ones are there and that the identifying ones are not too
    /// long.
    fn check(attributes: &Attributes<'_>, expected: &[EventType]) -> Result<Self, EnvelopeError> {
        let id = attributes.id;
        let missing = |attribute: &'static str| EnvelopeError::Missing {
            id: id.to_owned(),
            attribute,
        };
        let event_type = EventType::parse(attributes.ty)
            .filter(|kind| expected.contains(kind))
            .ok_or_else(|| EnvelopeError::Unexpected {
                id: id.to_owned(),
                attribute: "type",
                value: attributes.ty.to_owned(),
            })?;
        let subject = attributes.subject.ok_or_else(|| missing("subject"))?;
        let time = attributes.time.ok_or_else(|| missing("time"))?;
        let extensions = &attributes.extensions;
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
        Ok(Context {
            timestamps: extensions.timestamps(id)?,
            id: id.to_owned(),
            source: attributes.source.to_owned(),
            event_type,
            subject: subject.to_owned(),
            time,
            brand: brand.to_owned(),
            correlation_id: correlation_id.to_owned(),
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
pub(super) struct Extensions<'a> {
    brand: Option<&'a str>,
    correlation_id: Option<&'a str>,
    origin: Option<&'a str>,
    /// Per stage, in [`Stage::ALL`] order.
    stages: [Option<&'a str>; Stage::ALL.len()],
}

impl<'a> Extensions<'a> {
    /// The extensions among `extensions` (name and string value) that the envelope reads.
    pub(super) fn of(extensions: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut found = Extensions {
            brand: None,
            correlation_id: None,
            origin: None,
            stages: [None; Stage::ALL.len()],
        };
        for (name, value) in extensions {
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
            *slot = Some(value);
        }
        found
    }

    /// The stage timestamps; the first unreadable one (origin, then chain order) is an error.
    fn timestamps(&self, id: &str) -> Result<StageTimestamps, EnvelopeError> {
        let parse = |attribute: &'static str, text: &str| {
            timestamp::parse_rfc3339(text).ok_or_else(|| EnvelopeError::Unexpected {
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
