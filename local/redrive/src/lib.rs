//! `rewards redrive STAGE [--dry-run] [--max N]`: moves a stage's dead letters back to where
//! they are processed, once their cause is fixed (a promotion PPH did not know yet, a template
//! CSL lacked, a rotated key, an outage that outlived its retries).
//!
//! - **Where from**: the stage's DLQ, `{REWARDS_PREFIX}-{stage}-dlq` (or `….fifo`), found by
//!   name; `REWARDS_PREFIX` is the stack's `${Env}-${Brand}` (e.g. `prod-skybet`).
//! - **Where to, SQS stages** (tim, fred, bcg, msq): the queue SQS moved the message from (its
//!   `DeadLetterQueueSourceArn`), else the stage's input queue for the record (FRED's and MSQ's
//!   two inputs told apart by the CloudEvent type), the message attributes kept. A FIFO target
//!   gets the message's `MessageGroupId` (or one derived from the record's TIM key when the DLQ
//!   is a standard queue) and `MessageDeduplicationId = redrive-{dead letter's message id}`, so running
//!   the redrive again after an interruption cannot duplicate a record within SQS's five-minute
//!   deduplication window.
//! - **Where to, DEC**: its records came from Kafka, not from a queue. Each dead letter (body: the
//!   record's value; attribute `source`: `topic/partition@offset`) is replayed into DEC as the
//!   one-record MSK event Lambda would have delivered, with its original topic, partition and
//!   offset, so DEC's logs and any new dead letter name the same Kafka record ([`DecReplay`]:
//!   `Invoke` of the `live` alias of `{REWARDS_PREFIX}-dec`). It counts as moved only when DEC
//!   answers without an error and without reporting the record failed.
//! - **Never loses a record**: each message is sent (or replayed) first and deleted from the DLQ
//!   only after that succeeded; one that could not be moved is made visible again at once and
//!   stays. Dead letters whose body was cut to fit SQS (`payload-note: truncated`) are never
//!   replayed: they stay for a person.
//! - `--dry-run` receives and prints what would move where, and leaves every message in the DLQ;
//!   `--max N` stops after N messages.
#![deny(missing_docs)]

mod command;
mod dec_replay;

pub use command::{command, render, DeadLetterStage, Options};
pub use dec_replay::{DecReplay, LambdaDecReplay};

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use rewards_shared::kafka::{encode_event, encode_record};
use rewards_shared::ports::dead_letter::{ATTR_PAYLOAD_NOTE, ATTR_SOURCE};
use rewards_shared::stage::Stage;

/// Messages received per call (SQS's maximum).
const RECEIVE_BATCH: i32 = 10;
/// How long a received message stays invisible while it is moved.
const VISIBILITY_SECONDS: i32 = 120;

/// Why a redrive could not run (single messages that cannot move are reported, not errors).
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// A queue could not be found.
    #[error("queue `{name}` not found: {reason}")]
    QueueNotFound {
        /// The queue name looked up.
        name: String,
        /// What SQS said.
        reason: String,
    },
    /// Receiving from the DLQ failed.
    #[error("receiving from {queue_url} failed: {reason}")]
    Receive {
        /// The DLQ.
        queue_url: String,
        /// What SQS said.
        reason: String,
    },
}

/// One dead letter and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The DLQ message id.
    pub message_id: String,
    /// Where it went (queue URL, or `dec <topic>/<partition>@<offset>`).
    pub to: String,
    /// `moved`, `would move` (dry run), or why it stayed.
    pub result: String,
}

impl Moved {
    /// True when the message left the DLQ.
    pub fn moved(&self) -> bool {
        self.result == "moved"
    }
}

/// Where a stage's dead letters go.
pub enum Target {
    /// SQS stages: the input queues, by name, resolved through [`Redrive::resolve`].
    Queues(Stage),
    /// DEC: replayed through DEC.
    Dec(Arc<dyn DecReplay>),
}

/// One redrive run.
pub struct Redrive {
    /// The SQS client.
    pub sqs: aws_sdk_sqs::Client,
    /// `${Env}-${Brand}` of the stack.
    pub prefix: String,
    /// The stage's DLQ URL.
    pub dlq_url: String,
    /// Where the letters go.
    pub target: Target,
    /// Print only.
    pub dry_run: bool,
    /// At most this many messages.
    pub max: Option<usize>,
}

/// The input queues of an SQS stage (name suffixes after `${Env}-${Brand}-`): the first is
/// the default, the second takes the CloudEvent types containing the given word.
pub fn input_queues(stage: Stage) -> Option<(&'static str, Option<(&'static str, &'static str)>)> {
    match stage {
        Stage::Tim => Some(("cpp-enriched-events", None)),
        Stage::Fred => Some((
            "relevant-events",
            Some(("unqualif", "relevant-unqualification-events")),
        )),
        Stage::Bcg => Some(("decided-events", None)),
        Stage::Msq => Some(("msq-inbound-queue", Some(("delete", "msq-inbound-delete")))),
        Stage::Dec | Stage::Des => None,
    }
}

/// The queue name of an ARN (`arn:aws:sqs:region:account:name`).
fn queue_name_of_arn(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Parses `topic/partition@offset`.
pub fn parse_source(source: &str) -> Option<(String, i64, i64)> {
    let (rest, offset) = source.rsplit_once('@')?;
    let (topic, partition) = rest.rsplit_once('/')?;
    Some((
        topic.to_owned(),
        partition.parse().ok()?,
        offset.parse().ok()?,
    ))
}

impl Redrive {
    /// The URL of queue `name`, trying `name.fifo` when `name` does not exist.
    pub async fn resolve(&self, name: &str) -> Result<String, RedriveError> {
        let mut last = String::new();
        for candidate in [name.to_owned(), format!("{name}.fifo")] {
            if name.ends_with(".fifo") && candidate != name {
                break;
            }
            match self.sqs.get_queue_url().queue_name(&candidate).send().await {
                Ok(answer) => {
                    if let Some(url) = answer.queue_url {
                        return Ok(url);
                    }
                }
                Err(e) => last = aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
            }
        }
        Err(RedriveError::QueueNotFound {
            name: name.to_owned(),
            reason: last,
        })
    }

    /// Moves the DLQ's messages; what happened to each.
    pub async fn run(&self) -> Result<Vec<Moved>, RedriveError> {
        let mut report = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut queues: HashMap<String, String> = HashMap::new();
        loop {
            let remaining = self
                .max
                .map_or(usize::MAX, |max| max.saturating_sub(report.len()));
            if remaining == 0 {
                break;
            }
            let wanted = i32::try_from(remaining.min(RECEIVE_BATCH as usize)).unwrap_or(1);
            let answer = self
                .sqs
                .receive_message()
                .queue_url(&self.dlq_url)
                .max_number_of_messages(wanted)
                .visibility_timeout(VISIBILITY_SECONDS)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| RedriveError::Receive {
                    queue_url: self.dlq_url.clone(),
                    reason: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
                })?;
            let messages = answer.messages.unwrap_or_default();
            // A message seen again was left in the DLQ (dry run, or it could not move): made
            // visible again at once, and when only such came, the DLQ holds nothing new.
            let (fresh, again): (Vec<_>, Vec<_>) = messages
                .into_iter()
                .partition(|m| seen.insert(m.message_id.clone().unwrap_or_default()));
            for message in &again {
                self.release(message).await;
            }
            if fresh.is_empty() {
                break;
            }
            for message in fresh {
                let moved = self.move_one(&message, &mut queues).await;
                let receipt = message.receipt_handle.clone().unwrap_or_default();
                let kept = if moved.moved() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.dlq_url)
                        .receipt_handle(&receipt)
                        .send()
                        .await
                        .err()
                        .map(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                } else {
                    self.release(&message).await;
                    None
                };
                report.push(match kept {
                    None => moved,
                    Some(reason) => Moved {
                        result: format!("sent, but still in the DLQ (delete failed: {reason})"),
                        ..moved
                    },
                });
            }
        }
        Ok(report)
    }

    /// Makes a message that stays in the DLQ visible again at once, for the next run or a
    /// person (if this fails it reappears after the visibility time-out anyway).
    async fn release(&self, message: &aws_sdk_sqs::types::Message) {
        let _ = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.dlq_url)
            .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await;
    }

    async fn move_one(
        &self,
        message: &aws_sdk_sqs::types::Message,
        queues: &mut HashMap<String, String>,
    ) -> Moved {
        let message_id = message.message_id.clone().unwrap_or_default();
        let body = message.body.clone().unwrap_or_default();
        let attributes = message.message_attributes.clone().unwrap_or_default();
        let string_attribute = |name: &str| {
            attributes
                .get(name)
                .and_then(|value| value.string_value.clone())
        };
        let stay = |to: String, why: String| Moved {
            message_id: message_id.clone(),
            to,
            result: why,
        };
        if string_attribute(ATTR_PAYLOAD_NOTE).is_some_and(|note| note.contains("truncated")) {
            return stay("-".into(), "kept: the body was cut to fit SQS".into());
        }
        match &self.target {
            Target::Dec(dec) => {
                let source = string_attribute(ATTR_SOURCE).unwrap_or_default();
                let Some((topic, partition, offset)) = parse_source(&source) else {
                    return stay("dec".into(), format!("kept: no Kafka source in `{source}`"));
                };
                let to = format!("dec {topic}/{partition}@{offset}");
                if self.dry_run {
                    return stay(to, "would move".into());
                }
                let event = encode_event(vec![encode_record(
                    &topic,
                    partition,
                    offset,
                    body.as_bytes(),
                    &[],
                )]);
                let event = match serde_json::to_value(&event) {
                    Ok(event) => event,
                    Err(e) => return stay(to, format!("kept: {e}")),
                };
                match dec.replay(&event).await {
                    Ok(response) if response.is_success() => stay(to, "moved".into()),
                    Ok(_) => stay(to, "kept: DEC reported the record failed".into()),
                    Err(reason) => stay(to, format!("kept: {reason}")),
                }
            }
            Target::Queues(stage) => {
                let name = self.target_queue_name(*stage, message, &body);
                let url = match queues.get(&name) {
                    Some(url) => url.clone(),
                    None => match self.resolve(&name).await {
                        Ok(url) => {
                            queues.insert(name.clone(), url.clone());
                            url
                        }
                        Err(e) => return stay(name, format!("kept: {e}")),
                    },
                };
                if self.dry_run {
                    return stay(url, "would move".into());
                }
                let mut send = self
                    .sqs
                    .send_message()
                    .queue_url(&url)
                    .message_body(&body)
                    .set_message_attributes(Some(kept_attributes(attributes.clone())));
                if url.ends_with(".fifo") {
                    let group = message
                        .attributes
                        .as_ref()
                        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId).cloned())
                        .unwrap_or_else(|| fallback_group(&body));
                    send = send
                        .message_group_id(group)
                        .message_deduplication_id(format!("redrive-{message_id}"));
                }
                match send.send().await {
                    Ok(_) => stay(url, "moved".into()),
                    Err(e) => stay(
                        url,
                        format!("kept: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)),
                    ),
                }
            }
        }
    }

    /// The name of the queue a dead letter of `stage` goes back to.
    fn target_queue_name(
        &self,
        stage: Stage,
        message: &aws_sdk_sqs::types::Message,
        body: &str,
    ) -> String {
        let moved_from = message.attributes.as_ref().and_then(|a| {
            a.get(&MessageSystemAttributeName::DeadLetterQueueSourceArn)
                .map(|arn| queue_name_of_arn(arn).to_owned())
        });
        if let Some(name) = moved_from {
            return name;
        }
        let (default, other) = input_queues(stage).unwrap_or(("", None));
        let event_type = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|json| json.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let suffix = match other {
            Some((word, queue)) if event_type.contains(word) => queue,
            _ => default,
        };
        format!("{}-{suffix}", self.prefix)
    }
}

/// The dead letter's attributes minus the DLQ's own bookkeeping is all kept: the stages read
/// only the body, and `stage`/`reason`/`source` tell a later reader the record's history.
fn kept_attributes(
    attributes: HashMap<String, MessageAttributeValue>,
) -> HashMap<String, MessageAttributeValue> {
    attributes
        .into_iter()
        .filter(|(name, _)| name != ATTR_PAYLOAD_NOTE)
        .take(10)
        .collect()
}

/// A message group for a record dead-lettered without one: the group the stages give every
/// message of its promotion attempt ([`rewards_shared::ports::group_id`] of `accountId`,
/// `promoCode`, `attemptId`, read from the data or the activity in it), else one group for all
/// (order is then the DLQ's).
fn fallback_group(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let data = json.get("data").unwrap_or(&serde_json::Value::Null);
    let holder = data.get("activity").unwrap_or(data);
    let part = |name: &str| holder.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    match (part("accountId"), part("promoCode"), part("attemptId")) {
        (Some(account), Some(promo), Some(attempt)) => {
            rewards_shared::ports::group_id(&account, &promo, &attempt)
        }
        _ => "redrive".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_back_to_topic_partition_and_offset() {
        assert_eq!(
            parse_source("dc1.skybet.cpp.activity/3@41"),
            Some(("dc1.skybet.cpp.activity".into(), 3, 41))
        );
        assert_eq!(parse_source("m-1"), None);
    }

    #[test]
    fn arguments() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Command {
            #[command(flatten)]
            options: Options,
        }
        let parse = |text: &str| {
            Command::try_parse_from(std::iter::once("redrive").chain(text.split(' ')))
                .map(|command| command.options)
        };
        assert_eq!(
            parse("fred --dry-run --max 5").ok(),
            Some(Options {
                stage: DeadLetterStage::Fred,
                dry_run: true,
                max: Some(5)
            })
        );
        assert!(parse("des").is_err());
        assert!(parse("tim --max 0").is_err());
    }
}
