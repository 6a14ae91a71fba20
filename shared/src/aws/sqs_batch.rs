//! `SendMessageBatch` done right, for the SQS publisher and dead-letter sink: entries split
//! into batches SQS accepts (at most [`MAX_BATCH_ENTRIES`] entries and [`MAX_MESSAGE_BYTES`]
//! in all), entry ids SQS accepts (`m{index}`, mapped back to the caller's index), the failed
//! entries of a partial batch retried a bounded number of times when the fault is SQS's, and
//! every entry not sent reported once, classified.

use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::classify::{classify, is_transient_code, AwsFailure};

/// Most entries of one `SendMessageBatch` call.
pub(crate) const MAX_BATCH_ENTRIES: usize = 10;
/// SQS's limit on one message, and on the sum of a batch's messages, in bytes: body plus
/// message attributes (name, data type and value of each).
pub(crate) const MAX_MESSAGE_BYTES: usize = 262_144;
/// Calls made again for the entries SQS failed on its side (`SenderFault == false`).
pub(crate) const PARTIAL_RETRIES: u32 = 2;
/// Pause before the first of those calls, doubled for each next one.
const PARTIAL_RETRY_BACKOFF: Duration = Duration::from_millis(50);

/// The data type of every message attribute sent.
const STRING: &str = "String";

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The caller's index of the message (unique among the entries of one call).
    pub(crate) index: usize,
    /// The body.
    pub(crate) body: String,
    /// String message attributes: name, value (non-empty).
    pub(crate) attributes: Vec<(&'static str, String)>,
    /// For a FIFO queue: the message group id and the deduplication id.
    pub(crate) fifo: Option<Fifo>,
}

/// What a message to a FIFO queue carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fifo {
    /// `MessageGroupId`.
    pub(crate) group: String,
    /// `MessageDeduplicationId`.
    pub(crate) deduplication_id: String,
}

impl Entry {
    /// The entry id SQS sees: short, made of allowed characters, unique within a batch.
    pub(crate) fn batch_id(&self) -> String {
        format!("m{}", self.index)
    }

    /// The size SQS counts against its limit.
    pub(crate) fn size(&self) -> usize {
        message_size(&self.body, &self.attributes)
    }
}

/// Whether the queue at `queue_url` is a FIFO queue (SQS names every FIFO queue `….fifo`).
pub(crate) fn is_fifo_queue(queue_url: &str) -> bool {
    queue_url.ends_with(".fifo")
}

/// The size SQS counts for a message: body plus each attribute's name, data type and value.
pub(crate) fn message_size(body: &str, attributes: &[(&'static str, String)]) -> usize {
    body.len()
        + attributes
            .iter()
            .map(|(name, value)| name.len() + STRING.len() + value.len())
            .sum::<usize>()
}

/// Whether SQS accepts `c` in a message: `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
/// #x10000-#x10FFFF`.
pub(crate) fn is_allowed_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `text` that SQS refuses, with its byte offset.
pub(crate) fn first_disallowed_char(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|(_, c)| !is_allowed_char(*c))
}

/// Splits entries (each within [`MAX_MESSAGE_BYTES`]) into batches of at most
/// [`MAX_BATCH_ENTRIES`] entries and [`MAX_MESSAGE_BYTES`] in all, keeping their order.
pub(crate) fn batches(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut batches: Vec<Vec<Entry>> = Vec::new();
    let mut current: Vec<Entry> = Vec::new();
    let mut current_bytes = 0;
    for entry in entries {
        let size = entry.size();
        if !current.is_empty()
            && (current.len() == MAX_BATCH_ENTRIES || current_bytes + size > MAX_MESSAGE_BYTES)
        {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += size;
        current.push(entry);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// One failed entry of a batch, as SQS reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryError {
    /// The entry id.
    pub(crate) id: String,
    /// True when the request was wrong (no retry fixes it).
    pub(crate) sender_fault: bool,
    /// The error code.
    pub(crate) code: String,
    /// The error message.
    pub(crate) message: String,
}

/// A message not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryFailure {
    /// The caller's index of the message.
    pub(crate) index: usize,
    /// Why.
    pub(crate) reason: String,
    /// Whether a later try may work.
    pub(crate) retryable: bool,
}

/// One `SendMessageBatch` call to one queue.
pub(crate) trait SendBatch: Sync {
    /// Sends `entries` (one batch); answers with the entries that failed, or the failure of
    /// the whole call.
    fn send_batch(
        &self,
        entries: &[Entry],
    ) -> impl Future<Output = Result<Vec<EntryError>, AwsFailure>> + Send;
}

/// The real call, on an SQS client.
pub(crate) struct SqsBatchSender<'a> {
    /// The client.
    pub(crate) client: &'a aws_sdk_sqs::Client,
    /// The queue.
    pub(crate) queue_url: &'a str,
}

impl SendBatch for SqsBatchSender<'_> {
    async fn send_batch(&self, entries: &[Entry]) -> Result<Vec<EntryError>, AwsFailure> {
        let mut request = self.client.send_message_batch().queue_url(self.queue_url);
        for entry in entries {
            let mut builder = SendMessageBatchRequestEntry::builder()
                .id(entry.batch_id())
                .message_body(entry.body.as_str());
            if let Some(fifo) = &entry.fifo {
                builder = builder
                    .message_group_id(fifo.group.as_str())
                    .message_deduplication_id(fifo.deduplication_id.as_str());
            }
            for (name, value) in &entry.attributes {
                let attribute = MessageAttributeValue::builder()
                    .data_type(STRING)
                    .string_value(value.as_str())
                    .build()
                    .map_err(|e| {
                        AwsFailure::Rejected(format!("message attribute `{name}`: {e}"))
                    })?;
                builder = builder.message_attributes(*name, attribute);
            }
            let built = builder.build().map_err(|e| {
                AwsFailure::Rejected(format!("batch entry {}: {e}", entry.batch_id()))
            })?;
            request = request.entries(built);
        }
        let output = request
            .send()
            .await
            .map_err(|error| classify("SendMessageBatch", &error))?;
        Ok(output
            .failed()
            .iter()
            .map(|failed| EntryError {
                id: failed.id().to_owned(),
                sender_fault: failed.sender_fault(),
                code: failed.code().to_owned(),
                message: failed.message().unwrap_or("no message").to_owned(),
            })
            .collect())
    }
}

/// Sends one batch; entries SQS failed on its side are sent again, up to [`PARTIAL_RETRIES`]
/// times. Answers with every entry finally not sent.
pub(crate) async fn send_with_retries<S: SendBatch>(
    sender: &S,
    batch: Vec<Entry>,
) -> Vec<EntryFailure> {
    let mut failures = Vec::new();
    let mut pending = batch;
    let mut round = 0;
    loop {
        let errors = match sender.send_batch(&pending).await {
            Ok(errors) => errors,
            Err(failure) => {
                let retryable = failure.is_retryable();
                let reason = failure.into_reason();
                failures.extend(pending.iter().map(|entry| EntryFailure {
                    index: entry.index,
                    reason: reason.clone(),
                    retryable,
                }));
                return failures;
            }
        };
        let mut again = Vec::new();
        for error in errors {
            let Some(position) = pending.iter().position(|e| e.batch_id() == error.id) else {
                tracing::warn!(entry = %error.id, code = %error.code, "SQS reported a failure for an entry not sent");
                continue;
            };
            let entry = pending.swap_remove(position);
            // `SenderFault == false` is SQS's own failure; a sender fault with a transient
            // code (throttling) is treated the same way.
            let transient = !error.sender_fault || is_transient_code(&error.code);
            if transient && round < PARTIAL_RETRIES {
                again.push(entry);
            } else {
                failures.push(EntryFailure {
                    index: entry.index,
                    reason: format!(
                        "SendMessageBatch entry failed with {} ({}): {}",
                        error.code,
                        if error.sender_fault {
                            "sender fault"
                        } else {
                            "SQS fault"
                        },
                        error.message
                    ),
                    retryable: transient,
                });
            }
        }
        if again.is_empty() {
            return failures;
        }
        again.sort_by_key(|entry| entry.index);
        tokio::time::sleep(PARTIAL_RETRY_BACKOFF * 2u32.pow(round)).await;
        round += 1;
        pending = again;
    }
}

/// Sends every entry to `queue_url`, in batches (concurrently); answers with the entries not
/// sent.
pub(crate) async fn send_all(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    entries: Vec<Entry>,
) -> Vec<EntryFailure> {
    let sender = SqsBatchSender { client, queue_url };
    let sends = batches(entries)
        .into_iter()
        .map(|batch| send_with_retries(&sender, batch));
    futures::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    fn entry(index: usize, body_bytes: usize) -> Entry {
        Entry {
            index,
            body: "x".repeat(body_bytes),
            attributes: vec![("ce-type", "t".into())],
            fifo: None,
        }
    }

    #[test]
    fn size_counts_body_and_attributes() {
        // body 10, "ce-type" 7 + "String" 6 + "t" 1
        assert_eq!(entry(0, 10).size(), 24);
    }

    #[test]
    fn batches_hold_at_most_ten_entries() {
        let sizes: Vec<usize> = batches((0..25).map(|i| entry(i, 10)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![10, 10, 5]);
    }

    #[test]
    fn batches_stay_within_the_size_limit() {
        let big = MAX_MESSAGE_BYTES / 3;
        let all = batches((0..5).map(|i| entry(i, big)).collect());
        assert_eq!(all.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        for batch in &all {
            assert!(batch.iter().map(Entry::size).sum::<usize>() <= MAX_MESSAGE_BYTES);
        }
        let order: Vec<usize> = all.into_iter().flatten().map(|e| e.index).collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn disallowed_characters_are_found() {
        assert_eq!(first_disallowed_char("ok\tfine\n"), None);
        assert_eq!(first_disallowed_char("a\u{0}b"), Some((1, '\u{0}')));
        assert_eq!(first_disallowed_char("a\u{FFFE}"), Some((1, '\u{FFFE}')));
    }

    /// Answers each call from a script, recording the ids sent.
    struct Scripted {
        answers: Mutex<VecDeque<Result<Vec<EntryError>, AwsFailure>>>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Vec<EntryError>, AwsFailure>>) -> Self {
            Scripted {
                answers: Mutex::new(answers.into()),
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().expect("lock").clone()
        }
    }

    impl SendBatch for Scripted {
        async fn send_batch(&self, entries: &[Entry]) -> Result<Vec<EntryError>, AwsFailure> {
            self.calls
                .lock()
                .expect("lock")
                .push(entries.iter().map(Entry::batch_id).collect());
            self.answers
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or(Ok(Vec::new()))
        }
    }

    fn failed(id: &str, sender_fault: bool) -> EntryError {
        EntryError {
            id: id.into(),
            sender_fault,
            code: if sender_fault {
                "InvalidParameterValue".into()
            } else {
                "InternalError".into()
            },
            message: "nope".into(),
        }
    }

    #[tokio::test]
    async fn sqs_faults_are_retried_and_sender_faults_are_not() {
        let sender = Scripted::new(vec![
            Ok(vec![failed("m1", false), failed("m2", true)]),
            Ok(Vec::new()),
        ]);
        let failures = send_with_retries(&sender, (0..3).map(|i| entry(i, 5)).collect()).await;
        assert_eq!(
            sender.calls(),
            vec![vec!["m0", "m1", "m2"], vec!["m1"]],
            "only the SQS-side failure is sent again"
        );
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].index, 2);
        assert!(!failures[0].retryable);
        assert!(failures[0]
            .reason
            .contains("InvalidParameterValue (sender fault)"));
    }

    #[tokio::test]
    async fn retries_are_bounded_and_the_rest_is_retryable() {
        let sender = Scripted::new(vec![
            Ok(vec![failed("m0", false)]),
            Ok(vec![failed("m0", false)]),
            Ok(vec![failed("m0", false)]),
            Ok(vec![failed("m0", false)]),
        ]);
        let failures = send_with_retries(&sender, vec![entry(0, 5)]).await;
        assert_eq!(sender.calls().len(), 1 + PARTIAL_RETRIES as usize);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].retryable);
        assert!(failures[0].reason.contains("InternalError (SQS fault)"));
    }

    #[tokio::test]
    async fn a_failed_call_fails_every_entry_with_its_classification() {
        let sender = Scripted::new(vec![Err(AwsFailure::Unavailable("timed out".into()))]);
        let failures = send_with_retries(&sender, (0..2).map(|i| entry(i, 5)).collect()).await;
        assert_eq!(
            failures
                .iter()
                .map(|f| (f.index, f.retryable))
                .collect::<Vec<_>>(),
            vec![(0, true), (1, true)]
        );
        assert_eq!(sender.calls().len(), 1);
    }
}
