//! Reading an envelope from an SQS body: the binding first, the SDK's serde path for unusual
//! input, and the context (everything but the data) checked on the way.

use chrono::{DateTime, Utc};
use cloudevents::event::ExtensionValue;
use cloudevents::{AttributesReader, AttributesWriter, Data, Event};
use serde::de::DeserializeOwned;

use super::*;

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
