//! The tables and queues one `rewards run --aws` needs, created for the run under a unique
//! prefix and deleted after it.
//!
//! They copy `template.yaml`: TIM's table (`pk` hash key) and MSQ's table (`pk` hash, `sk`
//! range), on demand, with TTL on `expiresAt`; a dead-letter queue per stage (`dec-dlq`,
//! `tim-dlq`, `fred-dlq`, `bcg-dlq`, `msq-dlq`, 14 days' retention); the six input queues (four
//! days' retention, SQS-managed encryption) each redriving into its consumer's dead-letter
//! queue after [`QueueSettings::max_receive_count`] receives. What differs from the stack, and
//! why: the visibility time-out is short (reported failures come back in seconds, not
//! minutes), and the throwaway tables have neither a customer-managed encryption key nor
//! point-in-time recovery.
//!
//! Every resource is named `{prefix}-{name}` (e.g. `rewards-run-1a2b3c4d5e6f-decided-events`)
//! and tagged `rewards-run={prefix}`, so a run interrupted before it cleaned up can be found.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use futures::future::{join_all, try_join_all};
use rewards_shared::aws::classify::classify;
use rewards_shared::ports::Destination;
use rewards_shared::stage::Stage;
use scenario_runner::queues::consumer;

/// The tag every resource of a run carries, with the run's prefix as its value.
pub const RUN_TAG: &str = "rewards-run";
/// The TTL attribute of both tables (as in the stack).
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// Receives before a message moves to its dead-letter queue (the stack's `MaxReceiveCount`).
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// Retention of the input queues: four days (as in the stack).
pub const QUEUE_RETENTION_SECONDS: u32 = 345_600;
/// Retention of the dead-letter queues: fourteen days (as in the stack).
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 1_209_600;
/// The longest wait for a new table to become active.
pub const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// The stages with a dead-letter queue, in the stack's order.
pub const DEAD_LETTER_STAGES: [Stage; 5] =
    [Stage::Dec, Stage::Tim, Stage::Fred, Stage::Bcg, Stage::Msq];

/// A set-up or clean-up call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} of {resource} failed: {reason}")]
pub struct ResourceError {
    /// The call, e.g. `CreateQueue`.
    pub operation: &'static str,
    /// The table or queue it was for.
    pub resource: String,
    /// What the service said.
    pub reason: String,
}

/// How the run's queues behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// Visibility time-out of the input queues, in whole seconds: how long a received message
    /// stays hidden, so how soon a reported failure is delivered again.
    pub visibility_timeout: Duration,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            visibility_timeout: Duration::from_secs(2),
            max_receive_count: MAX_RECEIVE_COUNT,
        }
    }
}

/// One queue of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Its name, prefix included.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Its ARN (the `eventSourceARN` of its messages).
    pub arn: String,
}

/// The tables and queues of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResources {
    /// The prefix of every name.
    pub prefix: String,
    /// TIM's table.
    pub tim_table: String,
    /// MSQ's table.
    pub msq_table: String,
    /// The input queue of each destination.
    pub queues: BTreeMap<Destination, Queue>,
    /// The dead-letter queue of each stage that has one.
    pub dead_letter_queues: BTreeMap<Stage, Queue>,
}

/// A prefix no other run uses: `rewards-run-{12 hex digits}`.
pub fn unique_prefix() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("rewards-run-{}", &id[..12])
}

impl RunResources {
    /// The queue of `destination`.
    pub fn queue(&self, destination: Destination) -> Option<&Queue> {
        self.queues.get(&destination)
    }

    /// The dead-letter queue `destination`'s queue redrives into.
    pub fn dead_letter_queue_of(&self, destination: Destination) -> Option<&Queue> {
        self.dead_letter_queues.get(&consumer(destination))
    }

    /// Creates the run's tables and queues under `prefix`. On failure, whatever was created
    /// is deleted again before the error is returned.
    pub async fn create(
        dynamodb: &aws_sdk_dynamodb::Client,
        sqs: &aws_sdk_sqs::Client,
        prefix: &str,
        settings: &QueueSettings,
    ) -> Result<RunResources, ResourceError> {
        let tim_table = format!("{prefix}-tim-state");
        let msq_table = format!("{prefix}-msq-messages");
        let (tim, msq, queues) = futures::future::join3(
            create_table(dynamodb, &tim_table, prefix, false),
            create_table(dynamodb, &msq_table, prefix, true),
            create_queues(sqs, prefix, settings),
        )
        .await;
        match ((tim, msq), queues) {
            ((Ok(()), Ok(())), Ok((queues, dead_letter_queues))) => Ok(RunResources {
                prefix: prefix.to_owned(),
                tim_table,
                msq_table,
                queues,
                dead_letter_queues,
            }),
            ((tim, msq), queues) => {
                let error = [tim.err(), msq.err(), queues.err()]
                    .into_iter()
                    .flatten()
                    .next();
                // Clean up by prefix: what exists is deleted, what does not is skipped.
                let leftovers = delete_by_prefix(dynamodb, sqs, prefix).await;
                for leftover in leftovers {
                    tracing::warn!(error = %leftover, "clean-up after a failed set-up");
                }
                Err(error.unwrap_or_else(|| ResourceError {
                    operation: "CreateQueue",
                    resource: prefix.to_owned(),
                    reason: "set-up failed".to_owned(),
                }))
            }
        }
    }

    /// Deletes the run's tables and queues; returns the calls that failed (an empty list when
    /// everything is gone).
    pub async fn delete(
        &self,
        dynamodb: &aws_sdk_dynamodb::Client,
        sqs: &aws_sdk_sqs::Client,
    ) -> Vec<ResourceError> {
        let tables = [self.tim_table.as_str(), self.msq_table.as_str()]
            .map(|table| delete_table(dynamodb, table.to_owned()));
        let urls = self
            .queues
            .values()
            .chain(self.dead_letter_queues.values())
            .map(|queue| delete_queue(sqs, queue.url.clone()));
        let mut errors: Vec<ResourceError> = join_all(tables).await.into_iter().flatten().collect();
        errors.extend(join_all(urls).await.into_iter().flatten());
        errors
    }
}

fn element(name: &str, kind: KeyType) -> Result<KeySchemaElement, ResourceError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| build_error("CreateTable", name, e))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, ResourceError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| build_error("CreateTable", name, e))
}

fn build_error(
    operation: &'static str,
    resource: &str,
    error: impl std::fmt::Display,
) -> ResourceError {
    ResourceError {
        operation,
        resource: resource.to_owned(),
        reason: error.to_string(),
    }
}

/// Creates a table keyed by `pk` (and `sk` when `sorted`), on demand, waits until it is
/// active and turns TTL on.
async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    prefix: &str,
    sorted: bool,
) -> Result<(), ResourceError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute("pk")?)
        .key_schema(element("pk", KeyType::Hash)?)
        .tags(
            Tag::builder()
                .key(RUN_TAG)
                .value(prefix)
                .build()
                .map_err(|e| build_error("CreateTable", table, e))?,
        );
    if sorted {
        request = request
            .attribute_definitions(string_attribute("sk")?)
            .key_schema(element("sk", KeyType::Range)?);
    }
    request
        .send()
        .await
        .map_err(|e| build_error("CreateTable", table, classify("CreateTable", &e).reason()))?;
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(TABLE_ACTIVE_WAIT)
        .await
        .map_err(|e| build_error("DescribeTable", table, e))?;
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| build_error("UpdateTimeToLive", table, e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| {
            build_error(
                "UpdateTimeToLive",
                table,
                classify("UpdateTimeToLive", &e).reason(),
            )
        })?;
    Ok(())
}

type Created = (BTreeMap<Destination, Queue>, BTreeMap<Stage, Queue>);

/// A queue's name: a FIFO queue's ends in `.fifo`, as SQS wants.
fn queue_name(base: String, fifo: bool) -> String {
    if fifo {
        base + ".fifo"
    } else {
        base
    }
}

/// Creates the dead-letter queues, then the input queues redriving into them.
async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    settings: &QueueSettings,
) -> Result<Created, ResourceError> {
    let dead = try_join_all(DEAD_LETTER_STAGES.map(|stage| {
        // A FIFO queue's dead-letter queue must be FIFO too.
        let fifo = Destination::ALL
            .into_iter()
            .any(|destination| consumer(destination) == stage && destination.is_fifo());
        let name = queue_name(format!("{prefix}-{}-dlq", stage.as_str()), fifo);
        let mut attributes = vec![(
            QueueAttributeName::MessageRetentionPeriod,
            DEAD_LETTER_RETENTION_SECONDS.to_string(),
        )];
        if fifo {
            attributes.push((QueueAttributeName::FifoQueue, "true".to_owned()));
        }
        async move {
            create_queue(client, name, prefix, attributes)
                .await
                .map(|queue| (stage, queue))
        }
    }))
    .await?;
    let dead_letter_queues: BTreeMap<Stage, Queue> = dead.into_iter().collect();
    let visibility = settings.visibility_timeout.as_secs().to_string();
    let inputs = try_join_all(Destination::ALL.map(|destination| {
        let name = queue_name(
            format!("{prefix}-{}", destination.queue_name()),
            destination.is_fifo(),
        );
        let target = dead_letter_queues
            .get(&consumer(destination))
            .map(|queue| queue.arn.clone())
            .unwrap_or_default();
        let redrive = serde_json::json!({
            "deadLetterTargetArn": target,
            "maxReceiveCount": settings.max_receive_count.to_string(),
        });
        let mut attributes = vec![
            (QueueAttributeName::VisibilityTimeout, visibility.clone()),
            (
                QueueAttributeName::MessageRetentionPeriod,
                QUEUE_RETENTION_SECONDS.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ];
        if destination.is_fifo() {
            attributes.push((QueueAttributeName::FifoQueue, "true".to_owned()));
        }
        async move {
            create_queue(client, name, prefix, attributes)
                .await
                .map(|queue| (destination, queue))
        }
    }))
    .await?;
    Ok((inputs.into_iter().collect(), dead_letter_queues))
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: String,
    prefix: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> Result<Queue, ResourceError> {
    let mut request = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .tags(RUN_TAG, prefix);
    for (attribute, value) in attributes {
        request = request.attributes(attribute, value);
    }
    let url = request
        .send()
        .await
        .map_err(|e| build_error("CreateQueue", &name, classify("CreateQueue", &e).reason()))?
        .queue_url
        .ok_or_else(|| build_error("CreateQueue", &name, "no queue URL in the answer"))?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            build_error(
                "GetQueueAttributes",
                &name,
                classify("GetQueueAttributes", &e).reason(),
            )
        })?
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| build_error("GetQueueAttributes", &name, "no QueueArn in the answer"))?;
    Ok(Queue { name, url, arn })
}

async fn delete_table(client: &aws_sdk_dynamodb::Client, table: String) -> Option<ResourceError> {
    match client.delete_table().table_name(&table).send().await {
        Ok(_) => None,
        Err(error) => Some(build_error(
            "DeleteTable",
            &table,
            classify("DeleteTable", &error).reason(),
        )),
    }
}

async fn delete_queue(client: &aws_sdk_sqs::Client, url: String) -> Option<ResourceError> {
    match client.delete_queue().queue_url(&url).send().await {
        Ok(_) => None,
        Err(error) => Some(build_error(
            "DeleteQueue",
            &url,
            classify("DeleteQueue", &error).reason(),
        )),
    }
}

/// Deletes the tables and queues named `{prefix}-…` that exist (after a failed set-up).
async fn delete_by_prefix(
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
) -> Vec<ResourceError> {
    let mut errors = Vec::new();
    for table in [
        format!("{prefix}-tim-state"),
        format!("{prefix}-msq-messages"),
    ] {
        if dynamodb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .is_ok()
        {
            errors.extend(delete_table(dynamodb, table).await);
        }
    }
    match sqs
        .list_queues()
        .queue_name_prefix(format!("{prefix}-"))
        .send()
        .await
    {
        Ok(listed) => {
            for url in listed.queue_urls.unwrap_or_default() {
                errors.extend(delete_queue(sqs, url).await);
            }
        }
        Err(error) => errors.push(build_error(
            "ListQueues",
            prefix,
            classify("ListQueues", &error).reason(),
        )),
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_queue_redrives_into_its_consumers_dead_letter_queue() {
        for destination in Destination::ALL {
            assert!(DEAD_LETTER_STAGES.contains(&consumer(destination)));
        }
        assert_eq!(consumer(Destination::DecidedEvents), Stage::Bcg);
        assert_eq!(consumer(Destination::MsqDelete), Stage::Msq);
        assert_eq!(consumer(Destination::UnqualificationEvents), Stage::Fred);
    }

    #[test]
    fn prefixes_are_unique_and_leave_room_for_the_longest_queue_name() {
        let a = unique_prefix();
        assert_ne!(a, unique_prefix());
        let longest = format!("{a}-{}", Destination::UnqualificationEvents.queue_name());
        assert!(
            longest.len() <= 80,
            "SQS queue names are at most 80: {longest}"
        );
    }
}
