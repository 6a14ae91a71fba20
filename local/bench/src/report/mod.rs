//! The benchmark's report: a table for a person, and its JSON (`--json FILE`).
//!
//! Sections that were not run are `null` in the JSON and absent from the table. Keys beyond
//! the shape (`machine`, `mix`, `targets`, details under each section) are additions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewards_shared::stage::Stage;
use serde_json::{json, Map, Value};

use crate::aws_calls::{AwsCalls, DYNAMODB_READS, DYNAMODB_WRITES, SQS_SENDS};
use crate::cold_start::ProcessRun;
use crate::cost::{Cost, PRICES};
use crate::latency::{Model, Point, P99_TARGET_MS, RATES};
use crate::mix::Composition;
use crate::peer::{Comparison, Pass};
use crate::throughput::Throughput;
use crate::Options;

mod json;
mod table;

/// The performance targets.
pub mod targets {
    /// TIM's DynamoDB writes per event, at most.
    pub const TIM_WRITES: f64 = 1.0;
    /// TIM's DynamoDB reads per event, at most.
    pub const TIM_READS: f64 = 0.0;
    /// SQS send calls per record handled on a hop, at most.
    pub const SQS_SENDS_PER_RECORD: f64 = 0.1;
    /// Chain CPU per event, Lambda's event decoding included, µs, at most.
    pub const CHAIN_CPU_MICROS: f64 = 20.0;
    /// Cold start, ms, at most.
    pub const COLD_START_MILLIS: f64 = 15.0;
    /// Stripped arm64 binary, bytes, at most.
    pub const BINARY_BYTES: u64 = 6 * 1024 * 1024;
    /// Peak RSS, bytes, at most.
    pub const PEAK_RSS_BYTES: u64 = 20 * 1024 * 1024;
    /// Cost per million events, US dollars, at most.
    pub const COST_PER_MILLION: f64 = 0.90;
}

/// The machine the figures came from.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Logical CPUs (`nproc`).
    pub cpus: usize,
    /// CPU model (`/proc/cpuinfo`).
    pub cpu_model: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
        }
    }
}

/// Everything measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// The seed of the mix.
    pub seed: u64,
    /// What the in-memory mix holds.
    pub mix: Option<Composition>,
    /// The in-memory run.
    pub throughput: Option<Throughput>,
    /// The run against the local AWS API.
    pub aws: Option<AwsCalls>,
    /// Cost per million events.
    pub cost: Option<Cost>,
    /// Each release binary's run.
    pub cold_starts: BTreeMap<Stage, ProcessRun>,
    /// The arm64 `bootstrap` sizes.
    pub binary_bytes: BTreeMap<Stage, u64>,
    /// TIM against its Powertools peer.
    pub peer: Option<Comparison>,
    /// The latency model.
    pub latency: Option<Model>,
    /// The runner's model against a `--aws` run on the wall clock.
    pub latency_check: Option<crate::latency::LatencyCheck>,
}

const STAGES: [Stage; 6] = Stage::ALL;

fn round(value: f64, places: i32) -> Value {
    let factor = 10f64.powi(places);
    json!((value * factor).round() / factor)
}

/// `met` or how far off a figure is.
fn verdict(value: f64, target: f64) -> String {
    if value <= target + 1e-9 {
        "met".to_owned()
    } else if target == 0.0 {
        format!("MISSED (by {value:.3})")
    } else {
        format!("MISSED by {:.0} %", (value / target - 1.0) * 100.0)
    }
}

/// Per stage: DynamoDB writes, reads and SQS sends per chain event, and SQS sends per record
/// the stage handled (the hop: the target is ≤0.1, a full batch of 10 per call).
fn aws_per_event(aws: &AwsCalls, stage: Stage) -> (f64, f64, f64, Option<f64>) {
    let writes = aws.calls(stage, "dynamodb", &DYNAMODB_WRITES);
    let reads = aws.calls(stage, "dynamodb", &DYNAMODB_READS);
    let sends = aws.calls(stage, "sqs", &SQS_SENDS);
    let records = aws.tally.stages.get(&stage).map_or(0, |t| t.records);
    let per_record = (sends > 0 && records > 0).then(|| sends as f64 / records as f64);
    (
        aws.per_event(writes),
        aws.per_event(reads),
        aws.per_event(sends),
        per_record,
    )
}

/// SQS sends per message a stage published (10 messages per call at best).
fn sends_per_message(aws: &AwsCalls, stage: Stage) -> Option<f64> {
    let sends = aws.calls(stage, "sqs", &SQS_SENDS);
    let emitted = aws.tally.stages.get(&stage).map_or(0, |t| t.emitted);
    (emitted > 0).then(|| sends as f64 / emitted as f64)
}

/// TIM's DynamoDB writes and reads per record TIM handled.
fn tim_per_record(aws: &AwsCalls) -> (f64, f64) {
    let records = aws
        .tally
        .stages
        .get(&Stage::Tim)
        .map_or(0, |t| t.records)
        .max(1) as f64;
    (
        aws.calls(Stage::Tim, "dynamodb", &DYNAMODB_WRITES) as f64 / records,
        aws.calls(Stage::Tim, "dynamodb", &DYNAMODB_READS) as f64 / records,
    )
}

fn millis(run: &ProcessRun) -> Option<f64> {
    run.cold_start.map(|d| d.as_secs_f64() * 1000.0)
}

impl Report {
    /// An empty report for `options`.
    pub fn new(options: &Options) -> Self {
        Report {
            machine: Machine::this(),
            seed: options.seed,
            ..Report::default()
        }
    }
}
