//! The benchmark's report: a table for a person, and its JSON (`--json FILE`).
//!
//! Sections that were not run are `null` in the JSON and absent from the table. Keys beyond
//! the shape (`machine`, `mix`, `targets`, details under each section) are additions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewards_shared::stage::Stage;
use serde_json::{json, Map, Value};

use super::aws_calls::{AwsCalls, DYNAMODB_READS, DYNAMODB_WRITES, SQS_SENDS};
use super::cold_start::ProcessRun;
use super::cost::{Cost, PRICES};
use super::latency::{Model, Point, P99_TARGET_MS, RATES};
use super::mix::Composition;
use super::peer::{Comparison, Pass};
use super::throughput::Throughput;
use super::Options;

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
    pub const BINARY_BYTES: u64 = 8 * 1024 * 1024;
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
}

const STAGES: [Stage; 6] = [
    Stage::Dec,
    Stage::Tim,
    Stage::Fred,
    Stage::Des,
    Stage::Bcg,
    Stage::Msq,
];

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

    /// The report's JSON.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "machine".into(),
            json!({"nproc": self.machine.cpus, "cpuModel": self.machine.cpu_model,
                   "arch": std::env::consts::ARCH}),
        );
        out.insert(
            "mix".into(),
            json!({"seed": self.seed, "composition": self.mix}),
        );
        out.insert(
            "targets".into(),
            json!({
            "timDynamodbWritesPerEvent": targets::TIM_WRITES,
            "timDynamodbReadsPerEvent": targets::TIM_READS,
            "sqsSendCallsPerEventPerHop": targets::SQS_SENDS_PER_RECORD,
            "chainCpuMicrosPerEvent": targets::CHAIN_CPU_MICROS,
            "coldStartMillis": targets::COLD_START_MILLIS,
            "binaryBytes": targets::BINARY_BYTES,
            "peakRssBytes": targets::PEAK_RSS_BYTES,
            "costPerMillionEvents": targets::COST_PER_MILLION,
            "latencyP99Millis": P99_TARGET_MS}),
        );
        let (chain, stages) = match &self.throughput {
            Some(t) => (
                json!({"events": t.events,
                       "eventsPerSecond": round(t.events_per_second(), 0),
                       "cpuMicrosPerEvent": round(t.cpu_micros_per_event() + t.decode_micros_per_event(), 2),
                       "handlerCpuMicrosPerEvent": round(t.cpu_micros_per_event(), 2),
                       "lambdaEventDecodeMicrosPerEvent": round(t.decode_micros_per_event(), 2),
                       "desRequests": t.tally.des_requests,
                       "desEventsPerRequest": round(t.des_events_per_call, 2),
                       "outcomes": t.tally.outcomes}),
                Value::Object(
                    STAGES
                        .iter()
                        .map(|s| {
                            let tally = t.tally.stages.get(s);
                            (s.as_str().to_owned(), json!({
                                "recordsPerSecond": round(t.stage_records_per_second(*s), 0),
                                "records": if *s == Stage::Des { t.tally.des_calls() } else { tally.map_or(0, |t| t.records) },
                                "invocations": tally.map_or(0, |t| t.invocations)}))
                        })
                        .collect(),
                ),
            ),
            None => (Value::Null, Value::Null),
        };
        out.insert("chain".into(), chain);
        out.insert("stages".into(), stages);
        let (calls, invocations) = match (&self.aws, &self.cost) {
            (Some(aws), Some(cost)) => {
                let mut calls = Map::new();
                for stage in [Stage::Dec, Stage::Tim, Stage::Fred, Stage::Bcg, Stage::Msq] {
                    let (w, r, s, per_record) = aws_per_event(aws, stage);
                    calls.insert(
                        stage.as_str().to_owned(),
                        json!({"dynamodbWrite": round(w, 4), "dynamodbRead": round(r, 4),
                               "sqsSend": round(s, 4),
                               "sqsSendPerRecordHandled": per_record.map(|v| round(v, 4)),
                               "sqsSendPerMessageSent": sends_per_message(aws, stage).map(|v| round(v, 4))}),
                    );
                }
                let (w, r) = tim_per_record(aws);
                calls.insert(
                    "timPerRecord".into(),
                    json!({"dynamodbWrite": round(w, 4), "dynamodbRead": round(r, 4)}),
                );
                calls.insert("events".into(), json!(aws.events()));
                let by_operation: Vec<Value> = aws
                    .counts
                    .iter()
                    .map(|((stage, service, operation), t)| {
                        json!({"stage": stage.as_str(), "service": service,
                               "operation": operation, "calls": t.calls,
                               "perEvent": round(aws.per_event(t.calls), 4)})
                    })
                    .collect();
                calls.insert("byOperation".into(), Value::Array(by_operation));
                let invocations: Map<String, Value> = cost
                    .invocations_per_event
                    .iter()
                    .map(|(s, n)| (s.as_str().to_owned(), round(*n, 4)))
                    .collect();
                (Value::Object(calls), Value::Object(invocations))
            }
            _ => (Value::Null, Value::Null),
        };
        out.insert("awsCallsPerEvent".into(), calls);
        out.insert("lambdaInvocationsPerEvent".into(), invocations);
        out.insert(
            "costPerMillionEvents".into(),
            match &self.cost {
                Some(c) => json!({"lambda": round(c.lambda, 4), "dynamodb": round(c.dynamodb, 4),
                    "sqs": round(c.sqs, 4), "sqsStandardQueues": round(c.sqs_standard, 4),
                    "total": round(c.total(), 4),
                    "lambdaCpuOnly": round(c.lambda_cpu_only, 4),
                    "writeUnitsPerEvent": round(c.write_units_per_event, 4),
                    "readUnitsPerEvent": round(c.read_units_per_event, 4),
                    "sqsRequestsPerEvent": round(c.sqs_requests_per_event, 4),
                    "pricesAsOf": PRICES.as_of, "region": PRICES.region}),
                None => Value::Null,
            },
        );
        let per_function = |f: &dyn Fn(&ProcessRun) -> Value| -> Value {
            if self.cold_starts.is_empty() {
                return Value::Null;
            }
            Value::Object(
                self.cold_starts
                    .iter()
                    .map(|(s, run)| (s.as_str().to_owned(), f(run)))
                    .collect(),
            )
        };
        out.insert(
            "coldStartMillis".into(),
            per_function(&|r| millis(r).map_or(Value::Null, |m| round(m, 2))),
        );
        out.insert(
            "binaryBytes".into(),
            if self.binary_bytes.is_empty() {
                Value::Null
            } else {
                json!(self
                    .binary_bytes
                    .iter()
                    .map(|(s, b)| (s.as_str(), *b))
                    .collect::<BTreeMap<_, _>>())
            },
        );
        out.insert("peakRssBytes".into(), per_function(&|r| json!(r.peak_rss)));
        out.insert(
            "binaryRuns".into(),
            per_function(&|r| {
                json!({"records": r.records, "responses": r.responses, "errors": r.errors,
                       "cpuMicrosPerRecord": r.cpu_micros_per_record().map(|v| round(v, 1)),
                       "outputBytesPerRecord": (r.records > 0).then(|| round(r.output_bytes as f64 / r.records as f64, 1)),
                       "problem": r.problem, "arch": std::env::consts::ARCH})
            }),
        );
        let (latency, model) = match &self.latency {
            Some(m) => (
                Value::Object(
                    m.recommended
                        .outcomes
                        .iter()
                        .map(|o| {
                            (
                                format!("{}", o.rate),
                                json!({"p50": round(o.p50_ms, 0), "p99": round(o.p99_ms, 0),
                                       "costPerMillionEvents": round(o.cost_per_million, 4)}),
                            )
                        })
                        .collect(),
                ),
                model_json(m),
            ),
            None => (Value::Null, Value::Null),
        };
        out.insert("latencyMillis".into(), latency);
        out.insert("latencyModel".into(), model);
        out.insert(
            "peers".into(),
            match &self.peer {
                Some(p) => {
                    let side = |s: &super::peer::Side| {
                        json!({
                            "dynamodbWritePerEvent": round(s.distinct.writes_per_event, 3),
                            "dynamodbReadPerEvent": round(s.distinct.reads_per_event, 3),
                            "dynamodbWritePerDuplicateEvent": round(s.duplicates.writes_per_event, 3),
                            "dynamodbReadPerDuplicateEvent": round(s.duplicates.reads_per_event, 3),
                            "cpuMicrosPerEvent": s.distinct.run.cpu_micros_per_record().map(|v| round(v, 1)),
                            "cpuMicrosPerDuplicateEvent": s.duplicates.run.cpu_micros_per_record().map(|v| round(v, 1)),
                            "coldStartMillis": millis(&s.distinct.run).map(|v| round(v, 1)),
                            "peakRssBytes": s.distinct.run.peak_rss,
                            "operations": {"distinct": s.distinct.operations, "duplicates": s.duplicates.operations},
                            "problems": [s.distinct.run.problem, s.duplicates.run.problem]})
                    };
                    let mut peers = Map::new();
                    peers.insert("events".into(), json!(p.events));
                    peers.insert("powertoolsTim".into(), side(&p.powertools));
                    peers.insert("oursTim".into(), side(&p.ours));
                    peers.insert("ratios".into(), ratios_json(p));
                    Value::Object(peers)
                }
                None => Value::Null,
            },
        );
        Value::Object(out)
    }

    /// The table for a person.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rewards bench — {} ({} CPUs, {}), mix seed {}",
            self.machine.cpu_model,
            self.machine.cpus,
            std::env::consts::ARCH,
            self.seed
        );
        if let Some(t) = &self.throughput {
            let _ = writeln!(out, "\nchain, in memory, one core ({} events)", t.events);
            let total = t.cpu_micros_per_event() + t.decode_micros_per_event();
            let _ = writeln!(
                out,
                "  {:>10.0} events/s   {:>7.2} µs CPU/event with Lambda's event decoding   target ≤{} µs: {}",
                1e6 / total.max(1e-9),
                total,
                targets::CHAIN_CPU_MICROS,
                verdict(total, targets::CHAIN_CPU_MICROS)
            );
            let _ = writeln!(
                out,
                "  of which handlers {:.2} µs, Lambda event JSON decoding {:.2} µs; DES: {} requests, {:.1} events each",
                t.cpu_micros_per_event(),
                t.decode_micros_per_event(),
                t.tally.des_requests,
                t.des_events_per_call
            );
            let _ = writeln!(out, "  stage  records/s (handler time)");
            for stage in STAGES {
                let _ = writeln!(
                    out,
                    "  {:<5} {:>11.0}",
                    stage.as_str(),
                    t.stage_records_per_second(stage)
                );
            }
        }
        if let (Some(aws), Some(cost)) = (&self.aws, &self.cost) {
            let _ = writeln!(
                out,
                "\nAWS calls per event, against moto ({} events)",
                aws.events()
            );
            let _ = writeln!(
                out,
                "  stage  ddb write   ddb read   sqs send  sends/record in  sends/message out  invocations/event"
            );
            for stage in [Stage::Dec, Stage::Tim, Stage::Fred, Stage::Bcg, Stage::Msq] {
                let (w, r, s, m) = aws_per_event(aws, stage);
                let n = cost
                    .invocations_per_event
                    .iter()
                    .find(|(st, _)| *st == stage)
                    .map_or(0.0, |(_, n)| *n);
                let mark = |m: f64| {
                    if m <= targets::SQS_SENDS_PER_RECORD + 1e-9 {
                        "✓"
                    } else {
                        "✗"
                    }
                };
                let _ = writeln!(
                    out,
                    "  {:<5} {:>10.4} {:>10.4} {:>9.4} {:>16} {:>18} {:>18.4}",
                    stage.as_str(),
                    w,
                    r,
                    s,
                    m.map_or("-".into(), |m| format!("{m:.4} {}", mark(m))),
                    sends_per_message(aws, stage).map_or("-".into(), |m| format!("{m:.4}")),
                    n
                );
            }
            let (w, r) = tim_per_record(aws);
            let _ = writeln!(
                out,
                "  TIM per record it handled: {w:.3} writes ({}), {r:.3} reads ({})",
                verdict(w, targets::TIM_WRITES),
                verdict(r, targets::TIM_READS)
            );
            let _ = writeln!(
                out,
                "\ncost per million events ({}, list prices as of {})",
                PRICES.region, PRICES.as_of
            );
            let _ = writeln!(
                out,
                "  lambda ${:.4} (compute-only floor ${:.4})  dynamodb ${:.4}  sqs ${:.4}  total ${:.4}   target ≤${}: {}",
                cost.lambda,
                cost.lambda_cpu_only,
                cost.dynamodb,
                cost.sqs,
                cost.total(),
                targets::COST_PER_MILLION,
                verdict(cost.total(), targets::COST_PER_MILLION)
            );
        }
        if !self.cold_starts.is_empty() || !self.binary_bytes.is_empty() {
            let _ = writeln!(
                out,
                "\nbinaries: cold start and memory are {} release builds (not arm64); sizes are the arm64 bootstraps",
                std::env::consts::ARCH
            );
            let _ = writeln!(
                out,
                "  fn    cold start   peak RSS   CPU µs/record  log B/record  arm64 size"
            );
            for stage in STAGES {
                let run = self.cold_starts.get(&stage);
                let size = self.binary_bytes.get(&stage);
                let _ = writeln!(
                    out,
                    "  {:<5} {:>10} {:>10} {:>14} {:>13} {:>11}{}",
                    stage.as_str(),
                    run.and_then(millis)
                        .map_or("-".into(), |m| format!("{m:.1} ms")),
                    run.and_then(|r| r.peak_rss)
                        .map_or("-".into(), |b| format!("{:.1} MB", b as f64 / 1048576.0)),
                    run.and_then(ProcessRun::cpu_micros_per_record)
                        .map_or("-".into(), |c| format!("{c:.1}")),
                    run.filter(|r| r.records > 0)
                        .map_or("-".into(), |r| format!(
                            "{:.0}",
                            r.output_bytes as f64 / r.records as f64
                        )),
                    size.map_or("-".into(), |b| format!("{:.2} MB", *b as f64 / 1048576.0)),
                    run.and_then(|r| r.problem.as_ref())
                        .map_or(String::new(), |p| format!("  ({p})"))
                );
            }
            let _ = writeln!(
                out,
                "  targets: cold start ≤{} ms, peak RSS ≤{} MB, arm64 binary ≤{} MB",
                targets::COLD_START_MILLIS,
                targets::PEAK_RSS_BYTES / 1048576,
                targets::BINARY_BYTES / 1048576
            );
        }
        if let Some(m) = &self.latency {
            model_table(&mut out, m);
        }
        if let Some(p) = &self.peer {
            let _ = writeln!(
                out,
                "\nTIM against TIM with Powertools (Python), {} events per pass, same moto",
                p.events
            );
            let _ = writeln!(
                out,
                "  side        writes/ev  reads/ev  dup writes/ev  dup reads/ev  CPU µs/ev  dup CPU µs/ev  cold start"
            );
            for (name, side) in [("ours", &p.ours), ("powertools", &p.powertools)] {
                let cpu = |pass: &Pass| {
                    pass.run
                        .cpu_micros_per_record()
                        .map_or("-".into(), |c| format!("{c:.0}"))
                };
                let _ = writeln!(
                    out,
                    "  {:<10} {:>10.3} {:>9.3} {:>14.3} {:>13.3} {:>10} {:>14} {:>11}",
                    name,
                    side.distinct.writes_per_event,
                    side.distinct.reads_per_event,
                    side.duplicates.writes_per_event,
                    side.duplicates.reads_per_event,
                    cpu(&side.distinct),
                    cpu(&side.duplicates),
                    millis(&side.distinct.run).map_or("-".into(), |m| format!("{m:.1} ms"))
                );
            }
            let _ = writeln!(out, "  ratios (powertools / ours): {}", ratios_json(p));
        }
        out
    }
}

fn ratio(a: f64, b: f64) -> Value {
    if b > 0.0 {
        round(a / b, 1)
    } else {
        Value::Null
    }
}

fn ratios_json(p: &Comparison) -> Value {
    let cpu = |pass: &Pass| pass.run.cpu_micros_per_record().unwrap_or(0.0);
    let cold = |pass: &Pass| millis(&pass.run).unwrap_or(0.0);
    json!({
        "dynamodbWritePerEvent": ratio(p.powertools.distinct.writes_per_event, p.ours.distinct.writes_per_event),
        "dynamodbRequestsPerEvent": ratio(
            p.powertools.distinct.writes_per_event + p.powertools.distinct.reads_per_event,
            p.ours.distinct.writes_per_event + p.ours.distinct.reads_per_event),
        "cpuMicrosPerEvent": ratio(cpu(&p.powertools.distinct), cpu(&p.ours.distinct)),
        "cpuMicrosPerDuplicateEvent": ratio(cpu(&p.powertools.duplicates), cpu(&p.ours.duplicates)),
        "coldStartMillis": ratio(cold(&p.powertools.distinct), cold(&p.ours.distinct)),
    })
}

fn point_json(p: &Point) -> Value {
    json!({
        "settings": {"mskBatchSize": p.settings.msk_batch, "mskWindowMillis": p.settings.msk_window_ms,
                     "fifoBatchSize": p.settings.fifo_batch, "standardBatchSize": p.settings.standard_batch,
                     "standardWindowMillis": p.settings.standard_window_ms,
                     "maximumConcurrency": p.settings.max_concurrency},
        "worstP99Millis": round(p.worst_p99(), 0),
        "meanCostPerMillionEvents": round(p.mean_cost(), 4),
        "rates": p.outcomes.iter().map(|o| json!({
            "eventsPerSecond": o.rate, "p50": round(o.p50_ms, 0), "p99": round(o.p99_ms, 0),
            "costPerMillionEvents": round(o.cost_per_million, 4),
            "invocationsPerEvent": {"dec": round(o.invocations_per_event[0], 4),
                "tim": round(o.invocations_per_event[1], 4), "fred": round(o.invocations_per_event[2], 4),
                "des": round(o.invocations_per_event[3], 4), "bcg": round(o.invocations_per_event[4], 4)},
            "fifoRequestsPerEvent": round(o.fifo_requests_per_event, 4),
            "gbSecondsPerEvent": o.gb_seconds_per_event,
            "delivered": o.delivered})).collect::<Vec<_>>(),
    })
}

fn model_json(m: &Model) -> Value {
    let stages: Map<String, Value> = m
        .chain
        .stages
        .iter()
        .map(|(stage, time, pass)| {
            (
                stage.as_str().to_owned(),
                json!({"waitMillisPerInvocation": round(time.wait_ms, 3),
                       "cpuMillisPerRecord": round(time.cpu_ms, 4), "passedOn": round(*pass, 3)}),
            )
        })
        .collect();
    let p = &m.partners;
    json!({
        "inputs": {"stages": stages, "desCpuMillisPerEvent": round(m.chain.des_cpu_ms, 4),
                   "partnersMillis": {"mskDelivery": p.msk_delivery_ms, "sqsDelivery": p.sqs_delivery_ms,
                       "sqsSend": p.sqs_send_ms, "dynamodbWrite": p.dynamodb_write_ms,
                       "des": p.des_ms, "osg": p.osg_ms, "spread": p.spread},
                   "dynamodbPerMillion": round(m.chain.dynamodb_per_million, 4),
                   "standardSqsPerMillion": round(m.chain.standard_sqs_per_million, 4)},
        "recommended": point_json(&m.recommended),
        "current": point_json(&m.current),
        "bestFound": m.best.map(|i| point_json(&m.curve[i])),
        "curve": m.curve.iter().map(point_json).collect::<Vec<_>>(),
    })
}

fn model_table(out: &mut String, m: &Model) {
    let _ = writeln!(
        out,
        "\nlatency origin → OSG, discrete-event model of the event sources (ms; cost $ per million events)"
    );
    let rates: Vec<String> = RATES.iter().map(|r| format!("{r}/s")).collect();
    let _ = writeln!(
        out,
        "  {:<48} {:>22} {:>22} {:>22}",
        "setting", rates[0], rates[1], rates[2]
    );
    let row = |out: &mut String, name: &str, p: &Point| {
        let cells: Vec<String> = p
            .outcomes
            .iter()
            .map(|o| format!("{:.0}/{:.0} ${:.3}", o.p50_ms, o.p99_ms, o.cost_per_million))
            .collect();
        let _ = writeln!(
            out,
            "  {:<48} {:>22} {:>22} {:>22}{}",
            name,
            cells.first().map_or("", String::as_str),
            cells.get(1).map_or("", String::as_str),
            cells.get(2).map_or("", String::as_str),
            if p.worst_p99() <= P99_TARGET_MS {
                ""
            } else {
                "  p99 over 2 s"
            }
        );
    };
    row(
        out,
        &format!("current: {}", m.current.settings.label()),
        &m.current,
    );
    row(
        out,
        &format!("recommended: {}", m.recommended.settings.label()),
        &m.recommended,
    );
    if let Some(best) = m.best {
        row(
            out,
            &format!("best found: {}", m.curve[best].settings.label()),
            &m.curve[best],
        );
    }
    let _ = writeln!(out, "  curve (p50/p99 ms and $/M at each rate):");
    let mut curve: Vec<&Point> = m.curve.iter().collect();
    curve.sort_by(|a, b| a.mean_cost().total_cmp(&b.mean_cost()));
    for p in curve {
        row(out, &p.settings.label(), p);
    }
}
