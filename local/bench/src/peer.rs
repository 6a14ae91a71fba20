//! The peer: TIM written with Powertools for AWS Lambda (Python), `bench/powertools_tim/`,
//! against our TIM, measured the same way on the same events and the same local AWS API.
//!
//! Both run as Lambda runs them: a new process talking to the runtime API stand-in (our
//! release `tim` binary; the peer's `bootstrap.py` under the project's `.venv` Python), fed
//! TIM's 10,000 records of the corpus in SQS events of 10, twice: first as the mix has them
//! ("distinct": the mix's own duplicates included), then the same events again ("all
//! duplicates"), each pass in a fresh process on the same tables. For each side and pass:
//!
//! - DynamoDB requests per event by operation. The peer counts its own (botocore's sends,
//!   written out at SIGTERM); ours are counted by the SDK interceptor with TIM's handler and
//!   DynamoDB adapter run in process on the same events against tables of their own (the
//!   binary cannot be instrumented from outside), so both count every HTTP request sent.
//! - The process's own CPU per event (user + system from `wait4`; moto runs in another process
//!   and is not counted).
//! - Cold start: process start (interpreter start, for the peer) to the first `next` request.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rewards_shared::ports::{
    CommonPorts, DynamoTimStateStore, ManualClock, MemoryDeadLetters, MemoryOutcomes, SqsPublisher,
};
use rewards_shared::stage::Stage;
use rewards_shared::telemetry::{MetricsOut, Telemetry};

use super::aws_calls::{create_table, CallCounter, CallCounts, DYNAMODB_READS, DYNAMODB_WRITES};
use super::cold_start::{function_command, run_process, Corpus, ProcessRun, Resources};
use super::driver::CurrentStage;
use super::runtime_api::StandIn;
use super::BenchError;

/// Powertools' idempotency table: `id` hash key, its own expiry (no DynamoDB TTL).
const IDEMPOTENCY_TABLE: aws_runner::resources::TableSchema = aws_runner::resources::TableSchema {
    hash_key: "id",
    range_key: None,
    ttl_attribute: None,
};

/// One pass of one side.
#[derive(Debug, Clone, Default)]
pub struct Pass {
    /// The process's run.
    pub run: ProcessRun,
    /// DynamoDB write requests per event.
    pub writes_per_event: f64,
    /// DynamoDB read requests per event.
    pub reads_per_event: f64,
    /// DynamoDB requests by operation.
    pub operations: BTreeMap<String, u64>,
}

/// One side: the distinct pass and the all-duplicates pass.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// First delivery of the mix.
    pub distinct: Pass,
    /// The same events again.
    pub duplicates: Pass,
}

/// Ours and the peer's.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Our TIM.
    pub ours: Side,
    /// TIM with Powertools.
    pub powertools: Side,
    /// Events per pass.
    pub events: usize,
}

fn per_event(operations: &BTreeMap<String, u64>, names: &[&str], events: usize) -> f64 {
    let n: u64 = operations
        .iter()
        .filter(|(op, _)| names.contains(&op.as_str()))
        .map(|(_, n)| n)
        .sum();
    n as f64 / events.max(1) as f64
}

fn pass(run: ProcessRun, operations: BTreeMap<String, u64>, events: usize) -> Pass {
    Pass {
        writes_per_event: per_event(&operations, &DYNAMODB_WRITES, events),
        reads_per_event: per_event(&operations, &DYNAMODB_READS, events),
        operations,
        run,
    }
}

fn dynamodb_operations(counts: &CallCounts) -> BTreeMap<String, u64> {
    let mut operations = BTreeMap::new();
    for ((_, service, operation), tally) in counts {
        if service.eq_ignore_ascii_case("dynamodb") {
            *operations.entry(operation.clone()).or_default() += tally.calls;
        }
    }
    operations
}

/// Runs both sides on TIM's share of `corpus`; our binary is `dir/tim`.
pub async fn run(dir: &Path, corpus: &Corpus) -> Result<Comparison, BenchError> {
    let (payloads, events) = corpus
        .payloads
        .get(&Stage::Tim)
        .cloned()
        .unwrap_or_default();
    let stand_in =
        StandIn::start(corpus.services.clone()).map_err(|e| BenchError::Io(e.to_string()))?;
    let prefix = format!("peer{}", std::process::id());

    // Ours: the binary for CPU and cold start, the handler in process for the counts.
    let ours_resources = Resources::create(&format!("{prefix}-ours")).await?;
    let _ours_purger = ours_resources.purger();
    let mut ours = Side::default();
    let counted = counted_tim_passes(&payloads, &format!("{prefix}-count")).await?;
    for (index, operations) in counted.into_iter().enumerate() {
        let command = function_command(dir, Stage::Tim, &stand_in, &ours_resources)
            .ok_or_else(|| BenchError::Io(format!("no binary {}", dir.join("tim").display())))?;
        let run = run_process(command, &stand_in, payloads.clone(), events);
        let result = pass(run, operations, events);
        if index == 0 {
            ours.distinct = result;
        } else {
            ours.duplicates = result;
        }
    }

    // The peer.
    let peer_resources = Resources::create(&format!("{prefix}-pt")).await?;
    let _peer_purger = peer_resources.purger();
    let sdk = rewards_shared::aws::load_sdk_config().await;
    let idempotency_table = format!("{prefix}-pt-idempotency");
    create_table(
        &aws_sdk_dynamodb::Client::new(&sdk),
        &idempotency_table,
        &IDEMPOTENCY_TABLE,
    )
    .await?;
    let script = Path::new("bench/powertools_tim/bootstrap.py");
    let python = Path::new(".venv/bin/python");
    if !script.is_file() || !python.is_file() {
        return Err(BenchError::Io(
            "the peer needs bench/powertools_tim/bootstrap.py and .venv/bin/python with \
             bench/requirements.txt installed (scripts/bench.sh does it)"
                .into(),
        ));
    }
    let mut powertools = Side::default();
    for index in 0..2 {
        let stats = std::env::temp_dir().join(format!("{prefix}-pt-{index}.json"));
        let mut command = Command::new(python);
        command
            .arg(script)
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench-powertools-tim")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("POWERTOOLS_SERVICE_NAME", "tim")
            .env("POWERTOOLS_LOG_LEVEL", "INFO")
            .env("PYTHONDONTWRITEBYTECODE", "")
            .env("BENCH_STATS_FILE", &stats)
            .env("TIM_TABLE", &peer_resources.tim_table)
            .env("IDEMPOTENCY_TABLE", &idempotency_table)
            .env(
                "RELEVANT_QUEUE_URL",
                peer_resources.queue("relevant-events"),
            )
            .env(
                "UNQUALIFICATION_QUEUE_URL",
                peer_resources.queue("relevant-unqualification-events"),
            )
            .env(
                "MSQ_DELETE_QUEUE_URL",
                peer_resources.queue("msq-inbound-delete"),
            );
        let run = run_process(command, &stand_in, payloads.clone(), events);
        let counts: BTreeMap<String, u64> = std::fs::read_to_string(&stats)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let _ = std::fs::remove_file(&stats);
        let operations = counts
            .into_iter()
            .filter_map(|(key, n)| {
                let (service, operation) = key.split_once(':')?;
                (service == "dynamodb").then(|| (operation.to_owned(), n))
            })
            .collect();
        let result = pass(run, operations, events);
        if index == 0 {
            powertools.distinct = result;
        } else {
            powertools.duplicates = result;
        }
    }
    Ok(Comparison {
        ours,
        powertools,
        events,
    })
}

/// TIM's handler with the DynamoDB adapter, in process, on `payloads` twice (distinct, then
/// all duplicates) against a fresh table: DynamoDB requests by operation per pass.
async fn counted_tim_passes(
    payloads: &[String],
    prefix: &str,
) -> Result<Vec<BTreeMap<String, u64>>, BenchError> {
    let sdk = rewards_shared::aws::load_sdk_config().await;
    let resources = Resources::create(prefix).await?;
    let _purger = resources.purger();
    let counter = CallCounter::new(CurrentStage::default());
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queues = rewards_shared::ports::Destination::ALL
        .iter()
        .map(|d| (*d, resources.queue(d.queue_name())));
    let handler = tim::Handler::new(
        "tim",
        DynamoTimStateStore::new(
            dynamodb,
            resources.tim_table.clone(),
            chrono::Duration::days(7),
        ),
        CommonPorts::new(
            SqsPublisher::new(sqs, queues),
            Arc::new(MemoryDeadLetters::new()),
            ManualClock::new(chrono::Utc::now()),
            Telemetry::new(
                Stage::Tim,
                "bench",
                "RewardMessaging",
                Arc::new(MemoryOutcomes::new()),
                MetricsOut::Discard,
            ),
        ),
    );
    // Parsed as Lambda's runtime client parses them for the handler.
    let events: Vec<rewards_shared::lambda_event::SqsEvent> = payloads
        .iter()
        .filter_map(|p| serde_json::from_str(p).ok())
        .collect();
    let mut passes = Vec::new();
    for _ in 0..2 {
        counter.reset();
        for event in &events {
            handler.handle(event).await;
        }
        passes.push(dynamodb_operations(&counter.counts()));
    }
    Ok(passes)
}
