//! Writing an envelope as a structured-mode body in one pass.

use cloudevents::event::EventBuilderError;
use serde::Serialize;

use crate::envelope::{Envelope, EnvelopeError, EXT_BRAND, EXT_CORRELATION_ID, EXT_TS_ORIGIN};
use crate::model::timestamp::{self, Fraction};

/// The room the serialised data of an envelope starts with: an enriched activity is about 1 KB.
const DATA_CAPACITY: usize = 1024;

/// Writes `envelope` as a CloudEvent 1.0 in structured JSON mode: the members the SDK's
/// serializer writes for the event [`Envelope::to_cloudevent`] builds, with the same values and
/// escaping (serde_json's), in a fixed order — `specversion`, `id`, `type`, `source`,
/// `datacontenttype`, `subject`, `time`, `data`, then the extensions `brand`,
/// `correlationid`, `tsorigin` and the stage timestamps in chain order. The data is
/// serialised straight into the body.
///
/// The one check of the SDK's builder an envelope can fail, an empty `source`, is made here
/// too, with the builder's error.
pub(in crate::envelope) fn write_structured<T: Serialize>(
    envelope: &Envelope<T>,
) -> Result<String, EnvelopeError> {
    if envelope.source.is_empty() {
        return Err(envelope.build_error(EventBuilderError::InvalidUriRefError {
            attribute_name: "source",
        }));
    }
    let mut out = Vec::with_capacity(DATA_CAPACITY + attributes_len(envelope));
    out.extend_from_slice(br#"{"specversion":"1.0","id":"#);
    text(&mut out, &envelope.id);
    out.extend_from_slice(br#","type":""#);
    // Event types are lowercase ASCII with dots: nothing to escape.
    out.extend_from_slice(envelope.event_type.as_str().as_bytes());
    out.extend_from_slice(br#"","source":"#);
    text(&mut out, &envelope.source);
    out.extend_from_slice(br#","datacontenttype":"application/json","subject":"#);
    text(&mut out, &envelope.subject);
    out.extend_from_slice(br#","time":""#);
    timestamp::append(&mut out, envelope.time, Fraction::AutoSi);
    out.extend_from_slice(br#"","data":"#);
    serde_json::to_writer(&mut out, &envelope.data).map_err(|e| envelope.build_error(e))?;
    extension(&mut out, EXT_BRAND);
    text(&mut out, &envelope.brand);
    extension(&mut out, EXT_CORRELATION_ID);
    text(&mut out, &envelope.correlation_id);
    if let Some(origin) = envelope.timestamps.origin {
        timestamp(&mut out, EXT_TS_ORIGIN, origin);
    }
    for (stage, at) in envelope.timestamps.stages() {
        timestamp(&mut out, stage.timestamp_extension(), at);
    }
    out.push(b'}');
    // Every byte is serde_json's output, ASCII punctuation or the envelope's own text.
    String::from_utf8(out).map_err(|e| envelope.build_error(e))
}

/// Appends `text` as a JSON string, escaped as serde_json escapes it.
fn text(out: &mut Vec<u8>, text: &str) {
    let mut serializer = serde_json::Serializer::new(out);
    // Writing a string into a `Vec` cannot fail.
    let _ = text.serialize(&mut serializer);
}

/// Appends `,"name":` for an extension (names are lowercase ASCII: nothing to escape).
fn extension(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends a stage timestamp extension, to the millisecond.
fn timestamp(out: &mut Vec<u8>, name: &str, at: chrono::DateTime<chrono::Utc>) {
    extension(out, name);
    out.push(b'"');
    timestamp::append(out, at, Fraction::Millis);
    out.push(b'"');
}

/// About how long the members other than `data` are in the body (a capacity hint).
fn attributes_len<T>(envelope: &Envelope<T>) -> usize {
    const PER_TIMESTAMP: usize = r#","tsorigin":"2026-11-16T09:30:00.000Z""#.len();
    const FIXED: usize = concat!(
        r#"{"specversion":"1.0","id":"","type":"rewards.activity.enriched","source":"","#,
        r#""datacontenttype":"application/json","subject":"","#,
        r#""time":"2026-11-16T09:30:00.000000000Z","data":,"brand":"","correlationid":""}"#,
    )
    .len();
    FIXED
        + envelope.id.len()
        + envelope.source.len()
        + envelope.subject.len()
        + envelope.brand.len()
        + envelope.correlation_id.len()
        + PER_TIMESTAMP * (1 + envelope.timestamps.stages.len())
}
