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
//!
//! - [`stack`]: the template's declarations and the calls creating one table or queue.

pub mod stack;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::{join_all, try_join_all};
use rewards_shared::aws::classify::classify;
use rewards_shared::ports::Destination;
use rewards_shared::stage::Stage;
use scenario_runner::queues::consumer;

pub use stack::{
    create_queue, create_queue_pair, create_table, delete_queue, delete_table, Queue, QueueSpec,
    ResourceError, ResourceTag, TableSchema, DEAD_LETTER_RETENTION_SECONDS, MAX_RECEIVE_COUNT,
    MSQ_TABLE, QUEUE_RETENTION_SECONDS, TABLE_ACTIVE_WAIT, TIM_TABLE, TTL_ATTRIBUTE,
};

/// The tag every resource of a run carries, with the run's prefix as its value.
pub const RUN_TAG: &str = "rewards-run";

/// The stages with a dead-letter queue, in the stack's order.
pub const DEAD_LETTER_STAGES: [Stage; 5] =
    [Stage::Dec, Stage::Tim, Stage::Fred, Stage::Bcg, Stage::Msq];

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
            create_table(dynamodb, &tim_table, &TIM_TABLE, Some((RUN_TAG, prefix))),
            create_table(dynamodb, &msq_table, &MSQ_TABLE, Some((RUN_TAG, prefix))),
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

type Created = (BTreeMap<Destination, Queue>, BTreeMap<Stage, Queue>);

/// Creates the dead-letter queues, then the input queues redriving into them.
async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    settings: &QueueSettings,
) -> Result<Created, ResourceError> {
    let tag = Some((RUN_TAG, prefix));
    let dead = try_join_all(DEAD_LETTER_STAGES.map(|stage| {
        // A FIFO queue's dead-letter queue must be FIFO too.
        let fifo = Destination::ALL
            .into_iter()
            .any(|destination| consumer(destination) == stage && destination.is_fifo());
        let base = format!("{prefix}-{}-dlq", stage.as_str());
        async move {
            create_queue(client, &base, &QueueSpec::dead_letter(fifo), tag)
                .await
                .map(|queue| (stage, queue))
        }
    }))
    .await?;
    let dead_letter_queues: BTreeMap<Stage, Queue> = dead.into_iter().collect();
    let inputs = try_join_all(Destination::ALL.map(|destination| {
        let base = format!("{prefix}-{}", destination.queue_name());
        let spec = dead_letter_queues
            .get(&consumer(destination))
            .map(|dead_letter| {
                QueueSpec::input(
                    destination.is_fifo(),
                    settings.visibility_timeout,
                    dead_letter,
                    settings.max_receive_count,
                )
            });
        async move {
            let spec = spec.ok_or_else(|| {
                stack::build_error(
                    "CreateQueue",
                    &base,
                    "no dead-letter queue for its consumer",
                )
            })?;
            create_queue(client, &base, &spec, tag)
                .await
                .map(|queue| (destination, queue))
        }
    }))
    .await?;
    Ok((inputs.into_iter().collect(), dead_letter_queues))
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
        Err(error) => errors.push(stack::build_error(
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
