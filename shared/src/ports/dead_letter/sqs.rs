//! The dead-letter sink on SQS: each letter is a message of the stage's dead-letter queue.
//!
//! The body is the original record as received, so it can be inspected and replayed; the
//! message attributes say where it stopped: `stage`, `reason`, `source`, plus
//! `payload-bytes` (the record's size). Letters go out with `SendMessageBatch` (at most 10
//! entries and 256 KiB per batch, SQS-side entry failures retried a bounded number of times).
//!
//! A bad record may be just what SQS refuses, so the sink makes it fit rather than fail
//! forever (a failed send is retried, and the same record would fail again):
//!
//! - characters SQS refuses (NUL and other control characters, `U+FFFE`…) are replaced with
//!   `U+FFFD`;
//! - a record over the size limit is cut at a character boundary to fit;
//! - an empty record becomes the body `(empty record)`;
//!
//! and the attribute `payload-note` says which of these happened (`payload-bytes` keeps the
//! original size).

use super::{DeadLetter, DeadLetterError, DeadLetterSink};
use crate::aws::sqs_batch::{self, is_fifo_queue, Entry, Fifo, MAX_MESSAGE_BYTES};
use crate::ids::derived_id;

/// Message attribute naming the stage that gave up.
pub const ATTR_STAGE: &str = "stage";
/// Message attribute carrying the reason.
pub const ATTR_REASON: &str = "reason";
/// Message attribute naming where the record came from.
pub const ATTR_SOURCE: &str = "source";
/// Message attribute carrying the original record's size in bytes.
pub const ATTR_PAYLOAD_BYTES: &str = "payload-bytes";
/// Message attribute saying how the body differs from the record, when it does.
pub const ATTR_PAYLOAD_NOTE: &str = "payload-note";

/// The longest attribute value kept (reasons may quote input); longer ones are cut.
const MAX_ATTRIBUTE_CHARS: usize = 1024;

/// Sends dead letters to one SQS queue.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    /// A sink sending to the queue at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        SqsDeadLetters { client, queue_url }
    }

    /// The queue URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

/// `text` with the characters SQS refuses replaced; true when some were.
fn sanitize(text: &str) -> (String, bool) {
    if sqs_batch::first_disallowed_char(text).is_none() {
        return (text.to_owned(), false);
    }
    let clean = text
        .chars()
        .map(|c| {
            if sqs_batch::is_allowed_char(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect();
    (clean, true)
}

/// An attribute value SQS accepts: sanitized, cut, never empty.
fn attribute_value(text: &str) -> String {
    let (clean, _) = sanitize(text);
    let cut: String = clean.chars().take(MAX_ATTRIBUTE_CHARS).collect();
    if cut.is_empty() {
        "-".to_owned()
    } else {
        cut
    }
}

/// The longest prefix of `text` within `max` bytes, cut at a character boundary.
fn cut_to(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn entry(index: usize, letter: &DeadLetter, fifo: bool) -> Entry {
    let mut attributes = vec![
        (ATTR_STAGE, letter.stage.as_str().to_owned()),
        (ATTR_REASON, attribute_value(&letter.reason)),
        (ATTR_SOURCE, attribute_value(&letter.source)),
        (ATTR_PAYLOAD_BYTES, letter.payload.len().to_string()),
    ];
    let mut notes = Vec::new();
    let (mut body, sanitized) = sanitize(&letter.payload);
    if sanitized {
        notes.push("sanitized");
    }
    if body.is_empty() {
        body = "(empty record)".to_owned();
        notes.push("empty");
    }
    // Room for the note attribute too, at its longest.
    let note_room = ATTR_PAYLOAD_NOTE.len() + "String".len() + "sanitized,truncated".len();
    let room = MAX_MESSAGE_BYTES - sqs_batch::message_size("", &attributes) - note_room;
    if body.len() > room {
        body = cut_to(&body, room).to_owned();
        notes.push("truncated");
    }
    if !notes.is_empty() {
        attributes.push((ATTR_PAYLOAD_NOTE, notes.join(",")));
    }
    // A FIFO dead-letter queue (that of a FIFO input queue) wants a group and a deduplication
    // id: each letter is its own group, and the same letter sent again is dropped.
    let fifo = fifo.then(|| Fifo {
        group: derived_id(&["dead-letter", &letter.source]),
        deduplication_id: derived_id(&[
            "dead-letter",
            letter.stage.as_str(),
            &letter.source,
            &letter.reason,
        ]),
    });
    Entry {
        index,
        body,
        attributes,
        fifo,
    }
}

impl DeadLetterSink for SqsDeadLetters {
    async fn send(&self, letters: Vec<DeadLetter>) -> Result<(), DeadLetterError> {
        if letters.is_empty() {
            return Ok(());
        }
        let entries = letters
            .iter()
            .enumerate()
            .map(|(index, letter)| entry(index, letter, is_fifo_queue(&self.queue_url)))
            .collect();
        let failures = sqs_batch::send_all(&self.client, &self.queue_url, entries).await;
        if failures.is_empty() {
            return Ok(());
        }
        let reason = failures
            .first()
            .map(|failure| failure.reason.clone())
            .unwrap_or_default();
        Err(DeadLetterError {
            sources: failures
                .iter()
                .filter_map(|failure| letters.get(failure.index))
                .map(|letter| letter.source.clone())
                .collect(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Stage;

    fn letter(payload: &str) -> DeadLetter {
        DeadLetter {
            stage: Stage::Dec,
            reason: "invalid-input: not JSON".into(),
            source: "topic/0@12".into(),
            payload: payload.into(),
        }
    }

    fn attribute<'a>(entry: &'a Entry, name: &str) -> Option<&'a str> {
        entry
            .attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_plain_record_is_the_body() {
        let entry = entry(3, &letter("{nope"), false);
        assert_eq!(entry.body, "{nope");
        assert_eq!(attribute(&entry, ATTR_STAGE), Some("dec"));
        assert_eq!(
            attribute(&entry, ATTR_REASON),
            Some("invalid-input: not JSON")
        );
        assert_eq!(attribute(&entry, ATTR_SOURCE), Some("topic/0@12"));
        assert_eq!(attribute(&entry, ATTR_PAYLOAD_BYTES), Some("5"));
        assert_eq!(attribute(&entry, ATTR_PAYLOAD_NOTE), None);
    }

    #[test]
    fn oversized_and_odd_records_are_made_to_fit() {
        let big = format!("\u{0}{}", "é".repeat(MAX_MESSAGE_BYTES));
        let entry = entry(0, &letter(&big), false);
        assert!(entry.size() <= MAX_MESSAGE_BYTES, "{}", entry.size());
        assert!(entry.body.starts_with('\u{FFFD}'));
        assert_eq!(
            attribute(&entry, ATTR_PAYLOAD_NOTE),
            Some("sanitized,truncated")
        );
        assert_eq!(
            attribute(&entry, ATTR_PAYLOAD_BYTES),
            Some(big.len().to_string().as_str())
        );

        let empty = super::entry(1, &letter(""), false);
        assert_eq!(empty.body, "(empty record)");
        assert_eq!(attribute(&empty, ATTR_PAYLOAD_NOTE), Some("empty"));
    }
}
