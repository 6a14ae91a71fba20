//! The SQS structured-mode binding: a CloudEvent 1.0 in structured JSON mode (the SQS body), read
//! and written with `cloudevents-sdk` building and validating the [`Event`], without the SDK's
//! detours through `serde_json::Value`.
//!
//! The SDK's own `impl Deserialize for Event` reads a body into a `serde_json::Value`, copies it
//! into a `Map`, copies the data `Value` again, and the envelope then deserialised its data from
//! that `Value`; its `impl Serialize for Event` writes data it only holds as a `Value`, so the
//! envelope serialised its data into one first. This binding takes the detours out:
//!
//! - reading ([`read_structured`]): the body is parsed once, by a typed serde visitor that
//!   borrows the attributes and string extensions from the body and deserialises `data` straight
//!   into the envelope's payload type. The SDK's [`EventBuilderV10`] builds the [`Event`] from
//!   the attributes and extensions and validates it (`id`, `type` and a non-empty `source`
//!   required, `time` parsed as RFC 3339, `dataschema` parsed as a URL by the SDK's
//!   [`TryIntoUrl`]). Anything unusual — a `specversion` other than `1.0`, `data_base64`, a
//!   non-JSON `datacontenttype`, a null or non-string attribute or extension, a duplicate key,
//!   a body, an attribute or data that does not read — makes [`read_structured`] answer `None`,
//!   and the caller falls back to the SDK's serde path, so odd-but-valid input reads exactly as
//!   before and bad input fails with exactly the error it always had.
//! - writing ([`StructuredJsonWriter`]): the envelope builds its [`Event`] with the SDK's builder,
//!   its data already serialised to JSON bytes; the SDK visits the event through its
//!   protocol-binding API (`impl BinaryDeserializer for Event`, `cloudevents::message`) and the
//!   writer, a [`BinarySerializer`], puts out the structured JSON the SDK's serializer writes —
//!   the same members in the same order, the same escaping (serde_json's), `time` as chrono's
//!   serde writes it — with the data bytes inserted raw as `"data"` (the content type is JSON),
//!   never `data_base64`.
//!
//! Reading builds the event with the SDK's builder rather than through the binding API's own
//! visitor (`BinaryDeserializer::into_event`): that visitor turns every attribute and extension
//! value into text again (`MessageAttributeValue`'s `Display`, a second copy and a formatting
//! round trip each), which measured as a third of what building the event costs
//! (docs/decisions.md, "Envelope: the SQS structured-mode binding").

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::SecondsFormat;
use cloudevents::event::{SpecVersion, TryIntoUrl};
use cloudevents::message::{
    BinarySerializer, Error as MessageError, MessageAttributeValue, Result as MessageResult,
};
use cloudevents::{AttributesWriter, Event, EventBuilder, EventBuilderV10};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// Whether the SDK reads `data` of this content type as JSON (the SDK's own rule, which it keeps
/// private: `application/json…`, `text/json…`, `…+json`).
fn is_json_content_type(content_type: &str) -> bool {
    content_type.starts_with("application/json")
        || content_type.starts_with("text/json")
        || content_type.ends_with("+json")
}

/// Reads a structured-mode body of the common shape in one pass: the SDK's builder builds and
/// validates the event from its attributes and extensions, the data is deserialised as `T`.
///
/// `None` when the body is not of the common shape or anything in it fails (see the module
/// documentation): the caller then reads it with the SDK's serde path, which also gives the
/// error of bad input.
pub(super) fn read_structured<'a, T: Deserialize<'a>>(body: &'a str) -> Option<(Event, T)> {
    let StructuredBody { context, data } = serde_json::from_str(body).ok()?;
    Some((context.into_event()?, data))
}

/// A structured-mode body read in one pass.
struct StructuredBody<'a, T> {
    context: Context<'a>,
    data: T,
}

/// The context attributes and extensions of a structured-mode body, borrowed from it unless
/// they were escaped.
#[derive(Debug, Default)]
struct Context<'a> {
    id: Option<Cow<'a, str>>,
    ty: Option<Cow<'a, str>>,
    source: Option<Cow<'a, str>>,
    datacontenttype: Option<Cow<'a, str>>,
    dataschema: Option<Cow<'a, str>>,
    subject: Option<Cow<'a, str>>,
    time: Option<Cow<'a, str>>,
    extensions: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl Context<'_> {
    /// The event, built and validated by the SDK: its builder requires `id`, `type` and a
    /// non-empty `source` and parses `time` (RFC 3339); the SDK's `TryIntoUrl` parses
    /// `dataschema`. `None` when the SDK refuses it.
    fn into_event(self) -> Option<Event> {
        let mut builder = EventBuilderV10::new();
        if let Some(id) = self.id {
            builder = builder.id(id);
        }
        if let Some(ty) = self.ty {
            builder = builder.ty(ty);
        }
        if let Some(source) = self.source {
            builder = builder.source(source);
        }
        if let Some(subject) = self.subject {
            builder = builder.subject(subject);
        }
        if let Some(time) = &self.time {
            builder = builder.time(time.as_ref());
        }
        for (name, value) in self.extensions {
            builder = builder.extension(&name, String::from(value));
        }
        let mut event = builder.build().ok()?;
        // The builder sets these two with data only; the data stays typed, with the caller.
        if let Some(content_type) = self.datacontenttype {
            event.set_datacontenttype(Some(content_type));
        }
        if let Some(schema) = self.dataschema {
            event.set_dataschema(Some(schema.as_ref().into_url().ok()?));
        }
        Some(event)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StructuredBody<'de, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BodyVisitor(PhantomData))
    }
}

struct BodyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for BodyVisitor<T> {
    type Value = StructuredBody<'de, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudEvent 1.0 in structured JSON mode")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut context = Context::default();
        let mut specversion: Option<Cow<'de, str>> = None;
        let mut data: Option<T> = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let slot = match key.as_ref() {
                "specversion" => &mut specversion,
                "id" => &mut context.id,
                "type" => &mut context.ty,
                "source" => &mut context.source,
                "datacontenttype" => &mut context.datacontenttype,
                "dataschema" => &mut context.dataschema,
                "subject" => &mut context.subject,
                "time" => &mut context.time,
                "data" => {
                    if data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    data = Some(map.next_value()?);
                    continue;
                }
                "data_base64" => {
                    return Err(de::Error::custom(
                        "`data_base64` is left to the SDK's serde path",
                    ))
                }
                _ => {
                    if context.extensions.iter().any(|(name, _)| *name == key) {
                        return Err(de::Error::custom(format_args!("duplicate `{key}`")));
                    }
                    let Text(value) = map.next_value()?;
                    context.extensions.push((key, value));
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom(format_args!("duplicate `{key}`")));
            }
            *slot = Some(map.next_value::<Text<'de>>()?.0);
        }
        if specversion.as_deref() != Some("1.0") {
            return Err(de::Error::custom(
                "a `specversion` other than 1.0 is left to the SDK's serde path",
            ));
        }
        if let Some(content_type) = &context.datacontenttype {
            if !is_json_content_type(content_type) {
                return Err(de::Error::custom(
                    "data that is not JSON is left to the SDK's serde path",
                ));
            }
        }
        let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
        Ok(StructuredBody { context, data })
    }
}

/// A JSON string, borrowed from the body unless it was escaped. Anything else (null included)
/// is an error, so the body goes to the SDK's serde path.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text)))
    }
}

/// Writes a CloudEvent 1.0 in structured JSON mode from the SDK's visit of an event
/// (`impl BinaryDeserializer for Event`): what the SDK's serializer writes, with the data —
/// JSON text already — inserted raw as `"data"`.
///
/// The members come in the order the SDK's serializer writes them: `specversion`, the
/// attributes as visited (`id`, `type`, `source`, `datacontenttype`, `dataschema`, `subject`,
/// `time`), `data`, then the extensions. The data must be JSON text of a JSON content type
/// (the envelope's data is `serde_json::to_vec` of its payload): other data, or a spec version
/// other than 1.0, is an error rather than a body the SDK would write differently.
#[derive(Debug)]
pub(super) struct StructuredJsonWriter {
    out: Vec<u8>,
    extensions: Vec<u8>,
    json_data: bool,
}

impl StructuredJsonWriter {
    /// A writer whose output buffer starts with room for `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        StructuredJsonWriter {
            out: Vec::with_capacity(capacity),
            extensions: Vec::with_capacity(256),
            json_data: false,
        }
    }

    fn finish(mut self) -> MessageResult<String> {
        self.out.extend_from_slice(&self.extensions);
        self.out.push(b'}');
        String::from_utf8(self.out).map_err(|e| MessageError::Other {
            source: Box::new(e),
        })
    }
}

fn other(reason: &'static str) -> MessageError {
    MessageError::Other {
        source: reason.into(),
    }
}

/// Writes `,"name":value`, the value as the SDK's serializer writes it.
fn write_member(out: &mut Vec<u8>, name: &str, value: &MessageAttributeValue) -> MessageResult<()> {
    out.push(b',');
    serde_json::to_writer(&mut *out, name)?;
    out.push(b':');
    match value {
        MessageAttributeValue::Boolean(flag) => serde_json::to_writer(&mut *out, flag)?,
        MessageAttributeValue::Integer(number) => serde_json::to_writer(&mut *out, number)?,
        MessageAttributeValue::String(text) | MessageAttributeValue::UriRef(text) => {
            serde_json::to_writer(&mut *out, text)?
        }
        MessageAttributeValue::Uri(url) => serde_json::to_writer(&mut *out, url.as_str())?,
        // chrono's serde form (RFC 3339, `Z`, as many fraction digits as needed), as the SDK's
        // serializer writes `time`; nothing in it needs escaping.
        MessageAttributeValue::DateTime(at) => {
            out.push(b'"');
            out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_bytes());
            out.push(b'"');
        }
        // Not an attribute type of 1.0 nor an extension value; the SDK keeps it as base64 text.
        MessageAttributeValue::Binary(_) => serde_json::to_writer(&mut *out, &value.to_string())?,
    }
    Ok(())
}

impl BinarySerializer<String> for StructuredJsonWriter {
    fn set_spec_version(mut self, spec_version: SpecVersion) -> MessageResult<Self> {
        if spec_version != SpecVersion::V10 {
            return Err(other(
                "the structured JSON writer writes CloudEvents 1.0 only",
            ));
        }
        self.out.extend_from_slice(br#"{"specversion":"1.0""#);
        Ok(self)
    }

    fn set_attribute(mut self, name: &str, value: MessageAttributeValue) -> MessageResult<Self> {
        if name == "datacontenttype" {
            self.json_data = matches!(
                &value,
                MessageAttributeValue::String(content_type) if is_json_content_type(content_type)
            );
        }
        write_member(&mut self.out, name, &value)?;
        Ok(self)
    }

    fn set_extension(mut self, name: &str, value: MessageAttributeValue) -> MessageResult<Self> {
        write_member(&mut self.extensions, name, &value)?;
        Ok(self)
    }

    fn end_with_data(mut self, bytes: Vec<u8>) -> MessageResult<String> {
        if !self.json_data {
            return Err(other(
                "the structured JSON writer inserts data of a JSON content type only",
            ));
        }
        self.out.extend_from_slice(b",\"data\":");
        self.out.extend_from_slice(&bytes);
        self.finish()
    }

    fn end(self) -> MessageResult<String> {
        self.finish()
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
