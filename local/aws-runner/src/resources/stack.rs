//! The stack's tables and queues as `template.yaml` declares them, and the calls that create
//! and delete one: what the `--aws` runner, the benchmarks and the tests against a local AWS
//! API all create their resources with. `tests/template/test_template.py` checks these
//! declarations against the template.

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use rewards_shared::aws::classify::classify;

/// The TTL attribute of both tables (`TimeToLiveSpecification.AttributeName`).
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// Receives before a message moves to its dead-letter queue (the stack's `MaxReceiveCount`).
pub const MAX_RECEIVE_COUNT: u32 = scenario_runner::queues::MAX_RECEIVE_COUNT;
/// Retention of the input queues: four days.
pub const QUEUE_RETENTION_SECONDS: u32 = 345_600;
/// Retention of the dead-letter queues: fourteen days.
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 1_209_600;
/// The longest wait for a new table to become active.
pub const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// A table's string keys and TTL attribute; on demand, as every table of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSchema {
    /// The hash key.
    pub hash_key: &'static str,
    /// The range key, if any.
    pub range_key: Option<&'static str>,
    /// The attribute TTL is turned on for, if any.
    pub ttl_attribute: Option<&'static str>,
}

/// TIM's table (`TimStateTable`): `pk` hash key, TTL on `expiresAt`.
pub const TIM_TABLE: TableSchema = TableSchema {
    hash_key: "pk",
    range_key: None,
    ttl_attribute: Some(TTL_ATTRIBUTE),
};

/// MSQ's table (`MsqTable`): `pk` hash and `sk` range keys, TTL on `expiresAt`.
pub const MSQ_TABLE: TableSchema = TableSchema {
    hash_key: "pk",
    range_key: Some("sk"),
    ttl_attribute: Some(TTL_ATTRIBUTE),
};

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

pub(crate) fn build_error(
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

/// A tag every resource created gets: `(key, value)`.
pub type ResourceTag<'a> = Option<(&'a str, &'a str)>;

/// Creates `table` with `schema`, on demand, waits until it is active and turns TTL on.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    schema: &TableSchema,
    tag: ResourceTag<'_>,
) -> Result<(), ResourceError> {
    let string_attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| build_error("CreateTable", table, e))
    };
    let element = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| build_error("CreateTable", table, e))
    };
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(schema.hash_key)?)
        .key_schema(element(schema.hash_key, KeyType::Hash)?);
    if let Some(range) = schema.range_key {
        request = request
            .attribute_definitions(string_attribute(range)?)
            .key_schema(element(range, KeyType::Range)?);
    }
    if let Some((key, value)) = tag {
        request = request.tags(
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| build_error("CreateTable", table, e))?,
        );
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
    let Some(attribute) = schema.ttl_attribute else {
        return Ok(());
    };
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
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

/// One queue created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Its name, `.fifo` included for a FIFO queue.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Its ARN (the `eventSourceARN` of its messages).
    pub arn: String,
}

/// How one queue is made: SQS-managed encryption always, as in the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// FIFO (the name gets `.fifo`).
    pub fifo: bool,
    /// Retention, in seconds.
    pub retention_seconds: u32,
    /// Visibility time-out; SQS's default when `None`.
    pub visibility_timeout: Option<Duration>,
    /// The dead-letter queue's ARN and the receives before a message moves there.
    pub redrive: Option<(String, u32)>,
}

impl QueueSpec {
    /// A dead-letter queue: fourteen days' retention.
    pub fn dead_letter(fifo: bool) -> Self {
        QueueSpec {
            fifo,
            retention_seconds: DEAD_LETTER_RETENTION_SECONDS,
            visibility_timeout: None,
            redrive: None,
        }
    }

    /// An input queue: four days' retention, redriving into `dead_letter` after
    /// `max_receive_count` receives.
    pub fn input(
        fifo: bool,
        visibility_timeout: Duration,
        dead_letter: &Queue,
        max_receive_count: u32,
    ) -> Self {
        QueueSpec {
            fifo,
            retention_seconds: QUEUE_RETENTION_SECONDS,
            visibility_timeout: Some(visibility_timeout),
            redrive: Some((dead_letter.arn.clone(), max_receive_count)),
        }
    }
}

/// A queue's name: a FIFO queue's ends in `.fifo`, as SQS wants.
pub fn queue_name(base: String, fifo: bool) -> String {
    if fifo {
        base + ".fifo"
    } else {
        base
    }
}

/// Creates the queue `base` (`base.fifo` when FIFO) as `spec` says and reads its ARN.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    base: &str,
    spec: &QueueSpec,
    tag: ResourceTag<'_>,
) -> Result<Queue, ResourceError> {
    let name = queue_name(base.to_owned(), spec.fifo);
    let mut request = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            spec.retention_seconds.to_string(),
        );
    if spec.fifo {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    if let Some(visibility) = spec.visibility_timeout {
        request = request.attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.as_secs().to_string(),
        );
    }
    if let Some((target, max_receive_count)) = &spec.redrive {
        let redrive = serde_json::json!({
            "deadLetterTargetArn": target,
            "maxReceiveCount": max_receive_count.to_string(),
        });
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
    }
    if let Some((key, value)) = tag {
        request = request.tags(key, value);
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

/// Creates the input queue `base` and its dead-letter queue `{base}-dlq` (both FIFO when
/// `fifo`), redriving after [`MAX_RECEIVE_COUNT`] receives; returns `(queue, dead-letter queue)`.
pub async fn create_queue_pair(
    client: &aws_sdk_sqs::Client,
    base: &str,
    fifo: bool,
    visibility_timeout: Duration,
    tag: ResourceTag<'_>,
) -> Result<(Queue, Queue), ResourceError> {
    let dead_letter = create_queue(
        client,
        &format!("{base}-dlq"),
        &QueueSpec::dead_letter(fifo),
        tag,
    )
    .await?;
    let spec = QueueSpec::input(fifo, visibility_timeout, &dead_letter, MAX_RECEIVE_COUNT);
    let queue = create_queue(client, base, &spec, tag).await?;
    Ok((queue, dead_letter))
}

/// Deletes `table`; the failed call, if any.
pub async fn delete_table(
    client: &aws_sdk_dynamodb::Client,
    table: String,
) -> Option<ResourceError> {
    match client.delete_table().table_name(&table).send().await {
        Ok(_) => None,
        Err(error) => Some(build_error(
            "DeleteTable",
            &table,
            classify("DeleteTable", &error).reason(),
        )),
    }
}

/// Deletes the queue at `url`; the failed call, if any.
pub async fn delete_queue(client: &aws_sdk_sqs::Client, url: String) -> Option<ResourceError> {
    match client.delete_queue().queue_url(&url).send().await {
        Ok(_) => None,
        Err(error) => Some(build_error(
            "DeleteQueue",
            &url,
            classify("DeleteQueue", &error).reason(),
        )),
    }
}
