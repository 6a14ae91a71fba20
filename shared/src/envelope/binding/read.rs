//! Reading a structured-mode body in one pass, checked by the rules of the SDK's builder.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::is_json_content_type;
use crate::envelope::decode::{Attributes, Extensions};
use crate::model::timestamp;

/// A structured-mode body of the common shape, read in one pass: its context attributes and
/// string extensions borrowed from the body unless they were escaped, its data deserialised
/// as `T`.
#[derive(Debug)]
pub(in crate::envelope) struct Structured<'a, T> {
    context: Checked<'a>,
    /// The event's data.
    pub(in crate::envelope) data: T,
}

impl<'a, T> Structured<'a, T> {
    /// The attributes and string extensions the envelope reads.
    pub(in crate::envelope) fn attributes(&self) -> Attributes<'_> {
        let context = &self.context;
        Attributes {
            id: &context.id,
            ty: &context.ty,
            source: &context.source,
            subject: context.subject.as_deref(),
            time: context.time,
            extensions: Extensions::of(
                context
                    .extensions
                    .iter()
                    .map(|(name, value)| (name.as_ref(), value.as_ref())),
            ),
        }
    }
}

/// Reads a structured-mode body of the common shape in one pass and checks its context by the
/// rules of the SDK's builder: `id` and `type` present, `source` present and not empty, `time`
/// (when present) RFC 3339.
///
/// `None` when the body is not of the common shape or anything in it fails (see the module
/// documentation): the caller then reads it with the SDK's serde path, which also gives the
/// error of bad input.
pub(in crate::envelope) fn read_structured<'a, T: Deserialize<'a>>(
    body: &'a str,
) -> Option<Structured<'a, T>> {
    let Body { context, data } = serde_json::from_str(body).ok()?;
    Some(Structured {
        context: context.check()?,
        data,
    })
}

/// The context of a body as read, before the checks.
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

/// The context of a body that passed the builder's checks.
#[derive(Debug)]
struct Checked<'a> {
    id: Cow<'a, str>,
    ty: Cow<'a, str>,
    source: Cow<'a, str>,
    subject: Option<Cow<'a, str>>,
    time: Option<DateTime<Utc>>,
    extensions: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Context<'a> {
    /// The context if the SDK's builder would build an event of it: `id` and `type` present,
    /// `source` not empty, `time` RFC 3339 as the SDK parses it
    /// (`DateTime::parse_from_rfc3339`). A `dataschema`, which the SDK parses as a URL, is
    /// left to the SDK's serde path.
    fn check(self) -> Option<Checked<'a>> {
        if self.dataschema.is_some() {
            return None;
        }
        let source = self.source.filter(|source| !source.is_empty())?;
        let time = match self.time {
            Some(text) => Some(timestamp::parse_rfc3339(&text)?),
            None => None,
        };
        Some(Checked {
            id: self.id?,
            ty: self.ty?,
            source,
            subject: self.subject,
            time,
            extensions: self.extensions,
        })
    }
}

/// A structured-mode body read in one pass.
struct Body<'a, T> {
    context: Context<'a>,
    data: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Body<'de, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BodyVisitor(PhantomData))
    }
}

struct BodyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for BodyVisitor<T> {
    type Value = Body<'de, T>;

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
        Ok(Body { context, data })
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
