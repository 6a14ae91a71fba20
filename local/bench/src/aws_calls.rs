//! AWS calls per event: the mix through the real DynamoDB and SQS adapters against a local AWS
//! API (moto), every request counted by an SDK interceptor, by stage and operation.
//!
//! The pipeline is the runner's, on a backend whose TIM and MSQ stores are the DynamoDB
//! adapters, whose dead-letter sink is the SQS adapter, and whose publisher sends every message
//! with the SQS adapter (`SendMessageBatch`) and hands what was sent to the in-memory queues,
//! which deliver it in batches of up to [`scenario_runner::queues::BATCH_SIZE`] (the default
//! `SqsBatchSize` of every SQS event source in `template.yaml`; DEC and MSQ's online trigger
//! get MSK batches of `MskBatchSize`, 100).
//! PPH, CSL and OSG are the in-memory stand-ins: they are HTTP services, not AWS.
//!
//! What Lambda's event source mappings do on the queues (`ReceiveMessage`, `DeleteMessageBatch`)
//! is not our code and is not sent to moto: it is counted from the batches delivered, one
//! receive and one delete call per ten messages of a batch (SQS's limit per call), which is what
//! a busy queue costs (empty polls of an idle queue are a fixed cost per hour, not per event).
//!
//! Every request is counted, retries included (each is billed). Which stage made it is read
//! from [`CurrentStage`]: the runner runs one invocation at a time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sqs::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use rewards_shared::ports::{
    Destination, DynamoMessageStore, DynamoTimStateStore, ManualClock, MemoryPublisher,
    OutgoingMessage, PublishError, Publisher, SqsDeadLetters, SqsPublisher,
};
use rewards_shared::stage::Stage;

use super::driver::{feed, CurrentStage, QueueTally, Recording, RunTally};
use super::mix::Mix;
use super::BenchError;
use aws_runner::resources::{self, QueueSpec, TableSchema};
use aws_runner::AwsStoresBackend;
use scenario_runner::backend::{MemoryTransport, Ports};
use scenario_runner::pipeline::{Pipeline, StandIns};

/// The AWS API endpoint from `AWS_ENDPOINT_URL`, if it is a loopback address: the benchmark
/// never talks to AWS itself.
pub fn local_endpoint() -> Result<String, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
        "AWS_ENDPOINT_URL is not set: run under scripts/with-moto.sh (see scripts/bench.sh)"
            .to_owned()
    })?;
    let host = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(endpoint)
    } else {
        Err(format!(
            "AWS_ENDPOINT_URL={endpoint} is not a loopback address; the benchmark only talks \
             to a local AWS API"
        ))
    }
}

/// Requests of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationTally {
    /// Requests sent (retries included).
    pub calls: u64,
    /// Bytes of the request bodies.
    pub request_bytes: u64,
    /// Bytes of the response bodies (`Content-Length`).
    pub response_bytes: u64,
}

/// Requests by stage, service and operation.
pub type CallCounts = BTreeMap<(Stage, String, String), OperationTally>;

/// Counts every request of the clients it is installed in (an SDK interceptor).
#[derive(Debug, Clone)]
pub struct CallCounter {
    current: CurrentStage,
    counts: Arc<Mutex<CallCounts>>,
}

impl CallCounter {
    /// A counter attributing requests to `current`.
    pub fn new(current: CurrentStage) -> Self {
        CallCounter {
            current,
            counts: Arc::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> CallCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Forgets the counts so far.
    pub fn reset(&self) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.clear();
        }
    }

    fn add(&self, cfg: &ConfigBag, add: impl FnOnce(&mut OperationTally)) {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("?".into(), "?".into()));
        if let Ok(mut counts) = self.counts.lock() {
            add(counts
                .entry((self.current.get(), service, operation))
                .or_default());
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "BenchCallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let bytes = context.request().body().bytes().map_or(0, <[u8]>::len) as u64;
        self.add(cfg, |tally| {
            tally.calls += 1;
            tally.request_bytes += bytes;
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let bytes = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        self.add(cfg, |tally| tally.response_bytes += bytes);
        Ok(())
    }
}

/// Publishes with the SQS adapter, then hands what was sent to the in-memory queues.
#[derive(Clone)]
pub struct SqsThenMemory {
    sqs: SqsPublisher,
    memory: Arc<MemoryPublisher>,
}

impl Publisher for SqsThenMemory {
    async fn publish(&self, messages: Vec<OutgoingMessage>) -> Result<(), PublishError> {
        let result = self.sqs.publish(messages.clone()).await;
        let failed: Vec<&str> = match &result {
            Ok(()) => Vec::new(),
            Err(error) => error.failed.iter().map(|f| f.id.as_str()).collect(),
        };
        let sent = messages
            .into_iter()
            .filter(|m| !failed.contains(&m.id.as_str()))
            .collect();
        self.memory.publish(sent).await?;
        result
    }
}

/// DynamoDB and SQS through the AWS adapters; the HTTP services in memory.
pub type AwsCallsBackend = AwsStoresBackend<SqsThenMemory, SqsDeadLetters>;

/// What the AWS run measured.
#[derive(Debug, Clone, Default)]
pub struct AwsCalls {
    /// Invocations, records, handler time (AWS calls to moto included) and outcomes.
    pub tally: RunTally,
    /// Requests our code made, by stage and operation.
    pub counts: CallCounts,
    /// What the event source mappings received from each queue.
    pub queues: BTreeMap<Destination, QueueTally>,
    /// Largest item in TIM's table (bytes, DynamoDB's item size).
    pub tim_item_bytes: u64,
    /// Largest item in MSQ's table.
    pub msq_item_bytes: u64,
}

impl AwsCalls {
    /// Kafka records fed.
    pub fn events(&self) -> u64 {
        self.tally.records_fed
    }

    /// Requests of `stage` to `service` whose operation is one of `operations`.
    pub fn calls(&self, stage: Stage, service: &str, operations: &[&str]) -> u64 {
        self.counts
            .iter()
            .filter(|((s, sv, op), _)| {
                *s == stage && sv.eq_ignore_ascii_case(service) && operations.contains(&op.as_str())
            })
            .map(|(_, t)| t.calls)
            .sum()
    }

    /// Per event: `calls / events`.
    pub fn per_event(&self, calls: u64) -> f64 {
        if self.events() == 0 {
            0.0
        } else {
            calls as f64 / self.events() as f64
        }
    }
}

/// DynamoDB operations that write.
pub const DYNAMODB_WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];
/// DynamoDB operations that read.
pub const DYNAMODB_READS: [&str; 5] = [
    "GetItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "TransactGetItems",
];
/// SQS operations that send.
pub const SQS_SENDS: [&str; 2] = ["SendMessage", "SendMessageBatch"];

/// Runs `mix` against the local AWS API and counts the calls.
pub async fn run(mix: &Mix) -> Result<AwsCalls, BenchError> {
    let sdk = rewards_shared::aws::load_sdk_config().await;
    let plain_dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let plain_sqs = aws_sdk_sqs::Client::new(&sdk);
    let current = CurrentStage::default();
    let counter = CallCounter::new(current.clone());
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let run_id = format!("bench{}", std::process::id());
    let tim_table = format!("{run_id}-tim-state");
    let msq_table = format!("{run_id}-msq-messages");
    create_table(&plain_dynamodb, &tim_table, &resources::TIM_TABLE).await?;
    create_table(&plain_dynamodb, &msq_table, &resources::MSQ_TABLE).await?;
    let mut queues = Vec::new();
    for destination in Destination::ALL {
        let url = create_queue(
            &plain_sqs,
            &format!("{run_id}-{}", destination.queue_name()),
        )
        .await?;
        queues.push((destination, url));
    }
    let dlq = create_queue(&plain_sqs, &format!("{run_id}-dlq")).await?;
    let _purger = Purger::start(
        queues
            .iter()
            .map(|(_, url)| url.clone())
            .chain([dlq.clone()])
            .collect(),
    );

    let scenario = &mix.scenario;
    let stand_ins = StandIns::new(scenario);
    let memory = Arc::new(MemoryPublisher::new());
    let ports = Ports::<AwsCallsBackend> {
        promotions: stand_ins.promotions,
        tim_store: DynamoTimStateStore::new(
            dynamodb.clone(),
            tim_table.clone(),
            chrono::Duration::days(7),
        ),
        publisher: SqsThenMemory {
            sqs: SqsPublisher::new(sqs.clone(), queues),
            memory: Arc::clone(&memory),
        },
        dead_letters: SqsDeadLetters::new(sqs, dlq),
        templates: stand_ins.templates,
        onsite: Arc::clone(&stand_ins.onsite),
        store: DynamoMessageStore::new(dynamodb, msq_table.clone()),
    };
    let transport = Recording::new(MemoryTransport::new(memory), current.clone());
    let log = transport.log();
    let mut pipeline = Pipeline::new(
        scenario,
        ports,
        stand_ins.onsite,
        ManualClock::new(scenario.now),
        transport,
    )?;
    let mut tally = RunTally::default();
    feed(&mut pipeline, &mix.inputs, &current, &mut tally).await;
    let queues = log
        .lock()
        .map(|mut log| std::mem::take(&mut log.queues))
        .unwrap_or_default();
    Ok(AwsCalls {
        tally,
        counts: counter.counts(),
        queues,
        tim_item_bytes: largest_item(&plain_dynamodb, &tim_table).await?,
        msq_item_bytes: largest_item(&plain_dynamodb, &msq_table).await?,
    })
}

fn aws_error(what: &str, error: impl std::fmt::Display) -> BenchError {
    BenchError::Aws(format!("{what}: {error}"))
}

/// Creates `table` as the stack declares `schema` (on demand, TTL on), through the one
/// function every run against an AWS API creates its tables with.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    schema: &TableSchema,
) -> Result<(), BenchError> {
    resources::create_table(client, table, schema, None)
        .await
        .map_err(|e| BenchError::Aws(e.to_string()))
}

/// Creates a standard queue (the stack's retention and encryption, no consumer, so no
/// redrive: the benchmark's queues are only emptied) and returns its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> Result<String, BenchError> {
    let spec = QueueSpec {
        fifo: false,
        retention_seconds: resources::QUEUE_RETENTION_SECONDS,
        visibility_timeout: None,
        redrive: None,
    };
    resources::create_queue(client, name, &spec, None)
        .await
        .map(|queue| queue.url)
        .map_err(|e| BenchError::Aws(e.to_string()))
}

/// The largest item of `table`, by DynamoDB's item size rules (a full scan: a bench table).
async fn largest_item(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<u64, BenchError> {
    let mut largest = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    &format!("scan {table}"),
                    aws_sdk_dynamodb::error::DisplayErrorContext(e),
                )
            })?;
        for item in page.items() {
            let size: u64 = item
                .iter()
                .map(|(name, value)| name.len() as u64 + value_size(value))
                .sum();
            largest = largest.max(size);
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(largest);
        }
    }
}

/// An attribute value's size as DynamoDB counts it (close enough for capacity units).
pub fn value_size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => (n.trim_start_matches('-').len() as u64).div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::Ss(items) => items.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(items) => items.iter().map(|n| n.len() as u64 / 2 + 1).sum(),
        _ => 0,
    }
}

/// Empties queues in the local AWS API every half second, from a thread of its own, until
/// dropped: the event source mappings would consume those messages, and moto slows down with
/// every message a queue holds (each send walks the whole queue), which would make the
/// handlers' measured times grow with the run's length. Its requests are not counted.
pub struct Purger {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Purger {
    /// Starts purging `queue_urls`.
    pub fn start(queue_urls: Vec<String>) -> Purger {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let sdk = rewards_shared::aws::load_sdk_config().await;
                let sqs = aws_sdk_sqs::Client::new(&sdk);
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    for url in &queue_urls {
                        let _ = sqs.purge_queue().queue_url(url).send().await;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            });
        });
        Purger {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Purger {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
