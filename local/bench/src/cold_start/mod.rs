//! Cold start and peak memory of each function's release binary, started as Lambda starts a
//! `bootstrap`: a new process with the function's environment and `AWS_LAMBDA_RUNTIME_API`
//! pointing at a local stand-in ([`StandIn`]).
//!
//! - Cold start: from just before the process is spawned to its first
//!   `GET /2018-06-01/runtime/invocation/next` (configuration read, SDK and HTTP clients built).
//! - Peak RSS: the process's high-water mark (`VmHWM` from `/proc`) after it
//!   handled 10,000 records: MSK events of 100 records for DEC, SQS events of 10 for TIM, FRED,
//!   BCG and MSQ, one function URL request per record for DES. The records are those the
//!   in-memory pipeline carried for the mix; the AWS calls go to the local AWS API (moto).
//! - CPU: the process's own user + system time (`wait4`), per record.
//!
//! **These are x86_64 numbers.** Lambda runs the arm64 builds (`cargo lambda build --release
//! --arm64`), which cannot run on this machine; the x86_64 release builds of the same code
//! (`cargo build --release -p <function>`) stand in for them. The arm64 artefacts' sizes are
//! read from `target/lambda/<function>/bootstrap` when they have been built.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use rewards_shared::kafka::{self, encode_record};
use rewards_shared::ports::Destination;
use rewards_shared::stage::Stage;

use super::aws_calls::{create_queue, create_table, Purger};
use super::driver::{feed, recorded_in_memory, RunTally, MSK_BATCH_SIZE};
use super::mix::{Input, Mix};
use super::runtime_api::{Services, StandIn};
use super::throughput::timeval;
use super::BenchError;
use scenario_runner::des_bridge::function_url_request;
use scenario_runner::pipeline::{CPP_TOPIC, EPPM_TOPIC, ONLINE_TOPIC};

mod process;
pub use process::{run_process, ProcessRun};

/// Records each binary handles before its memory is read (`--records` changes it).
pub const RECORDS: usize = 10_000;

/// The longest a binary may take for its records.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The functions, by binary name.
pub const FUNCTIONS: [(Stage, &str); 6] = [
    (Stage::Dec, "dec"),
    (Stage::Tim, "tim"),
    (Stage::Fred, "fred"),
    (Stage::Des, "des"),
    (Stage::Bcg, "bcg"),
    (Stage::Msq, "msq"),
];

/// The sizes of the arm64 `bootstrap`s under `dir` (`target/lambda/<function>/bootstrap`).
pub fn arm64_sizes(dir: &Path) -> BTreeMap<Stage, u64> {
    FUNCTIONS
        .iter()
        .filter_map(|(stage, name)| {
            let size = std::fs::metadata(dir.join(name).join("bootstrap"))
                .ok()?
                .len();
            Some((*stage, size))
        })
        .collect()
}

/// The invocation payloads for every function, and the stand-ins' data.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Payloads by function, and the records they hold.
    pub payloads: BTreeMap<Stage, (Vec<String>, usize)>,
    /// PPH's and CSL's data.
    pub services: Services,
}

impl Corpus {
    /// Runs `mix` through the in-memory pipeline and keeps what each queue delivered, enough
    /// for `records` records per function.
    pub async fn build(mix: &Mix, records: usize) -> Result<Corpus, BenchError> {
        let scenario = &mix.scenario;
        let (mut pipeline, current, log) = recorded_in_memory(scenario, records.div_ceil(10))?;
        // Enough of the mix for every queue to deliver its share.
        let mut tally = RunTally::default();
        feed(&mut pipeline, &mix.inputs, &current, &mut tally).await;
        let samples = log
            .lock()
            .map(|mut log| std::mem::take(&mut log.samples))
            .unwrap_or_default();
        let events = |destinations: &[Destination]| -> Vec<SqsEvent> {
            destinations
                .iter()
                .filter_map(|d| samples.get(d))
                .flatten()
                .cloned()
                .collect()
        };
        let mut payloads = BTreeMap::new();
        payloads.insert(Stage::Dec, msk_payloads(mix, records));
        payloads.insert(
            Stage::Tim,
            sqs_payloads(&events(&[Destination::EnrichedEvents]), records),
        );
        let fred_events = events(&[
            Destination::RelevantEvents,
            Destination::UnqualificationEvents,
        ]);
        payloads.insert(Stage::Fred, sqs_payloads(&fred_events, records));
        payloads.insert(Stage::Des, des_payloads(&fred_events, records));
        payloads.insert(
            Stage::Bcg,
            sqs_payloads(&events(&[Destination::DecidedEvents]), records),
        );
        payloads.insert(
            Stage::Msq,
            sqs_payloads(
                &events(&[Destination::MsqInbound, Destination::MsqDelete]),
                records,
            ),
        );
        Ok(Corpus {
            payloads,
            services: Services::from_mix(mix),
        })
    }
}

/// MSK events of [`MSK_BATCH_SIZE`] CPP or EPPM records, `wanted` records in all (the mix's
/// records again from the start if it has fewer).
fn msk_payloads(mix: &Mix, wanted: usize) -> (Vec<String>, usize) {
    let records: Vec<(&str, &Vec<u8>)> = mix
        .inputs
        .iter()
        .filter_map(|input| match input {
            Input::Cpp(value) => Some((CPP_TOPIC, value)),
            Input::Eppm(value) => Some((EPPM_TOPIC, value)),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        return (Vec::new(), 0);
    }
    let chosen: Vec<_> = records.iter().cycle().take(wanted).collect();
    let payloads: Vec<String> = chosen
        .chunks(MSK_BATCH_SIZE)
        .enumerate()
        .filter_map(|(batch, chunk)| {
            let records = chunk
                .iter()
                .enumerate()
                .map(|(i, (topic, value))| {
                    encode_record(topic, 0, (batch * MSK_BATCH_SIZE + i) as i64, value, &[])
                })
                .collect();
            serde_json::to_string(&lambda_msk_event(records)).ok()
        })
        .collect();
    (payloads, chosen.len())
}

/// Lambda's MSK event in full (as its JSON reaches a function), records grouped by
/// `topic-partition`.
pub(super) fn lambda_msk_event(
    records: Vec<aws_lambda_events::event::kafka::KafkaRecord>,
) -> aws_lambda_events::event::kafka::KafkaEvent {
    let mut event = aws_lambda_events::event::kafka::KafkaEvent::default();
    event.event_source = Some("aws:kafka".to_owned());
    for record in records {
        let group = kafka::topic_partition(record.topic.as_deref(), record.partition);
        event.records.entry(group).or_default().push(record);
    }
    event
}

/// SQS events as JSON, `wanted` records in all (cycled when there are fewer).
fn sqs_payloads(events: &[SqsEvent], wanted: usize) -> (Vec<String>, usize) {
    let records: usize = events.iter().map(|e| e.records.len()).sum();
    if records == 0 {
        return (Vec::new(), 0);
    }
    let mut payloads = Vec::new();
    let mut count = 0;
    for event in events.iter().cycle() {
        if count >= wanted {
            break;
        }
        if let Ok(text) = serde_json::to_string(event) {
            payloads.push(text);
            count += event.records.len();
        }
    }
    (payloads, count)
}

/// One function URL request per FRED record, `wanted` in all.
fn des_payloads(events: &[SqsEvent], wanted: usize) -> (Vec<String>, usize) {
    let bodies: Vec<&String> = events
        .iter()
        .flat_map(|e| e.records.iter().filter_map(|m| m.body.as_ref()))
        .collect();
    if bodies.is_empty() {
        return (Vec::new(), 0);
    }
    let payloads: Vec<String> = bodies
        .iter()
        .cycle()
        .take(wanted)
        .map(|body| function_url_request(body, "bench").to_string())
        .collect();
    let count = payloads.len();
    (payloads, count)
}

/// The Lambda environment every process gets, and the function's own settings.
fn environment(
    stage: Stage,
    stand_in: &StandIn,
    resources: &Resources,
) -> Vec<(&'static str, String)> {
    let url = stand_in.url();
    let mut env = vec![
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            format!("bench-{}", stage.as_str()),
        ),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".to_owned()),
        ("BRAND", "skybet".to_owned()),
        ("LOG_LEVEL", "info".to_owned()),
        ("DEAD_LETTER_QUEUE_URL", resources.queue("dlq")),
    ];
    let mut add = |name: &'static str, value: String| env.push((name, value));
    match stage {
        Stage::Dec => {
            add("CPP_TOPIC", CPP_TOPIC.to_owned());
            add("EPPM_TOPIC", EPPM_TOPIC.to_owned());
            add("PPH_URL", url);
            add("ENRICHED_QUEUE_URL", resources.queue("cpp-enriched-events"));
            add(
                "UNQUALIFICATION_QUEUE_URL",
                resources.queue("relevant-unqualification-events"),
            );
        }
        Stage::Tim => {
            add("TIM_TABLE", resources.tim_table.clone());
            add("RELEVANT_QUEUE_URL", resources.queue("relevant-events"));
            add(
                "UNQUALIFICATION_QUEUE_URL",
                resources.queue("relevant-unqualification-events"),
            );
        }
        Stage::Fred => {
            add("DES_URL", url);
            add("DECIDED_QUEUE_URL", resources.queue("decided-events"));
        }
        Stage::Des => {}
        Stage::Bcg => {
            add("CSL_URL", url.clone());
            add("CSL_API_KEY", "bench".to_owned());
            add("OSG_URL", url);
            add("OSG_API_KEY", "bench".to_owned());
            add("DEFAULT_LOCALE", "en-GB".to_owned());
            add("CYCLE_START_WEEKDAY", "MONDAY".to_owned());
            add("CYCLE_START_TIME_ZONE", "Europe/London".to_owned());
            add("MSQ_QUEUE_URL", resources.queue("msq-inbound-queue"));
            add(
                "MSQ_DELETE_QUEUE_URL",
                resources.queue("msq-inbound-delete"),
            );
        }
        Stage::Msq => {
            add("MSQ_TABLE", resources.msq_table.clone());
            add("OSG_URL", url);
            add("OSG_API_KEY", "bench".to_owned());
            add("ONLINE_TOPIC", ONLINE_TOPIC.to_owned());
        }
    }
    env
}

/// The tables and queues the binaries use, in the local AWS API.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// TIM's table.
    pub tim_table: String,
    /// MSQ's table.
    pub msq_table: String,
    /// Queue URLs by queue name (and `dlq`).
    pub queues: BTreeMap<String, String>,
}

impl Resources {
    /// Creates fresh tables and queues named after `prefix`.
    pub async fn create(prefix: &str) -> Result<Resources, BenchError> {
        let sdk = rewards_shared::aws::load_sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let tim_table = format!("{prefix}-tim-state");
        let msq_table = format!("{prefix}-msq-messages");
        create_table(&dynamodb, &tim_table, &aws_runner::resources::TIM_TABLE).await?;
        create_table(&dynamodb, &msq_table, &aws_runner::resources::MSQ_TABLE).await?;
        let mut queues = BTreeMap::new();
        for name in Destination::ALL
            .iter()
            .map(|d| d.queue_name())
            .chain(["dlq"])
        {
            let url = create_queue(&sqs, &format!("{prefix}-{name}")).await?;
            queues.insert(name.to_owned(), url);
        }
        Ok(Resources {
            tim_table,
            msq_table,
            queues,
        })
    }

    /// A queue's URL.
    pub fn queue(&self, name: &str) -> String {
        self.queues.get(name).cloned().unwrap_or_default()
    }

    /// Keeps the queues empty while it lives (see [`Purger`]).
    pub fn purger(&self) -> Purger {
        Purger::start(self.queues.values().cloned().collect())
    }
}

/// The command that starts `stage`'s binary in `dir` with its environment.
pub fn function_command(
    dir: &Path,
    stage: Stage,
    stand_in: &StandIn,
    resources: &Resources,
) -> Option<Command> {
    let name = FUNCTIONS.iter().find(|(s, _)| *s == stage)?.1;
    let binary: PathBuf = dir.join(name);
    if !binary.is_file() {
        return None;
    }
    let mut command = Command::new(binary);
    command.envs(environment(stage, stand_in, resources));
    Some(command)
}

/// Runs every function's binary in `dir` on its share of `corpus`.
pub async fn run_all(
    dir: &Path,
    corpus: &Corpus,
) -> Result<BTreeMap<Stage, ProcessRun>, BenchError> {
    let resources = Resources::create(&format!("cold{}", std::process::id())).await?;
    let stand_in =
        StandIn::start(corpus.services.clone()).map_err(|e| BenchError::Io(e.to_string()))?;
    let _purger = resources.purger();
    let mut runs = BTreeMap::new();
    for (stage, name) in FUNCTIONS {
        let Some(command) = function_command(dir, stage, &stand_in, &resources) else {
            runs.insert(
                stage,
                ProcessRun {
                    problem: Some(format!("no binary {}", dir.join(name).display())),
                    ..ProcessRun::default()
                },
            );
            continue;
        };
        let (payloads, records) = corpus.payloads.get(&stage).cloned().unwrap_or_default();
        eprintln!(
            "bench:   {name}: {records} records in {} invocations",
            payloads.len()
        );
        let run = run_process(command, &stand_in, payloads, records);
        runs.insert(stage, run);
    }
    Ok(runs)
}
