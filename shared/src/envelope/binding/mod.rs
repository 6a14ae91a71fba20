//! The SQS structured-mode binding: a CloudEvent 1.0 in structured JSON mode (the SQS body),
//! read and written in one pass, by the rules of `cloudevents-sdk`, without building the SDK's
//! [`Event`](cloudevents::Event).
//!
//! The SDK's own `impl Deserialize for Event` reads a body into a `serde_json::Value`, copies it
//! into a `Map`, copies the data `Value` again, and the envelope then deserialised its data from
//! that `Value`; its `impl Serialize for Event` writes data it only holds as a `Value`. Building
//! the `Event` in between, even without those detours, costs a `String` per attribute and a
//! hash map of the extensions on every read and every write. The binding takes all of it out:
//!
//! - reading ([`read_structured`]): the body is parsed once, by a typed serde visitor that
//!   borrows the attributes and string extensions from the body and deserialises `data` straight
//!   into the envelope's payload type; the context is then checked by the rules of the SDK's
//!   `EventBuilderV10` (`id` and `type` required, a non-empty `source`, `time` parsed as
//!   RFC 3339 as the SDK parses it). Anything unusual — a `specversion` other than `1.0`,
//!   `data_base64`, a non-JSON `datacontenttype`, a `dataschema` (a URL to the SDK), a null or
//!   non-string attribute or extension, a duplicate key, a body, an attribute or data that does
//!   not read — makes [`read_structured`] answer `None`, and the caller falls back to the SDK's
//!   serde path, so odd-but-valid input reads exactly as the SDK reads it and bad input fails
//!   with exactly the error it always had.
//! - writing ([`write_structured`]): the body is written straight from the envelope's typed
//!   view, its data serialised into it: the members and values the SDK's serializer writes for
//!   the event the envelope builds ([`Envelope::to_cloudevent`](crate::envelope::Envelope)), the
//!   same escaping (serde_json's), `time` as chrono's serde writes it, the extensions in a fixed
//!   order rather than the SDK's hash-map order.
//!
//! The SDK stays the reader of unusual input and the reference both directions are tested
//! against, case by case and over generated envelopes and damaged bodies (`properties`).

mod read;
mod write;

pub(super) use read::read_structured;
pub(super) use write::write_structured;

/// Whether the SDK reads `data` of this content type as JSON (the SDK's own rule, which it keeps
/// private: `application/json…`, `text/json…`, `…+json`).
fn is_json_content_type(content_type: &str) -> bool {
    content_type.starts_with("application/json")
        || content_type.starts_with("text/json")
        || content_type.ends_with("+json")
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
